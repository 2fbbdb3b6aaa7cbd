//! REST for bulk work on customers (`BulkService`): imports uploaded as multipart forms (an
//! "options" part, JSON, then a "file" part, streamed on to the customers service as it
//! arrives), import jobs and their rows, and file downloads (import reports, exports) streamed
//! back with their name and media type.
use crate::{
    mirror::{call, route},
    openapi::{Body, RouteDoc},
    rest::{Clients, bad_request, request},
};
use axum::{
    body::Body as HttpBody,
    extract::{Multipart, Path, Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::{MethodRouter, get, post},
};
use crm_platform::error::http_response;
use crm_proto::crm::customers::v1::{
    DownloadCustomerImportReportRequest, ExportCustomersRequest, FileChunk, FileFormat,
    ImportOptions, UploadCustomerImportRequest, upload_customer_import_request::Part,
};
use std::collections::HashMap;
use tokio_stream::StreamExt;

const fn doc(
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    request: &'static str,
    body: Body,
    response: &'static str,
) -> RouteDoc {
    crate::mirror::doc(method, path, operation_id, request, body, response, "bulk")
}

/// Streams a multipart upload to `UploadCustomerImport`: the "options" part (JSON) first.
async fn upload(State(c): State<Clients>, headers: HeaderMap, mut form: Multipart) -> Response {
    let options: ImportOptions = match form.next_field().await {
        Ok(Some(field)) if field.name() == Some("options") => match field.bytes().await {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(o) => o,
                Err(e) => return bad_request("options", format!("is not valid JSON: {e}")),
            },
            Err(e) => return bad_request("options", e.to_string()),
        },
        Ok(Some(field)) if field.name() == Some("file") => {
            return bad_request("options", "must be the first part, before \"file\"");
        }
        Ok(_) => return bad_request("file", "is required (a multipart part named \"file\")"),
        Err(e) => return bad_request("body", e.to_string()),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<UploadCustomerImportRequest>(8);
    let mut options = options;
    let mut file_name = String::new();
    let mut field = match form.next_field().await {
        Ok(Some(field)) if field.name() == Some("file") => field,
        Ok(_) => return bad_request("file", "is required (a multipart part named \"file\")"),
        Err(e) => return bad_request("body", e.to_string()),
    };
    if options.file_name.is_empty() {
        file_name = field.file_name().unwrap_or_default().to_owned();
    }
    if !file_name.is_empty() {
        options.file_name = file_name;
    }
    let first = UploadCustomerImportRequest {
        part: Some(Part::Options(options)),
    };
    if tx.send(first).await.is_err() {
        return bad_request("body", "upload closed");
    }
    // The file's bytes flow on as they arrive; the gRPC call runs beside the copy.
    let mut client = c.bulk.clone();
    let call = tokio::spawn(async move {
        client
            .upload_customer_import(request(
                &headers,
                tokio_stream::wrappers::ReceiverStream::new(rx),
            ))
            .await
    });
    loop {
        match field.chunk().await {
            Ok(Some(bytes)) => {
                let chunk = UploadCustomerImportRequest {
                    part: Some(Part::Chunk(bytes.to_vec())),
                };
                if tx.send(chunk).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => return bad_request("file", e.to_string()),
        }
    }
    drop(tx);
    match call.await {
        Ok(Ok(r)) => axum::Json(r.into_inner()).into_response(),
        Ok(Err(status)) => http_response(&status),
        Err(_) => http_response(&tonic::Status::internal("internal error")),
    }
}

/// A file streamed by the service, as an HTTP download.
pub(crate) async fn download(
    result: Result<tonic::Response<tonic::Streaming<FileChunk>>, tonic::Status>,
) -> Response {
    let mut stream = match result {
        Ok(r) => r.into_inner(),
        Err(status) => return http_response(&status),
    };
    // The first chunk carries the name and type (and is there even for an empty file).
    let first = match stream.message().await {
        Ok(Some(chunk)) => chunk,
        Ok(None) => return http_response(&tonic::Status::internal("internal error")),
        Err(status) => return http_response(&status),
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        first.file_name.replace(['"', '\\'], "_")
    );
    let body = tokio_stream::once(Ok::<_, tonic::Status>(first.data))
        .chain(stream.map(|c| c.map(|c| c.data)));
    let mut response = HttpBody::from_stream(body).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&first.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// The `format` query parameter of a download: CSV (default) or XLSX.
pub(crate) fn format_of(q: &HashMap<String, String>) -> Result<i32, Box<Response>> {
    match q.get("format").map(|f| f.to_uppercase()).as_deref() {
        None | Some("CSV") => Ok(FileFormat::Csv as i32),
        Some("XLSX") => Ok(FileFormat::Xlsx as i32),
        Some(_) => Err(Box::new(bad_request("format", "must be CSV or XLSX"))),
    }
}

async fn report(
    State(c): State<Clients>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let format = match format_of(&q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let message = DownloadCustomerImportReportRequest {
        name: format!("customerImports/{id}"),
        format,
    };
    download(
        c.bulk
            .clone()
            .download_customer_import_report(request(&headers, message))
            .await,
    )
    .await
}

async fn export(
    State(c): State<Clients>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let format = match format_of(&q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let time = |key: &str| -> Result<Option<pbjson_types::Timestamp>, Box<Response>> {
        match q.get(key) {
            None => Ok(None),
            Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| Some(crm_platform::proto_time::timestamp(t.to_utc())))
                .map_err(|_| Box::new(bad_request(key, "must be an RFC 3339 time"))),
        }
    };
    let (from_time, to_time) = match (time("fromTime"), time("toTime")) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let message = ExportCustomersRequest {
        format,
        filter: q.get("filter").cloned().unwrap_or_default(),
        order_by: q.get("orderBy").cloned().unwrap_or_default(),
        sheet_per_customer: q.get("sheetPerCustomer").is_some_and(|v| v == "true"),
        from_time,
        to_time,
    };
    download(
        c.bulk
            .clone()
            .export_customers(request(&headers, message))
            .await,
    )
    .await
}

/// Every such route.
pub fn routes() -> Vec<(RouteDoc, MethodRouter<Clients>)> {
    const IMPORT: &str = "crm.customers.v1.CustomerImport";
    vec![
        (
            doc(
                "post",
                "/api/v1/customerImports",
                "UploadCustomerImport",
                "crm.customers.v1.ImportOptions",
                Body::Whole,
                IMPORT,
            ),
            post(upload),
        ),
        route(
            doc(
                "get",
                "/api/v1/customerImports/{id}",
                "GetCustomerImport",
                "crm.customers.v1.GetCustomerImportRequest",
                Body::None,
                IMPORT,
            ),
            "customerImports",
            call!(bulk.get_customer_import),
        ),
        route(
            doc(
                "get",
                "/api/v1/customerImports",
                "ListCustomerImports",
                "crm.customers.v1.ListCustomerImportsRequest",
                Body::None,
                "crm.customers.v1.ListCustomerImportsResponse",
            ),
            "customerImports",
            call!(bulk.list_customer_imports),
        ),
        route(
            doc(
                "post",
                "/api/v1/customerImports:cancel",
                "CancelCustomerImport",
                "crm.customers.v1.CancelCustomerImportRequest",
                Body::Whole,
                IMPORT,
            ),
            "customerImports",
            call!(bulk.cancel_customer_import),
        ),
        route(
            doc(
                "get",
                "/api/v1/customerImports/{id}/rows",
                "ListCustomerImportRows",
                "crm.customers.v1.ListCustomerImportRowsRequest",
                Body::None,
                "crm.customers.v1.ListCustomerImportRowsResponse",
            ),
            "customerImports",
            call!(bulk.list_customer_import_rows),
        ),
        (
            doc(
                "get",
                "/api/v1/customerImports/{id}/report",
                "DownloadCustomerImportReport",
                "crm.customers.v1.DownloadCustomerImportReportRequest",
                Body::None,
                "crm.customers.v1.FileChunk",
            ),
            get(report),
        ),
        (
            doc(
                "get",
                "/api/v1/customers:export",
                "ExportCustomers",
                "crm.customers.v1.ExportCustomersRequest",
                Body::None,
                "crm.customers.v1.FileChunk",
            ),
            get(export),
        ),
    ]
}
