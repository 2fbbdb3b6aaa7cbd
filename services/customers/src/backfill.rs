//! Derived data of stored customers: search documents and duplicate keys, written for
//! customers loaded in bulk (without them) or keyed by older rules. Set-based: the customers
//! are walked once in id order, a batch per transaction, with one statement each to read the
//! batch, drop its old keys, insert its new keys and mark it done. Throttled while the service
//! answers requests, so live traffic keeps its latency; full speed when idle. Progress is a
//! metric: `crm_customers_backfill_remaining` (customers still to do) and
//! `crm_customers_backfill_rows_total`.
use crate::{
    contact_points::pairs_of,
    duplicates::{KEYS_VERSION, insert_keys, key_hashes, record_with},
    store::{COLUMNS, CustomerRow},
};
use crm_platform::{
    db::{Db, DbError},
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use std::time::Instant;
use uuid::Uuid;

/// How hard a backfill runs.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    /// Customers per transaction.
    pub batch: i64,
    /// Pause after a batch, as a multiple of the batch's own time, when requests were served
    /// meanwhile (4: the backfill takes at most a fifth of the time while users work).
    pub busy_ratio: f64,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            batch: 1000,
            busy_ratio: 4.0,
        }
    }
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Customers without keys or without a search document (after a bulk load).
    Missing,
    /// Every customer: the key rules changed since the stored keys were made.
    Rekey,
}

impl Mode {
    /// The condition on `customers` of the rows this mode writes.
    fn pending(self) -> &'static str {
        match self {
            Mode::Missing => {
                "(search_doc = '' OR NOT EXISTS (SELECT 1 FROM customer_match_keys k WHERE k.customer_id = customers.id))"
            }
            Mode::Rekey => "TRUE",
        }
    }
}

/// The key rules' version the stored keys were made with (0: none recorded).
async fn stored_version(db: &Db) -> Result<i32, DbError> {
    let v: Option<i32> = with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT version FROM derived_versions WHERE name = 'match_keys'"
    )
    .fetch_optional(pool)
    .await)?;
    Ok(v.unwrap_or(0))
}

async fn mode(db: &Db) -> Result<Mode, DbError> {
    Ok(if stored_version(db).await? == KEYS_VERSION {
        Mode::Missing
    } else {
        Mode::Rekey
    })
}

/// How many customers still need derived data.
pub async fn pending(db: &Db) -> Result<i64, DbError> {
    count(db, mode(db).await?).await
}

/// How many customers `mode` writes.
async fn count(db: &Db, mode: Mode) -> Result<i64, DbError> {
    let sql = format!("SELECT COUNT(*) FROM customers WHERE {}", mode.pending());
    let (n,): (i64,) = with_pool!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .fetch_one(pool)
        .await)?;
    Ok(n)
}

/// Writes the derived data of every customer that lacks it; returns how many were written.
pub async fn run(db: &Db, cfg: &crm_dedup::Config, throttle: Throttle) -> Result<u64, DbError> {
    let mode = mode(db).await?;
    let mut remaining = count(db, mode).await?;
    metrics::gauge!("crm_customers_backfill_remaining").set(remaining as f64);
    let mut after = Uuid::nil();
    let mut done = 0u64;
    loop {
        let served = crm_platform::middleware::requests_served();
        let started = Instant::now();
        let Some((last, n)) = batch(db, cfg, mode, after, throttle.batch).await? else {
            break;
        };
        after = last;
        done += n;
        remaining = (remaining - n as i64).max(0);
        metrics::counter!("crm_customers_backfill_rows_total").increment(n);
        metrics::gauge!("crm_customers_backfill_remaining").set(remaining as f64);
        if crm_platform::middleware::requests_served() != served {
            tokio::time::sleep(started.elapsed().mul_f64(throttle.busy_ratio)).await;
        } else {
            // Let a request that just arrived in.
            tokio::task::yield_now().await;
        }
    }
    if mode == Mode::Rekey {
        with_pool!(db, |pool| sqlx::query(
            "INSERT INTO derived_versions (name, version) VALUES ('match_keys', $1) \
             ON CONFLICT (name) DO UPDATE SET version = excluded.version"
        )
        .bind(KEYS_VERSION)
        .execute(pool)
        .await
        .map(drop))?;
    }
    metrics::gauge!("crm_customers_backfill_remaining").set(0.0);
    Ok(done)
}

/// One batch after `after` in id order: the last id looked at and how many were written, or
/// `None` when no customer after `after` needs work.
async fn batch(
    db: &Db,
    cfg: &crm_dedup::Config,
    mode: Mode,
    after: Uuid,
    size: i64,
) -> Result<Option<(Uuid, u64)>, DbError> {
    let mut tx = db.begin().await?;
    // A re-key locks its rows (PostgreSQL; SQLite's write transaction excludes other writers
    // anyway): it deletes keys, and a customer changed meanwhile must not be left with only keys
    // made from its older fields. Filling in missing keys deletes nothing: keys of an older
    // version of a customer next to those its change wrote only add a candidate, which the
    // scoring rejects, and locking every row would rewrite every page of the table.
    let lock = if tx.backend() == "postgres" && mode == Mode::Rekey {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS}, search_doc = '' AS no_doc, \
         EXISTS (SELECT 1 FROM customer_match_keys k WHERE k.customer_id = customers.id) AS has_keys \
         FROM customers WHERE id > $1 AND {} ORDER BY id LIMIT $2{lock}",
        mode.pending()
    );
    let rows: Vec<Pending> = with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(size)
        .fetch_all(&mut *conn)
        .await)?;
    let Some(last) = rows.last().map(|r| r.row.id) else {
        return Ok(None);
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.row.id).collect();
    let points = crate::contact_points::of_customers(db, &ids).await?;
    let mut keys: Vec<(i64, Uuid)> = Vec::new();
    for r in &rows {
        let record = record_with(&r.row, pairs_of(&points, r.row.id));
        keys.extend(
            key_hashes(&record, cfg)
                .all()
                .into_iter()
                .map(|h| (h, r.row.id)),
        );
    }
    // Old keys go first. After a bulk load there are none, and no statement is sent. A re-key
    // takes the whole id range of the batch: one index range scan (a list of 1,000 ids can be
    // planned as a scan of the whole table while its statistics still say it is empty).
    if mode == Mode::Rekey {
        let mut delete = SqlBuf::new("DELETE FROM customer_match_keys WHERE customer_id > ");
        delete.push_bind(SqlValue::Uuid(after));
        delete.push(" AND customer_id <= ");
        delete.push_bind(SqlValue::Uuid(last));
        crm_platform::bulk::execute(&mut tx, delete).await?;
    } else {
        let keyed: Vec<Uuid> = rows
            .iter()
            .filter(|r| r.has_keys)
            .map(|r| r.row.id)
            .collect();
        for id in keyed {
            let mut delete = SqlBuf::new("DELETE FROM customer_match_keys WHERE customer_id = ");
            delete.push_bind(SqlValue::Uuid(id));
            crm_platform::bulk::execute(&mut tx, delete).await?;
        }
    }
    // In the key index's order: the inserts walk the index instead of jumping about it (the
    // customers' keys are random hashes).
    keys.sort_unstable();
    insert_keys(&mut tx, &keys).await?;
    // The customers themselves are written only when they lack their search document (an
    // update rewrites the row and every index entry of it, which is what made backfills slow).
    let docs: Vec<(Uuid, String)> = rows
        .iter()
        .filter(|r| r.no_doc)
        .map(|r| {
            let doc = crate::search::document(&r.row);
            // Never empty: "-" marks a document written, so the row is not picked again.
            (r.row.id, if doc.is_empty() { "-".to_owned() } else { doc })
        })
        .collect();
    if !docs.is_empty() {
        let mut update = SqlBuf::new("WITH v (id, doc) AS (VALUES ");
        for (i, (id, doc)) in docs.iter().enumerate() {
            update.push(if i == 0 { "(" } else { ", (" });
            update.push_binds([SqlValue::Uuid(*id), SqlValue::Text(doc.clone())]);
            update.push(")");
        }
        // Only where it is still missing: a change meanwhile wrote the document itself.
        update.push(
            ") UPDATE customers SET search_doc = v.doc FROM v WHERE customers.id = v.id \
             AND customers.search_doc = ''",
        );
        crm_platform::bulk::execute(&mut tx, update).await?;
    }
    tx.commit().await?;
    Ok(Some((last, rows.len() as u64)))
}

/// A customer a batch reads, and whether it lacks its search document.
#[derive(sqlx::FromRow)]
struct Pending {
    #[sqlx(flatten)]
    row: CustomerRow,
    no_doc: bool,
    has_keys: bool,
}
