//! Who is calling. Every request carries a [`Principal`] in its extensions, put there by the
//! auth layer of the server stack; handlers take it from there and never read headers.
//!
//! Until the identity service lands, [`AuthMode::Development`] is the only mode: every request
//! runs as the development principal. Token verification replaces [`attach_principal`]
//! without touching any handler.
use axum::extract::Request;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who it is.
    pub subject: Subject,
    /// Path of the caller's organisation unit, e.g. "/group/cn/east/sales/"; "/" is the root.
    pub unit_path: String,
}

/// The kind of caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A person signed in through the identity service.
    User(uuid::Uuid),
    /// A machine caller (ERP, finance) with an API client id.
    Client(String),
    /// The development principal of `crm dev` (no identity service yet).
    Development,
}

impl Principal {
    /// The principal every request runs as in development mode.
    pub fn development() -> Principal {
        Principal {
            subject: Subject::Development,
            unit_path: "/".to_owned(),
        }
    }

    /// The user id, for a signed-in person.
    pub fn user_id(&self) -> Option<uuid::Uuid> {
        match self.subject {
            Subject::User(id) => Some(id),
            Subject::Client(_) | Subject::Development => None,
        }
    }

    /// Resource name of the actor for audit stamps: "users/{id}", "clients/{id}" or "system".
    pub fn actor(&self) -> String {
        match &self.subject {
            Subject::User(id) => format!("users/{id}"),
            Subject::Client(id) => format!("clients/{id}"),
            Subject::Development => "system".to_owned(),
        }
    }
}

/// How a server authenticates requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// No verification: every request runs as [`Principal::development`].
    #[default]
    Development,
}

/// Request middleware: puts the caller's principal into the request extensions.
pub async fn attach_principal(mut req: Request) -> Request {
    req.extensions_mut().insert(Principal::development());
    req
}

/// The principal of a gRPC request; UNAUTHENTICATED when the auth layer put none there.
#[allow(clippy::result_large_err)] // tonic::Status is the error type of every handler
pub fn principal<T>(req: &tonic::Request<T>) -> Result<Principal, tonic::Status> {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| tonic::Status::unauthenticated("no credentials"))
}
