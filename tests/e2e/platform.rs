//! What a platform team relies on: probes, metrics, request ids, the OpenAPI document.
use crate::harness::{Backend, Http, Suite};

#[tokio::test]
async fn probes_metrics_and_request_ids() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    assert_eq!(http.call("GET", "/healthz", None).await.status, 200);
    assert_eq!(http.call("GET", "/readyz", None).await.status, 200);
    let r = http.call("GET", "/api/v1/customers", None).await;
    assert!(
        r.headers.get("x-request-id").is_some(),
        "every response carries a request id"
    );

    let admin = Http::anonymous(format!("http://{}", suite.stack.admin_addr));
    assert_eq!(admin.call("GET", "/readyz", None).await.status, 200);
    let metrics = admin.call("GET", "/metrics", None).await.text;
    assert!(
        metrics.contains(
            "crm_requests_total{protocol=\"http\",method=\"GET /api/v1/customers\",code=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("method=\"/crm.customers.v1.CustomerService/ListCustomers\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("crm_request_duration_seconds_bucket"),
        "{metrics}"
    );

    let unknown = http.call("GET", "/no/such/route", None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json["error"]["status"], "NOT_FOUND");
    suite.stop().await;
}

/// Every operation in the OpenAPI document is served by a route (no 404/405 "no route"), and
/// the document covers every CRUD method of the customers API.
#[tokio::test]
async fn openapi_document_matches_the_routes() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let doc = http.call("GET", "/api/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    let paths = doc.json["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, methods) in paths {
        for (method, op) in methods.as_object().unwrap() {
            operations.push(op["operationId"].as_str().unwrap().to_owned());
            if path.ends_with(":watch") {
                // A never-ending stream; the events tests drive it.
                continue;
            }
            let concrete = path.replace("{id}", "0190b3c4-0000-7000-8000-000000000000");
            let body = matches!(method.as_str(), "post" | "patch").then(|| serde_json::json!({}));
            let r = http.call(&method.to_uppercase(), &concrete, body).await;
            let no_route = r.status == 405
                || (r.status == 404
                    && r.json["error"]["message"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("no route"));
            assert!(
                !no_route,
                "{method} {path} is documented but not routed: {} {}",
                r.status, r.text
            );
        }
    }
    // A PATCH without updateMask changes the fields in its body (AIP-134), as the README shows:
    // the document must not call the mask required, or clients would send it needlessly and
    // fuzzers would flag every maskless PATCH as accepted though invalid.
    let patch = &paths["/api/v1/customers/{id}"]["patch"];
    let mask = patch["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "updateMask")
        .expect("updateMask parameter");
    assert!(mask.get("required").is_none(), "{mask}");
    operations.sort();
    let mut unique = operations.clone();
    unique.dedup();
    assert_eq!(unique.len(), operations.len(), "operation ids are unique");
    // Every RPC of every crm.* service has its REST route and its operation.
    let api = crm_gateway::api().unwrap();
    for service in api.pool.services() {
        if !service.full_name().starts_with("crm.") {
            continue;
        }
        for method in service.methods() {
            assert!(
                operations.contains(&method.name().to_owned()),
                "{} has no REST route",
                method.full_name()
            );
        }
    }
    assert_eq!(operations.len(), api.routes.len());
    assert!(operations.len() >= 101, "{}", operations.len());
    let customer = &doc.json["components"]["schemas"]["crm.customers.v1.Customer"];
    assert_eq!(customer["properties"]["displayName"]["type"], "string");
    assert!(
        customer["properties"]["etag"]["description"]
            .as_str()
            .unwrap()
            .contains("optimistic")
    );
    suite.stop().await;
}

/// `crm dev` waits on its stack: the stack must keep serving once start-up work (such as the
/// search backfill) has finished, and stop only when asked.
#[tokio::test]
async fn a_dev_stack_keeps_serving_until_asked_to_stop() {
    let dir = tempfile::tempdir().unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let options = crm::DevOptions::new(dir.path().join("data"), any, any);
    let stack = crm::start_dev(options).await.unwrap();
    let (gateway, shutdown) = (stack.gateway_addr, stack.shutdown());
    let waiting = tokio::spawn(stack.wait());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(!waiting.is_finished(), "the stack stopped by itself");
    let ready = Http::anonymous(format!("http://{gateway}"))
        .call("GET", "/readyz", None)
        .await;
    assert_eq!(ready.status, 200);
    shutdown.trigger();
    waiting.await.unwrap().unwrap();
}
