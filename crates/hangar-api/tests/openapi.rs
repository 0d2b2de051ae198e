//! The OpenAPI document is generated from the handlers; the snapshot shows every change to it.

mod common;

use axum::http::StatusCode;

#[test]
fn openapi_document_snapshot() {
    let doc = serde_json::to_value(hangar_api::openapi::document()).expect("serializes");
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/{version}/deviceManagement/windowsAutopilotDeviceIdentities",
        "/{version}/deviceManagement/importedWindowsAutopilotDeviceIdentities/import",
        "/beta/deviceManagement/windowsAutopilotSettings/sync",
        "/{tenant}/oauth2/v2.0/token",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    // The version comes from the crate; keep the snapshot stable across releases.
    let mut doc = doc;
    doc["info"]["version"] = serde_json::Value::String("<version>".into());
    insta::assert_json_snapshot!(doc);
}

/// `/a/{x}/b` and `/a/{y}/b` are one template to OpenAPI: a document with both is invalid.
#[test]
fn no_two_paths_are_the_same_template_and_operation_ids_are_unique() {
    let doc = serde_json::to_value(hangar_api::openapi::document()).expect("serializes");
    let paths = doc["paths"].as_object().expect("paths");
    let mut templates = std::collections::HashMap::new();
    let mut operation_ids = std::collections::HashMap::new();
    for (path, item) in paths {
        let shape: Vec<&str> = path
            .split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect();
        if let Some(other) = templates.insert(shape.join("/"), path.clone()) {
            panic!("{path} and {other} are the same template");
        }
        for (method, op) in item.as_object().expect("path item") {
            let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            if let Some(other) = operation_ids.insert(id.to_string(), format!("{method} {path}")) {
                panic!("operationId {id} of {method} {path} is also that of {other}");
            }
        }
    }
    // Actions (POST) and navigations (GET) of a device share one documented path.
    let item = &paths["/{version}/deviceManagement/windowsAutopilotDeviceIdentities/{id}/{name}"];
    for method in ["get", "post"] {
        let names: Vec<&str> = item[method]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["version", "id", "name"], "{method}");
    }
    let post = item["post"]["description"].as_str().unwrap_or_default();
    assert!(
        post.contains("assignUserToDevice") && post.contains("GET"),
        "{post}"
    );
    let get = item["get"]["description"].as_str().unwrap_or_default();
    assert!(
        get.contains("deploymentProfile") && get.contains("POST"),
        "{get}"
    );
    // A bad $filter on the imported rows is a 400, and the document says so.
    let list =
        &paths["/{version}/deviceManagement/importedWindowsAutopilotDeviceIdentities"]["get"];
    assert!(list["responses"].get("400").is_some(), "{list}");
}

#[tokio::test]
async fn openapi_json_is_served_without_a_token() {
    let env = common::env().await;
    let req = axum::http::Request::builder()
        .uri("/openapi.json")
        .body(axum::body::Body::empty())
        .expect("request");
    let r = common::send(&env.app, req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["info"]["title"], "Hangar");
}
