//! `crm bench events`: the event backbone on real PostgreSQL and Redis, in one process —
//! writers commit events to the outbox (one per transaction, as requests do), the relay
//! publishes them to a Redis stream, a consumer handles them through its inbox.
//! Measures events/s end to end, and commit-to-handled latency at a fixed rate.
use clap::Args;
use crm_platform::{
    db::{Db, Migrations, PoolSettings, Tx},
    events::{
        self, BusConfig,
        bus::Bus,
        consumer::{Consumer, Handler},
        proto::{Actor, Audience, Event},
        redis_bus::RedisBus,
        relay::Relay,
    },
    server::Shutdown,
};
use hdrhistogram::Histogram;
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// Options of `crm bench events`.
#[derive(Args, Debug, Clone)]
pub struct EventsArgs {
    /// A PostgreSQL database for the outbox and inbox (its events tables are created).
    #[arg(long, env = "CRM_BENCH_EVENTS_DB")]
    pub database_url: String,
    /// Redis.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Events of the throughput run.
    #[arg(long, default_value_t = 20_000)]
    pub events: u64,
    /// Concurrent writers of the throughput run.
    #[arg(long, default_value_t = 16)]
    pub writers: u64,
    /// Events per transaction in the throughput run (1: one event per request, the usual case).
    #[arg(long, default_value_t = 1)]
    pub per_transaction: u64,
    /// Members of the consumer group (replicas of the consuming service).
    #[arg(long, default_value_t = 1)]
    pub consumers: usize,
    /// Events/s of the latency run.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Length of the latency run ("10s").
    #[arg(long, default_value = "10s")]
    pub duration: String,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

static NO_SERVICE_TABLES: Migrations = Migrations {
    postgres: sqlx::migrate::Migrator::DEFAULT,
    sqlite: sqlx::migrate::Migrator::DEFAULT,
};

/// Records when each event was handled.
struct Record {
    handled: AtomicU64,
    at: Mutex<HashMap<String, Instant>>,
}

impl Handler for Record {
    async fn handle(&self, _tx: &mut Tx, event: &Event) -> anyhow::Result<()> {
        let now = Instant::now();
        if let Ok(mut at) = self.at.lock() {
            at.insert(event.id.clone(), now);
        }
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn event(service: &str, i: u64) -> Event {
    events::event(
        service,
        "crm.bench.v1.thing.happened",
        format!("things/{i}"),
        Actor::default(),
        Audience::default(),
        &Actor {
            principal: format!("users/{i}"),
            request_id: String::new(),
        },
    )
}

async fn emit(db: &Db, event: &Event) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    tx.emit(event).await?;
    tx.commit().await?;
    Ok(())
}

/// Runs both measurements and prints them.
pub async fn run(args: EventsArgs) -> anyhow::Result<()> {
    let rate_duration = super::load::parse_duration(&args.duration).map_err(anyhow::Error::msg)?;
    let settings = PoolSettings {
        max_connections: u32::try_from(args.writers).unwrap_or(16) + 8,
        ..PoolSettings::default()
    };
    let db = Db::connect(&args.database_url, settings).await?;
    if !matches!(db, Db::Pg(_)) {
        anyhow::bail!("the events benchmark runs on PostgreSQL");
    }
    db.migrate(&NO_SERVICE_TABLES).await?;
    let bus = Bus::Redis(RedisBus::new(
        &args.redis_url,
        Duration::from_secs(3600),
        None,
    )?);
    let service = format!("bench{}", uuid::Uuid::now_v7().simple());
    let stream = events::stream_of(&service);
    let config = BusConfig {
        relay_batch: 512,
        ..BusConfig::default()
    };
    let record = Arc::new(Record {
        handled: AtomicU64::new(0),
        at: Mutex::new(HashMap::new()),
    });
    let shutdown = Shutdown::new();
    bus.ensure_group(&stream, "bench").await?;
    let relay =
        tokio::spawn(Relay::new(&service, db.clone(), bus.clone(), &config).run(shutdown.clone()));
    let consuming: Vec<_> = (0..args.consumers.max(1))
        .map(|_| {
            let consumer = Consumer::new("bench", db.clone(), bus.clone(), &config);
            tokio::spawn(consumer.run(vec![stream.clone()], record.clone(), shutdown.clone()))
        })
        .collect();

    // 1. Throughput: writers as fast as they go, until every event is handled.
    let started = Instant::now();
    let per_writer = args.events / args.writers.max(1);
    let total = per_writer * args.writers.max(1);
    let writers: Vec<_> = (0..args.writers.max(1))
        .map(|w| {
            let db = db.clone();
            let service = service.clone();
            let per_tx = args.per_transaction.max(1);
            tokio::spawn(async move {
                let mut i = 0;
                while i < per_writer {
                    let mut tx = db.begin().await?;
                    for _ in 0..per_tx.min(per_writer - i) {
                        tx.emit(&event(&service, w * per_writer + i)).await?;
                        i += 1;
                    }
                    tx.commit().await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for w in writers {
        w.await??;
    }
    let written = started.elapsed();
    while record.handled.load(Ordering::SeqCst) < total {
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("events were not all handled within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let throughput = total as f64 / elapsed.as_secs_f64();
    println!(
        "throughput: {total} events ({} per transaction), {} writers, {} consumer(s): written in {:.2} s ({:.0}/s), all handled in {:.2} s: {throughput:.0} events/s end to end",
        args.per_transaction,
        args.writers,
        args.consumers,
        written.as_secs_f64(),
        total as f64 / written.as_secs_f64(),
        elapsed.as_secs_f64()
    );

    // 2. Latency at a fixed rate: commit (after COMMIT returns) to handled (in the handler).
    if let Ok(mut at) = record.at.lock() {
        at.clear();
    }
    let committed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(1.0)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let until = Instant::now() + rate_duration;
    let mut sent = 0u64;
    let mut tasks = Vec::new();
    while Instant::now() < until {
        ticker.tick().await;
        let db = db.clone();
        let committed = committed.clone();
        let event = event(&service, 1_000_000_000 + sent);
        sent += 1;
        tasks.push(tokio::spawn(async move {
            emit(&db, &event).await?;
            let now = Instant::now();
            if let Ok(mut c) = committed.lock() {
                c.insert(event.id.clone(), now);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while record.handled.load(Ordering::SeqCst) < total + sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let handled = record.at.lock().map(|h| h.clone()).unwrap_or_default();
    let committed = committed.lock().map(|c| c.clone()).unwrap_or_default();
    for (id, done) in &handled {
        if let Some(start) = committed.get(id) {
            let micros = done.saturating_duration_since(*start).as_micros();
            hist.saturating_record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
        }
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "latency @{:.0}/s for {:?}: {} events, commit→handled p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.rate,
        rate_duration,
        hist.len(),
        ms(0.5),
        ms(0.9),
        ms(0.99),
        hist.max() as f64 / 1000.0
    );
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "events": total, "writers": args.writers, "consumers": args.consumers, "per_transaction": args.per_transaction, "written_s": written.as_secs_f64(),
            "handled_s": elapsed.as_secs_f64(), "events_per_s": throughput,
            "rate": args.rate, "latency_events": hist.len(),
            "p50_ms": ms(0.5), "p90_ms": ms(0.9), "p99_ms": ms(0.99), "max_ms": hist.max() as f64 / 1000.0,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    shutdown.trigger();
    let _ = relay.await;
    for c in consuming {
        let _ = c.await;
    }
    // The bench stream is not kept.
    if let Ok(client) = redis::Client::open(args.redis_url.as_str())
        && let Ok(mut conn) = client.get_multiplexed_async_connection().await
    {
        let _: Result<(), _> = redis::cmd("DEL").arg(&stream).query_async(&mut conn).await;
    }
    db.close().await;
    Ok(())
}
