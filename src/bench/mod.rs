//! `crm bench`: load scenarios over gRPC and REST with latency percentiles (HDR histograms),
//! closed loop or fixed arrival rate, and the realistic data generator (`crm bench seed`).
//! Ships in the one binary, like `pgbench` with PostgreSQL, so a platform team can measure its
//! own deployment.
pub mod auth;
pub mod bulk;
pub mod data;
pub mod dedup;
pub mod events;
pub mod generate;
pub mod load;
pub mod scenarios;
pub mod seed;

use clap::{Args, Subcommand};
use load::{Mode, Summary, Timing};
use std::path::PathBuf;

/// `crm bench ...`
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Run scenarios against a running suite (or a floor server) and print latency percentiles.
    Run(RunArgs),
    /// Write generated customers into a database (direct SQL) or CSV/XLSX files.
    Seed(SeedArgs),
    /// List the scenarios.
    List,
    /// The event backbone on PostgreSQL and Redis: events/s and commit-to-handled latency.
    Events(events::EventsArgs),
    /// The duplicate matcher on generated labelled data: precision, recall, F1, scan time.
    Dedup(dedup::DedupArgs),
    /// An import job into a database, in this process: rows/s and peak memory.
    Import(bulk::ImportArgs),
    /// A duplicate scan of every customer of a database, in this process: time and memory.
    Scan(bulk::ScanArgs),
    /// Measure what authenticating one request costs (token verification), in-process.
    Auth {
        /// Iterations.
        #[arg(long, default_value_t = 20_000)]
        calls: u32,
    },
}

/// Options of `crm bench run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Scenarios to run, in order (see `crm bench list`).
    #[arg(required = true)]
    pub scenarios: Vec<String>,
    /// Address of the gateway (or any server of the same API).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// Where to read existing customer ids from, when the target cannot list (floor servers).
    #[arg(long)]
    pub ids_from: Option<String>,
    /// Requests in flight (closed loop).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Fixed arrival rate in requests/s (open loop); latency counts from the intended send time.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Open loop: most requests outstanding at once.
    #[arg(long, default_value_t = 10_000)]
    pub max_in_flight: usize,
    /// Measured time per scenario ("10s", "500ms", "1m").
    #[arg(long, default_value = "10s")]
    pub duration: String,
    /// Load before measuring.
    #[arg(long, default_value = "2s")]
    pub warmup: String,
    /// HTTP/2 connections for gRPC scenarios.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Existing customers to spread reads over.
    #[arg(long, default_value_t = 10_000)]
    pub ids: usize,
    /// Bearer token sent with every request.
    #[arg(long, env = "CRM_BENCH_TOKEN")]
    pub token: Option<String>,
    /// Session cookie of the web UI, sent with the `ui-*` scenarios' pages: the `crm_session`
    /// value from the `Set-Cookie` of `POST /login` (or the whole `crm_session=...` pair).
    #[arg(long, env = "CRM_BENCH_COOKIE")]
    pub cookie: Option<String>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Label of the results (default: the scenario name), e.g. "floor-echo".
    #[arg(long)]
    pub label: Option<String>,
    /// Seed of generated data (create scenarios).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// Options of `crm bench seed`.
#[derive(Args, Debug, Clone)]
pub struct SeedArgs {
    /// Customers database to fill (its migrations are applied first).
    #[arg(long, env = "CRM_CUSTOMERS__DATABASE_URL")]
    pub database_url: Option<String>,
    /// Number of customers.
    #[arg(long, default_value_t = 10_000)]
    pub customers: u64,
    /// Generator seed: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of near-duplicate records (0.0 to 1.0), labelled in the files' `duplicate_of` column.
    #[arg(long, default_value_t = 0.0)]
    pub duplicates: f64,
    /// Write the customers as CSV here instead of into a database.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write the customers as XLSX here instead of into a database.
    #[arg(long)]
    pub xlsx: Option<PathBuf>,
    /// With --csv: also write transactions and interactions next to it.
    #[arg(long)]
    pub history: bool,
}

/// Runs `crm bench ...`.
pub async fn main(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::List => {
            for (name, what) in scenarios::SCENARIOS {
                println!("{name:<22} {what}");
            }
            Ok(())
        }
        BenchCommand::Seed(args) => seed(args).await,
        BenchCommand::Auth { calls } => auth::run(calls).await,
        BenchCommand::Events(args) => events::run(args).await,
        BenchCommand::Dedup(args) => dedup::run(&args),
        BenchCommand::Import(args) => bulk::import(&args).await,
        BenchCommand::Scan(args) => bulk::scan(&args).await,
        BenchCommand::Run(args) => {
            let results = run(&args).await?;
            print_table(&results);
            if let Some(path) = &args.json {
                std::fs::write(path, serde_json::to_string_pretty(&results)?)?;
            }
            Ok(())
        }
    }
}

/// Runs the scenarios of `args` one after the other.
pub async fn run(args: &RunArgs) -> anyhow::Result<Vec<Summary>> {
    let timing = Timing {
        duration: load::parse_duration(&args.duration).map_err(anyhow::Error::msg)?,
        warmup: load::parse_duration(&args.warmup).map_err(anyhow::Error::msg)?,
    };
    let mode = match args.rate {
        Some(rate) => Mode::Open {
            rate,
            max_in_flight: args.max_in_flight,
        },
        None => Mode::Closed {
            concurrency: args.concurrency.max(1),
        },
    };
    for name in &args.scenarios {
        if !scenarios::SCENARIOS.iter().any(|(n, _)| n == name) {
            anyhow::bail!("unknown scenario {name:?} (see `crm bench list`)");
        }
    }
    if args.cookie.is_none() && args.scenarios.iter().any(|s| scenarios::needs_cookie(s)) {
        anyhow::bail!(
            "the ui-* scenarios need the web UI's session cookie (--cookie or CRM_BENCH_COOKIE)"
        );
    }
    let mut target =
        scenarios::Target::connect(&args.target, args.connections, args.token.clone()).await?;
    target.set_cookie(args.cookie.as_deref());
    let source = match &args.ids_from {
        Some(url) => scenarios::Target::connect(url, 1, args.token.clone()).await?,
        None => target.clone(),
    };
    let found = target.load_ids(&source, args.ids).await?;
    if found == 0 && args.scenarios.iter().any(|s| scenarios::needs_ids(s)) {
        anyhow::bail!("no customers to read: seed some first (`crm bench seed`)");
    }
    let mut results = Vec::new();
    for name in &args.scenarios {
        let Some(call) = scenarios::call(name, target.clone(), args.seed) else {
            continue;
        };
        let label = args.label.clone().unwrap_or_else(|| name.clone());
        results.push(load::run(&label, call, mode, timing, !args.quiet).await);
    }
    Ok(results)
}

fn print_table(results: &[Summary]) {
    println!(
        "{:<22} {:<14} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}  errors",
        "scenario", "mode", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9", "max ms"
    );
    for s in results {
        let errors = if s.errors.is_empty() {
            "0".to_owned()
        } else {
            s.errors
                .iter()
                .map(|(c, n)| format!("{c}={n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "{:<22} {:<14} {:>10} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  {errors}",
            s.scenario,
            s.mode,
            s.requests,
            s.rps,
            s.p50_ms,
            s.p90_ms,
            s.p99_ms,
            s.p999_ms,
            s.max_ms
        );
    }
}

async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let mut generator = generate::Generator::new(args.seed);
    if !(0.0..=1.0).contains(&args.duplicates) {
        anyhow::bail!("--duplicates must be between 0.0 and 1.0");
    }
    generator.duplicate_rate = args.duplicates;
    let started = std::time::Instant::now();
    if let Some(path) = &args.csv {
        seed::write_csv(path, &generator, args.customers, args.history)?;
        eprintln!(
            "wrote {} customers to {} in {:.1} s",
            args.customers,
            path.display(),
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(path) = &args.xlsx {
        seed::write_xlsx(path, &generator, args.customers)?;
        eprintln!(
            "wrote {} customers to {} in {:.1} s",
            args.customers,
            path.display(),
            started.elapsed().as_secs_f64()
        );
    }
    if args.csv.is_none() && args.xlsx.is_none() {
        let Some(url) = &args.database_url else {
            anyhow::bail!("give --database-url (or CRM_CUSTOMERS__DATABASE_URL), --csv or --xlsx");
        };
        let config = crm_customers::Config {
            database_url: crm_platform::config::Secret::new(url.clone()),
            ..Default::default()
        };
        let db = crm_customers::open_db(&config).await?;
        let n = seed::seed_db(&db, &generator, args.customers, true).await?;
        eprintln!(
            "seeded {n} customers ({}) in {:.1} s",
            db.backend(),
            started.elapsed().as_secs_f64()
        );
        db.close().await;
    }
    Ok(())
}
