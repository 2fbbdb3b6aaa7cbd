//! Webhook delivery. A consumer of every service's stream queues a delivery per matching
//! subscription (in the transaction that records the event in the inbox, so each event is
//! queued once), each delivery being a durable timer; the timer worker POSTs it, signed, and
//! reschedules it with exponential backoff until it succeeds or the retry period ends, which
//! disables the subscription.
use crate::store::{AttemptRecord, DeliveryRow, Store};
use crate::webhook::{self, Attempt, Sender};
use crm_platform::{
    db::Tx,
    events::{
        self,
        consumer::Handler,
        proto::Event,
        timers::{Fired, Timer, TimerHandler},
    },
};
use std::time::Duration;
use uuid::Uuid;

/// The timer kind of a webhook delivery; the key is the delivery id.
pub const TIMER_KIND: &str = "events.webhook_delivery";
/// The consumer group of the webhook sender.
pub const GROUP: &str = "webhooks";

/// Queues deliveries for each event a subscription wants and may see.
pub struct Enqueue;

impl Handler for Enqueue {
    async fn handle(&self, tx: &mut Tx, event: &Event) -> anyhow::Result<()> {
        let subscriptions = Store::active_subscriptions(tx).await?;
        let mut body: Option<Vec<u8>> = None;
        for sub in subscriptions {
            if !events::type_matches(&sub.types(), &event.r#type) {
                continue;
            }
            // Deliveries see what the subscription's creator could see.
            if !sub.creator().is_some_and(|p| events::visible_to(&p, event)) {
                continue;
            }
            let body = match &body {
                Some(b) => b.clone(),
                None => {
                    let b = serde_json::to_vec(&events::json::cloudevent(event))?;
                    body = Some(b.clone());
                    b
                }
            };
            let now = crm_platform::db::now();
            let row = DeliveryRow {
                id: Uuid::now_v7(),
                subscription_id: sub.id,
                event_id: event.id.clone(),
                event_type: event.r#type.clone(),
                body,
                state: "PENDING".to_owned(),
                attempts: 0,
                last_status: 0,
                last_error: String::new(),
                next_attempt_at: Some(now),
                created_at: now,
                updated_at: now,
            };
            if Store::insert_delivery(tx, &row).await? {
                tx.schedule_timer(TIMER_KIND, &row.id.to_string(), now, &[])
                    .await?;
            }
        }
        Ok(())
    }
}

/// Sends due deliveries.
pub struct Deliver {
    store: Store,
    sender: Sender,
    retry_base: Duration,
    max_age: Duration,
}

impl Deliver {
    /// A sender of the deliveries in `store`.
    pub fn new(store: Store, sender: Sender, retry_base: Duration, max_age: Duration) -> Self {
        Self {
            store,
            sender,
            retry_base,
            max_age,
        }
    }
}

/// What the network step produced.
pub enum Prepared {
    /// Nothing to send (delivery gone, finished, or its subscription disabled).
    Skip(Option<Uuid>),
    /// The attempt made.
    Sent(Box<DeliveryRow>, Attempt),
}

impl TimerHandler for Deliver {
    type Prepared = Prepared;

    async fn prepare(&self, timer: &Timer) -> anyhow::Result<Prepared> {
        let id = Uuid::parse_str(&timer.key)?;
        let Some((delivery, sub)) = self.store.delivery(id).await? else {
            return Ok(Prepared::Skip(None));
        };
        if delivery.state != "PENDING" || sub.state != "ACTIVE" {
            return Ok(Prepared::Skip((delivery.state == "PENDING").then_some(id)));
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signature = webhook::sign(&sub.secret, &delivery.event_id, timestamp, &delivery.body);
        let headers = [
            ("webhook-id", delivery.event_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
            ("user-agent", "crm-webhooks/1".to_owned()),
        ];
        let attempt = self
            .sender
            .send(&sub.url, &headers, delivery.body.clone())
            .await;
        Ok(Prepared::Sent(Box::new(delivery), attempt))
    }

    async fn fire(&self, tx: &mut Tx, _timer: &Timer, prepared: Prepared) -> anyhow::Result<Fired> {
        let (delivery, attempt) = match prepared {
            Prepared::Skip(None) => return Ok(Fired::Done),
            // A pending delivery of a disabled subscription is closed, not left hanging.
            Prepared::Skip(Some(id)) => {
                let record = AttemptRecord {
                    state: "FAILED",
                    status: 0,
                    error: "subscription disabled".to_owned(),
                    next_attempt_at: None,
                };
                Store::record_attempt(tx, id, &record).await?;
                return Ok(Fired::Done);
            }
            Prepared::Sent(delivery, attempt) => (delivery, attempt),
        };
        let status = attempt.status.map_or(0, i32::from);
        let error = match (&attempt.error, attempt.status) {
            (Some(e), _) => e.clone(),
            (None, Some(s)) if !attempt.succeeded() => format!("endpoint answered {s}"),
            _ => String::new(),
        };
        let outcome = if attempt.succeeded() {
            metrics::counter!("crm_webhook_deliveries_total", "outcome" => "delivered")
                .increment(1);
            (
                AttemptRecord {
                    state: "DELIVERED",
                    status,
                    error,
                    next_attempt_at: None,
                },
                Fired::Done,
            )
        } else {
            let attempts = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
            let now = crm_platform::db::now();
            match webhook::next_attempt_at(
                attempts,
                delivery.created_at,
                now,
                self.retry_base,
                self.max_age,
            ) {
                Some(at) => {
                    metrics::counter!("crm_webhook_deliveries_total", "outcome" => "retry")
                        .increment(1);
                    (
                        AttemptRecord {
                            state: "PENDING",
                            status,
                            error,
                            next_attempt_at: Some(at),
                        },
                        Fired::Again(at),
                    )
                }
                None => {
                    metrics::counter!("crm_webhook_deliveries_total", "outcome" => "failed")
                        .increment(1);
                    let reason = format!(
                        "deliveries failed for {} s; last error: {error}",
                        self.max_age.as_secs()
                    );
                    tracing::warn!(subscription = %delivery.subscription_id, %reason, "webhook subscription disabled");
                    Store::disable(tx, delivery.subscription_id, &reason).await?;
                    (
                        AttemptRecord {
                            state: "FAILED",
                            status,
                            error,
                            next_attempt_at: None,
                        },
                        Fired::Done,
                    )
                }
            }
        };
        Store::record_attempt(tx, delivery.id, &outcome.0).await?;
        Ok(outcome.1)
    }
}
