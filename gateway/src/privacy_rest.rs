//! REST for data subjects' requests (`PrivacyService`), and the access archive as a download.
use crate::{
    mirror::{call, route},
    openapi::{Body, RouteDoc},
    rest::{Clients, request},
};
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::{MethodRouter, get},
};
use crm_proto::crm::customers::v1::DownloadPrivacyArchiveRequest;

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
        "privacy",
    )
}

async fn archive(State(c): State<Clients>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let message = DownloadPrivacyArchiveRequest {
        name: format!("privacyRequests/{id}"),
    };
    crate::bulk_rest::download(
        c.privacy
            .clone()
            .download_privacy_archive(request(&headers, message))
            .await,
    )
    .await
}

/// Every such route.
pub fn routes() -> Vec<(RouteDoc, MethodRouter<Clients>)> {
    const REQUEST: &str = "crm.customers.v1.PrivacyRequest";
    vec![
        route(
            doc(
                "post",
                "/api/v1/privacyRequests",
                "CreatePrivacyRequest",
                "crm.customers.v1.CreatePrivacyRequestRequest",
                Body::Field("privacy_request"),
                REQUEST,
            ),
            "privacyRequests",
            call!(privacy.create_privacy_request),
        ),
        route(
            doc(
                "get",
                "/api/v1/privacyRequests/{id}",
                "GetPrivacyRequest",
                "crm.customers.v1.GetPrivacyRequestRequest",
                Body::None,
                REQUEST,
            ),
            "privacyRequests",
            call!(privacy.get_privacy_request),
        ),
        route(
            doc(
                "get",
                "/api/v1/privacyRequests",
                "ListPrivacyRequests",
                "crm.customers.v1.ListPrivacyRequestsRequest",
                Body::None,
                "crm.customers.v1.ListPrivacyRequestsResponse",
            ),
            "privacyRequests",
            call!(privacy.list_privacy_requests),
        ),
        route(
            doc(
                "post",
                "/api/v1/privacyRequests:answer",
                "RecordPrivacyAnswer",
                "crm.customers.v1.RecordPrivacyAnswerRequest",
                Body::Whole,
                REQUEST,
            ),
            "privacyRequests",
            call!(privacy.record_privacy_answer),
        ),
        (
            doc(
                "get",
                "/api/v1/privacyRequests/{id}/archive",
                "DownloadPrivacyArchive",
                "crm.customers.v1.DownloadPrivacyArchiveRequest",
                Body::None,
                "crm.customers.v1.FileChunk",
            ),
            get(archive),
        ),
    ]
}
