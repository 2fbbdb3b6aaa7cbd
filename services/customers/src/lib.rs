//! The customers service: customers (organisations and persons) and what is known about them.
//!
//! Layout: `api` (gRPC adapter) → `service` (use cases) → `store` (SQL for both backends),
//! with `domain` (parsed values) and `error` (one error enum, one status mapping).
pub mod api;
pub mod classification;
pub mod consents;
pub mod contact_points;
pub mod contacts;
pub mod domain;
pub mod error;
pub mod events;
pub mod history;
pub mod interactions;
pub mod jobs;
pub mod profile;
pub mod reminders;
pub mod service;
pub mod store;
pub mod transactions;

use crm_platform::{
    config::Secret,
    db::Db,
    grpc::GrpcRoutes,
    server::{ServiceContext, Shutdown},
};
use crm_proto::crm::customers::v1::customer_service_server::CustomerServiceServer;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The service's name in config, logs and `crm serve`.
pub const NAME: &str = "customers";

/// Configuration of the customers service (`[customers]`, `CRM_CUSTOMERS__*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address of the gRPC server.
    pub listen: SocketAddr,
    /// `postgres://...` or `sqlite://path`. Secret: it may carry a password.
    pub database_url: Secret,
    /// Maximum database connections.
    pub max_connections: u32,
    /// Lifecycle stage and value tier thresholds (`CRM_CUSTOMERS__CLASSIFICATION__*`).
    pub classification: classification::ClassificationConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 50051)),
            database_url: Secret::new("sqlite://data/customers.db"),
            max_connections: 16,
            classification: Default::default(),
        }
    }
}

/// Connects to the service's database and applies its migrations.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    crm_platform::db::open(
        NAME,
        &config.database_url,
        config.max_connections,
        &store::MIGRATIONS,
    )
    .await
}

/// The service's gRPC routes over a migrated database, with its permission table.
pub fn routes(ctx: &ServiceContext, config: &Config) -> GrpcRoutes {
    let customers = service::Customers::new(store::Store::new(ctx.db.clone()))
        .with_classification(config.classification.clone());
    GrpcRoutes::new(crm_proto::FILE_DESCRIPTOR_SET)
        .add_service(CustomerServiceServer::new(api::Api::new(customers)))
        .permissions(api::PERMISSIONS)
}

/// The service's full server router: routes, health, reflection, the standard stack. Fails on
/// invalid classification thresholds.
pub async fn build(ctx: &ServiceContext, config: &Config) -> anyhow::Result<axum::Router> {
    config
        .classification
        .validate()
        .map_err(|e| anyhow::anyhow!("customers: {e}"))?;
    routes(ctx, config)
        .into_server(ctx.authenticator.clone(), Default::default())
        .await
}

/// Starts the background work: the outbox relay and the timer worker (daily reclassification,
/// registered here so that every start makes sure it exists).
pub async fn spawn_workers(
    ctx: &ServiceContext,
    config: &Config,
    shutdown: Shutdown,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let now = crm_platform::db::now();
    jobs::register(&ctx.db, jobs::next_run(now)).await?;
    let worker = crm_platform::events::timers::TimerWorker::new(
        ctx.db.clone(),
        ctx.bus_config.poll_interval(),
    );
    let handler = std::sync::Arc::new(jobs::Jobs::new(config.classification.clone()));
    Ok(vec![
        ctx.spawn_relay(NAME, shutdown.clone()),
        tokio::spawn(worker.run(handler, shutdown)),
    ])
}

/// Runs the service (Kubernetes: `crm serve customers`) until `shutdown`.
pub async fn run(config: Config, ctx: ServiceContext, shutdown: Shutdown) -> anyhow::Result<()> {
    let router = build(&ctx, &config).await?;
    let workers = spawn_workers(&ctx, &config, shutdown.clone()).await?;
    let served = crm_platform::server::run_grpc(NAME, config.listen, router, shutdown).await;
    // The relay flushes the outbox after the last request.
    for worker in workers {
        let _ = worker.await;
    }
    served
}
