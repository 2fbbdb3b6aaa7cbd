//! Data subjects' requests (GDPR, PIPL; issue 6). A request names subjects (a customer, an
//! email, a phone); they resolve to the customers in the caller's scope (merged ones too: they
//! hold the subject's data until their undo period ends). The request is announced to every
//! service in the transaction that records it; the customers service answers for itself at
//! once; the request completes when every expected service has answered.
//!
//! Access gathers every record about the customers into an archive (JSON and CSV, sensitive
//! values in clear: it is the subject's own data). Erasure anonymizes the profile, deletes
//! contact points, contacts, shares and duplicate keys, redacts interactions, reminders,
//! consent evidence and the audit trail's values, destroys the sensitive values, and keeps
//! what law requires (transactions with their amounts, the consent decisions), anonymized.
use crate::{
    domain::{Email, Phone},
    error::Error,
    events,
    service::{Customers, FAMILY},
};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    db::{self, Db, DbError},
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Subjects per request at most.
pub const MAX_SUBJECTS: usize = 1000;

/// Ids per IN list.
const CHUNK: usize = 500;

/// Who a request is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Subject {
    /// A customer.
    Customer(Uuid),
    /// Everyone with this email (normalized).
    Email(String),
    /// Everyone with this phone (E.164).
    Phone(String),
}

impl Subject {
    /// A subject from its parts; a bad email or phone names `field`.
    pub fn email(raw: &str, field: &str) -> Result<Subject, Error> {
        Email::parse(raw)
            .map(|e| Subject::Email(e.as_str().to_owned()))
            .map_err(|e| Error::field(field, e))
    }

    /// See [`Subject::email`].
    pub fn phone(raw: &str, field: &str) -> Result<Subject, Error> {
        Phone::parse(raw)
            .map(|p| Subject::Phone(p.as_str().to_owned()))
            .map_err(|e| Error::field(field, e))
    }
}

/// A stored request.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacyRow {
    /// UUIDv7.
    pub id: Uuid,
    /// "ACCESS" or "ERASURE".
    pub kind: String,
    /// The subjects as asked.
    pub subjects: Vec<Subject>,
    /// Why.
    pub reason: String,
    /// The customers they resolved to.
    pub customers: Vec<Uuid>,
    /// "RUNNING" or "COMPLETED".
    pub state: String,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When every service had answered.
    pub completed_at: Option<DateTime<Utc>>,
    /// Each service's answer.
    pub answers: Vec<Answer>,
}

/// One service's answer.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Answer {
    /// The service.
    pub service: String,
    /// "PENDING" or "DONE".
    pub state: String,
    /// What it did or holds, JSON array of text.
    pub actions: String,
    /// Access: what it holds, a JSON object.
    pub data: String,
    /// When.
    pub answered_at: Option<DateTime<Utc>>,
}

type Stored = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// "privacyRequests/{id}".
pub fn privacy_name(id: Uuid) -> String {
    format!("privacyRequests/{id}")
}

pub(crate) fn push_ids(buf: &mut SqlBuf, ids: &[Uuid]) {
    buf.push_binds(ids.iter().map(|id| SqlValue::Uuid(*id)));
}

/// Rows of `table` about these customers, as JSON objects.
async fn rows_of<T>(
    db: &Db,
    table: &str,
    columns: &str,
    ids: &[Uuid],
) -> Result<Vec<serde_json::Value>, DbError>
where
    T: Serialize
        + Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
{
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut buf = SqlBuf::new(format!(
            "SELECT {columns} FROM {table} WHERE customer_id IN ("
        ));
        push_ids(&mut buf, chunk);
        buf.push(")");
        let SqlBuf { sql, binds } = buf;
        let rows: Vec<T> = with_pool!(db, |pool| db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)?;
        out.extend(
            rows.iter()
                .map(|r| serde_json::to_value(r).unwrap_or_default()),
        );
    }
    Ok(out)
}

impl Customers {
    /// The customers the subjects name, in the caller's scope (merged ones included).
    pub async fn resolve_subjects(
        &self,
        principal: &Principal,
        subjects: &[Subject],
    ) -> Result<Vec<Uuid>, Error> {
        let (mut ids, mut emails, mut phones) = (Vec::new(), Vec::new(), Vec::new());
        for s in subjects {
            match s {
                Subject::Customer(id) => ids.push(SqlValue::Uuid(*id)),
                // Mailboxes are compared without case: people write their address as they like.
                Subject::Email(v) => emails.push(SqlValue::Text(v.to_lowercase())),
                Subject::Phone(v) => phones.push(SqlValue::Text(v.clone())),
            }
        }
        // Scope without the merged filter of `Reach`: merged customers hold the subject's data.
        let mut buf = SqlBuf::new("SELECT id FROM customers WHERE ");
        principal
            .scope(FAMILY)
            .push_condition(&mut buf, "owner_id", "owner_unit_path");
        buf.push(" AND (1 = 0");
        if !ids.is_empty() {
            buf.push(" OR id IN (");
            buf.push_binds(ids);
            buf.push(")");
        }
        for (column, values) in [("lower(email)", &emails), ("phone", &phones)] {
            if values.is_empty() {
                continue;
            }
            let point = if column == "phone" {
                "value"
            } else {
                "lower(value)"
            };
            buf.push(&format!(" OR {column} IN ("));
            buf.push_binds(values.iter().cloned());
            buf.push(&format!(
                ") OR id IN (SELECT customer_id FROM contact_points WHERE {point} IN ("
            ));
            buf.push_binds(values.iter().cloned());
            buf.push("))");
        }
        buf.push(") ORDER BY id");
        let SqlBuf { sql, binds } = buf;
        let rows: Vec<(Uuid,)> = with_pool!(self.store.db(), |pool| db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)
        .map_err(DbError::from)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Records a request, announces it, and answers it for this service.
    pub async fn create_privacy_request(
        &self,
        principal: &Principal,
        kind: &str,
        subjects: Vec<Subject>,
        reason: &str,
    ) -> Result<PrivacyRow, Error> {
        if subjects.is_empty() || subjects.len() > MAX_SUBJECTS {
            return Err(Error::field(
                "privacy_request.subjects",
                format!("must name 1 to {MAX_SUBJECTS} subjects"),
            ));
        }
        let customers = self.resolve_subjects(principal, &subjects).await?;
        let mut request = PrivacyRow {
            id: Uuid::now_v7(),
            kind: kind.to_owned(),
            subjects,
            reason: reason.to_owned(),
            customers,
            state: "RUNNING".into(),
            requested_by: principal.actor(),
            created_at: db::now(),
            completed_at: None,
            answers: self
                .privacy_services
                .iter()
                .map(|s| Answer {
                    service: s.clone(),
                    state: "PENDING".into(),
                    actions: "[]".into(),
                    data: String::new(),
                    answered_at: None,
                })
                .collect(),
        };
        let (emails, phones) = self.contacts_of(&request.customers).await?;
        let mut tx = self.store.db().begin().await?;
        with_tx!(tx, |conn| {
            sqlx::query(
            "INSERT INTO privacy_requests (id, kind, subjects, reason, customers, state, requested_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(request.id)
        .bind(&request.kind)
        .bind(to_json(&request.subjects))
        .bind(&request.reason)
        .bind(to_json(&request.customers))
        .bind(&request.state)
        .bind(&request.requested_by)
        .bind(request.created_at)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        })?;
        for a in &request.answers {
            with_tx!(tx, |conn| {
                sqlx::query(
                "INSERT INTO privacy_answers (request_id, service, state) VALUES ($1, $2, 'PENDING')"
            )
            .bind(request.id)
            .bind(&a.service)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
            })?;
        }
        let ty = if kind == "ERASURE" {
            events::ERASURE_REQUESTED
        } else {
            events::ACCESS_REQUESTED
        };
        tx.emit(&events::privacy_requested(
            principal, ty, &request, emails, phones,
        ))
        .await?;
        tx.commit().await?;
        tracing::info!(request = %request.id, kind, customers = request.customers.len(), "privacy request recorded");
        let (actions, data) = if kind == "ERASURE" {
            (
                self.erase(principal, &request.customers).await?,
                String::new(),
            )
        } else {
            self.gather(principal, &request.customers).await?
        };
        self.record_answer(request.id, crate::NAME, &actions, &data)
            .await?;
        request = self.privacy_row(request.id).await?;
        Ok(request)
    }

    /// The emails and phones of these customers (for the services keyed by them).
    async fn contacts_of(&self, ids: &[Uuid]) -> Result<(Vec<String>, Vec<String>), Error> {
        let (mut emails, mut phones) = (Vec::new(), Vec::new());
        for chunk in ids.chunks(CHUNK) {
            let mut buf = SqlBuf::new("SELECT email, phone FROM customers WHERE id IN (");
            push_ids(&mut buf, chunk);
            buf.push(")");
            let SqlBuf { sql, binds } = buf;
            let rows: Vec<(Option<String>, Option<String>)> = with_pool!(self.store.db(), |pool| {
                db::bind_values(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())), &binds)
                    .fetch_all(pool)
                    .await
            })
            .map_err(DbError::from)?;
            for (e, p) in rows {
                emails.extend(e);
                phones.extend(p);
            }
        }
        emails.sort();
        emails.dedup();
        phones.sort();
        phones.dedup();
        Ok((emails, phones))
    }

    /// Everything this service holds about the customers: (summary, JSON object of arrays).
    async fn gather(
        &self,
        principal: &Principal,
        ids: &[Uuid],
    ) -> Result<(Vec<String>, String), Error> {
        use crate::{
            consents, contact_points, contacts, history, interactions, reminders, transactions,
        };
        let db = self.store.db();
        let mut profiles = Vec::new();
        let secrets = self.vault.read(db, ids).await?;
        for chunk in ids.chunks(CHUNK) {
            let mut buf = SqlBuf::new(format!(
                "SELECT {} FROM customers WHERE id IN (",
                crate::store::COLUMNS
            ));
            push_ids(&mut buf, chunk);
            buf.push(")");
            for row in self.store.fetch(buf).await? {
                let mut obj = serde_json::Map::new();
                obj.insert("name".into(), crate::domain::name_of(row.id).into());
                for (k, v) in row.field_values() {
                    obj.insert(k.into(), v.into());
                }
                obj.insert("custom_fields".into(), row.custom_fields.clone().into());
                obj.insert(
                    "lifetime_value_minor".into(),
                    row.lifetime_value_minor.into(),
                );
                obj.insert("create_time".into(), row.created_at.to_rfc3339().into());
                if let Some(values) = secrets.get(&row.id) {
                    for (k, v) in &values.0 {
                        obj.insert((*k).into(), v.clone().into());
                    }
                }
                profiles.push(serde_json::Value::Object(obj));
            }
        }
        // Reading the sensitive values in clear is itself on the record.
        if !secrets.is_empty() {
            let mut tx = db.begin().await?;
            for id in secrets.keys() {
                let read = [crate::history::Change {
                    field: "privacy_access".into(),
                    before: String::new(),
                    after: String::new(),
                }];
                crate::history::record(&mut tx, &principal.actor(), *id, "SENSITIVE_READ", &read)
                    .await?;
            }
            tx.commit().await?;
        }
        let mut data = serde_json::Map::new();
        let mut summary = vec![format!("{} customers", profiles.len())];
        data.insert("customers".into(), profiles.into());
        let tables: Vec<(&str, Vec<serde_json::Value>)> = vec![
            (
                "contact_points",
                rows_of::<contact_points::ContactPointRow>(
                    db,
                    "contact_points",
                    contact_points::COLUMNS,
                    ids,
                )
                .await?,
            ),
            (
                "contacts",
                rows_of::<contacts::ContactRow>(db, "contacts", contacts::COLUMNS, ids).await?,
            ),
            (
                "interactions",
                rows_of::<interactions::InteractionRow>(
                    db,
                    "interactions",
                    interactions::COLUMNS,
                    ids,
                )
                .await?,
            ),
            (
                "transactions",
                rows_of::<transactions::TransactionRow>(
                    db,
                    "transactions",
                    transactions::TX_COLUMNS,
                    ids,
                )
                .await?,
            ),
            (
                "reminders",
                rows_of::<reminders::ReminderRow>(db, "reminders", reminders::COLUMNS, ids).await?,
            ),
            (
                "consents",
                rows_of::<consents::ConsentRow>(db, "consents", consents::COLUMNS, ids).await?,
            ),
            (
                "history",
                rows_of::<history::HistoryRow>(db, "customer_history", history::COLUMNS, ids)
                    .await?,
            ),
        ];
        for (name, rows) in tables {
            summary.push(format!("{} {name}", rows.len()));
            data.insert(name.into(), rows.into());
        }
        Ok((summary, serde_json::Value::Object(data).to_string()))
    }

    /// Records a service's answer; the request completes with the last one.
    pub async fn record_answer(
        &self,
        id: Uuid,
        service: &str,
        actions: &[String],
        data: &str,
    ) -> Result<(), Error> {
        let mut tx = self.store.db().begin().await?;
        let now = db::now();
        let updated = with_tx!(tx, |conn| {
            sqlx::query(
            "UPDATE privacy_answers SET state = 'DONE', actions = $1, data = $2, answered_at = $3 \
             WHERE request_id = $4 AND service = $5"
        )
        .bind(serde_json::to_string(actions).unwrap_or_else(|_| "[]".into()))
        .bind(data)
        .bind(now)
        .bind(id)
        .bind(service)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        })?;
        if updated == 0 {
            return Err(Error::field(
                "service",
                format!("{service:?} is not expected to answer {}", privacy_name(id)),
            ));
        }
        with_tx!(tx, |conn| {
            sqlx::query(
            "UPDATE privacy_requests SET state = 'COMPLETED', completed_at = $1 WHERE id = $2 AND NOT EXISTS \
             (SELECT 1 FROM privacy_answers WHERE request_id = $2 AND state = 'PENDING')"
        )
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(())
    }

    async fn privacy_row(&self, id: Uuid) -> Result<PrivacyRow, Error> {
        let db = self.store.db();
        let stored: Option<Stored> = with_pool!(db, |pool| sqlx::query_as(
            "SELECT id, kind, subjects, reason, customers, state, requested_by, created_at, completed_at \
             FROM privacy_requests WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)
        .map_err(DbError::from)?;
        let s = stored.ok_or_else(|| Error::NotFound(privacy_name(id)))?;
        let answers: Vec<Answer> = with_pool!(db, |pool| sqlx::query_as(
            "SELECT service, state, actions, data, answered_at FROM privacy_answers WHERE request_id = $1 ORDER BY service"
        )
        .bind(id)
        .fetch_all(pool)
        .await)
        .map_err(DbError::from)?;
        let corrupt = |e: serde_json::Error| Error::Corrupt(format!("privacy request {id}: {e}"));
        Ok(PrivacyRow {
            id: s.0,
            kind: s.1,
            subjects: serde_json::from_str(&s.2).map_err(corrupt)?,
            reason: s.3,
            customers: serde_json::from_str(&s.4).map_err(corrupt)?,
            state: s.5,
            requested_by: s.6,
            created_at: s.7,
            completed_at: s.8,
            answers,
        })
    }

    /// A request, for callers whose scope covers every customer it resolved to.
    pub async fn get_privacy_request(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> Result<PrivacyRow, Error> {
        let request = self.privacy_row(id).await?;
        let named: Vec<Subject> = request
            .customers
            .iter()
            .map(|c| Subject::Customer(*c))
            .collect();
        let within = request.customers.is_empty()
            || self.resolve_subjects(principal, &named).await?.len() == request.customers.len();
        if request.requested_by == principal.actor()
            || within && principal.scope(FAMILY) == crm_platform::auth::DataScope::All
        {
            Ok(request)
        } else {
            Err(Error::NotFound(privacy_name(id)))
        }
    }

    /// Requests visible to the caller, newest first, before `before`.
    pub async fn list_privacy_requests(
        &self,
        principal: &Principal,
        limit: i64,
        before: Option<Uuid>,
    ) -> Result<Vec<PrivacyRow>, Error> {
        let mut buf = SqlBuf::new("SELECT id FROM privacy_requests WHERE 1 = 1");
        if principal.scope(FAMILY) != crm_platform::auth::DataScope::All {
            buf.push(" AND requested_by = ");
            buf.push_bind(SqlValue::Text(principal.actor()));
        }
        if let Some(b) = before {
            buf.push(" AND id < ");
            buf.push_bind(SqlValue::Uuid(b));
        }
        buf.push(" ORDER BY id DESC LIMIT ");
        buf.push_bind(SqlValue::Int(limit));
        let SqlBuf { sql, binds } = buf;
        let ids: Vec<(Uuid,)> = with_pool!(self.store.db(), |pool| db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)
        .map_err(DbError::from)?;
        let mut out = Vec::new();
        for (id,) in ids {
            out.push(self.privacy_row(id).await?);
        }
        Ok(out)
    }
}

/// JSON text of a stored list.
fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}
