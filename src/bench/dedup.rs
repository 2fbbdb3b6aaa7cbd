//! `crm bench dedup`: the duplicate matcher (`crm-dedup`) on this benchmark's own labelled data
//! (the generator's near-duplicates: typos, swapped names, dropped emails and legal names,
//! phones in another format), not on the matcher's own synthetic set. Prints pairwise
//! precision, recall and F1 against the labels, and the scan time.
use super::generate::{Generator, Record};
use clap::Args;
use std::collections::HashMap;
use std::time::Instant;

/// Options of `crm bench dedup`.
#[derive(Args, Debug, Clone)]
pub struct DedupArgs {
    /// Records to generate.
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    /// Share of records that are near-duplicates of an earlier one.
    #[arg(long, default_value_t = 0.1)]
    pub duplicate_rate: f64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// The matcher's view of a generated record.
fn to_match_record(r: &Record) -> crm_dedup::Record {
    let kind = if r.organization {
        crm_dedup::Kind::Organization
    } else {
        crm_dedup::Kind::Person
    };
    crm_dedup::Record {
        id: u128::from(r.index),
        kind,
        name: r.display_name.clone(),
        legal_name: r.legal_name.clone(),
        emails: r.email.iter().cloned().collect(),
        phones: r.phone_raw.iter().cloned().collect(),
        birth_date: r.birthday.map(|d| d.format("%Y-%m-%d").to_string()),
        given_name: None,
        family_name: None,
        addresses: vec![crm_dedup::Address {
            lines: vec![r.street.clone()],
            city: r.city.to_owned(),
            postal_code: r.postal_code.clone(),
            ..crm_dedup::Address::default()
        }],
    }
}

/// Pairwise quality of predicted clusters against labels (record index → root index).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Pairs placed together that belong together.
    pub true_pairs: u64,
    /// Pairs placed together.
    pub predicted_pairs: u64,
    /// Pairs that belong together.
    pub labelled_pairs: u64,
}

impl Quality {
    /// Share of predicted pairs that are right.
    pub fn precision(&self) -> f64 {
        self.true_pairs as f64 / self.predicted_pairs.max(1) as f64
    }

    /// Share of labelled pairs that were found.
    pub fn recall(&self) -> f64 {
        self.true_pairs as f64 / self.labelled_pairs.max(1) as f64
    }

    /// Harmonic mean of the two.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores `clusters` (lists of record indexes) against `root_of` (each record's cluster root).
pub fn quality(clusters: &[Vec<u64>], root_of: &[u64]) -> Quality {
    let mut labelled: HashMap<u64, u64> = HashMap::new();
    for root in root_of {
        *labelled.entry(*root).or_default() += 1;
    }
    let mut q = Quality {
        labelled_pairs: labelled.values().map(|n| pairs(*n)).sum(),
        ..Quality::default()
    };
    for cluster in clusters {
        q.predicted_pairs += pairs(cluster.len() as u64);
        let mut by_root: HashMap<u64, u64> = HashMap::new();
        for member in cluster {
            *by_root.entry(root_of[*member as usize]).or_default() += 1;
        }
        q.true_pairs += by_root.values().map(|n| pairs(*n)).sum::<u64>();
    }
    q
}

/// What one run measured.
pub struct Measured {
    /// The matcher's output.
    pub scan: crm_dedup::Scan,
    /// Its quality against the labels.
    pub quality: Quality,
    /// Seconds to generate the records.
    pub generate_s: f64,
    /// Seconds the scan took.
    pub scan_s: f64,
}

/// Generates the labelled records, scans them and scores the clusters.
pub fn measure(args: &DedupArgs) -> Measured {
    let mut generator = Generator::new(args.seed);
    generator.duplicate_rate = args.duplicate_rate;
    let started = Instant::now();
    let generated: Vec<Record> = (0..args.records).map(|i| generator.record(i)).collect();
    let generate_s = started.elapsed().as_secs_f64();
    let root_of: Vec<u64> = generated
        .iter()
        .map(|r| r.duplicate_of.unwrap_or(r.index))
        .collect();
    let records: Vec<crm_dedup::Record> = generated.iter().map(to_match_record).collect();
    drop(generated);
    let started = Instant::now();
    let scan = crm_dedup::scan(&records, &crm_dedup::Config::default());
    let scan_s = started.elapsed().as_secs_f64();
    let clusters: Vec<Vec<u64>> = scan
        .clusters
        .iter()
        .map(|c| c.members.iter().map(|id| *id as u64).collect())
        .collect();
    Measured {
        quality: quality(&clusters, &root_of),
        scan,
        generate_s,
        scan_s,
    }
}

/// Runs the benchmark and prints its figures.
pub fn run(args: &DedupArgs) -> anyhow::Result<()> {
    let Measured {
        scan,
        quality: q,
        generate_s,
        scan_s,
    } = measure(args);
    println!(
        "dedup: {} records ({:.0}% near-duplicates, seed {}), generated in {generate_s:.1} s; \
         scan {scan_s:.2} s ({} comparisons, {} blocks skipped); {} clusters, {} possible pairs \
         for review; pairwise precision {:.4}, recall {:.4}, F1 {:.4}",
        args.records,
        args.duplicate_rate * 100.0,
        args.seed,
        scan.stats.comparisons,
        scan.stats.skipped_blocks,
        scan.clusters.len(),
        scan.possible.len(),
        q.precision(),
        q.recall(),
        q.f1()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_quality_counts_pairs() {
        // Records 0-2 belong together, 3 and 4 too, 5 alone.
        let root_of = [0, 0, 0, 3, 3, 5];
        let perfect = quality(&[vec![0, 1, 2], vec![3, 4]], &root_of);
        assert_eq!((perfect.precision(), perfect.recall()), (1.0, 1.0));
        // One wrong merge (5 into the first) and one missed pair (3, 4).
        let q = quality(&[vec![0, 1, 2, 5]], &root_of);
        assert_eq!(
            q,
            Quality {
                true_pairs: 3,
                predicted_pairs: 6,
                labelled_pairs: 4
            }
        );
        assert!((q.f1() - 2.0 * 0.5 * 0.75 / 1.25).abs() < 1e-9);
    }

    #[test]
    fn the_matcher_finds_the_generators_duplicates() {
        let args = DedupArgs {
            records: 3_000,
            duplicate_rate: 0.1,
            seed: 7,
        };
        let q = measure(&args).quality;
        assert!(q.labelled_pairs > 100, "{q:?}");
        assert!(q.recall() > 0.95 && q.precision() > 0.9, "{q:?}");
    }
}
