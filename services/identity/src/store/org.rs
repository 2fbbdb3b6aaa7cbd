//! Units and users.
use super::*;

impl Store {
    // units

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

    // users

    /// Inserts a user with their roles, in one transaction.
    pub async fn insert_user(&self, u: &UserRow, roles: &[Uuid]) -> Result<(), DbError> {
        let mut tx = self.db.begin().await?;
        insert_user_in(&mut tx, u, roles).await?;
        tx.commit().await
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

    /// Replaces a user's roles if the user is still at `version`; bumps the version. Refused
    /// when it would leave no active administrator.
    pub async fn set_roles(
        &self,
        user: Uuid,
        version: i64,
        roles: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<Guarded, DbError> {
        let (mut tx, before) = guard::begin(&self.db).await?;
        let changed = with_tx!(tx, |conn| {
            let changed = sqlx::query("UPDATE users SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3")
                .bind(now).bind(user).bind(version).execute(&mut *conn).await?.rows_affected();
            if changed == 1 {
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                    .bind(user)
                    .execute(&mut *conn)
                    .await?;
                for role in roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
                        .bind(user)
                        .bind(*role)
                        .execute(&mut *conn)
                        .await?;
                }
            }
            changed == 1
        });
        guard::commit(tx, before, changed).await
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

    /// Replaces a user's profile fields and status if still at `version`; bumps the version.
    /// Refused when it would leave no active administrator.
    pub async fn update_user(&self, u: &UserRow, version: i64) -> Result<Guarded, DbError> {
        const SQL: &str = "UPDATE users SET display_name = $1, email = $2, phone = $3, unit_id = $4, status = $5, version = version + 1, updated_at = $6 WHERE id = $7 AND version = $8";
        let (mut tx, before) = guard::begin(&self.db).await?;
        let n = with_tx!(tx, |conn| sqlx::query(SQL)
            .bind(&u.display_name)
            .bind(&u.email)
            .bind(&u.phone)
            .bind(u.unit_id)
            .bind(&u.status)
            .bind(u.updated_at)
            .bind(u.id)
            .bind(version)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        guard::commit(tx, before, n == 1).await
    }

    /// Deletes a user still at `version` (their roles and sessions go with them). Refused when
    /// it would leave no active administrator.
    pub async fn delete_user(&self, id: Uuid, version: i64) -> Result<Guarded, DbError> {
        const SQL: &str = "DELETE FROM users WHERE id = $1 AND version = $2";
        let (mut tx, before) = guard::begin(&self.db).await?;
        let n = with_tx!(tx, |conn| sqlx::query(SQL)
            .bind(id)
            .bind(version)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        guard::commit(tx, before, n == 1).await
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
}

/// Inserts a user with their roles inside `tx` (a plain create, or the creation of an
/// administrator by `reset_admin`).
pub(super) async fn insert_user_in(
    tx: &mut Tx,
    u: &UserRow,
    roles: &[Uuid],
) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO users ({USER}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    with_tx!(tx, |conn| {
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
            .execute(&mut *conn)
            .await?;
        for role in roles {
            sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
                .bind(u.id)
                .bind(*role)
                .execute(&mut *conn)
                .await?;
        }
    });
    Ok(())
}
