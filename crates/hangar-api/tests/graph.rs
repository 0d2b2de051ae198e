//! The Graph API in-process (tower `oneshot`) against a real SQLite store and the real worker.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hangar_core::credentials::Role;
use serde_json::{json, Value};
use std::time::Duration;

const DEVICES: &str = "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities";
const IMPORTED: &str = "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities";

/// The serial numbers of a collection's page, sorted.
fn serials(r: &Resp) -> Vec<String> {
    let mut v: Vec<String> = r.body["value"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["serialNumber"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

async fn one_device(env: &Env, serial: &str) -> String {
    let rows = env.import_and_wait(&env.a.admin, &[entry(serial)]).await;
    assert_eq!(
        rows[0]["state"]["deviceImportStatus"], "complete",
        "{}",
        rows[0]
    );
    rows[0]["state"]["deviceRegistrationId"]
        .as_str()
        .expect("registration id")
        .to_string()
}

#[tokio::test]
async fn double_slashes_are_collapsed_before_routing() {
    let env = env().await;
    let id = one_device(&env, "SLASH-1").await;
    let r = env
        .get(
            &format!("/v1.0//deviceManagement//windowsAutopilotDeviceIdentities/{id}/"),
            &env.a.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["serialNumber"], "SLASH-1");
    assert_eq!(
        r.body["@odata.type"],
        "#microsoft.graph.windowsAutopilotDeviceIdentity"
    );
    assert!(r.body["@odata.context"]
        .as_str()
        .unwrap_or_default()
        .ends_with("/$metadata#deviceManagement/windowsAutopilotDeviceIdentities/$entity"));
}

#[tokio::test]
async fn action_names_are_case_insensitive_and_json5_keys_are_accepted() {
    let env = env().await;
    let id = one_device(&env, "CASE-1").await;
    let r = env
        .call(
            Method::POST,
            &format!("{DEVICES}/{id}/UpdateDeviceProperties"),
            Some(&env.a.admin),
            Some((
                "application/json",
                b"{ displayName: \"PC-01\", groupTag: 'Sales' }",
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let d = env.get(&format!("{DEVICES}/{id}"), &env.a.admin).await;
    assert_eq!(d.body["displayName"], "PC-01");
    assert_eq!(d.body["groupTag"], "Sales");
    // "" counts as absent: the group tag stays.
    let r = env
        .post_json(
            &format!("{DEVICES}/{id}/updateDeviceProperties"),
            &env.a.admin,
            &json!({"groupTag": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        env.get(&format!("{DEVICES}/{id}"), &env.a.admin).await.body["groupTag"],
        "Sales"
    );
    // The namespaced form works too.
    let r = env
        .post_json(
            &format!("{DEVICES}/{id}/microsoft.graph.assignUserToDevice"),
            &env.a.admin,
            &json!({"userPrincipalName": "ann@contoso.com", "addressableUserName": "Ann"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        env.get(&format!("{DEVICES}/{id}"), &env.a.admin).await.body["userPrincipalName"],
        "ann@contoso.com"
    );
}

#[tokio::test]
async fn empty_action_bodies_are_accepted_with_or_without_content_type() {
    let env = env().await;
    let id = one_device(&env, "EMPTY-1").await;
    let url = format!("{DEVICES}/{id}/unassignUserFromDevice");
    let r = env.call(Method::POST, &url, Some(&env.a.admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = env
        .call(
            Method::POST,
            &url,
            Some(&env.a.admin),
            Some(("application/json", b"")),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = env
        .call(
            Method::POST,
            &format!(
                "/beta/deviceManagement/windowsAutopilotDeviceIdentities/{id}/allowNextEnrollment"
            ),
            Some(&env.a.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn hardware_identifier_is_accepted_unpadded_and_served_padded() {
    let env = env().await;
    // Real hashes are a multiple of 3 bytes long; a 10-byte blob needs padding (and fails 802).
    let (serial, hash) = ("PAD-1", b"0123456789".to_vec());
    let padded = b64(&hash);
    let unpadded = padded.trim_end_matches('=').to_string();
    assert_ne!(padded, unpadded);
    let r = env.post_json(IMPORTED, &env.a.admin, &json!({"serialNumber": serial, "hardwareIdentifier": unpadded, "state": {"deviceImportStatus": "complete"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["hardwareIdentifier"], padded);
    assert_eq!(r.body["state"]["deviceImportStatus"], "unknown");
    let id = r.body["id"].as_str().expect("id").to_string();
    let rows = env.wait_rows(&env.a.admin, &[id]).await;
    assert_eq!(rows[0]["state"]["deviceErrorCode"], 802, "{}", rows[0]);
    assert_eq!(rows[0]["hardwareIdentifier"], padded);
}

#[tokio::test]
async fn polling_contract_with_real_fixture_hashes_and_every_failure() {
    let env = env().await;
    let fixtures: Vec<_> = hangar_store_tests::fixture_rows()
        .into_iter()
        .filter(|(_, r)| !r.serial_number.trim().is_empty())
        .collect();
    assert!(fixtures.len() >= 8, "fixtures missing");
    // Tenant B owns the first fixture device already (-> 808 for A).
    let first = &fixtures[0].1;
    let b_rows = env
        .import_and_wait(&env.b.admin, &[json!({"serialNumber": first.serial_number, "hardwareIdentifier": b64(&first.hardware_hash)})])
        .await;
    assert_eq!(b_rows[0]["state"]["deviceImportStatus"], "complete");
    // Tenant A owns the second already (-> 806 when imported again).
    let second = &fixtures[1].1;
    let entry_of = |r: &hangar_core::model::ImportRow| json!({"serialNumber": r.serial_number, "productKey": r.product_key, "hardwareIdentifier": b64(&r.hardware_hash)});
    env.import_and_wait(&env.a.admin, &[entry_of(second)]).await;

    let mut rows: Vec<Value> = fixtures[2..].iter().map(|(_, r)| entry_of(r)).collect();
    let good = rows.len();
    rows.push(json!({"serialNumber": "BROKEN", "hardwareIdentifier": b64(b"this is not a hardware hash")}));
    rows.push(entry_of(second));
    rows.push(entry_of(first));
    rows.push(entry_of(&fixtures[2].1));
    let r = env
        .post_json(
            &format!("{IMPORTED}/import"),
            &env.a.admin,
            &json!({"importedWindowsAutopilotDeviceIdentities": rows}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let answered = r.body["value"].as_array().expect("value").clone();
    assert_eq!(answered.len(), rows.len());
    for (sent, got) in rows.iter().zip(&answered) {
        assert_eq!(sent["serialNumber"], got["serialNumber"], "same order");
        assert!(got["id"].as_str().is_some());
    }
    let ids: Vec<String> = answered
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let done = env.wait_rows(&env.a.admin, &ids).await;
    for row in &done[..good] {
        let st = &row["state"];
        assert_eq!(st["deviceImportStatus"], "complete", "{row}");
        assert_eq!(st["deviceErrorCode"], 0);
        assert_eq!(st["deviceErrorName"], "None");
        assert_eq!(
            st["@odata.type"],
            "microsoft.graph.importedWindowsAutopilotDeviceIdentityState"
        );
        let reg = st["deviceRegistrationId"]
            .as_str()
            .expect("registration id");
        let d = env.get(&format!("{DEVICES}/{reg}"), &env.a.admin).await;
        assert_eq!(d.status, StatusCode::OK, "{}", d.text);
        assert_eq!(d.body["id"], reg);
        assert_eq!(d.body["serialNumber"], row["serialNumber"]);
        assert_eq!(
            d.body["managedDeviceId"],
            "00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(d.body["lastContactedDateTime"], "0001-01-01T00:00:00Z");
        assert_eq!(d.body["enrollmentState"], "notContacted");
        assert!(
            d.body.get("deploymentProfileAssignmentStatus").is_none(),
            "beta-only property on v1.0"
        );
    }
    let failures: Vec<(i64, &str)> = done[good..]
        .iter()
        .map(|r| {
            (
                r["state"]["deviceErrorCode"].as_i64().unwrap_or(0),
                r["state"]["deviceErrorName"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        failures,
        vec![
            (802, "InvalidZtdHardwareHash"),
            (806, "ZtdDeviceAlreadyAssigned"),
            (808, "ZtdDeviceAssignedToOtherTenant"),
            (899, "ZtdDeviceDuplicated"),
        ]
    );
    assert!(done[good..]
        .iter()
        .all(|r| r["state"]["deviceImportStatus"] == "error"
            && r["state"]["deviceRegistrationId"].is_null()));
    // Clients delete the rows when done.
    for id in &ids {
        let r = env.delete(&format!("{IMPORTED}/{id}"), &env.a.admin).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(
        env.get(&format!("{IMPORTED}/{}", ids[0]), &env.a.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The beta view carries the beta properties.
    let reg = done[0]["state"]["deviceRegistrationId"]
        .as_str()
        .unwrap_or_default();
    let beta = env
        .get(
            &format!("/beta/deviceManagement/windowsAutopilotDeviceIdentities/{reg}"),
            &env.a.admin,
        )
        .await;
    assert_eq!(
        beta.body["deploymentProfileAssignmentStatus"],
        "notAssigned"
    );
    assert_eq!(beta.body["userlessEnrollmentStatus"], "unknown");
}

#[tokio::test]
async fn another_tenants_objects_are_invisible() {
    let env = env().await;
    let id = one_device(&env, "ISO-1").await;
    let imported = env.post_json(IMPORTED, &env.a.admin, &entry("ISO-2")).await;
    let imported_id = imported.body["id"].as_str().expect("id").to_string();
    env.wait_rows(&env.a.admin, std::slice::from_ref(&imported_id))
        .await;
    let b = &env.b.admin;
    for url in [
        format!("{DEVICES}/{id}"),
        format!("{IMPORTED}/{imported_id}"),
    ] {
        let r = env.get(&url, b).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{url}");
        assert_eq!(graph_error(&r), "ResourceNotFound");
        assert_eq!(env.delete(&url, b).await.status, StatusCode::NOT_FOUND);
    }
    let r = env
        .post_json(
            &format!("{DEVICES}/{id}/updateDeviceProperties"),
            b,
            &json!({"displayName": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for url in [DEVICES, IMPORTED] {
        let r = env.get(url, b).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["value"], json!([]), "{url}");
    }
    // Settings are per tenant.
    assert_eq!(
        env.call(
            Method::POST,
            "/beta/deviceManagement/windowsAutopilotSettings/sync",
            Some(&env.a.admin),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let sb = env
        .get("/beta/deviceManagement/windowsAutopilotSettings", b)
        .await;
    assert_eq!(
        sb.body["lastManualSyncTriggerDateTime"],
        "0001-01-01T00:00:00Z"
    );
    assert_eq!(sb.body["id"], env.b.scope.tenant_id().to_string());
    // ...and tenant A still has its device.
    assert_eq!(
        env.get(&format!("{DEVICES}/{id}"), &env.a.admin)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn readers_read_but_may_not_write() {
    let env = env().await;
    let id = one_device(&env, "READ-1").await;
    let reader = &env.a.reader;
    assert_eq!(
        env.get(&format!("{DEVICES}/{id}"), reader).await.status,
        StatusCode::OK
    );
    let attempts = [
        env.delete(&format!("{DEVICES}/{id}"), reader).await,
        env.post_json(
            &format!("{DEVICES}/{id}/updateDeviceProperties"),
            reader,
            &json!({"displayName": "x"}),
        )
        .await,
        env.post_json(IMPORTED, reader, &entry("READ-2")).await,
        env.call(
            Method::POST,
            "/beta/deviceManagement/windowsAutopilotSettings/sync",
            Some(reader),
            None,
        )
        .await,
    ];
    for r in attempts {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        assert_eq!(graph_error(&r), "Forbidden");
    }
    assert_eq!(
        env.get(&format!("{DEVICES}/{id}"), reader).await.body["displayName"],
        ""
    );
}

#[tokio::test]
async fn tokens_are_refused_when_missing_invalid_expired_or_revoked() {
    let env = env().await;
    let r = env.call(Method::GET, DEVICES, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_eq!(graph_error(&r), "InvalidAuthenticationToken");
    assert_eq!(
        env.get(DEVICES, "eyJ0.eyJ0.bm9wZQ").await.status,
        StatusCode::UNAUTHORIZED
    );

    let short = env
        .registry
        .issue_token(
            &env.a.scope,
            Role::Admin,
            "short",
            Some(Duration::from_secs(60)),
        )
        .await
        .expect("token");
    assert_eq!(env.get(DEVICES, &short.token).await.status, StatusCode::OK);
    env.clock.advance(Duration::from_secs(61));
    let r = env.get(DEVICES, &short.token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("expired"));

    let other = env
        .registry
        .issue_token(&env.a.scope, Role::Admin, "x", None)
        .await
        .expect("token");
    assert_eq!(env.get(DEVICES, &other.token).await.status, StatusCode::OK);
    env.registry
        .revoke_token(&other.record.id)
        .await
        .expect("revoke by id");
    let r = env.get(DEVICES, &other.token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("revoked"));
    // Revoking by the token text works too.
    let third = env
        .registry
        .issue_token(&env.a.scope, Role::Reader, "y", None)
        .await
        .expect("token");
    env.registry
        .revoke_token(&third.token)
        .await
        .expect("revoke by text");
    assert_eq!(
        env.get(DEVICES, &third.token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_revocation_by_another_process_is_honoured_after_the_token_cache_ttl() {
    let env = env().await;
    let token = env
        .registry
        .issue_token(&env.a.scope, Role::Admin, "cached", None)
        .await
        .expect("token");
    assert_eq!(env.get(DEVICES, &token.token).await.status, StatusCode::OK);
    // Another process: its own Registry (and token cache) over the same database.
    let other = hangar_core::service::Registry::new(env.registry.store().clone());
    other.revoke_token(&token.record.id).await.expect("revoke");
    let ttl = env.registry.config().token_cache_ttl;
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let r = env.get(DEVICES, &token.token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("revoked"));
}

#[tokio::test]
async fn failed_authentications_are_rate_limited() {
    let env = env_with(hangar_api::ApiConfig {
        failed_auth_limit: 3,
        ..Default::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            env.get(DEVICES, "wrong").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = env.get(DEVICES, &env.a.admin).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(graph_error(&r), "TooManyRequests");
    let after: u64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&after));
}

#[tokio::test]
async fn failed_authentications_are_limited_per_client_address() {
    let env = env_with(hangar_api::ApiConfig {
        failed_auth_limit: 3,
        ..Default::default()
    })
    .await;
    let (first, second) = (addr("192.0.2.10:50000"), addr("198.51.100.7:50000"));
    for _ in 0..3 {
        let r = env.get_from(first, DEVICES, "wrong").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    // The first address is blocked even with a valid token, from any port.
    let r = env.get_from(first, DEVICES, &env.a.admin).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(graph_error(&r), "TooManyRequests");
    assert!(r.headers.get("retry-after").is_some());
    let r = env
        .get_from(addr("192.0.2.10:50001"), DEVICES, &env.a.admin)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // Another address is not: its valid token works and its own failures are still 401s.
    let r = env.get_from(second, DEVICES, &env.a.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for _ in 0..2 {
        let r = env.get_from(second, DEVICES, "wrong").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    let r = env.get_from(second, DEVICES, &env.a.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Nor is a request without connect info.
    assert_eq!(env.get(DEVICES, &env.a.admin).await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_error_status_is_graph_json() {
    let env = env_with(hangar_api::ApiConfig {
        body_limit: 4096,
        ..Default::default()
    })
    .await;
    let t = &env.a.admin;
    // 400: malformed JSON, bad key, bad filter, bad $top, too many rows.
    let r = env
        .call(
            Method::POST,
            IMPORTED,
            Some(t),
            Some(("application/json", b"{\"serialNumber\": ")),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error(&r), "BadRequest");
    let r = env.get(&format!("{DEVICES}/not-a-guid"), t).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("GUID"));
    for f in [
        "endswith(serialNumber,'1')",
        "serialNumber gt 'a'",
        "nosuch eq 'x'",
        "contains(serialNumber,'x'",
    ] {
        let r = env
            .get(&format!("{DEVICES}?$filter={}", f.replace(' ', "%20")), t)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{f}");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("unsupported $filter"),
            "{}",
            r.text
        );
    }
    assert_eq!(
        env.get(&format!("{DEVICES}?$top=abc"), t).await.status,
        StatusCode::BAD_REQUEST
    );
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"serialNumber": format!("S{i}")}))
        .collect();
    let big = json!({"importedWindowsAutopilotDeviceIdentities": many});
    let env_big = env_with(hangar_api::ApiConfig::default()).await;
    let r = env_big
        .post_json(&format!("{IMPORTED}/import"), &env_big.a.admin, &big)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 1000"),
        "{}",
        r.text
    );
    // 404: unknown device, unknown path, v1.0 settings.
    let r = env
        .get(&format!("{DEVICES}/{}", uuid::Uuid::new_v4()), t)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(graph_error(&r), "ResourceNotFound");
    let r = env.get("/v1.0/deviceManagement/noSuchThing", t).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    graph_error(&r);
    assert_eq!(
        env.get("/v1.0/deviceManagement/windowsAutopilotSettings", t)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // 405
    let r = env.call(Method::PUT, DEVICES, Some(t), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(graph_error(&r), "MethodNotAllowed");
    // 413
    let huge = vec![b' '; 8192];
    let r = env
        .call(
            Method::POST,
            IMPORTED,
            Some(t),
            Some(("application/json", &huge)),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(graph_error(&r), "RequestEntityTooLarge");
    // 415
    let r = env
        .call(
            Method::POST,
            IMPORTED,
            Some(t),
            Some(("application/xml", b"<x/>")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    graph_error(&r);
    // 409: deleting an enrolled device.
    let tb = &env_big.a.admin;
    let id = one_device(&env_big, "ENROLLED-1").await;
    let managed = managed_device(
        &env_big,
        "PC",
        "Contoso",
        "ENROLLED-1",
        hangar_core::model::DeviceId::parse(&id),
    )
    .await;
    let r = env_big.delete(&format!("{DEVICES}/{id}"), tb).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(graph_error(&r), "Conflict");
    // The managed device is listed, then deleted; then the registration can go.
    let list = env_big
        .get("/beta/deviceManagement/managedDevices", tb)
        .await;
    assert_eq!(list.body["value"][0]["serialNumber"], "ENROLLED-1");
    assert_eq!(list.body["value"][0]["autopilotEnrolled"], true);
    assert_eq!(
        env_big
            .get(
                &format!("/v1.0/deviceManagement/managedDevices/{managed}"),
                env_big.b.admin.as_str()
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env_big
            .delete(
                &format!("/v1.0/deviceManagement/managedDevices/{managed}"),
                tb
            )
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        env_big.delete(&format!("{DEVICES}/{id}"), tb).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        env_big.get(&format!("{DEVICES}/{id}"), tb).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn request_ids_are_returned_and_client_ids_echoed() {
    let env = env().await;
    let r = env.get(DEVICES, &env.a.admin).await;
    let rid = r
        .headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .expect("request-id")
        .to_string();
    assert!(uuid::Uuid::parse_str(&rid).is_ok());
    assert_eq!(
        r.headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(rid.as_str())
    );
    let req = axum::http::Request::builder()
        .uri(format!("{DEVICES}/nope"))
        .header("authorization", format!("Bearer {}", env.a.admin))
        .header("client-request-id", "11111111-2222-3333-4444-555555555555")
        .body(axum::body::Body::empty())
        .expect("request");
    let r = send(&env.app, req).await;
    assert_eq!(
        r.headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(
        r.body["error"]["innerError"]["client-request-id"],
        "11111111-2222-3333-4444-555555555555"
    );
}

#[tokio::test]
async fn sync_runs_then_answers_429_with_the_seconds_left() {
    let env = env().await;
    let url = "/beta/deviceManagement/windowsAutopilotSettings/sync";
    let r = env.call(Method::POST, url, Some(&env.a.admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let s = env
        .get(
            "/beta/deviceManagement/windowsAutopilotSettings",
            &env.a.admin,
        )
        .await;
    assert_eq!(s.body["syncStatus"], "completed");
    assert_eq!(
        s.body["@odata.type"],
        "#microsoft.graph.windowsAutopilotSettings"
    );
    assert_eq!(
        s.body["lastManualSyncTriggerDateTime"],
        "2026-03-01T10:00:00Z"
    );
    env.clock.advance(Duration::from_secs(100));
    let r = env
        .call(
            Method::POST,
            url,
            Some(&env.a.admin),
            Some(("application/json", b"{}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(graph_error(&r), "TooManyRequests");
    assert_eq!(
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("500")
    );
    env.clock.advance(Duration::from_secs(500));
    assert_eq!(
        env.call(Method::POST, url, Some(&env.a.admin), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn delete_devices_reports_each_serial() {
    let env = env().await;
    one_device(&env, "DEL-1").await;
    let r = env
        .post_json(
            "/beta/deviceManagement/windowsAutopilotDeviceIdentities/deleteDevices",
            &env.a.admin,
            &json!({"serialNumbers": ["DEL-1", "NOPE"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.body["value"].as_array().expect("value");
    assert_eq!(v[0]["deletionState"], "accepted");
    assert_eq!(
        v[0]["@odata.type"],
        "microsoft.graph.deletedWindowsAutopilotDeviceState"
    );
    assert_eq!(v[1]["deletionState"], "failed");
    assert_eq!(
        env.get(DEVICES, &env.a.admin).await.body["value"],
        json!([])
    );
    // v1.0 has no deleteDevices.
    let r = env
        .post_json(
            &format!("{DEVICES}/deleteDevices"),
            &env.a.admin,
            &json!({"serialNumbers": ["X"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn paging_2500_devices_follows_next_links_without_duplicates() {
    let env = env_with(hangar_api::ApiConfig {
        public_url: Some("https://hangar.example.com".into()),
        ..Default::default()
    })
    .await;
    for chunk in 0..3 {
        let rows: Vec<Value> = (0..1000)
            .map(|i| chunk * 1000 + i)
            .filter(|n| *n < 2500)
            .map(|n| entry(&format!("PAGE-{n:05}")))
            .collect();
        let r = env
            .post_json(
                &format!("{IMPORTED}/import"),
                &env.a.admin,
                &json!({"importedWindowsAutopilotDeviceIdentities": rows}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // Wait for processing: the device count reaches 2500.
    for _ in 0..1200 {
        let r = env
            .get(&format!("{DEVICES}?$top=1&$count=true"), &env.a.admin)
            .await;
        if r.body["@odata.count"] == 2500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seen = std::collections::HashSet::new();
    let mut url = format!("{DEVICES}?$select=serialNumber,id&$count=true");
    let mut pages = 0;
    loop {
        let r = env.get(&url, &env.a.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["@odata.count"], 2500);
        assert_eq!(r.body["@odata.context"], "https://hangar.example.com/v1.0/$metadata#deviceManagement/windowsAutopilotDeviceIdentities");
        pages += 1;
        let items = r.body["value"].as_array().expect("value");
        assert!(items.len() <= 1000);
        for d in items {
            assert!(d.get("model").is_none(), "$select honoured");
            assert!(
                seen.insert(d["serialNumber"].as_str().unwrap_or_default().to_string()),
                "duplicate {d}"
            );
        }
        match r.body["@odata.nextLink"].as_str() {
            Some(next) => {
                let rest = next
                    .strip_prefix("https://hangar.example.com")
                    .expect("absolute link on the public URL");
                assert!(
                    rest.contains("$select=serialNumber,id") && rest.contains("$count=true"),
                    "{next}"
                );
                url = rest.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 2500);
    // $top pages smaller; filters narrow; $count counts the filter.
    let r = env.get(&format!("{DEVICES}?$top=10&$filter=startswith(serialNumber,'PAGE-001')%20or%20serialNumber%20eq%20'PAGE-02000'&$count=true"), &env.a.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["@odata.count"], 101);
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(10));
    assert!(r.body["@odata.nextLink"]
        .as_str()
        .unwrap_or_default()
        .contains("$top=10"));
    let r = env
        .get(
            &format!("{DEVICES}?$filter=contains(serialNumber,'page-02499')"),
            &env.a.admin,
        )
        .await;
    assert_eq!(
        r.body["value"].as_array().map(Vec::len),
        Some(1),
        "case-insensitive contains"
    );
}

#[tokio::test]
async fn directory_devices_list_get_and_filter_on_physical_ids() {
    use hangar_core::model::{DirectoryDevice, DirectoryDeviceId};
    use hangar_core::store::DirectoryStore;
    let env = env().await;
    let mk = |name: &str, ids: &[&str]| DirectoryDevice {
        id: DirectoryDeviceId::new(),
        tenant_id: env.a.scope.tenant_id(),
        device_id: uuid::Uuid::new_v4().to_string(),
        display_name: name.into(),
        physical_ids: ids.iter().map(|s| s.to_string()).collect(),
        trust_type: "AzureAd".into(),
        account_enabled: true,
        operating_system: "Windows".into(),
        registration: None,
        autopilot_device_id: None,
    };
    let autopilot = mk("PC-1", &["[ZTDId]:1234", "[OrderID]:Sales"]);
    let other = mk("PRINTER", &["[HWID]:h:1"]);
    for d in [&autopilot, &other] {
        env.registry
            .store()
            .insert_directory_device(&env.a.scope, d)
            .await
            .expect("insert");
    }
    let t = &env.a.admin;
    let all = env.get("/v1.0/devices?$count=true", t).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["@odata.count"], 2);
    assert!(all.body["@odata.context"]
        .as_str()
        .unwrap_or_default()
        .ends_with("/v1.0/$metadata#devices"));
    let r = env
        .get(
            "/v1.0/devices?$filter=physicalIds/any(p:startswith(p,'[ztdid]'))",
            t,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.body["value"].as_array().expect("value");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["displayName"], "PC-1");
    assert_eq!(v[0]["registrationDateTime"], "0001-01-01T00:00:00Z");
    let r = env
        .get(
            "/v1.0/devices?$filter=physicalIds/any(x:x%20eq%20'[OrderID]:Sales')",
            t,
        )
        .await;
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(1));
    let r = env
        .get("/v1.0/devices?$filter=displayName%20eq%20'PC-1'", t)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let one = env.get(&format!("/v1.0/devices/{}", autopilot.id), t).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["@odata.type"], "#microsoft.graph.device");
    assert_eq!(
        env.get(&format!("/v1.0/devices/{}", autopilot.id), &env.b.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env.get("/v1.0/devices", &env.b.admin).await.body["value"],
        json!([])
    );
    // Directory objects go with their registration, never by hand.
    assert_eq!(
        env.delete(&format!("/v1.0/devices/{}", autopilot.id), t)
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn jobs_queued_without_a_wake_up_are_found_by_the_worker_polling() {
    // As when another process (or a previous run of this one) queued the import.
    let env = env().await;
    let rows = env
        .registry
        .import(&env.a.scope, vec![hangar_store_tests::row("QUEUED-1")])
        .await
        .expect("import");
    let id = rows[0].id.to_string();
    let done = env.wait_rows(&env.a.admin, &[id]).await;
    assert_eq!(
        done[0]["state"]["deviceImportStatus"], "complete",
        "{}",
        done[0]
    );
    // After shutdown the worker stops; rows imported then stay unknown until a worker runs again.
    env.shutdown.send(true).expect("stop");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let later = env
        .registry
        .import(&env.a.scope, vec![hangar_store_tests::row("QUEUED-2")])
        .await
        .expect("import");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = env
        .get(&format!("{IMPORTED}/{}", later[0].id), &env.a.admin)
        .await;
    assert_eq!(r.body["state"]["deviceImportStatus"], "unknown");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    hangar_api::worker::spawn(
        env.registry.clone(),
        env.state.worker_wake.clone(),
        rx,
        hangar_api::worker::WorkerConfig {
            poll: Duration::from_millis(50),
            ..Default::default()
        },
    );
    let done = env
        .wait_rows(&env.a.admin, &[later[0].id.to_string()])
        .await;
    assert_eq!(done[0]["state"]["deviceImportStatus"], "complete");
}

#[tokio::test]
async fn the_powershell_modules_order_identifier_is_the_group_tag() {
    let env = env().await;
    let mut e = entry("ORDER-1");
    e["orderIdentifier"] = json!("Kiosks");
    e["@odata.type"] = json!("#microsoft.graph.importedWindowsAutopilotDeviceIdentity");
    e["state"] = json!({"deviceImportStatus": "pending", "deviceRegistrationId": "", "deviceErrorCode": 0, "deviceErrorName": ""});
    let r = env.post_json(IMPORTED, &env.a.admin, &e).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["groupTag"], "Kiosks");
    let id = r.body["id"].as_str().expect("id").to_string();
    let row = env.wait_rows(&env.a.admin, &[id]).await;
    let reg = row[0]["state"]["deviceRegistrationId"]
        .as_str()
        .expect("registered");
    let d = env.get(&format!("{DEVICES}/{reg}"), &env.a.admin).await;
    assert_eq!(d.body["groupTag"], "Kiosks");
}

#[tokio::test]
async fn a_device_account_password_is_accepted_but_never_served_back() {
    let env = env().await;
    let id = one_device(&env, "HUB-1").await;
    let beta = format!("/beta/deviceManagement/windowsAutopilotDeviceIdentities/{id}");
    let r = env
        .post_json(
            &format!("{beta}/updateDeviceProperties"),
            &env.a.admin,
            &json!({"deviceAccountUpn": "hub@contoso.com", "deviceAccountPassword": "S3cret!pass", "deviceFriendlyName": "Hub 1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let d = env.get(&beta, &env.a.admin).await;
    assert_eq!(d.body["deviceAccountUpn"], "hub@contoso.com");
    assert_eq!(d.body["deviceFriendlyName"], "Hub 1");
    assert_eq!(d.body["deviceAccountPassword"], "");
    let list = env
        .get(
            "/beta/deviceManagement/windowsAutopilotDeviceIdentities",
            &env.a.admin,
        )
        .await;
    assert!(!list.text.contains("S3cret!pass"), "{}", list.text);
}

#[tokio::test]
async fn beta_expands_the_profile_navigations_as_null_and_v1_refuses_them() {
    let env = env().await;
    let id = one_device(&env, "EXPAND-1").await;
    let beta = DEVICES.replace("/v1.0/", "/beta/");
    let token = &env.a.reader;

    let r = env
        .get(&format!("{beta}/{id}?$expand=deploymentProfile($select=id),intendedDeploymentProfile&$select=serialNumber"), token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["serialNumber"], "EXPAND-1");
    assert!(r.body["deploymentProfile"].is_null());
    assert!(r.body["intendedDeploymentProfile"].is_null());
    assert!(r.body.get("deploymentProfile").is_some());
    assert!(
        r.body.get("manufacturer").is_none(),
        "$select still applies"
    );

    let r = env
        .get(&format!("{beta}?$expand=deploymentprofile"), token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["value"].as_array().expect("value");
    assert!(!items.is_empty());
    for item in items {
        assert!(item.get("deploymentProfile").is_some_and(|v| v.is_null()));
        assert!(item.get("groupTag").is_some());
    }

    let r = env
        .get(&format!("{DEVICES}?$expand=deploymentProfile"), token)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("/beta has deploymentProfile"));
    let r = env.get(&format!("{beta}?$expand=owner"), token).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // The navigation itself: no profile is assigned, so 204; an unknown device is 404.
    let r = env
        .get(&format!("{beta}/{id}/deploymentProfile"), token)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = env
        .get(&format!("{beta}/{id}/IntendedDeploymentProfile"), token)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = env
        .get(
            &format!("{beta}/00000000-0000-0000-0000-000000000001/deploymentProfile"),
            token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = env.get(&format!("{beta}/{id}/owner"), token).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Another tenant's device is not found.
    let r = env
        .get(&format!("{beta}/{id}/deploymentProfile"), &env.b.reader)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn managed_devices_take_a_filter_on_their_string_properties() {
    let env = env().await;
    for (name, maker, serial) in [
        ("DESKTOP-A1", "Contoso", "MD-1"),
        ("desktop-b2", "Fabrikam", "MD-2"),
        ("LAPTOP-C3", "Contoso", "MD-3"),
    ] {
        managed_device(&env, name, maker, serial, None).await;
    }
    let set = "/v1.0/deviceManagement/managedDevices";
    let r = env
        .get(
            &format!("{set}?$filter=startswith(deviceName,'desktop')&$count=true"),
            &env.a.reader,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(serials(&r), ["MD-1", "MD-2"]);
    assert_eq!(r.body["@odata.count"], 2);
    let r = env
        .get(
            &format!(
                "{set}?$filter=manufacturer%20eq%20'contoso'%20and%20contains(deviceName,'LAP')"
            ),
            &env.a.reader,
        )
        .await;
    assert_eq!(serials(&r), ["MD-3"]);
    let r = env
        .get(
            &format!("{set}?$filter=osVersion%20eq%20'x'"),
            &env.a.reader,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Another tenant's filter sees none of them.
    let r = env
        .get(
            &format!("{set}?$filter=startswith(deviceName,'desktop')"),
            &env.b.reader,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(serials(&r).is_empty());
}

#[tokio::test]
async fn imported_rows_take_a_filter_on_their_string_properties() {
    let env = env().await;
    let mut rows = vec![entry("IMP-A1"), entry("IMP-A2"), entry("OTHER-3")];
    rows[1]["groupTag"] = json!("Kiosk");
    env.import_and_wait(&env.a.admin, &rows).await;
    let r = env
        .get(
            &format!("{IMPORTED}?$filter=startswith(serialNumber,'imp-')&$count=true&$top=1"),
            &env.a.reader,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["@odata.count"], 2);
    assert_eq!(serials(&r).len(), 1, "$top=1 pages the filtered rows");
    let next = r.body["@odata.nextLink"].as_str().expect("next link");
    assert!(next.contains("filter"), "{next}");
    let r = env
        .get(
            &format!(
                "{IMPORTED}?$filter=groupTag%20eq%20'kiosk'%20or%20contains(serialNumber,'THER')"
            ),
            &env.a.reader,
        )
        .await;
    assert_eq!(serials(&r), ["IMP-A2", "OTHER-3"]);
    let r = env
        .get(
            &format!("{IMPORTED}?$filter=state%20eq%20'x'"),
            &env.a.reader,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = env
        .get(
            &format!("{IMPORTED}?$filter=startswith(serialNumber,'imp-')"),
            &env.b.reader,
        )
        .await;
    assert!(
        serials(&r).is_empty(),
        "another tenant's rows stay invisible"
    );
}

/// The ids of a collection's page, in the order served.
fn ids(r: &Resp) -> Vec<String> {
    r.body["value"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The path and query of a next link on the public URL.
fn next_of(r: &Resp) -> Option<String> {
    r.body["@odata.nextLink"].as_str().map(|next| {
        next.strip_prefix("https://hangar.example.com")
            .unwrap_or_else(|| panic!("next link not absolute on the public URL: {next}"))
            .to_string()
    })
}

#[tokio::test]
async fn top_above_1000_is_capped_to_a_page_of_1000_with_a_next_link() {
    let env = env_with(hangar_api::ApiConfig {
        public_url: Some("https://hangar.example.com".into()),
        ..Default::default()
    })
    .await;
    env.seed_devices(&env.a.scope, "CAP", 1003).await;
    let t = &env.a.reader;
    let r = env.get(&format!("{DEVICES}?$top=5000"), t).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let first = ids(&r);
    assert_eq!(first.len(), 1000);
    let link = r.body["@odata.nextLink"].as_str().expect("next link");
    assert!(
        link.starts_with(
            "https://hangar.example.com/v1.0/deviceManagement/windowsAutopilotDeviceIdentities?"
        ),
        "{link}"
    );
    assert!(
        link.contains("$top=5000") && link.contains("$skiptoken="),
        "{link}"
    );
    let r = env.get(&next_of(&r).expect("next"), t).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rest = ids(&r);
    assert_eq!(rest.len(), 3);
    assert!(r.body.get("@odata.nextLink").is_none(), "{}", r.text);
    let mut all: Vec<String> = first.into_iter().chain(rest).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 1003);
}

#[tokio::test]
async fn skip_takes_small_offsets_on_the_first_page_and_refuses_large_ones() {
    let env = env_with(hangar_api::ApiConfig {
        public_url: Some("https://hangar.example.com".into()),
        ..Default::default()
    })
    .await;
    env.seed_devices(&env.a.scope, "SKIP", 1003).await;
    let t = &env.a.reader;
    let mut order = ids(&env.get(DEVICES, t).await);
    let next = next_of(&env.get(DEVICES, t).await).expect("second page");
    order.extend(ids(&env.get(&next, t).await));
    assert_eq!(order.len(), 1003);

    // $skip=3&$top=2: the 4th and 5th; the next link drops $skip and goes on from the 6th.
    let r = env.get(&format!("{DEVICES}?$skip=3&$top=2"), t).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), order[3..5]);
    let next = next_of(&r).expect("next link");
    assert!(!next.contains("skip=") && next.contains("$top=2"), "{next}");
    assert_eq!(ids(&env.get(&next, t).await), order[5..7]);
    // The largest offset allowed, and a filter with it.
    let r = env.get(&format!("{DEVICES}?$skip=999"), t).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), order[999..1000]);
    assert_eq!(
        ids(&env.get(&next_of(&r).expect("next"), t).await),
        order[1000..]
    );
    let r = env
        .get(
            &format!("{DEVICES}?$filter=startswith(serialNumber,'SKIP-0000')&$skip=8&$count=true"),
            t,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["@odata.count"], 10, "$count ignores $skip");
    assert_eq!(ids(&r).len(), 2);
    // Imported rows take $skip too.
    let rows = ids(&env.get(&format!("{IMPORTED}?$top=5"), t).await);
    let r = env.get(&format!("{IMPORTED}?$top=2&$skip=2"), t).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), rows[2..4]);
    // Large offsets are refused with a clear message: follow @odata.nextLink instead.
    for url in [DEVICES, IMPORTED] {
        let r = env.get(&format!("{url}?$skip=1000"), t).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(graph_error(&r), "BadRequest");
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("$skip") && message.contains("@odata.nextLink"),
            "{message}"
        );
    }
    for bad in ["-1", "abc"] {
        let r = env.get(&format!("{DEVICES}?$skip={bad}"), t).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
}

/// A managed device of tenant A, stored as enrollment would, for the registration `autopilot`.
async fn managed_device(
    env: &Env,
    name: &str,
    manufacturer: &str,
    serial: &str,
    autopilot: Option<hangar_core::model::DeviceId>,
) -> hangar_core::model::ManagedDeviceId {
    use hangar_core::model::{ManagedDevice, ManagedDeviceId};
    use hangar_core::store::ManagedDeviceStore;
    let m = ManagedDevice {
        id: ManagedDeviceId::new(),
        tenant_id: env.a.scope.tenant_id(),
        device_name: name.into(),
        serial_number: serial.into(),
        manufacturer: manufacturer.into(),
        model: "Surface 9".into(),
        user_principal_name: String::new(),
        azure_ad_device_id: String::new(),
        enrolled: None,
        last_sync: None,
        operating_system: "Windows".into(),
        management_state: "managed".into(),
        autopilot_enrolled: true,
        enrolled_by_user_id: String::new(),
        autopilot_device_id: autopilot,
    };
    env.registry
        .store()
        .insert_managed_device(&env.a.scope, &m)
        .await
        .expect("managed device");
    m.id
}

#[tokio::test]
async fn a_sync_already_running_is_a_409() {
    use hangar_core::store::SyncStore;
    let env = env().await;
    // A sync begun (by this or another process) and not finished.
    let now = env.registry.now();
    let started = env
        .registry
        .store()
        .begin_automatic_sync(&env.a.scope, now, now, now - Duration::from_secs(3600))
        .await
        .expect("begin");
    assert!(started);
    let settings = "/beta/deviceManagement/windowsAutopilotSettings";
    assert_eq!(
        env.get(settings, &env.a.reader).await.body["syncStatus"],
        "inProgress"
    );
    let r = env
        .call(
            Method::POST,
            &format!("{settings}/sync"),
            Some(&env.a.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(graph_error(&r), "Conflict");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("in progress"),
        "{}",
        r.text
    );
    // Another tenant syncs meanwhile.
    let r = env
        .call(
            Method::POST,
            &format!("{settings}/sync"),
            Some(&env.b.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn malformed_keys_are_400_on_every_keyed_resource() {
    let env = env().await;
    let t = &env.a.admin;
    let managed = "/v1.0/deviceManagement/managedDevices";
    for (method, url) in [
        (Method::GET, format!("{DEVICES}/not-a-guid")),
        (Method::GET, format!("{IMPORTED}/not-a-guid")),
        (Method::DELETE, format!("{IMPORTED}/not-a-guid")),
        (Method::GET, "/v1.0/devices/not-a-guid".to_string()),
        (Method::GET, format!("{managed}/not-a-guid")),
        (Method::DELETE, format!("{managed}/not-a-guid")),
        (
            Method::GET,
            IMPORTED.replace("/v1.0/", "/beta/") + "/not-a-guid",
        ),
    ] {
        let r = env.call(method.clone(), &url, Some(t), None).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{method} {url}: {}",
            r.text
        );
        assert_eq!(graph_error(&r), "BadRequest", "{method} {url}");
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("'not-a-guid'") && message.contains("GUID"),
            "{method} {url}: {message}"
        );
    }
}

#[tokio::test]
async fn readers_may_not_import_delete_devices_or_delete_rows_and_managed_devices() {
    let env = env().await;
    let reader = &env.a.reader;
    one_device(&env, "RO-1").await;
    let row = env.post_json(IMPORTED, &env.a.admin, &entry("RO-2")).await;
    let row_id = row.body["id"].as_str().expect("id").to_string();
    env.wait_rows(&env.a.admin, std::slice::from_ref(&row_id))
        .await;
    let managed_id = managed_device(&env, "PC-RO-3", "Contoso", "RO-3", None).await;
    let managed = format!("/v1.0/deviceManagement/managedDevices/{managed_id}");
    let attempts = [
        env.post_json(
            &format!("{IMPORTED}/import"),
            reader,
            &json!({"importedWindowsAutopilotDeviceIdentities": [entry("RO-4")]}),
        )
        .await,
        env.post_json(
            "/beta/deviceManagement/windowsAutopilotDeviceIdentities/deleteDevices",
            reader,
            &json!({"serialNumbers": ["RO-1"]}),
        )
        .await,
        env.delete(&format!("{IMPORTED}/{row_id}"), reader).await,
        env.delete(&managed, reader).await,
    ];
    for r in attempts {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        assert_eq!(graph_error(&r), "Forbidden");
    }
    // Nothing changed.
    assert_eq!(serials(&env.get(DEVICES, reader).await), ["RO-1", "RO-2"]);
    assert_eq!(serials(&env.get(IMPORTED, reader).await), ["RO-1", "RO-2"]);
    assert_eq!(env.get(&managed, reader).await.status, StatusCode::OK);
}
