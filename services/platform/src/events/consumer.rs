//! Consumers: a consumer group per (consuming service, stream). Each event is handled in a
//! transaction that also records its id in the `inbox`, so a redelivered event (relay restart,
//! lost ack, claimed entry) is dropped: handled once, whatever the bus does. A failing event is
//! retried with backoff, then moved to the stream's dead-letter stream with its error.
use super::{
    BusConfig,
    bus::Bus,
    bus::BusError,
    bus::Entry,
    dead_letter_stream, decode,
    proto::{DeadLetter, Event},
};
use crate::db::{Db, DbError, Tx};
use crate::server::Shutdown;
use crate::with_tx;
use std::{future::Future, sync::Arc, time::Duration, time::Instant};

/// Handles one event inside the transaction that records it as handled.
pub trait Handler: Send + Sync + 'static {
    /// Applies `event`; an error rolls the transaction back and the event is retried.
    fn handle(&self, tx: &mut Tx, event: &Event)
    -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Reads streams as one member of a consumer group and applies a [`Handler`].
#[derive(Clone)]
pub struct Consumer {
    group: String,
    name: String,
    db: Db,
    bus: Bus,
    max_attempts: u32,
    retry_base: Duration,
    claim_idle: Duration,
    block: Duration,
}

/// Entries read per round.
const BATCH: usize = 64;

/// What happened to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handled and recorded now.
    Handled,
    /// Already in the inbox: dropped.
    Duplicate,
    /// Moved to the dead-letter stream.
    DeadLettered,
    /// Shutdown interrupted the retries; the entry stays pending and is claimed later.
    Interrupted,
}

impl Consumer {
    /// Member of group `group` (the consuming service: "webhooks") with a unique member name.
    pub fn new(group: &str, db: Db, bus: Bus, config: &BusConfig) -> Consumer {
        Consumer {
            group: group.to_owned(),
            name: format!("{group}-{}", uuid::Uuid::now_v7().simple()),
            db,
            bus,
            max_attempts: config.max_attempts.max(1),
            retry_base: Duration::from_millis(config.retry_base_ms),
            claim_idle: Duration::from_secs(config.claim_idle_secs),
            block: Duration::from_millis(config.poll_interval_ms.clamp(10, 2000)),
        }
    }

    /// Overrides how long an entry must be idle before another member claims it.
    pub fn with_claim_idle(mut self, idle: Duration) -> Consumer {
        self.claim_idle = idle;
        self
    }

    /// This member's name in the group.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Consumes each stream until `shutdown`.
    pub async fn run<H: Handler>(self, streams: Vec<String>, handler: Arc<H>, shutdown: Shutdown) {
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|stream| {
                let this = self.clone();
                let handler = handler.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move { this.consume(stream, handler, shutdown).await })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }

    async fn consume<H: Handler>(self, stream: String, handler: Arc<H>, shutdown: Shutdown) {
        let stop = shutdown.wait();
        tokio::pin!(stop);
        let mut reader = self.bus.reader();
        let mut failures: u32 = 0;
        let mut grouped = false;
        // Claim at once: a restarted replica takes over what its predecessor left pending.
        let mut last_claim = Instant::now() - self.claim_idle;
        let mut last_report = Instant::now() - Duration::from_secs(10);
        loop {
            let round = async {
                if !grouped {
                    self.bus.ensure_group(&stream, &self.group).await?;
                    grouped = true;
                }
                let mut handled = 0;
                if last_claim.elapsed() >= self.claim_idle / 2 {
                    last_claim = Instant::now();
                    let claimed = self
                        .bus
                        .autoclaim(&stream, &self.group, &self.name, self.claim_idle, BATCH)
                        .await?;
                    if !claimed.is_empty() {
                        tracing::info!(count = claimed.len(), %stream, group = %self.group, "claimed pending events of another consumer");
                    }
                    self.process_batch(&stream, &claimed, handler.as_ref(), &shutdown)
                        .await?;
                    handled += claimed.len();
                }
                if last_report.elapsed() >= Duration::from_secs(5) {
                    last_report = Instant::now();
                    if let Ok(lag) = self.bus.group_lag(&stream, &self.group).await {
                        metrics::gauge!("crm_consumer_lag", "group" => self.group.clone(), "stream" => stream.clone()).set(lag as f64);
                    }
                }
                let entries = reader
                    .read_group(&stream, &self.group, &self.name, BATCH, self.block)
                    .await?;
                self.process_batch(&stream, &entries, handler.as_ref(), &shutdown)
                    .await?;
                handled += entries.len();
                Ok::<usize, BusError>(handled)
            };
            tokio::select! {
                result = round => match result {
                    Ok(_) => failures = 0,
                    Err(error) => {
                        // Redis may have restarted empty (no persistence): recreate the group.
                        grouped = false;
                        failures = failures.saturating_add(1);
                        if failures == 1 || failures.is_power_of_two() {
                            tracing::warn!(%error, failures, %stream, group = %self.group, "event consumer round failed");
                        }
                        let backoff = Duration::from_millis(100).saturating_mul(1 << failures.min(6)).min(Duration::from_secs(5));
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = &mut stop => return,
                        }
                    }
                },
                _ = &mut stop => return,
            }
        }
    }

    /// Handles one entry (inbox, retries, dead letter) and acknowledges it.
    pub async fn process<H: Handler>(
        &self,
        entry: &Entry,
        handler: &H,
        shutdown: &Shutdown,
    ) -> Result<Outcome, BusError> {
        let outcome = self.handle_entry(entry, handler, shutdown).await?;
        if outcome != Outcome::Interrupted {
            self.bus
                .ack(&entry.stream, &self.group, std::slice::from_ref(&entry.id))
                .await?;
        }
        Ok(outcome)
    }

    /// Handles a batch, then acknowledges what it finished in one call (one round trip per
    /// batch, not per event; an ack lost in a crash only means a redelivery the inbox drops).
    async fn process_batch<H: Handler>(
        &self,
        stream: &str,
        entries: &[Entry],
        handler: &H,
        shutdown: &Shutdown,
    ) -> Result<(), BusError> {
        if entries.len() > 1 && self.batch_in_one_transaction(entries, handler).await {
            let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
            return self.bus.ack(stream, &self.group, &ids).await;
        }
        let mut done = Vec::with_capacity(entries.len());
        for entry in entries {
            if self.handle_entry(entry, handler, shutdown).await? != Outcome::Interrupted {
                done.push(entry.id.clone());
            }
        }
        self.bus.ack(stream, &self.group, &done).await
    }

    /// The fast path: the whole batch in one transaction (one commit instead of one per event),
    /// each event still recorded in the inbox with its effects. Any failure rolls the batch back
    /// and returns false; the caller then handles the events one by one, with retries and dead
    /// letters, so a poison event never holds the others back.
    async fn batch_in_one_transaction<H: Handler>(&self, entries: &[Entry], handler: &H) -> bool {
        let attempt = async {
            let mut tx = self.db.begin().await?;
            let mut handled = 0u64;
            let mut duplicates = 0u64;
            for entry in entries {
                let event = decode(&entry.payload)?;
                if record_in_inbox(&mut tx, &self.group, &event).await? {
                    handler.handle(&mut tx, &event).await?;
                    handled += 1;
                } else {
                    duplicates += 1;
                }
            }
            tx.commit().await?;
            anyhow::Ok((handled, duplicates))
        };
        match attempt.await {
            Ok((handled, duplicates)) => {
                let group = self.group.clone();
                metrics::counter!("crm_events_consumed_total", "group" => group.clone(), "outcome" => "handled").increment(handled);
                metrics::counter!("crm_events_consumed_total", "group" => group, "outcome" => "duplicate").increment(duplicates);
                true
            }
            Err(error) => {
                tracing::debug!(%error, "batch failed; handling its events one by one");
                false
            }
        }
    }

    /// Handles one entry without acknowledging it.
    async fn handle_entry<H: Handler>(
        &self,
        entry: &Entry,
        handler: &H,
        shutdown: &Shutdown,
    ) -> Result<Outcome, BusError> {
        let outcome = match decode(&entry.payload) {
            Ok(event) => self.apply(entry, &event, handler, shutdown).await,
            Err(e) => {
                self.dead_letter(
                    entry,
                    Event::default(),
                    1,
                    &format!("undecodable event: {e}"),
                )
                .await?;
                Outcome::DeadLettered
            }
        };
        let label = match outcome {
            Outcome::Handled => "handled",
            Outcome::Duplicate => "duplicate",
            Outcome::DeadLettered => "dead_lettered",
            Outcome::Interrupted => "interrupted",
        };
        metrics::counter!("crm_events_consumed_total", "group" => self.group.clone(), "outcome" => label).increment(1);
        Ok(outcome)
    }

    async fn apply<H: Handler>(
        &self,
        entry: &Entry,
        event: &Event,
        handler: &H,
        shutdown: &Shutdown,
    ) -> Outcome {
        let mut last_error = String::new();
        for attempt in 1..=self.max_attempts {
            match self.attempt(event, handler).await {
                Ok(true) => return Outcome::Handled,
                Ok(false) => return Outcome::Duplicate,
                Err(e) => {
                    last_error = format!("{e:#}");
                    tracing::warn!(error = %last_error, attempt, event = %event.id, r#type = %event.r#type, group = %self.group, "event handler failed");
                }
            }
            if attempt < self.max_attempts {
                let delay = self.retry_base.saturating_mul(1 << (attempt - 1).min(16));
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait() => return Outcome::Interrupted,
                }
            }
        }
        match self
            .dead_letter(entry, event.clone(), self.max_attempts, &last_error)
            .await
        {
            Ok(()) => Outcome::DeadLettered,
            // Not acknowledged: it is retried once the bus is back.
            Err(_) => Outcome::Interrupted,
        }
    }

    /// One attempt: records the id and runs the handler in one transaction. Ok(false) when the
    /// id was already recorded.
    async fn attempt<H: Handler>(&self, event: &Event, handler: &H) -> anyhow::Result<bool> {
        let mut tx = self.db.begin().await?;
        if !record_in_inbox(&mut tx, &self.group, event).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        handler.handle(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn dead_letter(
        &self,
        entry: &Entry,
        event: Event,
        attempts: u32,
        error: &str,
    ) -> Result<(), BusError> {
        let now = crate::db::now();
        let letter = DeadLetter {
            event: Some(event),
            stream: entry.stream.clone(),
            stream_id: entry.id.clone(),
            group: self.group.clone(),
            attempts,
            error: error.to_owned(),
            time: Some(crate::proto_time::timestamp(now)),
        };
        let dlq = dead_letter_stream(&entry.stream);
        self.bus
            .append(&dlq, &[prost::Message::encode_to_vec(&letter)])
            .await?;
        tracing::error!(stream = %entry.stream, id = %entry.id, group = %self.group, attempts, %error, "event moved to the dead-letter stream");
        Ok(())
    }
}

/// Records `event` as handled by `group` in `tx`; false when it already was.
async fn record_in_inbox(tx: &mut Tx, group: &str, event: &Event) -> anyhow::Result<bool> {
    let id = uuid::Uuid::parse_str(&event.id)?;
    const SQL: &str = "INSERT INTO inbox (consumer, event_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    let now = crate::db::now();
    let inserted = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(group)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))
    .map_err(DbError::from)?;
    Ok(inserted > 0)
}

/// The dead letters of a stream, oldest first, with their ids in the dead-letter stream.
pub async fn dead_letters(
    bus: &Bus,
    stream: &str,
    count: usize,
) -> Result<Vec<(String, DeadLetter)>, BusError> {
    let entries = bus.range(&dead_letter_stream(stream), count).await?;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let letter: DeadLetter = prost::Message::decode(e.payload.as_slice()).ok()?;
            Some((e.id, letter))
        })
        .collect())
}

/// Puts a dead letter back on its stream (after a fix) and removes it from the dead-letter
/// stream. Groups that had handled the event drop it again through their inbox. Returns false
/// when there is no such dead letter.
pub async fn replay_dead_letter(bus: &Bus, stream: &str, id: &str) -> Result<bool, BusError> {
    let dlq = dead_letter_stream(stream);
    let letters = dead_letters(bus, stream, usize::MAX >> 1).await?;
    let Some((_, letter)) = letters.into_iter().find(|(lid, _)| lid == id) else {
        return Ok(false);
    };
    let Some(event) = letter.event.filter(|e| !e.id.is_empty()) else {
        // Undecodable events cannot be replayed; drop them from the list explicitly.
        return Ok(false);
    };
    bus.append(&letter.stream, &[super::encode(&event)]).await?;
    bus.delete(&dlq, &[id.to_owned()]).await?;
    Ok(true)
}
