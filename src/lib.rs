//! The `crm` binary's library side: configuration of the whole process and the in-process
//! development stack (`crm dev`), which the end-to-end tests start on port 0.
pub mod bench;

use crm_platform::{
    db::Db,
    server::{ServiceContext, Shutdown, admin_router, bind_grpc, serve},
};
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, path::PathBuf};
use tokio::task::JoinSet;

/// Configuration of a `crm serve` process: defaults → `CRM_CONFIG` file → `CRM_*` variables.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The admin port: `/metrics`, `/healthz`, `/readyz` (`CRM_ADMIN__LISTEN`).
    pub admin: AdminConfig,
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
}

impl DevOptions {
    /// Defaults of `crm dev` with another data dir and addresses.
    pub fn new(data_dir: PathBuf, listen: SocketAddr, admin_listen: SocketAddr) -> Self {
        Self {
            data_dir,
            listen,
            admin_listen,
            customers_db: None,
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
    let customers_config = crm_customers::Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: sqlite(crm_customers::NAME),
        ..Default::default()
    };
    let customers_db = match options.customers_db.clone() {
        Some(db) => db,
        None => crm_customers::open_db(&customers_config).await?,
    };
    let ctx = ServiceContext {
        db: customers_db.clone(),
    };
    let (router, customers_addr, listener) =
        bind_grpc(customers_config.listen, crm_customers::build(&ctx).await?).await?;
    tasks.spawn(serve(listener, router, shutdown.clone()));

    let gateway_config = crm_gateway::Config {
        listen: options.listen,
        upstreams: crm_gateway::UpstreamsConfig {
            customers: format!("http://{customers_addr}"),
        },
    };
    let gateway = crm_platform::grpc::standard_layers(
        crm_gateway::build(&gateway_config).await?,
        Default::default(),
    );
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.listen))?;
    let gateway_addr = listener.local_addr()?;
    tasks.spawn(serve(listener, gateway, shutdown.clone()));

    let (admin, admin_addr) = bind_admin(options.admin_listen, vec![customers_db.clone()]).await?;
    tasks.spawn(serve(admin.1, admin.0, shutdown.clone()));

    Ok(DevStack {
        gateway_addr,
        customers_addr,
        admin_addr,
        shutdown,
        tasks,
        dbs: vec![customers_db],
    })
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
