//! The edge gateway: REST/JSON at `/api/v1/...`, gRPC pass-through to the owning service for
//! every `crm.*` call, reflection of the whole API, `/healthz`, `/readyz` and the OpenAPI
//! document at `/api/openapi.json`, all on one port.
//!
//! It depends on no service crate: services are reached through their generated clients at
//! configured addresses. Authentication arrives with the identity service, in the standard
//! stack's auth layer (`crm_platform::auth`), so handlers here stay unchanged.
pub mod forward;
pub mod openapi;
pub mod rest;
pub mod streams;
pub mod transcode;

use axum::{Json, Router, routing::get};
use crm_platform::{
    auth::{AuthPolicy, Authenticator},
    grpc::{GrpcRoutes, Security},
    server::Shutdown,
};
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, sync::Arc};

/// The component's name in config, logs and `crm serve`.
pub const NAME: &str = "gateway";

/// Configuration of the gateway (`[gateway]`, `CRM_GATEWAY__*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address of the public port (REST, gRPC, OpenAPI).
    pub listen: SocketAddr,
    /// Addresses of the services, e.g. `http://customers:50051`.
    pub upstreams: UpstreamsConfig,
    /// The end users' web UI (`[gateway.web]`).
    pub web: crm_web::Config,
}

/// Where each service listens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UpstreamsConfig {
    /// The customers service.
    pub customers: String,
    /// The identity service.
    pub identity: String,
    /// The events service (change stream, webhooks).
    pub events: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            upstreams: UpstreamsConfig::default(),
            web: crm_web::Config::default(),
        }
    }
}

impl Default for UpstreamsConfig {
    fn default() -> Self {
        Self {
            customers: "http://127.0.0.1:50051".to_owned(),
            identity: "http://127.0.0.1:50052".to_owned(),
            events: "http://127.0.0.1:50053".to_owned(),
        }
    }
}

/// Paths of the gateway served without a token. The web UI's pages authenticate with their
/// session cookie instead (see `crm_web`).
pub const PUBLIC: &[&str] = &[
    "/",
    "/login",
    "/logout",
    "/lang",
    "/settings*",
    "/customers*",
    "/dashboard",
    "/admin/*",
    "/assets/*",
    "/api/openapi.json",
    "/.well-known/jwks.json",
    "/api/v1/auth/*",
    "/crm.identity.v1.AuthService/*",
];

/// The REST routes of every `crm.*` service, from the annotations in the embedded descriptors.
pub fn api() -> anyhow::Result<transcode::Api> {
    transcode::Api::from_descriptor_set(crm_proto::FILE_DESCRIPTOR_SET, "crm.")
        .map_err(|e| anyhow::anyhow!("rest routes: {e}"))
}

/// The OpenAPI document of the REST API.
pub fn openapi_document() -> anyhow::Result<serde_json::Value> {
    openapi::document("CRM REST API", env!("CARGO_PKG_VERSION"), &api()?, PUBLIC)
        .map_err(|e| anyhow::anyhow!("openapi: {e}"))
}

/// The gateway's full router: REST, gRPC forwarding, health, reflection, OpenAPI, behind the
/// standard stack. It authenticates every request but the public ones; the services behind it
/// check permissions and data scope.
/// Open change streams (Server-Sent Events) end at `shutdown`, so the gateway can drain.
pub async fn build(
    config: &Config,
    authenticator: Arc<Authenticator>,
    shutdown: Shutdown,
) -> anyhow::Result<Router> {
    // One channel per service, shared by the forwarder, the REST transcoder and the web UI:
    // each service sees one connection pool from the gateway, not one per component.
    let web_upstreams = crm_web::Upstreams {
        identity: crm_platform::grpc::lazy_channel(&config.upstreams.identity)?,
        customers: crm_platform::grpc::lazy_channel(&config.upstreams.customers)?,
        events: crm_platform::grpc::lazy_channel(&config.upstreams.events)?,
    };
    let mut upstreams = forward::Upstreams::default();
    upstreams.insert("customers", web_upstreams.customers.clone());
    upstreams.insert("identity", web_upstreams.identity.clone());
    upstreams.insert("events", web_upstreams.events.clone());
    let web = crm_web::Web::new(&config.web, web_upstreams, authenticator.clone())?;
    let upstreams = Arc::new(upstreams);
    let api = Arc::new(api()?);
    let document = openapi::document("CRM REST API", env!("CARGO_PKG_VERSION"), &api, PUBLIC)
        .map_err(|e| anyhow::anyhow!("openapi: {e}"))?;
    let document = Arc::new(document);
    let rest = rest::Rest {
        api,
        upstreams: upstreams.clone(),
        shutdown,
    };

    // Health and reflection of the whole CRM API are answered here; every other gRPC call
    // falls through to the forwarder, every other HTTP request to the REST transcoder.
    let reflected = crm_platform::grpc::service_names(crm_proto::FILE_DESCRIPTOR_SET, "crm.")?;
    let grpc = GrpcRoutes::new(crm_proto::FILE_DESCRIPTOR_SET)
        .reflect_also(reflected)
        .into_router()
        .await?;

    let router = grpc
        .merge(crm_web::router(web))
        .route(
            "/api/openapi.json",
            get(move || std::future::ready(Json(document.as_ref().clone()))),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ready" }))
        .fallback(move |req: axum::extract::Request| {
            let (upstreams, rest) = (upstreams.clone(), rest.clone());
            async move {
                if forward::is_grpc(&req) {
                    forward::forward(upstreams, req).await
                } else {
                    rest::handle(rest, req).await
                }
            }
        })
        // The edge states who the peer is; services use it for audit and IP allow-lists.
        .layer(axum::middleware::map_request(forwarded_for));
    let security = Security {
        policy: AuthPolicy {
            authenticator,
            public: PUBLIC,
        },
        permissions: None,
    };
    Ok(crm_platform::grpc::standard_layers(
        router,
        Default::default(),
        security,
    ))
}

/// Replaces `x-forwarded-for` with the connection's peer address: callers cannot choose the
/// address the services see. (Behind a trusted proxy this would keep the proxy's value.)
async fn forwarded_for(mut req: axum::extract::Request) -> axum::extract::Request {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    match peer.and_then(|p| http::HeaderValue::from_str(&p).ok()) {
        Some(value) => {
            req.headers_mut().insert("x-forwarded-for", value);
        }
        None => {
            req.headers_mut().remove("x-forwarded-for");
        }
    }
    req
}

/// Runs the gateway (Kubernetes: `crm serve gateway`) until `shutdown`.
pub async fn run(
    config: Config,
    authenticator: Arc<Authenticator>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let router = build(&config, authenticator, shutdown.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    tracing::info!(addr = %config.listen, "gateway serving REST, gRPC and OpenAPI");
    crm_platform::server::serve(listener, router, shutdown).await?;
    Ok(())
}
