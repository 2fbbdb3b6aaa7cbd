//! Why a pair was scored as it was: [`Reason`] and its human-readable
//! text (shown in the web UI; keep existing texts stable).

use std::fmt;

/// Why two records were scored as they were.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    SameEmail,
    SamePhone,
    /// Organisations only: same non-free-mail domain.
    SameEmailDomain,
    /// Best name similarity; `pinyin` when Han was matched via romanisation.
    Name {
        score: f64,
        pinyin: bool,
    },
    SameLegalName,
    DifferentLegalName,
    SameBirthDate,
    /// Day/month swapped or a single digit differs.
    SimilarBirthDate,
    DifferentBirthDate,
    SameAddress,
    SimilarAddress,
    SamePostalCode,
    DifferentPostalCode,
    /// Both have e-mail addresses and none is shared (organisations: when
    /// no company domain on both sides decides it).
    DifferentEmail,
    /// Organisations only: both have company (non-free-mail) domains and
    /// none is shared.
    DifferentEmailDomain,
    /// Both have phone numbers and none is shared.
    DifferentPhone,
    /// Same postal code or street, but another house number.
    DifferentHouseNumber,
    /// Same street and place, house numbers one keystroke apart (24 / 42).
    SimilarHouseNumber,
    /// The name is shared by `records` records of the scan, so agreeing on
    /// it is weak evidence (its weight is reduced).
    CommonName {
        records: u32,
    },
    /// Nothing identifying agrees (no shared e-mail, phone, birth date,
    /// address with house number or company domain): the score is capped
    /// at [`UNCORROBORATED_MAX`](crate::score::UNCORROBORATED_MAX), below
    /// the default duplicate threshold.
    Uncorroborated,
    /// Persons, compared by name parts (see [`crate::parts`]).
    SameGivenName,
    /// Bill / William, Liz / Elizabeth, …
    Nickname,
    /// A typo or transposition in the given name (Han: a homophone).
    SimilarGivenName,
    /// One side gives only the initial.
    GivenNameInitial,
    /// Given names somewhat alike (Jaro–Winkler 0.75–0.88): counts against.
    PartlySimilarGivenName,
    DifferentGivenName,
    SameFamilyName,
    SimilarFamilyName,
    PartlySimilarFamilyName,
    DifferentFamilyName,
    /// Given and family name entered the other way round.
    SwappedNames,
    /// Same street and place, house number missing on one side.
    SameStreet,
    /// Another street in the same place.
    DifferentStreet,
    /// Street and place differ (persons: likely another person).
    DifferentAddress,
    /// Birth dates two typos apart (or day/month swapped and one typo).
    NearBirthDate,
    /// A shared e-mail or phone counts less because the names say these
    /// are different members of one household or firm.
    SharedByHousehold,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::SameEmail => f.write_str("same email"),
            Reason::SamePhone => f.write_str("same phone"),
            Reason::SameEmailDomain => f.write_str("same email domain"),
            Reason::Name { score, pinyin } => {
                write!(f, "name {score:.2}")?;
                if *pinyin {
                    f.write_str(" (pinyin)")?;
                }
                Ok(())
            }
            Reason::SameLegalName => f.write_str("same legal name"),
            Reason::DifferentLegalName => f.write_str("different legal name"),
            Reason::SameBirthDate => f.write_str("same birth date"),
            Reason::SimilarBirthDate => f.write_str("similar birth date"),
            Reason::DifferentBirthDate => f.write_str("different birth date"),
            Reason::SameAddress => f.write_str("same address"),
            Reason::SimilarAddress => f.write_str("similar address"),
            Reason::SamePostalCode => f.write_str("same postal code"),
            Reason::DifferentPostalCode => f.write_str("different postal code"),
            Reason::DifferentEmail => f.write_str("different email"),
            Reason::DifferentEmailDomain => f.write_str("different email domain"),
            Reason::DifferentPhone => f.write_str("different phone"),
            Reason::DifferentHouseNumber => f.write_str("different house number"),
            Reason::SimilarHouseNumber => f.write_str("house number one typo apart"),
            Reason::CommonName { records } => write!(f, "common name ({records} records)"),
            Reason::Uncorroborated => f.write_str("no shared contact, birth date or address"),
            Reason::SameGivenName => f.write_str("same given name"),
            Reason::Nickname => f.write_str("given name is a nickname of the other"),
            Reason::SimilarGivenName => f.write_str("similar given name"),
            Reason::GivenNameInitial => f.write_str("given name initial"),
            Reason::PartlySimilarGivenName => f.write_str("given name only partly similar"),
            Reason::DifferentGivenName => f.write_str("different given name"),
            Reason::SameFamilyName => f.write_str("same family name"),
            Reason::SimilarFamilyName => f.write_str("similar family name"),
            Reason::PartlySimilarFamilyName => f.write_str("family name only partly similar"),
            Reason::DifferentFamilyName => f.write_str("different family name"),
            Reason::SwappedNames => f.write_str("given and family name swapped"),
            Reason::SameStreet => f.write_str("same street"),
            Reason::DifferentStreet => f.write_str("different street"),
            Reason::DifferentAddress => f.write_str("different address"),
            Reason::NearBirthDate => f.write_str("birth dates two typos apart"),
            Reason::SharedByHousehold => f.write_str("contact shared by a household"),
        }
    }
}
