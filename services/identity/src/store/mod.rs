//! SQL of the identity service, one code path for PostgreSQL and SQLite. Rows and shared
//! helpers here; the statements by area in `org`, `access`, `security` and `preferences`.
mod access;
mod guard;
mod org;
mod preferences;
mod security;

pub use guard::{Guarded, ResetBefore};
pub use preferences::{PreferencesRow, SavedViewRow};

use chrono::{DateTime, Utc};
use crm_platform::{
    db::{BeginWrite, Db, DbError, Migrations, Tx, fetch_all},
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use uuid::Uuid;

/// The embedded migrations of the identity database.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("migrations/postgres"),
    sqlite: sqlx::migrate!("migrations/sqlite"),
};

/// A unit of the organisation tree.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UnitRow {
    pub id: Uuid,
    pub code: String,
    pub kind: String,
    pub parent_id: Option<Uuid>,
    pub path: String,
    pub display_name: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A role.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RoleRow {
    pub id: Uuid,
    pub display_name: String,
    pub description: String,
    /// JSON array of permission names.
    pub permissions: String,
    /// JSON object: family → scope name.
    pub scopes: String,
    pub built_in: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub login_name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub unit_id: Uuid,
    pub status: String,
    pub password_hash: String,
    pub password_change_required: bool,
    pub failed_login_count: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An API client.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClientRow {
    pub id: Uuid,
    pub client_id: String,
    pub display_name: String,
    pub unit_id: Option<Uuid>,
    /// JSON array of role ids.
    pub role_ids: String,
    /// JSON array of CIDR strings.
    pub allowed_cidrs: String,
    pub status: String,
    pub secret_hash: String,
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub secret_rotated_at: DateTime<Utc>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A refresh token (hashed).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefreshRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A security event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub r#type: String,
    pub actor: String,
    pub target: String,
    pub time: DateTime<Utc>,
    pub source_ip: String,
    pub request_id: String,
    pub trace_id: String,
    /// JSON object of strings.
    pub details: String,
}

/// A security alert.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AlertRow {
    pub id: Uuid,
    pub rule: String,
    pub subject: String,
    pub count: i64,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub state: String,
    pub ack_actor: Option<String>,
    pub ack_time: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const UNIT: &str = "id, code, kind, parent_id, path, display_name, version, created_at, updated_at";
const ROLE: &str =
    "id, display_name, description, permissions, scopes, built_in, version, created_at, updated_at";
const USER: &str = "id, login_name, display_name, email, phone, unit_id, status, password_hash, password_change_required, failed_login_count, locked_until, last_login_at, version, created_at, updated_at";
const CLIENT: &str = "id, client_id, display_name, unit_id, role_ids, allowed_cidrs, status, secret_hash, previous_secret_hash, previous_secret_expires_at, secret_rotated_at, version, created_at, updated_at";
const REFRESH: &str =
    "id, family_id, user_id, token_hash, expires_at, used_at, revoked_at, created_at";
const EVENT: &str = "id, type, actor, target, time, source_ip, request_id, trace_id, details";
const ALERT: &str = "id, rule, subject, count, window_start, window_end, state, ack_actor, ack_time, version, created_at, updated_at";

fn select(columns: &str, table: &str) -> SqlBuf {
    SqlBuf::new(format!("SELECT {columns} FROM {table} WHERE "))
}

fn by_id(columns: &str, table: &str, id: Uuid) -> SqlBuf {
    let mut q = select(columns, table);
    q.push("id = ");
    q.push_bind(SqlValue::Uuid(id));
    q
}

/// Identity storage.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    /// A store on a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Runs a built SELECT.
    pub async fn fetch<T>(&self, q: SqlBuf) -> Result<Vec<T>, DbError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        fetch_all(&self.db, q).await
    }

    async fn one<T>(&self, q: SqlBuf) -> Result<Option<T>, DbError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        Ok(self.fetch(q).await?.pop())
    }

    /// The SELECT a list of `table` starts from ("... WHERE "), for the caller to complete.
    pub fn list_query(table: &str) -> SqlBuf {
        let columns = match table {
            "units" => UNIT,
            "roles" => ROLE,
            "users" => USER,
            "api_clients" => CLIENT,
            "security_alerts" => ALERT,
            _ => EVENT,
        };
        select(columns, table)
    }

    /// Deletes the row `id` of `table` (a trusted name) if it is still at `version`.
    pub async fn delete_at_version(
        &self,
        table: &'static str,
        id: Uuid,
        version: i64,
    ) -> Result<bool, DbError> {
        let sql = format!("DELETE FROM {table} WHERE id = $1 AND version = $2");
        let n = with_pool!(&self.db, |pool| sqlx::query(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id)
        .bind(version)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}

/// Which column of security events a count is keyed by.
#[derive(Debug, Clone, Copy)]
pub enum EventKey {
    /// The account or resource acted on.
    Target,
    /// Who acted.
    Actor,
    /// The caller's IP address.
    SourceIp,
}

/// `tap` for building queries inline.
trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}

impl Tap for SqlBuf {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
