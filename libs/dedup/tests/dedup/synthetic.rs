//! Quality and speed on labelled synthetic data.

use crm_dedup::synth::{SynthConfig, evaluate, generate};
use crm_dedup::{Config, Kind, clusters, scan};
use std::time::Instant;

#[test]
fn synthetic_precision_and_recall() {
    let data = generate(&SynthConfig::default());
    assert!(data.records.iter().any(|r| r.kind == Kind::Organization));
    assert!(data.records.iter().any(|r| {
        r.name
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }));
    let found = clusters(&data.records, &Config::default());
    let m = evaluate(&data, &found);
    println!(
        "records {} true pairs {} predicted {} correct {} precision {:.4} recall {:.4} F1 {:.4}",
        data.records.len(),
        m.true_pairs,
        m.predicted_pairs,
        m.correct_pairs,
        m.precision,
        m.recall,
        m.f1
    );
    assert!(m.true_pairs > 500, "generator should make many duplicates");
    assert!(m.precision >= 0.95, "precision {:.4}", m.precision);
    assert!(m.recall >= 0.85, "recall {:.4}", m.recall);
}

#[test]
fn clustering_is_deterministic() {
    let data = generate(&SynthConfig {
        entities: 300,
        seed: 7,
        ..SynthConfig::default()
    });
    let cfg = Config::default();
    assert_eq!(scan(&data.records, &cfg), scan(&data.records, &cfg));
}

/// `cargo test --release -- --ignored --nocapture` to see the timing.
#[test]
#[ignore = "timing benchmark; run in release mode"]
fn hundred_thousand_records_in_a_few_seconds() {
    let data = generate(&SynthConfig {
        entities: 64_000,
        ..SynthConfig::default()
    });
    assert!(data.records.len() >= 100_000);
    let t = Instant::now();
    let result = scan(&data.records, &Config::default());
    let elapsed = t.elapsed();
    let m = evaluate(&data, &result.clusters);
    println!(
        "{} records: {elapsed:.2?}, {:?}, precision {:.4} recall {:.4}",
        data.records.len(),
        result.stats,
        m.precision,
        m.recall
    );
    assert!(elapsed.as_secs_f64() < 10.0, "took {elapsed:.2?}");
}
