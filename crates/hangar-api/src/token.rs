//! `POST /{tenant}/oauth2/v2.0/token`: the OAuth2 client-credentials grant for app registrations.
//! Errors use the OAuth2 form (`{"error","error_description"}`), not Graph's.

use crate::auth::{check_not_blocked, client_addr};
use crate::{ApiStore, AppState};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (
        status,
        Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

#[utoipa::path(
    post,
    path = "/{tenant}/oauth2/v2.0/token",
    params(("tenant" = String, Path, description = "Tenant id or primary domain")),
    responses((status = 200, description = "{token_type, expires_in, access_token}"), (status = 400, description = "OAuth2 error: invalid_request, unsupported_grant_type, invalid_scope"), (status = 401, description = "OAuth2 error: invalid_client"), (status = 429, description = "Too many failed attempts")),
    tag = "auth"
)]
pub async fn token<S: ApiStore>(
    State(st): State<AppState<S>>,
    Path(tenant): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let addr = client_addr(&parts);
    if let Err(e) = check_not_blocked(&st, addr) {
        let mut res = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            &e.message,
        );
        if let Some(after) = e.retry_after {
            if let Ok(v) = HeaderValue::from_str(&after.as_secs().max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        return res;
    }
    let bytes = match axum::body::to_bytes(body, st.config.body_limit).await {
        Ok(b) => b,
        Err(_) => {
            return oauth_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the request body is too large",
            )
        }
    };
    let form: HashMap<String, String> =
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes) {
            Ok(pairs) => pairs.into_iter().collect(),
            Err(_) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the body must be application/x-www-form-urlencoded",
                )
            }
        };
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant_type '{other}' is not supported; use client_credentials"),
            )
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required (client_credentials)",
            )
        }
    }
    if let Some(scope) = field("scope") {
        if !scope.split_whitespace().all(|s| s.ends_with("/.default")) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "the scope must be https://graph.microsoft.com/.default for the client credentials grant",
            );
        }
    }
    let (Some(client_id), Some(secret)) = (field("client_id"), field("client_secret")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required",
        );
    };
    match st
        .registry
        .client_credentials(&tenant, client_id, secret, st.config.app_token_lifetime)
        .await
    {
        Ok(Some(issued)) => {
            let expires_in = st.config.app_token_lifetime.as_secs().saturating_sub(1);
            let mut res = Json(serde_json::json!({
                "token_type": "Bearer",
                "expires_in": expires_in,
                "ext_expires_in": expires_in,
                "access_token": issued.token,
            }))
            .into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Ok(None) => {
            st.auth_limiter.record_failure(addr);
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "the client id, secret or tenant is not valid",
            )
        }
        Err(e) => {
            tracing::error!(request_id = %crate::request_id::current(), error = %e, "token endpoint failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the token could not be issued; retry",
            )
        }
    }
}
