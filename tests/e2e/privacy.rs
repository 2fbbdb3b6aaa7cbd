//! Privacy requests through the gateway: an access request's archive downloaded, an erasure's
//! receipt, the erased customer read back.
use crate::harness::{Suite, backends};
use serde_json::json;
use std::io::Read;

#[tokio::test]
async fn access_and_erasure_requests_over_rest() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        let body = json!({"displayName": "周杰", "kind": "PERSON", "email": "zhou.jie@example.com",
            "phone": "13811112222", "notes": "prefers calls after 6pm"});
        let created = http.call("POST", "/api/v1/customers", Some(body)).await;
        assert_eq!(created.status, 200, "{}", created.text);
        let id = created.json["id"].as_str().unwrap().to_owned();

        let access = http
            .call(
                "POST",
                "/api/v1/privacyRequests",
                Some(json!({"kind": "ACCESS", "subjects": [{"email": "Zhou.Jie@example.com"}], "reason": "ticket 7"})),
            )
            .await;
        assert_eq!(access.status, 200, "{}", access.text);
        assert_eq!(access.json["state"], "COMPLETED");
        assert_eq!(access.json["customers"], json!([format!("customers/{id}")]));
        let name = access.json["name"].as_str().unwrap();
        let (status, headers, zip) = http
            .raw(
                "GET",
                &format!("/api/v1/{name}/archive"),
                "text/plain",
                Vec::new(),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/zip");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
        let mut profile = String::new();
        archive
            .by_name("customers-customers.csv")
            .unwrap()
            .read_to_string(&mut profile)
            .unwrap();
        assert!(profile.contains("prefers calls after 6pm"), "{profile}");

        let bad = http
            .call(
                "POST",
                "/api/v1/privacyRequests",
                Some(json!({"kind": "ERASURE", "subjects": [{"phone": "not a phone"}]})),
            )
            .await;
        assert_eq!(bad.status, 400, "{}", bad.text);
        let erased = http
            .call(
                "POST",
                "/api/v1/privacyRequests",
                Some(json!({"kind": "ERASURE", "subjects": [{"phone": "+86 138 1111 2222"}]})),
            )
            .await;
        assert_eq!(erased.json["state"], "COMPLETED", "{}", erased.text);
        let receipt = erased.json["answers"][0]["actions"].to_string();
        assert!(receipt.contains("profiles anonymized"), "{receipt}");
        let after = http
            .call("GET", &format!("/api/v1/customers/{id}"), None)
            .await;
        assert_eq!(after.json["displayName"], "Erased customer");
        assert!(after.json.get("email").is_none() && after.json.get("notes").is_none());
        let listed = http.call("GET", "/api/v1/privacyRequests", None).await;
        assert_eq!(listed.json["privacyRequests"].as_array().unwrap().len(), 2);
        suite.stop().await;
    }
}
