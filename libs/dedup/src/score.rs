//! Pairwise scoring.
//!
//! Evidence is combined Fellegi–Sunter style: each comparison adds a weight
//! (log-odds) to a negative prior and the sum goes through a logistic
//! function to give a score in 0..=1. Log-odds make independent evidence
//! add up naturally and let strong negative evidence (a clearly different
//! person name, a different birth date) veto a shared phone or e-mail.

use crate::birth::compare_birth;
use crate::evidence::{Sharing, Tally, address_evidence, contact_evidence};
use crate::parts::{PartLevel, PartsMatch, W_SWAPPED, compare_parts, family_weight, given_weight};
pub use crate::prepared::Prepared;
pub use crate::reason::Reason;
use crate::similarity::{NameScore, name_similarity};
use crate::{Kind, Record};
use std::fmt;

/// Thresholds and scan limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Score at or above which a pair is a duplicate (clustered).
    pub duplicate: f64,
    /// Score at or above which a pair is reported for review; below it
    /// [`compare`] returns `None`.
    pub possible: f64,
    /// Calling code for phone numbers written without one.
    pub default_calling_code: String,
    /// Blocks of weak keys (names, birth dates) larger than this are skipped:
    /// such keys are too common to be informative and cost O(n²).
    pub max_block_weak: usize,
    /// Cap for the least selective weak keys (`t:` full token + initial),
    /// which exist for typo tolerance and are only worth it while small.
    pub max_block_loose: usize,
    /// Blocks of strong keys (e-mail, phone) larger than this are not
    /// skipped but scanned with a sorted-neighbourhood window.
    pub max_block_strong: usize,
    /// Window (neighbours compared per record) for oversized strong blocks.
    pub window: usize,
    /// A name shared by more records than this in one scan is *common*:
    /// agreeing on it is worth less (see [`Reason::CommonName`]). Only
    /// [`scan`](crate::scan) counts names; [`compare`] alone cannot.
    pub common_name: u32,
    /// Largest cluster [`scan`](crate::scan) builds; merges beyond it are
    /// refused and their pairs go to the review list.
    pub max_cluster: usize,
    /// Two clusters are merged only if every pair across them has at least
    /// this much net evidence (log-odds without the prior): records that
    /// clearly differ (other name, other birth date, all contacts
    /// different) never end up in one cluster through a chain of matches.
    /// (Lower values join more true duplicates, -1.0 about 0.2 % recall,
    /// but cost precision on large scans: kept at 0.5.)
    pub min_link_evidence: f64,
    /// A record whose `Duplicate` links to two records that contradict each
    /// other (see `min_link_evidence`) score within this many log-odds of
    /// each other joins neither (a record with only "Smith", a birth date
    /// and an address fits either twin). A negative value switches the
    /// check off.
    pub ambiguity_margin: f64,
    /// Worker threads for [`scan`](crate::scan); 0 = one per available
    /// core, fewer for small inputs (one per 20 000 records). The result
    /// does not depend on it.
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            duplicate: 0.85,
            possible: 0.7,
            default_calling_code: "86".to_string(),
            max_block_weak: 200,
            max_block_loose: 50,
            max_block_strong: 1000,
            window: 20,
            common_name: 20,
            max_cluster: 100,
            min_link_evidence: 0.5,
            ambiguity_margin: 0.0,
            threads: 0,
        }
    }
}

/// Verdict band of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Possible,
    Duplicate,
}

/// A scored pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// 0..=1.
    pub score: f64,
    pub level: Level,
    pub reasons: Vec<Reason>,
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} {:?}:", self.score, self.level)?;
        for (i, r) in self.reasons.iter().enumerate() {
            write!(f, "{}{r}", if i == 0 { " " } else { ", " })?;
        }
        Ok(())
    }
}

/// Log-odds prior: two random records in a block are rarely duplicates.
const PRIOR: f64 = -3.0;
const W_LEGAL_SAME: f64 = 1.0;
const W_LEGAL_DIFFERENT: f64 = -2.0;
/// Without anything identifying, the log-odds are capped here (score
/// ≈0.82): a name plus a postal code or a legal name is worth a review,
/// never an automatic merge, however rare the name.
pub const UNCORROBORATED_MAX: f64 = 1.5;
/// Most a common name can lose ([`Reason::CommonName`]): ln(count /
/// `common_name`), at most this, and never more than the name's weight.
const COMMON_NAME_MAX: f64 = 3.5;

/// Name similarity → log-odds weight (piecewise linear). Below ~0.6 the
/// names belong to different people and the weight outweighs a shared
/// contact; organisations get a higher ceiling because an exact cleaned
/// firm name is rarer than an exact person name.
fn name_weight(s: f64, org: bool) -> f64 {
    const PERSON: [(f64, f64); 9] = [
        (0.0, -6.0),
        (0.5, -6.0),
        (0.6, -4.5),
        (0.7, -2.5),
        (0.8, 0.0),
        (0.85, 1.0),
        (0.9, 2.2),
        (0.95, 3.2),
        (1.0, 4.0),
    ];
    let base = interpolate(&PERSON, s);
    if org && s > 0.9 {
        base + (s - 0.9) * 5.0
    } else {
        base
    }
}

fn interpolate(points: &[(f64, f64)], x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if x <= x1 {
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        }
    }
    points.last().map_or(0.0, |p| p.1)
}

fn best_name(a: &Prepared, b: &Prepared, org: bool) -> Option<NameScore> {
    let mut best: Option<NameScore> = None;
    for fa in &a.names {
        for fb in &b.names {
            let s = name_similarity(fa, fb, org);
            if best.is_none_or(|x| s.score > x.score) {
                best = Some(s);
            }
        }
    }
    best
}

/// Reasons for a name-parts comparison (only when explaining).
fn part_reasons(m: &PartsMatch, t: &mut Tally) {
    if let Some(g) = m.given {
        let r = match g {
            PartLevel::Exact => Reason::SameGivenName,
            PartLevel::Nickname => Reason::Nickname,
            PartLevel::Typo => Reason::SimilarGivenName,
            PartLevel::Initial => Reason::GivenNameInitial,
            PartLevel::Close => Reason::PartlySimilarGivenName,
            PartLevel::Different => Reason::DifferentGivenName,
        };
        t.add(r, given_weight(g));
    }
    if let Some(f) = m.family {
        let r = match f {
            PartLevel::Exact => Reason::SameFamilyName,
            PartLevel::Typo => Reason::SimilarFamilyName,
            PartLevel::Nickname | PartLevel::Initial | PartLevel::Close => {
                Reason::PartlySimilarFamilyName
            }
            PartLevel::Different => Reason::DifferentFamilyName,
        };
        t.add(r, family_weight(f));
    }
    if m.swapped {
        t.add(Reason::SwappedNames, W_SWAPPED);
    }
}

/// What the names say about a pair (see [`name_evidence`]).
struct NameVerdict {
    weight: f64,
    /// Different members of one household (another given name).
    household: bool,
    /// Given names only partly alike: a typo or a sibling.
    unsure: bool,
    /// Nothing in the names says "another person".
    same_person: bool,
    /// Given and family name both agree (exactly, by a typo or nickname):
    /// then a birth date one typo away or a street without house number
    /// identifies too.
    full: bool,
    /// `full` with the given name exact or a typo in a long name: not a
    /// typo in a short one ("Mary" / "Mark" are one letter apart and often
    /// sisters), not a nickname (John and Jonathan Johnson, father and
    /// son): what it takes for a home to outweigh another birth date, or
    /// for a date slip to identify.
    exact: bool,
}

/// Both given names have 5+ letters: a typo then rarely turns one real
/// name into another (Mary / Mark, Jon / Jan do).
fn long_given(a: &Prepared, b: &Prepared) -> bool {
    let len = |p: &Prepared| {
        p.parts
            .as_ref()
            .and_then(|n| n.given.as_ref())
            .map_or(0, |g| g.key.chars().count())
    };
    len(a).min(len(b)) >= 5
}

fn x_ordered(p: &Prepared) -> bool {
    p.parts.as_ref().is_some_and(|n| n.ordered)
}

/// Name evidence: by parts for persons whose parts are known on both sides,
/// else by whole-name similarity. Returns the weight, whether the names
/// say "different members of one household" (a clearly different given
/// name), and whether they say "same person" (by parts: nothing says
/// otherwise, so an address counts in full even with a changed family
/// name; by whole name: a positive weight).
fn name_evidence(a: &Prepared, b: &Prepared, org: bool, t: &mut Tally) -> Option<NameVerdict> {
    let parts = match (&a.parts, &b.parts) {
        (Some(x), Some(y)) if !org => compare_parts(x, y),
        _ => None,
    };
    if let Some(m) = parts {
        if t.explain
            && let Some(ns) = best_name(a, b, org)
        {
            t.note(Reason::Name {
                score: ns.score,
                pinyin: ns.via_pinyin,
            });
        }
        let before = t.evidence;
        part_reasons(&m, t);
        // A different family name means another person only when we know
        // it is the family name: "Zhang Wei" / "Zhang Min" differ in the
        // given name if the order is Chinese.
        let ordered = x_ordered(a) && x_ordered(b);
        let household = m.given == Some(PartLevel::Different)
            || (m.family == Some(PartLevel::Different) && !ordered);
        let strong = |l: Option<PartLevel>, nick: bool| {
            matches!(l, Some(PartLevel::Exact | PartLevel::Typo))
                || (nick && l == Some(PartLevel::Nickname))
        };
        return Some(NameVerdict {
            weight: t.evidence - before,
            household,
            unsure: m.given == Some(PartLevel::Close),
            same_person: !household && m.given != Some(PartLevel::Close),
            full: strong(m.given, true) && strong(m.family, false),
            exact: (m.given == Some(PartLevel::Exact)
                || (m.given == Some(PartLevel::Typo) && long_given(a, b)))
                && strong(m.family, false),
        });
    }
    let ns = best_name(a, b, org)?;
    let w = name_weight(ns.score, org);
    t.add(
        Reason::Name {
            score: ns.score,
            pinyin: ns.via_pinyin,
        },
        w,
    );
    Some(NameVerdict {
        weight: w,
        household: false,
        unsure: false,
        same_person: w > 0.0,
        full: false,
        exact: false,
    })
}

/// Weighs all evidence about two prepared records: `None` for different
/// kinds, else the tally whose `evidence` excludes the prior, the
/// common-name discount and the uncorroborated cap. Reasons are collected
/// only if `explain`.
pub(crate) fn evaluate(a: &Prepared, b: &Prepared, cfg: &Config, explain: bool) -> Option<Tally> {
    if a.kind != b.kind {
        return None;
    }
    let org = a.kind == Kind::Organization;
    let mut t = Tally::new(explain);

    let mut discount = 0.0;
    let mut names_agree = false;
    let mut household = false;
    let mut unsure = false;
    let mut full_name = false;
    let mut exact_name = false;
    if let Some(v) = name_evidence(a, b, org, &mut t) {
        let w = v.weight;
        names_agree = v.same_person;
        household = v.household;
        unsure = v.unsure;
        full_name = v.full;
        exact_name = v.exact;
        let count = a.name_count.max(b.name_count);
        if w > 0.0 && count > cfg.common_name {
            let ratio = f64::from(count) / f64::from(cfg.common_name.max(1));
            discount = ratio.ln().min(COMMON_NAME_MAX).min(w);
            t.note(Reason::CommonName { records: count });
        }
    }
    // A name shared by many records of the scan: its namesakes are many,
    // and one of them born a date slip away is no longer unlikely.
    let common = a.name_count.max(b.name_count) > cfg.common_name;
    let birth = match (a.birth, b.birth) {
        (Some(x), Some(y)) if !org => Some(compare_birth(x, y)),
        _ => None,
    };
    // Another birth date makes these two people (relatives) nearly as
    // surely as another given name: shared contacts are the household's.
    // (A shared address with the same full name still counts in full:
    // a duplicate whose birth date was mistyped beyond recognition.)
    let other_birth = birth.is_some_and(|m| m.reason == Reason::DifferentBirthDate);
    let sharing = if household || other_birth {
        Sharing::All
    } else if unsure {
        Sharing::Phone
    } else {
        Sharing::Nobody
    };
    contact_evidence(a, b, org, sharing, &mut t);
    if let (Some(la), Some(lb)) = (&a.legal, &b.legal) {
        let s = name_similarity(la, lb, org).score;
        if s >= 0.95 {
            t.add(Reason::SameLegalName, W_LEGAL_SAME);
        } else if s < 0.6 {
            t.add(Reason::DifferentLegalName, W_LEGAL_DIFFERENT);
        }
    }
    if let Some(m) = birth {
        // An exact date identifies; a date one slip away (day and month
        // swapped, digits transposed) only with the full name, not a common
        // one, and where the address does not say "elsewhere" (below); one
        // digit replaced never: namesakes with such dates are too common
        // among common names (see the `birth` module).
        t.identifying |= m.reason == Reason::SameBirthDate;
        t.add(m.reason, m.weight);
    }
    let slip = birth.is_some_and(|m| {
        m.reason != Reason::SameBirthDate && m.identifies_with_name && exact_name && !common
    });
    // With another birth date, only the full name (the given name exact)
    // makes a shared home the customer's own (a date mistyped beyond
    // recognition); a lone family name there is a relative's.
    let same_person = names_agree && (exact_name || !other_birth);
    let before = t.evidence;
    address_evidence(a, b, org, same_person, full_name, &mut t);
    // A namesake of the same year in the same town is born a slip away
    // often enough: the slip identifies only where the address does not
    // say "elsewhere" (another street or house).
    if slip && t.evidence >= before {
        t.identifying = true;
    }

    t.log_odds = PRIOR + t.evidence - discount;
    if !t.identifying && t.log_odds > UNCORROBORATED_MAX {
        t.log_odds = UNCORROBORATED_MAX;
        t.note(Reason::Uncorroborated);
    }
    Some(t)
}

/// Scores two prepared records. See [`compare`].
pub fn compare_prepared(a: &Prepared, b: &Prepared, cfg: &Config) -> Option<Match> {
    // Score first; collect the reasons only for pairs that are reported.
    let t = evaluate(a, b, cfg, false)?;
    let score = 1.0 / (1.0 + (-t.log_odds).exp());
    if score < cfg.possible {
        return None;
    }
    let t = evaluate(a, b, cfg, true)?;
    let level = if score >= cfg.duplicate {
        Level::Duplicate
    } else {
        Level::Possible
    };
    Some(Match {
        score,
        level,
        reasons: t.reasons,
    })
}

/// Decides whether two records are likely the same customer.
///
/// Returns `None` for different kinds or a score below `cfg.possible`.
/// A shared normalised e-mail or phone alone scores ≈0.92; a clearly
/// different person name (e.g. colleagues behind one switchboard number)
/// pulls it below `possible`. Agreeing birth dates raise the score,
/// disagreeing ones lower it strongly (persons only); other e-mails and
/// phones on both sides, or another house number, count against. Without
/// an identifying agreement (contact, birth date, address with house
/// number, company domain) a pair is at most `Possible` under the default
/// thresholds ([`Reason::Uncorroborated`]). Deterministic.
pub fn compare(a: &Record, b: &Record, cfg: &Config) -> Option<Match> {
    compare_prepared(&Prepared::new(a, cfg), &Prepared::new(b, cfg), cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_monotone_and_bounded() {
        let mut prev = f64::NEG_INFINITY;
        for i in 0..=100 {
            let w = name_weight(f64::from(i) / 100.0, false);
            assert!(w >= prev);
            prev = w;
        }
        assert_eq!(name_weight(1.0, false), 4.0);
        assert_eq!(name_weight(0.0, false), -6.0);
        assert!((name_weight(1.0, true) - 4.5).abs() < 1e-9);
    }

    #[test]
    fn reason_rendering() {
        assert_eq!(Reason::SamePhone.to_string(), "same phone");
        assert_eq!(
            Reason::Name {
                score: 0.934,
                pinyin: false
            }
            .to_string(),
            "name 0.93"
        );
        assert_eq!(
            Reason::Name {
                score: 0.95,
                pinyin: true
            }
            .to_string(),
            "name 0.95 (pinyin)"
        );
        assert_eq!(
            Reason::DifferentBirthDate.to_string(),
            "different birth date"
        );
        assert_eq!(Reason::SamePostalCode.to_string(), "same postal code");
    }
}
