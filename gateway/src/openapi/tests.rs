use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Body, RouteDoc, document};

fn descriptor_set() -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests-data");
    protox::Compiler::new([dir])
        .expect("compiler")
        .include_imports(true)
        .include_source_info(true)
        .open_files(["demo/v1/demo.proto"])
        .expect("demo.proto compiles")
        .encode_file_descriptor_set()
}

fn route(
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    request: &'static str,
    body: Body,
    response: &'static str,
) -> RouteDoc {
    let tag = "widgets";
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

/// The demo service's route table, as the gateway would declare it: one line per route.
#[rustfmt::skip]
fn routes() -> Vec<RouteDoc> {
    vec![
        route("get", "/api/v1/widgets/{widget}", "GetWidget", "demo.v1.GetWidgetRequest", Body::None, "demo.v1.Widget"),
        route("get", "/api/v1/widgets", "ListWidgets", "demo.v1.ListWidgetsRequest", Body::None, "demo.v1.ListWidgetsResponse"),
        route("post", "/api/v1/widgets", "CreateWidget", "demo.v1.CreateWidgetRequest", Body::Field("widget"), "demo.v1.Widget"),
        route("patch", "/api/v1/widgets/{widget_id}", "UpdateWidget", "demo.v1.UpdateWidgetRequest", Body::Field("widget"), "demo.v1.Widget"),
        route("delete", "/api/v1/widgets/{widget}", "DeleteWidget", "demo.v1.DeleteWidgetRequest", Body::None, "google.protobuf.Empty"),
        // Same request as CreateWidget, but `body: "*"`.
        route("post", "/api/v1/widgets:import", "ImportWidget", "demo.v1.CreateWidgetRequest", Body::Whole, "demo.v1.Widget"),
    ]
}

fn generate(routes: &[RouteDoc]) -> Result<Value, String> {
    document("Demo API", "1.2.3", &descriptor_set(), routes)
}

fn doc() -> Value {
    generate(&routes()).expect("document")
}

/// Parameters of an operation by name.
fn params(op: &Value) -> BTreeMap<String, Value> {
    let list = op["parameters"].as_array().expect("parameters");
    list.iter()
        .map(|p| (p["name"].as_str().expect("name").to_owned(), p.clone()))
        .collect()
}

fn body_schema(op: &Value) -> &Value {
    assert_eq!(op["requestBody"]["required"], true);
    &op["requestBody"]["content"]["application/json"]["schema"]
}

fn widget_ref() -> Value {
    json!({ "$ref": "#/components/schemas/demo.v1.Widget" })
}

#[test]
fn header_and_tags() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["info"],
        json!({ "title": "Demo API", "version": "1.2.3" })
    );
    assert_eq!(doc["tags"], json!([{ "name": "widgets" }]));
}

#[test]
fn get_has_required_path_param_and_rpc_comment() {
    let op = &doc()["paths"]["/api/v1/widgets/{widget}"]["get"];
    assert_eq!(op["operationId"], "GetWidget");
    assert_eq!(op["description"], "Fetches one widget by name.");
    assert_eq!(op["tags"], json!(["widgets"]));
    assert_eq!(
        op["parameters"],
        json!([{
            "name": "widget", "in": "path", "required": true,
            "schema": { "type": "string" }, "description": "The widget to fetch, by its id.",
        }])
    );
    assert!(op.get("requestBody").is_none());
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"],
        widget_ref()
    );
    assert_eq!(
        op["responses"]["200"]["description"],
        "A widget owned by a customer."
    );
    let error = &op["responses"]["default"]["content"]["application/json"]["schema"];
    assert_eq!(error, &json!({ "$ref": "#/components/schemas/Error" }));
}

#[test]
fn list_query_params_use_json_names_and_types() {
    let op = &doc()["paths"]["/api/v1/widgets"]["get"];
    let params = params(op);
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    // `near` is a plain message field: it has no flat query form, so it is left out.
    assert_eq!(
        names,
        ["filter", "orderBy", "pageSize", "pageToken", "states"]
    );
    assert!(
        params
            .values()
            .all(|p| p["in"] == "query" && p.get("required").is_none())
    );
    assert_eq!(
        params["pageSize"]["schema"],
        json!({ "type": "integer", "format": "int32" })
    );
    assert_eq!(
        params["pageSize"]["description"],
        "Maximum number of widgets to return."
    );
    assert_eq!(params["pageToken"]["schema"], json!({ "type": "string" }));
    assert_eq!(
        params["filter"]["description"],
        "AIP-160 filter expression."
    );
    assert_eq!(params["orderBy"]["schema"], json!({ "type": "string" }));
    let state = json!({ "$ref": "#/components/schemas/demo.v1.Widget.State" });
    assert_eq!(
        params["states"]["schema"],
        json!({ "type": "array", "items": state })
    );
}

#[test]
fn create_body_field_and_remaining_query_param() {
    let op = &doc()["paths"]["/api/v1/widgets"]["post"];
    assert_eq!(body_schema(op), &widget_ref());
    let params = params(op);
    assert_eq!(params.keys().collect::<Vec<_>>(), ["widgetId"]);
    assert_eq!(params["widgetId"]["in"], "query");
}

#[test]
fn update_has_update_mask_query_param() {
    let op = &doc()["paths"]["/api/v1/widgets/{widget_id}"]["patch"];
    assert_eq!(body_schema(op), &widget_ref());
    let params = params(op);
    assert_eq!(
        params.keys().collect::<Vec<_>>(),
        ["updateMask", "widget_id"]
    );
    assert_eq!(params["widget_id"]["in"], "path");
    assert_eq!(params["widget_id"]["required"], true);
    assert_eq!(
        params["widget_id"]["description"],
        "The widget id from the path."
    );
    let mask = &params["updateMask"];
    assert_eq!(mask["in"], "query");
    assert_eq!(mask["schema"]["type"], "string");
    assert_eq!(mask["description"], "Fields to update.");
}

#[test]
fn delete_returns_empty_object_and_has_query_flag() {
    let op = &doc()["paths"]["/api/v1/widgets/{widget}"]["delete"];
    let ok = &op["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(ok, &json!({ "type": "object" }));
    assert_eq!(params(op)["force"]["schema"], json!({ "type": "boolean" }));
}

#[test]
fn whole_body_refs_request_and_has_no_query() {
    let doc = doc();
    let op = &doc["paths"]["/api/v1/widgets:import"]["post"];
    let request = json!({ "$ref": "#/components/schemas/demo.v1.CreateWidgetRequest" });
    assert_eq!(body_schema(op), &request);
    assert_eq!(op["parameters"], json!([]));
    let schema = &doc["components"]["schemas"]["demo.v1.CreateWidgetRequest"];
    assert_eq!(schema["properties"]["widgetId"]["type"], "string");
}

#[test]
fn widget_schema_follows_proto3_json() {
    let doc = doc();
    let widget = &doc["components"]["schemas"]["demo.v1.Widget"];
    assert_eq!(widget["type"], "object");
    assert_eq!(widget["description"], "A widget owned by a customer.");
    let p = &widget["properties"];
    let location = json!({ "$ref": "#/components/schemas/demo.v1.Widget.Location" });
    let expected = json!({
        "name": { "type": "string", "description": "Resource name, \"widgets/{widget}\"." },
        "sizeBytes": {
            "type": "string", "format": "int64",
            "description": "Size in bytes; 64-bit, so a string in JSON.",
        },
        "state": {
            "$ref": "#/components/schemas/demo.v1.Widget.State", "description": "Current state.",
        },
        "createTime": {
            "type": "string", "format": "date-time", "description": "When the widget was created.",
        },
        "tags": { "type": "array", "items": { "type": "string" }, "description": "Free-form labels." },
        "annotations": {
            "type": "object", "additionalProperties": { "type": "string" },
            "description": "Arbitrary key/value annotations.",
        },
        "counts": {
            "type": "object", "additionalProperties": { "type": "string", "format": "int64" },
            "description": "Per-site counts.",
        },
        "location": { "$ref": location["$ref"], "description": "Where it is stored." },
        "history": {
            "type": "array", "items": location, "description": "Older locations, most recent first.",
        },
        "parts": {
            "type": "array", "items": widget_ref(), "description": "Sub-widgets assembled into this one.",
        },
        "weight": { "type": "number", "format": "double", "description": "Weight in kilograms." },
        "thumbnail": { "type": "string", "format": "byte", "description": "Opaque thumbnail." },
        "nickname": { "type": ["string", "null"], "description": "Optional nickname; null when unset." },
        "extras": {
            "type": "object", "additionalProperties": true, "description": "Vendor-specific extras.",
        },
        "priority": {
            "type": "integer", "format": "int32", "description": "Explicit-presence priority.",
        },
    });
    for (name, schema) in expected.as_object().expect("object") {
        assert_eq!(&p[name], schema, "property {name}");
    }
    assert_eq!(p["warranty"]["type"], "string");
    assert_eq!(p["warranty"]["description"], "Warranty length.");
    assert_eq!(
        p["payload"]["properties"]["@type"],
        json!({ "type": "string" })
    );
    assert_eq!(p["rfid"]["type"], "string");
    assert_eq!(p["rfid"]["format"], "int64");
    let barcode = p["barcode"]["description"]
        .as_str()
        .expect("barcode description");
    assert!(
        barcode.starts_with("Barcode printed on the widget.\n\n"),
        "{barcode}"
    );
    assert!(barcode.contains("oneof `external_id`"), "{barcode}");
    assert_eq!(p.as_object().map(|p| p.len()), Some(19));
}

#[test]
fn enums_and_nested_messages_are_components() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    let state = &schemas["demo.v1.Widget.State"];
    assert_eq!(state["type"], "string");
    assert_eq!(
        state["enum"],
        json!(["STATE_UNSPECIFIED", "ACTIVE", "ARCHIVED"])
    );
    let text = state["description"].as_str().expect("enum description");
    assert!(text.starts_with("Lifecycle state of a widget.\n"), "{text}");
    assert!(
        text.contains("- `ARCHIVED`: Kept for history only."),
        "{text}"
    );
    let location = &schemas["demo.v1.Widget.Location"];
    assert_eq!(location["description"], "Where the widget is kept.");
    let shelf = json!({ "type": "integer", "format": "int32", "description": "Shelf number within the site." });
    assert_eq!(location["properties"]["shelf"], shelf);
}

#[test]
fn components_hold_exactly_the_reachable_types() {
    let doc = doc();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let names: Vec<&str> = schemas.keys().map(String::as_str).collect();
    // Sorted keys, no map `*Entry` types, no well-known types, no query-only request messages.
    let expected = [
        "Error",
        "demo.v1.CreateWidgetRequest",
        "demo.v1.ListWidgetsResponse",
        "demo.v1.Widget",
        "demo.v1.Widget.Location",
        "demo.v1.Widget.State",
    ];
    assert_eq!(names, expected);
    // Every `$ref` anywhere in the document resolves to a component.
    fn refs<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::Object(map) => map.iter().for_each(|(k, v)| match (k.as_str(), v) {
                ("$ref", Value::String(r)) => out.push(r),
                _ => refs(v, out),
            }),
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").expect("local ref");
        assert!(
            schemas.get(name).is_some_and(Value::is_object),
            "dangling {r}"
        );
    }
}

#[test]
fn error_schema_is_aip_193() {
    let doc = doc();
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["required"], json!(["error"]));
    let p = &error["properties"]["error"]["properties"];
    assert_eq!(p["code"]["type"], "integer");
    assert_eq!(p["status"]["type"], "string");
    assert_eq!(p["message"]["type"], "string");
    assert_eq!(
        p["details"],
        json!({ "type": "array", "items": { "type": "object" } })
    );
}

#[test]
fn output_is_deterministic() {
    let first = serde_json::to_string(&doc()).expect("serialize");
    assert_eq!(first, serde_json::to_string(&doc()).expect("serialize"));
    // BTreeMap-backed maps: `components` precedes `info` precedes `openapi` when serialized.
    assert!(first.starts_with("{\"components\":"), "{}", &first[..40]);
}

fn error_of(route: RouteDoc) -> String {
    generate(&[route]).expect_err("should fail")
}

#[test]
fn unknown_messages_are_errors() {
    let err = error_of(route(
        "get",
        "/x",
        "X",
        "demo.v1.Nope",
        Body::None,
        "demo.v1.Widget",
    ));
    assert!(err.contains("unknown message `demo.v1.Nope`"), "{err}");
    assert!(err.contains("get /x (X)"), "{err}");
    let err = error_of(route(
        "get",
        "/x",
        "X",
        "demo.v1.GetWidgetRequest",
        Body::None,
        "demo.v1.Gone",
    ));
    assert!(
        err.contains("unknown message or enum `demo.v1.Gone`"),
        "{err}"
    );
}

#[test]
fn path_param_must_be_a_request_field() {
    let r = route(
        "get",
        "/w/{customer}",
        "X",
        "demo.v1.GetWidgetRequest",
        Body::None,
        "demo.v1.Widget",
    );
    let err = error_of(r);
    assert!(
        err.contains("`{customer}` is not a field of `demo.v1.GetWidgetRequest`"),
        "{err}"
    );
    let r = route(
        "get",
        "/w/{widget",
        "X",
        "demo.v1.GetWidgetRequest",
        Body::None,
        "demo.v1.Widget",
    );
    assert!(error_of(r).contains("malformed"));
}

#[test]
fn other_route_mistakes_are_errors() {
    let req = "demo.v1.UpdateWidgetRequest";
    let err = error_of(route(
        "patch",
        "/w",
        "X",
        req,
        Body::Field("gadget"),
        "demo.v1.Widget",
    ));
    assert!(
        err.contains("body `gadget` is not a singular message field"),
        "{err}"
    );
    let err = error_of(route(
        "patch",
        "/w",
        "X",
        req,
        Body::Field("widget_id"),
        "demo.v1.Widget",
    ));
    assert!(err.contains("body `widget_id`"), "{err}");
    let err = error_of(route("fetch", "/w", "X", req, Body::None, "demo.v1.Widget"));
    assert!(err.contains("unsupported method `fetch`"), "{err}");
    let get = || {
        route(
            "get",
            "/w/{widget}",
            "X",
            "demo.v1.GetWidgetRequest",
            Body::None,
            "demo.v1.Widget",
        )
    };
    let err = generate(&[get(), get()]).expect_err("duplicate");
    assert!(err.contains("duplicate"), "{err}");
    let err = document("t", "v", b"\xff\xff", &[]).expect_err("garbage descriptor");
    assert!(err.contains("invalid FileDescriptorSet"), "{err}");
}

#[test]
#[ignore]
fn dump() {
    println!("{}", serde_json::to_string_pretty(&doc()).expect("json"));
}
