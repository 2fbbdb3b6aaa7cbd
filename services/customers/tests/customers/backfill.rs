//! The derived-data backfill (issue 14): customers loaded in bulk without search documents or
//! duplicate keys get both, in id order across batches, set-based, and are then found by search
//! and by the duplicate check exactly like customers written through the API.
use crm_customers::{
    backfill::{Throttle, pending, run},
    duplicates::{KEYS_VERSION, key_hashes},
    store::{MIGRATIONS, Store},
};
use crm_platform::{auth::Principal, db::Db, with_pool};

crm_platform::backend_tests!(MIGRATIONS;
    bulk_loaded_customers_get_documents_and_keys_in_batches,
);

async fn exec(db: &Db, sql: &str) {
    with_pool!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
}

async fn bulk_loaded_customers_get_documents_and_keys_in_batches(db: Db) {
    let c = crm_customers::service::Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let mut ids = Vec::new();
    for i in 0..25 {
        let name = format!("Backfill Person {i:02}");
        ids.push(crate::new_customer(&c, &sys, &name, crm_customers::domain::Kind::Person).await);
    }
    let twin = crate::new_customer(&c, &sys, "张伟", crm_customers::domain::Kind::Person).await;
    // As a bulk load leaves them: no documents, no keys.
    exec(&db, "UPDATE customers SET search_doc = ''").await;
    exec(&db, "DELETE FROM customer_match_keys").await;
    assert_eq!(pending(&db).await.unwrap(), 26);

    let cfg = crm_dedup::Config::default();
    let throttle = Throttle {
        batch: 7,
        ..Throttle::default()
    };
    assert_eq!(
        run(&db, &cfg, throttle).await.unwrap(),
        26,
        "batches of 7 cover all 26"
    );
    assert_eq!(pending(&db).await.unwrap(), 0);
    assert_eq!(
        run(&db, &cfg, throttle).await.unwrap(),
        0,
        "nothing left: a second run is a no-op"
    );

    // The keys are exactly those a write makes, and search finds the customers again.
    for id in ids.iter().chain([&twin]) {
        let row = c.get(&sys, *id).await.unwrap();
        let want = key_hashes(&crm_customers::duplicates::record_of(&row), &cfg).all();
        let mut got: Vec<i64> = with_pool!(&db, |pool| sqlx::query_scalar(
            "SELECT key_hash FROM customer_match_keys WHERE customer_id = $1"
        )
        .bind(*id)
        .fetch_all(pool)
        .await)
        .unwrap();
        got.sort_unstable();
        assert_eq!(got, want, "{}", row.display_name);
    }
    let docs: Vec<String> = with_pool!(&db, |pool| sqlx::query_scalar(
        "SELECT search_doc FROM customers"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert!(docs.iter().all(|d| !d.is_empty() && d != "-"), "{docs:?}");
    let hits = c.search(&sys, "张伟", 10).await.unwrap();
    assert_eq!(
        hits.first().map(|h| h.row.id),
        Some(twin),
        "found by search again"
    );
    let again = c.get(&sys, twin).await.unwrap();
    let check = c
        .check_duplicates(
            &sys,
            &crm_customers::store::CustomerRow {
                id: uuid::Uuid::now_v7(),
                ..again
            },
        )
        .await
        .unwrap();
    assert!(
        check.candidates.iter().any(|cand| cand.id == twin),
        "the duplicate check finds it by its backfilled keys: {check:?}"
    );

    // A change of the key rules re-keys every customer once, then records the version.
    exec(&db, "UPDATE derived_versions SET version = 0").await;
    assert_eq!(pending(&db).await.unwrap(), 26);
    assert_eq!(run(&db, &cfg, throttle).await.unwrap(), 26);
    let version: i32 = with_pool!(&db, |pool| sqlx::query_scalar(
        "SELECT version FROM derived_versions WHERE name = 'match_keys'"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(version, KEYS_VERSION);
    assert_eq!(pending(&db).await.unwrap(), 0);
}
