//! Purchase history and the classification it drives: recording a transaction reclassifies the
//! customer (lifecycle stage unless pinned, RFM value tier) in the same database transaction,
//! with the events of what changed.
use crate::{
    classification::{self, Purchase},
    error::Error,
    events,
    service::Customers,
    store::{COLUMNS, CustomerRow},
};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    db::{DbError, Tx},
    filter::{FieldSpec, FieldType, Schema},
    paging::ListParams,
    sql::{SqlBuf, SqlValue},
    with_tx,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(crate) const TX_COLUMNS: &str = "id, customer_id, order_reference, order_time, amount_minor, currency, items, channel, status, created_at";

/// Transactions list newest order first.
static SCHEMA: Schema = Schema {
    id_column: "id",
    fields: &[FieldSpec {
        name: "order_time",
        column: "order_time",
        ty: FieldType::Timestamp,
        sortable: true,
    }],
};

/// A stored transaction.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct TransactionRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// The order's reference in the selling system.
    pub order_reference: String,
    /// When the order was placed.
    pub order_time: DateTime<Utc>,
    /// Total, minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// JSON array of [`Item`].
    pub items: String,
    /// Source channel.
    pub channel: Option<String>,
    /// "COMPLETED" or "REFUNDED".
    pub status: String,
    /// When recorded.
    pub created_at: DateTime<Utc>,
}

/// An order line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Product name or code.
    pub product: String,
    /// Quantity.
    pub quantity: i64,
    /// Unit price, minor units of the transaction's currency.
    pub unit_price_minor: Option<i64>,
}

impl TransactionRow {
    /// The order lines.
    pub fn item_list(&self) -> Vec<Item> {
        serde_json::from_str(&self.items).unwrap_or_default()
    }

    /// Everything but the status and bookkeeping: what must match for a retry.
    fn same_order(&self, other: &TransactionRow) -> bool {
        self.order_time == other.order_time
            && self.amount_minor == other.amount_minor
            && self.currency == other.currency
            && self.items == other.items
            && self.channel == other.channel
    }
}

/// A transaction to record, already validated.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    /// Order reference.
    pub order_reference: String,
    /// Order time (microsecond precision).
    pub order_time: DateTime<Utc>,
    /// Total, minor units, not negative.
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// Lines.
    pub items: Vec<Item>,
    /// Channel.
    pub channel: Option<&'static str>,
    /// "COMPLETED" or "REFUNDED".
    pub status: &'static str,
}

/// What recording did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Stored now (new, or a refund of a known order); the customer as it is now.
    Stored(TransactionRow, Box<CustomerRow>),
    /// A retry of an order already recorded the same way: nothing changed.
    Unchanged(TransactionRow),
}

async fn by_reference(
    tx: &mut Tx,
    customer: Uuid,
    reference: &str,
) -> Result<Option<TransactionRow>, DbError> {
    let sql = format!(
        "SELECT {TX_COLUMNS} FROM transactions WHERE customer_id = $1 AND order_reference = $2"
    );
    Ok(with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(
        sql
    ))
    .bind(customer)
    .bind(reference)
    .fetch_optional(&mut *conn)
    .await)?)
}

async fn insert(tx: &mut Tx, row: &TransactionRow) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO transactions ({TX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    );
    with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(row.id)
        .bind(row.customer_id)
        .bind(&row.order_reference)
        .bind(row.order_time)
        .bind(row.amount_minor)
        .bind(&row.currency)
        .bind(&row.items)
        .bind(&row.channel)
        .bind(&row.status)
        .bind(row.created_at)
        .execute(&mut *conn)
        .await
        .map(drop))?;
    Ok(())
}

async fn set_status(tx: &mut Tx, id: Uuid, status: &str) -> Result<(), DbError> {
    const SQL: &str = "UPDATE transactions SET status = $1 WHERE id = $2";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(status)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(drop))?;
    Ok(())
}

async fn purchases(tx: &mut Tx, customer: Uuid) -> Result<Vec<Purchase>, DbError> {
    const SQL: &str =
        "SELECT order_time, amount_minor, status FROM transactions WHERE customer_id = $1";
    let rows: Vec<(DateTime<Utc>, i64, String)> = with_tx!(tx, |conn| sqlx::query_as(SQL)
        .bind(customer)
        .fetch_all(&mut *conn)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(at, amount_minor, status)| Purchase {
            at,
            amount_minor,
            refunded: status == "REFUNDED",
        })
        .collect())
}

/// Stores a new classification; the customer's version moves, since its resource changed.
async fn set_classification(
    tx: &mut Tx,
    customer: Uuid,
    stage: &str,
    tier: &str,
    lifetime_value_minor: i64,
) -> Result<CustomerRow, DbError> {
    let sql = format!(
        "UPDATE customers SET lifecycle_stage = $1, value_tier = $2, lifetime_value_minor = $5, \
         version = version + 1, updated_at = $3 WHERE id = $4 RETURNING {COLUMNS}"
    );
    let now = crm_platform::db::now();
    Ok(with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(
        sql
    ))
    .bind(stage)
    .bind(tier)
    .bind(now)
    .bind(customer)
    .bind(lifetime_value_minor)
    .fetch_one(&mut *conn)
    .await)?)
}

/// Classifies a customer from its purchases as of `now` and, when its stage (unless pinned) or
/// tier changed, stores them and emits `customer.stage_changed` / `customer.tier_changed`, all
/// in `tx`. Returns the customer as it is now.
pub(crate) async fn reclassify(
    tx: &mut Tx,
    principal: &Principal,
    current: CustomerRow,
    now: DateTime<Utc>,
    config: &classification::ClassificationConfig,
) -> Result<CustomerRow, Error> {
    let history = purchases(tx, current.id).await?;
    let pinned = current
        .stage_pinned
        .then(|| classification::Stage::parse(&current.lifecycle_stage))
        .flatten();
    let class = classification::classify(pinned, &history, now, config);
    let (stage, tier) = (class.stage.as_str(), class.tier.as_str());
    let lifetime_value: i64 = history
        .iter()
        .filter(|p| !p.refunded)
        .fold(0i64, |sum, p| sum.saturating_add(p.amount_minor));
    let reclassified = stage != current.lifecycle_stage || tier != current.value_tier;
    if !reclassified && lifetime_value == current.lifetime_value_minor {
        return Ok(current);
    }
    let updated = set_classification(tx, current.id, stage, tier, lifetime_value).await?;
    if !reclassified {
        return Ok(updated);
    }
    let trail = crate::history::changes(Some(&current), Some(&updated));
    crate::history::record(tx, "system", current.id, "CLASSIFIED", &trail).await?;
    for (changed, ty, field) in [
        (
            stage != current.lifecycle_stage,
            events::STAGE_CHANGED,
            "lifecycle_stage",
        ),
        (
            tier != current.value_tier,
            events::TIER_CHANGED,
            "value_tier",
        ),
    ] {
        if changed {
            tx.emit(&events::changed(
                principal,
                ty,
                &updated,
                vec![field.to_owned()],
            ))
            .await?;
        }
    }
    Ok(updated)
}

/// The customers with purchases after `cursor` (by id), up to `limit`, for batch jobs.
pub(crate) async fn customers_with_purchases(
    tx: &mut Tx,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<CustomerRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM customers c WHERE c.id > $1 \
         AND EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = c.id) ORDER BY c.id LIMIT $2"
    );
    Ok(with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(
        sql
    ))
    .bind(cursor.unwrap_or(Uuid::nil()))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await)?)
}

impl Customers {
    /// Records a purchase of a customer in the caller's scope and reclassifies the customer.
    pub async fn record_transaction(
        &self,
        principal: &Principal,
        customer: Uuid,
        new: NewTransaction,
    ) -> Result<Recorded, Error> {
        let current = self.get_for_write(principal, customer).await?;
        let now = crm_platform::db::now();
        let row = TransactionRow {
            id: Uuid::now_v7(),
            customer_id: customer,
            order_reference: new.order_reference,
            order_time: new.order_time,
            amount_minor: new.amount_minor,
            currency: new.currency,
            items: serde_json::to_string(&new.items).unwrap_or_else(|_| "[]".to_owned()),
            channel: new.channel.map(str::to_owned),
            status: new.status.to_owned(),
            created_at: now,
        };
        let mut tx = self.store.db().begin().await?;
        let stored = match by_reference(&mut tx, customer, &row.order_reference).await? {
            Some(existing) if !existing.same_order(&row) => {
                return Err(Error::AlreadyExists(format!(
                    "order {:?} is already recorded with other values",
                    row.order_reference
                )));
            }
            Some(existing) if existing.status == row.status => {
                return Ok(Recorded::Unchanged(existing));
            }
            Some(existing) => {
                set_status(&mut tx, existing.id, &row.status).await?;
                TransactionRow {
                    status: row.status,
                    ..existing
                }
            }
            None => {
                insert(&mut tx, &row).await?;
                row
            }
        };
        let customer_now =
            reclassify(&mut tx, principal, current, now, &self.classification).await?;
        tx.emit(&events::transaction_recorded(
            principal,
            &customer_now,
            &stored,
        ))
        .await?;
        tx.commit().await?;
        tracing::info!(customer = %customer, stage = %customer_now.lifecycle_stage, tier = %customer_now.value_tier, "transaction recorded");
        Ok(Recorded::Stored(stored, Box::new(customer_now)))
    }

    /// A page of a customer's transactions, newest order first.
    pub async fn list_transactions(
        &self,
        principal: &Principal,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<TransactionRow>, String), Error> {
        // The customer must be in scope; its transactions follow it.
        self.get(principal, customer).await?;
        self.transactions_of(customer, params).await
    }

    /// A page of the purchases of a customer already checked to be in scope, newest first.
    pub(crate) async fn transactions_of(
        &self,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<TransactionRow>, String), Error> {
        let mut query = SqlBuf::new(format!(
            "SELECT {TX_COLUMNS} FROM transactions WHERE customer_id = "
        ));
        query.push_bind(SqlValue::Uuid(customer));
        Ok(params
            .fetch_page(
                self.store.db(),
                query,
                &SCHEMA,
                "order_time desc",
                |r: &TransactionRow, _| SqlValue::Timestamp(r.order_time),
                |r| r.id,
            )
            .await?)
    }
}
