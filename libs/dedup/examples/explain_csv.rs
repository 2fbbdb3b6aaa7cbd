//! For tuning: runs the scan on a labelled CSV (layout in
//! `common/csv_io.rs`) and prints up to N missed true pairs and N false
//! pairs with the matcher's score and reasons.
//!
//! `cargo run --release -p crm-dedup --example explain_csv -- IN.csv [N]`
//!
//! Environment: `DEDUP_ONLY=unblocked` shows only missed pairs of that class
//! (`unblocked`, `unscored`, `Duplicate`, `Possible`); `DEDUP_WHY=1` shows,
//! for missed pairs scored `Duplicate`, the cross pairs of their clusters;
//! `DEDUP_KEYS=1` the blocking keys each missed pair shares.

// Each example uses only part of the shared CSV helpers.
#[allow(dead_code)]
#[path = "common/csv_io.rs"]
mod csv_io;

use crm_dedup::{Config, Record, blocking_keys, compare, scan};
use std::collections::HashMap;

fn show(r: &Record) -> String {
    let addrs: Vec<String> = r
        .addresses
        .iter()
        .map(|a| format!("{} / {} / {}", a.lines.join("|"), a.postal_code, a.city))
        .collect();
    format!(
        "{:?} [{:?} | {:?}] {:?} {:?} {:?} {:?}",
        r.name, r.given_name, r.family_name, r.birth_date, addrs, r.emails, r.phones
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let input = args.get(1).ok_or("usage: explain_csv IN.csv [N]")?;
    let n: usize = args.get(2).map_or(Ok(15), |s| s.parse())?;
    let rows = csv_io::parse(&std::fs::read_to_string(input)?);
    let body = rows.get(1..).unwrap_or_default();
    let records: Vec<Record> = body
        .iter()
        .enumerate()
        .map(|(i, r)| csv_io::record(i, r))
        .collect();
    let entity: Vec<&str> = body
        .iter()
        .map(|r| r.get(1).map_or("", String::as_str))
        .collect();
    // Tuning knobs: DEDUP_MIN_LINK, DEDUP_AMBIGUITY, DEDUP_DUPLICATE,
    // DEDUP_MAX_WEAK, DEDUP_MAX_LOOSE (block caps).
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    let mut cfg = Config::default();
    if let Some(v) = env("DEDUP_MIN_LINK") {
        cfg.min_link_evidence = v;
    }
    if let Some(v) = env("DEDUP_AMBIGUITY") {
        cfg.ambiguity_margin = v;
    }
    if let Some(v) = env("DEDUP_DUPLICATE") {
        cfg.duplicate = v;
    }
    if let Some(v) = env("DEDUP_MAX_WEAK") {
        cfg.max_block_weak = v as usize;
    }
    if let Some(v) = env("DEDUP_MAX_LOOSE") {
        cfg.max_block_loose = v as usize;
    }
    let result = scan(&records, &cfg);
    let mut cluster = vec![usize::MAX; records.len()];
    for (c, cl) in result.clusters.iter().enumerate() {
        for m in &cl.members {
            cluster[*m as usize] = c;
        }
    }
    // Pairs the scan scored (the others were never compared, or scored
    // below `possible`).
    let mut scored: std::collections::HashSet<(u128, u128)> = std::collections::HashSet::new();
    for pm in result
        .possible
        .iter()
        .chain(result.clusters.iter().flat_map(|c| c.matches.iter()))
    {
        scored.insert((pm.a.min(pm.b), pm.a.max(pm.b)));
    }
    let mut by_entity: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, e) in entity.iter().enumerate() {
        by_entity.entry(e).or_default().push(i);
    }
    let mut keys: Vec<&&str> = by_entity.keys().collect();
    keys.sort();
    let mut missed = 0;
    let mut shown = 0;
    let mut levels: HashMap<String, usize> = HashMap::new();
    println!("== missed true pairs");
    for e in keys {
        let ids = &by_entity[*e];
        for (x, &i) in ids.iter().enumerate() {
            for &j in &ids[x + 1..] {
                if cluster[i] == usize::MAX || cluster[i] != cluster[j] {
                    missed += 1;
                    let loose = Config {
                        possible: 0.0,
                        ..cfg.clone()
                    };
                    let m = compare(&records[i], &records[j], &loose);
                    let level = m
                        .as_ref()
                        .map_or("none".to_string(), |m| format!("{:?}", m.level));
                    let ka = blocking_keys(&records[i], &cfg);
                    let kb = blocking_keys(&records[j], &cfg);
                    let (x, y) = (i.min(j) as u128, i.max(j) as u128);
                    let keyed = if !ka.iter().any(|k| kb.contains(k)) {
                        " unblocked"
                    } else if !scored.contains(&(x, y)) {
                        " unscored"
                    } else {
                        ""
                    };
                    let class = format!("{level}{keyed}");
                    *levels.entry(class.clone()).or_insert(0usize) += 1;
                    // DEDUP_ONLY=unblocked (or Duplicate, …): show only
                    // missed pairs of that class.
                    if std::env::var("DEDUP_ONLY").is_ok_and(|c| !class.contains(&c)) {
                        continue;
                    }
                    shown += 1;
                    if std::env::var("DEDUP_WHY").is_ok()
                        && m.as_ref()
                            .is_some_and(|m| m.level == crm_dedup::Level::Duplicate)
                        && shown <= n
                    {
                        // Which cross pair of the two clusters conflicts.
                        let members = |k: usize| -> Vec<usize> {
                            if cluster[k] == usize::MAX {
                                vec![k]
                            } else {
                                result.clusters[cluster[k]]
                                    .members
                                    .iter()
                                    .map(|x| *x as usize)
                                    .collect()
                            }
                        };
                        for x in members(i) {
                            for y in members(j) {
                                let c = compare(&records[x], &records[y], &loose);
                                println!(
                                    "    x {} | {} :: {}",
                                    records[x].name,
                                    records[y].name,
                                    c.map_or("none".into(), |m| m.to_string())
                                );
                            }
                        }
                    }
                    if shown <= n && std::env::var("DEDUP_KEYS").is_ok() {
                        // Which keys the pair shares (blocked but unscored:
                        // all of them oversized).
                        let shared: Vec<&String> = ka.iter().filter(|k| kb.contains(k)).collect();
                        println!("  shared keys {shared:?}");
                    }
                    if shown <= n {
                        println!(
                            "{}\n  {}\n  {}",
                            m.map_or("none".into(), |m| m.to_string()),
                            show(&records[i]),
                            show(&records[j])
                        );
                    }
                }
            }
        }
    }
    println!("missed {missed} by level {levels:?}");
    println!("== false pairs");
    let mut wrong = 0;
    for cl in &result.clusters {
        for (x, &a) in cl.members.iter().enumerate() {
            for &b in &cl.members[x + 1..] {
                let (i, j) = (a as usize, b as usize);
                if entity[i] != entity[j] {
                    wrong += 1;
                    if wrong <= n {
                        let m = compare(&records[i], &records[j], &cfg);
                        println!(
                            "{}\n  {}\n  {}",
                            m.map_or("none".into(), |m| m.to_string()),
                            show(&records[i]),
                            show(&records[j])
                        );
                    }
                }
            }
        }
    }
    println!("false {wrong}");
    let truth: usize = by_entity
        .values()
        .map(|v| v.len() * (v.len() - 1) / 2)
        .sum();
    let (p, r) = (
        (truth - missed) as f64 / (truth - missed + wrong).max(1) as f64,
        (truth - missed) as f64 / truth.max(1) as f64,
    );
    println!("P {p:.4} R {r:.4} F1 {:.4}", 2.0 * p * r / (p + r));
    Ok(())
}
