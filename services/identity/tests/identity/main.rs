//! The identity use cases on real databases: every test runs on SQLite and, when
//! `CRM_TEST_POSTGRES_URL` is set, on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod auth;
mod directory;
mod guard;
mod preferences;

use crm_identity::service::{Caller, Identity};
use crm_platform::{auth::Principal, db::Db, denylist::DenyList};

pub const ADMIN_PASSWORD: &str = "test-root-password-2026";

/// An identity service over `db` with the built-in roles and `admin`, lockout after 3 failures.
pub async fn identity(db: Db) -> Identity {
    let config = crm_identity::Config {
        signing_key_file: None,
        lockout_threshold: 3,
        ..Default::default()
    };
    let identity = crm_identity::identity(db, &config, DenyList::memory()).unwrap();
    crm_identity::bootstrap(&identity, Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    identity
}

/// An anonymous caller from `ip`.
pub fn anonymous(ip: &str) -> Caller {
    Caller {
        principal: None,
        source_ip: ip.into(),
        request_id: "test".into(),
    }
}

/// The system as caller (every permission).
pub fn system() -> Caller {
    Caller {
        principal: Some(Principal::system()),
        source_ip: "10.0.0.1".into(),
        request_id: "test".into(),
    }
}
