//! One error model for every service: each service's error enum implements [`ServiceError`];
//! [`to_status`] is the single mapping to a gRPC status with `google.rpc` details, and
//! [`http_response`] the single mapping from a status to HTTP + AIP-193 JSON for the gateway.
//!
//! Internal causes are logged with their chain and never sent to the caller.
use std::fmt::Write as _;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The class of a failure; it fixes the gRPC code and the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed; the caller must change it.
    InvalidArgument,
    /// The resource does not exist or is outside the caller's data scope.
    NotFound,
    /// A resource with the same unique key exists.
    AlreadyExists,
    /// A concurrency conflict (stale etag, concurrent transaction); re-read and retry.
    Aborted,
    /// The system is not in a state that allows the operation.
    FailedPrecondition,
    /// The caller is known but lacks the permission.
    PermissionDenied,
    /// No valid credentials.
    Unauthenticated,
    /// A quota or rate limit is exhausted.
    ResourceExhausted,
    /// A dependency (database, another service) is unavailable; retrying may succeed.
    Unavailable,
    /// A bug or unexpected failure; details are logged, never returned.
    Internal,
}

impl ErrorKind {
    /// The gRPC code of this kind.
    pub fn code(self) -> Code {
        match self {
            ErrorKind::InvalidArgument => Code::InvalidArgument,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::AlreadyExists => Code::AlreadyExists,
            ErrorKind::Aborted => Code::Aborted,
            ErrorKind::FailedPrecondition => Code::FailedPrecondition,
            ErrorKind::PermissionDenied => Code::PermissionDenied,
            ErrorKind::Unauthenticated => Code::Unauthenticated,
            ErrorKind::ResourceExhausted => Code::ResourceExhausted,
            ErrorKind::Unavailable => Code::Unavailable,
            ErrorKind::Internal => Code::Internal,
        }
    }
}

/// One bad field of a request: its path in the request (`customer.email`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Field path in the request message, snake_case, dot separated.
    pub field: String,
    /// Why the value was rejected, lowercase, without the field name.
    pub description: String,
}

/// Collects field violations so a request reports all its bad fields at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Records one bad field.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded violations.
    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }
}

/// Implemented by each service's error enum (with an exhaustive match in each method).
pub trait ServiceError: std::error::Error + Send + Sync + 'static {
    /// The class of the failure.
    fn kind(&self) -> ErrorKind;
    /// Stable machine-readable reason, UPPER_SNAKE_CASE (`CUSTOMER_NOT_FOUND`), for `ErrorInfo`.
    fn reason(&self) -> &'static str;
    /// Bad fields, for INVALID_ARGUMENT.
    fn violations(&self) -> &[FieldViolation] {
        &[]
    }
    /// Machine-readable facts for `ErrorInfo.metadata` (e.g. the duplicate candidates that
    /// blocked a create).
    fn metadata(&self) -> std::collections::HashMap<String, String> {
        std::collections::HashMap::new()
    }
}

/// Maps a service error to a gRPC status carrying `ErrorInfo` (reason + domain) and, for bad
/// input, `BadRequest` field violations. Internal and unavailable errors are logged with their
/// cause chain and answered with a generic message.
pub fn to_status<E: ServiceError>(err: &E, domain: &str) -> Status {
    let kind = err.kind();
    let message = match kind {
        ErrorKind::Internal | ErrorKind::Unavailable => {
            tracing::error!(reason = err.reason(), error = %chain(err), "request failed");
            match kind {
                ErrorKind::Unavailable => "service temporarily unavailable, retry later".to_owned(),
                _ => "internal error".to_owned(),
            }
        }
        _ => err.to_string(),
    };
    let mut details = ErrorDetails::with_error_info(err.reason(), domain, err.metadata());
    for v in err.violations() {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    Status::with_error_details(kind.code(), message, details)
}

/// The error and its sources, joined by ": ".
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(out, ": {cause}");
        source = cause.source();
    }
    out
}

/// HTTP status for a gRPC code (the google.rpc.Code mapping).
pub fn http_status(code: Code) -> http::StatusCode {
    use http::StatusCode as H;
    match code {
        Code::Ok => H::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => H::BAD_REQUEST,
        Code::Unauthenticated => H::UNAUTHORIZED,
        Code::PermissionDenied => H::FORBIDDEN,
        Code::NotFound => H::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => H::CONFLICT,
        Code::ResourceExhausted => H::TOO_MANY_REQUESTS,
        // 499 is a valid status code; `from_u16` only fails outside 100..=999.
        Code::Cancelled => H::from_u16(499).unwrap_or(H::BAD_REQUEST),
        Code::Unimplemented => H::NOT_IMPLEMENTED,
        Code::Unavailable => H::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => H::GATEWAY_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => H::INTERNAL_SERVER_ERROR,
    }
}

/// The canonical name of a gRPC code (`INVALID_ARGUMENT`), as used in AIP-193 JSON.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The AIP-193 JSON body of a status:
/// `{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "...", "details": [...]}}`.
pub fn json_body(status: &Status) -> serde_json::Value {
    use serde_json::json;
    let http = http_status(status.code());
    let details = status.get_error_details();
    let mut out = Vec::new();
    if let Some(info) = details.error_info() {
        out.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": info.reason,
            "domain": info.domain,
            "metadata": info.metadata,
        }));
    }
    if let Some(bad) = details.bad_request() {
        let violations: Vec<_> = bad
            .field_violations
            .iter()
            .map(|v| json!({"field": v.field, "description": v.description}))
            .collect();
        out.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": violations,
        }));
    }
    json!({
        "error": {
            "code": http.as_u16(),
            "status": code_name(status.code()),
            "message": status.message(),
            "details": out,
        }
    })
}

/// A full HTTP response for a status: the mapped HTTP code and the AIP-193 JSON body.
pub fn http_response(status: &Status) -> axum::response::Response {
    use axum::response::IntoResponse;
    (http_status(status.code()), axum::Json(json_body(status))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Sample {
        #[error("invalid customer")]
        Invalid(Vec<FieldViolation>),
        #[error("database exploded")]
        Boom(#[source] std::io::Error),
    }

    impl ServiceError for Sample {
        fn kind(&self) -> ErrorKind {
            match self {
                Sample::Invalid(_) => ErrorKind::InvalidArgument,
                Sample::Boom(_) => ErrorKind::Internal,
            }
        }
        fn reason(&self) -> &'static str {
            match self {
                Sample::Invalid(_) => "INVALID_CUSTOMER",
                Sample::Boom(_) => "INTERNAL",
            }
        }
        fn violations(&self) -> &[FieldViolation] {
            match self {
                Sample::Invalid(v) => v,
                Sample::Boom(_) => &[],
            }
        }
    }

    #[test]
    fn bad_request_carries_reason_and_fields() {
        let mut v = Violations::default();
        v.add("customer.email", "is not an email address");
        let status = to_status(&Sample::Invalid(v.into_vec()), "crm.customers");
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "INVALID_CUSTOMER");
        assert_eq!(info.domain, "crm.customers");
        let bad = details.bad_request().expect("bad request");
        assert_eq!(bad.field_violations[0].field, "customer.email");

        let body = json_body(&status);
        assert_eq!(body["error"]["code"], 400);
        assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
        assert_eq!(
            body["error"]["details"][1]["fieldViolations"][0]["field"],
            "customer.email"
        );
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let err = Sample::Boom(std::io::Error::other("password=hunter2"));
        let status = to_status(&err, "crm.customers");
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
        assert!(!status.message().contains("exploded"));
        assert!(chain(&err).contains("hunter2"), "the log keeps the cause");
    }

    #[test]
    fn http_mapping() {
        assert_eq!(http_status(Code::Aborted), http::StatusCode::CONFLICT);
        assert_eq!(http_status(Code::NotFound), http::StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
        assert_eq!(code_name(Code::FailedPrecondition), "FAILED_PRECONDITION");
    }
}
