//! The API clients and security pages.
use super::*;
use crate::harness::{ADMIN_PASSWORD, Backend, Http, Suite};
use serde_json::{Value, json};

async fn client_token(suite: &Suite, client_id: &str, secret: &str) -> u16 {
    let r = Http::anonymous(suite.gateway())
        .call(
            "POST",
            "/api/v1/auth/token",
            Some(json!({"client_id": client_id, "client_secret": secret})),
        )
        .await;
    r.status
}

#[tokio::test]
async fn an_api_client_secret_is_shown_once_and_works() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let root = root_unit(&http).await;
    let rep = find(&http, "roles", "roles", "displayName", "Sales rep").await;
    let mut b = Browser::sign_in(&suite, "admin", ADMIN_PASSWORD).await;
    let page = b.get("/admin/api-clients").await;
    assert_eq!(page.status, 200, "{}", page.body);

    let rep_name = s(&rep["name"]);
    let fields = [
        ("display_name", "SAP ERP"),
        ("role", rep_name.as_str()),
        ("unit", root.as_str()),
        ("allowed_cidrs", "127.0.0.1\n::1"),
        ("request_id", "client-erp"),
    ];
    let page = b.post("/admin/api-clients", &fields).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("id=\"secret-warning\""));
    let secret = attr(&page.body, "id=\"secret\"", "value").expect("secret shown");
    let client_id = attr(&page.body, "id=\"identifier\"", "value").expect("client id");
    assert_eq!(secret.len(), 43, "{secret}");
    assert_eq!(client_token(&suite, &client_id, &secret).await, 200);
    let client = find(&http, "apiClients", "apiClients", "clientId", &client_id).await;
    assert_eq!(client["roles"], json!([rep["name"]]));
    assert_eq!(client["unit"], root.as_str());
    assert_eq!(client["allowedCidrs"], json!(["127.0.0.1", "::1"]));

    // Never again: not on the list, and not when the form is sent a second time.
    let page = b.get("/admin/api-clients").await;
    assert!(page.has(&client_id) && !page.has(&secret));
    let page = b.post("/admin/api-clients", &fields).await;
    assert!(
        page.has("id=\"secret-gone\"") && !page.has(&secret),
        "{}",
        page.body
    );
    assert_eq!(rest_list(&http, "apiClients", "apiClients").await.len(), 1);

    // Rotation without grace: the new secret works, the old one stops.
    let client_id_path = id(&client);
    let page = b
        .post(
            &format!("/admin/api-clients/{client_id_path}/rotate"),
            &[("grace", "0"), ("etag", s(&client["etag"]).as_str())],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let rotated = attr(&page.body, "id=\"secret\"", "value").expect("new secret shown");
    assert_ne!(rotated, secret);
    assert_eq!(client_token(&suite, &client_id, &rotated).await, 200);
    assert_eq!(client_token(&suite, &client_id, &secret).await, 401);
    let page = b.get("/admin/api-clients").await;
    assert!(!page.has(&rotated));

    let client = find(&http, "apiClients", "apiClients", "clientId", &client_id).await;
    let page = b
        .post(
            &format!("/admin/api-clients/{client_id_path}/delete"),
            &[("etag", s(&client["etag"]).as_str())],
        )
        .await;
    assert!(page.has("API client deleted"), "{}", page.body);
    let gone = http
        .call("GET", &format!("/api/v1/apiClients/{client_id_path}"), None)
        .await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    assert_eq!(client_token(&suite, &client_id, &rotated).await, 401);
    let page = b
        .post_without_csrf(&format!("/admin/api-clients/{client_id_path}/delete"), &[])
        .await;
    assert_eq!(page.status, 403);
    suite.stop().await;
}

#[tokio::test]
async fn security_events_filter_page_export_and_alerts_acknowledge() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    // Sixty denials for one principal (a page and more), and an export large enough to alert.
    let mut events: Vec<Value> = (0..60)
        .map(|n| {
            json!({"type": "PERMISSION_DENIED", "actor": "users/prober", "target": format!("customers/{n}"),
                "details": {"service": "customers", "permission": "customers.customer.read"}})
        })
        .collect();
    events.push(
        json!({"type": "DATA_EXPORTED", "actor": "users/exporter", "target": "customers",
        "details": {"rows": "20000"}}),
    );
    let r = http
        .call(
            "POST",
            "/api/v1/securityEvents:record",
            Some(json!({"events": events})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let me = find(&http, "users", "users", "loginName", "admin").await;
    let mut b = Browser::sign_in(&suite, "admin", ADMIN_PASSWORD).await;

    let page = b
        .get(&format!(
            "/admin/security?type=LOGIN_SUCCEEDED&user=users%2F{}",
            id(&me)
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("data-type=\"LOGIN_SUCCEEDED\""), "{}", page.body);
    assert!(!page.has("data-type=\"PERMISSION_DENIED\""));
    assert!(page.has("Large export"), "{}", page.body);

    // Paging: 50 a page, then the rest.
    let page = b.get("/admin/security?type=PERMISSION_DENIED").await;
    assert_eq!(page.body.matches("class=\"event\"").count(), 50);
    let next = attr(&page.body, "id=\"next-page\"", "href").expect("a next page");
    let page = b.get(&next).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.body.matches("data-type=\"PERMISSION_DENIED\"").count(),
        10
    );
    assert!(page.has("id=\"first-page\""));

    // A time range in the user's zone (UTC here): nothing in the future.
    let page = b
        .get("/admin/security?from=2999-01-01T00%3A00&to=2999-01-02T00%3A00")
        .await;
    assert!(page.has("id=\"no-events\""), "{}", page.body);
    let page = b.get("/admin/security?from=yesterday").await;
    assert!(page.has("A date or time in the filter is not valid."));

    // The export link downloads the filtered events as CSV.
    let page = b.get("/admin/security").await;
    let export = attr(&page.body, "id=\"export\"", "href").expect("export link");
    assert!(export.starts_with("/admin/security/export?"));
    let csv = b
        .get("/admin/security/export?type=PERMISSION_DENIED&user=&from=&to=")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = csv.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"security-events-"));
    let lines: Vec<_> = csv.body.lines().collect();
    assert!(lines[0].starts_with("name,type,time"), "{}", lines[0]);
    assert_eq!(lines.len(), 61, "{}", csv.body);
    assert!(lines[1..].iter().all(|l| l.contains("PERMISSION_DENIED")));

    // Acknowledge the export alert.
    let alerts = rest_list(&http, "securityAlerts", "securityAlerts").await;
    let alert = alerts
        .iter()
        .find(|a| a["rule"] == "LARGE_EXPORT")
        .expect("large export alert");
    let page = b.get("/admin/security").await;
    assert!(page.has(&format!("id=\"ack-{}\"", id(alert))));
    let page = b
        .post(
            &format!("/admin/security/alerts/{}/acknowledge", id(alert)),
            &[("etag", s(&alert["etag"]).as_str())],
        )
        .await;
    assert!(page.has("Alert acknowledged."), "{}", page.body);
    let alerts = rest_list(&http, "securityAlerts", "securityAlerts").await;
    let alert = alerts.iter().find(|a| a["rule"] == "LARGE_EXPORT").unwrap();
    assert_eq!(alert["state"], "ACKNOWLEDGED");
    let open: Vec<_> = alerts.iter().filter(|a| a["state"] == "OPEN").collect();
    let page = b
        .post_without_csrf(
            &format!("/admin/security/alerts/{}/acknowledge", id(open[0])),
            &[],
        )
        .await;
    assert_eq!(page.status, 403);
    suite.stop().await;
}
