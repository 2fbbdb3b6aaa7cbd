//! Consumers: dead letters after bounded retries and their replay; pending entries of a dead
//! consumer claimed by another.
use super::*;
use crm_platform::events::consumer::{Outcome, dead_letters, replay_dead_letter};

crm_platform::backend_tests!(MIGRATIONS;
    poison_event_is_dead_lettered_after_n_attempts_and_replayed_after_a_fix,
    pending_events_of_a_dead_consumer_are_claimed_by_another,
    a_reader_behind_the_retention_gets_cursor_expired,
    a_failing_batch_is_rolled_back_and_handled_one_by_one,
);

async fn poison_event_is_dead_lettered_after_n_attempts_and_replayed_after_a_fix(db: Db) {
    create_applied(&db).await;
    for bus in buses() {
        let service = unique_service();
        let stream = events::stream_of(&service);
        bus.ensure_group(&stream, "consumer").await.unwrap();
        let poison = event(&service, "poison-1");
        let fine = event(&service, "fine-1");
        bus.append(&stream, &[events::encode(&poison), events::encode(&fine)])
            .await
            .unwrap();
        let consumer = Consumer::new("consumer", db.clone(), bus.clone(), &config());
        let handler = Arc::new(Recorder::default());
        handler.broken.store(true, Ordering::SeqCst);

        let outcomes = drain(&consumer, &bus, &stream, "consumer", &handler).await;
        assert_eq!(
            outcomes,
            [Outcome::DeadLettered, Outcome::Handled],
            "{}",
            bus.kind()
        );
        assert_eq!(
            handler.attempts.load(Ordering::SeqCst),
            3 + 1,
            "3 attempts, then the next event"
        );
        let letters = dead_letters(&bus, &stream, 10).await.unwrap();
        assert_eq!(letters.len(), 1);
        let (letter_id, letter) = &letters[0];
        assert_eq!(letter.event.as_ref().unwrap().id, poison.id);
        assert_eq!(letter.attempts, 3);
        assert_eq!(letter.group, "consumer");
        assert!(
            letter.error.contains("cannot apply poison-1"),
            "{}",
            letter.error
        );

        // After the fix, the replayed event is applied, once.
        handler.broken.store(false, Ordering::SeqCst);
        assert!(replay_dead_letter(&bus, &stream, letter_id).await.unwrap());
        assert!(dead_letters(&bus, &stream, 10).await.unwrap().is_empty());
        let outcomes = drain(&consumer, &bus, &stream, "consumer", &handler).await;
        assert_eq!(outcomes, [Outcome::Handled]);
        assert!(
            !replay_dead_letter(&bus, &stream, letter_id).await.unwrap(),
            "replayed once"
        );
        cleanup(&bus, &service).await;
    }
    let n = buses().len() as i64;
    assert_eq!(applied(&db).await, (2 * n, 2 * n));
}

async fn pending_events_of_a_dead_consumer_are_claimed_by_another(db: Db) {
    create_applied(&db).await;
    for bus in buses() {
        let service = unique_service();
        let stream = events::stream_of(&service);
        bus.ensure_group(&stream, "consumer").await.unwrap();
        let payloads: Vec<_> = (0..3)
            .map(|i| events::encode(&event(&service, &format!("t{i}"))))
            .collect();
        bus.append(&stream, &payloads).await.unwrap();

        // The first member reads the events and dies before handling them.
        let dead = Consumer::new("consumer", db.clone(), bus.clone(), &config());
        let taken = bus
            .reader()
            .read_group(
                &stream,
                "consumer",
                dead.name(),
                10,
                Duration::from_millis(50),
            )
            .await
            .unwrap();
        assert_eq!(taken.len(), 3);

        let alive = Consumer::new("consumer", db.clone(), bus.clone(), &config())
            .with_claim_idle(Duration::from_millis(100));
        let early = bus
            .autoclaim(
                &stream,
                "consumer",
                alive.name(),
                Duration::from_secs(60),
                10,
            )
            .await
            .unwrap();
        assert!(
            early.is_empty(),
            "entries are not claimed while their consumer may be alive"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        let claimed = bus
            .autoclaim(
                &stream,
                "consumer",
                alive.name(),
                Duration::from_millis(100),
                10,
            )
            .await
            .unwrap();
        assert_eq!(claimed.len(), 3, "{}", bus.kind());
        let handler = Arc::new(Recorder::default());
        let shutdown = crm_platform::server::Shutdown::new();
        for entry in &claimed {
            assert_eq!(
                alive
                    .process(entry, handler.as_ref(), &shutdown)
                    .await
                    .unwrap(),
                Outcome::Handled
            );
        }
        assert!(
            bus.autoclaim(&stream, "consumer", alive.name(), Duration::ZERO, 10)
                .await
                .unwrap()
                .is_empty(),
            "acknowledged entries are no longer pending"
        );
        cleanup(&bus, &service).await;
    }
    let n = buses().len() as i64;
    assert_eq!(applied(&db).await, (3 * n, 3 * n));
}

async fn a_reader_behind_the_retention_gets_cursor_expired(_db: Db) {
    use crm_platform::events::{bus::BusError, memory::MemoryBus};
    let mut buses = vec![Bus::Memory(MemoryBus::new(10))];
    if let Some(url) = redis_url() {
        // Redis trims approximately, whole nodes of 100 entries: write well past that.
        buses.push(Bus::Redis(
            RedisBus::new(&url, Duration::from_secs(3600), Some(10)).unwrap(),
        ));
    }
    for bus in buses {
        let service = unique_service();
        let stream = events::stream_of(&service);
        let first = bus.append(&stream, &[vec![0]]).await.unwrap().remove(0);
        for chunk in 0..5 {
            let payloads: Vec<Vec<u8>> = (0..100).map(|i| vec![chunk, i]).collect();
            bus.append(&stream, &payloads).await.unwrap();
        }
        let mut reader = bus.reader();
        let expired = reader
            .read_after(&[(stream.clone(), first)], 10, Duration::ZERO)
            .await;
        assert!(
            matches!(expired, Err(BusError::CursorExpired { .. })),
            "{}: {expired:?}",
            bus.kind()
        );
        let from_oldest = reader
            .read_after(&[(stream.clone(), "0-0".into())], 10, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(from_oldest.len(), 10);
        cleanup(&bus, &service).await;
    }
}

async fn a_failing_batch_is_rolled_back_and_handled_one_by_one(db: Db) {
    create_applied(&db).await;
    for (k, bus) in buses().into_iter().enumerate() {
        let service = unique_service();
        let stream = events::stream_of(&service);
        // Written before the consumer starts, so its first read takes them as one batch.
        let batch: Vec<_> = ["fine-1", "poison-1", "fine-2"]
            .iter()
            .map(|s| events::encode(&event(&service, s)))
            .collect();
        bus.append(&stream, &batch).await.unwrap();
        let handler = Arc::new(Recorder::default());
        handler.broken.store(true, Ordering::SeqCst);
        let shutdown = crm_platform::server::Shutdown::new();
        let consumer = Consumer::new("consumer", db.clone(), bus.clone(), &config());
        let running =
            tokio::spawn(consumer.run(vec![stream.clone()], handler.clone(), shutdown.clone()));
        let expected = 2 * (k as i64 + 1);
        eventually(Duration::from_secs(10), "the batch handled", || async {
            dead_letters(&bus, &stream, 10).await.unwrap().len() == 1
                && applied(&db).await.0 >= expected
        })
        .await;
        shutdown.trigger();
        running.await.unwrap();
        cleanup(&bus, &service).await;
    }
    // The batch's partial work (fine-1) was rolled back with it, then each event applied once.
    let n = buses().len() as i64;
    assert_eq!(applied(&db).await, (2 * n, 2 * n));
}
