//! Labelled synthetic data for measuring the matcher.
//!
//! [`generate`] makes person and organisation entities (Latin and Chinese
//! names), renders each as a record, and adds duplicates with realistic
//! corruption: typos, swapped or romanised names, initials, case and accent
//! changes, other phone/e-mail/address formats, missing values, changed
//! legal suffixes. It also adds hard negatives that must *not* be merged:
//! relatives sharing surname, address and home phone; namesakes; branches
//! of a firm with the same name in another city. [`evaluate`] scores
//! clusters against the labels as pairwise precision / recall / F1.
//!
//! Deterministic: a seeded SplitMix64 generator, no external crates.

#[rustfmt::skip]
mod pools;

use crate::blocking::Cluster;
use crate::{Kind, Record};
use pools::*;
use std::collections::{HashMap, HashSet};

/// Small deterministic PRNG (SplitMix64); statistical quality is ample
/// for test data and it keeps the crate dependency-free.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// Generator settings.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Number of distinct base entities (hard negatives come on top).
    pub entities: usize,
    pub seed: u64,
    /// Share of entities that get 1–3 duplicate records.
    pub dup_rate: f64,
    pub org_share: f64,
    /// Share of persons with Chinese names.
    pub chinese_share: f64,
    /// Share of entities that get a look-alike *different* entity.
    pub hard_negative_rate: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            entities: 2000,
            seed: 42,
            dup_rate: 0.3,
            org_share: 0.25,
            chinese_share: 0.45,
            hard_negative_rate: 0.1,
        }
    }
}

/// Generated records with ground truth. Record ids are their index.
#[derive(Debug, Clone)]
pub struct Labeled {
    pub records: Vec<Record>,
    /// `entity[i]` is the true entity of `records[i]`.
    pub entity: Vec<u64>,
}

#[derive(Debug, Clone)]
enum NameData {
    Latin {
        first: String,
        last: String,
    },
    Chinese {
        sur: (String, String),
        given: Vec<(String, String)>,
    },
    Org {
        words: Vec<String>,
        suffix: String,
    },
    ChineseOrg {
        distinct: Vec<(String, String)>,
        industry: String,
        suffix: String,
    },
}

#[derive(Debug, Clone)]
enum Phone {
    CnMobile(String),
    CnLandline { area: String, sub: String },
    De(String),
    Us(String),
}

#[derive(Debug, Clone)]
struct Address {
    street: String,
    number: u16,
    postal: String,
    city: String,
    chinese: bool,
}

#[derive(Debug, Clone)]
struct Entity {
    kind: Kind,
    name: NameData,
    email: Option<String>,
    phone: Option<Phone>,
    birth: Option<(u16, u8, u8)>,
    address: Option<Address>,
}

struct Gen {
    rng: Rng,
    used_contacts: HashSet<String>,
}

impl Gen {
    /// Draws until the value is unused. `make` gets the number of failed
    /// attempts so far (in tens) and must widen its value space with it, so
    /// that large data sets cannot exhaust a small space and loop forever.
    fn unique(&mut self, mut make: impl FnMut(&mut Rng, usize) -> String) -> String {
        let mut attempt = 0;
        loop {
            let v = make(&mut self.rng, attempt / 10);
            if self.used_contacts.insert(v.clone()) {
                return v;
            }
            attempt += 1;
        }
    }

    fn latin_name(&mut self) -> NameData {
        NameData::Latin {
            first: (*self.rng.pick(FIRST_NAMES)).to_string(),
            last: (*self.rng.pick(LAST_NAMES)).to_string(),
        }
    }

    fn chinese_name(&mut self) -> NameData {
        let (h, p) = *self.rng.pick(CN_SURNAMES);
        let n = if self.rng.chance(0.6) { 2 } else { 1 };
        let given = (0..n)
            .map(|_| {
                let (h, p) = *self.rng.pick(CN_GIVEN);
                (h.to_string(), p.to_string())
            })
            .collect();
        NameData::Chinese {
            sur: (h.to_string(), p.to_string()),
            given,
        }
    }

    fn org_name(&mut self, chinese: bool) -> NameData {
        if chinese {
            let distinct = (0..2)
                .map(|_| {
                    let (h, p) = *self.rng.pick(CN_ORG_CHARS);
                    (h.to_string(), p.to_string())
                })
                .collect();
            return NameData::ChineseOrg {
                distinct,
                industry: (*self.rng.pick(CN_ORG_INDUSTRIES)).to_string(),
                suffix: (*self.rng.pick(CN_ORG_SUFFIXES)).to_string(),
            };
        }
        let syllables = 2 + self.rng.below(2);
        let mut word: String = (0..syllables)
            .map(|_| *self.rng.pick(ORG_SYLLABLES))
            .collect();
        word = capitalize(&word);
        let mut words = vec![word];
        if self.rng.chance(0.8) {
            words.push((*self.rng.pick(ORG_INDUSTRIES)).to_string());
        }
        NameData::Org {
            words,
            suffix: (*self.rng.pick(ORG_SUFFIXES)).to_string(),
        }
    }

    fn phone(&mut self, kind: Kind, chinese: bool) -> Phone {
        let landline = kind == Kind::Organization || self.rng.chance(0.1);
        let v = self.unique(|r, _| match (chinese, landline) {
            (true, false) => format!("cm1{}{}", 3 + r.below(7), r.digits(9)),
            (true, true) => {
                format!("cl{}|{}", r.pick(&["10", "21", "755", "571"]), r.digits(8))
            }
            (false, _) if r.chance(0.5) => format!("de15{}{}", r.below(10), r.digits(8)),
            (false, _) => format!("us{}{}", 2 + r.below(8), r.digits(9)),
        });
        match &v[..2] {
            "cm" => Phone::CnMobile(v[2..].to_string()),
            "cl" => {
                let (area, sub) = v[2..].split_once('|').unwrap_or(("10", "12345678"));
                Phone::CnLandline {
                    area: area.to_string(),
                    sub: sub.to_string(),
                }
            }
            "de" => Phone::De(v[2..].to_string()),
            _ => Phone::Us(v[2..].to_string()),
        }
    }

    fn address(&mut self, chinese: bool) -> Address {
        let r = &mut self.rng;
        if chinese {
            let (city, pfx) = *r.pick(CN_CITIES);
            return Address {
                street: format!("{}区{}路", r.pick(CN_DISTRICTS), r.pick(CN_ROADS)),
                number: 1 + r.below(300) as u16,
                postal: format!("{pfx}{}", r.digits(2)),
                city: city.to_string(),
                chinese: true,
            };
        }
        let (city, pfx) = *r.pick(CITIES);
        Address {
            street: (*r.pick(STREETS)).to_string(),
            number: 1 + r.below(200) as u16,
            postal: format!("{pfx}{}", r.digits(2)),
            city: city.to_string(),
            chinese: false,
        }
    }

    fn email(&mut self, name: &NameData) -> String {
        let base = match name {
            NameData::Latin { first, last } => {
                let (f, l) = (ascii_lower(first), ascii_lower(last));
                match self.rng.below(3) {
                    0 => format!("{f}.{l}"),
                    1 => format!("{f}{l}"),
                    _ => format!("{}{l}", &f[..1]),
                }
            }
            NameData::Chinese { sur, given } => {
                let g: String = given.iter().map(|(_, p)| p.as_str()).collect();
                format!("{}{g}", sur.1)
            }
            NameData::Org { words, .. } => ascii_lower(&words[0]),
            NameData::ChineseOrg { distinct, .. } => {
                distinct.iter().map(|(_, p)| p.as_str()).collect()
            }
        };
        let org = matches!(name, NameData::Org { .. } | NameData::ChineseOrg { .. });
        let chinese = matches!(name, NameData::Chinese { .. } | NameData::ChineseOrg { .. });
        self.unique(|r, widen| {
            if org {
                let tld = if chinese { "com.cn" } else { "com" };
                format!(
                    "{}@{base}{}.{tld}",
                    r.pick(&["info", "sales", "contact"]),
                    r.digits(2 + widen)
                )
            } else {
                let domain = if chinese {
                    r.pick(CN_MAIL_DOMAINS)
                } else {
                    r.pick(LATIN_MAIL_DOMAINS)
                };
                let n = 1 + r.below(3) + widen;
                format!("{base}{}@{domain}", r.digits(n))
            }
        })
    }

    fn entity(&mut self, kind: Kind, chinese: bool) -> Entity {
        let name = match kind {
            Kind::Person if chinese => self.chinese_name(),
            Kind::Person => self.latin_name(),
            Kind::Organization => self.org_name(chinese),
        };
        let email = self.rng.chance(0.85).then(|| self.email(&name));
        let phone = self.rng.chance(0.9).then(|| self.phone(kind, chinese));
        let birth = (kind == Kind::Person && self.rng.chance(0.7)).then(|| self.birth());
        let address = self.rng.chance(0.8).then(|| self.address(chinese));
        Entity {
            kind,
            name,
            email,
            phone,
            birth,
            address,
        }
    }

    fn birth(&mut self) -> (u16, u8, u8) {
        (
            1940 + self.rng.below(65) as u16,
            1 + self.rng.below(12) as u8,
            1 + self.rng.below(28) as u8,
        )
    }
}

mod render;
use render::{capitalize, corrupt, render};

fn ascii_lower(s: &str) -> String {
    crate::normalize::fold(s)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// A look-alike of `e` that is a different entity.
fn hard_negative(g: &mut Gen, e: &Entity) -> Entity {
    let chinese = matches!(
        e.name,
        NameData::Chinese { .. } | NameData::ChineseOrg { .. }
    );
    let mut other = g.entity(e.kind, chinese);
    match (&e.name, &mut other.name) {
        // Relative: same surname, address and home phone; own first name,
        // birth date and e-mail.
        (NameData::Latin { last, .. }, NameData::Latin { last: l2, .. }) if g.rng.chance(0.6) => {
            *l2 = last.clone();
            other.address = e.address.clone();
            if g.rng.chance(0.7) {
                other.phone = e.phone.clone();
            }
        }
        (NameData::Chinese { sur, .. }, NameData::Chinese { sur: s2, .. }) if g.rng.chance(0.6) => {
            *s2 = sur.clone();
            other.address = e.address.clone();
            if g.rng.chance(0.7) {
                other.phone = e.phone.clone();
            }
        }
        // Branch of a firm: same name elsewhere, own phone, same domain.
        (NameData::Org { .. } | NameData::ChineseOrg { .. }, _) => {
            other.name = e.name.clone();
            // Another city, so another postal code prefix (retry on a clash).
            loop {
                let a = g.address(chinese);
                if e.address.as_ref().is_none_or(|x| x.city != a.city) {
                    other.address = Some(a);
                    break;
                }
            }
            if let (Some(mail), Some(own)) = (&e.email, &other.email) {
                let domain = mail.split_once('@').map_or("", |(_, d)| d);
                let user = own.split_once('@').map_or("branch", |(u, _)| u);
                other.email = Some(format!("{user}.b@{domain}"));
            }
        }
        // Namesake: identical name, everything else independent.
        _ => other.name = e.name.clone(),
    }
    other
}

/// Generates a labelled data set (records shuffled, ids = index).
pub fn generate(cfg: &SynthConfig) -> Labeled {
    let mut g = Gen {
        rng: Rng::new(cfg.seed),
        used_contacts: HashSet::new(),
    };
    let mut rows: Vec<(u64, Record)> = Vec::new();
    let mut next_entity = 0u64;
    for _ in 0..cfg.entities {
        let kind = if g.rng.chance(cfg.org_share) {
            Kind::Organization
        } else {
            Kind::Person
        };
        let chinese = g.rng.chance(cfg.chinese_share);
        let mut e = g.entity(kind, chinese);
        let look_alike = g.rng.chance(cfg.hard_negative_rate);
        if look_alike && kind == Kind::Organization && e.address.is_none() {
            // A branch is only distinguishable if the head office has a
            // location on record.
            e.address = Some(g.address(chinese));
        }
        let mut group = vec![e.clone()];
        if look_alike {
            group.push(hard_negative(&mut g, &e));
        }
        for ent in group {
            let id = next_entity;
            next_entity += 1;
            rows.push((id, render(&mut g.rng, &ent)));
            if g.rng.chance(cfg.dup_rate) {
                let copies = match g.rng.below(10) {
                    0..=6 => 1,
                    7 | 8 => 2,
                    _ => 3,
                };
                for _ in 0..copies {
                    rows.push((id, corrupt(&mut g.rng, &ent)));
                }
            }
        }
    }
    for i in (1..rows.len()).rev() {
        let j = g.rng.below(i + 1);
        rows.swap(i, j);
    }
    let mut records = Vec::with_capacity(rows.len());
    let mut entity = Vec::with_capacity(rows.len());
    for (i, (e, mut r)) in rows.into_iter().enumerate() {
        r.id = i as u128;
        records.push(r);
        entity.push(e);
    }
    Labeled { records, entity }
}

/// Pairwise quality of a clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Record pairs that truly belong together.
    pub true_pairs: usize,
    /// Record pairs placed in one cluster.
    pub predicted_pairs: usize,
    pub correct_pairs: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Pairwise precision/recall/F1 of `clusters` against the labels.
pub fn evaluate(data: &Labeled, clusters: &[Cluster]) -> Metrics {
    let mut sizes: HashMap<u64, usize> = HashMap::new();
    for e in &data.entity {
        *sizes.entry(*e).or_default() += 1;
    }
    let true_pairs = sizes.values().map(|n| n * (n - 1) / 2).sum();
    let (mut predicted_pairs, mut correct_pairs) = (0usize, 0usize);
    for c in clusters {
        for (x, a) in c.members.iter().enumerate() {
            for b in &c.members[x + 1..] {
                predicted_pairs += 1;
                let ea = data.entity.get(*a as usize);
                if ea.is_some() && ea == data.entity.get(*b as usize) {
                    correct_pairs += 1;
                }
            }
        }
    }
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    let precision = ratio(correct_pairs, predicted_pairs);
    let recall = ratio(correct_pairs, true_pairs);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Metrics {
        true_pairs,
        predicted_pairs,
        correct_pairs,
        precision,
        recall,
        f1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::readings;

    #[test]
    fn pools_pinyin_is_a_valid_reading() {
        let pools = CN_SURNAMES.iter().chain(CN_GIVEN).chain(CN_ORG_CHARS);
        for (han, py) in pools {
            if han.chars().count() == 1 {
                let c = han.chars().next().unwrap();
                assert!(
                    readings(c).contains(&py.to_string()),
                    "{han} {py} {:?}",
                    readings(c)
                );
            }
        }
    }

    #[test]
    fn generation_is_deterministic() {
        let cfg = SynthConfig {
            entities: 200,
            ..SynthConfig::default()
        };
        let a = generate(&cfg);
        let b = generate(&cfg);
        assert_eq!(a.records, b.records);
        assert_eq!(a.entity, b.entity);
        assert!(a.records.len() > 200);
    }

    #[test]
    fn evaluate_counts_pairs() {
        let data = Labeled {
            records: Vec::new(),
            entity: vec![1, 1, 2, 3, 3, 3],
        };
        let clusters = vec![Cluster {
            members: vec![0, 1, 2],
            matches: Vec::new(),
        }];
        let m = evaluate(&data, &clusters);
        assert_eq!(m.true_pairs, 4);
        assert_eq!(m.predicted_pairs, 3);
        assert_eq!(m.correct_pairs, 1);
    }
}
