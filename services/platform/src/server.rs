//! Serving a router, the admin port, and graceful shutdown.
use axum::{Router, routing::get};
use std::future::Future;
use tokio::{net::TcpListener, sync::watch};

/// A shutdown signal shared by every server of a process. Cloning shares it.
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        Self {
            tx: watch::channel(false).0,
        }
    }

    /// Asks every server to stop accepting and drain.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Resolves once triggered.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // An error means the sender is gone, which also means shut down.
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }

    /// Triggers on SIGTERM (Kubernetes) or ctrl-c.
    pub fn on_signals(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            let term = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot listen for SIGTERM");
                        std::future::pending::<()>().await;
                    }
                }
            };
            #[cfg(not(unix))]
            let term = std::future::pending::<()>();
            tokio::select! {
                _ = ctrl_c => {},
                _ = term => {},
            }
            tracing::info!("shutdown requested, draining in-flight requests");
            this.trigger();
        });
    }
}

/// Serves `router` (gRPC over h2c and HTTP/1.1 on the same port) until `shutdown`, then stops
/// accepting and waits for in-flight requests to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // HTTP/2 writes a response as several frames (headers, data, trailers); with Nagle on, the
    // last write waits for the peer's delayed ACK, adding ~40 ms to many gRPC calls.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    // Connection info gives handlers and the gateway the peer address (audit, IP allow-lists).
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.wait())
    .await
}

/// The admin port of a process: `/metrics` (Prometheus), `/healthz` (alive) and `/readyz`
/// (ready: `ready()` says whether the process can serve, e.g. its database answers).
pub fn admin_router<F, Fut>(ready: F) -> Router
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let handle = crate::telemetry::prometheus();
    Router::new()
        .route("/metrics", get(move || std::future::ready(handle.render())))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    if ready().await {
                        (http::StatusCode::OK, "ready")
                    } else {
                        (http::StatusCode::SERVICE_UNAVAILABLE, "not ready")
                    }
                }
            }),
        )
}

/// What a service needs to build its routes.
#[derive(Clone)]
pub struct ServiceContext {
    /// The service's own migrated database.
    pub db: crate::db::Db,
    /// Verifies the callers' tokens.
    pub authenticator: std::sync::Arc<crate::auth::Authenticator>,
    /// Where events are published and consumed.
    pub bus: crate::events::bus::Bus,
    /// Bus settings (retention, retries, polling).
    pub bus_config: crate::events::BusConfig,
}

impl ServiceContext {
    /// Publishes `service`'s outbox until `shutdown` (then flushes it).
    pub fn spawn_relay(&self, service: &str, shutdown: Shutdown) -> tokio::task::JoinHandle<()> {
        let relay = crate::events::relay::Relay::new(
            service,
            self.db.clone(),
            self.bus.clone(),
            &self.bus_config,
        );
        tokio::spawn(relay.run(shutdown))
    }
}

/// Binds `listen` and serves a service's router until `shutdown`.
pub async fn run_grpc(
    name: &str,
    listen: std::net::SocketAddr,
    router: Router,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    tracing::info!(service = name, addr = %listener.local_addr()?, "serving gRPC");
    serve(listener, router, shutdown).await?;
    tracing::info!(service = name, "stopped");
    Ok(())
}
