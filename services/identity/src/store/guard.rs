//! The last-administrator rule (DESIGN §5: no change may leave the organisation without an
//! active administrator), enforced inside the transaction of each change that could break it.
use super::*;
use crate::roles::ADMINISTRATOR;
use crm_platform::db::{Tx, TxConn};

/// What a write under the last-administrator rule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// Written and committed.
    Done,
    /// The row was gone or not at the expected version: nothing written.
    Stale,
    /// Rolled back: afterwards no active user would have held the Administrator role.
    LastAdministrator,
}

/// Opens the write transaction of a change that may take the Administrator role from an
/// active user, and counts the active administrators before the change.
pub(super) async fn begin(db: &Db) -> Result<(Tx, i64), DbError> {
    let mut tx = db.begin().await?;
    // On PostgreSQL (READ COMMITTED) two such changes could each still see the other's
    // administrator and both commit: A removes B while B removes A, and none is left. So every
    // guarded change first locks the Administrator role's row: they run one after the other and
    // each counts what the one before committed. NO KEY UPDATE rather than UPDATE so that the
    // foreign-key checks of user_roles inserts (KEY SHARE), e.g. CreateUser, do not queue behind
    // it. SQLite needs nothing: BEGIN IMMEDIATE already holds the database's only write lock.
    if let TxConn::Pg(t) = tx.conn_mut() {
        sqlx::query("SELECT id FROM roles WHERE id = $1 FOR NO KEY UPDATE")
            .bind(ADMINISTRATOR)
            .fetch_optional(&mut **t)
            .await?;
    }
    let before = active_administrators(&mut tx).await?;
    Ok((tx, before))
}

/// Commits a guarded change unless it took away the last active administrator. When there was
/// none before (a database restored or edited by hand), the change cannot make things worse
/// and goes through, so that ordinary work does not stop until someone repairs it.
/// `written` says whether the change found its row at the expected version; when not, nothing
/// is written and the answer is `Stale`.
pub(super) async fn commit(mut tx: Tx, before: i64, written: bool) -> Result<Guarded, DbError> {
    if !written {
        tx.rollback().await?;
        return Ok(Guarded::Stale);
    }
    if before > 0 && active_administrators(&mut tx).await? == 0 {
        tx.rollback().await?;
        return Ok(Guarded::LastAdministrator);
    }
    tx.commit().await?;
    Ok(Guarded::Done)
}

/// Active users holding the Administrator role, as `tx` sees them. A user locked by failed
/// logins counts: the lock runs out by itself and is not anyone's change.
async fn active_administrators(tx: &mut Tx) -> Result<i64, DbError> {
    const SQL: &str = "SELECT COUNT(*) FROM users JOIN user_roles ON user_roles.user_id = users.id WHERE user_roles.role_id = $1 AND users.status = 'ACTIVE'";
    let (n,): (i64,) = with_tx!(tx, |conn| sqlx::query_as(SQL)
        .bind(ADMINISTRATOR)
        .fetch_one(&mut *conn)
        .await)?;
    Ok(n)
}

/// What a user was before `reset_admin` changed it.
#[derive(Debug, Clone)]
pub struct ResetBefore {
    /// The user as it was; `None` when `reset_admin` created it.
    pub user: Option<UserRow>,
    /// The roles it held, by id.
    pub roles: Vec<Uuid>,
    /// How many of its sessions (refresh-token families' live tokens) were revoked.
    pub sessions_revoked: u64,
}

impl Store {
    /// Makes the user with `new.login_name` an active, unlocked holder of the Administrator
    /// role, with `new`'s password hash and password-change flag, and revokes its sessions (its
    /// password was lost or taken); creates it as `new` when the login name is unknown. Its
    /// other roles stay. The security events `audit` makes from the result are written in the
    /// same transaction: the reset never happens unrecorded.
    pub async fn reset_admin(
        &self,
        new: &UserRow,
        audit: impl FnOnce(&UserRow, &ResetBefore) -> Vec<EventRow>,
    ) -> Result<(UserRow, ResetBefore), DbError> {
        let find = format!("SELECT {USER} FROM users WHERE login_name = $1");
        let mut tx = self.db.begin().await?;
        let found: Option<UserRow> =
            with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(find.clone()))
                .bind(&new.login_name)
                .fetch_optional(&mut *conn)
                .await)?;
        let before = match found {
            None => {
                super::org::insert_user_in(&mut tx, new, &[ADMINISTRATOR]).await?;
                ResetBefore {
                    user: None,
                    roles: Vec::new(),
                    sessions_revoked: 0,
                }
            }
            Some(user) => with_tx!(tx, |conn| {
                let roles: Vec<(Uuid,)> = sqlx::query_as(
                    "SELECT role_id FROM user_roles WHERE user_id = $1 ORDER BY role_id",
                )
                .bind(user.id)
                .fetch_all(&mut *conn)
                .await?;
                let roles: Vec<Uuid> = roles.into_iter().map(|(r,)| r).collect();
                sqlx::query("UPDATE users SET status = 'ACTIVE', password_hash = $1, password_change_required = $2, failed_login_count = 0, locked_until = NULL, version = version + 1, updated_at = $3 WHERE id = $4")
                    .bind(&new.password_hash)
                    .bind(new.password_change_required)
                    .bind(new.updated_at)
                    .bind(user.id)
                    .execute(&mut *conn)
                    .await?;
                if !roles.contains(&ADMINISTRATOR) {
                    sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
                        .bind(user.id)
                        .bind(ADMINISTRATOR)
                        .execute(&mut *conn)
                        .await?;
                }
                let sessions_revoked = sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                )
                .bind(new.updated_at)
                .bind(user.id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                ResetBefore {
                    user: Some(user),
                    roles,
                    sessions_revoked,
                }
            }),
        };
        let after: UserRow = with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(find))
            .bind(&new.login_name)
            .fetch_one(&mut *conn)
            .await)?;
        for event in audit(&after, &before) {
            super::security::insert_event_in(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok((after, before))
    }
}
