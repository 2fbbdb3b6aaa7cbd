//! The event bus: Redis Streams in production, an in-process imitation in `crm dev`. Both have
//! the same semantics (consumer groups, pending entries, claiming, trimming), so relays,
//! consumers and the change stream run unchanged on either.
use super::{BusConfig, memory::MemoryBus, redis_bus::RedisBus};
use std::time::Duration;

pub use super::memory::Entry;

/// Why the bus could not serve a call.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis is unreachable or refused the command; retry later.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    /// Events after the cursor were trimmed: the reader fell behind the retention.
    #[error("cursor {cursor} of stream {stream} is older than the retained events")]
    CursorExpired {
        /// The stream.
        stream: String,
        /// The cursor.
        cursor: String,
    },
    /// The cursor is not a stream id.
    #[error("malformed cursor {0}")]
    BadCursor(String),
}

impl From<super::memory::MemError> for BusError {
    fn from(e: super::memory::MemError) -> Self {
        match e {
            super::memory::MemError::CursorExpired { stream, cursor } => {
                BusError::CursorExpired { stream, cursor }
            }
            super::memory::MemError::BadId(id) => BusError::BadCursor(id),
        }
    }
}

/// Where events travel. Clones share the bus.
#[derive(Clone)]
pub enum Bus {
    /// Redis Streams, shared by every process.
    Redis(RedisBus),
    /// In-process streams: only services in this process see them (`crm dev`, tests).
    Memory(MemoryBus),
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the Redis URL: it may carry a password.
        write!(f, "Bus({})", self.kind())
    }
}

/// Entries kept per stream by the in-process bus.
const MEMORY_MAX_LEN: usize = 100_000;

impl Bus {
    /// Redis when `events.redis_url` is set, otherwise the in-process bus.
    pub fn from_config(config: &BusConfig) -> Result<Bus, BusError> {
        match &config.redis_url {
            Some(url) => Ok(Bus::Redis(RedisBus::new(
                url.expose(),
                config.retention(),
                config.max_len,
            )?)),
            None => Ok(Bus::memory()),
        }
    }

    /// A new in-process bus.
    pub fn memory() -> Bus {
        Bus::Memory(MemoryBus::new(MEMORY_MAX_LEN))
    }

    /// "redis" or "memory", for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Bus::Redis(_) => "redis",
            Bus::Memory(_) => "memory",
        }
    }

    /// Appends payloads to a stream, all or none, trimming what is older than the retention.
    pub async fn append(
        &self,
        stream: &str,
        payloads: &[Vec<u8>],
    ) -> Result<Vec<String>, BusError> {
        match self {
            Bus::Redis(r) => r.append(stream, payloads).await,
            Bus::Memory(m) => Ok(m.append(stream, payloads)),
        }
    }

    /// Creates a consumer group reading the stream from its oldest retained entry.
    pub async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), BusError> {
        match self {
            Bus::Redis(r) => r.ensure_group(stream, group).await,
            Bus::Memory(m) => {
                m.ensure_group(stream, group);
                Ok(())
            }
        }
    }

    /// A reader for blocking reads; with Redis it owns a connection, since a blocked read
    /// would stall every other command on a shared one.
    pub fn reader(&self) -> Reader {
        Reader {
            bus: self.clone(),
            conn: None,
        }
    }

    /// Acknowledges handled entries.
    pub async fn ack(&self, stream: &str, group: &str, ids: &[String]) -> Result<(), BusError> {
        match self {
            Bus::Redis(r) => r.ack(stream, group, ids).await,
            Bus::Memory(m) => {
                m.ack(stream, group, ids);
                Ok(())
            }
        }
    }

    /// Takes over entries pending longer than `min_idle` for any consumer of the group.
    pub async fn autoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Entry>, BusError> {
        match self {
            Bus::Redis(r) => r.autoclaim(stream, group, consumer, min_idle, count).await,
            Bus::Memory(m) => Ok(m.autoclaim(stream, group, consumer, min_idle, count)),
        }
    }

    /// Entries delivered to this consumer and not yet acknowledged (after a restart).
    pub async fn pending(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Entry>, BusError> {
        match self {
            Bus::Redis(r) => r.pending(stream, group, consumer, count).await,
            Bus::Memory(m) => Ok(m.pending(stream, group, consumer, count)),
        }
    }

    /// The oldest retained entries of a stream (dead letters).
    pub async fn range(&self, stream: &str, count: usize) -> Result<Vec<Entry>, BusError> {
        match self {
            Bus::Redis(r) => r.range(stream, count).await,
            Bus::Memory(m) => Ok(m.range(stream, count)),
        }
    }

    /// Deletes entries.
    pub async fn delete(&self, stream: &str, ids: &[String]) -> Result<usize, BusError> {
        match self {
            Bus::Redis(r) => r.delete(stream, ids).await,
            Bus::Memory(m) => Ok(m.delete(stream, ids)),
        }
    }

    /// Entries the group has not been given yet.
    pub async fn group_lag(&self, stream: &str, group: &str) -> Result<u64, BusError> {
        match self {
            Bus::Redis(r) => r.group_lag(stream, group).await,
            Bus::Memory(m) => Ok(m.group_lag(stream, group)),
        }
    }

    /// The id of the last entry appended to a stream ("0-0" when empty).
    pub async fn last_id(&self, stream: &str) -> Result<String, BusError> {
        match self {
            Bus::Redis(r) => r.last_id(stream).await,
            Bus::Memory(m) => Ok(m.last_id(stream)),
        }
    }
}

/// Blocking reads on a bus, with their own connection.
pub struct Reader {
    bus: Bus,
    conn: Option<redis::aio::MultiplexedConnection>,
}

impl Reader {
    /// New entries for this consumer of the group (they become pending until acknowledged),
    /// waiting up to `block` for some.
    pub async fn read_group(
        &mut self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, BusError> {
        match &self.bus {
            Bus::Redis(r) => {
                let result = r
                    .read_group(&mut self.conn, stream, group, consumer, count, block)
                    .await;
                if result.is_err() {
                    self.conn = None;
                }
                result
            }
            Bus::Memory(m) => Ok(m.read_group(stream, group, consumer, count, block).await),
        }
    }

    /// Entries after each stream's cursor ("$": from now; "0": from the oldest), waiting up to
    /// `block` for some.
    pub async fn read_after(
        &mut self,
        cursors: &[(String, String)],
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, BusError> {
        match &self.bus {
            Bus::Redis(r) => {
                let result = r.read_after(&mut self.conn, cursors, count, block).await;
                if matches!(result, Err(BusError::Unavailable(_))) {
                    self.conn = None;
                }
                result
            }
            Bus::Memory(m) => Ok(m.read_after(cursors, count, block).await?),
        }
    }
}
