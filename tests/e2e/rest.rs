//! An end user's (or web UI's) view: REST/JSON through the gateway.
use crate::harness::{Suite, backends, violated_fields};
use serde_json::json;

#[tokio::test]
async fn crud_over_rest() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        let created = http
            .call("POST", "/api/v1/customers", Some(json!({"displayName": "Zhang Wei", "kind": "PERSON", "email": "Zhang.Wei@Example.CN"})))
            .await;
        assert_eq!(created.status, 200, "{backend:?}: {}", created.text);
        let c = created.json;
        assert_eq!(c["email"], "Zhang.Wei@example.cn");
        assert_eq!(c["kind"], "PERSON");
        let id = c["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/customers/{id}");

        let got = http.call("GET", &path, None).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.json, c);

        // PATCH without updateMask changes only the fields in the body.
        let patched = http
            .call(
                "PATCH",
                &path,
                Some(json!({"phone": "+86 138 0013 8000", "etag": "1"})),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text);
        assert_eq!(patched.json["phone"], "+8613800138000");
        assert_eq!(patched.json["displayName"], "Zhang Wei");
        assert_eq!(patched.json["email"], "Zhang.Wei@example.cn");

        // With updateMask, a field left out of the body is cleared.
        let cleared = http
            .call(
                "PATCH",
                &format!("{path}?updateMask=email"),
                Some(json!({})),
            )
            .await;
        assert_eq!(cleared.status, 200, "{}", cleared.text);
        assert!(cleared.json.get("email").is_none(), "{}", cleared.text);

        for i in 0..3 {
            http.call(
                "POST",
                "/api/v1/customers",
                Some(json!({"displayName": format!("Org {i}"), "kind": "ORGANIZATION"})),
            )
            .await;
        }
        let page = http.call("GET", "/api/v1/customers?filter=kind%20%3D%20ORGANIZATION&pageSize=2&orderBy=display_name", None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let names: Vec<_> = page.json["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["displayName"].clone())
            .collect();
        assert_eq!(names, [json!("Org 0"), json!("Org 1")]);
        let token = page.json["nextPageToken"].as_str().unwrap();
        let next = http
            .call("GET", &format!("/api/v1/customers?filter=kind%20%3D%20ORGANIZATION&pageSize=2&orderBy=display_name&pageToken={token}"), None)
            .await;
        assert_eq!(next.json["customers"][0]["displayName"], "Org 2");
        assert!(
            next.json.get("nextPageToken").is_none(),
            "last page: {}",
            next.text
        );

        let deleted = http.call("DELETE", &path, None).await;
        assert_eq!(deleted.status, 200);
        assert_eq!(http.call("GET", &path, None).await.status, 404);
        suite.stop().await;
    }
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let suite = Suite::start(crate::harness::Backend::Sqlite).await;
    let http = suite.http();
    let r = http
        .call(
            "POST",
            "/api/v1/customers",
            Some(json!({"displayName": "X", "kind": "PERSON", "phone": "12345"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&r.json), ["customer.phone"]);

    let r = http
        .call(
            "POST",
            "/api/v1/customers",
            Some(json!({"displayName": "X", "kind": "ROBOT"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(violated_fields(&r.json), ["customer.kind"]);

    let r = http
        .call("GET", "/api/v1/customers?filter=secret%20%3D%201", None)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(violated_fields(&r.json), ["filter"]);
    let r = http
        .call("GET", "/api/v1/customers?pageSize=many", None)
        .await;
    assert_eq!(violated_fields(&r.json), ["page_size"]);
    let r = http.call("GET", "/api/v1/customers/not-a-uuid", None).await;
    assert_eq!(r.status, 400);
    assert_eq!(violated_fields(&r.json), ["name"]);
    let r = http
        .call(
            "PATCH",
            "/api/v1/customers/0190b3c4-0000-7000-8000-000000000000?updateMask=colour",
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(violated_fields(&r.json), ["update_mask"]);
    suite.stop().await;
}

#[tokio::test]
async fn stale_etag_is_409_and_retried_create_is_one_row() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        let body = json!({"displayName": "Idem AG", "kind": "ORGANIZATION"});
        let first = http
            .call(
                "POST",
                "/api/v1/customers?requestId=web-form-1",
                Some(body.clone()),
            )
            .await;
        let second = http
            .call(
                "POST",
                "/api/v1/customers?requestId=web-form-1",
                Some(body.clone()),
            )
            .await;
        assert_eq!(first.status, 200);
        assert_eq!(
            first.json, second.json,
            "a retry answers with the first result"
        );
        let list = http.call("GET", "/api/v1/customers", None).await;
        assert_eq!(list.json["customers"].as_array().unwrap().len(), 1);

        let path = format!("/api/v1/customers/{}", first.json["id"].as_str().unwrap());
        let r = http
            .call(
                "PATCH",
                &path,
                Some(json!({"displayName": "Changed", "etag": "99"})),
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.text);
        assert_eq!(r.json["error"]["status"], "ABORTED");
        let r = http.call("DELETE", &format!("{path}?etag=99"), None).await;
        assert_eq!(r.status, 409);
        assert_eq!(
            http.call("GET", &path, None).await.json["displayName"],
            "Idem AG"
        );
        suite.stop().await;
    }
}

/// An ERP keeps its customers in step with `customers:upsert`, by its own id, over REST; the
/// descriptive fields travel as proto3 JSON and bad ones are named.
#[tokio::test]
async fn upsert_by_external_id_and_profile_fields_over_rest() {
    let suite = Suite::start(crate::harness::Backend::Sqlite).await;
    let http = suite.http();
    let body = |name: &str| {
        json!({"customer": {
            "displayName": name, "kind": "ORGANIZATION", "source": "sap", "externalId": "0000104711",
            "lifecycleStage": "ACTIVE", "companySize": "LARGE", "sourceChannel": "API_IMPORT",
            "tags": ["vip", "key-account"], "birthDate": "1987-11-03", "preferredLanguage": "de_ch"
        }})
    };
    let first = http
        .call("POST", "/api/v1/customers:upsert", Some(body("Müller AG")))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["created"], true);
    let c = &first.json["customer"];
    assert_eq!(c["externalId"], "0000104711", "leading zeros are kept");
    assert_eq!(c["lifecycleStage"], "ACTIVE");
    assert_eq!(c["stagePinned"], true);
    assert_eq!(c["valueTier"], "C");
    assert_eq!(c["preferredLanguage"], "de-CH");
    assert_eq!(c["tags"], json!(["vip", "key-account"]));

    let second = http
        .call(
            "POST",
            "/api/v1/customers:upsert",
            Some(body("Müller Holding AG")),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    // proto3 JSON leaves out false: absent means not created.
    assert!(second.json["created"].is_null(), "{}", second.text);
    assert_eq!(second.json["customer"]["id"], c["id"]);
    assert_eq!(second.json["customer"]["displayName"], "Müller Holding AG");

    let listed = http
        .call(
            "GET",
            "/api/v1/customers?filter=tags:vip%20AND%20company_size%20%3D%20LARGE",
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["customers"].as_array().unwrap().len(), 1);

    let bad = http
        .call(
            "POST",
            "/api/v1/customers",
            Some(json!({"displayName": "X", "kind": "PERSON", "birthDate": "03/04/2020", "source": "SAP"})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(
        violated_fields(&bad.json),
        ["customer.source", "customer.birth_date"]
    );
    suite.stop().await;
}

/// A sales rep's day over REST: a reminder on a customer, listed as theirs, then done.
#[tokio::test]
async fn reminders_over_rest() {
    let suite = Suite::start(crate::harness::Backend::Sqlite).await;
    let http = suite.http();
    let customer = http
        .call(
            "POST",
            "/api/v1/customers",
            Some(json!({"displayName": "Li Lei", "kind": "PERSON"})),
        )
        .await;
    let id = customer.json["id"].as_str().unwrap().to_owned();
    let due = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    let created = http
        .call(
            "POST",
            &format!("/api/v1/customers/{id}/reminders"),
            Some(json!({"dueTime": due, "note": "call about the renewal"})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.json["state"], "OPEN");
    assert_eq!(created.json["overdue"], true);
    let name = created.json["name"].as_str().unwrap().to_owned();

    let mine = http.call("GET", "/api/v1/reminders:mine", None).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.json["reminders"][0]["name"], name);

    let done = http
        .call(
            "POST",
            "/api/v1/reminders:update",
            Some(json!({"reminder": {"name": name, "state": "DONE", "etag": "1"}, "updateMask": {"paths": ["state"]}})),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json["state"], "DONE");
    let mine = http.call("GET", "/api/v1/reminders:mine", None).await;
    assert!(
        mine.json["reminders"].is_null(),
        "done reminders leave the day: {}",
        mine.text
    );

    let bad = http
        .call(
            "POST",
            &format!("/api/v1/customers/{id}/reminders"),
            Some(json!({"note": "no due time"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(violated_fields(&bad.json), ["reminder.due_time"]);
    suite.stop().await;
}

/// The timeline, the summary and batch reads over REST.
#[tokio::test]
async fn timeline_summary_and_batch_get_over_rest() {
    let suite = Suite::start(crate::harness::Backend::Sqlite).await;
    let http = suite.http();
    let mut ids = Vec::new();
    for name in ["Han Meimei", "Wang Fang"] {
        let c = http
            .call(
                "POST",
                "/api/v1/customers",
                Some(json!({"displayName": name, "kind": "PERSON"})),
            )
            .await;
        ids.push(c.json["id"].as_str().unwrap().to_owned());
    }
    let call = http
        .call(
            "POST",
            &format!("/api/v1/customers/{}/interactions", ids[0]),
            Some(json!({"type": "CALL", "direction": "INBOUND", "subject": "asked for a quote", "durationSeconds": 240})),
        )
        .await;
    assert_eq!(call.status, 200, "{}", call.text);
    let timeline = http
        .call(
            "GET",
            &format!("/api/v1/customers/{}/interactions", ids[0]),
            None,
        )
        .await;
    assert_eq!(
        timeline.json["interactions"][0]["subject"],
        "asked for a quote"
    );
    let summary = http
        .call(
            "GET",
            &format!("/api/v1/customers/{}/summary", ids[0]),
            None,
        )
        .await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    assert_eq!(
        summary.json["interactionCount"], "1",
        "int64 is a string in proto3 JSON"
    );
    assert_eq!(summary.json["lifecycleStage"], "PROSPECT");
    let names: Vec<String> = ids
        .iter()
        .rev()
        .map(|id| format!("customers/{id}"))
        .collect();
    let batch = http
        .call(
            "POST",
            "/api/v1/customers:batchGet",
            Some(json!({"names": names})),
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    assert_eq!(batch.json["customers"][0]["id"], ids[1].as_str());
    assert_eq!(batch.json["customers"][1]["id"], ids[0].as_str());
    let bad = http
        .call(
            "POST",
            &format!("/api/v1/customers/{}/interactions", ids[0]),
            Some(json!({"subject": "no type"})),
        )
        .await;
    assert_eq!(violated_fields(&bad.json), ["interaction.type"]);
    suite.stop().await;
}

/// Contacts over REST: the names of nested resources travel in the body.
#[tokio::test]
async fn contacts_over_rest() {
    let suite = Suite::start(crate::harness::Backend::Sqlite).await;
    let http = suite.http();
    let org = http
        .call(
            "POST",
            "/api/v1/customers",
            Some(json!({"displayName": "Acme", "kind": "ORGANIZATION"})),
        )
        .await;
    let id = org.json["id"].as_str().unwrap().to_owned();
    let created = http
        .call(
            "POST",
            &format!("/api/v1/customers/{id}/contacts"),
            Some(json!({"displayName": "Zhou Jie", "role": "DECISION_MAKER", "phone": "+86 138 1234 5678"})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.json["phone"], "+8613812345678");
    let name = created.json["name"].as_str().unwrap().to_owned();
    let updated = http
        .call(
            "POST",
            "/api/v1/contacts:update",
            Some(json!({"contact": {"name": name, "title": "CEO"}, "updateMask": {"paths": ["title"]}})),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json["title"], "CEO");
    let bad = http
        .call(
            "POST",
            &format!("/api/v1/customers/{id}/contacts"),
            Some(json!({"displayName": "", "email": "not-an-email"})),
        )
        .await;
    assert_eq!(
        violated_fields(&bad.json),
        ["contact.display_name", "contact.email"]
    );
    let deleted = http
        .call(
            "POST",
            "/api/v1/contacts:delete",
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let listed = http
        .call("GET", &format!("/api/v1/customers/{id}/contacts"), None)
        .await;
    assert!(listed.json["contacts"].is_null(), "{}", listed.text);
    suite.stop().await;
}

/// Contact points over REST: normalized values, bad ones named.
#[tokio::test]
async fn contact_points_over_rest() {
    let suite = Suite::start(crate::harness::Backend::Sqlite).await;
    let http = suite.http();
    let c = http
        .call(
            "POST",
            "/api/v1/customers",
            Some(json!({"displayName": "Wu", "kind": "PERSON"})),
        )
        .await;
    let id = c.json["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/customers/{id}/contactPoints");
    let added = http
        .call(
            "POST",
            &path,
            Some(json!({"kind": "PHONE", "phone": "0086 138-1234-5678", "label": "mobile"})),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.json["phone"], "+8613812345678");
    assert_eq!(added.json["primary"], true);
    let address = json!({"kind": "ADDRESS", "address": {"country": "de", "postalCode": "01067", "city": "Dresden", "lines": ["Altmarkt 1"]}});
    let added = http.call("POST", &path, Some(address)).await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.json["address"]["country"], "DE");
    assert_eq!(
        added.json["address"]["postalCode"], "01067",
        "leading zeros are kept"
    );
    let bad = http
        .call(
            "POST",
            &path,
            Some(json!({"kind": "ADDRESS", "address": {"lines": ["x"]}})),
        )
        .await;
    assert_eq!(
        violated_fields(&bad.json),
        ["contact_point.address.country"]
    );
    let bad = http
        .call(
            "POST",
            &path,
            Some(json!({"kind": "EMAIL", "email": "nobody"})),
        )
        .await;
    assert_eq!(violated_fields(&bad.json), ["contact_point.email"]);
    let listed = http.call("GET", &path, None).await;
    assert_eq!(listed.json["contactPoints"].as_array().unwrap().len(), 2);
    suite.stop().await;
}

/// The customers dashboard's numbers over REST: `customers:summarize` with a filter and a week
/// count, int64 as strings, a bad filter named.
#[tokio::test]
async fn summarize_customers_over_rest() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        let mut ids = Vec::new();
        for (name, kind, region) in [
            ("Summary Org A", "ORGANIZATION", "East"),
            ("Summary Org B", "ORGANIZATION", "East"),
            ("Summary Person", "PERSON", ""),
        ] {
            let c = http
                .call(
                    "POST",
                    "/api/v1/customers",
                    Some(json!({"displayName": name, "kind": kind, "region": region})),
                )
                .await;
            assert_eq!(c.status, 200, "{backend:?}: {}", c.text);
            ids.push(c.json["id"].as_str().unwrap().to_owned());
        }
        let sale = json!({"orderReference": "SUM-1", "orderTime": "2026-01-05T10:00:00Z",
            "amount": {"currencyCode": "CNY", "amountMinor": "12345"}, "status": "COMPLETED"});
        let r = http
            .call(
                "POST",
                &format!("/api/v1/customers/{}/transactions", ids[0]),
                Some(sale),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);

        let r = http
            .call("GET", "/api/v1/customers:summarize?weeks=3", None)
            .await;
        assert_eq!(r.status, 200, "{backend:?}: {}", r.text);
        let s = &r.json;
        assert_eq!(s["totalCount"], "3", "int64 is a string in proto3 JSON");
        assert_eq!(
            s["byKind"],
            json!([{"kind": "PERSON", "count": "1"}, {"kind": "ORGANIZATION", "count": "2"}])
        );
        assert_eq!(s["byRegion"][0], json!({"region": "East", "count": "2"}));
        assert_eq!(s["byRegion"][1], json!({"count": "1"}), "no region: \"\"");
        assert_eq!(s["lifetimeValueMinor"], "12345");
        let weeks = s["newCustomersByWeek"].as_array().unwrap();
        assert_eq!(weeks.len(), 3);
        assert_eq!(weeks[2]["count"], "3", "created this week: {}", r.text);
        assert!(weeks[0].get("count").is_none(), "a zero week: {}", r.text);
        let monday = weeks[0]["weekStartDate"].as_str().unwrap();
        assert_eq!(
            chrono::NaiveDate::parse_from_str(monday, "%Y-%m-%d")
                .unwrap()
                .format("%a")
                .to_string(),
            "Mon"
        );
        let pareto = &s["pareto"];
        assert_eq!(pareto["top20PercentShare"], 1.0, "{}", r.text);
        assert_eq!(pareto["top20PercentCount"], "1");
        assert_eq!(pareto["points"].as_array().unwrap().len(), 12);
        assert_eq!(
            pareto["points"][0],
            json!({"customerPercent": 1, "customerCount": "1", "lifetimeValueMinor": "12345", "valueShare": 1.0})
        );

        let orgs = http
            .call(
                "GET",
                "/api/v1/customers:summarize?filter=kind%20%3D%20ORGANIZATION",
                None,
            )
            .await;
        assert_eq!(orgs.status, 200, "{}", orgs.text);
        assert_eq!(orgs.json["totalCount"], "2");
        assert_eq!(
            orgs.json["newCustomersByWeek"].as_array().unwrap().len(),
            12
        );
        let bad = http
            .call(
                "GET",
                "/api/v1/customers:summarize?filter=secret%20%3D%201",
                None,
            )
            .await;
        assert_eq!(bad.status, 400, "{}", bad.text);
        assert_eq!(violated_fields(&bad.json), ["filter"]);
        let bad = http
            .call("GET", "/api/v1/customers:summarize?weeks=-1", None)
            .await;
        assert_eq!(violated_fields(&bad.json), ["weeks"]);
        suite.stop().await;
    }
}
