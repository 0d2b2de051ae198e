//! The health probes: `/healthz` (the process) and `/readyz` (the database).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;

async fn probe(env: &Env, path: &str) -> Resp {
    let req = Request::builder()
        .uri(path)
        .body(Body::empty())
        .expect("request");
    send(&env.app, req).await
}

#[tokio::test]
async fn readyz_answers_503_once_the_database_is_unavailable_and_healthz_stays_200() {
    let env = env().await;
    let r = probe(&env, "/readyz").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ready");

    // The store's connections are closed, as when the database went away.
    env.registry.store().close().await;
    let r = probe(&env, "/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["status"], "database unreachable", "{}", r.text);
    assert!(r.headers.get("request-id").is_some());
    // The process itself is alive.
    let r = probe(&env, "/healthz").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ok");
}
