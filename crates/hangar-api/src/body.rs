//! Lenient JSON bodies: serde_json first, JSON5 (unquoted keys, as the PowerShell module sends)
//! as a fallback; an empty action body counts as `{}`; any Content-Type that could carry JSON.

use crate::error::{ApiError, ApiResult};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

/// A JSON body that must be present.
pub struct JsonBody<T>(pub T);

/// An action's JSON body: empty (with or without Content-Type) reads as `{}`.
pub struct ActionBody<T>(pub T);

fn check_content_type(req: &Request) -> ApiResult<()> {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let ct = ct.trim().to_ascii_lowercase();
    let refused = [
        "application/x-www-form-urlencoded",
        "multipart/",
        "application/xml",
        "text/xml",
    ];
    if refused.iter().any(|r| ct.starts_with(r)) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!("the request body must be JSON, not {ct}"),
        ));
    }
    Ok(())
}

async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> ApiResult<Bytes> {
    check_content_type(&req)?;
    Bytes::from_request(req, state).await.map_err(|rejection| {
        let status = rejection.status();
        if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "RequestEntityTooLarge",
                "the request body is larger than the configured limit",
            )
        } else {
            ApiError::bad_request(format!("the request body could not be read: {rejection}"))
        }
    })
}

/// Parses JSON leniently; the error message is serde_json's (the strict parser's) when both fail.
pub fn parse_lenient<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match serde_json::from_slice::<T>(bytes) {
        Ok(v) => Ok(v),
        Err(strict) => {
            if strict.is_syntax() || strict.is_eof() {
                if let Ok(text) = std::str::from_utf8(bytes) {
                    if let Ok(v) = json5::from_str::<serde_json::Value>(text) {
                        return serde_json::from_value::<T>(v).map_err(|e| {
                            ApiError::bad_request(format!("the request body is not valid: {e}"))
                        });
                    }
                }
                Err(ApiError::bad_request(format!(
                    "the request body is not valid JSON: {strict}"
                )))
            } else {
                Err(ApiError::bad_request(format!(
                    "the request body is not valid: {strict}"
                )))
            }
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("the request needs a JSON body"));
        }
        parse_lenient(&bytes).map(JsonBody)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ActionBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return parse_lenient(b"{}").map(ActionBody);
        }
        parse_lenient(&bytes).map(ActionBody)
    }
}

/// `""` (and whitespace) counts as absent.
pub fn present(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    struct P {
        display_name: Option<String>,
    }

    #[test]
    fn unquoted_keys_and_bom() {
        let p: P = parse_lenient(b"{ displayName: \"PC-01\" }").expect("json5");
        assert_eq!(p.display_name.as_deref(), Some("PC-01"));
        let p: P = parse_lenient(b"\xEF\xBB\xBF{\"displayName\":\"X\"}").expect("bom");
        assert_eq!(p.display_name.as_deref(), Some("X"));
        assert!(parse_lenient::<P>(b"{ displayName: ").is_err());
    }
}
