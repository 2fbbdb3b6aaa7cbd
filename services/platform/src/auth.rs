//! Who is calling, and what they may do.
//!
//! Every request passes [`authenticate`] (a middleware of the standard stack): the bearer
//! token is verified against the cached JWKS of the identity service (refetched when a token
//! names an unknown key), checked against the deny list, and turned into a [`Principal`] in the
//! request extensions. Handlers take the principal from there and never read headers. Then
//! [`authorize`] checks the permission declared for the gRPC method in the service's
//! [`PermissionTable`]; a method without a declared permission is refused (fail closed).
use crate::{
    denylist::DenyList,
    token::{Claims, Jwks, TokenError, Verifier, peek_kid},
};
use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

/// The authenticated caller of a request. Serializable (without its token) so a standing
/// grant, such as a webhook subscription, can keep the view of the caller who made it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    /// Who it is.
    pub subject: Subject,
    /// Path of the caller's organisation unit, e.g. "/g/cn/east/"; "/" is the root.
    pub unit_path: String,
    /// Role names (for audit; decisions use permissions and scopes).
    pub roles: Vec<String>,
    /// Granted permissions, e.g. "customers.customer.read".
    pub permissions: BTreeSet<String>,
    /// Data scope per resource family ("customers", "sales", ...): the widest of the roles.
    pub scopes: BTreeMap<String, DataScope>,
    /// The access token's id (for logout) and the token itself (forwarded on calls to other
    /// services, so they see the same caller). Never serialized.
    #[serde(skip)]
    pub token: Option<(String, String)>,
}

/// The kind of caller.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Subject {
    /// A person signed in through the identity service.
    User(uuid::Uuid),
    /// A machine caller (ERP, finance) with an API client id.
    Client(String),
    /// The system itself: start-up, background jobs, maintenance commands.
    System,
}

impl Principal {
    /// The system principal: every permission, every record. Never reachable from a request.
    pub fn system() -> Principal {
        Principal {
            subject: Subject::System,
            unit_path: "/".to_owned(),
            roles: Vec::new(),
            permissions: BTreeSet::new(),
            scopes: BTreeMap::new(),
            token: None,
        }
    }

    /// A principal from verified claims.
    pub fn from_claims(claims: &Claims, token: &str) -> Result<Principal, TokenError> {
        let subject = if let Some(id) = claims.sub.strip_prefix("users/") {
            Subject::User(uuid::Uuid::parse_str(id).map_err(|_| TokenError::Malformed)?)
        } else if let Some(id) = claims.sub.strip_prefix("clients/") {
            Subject::Client(id.to_owned())
        } else {
            return Err(TokenError::Malformed);
        };
        let mut scopes = BTreeMap::new();
        for (family, scope) in &claims.scopes {
            scopes.insert(
                family.clone(),
                DataScope::parse(scope, &claims.unit).ok_or(TokenError::Malformed)?,
            );
        }
        Ok(Principal {
            subject,
            unit_path: claims.unit.clone(),
            roles: claims.roles.clone(),
            permissions: claims.perms.iter().cloned().collect(),
            scopes,
            token: Some((claims.jti.clone(), token.to_owned())),
        })
    }

    /// The user id, for a signed-in person.
    pub fn user_id(&self) -> Option<uuid::Uuid> {
        match self.subject {
            Subject::User(id) => Some(id),
            Subject::Client(_) | Subject::System => None,
        }
    }

    /// Resource name of the actor for audit stamps: "users/{id}", "clients/{id}" or "system".
    pub fn actor(&self) -> String {
        match &self.subject {
            Subject::User(id) => format!("users/{id}"),
            Subject::Client(id) => format!("clients/{id}"),
            Subject::System => "system".to_owned(),
        }
    }

    /// Whether the principal holds a permission (the system holds all).
    pub fn has(&self, permission: &str) -> bool {
        matches!(self.subject, Subject::System) || self.permissions.contains(permission)
    }

    /// The caller's data scope for a resource family. Without a scope for the family a user
    /// sees their own records and a machine client none.
    pub fn scope(&self, family: &str) -> DataScope {
        if matches!(self.subject, Subject::System) {
            return DataScope::All;
        }
        match (self.scopes.get(family), self.user_id()) {
            (Some(DataScope::Own(_)), Some(me)) | (None, Some(me)) => DataScope::Own(me),
            (Some(DataScope::Own(_)), None) | (None, None) => DataScope::Nothing,
            (Some(scope), _) => scope.clone(),
        }
    }
}

/// Which records of a resource family a caller may see and change. Enforced in SQL by each
/// store, in one place, on every read and write path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DataScope {
    /// Only records the caller owns.
    Own(uuid::Uuid),
    /// Records owned within exactly this unit.
    Unit(String),
    /// Records owned within this unit or any unit below it.
    Subtree(String),
    /// Every record.
    All,
    /// No record (a machine client without a scope for the family).
    Nothing,
}

impl DataScope {
    /// The scope named in a token ("OWN", "UNIT", "SUBTREE", "ALL") for a caller in `unit`.
    /// `Own` carries a placeholder id; [`Principal::scope`] puts the caller's id in.
    pub fn parse(name: &str, unit: &str) -> Option<DataScope> {
        match name {
            "OWN" => Some(DataScope::Own(uuid::Uuid::nil())),
            "UNIT" => Some(DataScope::Unit(unit.to_owned())),
            "SUBTREE" => Some(DataScope::Subtree(unit.to_owned())),
            "ALL" => Some(DataScope::All),
            _ => None,
        }
    }

    /// The rank of a scope name, to pick the widest of several roles.
    pub fn rank(name: &str) -> u8 {
        match name {
            "ALL" => 4,
            "SUBTREE" => 3,
            "UNIT" => 2,
            "OWN" => 1,
            _ => 0,
        }
    }

    /// Whether a record owned by `owner` within unit `unit_path` is in scope: the in-memory
    /// twin of [`DataScope::push_condition`], for records that are not rows (events).
    pub fn admits(&self, owner: Option<uuid::Uuid>, unit_path: &str) -> bool {
        match self {
            DataScope::All => true,
            DataScope::Nothing => false,
            DataScope::Own(id) => owner == Some(*id),
            DataScope::Unit(path) => !unit_path.is_empty() && unit_path == path,
            DataScope::Subtree(path) => {
                !unit_path.is_empty() && unit_path.starts_with(path.as_str())
            }
        }
    }

    /// Appends a boolean SQL condition keeping only rows in scope, given the row's owner and
    /// owner-unit columns (trusted names from the store).
    pub fn push_condition(
        &self,
        buf: &mut crate::sql::SqlBuf,
        owner_column: &str,
        unit_column: &str,
    ) {
        use crate::sql::SqlValue;
        match self {
            DataScope::All => buf.push("1 = 1"),
            DataScope::Nothing => buf.push("1 = 0"),
            DataScope::Own(id) => {
                buf.push(owner_column);
                buf.push(" = ");
                buf.push_bind(SqlValue::Uuid(*id));
            }
            DataScope::Unit(path) => {
                buf.push(unit_column);
                buf.push(" = ");
                buf.push_bind(SqlValue::Text(path.clone()));
            }
            DataScope::Subtree(path) => {
                buf.push(unit_column);
                buf.push(" LIKE ");
                buf.push_bind(SqlValue::Text(format!("{}%", escape_like(path))));
                buf.push(" ESCAPE '\\'");
            }
        }
    }
}

/// Escapes LIKE wildcards so a unit path matches literally.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Where the current public keys come from (the identity service, or in-process).
pub trait JwksSource: Send + Sync + 'static {
    /// Fetches the JWKS.
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<Jwks>> + Send + '_>>;
}

/// Why a request was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No bearer token.
    #[error("missing bearer token")]
    Missing,
    /// The token was refused.
    #[error("invalid token: {0}")]
    Invalid(#[from] TokenError),
    /// Keys or deny list could not be reached; refusing is the safe answer.
    #[error("authentication unavailable: {0}")]
    Unavailable(String),
}

/// The JWKS is refetched at most this often when tokens name unknown keys: kids come from
/// callers, and an attacker must not turn each request into a fetch.
const REFETCH_INTERVAL: Duration = Duration::from_secs(5);

/// A refused request, for the security audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Who: "users/{id}", "clients/{id}".
    pub actor: String,
    /// The gRPC method refused.
    pub method: String,
    /// The permission it needed.
    pub permission: String,
    /// The caller's address, as the edge saw it.
    pub source_ip: String,
    /// The request id.
    pub request_id: String,
}

/// Where refusals go besides the log and the metric: the identity service's audit log, in this
/// process or over gRPC. Must not block the request: implementations hand the work off.
pub trait DenialSink: Send + Sync + 'static {
    /// Reports one refusal.
    fn denied(&self, denial: Denial);
    /// Reports a bulk export (a DATA_EXPORTED event, counted by the LARGE_EXPORT alert rule).
    fn exported(&self, export: Export) {
        let _ = export;
    }
}

/// Records exported in bulk, for the security audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Who: "users/{id}", "clients/{id}".
    pub actor: String,
    /// The service exporting ("customers").
    pub service: String,
    /// What was exported ("customers").
    pub resource: String,
    /// How many records.
    pub rows: u64,
    /// The request id.
    pub request_id: String,
}

/// Verified tokens kept at most; the cache is emptied when it would grow beyond.
const VERIFIED_CACHE_MAX: usize = 10_000;

/// Verifies bearer tokens for one process.
pub struct Authenticator {
    issuer: String,
    audience: String,
    source: Box<dyn JwksSource>,
    deny: DenyList,
    verifier: RwLock<Option<Arc<Verifier>>>,
    last_fetch: Mutex<Option<Instant>>,
    fetching: tokio::sync::Mutex<()>,
    /// Tokens whose signature and claims were checked, by their exact text, with the
    /// principal and expiry: the Ed25519 check (~38 µs) runs once per token, not per request.
    /// Only the verification is cached; the deny list is consulted on every request.
    verified: Mutex<std::collections::HashMap<String, (Principal, String, i64)>>,
    /// Where refusals are reported, when the process can reach identity.
    denials: Option<Box<dyn DenialSink>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator for tokens of `issuer` for `audience`.
    pub fn new(
        issuer: &str,
        audience: &str,
        source: Box<dyn JwksSource>,
        deny: DenyList,
    ) -> Authenticator {
        Authenticator {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            source,
            deny,
            verifier: RwLock::new(None),
            last_fetch: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            verified: Mutex::new(std::collections::HashMap::new()),
            denials: None,
        }
    }

    /// Reports a bulk export to the security audit log, when this process can reach it.
    pub fn report_export(&self, export: Export) {
        match &self.denials {
            Some(sink) => sink.exported(export),
            None => tracing::info!(
                actor = %export.actor,
                resource = %export.resource,
                rows = export.rows,
                "data exported (no security audit log reachable)"
            ),
        }
    }

    /// Reports refusals to `sink` (the security audit log).
    pub fn with_denials(mut self, sink: Box<dyn DenialSink>) -> Authenticator {
        self.denials = Some(sink);
        self
    }

    /// The deny list (logout revokes through it).
    pub fn deny_list(&self) -> &DenyList {
        &self.deny
    }

    fn cached(&self) -> Option<Arc<Verifier>> {
        self.verifier.read().ok().and_then(|v| v.clone())
    }

    async fn verifier_for(&self, kid: &str) -> Result<Arc<Verifier>, AuthError> {
        if let Some(v) = self.cached()
            && v.knows(kid)
        {
            return Ok(v);
        }
        let _one_fetch_at_a_time = self.fetching.lock().await;
        // Another request may have refreshed the keys while this one waited.
        if let Some(v) = self.cached()
            && v.knows(kid)
        {
            return Ok(v);
        }
        let recent = self
            .last_fetch
            .lock()
            .ok()
            .and_then(|t| *t)
            .is_some_and(|t| t.elapsed() < REFETCH_INTERVAL);
        if recent && let Some(v) = self.cached() {
            return Ok(v);
        }
        if let Ok(mut t) = self.last_fetch.lock() {
            *t = Some(Instant::now());
        }
        let jwks = self
            .source
            .fetch()
            .await
            .map_err(|e| AuthError::Unavailable(format!("jwks: {e}")))?;
        let verifier = Arc::new(Verifier::new(&jwks, &self.issuer, &self.audience)?);
        if let Ok(mut slot) = self.verifier.write() {
            *slot = Some(verifier.clone());
        }
        Ok(verifier)
    }

    /// Verifies a bearer token and returns its principal.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let now = chrono::Utc::now().timestamp();
        let cached = self
            .verified
            .lock()
            .ok()
            .and_then(|c| c.get(token).filter(|(_, _, exp)| *exp >= now).cloned());
        let (principal, jti) = match cached {
            Some((principal, jti, _)) => (principal, jti),
            None => {
                let kid = peek_kid(token)?;
                let verifier = self.verifier_for(&kid).await?;
                let claims = verifier.verify(token, now)?;
                let principal = Principal::from_claims(&claims, token)?;
                if let Ok(mut cache) = self.verified.lock() {
                    if cache.len() >= VERIFIED_CACHE_MAX {
                        cache.clear();
                    }
                    cache.insert(
                        token.to_owned(),
                        (principal.clone(), claims.jti.clone(), claims.exp),
                    );
                }
                (principal, claims.jti)
            }
        };
        match self.deny.is_revoked(&jti).await {
            Ok(false) => Ok(principal),
            Ok(true) => Err(AuthError::Invalid(TokenError::Revoked)),
            Err(e) => Err(AuthError::Unavailable(format!("deny list: {e}"))),
        }
    }
}

/// Which requests need no token, and the authenticator for the rest.
#[derive(Clone)]
pub struct AuthPolicy {
    /// Verifies tokens.
    pub authenticator: Arc<Authenticator>,
    /// Paths served without a token: exact paths, or prefixes ending in `*`.
    pub public: &'static [&'static str],
}

/// Paths every server serves without a token: probes, health, reflection, the API document.
pub const ALWAYS_PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/grpc.health.v1.Health/*",
    "/grpc.reflection.v1.ServerReflection/*",
    "/grpc.reflection.v1alpha.ServerReflection/*",
];

fn matches(path: &str, patterns: &[&str]) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path == *p,
    })
}

fn is_grpc(req: &Request) -> bool {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// The refusal of a request, in the caller's protocol: a gRPC status for gRPC callers,
/// AIP-193 JSON with the HTTP status for REST callers.
pub fn refuse(req: &Request, status: tonic::Status) -> Response {
    if is_grpc(req) {
        status.into_http::<axum::body::Body>()
    } else {
        crate::error::http_response(&status)
    }
}

/// The bearer token of a request, if any.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Middleware: authenticates the request (see the module docs).
pub async fn authenticate(
    State(policy): State<AuthPolicy>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if matches(path, ALWAYS_PUBLIC) || matches(path, policy.public) {
        return next.run(req).await;
    }
    let Some(token) = bearer(&req) else {
        return refuse(
            &req,
            tonic::Status::unauthenticated("a bearer token is required"),
        );
    };
    match policy.authenticator.authenticate(token).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(AuthError::Unavailable(why)) => {
            tracing::error!(error = %why, "cannot authenticate requests");
            refuse(
                &req,
                tonic::Status::unavailable("authentication temporarily unavailable"),
            )
        }
        Err(error) => {
            tracing::info!(%error, path, "request refused");
            metrics::counter!("crm_auth_refused_total").increment(1);
            refuse(
                &req,
                tonic::Status::unauthenticated("invalid or expired token"),
            )
        }
    }
}

/// The permission each gRPC method of a service requires: `(path, permission)`, declared in
/// one table next to the service's RPCs.
pub type PermissionTable = &'static [(&'static str, &'static str)];

/// In a [`PermissionTable`]: any authenticated caller; the handler decides (e.g. reading
/// oneself needs no permission, reading others does).
pub const ANY_AUTHENTICATED: &str = "";

/// What [`authorize`] needs: the service's permission table and the process's authenticator
/// (which knows where refusals are reported).
#[derive(Clone)]
pub struct Authorization {
    /// The service's permission table.
    pub table: PermissionTable,
    /// The process's authenticator.
    pub authenticator: Arc<Authenticator>,
}

fn required(table: PermissionTable, path: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, perm)| *perm)
}

/// Whether `principal` may call the method at `path` (`/crm.customers.v1.CustomerService/…`),
/// as [`authorize`] decides: for a handler that calls other handlers of its service directly.
pub fn allowed(table: PermissionTable, principal: &Principal, path: &str) -> bool {
    required(table, path).is_some_and(|p| p.is_empty() || principal.has(p))
}

/// Middleware: refuses gRPC calls to `crm.*` methods whose permission the caller lacks, and
/// calls to methods without a declared permission (fail closed). Refusals are logged, counted
/// and reported to the security audit log.
pub async fn authorize(State(authz): State<Authorization>, req: Request, next: Next) -> Response {
    let table = authz.table;
    let path = req.uri().path();
    if !path.starts_with("/crm.") {
        return next.run(req).await;
    }
    let Some(principal) = req.extensions().get::<Principal>() else {
        // Public methods (login) carry no principal and need no permission.
        return next.run(req).await;
    };
    let required = required(table, path);
    match required {
        Some(permission) if permission.is_empty() || principal.has(permission) => {
            next.run(req).await
        }
        Some(permission) => {
            tracing::warn!(actor = %principal.actor(), path, permission, "permission denied");
            metrics::counter!("crm_permission_denied_total", "permission" => permission)
                .increment(1);
            if let Some(sink) = &authz.authenticator.denials {
                let header = |name: &str| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let forwarded = header("x-forwarded-for");
                sink.denied(Denial {
                    actor: principal.actor(),
                    method: path.to_owned(),
                    permission: permission.to_owned(),
                    source_ip: forwarded
                        .split(',')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                    request_id: header("x-request-id"),
                });
            }
            refuse(
                &req,
                tonic::Status::permission_denied(format!("requires permission {permission}")),
            )
        }
        None => {
            tracing::error!(path, "no permission declared for this method; refusing");
            refuse(
                &req,
                tonic::Status::permission_denied("this method is not available"),
            )
        }
    }
}

/// The principal of a gRPC request; UNAUTHENTICATED when the auth layer put none there.
#[allow(clippy::result_large_err)] // tonic::Status is the error type of every handler
pub fn principal<T>(req: &tonic::Request<T>) -> Result<Principal, tonic::Status> {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| tonic::Status::unauthenticated("a bearer token is required"))
}

#[cfg(test)]
mod tests;
