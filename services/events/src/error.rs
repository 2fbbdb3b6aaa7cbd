//! The events service's errors and their one mapping to gRPC codes.
use crm_platform::db::DbError;
use crm_platform::error::{ErrorKind, FieldViolation, ServiceError};

/// The error domain reported in `google.rpc.ErrorInfo`.
pub const DOMAIN: &str = "events.crm";

/// Everything an events use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; every bad field is listed.
    #[error("invalid request: {0:?}")]
    InvalidArgument(Vec<FieldViolation>),
    /// No such subscription.
    #[error("{0} not found")]
    NotFound(String),
    /// The change-stream cursor is older than the retained events.
    #[error(
        "cursor is older than the retained events: resynchronise with the List RPCs, then watch again without a cursor"
    )]
    CursorExpired,
    /// The event bus is unreachable.
    #[error("event bus unavailable, retry later")]
    Unavailable,
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
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

impl ServiceError for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::CursorExpired => ErrorKind::FailedPrecondition,
            Error::Unavailable => ErrorKind::Unavailable,
            Error::Corrupt(_) => ErrorKind::Internal,
            Error::Db(db) => db.kind(),
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::NotFound(_) => "WEBHOOK_SUBSCRIPTION_NOT_FOUND",
            Error::CursorExpired => "CURSOR_EXPIRED",
            Error::Unavailable => "EVENT_BUS_UNAVAILABLE",
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
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        crm_platform::error::to_status(&err, DOMAIN)
    }
}
