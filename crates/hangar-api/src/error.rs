//! Graph error JSON, produced in one place. Handlers return [`ApiError`]; its response carries the
//! code and message as an extension, and the request-id middleware ([`crate::request_id`]) renders
//! the final `{"error":{"code","message","innerError":{...}}}` body with the request's ids. The same
//! middleware turns every other 4xx/5xx under `/v1.0` and `/beta` (routing 404/405, body-limit 413,
//! caught panics) into the same shape.

use crate::request_id::current;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hangar_core::store::StoreError;
use hangar_core::{CoreError, ZtdError};
use std::time::Duration;

/// The code and message of an error response, rendered by the request-id middleware.
#[derive(Debug, Clone)]
pub struct GraphErrorBody {
    pub code: String,
    pub message: String,
}

/// An error answer of the Graph API.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub retry_after: Option<Duration>,
    /// Adds `WWW-Authenticate: Bearer` (401).
    pub challenge: bool,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
            challenge: false,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "ResourceNotFound", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            challenge: true,
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                message,
            )
        }
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    pub fn too_many_requests(message: impl Into<String>, retry_after: Duration) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message)
        }
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "an unexpected error occurred; it was logged",
        )
    }

    /// The Graph code Hangar uses for a status when nothing more specific is known.
    pub fn default_code(status: StatusCode) -> &'static str {
        match status.as_u16() {
            400 => "BadRequest",
            401 => "InvalidAuthenticationToken",
            403 => "Forbidden",
            404 => "ResourceNotFound",
            405 => "MethodNotAllowed",
            409 => "Conflict",
            413 => "RequestEntityTooLarge",
            415 => "UnsupportedMediaType",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            _ if status.is_server_error() => "InternalServerError",
            _ => "BadRequest",
        }
    }

    pub fn default_message(status: StatusCode) -> &'static str {
        match status.as_u16() {
            404 => "the resource was not found",
            405 => "this method is not allowed on this resource",
            413 => "the request body is too large",
            415 => "the request body must be JSON",
            _ if status.is_server_error() => "an unexpected error occurred; it was logged",
            _ => "the request is not valid",
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        match e {
            CoreError::Device { error, message } => {
                let status = match error {
                    ZtdError::ZtdDeviceIsNotRegistered | ZtdError::ZtdDeviceNotFound => {
                        StatusCode::NOT_FOUND
                    }
                    ZtdError::ZtdDeviceAlreadyAssigned
                    | ZtdError::ZtdDeviceAssignedToOtherTenant
                    | ZtdError::ZtdDeviceRegisteredByOtherTenant
                    | ZtdError::ZtdDeviceDuplicated => StatusCode::CONFLICT,
                    ZtdError::StorageError => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::BAD_REQUEST,
                };
                let retry_after =
                    (status == StatusCode::SERVICE_UNAVAILABLE).then(|| Duration::from_secs(5));
                ApiError {
                    retry_after,
                    ..ApiError::new(status, error.name(), message)
                }
            }
            CoreError::NotFound { what } => ApiError::not_found(format!("{what} not found")),
            CoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "Conflict", m),
            CoreError::RateLimited { retry_after } => ApiError::too_many_requests(
                format!(
                    "too many requests: retry after {} seconds",
                    retry_after.as_secs()
                ),
                retry_after,
            ),
            CoreError::Validation(m) => ApiError::bad_request(m),
            CoreError::Forbidden(m) => ApiError::forbidden(m),
            CoreError::Store(StoreError::UniqueViolation(m)) => {
                tracing::warn!(request_id = %current(), error = %m, "unique constraint refused a write");
                ApiError::new(
                    StatusCode::CONFLICT,
                    "Conflict",
                    "the object was changed concurrently; retry",
                )
            }
            CoreError::Store(StoreError::Backend(m)) => {
                tracing::error!(request_id = %current(), error = %m, "storage failure");
                ApiError {
                    retry_after: Some(Duration::from_secs(5)),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "ServiceUnavailable",
                        "storage is unavailable; retry shortly",
                    )
                }
            }
            CoreError::Store(StoreError::Corrupt(m)) => {
                tracing::error!(request_id = %current(), error = %m, "corrupt stored value");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        if let Some(after) = self.retry_after {
            // Say the truth: round up, at least one second.
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if self.challenge {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res.extensions_mut().insert(GraphErrorBody {
            code: self.code,
            message: self.message,
        });
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_graph_statuses() {
        let cases: Vec<(CoreError, u16, &str)> = vec![
            (
                CoreError::NotFound { what: "device" },
                404,
                "ResourceNotFound",
            ),
            (CoreError::Conflict("x".into()), 409, "Conflict"),
            (CoreError::Validation("x".into()), 400, "BadRequest"),
            (CoreError::Forbidden("x".into()), 403, "Forbidden"),
            (
                CoreError::RateLimited {
                    retry_after: Duration::from_millis(1500),
                },
                429,
                "TooManyRequests",
            ),
            (
                CoreError::device(ZtdError::InvalidZtdHardwareHash, "x"),
                400,
                "InvalidZtdHardwareHash",
            ),
            (
                CoreError::device(ZtdError::StorageError, "x"),
                503,
                "StorageError",
            ),
            (
                CoreError::Store(StoreError::Backend("secret detail".into())),
                503,
                "ServiceUnavailable",
            ),
            (
                CoreError::Store(StoreError::Corrupt("secret detail".into())),
                500,
                "InternalServerError",
            ),
        ];
        for (e, status, code) in cases {
            let a = ApiError::from(e);
            assert_eq!((a.status.as_u16(), a.code.as_str()), (status, code));
            assert!(
                !a.message.contains("secret detail"),
                "storage details stay in the log"
            );
            let res = a.into_response();
            if status == 429 {
                assert_eq!(
                    res.headers()
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok()),
                    Some("2")
                );
            }
            if status == 503 {
                assert!(res.headers().contains_key(header::RETRY_AFTER));
            }
        }
    }
}
