//! Pairwise scoring.
//!
//! Evidence is combined Fellegi–Sunter style: each comparison adds a weight
//! (log-odds) to a negative prior and the sum goes through a logistic
//! function to give a score in 0..=1. Log-odds make independent evidence
//! add up naturally and let strong negative evidence (a clearly different
//! person name, a different birth date) veto a shared phone or e-mail.

use crate::evidence::{
    Tally, address_evidence, address_token_hashes, contact_evidence, house_numbers,
};
use crate::names::{NameForm, fnv1a, parse_org_name, parse_person_name};
use crate::normalize::{
    BirthDate, NormalizedAddress, address_tokens, normalize_address, normalize_email,
    normalize_phone, parse_birth_date,
};
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
    pub min_link_evidence: f64,
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
            min_link_evidence: 0.0,
            threads: 0,
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
    /// The name is shared by `records` records of the scan, so agreeing on
    /// it is weak evidence (its weight is reduced).
    CommonName {
        records: u32,
    },
    /// Nothing identifying agrees (no shared e-mail, phone, birth date,
    /// address with house number or company domain): the score is capped
    /// at [`UNCORROBORATED_MAX`], below the default duplicate threshold.
    Uncorroborated,
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
            Reason::CommonName { records } => write!(f, "common name ({records} records)"),
            Reason::Uncorroborated => f.write_str("no shared contact, birth date or address"),
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
    /// Sorted hashes of `address_tokens` (what [`compare_prepared`] uses;
    /// [`scan`](crate::scan) drops the strings to save memory).
    pub address_hashes: Vec<u64>,
    /// House numbers in the address (digit runs other than the postal code).
    pub house_numbers: Vec<u32>,
    /// How many records share this record's name ([`Prepared::name_key`]);
    /// 1 unless set by a caller that knows, like [`scan`](crate::scan).
    pub name_count: u32,
}

impl Prepared {
    pub fn new(r: &Record, cfg: &Config) -> Prepared {
        Prepared::build(r, cfg, true)
    }

    /// [`Prepared::new`]; `with_tokens: false` leaves `address_tokens`
    /// empty (the scan does not keep them).
    pub(crate) fn build(r: &Record, cfg: &Config, with_tokens: bool) -> Prepared {
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
        names.shrink_to_fit();
        let address = r.address.as_deref().and_then(normalize_address);
        let address_tokens = address
            .as_ref()
            .filter(|_| with_tokens)
            .map(|a| address_tokens(&a.text))
            .unwrap_or_default();
        let address_hashes = address
            .as_ref()
            .map(|a| address_token_hashes(&a.text))
            .unwrap_or_default();
        let house_numbers = address.as_ref().map(house_numbers).unwrap_or_default();
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
            address_hashes,
            house_numbers,
            name_count: 1,
        }
    }

    /// A prepared record without content (a slot to be overwritten).
    pub(crate) fn placeholder() -> Prepared {
        Prepared {
            id: 0,
            kind: Kind::Person,
            names: Vec::new(),
            legal: None,
            emails: Vec::new(),
            phones: Vec::new(),
            birth: None,
            address: None,
            address_tokens: Vec::new(),
            address_hashes: Vec::new(),
            house_numbers: Vec::new(),
            name_count: 1,
        }
    }

    /// Hash of the display name in a spelling-independent form, used to
    /// count how common a name is: sorted Latin tokens, or for Han person
    /// names the sorted primary pinyin (so 张伟, 章伟 and "Wei Zhang" count
    /// as one name); organisations: cleaned Han + Latin name.
    pub fn name_key(&self) -> Option<u64> {
        let form = self.names.first()?;
        let mut tokens: Vec<&str> = match (self.kind, form.pinyin_tokens.first()) {
            (Kind::Person, Some(py)) if !form.han.is_empty() => {
                py.iter().map(String::as_str).collect()
            }
            _ => form.tokens.iter().map(String::as_str).collect(),
        };
        if self.kind == Kind::Person {
            tokens.sort_unstable();
        }
        let mut key = tokens.join(" ");
        if self.kind == Kind::Organization || tokens.is_empty() {
            key.push('|');
            key.push_str(&form.han);
        }
        Some(fnv1a(&key))
    }

    /// Drops what only blocking keys need (pinyin strings, ü-adjusted
    /// concatenations, address token strings) and trims spare capacity;
    /// [`compare_prepared`] gives the same results afterwards. Used by
    /// [`scan`](crate::scan), which holds millions of these.
    pub fn compact(&mut self) {
        fn strings(v: &mut Vec<String>) {
            v.iter_mut().for_each(String::shrink_to_fit);
            v.shrink_to_fit();
        }
        for form in self.names.iter_mut().chain(self.legal.iter_mut()) {
            form.pinyin = Vec::new();
            form.py_concats = Vec::new();
            strings(&mut form.tokens);
            strings(&mut form.concats);
            strings(&mut form.py_tokens);
            form.pinyin_tokens.iter_mut().for_each(strings);
            form.pinyin_tokens.shrink_to_fit();
            form.han.shrink_to_fit();
            form.pinyin_hashes.shrink_to_fit();
            form.py_concat_hashes.shrink_to_fit();
        }
        strings(&mut self.emails);
        strings(&mut self.phones);
        self.address_tokens = Vec::new();
        if let Some(a) = &mut self.address {
            a.text.shrink_to_fit();
        }
        self.address_hashes.shrink_to_fit();
        self.house_numbers.shrink_to_fit();
    }
}

/// Log-odds prior: two random records in a block are rarely duplicates.
const PRIOR: f64 = -3.0;
const W_LEGAL_SAME: f64 = 1.0;
const W_LEGAL_DIFFERENT: f64 = -2.0;
const W_BIRTH_SAME: f64 = 3.0;
const W_BIRTH_SWAPPED: f64 = 0.5;
const W_BIRTH_ONE_DIGIT: f64 = -1.0;
const W_BIRTH_DIFFERENT: f64 = -5.0;
/// Without anything identifying, the log-odds are capped here (score
/// ≈0.82): a name plus a postal code or a legal name is worth a review,
/// never an automatic merge, however rare the name.
pub const UNCORROBORATED_MAX: f64 = 1.5;
/// Most a common name can lose ([`Reason::CommonName`]): ln(count /
/// `common_name`), at most this, and never more than the name's weight.
const COMMON_NAME_MAX: f64 = 2.5;

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
    contact_evidence(a, b, org, &mut t);

    let mut discount = 0.0;
    let mut names_agree = false;
    if let Some(ns) = best_name(a, b, org) {
        let w = name_weight(ns.score, org);
        names_agree = w > 0.0;
        t.add(
            Reason::Name {
                score: ns.score,
                pinyin: ns.via_pinyin,
            },
            w,
        );
        let count = a.name_count.max(b.name_count);
        if w > 0.0 && count > cfg.common_name {
            let ratio = f64::from(count) / f64::from(cfg.common_name.max(1));
            discount = ratio.ln().min(COMMON_NAME_MAX).min(w);
            t.note(Reason::CommonName { records: count });
        }
    }
    if let (Some(la), Some(lb)) = (&a.legal, &b.legal) {
        let s = name_similarity(la, lb, org).score;
        if s >= 0.95 {
            t.add(Reason::SameLegalName, W_LEGAL_SAME);
        } else if s < 0.6 {
            t.add(Reason::DifferentLegalName, W_LEGAL_DIFFERENT);
        }
    }
    if !org && let (Some(x), Some(y)) = (a.birth, b.birth) {
        let (r, bw) = compare_birth(x, y);
        t.identifying |= bw > 0.0;
        t.add(r, bw);
    }
    address_evidence(a, b, org, names_agree, &mut t);

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
}
