//! `deviceManagement/windowsAutopilotDeviceIdentities`.

use super::model::{AssignUser, DeleteDevicesRequest, DeviceIdentity, UpdateDeviceProperties};
use super::{action_name, parse_key, to_value, Ctx};
use crate::auth::Caller;
use crate::body::{present, ActionBody};
use crate::error::{ApiError, ApiResult};
use crate::odata::{
    apply_select, collection, entity, parse_filter, selects_all, CollectionOf, EntityOf,
};
use crate::{ApiStore, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::model::{DeviceField, DeviceId, DevicePatch};

const SET: &str = "deviceManagement/windowsAutopilotDeviceIdentities";

/// The navigation properties of a device (beta): the profile assigned to it and the one it
/// will get. No deployment profile exists in Hangar yet, so both are always null.
const NAVIGATIONS: [&str; 2] = ["deploymentProfile", "intendedDeploymentProfile"];

/// The navigations `$expand` asks for, by their proper names; an unknown one is a 400.
fn expanded(ctx: &Ctx) -> ApiResult<Vec<&'static str>> {
    ctx.query
        .expand
        .iter()
        .map(|name| {
            NAVIGATIONS
                .into_iter()
                .find(|n| n.eq_ignore_ascii_case(name) && ctx.version == super::Version::Beta)
                .ok_or_else(|| not_a_navigation(name, ctx.version))
        })
        .collect()
}

fn not_a_navigation(name: &str, version: super::Version) -> ApiError {
    ApiError::bad_request(format!(
        "'{name}' is not a navigation property of windowsAutopilotDeviceIdentity in {}; \
         /beta has deploymentProfile and intendedDeploymentProfile",
        version.segment()
    ))
}

/// An item as JSON, `$select` applied, with the expanded navigations (which `$select` keeps).
fn shaped(item: &DeviceIdentity, select: Option<&[String]>, expand: &[&str]) -> serde_json::Value {
    let mut v = apply_select(to_value(item), select);
    if let serde_json::Value::Object(map) = &mut v {
        for name in expand {
            map.insert((*name).to_string(), serde_json::Value::Null);
        }
    }
    v
}

/// List the tenant's Autopilot devices.
#[utoipa::path(
    get,
    path = "/{version}/deviceManagement/windowsAutopilotDeviceIdentities",
    operation_id = "listWindowsAutopilotDeviceIdentities",
    params(("version" = String, Path, description = "v1.0 or beta")),
    responses((status = 200, description = "A page of devices"), (status = 400, description = "Bad query"), (status = 401, description = "No valid token")),
    security(("bearer" = [])),
    tag = "windowsAutopilotDeviceIdentities"
)]
pub async fn list<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
) -> ApiResult<Response> {
    let filter = ctx
        .query
        .filter
        .as_deref()
        .map(|f| parse_filter(f, &DeviceField::from_graph_name))
        .transpose()?;
    let (page_req, skip) = ctx.query.page()?;
    let page = st
        .registry
        .list_devices(&caller.scope, filter.as_ref(), &page_req)
        .await?;
    let count = if ctx.query.count {
        Some(
            st.registry
                .store()
                .count_devices(&caller.scope, true, filter.as_ref())
                .await
                .map_err(hangar_core::CoreError::from)?,
        )
    } else {
        None
    };
    let next = page.next.map(|t| ctx.query.next_link(&ctx.url(SET), &t));
    let select = ctx.query.select.as_deref();
    let expand = expanded(&ctx)?;
    let items = page
        .items
        .iter()
        .skip(skip)
        .map(|d| DeviceIdentity::from_device(d, ctx.version));
    if selects_all(select) && expand.is_empty() {
        return Ok(Json(CollectionOf {
            context: ctx.context(SET),
            count,
            value: items.collect(),
            next_link: next,
        })
        .into_response());
    }
    let items = items.map(|d| shaped(&d, select, &expand)).collect();
    Ok(Json(collection(ctx.context(SET), items, count, next)).into_response())
}

#[utoipa::path(
    get,
    path = "/{version}/deviceManagement/windowsAutopilotDeviceIdentities/{id}",
    operation_id = "getWindowsAutopilotDeviceIdentity",
    params(("version" = String, Path, description = "v1.0 or beta"), ("id" = String, Path, description = "GUID")),
    responses((status = 200, body = super::model::DeviceIdentity), (status = 400, description = "Malformed key"), (status = 404, description = "No such device in this tenant"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "windowsAutopilotDeviceIdentities"
)]
pub async fn get_one<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_key(&id, DeviceId::parse)?;
    let expand = expanded(&ctx)?;
    let d = st.registry.get_device_record(&caller.scope, id).await?;
    let item = DeviceIdentity::from_device(&d, ctx.version);
    let context = ctx.entity_context(SET);
    let select = ctx.query.select.as_deref();
    if selects_all(select) && expand.is_empty() {
        return Ok(Json(EntityOf { context, item }).into_response());
    }
    Ok(Json(entity(context, shaped(&item, select, &expand))).into_response())
}

/// `GET .../{id}/deploymentProfile` (and `intendedDeploymentProfile`): the device's profile.
// OpenAPI treats `{id}/{navigation}` and `{id}/{action}` as one template: both handlers are
// documented on `{id}/{name}`.
#[utoipa::path(
    get,
    path = "/{version}/deviceManagement/windowsAutopilotDeviceIdentities/{id}/{name}",
    operation_id = "getWindowsAutopilotDeviceIdentityNavigation",
    description = "GET reads a navigation property of the device (beta): deploymentProfile or intendedDeploymentProfile. \
                   The same path takes the device's actions with POST.",
    params(("version" = String, Path, description = "beta"), ("id" = String, Path, description = "GUID"), ("name" = String, Path, description = "GET: a navigation property (beta), deploymentProfile or intendedDeploymentProfile. POST: an action, assignUserToDevice, unassignUserFromDevice, updateDeviceProperties or allowNextEnrollment (beta). Case-insensitive")),
    responses((status = 204, description = "No profile is assigned (no deployment profiles exist yet)"), (status = 400, description = "Not a navigation property"), (status = 404, description = "No such device in this tenant"), (status = 401, description = "No valid token")),
    security(("bearer" = [])),
    tag = "windowsAutopilotDeviceIdentities"
)]
pub async fn navigation<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if ctx.version != super::Version::Beta
        || !NAVIGATIONS.iter().any(|n| n.eq_ignore_ascii_case(&name))
    {
        return Err(not_a_navigation(&name, ctx.version));
    }
    let id = parse_key(&id, DeviceId::parse)?;
    st.registry.get_device_record(&caller.scope, id).await?;
    // A null single-valued navigation is 204 No Content in OData.
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/{version}/deviceManagement/windowsAutopilotDeviceIdentities/{id}",
    operation_id = "deleteWindowsAutopilotDeviceIdentity",
    params(("version" = String, Path, description = "v1.0 or beta"), ("id" = String, Path, description = "GUID")),
    responses((status = 204, description = "Deregistered"), (status = 400, description = "Malformed key"), (status = 403, description = "Read-only token"), (status = 404, description = "Not found"), (status = 409, description = "Enrolled: delete the managed device first"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "windowsAutopilotDeviceIdentities"
)]
pub async fn delete<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let scope = caller.writable()?;
    let id = parse_key(&id, DeviceId::parse)?;
    st.registry.delete_device(scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../windowsAutopilotDeviceIdentities/{segment}`: the collection-bound action
/// `deleteDevices` (beta).
#[utoipa::path(
    post,
    path = "/{version}/deviceManagement/windowsAutopilotDeviceIdentities/deleteDevices",
    operation_id = "deleteDevices",
    request_body = super::model::DeleteDevicesRequest,
    params(("version" = String, Path, description = "v1.0 or beta")),
    responses((status = 200, description = "One deletedWindowsAutopilotDeviceState per serial number"), (status = 400, description = "No serial numbers"), (status = 403, description = "Read-only token"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "windowsAutopilotDeviceIdentities"
)]
pub async fn collection_action<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    Path(segment): Path<String>,
    body: ActionBody<serde_json::Value>,
) -> ApiResult<Response> {
    if action_name(&segment) != "deletedevices" {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("POST is not allowed on '{segment}'; the collection's action is deleteDevices (beta)"),
        ));
    }
    ctx.require_beta()?;
    let scope = caller.writable()?;
    let req: DeleteDevicesRequest = serde_json::from_value(body.0).map_err(|e| {
        ApiError::bad_request(format!(
            "deleteDevices needs {{\"serialNumbers\":[...]}}: {e}"
        ))
    })?;
    let serials: Vec<String> = req
        .serial_numbers
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if serials.is_empty() {
        return Err(ApiError::bad_request(
            "deleteDevices needs at least one serial number in serialNumbers",
        ));
    }
    if serials.len() > st.config.max_import_rows {
        return Err(ApiError::bad_request(format!(
            "deleteDevices takes at most {} serial numbers per call",
            st.config.max_import_rows
        )));
    }
    let results = st
        .registry
        .delete_devices_by_serial(scope, &serials)
        .await?;
    let value: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "@odata.type": "microsoft.graph.deletedWindowsAutopilotDeviceState",
                "serialNumber": r.serial_number,
                "deviceRegistrationId": r.device_registration_id.map(|i| i.to_string()),
                "deletionState": r.deletion_state.as_str(),
                "errorMessage": r.error_message,
            })
        })
        .collect();
    let context = ctx.context("Collection(microsoft.graph.deletedWindowsAutopilotDeviceState)");
    Ok(Json(serde_json::json!({"@odata.context": context, "value": value})).into_response())
}

/// `POST .../{id}/{name}`: assignUserToDevice, unassignUserFromDevice, updateDeviceProperties,
/// allowNextEnrollment (beta). Names are case-insensitive.
// Documented on `{id}/{name}`, the path of `navigation` (GET) too.
#[utoipa::path(
    post,
    path = "/{version}/deviceManagement/windowsAutopilotDeviceIdentities/{id}/{name}",
    operation_id = "windowsAutopilotDeviceIdentityAction",
    description = "POST runs an action on the device: assignUserToDevice {userPrincipalName, addressableUserName}, \
                   unassignUserFromDevice, updateDeviceProperties (the body below) or allowNextEnrollment (beta); \
                   names are case-insensitive and may carry the microsoft.graph. prefix. The same path reads the \
                   device's navigation properties with GET (beta).",
    request_body = super::model::UpdateDeviceProperties,
    params(("version" = String, Path, description = "v1.0 or beta"), ("id" = String, Path, description = "GUID"), ("name" = String, Path, description = "GET: a navigation property (beta), deploymentProfile or intendedDeploymentProfile. POST: an action, assignUserToDevice, unassignUserFromDevice, updateDeviceProperties or allowNextEnrollment (beta). Case-insensitive")),
    responses((status = 204, description = "Done"), (status = 400, description = "Unknown action, malformed key or invalid body"), (status = 403, description = "Read-only token"), (status = 404, description = "Not found"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "windowsAutopilotDeviceIdentities"
)]
pub async fn action<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    body: ActionBody<serde_json::Value>,
) -> ApiResult<StatusCode> {
    let name = action_name(&action);
    let known = [
        "assignusertodevice",
        "unassignuserfromdevice",
        "updatedeviceproperties",
        "allownextenrollment",
    ];
    if !known.contains(&name.as_str()) {
        return Err(ApiError::bad_request(format!(
            "'{action}' is not an action of windowsAutopilotDeviceIdentity (assignUserToDevice, unassignUserFromDevice, updateDeviceProperties, allowNextEnrollment)"
        )));
    }
    let scope = caller.writable()?;
    let id = parse_key(&id, DeviceId::parse)?;
    let bad = |e: serde_json::Error| {
        ApiError::bad_request(format!("the body of {action} is not valid: {e}"))
    };
    match name.as_str() {
        "assignusertodevice" => {
            let a: AssignUser = serde_json::from_value(body.0).map_err(bad)?;
            let upn = present(a.user_principal_name).unwrap_or_default();
            let addressable = present(a.addressable_user_name).unwrap_or_default();
            st.registry
                .assign_user(scope, id, &upn, &addressable)
                .await?;
        }
        "unassignuserfromdevice" => st.registry.unassign_user(scope, id).await?,
        "updatedeviceproperties" => {
            let u: UpdateDeviceProperties = serde_json::from_value(body.0).map_err(bad)?;
            let beta = |v: Option<String>| {
                if ctx.version == super::Version::Beta {
                    present(v)
                } else {
                    None
                }
            };
            let patch = DevicePatch {
                group_tag: present(u.group_tag),
                user_principal_name: present(u.user_principal_name),
                addressable_user_name: present(u.addressable_user_name),
                display_name: present(u.display_name),
                device_account_upn: beta(u.device_account_upn),
                device_account_password: beta(u.device_account_password),
                device_friendly_name: beta(u.device_friendly_name),
            };
            st.registry.update_device(scope, id, &patch).await?;
        }
        _ => {
            // allowNextEnrollment: the registry keeps no per-device enrollment block yet, so the
            // action verifies that the device exists in the caller's list and succeeds.
            ctx.require_beta()?;
            st.registry.get_device_record(scope, id).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
