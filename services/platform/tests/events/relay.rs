//! The relay: at-least-once publishing across crashes and Redis outages, exactly-once
//! publishing with two relays on one PostgreSQL outbox.
use super::*;
use crm_platform::{events::relay::Relay, server::Shutdown, testing::TcpProxy};

crm_platform::backend_tests!(MIGRATIONS;
    crash_between_publish_and_mark_redelivers_and_the_consumer_applies_once,
    redis_outage_under_writes_loses_nothing_and_applies_nothing_twice,
    two_relays_publish_every_event_exactly_once_in_order,
    a_commit_with_events_notifies_relays_elsewhere_once,
);

/// PostgreSQL: a transaction that wrote events wakes the relays of every process with one
/// notification at commit (asked for in the statement of its first event); a rolled-back one
/// wakes nobody. The outbox holds every event either way it was committed.
async fn a_commit_with_events_notifies_relays_elsewhere_once(db: Db) {
    let Db::Pg(pool) = &db else { return };
    let mut listener = sqlx::postgres::PgListener::connect_with(pool)
        .await
        .unwrap();
    listener
        .listen(crm_platform::events::outbox::NOTIFY_CHANNEL)
        .await
        .unwrap();
    let service = unique_service();
    let mut tx = db.begin().await.unwrap();
    tx.emit(&event(&service, "rolled-back")).await.unwrap();
    drop(tx);
    let mut tx = db.begin().await.unwrap();
    tx.emit(&event(&service, "one")).await.unwrap();
    tx.emit(&event(&service, "two")).await.unwrap();
    tx.commit().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .expect("notified at commit")
        .unwrap();
    assert_eq!(
        first.channel(),
        crm_platform::events::outbox::NOTIFY_CHANNEL
    );
    let second = tokio::time::timeout(Duration::from_millis(300), listener.recv()).await;
    assert!(second.is_err(), "one notification per transaction");
    let stored: Vec<(String,)> = sqlx::query_as("SELECT stream FROM outbox ORDER BY seq")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "the rolled-back event is not stored");
}

async fn crash_between_publish_and_mark_redelivers_and_the_consumer_applies_once(db: Db) {
    create_applied(&db).await;
    for bus in buses() {
        let service = unique_service();
        let stream = events::stream_of(&service);
        bus.ensure_group(&stream, "consumer").await.unwrap();
        emit_each(&db, &service, (0..5).map(|i| format!("thing-{i}"))).await;
        let relay = Relay::new(&service, db.clone(), bus.clone(), &config());

        // Published, then the relay dies before marking the rows sent.
        assert_eq!(relay.publish_without_marking().await.unwrap(), 5);
        assert_eq!(
            relay.backlog().await.unwrap().0,
            5,
            "nothing was marked sent"
        );
        let consumer = Consumer::new("consumer", db.clone(), bus.clone(), &config());
        let handler = Arc::new(Recorder::default());
        let first = drain(&consumer, &bus, &stream, "consumer", &handler).await;
        assert_eq!(first.len(), 5);

        // The restarted relay publishes the same rows again...
        let restarted = Relay::new(&service, db.clone(), bus.clone(), &config());
        assert_eq!(restarted.publish_once().await.unwrap(), 5);
        assert_eq!(restarted.backlog().await.unwrap().0, 0);
        // ...they are delivered again, and dropped by the inbox.
        let again = drain(&consumer, &bus, &stream, "consumer", &handler).await;
        assert_eq!(
            again,
            vec![events::consumer::Outcome::Duplicate; 5],
            "{}",
            bus.kind()
        );
        cleanup(&bus, &service).await;
    }
    assert_eq!(
        applied(&db).await,
        (5 * buses().len() as i64, 5 * buses().len() as i64)
    );
}

async fn redis_outage_under_writes_loses_nothing_and_applies_nothing_twice(db: Db) {
    let Some(url) = redis_url() else {
        eprintln!("skipped: {REDIS_URL_ENV} not set");
        return;
    };
    create_applied(&db).await;
    let target = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse()
        .expect("CRM_TEST_REDIS_URL must be redis://host:port for this test");
    let proxy = TcpProxy::start(target).await;
    let bus = redis_bus(&format!("redis://{}", proxy.addr));
    let service = unique_service();
    let stream = events::stream_of(&service);
    let shutdown = Shutdown::new();
    let relay = Relay::new(&service, db.clone(), bus.clone(), &config());
    let running = tokio::spawn(relay.clone().run(shutdown.clone()));
    let direct = redis_bus(&url);
    let stream_len = || async { direct.range(&stream, 10_000).await.unwrap().len() };

    emit_each(&db, &service, (0..20).map(|i| format!("before-{i}"))).await;
    eventually(
        Duration::from_secs(10),
        "the first 20 events published",
        || async { relay.backlog().await.unwrap().0 == 0 },
    )
    .await;
    assert_eq!(stream_len().await, 20);

    // Redis goes away: writes still succeed and pile up in the outbox.
    proxy.set_up(false);
    emit_each(&db, &service, (0..30).map(|i| format!("during-{i}"))).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (backlog, _) = relay.backlog().await.unwrap();
    assert_eq!(backlog, 30, "the outbox holds what could not be published");
    assert_eq!(stream_len().await, 20);

    // Redis is back: everything is delivered.
    proxy.set_up(true);
    eventually(Duration::from_secs(20), "the outbox to drain", || async {
        relay.backlog().await.unwrap().0 == 0
    })
    .await;
    assert!(stream_len().await >= 50);
    direct.ensure_group(&stream, "consumer").await.unwrap();
    let consumer = Consumer::new("consumer", db.clone(), direct.clone(), &config());
    let handler = Arc::new(Recorder::default());
    drain(&consumer, &direct, &stream, "consumer", &handler).await;
    assert_eq!(
        applied(&db).await,
        (50, 50),
        "every event applied, none twice"
    );

    shutdown.trigger();
    running.await.unwrap();
    cleanup(&direct, &service).await;
}

async fn two_relays_publish_every_event_exactly_once_in_order(db: Db) {
    // SQLite runs one relay per database; the claim under test is PostgreSQL's.
    if matches!(db, Db::Sqlite(_)) {
        return;
    }
    let Some(url) = redis_url() else {
        eprintln!("skipped: {REDIS_URL_ENV} not set");
        return;
    };
    let bus = redis_bus(&url);
    let service = unique_service();
    let stream = events::stream_of(&service);
    let mut settings = config();
    settings.relay_batch = 7; // many small rounds: many chances to collide
    let a = Relay::new(&service, db.clone(), bus.clone(), &settings);
    let b = Relay::new(&service, db.clone(), bus.clone(), &settings);
    let shutdown = Shutdown::new();
    let running = [
        tokio::spawn(a.clone().run(shutdown.clone())),
        tokio::spawn(b.run(shutdown.clone())),
    ];
    // Writes go on while both relays publish.
    let subjects: Vec<String> = (0..300).map(|i| format!("thing-{i:03}")).collect();
    emit_each(&db, &service, subjects.clone()).await;
    eventually(
        Duration::from_secs(30),
        "both relays to drain the outbox",
        || async { a.backlog().await.unwrap().0 == 0 },
    )
    .await;
    shutdown.trigger();
    for r in running {
        r.await.unwrap();
    }
    let published: Vec<String> = bus
        .range(&stream, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| events::decode(&e.payload).unwrap().subject)
        .collect();
    assert_eq!(published, subjects, "each event once, in commit order");
    cleanup(&bus, &service).await;
}
