//! OpenAPI 3.1 document for the REST gateway, generated from protobuf descriptors: the router
//! and this document share one `RouteDoc` table and the schemas come from the services' own
//! descriptors, so the contract cannot drift. Schemas follow the canonical proto3 JSON mapping
//! because that is what the gateway emits and accepts.

use std::collections::{BTreeSet, HashMap};

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use serde_json::{Map, Value, json};

/// Where the REST request body comes from (mirrors google.api.http `body`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body; every non-path field is a query parameter.
    None,
    /// `body: "*"`: the whole request message is the JSON body.
    Whole,
    /// `body: "customer"`: the JSON body is that field's message; other fields go to the query.
    Field(&'static str),
}

/// One REST route of the gateway. The gateway builds its axum router from the same table, so the
/// document cannot drift from the routes.
pub struct RouteDoc {
    /// "get" | "post" | "put" | "patch" | "delete".
    pub method: &'static str,
    /// OpenAPI style: "/api/v1/customers/{customer}".
    pub path: &'static str,
    /// Unique operation id; also used to find the rpc's comment ("CreateCustomer").
    pub operation_id: &'static str,
    /// Fully-qualified request message, e.g. "crm.customers.v1.CreateCustomerRequest".
    pub request: &'static str,
    pub body: Body,
    /// Fully-qualified response message, e.g. "google.protobuf.Empty".
    pub response: &'static str,
    pub tag: &'static str,
}

/// Builds the OpenAPI 3.1 document. `descriptor_set` is an encoded `FileDescriptorSet` compiled
/// with imports (so every referenced type resolves) and source info (for the descriptions).
pub fn document(
    title: &str,
    version: &str,
    descriptor_set: &[u8],
    routes: &[RouteDoc],
) -> Result<Value, String> {
    let set = FileDescriptorSet::decode(descriptor_set)
        .map_err(|e| format!("invalid FileDescriptorSet: {e}"))?;
    let index = Index::new(&set);
    let mut schemas = Map::new();
    let mut paths = Map::new();
    let mut op_ids = BTreeSet::new();
    for r in routes {
        let context = format!("route {} {} ({})", r.method, r.path, r.operation_id);
        let op = index.operation(r, &mut schemas);
        let op = op.map_err(|e| format!("{context}: {e}"))?;
        let item = paths.entry(r.path).or_insert_with(|| json!({}));
        // Both would silently shadow a route in generated clients, so refuse them.
        if item.get(r.method).is_some() || !op_ids.insert(r.operation_id) {
            return Err(format!("{context}: duplicate route or operation_id"));
        }
        item[r.method] = op;
    }
    // AIP-193 error body, as the gateway renders a failed gRPC status.
    let error = json!({ "type": "object", "required": ["error"], "properties": { "error": {
        "type": "object", "properties": {
            "code": { "type": "integer", "format": "int32", "description": "HTTP status code." },
            "status": { "type": "string", "description": "gRPC status name, e.g. NOT_FOUND." },
            "message": { "type": "string", "description": "Developer-facing message." },
            "details": { "type": "array", "items": { "type": "object" } },
        },
    }}});
    schemas.insert("Error".into(), error);
    let tags: BTreeSet<&str> = routes.iter().map(|r| r.tag).collect();
    Ok(json!({
        "openapi": "3.1.0",
        "info": { "title": title, "version": version },
        "tags": tags.iter().map(|t| json!({ "name": t })).collect::<Vec<_>>(),
        "paths": paths,
        "components": { "schemas": schemas },
    }))
}

/// `components.schemas` under construction.
type Schemas = Map<String, Value>;

/// Comments by `SourceCodeInfo` path: descriptor field numbers and indices, from the file down.
type ByPath<'p> = HashMap<&'p [i32], String>;

/// Every message and enum of the set by full name (no leading dot), plus their comments.
#[derive(Default)]
struct Index<'a> {
    messages: HashMap<String, &'a DescriptorProto>,
    enums: HashMap<String, &'a EnumDescriptorProto>,
    /// Keyed by full name ("pkg.Msg", "pkg.Msg.field", "pkg.Enum.VALUE") or `rpc_key`, so lookups
    /// need no descriptor paths once the index is built.
    docs: HashMap<String, String>,
}

impl<'a> Index<'a> {
    fn new(set: &'a FileDescriptorSet) -> Self {
        let mut ix = Index::default();
        for file in &set.file {
            let mut by_path = ByPath::new();
            for l in file.source_code_info.iter().flat_map(|i| &i.location) {
                let text = l.leading_comments.as_ref().or(l.trailing_comments.as_ref());
                if let Some(text) = text.and_then(|t| clean(t)) {
                    by_path.insert(&l.path, text);
                }
            }
            // FileDescriptorProto.service = 6 and ServiceDescriptorProto.method = 2; see walk().
            let (msgs, enums) = (&file.message_type, &file.enum_type);
            ix.walk(&by_path, file.package(), &[], msgs, enums);
            for (s, service) in file.service.iter().enumerate() {
                for (m, method) in service.method.iter().enumerate() {
                    let key = rpc_key(method.name(), undot(method.input_type()));
                    ix.note(&by_path, &[6, s as i32, 2, m as i32], key);
                }
            }
        }
        ix
    }

    fn walk(
        &mut self,
        by_path: &ByPath,
        scope: &str,
        path: &[i32],
        msgs: &'a [DescriptorProto],
        enums: &'a [EnumDescriptorProto],
    ) {
        // SourceCodeInfo numbers: FileDescriptorProto.message_type = 4 and enum_type = 5, but
        // DescriptorProto.nested_type = 3 and enum_type = 4; fields and enum values are 2.
        let (msg_tag, enum_tag) = if path.is_empty() { (4, 5) } else { (3, 4) };
        for (i, m) in msgs.iter().enumerate() {
            let (name, path) = (qualify(scope, m.name()), child(path, msg_tag, i));
            for (k, f) in m.field.iter().enumerate() {
                self.note(by_path, &child(&path, 2, k), format!("{name}.{}", f.name()));
            }
            self.walk(by_path, &name, &path, &m.nested_type, &m.enum_type);
            self.note(by_path, &path, name.clone());
            self.messages.insert(name, m);
        }
        for (i, e) in enums.iter().enumerate() {
            let (name, path) = (qualify(scope, e.name()), child(path, enum_tag, i));
            for (k, v) in e.value.iter().enumerate() {
                self.note(by_path, &child(&path, 2, k), format!("{name}.{}", v.name()));
            }
            self.note(by_path, &path, name.clone());
            self.enums.insert(name, e);
        }
    }

    fn note(&mut self, by_path: &ByPath, path: &[i32], key: String) {
        if let Some(doc) = by_path.get(path) {
            self.docs.insert(key, doc.clone());
        }
    }

    fn doc(&self, key: &str) -> Option<String> {
        self.docs.get(key).cloned()
    }

    // Operations and schemas below; `out` collects the `components.schemas` they reference.
    fn operation(&self, r: &RouteDoc, out: &mut Schemas) -> Result<Value, String> {
        if !matches!(r.method, "get" | "post" | "put" | "patch" | "delete") {
            return Err(format!("unsupported method `{}`", r.method));
        }
        let unknown = || format!("unknown message `{}`", r.request);
        let req = self.messages.get(r.request).ok_or_else(unknown)?;
        let mut params = Vec::new();
        let mut bound = BTreeSet::new();
        for name in path_params(r.path)? {
            let mut p = json!({ "name": name, "in": "path", "required": true });
            p["schema"] = json!({ "type": "string" });
            if name == RESOURCE_ID {
                // `{id}` is the last segment of the resource name ("customers/{id}"): the REST
                // path carries the id, the gateway puts the full name into the request.
                bound.insert("name");
                describe(&mut p, Some(RESOURCE_ID_DOC.to_owned()));
            } else {
                let missing = || format!("`{{{name}}}` is not a field of `{}`", r.request);
                let f = find_field(req, name).ok_or_else(missing)?;
                bound.insert(f.name());
                describe(&mut p, self.doc(&format!("{}.{}", r.request, f.name())));
            }
            params.push(p);
        }
        let body = match r.body {
            Body::None => None,
            Body::Whole => Some(self.type_ref(r.request, out)?),
            Body::Field(name) => {
                let f = find_field(req, name)
                    .filter(|f| f.r#type() == Type::Message && f.label() != Label::Repeated)
                    .ok_or_else(|| format!("body `{name}` is not a singular message field"))?;
                bound.insert(f.name());
                Some(self.type_ref(undot(f.type_name()), out)?)
            }
        };
        // google.api.http: fields bound to neither path nor body travel in the query string.
        // Only fields with a flat JSON form fit there; nested messages and maps are left out.
        let query = req.field.iter().filter(|f| !bound.contains(f.name()));
        for f in query.filter(|f| !matches!(r.body, Body::Whole) && query_capable(f)) {
            let mut p = json!({ "name": f.json_name(), "in": "query" });
            p["schema"] = self.field_schema(f, out)?;
            describe(&mut p, self.doc(&format!("{}.{}", r.request, f.name())));
            params.push(p);
        }
        let content = |schema| json!({ "application/json": { "schema": schema } });
        let ok = content(self.type_ref(r.response, out)?);
        let error = content(json!({ "$ref": "#/components/schemas/Error" }));
        let ok_doc = self.doc(r.response).unwrap_or_else(|| "OK".into());
        let mut op = json!({
            "operationId": r.operation_id,
            "tags": [r.tag],
            "parameters": params,
            "responses": {
                "200": { "description": ok_doc, "content": ok },
                "default": { "description": "Error", "content": error },
            },
        });
        describe(&mut op, self.doc(&rpc_key(r.operation_id, r.request)));
        if let Some(schema) = body {
            op["requestBody"] = json!({ "required": true, "content": content(schema) });
        }
        Ok(op)
    }

    /// Inline schema for well-known types; `$ref` for everything else, emitting the component on
    /// first use so `components` holds exactly the reachable types.
    fn type_ref(&self, name: &str, out: &mut Schemas) -> Result<Value, String> {
        if let Some(schema) = well_known(name) {
            return Ok(schema);
        }
        if !out.contains_key(name) {
            // Placeholder first: recursive messages would otherwise recurse forever.
            out.insert(name.into(), Value::Null);
            let schema = self.component(name, out)?;
            out.insert(name.into(), schema);
        }
        Ok(json!({ "$ref": format!("#/components/schemas/{name}") }))
    }

    fn component(&self, name: &str, out: &mut Schemas) -> Result<Value, String> {
        if let Some(e) = self.enums.get(name) {
            let names: Vec<&str> = e.value.iter().map(|v| v.name()).collect();
            // `enum` cannot carry per-value comments, and clients need them: list them in prose.
            let values = names.iter().filter_map(|v| {
                let doc = self.doc(&format!("{name}.{v}"))?;
                Some(format!("- `{v}`: {doc}"))
            });
            let text: Vec<String> = self.doc(name).into_iter().chain(values).collect();
            let mut schema = json!({ "type": "string", "enum": names });
            describe(&mut schema, Some(text.join("\n")).filter(|t| !t.is_empty()));
            return Ok(schema);
        }
        let unknown = || format!("unknown message or enum `{name}`");
        let m = self.messages.get(name).ok_or_else(unknown)?;
        let mut props = Map::new();
        for f in &m.field {
            let mut schema = self.field_schema(f, out)?;
            let mut doc = self.doc(&format!("{name}.{}", f.name()));
            // A real oneof has no JSON shape of its own, so the exclusivity only shows in prose.
            // `proto3_optional` fields sit in synthetic oneofs and stay plain properties.
            if let Some(o) = f.oneof_index.filter(|_| !f.proto3_optional()) {
                let oneof = m.oneof_decl.get(o as usize).map_or("", |o| o.name());
                let note = format!("Member of oneof `{oneof}`: set at most one of its fields.");
                doc = Some(doc.map_or(note.clone(), |d| format!("{d}\n\n{note}")));
            }
            describe(&mut schema, doc);
            props.insert(f.json_name().into(), schema);
        }
        let mut schema = json!({ "type": "object", "properties": props });
        describe(&mut schema, self.doc(name));
        Ok(schema)
    }

    fn field_schema(&self, f: &FieldDescriptorProto, out: &mut Schemas) -> Result<Value, String> {
        if f.label() != Label::Repeated {
            return self.single_schema(f, out);
        }
        // Maps arrive as repeated synthetic `*Entry` messages; JSON renders them as objects,
        // and the entry message itself never appears in the document.
        if let Some(entry) = self.messages.get(undot(f.type_name()))
            && entry.options.as_ref().is_some_and(|o| o.map_entry())
        {
            let value = entry.field.iter().find(|v| v.number() == 2);
            let value = self.single_schema(value.ok_or("map entry without value")?, out)?;
            return Ok(json!({ "type": "object", "additionalProperties": value }));
        }
        Ok(json!({ "type": "array", "items": self.single_schema(f, out)? }))
    }

    fn single_schema(&self, f: &FieldDescriptorProto, out: &mut Schemas) -> Result<Value, String> {
        Ok(match f.r#type() {
            Type::String => json!({ "type": "string" }),
            Type::Bool => json!({ "type": "boolean" }),
            Type::Int32 | Type::Uint32 | Type::Sint32 | Type::Fixed32 | Type::Sfixed32 => {
                json!({ "type": "integer", "format": "int32" })
            }
            // proto3 JSON writes 64-bit integers as strings: JavaScript numbers lose precision.
            Type::Int64 | Type::Uint64 | Type::Sint64 | Type::Fixed64 | Type::Sfixed64 => {
                json!({ "type": "string", "format": "int64" })
            }
            Type::Float => json!({ "type": "number", "format": "float" }),
            Type::Double => json!({ "type": "number", "format": "double" }),
            Type::Bytes => json!({ "type": "string", "format": "byte" }),
            Type::Enum | Type::Message | Type::Group => self.type_ref(undot(f.type_name()), out)?,
        })
    }
}

/// proto3 JSON forms of google.protobuf types, which do not look like their messages.
fn well_known(name: &str) -> Option<Value> {
    // Wrappers exist to distinguish "unset" from the default, which JSON expresses as null.
    let nullable = |t: &str, format: &str| match format {
        "" => json!({ "type": [t, "null"] }),
        _ => json!({ "type": [t, "null"], "format": format }),
    };
    Some(match name.strip_prefix("google.protobuf.")? {
        "Timestamp" => json!({ "type": "string", "format": "date-time" }),
        "Duration" => json!({ "type": "string", "description": "Seconds, e.g. \"3.5s\"." }),
        "FieldMask" => json!({ "type": "string", "description": "Comma-separated field paths." }),
        "Empty" => json!({ "type": "object" }),
        "Struct" => json!({ "type": "object", "additionalProperties": true }),
        "Value" => json!({}),
        "ListValue" => json!({ "type": "array", "items": {} }),
        "NullValue" => json!({ "type": "null" }),
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

/// Whether the field has a flat JSON form that a query string can carry: scalars, enums,
/// repeated scalars, and well-known types rendered as scalars (Timestamp, FieldMask, wrappers).
fn query_capable(f: &FieldDescriptorProto) -> bool {
    if !matches!(f.r#type(), Type::Message | Type::Group) {
        return true;
    }
    let schema = well_known(undot(f.type_name())).unwrap_or_default();
    match &schema["type"] {
        Value::String(t) => t != "object" && t != "array",
        other => other.is_array(), // nullable wrappers: ["string", "null"]
    }
}

/// The path parameter that stands for a resource id (the last segment of its `name`).
const RESOURCE_ID: &str = "id";
const RESOURCE_ID_DOC: &str = "The resource id (UUID): the last segment of its resource name.";

fn path_params(path: &str) -> Result<Vec<&str>, String> {
    let bad = || format!("malformed `{{...}}` in path `{path}`");
    let name: fn(&str) -> Option<&str> = |s| Some(s.split_once('}')?.0).filter(|n| !n.is_empty());
    let names = path.split('{').skip(1).map(|s| name(s).ok_or_else(bad));
    names.collect()
}

/// Routes may name fields as in the .proto (`update_mask`) or as in JSON (`updateMask`).
fn find_field<'d>(m: &'d DescriptorProto, name: &str) -> Option<&'d FieldDescriptorProto> {
    let matches = |f: &&FieldDescriptorProto| f.name() == name || f.json_name() == name;
    m.field.iter().find(matches)
}

fn describe(target: &mut Value, doc: Option<String>) {
    if let (Some(doc), Some(obj)) = (doc, target.as_object_mut()) {
        obj.insert("description".into(), doc.into());
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

/// Routes find their rpc by name and input type: names alone may repeat across services.
fn rpc_key(method: &str, input: &str) -> String {
    format!("rpc {input} {method}")
}

fn child(path: &[i32], tag: i32, index: usize) -> Vec<i32> {
    [path, &[tag, index as i32]].concat()
}

/// Full proto name; the trim covers files without a package (proto names never start with '.').
fn qualify(scope: &str, name: &str) -> String {
    format!("{scope}.{name}").trim_start_matches('.').to_owned()
}

/// Descriptor type references are fully qualified with a leading dot; route names are not.
fn undot(name: &str) -> &str {
    name.strip_prefix('.').unwrap_or(name)
}

#[cfg(test)]
mod tests;
