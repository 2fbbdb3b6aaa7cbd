//! Custom fields, search, sharing and transfer over REST through the gateway.
use crate::harness::{Suite, backends, violated_fields};
use serde_json::json;

#[tokio::test]
async fn custom_fields_search_sharing_and_transfer_over_rest() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        let defined = http
            .call(
                "POST",
                "/api/v1/customFieldDefinitions",
                Some(json!({"key": "credit_limit", "label": "Credit limit", "type": "NUMBER"})),
            )
            .await;
        assert_eq!(defined.status, 200, "{backend:?}: {}", defined.text);
        assert_eq!(defined.json["name"], "customFieldDefinitions/credit_limit");
        let choice = json!({"key": "segment", "label": "Segment", "type": "SINGLE_CHOICE", "choices": ["smb", "enterprise"]});
        assert_eq!(
            http.call("POST", "/api/v1/customFieldDefinitions", Some(choice))
                .await
                .status,
            200
        );
        let bad = http
            .call(
                "POST",
                "/api/v1/customFieldDefinitions",
                Some(json!({"key": "Bad Key", "label": "", "type": "TEXT"})),
            )
            .await;
        assert_eq!(
            violated_fields(&bad.json),
            ["definition.key", "definition.label"]
        );
        let listed = http
            .call("GET", "/api/v1/customFieldDefinitions", None)
            .await;
        assert_eq!(listed.json["definitions"].as_array().unwrap().len(), 2);

        let body = json!({"displayName": "华信科技有限公司", "kind": "ORGANIZATION",
            "customFields": {"credit_limit": 250000, "segment": "enterprise"}, "tags": ["vip"]});
        let created = http.call("POST", "/api/v1/customers", Some(body)).await;
        assert_eq!(created.status, 200, "{}", created.text);
        assert_eq!(
            created.json["customFields"],
            json!({"credit_limit": 250000.0, "segment": "enterprise"})
        );
        let id = created.json["id"].as_str().unwrap().to_owned();
        let bad = http
            .call("POST", "/api/v1/customers", Some(json!({"displayName": "X", "kind": "PERSON", "customFields": {"segment": "huge"}})))
            .await;
        assert_eq!(
            violated_fields(&bad.json),
            ["customer.custom_fields.segment"]
        );
        let filtered = http
            .call(
                "GET",
                "/api/v1/customers?filter=custom_fields.credit_limit%20%3E%20100000",
                None,
            )
            .await;
        assert_eq!(filtered.status, 200, "{}", filtered.text);
        assert_eq!(filtered.json["customers"][0]["id"], id.as_str());

        // Search: a Chinese name part, ranked, with what matched.
        let found = http
            .call(
                "GET",
                "/api/v1/customers:search?query=%E5%8D%8E%E4%BF%A1",
                None,
            )
            .await;
        assert_eq!(found.status, 200, "{}", found.text);
        assert_eq!(found.json["results"][0]["customer"]["id"], id.as_str());
        assert_eq!(
            found.json["results"][0]["matchedFields"],
            json!(["display_name"])
        );
        let empty = http
            .call("GET", "/api/v1/customers:search?query=", None)
            .await;
        assert_eq!(violated_fields(&empty.json), ["query"]);

        // An Idempotency-Key header (or ?requestId=) makes a mirrored create idempotent.
        let points = format!("/api/v1/customers/{id}/contactPoints");
        let point = json!({"kind": "EMAIL", "email": "ap@huaxin.example"});
        let key = [("idempotency-key", "rest-cp-1")];
        let first = http
            .call_with("POST", &points, &key, Some(point.clone()))
            .await;
        let again = http
            .call_with("POST", &points, &key, Some(point.clone()))
            .await;
        assert_eq!(
            (first.status, &first.json),
            (200, &again.json),
            "{}",
            again.text
        );
        let by_query = http
            .call(
                "POST",
                &format!("{points}?requestId=rest-cp-1"),
                Some(point),
            )
            .await;
        assert_eq!(by_query.json, first.json);
        let listed = http.call("GET", &points, None).await;
        assert_eq!(listed.json["contactPoints"].as_array().unwrap().len(), 1);

        // Sharing and transfer.
        let path = format!("/api/v1/customers/{id}/shares");
        let shared = http
            .call(
                "POST",
                &path,
                Some(json!({"unitPath": "/g/east/", "access": "WRITE"})),
            )
            .await;
        assert_eq!(shared.status, 200, "{}", shared.text);
        assert_eq!(shared.json["access"], "WRITE");
        let bad = http
            .call("POST", &path, Some(json!({"unitPath": "east"})))
            .await;
        assert_eq!(violated_fields(&bad.json), ["share.unit_path"]);
        let shares = http.call("GET", &path, None).await;
        assert_eq!(shares.json["shares"].as_array().unwrap().len(), 1);
        let gone = http
            .call(
                "POST",
                "/api/v1/shares:delete",
                Some(json!({"name": shared.json["name"]})),
            )
            .await;
        assert_eq!(gone.status, 200, "{}", gone.text);
        let to = uuid::Uuid::now_v7().to_string();
        let moved = http
            .call(
                "POST",
                "/api/v1/customers:transfer",
                Some(json!({"names": [format!("customers/{id}")], "toOwnerId": to, "toUnitPath": "/g/west/"})),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        assert_eq!(moved.json["transferred"], "1");
        let got = http
            .call("GET", &format!("/api/v1/customers/{id}"), None)
            .await;
        assert_eq!(got.json["ownerId"], to.as_str());
        let bad = http
            .call(
                "POST",
                "/api/v1/customers:transfer",
                Some(json!({"toOwnerId": to})),
            )
            .await;
        assert_eq!(violated_fields(&bad.json), ["to_unit_path", "names"]);
        suite.stop().await;
    }
}

#[tokio::test]
async fn the_history_names_the_request_of_each_change() {
    let suite = Suite::start(crate::harness::Backend::Sqlite).await;
    let http = suite.http();
    let created = http
        .call_with(
            "POST",
            "/api/v1/customers",
            &[("x-request-id", "audit-create-1")],
            Some(json!({"displayName": "Traced", "kind": "PERSON"})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let updated = http
        .call_with(
            "PATCH",
            &format!("/api/v1/customers/{id}"),
            &[("x-request-id", "audit-update-2")],
            Some(json!({"displayName": "Traced Ltd"})),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let r = http
        .call("GET", &format!("/api/v1/customers/{id}/history"), None)
        .await;
    let ids: Vec<_> = r.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["requestId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, ["audit-update-2", "audit-create-1"], "{}", r.text);
    suite.stop().await;
}
