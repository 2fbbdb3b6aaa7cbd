//! Reminders: a user's day, state changes keeping the durable timer in step, and `reminder.due`
//! published once when an open reminder comes due.
use crm_customers::{
    domain::Kind,
    error::Error,
    events::REMINDER_DUE,
    jobs::Jobs,
    reminders::{NewReminder, ReminderChanges},
    service::{Customers, ListParams},
    store::{MIGRATIONS, Store},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
    events::timers::TimerWorker,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    a_users_day_lists_their_open_reminders_soonest_first,
    a_due_reminder_is_published_once_and_a_closed_one_never,
    reminders_follow_the_customers_scope_and_etags,
);

fn rep(id: Uuid) -> Principal {
    Principal {
        subject: Subject::User(id),
        unit_path: "/g/east/".into(),
        scopes: [("customers".to_owned(), DataScope::Unit("/g/east/".into()))].into(),
        ..Principal::system()
    }
}

async fn customer(c: &Customers, p: &Principal) -> Uuid {
    super::new_customer(c, p, "Follow-up Co", Kind::Organization).await
}

fn at(minutes: i64) -> chrono::DateTime<chrono::Utc> {
    crm_platform::db::now() + chrono::Duration::minutes(minutes)
}

fn remind(minutes: i64, note: &str) -> NewReminder {
    NewReminder {
        due_at: at(minutes),
        assignee_id: None,
        note: note.into(),
    }
}

async fn timers(db: &Db) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    crm_platform::with_pool!(db, |pool| sqlx::query_as(
        "SELECT key, due_at FROM timers WHERE kind = 'customers.reminder_due' ORDER BY due_at"
    )
    .fetch_all(pool)
    .await
    .unwrap())
}

async fn a_users_day_lists_their_open_reminders_soonest_first(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let me = rep(Uuid::now_v7());
    let other = rep(Uuid::now_v7());
    let cust = customer(&c, &me).await;
    let late = c
        .create_reminder(&me, cust, remind(60, "send the quote"))
        .await
        .unwrap();
    let overdue = c
        .create_reminder(&me, cust, remind(-30, "call back"))
        .await
        .unwrap();
    let done = c
        .create_reminder(&me, cust, remind(10, "done already"))
        .await
        .unwrap();
    c.create_reminder(&other, cust, remind(5, "not mine"))
        .await
        .unwrap();
    let tomorrow = at(24 * 60 * 3);
    let closed = ReminderChanges {
        state: Some("DONE"),
        ..Default::default()
    };
    c.update_reminder(&me, cust, done.id, Some(1), closed)
        .await
        .unwrap();

    let (mine, _) = c
        .list_my_reminders(&me, tomorrow, &ListParams::default())
        .await
        .unwrap();
    let ids: Vec<Uuid> = mine.iter().map(|r| r.id).collect();
    assert_eq!(ids, [overdue.id, late.id], "open, mine, soonest first");
    assert!(mine[0].overdue(crm_platform::db::now()));
    assert!(!mine[1].overdue(crm_platform::db::now()));
    let (soon, _) = c
        .list_my_reminders(&me, at(30), &ListParams::default())
        .await
        .unwrap();
    assert_eq!(soon.len(), 1, "only what is due before the given time");

    // The closed reminder has no timer; the open ones do, at their due times.
    let keys: Vec<String> = timers(&db).await.into_iter().map(|(k, _)| k).collect();
    assert!(!keys.contains(&done.id.to_string()));
    assert!(keys.contains(&late.id.to_string()) && keys.contains(&overdue.id.to_string()));
    // Moving a reminder moves its timer.
    let moved = ReminderChanges {
        due_at: Some(at(120)),
        ..Default::default()
    };
    let moved = c
        .update_reminder(&me, cust, late.id, None, moved)
        .await
        .unwrap();
    let timer = timers(&db)
        .await
        .into_iter()
        .find(|(k, _)| *k == late.id.to_string())
        .unwrap();
    assert_eq!(timer.1, moved.due_at);
    let (all, _) = c
        .list_reminders(&me, cust, &ListParams::default())
        .await
        .unwrap();
    assert_eq!(
        all.len(),
        4,
        "the customer's list has every reminder, closed ones too"
    );
}

async fn a_due_reminder_is_published_once_and_a_closed_one_never(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let me = rep(Uuid::now_v7());
    let cust = customer(&c, &me).await;
    let due = c
        .create_reminder(&me, cust, remind(-1, "due now"))
        .await
        .unwrap();
    let cancelled = c
        .create_reminder(&me, cust, remind(-1, "not needed"))
        .await
        .unwrap();
    let cancel = ReminderChanges {
        state: Some("CANCELLED"),
        ..Default::default()
    };
    c.update_reminder(&me, cust, cancelled.id, None, cancel)
        .await
        .unwrap();

    let worker = TimerWorker::new(db.clone(), std::time::Duration::from_millis(10));
    let jobs = Jobs::new(Default::default());
    for _ in 0..3 {
        for timer in worker.claim().await.unwrap() {
            worker.fire(&timer, &jobs).await.unwrap();
        }
    }
    let due_events: Vec<_> = super::outbox(&db)
        .await
        .into_iter()
        .filter(|e| e.r#type == REMINDER_DUE)
        .collect();
    assert_eq!(due_events.len(), 1, "one event, for the open reminder only");
    assert_eq!(
        due_events[0].subject,
        format!("customers/{cust}/reminders/{}", due.id)
    );
    let payload: crm_proto::crm::customers::v1::ReminderDue =
        crm_platform::events::payload(&due_events[0]).unwrap();
    let reminder = payload.reminder.unwrap();
    assert_eq!(reminder.note, "due now");
    assert!(reminder.overdue);
    assert!(timers(&db).await.is_empty(), "fired timers are gone");
}

async fn reminders_follow_the_customers_scope_and_etags(db: Db) {
    let c = Customers::new(Store::new(db));
    let me = rep(Uuid::now_v7());
    let cust = customer(&c, &me).await;
    let west = Principal {
        unit_path: "/g/west/".into(),
        scopes: [("customers".to_owned(), DataScope::Unit("/g/west/".into()))].into(),
        ..rep(Uuid::now_v7())
    };
    assert!(matches!(
        c.create_reminder(&west, cust, remind(5, "x")).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        c.list_reminders(&west, cust, &ListParams::default()).await,
        Err(Error::NotFound(_))
    ));
    let r = c.create_reminder(&me, cust, remind(5, "x")).await.unwrap();
    let stale = c
        .update_reminder(
            &me,
            cust,
            r.id,
            Some(r.version + 1),
            ReminderChanges::default(),
        )
        .await;
    assert!(matches!(stale, Err(Error::EtagMismatch(_))));
    assert!(matches!(
        c.update_reminder(&me, cust, Uuid::now_v7(), None, ReminderChanges::default())
            .await,
        Err(Error::NotFound(_))
    ));
}
