#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn memory_entries_lapse_after_the_grace() {
    let list = MemoryDenyList::default();
    let exp = 1_000;
    list.revoke("a", exp + REVOCATION_GRACE_SECS, 900);
    assert!(list.is_revoked("a", 900));
    assert!(list.is_revoked("a", exp + REVOCATION_GRACE_SECS - 1));
    assert!(!list.is_revoked("a", exp + REVOCATION_GRACE_SECS));
    assert!(!list.is_revoked("b", 900));

    // Nothing is stored for a token that can no longer be accepted anyway.
    list.revoke("old", 500, 900);
    assert!(!list.is_revoked("old", 900));
    assert_eq!(list.len(), 1);

    // A second revocation never shortens the first.
    list.revoke("a", 950, 900);
    assert!(list.is_revoked("a", 1_000));
}

#[test]
fn memory_purges_lapsed_entries_as_it_grows() {
    let list = MemoryDenyList::default();
    for i in 0..MIN_PURGE_LEN - 1 {
        list.revoke(&format!("old-{i}"), 1_000, 900);
    }
    assert_eq!(list.len(), MIN_PURGE_LEN - 1);
    // Later, all of those have lapsed; the insert that reaches the threshold sweeps them.
    list.revoke("new", 5_000, 2_000);
    assert_eq!(list.len(), 1);
    assert!(list.is_revoked("new", 2_000));
}

#[tokio::test]
async fn memory_through_the_public_api() {
    let list = DenyList::memory();
    let now = unix_now();
    list.revoke("jti-1", now + 600).await.unwrap();
    assert!(list.is_revoked("jti-1").await.unwrap());
    assert!(!list.is_revoked("jti-2").await.unwrap());
    // Expired beyond the grace: not stored.
    list.revoke("jti-3", now - REVOCATION_GRACE_SECS - 1)
        .await
        .unwrap();
    assert!(!list.is_revoked("jti-3").await.unwrap());
    // Within the grace: still refused, a verifier's leeway could still accept the token.
    list.revoke("jti-4", now - 1).await.unwrap();
    assert!(list.is_revoked("jti-4").await.unwrap());

    assert!(matches!(
        list.revoke("", now).await,
        Err(DenyListError::InvalidJti)
    ));
    assert!(matches!(
        list.is_revoked(&"x".repeat(MAX_JTI_LEN + 1)).await,
        Err(DenyListError::InvalidJti)
    ));
}

#[tokio::test]
async fn redis_revoke_and_lapse() {
    let Ok(url) = std::env::var("CRM_TEST_REDIS_URL") else {
        eprintln!("skipping redis deny list test: CRM_TEST_REDIS_URL is not set");
        return;
    };
    // A prefix of its own, so parallel or repeated runs never see each other's keys.
    let prefix = format!("crm:test:{}:revoked:", uuid::Uuid::now_v7().simple());
    let list = DenyList::redis_with_prefix(&url, &prefix).await.unwrap();
    let now = unix_now();

    list.revoke("jti-1", now + 600).await.unwrap();
    assert!(list.is_revoked("jti-1").await.unwrap());
    assert!(!list.is_revoked("jti-2").await.unwrap());
    list.revoke("jti-3", now - REVOCATION_GRACE_SECS - 1)
        .await
        .unwrap();
    assert!(!list.is_revoked("jti-3").await.unwrap());

    let DenyList::Redis { conn, .. } = &list else {
        panic!("not a redis list");
    };
    let mut conn = conn.clone();
    let key = format!("{prefix}jti-1");
    let expire_at: i64 = redis::cmd("EXPIRETIME")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(expire_at, now + 600 + REVOCATION_GRACE_SECS);

    // Lapses on Redis' own clock: kept until two seconds from now.
    list.revoke("jti-4", now + 2 - REVOCATION_GRACE_SECS)
        .await
        .unwrap();
    assert!(list.is_revoked("jti-4").await.unwrap());
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    assert!(!list.is_revoked("jti-4").await.unwrap());

    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn redis_unreachable_is_an_error() {
    // Port 1 on loopback: refused at once, no network needed.
    let result = DenyList::redis("redis://127.0.0.1:1/").await;
    assert!(matches!(result, Err(DenyListError::Redis(_))));
}
