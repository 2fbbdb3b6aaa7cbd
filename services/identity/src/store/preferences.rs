//! Users' personal settings (one row per user who ever saved some).
use super::*;
use sqlx::types::Json;

/// A saved view of a list, as stored in the `saved_views` JSON array. The service validated it;
/// text is kept exactly as the user sent it. Fields missing from a stored object read as empty,
/// so that a field added later needs no rewrite of old rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SavedViewRow {
    pub id: String,
    pub list: String,
    pub title: String,
    pub columns: Vec<String>,
    pub filter: String,
    pub order_by: String,
    pub page_size: i32,
    pub query: String,
}

/// A user's preferences.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PreferencesRow {
    pub user_id: Uuid,
    pub locale: String,
    pub time_zone: String,
    /// JSONB on PostgreSQL, JSON text on SQLite.
    pub saved_views: Json<Vec<SavedViewRow>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const PREFERENCES: &str =
    "user_id, locale, time_zone, saved_views, version, created_at, updated_at";

impl Store {
    /// The preferences of a user; `None` while they are the defaults (never saved).
    pub async fn preferences(&self, user: Uuid) -> Result<Option<PreferencesRow>, DbError> {
        let mut q = select(PREFERENCES, "user_preferences");
        q.push("user_id = ");
        q.push_bind(SqlValue::Uuid(user));
        self.one(q).await
    }

    /// Writes a user's preferences if nobody changed them meanwhile: `version` is the version
    /// they were read at, `None` when there was no row (the defaults). The row written gets
    /// `p.version`. `false` when another write came first (the row exists now, or is no longer
    /// at `version`): nothing was written.
    pub async fn save_preferences(
        &self,
        p: &PreferencesRow,
        version: Option<i64>,
    ) -> Result<bool, DbError> {
        let n = match version {
            // Two first saves at once: the second finds the row and writes nothing, like a
            // stale update, instead of failing on the primary key.
            None => {
                let sql = format!(
                    "INSERT INTO user_preferences ({PREFERENCES}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO NOTHING"
                );
                with_pool!(&self.db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(p.user_id)
                    .bind(&p.locale)
                    .bind(&p.time_zone)
                    .bind(&p.saved_views)
                    .bind(p.version)
                    .bind(p.created_at)
                    .bind(p.updated_at)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected()))?
            }
            Some(version) => {
                const SQL: &str = "UPDATE user_preferences SET locale = $1, time_zone = $2, saved_views = $3, version = $4, updated_at = $5 WHERE user_id = $6 AND version = $7";
                with_pool!(&self.db, |pool| sqlx::query(SQL)
                    .bind(&p.locale)
                    .bind(&p.time_zone)
                    .bind(&p.saved_views)
                    .bind(p.version)
                    .bind(p.updated_at)
                    .bind(p.user_id)
                    .bind(version)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected()))?
            }
        };
        Ok(n == 1)
    }
}
