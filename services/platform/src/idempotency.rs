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

/// Stores the first response of a request id. A concurrent retry that stored first wins; that
/// is not an error.
pub async fn remember(
    db: &crate::db::Db,
    request_id: &str,
    method: &str,
    fingerprint: &str,
    response: &[u8],
) -> Result<(), crate::db::DbError> {
    const SQL: &str = "INSERT INTO request_log (request_id, method, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5)";
    let result = crate::with_pool!(db, |pool| sqlx::query(SQL)
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
