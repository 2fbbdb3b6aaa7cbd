//! The events service: the change stream for corporate systems (`WatchEvents`, and Server-Sent
//! Events through the gateway) and signed webhooks with retries and a delivery log.
//!
//! Layout: `watch` (the change stream), `api` (webhook subscriptions), `delivery` (the webhook
//! consumer and sender), `store` (SQL for both backends), `webhook` (signing, the SSRF guard, the
//! HTTP sender), `error`.
pub mod api;
pub mod delivery;
pub mod error;
pub mod store;
pub mod watch;
pub mod webhook;

use crm_platform::{
    config::Secret,
    db::Db,
    events::{consumer::Consumer, timers::TimerWorker},
    grpc::GrpcRoutes,
    server::{ServiceContext, Shutdown},
};
use crm_proto::crm::events::v1::{
    event_service_server::EventServiceServer, webhook_service_server::WebhookServiceServer,
};
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// The service's name in config, logs and `crm serve`.
pub const NAME: &str = "events";

/// Configuration of the events service (`[events]`, `CRM_EVENTS__*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address of the gRPC server.
    pub listen: SocketAddr,
    /// `postgres://...` or `sqlite://path`. Secret: it may carry a password.
    pub database_url: Secret,
    /// Maximum database connections.
    pub max_connections: u32,
    /// Webhook delivery.
    pub webhooks: WebhookConfig,
}

/// Webhook delivery settings (`CRM_EVENTS__WEBHOOKS__*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookConfig {
    /// Allow loopback and private addresses (tests, on-premises ERPs on a private network).
    /// Off by default: a subscription must not reach into the suite's own network (SSRF).
    pub allow_private_urls: bool,
    /// Timeout of one delivery attempt (milliseconds).
    pub timeout_ms: u64,
    /// Delay after the first failed attempt (milliseconds), doubled per attempt up to an hour.
    pub retry_base_ms: u64,
    /// How long a delivery is retried before it fails and disables its subscription (seconds).
    pub max_age_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 50053)),
            database_url: Secret::new("sqlite://data/events.db"),
            max_connections: 8,
            webhooks: WebhookConfig::default(),
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_private_urls: false,
            timeout_ms: 10_000,
            retry_base_ms: 5_000,
            max_age_secs: 24 * 3600,
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

fn policy(config: &Config) -> webhook::UrlPolicy {
    webhook::UrlPolicy {
        allow_private: config.webhooks.allow_private_urls,
    }
}

/// The service's gRPC routes; open change streams end at `shutdown`.
pub fn routes(ctx: &ServiceContext, config: &Config, shutdown: Shutdown) -> GrpcRoutes {
    let store = store::Store::new(ctx.db.clone());
    GrpcRoutes::new(crm_proto::FILE_DESCRIPTOR_SET)
        .add_service(EventServiceServer::new(watch::Watch::new(
            ctx.bus.clone(),
            shutdown,
        )))
        .add_service(WebhookServiceServer::new(api::Api::new(
            store,
            policy(config),
        )))
        .permissions(api::PERMISSIONS)
}

/// The service's full server router.
pub async fn build(
    ctx: &ServiceContext,
    config: &Config,
    shutdown: Shutdown,
) -> anyhow::Result<axum::Router> {
    routes(ctx, config, shutdown)
        .into_server(ctx.authenticator.clone(), Default::default())
        .await
}

/// Starts the background work: the webhook consumer on every service's stream and the
/// delivery timer worker.
pub fn spawn_workers(
    ctx: &ServiceContext,
    config: &Config,
    shutdown: Shutdown,
) -> Vec<tokio::task::JoinHandle<()>> {
    let streams = crm_platform::events::SOURCES
        .iter()
        .map(|s| crm_platform::events::stream_of(s))
        .collect();
    let consumer = Consumer::new(
        delivery::GROUP,
        ctx.db.clone(),
        ctx.bus.clone(),
        &ctx.bus_config,
    );
    let sender = webhook::Sender::new(
        policy(config),
        Duration::from_millis(config.webhooks.timeout_ms),
    );
    let deliver = delivery::Deliver::new(
        store::Store::new(ctx.db.clone()),
        sender,
        Duration::from_millis(config.webhooks.retry_base_ms),
        Duration::from_secs(config.webhooks.max_age_secs),
    );
    let timers = TimerWorker::new(ctx.db.clone(), ctx.bus_config.poll_interval());
    vec![
        tokio::spawn(consumer.run(streams, Arc::new(delivery::Enqueue), shutdown.clone())),
        tokio::spawn(timers.run(Arc::new(deliver), shutdown)),
    ]
}

/// Runs the service (Kubernetes: `crm serve events`) until `shutdown`.
pub async fn run(config: Config, ctx: ServiceContext, shutdown: Shutdown) -> anyhow::Result<()> {
    let workers = spawn_workers(&ctx, &config, shutdown.clone());
    let router = build(&ctx, &config, shutdown.clone()).await?;
    let served = crm_platform::server::run_grpc(NAME, config.listen, router, shutdown).await;
    for worker in workers {
        let _ = worker.await;
    }
    served
}
