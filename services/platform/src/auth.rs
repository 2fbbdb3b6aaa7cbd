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

/// Which records of a resource family (customers, sales, …) a caller may see and change.
/// Enforced in SQL by each store, in one place, on every read path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataScope {
    /// Only records the caller owns.
    Own(uuid::Uuid),
    /// Records owned within exactly this unit.
    Unit(String),
    /// Records owned within this unit or any unit below it.
    Subtree(String),
    /// Every record.
    All,
}

impl Principal {
    /// The caller's data scope for a resource family. Roles arrive with the identity service;
    /// until then the development principal sees everything, and anyone else only their own.
    pub fn scope(&self, _family: &str) -> DataScope {
        match &self.subject {
            Subject::Development => DataScope::All,
            Subject::User(id) => DataScope::Own(*id),
            Subject::Client(_) => DataScope::Unit(self.unit_path.clone()),
        }
    }
}

impl DataScope {
    /// Appends a boolean SQL condition keeping only rows in scope, given the row's owner and
    /// owner-unit columns (trusted names from the store).
    pub fn push_condition(
        &self,
        buf: &mut crate::sql::SqlBuf,
        owner_column: &str,
        unit_column: &str,
    ) {
        use crate::sql::SqlValue;
        match self {
            DataScope::All => buf.push("1 = 1"),
            DataScope::Own(id) => {
                buf.push(owner_column);
                buf.push(" = ");
                buf.push_bind(SqlValue::Uuid(*id));
            }
            DataScope::Unit(path) => {
                buf.push(unit_column);
                buf.push(" = ");
                buf.push_bind(SqlValue::Text(path.clone()));
            }
            DataScope::Subtree(path) => {
                buf.push(unit_column);
                buf.push(" LIKE ");
                buf.push_bind(SqlValue::Text(format!("{}%", escape_like(path))));
                buf.push(" ESCAPE '\\'");
            }
        }
    }
}

/// Escapes LIKE wildcards so a unit path matches literally.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{SqlBuf, SqlValue};

    #[test]
    fn scope_conditions() {
        let mut buf = SqlBuf::new("");
        DataScope::Subtree("/g/east_1/".into()).push_condition(
            &mut buf,
            "owner_id",
            "owner_unit_path",
        );
        assert_eq!(buf.sql, "owner_unit_path LIKE $1 ESCAPE '\\'");
        assert_eq!(buf.binds, vec![SqlValue::Text("/g/east\\_1/%".into())]);

        let id = uuid::Uuid::now_v7();
        let mut buf = SqlBuf::new("x AND ");
        buf.push_bind(SqlValue::Int(1));
        DataScope::Own(id).push_condition(&mut buf, "owner_id", "owner_unit_path");
        assert_eq!(buf.sql, "x AND $1owner_id = $2");
        assert_eq!(Principal::development().scope("customers"), DataScope::All);
    }
}
