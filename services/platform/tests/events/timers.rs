//! Durable timers: each fires exactly once with two workers, and after a worker dies holding
//! claims.
use super::*;
use crm_platform::{
    events::timers::{Fired, Timer, TimerHandler, TimerWorker},
    server::Shutdown,
};

crm_platform::backend_tests!(MIGRATIONS;
    two_workers_fire_every_timer_exactly_once,
    timers_claimed_by_a_dead_worker_fire_once_after_the_lease,
    a_moved_timer_fires_at_its_new_time_only,
);

/// Records each firing in `fired` (no unique constraint: a second firing is a second row).
struct Fire;

impl TimerHandler for Fire {
    type Prepared = ();

    async fn prepare(&self, _timer: &Timer) -> anyhow::Result<()> {
        Ok(())
    }

    async fn fire(&self, tx: &mut Tx, timer: &Timer, _: ()) -> anyhow::Result<Fired> {
        with_tx!(tx, |conn| sqlx::query(
            "INSERT INTO fired (key) VALUES ($1)"
        )
        .bind(&timer.key)
        .execute(&mut *conn)
        .await
        .map(drop))?;
        Ok(Fired::Done)
    }
}

async fn setup(db: &Db) {
    with_pool!(db, |pool| sqlx::query(
        "CREATE TABLE fired (key TEXT NOT NULL)"
    )
    .execute(pool)
    .await
    .map(drop)
    .unwrap());
}

async fn fired(db: &Db) -> (i64, i64) {
    with_pool!(db, |pool| sqlx::query_as::<_, (i64, i64)>(
        "SELECT COUNT(*), COUNT(DISTINCT key) FROM fired"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn pending(db: &Db) -> i64 {
    with_pool!(db, |pool| sqlx::query_as::<_, (i64,)>(
        "SELECT COUNT(*) FROM timers"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .0)
}

async fn schedule(
    db: &Db,
    keys: impl IntoIterator<Item = String>,
    due: chrono::DateTime<chrono::Utc>,
) {
    let mut tx = db.begin().await.unwrap();
    for key in keys {
        tx.schedule_timer("test.kind", &key, due, b"payload")
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn two_workers_fire_every_timer_exactly_once(db: Db) {
    setup(&db).await;
    let now = crm_platform::db::now();
    schedule(
        &db,
        (0..150).map(|i| format!("past-{i}")),
        now - chrono::Duration::minutes(5),
    )
    .await;
    schedule(
        &db,
        (0..50).map(|i| format!("soon-{i}")),
        now + chrono::Duration::milliseconds(300),
    )
    .await;
    let shutdown = Shutdown::new();
    let workers = [
        tokio::spawn(
            TimerWorker::new(db.clone(), Duration::from_millis(10))
                .run(Arc::new(Fire), shutdown.clone()),
        ),
        tokio::spawn(
            TimerWorker::new(db.clone(), Duration::from_millis(10))
                .run(Arc::new(Fire), shutdown.clone()),
        ),
    ];
    eventually(Duration::from_secs(20), "every timer to fire", || async {
        pending(&db).await == 0
    })
    .await;
    shutdown.trigger();
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(fired(&db).await, (200, 200));
}

async fn timers_claimed_by_a_dead_worker_fire_once_after_the_lease(db: Db) {
    setup(&db).await;
    schedule(
        &db,
        (0..10).map(|i| format!("t-{i}")),
        crm_platform::db::now(),
    )
    .await;
    // This worker claims everything, then dies without firing.
    let dead = TimerWorker::new(db.clone(), Duration::from_millis(10))
        .with_lease(Duration::from_millis(300));
    assert_eq!(dead.claim().await.unwrap().len(), 10);
    let survivor = TimerWorker::new(db.clone(), Duration::from_millis(10));
    assert!(
        survivor.claim().await.unwrap().is_empty(),
        "claims are respected while the lease runs"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let reclaimed = survivor.claim().await.unwrap();
    assert_eq!(reclaimed.len(), 10);
    for timer in &reclaimed {
        assert_eq!(timer.attempt, 2, "the dead worker's attempt counts");
        assert!(survivor.fire(timer, &Fire).await.unwrap());
    }
    // The dead worker comes back to life with its stale claims: nothing fires twice.
    for timer in &reclaimed {
        assert!(!dead.fire(timer, &Fire).await.unwrap());
    }
    assert_eq!(fired(&db).await, (10, 10));
    assert_eq!(pending(&db).await, 0);
}

async fn a_moved_timer_fires_at_its_new_time_only(db: Db) {
    setup(&db).await;
    let now = crm_platform::db::now();
    schedule(&db, ["reminder".to_owned()], now).await;
    let worker = TimerWorker::new(db.clone(), Duration::from_millis(10));
    let claimed = worker.claim().await.unwrap();
    assert_eq!(claimed.len(), 1);
    // Rescheduled while claimed: the old firing must not happen.
    schedule(
        &db,
        ["reminder".to_owned()],
        now + chrono::Duration::hours(1),
    )
    .await;
    assert!(!worker.fire(&claimed[0], &Fire).await.unwrap());
    assert!(worker.claim().await.unwrap().is_empty(), "not due yet");
    let mut tx = db.begin().await.unwrap();
    assert!(tx.cancel_timer("test.kind", "reminder").await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(fired(&db).await, (0, 0));
    assert_eq!(pending(&db).await, 0);
}
