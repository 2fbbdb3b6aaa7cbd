//! Every custom method whose request is its body reaches the service with the body's fields:
//! each test asserts on the effect (re-read, sign in, a stale etag refused), not on the status
//! alone. These six routes once answered 200 while dropping their body.
use crate::harness::{Backend, Http, Suite, violated_fields};
use serde_json::{Value, json};

const STALE: &str = "999999";

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn root_unit(http: &Http) -> String {
    let me = http.call("GET", "/api/v1/users/me", None).await;
    me.json["unit"].as_str().unwrap().to_owned()
}

async fn role_named(http: &Http, display_name: &str) -> String {
    let roles = http.call("GET", "/api/v1/roles?pageSize=100", None).await;
    let roles = roles.json["roles"].as_array().unwrap().clone();
    let role = roles.iter().find(|r| r["displayName"] == display_name);
    role.unwrap_or_else(|| panic!("no role {display_name}"))["name"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn new_user(http: &Http, login: &str, password: &str) -> Value {
    let unit = root_unit(http).await;
    let body = json!({"user": {"loginName": login, "displayName": login, "unit": unit}, "password": password});
    let r = http.call("POST", "/api/v1/users", Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

async fn login_status(suite: &Suite, login: &str, password: &str) -> (u16, Value) {
    let r = Http::anonymous(suite.gateway())
        .call(
            "POST",
            "/api/v1/auth/login",
            Some(json!({"login_name": login, "password": password})),
        )
        .await;
    (r.status, r.json)
}

#[tokio::test]
async fn move_unit_reads_the_new_parent_from_the_body() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let root = root_unit(&http).await;
    let mut ids = Vec::new();
    for code in ["north", "south"] {
        let body = json!({"code": code, "displayName": code, "kind": "REGION", "parent": root});
        let r = http.call("POST", "/api/v1/units", Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        ids.push(id_of(&r.json));
    }
    let r = http
        .call(
            "POST",
            &format!("/api/v1/units/{}/move", ids[1]),
            Some(json!({"newParent": format!("units/{}", ids[0])})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let moved = http
        .call("GET", &format!("/api/v1/units/{}", ids[1]), None)
        .await;
    assert_eq!(moved.json["parent"], format!("units/{}", ids[0]));
    // A stale etag in the body is refused: the body reached the service.
    let r = http
        .call(
            "POST",
            &format!("/api/v1/units/{}/move", ids[1]),
            Some(json!({"newParent": root, "etag": STALE})),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    suite.stop().await;
}

#[tokio::test]
async fn password_change_and_reset_take_the_passwords_from_the_body() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let user = new_user(&http, "body-check", "first-password-2026").await;
    let id = id_of(&user);

    let token = suite.login("body-check", "first-password-2026").await;
    let own = Http::new(suite.gateway(), &token);
    let r = own
        .call(
            "POST",
            &format!("/api/v1/users/{id}/password"),
            Some(json!({"oldPassword": "first-password-2026", "newPassword": "second-password-2026"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        login_status(&suite, "body-check", "first-password-2026")
            .await
            .0,
        401
    );
    assert_eq!(
        login_status(&suite, "body-check", "second-password-2026")
            .await
            .0,
        200
    );

    let r = http
        .call(
            "POST",
            &format!("/api/v1/users/{id}/password:reset"),
            Some(json!({"newPassword": "third-password-2026", "requirePasswordChange": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (status, tokens) = login_status(&suite, "body-check", "third-password-2026").await;
    assert_eq!(status, 200);
    assert_eq!(tokens["password_change_required"], true, "{tokens}");
    suite.stop().await;
}

#[tokio::test]
async fn assign_roles_sets_the_roles_in_the_body_and_refuses_a_broken_body() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let user = new_user(&http, "role-check", "a-long-passphrase-2026").await;
    let id = id_of(&user);
    let rep = role_named(&http, "Sales rep").await;
    let manager = role_named(&http, "Sales manager").await;
    let path = format!("/api/v1/users/{id}/roles");
    let r = http
        .call("POST", &path, Some(json!({"roles": [rep, manager]})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let read = http.call("GET", &format!("/api/v1/users/{id}"), None).await;
    let mut roles: Vec<_> = read.json["roles"].as_array().unwrap().clone();
    roles.sort_by_key(|r| r.to_string());
    let mut want = vec![json!(rep), json!(manager)];
    want.sort_by_key(|r| r.to_string());
    assert_eq!(roles, want);

    // A NUL byte, a JSON array or a wrong type is a 400 naming the problem; nothing changes.
    for (body, field) in [
        (vec![0u8], "body"),
        (b"[]".to_vec(), "body"),
        (br#"{"roles": "x"}"#.to_vec(), "roles"),
        (Vec::new(), "body"),
    ] {
        let (status, _, bytes) = http.raw("POST", &path, "application/json", body).await;
        assert_eq!(status, 400);
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(violated_fields(&json), [field], "{json}");
    }
    let again = http.call("GET", &format!("/api/v1/users/{id}"), None).await;
    assert_eq!(again.json["roles"].as_array().unwrap().len(), 2);

    // The administrator cannot take the last administrator's role away, through any body.
    let me = http.call("GET", "/api/v1/users/me", None).await;
    let admin = id_of(&me.json);
    let r = http
        .call(
            "POST",
            &format!("/api/v1/users/{admin}/roles"),
            Some(json!({"roles": []})),
        )
        .await;
    assert_eq!(
        r.json["error"]["status"], "FAILED_PRECONDITION",
        "{}",
        r.text
    );
    let me = http.call("GET", "/api/v1/users/me", None).await;
    assert_eq!(me.json["roles"].as_array().unwrap().len(), 1);
    suite.stop().await;
}

#[tokio::test]
async fn secret_rotation_reads_the_grace_period_and_etag() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let unit = root_unit(&http).await;
    let created = http
        .call(
            "POST",
            "/api/v1/apiClients",
            Some(json!({"displayName": "erp", "unit": unit})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let client = &created.json["apiClient"];
    let id = id_of(client);
    let path = format!("/api/v1/apiClients/{id}/secret");
    let stale = http.call("POST", &path, Some(json!({"etag": STALE}))).await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    let r = http
        .call("POST", &path, Some(json!({"gracePeriod": "7200s"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rotated = &r.json["apiClient"];
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let grace = at(&rotated["previousSecretExpireTime"]) - at(&rotated["secretRotateTime"]);
    assert_eq!(grace.num_seconds(), 7200, "{rotated}");
    let token = Http::anonymous(suite.gateway())
        .call(
            "POST",
            "/api/v1/auth/token",
            Some(json!({"client_id": client["clientId"], "client_secret": r.json["clientSecret"]})),
        )
        .await;
    assert_eq!(token.status, 200, "{}", token.text);
    suite.stop().await;
}

#[tokio::test]
async fn alert_acknowledgement_reads_the_etag() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let event = json!({"type": "DATA_EXPORTED", "actor": "users/exporter", "target": "customers",
        "details": {"rows": "20000"}});
    let r = http
        .call(
            "POST",
            "/api/v1/securityEvents:record",
            Some(json!({"events": [event]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let alerts = http.call("GET", "/api/v1/securityAlerts", None).await;
    let alert = alerts.json["securityAlerts"][0].clone();
    let id = alert["name"]
        .as_str()
        .unwrap()
        .trim_start_matches("securityAlerts/");
    let path = format!("/api/v1/securityAlerts/{id}/acknowledge");
    let stale = http.call("POST", &path, Some(json!({"etag": STALE}))).await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    let r = http
        .call("POST", &path, Some(json!({"etag": alert["etag"]})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["state"], "ACKNOWLEDGED", "{}", r.text);
    suite.stop().await;
}

#[tokio::test]
async fn patch_with_whole_body_and_verbs_with_bodies_reach_the_service() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let created = http
        .call(
            "POST",
            "/api/v1/webhookSubscriptions",
            Some(json!({"url": "https://hooks.example/a", "eventTypes": ["crm.customers.v1.customer.created"]})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let id = created.json["name"]
        .as_str()
        .unwrap()
        .trim_start_matches("webhookSubscriptions/")
        .to_owned();
    let r = http
        .call(
            "PATCH",
            &format!("/api/v1/webhookSubscriptions/{id}"),
            Some(json!({"url": "https://hooks.example/b"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let read = http
        .call("GET", &format!("/api/v1/webhookSubscriptions/{id}"), None)
        .await;
    assert_eq!(read.json["url"], "https://hooks.example/b");

    // customers:batchGet reads its names from the body, in order.
    let mut names = Vec::new();
    for n in ["B", "A"] {
        let c = http
            .call(
                "POST",
                "/api/v1/customers",
                Some(json!({"displayName": n, "kind": "PERSON"})),
            )
            .await;
        names.push(c.json["name"].clone());
    }
    let got = http
        .call(
            "POST",
            "/api/v1/customers:batchGet",
            Some(json!({"names": names})),
        )
        .await;
    let shown: Vec<_> = got.json["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["displayName"].clone())
        .collect();
    assert_eq!(shown, [json!("B"), json!("A")], "{}", got.text);
    suite.stop().await;
}
