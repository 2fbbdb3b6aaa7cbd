//! `crm bench import` and `crm bench scan`: the customers service's import and duplicate scan
//! run in this process against a real database (PostgreSQL for the figures in BENCHMARKS.md),
//! the same code the service runs for an upload or a StartDuplicateScan. Prints rows/s, the
//! time and the peak memory (VmHWM) of the process.
use clap::Args;
use crm_customers::bulk::import::{ImportOptions, MatchKey};
use crm_platform::auth::Principal;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `crm bench import`.
#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// Customers database (its migrations are applied first).
    #[arg(long, env = "CRM_CUSTOMERS__DATABASE_URL")]
    pub database_url: String,
    /// The file to import (e.g. from `crm bench seed --csv`).
    #[arg(long)]
    pub file: PathBuf,
    /// Duplicate policy: warn, block or allow.
    #[arg(long, default_value = "warn")]
    pub policy: String,
    /// Validate only.
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `crm bench scan`.
#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Customers database.
    #[arg(long, env = "CRM_CUSTOMERS__DATABASE_URL")]
    pub database_url: String,
}

/// Peak resident memory of this process, in MiB (Linux).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn customers(url: &str) -> anyhow::Result<crm_customers::service::Customers> {
    let config = crm_customers::Config {
        database_url: crm_platform::config::Secret::new(url),
        ..Default::default()
    };
    let db = crm_customers::open_db(&config).await?;
    let (keyring, _) =
        crm_platform::crypto::Keyring::generate().map_err(|e| anyhow::anyhow!("keys: {e}"))?;
    Ok(
        crm_customers::service::Customers::new(crm_customers::store::Store::new(db))
            .with_keyring(keyring),
    )
}

/// Runs `crm bench import`.
pub async fn import(args: &ImportArgs) -> anyhow::Result<()> {
    let c = customers(&args.database_url).await?;
    let sys = Principal::system();
    // The generator's own reference is not a customer field; its address columns become the
    // customers' addresses. Its source channel "ERP_IMPORT" is none of the API's: mapped, those
    // rows would fail.
    let ignore = [
        "customer_ref",
        "source_channel",
        "credit_limit",
        "currency",
        "created_at",
        "duplicate_of",
    ];
    let options = ImportOptions {
        file_name: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        mapping: ignore
            .iter()
            .map(|c| ((*c).to_owned(), String::new()))
            .collect(),
        dry_run: args.dry_run,
        match_key: MatchKey::None,
        policy: args.policy.to_uppercase(),
        ..Default::default()
    };
    let job = c.new_import(&sys, &options).await?;
    let started = Instant::now();
    // The service removes an uploaded file after its import: work on a copy.
    let copy = crm_customers::bulk::report::temp_path("bench-import", "upload");
    std::fs::copy(&args.file, &copy)?;
    let done = c.run_import(&sys, job.id, options, copy).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "import: {} rows in {secs:.1} s = {:.0} rows/s ({} created, {} skipped as duplicates, {} failed; policy {}{}); peak RSS {:.0} MiB; state {}{}",
        done.rows_done,
        done.rows_done as f64 / secs.max(1e-9),
        done.created,
        done.skipped,
        done.failed,
        args.policy,
        if args.dry_run { ", dry run" } else { "" },
        peak_rss_mib(),
        done.state,
        if done.error.is_empty() {
            String::new()
        } else {
            format!(": {}", done.error)
        }
    );
    Ok(())
}

/// Runs `crm bench scan`.
pub async fn scan(args: &ScanArgs) -> anyhow::Result<()> {
    let c = customers(&args.database_url).await?;
    let sys = Principal::system();
    let scan = c.new_scan(&sys).await?;
    let started = Instant::now();
    let done = c.run_scan(&sys, scan.id).await?;
    println!(
        "scan: {} customers in {:.1} s (read {:.1} s, compare {:.1} s, store the rest); {} comparisons, {} clusters, {} duplicate pairs, {} possible pairs; peak RSS {:.0} MiB",
        done.customers_scanned,
        started.elapsed().as_secs_f64(),
        done.read_millis as f64 / 1000.0,
        done.compare_millis as f64 / 1000.0,
        done.comparisons,
        done.clusters,
        done.duplicate_pairs,
        done.possible_pairs,
        peak_rss_mib()
    );
    Ok(())
}
