//! The consent ledger: per customer and purpose, every decision (granted, withdrawn) with its
//! time, source, evidence and who recorded it. Entries are only ever added; the latest decision
//! of a purpose is the current one.
use crate::{error::Error, events, service::Customers};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    db::DbError,
    filter::{FieldSpec, FieldType, Schema},
    paging::ListParams,
    sql::{SqlBuf, SqlValue},
    with_tx,
};
use uuid::Uuid;

pub(crate) const COLUMNS: &str =
    "id, customer_id, purpose, status, decided_at, source, evidence, recorded_by, created_at";

/// Purposes, in proto order.
pub const PURPOSES: &[&str] = &["MARKETING_EMAIL", "SMS", "PHONE", "DATA_PROCESSING"];
/// Decisions, in proto order.
pub const STATUSES: &[&str] = &["GRANTED", "WITHDRAWN"];

/// The ledger lists newest decision first.
static SCHEMA: Schema = Schema {
    id_column: "id",
    fields: &[FieldSpec {
        name: "decide_time",
        column: "decided_at",
        ty: FieldType::Timestamp,
        sortable: true,
    }],
};

/// A ledger entry.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct ConsentRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// The purpose.
    pub purpose: String,
    /// "GRANTED" or "WITHDRAWN".
    pub status: String,
    /// When the customer decided.
    pub decided_at: DateTime<Utc>,
    /// Where.
    pub source: String,
    /// Evidence.
    pub evidence: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// When recorded.
    pub created_at: DateTime<Utc>,
}

/// A decision to record, validated.
#[derive(Debug, Clone)]
pub struct NewConsent {
    /// Purpose.
    pub purpose: &'static str,
    /// Decision.
    pub status: &'static str,
    /// When; now when absent.
    pub decided_at: Option<DateTime<Utc>>,
    /// Where.
    pub source: String,
    /// Evidence.
    pub evidence: String,
}

impl Customers {
    /// Adds a decision to the ledger of a customer in the caller's scope.
    pub async fn record_consent(
        &self,
        principal: &Principal,
        customer: Uuid,
        new: NewConsent,
    ) -> Result<ConsentRow, Error> {
        let owner = self.get_for_write(principal, customer).await?;
        let now = crm_platform::db::now();
        let decided_at = new.decided_at.unwrap_or(now);
        if decided_at > now + chrono::Duration::minutes(5) {
            return Err(Error::field(
                "consent.decide_time",
                "must not be in the future",
            ));
        }
        let row = ConsentRow {
            id: Uuid::now_v7(),
            customer_id: customer,
            purpose: new.purpose.to_owned(),
            status: new.status.to_owned(),
            decided_at,
            source: new.source,
            evidence: new.evidence,
            recorded_by: principal.actor(),
            created_at: now,
        };
        let sql =
            format!("INSERT INTO consents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
        let mut tx = self.store.db().begin().await?;
        with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(row.customer_id)
            .bind(&row.purpose)
            .bind(&row.status)
            .bind(row.decided_at)
            .bind(&row.source)
            .bind(&row.evidence)
            .bind(&row.recorded_by)
            .bind(row.created_at)
            .execute(&mut *conn)
            .await
            .map(drop))
        .map_err(DbError::from)?;
        tx.emit(&events::consent_recorded(principal, &owner, &row))
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// A page of the ledger (newest decision first) and the current decision per purpose.
    pub async fn list_consents(
        &self,
        principal: &Principal,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<ConsentRow>, String, Vec<ConsentRow>), Error> {
        self.get(principal, customer).await?;
        let mut query = SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM consents WHERE customer_id = "
        ));
        query.push_bind(SqlValue::Uuid(customer));
        let (rows, next) = params
            .fetch_page(
                self.store.db(),
                query,
                &SCHEMA,
                "decide_time desc",
                |r: &ConsentRow, _| SqlValue::Timestamp(r.decided_at),
                |r| r.id,
            )
            .await?;
        Ok((rows, next, self.current_consents_of(customer).await?))
    }

    /// The decision in force per purpose, of a customer already checked to be in scope.
    pub(crate) async fn current_consents_of(
        &self,
        customer: Uuid,
    ) -> Result<Vec<ConsentRow>, Error> {
        // The latest decision per purpose, over the whole ledger (not just this page); ties on
        // the decision time go to the entry recorded last.
        let mut all = SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM consents WHERE customer_id = "
        ));
        all.push_bind(SqlValue::Uuid(customer));
        all.push(" ORDER BY decided_at DESC, id DESC");
        let ledger: Vec<ConsentRow> = crm_platform::db::fetch_all(self.store.db(), all).await?;
        Ok(PURPOSES
            .iter()
            .filter_map(|p| ledger.iter().find(|r| r.purpose == *p).cloned())
            .collect())
    }
}
