//! The customers service's errors and their one mapping to gRPC codes.
use crm_platform::db::DbError;
use crm_platform::error::{ErrorKind, FieldViolation, ServiceError};

/// The error domain reported in `google.rpc.ErrorInfo`.
pub const DOMAIN: &str = "customers.crm";

/// Everything a customers use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; every bad field is listed.
    #[error("invalid request: {}", summary(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The customer does not exist or is outside the caller's data scope.
    #[error("customer {0} not found")]
    NotFound(String),
    /// The etag sent is not the current one: someone else changed the customer.
    #[error("customer {0} was changed by someone else; read it again and retry")]
    EtagMismatch(String),
    /// Another customer already has this identity (source and external id).
    #[error("{0}")]
    AlreadyExists(String),
    /// The customer to create is likely a duplicate of an existing one (policy BLOCK_DUPLICATES).
    #[error("the customer is likely a duplicate of an existing customer")]
    Duplicate(Box<crate::duplicates::Check>),
    /// The request does not fit the resource's state (e.g. contacts of a person).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller reaches the customer but may not do this to it (e.g. shared read-only).
    #[error("{0}")]
    PermissionDenied(String),
    /// A stored value could not be read back (a bug or a hand-edited row).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn summary(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// One bad field.
    pub fn field(field: &str, description: impl Into<String>) -> Error {
        Error::InvalidArgument(vec![FieldViolation {
            field: field.to_owned(),
            description: description.into(),
        }])
    }
}

impl From<crm_platform::paging::PageError> for Error {
    fn from(err: crm_platform::paging::PageError) -> Self {
        match err {
            crm_platform::paging::PageError::Query(e) => Error::field(e.field, e.message),
            crm_platform::paging::PageError::Db(e) => Error::Db(e),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Db(err.into())
    }
}

impl ServiceError for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::EtagMismatch(_) => ErrorKind::Aborted,
            Error::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Error::Duplicate(_) => ErrorKind::AlreadyExists,
            Error::FailedPrecondition(_) => ErrorKind::FailedPrecondition,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::Corrupt(_) => ErrorKind::Internal,
            Error::Db(db) => db.kind(),
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::NotFound(_) => "CUSTOMER_NOT_FOUND",
            Error::EtagMismatch(_) => "ETAG_MISMATCH",
            Error::AlreadyExists(_) => "EXTERNAL_ID_TAKEN",
            Error::Duplicate(_) => "DUPLICATE_CUSTOMER",
            Error::FailedPrecondition(_) => "NOT_AN_ORGANIZATION",
            Error::PermissionDenied(_) => "READ_ONLY_SHARE",
            Error::Corrupt(_) => "INTERNAL",
            Error::Db(db) => db.reason(),
        }
    }

    fn violations(&self) -> &[FieldViolation] {
        match self {
            Error::InvalidArgument(v) => v,
            _ => &[],
        }
    }

    fn metadata(&self) -> std::collections::HashMap<String, String> {
        match self {
            Error::Duplicate(check) => check.metadata(),
            _ => Default::default(),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        crm_platform::error::to_status(&err, DOMAIN)
    }
}
