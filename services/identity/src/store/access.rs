//! Roles, API clients and refresh tokens.
use super::*;

impl Store {
    // roles

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

    // API clients

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

    // refresh tokens

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
}
