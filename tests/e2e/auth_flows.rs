//! Sign-in flows, REST mirrors and the audit log, end to end.
use crate::harness::{Backend, Http, Suite, violated_fields};
use crate::identity::{PASSWORD, create_client, create_user};
use crm_identity::roles;
use crm_proto::crm::customers::v1::{
    DeleteCustomerRequest, ListCustomersRequest, customer_service_client::CustomerServiceClient,
};
use crm_proto::crm::identity::v1::{
    ApiClient, CreateApiClientRequest, access_service_client::AccessServiceClient,
    directory_service_client::DirectoryServiceClient,
};
use serde_json::json;
use tonic::Code;
use uuid::Uuid;

fn jti(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn logout_lockout_refresh_and_bad_tokens_over_rest() {
    let suite = Suite::start(Backend::Sqlite).await;
    let anon = Http::anonymous(suite.gateway());
    let login = |password: &'static str| json!({"login_name": "admin", "password": password});
    let r = anon
        .call(
            "POST",
            "/api/v1/auth/login",
            Some(login(crate::harness::ADMIN_PASSWORD)),
        )
        .await;
    let (access, refresh) = (
        r.json["access_token"].as_str().unwrap().to_owned(),
        r.json["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(r.json["expires_in"], 900);
    let http = Http::new(suite.gateway(), &access);
    assert_eq!(
        http.call("GET", "/api/v1/customers", None).await.status,
        200
    );

    // Refresh rotates; the old refresh token is then refused.
    let r = anon
        .call(
            "POST",
            "/api/v1/auth/refresh",
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refresh2 = r.json["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        anon.call(
            "POST",
            "/api/v1/auth/refresh",
            Some(json!({"refresh_token": refresh}))
        )
        .await
        .status,
        401
    );
    // ...and the reuse killed the session: the new one is dead too.
    assert_eq!(
        anon.call(
            "POST",
            "/api/v1/auth/refresh",
            Some(json!({"refresh_token": refresh2}))
        )
        .await
        .status,
        401
    );

    // Logout with the access token id: the token stops working at once, everywhere.
    let r = anon
        .call(
            "POST",
            "/api/v1/auth/login",
            Some(login(crate::harness::ADMIN_PASSWORD)),
        )
        .await;
    let (access, refresh) = (
        r.json["access_token"].as_str().unwrap().to_owned(),
        r.json["refresh_token"].as_str().unwrap().to_owned(),
    );
    let r = anon
        .call(
            "POST",
            "/api/v1/auth/logout",
            Some(json!({"refresh_token": refresh, "access_token_id": jti(&access)})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = Http::new(suite.gateway(), &access)
        .call("GET", "/api/v1/customers", None)
        .await;
    assert_eq!(r.status, 401);
    let mut c = CustomerServiceClient::new(suite.channel(&access).await);
    assert_eq!(
        c.list_customers(ListCustomersRequest::default())
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );

    // Tampered and foreign tokens.
    let mut parts: Vec<String> = suite.admin_token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    for bad in [
        parts.join("."),
        "x.y.z".to_owned(),
        format!("{}x", suite.admin_token),
    ] {
        assert_eq!(
            Http::new(suite.gateway(), &bad)
                .call("GET", "/api/v1/customers", None)
                .await
                .status,
            401
        );
    }

    // Five failures lock the account; then even the right password gets 403.
    for _ in 0..5 {
        assert_eq!(
            anon.call(
                "POST",
                "/api/v1/auth/login",
                Some(login("a wrong password"))
            )
            .await
            .status,
            401
        );
    }
    let r = anon
        .call(
            "POST",
            "/api/v1/auth/login",
            Some(login(crate::harness::ADMIN_PASSWORD)),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.json["error"]["details"][0]["reason"], "ACCOUNT_LOCKED");
    let jwks = anon.call("GET", "/.well-known/jwks.json", None).await;
    assert_eq!(jwks.json["keys"][0]["alg"], "EdDSA");
    suite.stop().await;
}

#[tokio::test]
async fn identity_over_rest_mirrors_grpc() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let units = http.call("GET", "/api/v1/units", None).await;
    assert_eq!(units.status, 200, "{}", units.text);
    let root = units.json["units"][0]["name"].as_str().unwrap().to_owned();
    let unit = http
        .call(
            "POST",
            "/api/v1/units",
            Some(
                json!({"code": "north", "kind": "REGION", "parent": root, "displayName": "North"}),
            ),
        )
        .await;
    assert_eq!(unit.status, 200, "{}", unit.text);
    assert_eq!(unit.json["path"], "/g/north/");
    let body = json!({"user": {"loginName": "rest.user", "displayName": "Rest User", "unit": unit.json["name"]}});
    let user = http
        .call(
            "POST",
            "/api/v1/users?password=never-from-a-query-string",
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        user.status, 400,
        "a password in the query string is ignored: {}",
        user.text
    );
    let mut with_password = body;
    with_password["password"] = json!("rest-user-password-2026");
    let user = http
        .call("POST", "/api/v1/users", Some(with_password))
        .await;
    assert_eq!(user.status, 200, "{}", user.text);
    assert_eq!(user.json["loginName"], "rest.user");
    let id = unit.json["id"].as_str().unwrap();
    let renamed = http
        .call(
            "PATCH",
            &format!("/api/v1/units/{id}?updateMask=display_name"),
            Some(json!({"displayName": "North China"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["displayName"], "North China");
    let perms = http.call("GET", "/api/v1/permissions", None).await;
    assert!(perms.json["permissions"].as_array().unwrap().len() > 20);
    let events = http
        .call(
            "GET",
            "/api/v1/securityEvents?filter=type%20%3D%20%22LOGIN_SUCCEEDED%22",
            None,
        )
        .await;
    assert_eq!(events.status, 200, "{}", events.text);
    assert!(
        !events.json["securityEvents"].as_array().unwrap().is_empty(),
        "the admin's login is audited"
    );
    // A sales rep may not read the audit log.
    let mut dir = DirectoryServiceClient::new(suite.channel(&suite.admin_token).await);
    create_user(&mut dir, "rep", &root, &[roles::SALES_REP]).await;
    let rep = Http::new(suite.gateway(), &suite.login("rep", PASSWORD).await);
    let denied = rep.call("GET", "/api/v1/securityEvents", None).await;
    assert_eq!(denied.status, 403, "{}", denied.text);
    let me = rep.call("GET", "/api/v1/users/me", None).await;
    assert_eq!(
        me.status, 200,
        "reading oneself needs no permission: {}",
        me.text
    );
    assert_eq!(me.json["loginName"], "rep");
    let other = rep
        .call(
            "GET",
            &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(
        other.status, 403,
        "reading others needs identity.user.read: {}",
        other.text
    );

    // Preferences: every user has their own, no permission needed; a PATCH changes only the
    // fields in its body.
    let prefs = "/api/v1/users/me/preferences";
    let saved = rep
        .call("PATCH", prefs, Some(json!({"timeZone": "asia/shanghai"})))
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let saved = rep
        .call(
            "PATCH",
            prefs,
            Some(json!({"locale": "zh-CN", "etag": "1"})),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let got = rep.call("GET", prefs, None).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["locale"], "zh-CN");
    assert_eq!(got.json["timeZone"], "Asia/Shanghai", "kept, and canonical");
    assert_eq!(got.json["etag"], "2");
    let rep_id = me.json["id"].as_str().unwrap();
    assert_eq!(got.json["name"], format!("users/{rep_id}/preferences"));
    let stale = rep
        .call("PATCH", prefs, Some(json!({"locale": "en", "etag": "1"})))
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    let bad = rep
        .call("PATCH", prefs, Some(json!({"timeZone": "Mars/Base"})))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(violated_fields(&bad.json), ["preferences.time_zone"]);
    let theirs = http
        .call("GET", &format!("/api/v1/users/{rep_id}/preferences"), None)
        .await;
    assert_eq!(
        theirs.status, 404,
        "not even an administrator reads another user's: {}",
        theirs.text
    );
    suite.stop().await;
}

async fn events_of(suite: &Suite, filter: &str) -> Vec<serde_json::Value> {
    // Reports are handed off asynchronously: poll briefly.
    for _ in 0..50 {
        let path = format!(
            "/api/v1/securityEvents?filter={}",
            filter.replace(' ', "%20").replace('"', "%22")
        );
        let r = suite.http().call("GET", &path, None).await;
        let events = r.json["securityEvents"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !events.is_empty() {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Vec::new()
}

#[tokio::test]
async fn refusals_anywhere_reach_the_audit_log_and_large_exports_raise_alerts() {
    use crm_platform::auth::{Denial, DenialSink};
    let suite = Suite::start(Backend::Sqlite).await;
    let mut dir = DirectoryServiceClient::new(suite.channel(&suite.admin_token).await);
    let root = dir
        .list_units(crm_proto::crm::identity::v1::ListUnitsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .units[0]
        .name
        .clone();
    let rep = create_user(&mut dir, "denied.rep", &root, &[roles::SALES_REP]).await;

    // A sales rep may not delete customers: refused in the customers service, audited in identity.
    let token = suite.login("denied.rep", PASSWORD).await;
    let mut c = CustomerServiceClient::new(suite.channel(&token).await);
    let err = c
        .delete_customer(DeleteCustomerRequest {
            name: format!("customers/{}", Uuid::now_v7()),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let events = events_of(&suite, "type = \"PERMISSION_DENIED\"").await;
    let all = suite
        .http()
        .call("GET", "/api/v1/securityEvents?pageSize=100", None)
        .await;
    assert_eq!(events.len(), 1, "{}", all.text);
    assert_eq!(events[0]["actor"], rep.name);
    assert_eq!(
        events[0]["target"],
        "/crm.customers.v1.CustomerService/DeleteCustomer"
    );
    assert_eq!(
        events[0]["details"]["permission"],
        "customers.customer.delete"
    );

    // A service in another process reports through RecordSecurityEvents with its own client.
    let (client, secret) = create_client(&suite, "customers service", roles::SERVICE).await;
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{}", suite.stack.identity_addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let reporter = crm::GrpcDenials::new(
        channel,
        client.client_id,
        crm_platform::config::Secret::new(secret),
    );
    let denial = Denial {
        actor: "users/remote".into(),
        method: "/crm.sales.v1.X/Y".into(),
        permission: "sales.order.write".into(),
        source_ip: "10.9.9.9".into(),
        request_id: "r-1".into(),
    };
    reporter.send(denial.clone()).await.unwrap();
    reporter.denied(denial);
    let events = events_of(&suite, "actor = \"users/remote\"").await;
    assert!(!events.is_empty());
    assert_eq!(events[0]["sourceIp"], "10.9.9.9");

    // 20,000 exported rows within the hour: LARGE_EXPORT.
    let mut security =
        crm_proto::crm::identity::v1::security_service_client::SecurityServiceClient::new(
            suite.channel(&suite.admin_token).await,
        );
    let export = crm_proto::crm::identity::v1::SecurityEvent {
        r#type: crm_proto::crm::identity::v1::security_event::Type::DataExported as i32,
        actor: "users/exporter".into(),
        target: "customers".into(),
        details: [("rows".to_owned(), "20000".to_owned())].into(),
        ..Default::default()
    };
    let req = crm_proto::crm::identity::v1::RecordSecurityEventsRequest {
        events: vec![export],
    };
    security.record_security_events(req).await.unwrap();
    let alerts = suite
        .http()
        .call("GET", "/api/v1/securityAlerts", None)
        .await;
    let rules: Vec<_> = alerts.json["securityAlerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule"].clone())
        .collect();
    assert!(rules.contains(&json!("LARGE_EXPORT")), "{}", alerts.text);
    // Without the write permission, nobody else may record events.
    let mut as_rep =
        crm_proto::crm::identity::v1::security_service_client::SecurityServiceClient::new(
            suite.channel(&token).await,
        );
    let err = as_rep
        .record_security_events(
            crm_proto::crm::identity::v1::RecordSecurityEventsRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    suite.stop().await;
}

#[tokio::test]
async fn identity_creates_are_idempotent_by_request_id() {
    for backend in crate::harness::backends() {
        let suite = Suite::start(backend).await;
        let mut access = AccessServiceClient::new(suite.channel(&suite.admin_token).await);
        let client = ApiClient {
            display_name: "Finance".into(),
            roles: vec![format!("roles/{}", roles::INTEGRATION)],
            ..Default::default()
        };
        let req = CreateApiClientRequest {
            api_client: Some(client),
            request_id: "setup-finance-1".into(),
        };
        let first = access
            .create_api_client(req.clone())
            .await
            .unwrap()
            .into_inner();
        let again = access
            .create_api_client(req.clone())
            .await
            .unwrap()
            .into_inner();
        assert!(!first.client_secret.is_empty());
        assert_eq!(
            again.api_client, first.api_client,
            "{backend:?}: a retry returns the first client"
        );
        assert_eq!(
            again.client_secret, "",
            "the secret is shown once and never stored"
        );
        let listed = access
            .list_api_clients(crm_proto::crm::identity::v1::ListApiClientsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            listed.api_clients.len(),
            1,
            "{backend:?}: one client was created"
        );
        let mut other = req;
        other.api_client.as_mut().unwrap().display_name = "Something else".into();
        assert_eq!(
            access.create_api_client(other).await.unwrap_err().code(),
            Code::InvalidArgument
        );
        suite.stop().await;
    }
}
