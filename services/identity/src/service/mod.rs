//! Identity use cases. Transport-free: the gRPC adapters in `api/` parse requests into these
//! inputs and format the results.
pub mod access;
pub mod auth;
pub mod directory;
pub mod preferences;
pub mod security;

use crate::store::Store;
use crm_platform::{auth::Principal, denylist::DenyList, token::Issuer};
use std::sync::{Arc, RwLock};

/// Settings of the use cases (from the service config).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Access token lifetime.
    pub access_ttl: chrono::Duration,
    /// Refresh token lifetime.
    pub refresh_ttl: chrono::Duration,
    /// Failed logins within `lockout_window` that lock an account.
    pub lockout_threshold: i64,
    /// The window failed logins are counted in.
    pub lockout_window: chrono::Duration,
    /// How long a locked account stays locked.
    pub lockout_duration: chrono::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_ttl: chrono::Duration::minutes(15),
            refresh_ttl: chrono::Duration::days(14),
            lockout_threshold: 5,
            lockout_window: chrono::Duration::minutes(15),
            lockout_duration: chrono::Duration::minutes(15),
        }
    }
}

/// Who is asking, from where: the audit context of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The authenticated principal, if any (login has none).
    pub principal: Option<Principal>,
    /// The caller's IP address, as seen by the edge.
    pub source_ip: String,
    /// The request id.
    pub request_id: String,
}

impl Caller {
    /// The actor of audit records: the principal, or "anonymous".
    pub fn actor(&self) -> String {
        self.principal
            .as_ref()
            .map(Principal::actor)
            .unwrap_or_else(|| "anonymous".to_owned())
    }
}

/// Everything the identity use cases share.
#[derive(Clone)]
pub struct Identity {
    /// Storage.
    pub store: Store,
    /// Signs access tokens.
    pub issuer: Arc<RwLock<Issuer>>,
    /// Revoked access tokens.
    pub deny: DenyList,
    /// Settings.
    pub settings: Settings,
}
