//! SQL of the identity service, one code path for PostgreSQL and SQLite.
use chrono::{DateTime, Utc};
use crm_platform::{
    db::{BeginWrite, Db, DbError, Migrations, fetch_all},
    sql::{SqlBuf, SqlValue},
    with_pool,
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

    // ---- units

    /// Inserts a unit.
    pub async fn insert_unit(&self, u: &UnitRow) -> Result<(), DbError> {
        let sql = format!("INSERT INTO units ({UNIT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
        with_pool!(&self.db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(u.id)
            .bind(&u.code)
            .bind(&u.kind)
            .bind(u.parent_id)
            .bind(&u.path)
            .bind(&u.display_name)
            .bind(u.version)
            .bind(u.created_at)
            .bind(u.updated_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// One unit.
    pub async fn unit(&self, id: Uuid) -> Result<Option<UnitRow>, DbError> {
        self.one(by_id(UNIT, "units", id)).await
    }

    /// The root unit, if the tree has one.
    pub async fn root_unit(&self) -> Result<Option<UnitRow>, DbError> {
        self.one(select(UNIT, "units").tap(|q| q.push("parent_id IS NULL")))
            .await
    }

    /// Changes a unit's display name and kind if still at `version`.
    pub async fn update_unit(&self, u: &UnitRow, version: i64) -> Result<bool, DbError> {
        const SQL: &str = "UPDATE units SET display_name = $1, kind = $2, version = version + 1, updated_at = $3 WHERE id = $4 AND version = $5";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(&u.display_name)
            .bind(&u.kind)
            .bind(u.updated_at)
            .bind(u.id)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// How many units, users and API clients hang on a unit.
    pub async fn unit_dependents(&self, id: Uuid) -> Result<i64, DbError> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM units WHERE parent_id = $1) + (SELECT COUNT(*) FROM users WHERE unit_id = $1) + (SELECT COUNT(*) FROM api_clients WHERE unit_id = $1)";
        let (n,): (i64,) = with_pool!(&self.db, |pool| sqlx::query_as(SQL)
            .bind(id)
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }

    /// Moves a unit below `parent` with its whole subtree: every path under the old one is
    /// rewritten in one transaction, so the tree is never seen half-moved.
    pub async fn move_unit(
        &self,
        unit: &UnitRow,
        parent: Uuid,
        new_path: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let pattern = format!("{}%", crm_platform::auth::escape_like(&unit.path));
        // i32: PostgreSQL has substr(text, integer) only.
        let keep_from = unit.path.chars().count() as i32 + 1;
        with_pool!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let moved = sqlx::query("UPDATE units SET parent_id = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4")
                .bind(parent).bind(now).bind(unit.id).bind(unit.version)
                .execute(&mut *tx).await?.rows_affected();
            if moved == 0 {
                return Ok(false);
            }
            sqlx::query("UPDATE units SET path = $1 || SUBSTR(path, $2), updated_at = $3 WHERE path LIKE $4 ESCAPE '\\'")
                .bind(new_path).bind(keep_from).bind(now).bind(&pattern)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, DbError>(true)
        })
    }

    // ---- roles

    /// Creates a role unless one with its id exists (built-in roles on every start).
    pub async fn ensure_role(&self, r: &RoleRow) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO roles ({ROLE}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING"
        );
        with_pool!(&self.db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(r.id)
            .bind(&r.display_name)
            .bind(&r.description)
            .bind(&r.permissions)
            .bind(&r.scopes)
            .bind(r.built_in)
            .bind(r.version)
            .bind(r.created_at)
            .bind(r.updated_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// One role.
    pub async fn role(&self, id: Uuid) -> Result<Option<RoleRow>, DbError> {
        self.one(by_id(ROLE, "roles", id)).await
    }

    /// Changes a role if still at `version`.
    pub async fn update_role(&self, r: &RoleRow, version: i64) -> Result<bool, DbError> {
        const SQL: &str = "UPDATE roles SET display_name = $1, description = $2, permissions = $3, scopes = $4, version = version + 1, updated_at = $5 WHERE id = $6 AND version = $7";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(&r.display_name)
            .bind(&r.description)
            .bind(&r.permissions)
            .bind(&r.scopes)
            .bind(r.updated_at)
            .bind(r.id)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Whether a role is held by a user or an API client.
    pub async fn role_in_use(&self, id: Uuid) -> Result<bool, DbError> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM user_roles WHERE role_id = $1) + (SELECT COUNT(*) FROM api_clients WHERE role_ids LIKE $2)";
        let (n,): (i64,) = with_pool!(&self.db, |pool| sqlx::query_as(SQL)
            .bind(id)
            .bind(format!("%{id}%"))
            .fetch_one(pool)
            .await)?;
        Ok(n > 0)
    }

    /// Deletes a role still at `version`.
    pub async fn delete_role(&self, id: Uuid, version: i64) -> Result<bool, DbError> {
        const SQL: &str = "DELETE FROM roles WHERE id = $1 AND version = $2 AND built_in = FALSE";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(id)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// The roles of a user.
    pub async fn roles_of(&self, user: Uuid) -> Result<Vec<RoleRow>, DbError> {
        let mut q = select(ROLE, "roles");
        q.push("id IN (SELECT role_id FROM user_roles WHERE user_id = ");
        q.push_bind(SqlValue::Uuid(user));
        q.push(") ORDER BY id");
        self.fetch(q).await
    }

    /// Roles by id (API client roles).
    pub async fn roles_by_ids(&self, ids: &[Uuid]) -> Result<Vec<RoleRow>, DbError> {
        let mut out = Vec::new();
        for id in ids {
            if let Some(r) = self.role(*id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    // ---- users

    /// Inserts a user with their roles, in one transaction.
    pub async fn insert_user(&self, u: &UserRow, roles: &[Uuid]) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO users ({USER}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        with_pool!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(u.id)
                .bind(&u.login_name)
                .bind(&u.display_name)
                .bind(&u.email)
                .bind(&u.phone)
                .bind(u.unit_id)
                .bind(&u.status)
                .bind(&u.password_hash)
                .bind(u.password_change_required)
                .bind(u.failed_login_count)
                .bind(u.locked_until)
                .bind(u.last_login_at)
                .bind(u.version)
                .bind(u.created_at)
                .bind(u.updated_at)
                .execute(&mut *tx)
                .await?;
            for role in roles {
                sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
                    .bind(u.id)
                    .bind(*role)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, DbError>(())
        })
    }

    /// One user.
    pub async fn user(&self, id: Uuid) -> Result<Option<UserRow>, DbError> {
        self.one(by_id(USER, "users", id)).await
    }

    /// A user by login name.
    pub async fn user_by_login(&self, login_name: &str) -> Result<Option<UserRow>, DbError> {
        let mut q = select(USER, "users");
        q.push("login_name = ");
        q.push_bind(SqlValue::Text(login_name.to_owned()));
        self.one(q).await
    }

    /// Whether any user exists (first start creates the administrator).
    pub async fn any_user(&self) -> Result<bool, DbError> {
        Ok(!self
            .fetch::<UserRow>(select(USER, "users").tap(|q| q.push("1 = 1 LIMIT 1")))
            .await?
            .is_empty())
    }

    /// Replaces a user's roles if the user is still at `version`; bumps the version.
    pub async fn set_roles(
        &self,
        user: Uuid,
        version: i64,
        roles: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        with_pool!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query("UPDATE users SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3")
                .bind(now).bind(user).bind(version).execute(&mut *tx).await?.rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                .bind(user)
                .execute(&mut *tx)
                .await?;
            for role in roles {
                sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
                    .bind(user)
                    .bind(*role)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, DbError>(true)
        })
    }

    /// Records a login outcome: failed attempts so far, lock, last login.
    pub async fn set_login_state(
        &self,
        user: Uuid,
        failed: i32,
        locked_until: Option<DateTime<Utc>>,
        last_login: Option<DateTime<Utc>>,
    ) -> Result<(), DbError> {
        const SQL: &str = "UPDATE users SET failed_login_count = $1, locked_until = $2, last_login_at = COALESCE($3, last_login_at) WHERE id = $4";
        with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(failed)
            .bind(locked_until)
            .bind(last_login)
            .bind(user)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets a password hash; bumps the version.
    pub async fn set_password(
        &self,
        user: Uuid,
        hash: &str,
        change_required: bool,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        const SQL: &str = "UPDATE users SET password_hash = $1, password_change_required = $2, failed_login_count = 0, locked_until = NULL, version = version + 1, updated_at = $3 WHERE id = $4";
        with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(hash)
            .bind(change_required)
            .bind(now)
            .bind(user)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Replaces a user's profile fields if still at `version`; bumps the version.
    pub async fn update_user(&self, u: &UserRow, version: i64) -> Result<bool, DbError> {
        const SQL: &str = "UPDATE users SET display_name = $1, email = $2, phone = $3, unit_id = $4, status = $5, version = version + 1, updated_at = $6 WHERE id = $7 AND version = $8";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(&u.display_name)
            .bind(&u.email)
            .bind(&u.phone)
            .bind(u.unit_id)
            .bind(&u.status)
            .bind(u.updated_at)
            .bind(u.id)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Revokes every session of a user (disabled accounts).
    pub async fn revoke_user_sessions(
        &self,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        const SQL: &str =
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL";
        with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(now)
            .bind(user)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    // ---- API clients

    /// Inserts an API client.
    pub async fn insert_client(&self, c: &ClientRow) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO api_clients ({CLIENT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        with_pool!(&self.db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(c.id)
            .bind(&c.client_id)
            .bind(&c.display_name)
            .bind(c.unit_id)
            .bind(&c.role_ids)
            .bind(&c.allowed_cidrs)
            .bind(&c.status)
            .bind(&c.secret_hash)
            .bind(&c.previous_secret_hash)
            .bind(c.previous_secret_expires_at)
            .bind(c.secret_rotated_at)
            .bind(c.version)
            .bind(c.created_at)
            .bind(c.updated_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// One API client.
    pub async fn client(&self, id: Uuid) -> Result<Option<ClientRow>, DbError> {
        self.one(by_id(CLIENT, "api_clients", id)).await
    }

    /// An API client by its public client id.
    pub async fn client_by_client_id(&self, client_id: &str) -> Result<Option<ClientRow>, DbError> {
        let mut q = select(CLIENT, "api_clients");
        q.push("client_id = ");
        q.push_bind(SqlValue::Text(client_id.to_owned()));
        self.one(q).await
    }

    /// Replaces a client's settings if still at `version`; bumps the version.
    pub async fn update_client(&self, c: &ClientRow, version: i64) -> Result<bool, DbError> {
        const SQL: &str = "UPDATE api_clients SET display_name = $1, unit_id = $2, role_ids = $3, allowed_cidrs = $4, status = $5, version = version + 1, updated_at = $6 WHERE id = $7 AND version = $8";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(&c.display_name)
            .bind(c.unit_id)
            .bind(&c.role_ids)
            .bind(&c.allowed_cidrs)
            .bind(&c.status)
            .bind(c.updated_at)
            .bind(c.id)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Replaces a client's secret, keeping the current one valid until `previous_until`.
    pub async fn rotate_secret(
        &self,
        id: Uuid,
        version: i64,
        new_hash: &str,
        previous_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        const SQL: &str = "UPDATE api_clients SET previous_secret_hash = CASE WHEN $1 IS NULL THEN NULL ELSE secret_hash END, previous_secret_expires_at = $1, secret_hash = $2, secret_rotated_at = $3, version = version + 1, updated_at = $3 WHERE id = $4 AND version = $5";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(previous_until)
            .bind(new_hash)
            .bind(now)
            .bind(id)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    // ---- refresh tokens

    /// Stores a refresh token.
    pub async fn insert_refresh(&self, r: &RefreshRow) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO refresh_tokens ({REFRESH}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        with_pool!(&self.db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(r.id)
            .bind(r.family_id)
            .bind(r.user_id)
            .bind(&r.token_hash)
            .bind(r.expires_at)
            .bind(r.used_at)
            .bind(r.revoked_at)
            .bind(r.created_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A refresh token by its hash.
    pub async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRow>, DbError> {
        let mut q = select(REFRESH, "refresh_tokens");
        q.push("token_hash = ");
        q.push_bind(SqlValue::Text(hash.to_owned()));
        self.one(q).await
    }

    /// Marks a refresh token used; false when it was already used (a concurrent refresh won).
    pub async fn use_refresh(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, DbError> {
        const SQL: &str = "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Revokes every token of a login session.
    pub async fn revoke_family(&self, family: Uuid, now: DateTime<Utc>) -> Result<(), DbError> {
        const SQL: &str =
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL";
        with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(now)
            .bind(family)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    // ---- security events and alerts

    /// Appends a security event.
    pub async fn insert_event(&self, e: &EventRow) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO security_events ({EVENT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        with_pool!(&self.db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(e.id)
            .bind(&e.r#type)
            .bind(&e.actor)
            .bind(&e.target)
            .bind(e.time)
            .bind(&e.source_ip)
            .bind(&e.request_id)
            .bind(&e.trace_id)
            .bind(&e.details)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// How many events of `type` have `column` (target or source_ip) = `value` since `since`.
    pub async fn count_events(
        &self,
        r#type: &str,
        column: EventKey,
        value: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, DbError> {
        let sql = format!(
            "SELECT COUNT(*) FROM security_events WHERE type = $1 AND {} = $2 AND time >= $3",
            match column {
                EventKey::Target => "target",
                EventKey::Actor => "actor",
                EventKey::SourceIp => "source_ip",
            }
        );
        let (n,): (i64,) = with_pool!(&self.db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(r#type)
            .bind(value)
            .bind(since)
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }

    /// Opens an alert unless one is already open for the rule and subject.
    pub async fn open_alert(&self, a: &AlertRow) -> Result<bool, DbError> {
        let mut q = select(ALERT, "security_alerts");
        q.push("rule = ");
        q.push_bind(SqlValue::Text(a.rule.clone()));
        q.push(" AND subject = ");
        q.push_bind(SqlValue::Text(a.subject.clone()));
        q.push(" AND state = 'OPEN'");
        if self.one::<AlertRow>(q).await?.is_some() {
            return Ok(false);
        }
        let sql = format!(
            "INSERT INTO security_alerts ({ALERT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        with_pool!(&self.db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(a.id)
            .bind(&a.rule)
            .bind(&a.subject)
            .bind(a.count)
            .bind(a.window_start)
            .bind(a.window_end)
            .bind(&a.state)
            .bind(&a.ack_actor)
            .bind(a.ack_time)
            .bind(a.version)
            .bind(a.created_at)
            .bind(a.updated_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(true)
    }

    /// One alert.
    pub async fn alert(&self, id: Uuid) -> Result<Option<AlertRow>, DbError> {
        self.one(by_id(ALERT, "security_alerts", id)).await
    }

    /// Acknowledges an open alert still at `version`.
    pub async fn acknowledge_alert(
        &self,
        id: Uuid,
        version: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        const SQL: &str = "UPDATE security_alerts SET state = 'ACKNOWLEDGED', ack_actor = $1, ack_time = $2, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(actor)
            .bind(now)
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
