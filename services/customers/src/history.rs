//! The audit trail of customers: every write records who, when, and which fields changed from
//! what to what, in the transaction of the write. Sensitive fields are recorded masked (none are
//! stored in clear yet; the list is here so they never enter the trail unmasked).
use crate::{error::Error, service::Customers, store::CustomerRow};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::{DataScope, Principal},
    db::{DbError, Tx},
    filter::{FieldSpec, FieldType, Schema},
    paging::ListParams,
    sql::{SqlBuf, SqlValue},
    with_tx,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Fields recorded masked in the trail.
pub const MASKED: &[&str] = &["national_id", "bank_account"];

pub(crate) const COLUMNS: &str =
    "id, customer_id, action, actor, changes, created_at, request_id, trace_id";

/// The trail lists newest first.
static SCHEMA: Schema = Schema {
    id_column: "id",
    fields: &[FieldSpec {
        name: "time",
        column: "created_at",
        ty: FieldType::Timestamp,
        sortable: true,
    }],
};

/// One changed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The field.
    pub field: String,
    /// Before ("" when empty).
    pub before: String,
    /// After ("" when empty).
    pub after: String,
}

/// A trail entry.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct HistoryRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// "CREATED", "UPDATED", "CLASSIFIED" or "DELETED".
    pub action: String,
    /// Who.
    pub actor: String,
    /// JSON array of [`Change`].
    pub changes: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The `x-request-id` of the request that wrote it ("" for system work).
    pub request_id: String,
    /// The trace it was written in ("" without tracing).
    pub trace_id: String,
}

impl HistoryRow {
    /// The changed fields.
    pub fn change_list(&self) -> Vec<Change> {
        serde_json::from_str(&self.changes).unwrap_or_default()
    }
}

fn masked(field: &str, value: String) -> String {
    if MASKED.contains(&field) && !value.is_empty() {
        crm_platform::crypto::mask(&value)
    } else {
        value
    }
}

/// The changes between two versions (`None` before: a creation; `None` after: a deletion).
pub fn changes(before: Option<&CustomerRow>, after: Option<&CustomerRow>) -> Vec<Change> {
    let values = |row: Option<&CustomerRow>| row.map(CustomerRow::field_values);
    let (b, a) = (values(before), values(after));
    let names = a.as_ref().or(b.as_ref()).cloned().unwrap_or_default();
    let mut out: Vec<Change> = names
        .into_iter()
        .enumerate()
        .filter_map(|(i, (field, _))| {
            let old = b.as_ref().map(|v| v[i].1.clone()).unwrap_or_default();
            let new = a.as_ref().map(|v| v[i].1.clone()).unwrap_or_default();
            (old != new).then(|| Change {
                field: field.to_owned(),
                before: masked(field, old),
                after: masked(field, new),
            })
        })
        .collect();
    out.extend(custom_field_changes(before, after));
    out
}

/// One change per custom field whose value differs: "custom_fields.<key>".
fn custom_field_changes(before: Option<&CustomerRow>, after: Option<&CustomerRow>) -> Vec<Change> {
    type Values = serde_json::Map<String, serde_json::Value>;
    let parse = |row: Option<&CustomerRow>| -> Values {
        row.and_then(|r| serde_json::from_str(&r.custom_fields).ok())
            .unwrap_or_default()
    };
    let (b, a) = (parse(before), parse(after));
    let text = |v: Option<&serde_json::Value>| match v {
        None => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .map(|k| Change {
            field: format!("custom_fields.{k}"),
            before: text(b.get(k)),
            after: text(a.get(k)),
        })
        .collect()
}

/// Records a write in `tx`.
pub async fn record(
    tx: &mut Tx,
    actor: &str,
    customer: Uuid,
    action: &str,
    changes: &[Change],
) -> Result<(), DbError> {
    let sql =
        format!("INSERT INTO customer_history ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
    let json = serde_json::to_string(changes).unwrap_or_else(|_| "[]".to_owned());
    let now = crm_platform::db::now();
    with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::now_v7())
        .bind(customer)
        .bind(action)
        .bind(actor)
        .bind(&json)
        .bind(now)
        .bind(crm_platform::request::current_id())
        .bind(crm_platform::request::current_trace_id())
        .execute(&mut *conn)
        .await
        .map(drop))?;
    Ok(())
}

impl Customers {
    /// A page of a customer's trail, newest first. The customer must be in scope, or, once
    /// deleted, the caller must see every customer.
    pub async fn history(
        &self,
        principal: &Principal,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<HistoryRow>, String), Error> {
        match self.get(principal, customer).await {
            Ok(_) => {}
            Err(Error::NotFound(name)) => {
                let all = principal.scope("customers") == DataScope::All;
                let exists = self
                    .store
                    .get(customer, &crate::access::Reach::all())
                    .await?
                    .is_some();
                if !all || exists {
                    return Err(Error::NotFound(name));
                }
            }
            Err(e) => return Err(e),
        }
        self.history_of(customer, params).await
    }

    /// A page of the trail of a customer the caller may read, newest first.
    pub(crate) async fn history_of(
        &self,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<HistoryRow>, String), Error> {
        let mut query = SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM customer_history WHERE customer_id = "
        ));
        query.push_bind(SqlValue::Uuid(customer));
        Ok(params
            .fetch_page(
                self.store.db(),
                query,
                &SCHEMA,
                "time desc",
                |r: &HistoryRow, _| SqlValue::Timestamp(r.created_at),
                |r| r.id,
            )
            .await?)
    }
}
