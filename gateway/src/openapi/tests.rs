//! The document generated for the demo service.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::document;
use serde_json::{Value, json};

fn doc() -> Value {
    let api = crate::transcode::tests::demo();
    document("Demo API", "1.2.3", &api, &["/api/v1/widgets:import"]).expect("document")
}

fn param<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {name}"))
}

#[test]
fn operations_paths_and_parameters() {
    let d = doc();
    assert_eq!(d["openapi"], "3.1.0");
    let get = &d["paths"]["/api/v1/widgets/{id}"]["get"];
    assert_eq!(get["operationId"], "GetWidget");
    assert_eq!(get["description"], "Fetches one widget by name.");
    let id = param(get, "id");
    assert_eq!(id["in"], "path");
    assert_eq!(id["schema"]["format"], "uuid");
    assert_eq!(
        d["paths"]["/api/v1/widgets:import"]["post"]["operationId"],
        "CreateWidget2"
    );
    assert_eq!(
        d["paths"]["/api/v1/widgets:import"]["post"]["security"],
        json!([])
    );
    assert!(
        d["paths"]["/api/v1/widgets"]["post"]
            .get("security")
            .is_none()
    );

    let list = &d["paths"]["/api/v1/widgets"]["get"];
    assert_eq!(param(list, "pageSize")["schema"]["minimum"], 0);
    let states = &param(list, "states")["schema"];
    assert_eq!(states["type"], "array");
    assert!(
        states["items"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("ARCHIVED"))
    );
    let names: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"near"),
        "messages are not query parameters"
    );
}

#[test]
fn field_behaviour_becomes_required_and_read_only() {
    let d = doc();
    let schemas = &d["components"]["schemas"];
    let create = &d["paths"]["/api/v1/widgets"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/demo.v1.Widget.input"
    );
    let input = &schemas["demo.v1.Widget.input"];
    assert_eq!(input["required"], json!(["state"]));
    assert_eq!(input["properties"]["createTime"]["readOnly"], true);
    // The required enum's zero value means unset: not offered as input.
    let states = input["properties"]["state"]["enum"].as_array().unwrap();
    assert!(!states.contains(&json!("STATE_UNSPECIFIED")));
    assert!(states.contains(&json!(1)));
    // Optional fields take null (unset) on input.
    assert_eq!(
        input["properties"]["weight"]["type"],
        json!(["number", "null"])
    );
    // Responses require nothing: proto3 JSON leaves defaults out.
    let output = &schemas["demo.v1.Widget"];
    assert!(output.get("required").is_none());
    assert_eq!(output["properties"]["sizeBytes"]["type"], "string");
    assert_eq!(
        output["properties"]["sizeBytes"]["pattern"],
        "^-?[0-9]{1,18}$"
    );
    // An update takes what it is sent: nothing required, and the mask names changeable fields.
    let patch = &d["paths"]["/api/v1/widgets/{id}"]["patch"];
    let update = &schemas["demo.v1.Widget.update"];
    assert!(update.get("required").is_none());
    let mask = param(patch, "updateMask")["schema"]["pattern"]
        .as_str()
        .unwrap();
    assert!(mask.contains("sizeBytes") && !mask.contains("createTime") && !mask.contains("|name|"));
}

#[test]
fn creates_link_to_what_they_created_and_errors_are_aip_193() {
    let d = doc();
    let links = &d["paths"]["/api/v1/widgets"]["post"]["responses"]["200"]["links"];
    for op in ["GetWidget", "UpdateWidget", "DeleteWidget"] {
        assert_eq!(
            links[op]["parameters"]["id"], "$response.body#/id",
            "{links}"
        );
    }
    let error = &d["components"]["schemas"]["Error"];
    assert_eq!(error["required"], json!(["error"]));
    let get = &d["paths"]["/api/v1/widgets/{id}"]["get"];
    assert_eq!(
        get["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Error"
    );
}

#[test]
fn the_document_is_deterministic() {
    assert_eq!(doc(), doc());
}
