//! Revoked token ids (logout, revoke). An entry lives as long as its token could still be
//! accepted, then disappears by itself, so the list stays as small as the set of live revoked
//! tokens.
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

#[cfg(test)]
mod tests;

/// Seconds an entry outlives its token's `exp`. A verifier accepts a token up to its leeway
/// past `exp`, so a revocation dropped exactly at `exp` would let the token back in for that
/// window; this must be at least the leeway of every verifier (default 30 s).
pub const REVOCATION_GRACE_SECS: i64 = 60;

/// Key prefix of revoked ids in Redis.
pub const DEFAULT_REDIS_PREFIX: &str = "crm:revoked:";

/// Longest token id accepted: ours are 36-character UUIDs; the cap keeps an odd caller from
/// storing arbitrary blobs.
const MAX_JTI_LEN: usize = 128;

/// The memory list purges expired entries once it has grown to this many entries, then again
/// each time it doubles: amortised O(1) per revocation, no background task.
const MIN_PURGE_LEN: usize = 1024;

/// Redis is on the request path of every authenticated call: fail fast rather than hang.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Reconnection attempts before a connect fails. The manager's default (6, exponential backoff)
/// holds every caller for several seconds while Redis is down; a few quick attempts suffice.
const REDIS_RETRIES: usize = 2;
const REDIS_MAX_RETRY_DELAY: Duration = Duration::from_millis(500);
/// Bound on one deny-list call, reconnection included: callers waiting on a reconnect would
/// otherwise be held for the whole retry schedule.
const REDIS_CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the deny list could not answer.
#[derive(Debug, thiserror::Error)]
pub enum DenyListError {
    /// The token id is empty or too long.
    #[error("invalid token id")]
    InvalidJti,
    /// Redis could not be reached or refused the command. Callers should fail closed.
    #[error("deny list unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within the call timeout (reconnecting, overloaded).
    #[error("deny list did not answer in time")]
    Timeout,
}

/// Revoked token ids (logout, revoke), kept until the token would have expired anyway.
#[derive(Clone)]
pub enum DenyList {
    /// In-process: for tests, development and single-replica deployments. Clones share it.
    Memory(std::sync::Arc<MemoryDenyList>),
    /// Shared by every replica.
    Redis {
        /// Reconnects by itself after a Redis restart.
        conn: redis::aio::ConnectionManager,
        /// Prepended to each token id to form its key.
        prefix: String,
    },
}

/// The in-process store: token id → unix second at which the entry lapses.
#[derive(Debug, Default)]
pub struct MemoryDenyList {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    entries: HashMap<String, i64>,
    purge_at_len: usize,
}

impl DenyList {
    /// An empty in-process list.
    pub fn memory() -> DenyList {
        DenyList::Memory(std::sync::Arc::default())
    }

    /// A list in the Redis at `url`, keys `crm:revoked:{jti}`.
    pub async fn redis(url: &str) -> Result<DenyList, DenyListError> {
        DenyList::redis_with_prefix(url, DEFAULT_REDIS_PREFIX).await
    }

    /// A list in the Redis at `url` under another key prefix (tests, several environments
    /// sharing one Redis).
    pub async fn redis_with_prefix(url: &str, prefix: &str) -> Result<DenyList, DenyListError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_CONNECT_TIMEOUT))
            .set_response_timeout(Some(REDIS_RESPONSE_TIMEOUT))
            .set_number_of_retries(REDIS_RETRIES)
            .set_max_delay(REDIS_MAX_RETRY_DELAY);
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(DenyList::Redis {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    /// Revokes token `jti`, whose `exp` is `expires_at` (unix seconds). The entry is kept
    /// [`REVOCATION_GRACE_SECS`] past that; a token already beyond it needs no entry.
    pub async fn revoke(&self, jti: &str, expires_at: i64) -> Result<(), DenyListError> {
        check_jti(jti)?;
        let keep_until = expires_at.saturating_add(REVOCATION_GRACE_SECS);
        let now = unix_now();
        match self {
            DenyList::Memory(list) => {
                list.revoke(jti, keep_until, now);
                Ok(())
            }
            DenyList::Redis { conn, prefix } => {
                // Skipped rather than sent: Redis would delete the key at once anyway, and
                // SET with an expiry in the past is an edge case best not relied on.
                if keep_until <= now {
                    return Ok(());
                }
                // EXAT, not EX: the lapse time is absolute (the token's exp), so a slow round
                // trip cannot stretch or shorten it.
                let mut conn = conn.clone();
                let mut set = redis::cmd("SET");
                set.arg(format!("{prefix}{jti}"))
                    .arg(1)
                    .arg("EXAT")
                    .arg(keep_until);
                bounded(set.query_async::<()>(&mut conn)).await
            }
        }
    }

    /// Whether token `jti` is revoked.
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, DenyListError> {
        check_jti(jti)?;
        match self {
            DenyList::Memory(list) => Ok(list.is_revoked(jti, unix_now())),
            DenyList::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let mut exists = redis::cmd("EXISTS");
                exists.arg(format!("{prefix}{jti}"));
                bounded(exists.query_async::<bool>(&mut conn)).await
            }
        }
    }
}

impl MemoryDenyList {
    /// Records `jti` until `keep_until`, `now` being the current unix second.
    fn revoke(&self, jti: &str, keep_until: i64, now: i64) {
        if keep_until <= now {
            return;
        }
        let mut state = self.lock();
        let until = state.entries.entry(jti.to_owned()).or_insert(keep_until);
        // Revoking twice keeps the later lapse time, like a second SET in Redis would.
        *until = (*until).max(keep_until);
        if state.entries.len() >= state.purge_at_len.max(MIN_PURGE_LEN) {
            state.entries.retain(|_, until| *until > now);
            state.purge_at_len = state.entries.len().saturating_mul(2);
        }
    }

    /// Whether `jti` is revoked at `now`. An entry is gone from its lapse second on, as a Redis
    /// key with EXAT is.
    fn is_revoked(&self, jti: &str, now: i64) -> bool {
        self.lock()
            .entries
            .get(jti)
            .is_some_and(|until| *until > now)
    }

    /// Entries held, lapsed ones included until the next purge.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no entries are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters (each operation is one insert or one retain), so keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One Redis call, cut off after [`REDIS_CALL_TIMEOUT`].
async fn bounded<T>(call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, DenyListError> {
    match tokio::time::timeout(REDIS_CALL_TIMEOUT, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(DenyListError::Timeout),
    }
}

fn check_jti(jti: &str) -> Result<(), DenyListError> {
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(DenyListError::InvalidJti);
    }
    Ok(())
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
