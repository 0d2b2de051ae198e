//! Beta `deviceManagement/windowsAutopilotSettings` and its `sync` action.

use super::model::AutopilotSettings;
use super::{action_name, to_value, Ctx};
use crate::auth::Caller;
use crate::body::ActionBody;
use crate::error::{ApiError, ApiResult};
use crate::odata::entity;
use crate::{ApiStore, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

pub async fn get<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
) -> ApiResult<Json<serde_json::Value>> {
    ctx.require_beta()?;
    let s = st.registry.sync_settings(&caller.scope).await?;
    Ok(Json(entity(
        ctx.context("deviceManagement/windowsAutopilotSettings/$entity"),
        to_value(&AutopilotSettings::from_state(&s)),
    )))
}

/// `POST .../sync`: 204 when it ran, 409 while one runs, 429 inside the manual-sync window with
/// `Retry-After` = the seconds left.
pub async fn action<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    Path(action): Path<String>,
    _body: ActionBody<serde_json::Value>,
) -> ApiResult<StatusCode> {
    ctx.require_beta()?;
    if action_name(&action) != "sync" {
        return Err(ApiError::bad_request(format!(
            "'{action}' is not an action of windowsAutopilotSettings (sync)"
        )));
    }
    let scope = caller.writable()?;
    st.registry.trigger_manual_sync(scope).await?;
    Ok(StatusCode::NO_CONTENT)
}
