//! The `crm` binary's library side: configuration of the whole process and the in-process
//! development stack (`crm dev`), which the end-to-end tests start on port 0.
pub mod bench;

use crm_platform::{
    auth::{Authenticator, JwksSource},
    db::Db,
    denylist::DenyList,
    server::{ServiceContext, Shutdown, admin_router, serve},
    token::{Jwk, Jwks},
};
use crm_proto::crm::identity::v1::{GetJwksRequest, auth_service_client::AuthServiceClient};
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
    /// `[gateway]`.
    pub gateway: crm_gateway::Config,
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
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            identity_url: "http://127.0.0.1:50052".to_owned(),
            redis_url: None,
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
pub fn authenticator(source: Box<dyn JwksSource>, deny: DenyList) -> Arc<Authenticator> {
    Arc::new(Authenticator::new(
        crm_identity::ISSUER,
        crm_identity::AUDIENCE,
        source,
        deny,
    ))
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
    let auth = authenticator(Box::new(InProcessJwks(identity.clone())), deny);
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
    let ctx = ServiceContext {
        db: customers_db.clone(),
        authenticator: auth.clone(),
    };
    let (customers_addr, listener) = bind(loopback).await?;
    tasks.spawn(serve(
        listener,
        crm_customers::build(&ctx).await?,
        shutdown.clone(),
    ));

    let gateway_config = crm_gateway::Config {
        listen: options.listen,
        upstreams: crm_gateway::UpstreamsConfig {
            customers: format!("http://{customers_addr}"),
            identity: format!("http://{identity_addr}"),
        },
    };
    let gateway = crm_gateway::build(&gateway_config, auth).await?;
    let (gateway_addr, listener) = bind(options.listen).await?;
    tasks.spawn(serve(listener, gateway, shutdown.clone()));

    let dbs = vec![customers_db, identity_db];
    let (admin, admin_addr) = bind_admin(options.admin_listen, dbs.clone()).await?;
    tasks.spawn(serve(admin.1, admin.0, shutdown.clone()));

    Ok(DevStack {
        gateway_addr,
        customers_addr,
        admin_addr,
        identity_addr,
        generated_admin_password: bootstrap.generated_admin_password,
        shutdown,
        tasks,
        dbs,
    })
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
