//! The security audit log and its alert rules.
use super::{Caller, Identity};
use crate::{
    error::Error,
    store::{AlertRow, EventKey, EventRow},
};
use chrono::{Duration, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Alert rule thresholds: (events, window in minutes).
const REPEATED_DENIALS: (i64, i64) = (20, 10);
/// Rows exported by one actor within the window that raise LARGE_EXPORT.
const LARGE_EXPORT: (i64, i64) = (10_000, 60);
const FAILURES_PER_ACCOUNT: (i64, i64) = (10, 15);
const FAILURES_PER_IP: (i64, i64) = (20, 15);

impl Identity {
    /// Appends a security event, then applies the alert rules it can trigger. Audit failures
    /// are errors: an action that cannot be audited does not happen.
    pub async fn audit(
        &self,
        caller: &Caller,
        r#type: &str,
        target: &str,
        details: &[(&str, String)],
    ) -> Result<(), Error> {
        let details: BTreeMap<&str, &String> = details.iter().map(|(k, v)| (*k, v)).collect();
        let event = EventRow {
            id: Uuid::now_v7(),
            r#type: r#type.to_owned(),
            actor: caller.actor(),
            target: target.to_owned(),
            time: crm_platform::db::now(),
            source_ip: caller.source_ip.clone(),
            request_id: caller.request_id.clone(),
            trace_id: String::new(),
            details: serde_json::to_string(&details).map_err(|e| Error::Internal(e.to_string()))?,
        };
        self.record(event).await
    }

    /// Stores an event (from identity itself or reported by another service) and applies the
    /// alert rules it can trigger.
    pub async fn record(&self, event: EventRow) -> Result<(), Error> {
        self.store.insert_event(&event).await?;
        let (r#type, target) = (event.r#type.as_str(), event.target.as_str());
        match r#type {
            "LOGIN_FAILED" => {
                self.rule(
                    "REPEATED_LOGIN_FAILURES_ACCOUNT",
                    "LOGIN_FAILED",
                    EventKey::Target,
                    target,
                    FAILURES_PER_ACCOUNT,
                )
                .await?;
                if !event.source_ip.is_empty() {
                    self.rule(
                        "REPEATED_LOGIN_FAILURES_IP",
                        "LOGIN_FAILED",
                        EventKey::SourceIp,
                        &event.source_ip,
                        FAILURES_PER_IP,
                    )
                    .await?;
                }
            }
            "PERMISSION_DENIED" => {
                self.rule(
                    "REPEATED_DENIALS",
                    "PERMISSION_DENIED",
                    EventKey::Actor,
                    &event.actor,
                    REPEATED_DENIALS,
                )
                .await?;
            }
            "DATA_EXPORTED" => self.large_export(&event.actor).await?,
            _ => {}
        }
        Ok(())
    }

    /// LARGE_EXPORT: the rows an actor exported within the window (`details.rows` of their
    /// DATA_EXPORTED events) reach the threshold.
    async fn large_export(&self, actor: &str) -> Result<(), Error> {
        let (threshold, minutes) = LARGE_EXPORT;
        let since = crm_platform::db::now() - Duration::minutes(minutes);
        let mut q = crate::store::Store::list_query("security_events");
        q.push("type = 'DATA_EXPORTED' AND actor = ");
        q.push_bind(crm_platform::sql::SqlValue::Text(actor.to_owned()));
        q.push(" AND time >= ");
        q.push_bind(crm_platform::sql::SqlValue::Timestamp(since));
        let events: Vec<EventRow> = self.store.fetch(q).await?;
        let rows: i64 = events
            .iter()
            .filter_map(|e| serde_json::from_str::<BTreeMap<String, String>>(&e.details).ok())
            .filter_map(|d| d.get("rows").and_then(|r| r.parse::<i64>().ok()))
            .sum();
        if rows >= threshold {
            self.rule(
                "LARGE_EXPORT",
                "DATA_EXPORTED",
                EventKey::Actor,
                actor,
                (1, minutes),
            )
            .await?;
        }
        Ok(())
    }

    async fn rule(
        &self,
        rule: &str,
        r#type: &str,
        key: EventKey,
        subject: &str,
        (threshold, minutes): (i64, i64),
    ) -> Result<(), Error> {
        let now = crm_platform::db::now();
        let since = now - Duration::minutes(minutes);
        let count = self.store.count_events(r#type, key, subject, since).await?;
        if count < threshold {
            return Ok(());
        }
        let alert = AlertRow {
            id: Uuid::now_v7(),
            rule: rule.to_owned(),
            subject: subject.to_owned(),
            count,
            window_start: since,
            window_end: now,
            state: "OPEN".to_owned(),
            ack_actor: None,
            ack_time: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        if self.store.open_alert(&alert, alert_raised).await? {
            tracing::warn!(rule, subject, count, "security alert raised");
            metrics::counter!("crm_security_alerts_total", "rule" => rule.to_owned()).increment(1);
        }
        Ok(())
    }

    /// Acknowledges an alert (etag checked when given).
    pub async fn acknowledge(
        &self,
        caller: &Caller,
        id: Uuid,
        etag: Option<i64>,
    ) -> Result<AlertRow, Error> {
        let name = format!("securityAlerts/{id}");
        let alert = self
            .store
            .alert(id)
            .await?
            .ok_or_else(|| Error::NotFound(name.clone()))?;
        if etag.is_some_and(|e| e != alert.version) {
            return Err(Error::EtagMismatch(name));
        }
        if !self
            .store
            .acknowledge_alert(id, alert.version, &caller.actor(), Utc::now())
            .await?
        {
            return Err(Error::EtagMismatch(name));
        }
        self.store.alert(id).await?.ok_or(Error::NotFound(name))
    }
}

/// The type of the event published when an alert is raised.
pub const ALERT_RAISED: &str = "crm.identity.v1.security_alert.raised";

/// `security_alert.raised`, for readers of security alerts (e.g. a SIEM following the change
/// stream).
fn alert_raised(alert: &AlertRow) -> crm_proto::crm::events::v1::Event {
    crm_platform::events::event(
        crate::NAME,
        ALERT_RAISED,
        format!("securityAlerts/{}", alert.id),
        crm_proto::crm::events::v1::Actor {
            principal: "system".to_owned(),
            request_id: String::new(),
        },
        crm_proto::crm::events::v1::Audience {
            read_permission: crm_platform::permissions::IDENTITY_SECURITY_ALERT_READ.to_owned(),
            ..Default::default()
        },
        &crate::api::security::alert_proto(alert),
    )
}
