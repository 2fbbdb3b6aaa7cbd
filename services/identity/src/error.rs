//! The identity service's errors and their one mapping to gRPC codes.
use crm_platform::db::DbError;
use crm_platform::error::{ErrorKind, FieldViolation, ServiceError};

/// The error domain reported in `google.rpc.ErrorInfo`.
pub const DOMAIN: &str = "identity.crm";

/// Everything an identity use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; every bad field is listed.
    #[error("invalid request: {}", .0.iter().map(|v| format!("{} {}", v.field, v.description)).collect::<Vec<_>>().join("; "))]
    InvalidArgument(Vec<FieldViolation>),
    /// Wrong credentials, or a refresh token that is unknown, spent or expired. Deliberately
    /// vague: it must not tell which part was wrong.
    #[error("invalid credentials")]
    BadCredentials,
    /// The account is locked after failed logins.
    #[error("the account is locked; try again later or ask an administrator")]
    AccountLocked,
    /// The account or client is disabled.
    #[error("the account is disabled")]
    AccountDisabled,
    /// The caller may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique key is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// Stale etag.
    #[error("{0} was changed by someone else; read it again and retry")]
    EtagMismatch(String),
    /// The state does not allow it (a unit with children cannot be deleted).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The change would leave the organisation without an active user holding the
    /// Administrator role; it names what was refused. Its own reason, so that a console can
    /// tell the administrator what to do (give someone else the role first).
    #[error(
        "{0} would leave the organisation with no active administrator; give another active user the Administrator role first"
    )]
    LastAdministrator(String),
    /// A bug or broken data.
    #[error("internal error: {0}")]
    Internal(String),
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

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Db(err.into())
    }
}

impl ServiceError for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::BadCredentials => ErrorKind::Unauthenticated,
            Error::AccountLocked | Error::AccountDisabled | Error::PermissionDenied(_) => {
                ErrorKind::PermissionDenied
            }
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Error::EtagMismatch(_) => ErrorKind::Aborted,
            Error::FailedPrecondition(_) | Error::LastAdministrator(_) => {
                ErrorKind::FailedPrecondition
            }
            Error::Internal(_) => ErrorKind::Internal,
            Error::Db(db) => db.kind(),
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::BadCredentials => "BAD_CREDENTIALS",
            Error::AccountLocked => "ACCOUNT_LOCKED",
            Error::AccountDisabled => "ACCOUNT_DISABLED",
            Error::PermissionDenied(_) => "PERMISSION_DENIED",
            Error::NotFound(_) => "NOT_FOUND",
            Error::AlreadyExists(_) => "ALREADY_EXISTS",
            Error::EtagMismatch(_) => "ETAG_MISMATCH",
            Error::FailedPrecondition(_) => "FAILED_PRECONDITION",
            Error::LastAdministrator(_) => "LAST_ADMINISTRATOR",
            Error::Internal(_) => "INTERNAL",
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
