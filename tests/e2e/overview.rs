//! GetCustomerOverview over REST: the customer's page in one call holds what each section's own
//! list returns, masks sensitive values, pages and says what it cut.
use crate::harness::{Suite, backends, violated_fields};
use serde_json::{Value, json};

#[tokio::test]
async fn the_overview_holds_what_each_list_returns() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        let body = json!({"displayName": "周  晓雯", "kind": "PERSON", "nationalId": "11010519491231002X"});
        let created = http.call("POST", "/api/v1/customers", Some(body)).await;
        assert_eq!(created.status, 200, "{backend:?}: {}", created.text);
        let id = created.json["id"].as_str().unwrap().to_owned();
        let base = format!("/api/v1/customers/{id}");
        let adds = [
            (
                "contactPoints",
                json!({"kind": "EMAIL", "email": "zhou@example.cn"}),
            ),
            (
                "contactPoints",
                json!({"kind": "PHONE", "phone": "+8613800138000"}),
            ),
            (
                "interactions",
                json!({"type": "CALL", "direction": "INBOUND", "subject": "第一次"}),
            ),
            (
                "interactions",
                json!({"type": "EMAIL", "direction": "OUTBOUND", "subject": "second"}),
            ),
            (
                "reminders",
                json!({"dueTime": "2030-01-01T08:00:00Z", "note": "renewal"}),
            ),
        ];
        for (collection, body) in adds {
            let r = http
                .call("POST", &format!("{base}/{collection}"), Some(body))
                .await;
            assert_eq!(r.status, 200, "{collection}: {}", r.text);
        }

        let o = http.call("GET", &format!("{base}/overview"), None).await;
        assert_eq!(o.status, 200, "{}", o.text);
        let o = o.json;
        assert_eq!(o["customer"]["displayName"], "周  晓雯");
        assert_ne!(o["customer"]["nationalId"], "11010519491231002X", "masked");
        let masked = o["customer"]["nationalId"].as_str().unwrap();
        assert!(
            masked.ends_with("002X") && !masked.contains("1949"),
            "{masked}"
        );
        let list = |path: &str| {
            let http = &http;
            let url = format!("{base}/{path}");
            async move { http.call("GET", &url, None).await.json }
        };
        let same = |section: &str, listed: &Value| {
            assert_eq!(
                o[section].as_array().cloned().unwrap_or_default(),
                listed.as_array().cloned().unwrap_or_default(),
                "{backend:?}: {section}"
            );
        };
        same(
            "contactPoints",
            &list("contactPoints").await["contactPoints"],
        );
        same("interactions", &list("interactions").await["interactions"]);
        same("reminders", &list("reminders").await["reminders"]);
        same("history", &list("history").await["entries"]);
        assert_eq!(o["contactPoints"].as_array().map(Vec::len), Some(2));
        assert_eq!(o["interactions"][0]["subject"], "second", "newest first");
        assert_eq!(o["summary"], list("summary").await);
        assert_eq!(o.get("omittedSections"), None, "nothing left out");

        // One entry per section: the cut sections are named.
        let o = http
            .call("GET", &format!("{base}/overview?pageSize=1"), None)
            .await
            .json;
        assert_eq!(o["interactions"].as_array().map(Vec::len), Some(1));
        let truncated = o["truncatedSections"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(truncated.contains(&json!("interactions")), "{o}");
        assert!(!truncated.contains(&json!("reminders")), "{o}");
        assert_eq!(
            o["contactPoints"].as_array().map(Vec::len),
            Some(2),
            "not paged"
        );

        let bad = http
            .call("GET", &format!("{base}/overview?pageSize=-1"), None)
            .await;
        assert_eq!(violated_fields(&bad.json), ["page_size"]);
        let missing = http
            .call(
                "GET",
                "/api/v1/customers/0190a6a0-0000-7000-8000-000000000000/overview",
                None,
            )
            .await;
        assert_eq!(missing.status, 404, "{}", missing.text);
        suite.stop().await;
    }
}
