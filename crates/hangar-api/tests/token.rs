//! The OAuth2 token endpoint in-process, and panics turned into Graph 500s.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use hangar_core::credentials::Role;

async fn token_call(env: &Env, tenant: &str, form: &str) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/{tenant}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .expect("request");
    send(&env.app, req).await
}

#[tokio::test]
async fn client_credentials_issue_working_tokens_and_errors_use_the_oauth2_form() {
    let env = env().await;
    let app = env
        .registry
        .create_app(&env.a.scope, "sync", Role::Admin)
        .await
        .expect("app");
    let form = |secret: &str| {
        format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
            app.app.client_id,
            secret.replace('+', "%2B")
        )
    };
    // By domain and by tenant id.
    for tenant in [
        "contoso.onmicrosoft.com".to_string(),
        env.a.scope.tenant_id().to_string(),
    ] {
        let r = token_call(&env, &tenant, &form(&app.client_secret)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["token_type"], "Bearer");
        assert_eq!(r.body["expires_in"], 3599);
        let token = r.body["access_token"].as_str().expect("token");
        assert_eq!(token.split('.').count(), 3);
        let list = env
            .get(
                "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities",
                token,
            )
            .await;
        assert_eq!(list.status, StatusCode::OK);
    }
    // The wrong tenant, the wrong secret, an unknown client: invalid_client, 401.
    for (tenant, f) in [
        ("fabrikam.onmicrosoft.com", form(&app.client_secret)),
        ("contoso.onmicrosoft.com", form("nope")),
        (
            "contoso.onmicrosoft.com",
            form(&app.client_secret)
                .replace(&app.app.client_id, "00000000-0000-0000-0000-000000000001"),
        ),
    ] {
        let r = token_call(&env, tenant, &f).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_eq!(r.body["error"], "invalid_client");
        assert!(r.body["error_description"].as_str().is_some());
    }
    let r = token_call(
        &env,
        "contoso.onmicrosoft.com",
        &form(&app.client_secret).replace("client_credentials", "password"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"], "unsupported_grant_type");
    let r = token_call(
        &env,
        "contoso.onmicrosoft.com",
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"], "invalid_request");
    let r = token_call(
        &env,
        "contoso.onmicrosoft.com",
        &form(&app.client_secret).replace(".default", "User.Read"),
    )
    .await;
    assert_eq!(r.body["error"], "invalid_scope");
}

#[tokio::test]
async fn failed_client_credentials_count_toward_the_limit_of_their_address() {
    let env = env_with(hangar_api::ApiConfig {
        failed_auth_limit: 3,
        ..Default::default()
    })
    .await;
    let app = env
        .registry
        .create_app(&env.a.scope, "sync", Role::Admin)
        .await
        .expect("app");
    let (id, secret) = (app.app.client_id.as_str(), app.client_secret.as_str());
    let domain = "contoso.onmicrosoft.com";
    let devices = "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities";
    let (guesser, other) = (addr("203.0.113.5:40000"), addr("203.0.113.6:40000"));
    // Two wrong secrets at the token endpoint and one bad bearer token share one count.
    for _ in 0..2 {
        let r = env
            .client_credentials_from(guesser, domain, id, "nope")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_eq!(r.body["error"], "invalid_client");
    }
    let r = env.get_from(guesser, devices, "wrong").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // Now even the right secret is refused, in the OAuth2 form, with Retry-After...
    let r = env
        .client_credentials_from(guesser, domain, id, secret)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.body["error"], "temporarily_unavailable");
    assert!(!r.text.contains("access_token"), "{}", r.text);
    let after: u64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&after), "{after}");
    // ...and so is a valid bearer token from that address.
    let r = env.get_from(guesser, devices, &env.a.admin).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // Wrong secrets alone reach the limit too.
    for _ in 0..3 {
        let r = env.client_credentials_from(other, domain, id, "nope").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    let r = env.client_credentials_from(other, domain, id, secret).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // A third address gets its token.
    let r = env
        .client_credentials_from(addr("[2001:db8::1]:40000"), domain, id, secret)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.body["access_token"].as_str().expect("token");
    assert_eq!(env.get(devices, token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_app_gets_no_tokens_and_its_tokens_get_401() {
    let env = env().await;
    a_revoked_app_and_its_tokens_are_refused(&env).await;
}

#[tokio::test]
async fn a_panicking_handler_becomes_a_graph_500_without_details() {
    let routes = axum::Router::new().route(
        "/v1.0/boom",
        axum::routing::get(|| async {
            let v: Vec<u8> = Vec::new();
            // A deliberate out-of-bounds index.
            #[allow(clippy::indexing_slicing)]
            let b = v[3];
            b.to_string()
        }),
    );
    let app = hangar_api::App::new(routes);
    let r = send(
        &app,
        Request::builder()
            .uri("/v1.0/boom")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(graph_error(&r), "InternalServerError");
    assert!(!r.text.contains("index out of bounds"), "{}", r.text);
}
