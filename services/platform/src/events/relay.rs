//! The relay: publishes committed outbox rows to the bus in seq order, then marks them sent.
//!
//! A crash between publishing and marking publishes the rows again on restart (at least once);
//! consumers drop the repeat through their inbox. Several replicas may run a relay on one
//! PostgreSQL outbox: each round locks the outbox's row in `outbox_relay` `FOR UPDATE SKIP
//! LOCKED`, so exactly one relay publishes at a time, in order, and the others stand by.
//! SQLite runs one relay per database (its `BEGIN IMMEDIATE` serializes rounds anyway).
use super::{BusConfig, bus::Bus, outbox};
use crate::db::{Db, DbError, Tx, TxConn};
use crate::server::Shutdown;
use crate::with_tx;
use std::time::{Duration, Instant};

/// Why a relay round failed; the relay retries with backoff.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] super::bus::BusError),
}

/// Publishes one service's outbox.
#[derive(Clone)]
pub struct Relay {
    service: String,
    db: Db,
    bus: Bus,
    batch: i64,
    poll: Duration,
    keep: Duration,
}

type Row = (i64, String, Vec<u8>);

/// Longest wait between attempts while the bus or database is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often published rows past `outbox_keep_secs` are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How long shutdown waits for the outbox to drain.
const FLUSH_LIMIT: Duration = Duration::from_secs(5);

impl Relay {
    /// A relay of `service`'s outbox in `db` to `bus`.
    pub fn new(service: &str, db: Db, bus: Bus, config: &BusConfig) -> Relay {
        Relay {
            service: service.to_owned(),
            db,
            bus,
            batch: i64::from(config.relay_batch.max(1)),
            poll: config.poll_interval(),
            keep: Duration::from_secs(config.outbox_keep_secs),
        }
    }

    /// Publishes up to one batch and marks it sent; returns how many rows it published (0 also
    /// when another relay holds the outbox).
    pub async fn publish_once(&self) -> Result<usize, RelayError> {
        self.round(true).await
    }

    /// Fault injection for tests: publishes a batch like [`Relay::publish_once`] and then
    /// "crashes" (rolls back) before marking it sent.
    pub async fn publish_without_marking(&self) -> Result<usize, RelayError> {
        self.round(false).await
    }

    async fn round(&self, mark: bool) -> Result<usize, RelayError> {
        let mut tx = self.db.begin().await?;
        if !claim(&mut tx).await? {
            tx.rollback().await?;
            return Ok(0);
        }
        let rows = unsent(&mut tx, self.batch).await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        // One append per run of rows of the same stream, keeping seq order across the batch.
        let mut start = 0;
        while start < rows.len() {
            let stream = &rows[start].1;
            let end = rows[start..]
                .iter()
                .position(|r| &r.1 != stream)
                .map_or(rows.len(), |n| start + n);
            let payloads: Vec<Vec<u8>> = rows[start..end].iter().map(|r| r.2.clone()).collect();
            self.bus.append(stream, &payloads).await?;
            start = end;
        }
        if !mark {
            tx.rollback().await?;
            return Ok(rows.len());
        }
        mark_sent(&mut tx, &rows).await?;
        tx.commit().await?;
        metrics::counter!("crm_outbox_published_total", "service" => self.service.clone())
            .increment(rows.len() as u64);
        Ok(rows.len())
    }

    /// Unsent rows and the age of the oldest, for the backlog and lag metrics.
    pub async fn backlog(&self) -> Result<(i64, Option<chrono::DateTime<chrono::Utc>>), DbError> {
        const SQL: &str = "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL";
        Ok(crate::with_pool!(&self.db, |pool| sqlx::query_as::<
            _,
            (i64, Option<chrono::DateTime<chrono::Utc>>),
        >(SQL)
        .fetch_one(pool)
        .await)?)
    }

    async fn report(&self) {
        if let Ok((count, oldest)) = self.backlog().await {
            let lag = oldest.map_or(0.0, |t| {
                (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!("crm_outbox_backlog", "service" => self.service.clone())
                .set(count as f64);
            metrics::gauge!("crm_outbox_lag_seconds", "service" => self.service.clone()).set(lag);
        }
    }

    async fn prune(&self) -> Result<u64, DbError> {
        let cutoff = crate::db::now()
            - chrono::Duration::from_std(self.keep).unwrap_or(chrono::Duration::days(1));
        const SQL: &str = "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1";
        const INBOX: &str = "DELETE FROM inbox WHERE processed_at < $1";
        // Inbox entries are kept well past any redelivery: the streams' retention is the
        // horizon of a redelivery, and ids are never reused.
        let inbox_cutoff = cutoff - chrono::Duration::days(30);
        Ok(crate::with_pool!(&self.db, |pool| {
            let n = sqlx::query(SQL).bind(cutoff).execute(pool).await?;
            sqlx::query(INBOX).bind(inbox_cutoff).execute(pool).await?;
            Ok::<_, sqlx::Error>(n.rows_affected())
        })?)
    }

    /// The in-process bus starts empty: republish what the outbox still holds, so events
    /// committed before a restart reach consumers that had not handled them (their inbox drops
    /// the others).
    async fn rebuild_memory_bus(&self) -> Result<(), DbError> {
        const SQL: &str = "UPDATE outbox SET sent_at = NULL WHERE sent_at IS NOT NULL";
        crate::with_pool!(&self.db, |pool| sqlx::query(SQL)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Runs until `shutdown`, then publishes what is left (bounded).
    pub async fn run(self, shutdown: Shutdown) {
        if matches!(self.bus, Bus::Memory(_))
            && let Err(error) = self.rebuild_memory_bus().await
        {
            tracing::warn!(%error, service = %self.service, "cannot republish the outbox");
        }
        let mut wake = outbox::wake_signal();
        let mut listener = self.listener().await;
        let stop = shutdown.wait();
        tokio::pin!(stop);
        let mut failures: u32 = 0;
        let mut last_report = Instant::now() - Duration::from_secs(10);
        let mut last_prune = Instant::now();
        loop {
            match self.publish_once().await {
                Ok(n) => {
                    if failures > 0 {
                        tracing::info!(service = %self.service, "event bus reachable again");
                    }
                    failures = 0;
                    if n as i64 == self.batch {
                        continue;
                    }
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(%error, failures, service = %self.service, "outbox relay round failed");
                    }
                    self.report().await;
                    let backoff = Duration::from_millis(100)
                        .saturating_mul(1 << failures.min(6))
                        .min(MAX_BACKOFF);
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => continue,
                        _ = &mut stop => break,
                    }
                }
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                self.report().await;
                last_report = Instant::now();
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                if let Err(error) = self.prune().await {
                    tracing::warn!(%error, service = %self.service, "cannot prune the outbox");
                }
                last_prune = Instant::now();
            }
            tokio::select! {
                _ = wake.changed() => {}
                _ = notified(&mut listener) => {}
                _ = tokio::time::sleep(self.poll) => {}
                _ = &mut stop => break,
            }
        }
        self.flush().await;
    }

    async fn flush(&self) {
        let started = Instant::now();
        while started.elapsed() < FLUSH_LIMIT {
            match self.publish_once().await {
                Ok(n) if (n as i64) < self.batch => break,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, service = %self.service, "outbox not flushed at shutdown; it is published on the next start");
                    break;
                }
            }
        }
    }

    async fn listener(&self) -> Option<sqlx::postgres::PgListener> {
        let Db::Pg(pool) = &self.db else {
            return None;
        };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await.ok()?;
        listener.listen(outbox::NOTIFY_CHANNEL).await.ok()?;
        Some(listener)
    }
}

/// Resolves on a PostgreSQL notification; never without a listener. A broken listener is
/// dropped (polling takes over) rather than retried in a hot loop.
async fn notified(listener: &mut Option<sqlx::postgres::PgListener>) {
    match listener {
        Some(l) => {
            if l.recv().await.is_err() {
                *listener = None;
            }
        }
        None => std::future::pending().await,
    }
}

/// Takes the outbox for this round: true when this relay may publish.
async fn claim(tx: &mut Tx) -> Result<bool, DbError> {
    match &mut tx.conn {
        TxConn::Pg(t) => {
            const SQL: &str =
                "SELECT name FROM outbox_relay WHERE name = 'outbox' FOR UPDATE SKIP LOCKED";
            let row: Option<(String,)> = sqlx::query_as(SQL).fetch_optional(&mut **t).await?;
            Ok(row.is_some())
        }
        // BEGIN IMMEDIATE already excludes every other writer.
        TxConn::Sqlite(_) => Ok(true),
    }
}

async fn unsent(tx: &mut Tx, batch: i64) -> Result<Vec<Row>, DbError> {
    const SQL: &str =
        "SELECT seq, stream, event FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1";
    Ok(with_tx!(tx, |conn| sqlx::query_as::<_, Row>(SQL)
        .bind(batch)
        .fetch_all(&mut *conn)
        .await)?)
}

/// Marks exactly the published rows: a range would also catch rows that committed after the
/// SELECT and were never published.
async fn mark_sent(tx: &mut Tx, rows: &[Row]) -> Result<(), DbError> {
    let placeholders: Vec<String> = (0..rows.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "UPDATE outbox SET sent_at = $1 WHERE seq IN ({})",
        placeholders.join(", ")
    );
    let now = crate::db::now();
    with_tx!(tx, |conn| {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(now);
        for row in rows {
            query = query.bind(row.0);
        }
        query.execute(&mut *conn).await.map(drop)
    })?;
    Ok(())
}
