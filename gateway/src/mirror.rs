//! Generic REST mirrors of gRPC methods: the request message is assembled from the path id
//! (as the resource `name`), the query string and the JSON body (under the body field), read
//! as proto3 JSON, and the method's answer is written back as proto3 JSON. One table row per
//! route, and the OpenAPI document is built from the same rows.
use crate::{
    openapi::{Body, RouteDoc},
    rest::{Clients, bad_request, request},
};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::MethodRouter,
};
use crm_platform::error::http_response;
use serde_json::{Map, Value};
use std::{collections::HashMap, future::Future, pin::Pin};

type Call<Req, Resp> =
    fn(
        Clients,
        tonic::Request<Req>,
    ) -> Pin<Box<dyn Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send>>;

/// How a request is assembled: the collection `{id}` belongs to ("units" → `name` =
/// "units/{id}") and where the JSON body goes (the route document's `Body`).
#[derive(Clone, Copy)]
pub struct Binding {
    /// The collection of `{id}`.
    pub collection: &'static str,
    /// Where the body goes: nowhere, under a field (the resource, whose `name` is then set), or
    /// the whole request (custom methods: secrets never travel in query strings).
    pub body: Body,
    /// Whether `{id}` is the parent of a sub-collection rather than the resource itself.
    pub parent: bool,
}

fn json_object(body: &[u8], field: &str) -> Result<Map<String, Value>, Box<Response>> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(Box::new(bad_request(field, "must be a JSON object"))),
        Err(e) => Err(Box::new(bad_request(
            field,
            format!("is not valid JSON: {e}"),
        ))),
    }
}

fn assemble(
    binding: Binding,
    id: Option<String>,
    query: HashMap<String, String>,
    body: &[u8],
) -> Result<Value, Box<Response>> {
    let mut message = Map::new();
    // Methods whose whole request is the body (they carry passwords and secrets) take nothing
    // from the query string, which ends up in access logs.
    if binding.body != Body::Whole {
        for (k, v) in query {
            let value = if k == "updateMask" || k == "update_mask" {
                // pbjson-types reads FieldMask as {"paths": [...]}, not the canonical "a,b".
                let paths = v
                    .split(',')
                    .map(|p| Value::String(crate::rest::to_snake(p.trim())))
                    .collect();
                serde_json::json!({ "paths": Value::Array(paths) })
            } else {
                // Repeated query keys are not supported; proto3 JSON reads numbers from strings.
                Value::String(v)
            };
            message.insert(k, value);
        }
    }
    let name = id.map(|id| Value::String(format!("{}/{id}", binding.collection)));
    // A sub-collection path ("/things/{id}/children") names the parent, per AIP-132; a
    // singleton sub-resource ("/things/{id}/summary") names the thing. Both are set: each
    // request message reads the one it has (unknown fields are ignored).
    if binding.parent {
        if let Some(parent) = name {
            message.insert("parent".into(), parent.clone());
            message.insert("name".into(), parent);
        }
        if let Body::Field(field) = binding.body {
            message.insert(field.into(), Value::Object(json_object(body, field)?));
        }
        return Ok(Value::Object(message));
    }
    match binding.body {
        Body::Field(field) => {
            let mut inner = json_object(body, field)?;
            if let Some(name) = name {
                inner.insert("name".into(), name);
            }
            message.insert(field.into(), Value::Object(inner));
        }
        Body::Whole => {
            message.extend(json_object(body, "body")?);
            if let Some(name) = name {
                message.insert("name".into(), name);
            }
        }
        Body::None => {
            if let Some(name) = name {
                message.insert("name".into(), name);
            }
        }
    }
    Ok(Value::Object(message))
}

/// `value` with the named top-level query parameters read as booleans.
fn as_booleans(mut value: Value, flags: &[String]) -> Value {
    if let Value::Object(m) = &mut value {
        for key in flags {
            if let Some(v) = m.get_mut(key)
                && let Some(b) = v.as_str().map(|s| s == "true")
            {
                *v = Value::Bool(b);
            }
        }
    }
    value
}

async fn handle<Req, Resp>(
    clients: Clients,
    headers: HeaderMap,
    binding: Binding,
    id: Option<String>,
    query: HashMap<String, String>,
    body: Bytes,
    call: Call<Req, Resp>,
) -> Response
where
    Req: serde::de::DeserializeOwned,
    Resp: serde::Serialize,
{
    let flags: Vec<String> = query
        .iter()
        .filter(|(_, v)| *v == "true" || *v == "false")
        .map(|(k, _)| k.clone())
        .collect();
    let mut value = match assemble(binding, id, query, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    // The `Idempotency-Key` header stands for `request_id` when the request has none (a
    // request message without the field ignores it).
    if let (Value::Object(m), Some(key)) = (
        &mut value,
        headers.get("idempotency-key").and_then(|v| v.to_str().ok()),
    ) && !m.contains_key("requestId")
        && !m.contains_key("request_id")
    {
        m.insert("requestId".into(), Value::String(key.to_owned()));
    }
    let message: Req = match serde_json::from_value(value.clone()) {
        Ok(m) => m,
        // A query string has no types: "true" read as text fails a boolean field, so the
        // flags are read as booleans in a second attempt (a text field reads them as text).
        Err(e) => match serde_json::from_value(as_booleans(value, &flags)) {
            Ok(m) => m,
            Err(_) => return bad_request("body", format!("is not valid for this request: {e}")),
        },
    };
    match call(clients, request(&headers, message)).await {
        Ok(r) => Json(r.into_inner()).into_response(),
        Err(status) => http_response(&status),
    }
}

/// A mirrored route: its document and its handler; `{id}` in the path belongs to `collection`.
pub fn route<Req, Resp>(
    doc: RouteDoc,
    collection: &'static str,
    call: Call<Req, Resp>,
) -> (RouteDoc, MethodRouter<Clients>)
where
    Req: serde::de::DeserializeOwned + Send + 'static,
    Resp: serde::Serialize + Send + 'static,
{
    let with_id = doc.path.contains("{id}");
    let binding = Binding {
        collection,
        body: doc.body,
        parent: doc.path.contains("{id}/"),
    };
    let method = doc.method;
    let handler = move |State(c): State<Clients>,
                        headers: HeaderMap,
                        path: Option<Path<String>>,
                        Query(q): Query<HashMap<String, String>>,
                        body: Bytes| async move {
        let id = if with_id {
            path.map(|Path(id)| id)
        } else {
            None
        };
        handle(c, headers, binding, id, q, body, call).await
    };
    let router = match method {
        "get" => axum::routing::get(handler),
        "post" => axum::routing::post(handler),
        "patch" => axum::routing::patch(handler),
        _ => axum::routing::delete(handler),
    };
    (doc, router)
}

/// A mirror handler calling `client.method` of [`Clients`].
macro_rules! call {
    ($client:ident . $method:ident) => {
        |c: Clients, r| Box::pin(async move { c.$client.clone().$method(r).await })
    };
}
pub(crate) use call;

/// Builds a route document.
pub const fn doc(
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    request: &'static str,
    body: Body,
    response: &'static str,
    tag: &'static str,
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        operation_id,
        request,
        body,
        response,
        tag,
    }
}
