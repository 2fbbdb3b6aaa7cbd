//! The transactional outbox: events are rows written in the transaction of the change, so an
//! event exists exactly when its change committed.
use super::{encode, proto::Event, stream_of};
use crate::db::{DbError, Tx};
use crate::with_tx;
use std::sync::LazyLock;
use tokio::sync::watch;

/// Bumped after each commit that wrote events; relays in this process wait on it (a relay in
/// another process is woken by PostgreSQL `NOTIFY`, or polls).
static WAKE: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// The PostgreSQL notification channel relays listen on.
pub const NOTIFY_CHANNEL: &str = "crm_outbox";

/// Wakes this process's relays (called by [`Tx::commit`]).
pub(crate) fn wake_relays() {
    WAKE.send_modify(|generation| *generation = generation.wrapping_add(1));
}

/// A receiver that changes whenever events were committed in this process.
pub fn wake_signal() -> watch::Receiver<u64> {
    WAKE.subscribe()
}

impl Tx {
    /// Writes `event` into the outbox of this transaction; the relay publishes it to the
    /// source service's stream after commit.
    pub async fn emit(&mut self, event: &Event) -> Result<(), DbError> {
        let service = super::service_of(&event.source).to_owned();
        let id = uuid::Uuid::parse_str(&event.id).map_err(|e| {
            DbError::Other(sqlx::Error::Encode(
                format!("event id {} is not a uuid: {e}", event.id).into(),
            ))
        })?;
        const SQL: &str =
            "INSERT INTO outbox (id, stream, event, created_at) VALUES ($1, $2, $3, $4)";
        // The transaction's first event on PostgreSQL also asks for the notification, delivered
        // at commit to relays of any process, in the same statement: one round trip, not two.
        const NOTIFYING: &str = "INSERT INTO outbox (id, stream, event, created_at) \
             SELECT $1, $2, $3, $4 FROM (SELECT pg_notify($5, '')) AS n";
        let stream = stream_of(&service);
        let bytes = encode(event);
        let now = crate::db::now();
        let notify = !self.emitted && matches!(self.conn, crate::db::TxConn::Pg(_));
        with_tx!(self, |conn| {
            let q = sqlx::query(if notify { NOTIFYING } else { SQL })
                .bind(id)
                .bind(&stream)
                .bind(&bytes)
                .bind(now);
            let q = if notify { q.bind(NOTIFY_CHANNEL) } else { q };
            q.execute(&mut *conn).await?;
            Ok::<_, DbError>(())
        })?;
        self.emitted = true;
        Ok(())
    }

    /// [`Tx::emit`] for many events, in multi-row inserts (bulk imports).
    pub async fn emit_all(&mut self, events: &[Event]) -> Result<(), DbError> {
        use std::fmt::Write;
        let now = crate::db::now();
        // 4 values per row: 4,000 binds per statement, under either backend's limit.
        for chunk in events.chunks(1000) {
            let mut rows = Vec::with_capacity(chunk.len());
            let mut sql =
                String::from("INSERT INTO outbox (id, stream, event, created_at) VALUES ");
            for (i, event) in chunk.iter().enumerate() {
                let id = uuid::Uuid::parse_str(&event.id).map_err(|e| {
                    DbError::Other(sqlx::Error::Encode(
                        format!("event id {} is not a uuid: {e}", event.id).into(),
                    ))
                })?;
                let b = i * 4;
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(sql, "{sep}(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4);
                rows.push((
                    id,
                    stream_of(super::service_of(&event.source)),
                    encode(event),
                ));
            }
            with_tx!(self, |conn| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for (id, stream, bytes) in &rows {
                    q = q.bind(*id).bind(stream).bind(bytes).bind(now);
                }
                q.execute(&mut *conn).await?;
                Ok::<_, DbError>(())
            })?;
        }
        if !events.is_empty() && !self.emitted {
            if let crate::db::TxConn::Pg(t) = &mut self.conn {
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(NOTIFY_CHANNEL)
                    .execute(&mut **t)
                    .await?;
            }
            self.emitted = true;
        }
        Ok(())
    }
}
