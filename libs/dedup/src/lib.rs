//! Duplicate-customer matcher for a CRM.
//!
//! A pure library: no I/O, no async, no global state. It
//! * normalises raw contact data ([`normalize`], [`names`]), splits names
//!   into given and family name ([`parts`]) and addresses into house number,
//!   street, locality and postal code ([`address`]),
//! * scores a pair of records field by field, Fellegi–Sunter style, with
//!   human-readable reasons ([`compare`], [`Reason`]),
//! * produces blocking keys so that a scan over millions of records only
//!   compares candidates that share a key ([`blocking_keys`], [`clusters`]),
//! * clusters the duplicates without chaining records that contradict each
//!   other, and lists uncertain pairs for review, best first ([`scan`]; it
//!   runs on [`Config::threads`] scoped threads, with the same result for
//!   any count).
//!
//! Record identity: [`Record::id`] is a `u128`, so UUIDs and numeric database
//! keys both fit without allocation; the library never interprets it except to
//! report which records matched.
//!
//! Chinese names are romanised with the `pinyin` crate (tones dropped), plus a
//! small built-in table of surname readings for characters whose surname
//! pronunciation differs from the everyday one (曾 zeng, 单 shan, 解 xie, …).

pub mod address;
mod birth;
pub mod blocking;
mod cluster;
pub mod evidence;
pub mod names;
mod nicknames;
pub mod normalize;
pub mod parts;
mod prepared;
mod reason;
mod scan;
pub mod score;
pub mod similarity;
pub mod synth;

pub use address::ParsedAddress;
pub use blocking::{Cluster, PairMatch, Scan, ScanStats, blocking_keys, clusters, scan};
pub use parts::NameParts;
pub use score::{Config, Level, Match, Prepared, Reason, compare, compare_prepared};

/// Whether a record describes a natural person or an organisation. Records of
/// different kinds are never considered duplicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Person,
    Organization,
}

/// A customer record as stored by the CRM, with raw (un-normalised) fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Opaque key (e.g. a UUID as `u128`); only used to report matches.
    pub id: u128,
    pub kind: Kind,
    /// Display name as entered: Latin or Chinese script, any order.
    pub name: String,
    /// Registered legal name (mostly for organisations).
    pub legal_name: Option<String>,
    /// Raw e-mail addresses.
    pub emails: Vec<String>,
    /// Raw phone numbers in any format.
    pub phones: Vec<String>,
    /// Birth date as `YYYY-MM-DD` or `YYYYMMDD` (persons).
    pub birth_date: Option<String>,
    /// Given name(s) as entered, when the source keeps name parts. Without
    /// them the parts are read from [`Record::name`] ("Family, Given",
    /// Han surname first, else the last Latin token is the family name).
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Postal addresses (a customer may have several); an address with
    /// only free text in `lines` is parsed into its fields.
    pub addresses: Vec<Address>,
}

/// A postal address. Structured sources fill the fields; old data with one
/// block of text uses [`Address::free_text`], from which the matcher reads
/// the postal code, house number, street and locality itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Address {
    /// Street lines, e.g. `["Hauptstraße 5", "Hinterhaus"]`; the first line
    /// with letters is read as street + house number.
    pub lines: Vec<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

impl Address {
    /// An address known only as one block of text ("Hauptstraße 5, 10115
    /// Berlin").
    pub fn free_text(text: impl Into<String>) -> Self {
        Address {
            lines: vec![text.into()],
            ..Address::default()
        }
    }
}

impl Record {
    /// Convenience constructor for a record with only a name; the other
    /// fields can then be filled in with struct update syntax or setters.
    pub fn new(id: u128, kind: Kind, name: impl Into<String>) -> Self {
        Record {
            id,
            kind,
            name: name.into(),
            legal_name: None,
            emails: Vec::new(),
            phones: Vec::new(),
            birth_date: None,
            given_name: None,
            family_name: None,
            addresses: Vec::new(),
        }
    }
}
