//! The store: SQL round trips, data scope, conditional writes, the request log.
use super::row;
use crm_customers::access::Reach;
use crm_customers::store::{CustomerRow, MIGRATIONS, NewRequest, Store, Write};
use crm_platform::{
    auth::DataScope,
    db::{Db, DbError},
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    insert_and_get_round_trip,
    scope_hides_rows_outside_it,
    update_checks_version,
    delete_checks_version,
    request_log_is_unique_and_written_with_the_row,
);

async fn insert_and_get_round_trip(db: Db) {
    let store = Store::new(db);
    let mut new = row("Li Na", Some(Uuid::now_v7()), "/g/east/");
    new.phone = Some("+8613812345678".into());
    let stored = insert(&store, &new, None, |_| Vec::new()).await.unwrap();
    assert_eq!(stored, new, "what is written is read back exactly");
    let got = store.get(new.id, &Reach::all()).await.unwrap();
    assert_eq!(got, Some(new));
    assert_eq!(
        store.get(Uuid::now_v7(), &Reach::all()).await.unwrap(),
        None
    );
}

async fn scope_hides_rows_outside_it(db: Db) {
    let store = Store::new(db);
    let alice = Uuid::now_v7();
    let east = row("East Sales", Some(alice), "/g/east/sales/");
    let west = row("West Sales", Some(Uuid::now_v7()), "/g/west/");
    // A unit path with a LIKE wildcard must match literally.
    let tricky = row("Tricky", None, "/g/e_st/");
    for r in [&east, &west, &tricky] {
        insert(&store, r, None, |_| Vec::new()).await.unwrap();
    }
    let visible = |scope: DataScope| {
        let store = store.clone();
        let ids = [east.id, west.id, tricky.id];
        async move {
            let mut seen = Vec::new();
            for id in ids {
                if store
                    .get(id, &Reach::scope(scope.clone()))
                    .await
                    .unwrap()
                    .is_some()
                {
                    seen.push(id);
                }
            }
            seen
        }
    };
    assert_eq!(visible(DataScope::Own(alice)).await, vec![east.id]);
    assert_eq!(
        visible(DataScope::Subtree("/g/east/".into())).await,
        vec![east.id]
    );
    assert_eq!(
        visible(DataScope::Unit("/g/east/".into())).await,
        Vec::<Uuid>::new()
    );
    assert_eq!(
        visible(DataScope::Unit("/g/west/".into())).await,
        vec![west.id]
    );
    assert_eq!(visible(DataScope::All).await.len(), 3);

    // Writes are scoped too: out of scope looks exactly like missing.
    let mut changed = west.clone();
    changed.display_name = "Hijacked".into();
    let outcome = update(&store, &changed, 1, &Reach::scope(DataScope::Own(alice)))
        .await
        .unwrap();
    assert_eq!(outcome, Write::NotFound);
    let outcome = delete(
        &store,
        west.id,
        None,
        &Reach::scope(DataScope::Subtree("/g/east/".into())),
    )
    .await
    .unwrap();
    assert_eq!(outcome, Write::NotFound);
    assert!(store.get(west.id, &Reach::all()).await.unwrap().is_some());
}

async fn update_checks_version(db: Db) {
    let store = Store::new(db);
    let original = row("Wang Fang", None, "/");
    insert(&store, &original, None, |_| Vec::new())
        .await
        .unwrap();
    let mut next = original.clone();
    next.display_name = "Wang Fang (VIP)".into();
    next.email = None;
    next.updated_at = crm_platform::db::now();
    let Write::Done(updated) = update(&store, &next, 1, &Reach::all()).await.unwrap() else {
        panic!("update at the current version must succeed");
    };
    assert_eq!(updated.version, 2);
    assert_eq!(updated.display_name, "Wang Fang (VIP)");
    assert_eq!(updated.email, None);
    assert_eq!(updated.created_at, original.created_at);
    // The same write again is now stale.
    assert_eq!(
        update(&store, &next, 1, &Reach::all()).await.unwrap(),
        Write::Conflict
    );
    let mut missing = next.clone();
    missing.id = Uuid::now_v7();
    assert_eq!(
        update(&store, &missing, 1, &Reach::all()).await.unwrap(),
        Write::NotFound
    );
}

async fn delete_checks_version(db: Db) {
    let store = Store::new(db);
    let r = row("Zhang Wei", None, "/");
    insert(&store, &r, None, |_| Vec::new()).await.unwrap();
    assert_eq!(
        delete(&store, r.id, Some(7), &Reach::all()).await.unwrap(),
        Write::Conflict
    );
    assert!(store.get(r.id, &Reach::all()).await.unwrap().is_some());
    assert_eq!(
        delete(&store, r.id, Some(1), &Reach::all()).await.unwrap(),
        Write::Done(r.clone())
    );
    assert_eq!(store.get(r.id, &Reach::all()).await.unwrap(), None);
    assert_eq!(
        delete(&store, r.id, None, &Reach::all()).await.unwrap(),
        Write::NotFound
    );
}

async fn request_log_is_unique_and_written_with_the_row(db: Db) {
    let store = Store::new(db);
    let first = row("First", None, "/");
    let req = || NewRequest {
        request_id: "req-1",
        method: "CreateCustomer",
        fingerprint: "abc",
    };
    insert(&store, &first, Some(req()), |r| r.id.as_bytes().to_vec())
        .await
        .unwrap();
    use crm_platform::idempotency::{Replay, lookup};
    let replay = lookup(store.db(), "CreateCustomer", "req-1", "abc")
        .await
        .unwrap();
    assert_eq!(replay, Replay::Again(first.id.as_bytes().to_vec()));
    assert_eq!(
        lookup(store.db(), "CreateCustomer", "req-1", "other")
            .await
            .unwrap(),
        Replay::Reused
    );
    assert_eq!(
        lookup(store.db(), "CreateCustomer", "req-2", "abc")
            .await
            .unwrap(),
        Replay::First
    );

    // A second insert with the same request id fails as a whole: no second customer.
    let second = row("Second", None, "/");
    let err = insert(&store, &second, Some(req()), |_| Vec::new())
        .await
        .unwrap_err();
    assert!(err.is_unique("request_log"), "{err:?}");
    assert_eq!(store.get(second.id, &Reach::all()).await.unwrap(), None);
}

// The store writes inside the caller's transaction; these run one write per transaction and
// commit it when it succeeded.
async fn insert(
    store: &Store,
    row: &CustomerRow,
    request: Option<NewRequest<'_>>,
    encode: impl Fn(&CustomerRow) -> Vec<u8>,
) -> Result<CustomerRow, DbError> {
    let mut tx = store.db().begin().await?;
    let stored = store.insert(&mut tx, row, request, encode).await?;
    tx.commit().await?;
    Ok(stored)
}

async fn update(
    store: &Store,
    row: &CustomerRow,
    version: i64,
    scope: &Reach,
) -> Result<Write<CustomerRow>, DbError> {
    let mut tx = store.db().begin().await?;
    let outcome = store.update(&mut tx, row, version, scope).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn delete(
    store: &Store,
    id: Uuid,
    version: Option<i64>,
    scope: &Reach,
) -> Result<Write<CustomerRow>, DbError> {
    let mut tx = store.db().begin().await?;
    let outcome = store.delete(&mut tx, id, version, scope).await?;
    tx.commit().await?;
    Ok(outcome)
}
