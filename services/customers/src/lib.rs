//! The customers service: customers (organisations and persons) and what is known about them.
//!
//! Layout: `api` (gRPC adapter) → `service` (use cases) → `store` (SQL for both backends),
//! with `domain` (parsed values) and `error` (one error enum, one status mapping).
pub mod access;
pub mod api;
pub mod backfill;
pub mod bulk;
pub mod classification;
pub mod consents;
pub mod contact_points;
pub mod contacts;
pub mod custom_fields;
pub mod domain;
pub mod duplicates;
pub mod erasure;
pub mod error;
pub mod events;
pub mod history;
pub mod interactions;
pub mod jobs;
pub mod merge;
pub mod overview;
pub mod privacy;
pub mod privacy_archive;
pub mod profile;
pub mod reminders;
pub mod scan;
pub mod search;
pub mod sensitive;
pub mod service;
pub mod sharing;
pub mod statistics;
pub mod store;
pub mod survivorship;
pub mod transactions;

use crm_platform::{
    config::Secret,
    crypto::{CryptoConfig, Keyring},
    db::Db,
    grpc::GrpcRoutes,
    server::{ServiceContext, Shutdown},
};
use crm_proto::crm::customers::v1::{
    bulk_service_server::BulkServiceServer, customer_service_server::CustomerServiceServer,
    duplicate_service_server::DuplicateServiceServer, privacy_service_server::PrivacyServiceServer,
};
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
    /// Keys of the sensitive fields (`CRM_CUSTOMERS__CRYPTO__KEYS__<id>`, `__CURRENT`,
    /// `__INDEX_KEY`; a Kubernetes Secret in production).
    pub crypto: CryptoConfig,
    /// A JSON file with the keys (`{"keys": {"<id>": "<base64>"}, "current": "<id>",
    /// "index_key": "<base64>"}`), e.g. a mounted Kubernetes Secret; used when `crypto` has no
    /// keys, and it must exist. Empty: beside a SQLite database ("<file>.keys.json", created
    /// with fresh keys on first start: `crm dev`); with PostgreSQL, keys are then required.
    pub key_file: String,
    /// Region of phone numbers written without a country code ("CN": "138 1234 5678" is
    /// "+8613812345678"). ISO 3166-1 alpha-2; see `domain::PHONE_REGIONS`.
    pub phone_region: String,
    /// The services that answer privacy requests (`CRM_CUSTOMERS__PRIVACY_SERVICES`): a
    /// request completes when each has answered. The customers service answers itself.
    pub privacy_services: Vec<String>,
    /// Duplicate thresholds and the merge undo period (`CRM_CUSTOMERS__DUPLICATES__*`).
    pub duplicates: duplicates::DuplicateConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 50051)),
            database_url: Secret::new("sqlite://data/customers.db"),
            max_connections: 16,
            classification: Default::default(),
            crypto: Default::default(),
            key_file: String::new(),
            phone_region: "CN".to_owned(),
            duplicates: Default::default(),
            privacy_services: vec![NAME.to_owned()],
        }
    }
}

/// The keys of sensitive fields: the configured ones, else the key file (see
/// [`Config::key_file`]), created with fresh keys when missing.
pub fn keyring(config: &Config) -> anyhow::Result<Keyring> {
    if !config.crypto.keys.is_empty() {
        return Keyring::from_config(&config.crypto)
            .map_err(|e| anyhow::anyhow!("customers: crypto keys: {e}"));
    }
    let file = if !config.key_file.is_empty() {
        let file = &config.key_file;
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("customers: key file {file}: {e}"))?;
        return read_keys(file, &text);
    } else if let Some(path) = config
        .database_url
        .expose()
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && !p.contains(":memory:"))
    {
        format!("{path}.keys.json")
    } else {
        anyhow::bail!(
            "customers: no encryption keys for sensitive fields: set CRM_CUSTOMERS__CRYPTO__KEYS__<id>, \
             CRM_CUSTOMERS__CRYPTO__CURRENT and CRM_CUSTOMERS__CRYPTO__INDEX_KEY (base64 of 32 bytes each), \
             or CRM_CUSTOMERS__KEY_FILE"
        );
    };
    let path = std::path::Path::new(&file);
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("customers: key file {file}: {e}"))?;
        return read_keys(&file, &text);
    }
    let (keyring, keys) =
        Keyring::generate().map_err(|e| anyhow::anyhow!("customers: generating keys: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_private(path, serde_json::to_string_pretty(&keys)?.as_bytes())
        .map_err(|e| anyhow::anyhow!("customers: key file {file}: {e}"))?;
    tracing::warn!(
        file = %file,
        "generated encryption keys for sensitive fields; keep this file (losing it loses those values) \
         or configure CRM_CUSTOMERS__CRYPTO__* in production"
    );
    Ok(keyring)
}

fn read_keys(file: &str, text: &str) -> anyhow::Result<Keyring> {
    let keys: CryptoConfig = serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("customers: key file {file}: {e}"))?;
    Keyring::from_config(&keys).map_err(|e| anyhow::anyhow!("customers: key file {file}: {e}"))
}

/// Writes a file only its owner can read.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
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
pub fn routes(ctx: &ServiceContext, config: &Config, keyring: Keyring) -> GrpcRoutes {
    let customers = service::Customers::new(store::Store::new(ctx.db.clone()))
        .with_classification(config.classification.clone())
        .with_keyring(keyring)
        .with_duplicates(config.duplicates.clone())
        .with_audit(ctx.authenticator.clone())
        .with_privacy_services(config.privacy_services.clone());
    GrpcRoutes::new(crm_proto::FILE_DESCRIPTOR_SET)
        .add_service(CustomerServiceServer::new(api::Api::new(customers.clone())))
        .add_service(DuplicateServiceServer::new(api::DuplicateApi::new(
            customers.clone(),
        )))
        .add_service(BulkServiceServer::new(api::BulkApi::new(customers.clone())))
        .add_service(PrivacyServiceServer::new(api::PrivacyApi::new(customers)))
        .permissions(api::PERMISSIONS)
}

/// The service's full server router: routes, health, reflection, the standard stack. Fails on
/// invalid classification thresholds.
pub async fn build(ctx: &ServiceContext, config: &Config) -> anyhow::Result<axum::Router> {
    config
        .classification
        .validate()
        .map_err(|e| anyhow::anyhow!("customers: {e}"))?;
    domain::set_default_phone_region(&config.phone_region)
        .map_err(|e| anyhow::anyhow!("customers: {e}"))?;
    config
        .duplicates
        .validate()
        .map_err(|e| anyhow::anyhow!("customers: {e}"))?;
    let keyring = keyring(config)?;
    routes(ctx, config, keyring)
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
    // A scan runs in the process that started it: one left RUNNING by a stop never ends.
    let interrupted =
        scan::fail_interrupted(&ctx.db).await? + bulk::fail_interrupted(&ctx.db).await?;
    if interrupted > 0 {
        tracing::warn!(
            scans = interrupted,
            "scans and imports interrupted by the last stop marked failed"
        );
    }
    let worker = crm_platform::events::timers::TimerWorker::new(
        ctx.db.clone(),
        ctx.bus_config.poll_interval(),
    );
    let handler = std::sync::Arc::new(jobs::Jobs::new(config.classification.clone()));
    // Customers stored before search existed, or loaded in bulk, get their search document.
    // Detached: it ends on its own, and the returned workers are the ones that run until
    // shutdown (a stack stops when one of them ends).
    let db = ctx.db.clone();
    let matcher = config.duplicates.matcher();
    // Likewise the duplicate keys (customers stored before, or keyed by older rules).
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match backfill::run(&db, &matcher, backfill::Throttle::default()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                customers = n,
                seconds = started.elapsed().as_secs_f64(),
                "search documents and duplicate keys written"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "backfill failed; it runs again at the next start")
            }
        }
    });
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
