//! The transcoder on a demo service (`tests-data/demo/v1/demo.proto`) with every binding shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::{Api, Found, Route};
use http::{HeaderMap, Method};
use prost_reflect::{DynamicMessage, ReflectMessage, Value};

/// The demo descriptor set, compiled with the vendored google/api protos.
pub(crate) fn demo_set() -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests-data");
    let protos = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto");
    protox::Compiler::new([dir, protos])
        .expect("compiler")
        .include_imports(true)
        .include_source_info(true)
        .open_files(["demo/v1/demo.proto"])
        .expect("demo.proto compiles")
        .encode_file_descriptor_set()
}

pub(crate) fn demo() -> Api {
    Api::from_descriptor_set(&demo_set(), "demo.").expect("routes")
}

fn route<'a>(api: &'a Api, method: Method, path: &str) -> (&'a Route, Vec<String>) {
    match api.find(&method, path) {
        Found::Route(r, v) => (r, v),
        _ => panic!("no route for {method} {path}"),
    }
}

fn text(m: &DynamicMessage, path: &str) -> String {
    let mut current = m.clone();
    let steps: Vec<&str> = path.split('.').collect();
    for step in &steps[..steps.len() - 1] {
        current = current
            .get_field_by_name(step)
            .unwrap()
            .as_message()
            .unwrap()
            .clone();
    }
    let value = current.get_field_by_name(steps[steps.len() - 1]).unwrap();
    match value.as_ref() {
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

#[test]
fn every_binding_is_a_route() {
    let api = demo();
    let names: Vec<String> = api
        .routes
        .iter()
        .map(|r| format!("{} {} {}", r.http_method, r.template_text, r.method.name()))
        .collect();
    assert_eq!(
        names,
        [
            "GET /api/v1/{name=widgets/*} GetWidget",
            "GET /api/v1/widgets ListWidgets",
            "POST /api/v1/widgets CreateWidget",
            "POST /api/v1/widgets:import CreateWidget",
            "PATCH /api/v1/{widget.name=widgets/*} UpdateWidget",
            "DELETE /api/v1/{name=widgets/*} DeleteWidget",
        ]
    );
    assert!(api.routes.iter().all(|r| r.upstream == "v1"));
}

#[test]
fn paths_find_routes_405s_and_404s() {
    let api = demo();
    let (r, values) = route(&api, Method::GET, "/api/v1/widgets/w-1");
    assert_eq!(r.method.name(), "GetWidget");
    assert_eq!(values, ["widgets/w-1"]);
    let (r, _) = route(&api, Method::POST, "/api/v1/widgets:import");
    assert_eq!(r.template_text, "/api/v1/widgets:import");
    match api.find(&Method::PUT, "/api/v1/widgets/w-1") {
        Found::MethodNotAllowed(allowed) => {
            assert_eq!(allowed, [Method::GET, Method::PATCH, Method::DELETE])
        }
        _ => panic!("expected 405"),
    }
    assert!(matches!(
        api.find(&Method::GET, "/api/v1/gadgets"),
        Found::NotFound
    ));
}

#[test]
fn query_parameters_read_their_types() {
    let api = demo();
    let (r, v) = route(&api, Method::GET, "/api/v1/widgets");
    let q = "pageSize=5&states=ACTIVE&states=2&filter=a%20%3D%20b&colour=red";
    let m = r.request(&v, Some(q), b"", &HeaderMap::new()).unwrap();
    assert_eq!(m.get_field_by_name("page_size").unwrap().as_i32(), Some(5));
    let states = m.get_field_by_name("states").unwrap();
    let states: Vec<i32> = states
        .as_list()
        .unwrap()
        .iter()
        .map(|v| v.as_enum_number().unwrap())
        .collect();
    assert_eq!(states, [1, 2]);
    assert_eq!(text(&m, "filter"), "a = b");
    let err = r
        .request(&v, Some("page_size=many"), b"", &HeaderMap::new())
        .unwrap_err();
    assert_eq!(err.field, "page_size");
    let err = r
        .request(&v, Some("states=BROKEN"), b"", &HeaderMap::new())
        .unwrap_err();
    assert_eq!(err.field, "states");
    assert!(err.description.contains("ACTIVE"), "{}", err.description);
}

#[test]
fn bodies_are_strict_about_shape_and_types() {
    let api = demo();
    let (r, v) = route(&api, Method::POST, "/api/v1/widgets");
    let h = HeaderMap::new();
    let ok = r
        .request(
            &v,
            Some("widgetId=w9"),
            br#"{"state": "ACTIVE", "sizeBytes": "12", "newer": 1}"#,
            &h,
        )
        .unwrap();
    assert_eq!(text(&ok, "widget_id"), "w9");
    let widget = ok.get_field_by_name("widget").unwrap();
    let widget = widget.as_message().unwrap();
    assert_eq!(
        widget.get_field_by_name("size_bytes").unwrap().as_i64(),
        Some(12)
    );
    for (body, field) in [
        (&b""[..], "widget"),
        (b"\0", "widget"),
        (b"[1]", "widget"),
        (b"{\"sizeBytes\": {}}", "widget.size_bytes"),
        (b"{\"state\": \"ROBOT\"}", "widget.state"),
        (b"{\"state\": 7}", "widget.state"),
        (b"{\"location\": {\"shelf\": -1}}", "widget.location.shelf"),
        (b"{\"barcode\": \"b\", \"rfid\": \"1\"}", "widget"),
        (b"{\"state\": \"ACTIVE\"} trailing", "widget"),
    ] {
        let err = r.request(&v, None, body, &h).unwrap_err();
        assert_eq!(
            err.field,
            field,
            "{}: {}",
            String::from_utf8_lossy(body),
            err.description
        );
    }
    // `body: "*"`: the whole request, and nothing from the query.
    let (r, v) = route(&api, Method::POST, "/api/v1/widgets:import");
    let m = r
        .request(
            &v,
            Some("widgetId=ignored"),
            br#"{"widget": {"state": 1}, "widgetId": "w1"}"#,
            &h,
        )
        .unwrap();
    assert_eq!(text(&m, "widget_id"), "w1");
}

#[test]
fn patch_sets_the_name_from_the_path_and_masks_the_fields_sent() {
    let api = demo();
    let (r, v) = route(&api, Method::PATCH, "/api/v1/widgets/w-2");
    let body = br#"{"name": "widgets/other", "sizeBytes": "5", "location": {"site": "ber-1"}, "etag": "3"}"#;
    let m = r.request(&v, None, body, &HeaderMap::new()).unwrap();
    assert_eq!(text(&m, "widget.name"), "widgets/w-2");
    let mask = m.get_field_by_name("update_mask").unwrap();
    let paths: Vec<String> = mask
        .as_message()
        .unwrap()
        .get_field_by_name("paths")
        .unwrap()
        .as_list()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["location", "size_bytes"]);
    // An explicit mask wins, in either naming.
    let m = r
        .request(
            &v,
            Some("updateMask=sizeBytes,tags"),
            body,
            &HeaderMap::new(),
        )
        .unwrap();
    let mask = m.get_field_by_name("update_mask").unwrap();
    let mask = mask.as_message().unwrap();
    assert_eq!(mask.descriptor().name(), "FieldMask");
    let list = mask.get_field_by_name("paths").unwrap();
    assert_eq!(list.as_list().unwrap().len(), 2);
    assert_eq!(list.as_list().unwrap()[0].as_str(), Some("size_bytes"));
    // An empty mask in the query is refused, naming it: it is not "no mask".
    for empty in ["updateMask=", "updateMask=,"] {
        let refused = r.request(&v, Some(empty), body, &HeaderMap::new());
        assert!(refused.is_err(), "{empty} accepted");
    }
}

/// The generated encoders write the same JSON as reflection, awkward values included.
#[test]
fn generated_json_matches_reflection() {
    let api = Api::from_descriptor_set(crm_proto::FILE_DESCRIPTOR_SET, "crm.").unwrap();
    let (list, _) = route(&api, Method::GET, "/api/v1/customers");
    let encode = list.json.expect("ListCustomers has a generated encoder");
    let page = serde_json::json!({
        "customers": [{
            "name": "customers/1", "id": "1", "displayName": "  王小明 ", "kind": "PERSON",
            "createTime": "2026-01-02T03:04:05.123456789Z", "lifecycleStage": "AT_RISK",
            "stagePinned": true, "tags": ["a", "", "标签"], "lifetimeValueMinor": "-9007199254740993",
            "customFields": {"n": 1234567.89012345, "s": "=1+1", "b": false, "x": null, "l": [0.1, {}]},
            "duplicateCandidates": [{}]
        }, {}],
        "nextPageToken": "t"
    });
    let message = DynamicMessage::deserialize(list.method.output(), page).unwrap();
    let bytes = prost::Message::encode_to_vec(&message);
    let generated: serde_json::Value = serde_json::from_slice(&encode(&bytes).unwrap()).unwrap();
    assert_eq!(generated, serde_json::to_value(&message).unwrap());
    assert_eq!(
        generated["customers"][0]["lifetimeValueMinor"],
        "-9007199254740993"
    );

    // An enum number this build has no name for is not written by the generated code: the
    // route falls back to reflection, which writes the number.
    let customer = crm_proto::crm::customers::v1::Customer {
        kind: 99,
        ..Default::default()
    };
    let page = crm_proto::crm::customers::v1::ListCustomersResponse {
        customers: vec![customer],
        ..Default::default()
    };
    assert!(encode(&prost::Message::encode_to_vec(&page)).is_err());

    // Every unary route whose whole response is the body has an encoder.
    for route in &api.routes {
        let nested = route.method.output().parent_message().is_some();
        let expected = route.response_body.is_none()
            && !route.method.is_server_streaming()
            && !nested
            && route.method.output().package_name().starts_with("crm.");
        assert_eq!(
            route.json.is_some(),
            expected,
            "{}",
            route.method.full_name()
        );
    }
}
