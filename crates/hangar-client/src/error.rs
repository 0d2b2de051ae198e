//! Errors: Graph's error JSON parsed into [`GraphError`], plus transport and decoding failures.

use serde::Deserialize;
use std::time::Duration;

/// A 4xx/5xx answer, read from Graph's `{"error":{"code","message","innerError":{...}}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// Graph's error code, e.g. `ResourceNotFound`, `TooManyRequests`.
    pub code: String,
    pub message: String,
    /// `innerError.request-id` (or the `request-id` header).
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    /// `innerError.date`.
    pub date: Option<String>,
    /// `Retry-After`, in seconds (429 and 503).
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request-id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphError {}

#[derive(Debug, Deserialize)]
struct Envelope {
    error: Body,
}

#[derive(Debug, Deserialize)]
struct Body {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(rename = "innerError", alias = "innererror", default)]
    inner: Option<Inner>,
}

#[derive(Debug, Default, Deserialize)]
struct Inner {
    #[serde(rename = "request-id", default)]
    request_id: Option<String>,
    #[serde(rename = "client-request-id", default)]
    client_request_id: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

impl GraphError {
    /// Reads an error answer. Bodies that are not Graph's error JSON (a proxy's HTML page) still
    /// give a usable error: the status's reason and the start of the text.
    pub fn parse(
        status: u16,
        body: &[u8],
        header_request_id: Option<String>,
        header_client_request_id: Option<String>,
        retry_after: Option<Duration>,
    ) -> GraphError {
        match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope { error }) => {
                let inner = error.inner.unwrap_or_default();
                GraphError {
                    status,
                    code: if error.code.is_empty() {
                        default_code(status).to_string()
                    } else {
                        error.code
                    },
                    message: error.message,
                    request_id: inner.request_id.or(header_request_id),
                    client_request_id: inner.client_request_id.or(header_client_request_id),
                    date: inner.date,
                    retry_after,
                }
            }
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.trim().chars().take(200).collect();
                GraphError {
                    status,
                    code: default_code(status).to_string(),
                    message: if text.is_empty() {
                        format!("the server answered HTTP {status} without an error body")
                    } else {
                        text
                    },
                    request_id: header_request_id,
                    client_request_id: header_client_request_id,
                    date: None,
                    retry_after,
                }
            }
        }
    }
}

fn default_code(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "InvalidAuthenticationToken",
        403 => "Forbidden",
        404 => "ResourceNotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        413 => "RequestEntityTooLarge",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        s if s >= 500 => "InternalServerError",
        _ => "BadRequest",
    }
}

/// `Retry-After` as seconds; an HTTP date is not used by Graph and reads as absent.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status.
    #[error("{0}")]
    Graph(Box<GraphError>),
    /// The server could not be reached or the connection failed.
    #[error("cannot reach {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the JSON expected.
    #[error("unexpected answer from {url}: {message}")]
    Decode { url: String, message: String },
    /// A configuration problem (base URL, certificate, token).
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The Graph error, when the server answered with one.
    pub fn graph(&self) -> Option<&GraphError> {
        match self {
            Error::Graph(g) => Some(g),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        self.graph().map(|g| g.status)
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

impl From<GraphError> for Error {
    fn from(e: GraphError) -> Error {
        Error::Graph(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_graph_error_json() {
        let body = br#"{"error":{"code":"TooManyRequests","message":"retry after 540 seconds",
            "innerError":{"date":"2026-03-01T10:20:30Z","request-id":"r-1","client-request-id":"c-1"}}}"#;
        let e = GraphError::parse(429, body, None, None, parse_retry_after("540"));
        assert_eq!(e.status, 429);
        assert_eq!(e.code, "TooManyRequests");
        assert_eq!(e.message, "retry after 540 seconds");
        assert_eq!(e.request_id.as_deref(), Some("r-1"));
        assert_eq!(e.client_request_id.as_deref(), Some("c-1"));
        assert_eq!(e.date.as_deref(), Some("2026-03-01T10:20:30Z"));
        assert_eq!(e.retry_after, Some(Duration::from_secs(540)));
        assert_eq!(
            e.to_string(),
            "429 TooManyRequests: retry after 540 seconds (request-id r-1)"
        );
    }

    #[test]
    fn reads_a_body_that_is_not_graph_json() {
        let e = GraphError::parse(
            502,
            b"<html>Bad Gateway</html>",
            Some("h-1".into()),
            None,
            None,
        );
        assert_eq!(e.code, "InternalServerError");
        assert_eq!(e.message, "<html>Bad Gateway</html>");
        assert_eq!(e.request_id.as_deref(), Some("h-1"));
        let e = GraphError::parse(404, b"", None, None, None);
        assert_eq!(e.code, "ResourceNotFound");
        assert!(e.message.contains("404"));
    }

    #[test]
    fn retry_after_is_seconds() {
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
