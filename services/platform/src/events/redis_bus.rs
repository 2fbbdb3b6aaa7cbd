//! The bus on Redis Streams: one stream per publishing service, consumer groups, XAUTOCLAIM for
//! entries of dead consumers, trimming by age (MINID) and optionally by length.
use super::bus::{BusError, Entry};
use redis::{
    AsyncConnectionConfig, Client, Value,
    aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
    streams::{
        StreamAutoClaimReply, StreamId, StreamInfoGroupsReply, StreamRangeReply, StreamReadReply,
    },
};
use std::{collections::HashMap, time::Duration};
use tokio::sync::OnceCell;

/// The field holding the encoded event in each entry.
const FIELD: &str = "e";
/// Bound on any one non-blocking command, reconnection included: a relay or consumer waiting on
/// an unreachable Redis must come back to retry (and to shut down) rather than hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Redis Streams. Clones share the connection.
#[derive(Clone)]
pub struct RedisBus {
    client: Client,
    /// Connected on first use, so a service starts while Redis is still down.
    conn: std::sync::Arc<OnceCell<ConnectionManager>>,
    retention: Duration,
    max_len: Option<u64>,
}

fn unavailable(e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(e.to_string())
}

async fn bounded<T>(
    fut: impl std::future::Future<Output = Result<T, redis::RedisError>>,
    limit: Duration,
) -> Result<T, BusError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(unavailable),
        Err(_) => Err(BusError::Unavailable("redis did not answer in time".into())),
    }
}

/// A stream id as (milliseconds, sequence); `None` when malformed.
pub fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

fn entry(stream: &str, id: StreamId) -> Entry {
    let payload = match id.map.get(FIELD) {
        Some(Value::BulkString(bytes)) => bytes.clone(),
        _ => Vec::new(),
    };
    Entry {
        stream: stream.to_owned(),
        deliveries: id.delivered_count.map_or(0, |c| c as u64),
        id: id.id,
        payload,
    }
}

fn entries(reply: StreamReadReply) -> Vec<Entry> {
    reply
        .keys
        .into_iter()
        .flat_map(|key| {
            let stream = key.key;
            key.ids.into_iter().map(move |id| entry(&stream, id))
        })
        .collect()
}

impl RedisBus {
    /// A bus on the Redis at `url`; connects lazily.
    pub fn new(url: &str, retention: Duration, max_len: Option<u64>) -> Result<RedisBus, BusError> {
        let client = Client::open(url)
            .map_err(|e| BusError::Unavailable(format!("bad redis url: {:?}", e.kind())))?;
        Ok(RedisBus {
            client,
            conn: Default::default(),
            retention,
            max_len,
        })
    }

    async fn conn(&self) -> Result<ConnectionManager, BusError> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(CALL_TIMEOUT))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500));
                bounded(
                    self.client.get_connection_manager_with_config(config),
                    CALL_TIMEOUT,
                )
                .await
            })
            .await?;
        Ok(conn.clone())
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, BusError> {
        let mut conn = self.conn().await?;
        bounded(cmd.query_async(&mut conn), CALL_TIMEOUT).await
    }

    /// XADD of every payload in one MULTI/EXEC, so a batch is appended whole or not at all;
    /// entries older than the retention are trimmed on the way (MINID ~).
    pub async fn append(
        &self,
        stream: &str,
        payloads: &[Vec<u8>],
    ) -> Result<Vec<String>, BusError> {
        if payloads.is_empty() {
            return Ok(Vec::new());
        }
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let min_id = now_ms.saturating_sub(self.retention.as_millis() as u64);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for payload in payloads {
            pipe.cmd("XADD")
                .arg(stream)
                .arg("MINID")
                .arg("~")
                .arg(min_id)
                .arg("*")
                .arg(FIELD)
                .arg(payload.as_slice());
        }
        if let Some(max_len) = self.max_len {
            pipe.cmd("XTRIM")
                .arg(stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(max_len)
                .ignore();
        }
        let mut conn = self.conn().await?;
        bounded(pipe.query_async::<Vec<String>>(&mut conn), CALL_TIMEOUT).await
    }

    /// XGROUP CREATE ... 0 MKSTREAM; an existing group is fine.
    pub async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), BusError> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE")
            .arg(stream)
            .arg(group)
            .arg("0")
            .arg("MKSTREAM");
        match self.query::<()>(&cmd).await {
            Err(BusError::Unavailable(msg)) if msg.contains("BUSYGROUP") => Ok(()),
            other => other,
        }
    }

    /// XACK.
    pub async fn ack(&self, stream: &str, group: &str, ids: &[String]) -> Result<(), BusError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("XACK");
        cmd.arg(stream).arg(group).arg(ids);
        self.query::<i64>(&cmd).await.map(drop)
    }

    /// XAUTOCLAIM from the start of the pending list.
    pub async fn autoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Entry>, BusError> {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(stream)
            .arg(group)
            .arg(consumer)
            .arg(min_idle.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(count);
        let reply: StreamAutoClaimReply = self.query(&cmd).await?;
        Ok(reply
            .claimed
            .into_iter()
            .map(|id| entry(stream, id))
            .collect())
    }

    /// XREADGROUP ... 0: this consumer's pending entries.
    pub async fn pending(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Entry>, BusError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(stream)
            .arg("0");
        let reply: Option<StreamReadReply> = self.query(&cmd).await?;
        Ok(reply.map(entries).unwrap_or_default())
    }

    /// XRANGE - + COUNT n.
    pub async fn range(&self, stream: &str, count: usize) -> Result<Vec<Entry>, BusError> {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(stream).arg("-").arg("+").arg("COUNT").arg(count);
        let reply: StreamRangeReply = self.query(&cmd).await?;
        Ok(reply.ids.into_iter().map(|id| entry(stream, id)).collect())
    }

    /// XDEL.
    pub async fn delete(&self, stream: &str, ids: &[String]) -> Result<usize, BusError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut cmd = redis::cmd("XDEL");
        cmd.arg(stream).arg(ids);
        self.query::<usize>(&cmd).await
    }

    /// XINFO GROUPS lag of one group (0 when unknown).
    pub async fn group_lag(&self, stream: &str, group: &str) -> Result<u64, BusError> {
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("GROUPS").arg(stream);
        let reply: StreamInfoGroupsReply = match self.query(&cmd).await {
            Ok(r) => r,
            Err(BusError::Unavailable(msg)) if msg.contains("no such key") => return Ok(0),
            Err(e) => return Err(e),
        };
        Ok(reply
            .groups
            .iter()
            .find(|g| g.name == group)
            .and_then(|g| g.lag)
            .unwrap_or(0) as u64)
    }

    /// XINFO STREAM as a map; `None` when the stream does not exist.
    async fn info(&self, stream: &str) -> Result<Option<HashMap<String, Value>>, BusError> {
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("STREAM").arg(stream);
        match self.query(&cmd).await {
            Ok(map) => Ok(Some(map)),
            Err(BusError::Unavailable(msg)) if msg.contains("no such key") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The last generated id of a stream ("0-0" when it does not exist).
    pub async fn last_id(&self, stream: &str) -> Result<String, BusError> {
        Ok(self
            .info(stream)
            .await?
            .and_then(|info| text(info.get("last-generated-id")))
            .unwrap_or_else(|| "0-0".to_owned()))
    }

    /// Fails with CursorExpired when entries after `cursor` may have been trimmed: some entry
    /// was ever removed (entries-added > length) and the cursor is older than the first
    /// retained entry, or below the highest deleted id. (Redis 7.0 does not record trims in
    /// max-deleted-entry-id, hence the first rule. A cursor exactly at the last trimmed entry
    /// is reported expired too: a needless resync, never a silent gap.)
    async fn check_cursor(&self, stream: &str, cursor: &str) -> Result<(), BusError> {
        let position = parse_id(cursor).ok_or_else(|| BusError::BadCursor(cursor.to_owned()))?;
        if position == (0, 0) {
            return Ok(());
        }
        let Some(info) = self.info(stream).await? else {
            return Ok(());
        };
        let number = |key: &str| match info.get(key) {
            Some(Value::Int(n)) => Some(*n),
            other => text(other).and_then(|t| t.parse().ok()),
        };
        let id = |key: &str| text(info.get(key)).and_then(|t| parse_id(&t));
        let removed = number("entries-added").unwrap_or(0) > number("length").unwrap_or(0);
        let first = id("recorded-first-entry-id");
        let deleted = id("max-deleted-entry-id");
        let lost = (removed && first.is_some_and(|first| position < first))
            || deleted.is_some_and(|deleted| position < deleted);
        if lost {
            return Err(BusError::CursorExpired {
                stream: stream.to_owned(),
                cursor: cursor.to_owned(),
            });
        }
        Ok(())
    }

    async fn reader(
        &self,
        slot: &mut Option<MultiplexedConnection>,
        block: Duration,
    ) -> Result<MultiplexedConnection, BusError> {
        if let Some(conn) = slot {
            return Ok(conn.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(block + CALL_TIMEOUT));
        let conn = bounded(
            self.client
                .get_multiplexed_async_connection_with_config(&config),
            CALL_TIMEOUT,
        )
        .await?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// XREADGROUP ... BLOCK ms ... >, on the reader's own connection.
    pub async fn read_group(
        &self,
        slot: &mut Option<MultiplexedConnection>,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, BusError> {
        let mut conn = self.reader(slot, block).await?;
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(stream)
            .arg(">");
        let reply: Option<StreamReadReply> =
            bounded(cmd.query_async(&mut conn), block + CALL_TIMEOUT).await?;
        Ok(reply.map(entries).unwrap_or_default())
    }

    /// XREAD ... BLOCK ms STREAMS ... after each cursor, after checking none has expired.
    pub async fn read_after(
        &self,
        slot: &mut Option<MultiplexedConnection>,
        cursors: &[(String, String)],
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, BusError> {
        for (stream, cursor) in cursors {
            if cursor != "$" {
                self.check_cursor(stream, cursor).await?;
            }
        }
        let mut conn = self.reader(slot, block).await?;
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(count);
        // BLOCK 0 would wait forever: zero means "do not wait".
        if !block.is_zero() {
            cmd.arg("BLOCK").arg(block.as_millis() as u64);
        }
        cmd.arg("STREAMS");
        for (stream, _) in cursors {
            cmd.arg(stream);
        }
        for (_, cursor) in cursors {
            cmd.arg(cursor);
        }
        let reply: Option<StreamReadReply> =
            bounded(cmd.query_async(&mut conn), block + CALL_TIMEOUT).await?;
        Ok(reply.map(entries).unwrap_or_default())
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn stream_ids_order_numerically() {
        assert!(parse_id("1700000000000-2") > parse_id("999-5"));
        assert_eq!(parse_id("5"), Some((5, 0)));
        assert_eq!(parse_id("x-1"), None);
    }
}
