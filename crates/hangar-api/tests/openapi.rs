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
