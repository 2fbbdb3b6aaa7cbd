//! gRPC adapters: request shape checks, proto ⇄ domain conversion, errors → status. Thin.
pub mod access;
pub mod auth;
pub mod directory;
pub mod preferences;
pub mod security;

use crate::{error::Error, service::Caller};
use crm_platform::{
    filter::{FieldSpec, FieldType, Schema},
    paging::ListParams,
    permissions as p,
};
use tonic::Status;
use uuid::Uuid;

/// Methods any authenticated caller may call; the handler narrows further (e.g. "users/me").
const ANY: &str = crm_platform::auth::ANY_AUTHENTICATED;

/// The permission each identity method requires. Login, Refresh, Logout, IssueClientToken and
/// GetJwks are public (see [`PUBLIC`]).
pub const PERMISSIONS: crm_platform::auth::PermissionTable = &[
    (
        "/crm.identity.v1.DirectoryService/GetUnit",
        p::IDENTITY_UNIT_READ,
    ),
    (
        "/crm.identity.v1.DirectoryService/ListUnits",
        p::IDENTITY_UNIT_READ,
    ),
    (
        "/crm.identity.v1.DirectoryService/CreateUnit",
        p::IDENTITY_UNIT_WRITE,
    ),
    (
        "/crm.identity.v1.DirectoryService/UpdateUnit",
        p::IDENTITY_UNIT_WRITE,
    ),
    (
        "/crm.identity.v1.DirectoryService/DeleteUnit",
        p::IDENTITY_UNIT_WRITE,
    ),
    (
        "/crm.identity.v1.DirectoryService/MoveUnit",
        p::IDENTITY_UNIT_WRITE,
    ),
    ("/crm.identity.v1.DirectoryService/GetUser", ANY),
    (
        "/crm.identity.v1.DirectoryService/ListUsers",
        p::IDENTITY_USER_READ,
    ),
    (
        "/crm.identity.v1.DirectoryService/CreateUser",
        p::IDENTITY_USER_WRITE,
    ),
    (
        "/crm.identity.v1.DirectoryService/UpdateUser",
        p::IDENTITY_USER_WRITE,
    ),
    (
        "/crm.identity.v1.DirectoryService/DeleteUser",
        p::IDENTITY_USER_WRITE,
    ),
    ("/crm.identity.v1.DirectoryService/ChangePassword", ANY),
    (
        "/crm.identity.v1.DirectoryService/ResetPassword",
        p::IDENTITY_USER_RESET_PASSWORD,
    ),
    (
        "/crm.identity.v1.DirectoryService/AssignRoles",
        p::IDENTITY_ROLE_ASSIGN,
    ),
    (
        "/crm.identity.v1.AccessService/GetRole",
        p::IDENTITY_ROLE_READ,
    ),
    (
        "/crm.identity.v1.AccessService/ListRoles",
        p::IDENTITY_ROLE_READ,
    ),
    (
        "/crm.identity.v1.AccessService/CreateRole",
        p::IDENTITY_ROLE_WRITE,
    ),
    (
        "/crm.identity.v1.AccessService/UpdateRole",
        p::IDENTITY_ROLE_WRITE,
    ),
    (
        "/crm.identity.v1.AccessService/DeleteRole",
        p::IDENTITY_ROLE_WRITE,
    ),
    (
        "/crm.identity.v1.AccessService/ListPermissions",
        p::IDENTITY_ROLE_READ,
    ),
    (
        "/crm.identity.v1.AccessService/GetApiClient",
        p::IDENTITY_API_CLIENT_READ,
    ),
    (
        "/crm.identity.v1.AccessService/ListApiClients",
        p::IDENTITY_API_CLIENT_READ,
    ),
    (
        "/crm.identity.v1.AccessService/CreateApiClient",
        p::IDENTITY_API_CLIENT_WRITE,
    ),
    (
        "/crm.identity.v1.AccessService/UpdateApiClient",
        p::IDENTITY_API_CLIENT_WRITE,
    ),
    (
        "/crm.identity.v1.AccessService/DeleteApiClient",
        p::IDENTITY_API_CLIENT_WRITE,
    ),
    (
        "/crm.identity.v1.AccessService/RotateApiClientSecret",
        p::IDENTITY_API_CLIENT_WRITE,
    ),
    // Each user's own preferences: the use cases refuse anyone else's.
    (
        "/crm.identity.v1.PreferencesService/GetUserPreferences",
        ANY,
    ),
    (
        "/crm.identity.v1.PreferencesService/UpdateUserPreferences",
        ANY,
    ),
    (
        "/crm.identity.v1.SecurityService/ListSecurityEvents",
        p::IDENTITY_SECURITY_EVENT_READ,
    ),
    (
        "/crm.identity.v1.SecurityService/ExportSecurityEvents",
        p::IDENTITY_SECURITY_EVENT_EXPORT,
    ),
    (
        "/crm.identity.v1.SecurityService/ListSecurityAlerts",
        p::IDENTITY_SECURITY_ALERT_READ,
    ),
    (
        "/crm.identity.v1.SecurityService/AcknowledgeSecurityAlert",
        p::IDENTITY_SECURITY_ALERT_WRITE,
    ),
    (
        "/crm.identity.v1.SecurityService/RecordSecurityEvents",
        p::IDENTITY_SECURITY_EVENT_WRITE,
    ),
];

/// Methods served without a token.
pub const PUBLIC: &[&str] = &["/crm.identity.v1.AuthService/*"];

/// The audit context of a request: principal, source address (the edge's `x-forwarded-for`,
/// else the peer), request id.
pub fn caller<T>(req: &tonic::Request<T>) -> Caller {
    let meta = req.metadata();
    let header = |name: &str| {
        meta.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let forwarded = header("x-forwarded-for");
    let source_ip = forwarded
        .split(',')
        .next()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            req.extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_default();
    Caller {
        principal: req
            .extensions()
            .get::<crm_platform::auth::Principal>()
            .cloned(),
        source_ip,
        request_id: header("x-request-id"),
    }
}

/// Parses "<collection>/{uuid}".
#[allow(clippy::result_large_err)]
pub fn parse_name(name: &str, collection: &str, field: &str) -> Result<Uuid, Status> {
    name.strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| {
            Error::field(
                field,
                format!("must be a resource name {collection}/{{uuid}}"),
            )
            .into()
        })
}

/// Parses an optional etag.
#[allow(clippy::result_large_err)]
pub fn parse_etag(etag: &str, field: &str) -> Result<Option<i64>, Status> {
    if etag.is_empty() {
        return Ok(None);
    }
    etag.parse()
        .map(Some)
        .map_err(|_| Error::field(field, "is not an etag returned by this service").into())
}

/// A timestamp in proto form.
pub use crm_platform::proto_time::timestamp as ts;

/// List parameters of a request.
pub fn list_params(
    page_size: i32,
    page_token: String,
    filter: String,
    order_by: String,
) -> ListParams {
    ListParams {
        filter,
        order_by,
        page_size,
        page_token,
    }
}

/// A filter/paging error as INVALID_ARGUMENT naming the parameter.
pub fn query_error(e: crm_platform::filter::QueryError) -> Status {
    Error::field(e.field, e.message).into()
}

const fn field(
    name: &'static str,
    column: &'static str,
    ty: FieldType,
    sortable: bool,
) -> FieldSpec {
    FieldSpec {
        name,
        column,
        ty,
        sortable,
    }
}

/// Filterable and sortable fields of units.
pub static UNITS: Schema = Schema {
    id_column: "id",
    fields: &[
        field("code", "code", FieldType::Text, true),
        field(
            "kind",
            "kind",
            FieldType::Enum(&["GROUP", "COMPANY", "REGION", "DEPARTMENT", "TEAM"]),
            false,
        ),
        field("display_name", "display_name", FieldType::Text, true),
        field("path", "path", FieldType::Text, true),
        field("create_time", "created_at", FieldType::Timestamp, true),
    ],
};

/// Filterable and sortable fields of users.
pub static USERS: Schema = Schema {
    id_column: "id",
    fields: &[
        field("login_name", "login_name", FieldType::Text, true),
        field("display_name", "display_name", FieldType::Text, true),
        field("email", "email", FieldType::Text, false),
        field(
            "status",
            "status",
            FieldType::Enum(&["ACTIVE", "LOCKED", "DISABLED"]),
            false,
        ),
        field("create_time", "created_at", FieldType::Timestamp, true),
    ],
};

/// Filterable and sortable fields of roles.
pub static ROLES: Schema = Schema {
    id_column: "id",
    fields: &[
        field("display_name", "display_name", FieldType::Text, true),
        field("built_in", "built_in", FieldType::Bool, false),
        field("create_time", "created_at", FieldType::Timestamp, true),
    ],
};

/// Filterable and sortable fields of API clients.
pub static CLIENTS: Schema = Schema {
    id_column: "id",
    fields: &[
        field("display_name", "display_name", FieldType::Text, true),
        field("client_id", "client_id", FieldType::Text, false),
        field(
            "status",
            "status",
            FieldType::Enum(&["ACTIVE", "DISABLED"]),
            false,
        ),
        field("create_time", "created_at", FieldType::Timestamp, true),
    ],
};

/// Filterable and sortable fields of security events.
pub static EVENTS: Schema = Schema {
    id_column: "id",
    fields: &[
        field("type", "type", FieldType::Text, false),
        field("actor", "actor", FieldType::Text, false),
        field("target", "target", FieldType::Text, false),
        field("source_ip", "source_ip", FieldType::Text, false),
        field("time", "time", FieldType::Timestamp, true),
    ],
};

/// Filterable and sortable fields of security alerts.
pub static ALERTS: Schema = Schema {
    id_column: "id",
    fields: &[
        field("rule", "rule", FieldType::Text, false),
        field("subject", "subject", FieldType::Text, false),
        field(
            "state",
            "state",
            FieldType::Enum(&["OPEN", "ACKNOWLEDGED"]),
            false,
        ),
        field("create_time", "created_at", FieldType::Timestamp, true),
    ],
};

/// An idempotent create in progress: what [`remember`] needs once it has succeeded.
pub struct Pending {
    method: &'static str,
    request_id: String,
    fingerprint: String,
}

/// Idempotency of a create by `request_id`: `Ok((None, Some(bytes)))` is a retry to answer with
/// the stored response; `Ok((pending, None))` means go ahead (and [`remember`] the answer).
pub async fn idempotent<M: prost::Message>(
    identity: &crate::service::Identity,
    method: &'static str,
    request_id: &str,
    request: &M,
) -> Result<(Option<Pending>, Option<Vec<u8>>), Status> {
    use crm_platform::idempotency::{Replay, check_request_id, fingerprint, lookup};
    let Some(id) =
        check_request_id(request_id).map_err(|e| Status::from(Error::field("request_id", e)))?
    else {
        return Ok((None, None));
    };
    let fingerprint = fingerprint(&request.encode_to_vec());
    match lookup(identity.store.db(), method, id, &fingerprint)
        .await
        .map_err(Error::from)?
    {
        Replay::First => Ok((
            Some(Pending {
                method,
                request_id: id.to_owned(),
                fingerprint,
            }),
            None,
        )),
        Replay::Again(response) => Ok((None, Some(response))),
        Replay::Reused => {
            Err(Error::field("request_id", "was already used for a different request").into())
        }
    }
}

/// Stores the first answer of an idempotent create.
pub async fn remember<M: prost::Message>(
    identity: &crate::service::Identity,
    pending: Option<Pending>,
    response: &M,
) -> Result<(), Status> {
    if let Some(p) = pending {
        crm_platform::idempotency::remember(
            identity.store.db(),
            &p.request_id,
            p.method,
            &p.fingerprint,
            &response.encode_to_vec(),
        )
        .await
        .map_err(Error::from)?;
    }
    Ok(())
}

/// Decodes a stored response.
pub fn replayed<M: prost::Message + Default>(bytes: &[u8]) -> Result<M, Status> {
    M::decode(bytes).map_err(|e| Error::Internal(format!("stored response: {e}")).into())
}
