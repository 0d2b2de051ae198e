//! The outermost middleware: request ids, the path leniency (collapsed `/`), a log line per
//! request, and the rendering of every 4xx/5xx under `/v1.0` and `/beta` as Graph error JSON.
//!
//! The log line is written after the response ([`crate::logging::request`]), not kept as a span
//! around the request: a span costs its fields' formatting and an enter and exit on every poll,
//! about a tenth of the server's CPU per GET by id. The few events logged while a request runs
//! (storage failures, panics) name its request id themselves, through [`current`].

use crate::error::{ApiError, GraphErrorBody};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The ids of the current request.
struct RequestIds<'a> {
    request_id: &'a str,
    client_request_id: &'a str,
}

/// `/v1.0//deviceManagement/x/` → `/v1.0/deviceManagement/x`.
pub fn collapse_path(path: &str) -> Option<String> {
    let needs = path.contains("//") || (path.len() > 1 && path.ends_with('/'));
    if !needs {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// Collapses repeated `/` everywhere and lower-cases Graph paths (whose segments Graph matches
/// case-insensitively: `UpdateDeviceProperties`, `deviceManagement`).
fn rewrite_uri(uri: &Uri) -> Option<Uri> {
    let collapsed = collapse_path(uri.path());
    let path = collapsed.as_deref().unwrap_or(uri.path());
    let path = if is_graph_path(path) && path.bytes().any(|b| b.is_ascii_uppercase()) {
        path.to_ascii_lowercase()
    } else if collapsed.is_some() {
        path.to_string()
    } else {
        return None;
    };
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    Uri::from_parts(parts).ok()
}

fn is_graph_path(path: &str) -> bool {
    ["/v1.0", "/beta"].iter().any(|root| {
        path.get(..root.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(root))
            && matches!(path.as_bytes().get(root.len()), None | Some(b'/'))
    })
}

tokio::task_local! {
    static CURRENT: uuid::Uuid;
}

/// The request id of the request being handled ("" outside of one), for log events.
pub fn current() -> String {
    CURRENT
        .try_with(|id| id.hyphenated().to_string())
        .unwrap_or_default()
}

/// Serves `req` with `routes` (see [`crate::App`]).
pub(crate) async fn middleware<S>(mut req: Request, routes: S) -> Response
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>,
{
    let started = std::time::Instant::now();
    let id = uuid::Uuid::new_v4();
    let mut text = uuid::Uuid::encode_buffer();
    let request_id = &*id.hyphenated().encode_lower(&mut text);
    let client_request_id = req
        .headers()
        .get(&CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_string);
    if let Some(uri) = rewrite_uri(req.uri()) {
        *req.uri_mut() = uri;
    }
    let path = req.uri().path().to_string();
    let graph = is_graph_path(&path);
    let method = req.method().clone();
    // A panicking handler answers 500 (rendered below) instead of closing the connection.
    let served = std::panic::AssertUnwindSafe(tower::ServiceExt::oneshot(routes, req));
    let mut res = CURRENT
        .scope(id, async move {
            match futures::FutureExt::catch_unwind(served).await {
                Ok(Ok(res)) => res,
                Ok(Err(never)) => match never {},
                Err(panic) => panic_response(panic),
            }
        })
        .await;
    let status = res.status();
    crate::logging::request(
        request_id,
        method.as_str(),
        &path,
        status.as_u16(),
        started.elapsed().as_micros() as u64,
    );

    let ids = RequestIds {
        request_id,
        client_request_id: client_request_id.as_deref().unwrap_or(request_id),
    };
    if (status.is_client_error() || status.is_server_error()) && graph {
        res = render_graph_error(res, &ids);
    }
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(ids.request_id) {
        headers.insert(REQUEST_ID, v);
    }
    if let Ok(v) = HeaderValue::from_str(ids.client_request_id) {
        headers.insert(CLIENT_REQUEST_ID, v);
    }
    res
}

fn render_graph_error(res: Response, ids: &RequestIds) -> Response {
    let status = res.status();
    let (mut parts, _) = res.into_parts();
    let body = parts
        .extensions
        .remove::<GraphErrorBody>()
        .unwrap_or_else(|| GraphErrorBody {
            code: ApiError::default_code(status).to_string(),
            message: ApiError::default_message(status).to_string(),
        });
    let date = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let json = serde_json::json!({
        "error": {
            "code": body.code,
            "message": body.message,
            "innerError": {
                "date": date,
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        }
    });
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json.to_string()))
}

/// The answer to a panic inside a handler: a plain 500, rendered as Graph JSON by the middleware
/// (the panic message goes to the log only).
fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(request_id = %current(), panic = detail, "a handler panicked");
    let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    res.extensions_mut().insert(GraphErrorBody {
        code: "InternalServerError".into(),
        message: ApiError::default_message(StatusCode::INTERNAL_SERVER_ERROR).into(),
    });
    res
}

#[cfg(test)]
mod tests {
    use super::{collapse_path, current, is_graph_path, REQUEST_ID};
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;

    /// What a handler logs names the request it serves: the id in the response's header.
    #[tokio::test]
    async fn events_inside_a_request_know_its_request_id() {
        let routes = axum::Router::new().route("/id", axum::routing::get(|| async { current() }));
        let mut seen = Vec::new();
        for _ in 0..2 {
            let req = Request::get("/id").body(Body::empty()).expect("request");
            let res = super::middleware(req, routes.clone()).await;
            let header = res.headers()[&REQUEST_ID]
                .to_str()
                .expect("header")
                .to_string();
            let body = res.into_body().collect().await.expect("body").to_bytes();
            assert_eq!(body, header.as_bytes());
            seen.push(header);
        }
        assert_ne!(seen[0], seen[1]);
        assert_eq!(current(), "", "outside of a request");
    }

    #[test]
    fn graph_paths_ignore_case() {
        for p in ["/v1.0", "/V1.0/deviceManagement", "/beta", "/BETA/x"] {
            assert!(is_graph_path(p), "{p}");
        }
        for p in ["/", "/v1.01", "/betax/y", "/healthz", "/v1", ""] {
            assert!(!is_graph_path(p), "{p}");
        }
    }

    #[test]
    fn collapses_slashes() {
        assert_eq!(
            collapse_path("/v1.0//deviceManagement///x/").as_deref(),
            Some("/v1.0/deviceManagement/x")
        );
        assert_eq!(collapse_path("/v1.0/deviceManagement"), None);
        assert_eq!(collapse_path("//").as_deref(), Some("/"));
    }
}
