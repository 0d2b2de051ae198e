//! The Graph resources under `/v1.0` and `/beta`. Paths are matched case-insensitively (the
//! middleware lower-cases Graph paths before routing), so every route here is lower-case.

pub mod devices;
pub mod directory;
pub mod imported;
pub mod model;
pub mod settings;

use crate::error::{ApiError, ApiResult};
use crate::odata::QueryOptions;
use crate::{ApiStore, AppState};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::Router;
pub use model::Version;

/// Where a request sits: its API version and the externally visible base URL of that version.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub version: Version,
    /// e.g. `https://hangar.example.com/v1.0`.
    pub base: String,
    pub query: QueryOptions,
}

impl Ctx {
    pub fn context(&self, fragment: &str) -> String {
        self.joined(&["/$metadata#", fragment])
    }

    /// The context of one entity of `set`: `{base}/$metadata#{set}/$entity`.
    pub fn entity_context(&self, set: &str) -> String {
        self.joined(&["/$metadata#", set, "/$entity"])
    }

    /// The base followed by `parts`, in one allocation: every answer builds one or two of these.
    fn joined(&self, parts: &[&str]) -> String {
        let mut out =
            String::with_capacity(self.base.len() + parts.iter().map(|p| p.len()).sum::<usize>());
        out.push_str(&self.base);
        parts.iter().for_each(|p| out.push_str(p));
        out
    }

    pub fn url(&self, path: &str) -> String {
        self.joined(&["/", path])
    }

    pub fn require_beta(&self) -> ApiResult<()> {
        match self.version {
            Version::Beta => Ok(()),
            Version::V1 => Err(ApiError::not_found(
                "this resource exists only in the beta API (/beta)",
            )),
        }
    }
}

impl<S: ApiStore> FromRequestParts<AppState<S>> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let version = Version::of_path(parts.uri.path());
        let (scheme, root) = match &state.config.public_url {
            Some(u) => ("", u.trim_end_matches('/')),
            None => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .or_else(|| parts.uri.authority().map(|a| a.as_str()))
                    .unwrap_or("localhost");
                ("http://", host)
            }
        };
        let segment = version.segment();
        let mut base = String::with_capacity(scheme.len() + root.len() + 1 + segment.len());
        base.push_str(scheme);
        base.push_str(root);
        base.push('/');
        base.push_str(segment);
        let query = QueryOptions::parse(parts.uri.query())?;
        Ok(Ctx {
            version,
            base,
            query,
        })
    }
}

/// Strips an optional `microsoft.graph.` namespace from an action segment.
pub fn action_name(segment: &str) -> String {
    let lower = segment.to_ascii_lowercase();
    lower
        .strip_prefix("microsoft.graph.")
        .map(str::to_string)
        .unwrap_or(lower)
}

/// The Graph routes of one version, each under its `/v1.0` or `/beta` segment.
pub fn routes<S: ApiStore>(version: Version) -> Router<AppState<S>> {
    let dm = format!("/{}/devicemanagement", version.segment());
    let root = format!("/{}", version.segment());
    Router::new()
        .route(
            &format!("{dm}/windowsautopilotdeviceidentities"),
            get(devices::list::<S>),
        )
        .route(
            &format!("{dm}/windowsautopilotdeviceidentities/{{id}}"),
            get(devices::get_one::<S>)
                .delete(devices::delete::<S>)
                .post(devices::collection_action::<S>),
        )
        .route(
            // One template for the actions (POST) and the navigations (GET).
            &format!("{dm}/windowsautopilotdeviceidentities/{{id}}/{{name}}"),
            post(devices::action::<S>).get(devices::navigation::<S>),
        )
        .route(
            &format!("{dm}/importedwindowsautopilotdeviceidentities"),
            get(imported::list::<S>).post(imported::create::<S>),
        )
        .route(
            &format!("{dm}/importedwindowsautopilotdeviceidentities/{{id}}"),
            get(imported::get_one::<S>)
                .delete(imported::delete::<S>)
                .post(imported::collection_action::<S>),
        )
        .route(
            &format!("{dm}/windowsautopilotsettings"),
            get(settings::get::<S>),
        )
        .route(
            &format!("{dm}/windowsautopilotsettings/{{action}}"),
            post(settings::action::<S>),
        )
        .route(
            &format!("{dm}/manageddevices"),
            get(directory::list_managed::<S>),
        )
        .route(
            &format!("{dm}/manageddevices/{{id}}"),
            get(directory::get_managed::<S>).delete(directory::delete_managed::<S>),
        )
        .route(
            &format!("{root}/devices"),
            get(directory::list_directory::<S>),
        )
        .route(
            &format!("{root}/devices/{{id}}"),
            get(directory::get_directory::<S>),
        )
}

/// A GUID key from the path; a malformed key is 400 (as Graph answers).
pub fn parse_key<T>(text: &str, parse: fn(&str) -> Option<T>) -> ApiResult<T> {
    let trimmed = text.trim().trim_start_matches("('").trim_end_matches("')");
    parse(trimmed).ok_or_else(|| {
        ApiError::bad_request(format!("'{text}' is not a valid key: an id is a GUID"))
    })
}

/// Serializes a wire struct into a JSON value (infallible for these types).
pub fn to_value<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}
