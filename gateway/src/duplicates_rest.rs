//! REST mirrors of the customers service's duplicate checks and merges (`DuplicateService`).
use crate::{
    mirror::{call, route},
    openapi::{Body, RouteDoc},
    rest::Clients,
};
use axum::{
    extract::{Path, Query, State},
    http::HeaderMap,
    response::Response,
    routing::{MethodRouter, get},
};
use std::collections::HashMap;

async fn export_pairs(
    State(c): State<Clients>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    use crm_proto::crm::customers::v1::ExportDuplicatePairsRequest;
    let format = match crate::bulk_rest::format_of(&q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let message = ExportDuplicatePairsRequest {
        parent: format!("duplicateScans/{id}"),
        format,
    };
    crate::bulk_rest::download(
        c.duplicates
            .clone()
            .export_duplicate_pairs(crate::rest::request(&headers, message))
            .await,
    )
    .await
}

const fn doc(
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    request: &'static str,
    body: Body,
    response: &'static str,
) -> RouteDoc {
    crate::mirror::doc(
        method,
        path,
        operation_id,
        request,
        body,
        response,
        "duplicates",
    )
}

/// Every such route.
pub fn routes() -> Vec<(RouteDoc, MethodRouter<Clients>)> {
    const MERGE: &str = "crm.customers.v1.CustomerMerge";
    const SCAN: &str = "crm.customers.v1.DuplicateScan";
    vec![
        route(
            doc(
                "post",
                "/api/v1/customers:checkDuplicates",
                "CheckDuplicates",
                "crm.customers.v1.CheckDuplicatesRequest",
                Body::Whole,
                "crm.customers.v1.CheckDuplicatesResponse",
            ),
            "customers",
            call!(duplicates.check_duplicates),
        ),
        route(
            doc(
                "post",
                "/api/v1/customers:merge",
                "MergeCustomers",
                "crm.customers.v1.MergeCustomersRequest",
                Body::Whole,
                MERGE,
            ),
            "customers",
            call!(duplicates.merge_customers),
        ),
        route(
            doc(
                "get",
                "/api/v1/customerMerges/{id}",
                "GetCustomerMerge",
                "crm.customers.v1.GetCustomerMergeRequest",
                Body::None,
                MERGE,
            ),
            "customerMerges",
            call!(duplicates.get_customer_merge),
        ),
        route(
            doc(
                "get",
                "/api/v1/customerMerges",
                "ListCustomerMerges",
                "crm.customers.v1.ListCustomerMergesRequest",
                Body::None,
                "crm.customers.v1.ListCustomerMergesResponse",
            ),
            "customerMerges",
            call!(duplicates.list_customer_merges),
        ),
        route(
            doc(
                "post",
                "/api/v1/customerMerges:undo",
                "UndoCustomerMerge",
                "crm.customers.v1.UndoCustomerMergeRequest",
                Body::Whole,
                MERGE,
            ),
            "customerMerges",
            call!(duplicates.undo_customer_merge),
        ),
        route(
            doc(
                "post",
                "/api/v1/duplicateScans",
                "StartDuplicateScan",
                "crm.customers.v1.StartDuplicateScanRequest",
                Body::Whole,
                SCAN,
            ),
            "duplicateScans",
            call!(duplicates.start_duplicate_scan),
        ),
        route(
            doc(
                "get",
                "/api/v1/duplicateScans/{id}",
                "GetDuplicateScan",
                "crm.customers.v1.GetDuplicateScanRequest",
                Body::None,
                SCAN,
            ),
            "duplicateScans",
            call!(duplicates.get_duplicate_scan),
        ),
        route(
            doc(
                "get",
                "/api/v1/duplicateScans/{id}/pairs",
                "ListDuplicatePairs",
                "crm.customers.v1.ListDuplicatePairsRequest",
                Body::None,
                "crm.customers.v1.ListDuplicatePairsResponse",
            ),
            "duplicateScans",
            call!(duplicates.list_duplicate_pairs),
        ),
        route(
            doc(
                "post",
                "/api/v1/duplicatePairs:review",
                "ReviewDuplicatePair",
                "crm.customers.v1.ReviewDuplicatePairRequest",
                Body::Whole,
                "crm.customers.v1.DuplicatePair",
            ),
            "customers",
            call!(duplicates.review_duplicate_pair),
        ),
        (
            doc(
                "get",
                "/api/v1/duplicateScans/{id}/export",
                "ExportDuplicatePairs",
                "crm.customers.v1.ExportDuplicatePairsRequest",
                Body::None,
                "crm.customers.v1.FileChunk",
            ),
            get(export_pairs),
        ),
    ]
}
