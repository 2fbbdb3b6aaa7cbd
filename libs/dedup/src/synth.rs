//! Labelled synthetic data for measuring the matcher.
//!
//! [`generate`] makes person and organisation entities (Latin and Chinese
//! names drawn with a skew, so common names repeat by the hundred), renders
//! each as a record (persons with given/family name fields or only a
//! display name, addresses structured or as free text) and adds clusters of
//! up to 6 records with hard corruption (see the `person` module): typos
//! and transpositions in names, dates and addresses; given/family and
//! day/month swapped; nicknames, initials; missing fields and contacts.
//! Hard negatives must *not* be merged: twins and relatives at the same
//! address, namesakes born the same day elsewhere or the same year in the
//! same city, neighbours; branches of a firm in another city. [`evaluate`]
//! scores clusters against the labels as pairwise precision / recall / F1.
//!
//! Deterministic: a seeded SplitMix64 generator, no external crates.

#[rustfmt::skip]
mod pools;

use crate::blocking::Cluster;
use crate::{Kind, Record};
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
    /// Like [`Rng::pick`] but the first items far more often (index ∝
    /// u³): a few names become very common, as in real customer bases.
    pub fn skewed<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let i = (u * u * u * items.len() as f64) as usize;
        &items[i.min(items.len().saturating_sub(1))]
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
    /// Share of entities that get duplicate records (clusters of 2–6).
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
            dup_rate: 0.4,
            org_share: 0.1,
            chinese_share: 0.3,
            hard_negative_rate: 0.2,
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

mod entity;
mod person;
mod render;
use entity::{Gen, hard_negative};
use render::{corrupt, render};

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
        if look_alike && e.addresses.is_empty() {
            // A branch (or a neighbour, a twin) is only distinguishable if
            // the entity has a location on record.
            e.addresses.push(g.address(chinese));
        }
        let mut group = vec![e.clone()];
        if look_alike {
            group.push(hard_negative(&mut g, &e));
            if kind == Kind::Person && g.rng.chance(0.3) {
                group.push(hard_negative(&mut g, &e));
            }
        }
        for ent in group {
            let id = next_entity;
            next_entity += 1;
            rows.push((id, render(&mut g.rng, &ent)));
            if g.rng.chance(cfg.dup_rate) {
                // Clusters of 2–6 records, smaller ones more often.
                let copies = match g.rng.below(20) {
                    0..=9 => 1,
                    10..=14 => 2,
                    15..=17 => 3,
                    18 => 4,
                    _ => 5,
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
    use pools::{CN_GIVEN, CN_ORG_CHARS, CN_SURNAMES};

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
