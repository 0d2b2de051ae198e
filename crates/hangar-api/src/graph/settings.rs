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

#[utoipa::path(
    get,
    path = "/beta/deviceManagement/windowsAutopilotSettings",
    operation_id = "getWindowsAutopilotSettings",
    responses((status = 200, body = super::model::AutopilotSettings), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "windowsAutopilotSettings"
)]
pub async fn get<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
) -> ApiResult<Json<serde_json::Value>> {
    ctx.require_beta()?;
    let s = st.registry.sync_settings(&caller.scope).await?;
    Ok(Json(entity(
        ctx.entity_context("deviceManagement/windowsAutopilotSettings"),
        to_value(&AutopilotSettings::from_state(&s)),
    )))
}

/// `POST .../sync`: 204 when it ran, 409 while one runs, 429 inside the manual-sync window with
/// `Retry-After` = the seconds left.
#[utoipa::path(
    post,
    path = "/beta/deviceManagement/windowsAutopilotSettings/sync",
    operation_id = "syncWindowsAutopilotSettings",
    responses((status = 204, description = "Sync ran"), (status = 403, description = "Read-only token"), (status = 409, description = "A sync is in progress"), (status = 429, description = "Inside the manual-sync window; Retry-After = seconds left"), (status = 401, description = "Missing, invalid, expired or revoked token")),
    security(("bearer" = [])),
    tag = "windowsAutopilotSettings"
)]
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
