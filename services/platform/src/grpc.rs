//! gRPC servers and clients: every service is served the same way, with health, reflection and
//! the standard tower stack, so a platform team sees the same behaviour on every port.
use crate::{auth, middleware};
use axum::{Router, extract::Request};
use std::{convert::Infallible, time::Duration};
use tonic::{server::NamedService, service::RoutesBuilder, transport::Channel};
use tonic_health::ServingStatus;
use tower::{Service, ServiceBuilder};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

/// Limits of the standard stack.
#[derive(Debug, Clone, Copy)]
pub struct StackSettings {
    /// A request running longer than this fails with DEADLINE_EXCEEDED / 504.
    pub request_timeout: Duration,
    /// Requests handled at once; further ones wait for a slot, bounding memory under overload.
    pub max_concurrent_requests: usize,
}

impl Default for StackSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 1024,
        }
    }
}

/// The gRPC services of one server, plus the standard health and reflection services.
pub struct GrpcRoutes {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    reflected: Vec<String>,
    descriptor_set: &'static [u8],
    permissions: auth::PermissionTable,
    public: &'static [&'static str],
}

impl GrpcRoutes {
    /// An empty set; `descriptor_set` (an encoded `FileDescriptorSet` holding the services
    /// to be added) feeds reflection.
    pub fn new(descriptor_set: &'static [u8]) -> Self {
        Self {
            routes: RoutesBuilder::default(),
            names: Vec::new(),
            reflected: Vec::new(),
            descriptor_set,
            permissions: &[],
            public: &[],
        }
    }

    /// The permission every method requires (see [`auth::authorize`]).
    pub fn permissions(mut self, table: auth::PermissionTable) -> Self {
        self.permissions = table;
        self
    }

    /// Paths served without a token (login, JWKS).
    pub fn public(mut self, paths: &'static [&'static str]) -> Self {
        self.public = paths;
        self
    }

    /// The router with the standard stack, authentication and the permission table.
    pub async fn into_server(
        self,
        authenticator: std::sync::Arc<auth::Authenticator>,
        settings: StackSettings,
    ) -> anyhow::Result<Router> {
        let security = Security {
            permissions: Some(auth::Authorization {
                table: self.permissions,
                authenticator: authenticator.clone(),
            }),
            policy: auth::AuthPolicy {
                authenticator,
                public: self.public,
            },
        };
        Ok(standard_layers(
            self.into_router().await?,
            settings,
            security,
        ))
    }

    /// Adds one generated tonic server (e.g. `CustomerServiceServer::new(api)`).
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: Service<Request<tonic::body::Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.names.push(S::NAME);
        self
    }

    /// Also lists `names` in reflection without serving them here: the gateway reflects every
    /// service it forwards to, so `grpcurl` against the gateway sees the whole API.
    pub fn reflect_also(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.reflected.extend(names);
        self
    }

    /// Builds the router: the added services, `grpc.health.v1.Health` (each service and the
    /// whole server reported SERVING) and reflection v1 + v1alpha listing only these services
    /// (the descriptor set holds every CRM service; `grpcurl list` must show what is served).
    pub async fn into_router(mut self) -> anyhow::Result<Router> {
        let descriptor_set = self.descriptor_set;
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("", ServingStatus::Serving)
            .await;
        // The health service is reflected too, so `grpcurl ... grpc.health.v1.Health/Check` works.
        const HEALTH: &str = "grpc.health.v1.Health";
        let mut v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name(HEALTH);
        let mut v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name(HEALTH);
        for name in &self.names {
            reporter
                .set_service_status(name, ServingStatus::Serving)
                .await;
            v1 = v1.with_service_name(*name);
            v1alpha = v1alpha.with_service_name(*name);
        }
        for name in &self.reflected {
            v1 = v1.with_service_name(name.clone());
            v1alpha = v1alpha.with_service_name(name.clone());
        }
        self.routes
            .add_service(health)
            .add_service(v1.build_v1()?)
            .add_service(v1alpha.build_v1alpha()?);
        Ok(self.routes.routes().prepare().into_axum_router())
    }
}

/// Authentication and authorization of a server.
#[derive(Clone)]
pub struct Security {
    /// Who needs a token, and how tokens are verified.
    pub policy: auth::AuthPolicy,
    /// Per-method permissions; `None` for the gateway, which forwards and lets the owning
    /// service decide.
    pub permissions: Option<auth::Authorization>,
}

/// Wraps a router in the standard stack. Outermost first:
pub fn standard_layers(router: Router, settings: StackSettings, security: Security) -> Router {
    // Innermost: the permission check needs the principal the auth layer attached.
    let router = match security.permissions {
        Some(authz) => router.layer(axum::middleware::from_fn_with_state(authz, auth::authorize)),
        None => router,
    };
    let stack = ServiceBuilder::new()
        // Give every request an `x-request-id` (keeping the caller's) before anything logs.
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // One span per request, carrying method, path and request id, around everything below.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
        }))
        // The request id in scope for what handlers record (audit trails, events).
        .layer(axum::middleware::from_fn(crate::request::scope))
        // Echo the request id to the caller so a support ticket can quote it.
        .layer(PropagateRequestIdLayer::x_request_id())
        // Count and time requests, including those that time out or wait for a slot below.
        .layer(middleware::MetricsLayer)
        // Bound the time a request may take, waiting for a slot included.
        .layer(middleware::TimeoutLayer(settings.request_timeout))
        // Bound the requests in flight across all routes of this server (one shared semaphore).
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            settings.max_concurrent_requests,
        ))
        // Verify the bearer token and attach the caller's principal for handlers to read.
        .layer(axum::middleware::from_fn_with_state(security.policy, auth::authenticate));
    router.layer(stack)
}

/// A client channel to another service that connects on first use and reconnects on failure,
/// so services can start in any order.
pub fn lazy_channel(uri: &str) -> anyhow::Result<Channel> {
    let endpoint = tonic::transport::Endpoint::from_shared(uri.to_owned())
        .map_err(|e| anyhow::anyhow!("invalid service address {uri:?}: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}

/// The fully-qualified names of the services in an encoded `FileDescriptorSet` whose package
/// starts with `prefix` (e.g. "crm.").
pub fn service_names(descriptor_set: &[u8], prefix: &str) -> anyhow::Result<Vec<String>> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(descriptor_set)?;
    Ok(set
        .file
        .iter()
        .filter(|f| f.package().starts_with(prefix))
        .flat_map(|f| {
            f.service
                .iter()
                .map(move |s| format!("{}.{}", f.package(), s.name()))
        })
        .collect())
}
