//! `deviceManagement/importedWindowsAutopilotDeviceIdentities`: rows are stored as `unknown` and
//! processed by the background worker (woken at once); see the polling contract in graph-api.md.

use super::model::{ImportRequest, ImportedIdentity, ImportedIdentityInput};
use super::{action_name, parse_key, to_value, Ctx};
use crate::auth::Caller;
use crate::body::{ActionBody, JsonBody};
use crate::error::{ApiError, ApiResult};
use crate::odata::{apply_select, collection, entity, parse_filter};
use crate::{ApiStore, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::model::{ImportedDeviceId, ImportedField, PageRequest};

const SET: &str = "deviceManagement/importedWindowsAutopilotDeviceIdentities";

#[utoipa::path(
    get,
    path = "/{version}/deviceManagement/importedWindowsAutopilotDeviceIdentities",
    operation_id = "listImportedWindowsAutopilotDeviceIdentities",
    params(("version" = String, Path, description = "v1.0 or beta")),
    responses((status = 200, description = "A page of imported rows"), (status = 400, description = "Bad query: an unsupported $filter, a malformed $top, $skip or $count, or $skip too large"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "importedWindowsAutopilotDeviceIdentities"
)]
pub async fn list<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
) -> ApiResult<Json<serde_json::Value>> {
    let filter = ctx
        .query
        .filter
        .as_deref()
        .map(|f| parse_filter(f, &ImportedField::from_graph_name))
        .transpose()?;
    let (page_req, skip) = ctx.query.page()?;
    let page = st
        .registry
        .list_imported(&caller.scope, None, filter.as_ref(), &page_req)
        .await?;
    let select = ctx.query.select.as_deref();
    let items = page
        .items
        .iter()
        .skip(skip)
        .map(|d| apply_select(to_value(&ImportedIdentity::from_imported(d)), select))
        .collect();
    let count = if ctx.query.count {
        let mut n = 0u64;
        let mut req = PageRequest::first(PageRequest::MAX_TOP);
        loop {
            let p = st
                .registry
                .list_imported(&caller.scope, None, filter.as_ref(), &req)
                .await?;
            n += p.items.len() as u64;
            match p.next {
                Some(t) => req.skiptoken = Some(t),
                None => break,
            }
        }
        Some(n)
    } else {
        None
    };
    let next = page.next.map(|t| ctx.query.next_link(&ctx.url(SET), &t));
    Ok(Json(collection(ctx.context(SET), items, count, next)))
}

#[utoipa::path(
    get,
    path = "/{version}/deviceManagement/importedWindowsAutopilotDeviceIdentities/{id}",
    operation_id = "getImportedWindowsAutopilotDeviceIdentity",
    params(("version" = String, Path, description = "v1.0 or beta"), ("id" = String, Path, description = "GUID")),
    responses((status = 200, body = super::model::ImportedIdentity), (status = 400, description = "Malformed key"), (status = 404, description = "Not found"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "importedWindowsAutopilotDeviceIdentities"
)]
pub async fn get_one<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_key(&id, ImportedDeviceId::parse)?;
    let d = st.registry.get_imported(&caller.scope, id).await?;
    let item = apply_select(
        to_value(&ImportedIdentity::from_imported(&d)),
        ctx.query.select.as_deref(),
    );
    Ok(Json(entity(ctx.entity_context(SET), item)))
}

#[utoipa::path(
    delete,
    path = "/{version}/deviceManagement/importedWindowsAutopilotDeviceIdentities/{id}",
    operation_id = "deleteImportedWindowsAutopilotDeviceIdentity",
    params(("version" = String, Path, description = "v1.0 or beta"), ("id" = String, Path, description = "GUID")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Malformed key"), (status = 403, description = "Read-only token"), (status = 404, description = "Not found"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "importedWindowsAutopilotDeviceIdentities"
)]
pub async fn delete<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let scope = caller.writable()?;
    let id = parse_key(&id, ImportedDeviceId::parse)?;
    st.registry.delete_imported(scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST` on the collection: one entity, 201 with its `id` (state `unknown`).
#[utoipa::path(
    post,
    path = "/{version}/deviceManagement/importedWindowsAutopilotDeviceIdentities",
    operation_id = "createImportedWindowsAutopilotDeviceIdentity",
    request_body = super::model::ImportedIdentityInput,
    params(("version" = String, Path, description = "v1.0 or beta")),
    responses((status = 201, body = super::model::ImportedIdentity, description = "Recorded with state unknown; processed in the background"), (status = 400, description = "Invalid body"), (status = 403, description = "Read-only token"), (status = 413, description = "Body too large"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "importedWindowsAutopilotDeviceIdentities"
)]
pub async fn create<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    JsonBody(input): JsonBody<ImportedIdentityInput>,
) -> ApiResult<Response> {
    let scope = caller.writable()?;
    let rows = st.registry.import(scope, vec![input.into_row()]).await?;
    st.wake_worker();
    let Some(row) = rows.first() else {
        return Err(ApiError::internal());
    };
    let body = entity(
        ctx.entity_context(SET),
        to_value(&ImportedIdentity::from_imported(row)),
    );
    let location = ctx.url(&format!("{SET}/{}", row.id));
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&location) {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(res)
}

/// `POST .../importedWindowsAutopilotDeviceIdentities/import`: many rows, one answer per row in
/// the same order.
#[utoipa::path(
    post,
    path = "/{version}/deviceManagement/importedWindowsAutopilotDeviceIdentities/import",
    operation_id = "importImportedWindowsAutopilotDeviceIdentities",
    request_body = super::model::ImportRequest,
    params(("version" = String, Path, description = "v1.0 or beta")),
    responses((status = 200, description = "One entity per input, same order"), (status = 400, description = "Invalid body or more rows than the limit"), (status = 403, description = "Read-only token"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "importedWindowsAutopilotDeviceIdentities"
)]
pub async fn collection_action<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    Path(segment): Path<String>,
    ActionBody(body): ActionBody<serde_json::Value>,
) -> ApiResult<Response> {
    if action_name(&segment) != "import" {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("POST is not allowed on '{segment}'; the collection's action is import"),
        ));
    }
    let scope = caller.writable()?;
    let req: ImportRequest = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "import needs {{\"importedWindowsAutopilotDeviceIdentities\":[...]}}: {e}"
        ))
    })?;
    let n = req.imported_windows_autopilot_device_identities.len();
    if n == 0 {
        return Err(ApiError::bad_request(
            "import needs at least one entry in importedWindowsAutopilotDeviceIdentities",
        ));
    }
    if n > st.config.max_import_rows {
        return Err(ApiError::bad_request(format!(
            "import takes at most {} devices per call; this one has {n}: split it into several calls",
            st.config.max_import_rows
        )));
    }
    let rows = req
        .imported_windows_autopilot_device_identities
        .into_iter()
        .map(ImportedIdentityInput::into_row)
        .collect();
    let imported = st.registry.import(scope, rows).await?;
    st.wake_worker();
    let value: Vec<serde_json::Value> = imported
        .iter()
        .map(|r| to_value(&ImportedIdentity::from_imported(r)))
        .collect();
    let context = ctx.context("Collection(microsoft.graph.importedWindowsAutopilotDeviceIdentity)");
    Ok(Json(collection(context, value, None, None)).into_response())
}
