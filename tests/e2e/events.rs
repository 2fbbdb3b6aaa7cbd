//! The change stream and webhooks, end to end through the gateway, as an ERP would use them.
use crate::harness::{Backend, Http, Suite, backends, violated_fields};
use crate::identity::{PASSWORD, create_client, create_user};
use crm_identity::roles;
use crm_proto::crm::customers::v1::CustomerChanged;
use crm_proto::crm::events::v1::{
    WatchEventsRequest, WatchEventsResponse, event_service_client::EventServiceClient,
};
use crm_proto::crm::identity::v1::{
    CreateRoleRequest, ListUnitsRequest, Role, access_service_client::AccessServiceClient,
    directory_service_client::DirectoryServiceClient, role::DataScope,
};
use serde_json::json;
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const CREATED: &str = "crm.customers.v1.customer.created";

async fn erp_token(suite: &Suite) -> String {
    let (client, secret) = create_client(suite, "erp", roles::INTEGRATION).await;
    let r = Http::anonymous(suite.gateway())
        .call(
            "POST",
            "/api/v1/auth/token",
            Some(json!({"client_id": client.client_id, "client_secret": secret})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["access_token"].as_str().unwrap().to_owned()
}

async fn create_customer(http: &Http, name: &str) -> String {
    let r = http
        .call(
            "POST",
            "/api/v1/customers",
            Some(json!({"displayName": name, "kind": "ORGANIZATION"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["name"].as_str().unwrap().to_owned()
}

async fn watch(suite: &Suite, token: &str, cursor: &str) -> tonic::Streaming<WatchEventsResponse> {
    EventServiceClient::new(suite.channel(token).await)
        .watch_events(WatchEventsRequest {
            sources: vec!["customers".into()],
            types: vec![],
            cursor: cursor.into(),
        })
        .await
        .expect("watch opens")
        .into_inner()
}

/// The next event about `subject` (other tests' events may share a Redis stream).
async fn next_about(
    stream: &mut tonic::Streaming<WatchEventsResponse>,
    subject: &str,
) -> WatchEventsResponse {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(15), stream.message())
            .await
            .expect("an event in time")
            .expect("stream healthy")
            .expect("stream open");
        if item.event.as_ref().unwrap().subject == subject {
            return item;
        }
    }
}

#[tokio::test]
async fn an_erp_follows_customer_changes_and_resumes_from_its_cursor() {
    for backend in backends() {
        // PostgreSQL runs on Redis when it is configured: the production shape.
        let redis = std::env::var(crm_platform::testing::REDIS_URL_ENV).ok();
        let suite = Suite::start_with(backend, |o| {
            if let (Backend::Postgres, Some(url)) = (backend, redis) {
                o.bus = Some(crm_platform::events::bus::Bus::Redis(
                    crm_platform::events::redis_bus::RedisBus::new(
                        &url,
                        Duration::from_secs(3600),
                        None,
                    )
                    .unwrap(),
                ));
            }
        })
        .await;
        let erp = erp_token(&suite).await;
        let mut stream = watch(&suite, &erp, "").await;

        let http = suite.http();
        let name = create_customer(&http, "Watched Co").await;
        let r = http
            .call(
                "PATCH",
                &format!("/api/v1/{name}?updateMask=displayName"),
                Some(json!({"displayName": "Watched Co Ltd"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = http.call("DELETE", &format!("/api/v1/{name}"), None).await;
        assert_eq!(r.status, 200, "{}", r.text);

        let created = next_about(&mut stream, &name).await;
        let updated = next_about(&mut stream, &name).await;
        let deleted = next_about(&mut stream, &name).await;
        let types: Vec<_> = [&created, &updated, &deleted]
            .iter()
            .map(|r| r.event.as_ref().unwrap().r#type.clone())
            .collect();
        assert_eq!(
            types,
            [
                CREATED,
                "crm.customers.v1.customer.updated",
                "crm.customers.v1.customer.deleted"
            ],
            "{backend:?}"
        );
        let payload: CustomerChanged =
            crm_platform::events::payload(updated.event.as_ref().unwrap()).unwrap();
        assert_eq!(payload.customer.unwrap().display_name, "Watched Co Ltd");
        assert_eq!(payload.changed_fields, ["display_name"]);

        // Reconnecting with the cursor of "created" resumes right after it.
        let mut resumed = watch(&suite, &erp, &created.cursor).await;
        let first = next_about(&mut resumed, &name).await;
        assert_eq!(
            first.event.unwrap().r#type,
            "crm.customers.v1.customer.updated"
        );
        assert_eq!(first.cursor, updated.cursor);
        suite.stop().await;
    }
}

#[tokio::test]
async fn the_change_stream_applies_permissions_and_data_scope() {
    let suite = Suite::start(Backend::Sqlite).await;
    let admin_channel = suite.channel(&suite.admin_token).await;
    let mut dir = DirectoryServiceClient::new(admin_channel.clone());
    let root = dir
        .list_units(ListUnitsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .units[0]
        .name
        .clone();

    // A sales rep may not follow the stream at all.
    create_user(&mut dir, "rep", &root, &[roles::SALES_REP]).await;
    let rep = suite.login("rep", PASSWORD).await;
    let denied = EventServiceClient::new(suite.channel(&rep).await)
        .watch_events(WatchEventsRequest::default())
        .await;
    assert_eq!(
        denied.err().map(|s| s.code()),
        Some(tonic::Code::PermissionDenied)
    );

    // A watcher with the OWN scope sees the events of its own customers only.
    let role = AccessServiceClient::new(admin_channel)
        .create_role(CreateRoleRequest {
            role: Some(Role {
                display_name: "Own watcher".into(),
                permissions: vec![
                    "events.stream.read".into(),
                    "customers.customer.read".into(),
                    "customers.customer.write".into(),
                ],
                scopes: [("customers".to_owned(), DataScope::Own as i32)].into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let role_id = uuid::Uuid::parse_str(&role.id).unwrap();
    create_user(&mut dir, "watcher", &root, &[role_id]).await;
    let watcher = suite.login("watcher", PASSWORD).await;
    let mut stream = watch(&suite, &watcher, "").await;
    let others = create_customer(&suite.http(), "Not yours").await;
    let own = create_customer(&Http::new(suite.gateway(), &watcher), "Yours").await;
    let first = tokio::time::timeout(Duration::from_secs(15), stream.message())
        .await
        .expect("an event in time")
        .unwrap()
        .unwrap();
    let subject = first.event.unwrap().subject;
    assert_eq!(
        subject, own,
        "the first visible event is the watcher's own, not {others}"
    );
    suite.stop().await;
}

/// Reads Server-Sent Events from a raw HTTP/1.1 connection, as curl or a browser would.
struct Sse {
    lines: tokio::io::Lines<BufReader<tokio::net::TcpStream>>,
}

impl Sse {
    async fn open(suite: &Suite, token: &str, query: &str, last_event_id: Option<&str>) -> Sse {
        let mut socket = tokio::net::TcpStream::connect(suite.stack.gateway_addr)
            .await
            .unwrap();
        let resume = last_event_id
            .map(|id| format!("Last-Event-ID: {id}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET /api/v1/events:watch?{query} HTTP/1.1\r\nHost: crm\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n{resume}\r\n"
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut lines = BufReader::new(socket).lines();
        let status = lines.next_line().await.unwrap().unwrap();
        assert!(status.contains(" 200 "), "{status}");
        Sse { lines }
    }

    /// The next event: (id, event type, data).
    async fn next(&mut self) -> (String, String, serde_json::Value) {
        let (mut id, mut kind) = (String::new(), String::new());
        loop {
            let line = tokio::time::timeout(Duration::from_secs(15), self.lines.next_line())
                .await
                .expect("an event in time")
                .unwrap()
                .expect("stream open");
            // Chunked transfer encoding puts size lines between the event lines; skip them.
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.to_owned();
            } else if let Some(v) = line.strip_prefix("event: ") {
                kind = v.to_owned();
            } else if let Some(v) = line.strip_prefix("data: ") {
                return (id, kind, serde_json::from_str(v).unwrap());
            }
        }
    }
}

#[tokio::test]
async fn server_sent_events_deliver_cloudevents_and_resume_with_last_event_id() {
    let suite = Suite::start(Backend::Sqlite).await;
    let erp = erp_token(&suite).await;
    let query = format!("sources=customers&types={CREATED}");
    let mut sse = Sse::open(&suite, &erp, &query, None).await;
    let http = suite.http();
    let first = create_customer(&http, "SSE One").await;
    let (id, kind, data) = sse.next().await;
    assert_eq!(kind, CREATED);
    assert_eq!(data["specversion"], "1.0");
    assert_eq!(data["subject"], first);
    assert_eq!(data["data"]["customer"]["displayName"], "SSE One");
    assert!(!id.is_empty());

    // The client reconnects with the last id it saw and misses nothing.
    drop(sse);
    let second = create_customer(&http, "SSE Two").await;
    let mut resumed = Sse::open(&suite, &erp, &query, Some(&id)).await;
    let (_, _, data) = resumed.next().await;
    assert_eq!(data["subject"], second);
    suite.stop().await;
}

/// A request the receiver got: headers and body.
type Request = (http::HeaderMap, Vec<u8>);

/// A webhook endpoint that records what it receives and answers the statuses it is given.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Request>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    async fn start(statuses: Vec<u16>) -> (Receiver, String) {
        let receiver = Receiver {
            statuses: Arc::new(Mutex::new(statuses)),
            ..Default::default()
        };
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: http::HeaderMap, body: axum::body::Bytes| {
                let state = state.clone();
                async move {
                    state.seen.lock().unwrap().push((headers, body.to_vec()));
                    let mut statuses = state.statuses.lock().unwrap();
                    let status = if statuses.is_empty() {
                        200
                    } else {
                        statuses.remove(0)
                    };
                    http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn webhooks_are_signed_retried_logged_and_disabled_after_persistent_failure() {
    let suite = Suite::start_with(Backend::Sqlite, |o| {
        o.webhooks.allow_private_urls = true;
        o.webhooks.retry_base_ms = 100;
        o.webhooks.max_age_secs = 2;
        o.bus_config.poll_interval_ms = 20;
    })
    .await;
    let http = suite.http();
    let (receiver, url) = Receiver::start(vec![500]).await;
    let r = http
        .call(
            "POST",
            "/api/v1/webhookSubscriptions",
            Some(json!({"url": url, "eventTypes": ["crm.customers.v1.customer."], "description": "ERP"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sub = r.json["name"].as_str().unwrap().to_owned();
    let secret = r.json["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let again = http.call("GET", &format!("/api/v1/{sub}"), None).await;
    assert!(
        again.json["secret"].is_null(),
        "the secret is shown once: {}",
        again.text
    );

    let customer = create_customer(&http, "Hooked Co").await;
    eventually("a failed attempt and its retry", async || {
        receiver.count() >= 2
    })
    .await;
    let (headers, body) = receiver.seen.lock().unwrap()[1].clone();
    let header = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    assert!(crm_events::webhook::verify(
        &secret,
        &header("webhook-id"),
        timestamp,
        &body,
        &header("webhook-signature"),
        chrono::Utc::now().timestamp(),
        300,
    ));
    assert!(!crm_events::webhook::verify(
        &secret,
        &header("webhook-id"),
        timestamp,
        b"{\"tampered\":true}",
        &header("webhook-signature"),
        chrono::Utc::now().timestamp(),
        300,
    ));
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], CREATED);
    assert_eq!(event["subject"], customer);
    assert_eq!(event["id"], header("webhook-id"));

    let deliveries = http
        .call("GET", &format!("/api/v1/{sub}/deliveries"), None)
        .await;
    assert_eq!(deliveries.status, 200, "{}", deliveries.text);
    let d = &deliveries.json["deliveries"][0];
    assert_eq!(d["state"], "DELIVERED");
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["lastStatus"], 200);

    // An endpoint that never answers: retried for the whole period, then the subscription is
    // disabled with the reason.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    let r = http
        .call(
            "POST",
            "/api/v1/webhookSubscriptions",
            Some(json!({"url": dead_url})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let dead_sub = r.json["name"].as_str().unwrap().to_owned();
    create_customer(&http, "Nobody listens").await;
    eventually("the failing subscription to be disabled", async || {
        let r = http.call("GET", &format!("/api/v1/{dead_sub}"), None).await;
        r.json["state"] == "DISABLED"
    })
    .await;
    let r = http.call("GET", &format!("/api/v1/{dead_sub}"), None).await;
    assert!(
        r.json["disabledReason"]
            .as_str()
            .unwrap()
            .contains("deliveries failed"),
        "{}",
        r.text
    );
    let log = http
        .call("GET", &format!("/api/v1/{dead_sub}/deliveries"), None)
        .await;
    assert_eq!(log.json["deliveries"][0]["state"], "FAILED", "{}", log.text);
    assert!(
        log.json["deliveries"][0]["attempts"].as_i64().unwrap() >= 2,
        "{}",
        log.text
    );
    suite.stop().await;
}

#[tokio::test]
async fn webhook_urls_into_private_networks_are_refused_by_default() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/hook",
        "http://[::1]/hook",
        "ftp://example.com/hook",
    ] {
        let r = http
            .call(
                "POST",
                "/api/v1/webhookSubscriptions",
                Some(json!({"url": url})),
            )
            .await;
        assert_eq!(r.status, 400, "{url}: {}", r.text);
        assert_eq!(
            violated_fields(&r.json),
            ["subscription.url"],
            "{url}: {}",
            r.text
        );
    }
    let ok = http
        .call(
            "POST",
            "/api/v1/webhookSubscriptions",
            Some(json!({"url": "https://erp.example.com/hook"})),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    suite.stop().await;
}
