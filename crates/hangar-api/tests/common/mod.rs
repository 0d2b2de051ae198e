//! A fresh Hangar per test: SQLite in a temp dir, a manual clock, two tenants with admin and
//! reader tokens, the background worker running.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use hangar_api::{ApiConfig, ApiStore, App, AppState};
use hangar_core::authz::{authorize, Principal, TenantScope};
use hangar_core::credentials::Role;
use hangar_core::service::{ManualClock, Registry, RegistryConfig};
use hangar_store_sqlite::SqliteStore;
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

pub struct Tenant {
    pub scope: TenantScope,
    pub admin: String,
    pub reader: String,
}

pub struct Env<S = SqliteStore> {
    pub app: App,
    pub state: AppState<S>,
    pub registry: Registry<S>,
    pub clock: Arc<ManualClock>,
    pub a: Tenant,
    pub b: Tenant,
    pub shutdown: tokio::sync::watch::Sender<bool>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn env() -> Env {
    env_with(ApiConfig::default()).await
}

pub async fn env_with(config: ApiConfig) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("hangar.db"))
        .await
        .expect("open store");
    let mut env = env_on(store, config).await;
    env._dir = Some(dir);
    env
}

/// The same world on any store (the PostgreSQL tests use this).
pub async fn env_on<S: ApiStore>(store: S, config: ApiConfig) -> Env<S> {
    let clock = Arc::new(ManualClock::new(hangar_store_tests::start()));
    let registry = Registry::new(store)
        .with_config(RegistryConfig::default())
        .with_clock(clock.clone());
    let a = tenant(&registry, "contoso").await;
    let b = tenant(&registry, "fabrikam").await;
    let state = AppState::new(registry.clone(), config);
    let (tx, rx) = tokio::sync::watch::channel(false);
    hangar_api::worker::spawn(
        registry.clone(),
        state.worker_wake.clone(),
        rx,
        hangar_api::worker::WorkerConfig {
            poll: Duration::from_millis(50),
            ..Default::default()
        },
    );
    Env {
        app: hangar_api::app(state.clone()),
        state,
        registry,
        clock,
        a,
        b,
        shutdown: tx,
        _dir: None,
    }
}

async fn tenant<S: ApiStore>(r: &Registry<S>, name: &str) -> Tenant {
    let t = r
        .create_tenant(
            &Principal::system("test"),
            name,
            &format!("{name}.onmicrosoft.com"),
        )
        .await
        .expect("tenant");
    let scope = authorize(&Principal::system("test"), t.id).expect("scope");
    let admin = r
        .issue_token(&scope, Role::Admin, "test", None)
        .await
        .expect("token")
        .token;
    let reader = r
        .issue_token(&scope, Role::Reader, "test", None)
        .await
        .expect("token")
        .token;
    Tenant {
        scope,
        admin,
        reader,
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl<S: ApiStore> Env<S> {
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some((ct, bytes)) => {
                if !ct.is_empty() {
                    req = req.header(header::CONTENT_TYPE, ct);
                }
                Body::from(bytes.to_vec())
            }
            None => Body::empty(),
        };
        send(&self.app, req.body(body).expect("request")).await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Resp {
        self.call(Method::GET, uri, Some(token), None).await
    }

    /// A GET as sent from the client address `from` (what the server's connect info carries).
    pub async fn get_from(&self, from: SocketAddr, uri: &str, token: &str) -> Resp {
        let req = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        send(&self.app, from_addr(req, from)).await
    }

    /// The client-credentials grant at the token endpoint of `tenant` (an id or a domain).
    pub async fn client_credentials(&self, tenant: &str, client_id: &str, secret: &str) -> Resp {
        send(&self.app, token_request(tenant, client_id, secret)).await
    }

    /// [`Env::client_credentials`] from the client address `from`.
    pub async fn client_credentials_from(
        &self,
        from: SocketAddr,
        tenant: &str,
        client_id: &str,
        secret: &str,
    ) -> Resp {
        let req = token_request(tenant, client_id, secret);
        send(&self.app, from_addr(req, from)).await
    }

    /// Registers `n` synthetic devices (`{prefix}-00000`, ...) through the registry, processing
    /// the import here or in the background worker, whichever claims it.
    pub async fn seed_devices(&self, scope: &TenantScope, prefix: &str, n: usize) {
        let rows = (0..n)
            .map(|i| hangar_store_tests::row(&format!("{prefix}-{i:05}")))
            .collect();
        self.registry.import(scope, rows).await.expect("import");
        for _ in 0..1200 {
            self.registry.run_jobs("seed").await.expect("jobs");
            let listed = self
                .registry
                .store()
                .count_devices(scope, true, None)
                .await
                .expect("count");
            if listed >= n as u64 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the seeded devices were not all registered");
    }

    pub async fn post_json(&self, uri: &str, token: &str, json: &Value) -> Resp {
        self.call(
            Method::POST,
            uri,
            Some(token),
            Some(("application/json", json.to_string().as_bytes())),
        )
        .await
    }

    pub async fn delete(&self, uri: &str, token: &str) -> Resp {
        self.call(Method::DELETE, uri, Some(token), None).await
    }

    /// Imports rows through the API and waits until none is `unknown` (the polling contract).
    pub async fn import_and_wait(&self, token: &str, rows: &[Value]) -> Vec<Value> {
        let r = self
            .post_json(
                "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities/import",
                token,
                &serde_json::json!({"importedWindowsAutopilotDeviceIdentities": rows}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let ids: Vec<String> = r.body["value"]
            .as_array()
            .expect("value")
            .iter()
            .map(|v| v["id"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(ids.len(), rows.len());
        self.wait_rows(token, &ids).await
    }

    pub async fn wait_rows(&self, token: &str, ids: &[String]) -> Vec<Value> {
        for _ in 0..600 {
            let mut out = Vec::new();
            let mut pending = false;
            for id in ids {
                let r = self
                    .get(
                        &format!(
                            "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities/{id}"
                        ),
                        token,
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.text);
                pending |= r.body["state"]["deviceImportStatus"] == "unknown";
                out.push(r.body);
            }
            if !pending {
                return out;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("imported rows stayed unknown");
    }
}

fn token_request(tenant: &str, client_id: &str, secret: &str) -> Request<Body> {
    let form = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
    ])
    .expect("form");
    Request::builder()
        .method(Method::POST)
        .uri(format!("/{tenant}/oauth2/v2.0/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request")
}

/// The request as a server accepting a connection from `addr` hands it to the app: with the
/// connect info that `into_make_service_with_connect_info` adds.
pub fn from_addr(mut req: Request<Body>, addr: SocketAddr) -> Request<Body> {
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}

pub fn addr(text: &str) -> SocketAddr {
    text.parse().expect("socket address")
}

pub async fn send<A>(app: &A, req: Request<Body>) -> Resp
where
    A: tower::Service<
            Request<Body>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone,
{
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
    }
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An import entry for a synthetic device.
pub fn entry(serial: &str) -> Value {
    serde_json::json!({"serialNumber": serial, "hardwareIdentifier": b64(&hangar_store_tests::hash_of(serial))})
}

/// Asserts the Graph error shape and returns the code.
pub fn graph_error(r: &Resp) -> String {
    let e = &r.body["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message: {}",
        r.text
    );
    let inner = &e["innerError"];
    assert!(
        inner["date"].as_str().is_some_and(|d| d.ends_with('Z')),
        "{}",
        r.text
    );
    let rid = inner["request-id"].as_str().unwrap_or_default();
    assert_eq!(
        r.headers.get("request-id").and_then(|v| v.to_str().ok()),
        Some(rid)
    );
    assert!(inner["client-request-id"].as_str().is_some(), "{}", r.text);
    e["code"].as_str().unwrap_or_default().to_string()
}

/// Revoking an app through the registry the server runs on: the tokens it already holds get 401 at
/// once, the token endpoint refuses it, and another app of the tenant keeps working.
pub async fn a_revoked_app_and_its_tokens_are_refused<S: ApiStore>(env: &Env<S>) {
    const DEVICES: &str = "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities";
    let domain = "contoso.onmicrosoft.com";
    let app = env
        .registry
        .create_app(&env.a.scope, "sync", Role::Admin)
        .await
        .expect("app");
    let other = env
        .registry
        .create_app(&env.a.scope, "other", Role::Reader)
        .await
        .expect("app");
    let grant = |app: &hangar_core::credentials::CreatedApp| {
        let (id, secret) = (app.app.client_id.clone(), app.client_secret.clone());
        async move { env.client_credentials(domain, &id, &secret).await }
    };
    let r = grant(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.body["access_token"].as_str().expect("token").to_string();
    let r = grant(&other).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let other_token = r.body["access_token"].as_str().expect("token").to_string();
    // Both work (and the server now holds both in its token cache).
    assert_eq!(env.get(DEVICES, &token).await.status, StatusCode::OK);
    assert_eq!(env.get(DEVICES, &other_token).await.status, StatusCode::OK);

    let (_, revoked) = env
        .registry
        .revoke_app(&app.app.client_id)
        .await
        .expect("revoke app");
    assert_eq!(revoked, 1);

    let r = env.get(DEVICES, &token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(
        r.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_eq!(graph_error(&r), "InvalidAuthenticationToken");
    let r = grant(&app).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_client");
    assert!(!r.text.contains("access_token"), "{}", r.text);

    assert_eq!(env.get(DEVICES, &other_token).await.status, StatusCode::OK);
    assert_eq!(grant(&other).await.status, StatusCode::OK);
}
