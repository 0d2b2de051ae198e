//! Hangar's HTTP API: the Microsoft-Graph-compatible Autopilot resources under `/v1.0` and
//! `/beta`, bearer-token authentication, the OAuth2 token endpoint for app registrations, health
//! probes and the OpenAPI document. Handlers call the registry's services; they never touch SQL.

pub mod auth;
pub mod body;
pub mod error;
pub mod graph;
pub mod logging;
pub mod odata;
pub mod openapi;
pub mod request_id;
pub mod token;
pub mod worker;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use hangar_core::credentials::CredentialStore;
use hangar_core::service::Registry;
use hangar_core::store::Store;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;
use tower::Service;

/// What the API needs of a store: the registry's traits and the credentials.
pub trait ApiStore: Store + CredentialStore {}
impl<T: Store + CredentialStore> ApiStore for T {}

/// The API's limits and settings; every one has a default.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The externally visible root URL (`https://hangar.example.com`), used in `@odata.context`
    /// and `@odata.nextLink`. Without it the request's Host header is used, with `http`.
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes (413 beyond).
    pub body_limit: usize,
    /// Rows per `import` call (and serial numbers per `deleteDevices`).
    pub max_import_rows: usize,
    /// Failed authentications per client address per `failed_auth_window` before 429.
    pub failed_auth_limit: usize,
    pub failed_auth_window: Duration,
    /// Lifetime of tokens from the token endpoint (`expires_in` is one second less).
    pub app_token_lifetime: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            public_url: None,
            body_limit: 16 * 1024 * 1024,
            max_import_rows: 1000,
            failed_auth_limit: 20,
            failed_auth_window: Duration::from_secs(60),
            app_token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// Shared state of the handlers: one allocation, so the clone axum makes for every request (and
/// every `State` extractor) is a single reference count instead of one per field. With two
/// runtime threads serving requests, each count is a cache line passed between the cores.
pub struct AppState<S>(Arc<Shared<S>>);

/// What the handlers share; reached through `AppState`.
pub struct Shared<S> {
    pub registry: Registry<S>,
    pub config: ApiConfig,
    pub auth_limiter: auth::FailedAuthLimiter,
    /// Wakes the job worker when rows were imported.
    pub worker_wake: Arc<Notify>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState(Arc::clone(&self.0))
    }
}

impl<S> std::ops::Deref for AppState<S> {
    type Target = Shared<S>;

    fn deref(&self) -> &Shared<S> {
        &self.0
    }
}

impl<S: ApiStore> AppState<S> {
    pub fn new(registry: Registry<S>, config: ApiConfig) -> AppState<S> {
        let auth_limiter =
            auth::FailedAuthLimiter::new(config.failed_auth_limit, config.failed_auth_window);
        AppState(Arc::new(Shared {
            registry,
            config,
            auth_limiter,
            worker_wake: Arc::new(Notify::new()),
        }))
    }

    pub fn wake_worker(&self) {
        self.worker_wake.notify_one();
    }
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive")), tag = "health")]
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

/// The database is reachable.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready"), (status = 503, description = "Database unreachable")), tag = "health")]
pub async fn readyz<S: ApiStore>(State(st): State<AppState<S>>) -> impl IntoResponse {
    let principal = hangar_core::authz::Principal::system("readyz");
    let ready = match hangar_core::authz::require_system(&principal) {
        Ok(sys) => st.registry.store().list_tenants(&sys).await.is_ok(),
        Err(_) => false,
    };
    if ready {
        (StatusCode::OK, Json(serde_json::json!({"status": "ready"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "database unreachable"})),
        )
    }
}

/// The whole HTTP application: the request-id middleware (request ids, path leniency, panic
/// catching, the log line, Graph error rendering) around the routes.
///
/// A service of its own rather than a `Router` with layers: `Router::layer` wraps every route in
/// another boxed service, and each boxed level costs a clone and a boxed future per request
/// (about 20 of a GET by id's 100 allocations came from the three levels the middleware added).
#[derive(Clone)]
pub struct App {
    routes: Router,
}

impl App {
    /// `routes` behind the request-id middleware.
    pub fn new(routes: Router) -> App {
        App { routes }
    }

    /// What `axum::serve` takes: the app, with each request's client address.
    pub fn with_connect_info(
        self,
    ) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<App, std::net::SocketAddr>
    {
        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info(self)
    }
}

pub fn app<S: ApiStore>(state: AppState<S>) -> App {
    let routes = Router::new()
        // Merged with their version's segment in each path rather than nested: a nested router
        // rewrites every request's URI to strip its prefix (about 3% of a GET by id).
        .merge(graph::routes::<S>(graph::Version::V1))
        .merge(graph::routes::<S>(graph::Version::Beta))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token::<S>))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
        .route("/openapi.json", get(openapi::serve))
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .with_state(state);
    App::new(routes)
}

impl<B> Service<axum::http::Request<B>> for App
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let routes = self.routes.clone();
        Box::pin(
            async move { Ok(request_id::middleware(req.map(axum::body::Body::new), routes).await) },
        )
    }
}
