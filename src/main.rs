//! `crm`: one binary that runs any set of the CRM's services.
use clap::{Parser, Subcommand};
use crm::{Config, DevOptions};
use crm_platform::server::Shutdown;
use std::{net::SocketAddr, path::PathBuf, time::Instant};

#[derive(Parser)]
#[command(
    name = "crm",
    version,
    about = "CRM suite: customers, sales, service, marketing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service and the gateway in one process, with SQLite files: no setup needed.
    Dev {
        /// Directory of the SQLite files (one per service).
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Address of the gateway: REST, gRPC and the OpenAPI document.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Address of the admin port: /metrics, /healthz, /readyz.
        #[arg(long, default_value = "127.0.0.1:9464")]
        admin_listen: SocketAddr,
    },
    /// Run the named services (Kubernetes). Addresses and database URLs come from
    /// CRM_CONFIG / CRM_* variables, e.g. CRM_CUSTOMERS__DATABASE_URL.
    Serve {
        /// Services to run: customers, gateway.
        #[arg(required = true, value_parser = ["customers", "gateway"])]
        services: Vec<String>,
    },
    /// Apply a service's database migrations and exit.
    Migrate {
        /// The service: customers.
        #[arg(value_parser = ["customers"])]
        service: String,
    },
    /// Print the gateway's OpenAPI document.
    Openapi,
    /// Load benchmarks and the data generator (see `crm bench list`).
    Bench {
        #[command(subcommand)]
        command: crm::bench::BenchCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = crm_platform::telemetry::init("crm")?;
    match cli.command {
        Command::Dev {
            data_dir,
            listen,
            admin_listen,
        } => dev(DevOptions::new(data_dir, listen, admin_listen)).await,
        Command::Serve { services } => serve(services).await,
        Command::Migrate { service } => migrate(&service).await,
        Command::Bench { command } => crm::bench::main(command).await,
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crm_gateway::openapi_document()?)?
            );
            Ok(())
        }
    }
}

async fn dev(options: DevOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    let data_dir = options.data_dir.clone();
    let stack = crm::start_dev(options).await?;
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
    let gw = stack.gateway_addr;
    println!(
        "crm dev ready in {ready_ms:.0} ms (data in {})",
        data_dir.display()
    );
    println!("  REST      http://{gw}/api/v1/customers");
    println!("  gRPC      {gw}  (crm.customers.v1.CustomerService; reflection on)");
    println!("  OpenAPI   http://{gw}/api/openapi.json");
    println!("  probes    http://{gw}/healthz  http://{gw}/readyz");
    println!("  metrics   http://{}/metrics", stack.admin_addr);
    println!("  customers gRPC {} (internal)", stack.customers_addr);
    stack.shutdown().on_signals();
    stack.wait().await
}

async fn serve(services: Vec<String>) -> anyhow::Result<()> {
    let config: Config = crm_platform::config::load()?;
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    let mut tasks = tokio::task::JoinSet::new();
    let mut dbs = Vec::new();
    for service in &services {
        match service.as_str() {
            "customers" => {
                // Readiness follows the database, so the admin port needs the pool too.
                let db = crm_customers::open_db(&config.customers).await?;
                dbs.push(db.clone());
                let ctx = crm_platform::server::ServiceContext { db };
                let routes = crm_customers::build(&ctx).await?;
                let listen = config.customers.listen;
                let stop = shutdown.clone();
                tasks.spawn(async move {
                    crm_platform::server::run_grpc(crm_customers::NAME, listen, routes, stop).await
                });
            }
            "gateway" => {
                let gateway = config.gateway.clone();
                let stop = shutdown.clone();
                tasks.spawn(async move { crm_gateway::run(gateway, stop).await });
            }
            other => anyhow::bail!("unknown service {other:?}"),
        }
    }
    let ((admin, listener), addr) = crm::bind_admin(config.admin.listen, dbs.clone()).await?;
    tracing::info!(%addr, "admin port: /metrics /healthz /readyz");
    let stop = shutdown.clone();
    tasks.spawn(async move { Ok(crm_platform::server::serve(listener, admin, stop).await?) });

    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined.map_err(anyhow::Error::from).and_then(|r| r) {
            tracing::error!(error = %e, "server stopped with an error");
            result = Err(e);
        }
        shutdown.trigger();
    }
    for db in dbs {
        db.close().await;
    }
    result
}

async fn migrate(service: &str) -> anyhow::Result<()> {
    let config: Config = crm_platform::config::load()?;
    match service {
        "customers" => {
            let db = crm_customers::open_db(&config.customers).await?;
            tracing::info!(service, backend = db.backend(), "migrations applied");
            db.close().await;
        }
        other => anyhow::bail!("unknown service {other:?}"),
    }
    Ok(())
}
