//! The load loop. Closed loop: `concurrency` workers each send the next request when the
//! previous one returns. Open loop (fixed arrival rate): requests are due at fixed intervals
//! whatever the server does, and latency is measured from the *intended* send time, so a
//! server that falls behind shows its queueing in the percentiles (no coordinated omission).
use hdrhistogram::Histogram;
use serde::Serialize;
use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// One request of a scenario: `Ok` or the error code ("NOT_FOUND", "HTTP_503", ...).
pub type Call =
    Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// How load is applied.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// `concurrency` requests in flight at all times.
    Closed { concurrency: usize },
    /// `rate` requests per second, at most `max_in_flight` outstanding.
    Open { rate: f64, max_in_flight: usize },
}

/// Length of a run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Measured time.
    pub duration: Duration,
    /// Load applied before measuring (connections, caches, JIT of the planner).
    pub warmup: Duration,
}

/// What a run measured. Latencies in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub mode: String,
    pub duration_s: f64,
    pub requests: u64,
    pub rps: f64,
    pub errors: BTreeMap<String, u64>,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

fn histogram() -> Histogram<u64> {
    // Microseconds from 1 µs to 60 s, 3 significant digits: constant, documented-valid bounds.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

#[derive(Default)]
struct Tally {
    hist: Option<Histogram<u64>>,
    errors: BTreeMap<String, u64>,
    requests: u64,
}

impl Tally {
    fn record(&mut self, latency: Duration, result: Result<(), String>) {
        let hist = self.hist.get_or_insert_with(histogram);
        let _ = hist.record((latency.as_micros() as u64).max(1));
        self.requests += 1;
        if let Err(code) = result {
            *self.errors.entry(code).or_default() += 1;
        }
    }

    fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
        if let Some(h) = other.hist {
            match self.hist.as_mut() {
                Some(mine) => {
                    let _ = mine.add(&h);
                }
                None => self.hist = Some(h),
            }
        }
    }
}

/// Prints a progress line every second on stderr until dropped.
struct Progress {
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    fn start(label: String, done: Arc<AtomicU64>, errors: Arc<AtomicU64>) -> Progress {
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut last = 0;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let now = done.load(Ordering::Relaxed);
                eprint!(
                    "\r{label}: {:>4.0}s {:>8} req/s, {} errors   ",
                    started.elapsed().as_secs_f64(),
                    now - last,
                    errors.load(Ordering::Relaxed)
                );
                last = now;
            }
        });
        Progress { task }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.task.abort();
        eprintln!();
    }
}

/// Runs `call` under `mode` for the warm-up and then the measured duration.
pub async fn run(
    scenario: &str,
    call: Call,
    mode: Mode,
    timing: Timing,
    progress: bool,
) -> Summary {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let _progress =
        progress.then(|| Progress::start(scenario.to_owned(), done.clone(), failed.clone()));
    let start = Instant::now();
    let measure_from = start + timing.warmup;
    let end = measure_from + timing.duration;
    let count = move |result: &Result<(), String>, done: &AtomicU64, failed: &AtomicU64| {
        done.fetch_add(1, Ordering::Relaxed);
        if result.is_err() {
            failed.fetch_add(1, Ordering::Relaxed);
        }
    };

    let mut tally = Tally::default();
    let mode_text;
    // Closed loop: the measured window. Open loop: until the last due request has completed,
    // so req/s is what the server achieved, not what was offered.
    let mut measured = timing.duration;
    match mode {
        Mode::Closed { concurrency } => {
            mode_text = format!("closed c={concurrency}");
            let mut workers = tokio::task::JoinSet::new();
            for w in 0..concurrency as u64 {
                let (call, done, failed) = (call.clone(), done.clone(), failed.clone());
                workers.spawn(async move {
                    let mut mine = Tally::default();
                    let mut n = w;
                    loop {
                        let sent = Instant::now();
                        if sent >= end {
                            break;
                        }
                        let result = call(n).await;
                        count(&result, &done, &failed);
                        if sent >= measure_from {
                            mine.record(sent.elapsed(), result);
                        }
                        n += concurrency as u64;
                    }
                    mine
                });
            }
            while let Some(Ok(t)) = workers.join_next().await {
                tally.merge(t);
            }
        }
        Mode::Open {
            rate,
            max_in_flight,
        } => {
            mode_text = format!("open {rate:.0}/s");
            let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let slots = Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1)));
            let (tx, mut rx) =
                tokio::sync::mpsc::unbounded_channel::<(Duration, Result<(), String>)>();
            let collector = tokio::spawn(async move {
                let mut t = Tally::default();
                while let Some((latency, result)) = rx.recv().await {
                    t.record(latency, result);
                }
                t
            });
            let mut n: u64 = 0;
            loop {
                let intended = start + interval.mul_f64(n as f64);
                if intended >= end {
                    break;
                }
                tokio::time::sleep_until(intended.into()).await;
                // Waiting for a slot delays the send, and that delay counts: it is measured
                // from `intended`.
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let (call, tx, done, failed) =
                    (call.clone(), tx.clone(), done.clone(), failed.clone());
                tokio::spawn(async move {
                    let result = call(n).await;
                    count(&result, &done, &failed);
                    if intended >= measure_from {
                        let _ = tx.send((intended.elapsed(), result));
                    }
                    drop(permit);
                });
                n += 1;
            }
            drop(tx);
            if let Ok(t) = collector.await {
                tally = t;
            }
            measured = measure_from.elapsed().max(timing.duration);
        }
    }

    let hist = tally.hist.unwrap_or_else(histogram);
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let secs = measured.as_secs_f64();
    Summary {
        scenario: scenario.to_owned(),
        mode: mode_text,
        duration_s: secs,
        requests: tally.requests,
        rps: tally.requests as f64 / secs.max(1e-9),
        errors: tally.errors,
        p50_ms: ms(0.50),
        p90_ms: ms(0.90),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: hist.max() as f64 / 1000.0,
    }
}

/// Parses "10s", "500ms", "2m" or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("invalid duration unit in {s:?} (use ms, s or m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("abc").is_err());
    }

    fn failing_every_third() -> Call {
        Arc::new(|n| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                if n % 3 == 0 {
                    Err("UNAVAILABLE".to_owned())
                } else {
                    Ok(())
                }
            })
        })
    }

    #[tokio::test]
    async fn closed_loop_counts_requests_and_errors() {
        let timing = Timing {
            duration: Duration::from_millis(300),
            warmup: Duration::from_millis(50),
        };
        let s = run(
            "t",
            failing_every_third(),
            Mode::Closed { concurrency: 4 },
            timing,
            false,
        )
        .await;
        assert!(s.requests > 20, "{s:?}");
        let errors = s.errors.get("UNAVAILABLE").copied().unwrap_or_default();
        assert!(errors > 0 && errors < s.requests, "{s:?}");
        assert!(s.p50_ms >= 2.0, "latency includes the 2 ms of work: {s:?}");
    }

    #[tokio::test]
    async fn open_loop_measures_from_the_intended_time() {
        // One slot and 10 ms of work at 200/s: the server can do 100/s, so requests queue and
        // the latency measured from the intended send time grows far beyond the 10 ms of work.
        let slow: Call = Arc::new(|_| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(())
            })
        });
        let timing = Timing {
            duration: Duration::from_millis(400),
            warmup: Duration::ZERO,
        };
        let s = run(
            "t",
            slow,
            Mode::Open {
                rate: 200.0,
                max_in_flight: 1,
            },
            timing,
            false,
        )
        .await;
        assert!(s.max_ms > 50.0, "queueing must show: {s:?}");
        assert_eq!(
            s.requests, 80,
            "every due request is measured, late ones too"
        );
        assert!(
            s.rps < 150.0,
            "req/s is what was achieved (~100/s), not offered: {s:?}"
        );
    }
}
