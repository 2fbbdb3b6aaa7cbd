//! gRPC pass-through: a call to `/crm.<service>.v1.X/Method` on the gateway is forwarded, as
//! is, to the service that owns it, so a corporate system needs only the gateway's address.
//! Bodies are streamed through without decoding; the status and trailers come back unchanged.
use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use std::{collections::HashMap, sync::Arc};
use tonic::transport::Channel;
use tower::ServiceExt;

/// Channels to the services, by service key ("customers").
#[derive(Clone, Debug, Default)]
pub struct Upstreams {
    channels: HashMap<String, Channel>,
}

impl Upstreams {
    /// Adds the channel of a service.
    pub fn insert(&mut self, service: &str, channel: Channel) {
        self.channels.insert(service.to_owned(), channel);
    }

    /// The channel of a service.
    pub fn get(&self, service: &str) -> Option<&Channel> {
        self.channels.get(service)
    }

    /// The channel owning a gRPC path: "/crm.customers.v1.CustomerService/GetCustomer" → customers.
    fn for_path(&self, path: &str) -> Option<&Channel> {
        let service = path.trim_start_matches('/').split('/').next()?;
        let mut parts = service.split('.');
        match (parts.next(), parts.next()) {
            (Some("crm"), Some(key)) => self.channels.get(key),
            _ => None,
        }
    }
}

/// Whether a request is a gRPC call (by its content type).
pub fn is_grpc(req: &Request) -> bool {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Forwards a gRPC call for a `crm.*` service to the service that owns it.
pub async fn forward(upstreams: Arc<Upstreams>, req: Request) -> Response {
    let Some(channel) = upstreams.for_path(req.uri().path()) else {
        let status =
            tonic::Status::unimplemented(format!("unknown service in {}", req.uri().path()));
        return status.into_http::<axum::body::Body>();
    };
    let (parts, body) = req.into_parts();
    let forwarded = http::Request::from_parts(parts, tonic::body::Body::new(body));
    match channel.clone().oneshot(forwarded).await {
        Ok(response) => response.map(axum::body::Body::new).into_response(),
        Err(error) => {
            tracing::warn!(%error, "upstream unavailable");
            tonic::Status::unavailable("service unavailable, retry later")
                .into_http::<axum::body::Body>()
        }
    }
}
