//! Runs the matcher on a CSV file of records (layout in `csv_io.rs`) and
//! writes the predicted clusters as `id,cluster` (records in no cluster
//! are left out). Prints the scan's time and counters to stderr.
//!
//! `cargo run --release -p crm-dedup --example match_csv -- IN.csv OUT.csv`

// Each example uses only part of the shared CSV helpers.
#[allow(dead_code)]
#[path = "common/csv_io.rs"]
mod csv_io;

use crm_dedup::{Config, scan};
use std::io::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let input = args.get(1).ok_or("usage: match_csv IN.csv OUT.csv")?;
    let output = args.get(2).ok_or("usage: match_csv IN.csv OUT.csv")?;
    let text = std::fs::read_to_string(input)?;
    let rows = csv_io::parse(&text);
    let body = rows.get(1..).unwrap_or_default();
    let ids: Vec<&str> = body
        .iter()
        .map(|r| r.first().map_or("", String::as_str))
        .collect();
    let records: Vec<_> = body
        .iter()
        .enumerate()
        .map(|(i, r)| csv_io::record(i, r))
        .collect();
    let t = Instant::now();
    let result = scan(&records, &Config::default());
    eprintln!(
        "scan of {} records: {:.2?}, {:?}",
        records.len(),
        t.elapsed(),
        result.stats
    );
    let mut w = std::io::BufWriter::new(std::fs::File::create(output)?);
    writeln!(w, "id,cluster")?;
    for (c, cluster) in result.clusters.iter().enumerate() {
        for m in &cluster.members {
            let id = ids.get(*m as usize).copied().unwrap_or("");
            writeln!(w, "{},{c}", csv_io::quote(id))?;
        }
    }
    w.flush()?;
    Ok(())
}
