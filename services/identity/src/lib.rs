//! The identity service: the organisation tree, users, roles with data scopes, API clients for
//! machine callers, tokens (JWT + JWKS, rotating refresh tokens), the security audit log, and
//! each user's own preferences (locale, time zone, saved views of the web UI).
pub mod api;
pub mod error;
pub mod keys;
pub mod password;
pub mod recovery;
pub mod roles;
pub mod service;
pub mod store;

use crm_platform::{config::Secret, db::Db, denylist::DenyList, grpc::GrpcRoutes, token::Jwks};
use crm_proto::crm::identity::v1::{
    access_service_server::AccessServiceServer, auth_service_server::AuthServiceServer,
    directory_service_server::DirectoryServiceServer,
    preferences_service_server::PreferencesServiceServer,
    security_service_server::SecurityServiceServer,
};
use serde::{Deserialize, Serialize};
use service::{Caller, Identity, Settings};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, RwLock},
};
use store::{RoleRow, Store};

/// The service's name in config, logs and `crm serve`.
pub const NAME: &str = "identity";
/// The issuer and audience of CRM access tokens.
pub const ISSUER: &str = "crm-identity";
/// The audience of CRM access tokens.
pub const AUDIENCE: &str = "crm";

/// Configuration of the identity service (`[identity]`, `CRM_IDENTITY__*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address of the gRPC server.
    pub listen: SocketAddr,
    /// `postgres://...` or `sqlite://path`.
    pub database_url: Secret,
    /// Maximum database connections.
    pub max_connections: u32,
    /// File of the current signing key (generated there when missing; in Kubernetes a Secret).
    pub signing_key_file: Option<PathBuf>,
    /// File of the previous signing key, still published while its tokens live.
    pub previous_signing_key_file: Option<PathBuf>,
    /// Access token lifetime, seconds.
    pub access_ttl_seconds: i64,
    /// Refresh token lifetime, seconds.
    pub refresh_ttl_seconds: i64,
    /// Failed logins within the window that lock an account.
    pub lockout_threshold: i64,
    /// The window failed logins are counted in, seconds.
    pub lockout_window_seconds: i64,
    /// How long a locked account stays locked, seconds.
    pub lockout_seconds: i64,
}

impl Default for Config {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 50052)),
            database_url: Secret::new("sqlite://data/identity.db"),
            max_connections: 16,
            signing_key_file: Some(PathBuf::from("data/signing.key")),
            previous_signing_key_file: None,
            access_ttl_seconds: s.access_ttl.num_seconds(),
            refresh_ttl_seconds: s.refresh_ttl.num_seconds(),
            lockout_threshold: s.lockout_threshold,
            lockout_window_seconds: s.lockout_window.num_seconds(),
            lockout_seconds: s.lockout_duration.num_seconds(),
        }
    }
}

impl Config {
    fn settings(&self) -> Settings {
        Settings {
            access_ttl: chrono::Duration::seconds(self.access_ttl_seconds),
            refresh_ttl: chrono::Duration::seconds(self.refresh_ttl_seconds),
            lockout_threshold: self.lockout_threshold,
            lockout_window: chrono::Duration::seconds(self.lockout_window_seconds),
            lockout_duration: chrono::Duration::seconds(self.lockout_seconds),
        }
    }
}

/// Connects to the service's database and applies its migrations.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    crm_platform::db::open(
        NAME,
        &config.database_url,
        config.max_connections,
        &store::MIGRATIONS,
    )
    .await
}

/// The identity use cases over a migrated database, with the signing keys of `config`.
pub fn identity(db: Db, config: &Config, deny: DenyList) -> anyhow::Result<Identity> {
    let settings = config.settings();
    let issuer = keys::issuer(
        config.signing_key_file.as_deref(),
        config.previous_signing_key_file.as_deref(),
        ISSUER,
        AUDIENCE,
        settings.access_ttl,
    )?;
    Ok(Identity {
        store: Store::new(db),
        issuer: Arc::new(RwLock::new(issuer)),
        deny,
        settings,
    })
}

/// The JWKS of an in-process identity service (what GetJwks returns).
pub fn jwks(identity: &Identity) -> anyhow::Result<Jwks> {
    let issuer = identity
        .issuer
        .read()
        .map_err(|_| anyhow::anyhow!("issuer lock poisoned"))?;
    Ok(issuer.jwks())
}

/// What first start created: the administrator's generated password, shown once.
pub struct Bootstrap {
    /// Set when the administrator was created with a generated password.
    pub generated_admin_password: Option<String>,
}

/// Creates the built-in roles that do not exist yet (every start; `reset_admin`).
pub async fn ensure_built_in_roles(store: &Store) -> Result<(), error::Error> {
    let now = crm_platform::db::now();
    let json = |e: serde_json::Error| error::Error::Internal(e.to_string());
    for role in roles::built_ins() {
        let scopes: std::collections::BTreeMap<_, _> = role.scopes.iter().cloned().collect();
        store
            .ensure_role(&RoleRow {
                id: role.id,
                display_name: role.display_name.to_owned(),
                description: role.description.to_owned(),
                permissions: serde_json::to_string(&role.permissions).map_err(json)?,
                scopes: serde_json::to_string(&scopes).map_err(json)?,
                built_in: true,
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .await?;
    }
    Ok(())
}

/// The root unit, created as the group "g" when the tree is empty (first start;
/// `reset_admin` on a database no server has started on).
pub async fn ensure_root(store: &Store) -> Result<store::UnitRow, error::Error> {
    if let Some(root) = store.root_unit().await? {
        return Ok(root);
    }
    let now = crm_platform::db::now();
    let root = store::UnitRow {
        id: uuid::Uuid::now_v7(),
        code: "g".into(),
        kind: "GROUP".into(),
        parent_id: None,
        path: "/g/".into(),
        display_name: "Group".into(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    match store.insert_unit(&root).await {
        Ok(()) => Ok(root),
        // Another process created it meanwhile (both start at once): use theirs.
        Err(crm_platform::db::DbError::UniqueViolation { .. }) => store
            .root_unit()
            .await?
            .ok_or_else(|| error::Error::Internal("the root unit vanished".into())),
        Err(e) => Err(e.into()),
    }
}

/// Creates what must exist: the built-in roles (every start), and on first start the root unit
/// and the administrator `admin` (password from `admin_password`, else generated).
pub async fn bootstrap(
    identity: &Identity,
    admin_password: Option<String>,
) -> anyhow::Result<Bootstrap> {
    ensure_built_in_roles(&identity.store).await?;
    if identity.store.any_user().await? {
        return Ok(Bootstrap {
            generated_admin_password: None,
        });
    }
    let system = Caller {
        principal: Some(crm_platform::auth::Principal::system()),
        source_ip: String::new(),
        request_id: "bootstrap".into(),
    };
    let root = ensure_root(&identity.store).await?;
    let (password, generated) = match admin_password.filter(|p| !p.is_empty()) {
        Some(p) => (p, None),
        None => {
            let p = service::auth::random_secret().map_err(|e| anyhow::anyhow!("{e}"))?;
            (p.clone(), Some(p))
        }
    };
    let admin = service::directory::NewUser {
        login_name: "admin".into(),
        display_name: "Administrator".into(),
        email: None,
        phone: None,
        unit: root.id,
        password,
        require_password_change: false,
        roles: vec![roles::ADMINISTRATOR],
    };
    identity
        .create_user(&system, admin)
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap: creating admin: {e}"))?;
    tracing::info!("created the administrator \"admin\"");
    Ok(Bootstrap {
        generated_admin_password: generated,
    })
}

/// The service's gRPC routes.
pub fn routes(identity: &Identity) -> GrpcRoutes {
    GrpcRoutes::new(crm_proto::FILE_DESCRIPTOR_SET)
        .add_service(AuthServiceServer::new(api::auth::Auth(identity.clone())))
        .add_service(DirectoryServiceServer::new(api::directory::Directory(
            identity.clone(),
        )))
        .add_service(PreferencesServiceServer::new(
            api::preferences::Preferences(identity.clone()),
        ))
        .add_service(AccessServiceServer::new(api::access::Access(
            identity.clone(),
        )))
        .add_service(SecurityServiceServer::new(api::security::Security(
            identity.clone(),
        )))
        .permissions(api::PERMISSIONS)
        .public(api::PUBLIC)
}
