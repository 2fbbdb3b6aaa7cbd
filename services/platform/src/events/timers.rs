//! Durable timers: rows with a due time, claimed by one worker among replicas and fired in the
//! transaction that deletes them, so a timer fires exactly once even after a crash (a claim
//! whose worker died expires and is taken again). Reminders, SLA deadlines, contract expiry,
//! birthdays and webhook retries are timers.
use crate::db::{Db, DbError, Tx, TxConn};
use crate::server::Shutdown;
use crate::with_tx;
use chrono::{DateTime, Utc};
use std::{future::Future, sync::Arc, time::Duration};
use uuid::Uuid;

/// A timer that came due.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Timer {
    /// Row id.
    pub id: Uuid,
    /// What kind of timer ("customers.reminder"); selects the handler.
    pub kind: String,
    /// Names the timer within its kind (scheduling the same key again moves it).
    pub key: String,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    /// Handler data.
    pub payload: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempt: i32,
}

/// What a handler decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// Done: the timer is deleted with the handler's writes.
    Done,
    /// Fire again at this time (a retry schedule of the handler's own, e.g. webhooks).
    Again(DateTime<Utc>),
    /// Fire again at this time with this payload: recurring jobs and work done in batches
    /// (the payload carries the cursor), committed with the batch.
    Continue(DateTime<Utc>, Vec<u8>),
}

/// Fires timers of the kinds it knows, in two steps: `prepare` outside any transaction (network
/// calls such as a webhook POST must not hold a database transaction open), then `fire` inside
/// the transaction that removes or moves the timer.
pub trait TimerHandler: Send + Sync + 'static {
    /// What `prepare` hands to `fire`.
    type Prepared: Send;
    /// Work before the transaction; an error retries the timer with backoff.
    fn prepare(&self, timer: &Timer)
    -> impl Future<Output = anyhow::Result<Self::Prepared>> + Send;
    /// Handles a due timer inside the transaction that removes it; an error rolls everything
    /// back and the timer is retried with backoff.
    fn fire(
        &self,
        tx: &mut Tx,
        timer: &Timer,
        prepared: Self::Prepared,
    ) -> impl Future<Output = anyhow::Result<Fired>> + Send;
}

impl Tx {
    /// Schedules (or moves) timer (`kind`, `key`) to fire at `due_at`; part of the transaction.
    pub async fn schedule_timer(
        &mut self,
        kind: &str,
        key: &str,
        due_at: DateTime<Utc>,
        payload: &[u8],
    ) -> Result<(), DbError> {
        // A moved timer loses its claim: a worker firing the old due time then fails to delete
        // it (it is no longer locked by that worker) and rolls back.
        const SQL: &str = "INSERT INTO timers (id, kind, key, due_at, payload, attempt) VALUES ($1, $2, $3, $4, $5, 0) \
            ON CONFLICT (kind, key) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload, \
            attempt = 0, locked_by = NULL, locked_until = NULL, last_error = NULL";
        let id = Uuid::now_v7();
        with_tx!(self, |conn| sqlx::query(SQL)
            .bind(id)
            .bind(kind)
            .bind(key)
            .bind(due_at)
            .bind(payload)
            .execute(&mut *conn)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Schedules timer (`kind`, `key`) unless it exists (a recurring job registers itself at
    /// every start without moving its next run).
    pub async fn ensure_timer(
        &mut self,
        kind: &str,
        key: &str,
        due_at: DateTime<Utc>,
        payload: &[u8],
    ) -> Result<bool, DbError> {
        const SQL: &str = "INSERT INTO timers (id, kind, key, due_at, payload, attempt) VALUES ($1, $2, $3, $4, $5, 0) \
            ON CONFLICT (kind, key) DO NOTHING";
        let id = Uuid::now_v7();
        let n = with_tx!(self, |conn| sqlx::query(SQL)
            .bind(id)
            .bind(kind)
            .bind(key)
            .bind(due_at)
            .bind(payload)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Cancels timer (`kind`, `key`); false when there was none.
    pub async fn cancel_timer(&mut self, kind: &str, key: &str) -> Result<bool, DbError> {
        const SQL: &str = "DELETE FROM timers WHERE kind = $1 AND key = $2";
        let n = with_tx!(self, |conn| sqlx::query(SQL)
            .bind(kind)
            .bind(key)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}

/// Claims and fires due timers.
#[derive(Clone)]
pub struct TimerWorker {
    db: Db,
    name: String,
    lease: Duration,
    poll: Duration,
    batch: i64,
}

/// The longest a failing timer waits before its next attempt.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

impl TimerWorker {
    /// A worker with a unique name; a claim lasts `lease` (a handler slower than that may see
    /// its timer fired by another worker, and then rolls back).
    pub fn new(db: Db, poll: Duration) -> TimerWorker {
        TimerWorker {
            db,
            name: format!("timers-{}", Uuid::now_v7().simple()),
            lease: Duration::from_secs(60),
            poll,
            batch: 64,
        }
    }

    /// Overrides the claim lease.
    pub fn with_lease(mut self, lease: Duration) -> TimerWorker {
        self.lease = lease;
        self
    }

    /// Claims up to a batch of due timers for this worker.
    pub async fn claim(&self) -> Result<Vec<Timer>, DbError> {
        let now = crate::db::now();
        let until =
            now + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::minutes(1));
        let mut tx = self.db.begin().await?;
        // PostgreSQL: SKIP LOCKED lets workers claim disjoint timers concurrently. SQLite's
        // BEGIN IMMEDIATE already serializes claims.
        let lock = match tx.conn {
            TxConn::Pg(_) => " FOR UPDATE SKIP LOCKED",
            TxConn::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE timers SET locked_by = $1, locked_until = $2, attempt = attempt + 1 \
             WHERE id IN (SELECT id FROM timers WHERE due_at <= $3 \
             AND (locked_until IS NULL OR locked_until < $3) ORDER BY due_at LIMIT $4{lock}) \
             RETURNING id, kind, key, due_at, payload, attempt"
        );
        let timers = with_tx!(tx, |conn| sqlx::query_as::<_, Timer>(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(&self.name)
        .bind(until)
        .bind(now)
        .bind(self.batch)
        .fetch_all(&mut *conn)
        .await)?;
        tx.commit().await?;
        Ok(timers)
    }

    /// Fires one claimed timer; true when its effects committed.
    pub async fn fire<H: TimerHandler>(&self, timer: &Timer, handler: &H) -> Result<bool, DbError> {
        let prepared = match handler.prepare(timer).await {
            Ok(p) => p,
            Err(error) => {
                self.failed(timer, &format!("{error:#}")).await?;
                return Ok(false);
            }
        };
        let mut tx = self.db.begin().await?;
        let result = handler.fire(&mut tx, timer, prepared).await;
        let outcome = match result {
            Ok(Fired::Done) => {
                const SQL: &str = "DELETE FROM timers WHERE id = $1 AND locked_by = $2";
                with_tx!(tx, |conn| sqlx::query(SQL)
                    .bind(timer.id)
                    .bind(&self.name)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected()))?
            }
            Ok(Fired::Again(at)) => {
                const SQL: &str = "UPDATE timers SET due_at = $1, locked_by = NULL, locked_until = NULL \
                    WHERE id = $2 AND locked_by = $3";
                with_tx!(tx, |conn| sqlx::query(SQL)
                    .bind(at)
                    .bind(timer.id)
                    .bind(&self.name)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected()))?
            }
            Ok(Fired::Continue(at, payload)) => {
                const SQL: &str = "UPDATE timers SET due_at = $1, payload = $2, attempt = 0, locked_by = NULL, \
                    locked_until = NULL, last_error = NULL WHERE id = $3 AND locked_by = $4";
                with_tx!(tx, |conn| sqlx::query(SQL)
                    .bind(at)
                    .bind(&payload)
                    .bind(timer.id)
                    .bind(&self.name)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected()))?
            }
            Err(error) => {
                tx.rollback().await?;
                self.failed(timer, &format!("{error:#}")).await?;
                return Ok(false);
            }
        };
        if outcome == 0 {
            // Our claim expired and another worker has the timer (or it was moved): its
            // effects must not happen twice.
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        metrics::counter!("crm_timers_fired_total", "kind" => timer.kind.clone()).increment(1);
        Ok(true)
    }

    async fn failed(&self, timer: &Timer, error: &str) -> Result<(), DbError> {
        tracing::warn!(kind = %timer.kind, key = %timer.key, attempt = timer.attempt, %error, "timer handler failed");
        let exp = u32::try_from(timer.attempt.clamp(1, 20) - 1).unwrap_or(0);
        let delay = Duration::from_secs(1)
            .saturating_mul(1 << exp)
            .min(MAX_RETRY_DELAY);
        let retry_at = crate::db::now()
            + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
        const SQL: &str =
            "UPDATE timers SET locked_until = $1, last_error = $2 WHERE id = $3 AND locked_by = $4";
        crate::with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(retry_at)
            .bind(error)
            .bind(timer.id)
            .bind(&self.name)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Claims and fires due timers until `shutdown`.
    pub async fn run<H: TimerHandler>(self, handler: Arc<H>, shutdown: Shutdown) {
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            let mut full = false;
            match self.claim().await {
                Ok(timers) => {
                    full = timers.len() as i64 == self.batch;
                    for timer in &timers {
                        if let Err(error) = self.fire(timer, handler.as_ref()).await {
                            tracing::warn!(%error, kind = %timer.kind, "timer not fired; retried after its lease");
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot claim timers"),
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = &mut stop => return,
            }
        }
    }
}
