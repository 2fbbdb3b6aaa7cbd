//! Duplicate checks and merges through the gateway: REST end to end, and the duplicate
//! service's part of the authorization matrix.
use crate::harness::{Authed, Suite, backends};
use crm_proto::crm::customers::v1::{
    CheckDuplicatesRequest, Customer, GetCustomerMergeRequest, GetDuplicateScanRequest,
    ListCustomerMergesRequest, ListDuplicatePairsRequest, MergeCustomersRequest,
    ReviewDuplicatePairRequest, UndoCustomerMergeRequest, duplicate_pair,
    duplicate_service_client::DuplicateServiceClient,
};
use serde_json::json;
use tonic::Code;

/// RPCs of the duplicate service checked per actor and record by [`duplicate_access`].
pub const DUPLICATE_RPCS: usize = 8;

fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    r.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
}

/// The duplicate service against one record: reading needs the read permission and the record
/// in reach; merging needs the merge permission and the record in the caller's scope.
pub async fn duplicate_access(
    d: &mut DuplicateServiceClient<Authed>,
    record: &str,
    (read, merge, sees): (bool, bool, bool),
    ctx: &str,
) -> usize {
    let seen = |allowed: bool, when_seen: Code| match (allowed, sees) {
        (false, _) => Code::PermissionDenied,
        (true, true) => when_seen,
        (true, false) => Code::NotFound,
    };
    let allowed = |allowed: bool, then: Code| {
        if allowed {
            then
        } else {
            Code::PermissionDenied
        }
    };
    let missing = format!("customerMerges/{}", uuid::Uuid::now_v7());
    let checks = [
        (
            "check duplicates",
            code(
                d.check_duplicates(CheckDuplicatesRequest {
                    customer: Some(Customer {
                        name: record.to_owned(),
                        ..Default::default()
                    }),
                })
                .await,
            ),
            seen(read, Code::Ok),
        ),
        (
            // A stale etag: refused as ABORTED once the survivor is found, before any merge.
            "merge",
            code(
                d.merge_customers(MergeCustomersRequest {
                    survivor: record.to_owned(),
                    merged_customers: vec![format!("customers/{}", uuid::Uuid::now_v7())],
                    etag: "999".into(),
                    ..Default::default()
                })
                .await,
            ),
            seen(merge, Code::Aborted),
        ),
        (
            "list merges",
            code(
                d.list_customer_merges(ListCustomerMergesRequest {
                    survivor: record.to_owned(),
                    ..Default::default()
                })
                .await,
            ),
            if read {
                Code::Ok
            } else {
                Code::PermissionDenied
            },
        ),
        (
            "get merge",
            code(
                d.get_customer_merge(GetCustomerMergeRequest {
                    name: missing.clone(),
                })
                .await,
            ),
            if read {
                Code::NotFound
            } else {
                Code::PermissionDenied
            },
        ),
        (
            "undo merge",
            code(
                d.undo_customer_merge(UndoCustomerMergeRequest {
                    name: missing,
                    request_id: String::new(),
                })
                .await,
            ),
            if merge {
                Code::NotFound
            } else {
                Code::PermissionDenied
            },
        ),
        (
            "get scan",
            code(
                d.get_duplicate_scan(GetDuplicateScanRequest {
                    name: format!("duplicateScans/{}", uuid::Uuid::now_v7()),
                })
                .await,
            ),
            allowed(merge, Code::NotFound),
        ),
        (
            "list pairs",
            code(
                d.list_duplicate_pairs(ListDuplicatePairsRequest {
                    parent: format!("duplicateScans/{}", uuid::Uuid::now_v7()),
                    ..Default::default()
                })
                .await,
            ),
            allowed(merge, Code::NotFound),
        ),
        (
            // The other customer does not exist: refused before anything is written.
            "review pair",
            code(
                d.review_duplicate_pair(ReviewDuplicatePairRequest {
                    customer_a: record.to_owned(),
                    customer_b: format!("customers/{}", uuid::Uuid::now_v7()),
                    decision: duplicate_pair::Decision::NotDuplicate as i32,
                })
                .await,
            ),
            allowed(merge, Code::NotFound),
        ),
    ];
    for (rpc, got, expected) in &checks {
        assert_eq!(got, expected, "{rpc}: {ctx}");
    }
    assert_eq!(checks.len(), DUPLICATE_RPCS);
    DUPLICATE_RPCS
}

#[tokio::test]
async fn duplicates_are_reported_blocked_merged_and_unmerged_over_rest() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        let first = json!({"displayName": "王芳", "kind": "PERSON", "phone": "139 0000 1111",
            "email": "wang.fang@example.com", "tags": ["vip"]});
        let created = http.call("POST", "/api/v1/customers", Some(first)).await;
        assert_eq!(created.status, 200, "{}", created.text);
        assert!(created.json.get("duplicateCandidates").is_none());
        let survivor = created.json["name"].as_str().unwrap().to_owned();

        // The same woman in pinyin, phone written differently: blocked with the candidate named.
        let twin = json!({"displayName": "Wang Fang", "kind": "PERSON", "phone": "+86-139-0000-1111",
            "notes": "met at the trade show"});
        let blocked = http
            .call(
                "POST",
                "/api/v1/customers?duplicatePolicy=BLOCK_DUPLICATES",
                Some(twin.clone()),
            )
            .await;
        assert_eq!(blocked.status, 409, "{}", blocked.text);
        let info = &blocked.json["error"]["details"][0];
        assert_eq!(info["reason"], "DUPLICATE_CUSTOMER");
        assert_eq!(info["metadata"]["candidates"], survivor.as_str());
        assert!(
            info["metadata"][survivor.as_str()]
                .as_str()
                .unwrap()
                .contains("same phone"),
            "{info}"
        );
        let bad = http
            .call(
                "POST",
                "/api/v1/customers?duplicatePolicy=MAYBE",
                Some(twin.clone()),
            )
            .await;
        assert_eq!(bad.status, 400, "{}", bad.text);

        // Warned (the default): stored, with the candidate in the response.
        let warned = http.call("POST", "/api/v1/customers", Some(twin)).await;
        assert_eq!(warned.status, 200, "{}", warned.text);
        let candidates = warned.json["duplicateCandidates"].as_array().unwrap();
        assert_eq!(candidates[0]["customer"], survivor.as_str());
        assert_eq!(candidates[0]["level"], "DUPLICATE");
        let merged = warned.json["name"].as_str().unwrap().to_owned();
        let check = http
            .call(
                "POST",
                "/api/v1/customers:checkDuplicates",
                Some(json!({"customer": {"name": survivor}})),
            )
            .await;
        assert_eq!(check.json["candidates"][0]["customer"], merged.as_str());

        // Merge (notes filled from the merged customer), then undo.
        let merge = http
            .call(
                "POST",
                "/api/v1/customers:merge",
                Some(json!({"survivor": survivor, "mergedCustomers": [merged],
                    "fieldRules": [{"field": "display_name", "rule": "KEEP_SURVIVOR"}],
                    "requestId": "merge-wang-fang"})),
            )
            .await;
        assert_eq!(merge.status, 200, "{}", merge.text);
        assert_eq!(merge.json["state"], "MERGED");
        assert_eq!(merge.json["changedFields"], json!(["notes"]));
        let again = http
            .call(
                "POST",
                "/api/v1/customers:merge",
                Some(json!({"survivor": survivor, "mergedCustomers": [merged],
                    "fieldRules": [{"field": "display_name", "rule": "KEEP_SURVIVOR"}],
                    "requestId": "merge-wang-fang"})),
            )
            .await;
        assert_eq!(again.json, merge.json, "a retry answers as the first time");
        let id = survivor.trim_start_matches("customers/");
        let after = http
            .call("GET", &format!("/api/v1/customers/{id}"), None)
            .await;
        assert_eq!(after.json["notes"], "met at the trade show");
        let gone = merged.trim_start_matches("customers/");
        let hidden = http
            .call("GET", &format!("/api/v1/customers/{gone}"), None)
            .await;
        assert_eq!(hidden.status, 404);
        let merge_name = merge.json["name"].as_str().unwrap().to_owned();
        let listed = http.call("GET", "/api/v1/customerMerges", None).await;
        assert_eq!(listed.json["merges"][0]["name"], merge_name.as_str());
        let undone = http
            .call(
                "POST",
                "/api/v1/customerMerges:undo",
                Some(json!({"name": merge_name})),
            )
            .await;
        assert_eq!(undone.status, 200, "{}", undone.text);
        assert_eq!(undone.json["state"], "UNDONE");
        let back = http
            .call("GET", &format!("/api/v1/customers/{gone}"), None)
            .await;
        assert_eq!(back.status, 200);
        let restored = http
            .call("GET", &format!("/api/v1/customers/{id}"), None)
            .await;
        assert!(restored.json.get("notes").is_none(), "{}", restored.text);
        let got = http
            .call("GET", &format!("/api/v1/{merge_name}"), None)
            .await;
        assert_eq!(got.json["undoneBy"], undone.json["undoneBy"]);

        // A scan finds the pair again; a reviewer marks it "not a duplicate".
        let started = http
            .call(
                "POST",
                "/api/v1/duplicateScans",
                Some(json!({"requestId": "scan-1"})),
            )
            .await;
        assert_eq!(started.status, 200, "{}", started.text);
        let scan = started.json["name"].as_str().unwrap().to_owned();
        let mut state = started.json["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for _ in 0..200 {
            if state != "RUNNING" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let got = http.call("GET", &format!("/api/v1/{scan}"), None).await;
            state = got.json["state"].as_str().unwrap_or_default().to_owned();
        }
        assert_eq!(state, "SUCCEEDED");
        let pairs = http
            .call(
                "GET",
                &format!("/api/v1/{scan}/pairs?undecidedOnly=true"),
                None,
            )
            .await;
        assert_eq!(pairs.status, 200, "{}", pairs.text);
        let pair = &pairs.json["pairs"][0];
        assert_eq!(pair["cluster"], 1);
        let mut both = [
            pair["customerA"].as_str().unwrap(),
            pair["customerB"].as_str().unwrap(),
        ];
        both.sort();
        let mut expected = [survivor.as_str(), merged.as_str()];
        expected.sort();
        assert_eq!(both, expected);
        let reviewed = http
            .call(
                "POST",
                "/api/v1/duplicatePairs:review",
                Some(json!({"customerA": survivor, "customerB": merged, "decision": "NOT_DUPLICATE"})),
            )
            .await;
        assert_eq!(reviewed.status, 200, "{}", reviewed.text);
        let pairs = http
            .call(
                "GET",
                &format!("/api/v1/{scan}/pairs?undecidedOnly=true"),
                None,
            )
            .await;
        assert!(pairs.json.get("pairs").is_none(), "{}", pairs.text);
        let (status, _, file) = http
            .raw(
                "GET",
                &format!("/api/v1/{scan}/export?format=CSV"),
                "text/plain",
                Vec::new(),
            )
            .await;
        assert_eq!(status, 200);
        let file = String::from_utf8(file.to_vec()).unwrap();
        assert!(
            file.contains("NOT_DUPLICATE") && file.contains("Wang Fang"),
            "{file}"
        );
        suite.stop().await;
    }
}
