//! REST ⇄ gRPC transcoding from the services' own `google.api.http` annotations: the route
//! table is read at start from the embedded descriptor set, and each REST request becomes the
//! method's protobuf request (path variables, query parameters, the JSON body under `body`)
//! with `prost-reflect`'s proto3 JSON mapping. Nothing here knows any service: an RPC with an
//! annotation has a route.
pub mod fields;
pub mod grpc;
pub mod template;

use fields::{FieldError, field_named, proto_path, resolve, set_text};
use http::{HeaderMap, Method};
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, ExtensionDescriptor, FieldDescriptor, Kind,
    MessageDescriptor, MethodDescriptor, ReflectMessage, Value,
};
use template::Template;

/// Where the JSON body of a route goes (`HttpRule.body`).
#[derive(Debug, Clone)]
pub enum Body {
    /// No body: every field not bound by the path is a query parameter.
    None,
    /// `body: "*"`: the body is the whole request; nothing comes from the query.
    Whole,
    /// `body: "x"`: the body is field `x` (a message); other fields come from the query.
    Field(FieldDescriptor),
}

/// One REST route: an HTTP method and path template bound to an RPC.
#[derive(Debug, Clone)]
pub struct Route {
    /// The HTTP method.
    pub http_method: Method,
    /// The template as written in the annotation.
    pub template_text: String,
    /// The parsed template.
    pub template: Template,
    /// The template's OpenAPI path, also the route's metrics label.
    pub openapi_path: String,
    /// Literal segments of the template: the more, the more specific the route.
    literals: usize,
    /// The request fields each template variable sets.
    pub variables: Vec<Vec<FieldDescriptor>>,
    /// Where the body goes.
    pub body: Body,
    /// The field of the response returned as the body instead of the whole response.
    pub response_body: Option<FieldDescriptor>,
    /// Writes the whole response as JSON with generated code, where the output type has it
    /// (faster than through reflection); `None` for `response_body` routes and nested types.
    pub json: Option<crm_proto::JsonEncoder>,
    /// The RPC.
    pub method: MethodDescriptor,
    /// `/crm.customers.v1.CustomerService/GetCustomer`.
    pub grpc_path: http::uri::PathAndQuery,
    /// The upstream that owns the RPC (`customers` for `crm.customers.v1.*`).
    pub upstream: String,
}

/// What a request path and method found.
pub enum Found<'a> {
    /// A route, with the values of its path variables.
    Route(&'a Route, Vec<String>),
    /// The path exists, but not for this method: these are allowed.
    MethodNotAllowed(Vec<Method>),
    /// No route has this path.
    NotFound,
}

/// Every route of the API.
#[derive(Debug, Clone)]
pub struct Api {
    /// The routes, in descriptor order (services by file, methods as declared).
    pub routes: Vec<Route>,
    /// The descriptors they came from.
    pub pool: DescriptorPool,
}

impl Api {
    /// Reads the routes of every service whose full name starts with `prefix` from an encoded
    /// `FileDescriptorSet`. A malformed annotation is an error naming the RPC: better a gateway
    /// that does not start than a route that silently drops its body.
    pub fn from_descriptor_set(bytes: &[u8], prefix: &str) -> Result<Api, String> {
        let pool = DescriptorPool::decode(bytes).map_err(|e| format!("descriptor set: {e}"))?;
        let Some(http) = pool.get_extension_by_name("google.api.http") else {
            return Ok(Api {
                routes: Vec::new(),
                pool,
            });
        };
        let mut routes = Vec::new();
        for service in pool.services() {
            if !service.full_name().starts_with(prefix) {
                continue;
            }
            for method in service.methods() {
                for rule in rules(&method, &http) {
                    let route = Route::new(&method, &rule)
                        .map_err(|e| format!("{}: {e}", method.full_name()))?;
                    routes.push(route);
                }
            }
        }
        for (i, a) in routes.iter().enumerate() {
            let clash = routes[..i]
                .iter()
                .find(|b| b.http_method == a.http_method && b.template_text == a.template_text);
            if let Some(b) = clash {
                return Err(format!(
                    "{} and {} both bind {} {}",
                    a.method.full_name(),
                    b.method.full_name(),
                    a.http_method,
                    a.template_text
                ));
            }
        }
        Ok(Api { routes, pool })
    }

    /// The route of a request. Literal segments win over variables when two templates match
    /// (`/customers:search` is not a customer named ":search").
    pub fn find(&self, method: &Method, path: &str) -> Found<'_> {
        let mut allowed = Vec::new();
        let mut best: Option<(&Route, Vec<String>, usize)> = None;
        for route in &self.routes {
            let Some(values) = route.template.matches(path) else {
                continue;
            };
            if route.http_method != *method {
                if !allowed.contains(&route.http_method) {
                    allowed.push(route.http_method.clone());
                }
                continue;
            }
            if best.as_ref().is_none_or(|(_, _, l)| route.literals > *l) {
                best = Some((route, values, route.literals));
            }
        }
        match best {
            Some((route, values, _)) => Found::Route(route, values),
            None if allowed.is_empty() => Found::NotFound,
            None => Found::MethodNotAllowed(allowed),
        }
    }
}

/// A flattened `HttpRule`: method, template, body, response body.
struct Rule {
    method: Method,
    template: String,
    body: String,
    response_body: String,
}

/// The rules of a method: its annotation and the annotation's `additional_bindings`.
fn rules(method: &MethodDescriptor, http: &ExtensionDescriptor) -> Vec<Rule> {
    let options = method.options();
    if !options.has_extension(http) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Value::Message(rule) = options.get_extension(http).as_ref() {
        flatten(rule, &mut out);
    }
    out
}

fn flatten(rule: &DynamicMessage, out: &mut Vec<Rule>) {
    let text = |name: &str| {
        rule.get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let mut pattern = None;
    for (name, method) in [
        ("get", Method::GET),
        ("put", Method::PUT),
        ("post", Method::POST),
        ("delete", Method::DELETE),
        ("patch", Method::PATCH),
    ] {
        if rule.has_field_by_name(name) {
            pattern = Some((method, text(name)));
        }
    }
    if let Some(Value::Message(custom)) = rule.get_field_by_name("custom").as_deref() {
        let kind = custom.get_field_by_name("kind");
        let path = custom.get_field_by_name("path");
        let kind = kind.as_deref().and_then(Value::as_str).unwrap_or_default();
        if let Ok(method) = Method::from_bytes(kind.as_bytes()) {
            pattern = Some((
                method,
                path.as_deref()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
    }
    if let Some((method, template)) = pattern {
        out.push(Rule {
            method,
            template,
            body: text("body"),
            response_body: text("response_body"),
        });
    }
    if let Some(Value::List(more)) = rule.get_field_by_name("additional_bindings").as_deref() {
        for r in more {
            if let Value::Message(r) = r {
                flatten(r, out);
            }
        }
    }
}

impl Route {
    fn new(method: &MethodDescriptor, rule: &Rule) -> Result<Route, String> {
        let input = method.input();
        let template = Template::parse(&rule.template)?;
        let mut variables = Vec::new();
        for v in &template.variables {
            let fields = resolve(&input, &v.field_path).ok_or_else(|| {
                format!("`{}` is not a field of {}", v.field_path, input.full_name())
            })?;
            if fields.last().is_some_and(|f| f.is_list() || f.is_map()) {
                return Err(format!("path variable `{}` is repeated", v.field_path));
            }
            variables.push(fields);
        }
        let body = match rule.body.as_str() {
            "" => Body::None,
            "*" => Body::Whole,
            name => {
                let field = field_named(&input, name).ok_or_else(|| {
                    format!("body `{name}` is not a field of {}", input.full_name())
                })?;
                if !matches!(field.kind(), Kind::Message(_)) || field.is_list() || field.is_map() {
                    return Err(format!("body `{name}` must be a singular message field"));
                }
                Body::Field(field)
            }
        };
        let response_body = match rule.response_body.as_str() {
            "" => None,
            name => {
                let output = method.output();
                let field = field_named(&output, name).ok_or_else(|| {
                    format!(
                        "response_body `{name}` is not a field of {}",
                        output.full_name()
                    )
                })?;
                if !matches!(field.kind(), Kind::Message(_)) || field.is_list() || field.is_map() {
                    return Err(format!(
                        "response_body `{name}` must be a singular message field"
                    ));
                }
                Some(field)
            }
        };
        let service = method.parent_service();
        let grpc_path = format!("/{}/{}", service.full_name(), method.name())
            .parse()
            .map_err(|e| format!("grpc path: {e}"))?;
        // crm.<upstream>.v1.Service: the package's second part names the owning service.
        let upstream = service
            .full_name()
            .split('.')
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let literals = template
            .segments
            .iter()
            .filter(|s| matches!(s, template::Segment::Literal(_)))
            .count();
        let json = match response_body {
            None => crm_proto::output_json(method.output().full_name()),
            Some(_) => None,
        };
        Ok(Route {
            http_method: rule.method.clone(),
            template_text: rule.template.clone(),
            openapi_path: template.openapi_path(),
            literals,
            template,
            variables,
            body,
            response_body,
            json,
            method: method.clone(),
            grpc_path,
            upstream,
        })
    }

    /// Whether the RPC streams its request (an upload) or its response (a download, a feed).
    pub fn is_client_streaming(&self) -> bool {
        self.method.is_client_streaming()
    }

    /// Builds the RPC's request from the REST request: the JSON body first, then path
    /// variables (which win over a body that names another resource), then query parameters
    /// for fields bound to neither, then the header conventions (`Idempotency-Key` for a
    /// `request_id`, `If-Match` for an `etag`, and for PATCH an update mask of the fields the
    /// body holds, AIP-134).
    pub fn request(
        &self,
        values: &[String],
        query: Option<&str>,
        body: &[u8],
        headers: &HeaderMap,
    ) -> Result<DynamicMessage, FieldError> {
        let input = self.method.input();
        let mut message = match &self.body {
            Body::None => DynamicMessage::new(input.clone()),
            Body::Whole => from_json(input.clone(), body, "")?,
            Body::Field(field) => {
                let Kind::Message(inner) = field.kind() else {
                    return Err(FieldError::new(field.name(), "is not a message"));
                };
                let value = from_json(inner, body, field.name())?;
                let mut message = DynamicMessage::new(input.clone());
                message.set_field(field, Value::Message(value));
                message
            }
        };
        for (fields, value) in self.variables.iter().zip(values) {
            set_text(&mut message, fields, value)?;
        }
        if !matches!(self.body, Body::Whole)
            && let Some(query) = query
        {
            for (key, value) in form_urlencoded::parse(query.as_bytes()) {
                // Unknown parameters are ignored, like unknown JSON fields: a newer client may
                // send what this version does not know yet.
                let Some(fields) = resolve(&input, &key) else {
                    continue;
                };
                if self.binds(&fields[0]) {
                    continue;
                }
                set_text(&mut message, &fields, &value)?;
            }
        }
        self.header_defaults(&mut message, headers);
        if self.http_method == Method::PATCH
            && let Body::Field(field) = &self.body
        {
            patch_mask(&mut message, field, body);
        }
        Ok(message)
    }

    /// Whether a top-level field is set by the path or the body.
    fn binds(&self, field: &FieldDescriptor) -> bool {
        let in_path = self.variables.iter().any(|v| v[0] == *field);
        in_path || matches!(&self.body, Body::Field(f) if f == field)
    }

    fn header_defaults(&self, message: &mut DynamicMessage, headers: &HeaderMap) {
        let desc = message.descriptor();
        let conventions = [
            ("request_id", "idempotency-key"),
            ("etag", "if-match"),
            // SSE clients resume a stream by sending the last event id back.
            ("cursor", "last-event-id"),
        ];
        for (field, header) in conventions {
            let Some(f) = desc.get_field_by_name(field) else {
                continue;
            };
            if f.kind() != Kind::String || f.is_list() || message.has_field(&f) {
                continue;
            }
            if let Some(v) = headers.get(header).and_then(|v| v.to_str().ok()) {
                let v = v.trim().trim_start_matches("W/").trim_matches('"');
                message.set_field(&f, Value::String(v.to_owned()));
            }
        }
    }
}

/// For a PATCH without an `update_mask`, the mask is the fields the body holds (AIP-134), so a
/// client never clears a field it did not send. The resource's `name` and `etag` identify and
/// guard the update; they are not fields to change.
fn patch_mask(message: &mut DynamicMessage, body_field: &FieldDescriptor, body: &[u8]) {
    let desc = message.descriptor();
    let Some(mask) = desc.get_field_by_name("update_mask") else {
        return;
    };
    let Kind::Message(mask_desc) = mask.kind() else {
        return;
    };
    if mask_desc.full_name() != "google.protobuf.FieldMask" || message.has_field(&mask) {
        return;
    }
    let Kind::Message(resource) = body_field.kind() else {
        return;
    };
    let keys: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
        serde_json::from_slice(body).unwrap_or_default();
    let paths: Vec<Value> = keys
        .keys()
        .filter_map(|k| field_named(&resource, k))
        .map(|f| f.name().to_owned())
        .filter(|n| n != "name" && n != "etag")
        .map(Value::String)
        .collect();
    let mut value = DynamicMessage::new(mask_desc);
    value.set_field_by_name("paths", Value::List(paths));
    message.set_field(&mask, Value::Message(value));
}

/// Reads a JSON object as `desc` (proto3 JSON; unknown fields ignored). Errors name the field
/// by its proto path under `prefix`: a wrong type is the caller's to fix, so say where.
pub fn from_json(
    desc: MessageDescriptor,
    body: &[u8],
    prefix: &str,
) -> Result<DynamicMessage, FieldError> {
    let at = |path: &str| match (prefix, path) {
        ("", "") => "body".to_owned(),
        ("", p) => p.to_owned(),
        (p, "") => p.to_owned(),
        (p, q) => format!("{p}.{q}"),
    };
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| body[i]) {
        None => {
            return Err(FieldError::new(
                at(""),
                "is required: a JSON object (send {} when there is nothing to set)",
            ));
        }
        Some(b'{') => {}
        Some(_) => {
            return Err(FieldError::new(
                at(""),
                format!("must be a JSON object ({})", desc.full_name()),
            ));
        }
    }
    let mut json: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        FieldError::new(
            at(""),
            format!("is not valid JSON: {}", clean_error(&e.to_string())),
        )
    })?;
    // Unknown fields are dropped first (a newer client may send what this version does not
    // know), so that the strict read below refuses only what is wrong: an enum name that does
    // not exist is an error, never a silently unset field.
    prune(&desc, &mut json, "").map_err(|e| FieldError::new(at(&e.field), e.description))?;
    let mut track = serde_path_to_error::Track::new();
    let parsed = DynamicMessage::deserialize_with_options(
        desc.clone(),
        serde_path_to_error::Deserializer::new(&json, &mut track),
        &DeserializeOptions::new(),
    );
    parsed.map_err(|e| {
        let path = field_path(&desc, &track.path());
        FieldError::new(at(&path), clean_error(&e.to_string()))
    })
}

/// Removes the keys of `json` that are not fields of `desc`, all the way down (not inside
/// well-known types, whose JSON forms have keys of their own), and refuses enum numbers the
/// enum does not define (the proto3 JSON reader would keep them as unknown values).
fn prune(
    desc: &MessageDescriptor,
    json: &mut serde_json::Value,
    at: &str,
) -> Result<(), FieldError> {
    if desc.full_name().starts_with("google.protobuf.") {
        return Ok(());
    }
    let serde_json::Value::Object(map) = json else {
        return Ok(());
    };
    // proto3 JSON: null is the field's default, i.e. unset (except for a Value, where it is
    // the null value).
    map.retain(|key, value| {
        field_named(desc, key).is_some_and(|f| {
            !value.is_null()
                || matches!(f.kind(), Kind::Message(m) if m.full_name() == "google.protobuf.Value")
        })
    });
    for (key, value) in map.iter_mut() {
        let Some(field) = field_named(desc, key) else {
            continue;
        };
        let path = match at {
            "" => field.name().to_owned(),
            at => format!("{at}.{}", field.name()),
        };
        let inner = match field.kind() {
            Kind::Enum(e) => {
                let items = match value {
                    serde_json::Value::Array(items) => items.iter().collect(),
                    v => vec![&*v],
                };
                for n in items.iter().filter_map(|v| v.as_i64()) {
                    if i32::try_from(n).ok().and_then(|n| e.get_value(n)).is_none() {
                        return Err(FieldError::new(
                            path,
                            format!("{n} is not a value of {}", e.name()),
                        ));
                    }
                }
                continue;
            }
            Kind::Message(inner) => inner,
            _ => continue,
        };
        // Proto names (`display_name`) are taken too, as the query string takes them.
        if inner.full_name() == "google.protobuf.FieldMask" {
            let paths: Vec<String> = match value {
                serde_json::Value::String(s) => s.split(',').map(to_camel).collect(),
                _ => match value.get("paths") {
                    Some(serde_json::Value::Array(paths)) => paths
                        .iter()
                        .filter_map(|p| p.as_str())
                        .map(to_camel)
                        .collect(),
                    _ => continue,
                },
            };
            *value = serde_json::Value::String(paths.join(","));
            continue;
        }
        if field.is_map() {
            let value_desc = inner.map_entry_value_field();
            if let (Kind::Message(m), serde_json::Value::Object(entries)) =
                (value_desc.kind(), value)
            {
                for v in entries.values_mut() {
                    prune(&m, v, &path)?;
                }
            }
        } else if let serde_json::Value::Array(items) = value {
            for (i, v) in items.iter_mut().enumerate() {
                prune(&inner, v, &format!("{path}[{i}]"))?;
            }
        } else {
            prune(&inner, value, &path)?;
        }
    }
    Ok(())
}

/// `display_name` → `displayName`, dotted paths step by step; JSON names pass unchanged.
fn to_camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.trim().chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// The proto path of a JSON path (`customer.lifecycleStage` → `customer.lifecycle_stage`),
/// keeping list indexes.
fn field_path(desc: &MessageDescriptor, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    let mut current = Some(desc.clone());
    for segment in path.iter() {
        match segment {
            Segment::Map { key } => {
                let field = current.as_ref().and_then(|m| field_named(m, key));
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(field.as_ref().map_or(key.as_str(), |f| f.name()));
                current = match field.map(|f| (f.is_map(), f.kind())) {
                    Some((false, Kind::Message(m))) => Some(m),
                    _ => None,
                };
            }
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// serde's messages end with the position in the body; the field path says more.
fn clean_error(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

/// The proto path of a list of fields, re-exported for the OpenAPI generator and tests.
pub fn path_of(fields: &[FieldDescriptor]) -> String {
    proto_path(fields)
}

#[cfg(test)]
pub(crate) mod tests;
