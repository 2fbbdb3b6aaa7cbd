//! `crm`: one binary that runs any set of the CRM's services.
use clap::{Parser, Subcommand};
use crm::{Config, DevOptions};
use crm_platform::server::Shutdown;
use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Instant};

mod identity_cli;

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
        /// Services to run: identity, customers, events, gateway.
        #[arg(required = true, value_parser = ["identity", "customers", "events", "gateway"])]
        services: Vec<String>,
    },
    /// Apply a service's database migrations and exit.
    Migrate {
        /// The service: identity, customers, events.
        #[arg(value_parser = ["identity", "customers", "events"])]
        service: String,
    },
    /// Print the gateway's OpenAPI document.
    Openapi,
    /// Event bus tools: list and replay dead letters (needs CRM_BUS__REDIS_URL).
    Events {
        #[command(subcommand)]
        command: crm::events_cli::EventsCommand,
    },
    /// Identity service tools: recover a lost administrator (`crm identity reset-admin`; run on
    /// the server, with access to the identity database).
    Identity {
        #[command(subcommand)]
        command: identity_cli::IdentityCommand,
    },
    /// Customers service tools: re-encrypt sensitive fields after a key change.
    Customers {
        #[command(subcommand)]
        command: crm::customers_cli::CustomersCommand,
    },
    /// Import into a running suite: `crm import customers FILE [--dry-run] [--mapping FILE]`.
    /// Exits with 2 when rows failed (unless `--allow-failures`), 1 on any other error.
    Import {
        #[command(subcommand)]
        command: crm::bulk_cli::ImportCommand,
    },
    /// Export from a running suite: `crm export customers --out FILE.xlsx`.
    Export {
        #[command(subcommand)]
        command: crm::bulk_cli::ExportCommand,
    },
    /// Load benchmarks and the data generator (see `crm bench list`).
    Bench {
        #[command(subcommand)]
        command: crm::bench::BenchCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let _telemetry = crm_platform::telemetry::init("crm")?;
    let ran = match cli.command {
        Command::Dev {
            data_dir,
            listen,
            admin_listen,
        } => {
            let mut options = DevOptions::new(data_dir, listen, admin_listen);
            options.admin_password = std::env::var("CRM_ADMIN_PASSWORD").ok();
            // Redis is optional in dev: CRM_BUS__REDIS_URL puts the events on it.
            let config: Config = crm_platform::config::load()?;
            if config.bus.redis_url.is_some() {
                options.bus = Some(crm_platform::events::bus::Bus::from_config(&config.bus)?);
            }
            options.bus_config = config.bus;
            dev(options).await
        }
        Command::Serve { services } => serve(services).await,
        Command::Migrate { service } => migrate(&service).await,
        Command::Bench { command } => crm::bench::main(command).await,
        // Its exit code also tells whether rows failed (scripts and CI check it).
        Command::Import { command } => return crm::bulk_cli::import(command).await,
        Command::Export { command } => crm::bulk_cli::export(command).await,
        Command::Events { command } => {
            let config: Config = crm_platform::config::load()?;
            crm::events_cli::main(&config.bus, command).await
        }
        Command::Identity { command } => {
            let config: Config = crm_platform::config::load()?;
            identity_cli::main(&config.identity, command).await
        }
        Command::Customers { command } => {
            let config: Config = crm_platform::config::load()?;
            crm::customers_cli::main(&config.customers, command).await
        }
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crm_gateway::openapi_document()?)?
            );
            Ok(())
        }
    };
    ran.map(|()| ExitCode::SUCCESS)
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
    println!(
        "  events    http://{gw}/api/v1/events:watch (SSE), crm.events.v1.EventService/WatchEvents; bus: {}",
        stack.bus.kind()
    );
    println!(
        "  internal  identity gRPC {}, customers gRPC {}",
        stack.identity_addr, stack.customers_addr
    );
    match &stack.generated_admin_password {
        Some(password) => println!(
            "  sign in   created the administrator: login \"admin\", password {password} (shown once)"
        ),
        None => println!(
            "  sign in   POST http://{gw}/api/v1/auth/login {{\"login_name\": \"admin\", \"password\": ...}}"
        ),
    }
    stack.shutdown().on_signals();
    stack.wait().await
}

async fn serve(services: Vec<String>) -> anyhow::Result<()> {
    let config: Config = crm_platform::config::load()?;
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    let deny = crm::deny_list(&config.auth).await?;
    // With identity in this process its keys are read directly; otherwise over gRPC.
    let identity = if services.iter().any(|s| s == crm_identity::NAME) {
        let db = crm_identity::open_db(&config.identity).await?;
        let identity = crm_identity::identity(db, &config.identity, deny.clone())?;
        let boot =
            crm_identity::bootstrap(&identity, std::env::var("CRM_ADMIN_PASSWORD").ok()).await?;
        if let Some(password) = boot.generated_admin_password {
            // Printed once, on the first start only; it is not stored anywhere in clear.
            println!("created the administrator: login \"admin\", password {password}");
        }
        Some(identity)
    } else {
        None
    };
    let auth = match &identity {
        Some(identity) => crm::authenticator(
            Box::new(crm::InProcessJwks(identity.clone())),
            deny,
            Some(Box::new(crm::InProcessDenials(identity.clone()))),
        ),
        None => {
            let channel = crm_platform::grpc::lazy_channel(&config.auth.identity_url)?;
            let client = crm_proto::crm::identity::v1::auth_service_client::AuthServiceClient::new(
                channel.clone(),
            );
            let denials: Option<Box<dyn crm_platform::auth::DenialSink>> = match (
                &config.auth.client_id,
                &config.auth.client_secret,
            ) {
                (Some(id), Some(secret)) => Some(Box::new(crm::GrpcDenials::new(
                    channel,
                    id.clone(),
                    secret.clone(),
                ))),
                _ => {
                    tracing::warn!(
                        "refused requests are logged but not audited: set CRM_AUTH__CLIENT_ID and CRM_AUTH__CLIENT_SECRET"
                    );
                    None
                }
            };
            crm::authenticator(Box::new(crm::GrpcJwks(client)), deny, denials)
        }
    };
    // Without Redis the in-process bus only links services of this process: fine for one
    // process running everything, a silent partition otherwise.
    let bus = crm_platform::events::bus::Bus::from_config(&config.bus)?;
    if config.bus.redis_url.is_none() && services.len() < 4 {
        tracing::warn!(
            "no CRM_BUS__REDIS_URL: events reach only services in this process; set it when services run in separate processes"
        );
    }
    let context = |db: crm_platform::db::Db| crm_platform::server::ServiceContext {
        db,
        authenticator: auth.clone(),
        bus: bus.clone(),
        bus_config: config.bus.clone(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    let mut dbs = Vec::new();
    for service in &services {
        let stop = shutdown.clone();
        match service.as_str() {
            "identity" => {
                let Some(identity) = identity.clone() else {
                    continue;
                };
                dbs.push(identity.store.db().clone());
                let router = crm_identity::routes(&identity)
                    .into_server(auth.clone(), Default::default())
                    .await?;
                let listen = config.identity.listen;
                let relay = context(identity.store.db().clone())
                    .spawn_relay(crm_identity::NAME, stop.clone());
                tasks.spawn(async move {
                    let served =
                        crm_platform::server::run_grpc(crm_identity::NAME, listen, router, stop)
                            .await;
                    let _ = relay.await;
                    served
                });
            }
            "customers" => {
                // Readiness follows the database, so the admin port needs the pool too.
                let db = crm_customers::open_db(&config.customers).await?;
                dbs.push(db.clone());
                let ctx = context(db);
                let customers = config.customers.clone();
                tasks.spawn(async move { crm_customers::run(customers, ctx, stop).await });
            }
            "events" => {
                let db = crm_events::open_db(&config.events).await?;
                dbs.push(db.clone());
                let ctx = context(db);
                let events = config.events.clone();
                tasks.spawn(async move { crm_events::run(events, ctx, stop).await });
            }
            "gateway" => {
                let gateway = config.gateway.clone();
                let auth = auth.clone();
                tasks.spawn(async move { crm_gateway::run(gateway, auth, stop).await });
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
        "identity" => {
            let db = crm_identity::open_db(&config.identity).await?;
            tracing::info!(service, backend = db.backend(), "migrations applied");
            db.close().await;
        }
        "events" => {
            let db = crm_events::open_db(&config.events).await?;
            tracing::info!(service, backend = db.backend(), "migrations applied");
            db.close().await;
        }
        other => anyhow::bail!("unknown service {other:?}"),
    }
    Ok(())
}
