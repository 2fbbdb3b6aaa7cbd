//! Purchase history: recording (retries, refunds, conflicts), the classification it drives,
//! the events of what changed, and the history's paging and scope.
use crm_customers::{
    domain::Kind,
    error::Error,
    events::{STAGE_CHANGED, TIER_CHANGED, TRANSACTION_RECORDED},
    service::{Changes, Customers, ListParams},
    store::{MIGRATIONS, Store},
    transactions::{Item, NewTransaction, Recorded},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    purchases_move_the_stage_and_tier_and_emit_what_changed,
    retries_refunds_and_conflicting_orders,
    history_is_newest_first_paged_and_scoped,
    the_daily_job_moves_stages_with_time_in_batches,
    lifetime_value_follows_purchases_and_refunds_and_filters_lists,
);

async fn customer(c: &Customers) -> Uuid {
    super::new_customer(c, &Principal::system(), "Buyer", Kind::Person).await
}

fn order(reference: &str, days_ago: i64, amount_minor: i64) -> NewTransaction {
    let at = crm_platform::db::now() - chrono::Duration::days(days_ago);
    NewTransaction {
        order_reference: reference.into(),
        order_time: at,
        amount_minor,
        currency: "CNY".into(),
        items: vec![Item {
            product: "Tea, 250 g".into(),
            quantity: 2,
            unit_price_minor: Some(amount_minor / 2),
        }],
        channel: Some("E_COMMERCE"),
        status: "COMPLETED",
    }
}

async fn stored(c: &Customers, id: Uuid, t: NewTransaction) -> crm_customers::store::CustomerRow {
    match c
        .record_transaction(&Principal::system(), id, t)
        .await
        .unwrap()
    {
        Recorded::Stored(_, customer) => *customer,
        Recorded::Unchanged(_) => panic!("expected a change"),
    }
}

async fn event_types(db: &Db) -> Vec<String> {
    super::outbox(db)
        .await
        .into_iter()
        .map(|e| e.r#type)
        .collect()
}

async fn purchases_move_the_stage_and_tier_and_emit_what_changed(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let id = customer(&c).await;
    let before = event_types(&db).await.len();

    let first = stored(&c, id, order("SO-1", 10, 5_000)).await;
    assert_eq!(
        (first.lifecycle_stage.as_str(), first.value_tier.as_str()),
        ("NEW", "C")
    );
    let second = stored(&c, id, order("SO-2", 5, 5_000)).await;
    assert_eq!(second.lifecycle_stage, "ACTIVE");
    assert!(
        second.version > first.version,
        "a reclassified customer has a new etag"
    );
    // A whale: many large recent orders make tier A.
    let mut last = second;
    for i in 0..12 {
        last = stored(&c, id, order(&format!("SO-W{i}"), 1, 200_000)).await;
    }
    assert_eq!(last.value_tier, "A");

    let types = event_types(&db).await[before..].to_vec();
    let count = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(count(TRANSACTION_RECORDED), 14);
    assert_eq!(
        count(STAGE_CHANGED),
        2,
        "PROSPECT → NEW → ACTIVE: {types:?}"
    );
    assert!(count(TIER_CHANGED) >= 1, "C → … → A: {types:?}");

    // A pinned stage stays; the tier still follows purchases.
    let pin = Changes {
        profile: crm_customers::profile::Profile {
            lifecycle_stage: Some("AT_RISK"),
            ..Default::default()
        },
        profile_fields: vec!["lifecycle_stage".into()],
        ..Changes::default()
    };
    c.update(&Principal::system(), id, None, pin).await.unwrap();
    let after = stored(&c, id, order("SO-3", 0, 1_000)).await;
    assert_eq!(after.lifecycle_stage, "AT_RISK");
    assert!(after.stage_pinned);
}

async fn retries_refunds_and_conflicting_orders(db: Db) {
    let c = Customers::new(Store::new(db));
    let id = customer(&c).await;
    let sys = Principal::system();
    let sale = order("SO-9", 3, 12_345);
    stored(&c, id, sale.clone()).await;
    // A retry of the same order changes nothing.
    assert!(matches!(
        c.record_transaction(&sys, id, sale.clone()).await.unwrap(),
        Recorded::Unchanged(_)
    ));
    // The same reference with other values is refused, not merged.
    let mut other = sale.clone();
    other.amount_minor = 99;
    assert!(matches!(
        c.record_transaction(&sys, id, other).await,
        Err(Error::AlreadyExists(_))
    ));
    // The refund of the only purchase makes the customer a prospect again.
    let refund = NewTransaction {
        status: "REFUNDED",
        ..sale
    };
    let customer = stored(&c, id, refund).await;
    assert_eq!(customer.lifecycle_stage, "PROSPECT");
    let (history, _) = c
        .list_transactions(&sys, id, &ListParams::default())
        .await
        .unwrap();
    assert_eq!(
        history.len(),
        1,
        "a refund changes the order, it adds no row"
    );
    assert_eq!(history[0].status, "REFUNDED");
    assert_eq!(history[0].amount_minor, 12_345);
}

async fn history_is_newest_first_paged_and_scoped(db: Db) {
    let c = Customers::new(Store::new(db));
    let id = customer(&c).await;
    for i in 0..7 {
        stored_or_same(&c, id, order(&format!("SO-{i}"), i, 100)).await;
    }
    let sys = Principal::system();
    let mut params = ListParams {
        page_size: 3,
        ..ListParams::default()
    };
    let mut seen = Vec::new();
    loop {
        let (rows, next) = c.list_transactions(&sys, id, &params).await.unwrap();
        seen.extend(rows.into_iter().map(|r| r.order_reference));
        if next.is_empty() {
            break;
        }
        params.page_token = next;
    }
    let expected: Vec<String> = (0..7).map(|i| format!("SO-{i}")).collect();
    assert_eq!(seen, expected, "newest order first, each once");

    let stranger = Principal {
        subject: Subject::User(Uuid::now_v7()),
        scopes: [("customers".to_owned(), DataScope::Unit("/g/west/".into()))].into(),
        unit_path: "/g/west/".into(),
        ..Principal::system()
    };
    assert!(matches!(
        c.list_transactions(&stranger, id, &ListParams::default())
            .await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        c.record_transaction(&stranger, id, order("SO-X", 0, 1))
            .await,
        Err(Error::NotFound(_))
    ));
}

async fn stored_or_same(c: &Customers, id: Uuid, t: NewTransaction) {
    c.record_transaction(&Principal::system(), id, t)
        .await
        .unwrap();
}

async fn the_daily_job_moves_stages_with_time_in_batches(db: Db) {
    use crm_customers::{
        classification::ClassificationConfig,
        jobs::{self, Jobs},
    };
    use crm_platform::events::timers::TimerWorker;
    let c = Customers::new(Store::new(db.clone()));
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = customer(&c).await;
        stored(&c, id, order(&format!("SO-{i}"), 10, 1_000)).await;
        ids.push(id);
    }
    let prospect = customer(&c).await; // no purchases: the job leaves it alone
    // Ten days on, with thresholds of 5 and 8 days, every buyer has churned.
    let config = ClassificationConfig {
        at_risk_after_days: 5,
        churned_after_days: 8,
        ..ClassificationConfig::default()
    };
    let now = crm_platform::db::now();
    jobs::register(&db, now).await.unwrap();
    jobs::register(&db, now + chrono::Duration::days(3))
        .await
        .unwrap(); // idempotent
    let worker = TimerWorker::new(db.clone(), std::time::Duration::from_millis(10));
    let handler = Jobs::new(config).with_batch(2);
    let mut rounds = 0;
    loop {
        let due = worker.claim().await.unwrap();
        if due.is_empty() {
            break;
        }
        for timer in &due {
            assert!(worker.fire(timer, &handler).await.unwrap());
        }
        rounds += 1;
        assert!(rounds < 10, "the job must end");
    }
    assert_eq!(rounds, 2, "3 customers in batches of 2");
    for id in ids {
        let row = c.get(&Principal::system(), id).await.unwrap();
        assert_eq!(row.lifecycle_stage, "CHURNED");
    }
    let row = c.get(&Principal::system(), prospect).await.unwrap();
    assert_eq!(row.lifecycle_stage, "PROSPECT");
    // The job is scheduled again for the next day, from the start.
    let (due, payload): (chrono::DateTime<chrono::Utc>, Vec<u8>) =
        crm_platform::with_pool!(&db, |pool| sqlx::query_as(
            "SELECT due_at, payload FROM timers WHERE kind = 'customers.reclassify'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
    assert_eq!(due, jobs::next_run(now));
    assert!(payload.is_empty());
    let churned = event_types(&db)
        .await
        .iter()
        .filter(|t| *t == STAGE_CHANGED)
        .count();
    assert_eq!(churned, 3 + 3, "NEW on the purchase, CHURNED by the job");
}

async fn lifetime_value_follows_purchases_and_refunds_and_filters_lists(db: Db) {
    let c = Customers::new(Store::new(db));
    let (big, small) = (customer(&c).await, customer(&c).await);
    let first = order("SO-1", 3, 120_000);
    stored(&c, big, first.clone()).await;
    let row = stored(&c, big, order("SO-2", 2, 80_000)).await;
    assert_eq!(row.lifetime_value_minor, 200_000);
    let row = stored(&c, small, order("SO-3", 1, 5_000)).await;
    assert_eq!(row.lifetime_value_minor, 5_000);
    // A refund takes its order out.
    let refund = NewTransaction {
        status: "REFUNDED",
        ..first
    };
    let row = stored(&c, big, refund).await;
    assert_eq!(row.lifetime_value_minor, 80_000);
    let list = |filter: &str, order_by: &str| {
        let c = c.clone();
        let params = ListParams {
            filter: filter.into(),
            order_by: order_by.into(),
            ..ListParams::default()
        };
        async move {
            let (rows, _) = c.list(&Principal::system(), &params).await.unwrap();
            rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(list("lifetime_value >= 50000", "").await, [big]);
    assert_eq!(
        list("lifetime_value > 0", "lifetime_value").await,
        [small, big]
    );
}
