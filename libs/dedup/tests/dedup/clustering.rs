//! Clustering: chains of matches must not join records that contradict each
//! other; common names; the review list; thread-independent results.

use crm_dedup::synth::{SynthConfig, generate};
use crm_dedup::{Config, Kind, Level, Prepared, Reason, Record, compare, compare_prepared, scan};

fn person(id: u128, name: &str) -> Record {
    Record::new(id, Kind::Person, name)
}

/// A ~ B (same e-mail) and B ~ C (same phone), but A and C have other
/// first names and other birth dates: two people, linked only through B.
fn chain() -> Vec<Record> {
    let mut a = person(1, "John Smith");
    a.emails.push("js@example.com".into());
    a.birth_date = Some("1980-05-01".into());
    let mut b = person(2, "J. Smith");
    b.emails.push("JS@example.com".into());
    b.phones.push("+49 30 1234567".into());
    let mut c = person(3, "Jane Smith");
    c.phones.push("+49 (0)30 1234567".into());
    c.birth_date = Some("1983-02-11".into());
    vec![a, b, c]
}

#[test]
fn the_chain_is_made_of_duplicate_pairs() {
    let r = chain();
    let cfg = Config::default();
    let level = |x: usize, y: usize| compare(&r[x], &r[y], &cfg).map(|m| m.level);
    assert_eq!(level(0, 1), Some(Level::Duplicate));
    assert_eq!(level(1, 2), Some(Level::Duplicate));
    assert_eq!(level(0, 2), None, "A and C are clearly different people");
}

#[test]
fn a_chain_does_not_join_contradicting_records() {
    let result = scan(&chain(), &Config::default());
    assert!(
        !result
            .clusters
            .iter()
            .any(|c| c.members.contains(&1) && c.members.contains(&3)),
        "{:?}",
        result.clusters
    );
    // "J. Smith" links equally well to John (e-mail) and Jane (phone):
    // picking one would be a coin toss, so B joins neither and both pairs
    // wait for review.
    assert!(result.clusters.is_empty(), "{:?}", result.clusters);
    let refused = &result.possible;
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|p| p.matched.level == Level::Duplicate));
    assert!(refused.iter().all(|p| p.a == 2 || p.b == 2));
}

#[test]
fn a_clearly_stronger_link_wins_the_chain() {
    // B also shares John's birth date: B is John; Jane stays out.
    let mut records = chain();
    records[1].birth_date = Some("1980-05-01".into());
    let result = scan(&records, &Config::default());
    assert_eq!(result.clusters.len(), 1, "{:?}", result.clusters);
    assert_eq!(result.clusters[0].members, vec![1, 2]);
    // Against Jane the shared phone is now a household's (another birth
    // date): not even worth a review.
    assert!(result.possible.is_empty(), "{:?}", result.possible);
}

#[test]
fn without_the_check_the_chain_is_one_cluster() {
    let cfg = Config {
        min_link_evidence: f64::NEG_INFINITY,
        ..Config::default()
    };
    let result = scan(&chain(), &cfg);
    assert_eq!(result.clusters.len(), 1);
    assert_eq!(result.clusters[0].members, vec![1, 2, 3]);
}

#[test]
fn missing_data_is_no_contradiction() {
    // A ~ B by e-mail, B ~ C by phone; A and C share only the name.
    let mut a = person(1, "Maria Kowalski");
    a.emails.push("maria.k@example.org".into());
    let mut b = person(2, "Maria Kowalski");
    b.emails.push("maria.k@example.org".into());
    b.phones.push("+48 22 555 0101".into());
    let mut c = person(3, "Kowalski, Maria");
    c.phones.push("0048 22 555 0101".into());
    let result = scan(&[a, b, c], &Config::default());
    assert_eq!(result.clusters.len(), 1);
    assert_eq!(result.clusters[0].members, vec![1, 2, 3]);
    assert!(result.possible.is_empty());
}

#[test]
fn clusters_are_capped() {
    let records: Vec<Record> = (0..12)
        .map(|i| {
            let mut r = person(i, "Wang Fang");
            r.phones.push("+86 138 1234 5678".into());
            r
        })
        .collect();
    let cfg = Config {
        max_cluster: 5,
        ..Config::default()
    };
    let result = scan(&records, &cfg);
    assert!(result.clusters.iter().all(|c| c.members.len() <= 5));
    assert!(result.clusters.len() >= 3, "{:?}", result.clusters);
    // Pairs across the split clusters are left for review.
    assert!(!result.possible.is_empty());
}

#[test]
fn common_names_count_for_less() {
    // 40 records of one name: agreeing on it alone is no reason to review.
    let mut records: Vec<Record> = (0..40).map(|i| person(i, "Anna Weber")).collect();
    records[0].emails.push("anna.weber@example.com".into());
    records[1].emails.push("Anna.Weber@example.com".into());
    let result = scan(&records, &Config::default());
    assert!(result.possible.is_empty(), "{:?}", result.possible.first());
    assert_eq!(result.clusters.len(), 1);
    let reasons = &result.clusters[0].matches[0].matched.reasons;
    assert!(
        reasons.contains(&Reason::CommonName { records: 40 }),
        "{reasons:?}"
    );
    // A rare name alone is still worth a look.
    let few: Vec<Record> = (0..3).map(|i| person(i, "Anna Weber")).collect();
    let result = scan(&few, &Config::default());
    assert_eq!(result.possible.len(), 3);
    assert!(result.clusters.is_empty());
}

#[test]
fn review_list_is_best_first() {
    let data = generate(&SynthConfig {
        entities: 600,
        seed: 11,
        ..SynthConfig::default()
    });
    let result = scan(&data.records, &Config::default());
    assert!(result.possible.len() > 2);
    assert!(
        result
            .possible
            .windows(2)
            .all(|w| w[0].matched.score >= w[1].matched.score)
    );
}

#[test]
fn threads_do_not_change_the_result() {
    let data = generate(&SynthConfig {
        entities: 400,
        seed: 3,
        ..SynthConfig::default()
    });
    let run = |threads| {
        scan(
            &data.records,
            &Config {
                threads,
                ..Config::default()
            },
        )
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
fn compacting_keeps_comparisons() {
    let data = generate(&SynthConfig {
        entities: 300,
        seed: 5,
        ..SynthConfig::default()
    });
    let cfg = Config {
        possible: 0.0,
        ..Config::default()
    };
    let full: Vec<Prepared> = data
        .records
        .iter()
        .map(|r| Prepared::new(r, &cfg))
        .collect();
    let mut compact = full.clone();
    compact.iter_mut().for_each(Prepared::compact);
    for i in 0..full.len() {
        for j in i + 1..(i + 40).min(full.len()) {
            assert_eq!(
                compare_prepared(&full[i], &full[j], &cfg),
                compare_prepared(&compact[i], &compact[j], &cfg)
            );
        }
    }
}
