//! The OpenAPI 3.1 document of the REST API, generated from the same descriptors and
//! `google.api.http` routes the gateway serves, so the document cannot drift from the routes.
//! Schemas follow the proto3 JSON mapping the gateway reads and writes; `field_behavior`
//! becomes `required` (request bodies and parameters) and `readOnly`; comments become
//! descriptions; errors are AIP-193 bodies; `links` chain a create to the methods on what it
//! created, so a stateful fuzzer can follow them.
//!
//! Each message has up to three schemas: `pkg.Msg` as responses carry it (nothing required:
//! proto3 JSON leaves out default values), `pkg.Msg.input` as request bodies carry it (its
//! REQUIRED fields required), and `pkg.Msg.update` for update requests, where fields the body
//! leaves out are left alone (AIP-134).
use crate::transcode::{Api, Body, Route};
use prost_reflect::{
    DynamicMessage, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    Value as Reflect,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};

/// `google.api.FieldBehavior` values the document uses.
const REQUIRED: i32 = 2;
const OUTPUT_ONLY: i32 = 3;
const IMMUTABLE: i32 = 5;
const IDENTIFIER: i32 = 8;

/// Which form of a message a schema describes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Output,
    Input,
    Update,
}

impl Mode {
    fn suffix(self) -> &'static str {
        match self {
            Mode::Output => "",
            Mode::Input => ".input",
            Mode::Update => ".update",
        }
    }
}

/// Builds the document. `public` are the path patterns served without a token.
pub fn document(title: &str, version: &str, api: &Api, public: &[&str]) -> Result<Value, String> {
    let mut g = Generator {
        docs: Docs::default(),
        schemas: Map::new(),
        behavior: api.pool.get_extension_by_name("google.api.field_behavior"),
    };
    let mut paths = Map::new();
    let mut ids = BTreeSet::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut tags = BTreeSet::new();
    for route in &api.routes {
        // A method's additional bindings get numbered operation ids.
        let n = seen.entry(route.method.full_name().to_owned()).or_default();
        *n += 1;
        let id = match *n {
            1 => route.method.name().to_owned(),
            n => format!("{}{n}", route.method.name()),
        };
        let mut op = g.operation(route, &id)?;
        if is_public(&route.openapi_path.clone(), public) {
            op["security"] = json!([]);
        }
        let method = route.http_method.as_str().to_ascii_lowercase();
        let item = paths
            .entry(route.openapi_path.clone())
            .or_insert_with(|| json!({}));
        if item.get(&method).is_some() || !ids.insert(id.clone()) {
            return Err(format!("{method} {}: duplicate route", route.template_text));
        }
        tags.insert(route.method.parent_service().name().to_owned());
        item[method] = op;
    }
    add_links(api, &mut paths);
    g.schemas.insert("Error".into(), error_schema());
    Ok(json!({
        "openapi": "3.1.0",
        "info": { "title": title, "version": version },
        "tags": tags.iter().map(|t| json!({ "name": t })).collect::<Vec<_>>(),
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "schemas": g.schemas,
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
        },
    }))
}

fn is_public(path: &str, public: &[&str]) -> bool {
    public.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path == *p,
    })
}

/// AIP-193 error body, as the gateway renders a failed gRPC status.
fn error_schema() -> Value {
    json!({ "type": "object", "required": ["error"], "properties": { "error": {
        "type": "object", "properties": {
            "code": { "type": "integer", "format": "int32", "description": "HTTP status code." },
            "status": { "type": "string", "description": "gRPC status name, e.g. NOT_FOUND." },
            "message": { "type": "string", "description": "Developer-facing message." },
            "details": { "type": "array", "items": { "type": "object" },
                "description": "google.rpc details: ErrorInfo (reason), BadRequest (field violations)." },
        },
    }}, "description": "An error (AIP-193)." })
}

/// Source comments, by file and descriptor path.
#[derive(Default)]
struct Docs {
    files: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl Docs {
    fn get(&mut self, file: &FileDescriptor, path: &[i32]) -> Option<String> {
        let comments = self.files.entry(file.name().to_owned()).or_insert_with(|| {
            let info = file.file_descriptor_proto().source_code_info.as_ref();
            let locations = info.into_iter().flat_map(|i| &i.location);
            locations
                .filter_map(|l| {
                    let text = l
                        .leading_comments
                        .as_ref()
                        .or(l.trailing_comments.as_ref())?;
                    Some((l.path.clone(), clean(text)?))
                })
                .collect()
        });
        comments.get(path).cloned()
    }
}

/// Source comments keep the space after `//` and a trailing newline; readers want neither.
fn clean(text: &str) -> Option<String> {
    let lines: Vec<_> = text
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let joined = lines.join("\n").trim().to_owned();
    (!joined.is_empty()).then_some(joined)
}

fn describe(target: &mut Value, doc: Option<String>) {
    if let (Some(doc), Some(obj)) = (doc, target.as_object_mut()) {
        obj.insert("description".into(), doc.into());
    }
}

struct Generator {
    docs: Docs,
    schemas: Map<String, Value>,
    behavior: Option<prost_reflect::ExtensionDescriptor>,
}

impl Generator {
    fn behaviors(&self, f: &FieldDescriptor) -> Vec<i32> {
        let Some(ext) = &self.behavior else {
            return Vec::new();
        };
        let options: DynamicMessage = f.options();
        if !options.has_extension(ext) {
            return Vec::new();
        }
        match options.get_extension(ext).as_ref() {
            Reflect::List(values) => values.iter().filter_map(Reflect::as_enum_number).collect(),
            Reflect::EnumNumber(n) => vec![*n],
            _ => Vec::new(),
        }
    }

    fn has(&self, f: &FieldDescriptor, behavior: i32) -> bool {
        self.behaviors(f).contains(&behavior)
    }

    fn method_doc(&mut self, m: &MethodDescriptor) -> Option<String> {
        let file = m.parent_file();
        self.docs.get(&file, m.path())
    }

    fn operation(&mut self, route: &Route, id: &str) -> Result<Value, String> {
        let input = route.method.input();
        let mut params = self.path_params(route);
        let mut bound: Vec<FieldDescriptor> =
            route.variables.iter().map(|v| v[0].clone()).collect();
        let update = input.get_field_by_name("update_mask").is_some();
        let body = match &route.body {
            Body::None => None,
            Body::Whole => Some(self.whole_body(&input, &bound)),
            Body::Field(f) => {
                bound.push(f.clone());
                let mode = if update { Mode::Update } else { Mode::Input };
                match f.kind() {
                    Kind::Message(m) => Some(self.type_ref(&m, mode)),
                    _ => None,
                }
            }
        };
        if !matches!(route.body, Body::Whole) {
            for f in input.fields().filter(|f| !bound.contains(f)) {
                if let Some(mut p) = self.query_param(&input, &f) {
                    describe(&mut p, self.field_doc(&f));
                    // Over REST an update without a mask changes the fields its body holds
                    // (AIP-134; the transcoder derives the mask), so the mask is optional here
                    // even where the gRPC request requires it.
                    if update
                        && f.name() == "update_mask"
                        && matches!(route.body, Body::Field(_))
                        && let Some(o) = p.as_object_mut()
                    {
                        o.remove("required");
                    }
                    params.push(p);
                }
            }
        }
        let mut op = json!({
            "operationId": id,
            "tags": [route.method.parent_service().name()],
            "parameters": params,
            "responses": {
                "200": self.ok_response(route),
                "default": { "description": "An error (AIP-193).", "content": {
                    "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
            },
        });
        describe(&mut op, self.method_doc(&route.method));
        if let Some(schema) = body {
            let content = if route.is_client_streaming() {
                self.multipart(&input)
            } else {
                json!({ "application/json": { "schema": schema } })
            };
            op["requestBody"] = json!({ "required": true, "content": content });
        }
        Ok(op)
    }

    /// Path parameters: one per wildcard, resource ids as UUIDs.
    fn path_params(&mut self, route: &Route) -> Vec<Value> {
        let names = route.template.param_names();
        let mut out = Vec::new();
        for (v, fields) in route.template.variables.iter().zip(&route.variables) {
            let (prefix, wilds) = route.template.variable_shape(v);
            for w in wilds {
                let name = names.get(w).cloned().unwrap_or_else(|| "id".into());
                // Resource ids are UUIDs; a variable that is not a resource name takes any text.
                let schema = if prefix.is_empty() {
                    json!({ "type": "string" })
                } else {
                    json!({ "type": "string", "format": "uuid" })
                };
                let mut p =
                    json!({ "name": name, "in": "path", "required": true, "schema": schema });
                let field = fields.last().map(|f| self.field_doc(f)).unwrap_or_default();
                let doc = match prefix.is_empty() {
                    true => field,
                    false => Some(format!(
                        "The id of the resource `{prefix}{{id}}` ({}).",
                        crate::transcode::path_of(fields)
                    )),
                };
                describe(&mut p, doc);
                out.push(p);
            }
        }
        out
    }

    /// `body: "*"`: the request message minus the fields the path sets, inline.
    fn whole_body(&mut self, input: &MessageDescriptor, bound: &[FieldDescriptor]) -> Value {
        let mut schema = self.object(input, Mode::Input, bound);
        describe(&mut schema, self.message_doc(input));
        schema
    }

    /// A query parameter for a field with a flat form (scalars, enums, repeated scalars,
    /// well-known types written as strings); other fields travel only in bodies.
    fn query_param(&mut self, msg: &MessageDescriptor, f: &FieldDescriptor) -> Option<Value> {
        if f.is_map() {
            return None;
        }
        let single = match f.kind() {
            Kind::Message(m) => {
                let wkt = well_known(&m)?;
                if wkt["type"] == "object" || wkt["type"] == "array" {
                    return None;
                }
                if m.full_name() == "google.protobuf.FieldMask" {
                    self.mask_schema(msg).unwrap_or(wkt)
                } else {
                    wkt
                }
            }
            _ => self.scalar(f, Mode::Input),
        };
        let schema = match f.is_list() {
            true => json!({ "type": "array", "items": single }),
            false => single,
        };
        let mut p = json!({ "name": f.json_name(), "in": "query", "schema": schema });
        if self.has(f, REQUIRED) {
            p["required"] = json!(true);
            non_empty(&mut p["schema"]);
        }
        Some(p)
    }

    /// An update mask names fields of the request's resource that can change: a pattern of
    /// those names, so a fuzzer sends masks the server takes.
    fn mask_schema(&self, request: &MessageDescriptor) -> Option<Value> {
        let resource = request.fields().find_map(|f| match f.kind() {
            Kind::Message(m) if m.fields().any(|n| self.has(&n, IDENTIFIER)) => Some(m),
            _ => None,
        })?;
        let names: Vec<String> = resource
            .fields()
            .filter(|f| {
                ![OUTPUT_ONLY, IMMUTABLE, IDENTIFIER]
                    .iter()
                    .any(|b| self.has(f, *b))
                    && f.name() != "etag"
            })
            .flat_map(|f| [f.json_name().to_owned(), f.name().to_owned()])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let one = format!("({})", names.join("|"));
        Some(json!({
            "type": "string",
            "pattern": format!("^{one}(,{one})*$"),
            "description": "Comma-separated fields to change; empty: the fields in the body.",
        }))
    }

    fn ok_response(&mut self, route: &Route) -> Value {
        let output = route.method.output();
        let doc = self.message_doc(&output).unwrap_or_else(|| "OK".into());
        if route.method.is_server_streaming() {
            let bytes = output
                .fields()
                .any(|f| f.kind() == Kind::Bytes && !f.is_list());
            let content = if bytes && output.full_name() != "crm.events.v1.WatchEventsResponse" {
                let file = json!({ "schema": { "type": "string", "format": "binary" } });
                json!({
                    "text/csv": file, "application/zip": file, "application/octet-stream": file,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": file,
                })
            } else {
                json!({ "text/event-stream": { "schema": { "type": "string" } } })
            };
            return json!({ "description": doc, "content": content });
        }
        let schema = match &route.response_body {
            Some(f) => match f.kind() {
                Kind::Message(m) => self.type_ref(&m, Mode::Output),
                _ => json!({}),
            },
            None => self.type_ref(&output, Mode::Output),
        };
        json!({ "description": doc, "content": { "application/json": { "schema": schema } } })
    }

    /// A client-streaming upload as a multipart form: the first message as JSON, then the file.
    fn multipart(&mut self, input: &MessageDescriptor) -> Value {
        let first = input
            .oneofs()
            .next()
            .and_then(|o| o.fields().find(|f| matches!(f.kind(), Kind::Message(_))));
        let mut props = Map::new();
        if let Some(f) = first
            && let Kind::Message(m) = f.kind()
        {
            let schema = self.type_ref(&m, Mode::Input);
            props.insert(f.name().to_owned(), schema);
        }
        props.insert(
            "file".into(),
            json!({ "type": "string", "format": "binary" }),
        );
        json!({ "multipart/form-data": {
            "schema": { "type": "object", "required": ["file"], "properties": props },
            "encoding": { "options": { "contentType": "application/json" } },
        }})
    }

    fn message_doc(&mut self, m: &MessageDescriptor) -> Option<String> {
        self.docs.get(&m.parent_file(), m.path())
    }

    fn field_doc(&mut self, f: &FieldDescriptor) -> Option<String> {
        self.docs.get(&f.parent_file(), f.path())
    }

    /// A `$ref` to the message's component in `mode` (emitted on first use), or the inline
    /// schema of a well-known type.
    fn type_ref(&mut self, m: &MessageDescriptor, mode: Mode) -> Value {
        if let Some(schema) = well_known(m) {
            return schema;
        }
        let key = format!("{}{}", m.full_name(), mode.suffix());
        if !self.schemas.contains_key(&key) {
            // Placeholder first: recursive messages would otherwise recurse forever.
            self.schemas.insert(key.clone(), Value::Null);
            let mut schema = self.object(m, mode, &[]);
            describe(&mut schema, self.message_doc(m));
            self.schemas.insert(key.clone(), schema);
        }
        json!({ "$ref": format!("#/components/schemas/{key}") })
    }

    /// The object schema of a message; `skip` fields are left out (the path sets them).
    fn object(&mut self, m: &MessageDescriptor, mode: Mode, skip: &[FieldDescriptor]) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        let updating = m.get_field_by_name("update_mask").is_some();
        for f in m.fields().filter(|f| !skip.contains(f)) {
            // A request that updates takes its resource as an update: what it leaves out stays.
            let field_mode = match (mode, f.kind()) {
                (Mode::Input, Kind::Message(_)) if updating => Mode::Update,
                (Mode::Update, _) => Mode::Input,
                (mode, _) => mode,
            };
            let mut schema = self.field_schema(m, &f, field_mode);
            let is_required = mode == Mode::Input && self.has(&f, REQUIRED);
            if is_required {
                non_empty(&mut schema);
            } else if mode != Mode::Output {
                // proto3 JSON reads null as "unset".
                schema = nullable(schema);
            }
            let mut doc = self.field_doc(&f);
            if let Some(o) = f.containing_oneof().filter(|o| !o.is_synthetic()) {
                let note = format!(
                    "Member of oneof `{}`: set at most one of its fields.",
                    o.name()
                );
                doc = Some(doc.map_or(note.clone(), |d| format!("{d}\n\n{note}")));
            }
            describe(&mut schema, doc);
            if mode != Mode::Output && self.has(&f, OUTPUT_ONLY) {
                schema["readOnly"] = json!(true);
            }
            if is_required {
                required.push(f.json_name().to_owned());
            }
            props.insert(f.json_name().to_owned(), schema);
        }
        let mut schema = json!({ "type": "object", "properties": props });
        if !required.is_empty() {
            schema["required"] = json!(required);
        }
        schema
    }

    fn field_schema(
        &mut self,
        owner: &MessageDescriptor,
        f: &FieldDescriptor,
        mode: Mode,
    ) -> Value {
        if f.is_map() {
            let Kind::Message(entry) = f.kind() else {
                return json!({ "type": "object" });
            };
            let value = entry.map_entry_value_field();
            let value = self.single(owner, &value, mode);
            return json!({ "type": "object", "additionalProperties": value });
        }
        let single = self.single(owner, f, mode);
        match f.is_list() {
            true => json!({ "type": "array", "items": single }),
            false => single,
        }
    }

    fn single(&mut self, owner: &MessageDescriptor, f: &FieldDescriptor, mode: Mode) -> Value {
        match f.kind() {
            Kind::Message(m)
                if m.full_name() == "google.protobuf.FieldMask" && mode != Mode::Output =>
            {
                self.mask_schema(owner)
                    .unwrap_or_else(|| self.type_ref(&m, mode))
            }
            Kind::Message(m) => self.type_ref(&m, mode),
            _ => self.scalar(f, mode),
        }
    }

    fn scalar(&mut self, f: &FieldDescriptor, mode: Mode) -> Value {
        let int = |min: i64, max: i64, format: &str| json!({ "type": "integer", "format": format, "minimum": min, "maximum": max });
        // AIP-158: 0 is the default page; larger than the maximum is lowered to it.
        if f.name() == "page_size" {
            return json!({ "type": "integer", "format": "int32", "minimum": 0, "maximum": i32::MAX });
        }
        // A request's etag is a version number the service handed out; anything else is
        // refused. (A resource's etag in a create body is ignored, so it takes any text.)
        if f.name() == "etag"
            && f.kind() == Kind::String
            && f.parent_message().name().ends_with("Request")
        {
            return json!({ "type": "string", "pattern": "^[0-9]{0,18}$" });
        }
        match f.kind() {
            Kind::String => json!({ "type": "string" }),
            Kind::Bool => json!({ "type": "boolean" }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                int(i32::MIN.into(), i32::MAX.into(), "int32")
            }
            Kind::Uint32 | Kind::Fixed32 => int(0, u32::MAX.into(), "uint32"),
            // proto3 JSON writes 64-bit integers as strings: JavaScript numbers lose precision.
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({ "type": "string", "format": "int64", "pattern": "^-?[0-9]{1,18}$" })
            }
            Kind::Uint64 | Kind::Fixed64 => {
                json!({ "type": "string", "format": "uint64", "pattern": "^[0-9]{1,19}$" })
            }
            Kind::Float => json!({ "type": "number", "format": "float" }),
            Kind::Double => json!({ "type": "number", "format": "double" }),
            Kind::Bytes => json!({ "type": "string", "format": "byte", "contentEncoding": "base64",
                "pattern": "^[A-Za-z0-9+/]*={0,2}$" }),
            Kind::Enum(e) => {
                // A required enum's zero value means "unset", which the server refuses.
                let skip_zero = mode == Mode::Input && self.has(f, REQUIRED);
                // proto3 JSON takes an enum by name or by number.
                let kept: Vec<_> = e
                    .values()
                    .filter(|v| !(skip_zero && v.number() == 0))
                    .collect();
                let values: Vec<Value> = match mode {
                    Mode::Output => kept.iter().map(|v| json!(v.name())).collect(),
                    _ => kept
                        .iter()
                        .map(|v| json!(v.name()))
                        .chain(kept.iter().map(|v| json!(v.number())))
                        .collect(),
                };
                let docs: Vec<String> = e
                    .values()
                    .filter_map(|v| {
                        let doc = self.docs.get(&e.parent_file(), v.path())?;
                        Some(format!("- `{}`: {doc}", v.name()))
                    })
                    .collect();
                let mut schema = match mode {
                    Mode::Output => json!({ "type": "string", "enum": values }),
                    _ => json!({ "type": ["string", "integer"], "enum": values }),
                };
                let head = self.docs.get(&e.parent_file(), e.path());
                let text: Vec<String> = head.into_iter().chain(docs).collect();
                describe(&mut schema, Some(text.join("\n")).filter(|t| !t.is_empty()));
                schema
            }
            Kind::Message(_) => json!({}),
        }
    }
}

const TIMESTAMP: &str = "^(19[7-9][0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$";

/// A required string or list is not empty: proto3 cannot tell empty from unset.
fn non_empty(schema: &mut Value) {
    let target = match schema.get_mut("anyOf") {
        Some(Value::Array(options)) => match options.first_mut() {
            Some(first) => first,
            None => return,
        },
        _ => schema,
    };
    let kind = target["type"].clone();
    let is = |t: &str| kind == json!(t) || kind.as_array().is_some_and(|a| a.contains(&json!(t)));
    if is("string") && target.get("enum").is_none() && target.get("minLength").is_none() {
        target["minLength"] = json!(1);
    } else if is("array") {
        target["minItems"] = json!(1);
    }
}

/// `schema` or null.
fn nullable(mut schema: Value) -> Value {
    if schema.get("$ref").is_some() || schema.get("type").is_none() {
        return json!({ "anyOf": [schema, { "type": "null" }] });
    }
    match schema["type"].clone() {
        Value::String(t) => schema["type"] = json!([t, "null"]),
        Value::Array(mut ts) if !ts.contains(&json!("null")) => {
            ts.push(json!("null"));
            schema["type"] = Value::Array(ts);
        }
        _ => {}
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.push(Value::Null);
    }
    schema
}

/// proto3 JSON forms of google.protobuf types, which do not look like their messages.
fn well_known(m: &MessageDescriptor) -> Option<Value> {
    // Wrappers exist to distinguish "unset" from the default, which JSON expresses as null.
    let nullable = |t: &str, format: &str| match format {
        "" => json!({ "type": [t, "null"] }),
        _ => json!({ "type": [t, "null"], "format": format }),
    };
    Some(match m.full_name().strip_prefix("google.protobuf.")? {
        // RFC 3339 with an upper-case T and Z or an offset, as the proto3 JSON mapping reads it;
        // the pattern keeps to dates every month has (a fuzzer's "February 30" is no time).
        "Timestamp" => json!({ "type": "string", "format": "date-time", "pattern": TIMESTAMP }),
        "Duration" => json!({ "type": "string", "pattern": "^-?[0-9]{1,11}(\\.[0-9]{1,9})?s$",
            "description": "Seconds with an `s`, e.g. \"3.5s\"." }),
        "FieldMask" => json!({ "type": "string", "description": "Comma-separated field paths." }),
        "Empty" => json!({ "type": "object" }),
        "Struct" => json!({ "type": "object", "additionalProperties": true }),
        "Value" => json!({}),
        "ListValue" => json!({ "type": "array", "items": {} }),
        "Any" => json!({ "type": "object", "required": ["@type"], "additionalProperties": true,
            "properties": { "@type": { "type": "string" } } }),
        "StringValue" => nullable("string", ""),
        "BytesValue" => nullable("string", "byte"),
        "BoolValue" => nullable("boolean", ""),
        "Int32Value" | "UInt32Value" => nullable("integer", "int32"),
        "Int64Value" | "UInt64Value" => nullable("string", "int64"),
        "FloatValue" => nullable("number", "float"),
        "DoubleValue" => nullable("number", "double"),
        _ => return None,
    })
}

/// Links from each create (a POST on a collection, answering a resource with an `id`) to the
/// operations on the created resource (`{collection}/{id}...`), fed by the response's `id`.
fn add_links(api: &Api, paths: &mut Map<String, Value>) {
    let mut creates = Vec::new();
    for route in &api.routes {
        let output = route.method.output();
        let has_id = output.get_field_by_name("id").is_some();
        if route.http_method == http::Method::POST
            && route.template.variables.is_empty()
            && route.template.verb.is_none()
            && has_id
        {
            creates.push(route.openapi_path.clone());
        }
    }
    let targets: Vec<(String, String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let ops = item.as_object().cloned().unwrap_or_default();
            ops.into_iter().filter_map(move |(method, op)| {
                let id = op["operationId"].as_str()?.to_owned();
                Some((path.clone(), method, id))
            })
        })
        .collect();
    for create in creates {
        let mut links = Map::new();
        for (path, _, id) in &targets {
            let on_created = path
                .strip_prefix(&create)
                .and_then(|rest| rest.strip_prefix("/{id}"))
                .is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with('/') || rest.starts_with(':')
                });
            if on_created {
                links.insert(
                    id.clone(),
                    json!({ "operationId": id, "parameters": { "id": "$response.body#/id" } }),
                );
            }
        }
        if links.is_empty() {
            continue;
        }
        if let Some(op) = paths.get_mut(&create).and_then(|i| i.get_mut("post")) {
            op["responses"]["200"]["links"] = Value::Object(links);
        }
    }
}

#[cfg(test)]
mod tests;
