//! Interactions (a customer's timeline), the customer summary, and batch reads for other
//! services. Interactions and the summary follow the customer's data scope.
use crate::{error::Error, events, service::Customers, store::CustomerRow};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    db::DbError,
    filter::{FieldSpec, FieldType, Schema},
    paging::ListParams,
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use uuid::Uuid;

pub(crate) const COLUMNS: &str = "id, customer_id, type, direction, occurred_at, duration_seconds, subject, body, participants, user_id, outcome, created_at";

/// The timeline: newest first.
static SCHEMA: Schema = Schema {
    id_column: "id",
    fields: &[FieldSpec {
        name: "occur_time",
        column: "occurred_at",
        ty: FieldType::Timestamp,
        sortable: true,
    }],
};

/// Interaction types, in proto order.
pub const TYPES: &[&str] = &["CALL", "EMAIL", "MEETING", "VISIT", "NOTE"];
/// Directions, in proto order.
pub const DIRECTIONS: &[&str] = &["INBOUND", "OUTBOUND"];

/// A stored interaction.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct InteractionRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// "CALL", "EMAIL", "MEETING", "VISIT" or "NOTE".
    pub r#type: String,
    /// "INBOUND" or "OUTBOUND".
    pub direction: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Duration.
    pub duration_seconds: i32,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// JSON array of participants.
    pub participants: String,
    /// The user who had it.
    pub user_id: Option<Uuid>,
    /// Outcome.
    pub outcome: String,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

impl InteractionRow {
    /// The participants.
    pub fn participant_list(&self) -> Vec<String> {
        serde_json::from_str(&self.participants).unwrap_or_default()
    }
}

/// An interaction to record, validated (the user defaults to the caller).
#[derive(Debug, Clone)]
pub struct NewInteraction {
    /// Type.
    pub r#type: &'static str,
    /// Direction.
    pub direction: Option<&'static str>,
    /// When; now when absent.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Duration.
    pub duration_seconds: i32,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Participants.
    pub participants: Vec<String>,
    /// The user.
    pub user_id: Option<Uuid>,
    /// Outcome.
    pub outcome: String,
}

/// The facts of a customer at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The customer.
    pub customer: CustomerRow,
    /// Interactions.
    pub interaction_count: i64,
    /// Latest interaction.
    pub last_interaction: Option<DateTime<Utc>>,
    /// Open reminders.
    pub open_reminders: i64,
    /// Open and past due.
    pub overdue_reminders: i64,
    /// Completed purchases.
    pub purchase_count: i64,
    /// Latest completed purchase.
    pub last_purchase: Option<DateTime<Utc>>,
    /// Lifetime value per currency (minor units), sorted by currency.
    pub lifetime_value: Vec<(String, i64)>,
}

/// Most customers per batch read.
pub const MAX_BATCH: usize = 1000;

impl Customers {
    /// Records an interaction with a customer in the caller's scope.
    pub async fn create_interaction(
        &self,
        principal: &Principal,
        customer: Uuid,
        new: NewInteraction,
    ) -> Result<InteractionRow, Error> {
        let owner = self.get_for_write(principal, customer).await?;
        let now = crm_platform::db::now();
        let row = InteractionRow {
            id: Uuid::now_v7(),
            customer_id: customer,
            r#type: new.r#type.to_owned(),
            direction: new.direction.map(str::to_owned),
            occurred_at: new.occurred_at.unwrap_or(now),
            duration_seconds: new.duration_seconds,
            subject: new.subject,
            body: new.body,
            participants: serde_json::to_string(&new.participants).unwrap_or_else(|_| "[]".into()),
            user_id: new.user_id.or_else(|| principal.user_id()),
            outcome: new.outcome,
            created_at: now,
        };
        let sql = format!(
            "INSERT INTO interactions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        let mut tx = self.store.db().begin().await?;
        with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(row.customer_id)
            .bind(&row.r#type)
            .bind(&row.direction)
            .bind(row.occurred_at)
            .bind(row.duration_seconds)
            .bind(&row.subject)
            .bind(&row.body)
            .bind(&row.participants)
            .bind(row.user_id)
            .bind(&row.outcome)
            .bind(row.created_at)
            .execute(&mut *conn)
            .await
            .map(drop))
        .map_err(DbError::from)?;
        tx.emit(&events::interaction_created(principal, &owner, &row))
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// A page of a customer's timeline, newest first.
    pub async fn list_interactions(
        &self,
        principal: &Principal,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<InteractionRow>, String), Error> {
        self.get(principal, customer).await?;
        self.interactions_of(customer, params).await
    }

    /// A page of the timeline of a customer already checked to be in scope.
    pub(crate) async fn interactions_of(
        &self,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<InteractionRow>, String), Error> {
        let mut query = SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM interactions WHERE customer_id = "
        ));
        query.push_bind(SqlValue::Uuid(customer));
        Ok(params
            .fetch_page(
                self.store.db(),
                query,
                &SCHEMA,
                "occur_time desc",
                |r: &InteractionRow, _| SqlValue::Timestamp(r.occurred_at),
                |r| r.id,
            )
            .await?)
    }

    /// The summary of a customer in the caller's scope.
    pub async fn summary(&self, principal: &Principal, customer: Uuid) -> Result<Summary, Error> {
        let row = self.get(principal, customer).await?;
        self.summary_of(row).await
    }

    /// The summary of a customer already read within the caller's scope.
    pub(crate) async fn summary_of(&self, row: CustomerRow) -> Result<Summary, Error> {
        let customer = row.id;
        let now = crm_platform::db::now();
        // The counts in one statement (one round trip); the value per currency in another.
        const COUNTS: &str = "SELECT \
            (SELECT COUNT(*) FROM interactions WHERE customer_id = $1), \
            (SELECT MAX(occurred_at) FROM interactions WHERE customer_id = $1), \
            (SELECT COUNT(*) FROM reminders WHERE customer_id = $1 AND state = 'OPEN'), \
            (SELECT COALESCE(SUM(CASE WHEN due_at < $2 THEN 1 ELSE 0 END), 0) FROM reminders \
                WHERE customer_id = $1 AND state = 'OPEN'), \
            (SELECT COUNT(*) FROM transactions WHERE customer_id = $1 AND status = 'COMPLETED'), \
            (SELECT MAX(order_time) FROM transactions WHERE customer_id = $1 AND status = 'COMPLETED')";
        const VALUE: &str = "SELECT currency, CAST(SUM(amount_minor) AS BIGINT) FROM transactions \
            WHERE customer_id = $1 AND status = 'COMPLETED' GROUP BY currency ORDER BY currency";
        let db = self.store.db();
        type Counts = (
            i64,
            Option<DateTime<Utc>>,
            i64,
            i64,
            i64,
            Option<DateTime<Utc>>,
        );
        let counts: Counts = with_pool!(db, |pool| sqlx::query_as(COUNTS)
            .bind(customer)
            .bind(now)
            .fetch_one(pool)
            .await)
        .map_err(DbError::from)?;
        let (interaction_count, last_interaction, open_reminders) = (counts.0, counts.1, counts.2);
        let (overdue_reminders, purchase_count, last_purchase) = (counts.3, counts.4, counts.5);
        let lifetime_value: Vec<(String, i64)> = with_pool!(db, |pool| sqlx::query_as(VALUE)
            .bind(customer)
            .fetch_all(pool)
            .await)
        .map_err(DbError::from)?;
        Ok(Summary {
            customer: row,
            interaction_count,
            last_interaction,
            open_reminders,
            overdue_reminders,
            purchase_count,
            last_purchase,
            lifetime_value,
        })
    }

    /// Customers by id, in the order asked, all in the caller's scope; NOT_FOUND naming the
    /// first one missing.
    pub async fn batch_get(
        &self,
        principal: &Principal,
        ids: &[Uuid],
    ) -> Result<Vec<CustomerRow>, Error> {
        if ids.len() > MAX_BATCH {
            return Err(Error::field("names", format!("at most {MAX_BATCH} names")));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = crate::store::Store::list_query(&self.reach(principal, false).await?);
        query.push(" AND id IN (");
        query.push_binds(ids.iter().map(|id| SqlValue::Uuid(*id)));
        query.push(")");
        let found = self.store.fetch(query).await?;
        ids.iter()
            .map(|id| {
                found
                    .iter()
                    .find(|r| r.id == *id)
                    .cloned()
                    .ok_or_else(|| Error::NotFound(crate::domain::name_of(*id)))
            })
            .collect()
    }
}
