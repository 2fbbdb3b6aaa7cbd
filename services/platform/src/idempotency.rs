//! Idempotent writes (AIP-155): a request id's first result is stored with a fingerprint of the
//! request, so a retry gets the same answer and a different request reusing the id is refused.

/// Longest accepted request id.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A stable 64-bit FNV-1a hash, hex encoded. Stable across Rust releases and platforms, unlike
/// `std`'s `DefaultHasher`, because fingerprints are stored and compared later.
pub fn fingerprint(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a64(bytes))
}

/// 64-bit FNV-1a.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Checks a caller's request id: empty means "not idempotent", otherwise printable ASCII
/// without spaces, at most [`MAX_REQUEST_ID_LEN`] characters.
pub fn check_request_id(id: &str) -> Result<Option<&str>, &'static str> {
    if id.is_empty() {
        return Ok(None);
    }
    if id.len() > MAX_REQUEST_ID_LEN {
        return Err("must be at most 128 characters");
    }
    if !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces (a UUID is recommended)");
    }
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_known_values() {
        // Reference values of FNV-1a 64.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fingerprint(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn request_ids() {
        assert_eq!(check_request_id(""), Ok(None));
        assert_eq!(check_request_id("abc-1"), Ok(Some("abc-1")));
        assert!(check_request_id("a b").is_err());
        assert!(check_request_id(&"x".repeat(129)).is_err());
    }
}

/// The first result of a request id, as stored in a service's `request_log` table.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RequestRecord {
    /// The RPC it belongs to.
    pub method: String,
    /// Hash of the request, to tell a retry from a different request reusing the id.
    pub fingerprint: String,
    /// The encoded response.
    pub response: Vec<u8>,
}

/// What to do with an idempotent request.
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    /// Not seen before: do it.
    First,
    /// A retry: answer with the stored response.
    Again(Vec<u8>),
    /// The id was used for a different request: refuse.
    Reused,
}

/// Looks a request id up in the service's `request_log`.
pub async fn lookup(
    db: &crate::db::Db,
    method: &str,
    request_id: &str,
    fingerprint: &str,
) -> Result<Replay, crate::db::DbError> {
    const SQL: &str = "SELECT method, fingerprint, response FROM request_log WHERE request_id = $1";
    let record: Option<RequestRecord> = crate::with_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(request_id)
        .fetch_optional(pool)
        .await)?;
    Ok(match record {
        None => Replay::First,
        Some(r) if r.method == method && r.fingerprint == fingerprint => Replay::Again(r.response),
        Some(_) => Replay::Reused,
    })
}

/// The one statement that records a request id.
const INSERT: &str = "INSERT INTO request_log (request_id, method, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5)";

/// Stores the first response of a request id. A concurrent retry that stored first wins; that
/// is not an error.
pub async fn remember(
    db: &crate::db::Db,
    request_id: &str,
    method: &str,
    fingerprint: &str,
    response: &[u8],
) -> Result<(), crate::db::DbError> {
    let result = crate::with_pool!(db, |pool| sqlx::query(INSERT)
        .bind(request_id)
        .bind(method)
        .bind(fingerprint)
        .bind(response)
        .bind(crate::db::now())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()));
    match result.map_err(crate::db::DbError::from) {
        Ok(_) | Err(crate::db::DbError::UniqueViolation { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The stored response of a request whose write committed but whose response is not recorded
/// yet (the process stopped in between). No protobuf message starts with a zero byte: field
/// number 0 does not exist.
pub const PENDING: &[u8] = &[0];

/// The request id a handler runs under (see [`claiming`]).
struct Claim {
    request_id: String,
    method: String,
    fingerprint: String,
    claimed: std::cell::Cell<bool>,
}

tokio::task_local! {
    static CLAIM: Claim;
}

/// Runs `work` so that the first transaction it commits also records the request id (as
/// [`PENDING`]): the write and the record commit together, so a retry can never write twice.
/// Returns the work's result and whether the record was written.
pub async fn claiming<T>(
    request_id: &str,
    method: &str,
    fingerprint: &str,
    work: impl Future<Output = T>,
) -> (T, bool) {
    let claim = Claim {
        request_id: request_id.to_owned(),
        method: method.to_owned(),
        fingerprint: fingerprint.to_owned(),
        claimed: std::cell::Cell::new(false),
    };
    CLAIM
        .scope(claim, async {
            let out = work.await;
            (out, CLAIM.with(|c| c.claimed.get()))
        })
        .await
}

/// Called by [`crate::db::Tx::commit`]: inside [`claiming`], records the request id in the
/// committing transaction, once. A concurrent retry that recorded it first makes this a unique
/// violation, and the transaction (with its write) fails.
pub(crate) async fn claim(tx: &mut crate::db::Tx) -> Result<(), crate::db::DbError> {
    let pending = CLAIM
        .try_with(|c| {
            (!c.claimed.get()).then(|| {
                (
                    c.request_id.clone(),
                    c.method.clone(),
                    c.fingerprint.clone(),
                )
            })
        })
        .ok()
        .flatten();
    let Some((request_id, method, fingerprint)) = pending else {
        return Ok(());
    };
    let now = crate::db::now();
    crate::with_tx!(tx, |conn| sqlx::query(INSERT)
        .bind(&request_id)
        .bind(&method)
        .bind(&fingerprint)
        .bind(PENDING)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(drop))?;
    CLAIM.with(|c| c.claimed.set(true));
    Ok(())
}

/// Records the response of a request: over its [`PENDING`] record when the write claimed one,
/// else as a new record (work that committed no transaction of its own).
pub async fn record_response(
    db: &crate::db::Db,
    request_id: &str,
    method: &str,
    fingerprint: &str,
    response: &[u8],
    claimed: bool,
) -> Result<(), crate::db::DbError> {
    if !claimed {
        return remember(db, request_id, method, fingerprint, response).await;
    }
    const SQL: &str = "UPDATE request_log SET response = $1 WHERE request_id = $2 AND method = $3";
    crate::with_pool!(db, |pool| sqlx::query(SQL)
        .bind(response)
        .bind(request_id)
        .bind(method)
        .execute(pool)
        .await
        .map(drop))?;
    Ok(())
}
