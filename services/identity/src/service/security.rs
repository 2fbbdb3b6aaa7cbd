//! The security audit log and its alert rules.
use super::{Caller, Identity};
use crate::{
    error::Error,
    store::{AlertRow, EventKey, EventRow},
};
use chrono::{Duration, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Alert rule thresholds: (events, window).
const REPEATED_DENIALS: (i64, i64) = (20, 10);
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
        self.store.insert_event(&event).await?;
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
                if !caller.source_ip.is_empty() {
                    self.rule(
                        "REPEATED_LOGIN_FAILURES_IP",
                        "LOGIN_FAILED",
                        EventKey::SourceIp,
                        &caller.source_ip,
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
            _ => {}
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
        if self.store.open_alert(&alert).await? {
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
