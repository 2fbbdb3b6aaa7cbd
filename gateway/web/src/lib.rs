//! The end users' web UI, served by the gateway at `/`.
//!
//! Pages are rendered on the server (askama templates) and updated in place with htmx. The UI
//! is a client of the services like any other: every call goes over gRPC with the signed-in
//! user's own access token, so it sees exactly what the user may see, nothing more.
//!
//! - [`session`]: the sealed session cookie and CSRF tokens.
//! - [`guard`]: security headers, CSRF checks and the session middleware.
//! - [`i18n`]: catalogs (en, zh-CN) and locale-aware formatting.
//! - [`assets`]: embedded static files with content-hashed URLs.
//! - `pages`: one module per area; a later service adds its own module and its "my day" card
//!   (see [`pages::myday::Card`]).
pub mod assets;
pub mod guard;
pub mod i18n;
pub mod pages;
pub mod session;

use axum::{
    Router,
    routing::{get, post},
};
use crm_platform::{
    auth::{Authenticator, Principal},
    crypto::{CryptoConfig, Keyring},
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tonic::transport::Channel;

/// Configuration of the UI (`[gateway.web]`, `CRM_GATEWAY__WEB__*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Keys sealing the session cookie (same shape as the customers service's field keys:
    /// `keys`, `current`, `index_key`). Empty: random keys per process, so sessions end when
    /// the process restarts and are not shared between replicas (fine for `crm dev`; set them in
    /// production).
    pub session: CryptoConfig,
    /// Mark cookies `Secure`: set it when the UI is served over TLS (at the ingress).
    pub secure_cookies: bool,
}

/// The channels to the services the UI calls.
#[derive(Clone, Debug)]
pub struct Upstreams {
    /// The identity service.
    pub identity: Channel,
    /// The customers service.
    pub customers: Channel,
    /// The events service (webhooks).
    pub events: Channel,
}

/// Shared state of the UI.
#[derive(Clone)]
pub struct Web {
    inner: Arc<Inner>,
}

struct Inner {
    upstreams: Upstreams,
    authenticator: Arc<Authenticator>,
    sealer: session::Sealer,
}

impl Web {
    /// The UI's state. Fails when the configured session keys are invalid or a catalog is broken.
    pub fn new(
        config: &Config,
        upstreams: Upstreams,
        authenticator: Arc<Authenticator>,
    ) -> anyhow::Result<Web> {
        i18n::init()?;
        let keyring = if config.session.keys.is_empty() {
            tracing::warn!(
                "no session keys configured (CRM_GATEWAY__WEB__SESSION__*): sessions end when this process stops"
            );
            Keyring::generate()
                .map_err(|e| anyhow::anyhow!("session keys: {e}"))?
                .0
        } else {
            Keyring::from_config(&config.session)
                .map_err(|e| anyhow::anyhow!("session keys: {e}"))?
        };
        Ok(Web {
            inner: Arc::new(Inner {
                upstreams,
                authenticator,
                sealer: session::Sealer::new(keyring, config.secure_cookies),
            }),
        })
    }

    /// The channels to the services.
    pub fn upstreams(&self) -> &Upstreams {
        &self.inner.upstreams
    }

    pub(crate) fn sealer(&self) -> &session::Sealer {
        &self.inner.sealer
    }

    pub(crate) async fn verify(&self, token: &str) -> Option<Principal> {
        self.inner.authenticator.authenticate(token).await.ok()
    }
}

/// Paths of the UI; the gateway serves them before its API routes.
pub const PATHS: &[&str] = &[
    "/",
    "/login",
    "/logout",
    "/settings",
    "/customers",
    "/admin",
    "/assets",
];

/// The router of the UI.
pub fn router(web: Web) -> Router {
    use pages::{admin, auth, customers, myday, settings, transfer};
    let signed_in = Router::new()
        .route("/", get(myday::page))
        .route("/logout", post(auth::logout))
        .route("/settings", get(settings::page).post(settings::save))
        .route("/settings/password", post(settings::password))
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/new", get(customers::new_form))
        .route("/customers/duplicates", post(customers::duplicates))
        .route("/customers/views", post(customers::save_view))
        .route("/customers/export", get(transfer::export))
        .route("/dashboard", get(pages::dashboard::page))
        .route(
            "/customers/import",
            get(transfer::upload_form).post(transfer::upload),
        )
        .route("/customers/import/run", post(transfer::rerun))
        .route("/customers/import/{id}", get(transfer::job))
        .route("/customers/import/{id}/report", get(transfer::report))
        .route("/customers/{id}", get(customers::detail))
        .route(
            "/customers/{id}/edit",
            get(customers::edit_form).post(customers::update),
        )
        .route(
            "/customers/{id}/interactions",
            post(customers::log_interaction),
        )
        .route("/customers/{id}/reveal", post(pages::reveal::reveal))
        .route("/customers/bulk", post(pages::actions::bulk))
        .route("/customers/{id}/actions", get(pages::actions::page))
        .route("/customers/{id}/merge", post(pages::actions::merge))
        .route(
            "/customers/{id}/merges/{merge}/undo",
            post(pages::actions::undo),
        )
        .route("/customers/{id}/shares", post(pages::actions::share))
        .route(
            "/customers/{id}/shares/{share}/delete",
            post(pages::actions::unshare),
        )
        .route("/customers/{id}/transfer", post(pages::actions::transfer))
        .route("/admin/users", get(admin::users))
        .route("/admin/users/{id}/roles", post(admin::assign_roles))
        // Administration pages (see pages::admin): one block, in the order of the sub-menu.
        .route("/admin/users", post(admin::users::create))
        .route("/admin/users/{id}/status", post(admin::users::set_status))
        .route(
            "/admin/users/{id}/password",
            post(admin::users::reset_password),
        )
        .route(
            "/admin/units",
            get(admin::units::page).post(admin::units::create),
        )
        .route("/admin/units/{id}", post(admin::units::rename))
        .route("/admin/units/{id}/move", post(admin::units::move_unit))
        .route(
            "/admin/roles",
            get(admin::roles::list).post(admin::roles::create),
        )
        .route("/admin/roles/new", get(admin::roles::new_form))
        .route(
            "/admin/roles/{id}",
            get(admin::roles::edit_form).post(admin::roles::update),
        )
        .route("/admin/roles/{id}/delete", post(admin::roles::delete))
        .route(
            "/admin/api-clients",
            get(admin::clients::list).post(admin::clients::create),
        )
        .route(
            "/admin/api-clients/{id}/rotate",
            post(admin::clients::rotate),
        )
        .route(
            "/admin/api-clients/{id}/delete",
            post(admin::clients::delete),
        )
        .route("/admin/security", get(admin::security::page))
        .route("/admin/security/export", get(admin::security::export))
        .route(
            "/admin/security/alerts/{id}/acknowledge",
            post(admin::security::acknowledge),
        )
        .route(
            "/admin/custom-fields",
            get(admin::fields::list).post(admin::fields::create),
        )
        .route("/admin/custom-fields/{key}", post(admin::fields::update))
        .route(
            "/admin/custom-fields/{key}/delete",
            post(admin::fields::delete),
        )
        .route(
            "/admin/webhooks",
            get(admin::webhooks::list).post(admin::webhooks::create),
        )
        .route("/admin/webhooks/{id}", get(admin::webhooks::detail))
        .route(
            "/admin/webhooks/{id}/state",
            post(admin::webhooks::set_state),
        )
        .route("/admin/webhooks/{id}/delete", post(admin::webhooks::delete))
        // Import files are larger than the default 2 MB body limit.
        .layer(axum::extract::DefaultBodyLimit::max(
            pages::transfer::MAX_UPLOAD,
        ))
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            guard::signed_in,
        ));
    Router::new()
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/lang", post(auth::language))
        .merge(signed_in)
        .with_state(web)
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn(guard::same_origin))
        .layer(axum::middleware::from_fn(guard::security_headers))
}

/// A gRPC request carrying the access token `access` (before a session exists: sign-in, refresh).
pub(crate) fn bearer<T>(access: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {access}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// A gRPC request carrying the user's token, so the service applies the user's permissions.
pub(crate) fn call<T>(ctx: &guard::Ctx, message: T) -> tonic::Request<T> {
    let mut request = bearer(&ctx.session.access, message);
    if let Some(value) = ctx.peer.as_ref().and_then(|p| p.parse().ok()) {
        request.metadata_mut().insert("x-forwarded-for", value);
    }
    request
}
