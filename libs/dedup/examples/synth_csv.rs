//! Writes the hard synthetic data set as CSV with its true labels.
//!
//! `cargo run --release -p crm-dedup --example synth_csv -- ENTITIES SEED OUT.csv`

// Each example uses only part of the shared CSV helpers.
#[allow(dead_code)]
#[path = "common/csv_io.rs"]
mod csv_io;

use crm_dedup::synth::{SynthConfig, generate};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let entities: usize = args.get(1).map_or(Ok(10_000), |s| s.parse())?;
    let seed: u64 = args.get(2).map_or(Ok(42), |s| s.parse())?;
    let out = args.get(3).map_or("synthetic.csv", String::as_str);
    let data = generate(&SynthConfig {
        entities,
        seed,
        ..SynthConfig::default()
    });
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    let header: Vec<String> = csv_io::HEADER.iter().map(|s| s.to_string()).collect();
    writeln!(w, "{}", csv_io::line(&header))?;
    for (r, e) in data.records.iter().zip(&data.entity) {
        let row = csv_io::row(&r.id.to_string(), &e.to_string(), r);
        writeln!(w, "{}", csv_io::line(&row))?;
    }
    w.flush()?;
    eprintln!("{} records written to {out}", data.records.len());
    Ok(())
}
