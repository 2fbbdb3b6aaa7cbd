//! Pairwise scoring.
//!
//! Evidence is combined Fellegi–Sunter style: each comparison adds a weight
//! (log-odds) to a negative prior and the sum goes through a logistic
//! function to give a score in 0..=1. Log-odds make independent evidence
//! add up naturally and let strong negative evidence (a clearly different
//! person name, a different birth date) veto a shared phone or e-mail.

use crate::names::{NameForm, parse_org_name, parse_person_name};
use crate::normalize::{
    BirthDate, NormalizedAddress, address_tokens, email_domain, is_free_mail_domain,
    normalize_address, normalize_email, normalize_phone, parse_birth_date,
};
use crate::similarity::{NameScore, jaro_winkler, name_similarity};
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
        }
    }
}

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

/// A record with every field normalised once, so that a scan compares
/// records many times without re-parsing them.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub id: u128,
    pub kind: Kind,
    /// Display name (and legal name, if different) as comparable forms.
    pub names: Vec<NameForm>,
    pub legal: Option<NameForm>,
    /// Normalised, deduplicated, sorted.
    pub emails: Vec<String>,
    /// E.164, deduplicated, sorted.
    pub phones: Vec<String>,
    pub birth: Option<BirthDate>,
    pub address: Option<NormalizedAddress>,
    pub address_tokens: Vec<String>,
}

impl Prepared {
    pub fn new(r: &Record, cfg: &Config) -> Prepared {
        let parse = |s: &str| match r.kind {
            Kind::Person => parse_person_name(s),
            Kind::Organization => parse_org_name(s),
        };
        let legal = r.legal_name.as_deref().map(parse).filter(|f| !f.is_empty());
        let mut names = Vec::new();
        let display = parse(&r.name);
        if !display.is_empty() {
            names.push(display);
        }
        if let Some(l) = &legal
            && !names.contains(l)
        {
            names.push(l.clone());
        }
        let mut emails: Vec<String> = r.emails.iter().filter_map(|e| normalize_email(e)).collect();
        emails.sort();
        emails.dedup();
        let mut phones: Vec<String> = r
            .phones
            .iter()
            .filter_map(|p| normalize_phone(p, &cfg.default_calling_code))
            .collect();
        phones.sort();
        phones.dedup();
        let address = r.address.as_deref().and_then(normalize_address);
        let address_tokens = address
            .as_ref()
            .map(|a| address_tokens(&a.text))
            .unwrap_or_default();
        Prepared {
            id: r.id,
            kind: r.kind,
            names,
            legal,
            emails,
            phones,
            birth: r.birth_date.as_deref().and_then(parse_birth_date),
            address,
            address_tokens,
        }
    }
}

/// Log-odds prior: two random records in a block are rarely duplicates.
const PRIOR: f64 = -3.0;
/// One shared contact (e-mail or phone) alone lifts the score to ≈0.92.
const W_CONTACT_ONE: f64 = 5.5;
/// Both shared: only slightly more, since a household or a company often
/// shares both, and a clearly different name must still be able to veto.
const W_CONTACT_BOTH: f64 = 7.5;
const W_EMAIL_DOMAIN: f64 = 1.0;
const W_LEGAL_SAME: f64 = 1.0;
const W_LEGAL_DIFFERENT: f64 = -2.0;
const W_BIRTH_SAME: f64 = 3.0;
const W_BIRTH_SWAPPED: f64 = 0.5;
const W_BIRTH_ONE_DIGIT: f64 = -1.0;
const W_BIRTH_DIFFERENT: f64 = -5.0;
const W_ADDRESS_SAME: f64 = 2.0;
const W_ADDRESS_SIMILAR: f64 = 1.5;
const W_POSTAL_SAME: f64 = 0.7;
/// Persons move; a different postal code is only mild evidence against.
const W_POSTAL_DIFFERENT_PERSON: f64 = -0.5;
/// Same firm name at another site is a branch, not a duplicate.
const W_POSTAL_DIFFERENT_ORG: f64 = -1.5;

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

fn compare_birth(a: BirthDate, b: BirthDate) -> (Reason, f64) {
    if a == b {
        return (Reason::SameBirthDate, W_BIRTH_SAME);
    }
    if a.year == b.year && a.month == b.day && a.day == b.month {
        return (Reason::SimilarBirthDate, W_BIRTH_SWAPPED);
    }
    // Count differing digits of YYYYMMDD without allocating.
    let digits = |d: BirthDate| {
        let v = u32::from(d.year) * 10_000 + u32::from(d.month) * 100 + u32::from(d.day);
        (0..8).map(move |i| (v / 10u32.pow(i)) % 10)
    };
    let differing = digits(a).zip(digits(b)).filter(|(x, y)| x != y).count();
    if differing == 1 {
        (Reason::SimilarBirthDate, W_BIRTH_ONE_DIGIT)
    } else {
        (Reason::DifferentBirthDate, W_BIRTH_DIFFERENT)
    }
}

fn jaccard(a: &[String], b: &[String]) -> f64 {
    // Both sorted and deduplicated: merge count.
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

fn compare_address(a: &Prepared, b: &Prepared, org: bool) -> Option<(Reason, f64)> {
    let (x, y) = (a.address.as_ref()?, b.address.as_ref()?);
    if x.text == y.text {
        return Some((Reason::SameAddress, W_ADDRESS_SAME));
    }
    let postal_same = x.postal_code.is_some() && x.postal_code == y.postal_code;
    let postal_conflict = x.postal_code.is_some() && y.postal_code.is_some() && !postal_same;
    if postal_conflict {
        let w = if org {
            W_POSTAL_DIFFERENT_ORG
        } else {
            W_POSTAL_DIFFERENT_PERSON
        };
        return Some((Reason::DifferentPostalCode, w));
    }
    let similar = jaccard(&a.address_tokens, &b.address_tokens) >= 0.6
        || jaro_winkler(&x.text, &y.text) >= 0.95;
    if similar {
        return Some((Reason::SimilarAddress, W_ADDRESS_SIMILAR));
    }
    postal_same.then_some((Reason::SamePostalCode, W_POSTAL_SAME))
}

fn shares_any(a: &[String], b: &[String]) -> bool {
    a.iter().any(|x| b.binary_search(x).is_ok())
}

fn shared_business_domain(a: &Prepared, b: &Prepared) -> bool {
    a.emails.iter().filter_map(|e| email_domain(e)).any(|d| {
        !is_free_mail_domain(d)
            && b.emails
                .iter()
                .filter_map(|e| email_domain(e))
                .any(|x| x == d)
    })
}

/// Scores two prepared records. See [`compare`].
pub fn compare_prepared(a: &Prepared, b: &Prepared, cfg: &Config) -> Option<Match> {
    if a.kind != b.kind {
        return None;
    }
    let org = a.kind == Kind::Organization;
    let mut w = PRIOR;
    let mut reasons = Vec::new();

    let same_email = shares_any(&a.emails, &b.emails);
    let same_phone = shares_any(&a.phones, &b.phones);
    if same_email {
        reasons.push(Reason::SameEmail);
    }
    if same_phone {
        reasons.push(Reason::SamePhone);
    }
    w += match (same_email, same_phone) {
        (true, true) => W_CONTACT_BOTH,
        (true, false) | (false, true) => W_CONTACT_ONE,
        (false, false) => 0.0,
    };
    if org && !same_email && shared_business_domain(a, b) {
        reasons.push(Reason::SameEmailDomain);
        w += W_EMAIL_DOMAIN;
    }

    if let Some(ns) = best_name(a, b, org) {
        reasons.push(Reason::Name {
            score: ns.score,
            pinyin: ns.via_pinyin,
        });
        w += name_weight(ns.score, org);
    }
    if let (Some(la), Some(lb)) = (&a.legal, &b.legal) {
        let s = name_similarity(la, lb, org).score;
        if s >= 0.95 {
            reasons.push(Reason::SameLegalName);
            w += W_LEGAL_SAME;
        } else if s < 0.6 {
            reasons.push(Reason::DifferentLegalName);
            w += W_LEGAL_DIFFERENT;
        }
    }
    if !org && let (Some(x), Some(y)) = (a.birth, b.birth) {
        let (r, bw) = compare_birth(x, y);
        reasons.push(r);
        w += bw;
    }
    if let Some((r, aw)) = compare_address(a, b, org) {
        reasons.push(r);
        w += aw;
    }

    let score = 1.0 / (1.0 + (-w).exp());
    if score < cfg.possible {
        return None;
    }
    let level = if score >= cfg.duplicate {
        Level::Duplicate
    } else {
        Level::Possible
    };
    Some(Match {
        score,
        level,
        reasons,
    })
}

/// Decides whether two records are likely the same customer.
///
/// Returns `None` for different kinds or a score below `cfg.possible`.
/// A shared normalised e-mail or phone alone scores ≈0.92; a clearly
/// different person name (e.g. colleagues behind one switchboard number)
/// pulls it below `possible`. Agreeing birth dates raise the score,
/// disagreeing ones lower it strongly (persons only). Deterministic.
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
    fn birth_comparison() {
        let d = |s: &str| parse_birth_date(s).unwrap();
        assert_eq!(
            compare_birth(d("1980-05-01"), d("1980-05-01")).0,
            Reason::SameBirthDate
        );
        assert_eq!(
            compare_birth(d("1980-05-01"), d("1980-01-05")).0,
            Reason::SimilarBirthDate
        );
        assert_eq!(
            compare_birth(d("1980-05-01"), d("1981-05-01")).0,
            Reason::SimilarBirthDate
        );
        assert_eq!(
            compare_birth(d("1980-05-01"), d("1975-11-23")).0,
            Reason::DifferentBirthDate
        );
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

    #[test]
    fn jaccard_merge() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(jaccard(&v(&["a", "b"]), &v(&["b", "c"])), 1.0 / 3.0);
        assert_eq!(jaccard(&[], &[]), 0.0);
    }
}
