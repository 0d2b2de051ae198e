//! The API on PostgreSQL, when `HANGAR_TEST_POSTGRES_URL` is set: tokens, app credentials and the
//! import polling contract through the credential tables of the PostgreSQL backend.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hangar_core::credentials::Role;
use hangar_store_postgres::PostgresStore;
use serde_json::json;

async fn pg_env() -> Option<Env<PostgresStore>> {
    let url = hangar_store_tests::fresh_postgres_url().await?;
    let store = PostgresStore::connect(&url, 8)
        .await
        .expect("connect test database");
    Some(env_on(store, hangar_api::ApiConfig::default()).await)
}

#[tokio::test]
async fn tokens_apps_and_imports_work_on_postgres() {
    let Some(env) = pg_env().await else { return };
    // Reader and admin tokens from the store; a reader may not write.
    assert_eq!(
        env.get(
            "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities",
            &env.a.reader
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        env.post_json(
            "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities",
            &env.a.reader,
            &entry("PG-0")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    // The polling contract.
    let rows = env
        .import_and_wait(&env.a.admin, &[entry("PG-1"), entry("PG-1")])
        .await;
    assert_eq!(rows[0]["state"]["deviceImportStatus"], "complete");
    assert_eq!(rows[1]["state"]["deviceErrorName"], "ZtdDeviceDuplicated");
    let reg = rows[0]["state"]["deviceRegistrationId"]
        .as_str()
        .expect("id");
    let d = env
        .get(
            &format!("/v1.0/deviceManagement/windowsAutopilotDeviceIdentities/{reg}"),
            &env.a.admin,
        )
        .await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(
        env.get(
            &format!("/v1.0/deviceManagement/windowsAutopilotDeviceIdentities/{reg}"),
            &env.b.admin
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Revocation and app secrets.
    let t = env
        .registry
        .issue_token(&env.a.scope, Role::Admin, "pg", None)
        .await
        .expect("token");
    env.registry
        .revoke_token(&t.record.id)
        .await
        .expect("revoke");
    assert_eq!(
        env.get(
            "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities",
            &t.token
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    let app = env
        .registry
        .create_app(&env.b.scope, "pg-app", Role::Reader)
        .await
        .expect("app");
    let issued = env
        .registry
        .client_credentials(
            "fabrikam.onmicrosoft.com",
            &app.app.client_id,
            &app.client_secret,
            std::time::Duration::from_secs(3600),
        )
        .await
        .expect("grant")
        .expect("valid secret");
    let r = env
        .call(
            Method::GET,
            "/beta/deviceManagement/windowsAutopilotSettings",
            Some(&issued.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["id"], json!(env.b.scope.tenant_id().to_string()));
    assert!(env
        .registry
        .client_credentials(
            "fabrikam.onmicrosoft.com",
            &app.app.client_id,
            "wrong",
            std::time::Duration::from_secs(60)
        )
        .await
        .expect("grant")
        .is_none());
}

#[tokio::test]
async fn a_revoked_app_is_refused_on_postgres() {
    let Some(env) = pg_env().await else { return };
    a_revoked_app_and_its_tokens_are_refused(&env).await;
}
