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

use axum::{Json, Router, routing::get};
use crm_platform::{grpc::GrpcRoutes, server::Shutdown};
use crm_proto::crm::customers::v1::customer_service_client::CustomerServiceClient;
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
}

/// Where each service listens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UpstreamsConfig {
    /// The customers service.
    pub customers: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            upstreams: UpstreamsConfig::default(),
        }
    }
}

impl Default for UpstreamsConfig {
    fn default() -> Self {
        Self {
            customers: "http://127.0.0.1:50051".to_owned(),
        }
    }
}

/// The OpenAPI document of the REST API.
pub fn openapi_document() -> anyhow::Result<serde_json::Value> {
    let (_, docs) = rest::router(rest::Clients {
        customers: CustomerServiceClient::new(crm_platform::grpc::lazy_channel(
            "http://127.0.0.1:1",
        )?),
    });
    openapi::document(
        "CRM REST API",
        env!("CARGO_PKG_VERSION"),
        crm_proto::FILE_DESCRIPTOR_SET,
        &docs,
    )
    .map_err(|e| anyhow::anyhow!("openapi: {e}"))
}

/// The gateway's router (before the standard stack).
pub async fn build(config: &Config) -> anyhow::Result<Router> {
    let customers = crm_platform::grpc::lazy_channel(&config.upstreams.customers)?;
    let mut upstreams = forward::Upstreams::default();
    upstreams.insert("customers", customers.clone());
    let upstreams = Arc::new(upstreams);

    let (rest, docs) = rest::router(rest::Clients {
        customers: CustomerServiceClient::new(customers),
    });
    let document = openapi::document(
        "CRM REST API",
        env!("CARGO_PKG_VERSION"),
        crm_proto::FILE_DESCRIPTOR_SET,
        &docs,
    )
    .map_err(|e| anyhow::anyhow!("openapi: {e}"))?;
    let document = Arc::new(document);

    // Health and reflection of the whole CRM API are answered here; every other gRPC call
    // falls through to the forwarder.
    let reflected = crm_platform::grpc::service_names(crm_proto::FILE_DESCRIPTOR_SET, "crm.")?;
    let grpc = GrpcRoutes::new(crm_proto::FILE_DESCRIPTOR_SET)
        .reflect_also(reflected)
        .into_router()
        .await?;

    Ok(grpc
        .merge(rest)
        .route(
            "/api/openapi.json",
            get(move || std::future::ready(Json(document.as_ref().clone()))),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ready" }))
        .fallback(move |req| forward::fallback(upstreams.clone(), req)))
}

/// Runs the gateway alone (Kubernetes: `crm serve gateway`) until `shutdown`.
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let router = build(&config).await?;
    let router = crm_platform::grpc::standard_layers(router, Default::default());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    tracing::info!(addr = %config.listen, "gateway serving REST, gRPC and OpenAPI");
    crm_platform::server::serve(listener, router, shutdown).await?;
    Ok(())
}
