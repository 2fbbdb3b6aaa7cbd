//! REST/JSON at `/api/v1/...`: every request is matched against the routes the services
//! declare (`google.api.http`), transcoded to the RPC's protobuf request, forwarded over gRPC to
//! the owning service, and its answer written back as proto3 JSON (or, for streaming RPCs, as a
//! file download or Server-Sent Events). Errors are AIP-193 JSON with the mapped HTTP status.
use crate::{
    forward::Upstreams,
    streams,
    transcode::{Api, Found, Route, fields::FieldError, grpc},
};
use axum::{
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use crm_platform::error::{ErrorKind, FieldViolation, ServiceError, http_response};
use prost::Message as _;
use prost_reflect::{DynamicMessage, Value};
use std::sync::Arc;

/// The largest JSON body the gateway reads (file uploads are multipart and streamed instead).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// What the REST handler needs: the routes, the channels to the services, the shutdown that
/// ends long-lived responses.
#[derive(Clone, Debug)]
pub struct Rest {
    /// The routes, from the descriptors.
    pub api: Arc<Api>,
    /// Channels by service.
    pub upstreams: Arc<Upstreams>,
    /// Open change streams end with it, so the gateway can drain.
    pub shutdown: crm_platform::server::Shutdown,
}

/// Bad input detected by the gateway itself (path, query parameters, JSON bodies).
#[derive(Debug, thiserror::Error)]
#[error("invalid request: {} {}", .0.field, .0.description)]
struct BadRequest(FieldViolation);

impl ServiceError for BadRequest {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
    fn reason(&self) -> &'static str {
        "INVALID_ARGUMENT"
    }
    fn violations(&self) -> &[FieldViolation] {
        std::slice::from_ref(&self.0)
    }
}

/// A 400 naming the field.
pub(crate) fn bad_request(field: &str, description: impl Into<String>) -> Response {
    let err = BadRequest(FieldViolation {
        field: field.to_owned(),
        description: description.into(),
    });
    http_response(&crm_platform::error::to_status(&err, "gateway.crm"))
}

fn field_error(e: FieldError) -> Response {
    bad_request(&e.field, e.description)
}

/// The caller's identity and correlation headers, passed on as gRPC metadata.
pub(crate) fn request<T>(headers: &HeaderMap, message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    for name in [
        "authorization",
        "x-request-id",
        "x-forwarded-for",
        "traceparent",
        "tracestate",
    ] {
        if let Some(value) = headers.get(name)
            && let Ok(value) = tonic::metadata::MetadataValue::try_from(value.as_bytes())
        {
            req.metadata_mut().insert(name, value);
        }
    }
    req
}

/// Serves one REST request.
pub async fn handle(rest: Rest, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (route, values) = match rest.api.find(&parts.method, parts.uri.path()) {
        Found::Route(route, values) => (route, values),
        Found::MethodNotAllowed(allowed) => return method_not_allowed(&parts, &allowed),
        Found::NotFound => {
            let status = tonic::Status::not_found(format!(
                "no route for {} {}",
                parts.method,
                parts.uri.path()
            ));
            return http_response(&status);
        }
    };
    let label = format!("{} {}", parts.method, route.openapi_path);
    let mut response = serve(&rest, route, &values, parts, body).await;
    response
        .extensions_mut()
        .insert(crm_platform::middleware::RouteLabel(label));
    response
}

async fn serve(
    rest: &Rest,
    route: &Route,
    values: &[String],
    parts: http::request::Parts,
    body: axum::body::Body,
) -> Response {
    let Some(channel) = rest.upstreams.get(&route.upstream).cloned() else {
        return http_response(&tonic::Status::unimplemented("no upstream for this route"));
    };
    if route.is_client_streaming() {
        let req = Request::from_parts(parts, body);
        return streams::upload(channel, route, req).await;
    }
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let status = tonic::Status::invalid_argument(format!(
                "the body is larger than {MAX_BODY} bytes or was cut off"
            ));
            return http_response(&status);
        }
    };
    if !body.is_empty() && !is_json(&parts.headers) {
        return unsupported_media_type();
    }
    let message = match route.request(values, parts.uri.query(), &body, &parts.headers) {
        Ok(m) => m,
        Err(e) => return field_error(e),
    };
    let grpc_request = request(&parts.headers, Bytes::from(message.encode_to_vec()));
    if route.method.is_server_streaming() {
        let result = grpc::server_streaming(channel, route.grpc_path.clone(), grpc_request).await;
        return match result {
            Ok(stream) => streams::render(route, stream.into_inner(), rest.shutdown.clone()).await,
            Err(status) => http_response(&status),
        };
    }
    match grpc::unary(channel, route.grpc_path.clone(), grpc_request).await {
        Ok(response) => json_reply(route, response.into_inner()),
        Err(status) => http_response(&status),
    }
}

/// A body is read as JSON unless it says it is something else: clients that omit the header
/// (curl -d sends form encoding) still work, but a declared XML or form body is refused.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let media = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json"
        || media.ends_with("+json")
        || media == "application/x-www-form-urlencoded" // curl's default for -d
        || media == "text/plain"
}

fn unsupported_media_type() -> Response {
    let status =
        tonic::Status::invalid_argument("body: must be JSON (content-type application/json)");
    let mut response = http_response(&status);
    *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    response
}

fn method_not_allowed(parts: &http::request::Parts, allowed: &[http::Method]) -> Response {
    let status = tonic::Status::unimplemented(format!(
        "{} is not allowed on {}",
        parts.method,
        parts.uri.path()
    ));
    let mut response = http_response(&status);
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let allow: Vec<&str> = allowed.iter().map(http::Method::as_str).collect();
    if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
        response.headers_mut().insert(header::ALLOW, v);
    }
    response
}

/// The RPC's answer as proto3 JSON (its `response_body` field when the route names one).
fn json_reply(route: &Route, bytes: Bytes) -> Response {
    // Generated code first; reflection writes what it cannot (an enum number this build has
    // no name for, sent by a newer service during a rolling upgrade) and reports what is broken.
    if let Some(Ok(json)) = route.json.map(|encode| encode(&bytes)) {
        return json_response(json);
    }
    let message = match DynamicMessage::decode(route.method.output(), bytes) {
        Ok(m) => m,
        Err(error) => {
            tracing::error!(%error, rpc = route.method.full_name(), "undecodable response");
            return http_response(&tonic::Status::internal("internal error"));
        }
    };
    let message = match &route.response_body {
        Some(field) => match message.get_field(field).as_ref() {
            Value::Message(m) => m.clone(),
            _ => DynamicMessage::new(route.method.output()),
        },
        None => message,
    };
    match serde_json::to_vec(&message) {
        Ok(json) => json_response(json),
        Err(error) => {
            tracing::error!(%error, rpc = route.method.full_name(), "unserialisable response");
            http_response(&tonic::Status::internal("internal error"))
        }
    }
}

fn json_response(json: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}
