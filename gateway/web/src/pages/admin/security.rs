//! Security events (filtered, paged, exported as CSV) and security alerts (acknowledged here).
use super::{AdminNav, Outcome};
use crate::{
    Web, call,
    guard::Ctx,
    pages::{Chrome, error_page, http_status, param, render},
};
use askama::Template;
use axum::{
    Extension, Form,
    body::Body,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use chrono::{NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use crm_proto::crm::identity::v1::{
    AcknowledgeSecurityAlertRequest, ExportSecurityEventsRequest, ListSecurityAlertsRequest,
    ListSecurityEventsRequest, ListUsersRequest, SecurityAlert, SecurityEvent, User,
    directory_service_client::DirectoryServiceClient, security_alert, security_event,
    security_service_client::SecurityServiceClient,
};
use futures::StreamExt;
use http::{StatusCode, header};

/// Events per page.
const PAGE_SIZE: i32 = 50;

/// What the filter form asks for, as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventQuery {
    /// An event type's API name ("" any).
    pub kind: String,
    /// A user's resource name ("" anyone).
    pub user: String,
    /// From, in the user's zone, as a `datetime-local` value ("" open).
    pub from: String,
    /// Until (exclusive), likewise.
    pub to: String,
    /// The page to show.
    pub page_token: String,
}

impl EventQuery {
    /// Reads the query string; values that cannot be right are dropped.
    pub fn parse(pairs: &[(String, String)]) -> EventQuery {
        let kind = param(pairs, "type");
        let user = param(pairs, "user");
        EventQuery {
            kind: security_event::Type::from_str_name(kind)
                .filter(|t| *t != security_event::Type::Unspecified)
                .map(|t| t.as_str_name().to_owned())
                .unwrap_or_default(),
            user: if is_user_name(user) {
                user.to_owned()
            } else {
                String::new()
            },
            from: param(pairs, "from").trim().to_owned(),
            to: param(pairs, "to").trim().to_owned(),
            page_token: param(pairs, "page_token").to_owned(),
        }
    }

    /// The service's filter for the query, or the form field that is wrong.
    pub fn filter(&self, tz: Tz) -> Result<String, &'static str> {
        let mut terms = Vec::new();
        if !self.kind.is_empty() {
            terms.push(format!("type = {}", self.kind));
        }
        if !self.user.is_empty() {
            // The user acted, or was acted on (a failed login names its user as actor).
            terms.push(format!("(actor = \"{0}\" OR target = \"{0}\")", self.user));
        }
        if !self.from.is_empty() {
            let at = utc(&self.from, tz).ok_or("from")?;
            terms.push(format!("time >= \"{at}\""));
        }
        if !self.to.is_empty() {
            let at = utc(&self.to, tz).ok_or("to")?;
            terms.push(format!("time < \"{at}\""));
        }
        Ok(terms.join(" AND "))
    }

    /// The query string of the filter (no page), for links.
    pub fn query_string(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("type", &self.kind)
            .append_pair("user", &self.user)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .finish()
    }
}

/// Whether `name` looks like a user's resource name (it goes into a filter between quotes).
fn is_user_name(name: &str) -> bool {
    name.strip_prefix("users/").is_some_and(|id| {
        !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// A `datetime-local` value ("2026-03-01T09:30", seconds optional) in `tz` as an RFC 3339 UTC
/// instant. A local time skipped by a clock change has no instant; a repeated one takes the
/// earlier.
pub fn utc(local: &str, tz: Tz) -> Option<String> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let at = tz.from_local_datetime(&naive).earliest()?;
    Some(
        at.with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// The catalog key of an event type.
pub fn event_key(kind: i32) -> String {
    let name = security_event::Type::try_from(kind)
        .unwrap_or(security_event::Type::Unspecified)
        .as_str_name();
    format!("admin.event.{name}")
}

/// The catalog key of an alert rule.
pub fn rule_key(rule: i32) -> String {
    let name = security_alert::Rule::try_from(rule)
        .unwrap_or(security_alert::Rule::Unspecified)
        .as_str_name();
    format!("admin.rule.{name}")
}

/// The security page.
#[derive(Template)]
#[template(path = "admin/security.html")]
pub struct SecurityPage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// The outcome of the last action.
    pub out: Outcome,
    /// The filter as typed.
    pub q: EventQuery,
    /// The form field the filter failed on ("" none).
    pub bad: &'static str,
    /// The events of this page (None: the user may not read them).
    pub events: Option<Vec<SecurityEvent>>,
    /// The token of the next page ("" last).
    pub next: String,
    /// The alerts (None: the user may not read them).
    pub alerts: Option<Vec<SecurityAlert>>,
    /// Users, for the filter and to name actors.
    pub users: Vec<User>,
    /// Every event type's API name.
    pub kinds: Vec<&'static str>,
    /// Whether the user may export.
    pub can_export: bool,
    /// Whether the user may acknowledge alerts.
    pub can_ack: bool,
}

impl SecurityPage {
    /// A resource name as people know it: a user's login name, else the name itself.
    pub fn who<'a>(&'a self, name: &'a str) -> &'a str {
        self.users
            .iter()
            .find(|u| u.name == name)
            .map(|u| u.login_name.as_str())
            .unwrap_or(name)
    }

    /// The translated name of an event's type.
    pub fn event_name(&self, event: &SecurityEvent) -> String {
        self.c.tr.t(&event_key(event.r#type)).to_owned()
    }

    /// The API name of an event's type.
    pub fn type_of(&self, event: &SecurityEvent) -> &'static str {
        security_event::Type::try_from(event.r#type)
            .unwrap_or(security_event::Type::Unspecified)
            .as_str_name()
    }

    /// The translated name of an event type given by its API name.
    pub fn kind_name(&self, name: &str) -> String {
        self.c.tr.t(&format!("admin.event.{name}")).to_owned()
    }

    /// The translated name of an alert rule.
    pub fn rule_name(&self, rule: &i32) -> String {
        self.c.tr.t(&rule_key(*rule)).to_owned()
    }

    /// The query string of the next page: the same filter and the next page's token.
    pub fn next_query(&self) -> String {
        let mut query = self.q.query_string();
        query.push('&');
        query.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .append_pair("page_token", &self.next)
                .finish(),
        );
        query
    }

    /// Whether an alert still waits for someone.
    pub fn is_open(&self, alert: &SecurityAlert) -> bool {
        alert.state == security_alert::State::Open as i32
    }

    /// An event's details as "key=value" pairs, by key.
    pub fn details(&self, event: &SecurityEvent) -> String {
        let mut pairs: Vec<_> = event.details.iter().collect();
        pairs.sort();
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// GET /admin/security
pub async fn page(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let known = [("acknowledged", "admin.alert_acknowledged")];
    show(
        &web,
        &ctx,
        &pairs,
        Outcome::from_query(&pairs, &known),
        StatusCode::OK,
    )
    .await
}

async fn show(
    web: &Web,
    ctx: &Ctx,
    pairs: &[(String, String)],
    mut out: Outcome,
    code: StatusCode,
) -> Response {
    let q = EventQuery::parse(pairs);
    let (filter, bad) = match q.filter(ctx.tr.tz) {
        Ok(filter) => (filter, ""),
        Err(field) => (String::new(), field),
    };
    if !bad.is_empty() {
        out = Outcome::failed("admin.bad_time");
    }
    let security = SecurityServiceClient::new(web.upstreams().identity.clone());
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let (mut events_client, mut alerts_client) = (security.clone(), security);
    let events = async {
        if !ctx.can("identity.security_event.read") || !bad.is_empty() {
            return Ok(None);
        }
        let request = ListSecurityEventsRequest {
            page_size: PAGE_SIZE,
            page_token: q.page_token.clone(),
            filter,
            order_by: String::new(),
        };
        events_client
            .list_security_events(call(ctx, request))
            .await
            .map(|r| Some(r.into_inner()))
    };
    let alerts = async {
        if !ctx.can("identity.security_alert.read") {
            return Ok(None);
        }
        let request = ListSecurityAlertsRequest {
            page_size: 100,
            ..Default::default()
        };
        alerts_client
            .list_security_alerts(call(ctx, request))
            .await
            .map(|r| Some(r.into_inner().security_alerts))
    };
    let users_request = ListUsersRequest {
        page_size: 1000,
        order_by: "login_name".into(),
        ..Default::default()
    };
    let (events, alerts, users) = tokio::join!(
        events,
        alerts,
        directory.list_users(call(ctx, users_request))
    );
    let (events, next) = match events {
        Ok(Some(page)) => (Some(page.security_events), page.next_page_token),
        Ok(None) => (None, String::new()),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            out = Outcome::refused(&status, "filter", "", Vec::new());
            (Some(Vec::new()), String::new())
        }
        Err(status) => return error_page(ctx, &status),
    };
    let alerts = match alerts {
        Ok(alerts) => alerts,
        Err(status) => return error_page(ctx, &status),
    };
    let page = SecurityPage {
        c: Chrome::new(ctx, "admin"),
        nav: AdminNav::new(ctx, "/admin/security"),
        out,
        q,
        bad,
        events,
        next,
        alerts,
        users: users.map(|u| u.into_inner().users).unwrap_or_default(),
        kinds: (1..)
            .map_while(|n| security_event::Type::try_from(n).ok())
            .map(|t| t.as_str_name())
            .collect(),
        can_export: ctx.can("identity.security_event.export"),
        can_ack: ctx.can("identity.security_alert.write"),
    };
    (code, render(&page)).into_response()
}

/// GET /admin/security/export: every event matching the filter, as a CSV download streamed
/// from the service as it comes.
pub async fn export(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let q = EventQuery::parse(&pairs);
    let Ok(filter) = q.filter(ctx.tr.tz) else {
        let out = Outcome::failed("admin.bad_time");
        return show(&web, &ctx, &pairs, out, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let mut client = SecurityServiceClient::new(web.upstreams().identity.clone());
    let request = ExportSecurityEventsRequest {
        filter,
        order_by: String::new(),
    };
    let mut stream = match client.export_security_events(call(&ctx, request)).await {
        Ok(stream) => stream.into_inner(),
        Err(status) => return error_page(&ctx, &status),
    };
    // The first chunk decides between a download and an error page; after that a failure
    // can only cut the download short, which the browser reports as failed.
    let first = match stream.message().await {
        Ok(first) => first.map(|c| c.csv_chunk).unwrap_or_default(),
        Err(status) => return error_page(&ctx, &status),
    };
    let rest = stream.map(|chunk| chunk.map(|c| bytes_of(c.csv_chunk)));
    let body = futures::stream::once(async move { Ok(bytes_of(first)) }).chain(rest);
    let file = format!(
        "attachment; filename=\"security-events-{}.csv\"",
        Utc::now().format("%Y%m%d-%H%M%S")
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

fn bytes_of(chunk: impl Into<axum::body::Bytes>) -> axum::body::Bytes {
    chunk.into()
}

/// POST /admin/security/alerts/{id}/acknowledge
pub async fn acknowledge(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let request = AcknowledgeSecurityAlertRequest {
        name: format!("securityAlerts/{id}"),
        etag: param(&form, "etag").to_owned(),
        request_id: String::new(),
    };
    let mut client = SecurityServiceClient::new(web.upstreams().identity.clone());
    match client.acknowledge_security_alert(call(&ctx, request)).await {
        Ok(_) => {
            Redirect::to(&format!("/admin/security?done=acknowledged#alert-{id}")).into_response()
        }
        Err(status) => {
            let out = Outcome::refused(&status, "acknowledge", &id, Vec::new());
            show(&web, &ctx, &[], out, http_status(&status)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_becomes_the_services_filter_in_utc() {
        let q = EventQuery::parse(&pairs(&[
            ("type", "LOGIN_FAILED"),
            ("user", "users/0190-abc"),
            ("from", "2026-03-01T09:30"),
            ("to", "2026-03-02T00:00"),
        ]));
        let shanghai: Tz = "Asia/Shanghai".parse().expect("zone");
        assert_eq!(
            q.filter(shanghai),
            Ok("type = LOGIN_FAILED AND (actor = \"users/0190-abc\" OR target = \"users/0190-abc\") \
                AND time >= \"2026-03-01T01:30:00Z\" AND time < \"2026-03-01T16:00:00Z\""
                .to_owned())
        );
        assert_eq!(EventQuery::default().filter(Tz::UTC), Ok(String::new()));
    }

    #[test]
    fn values_that_could_break_the_filter_are_dropped_or_refused() {
        let q = EventQuery::parse(&pairs(&[
            ("type", "LOGIN_FAILED OR type != x"),
            ("user", "users/x\" OR actor:\"y"),
        ]));
        assert_eq!(q.kind, "");
        assert_eq!(q.user, "");
        assert_eq!(q.filter(Tz::UTC), Ok(String::new()));
        let q = EventQuery::parse(&pairs(&[("from", "yesterday")]));
        assert_eq!(q.filter(Tz::UTC), Err("from"));
        let q = EventQuery::parse(&pairs(&[("to", "2026-13-01T00:00")]));
        assert_eq!(q.filter(Tz::UTC), Err("to"));
    }

    #[test]
    fn local_times_skipped_by_a_clock_change_have_no_instant() {
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        assert_eq!(utc("2026-03-29T02:30", berlin), None);
        // Repeated in autumn: the earlier instant.
        assert_eq!(
            utc("2026-10-25T02:30", berlin).as_deref(),
            Some("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            utc("2026-01-05T08:00:15", Tz::UTC).as_deref(),
            Some("2026-01-05T08:00:15Z")
        );
    }

    #[test]
    fn every_event_type_and_rule_has_a_name_in_every_language() {
        crate::i18n::init().expect("catalogs");
        for locale in crate::i18n::Locale::ALL {
            let tr = crate::i18n::Tr::new(locale, Tz::UTC);
            for n in 1..=19 {
                let key = event_key(n);
                assert!(!key.ends_with("UNSPECIFIED"), "{n}");
                assert_ne!(tr.t(&key), key, "{}", locale.tag());
            }
            assert!(
                security_event::Type::try_from(20).is_err(),
                "a new event type"
            );
            for n in 1..=4 {
                let key = rule_key(n);
                assert!(!key.ends_with("UNSPECIFIED"), "{n}");
                assert_ne!(tr.t(&key), key, "{}", locale.tag());
            }
            assert!(
                security_alert::Rule::try_from(5).is_err(),
                "a new alert rule"
            );
        }
    }
}
