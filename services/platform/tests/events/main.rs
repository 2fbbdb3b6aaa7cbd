//! The event backbone against real databases (SQLite, PostgreSQL) and a real Redis: the fault
//! tests of the outbox relay, consumers, dead letters and timers.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod consumer;
mod relay;
mod timers;

use crm_platform::{
    db::{Db, Migrations, Tx},
    events::{
        self, BusConfig,
        bus::Bus,
        consumer::{Consumer, Handler},
        proto::{Actor, Audience, Event},
        redis_bus::RedisBus,
    },
    testing::REDIS_URL_ENV,
    with_pool, with_tx,
};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

/// No service tables: the events tables come with every database.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate::Migrator::DEFAULT,
    sqlite: sqlx::migrate::Migrator::DEFAULT,
};

/// A service name no other test uses, so each test has its own streams on the shared Redis.
pub fn unique_service() -> String {
    format!("t{}", uuid::Uuid::now_v7().simple())
}

/// The Redis of the tests, when configured.
pub fn redis_url() -> Option<String> {
    std::env::var(REDIS_URL_ENV).ok()
}

/// A bus on the test Redis (at `url`, which may be a proxy).
pub fn redis_bus(url: &str) -> Bus {
    Bus::Redis(RedisBus::new(url, Duration::from_secs(3600), None).expect("redis url"))
}

/// The buses a test runs on: the in-process one always, Redis when configured.
pub fn buses() -> Vec<Bus> {
    let mut out = vec![Bus::memory()];
    match redis_url() {
        Some(url) => out.push(redis_bus(&url)),
        None => eprintln!("redis variant skipped: {REDIS_URL_ENV} not set"),
    }
    out
}

/// Fast retries for tests.
pub fn config() -> BusConfig {
    BusConfig {
        max_attempts: 3,
        retry_base_ms: 5,
        poll_interval_ms: 20,
        relay_batch: 64,
        ..BusConfig::default()
    }
}

/// A test event of `service` about `subject`.
pub fn event(service: &str, subject: &str) -> Event {
    events::event(
        service,
        "crm.test.v1.thing.happened",
        subject.to_owned(),
        Actor::default(),
        Audience::default(),
        &Actor {
            principal: subject.to_owned(),
            request_id: String::new(),
        },
    )
}

/// Emits one event per subject, each in its own transaction (as separate requests would).
pub async fn emit_each(db: &Db, service: &str, subjects: impl IntoIterator<Item = String>) {
    for subject in subjects {
        let mut tx = db.begin().await.unwrap();
        tx.emit(&event(service, &subject)).await.unwrap();
        tx.commit().await.unwrap();
    }
}

/// The table the test handler writes to: one row per application, no unique constraint, so a
/// second application of an event shows up as a second row.
pub async fn create_applied(db: &Db) {
    with_pool!(db, |pool| sqlx::query(
        "CREATE TABLE applied (event_id TEXT NOT NULL, subject TEXT NOT NULL)"
    )
    .execute(pool)
    .await
    .map(drop)
    .unwrap());
}

/// (rows, distinct event ids) in `applied`.
pub async fn applied(db: &Db) -> (i64, i64) {
    with_pool!(db, |pool| sqlx::query_as::<_, (i64, i64)>(
        "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM applied"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

/// Applies events by writing a row; fails for subjects starting with "poison" while `broken`.
#[derive(Default)]
pub struct Recorder {
    pub broken: AtomicBool,
    pub attempts: AtomicUsize,
}

impl Handler for Recorder {
    async fn handle(&self, tx: &mut Tx, event: &Event) -> anyhow::Result<()> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if event.subject.starts_with("poison") && self.broken.load(Ordering::SeqCst) {
            anyhow::bail!("cannot apply {}", event.subject);
        }
        with_tx!(tx, |conn| sqlx::query(
            "INSERT INTO applied (event_id, subject) VALUES ($1, $2)"
        )
        .bind(&event.id)
        .bind(&event.subject)
        .execute(&mut *conn)
        .await
        .map(drop))?;
        Ok(())
    }
}

/// Reads and processes everything available on `stream` as `consumer` until a read returns
/// nothing; returns the outcomes.
pub async fn drain(
    consumer: &Consumer,
    bus: &Bus,
    stream: &str,
    group: &str,
    handler: &Arc<Recorder>,
) -> Vec<events::consumer::Outcome> {
    let shutdown = crm_platform::server::Shutdown::new();
    let mut reader = bus.reader();
    let mut outcomes = Vec::new();
    loop {
        let entries = reader
            .read_group(
                stream,
                group,
                consumer.name(),
                100,
                Duration::from_millis(50),
            )
            .await
            .unwrap();
        if entries.is_empty() {
            return outcomes;
        }
        for entry in entries {
            outcomes.push(
                consumer
                    .process(&entry, handler.as_ref(), &shutdown)
                    .await
                    .unwrap(),
            );
        }
    }
}

/// Deletes a test's streams from Redis.
pub async fn cleanup(bus: &Bus, service: &str) {
    if let (Bus::Redis(_), Some(url)) = (bus, redis_url()) {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let stream = events::stream_of(service);
        let _: () = redis::cmd("DEL")
            .arg(&stream)
            .arg(events::dead_letter_stream(&stream))
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

/// Polls `check` every 20 ms until it holds, failing the test after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
