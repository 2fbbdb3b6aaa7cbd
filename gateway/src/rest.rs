//! REST/JSON at `/api/v1/...`, mirroring the gRPC methods with canonical proto3 JSON. Each
//! handler turns the HTTP request into the gRPC request and calls the owning service through
//! its client; errors come back as AIP-193 JSON with the mapped HTTP status.
use crate::openapi::{Body, RouteDoc};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{MethodRouter, delete, get, patch, post},
};
use crm_platform::error::{ErrorKind, FieldViolation, ServiceError, http_response};
use crm_proto::crm::customers::v1::{
    CreateCustomerRequest, Customer, DeleteCustomerRequest, DuplicatePolicy, GetCustomerRequest,
    ListCustomersRequest, UpdateCustomerRequest, customer_service_client::CustomerServiceClient,
};
use crm_proto::crm::identity::v1::{
    access_service_client::AccessServiceClient, auth_service_client::AuthServiceClient,
    directory_service_client::DirectoryServiceClient,
    security_service_client::SecurityServiceClient,
};
use std::collections::HashMap;
use tonic::transport::Channel;

/// Clients of the services the REST API calls.
#[derive(Clone, Debug)]
pub struct Clients {
    /// The customers service.
    pub customers: CustomerServiceClient<Channel>,
    /// The customers service's data subjects' requests.
    pub privacy:
        crm_proto::crm::customers::v1::privacy_service_client::PrivacyServiceClient<Channel>,
    /// The customers service's imports and exports.
    pub bulk: crm_proto::crm::customers::v1::bulk_service_client::BulkServiceClient<Channel>,
    /// The customers service's duplicate checks and merges.
    pub duplicates:
        crm_proto::crm::customers::v1::duplicate_service_client::DuplicateServiceClient<Channel>,
    /// The identity service's sign-in methods.
    pub auth: AuthServiceClient<Channel>,
    /// The organisation tree and users.
    pub directory: DirectoryServiceClient<Channel>,
    /// Roles, permissions and API clients.
    pub access: AccessServiceClient<Channel>,
    /// The security audit log.
    pub security: SecurityServiceClient<Channel>,
    /// The change stream.
    pub events: crm_proto::crm::events::v1::event_service_client::EventServiceClient<Channel>,
    /// Webhook subscriptions.
    pub webhooks: crm_proto::crm::events::v1::webhook_service_client::WebhookServiceClient<Channel>,
    /// The process's shutdown: long-lived responses (change streams) end with it.
    pub shutdown: crm_platform::server::Shutdown,
}

impl Clients {
    /// Clients of every service over the given channels.
    pub fn new(customers: Channel, identity: Channel, events: Channel) -> Clients {
        use crm_proto::crm::events::v1::{
            event_service_client::EventServiceClient, webhook_service_client::WebhookServiceClient,
        };
        Clients {
            customers: CustomerServiceClient::new(customers.clone()),
            bulk: crm_proto::crm::customers::v1::bulk_service_client::BulkServiceClient::new(
                customers.clone(),
            ),
            privacy:
                crm_proto::crm::customers::v1::privacy_service_client::PrivacyServiceClient::new(
                    customers.clone(),
                ),
            duplicates:
                crm_proto::crm::customers::v1::duplicate_service_client::DuplicateServiceClient::new(
                    customers,
                ),
            auth: AuthServiceClient::new(identity.clone()),
            directory: DirectoryServiceClient::new(identity.clone()),
            access: AccessServiceClient::new(identity.clone()),
            security: SecurityServiceClient::new(identity),
            events: EventServiceClient::new(events.clone()),
            webhooks: WebhookServiceClient::new(events),
            shutdown: crm_platform::server::Shutdown::new(),
        }
    }

    /// The clients, whose long-lived responses end at `shutdown`.
    pub fn with_shutdown(mut self, shutdown: crm_platform::server::Shutdown) -> Clients {
        self.shutdown = shutdown;
        self
    }
}

type Params = Query<HashMap<String, String>>;

/// Bad input detected by the gateway itself (query parameters, JSON bodies).
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

pub(crate) fn bad_request(field: &str, description: impl Into<String>) -> Response {
    let err = BadRequest(FieldViolation {
        field: field.to_owned(),
        description: description.into(),
    });
    http_response(&crm_platform::error::to_status(&err, "gateway.crm"))
}

/// A query parameter by its JSON name (`pageSize`) or proto name (`page_size`).
fn param<'a>(params: &'a HashMap<String, String>, json: &str, proto: &str) -> Option<&'a str> {
    params
        .get(json)
        .or_else(|| params.get(proto))
        .map(String::as_str)
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

fn reply<T: serde::Serialize>(result: Result<tonic::Response<T>, tonic::Status>) -> Response {
    match result {
        Ok(response) => Json(response.into_inner()).into_response(),
        Err(status) => http_response(&status),
    }
}

fn customer_name(id: &str) -> String {
    format!("customers/{id}")
}

/// The answer to a body that is not valid proto3 JSON for the resource.
fn bad_json(error: serde_json::Error) -> Response {
    bad_request(
        "customer",
        format!("is not valid JSON for this resource: {error}"),
    )
}

async fn get_customer(
    State(c): State<Clients>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let req = request(
        &headers,
        GetCustomerRequest {
            name: customer_name(&id),
        },
    );
    reply(c.customers.clone().get_customer(req).await)
}

async fn list_customers(
    State(c): State<Clients>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let page_size = match param(&q, "pageSize", "page_size").map(str::parse::<i32>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return bad_request("page_size", "must be an integer"),
    };
    let text = |json, proto| param(&q, json, proto).unwrap_or_default().to_owned();
    let message = ListCustomersRequest {
        page_size,
        page_token: text("pageToken", "page_token"),
        filter: text("filter", "filter"),
        order_by: text("orderBy", "order_by"),
    };
    reply(
        c.customers
            .clone()
            .list_customers(request(&headers, message))
            .await,
    )
}

async fn create_customer(
    State(c): State<Clients>,
    headers: HeaderMap,
    Query(q): Params,
    body: Bytes,
) -> Response {
    let customer: Customer = match serde_json::from_slice(&body) {
        Ok(customer) => customer,
        Err(e) => return bad_json(e),
    };
    let request_id = param(&q, "requestId", "request_id")
        .or_else(|| headers.get("idempotency-key").and_then(|v| v.to_str().ok()))
        .unwrap_or_default()
        .to_owned();
    // The policy is a query parameter: the body is the customer itself (AIP-133).
    let duplicate_policy = match param(&q, "duplicatePolicy", "duplicate_policy") {
        None => 0,
        Some(name) => match DuplicatePolicy::from_str_name(name) {
            Some(p) => p as i32,
            None => {
                return bad_request(
                    "duplicate_policy",
                    "must be WARN_DUPLICATES, BLOCK_DUPLICATES or ALLOW_DUPLICATES",
                );
            }
        },
    };
    let message = CreateCustomerRequest {
        customer: Some(customer),
        request_id,
        duplicate_policy,
    };
    reply(
        c.customers
            .clone()
            .create_customer(request(&headers, message))
            .await,
    )
}

/// The update mask of a PATCH: the `updateMask` parameter, or else the fields present in the
/// body (AIP-134), so a client never clears a field it did not send.
fn patch_mask(q: &HashMap<String, String>, body: &serde_json::Value) -> Vec<String> {
    if let Some(mask) = param(q, "updateMask", "update_mask") {
        return mask
            .split(',')
            .map(|p| to_snake(p.trim()))
            .filter(|p| !p.is_empty())
            .collect();
    }
    body.as_object()
        .map(|fields| fields.keys().map(|k| to_snake(k)).collect())
        .unwrap_or_default()
}

pub(crate) fn to_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

async fn update_customer(
    State(c): State<Clients>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> Response {
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(e) => return bad_json(e),
    };
    let mut mask = patch_mask(&q, &json);
    // The etag travels in the body but is not a field to update.
    mask.retain(|p| p != "etag" && p != "name");
    let mut customer: Customer = match serde_json::from_value(json) {
        Ok(customer) => customer,
        Err(e) => {
            return bad_request(
                "customer",
                format!("is not valid JSON for this resource: {e}"),
            );
        }
    };
    customer.name = customer_name(&id);
    let message = UpdateCustomerRequest {
        customer: Some(customer),
        update_mask: Some(pbjson_types::FieldMask { paths: mask }),
    };
    reply(
        c.customers
            .clone()
            .update_customer(request(&headers, message))
            .await,
    )
}

async fn delete_customer(
    State(c): State<Clients>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    let etag = param(&q, "etag", "etag")
        .or_else(|| {
            headers
                .get(http::header::IF_MATCH)
                .and_then(|v| v.to_str().ok())
        })
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned();
    let message = DeleteCustomerRequest {
        name: customer_name(&id),
        etag,
    };
    reply(
        c.customers
            .clone()
            .delete_customer(request(&headers, message))
            .await,
    )
}

/// Every REST route with its OpenAPI description: the router and the document are built from
/// this one table, so they cannot drift apart.
pub fn routes() -> Vec<(RouteDoc, MethodRouter<Clients>)> {
    const CUSTOMER: &str = "crm.customers.v1.Customer";
    let doc = |method, path, operation_id, request, body, response| RouteDoc {
        method,
        path,
        operation_id,
        request,
        body,
        response,
        tag: "customers",
    };
    vec![
        (
            doc(
                "get",
                "/api/v1/customers",
                "ListCustomers",
                "crm.customers.v1.ListCustomersRequest",
                Body::None,
                "crm.customers.v1.ListCustomersResponse",
            ),
            get(list_customers),
        ),
        (
            doc(
                "post",
                "/api/v1/customers",
                "CreateCustomer",
                "crm.customers.v1.CreateCustomerRequest",
                Body::Field("customer"),
                CUSTOMER,
            ),
            post(create_customer),
        ),
        (
            doc(
                "get",
                "/api/v1/customers/{id}",
                "GetCustomer",
                "crm.customers.v1.GetCustomerRequest",
                Body::None,
                CUSTOMER,
            ),
            get(get_customer),
        ),
        (
            doc(
                "patch",
                "/api/v1/customers/{id}",
                "UpdateCustomer",
                "crm.customers.v1.UpdateCustomerRequest",
                Body::Field("customer"),
                CUSTOMER,
            ),
            patch(update_customer),
        ),
        (
            doc(
                "delete",
                "/api/v1/customers/{id}",
                "DeleteCustomer",
                "crm.customers.v1.DeleteCustomerRequest",
                Body::None,
                "google.protobuf.Empty",
            ),
            delete(delete_customer),
        ),
    ]
}

/// The REST router: routes on the same path are merged into one method router.
pub fn router(clients: Clients) -> (Router, Vec<RouteDoc>) {
    let mut by_path: Vec<(&'static str, MethodRouter<Clients>)> = Vec::new();
    let mut docs = Vec::new();
    for (doc, method) in routes()
        .into_iter()
        .chain(crate::customers_rest::routes())
        .chain(crate::duplicates_rest::routes())
        .chain(crate::bulk_rest::routes())
        .chain(crate::privacy_rest::routes())
        .chain(crate::identity_rest::routes())
        .chain(crate::events_rest::routes())
    {
        match by_path.iter_mut().find(|(p, _)| *p == doc.path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(method),
            None => by_path.push((doc.path, method)),
        }
        docs.push(doc);
    }
    let router = by_path
        .into_iter()
        .fold(Router::new(), |r, (path, m)| r.route(path, m))
        .with_state(clients);
    (router, docs)
}
