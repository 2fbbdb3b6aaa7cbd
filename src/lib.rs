//! The `crm` binary's library side: configuration of the whole process and the in-process
//! development stack (`crm dev`), which the end-to-end tests start on port 0.
pub mod bench;
pub mod bulk_cli;
pub mod customers_cli;
pub mod events_cli;

use crm_platform::{
    auth::{Authenticator, Denial, DenialSink, Export, JwksSource},
    db::Db,
    denylist::DenyList,
    events::{BusConfig, bus::Bus},
    server::{ServiceContext, Shutdown, admin_router, serve},
    token::{Jwk, Jwks},
};
use crm_proto::crm::identity::v1::{
    GetJwksRequest, IssueClientTokenRequest, RecordSecurityEventsRequest, SecurityEvent,
    auth_service_client::AuthServiceClient, security_event,
    security_service_client::SecurityServiceClient,
};
use serde::{Deserialize, Serialize};
use std::{future::Future, net::SocketAddr, path::PathBuf, pin::Pin, sync::Arc};
use tokio::task::JoinSet;

/// Configuration of a `crm serve` process: defaults → `CRM_CONFIG` file → `CRM_*` variables.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The admin port: `/metrics`, `/healthz`, `/readyz` (`CRM_ADMIN__LISTEN`).
    pub admin: AdminConfig,
    /// How services verify tokens (`CRM_AUTH__*`).
    pub auth: AuthConfig,
    /// `[identity]`.
    pub identity: crm_identity::Config,
    /// `[customers]`.
    pub customers: crm_customers::Config,
    /// `[events]`.
    pub events: crm_events::Config,
    /// `[gateway]`.
    pub gateway: crm_gateway::Config,
    /// The event bus shared by every service (`CRM_BUS__REDIS_URL`, retention, retries).
    pub bus: BusConfig,
}

/// The admin port.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminConfig {
    /// Address of the admin server.
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 9464)),
        }
    }
}

/// Token verification shared by every service of a process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Where the identity service answers GetJwks (when it is not in this process).
    pub identity_url: String,
    /// Redis for the token deny list, shared by every replica (`redis://...`). Without it the
    /// deny list is per process, so a logout reaches only the process that handled it.
    pub redis_url: Option<crm_platform::config::Secret>,
    /// This service's own API client (role "Service"), to report refusals to identity's audit
    /// log when identity runs elsewhere.
    pub client_id: Option<String>,
    /// Its secret.
    pub client_secret: Option<crm_platform::config::Secret>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            identity_url: "http://127.0.0.1:50052".to_owned(),
            redis_url: None,
            client_id: None,
            client_secret: None,
        }
    }
}

/// The public keys of an identity service in this process.
pub struct InProcessJwks(pub crm_identity::service::Identity);

impl JwksSource for InProcessJwks {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<Jwks>> + Send + '_>> {
        Box::pin(async move { crm_identity::jwks(&self.0) })
    }
}

/// The public keys of a remote identity service, over gRPC.
pub struct GrpcJwks(pub AuthServiceClient<tonic::transport::Channel>);

impl JwksSource for GrpcJwks {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<Jwks>> + Send + '_>> {
        Box::pin(async move {
            let keys = self
                .0
                .clone()
                .get_jwks(GetJwksRequest {})
                .await?
                .into_inner()
                .keys;
            Ok(Jwks {
                keys: keys
                    .into_iter()
                    .map(|k| Jwk {
                        kty: k.kty,
                        crv: k.crv,
                        x: k.x,
                        kid: k.kid,
                        alg: k.alg,
                        use_: k.r#use,
                    })
                    .collect(),
            })
        })
    }
}

/// The token verifier of a process.
pub fn authenticator(
    source: Box<dyn JwksSource>,
    deny: DenyList,
    denials: Option<Box<dyn DenialSink>>,
) -> Arc<Authenticator> {
    let auth = Authenticator::new(crm_identity::ISSUER, crm_identity::AUDIENCE, source, deny);
    Arc::new(match denials {
        Some(sink) => auth.with_denials(sink),
        None => auth,
    })
}

fn denial_event(d: Denial) -> crm_identity::store::EventRow {
    let details = serde_json::json!({ "permission": d.permission }).to_string();
    crm_identity::store::EventRow {
        id: uuid::Uuid::now_v7(),
        r#type: "PERMISSION_DENIED".to_owned(),
        actor: d.actor,
        target: d.method,
        time: crm_platform::db::now(),
        source_ip: d.source_ip,
        request_id: d.request_id,
        trace_id: String::new(),
        details,
    }
}

/// Reports refusals to the identity service in this process.
pub struct InProcessDenials(pub crm_identity::service::Identity);

impl DenialSink for InProcessDenials {
    fn denied(&self, denial: Denial) {
        let identity = self.0.clone();
        tokio::spawn(async move {
            if let Err(error) = identity.record(denial_event(denial)).await {
                tracing::warn!(%error, "cannot audit a refused request");
            }
        });
    }

    fn exported(&self, export: Export) {
        let identity = self.0.clone();
        let event = crm_identity::store::EventRow {
            id: uuid::Uuid::now_v7(),
            r#type: "DATA_EXPORTED".to_owned(),
            actor: export.actor,
            target: export.resource.clone(),
            time: crm_platform::db::now(),
            source_ip: String::new(),
            request_id: export.request_id,
            trace_id: String::new(),
            details: serde_json::json!({
                "service": export.service,
                "resource": export.resource,
                "rows": export.rows.to_string(),
            })
            .to_string(),
        };
        tokio::spawn(async move {
            if let Err(error) = identity.record(event).await {
                tracing::warn!(%error, "cannot audit an export");
            }
        });
    }
}

/// Reports refusals to a remote identity service, authenticated as this service's own API
/// client (client credentials, the token reused until shortly before it expires).
#[derive(Clone)]
pub struct GrpcDenials {
    auth: AuthServiceClient<tonic::transport::Channel>,
    security: SecurityServiceClient<tonic::transport::Channel>,
    client_id: String,
    secret: crm_platform::config::Secret,
    token: Arc<tokio::sync::Mutex<Option<(String, std::time::Instant)>>>,
}

impl GrpcDenials {
    /// A reporter over `channel` (to identity) with these credentials.
    pub fn new(
        channel: tonic::transport::Channel,
        client_id: String,
        secret: crm_platform::config::Secret,
    ) -> GrpcDenials {
        GrpcDenials {
            auth: AuthServiceClient::new(channel.clone()),
            security: SecurityServiceClient::new(channel),
            client_id,
            secret,
            token: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    async fn token(&self) -> anyhow::Result<String> {
        let mut slot = self.token.lock().await;
        if let Some((token, until)) = slot.as_ref()
            && std::time::Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let request = IssueClientTokenRequest {
            client_id: self.client_id.clone(),
            client_secret: self.secret.expose().to_owned(),
        };
        let issued = self
            .auth
            .clone()
            .issue_client_token(request)
            .await?
            .into_inner();
        let lifetime = std::time::Duration::from_secs(
            u64::try_from(issued.expires_in)
                .unwrap_or(0)
                .saturating_sub(60),
        );
        *slot = Some((
            issued.access_token.clone(),
            std::time::Instant::now() + lifetime,
        ));
        Ok(issued.access_token)
    }

    /// Sends one refusal to identity.
    pub async fn send(&self, denial: Denial) -> anyhow::Result<()> {
        self.send_event(SecurityEvent {
            r#type: security_event::Type::PermissionDenied as i32,
            actor: denial.actor,
            target: denial.method,
            source_ip: denial.source_ip,
            request_id: denial.request_id,
            details: [("permission".to_owned(), denial.permission)].into(),
            ..Default::default()
        })
        .await
    }

    /// Sends one security event to identity.
    pub async fn send_event(&self, event: SecurityEvent) -> anyhow::Result<()> {
        let token = self.token().await?;
        let mut request = tonic::Request::new(RecordSecurityEventsRequest {
            events: vec![event],
        });
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        self.security
            .clone()
            .record_security_events(request)
            .await?;
        Ok(())
    }
}

impl DenialSink for GrpcDenials {
    fn denied(&self, denial: Denial) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(error) = this.send(denial).await {
                tracing::warn!(%error, "cannot report a refused request to identity");
            }
        });
    }

    fn exported(&self, export: Export) {
        let this = self.clone();
        tokio::spawn(async move {
            let event = SecurityEvent {
                r#type: security_event::Type::DataExported as i32,
                actor: export.actor,
                target: export.resource.clone(),
                request_id: export.request_id,
                details: [
                    ("service".to_owned(), export.service),
                    ("resource".to_owned(), export.resource),
                    ("rows".to_owned(), export.rows.to_string()),
                ]
                .into(),
                ..Default::default()
            };
            if let Err(error) = this.send_event(event).await {
                tracing::warn!(%error, "cannot report an export to identity");
            }
        });
    }
}

/// The deny list: Redis when configured, else in this process.
pub async fn deny_list(config: &AuthConfig) -> anyhow::Result<DenyList> {
    match &config.redis_url {
        Some(url) if !url.is_empty() => Ok(DenyList::redis(url.expose()).await?),
        _ => Ok(DenyList::memory()),
    }
}

/// Options of `crm dev`.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// Where the SQLite files live (one per service).
    pub data_dir: PathBuf,
    /// The gateway's address (REST, gRPC, OpenAPI).
    pub listen: SocketAddr,
    /// The admin port (metrics, probes).
    pub admin_listen: SocketAddr,
    /// A migrated customers database to use instead of the SQLite file (tests run the whole
    /// stack on PostgreSQL this way).
    pub customers_db: Option<Db>,
    /// A migrated identity database to use instead of the SQLite file.
    pub identity_db: Option<Db>,
    /// The administrator's password on first start (else one is generated and returned).
    pub admin_password: Option<String>,
    /// A migrated events database to use instead of the SQLite file.
    pub events_db: Option<Db>,
    /// The event bus: the in-process one unless given (tests pass Redis).
    pub bus: Option<Bus>,
    /// Bus settings (polling, retries).
    pub bus_config: BusConfig,
    /// Webhook delivery settings.
    pub webhooks: crm_events::WebhookConfig,
}

impl DevOptions {
    /// Defaults of `crm dev` with another data dir and addresses.
    pub fn new(data_dir: PathBuf, listen: SocketAddr, admin_listen: SocketAddr) -> Self {
        Self {
            data_dir,
            listen,
            admin_listen,
            customers_db: None,
            identity_db: None,
            admin_password: None,
            events_db: None,
            bus: None,
            bus_config: BusConfig::default(),
            webhooks: crm_events::WebhookConfig::default(),
        }
    }
}

/// A running development stack.
pub struct DevStack {
    /// Where the gateway listens.
    pub gateway_addr: SocketAddr,
    /// Where the customers service listens (loopback only).
    pub customers_addr: SocketAddr,
    /// Where the admin server listens.
    pub admin_addr: SocketAddr,
    /// Where the identity service listens (loopback only).
    pub identity_addr: SocketAddr,
    /// Where the events service listens (loopback only).
    pub events_addr: SocketAddr,
    /// The event bus of the stack.
    pub bus: Bus,
    /// The administrator's generated password, when first start created it.
    pub generated_admin_password: Option<String>,
    shutdown: Shutdown,
    tasks: JoinSet<std::io::Result<()>>,
    dbs: Vec<Db>,
}

impl DevStack {
    /// The customers database.
    pub fn customers_db(&self) -> &Db {
        &self.dbs[0]
    }

    /// Every service database: customers, identity, events.
    pub fn databases(&self) -> &[Db] {
        &self.dbs
    }

    /// The shutdown signal of the stack (trigger it to stop everything).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Waits until every server has stopped (after a trigger), then closes the databases.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut result = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(anyhow::anyhow!("server failed: {e}")),
                Err(e) => result = Err(anyhow::anyhow!("server task failed: {e}")),
            }
            // One server down takes the others down: a half-running stack misleads.
            self.shutdown.trigger();
        }
        for db in &self.dbs {
            db.close().await;
        }
        result
    }

    /// Stops the stack and waits for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        self.wait().await
    }
}

/// Starts every service and the gateway in this process, with SQLite files under the data dir.
pub async fn start_dev(options: DevOptions) -> anyhow::Result<DevStack> {
    std::fs::create_dir_all(&options.data_dir).map_err(|e| {
        anyhow::anyhow!("cannot create data dir {}: {e}", options.data_dir.display())
    })?;
    let shutdown = Shutdown::new();
    let mut tasks = JoinSet::new();

    let sqlite = |service: &str| {
        crm_platform::config::Secret::new(format!(
            "sqlite://{}",
            options.data_dir.join(format!("{service}.db")).display()
        ))
    };
    // One deny list and one verifier for every service of the process.
    let deny = DenyList::memory();
    let identity_config = crm_identity::Config {
        database_url: sqlite(crm_identity::NAME),
        signing_key_file: Some(options.data_dir.join("signing.key")),
        ..Default::default()
    };
    let identity_db = match options.identity_db.clone() {
        Some(db) => db,
        None => crm_identity::open_db(&identity_config).await?,
    };
    let identity = crm_identity::identity(identity_db.clone(), &identity_config, deny.clone())?;
    let bootstrap = crm_identity::bootstrap(&identity, options.admin_password.clone()).await?;
    let auth = authenticator(
        Box::new(InProcessJwks(identity.clone())),
        deny,
        Some(Box::new(InProcessDenials(identity.clone()))),
    );
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));

    let identity_router = crm_identity::routes(&identity)
        .into_server(auth.clone(), Default::default())
        .await?;
    let (identity_addr, listener) = bind(loopback).await?;
    tasks.spawn(serve(listener, identity_router, shutdown.clone()));

    let customers_config = crm_customers::Config {
        database_url: sqlite(crm_customers::NAME),
        ..Default::default()
    };
    let customers_db = match options.customers_db.clone() {
        Some(db) => db,
        None => crm_customers::open_db(&customers_config).await?,
    };
    let bus = options.bus.clone().unwrap_or_else(Bus::memory);
    let ctx = ServiceContext {
        db: customers_db.clone(),
        authenticator: auth.clone(),
        bus: bus.clone(),
        bus_config: options.bus_config.clone(),
    };
    let (customers_addr, listener) = bind(loopback).await?;
    tasks.spawn(serve(
        listener,
        crm_customers::build(&ctx, &customers_config).await?,
        shutdown.clone(),
    ));
    for worker in crm_customers::spawn_workers(&ctx, &customers_config, shutdown.clone()).await? {
        background(&mut tasks, worker);
    }
    let identity_ctx = ServiceContext {
        db: identity_db.clone(),
        ..ctx.clone()
    };
    background(
        &mut tasks,
        identity_ctx.spawn_relay(crm_identity::NAME, shutdown.clone()),
    );

    let events_config = crm_events::Config {
        database_url: sqlite(crm_events::NAME),
        webhooks: options.webhooks.clone(),
        ..Default::default()
    };
    let events_db = match options.events_db.clone() {
        Some(db) => db,
        None => crm_events::open_db(&events_config).await?,
    };
    let events_ctx = ServiceContext {
        db: events_db.clone(),
        ..ctx.clone()
    };
    let (events_addr, listener) = bind(loopback).await?;
    tasks.spawn(serve(
        listener,
        crm_events::build(&events_ctx, &events_config, shutdown.clone()).await?,
        shutdown.clone(),
    ));
    for worker in crm_events::spawn_workers(&events_ctx, &events_config, shutdown.clone()) {
        background(&mut tasks, worker);
    }

    let gateway_config = crm_gateway::Config {
        listen: options.listen,
        upstreams: crm_gateway::UpstreamsConfig {
            customers: format!("http://{customers_addr}"),
            identity: format!("http://{identity_addr}"),
            events: format!("http://{events_addr}"),
        },
        // The UI's session keys are random per process in dev: a restart signs users out.
        ..Default::default()
    };
    let gateway = crm_gateway::build(&gateway_config, auth, shutdown.clone()).await?;
    let (gateway_addr, listener) = bind(options.listen).await?;
    tasks.spawn(serve(listener, gateway, shutdown.clone()));

    let dbs = vec![customers_db, identity_db, events_db];
    let (admin, admin_addr) = bind_admin(options.admin_listen, dbs.clone()).await?;
    tasks.spawn(serve(admin.1, admin.0, shutdown.clone()));

    Ok(DevStack {
        gateway_addr,
        customers_addr,
        admin_addr,
        identity_addr,
        events_addr,
        bus,
        generated_admin_password: bootstrap.generated_admin_password,
        shutdown,
        tasks,
        dbs,
    })
}

/// Adds a background worker (relay, consumer, timers) to the stack's tasks: it ends at shutdown.
fn background(tasks: &mut JoinSet<std::io::Result<()>>, worker: tokio::task::JoinHandle<()>) {
    tasks.spawn(async move {
        if let Err(error) = worker.await {
            tracing::error!(%error, "background worker failed");
        }
        Ok(())
    });
}

async fn bind(addr: SocketAddr) -> anyhow::Result<(SocketAddr, tokio::net::TcpListener)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    Ok((listener.local_addr()?, listener))
}

/// Binds the admin server; it is ready when every database answers.
pub async fn bind_admin(
    listen: SocketAddr,
    dbs: Vec<Db>,
) -> anyhow::Result<((axum::Router, tokio::net::TcpListener), SocketAddr)> {
    let router = admin_router(move || {
        let dbs = dbs.clone();
        async move {
            for db in &dbs {
                if db.ping().await.is_err() {
                    return false;
                }
            }
            true
        }
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen} (admin): {e}"))?;
    let addr = listener.local_addr()?;
    Ok(((router, listener), addr))
}
