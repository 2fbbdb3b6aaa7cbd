//! SQL for webhook subscriptions and deliveries, one code path for PostgreSQL and SQLite.
use chrono::{DateTime, Utc};
use crm_platform::db::fetch_all;
use crm_platform::{
    auth::Principal,
    db::{Db, DbError, Migrations, Tx},
    filter::{FieldSpec, FieldType, Schema},
    paging::ListParams,
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use uuid::Uuid;

use crate::error::Error;

/// The embedded migrations of the events database.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("migrations/postgres"),
    sqlite: sqlx::migrate!("migrations/sqlite"),
};

/// Subscriptions and deliveries list newest first; no filter fields yet.
pub static SCHEMA: Schema = Schema {
    id_column: "id",
    fields: &[FieldSpec {
        name: "create_time",
        column: "created_at",
        ty: FieldType::Timestamp,
        sortable: true,
    }],
};

const SUBSCRIPTION: &str = "id, url, event_types, state, disabled_reason, secret, description, creator, created_at, updated_at";
const DELIVERY: &str = "id, subscription_id, event_id, event_type, body, state, attempts, last_status, last_error, next_attempt_at, created_at, updated_at";

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SubscriptionRow {
    /// UUIDv7.
    pub id: Uuid,
    /// Endpoint.
    pub url: String,
    /// JSON array of type patterns.
    pub event_types: String,
    /// "ACTIVE" or "DISABLED".
    pub state: String,
    /// Why the server disabled it.
    pub disabled_reason: String,
    /// Signing secret.
    pub secret: String,
    /// For people.
    pub description: String,
    /// JSON of the creating principal (without token).
    pub creator: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl SubscriptionRow {
    /// The type patterns.
    pub fn types(&self) -> Vec<String> {
        serde_json::from_str(&self.event_types).unwrap_or_default()
    }

    /// The principal whose view the deliveries have; `None` when unreadable (delivers nothing).
    pub fn creator(&self) -> Option<Principal> {
        serde_json::from_str(&self.creator).ok()
    }
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The subscription.
    pub subscription_id: Uuid,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The JSON body sent.
    pub body: Vec<u8>,
    /// "PENDING", "DELIVERED" or "FAILED".
    pub state: String,
    /// Attempts made.
    pub attempts: i32,
    /// Last HTTP status (0: none).
    pub last_status: i32,
    /// Last error.
    pub last_error: String,
    /// Next attempt, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last attempt.
    pub updated_at: DateTime<Utc>,
}

/// The outcome of an attempt, to record.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// New state.
    pub state: &'static str,
    /// HTTP status (0: none).
    pub status: i32,
    /// Error text.
    pub error: String,
    /// Next attempt while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Webhook storage.
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

    /// Inserts a subscription.
    pub async fn insert_subscription(&self, row: &SubscriptionRow) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO webhook_subscriptions ({SUBSCRIPTION}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        with_pool!(&self.db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(&row.url)
            .bind(&row.event_types)
            .bind(&row.state)
            .bind(&row.disabled_reason)
            .bind(&row.secret)
            .bind(&row.description)
            .bind(&row.creator)
            .bind(row.created_at)
            .bind(row.updated_at)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// One subscription.
    pub async fn subscription(&self, id: Uuid) -> Result<Option<SubscriptionRow>, DbError> {
        let mut buf = SqlBuf::new(format!(
            "SELECT {SUBSCRIPTION} FROM webhook_subscriptions WHERE id = "
        ));
        buf.push_bind(SqlValue::Uuid(id));
        Ok(fetch_all(&self.db, buf).await?.pop())
    }

    /// A page of subscriptions and the next page token.
    pub async fn list_subscriptions(
        &self,
        params: &ListParams,
    ) -> Result<(Vec<SubscriptionRow>, String), Error> {
        let buf = SqlBuf::new(format!(
            "SELECT {SUBSCRIPTION} FROM webhook_subscriptions WHERE 1 = 1"
        ));
        Ok(params
            .fetch_page(
                &self.db,
                buf,
                &SCHEMA,
                "create_time desc",
                |r: &SubscriptionRow, _| SqlValue::Timestamp(r.created_at),
                |r| r.id,
            )
            .await?)
    }

    /// Active subscriptions, read in the consumer's transaction.
    pub async fn active_subscriptions(tx: &mut Tx) -> Result<Vec<SubscriptionRow>, DbError> {
        let sql =
            format!("SELECT {SUBSCRIPTION} FROM webhook_subscriptions WHERE state = 'ACTIVE'");
        Ok(with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(
            sql
        ))
        .fetch_all(&mut *conn)
        .await)?)
    }

    /// Replaces the changeable fields of a subscription.
    pub async fn update_subscription(&self, row: &SubscriptionRow) -> Result<bool, DbError> {
        const SQL: &str = "UPDATE webhook_subscriptions SET url = $1, event_types = $2, state = $3, disabled_reason = $4, updated_at = $5 WHERE id = $6";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(&row.url)
            .bind(&row.event_types)
            .bind(&row.state)
            .bind(&row.disabled_reason)
            .bind(row.updated_at)
            .bind(row.id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Deletes a subscription and its deliveries.
    pub async fn delete_subscription(&self, id: Uuid) -> Result<bool, DbError> {
        let n = with_pool!(&self.db, |pool| {
            sqlx::query("DELETE FROM webhook_deliveries WHERE subscription_id = $1")
                .bind(id)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM webhook_subscriptions WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n > 0)
    }

    /// Disables a subscription, with the reason, in `tx`.
    pub async fn disable(tx: &mut Tx, id: Uuid, reason: &str) -> Result<(), DbError> {
        const SQL: &str = "UPDATE webhook_subscriptions SET state = 'DISABLED', disabled_reason = $1, updated_at = $2 WHERE id = $3";
        let now = crm_platform::db::now();
        with_tx!(tx, |conn| sqlx::query(SQL)
            .bind(reason)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Adds a delivery unless the event was already queued for the subscription; true when added.
    pub async fn insert_delivery(tx: &mut Tx, row: &DeliveryRow) -> Result<bool, DbError> {
        let sql = format!(
            "INSERT INTO webhook_deliveries ({DELIVERY}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (subscription_id, event_id) DO NOTHING"
        );
        let n = with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(row.subscription_id)
            .bind(&row.event_id)
            .bind(&row.event_type)
            .bind(&row.body)
            .bind(&row.state)
            .bind(row.attempts)
            .bind(row.last_status)
            .bind(&row.last_error)
            .bind(row.next_attempt_at)
            .bind(row.created_at)
            .bind(row.updated_at)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// One delivery and its subscription.
    pub async fn delivery(
        &self,
        id: Uuid,
    ) -> Result<Option<(DeliveryRow, SubscriptionRow)>, DbError> {
        let mut buf = SqlBuf::new(format!(
            "SELECT {DELIVERY} FROM webhook_deliveries WHERE id = "
        ));
        buf.push_bind(SqlValue::Uuid(id));
        let Some(delivery) = fetch_all::<DeliveryRow>(&self.db, buf).await?.pop() else {
            return Ok(None);
        };
        Ok(self
            .subscription(delivery.subscription_id)
            .await?
            .map(|s| (delivery, s)))
    }

    /// A page of a subscription's deliveries, newest first.
    pub async fn deliveries(
        &self,
        subscription: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<DeliveryRow>, String), Error> {
        let mut buf = SqlBuf::new(format!(
            "SELECT {DELIVERY} FROM webhook_deliveries WHERE subscription_id = "
        ));
        buf.push_bind(SqlValue::Uuid(subscription));
        Ok(params
            .fetch_page(
                &self.db,
                buf,
                &SCHEMA,
                "create_time desc",
                |r: &DeliveryRow, _| SqlValue::Timestamp(r.created_at),
                |r| r.id,
            )
            .await?)
    }

    /// Records an attempt's outcome in `tx`.
    pub async fn record_attempt(
        tx: &mut Tx,
        id: Uuid,
        attempt: &AttemptRecord,
    ) -> Result<(), DbError> {
        const SQL: &str = "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, last_status = $2, last_error = $3, next_attempt_at = $4, updated_at = $5 WHERE id = $6";
        let now = crm_platform::db::now();
        with_tx!(tx, |conn| sqlx::query(SQL)
            .bind(attempt.state)
            .bind(attempt.status)
            .bind(&attempt.error)
            .bind(attempt.next_attempt_at)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop))?;
        Ok(())
    }
}
