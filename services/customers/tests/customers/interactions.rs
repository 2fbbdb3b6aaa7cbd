//! The timeline, the summary, and batch reads.
use crm_customers::{
    domain::Kind,
    error::Error,
    interactions::NewInteraction,
    reminders::{NewReminder, ReminderChanges},
    service::{Customers, ListParams},
    store::{MIGRATIONS, Store},
    transactions::NewTransaction,
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    the_timeline_is_newest_first_and_paged,
    the_summary_counts_what_is_known,
    batch_get_keeps_the_order_and_refuses_what_is_missing_or_hidden,
);

fn user() -> Principal {
    let id = Uuid::now_v7();
    Principal {
        subject: Subject::User(id),
        unit_path: "/g/east/".into(),
        scopes: [("customers".to_owned(), DataScope::Unit("/g/east/".into()))].into(),
        ..Principal::system()
    }
}

async fn customer(c: &Customers, p: &Principal, name: &str) -> Uuid {
    super::new_customer(c, p, name, Kind::Person).await
}

fn call(days_ago: Option<i64>, subject: &str) -> NewInteraction {
    NewInteraction {
        r#type: "CALL",
        direction: Some("OUTBOUND"),
        occurred_at: days_ago.map(|d| crm_platform::db::now() - chrono::Duration::days(d)),
        duration_seconds: 300,
        subject: subject.into(),
        body: String::new(),
        participants: vec!["Li Lei".into()],
        user_id: None,
        outcome: "interested".into(),
    }
}

async fn the_timeline_is_newest_first_and_paged(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let me = user();
    let id = customer(&c, &me, "Timeline").await;
    for d in [3, 1, 5, 2] {
        c.create_interaction(&me, id, call(Some(d), &format!("{d} days ago")))
            .await
            .unwrap();
    }
    let now_call = c
        .create_interaction(&me, id, call(None, "today"))
        .await
        .unwrap();
    assert_eq!(now_call.user_id, me.user_id(), "the caller by default");
    let mut params = ListParams {
        page_size: 2,
        ..ListParams::default()
    };
    let mut subjects = Vec::new();
    loop {
        let (rows, next) = c.list_interactions(&me, id, &params).await.unwrap();
        subjects.extend(rows.into_iter().map(|r| r.subject));
        if next.is_empty() {
            break;
        }
        params.page_token = next;
    }
    assert_eq!(
        subjects,
        [
            "today",
            "1 days ago",
            "2 days ago",
            "3 days ago",
            "5 days ago"
        ]
    );
    let n = super::outbox_count(&db, "crm.customers.v1.interaction.created").await;
    assert_eq!(n, 5);
}

async fn the_summary_counts_what_is_known(db: Db) {
    let c = Customers::new(Store::new(db));
    let me = user();
    let id = customer(&c, &me, "Summarised").await;
    let empty = c.summary(&me, id).await.unwrap();
    assert_eq!(
        (
            empty.interaction_count,
            empty.purchase_count,
            empty.open_reminders
        ),
        (0, 0, 0)
    );
    assert!(empty.lifetime_value.is_empty() && empty.last_purchase.is_none());

    c.create_interaction(&me, id, call(Some(4), "a"))
        .await
        .unwrap();
    let last = c
        .create_interaction(&me, id, call(Some(1), "b"))
        .await
        .unwrap();
    let at = |m: i64| crm_platform::db::now() + chrono::Duration::minutes(m);
    for m in [-10, 60] {
        c.create_reminder(
            &me,
            id,
            NewReminder {
                due_at: at(m),
                assignee_id: None,
                note: String::new(),
            },
        )
        .await
        .unwrap();
    }
    let closed = c
        .create_reminder(
            &me,
            id,
            NewReminder {
                due_at: at(-5),
                assignee_id: None,
                note: String::new(),
            },
        )
        .await
        .unwrap();
    let done = ReminderChanges {
        state: Some("DONE"),
        ..Default::default()
    };
    c.update_reminder(&me, id, closed.id, None, done)
        .await
        .unwrap();
    let buy = |r: &str, amount: i64, currency: &str, status: &'static str| NewTransaction {
        order_reference: r.into(),
        order_time: crm_platform::db::now() - chrono::Duration::days(2),
        amount_minor: amount,
        currency: currency.into(),
        items: vec![],
        channel: None,
        status,
    };
    c.record_transaction(&me, id, buy("A", 10_000, "CNY", "COMPLETED"))
        .await
        .unwrap();
    c.record_transaction(&me, id, buy("B", 2_500, "CNY", "COMPLETED"))
        .await
        .unwrap();
    c.record_transaction(&me, id, buy("C", 900, "EUR", "COMPLETED"))
        .await
        .unwrap();
    c.record_transaction(&me, id, buy("D", 77_700, "CNY", "REFUNDED"))
        .await
        .unwrap();

    let s = c.summary(&me, id).await.unwrap();
    assert_eq!(s.interaction_count, 2);
    assert_eq!(s.last_interaction, Some(last.occurred_at));
    assert_eq!((s.open_reminders, s.overdue_reminders), (2, 1));
    assert_eq!(s.purchase_count, 3, "the refunded order does not count");
    assert_eq!(
        s.lifetime_value,
        [("CNY".to_owned(), 12_500), ("EUR".to_owned(), 900)]
    );
    assert_eq!(s.customer.lifecycle_stage, "ACTIVE");

    let stranger = Principal {
        unit_path: "/g/west/".into(),
        scopes: [("customers".to_owned(), DataScope::Unit("/g/west/".into()))].into(),
        ..user()
    };
    assert!(matches!(
        c.summary(&stranger, id).await,
        Err(Error::NotFound(_))
    ));
}

async fn batch_get_keeps_the_order_and_refuses_what_is_missing_or_hidden(db: Db) {
    let c = Customers::new(Store::new(db));
    let me = user();
    let ids = [
        customer(&c, &me, "One").await,
        customer(&c, &me, "Two").await,
        customer(&c, &me, "Three").await,
    ];
    let asked = [ids[2], ids[0], ids[1]];
    let rows = c.batch_get(&me, &asked).await.unwrap();
    let got: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    assert_eq!(got, asked);
    let missing = Uuid::now_v7();
    match c.batch_get(&me, &[ids[0], missing]).await {
        Err(Error::NotFound(name)) => assert_eq!(name, format!("customers/{missing}")),
        other => panic!("expected NOT_FOUND, got {other:?}"),
    }
    let hidden = customer(
        &c,
        &Principal {
            unit_path: "/g/west/".into(),
            ..user()
        },
        "West",
    )
    .await;
    assert!(matches!(
        c.batch_get(&me, &[hidden]).await,
        Err(Error::NotFound(_))
    ));
    let too_many: Vec<Uuid> = (0..1001).map(|_| Uuid::now_v7()).collect();
    assert!(matches!(
        c.batch_get(&me, &too_many).await,
        Err(Error::InvalidArgument(_))
    ));
}
