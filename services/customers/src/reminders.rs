//! Follow-up reminders. Each open reminder has a durable timer at its due time; when it fires
//! and the reminder is still open, `reminder.due` is published (notifications, the web UI).
//! Reminders belong to their customer: creating and listing them follows the customer's data
//! scope; a user's own day (`list_my_reminders`) shows what is assigned to them.
use crate::{error::Error, events, service::Customers, store::CustomerRow};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    db::{DbError, Tx},
    events::timers::Fired,
    filter::{FieldSpec, FieldType, Schema},
    paging::ListParams,
    sql::{SqlBuf, SqlValue},
    with_tx,
};
use uuid::Uuid;

/// The timer kind of a reminder's due time; the key is the reminder id.
pub const DUE_TIMER: &str = "customers.reminder_due";

pub(crate) const COLUMNS: &str =
    "id, customer_id, assignee_id, due_at, note, state, version, created_at, updated_at";

/// Reminders list soonest due first.
static SCHEMA: Schema = Schema {
    id_column: "id",
    fields: &[FieldSpec {
        name: "due_time",
        column: "due_at",
        ty: FieldType::Timestamp,
        sortable: true,
    }],
};

/// A stored reminder.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct ReminderRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// Who should act.
    pub assignee_id: Uuid,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// What to do.
    pub note: String,
    /// "OPEN", "DONE" or "CANCELLED".
    pub state: String,
    /// The etag.
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl ReminderRow {
    /// Open and past its due time.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.state == "OPEN" && self.due_at < now
    }
}

/// A reminder to create, validated.
#[derive(Debug, Clone)]
pub struct NewReminder {
    /// Due time.
    pub due_at: DateTime<Utc>,
    /// Assignee; the caller when absent.
    pub assignee_id: Option<Uuid>,
    /// Note.
    pub note: String,
}

/// Changes to a reminder; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ReminderChanges {
    /// New due time.
    pub due_at: Option<DateTime<Utc>>,
    /// New assignee.
    pub assignee_id: Option<Uuid>,
    /// New note.
    pub note: Option<String>,
    /// New state.
    pub state: Option<&'static str>,
}

async fn fetch(
    tx: &mut Tx,
    id: Uuid,
    customer: Option<Uuid>,
) -> Result<Option<ReminderRow>, DbError> {
    let mut buf = SqlBuf::new(format!("SELECT {COLUMNS} FROM reminders WHERE id = "));
    buf.push_bind(SqlValue::Uuid(id));
    if let Some(customer) = customer {
        buf.push(" AND customer_id = ");
        buf.push_bind(SqlValue::Uuid(customer));
    }
    let SqlBuf { sql, binds } = buf;
    Ok(with_tx!(tx, |conn| crm_platform::db::bind_values(
        sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
        &binds
    )
    .fetch_optional(&mut *conn)
    .await)?)
}

/// Keeps the reminder's timer in step: scheduled at its due time while open, gone otherwise.
async fn sync_timer(tx: &mut Tx, row: &ReminderRow) -> Result<(), DbError> {
    let key = row.id.to_string();
    if row.state == "OPEN" {
        tx.schedule_timer(DUE_TIMER, &key, row.due_at, &[]).await
    } else {
        tx.cancel_timer(DUE_TIMER, &key).await.map(drop)
    }
}

fn not_found(customer: Uuid, id: Uuid) -> Error {
    Error::NotFound(format!(
        "{}/reminders/{id}",
        crate::domain::name_of(customer)
    ))
}

impl Customers {
    /// Creates a reminder on a customer in the caller's scope.
    pub async fn create_reminder(
        &self,
        principal: &Principal,
        customer: Uuid,
        new: NewReminder,
    ) -> Result<ReminderRow, Error> {
        self.get_for_write(principal, customer).await?;
        let assignee_id = new
            .assignee_id
            .or_else(|| principal.user_id())
            .ok_or_else(|| {
                Error::field(
                    "reminder.assignee_id",
                    "is required (the caller is not a user)",
                )
            })?;
        let now = crm_platform::db::now();
        let row = ReminderRow {
            id: Uuid::now_v7(),
            customer_id: customer,
            assignee_id,
            due_at: new.due_at,
            note: new.note,
            state: "OPEN".to_owned(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let sql = format!(
            "INSERT INTO reminders ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        let mut tx = self.store.db().begin().await?;
        with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(row.customer_id)
            .bind(row.assignee_id)
            .bind(row.due_at)
            .bind(&row.note)
            .bind(&row.state)
            .bind(row.version)
            .bind(row.created_at)
            .bind(row.updated_at)
            .execute(&mut *conn)
            .await
            .map(drop))
        .map_err(DbError::from)?;
        sync_timer(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Changes a reminder of a customer in the caller's scope (etag checked when given).
    pub async fn update_reminder(
        &self,
        principal: &Principal,
        customer: Uuid,
        id: Uuid,
        etag: Option<i64>,
        changes: ReminderChanges,
    ) -> Result<ReminderRow, Error> {
        self.get_for_write(principal, customer).await?;
        let mut tx = self.store.db().begin().await?;
        let current = fetch(&mut tx, id, Some(customer))
            .await?
            .ok_or_else(|| not_found(customer, id))?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!(
                "{}/reminders/{id}",
                crate::domain::name_of(customer)
            )));
        }
        let mut next = current.clone();
        if let Some(due) = changes.due_at {
            next.due_at = due;
        }
        if let Some(assignee) = changes.assignee_id {
            next.assignee_id = assignee;
        }
        if let Some(note) = changes.note {
            next.note = note;
        }
        if let Some(state) = changes.state {
            next.state = state.to_owned();
        }
        next.version += 1;
        next.updated_at = crm_platform::db::now();
        const SQL: &str = "UPDATE reminders SET due_at = $1, assignee_id = $2, note = $3, state = $4, version = $5, updated_at = $6 WHERE id = $7 AND version = $8";
        let n = with_tx!(tx, |conn| sqlx::query(SQL)
            .bind(next.due_at)
            .bind(next.assignee_id)
            .bind(&next.note)
            .bind(&next.state)
            .bind(next.version)
            .bind(next.updated_at)
            .bind(id)
            .bind(current.version)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))
        .map_err(DbError::from)?;
        if n == 0 {
            return Err(Error::EtagMismatch(format!(
                "{}/reminders/{id}",
                crate::domain::name_of(customer)
            )));
        }
        sync_timer(&mut tx, &next).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// A page of a customer's reminders, soonest due first.
    pub async fn list_reminders(
        &self,
        principal: &Principal,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<ReminderRow>, String), Error> {
        self.get(principal, customer).await?;
        self.reminders_of(customer, params).await
    }

    /// A page of the reminders of a customer already checked to be in scope.
    pub(crate) async fn reminders_of(
        &self,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<ReminderRow>, String), Error> {
        let mut query = SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM reminders WHERE customer_id = "
        ));
        query.push_bind(SqlValue::Uuid(customer));
        self.page(query, params).await
    }

    /// The caller's open reminders due before `due_before`, soonest first.
    pub async fn list_my_reminders(
        &self,
        principal: &Principal,
        due_before: DateTime<Utc>,
        params: &ListParams,
    ) -> Result<(Vec<ReminderRow>, String), Error> {
        let Some(me) = principal.user_id() else {
            return Ok((Vec::new(), String::new()));
        };
        let mut query = SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM reminders WHERE state = 'OPEN' AND assignee_id = "
        ));
        query.push_bind(SqlValue::Uuid(me));
        query.push(" AND due_at < ");
        query.push_bind(SqlValue::Timestamp(due_before));
        self.page(query, params).await
    }

    async fn page(
        &self,
        query: SqlBuf,
        params: &ListParams,
    ) -> Result<(Vec<ReminderRow>, String), Error> {
        Ok(params
            .fetch_page(
                self.store.db(),
                query,
                &SCHEMA,
                "due_time",
                |r: &ReminderRow, _| SqlValue::Timestamp(r.due_at),
                |r| r.id,
            )
            .await?)
    }
}

/// A reminder's timer fired: publishes `reminder.due` if it is still open (a reminder done or
/// moved since has no effect), in the timer's transaction.
pub(crate) async fn fire_due(tx: &mut Tx, key: &str) -> anyhow::Result<Fired> {
    let id = Uuid::parse_str(key)?;
    let Some(reminder) = fetch(tx, id, None).await? else {
        return Ok(Fired::Done);
    };
    if reminder.state != "OPEN" {
        return Ok(Fired::Done);
    }
    let sql = format!(
        "SELECT {} FROM customers WHERE id = $1",
        crate::store::COLUMNS
    );
    let customer: Option<CustomerRow> =
        with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(reminder.customer_id)
            .fetch_optional(&mut *conn)
            .await)?;
    if let Some(customer) = customer {
        tx.emit(&events::reminder_due(&customer, &reminder)).await?;
    }
    Ok(Fired::Done)
}
