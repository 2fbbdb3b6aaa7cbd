//! Background work of the customers service, on durable timers (one worker among replicas
//! fires each): the daily reclassification. Stages decay with time alone — a customer who
//! stops buying becomes AT_RISK, then CHURNED — and RFM recency moves tiers, so purchases are
//! not the only trigger. The job walks the customers with purchases in batches, one
//! transaction per batch, the cursor kept in the timer's payload: a crash resumes where the
//! last committed batch ended. When the day's walk is done, customers merged longer ago than
//! the undo period are purged (`purge_expired_merges`).
use crate::{classification::ClassificationConfig, transactions};
use chrono::{DateTime, Duration, TimeZone, Utc};
use crm_platform::{
    auth::Principal,
    db::{Db, DbError, Tx},
    events::timers::{Fired, Timer, TimerHandler},
};
use uuid::Uuid;

/// The timer kind of the daily reclassification.
pub const RECLASSIFY: &str = "customers.reclassify";
/// Its one key: one job for the whole database.
const KEY: &str = "daily";
/// When it runs each day (UTC hour): a quiet time.
const RUN_AT_HOUR: u32 = 2;

/// The next daily run after `now`.
pub fn next_run(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.date_naive();
    let at = |day: chrono::NaiveDate| {
        Utc.from_utc_datetime(&day.and_hms_opt(RUN_AT_HOUR, 0, 0).unwrap_or_default())
    };
    if at(today) > now {
        at(today)
    } else {
        at(today + Duration::days(1))
    }
}

/// Registers the daily job (a no-op when it is already scheduled, so every start may call it).
pub async fn register(db: &Db, first_run: DateTime<Utc>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    tx.ensure_timer(RECLASSIFY, KEY, first_run, &[]).await?;
    tx.commit().await
}

/// The customers service's timer handler.
pub struct Jobs {
    config: ClassificationConfig,
    batch: i64,
}

impl Jobs {
    /// Jobs with these classification thresholds.
    pub fn new(config: ClassificationConfig) -> Jobs {
        Jobs { config, batch: 500 }
    }

    /// Overrides the batch size (tests).
    pub fn with_batch(mut self, batch: i64) -> Jobs {
        self.batch = batch.max(1);
        self
    }

    async fn reclassify(&self, tx: &mut Tx, payload: &[u8]) -> anyhow::Result<Fired> {
        let cursor = Uuid::from_slice(payload).ok();
        let now = crm_platform::db::now();
        let customers = transactions::customers_with_purchases(tx, cursor, self.batch).await?;
        let last = customers.last().map(|c| c.id);
        // A full batch means more may follow: continue at once; otherwise the day is done.
        let full = customers.len() as i64 == self.batch;
        let system = Principal::system();
        for customer in customers {
            transactions::reclassify(tx, &system, customer, now, &self.config).await?;
        }
        Ok(match (full, last) {
            (true, Some(last)) => Fired::Continue(now, last.as_bytes().to_vec()),
            _ => {
                purge_expired_merges(tx, now).await?;
                Fired::Continue(next_run(now), Vec::new())
            }
        })
    }
}

/// Merges this many at most are purged per run (the next day takes the rest).
const PURGE_BATCH: i64 = 1000;

/// Deletes the customers merged by merges whose undo period has ended (kept until then only so
/// an undo could restore them), with what stayed apart from their survivor, and drops the
/// merges' undo data. The merges stay on record. Returns the customers deleted.
pub async fn purge_expired_merges(tx: &mut Tx, now: DateTime<Utc>) -> Result<u64, DbError> {
    use crm_platform::with_tx;
    let merges: Vec<(Uuid, String)> = with_tx!(tx, |conn| {
        sqlx::query_as(
        "SELECT id, merged_ids FROM customer_merges WHERE state = 'MERGED' AND undo_deadline < $1 \
         AND undo <> '{}' ORDER BY undo_deadline LIMIT $2"
    )
    .bind(now)
    .bind(PURGE_BATCH)
    .fetch_all(&mut *conn)
    .await
    })?;
    let mut deleted = 0;
    for (merge, merged_ids) in merges {
        let ids: Vec<Uuid> = serde_json::from_str(&merged_ids).unwrap_or_default();
        for id in ids {
            let n = with_tx!(tx, |conn| sqlx::query(
                "DELETE FROM customers WHERE id = $1 AND merged_into IS NOT NULL"
            )
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
            if n > 0 {
                crate::history::record(tx, "system", id, "DELETED", &[]).await?;
            }
            deleted += n;
        }
        with_tx!(tx, |conn| sqlx::query(
            "UPDATE customer_merges SET undo = '{}' WHERE id = $1"
        )
        .bind(merge)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    }
    if deleted > 0 {
        tracing::info!(
            customers = deleted,
            "merged customers purged after their undo period"
        );
    }
    Ok(deleted)
}

impl TimerHandler for Jobs {
    type Prepared = ();

    async fn prepare(&self, _timer: &Timer) -> anyhow::Result<()> {
        Ok(())
    }

    async fn fire(&self, tx: &mut Tx, timer: &Timer, _: ()) -> anyhow::Result<Fired> {
        match timer.kind.as_str() {
            RECLASSIFY => self.reclassify(tx, &timer.payload).await,
            crate::reminders::DUE_TIMER => crate::reminders::fire_due(tx, &timer.key).await,
            other => anyhow::bail!("unknown customers timer kind {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daily_run_is_the_next_two_o_clock() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            next_run(at("2026-11-23T01:00:00Z")),
            at("2026-11-23T02:00:00Z")
        );
        assert_eq!(
            next_run(at("2026-11-23T02:00:00Z")),
            at("2026-11-24T02:00:00Z")
        );
        assert_eq!(
            next_run(at("2026-12-31T23:59:00Z")),
            at("2027-01-01T02:00:00Z")
        );
    }
}
