//! Domain events, never lost and never applied twice (DESIGN §6).
//!
//! - [`outbox`]: a use case writes its events into the `outbox` table in the transaction of the
//!   change ([`crate::db::Tx::emit`]).
//! - [`relay`]: publishes committed outbox rows, in order, to one stream per service
//!   (`crm.<service>`) on the [`bus`]: Redis Streams, or an in-process bus in `crm dev`.
//! - [`consumer`]: consumer groups per (consuming service, stream); the `inbox` table makes
//!   handlers idempotent; bounded retries, then a dead-letter stream.
//! - [`timers`]: durable timers fired exactly once, by one worker among replicas.
pub mod bus;
pub mod consumer;
pub mod json;
pub mod memory;
pub mod outbox;
pub mod redis_bus;
pub mod relay;
pub mod timers;

use crate::config::Secret;
use crm_proto::crm::events::v1::{Actor, Audience, Event, TraceContext};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::Duration;

pub use crm_proto::crm::events::v1 as proto;

/// The event bus settings shared by every service of a process (`[bus]`, `CRM_BUS__*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BusConfig {
    /// Redis for the streams (`CRM_BUS__REDIS_URL`). Unset: the in-process bus, which only
    /// connects services that run in one process (`crm dev`).
    pub redis_url: Option<Secret>,
    /// How long a stream keeps events (default 7 days); older ones are trimmed.
    pub retention_secs: u64,
    /// Optional cap on a stream's length, on top of the age limit.
    pub max_len: Option<u64>,
    /// Outbox rows published per relay round.
    pub relay_batch: u32,
    /// How often relays and timer workers look for work when not woken (milliseconds).
    pub poll_interval_ms: u64,
    /// Attempts at handling one event before it goes to the dead-letter stream.
    pub max_attempts: u32,
    /// First retry delay of a failed handler (milliseconds), doubled on each further attempt.
    pub retry_base_ms: u64,
    /// A pending event idle this long (its consumer presumably dead) is claimed by another.
    pub claim_idle_secs: u64,
    /// How long published rows stay in the outbox (they rebuild the in-process bus on start).
    pub outbox_keep_secs: u64,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            retention_secs: 7 * 24 * 3600,
            max_len: None,
            relay_batch: 256,
            poll_interval_ms: 1000,
            max_attempts: 5,
            retry_base_ms: 200,
            claim_idle_secs: 60,
            outbox_keep_secs: 24 * 3600,
        }
    }
}

impl BusConfig {
    /// Stream retention.
    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_secs)
    }

    /// Poll interval.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(1))
    }
}

/// The services that publish events, in the order the change stream reads them.
pub const SOURCES: &[&str] = &["identity", "customers"];

/// The stream a service publishes to: "crm.customers".
pub fn stream_of(service: &str) -> String {
    format!("crm.{service}")
}

/// The dead-letter stream of a consuming group on a stream: "crm.customers.dlq".
pub fn dead_letter_stream(stream: &str) -> String {
    format!("{stream}.dlq")
}

/// The CloudEvents source of a service: "crm/customers".
pub fn source_of(service: &str) -> String {
    format!("crm/{service}")
}

/// The service of a CloudEvents source ("crm/customers" → "customers").
pub fn service_of(source: &str) -> &str {
    source.strip_prefix("crm/").unwrap_or(source)
}

/// Builds an event: a fresh UUIDv7, the current time and trace context, the payload packed
/// with its type URL (which names its schema version).
pub fn event<M: prost::Name>(
    service: &str,
    ty: &str,
    subject: String,
    actor: Actor,
    audience: Audience,
    payload: &M,
) -> Event {
    let time = crate::db::now();
    Event {
        id: uuid::Uuid::now_v7().to_string(),
        source: source_of(service),
        r#type: ty.to_owned(),
        subject,
        time: Some(crate::proto_time::timestamp(time)),
        actor: Some(actor),
        trace: Some(current_trace()),
        data: Some(pbjson_types::Any {
            type_url: M::type_url(),
            value: payload.encode_to_vec().into(),
        }),
        audience: Some(audience),
    }
}

/// Unpacks an event's payload, checking its type URL.
pub fn payload<M: prost::Name + Default>(event: &Event) -> Result<M, PayloadError> {
    let data = event.data.as_ref().ok_or(PayloadError::Missing)?;
    if data.type_url != M::type_url() {
        return Err(PayloadError::WrongType {
            expected: M::type_url(),
            found: data.type_url.clone(),
        });
    }
    M::decode(data.value.as_ref()).map_err(PayloadError::Decode)
}

/// Why an event's payload could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The event has no payload.
    #[error("event has no payload")]
    Missing,
    /// The payload is another message.
    #[error("payload is {found}, expected {expected}")]
    WrongType {
        /// Expected type URL.
        expected: String,
        /// Found type URL.
        found: String,
    },
    /// The payload does not decode.
    #[error("payload does not decode: {0}")]
    Decode(prost::DecodeError),
}

/// The actor of an event caused by `principal`.
pub fn actor(principal: &crate::auth::Principal) -> Actor {
    Actor {
        principal: principal.actor(),
        request_id: crate::request::current_id(),
    }
}

/// The W3C trace context of the current span, so consumers continue the trace.
fn current_trace() -> TraceContext {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = tracing::Span::current().context();
    let span = context.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return TraceContext::default();
    }
    TraceContext {
        traceparent: format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        ),
        tracestate: sc.trace_state().header(),
    }
}

/// The events tables (outbox, inbox, timers) every service database holds, with their own
/// migration history table so they never collide with the service's migrations.
pub fn migrations() -> crate::db::Migrations {
    let mut postgres = sqlx::migrate!("migrations/postgres");
    postgres.table_name = Cow::Borrowed("_crm_events_migrations");
    let mut sqlite = sqlx::migrate!("migrations/sqlite");
    sqlite.table_name = Cow::Borrowed("_crm_events_migrations");
    crate::db::Migrations { postgres, sqlite }
}

/// Whether `principal` may see `event`: it holds the event's read permission and, when the
/// event belongs to a scoped resource family, the resource is in the principal's data scope.
/// An event without an audience is for the system only.
pub fn visible_to(principal: &crate::auth::Principal, event: &Event) -> bool {
    let Some(audience) = &event.audience else {
        return matches!(principal.subject, crate::auth::Subject::System);
    };
    if audience.read_permission.is_empty() || !principal.has(&audience.read_permission) {
        return false;
    }
    if audience.permission_family.is_empty() {
        return true;
    }
    let owner = audience
        .owner
        .strip_prefix("users/")
        .and_then(|id| uuid::Uuid::parse_str(id).ok());
    principal
        .scope(&audience.permission_family)
        .admits(owner, &audience.unit_path)
}

/// Encodes an event for the bus.
pub fn encode(event: &Event) -> Vec<u8> {
    prost::Message::encode_to_vec(event)
}

/// Decodes an event from the bus.
pub fn decode(bytes: &[u8]) -> Result<Event, prost::DecodeError> {
    prost::Message::decode(bytes)
}

/// Whether `ty` matches one of `patterns` (exact, or a prefix ending with "."); an empty list
/// matches everything.
pub fn type_matches(patterns: &[String], ty: &str) -> bool {
    patterns.is_empty()
        || patterns
            .iter()
            .any(|p| p == ty || (p.ends_with('.') && ty.starts_with(p.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_patterns_match_exactly_or_by_dotted_prefix() {
        let patterns = vec!["crm.customers.v1.customer.".to_owned()];
        assert!(type_matches(&patterns, "crm.customers.v1.customer.created"));
        assert!(!type_matches(
            &patterns,
            "crm.customers.v1.customers.created"
        ));
        let exact = vec!["crm.identity.v1.security_alert.raised".to_owned()];
        assert!(type_matches(
            &exact,
            "crm.identity.v1.security_alert.raised"
        ));
        assert!(!type_matches(
            &exact,
            "crm.identity.v1.security_alert.raisedx"
        ));
        assert!(type_matches(&[], "anything"));
    }

    #[test]
    fn payload_roundtrips_and_checks_its_type() {
        let audience = Audience::default();
        let ev = event(
            "customers",
            "crm.test.v1.thing.happened",
            "things/1".into(),
            Actor::default(),
            audience,
            &proto::TraceContext {
                traceparent: "x".into(),
                tracestate: String::new(),
            },
        );
        let back = decode(&encode(&ev)).expect("decodes");
        assert_eq!(back.source, "crm/customers");
        let inner: proto::TraceContext = payload(&back).expect("payload");
        assert_eq!(inner.traceparent, "x");
        assert!(matches!(
            payload::<proto::Actor>(&back),
            Err(PayloadError::WrongType { .. })
        ));
    }

    #[test]
    fn events_are_visible_within_permission_and_data_scope() {
        use crate::auth::{DataScope, Principal, Subject};
        let owner = uuid::Uuid::now_v7();
        let event = |owner: Option<uuid::Uuid>, unit: &str| Event {
            audience: Some(Audience {
                permission_family: "customers".into(),
                owner: owner.map(|o| format!("users/{o}")).unwrap_or_default(),
                unit_path: unit.into(),
                read_permission: "customers.customer.read".into(),
            }),
            ..Event::default()
        };
        let reader = |scope: Option<DataScope>, permitted: bool| Principal {
            subject: Subject::User(owner),
            unit_path: "/g/east/".into(),
            roles: vec![],
            permissions: if permitted {
                ["customers.customer.read".to_owned()].into()
            } else {
                Default::default()
            },
            scopes: scope
                .map(|s| [("customers".to_owned(), s)].into())
                .unwrap_or_default(),
            token: None,
        };
        let mine = event(Some(owner), "/g/east/");
        let colleague = event(Some(uuid::Uuid::now_v7()), "/g/east/sh/");
        let west = event(Some(uuid::Uuid::now_v7()), "/g/west/");
        let subtree = reader(Some(DataScope::Subtree("/g/east/".into())), true);
        assert!(visible_to(&subtree, &mine));
        assert!(visible_to(&subtree, &colleague));
        assert!(!visible_to(&subtree, &west));
        let own = reader(Some(DataScope::Own(uuid::Uuid::nil())), true);
        assert!(visible_to(&own, &mine));
        assert!(!visible_to(&own, &colleague));
        let unit = reader(Some(DataScope::Unit("/g/east/".into())), true);
        assert!(visible_to(&unit, &mine) && !visible_to(&unit, &colleague));
        // Without the read permission, nothing, whatever the scope.
        assert!(!visible_to(&reader(Some(DataScope::All), false), &mine));
        // No audience: the system only.
        assert!(!visible_to(
            &reader(Some(DataScope::All), true),
            &Event::default()
        ));
        assert!(visible_to(&Principal::system(), &Event::default()));
    }
}
