//! `/devices` (directory devices) and `deviceManagement/managedDevices`. The stores return these
//! lists whole (they are small until enrollment exists); paging happens here, by id.

use super::model::{DirectoryDeviceOut, ManagedDeviceOut};
use super::{parse_key, to_value, Ctx};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::{apply_select, collection, entity, parse_filter};
use crate::{ApiStore, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hangar_core::model::{
    decode_skiptoken, encode_skiptoken, DirectoryDeviceId, ManagedDeviceId, ManagedField,
};
use hangar_core::CoreError;

/// Pages an id-sorted list in memory the same way the stores page by key.
/// One page of a list the store returns whole, as an OData collection of the entity set `set`.
fn collection_page<T>(
    all: Vec<T>,
    id: impl Fn(&T) -> String,
    set: &str,
    ctx: &Ctx,
    render: impl Fn(&T) -> serde_json::Value,
) -> ApiResult<Json<serde_json::Value>> {
    let total = all.len() as u64;
    let (items, next) = page_by_id(all, id, ctx)?;
    let select = ctx.query.select.as_deref();
    let value = items
        .iter()
        .map(|d| apply_select(render(d), select))
        .collect();
    let next = next.map(|t| ctx.query.next_link(&ctx.url(set), &t));
    Ok(Json(collection(
        ctx.context(set),
        value,
        ctx.query.count.then_some(total),
        next,
    )))
}

fn page_by_id<T>(
    mut items: Vec<T>,
    id: impl Fn(&T) -> String,
    ctx: &Ctx,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let (req, skip) = ctx.query.page()?;
    items.sort_by_key(|i| id(i));
    let after = match &req.skiptoken {
        Some(t) => Some(
            decode_skiptoken(t)
                .ok_or_else(|| ApiError::bad_request("the $skiptoken is not one Hangar issued"))?,
        ),
        None => None,
    };
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|i| after.as_ref().is_none_or(|a| id(i) > *a))
        .collect();
    let more = rest.len() > req.top;
    rest.truncate(req.top);
    let next = if more {
        rest.last().map(|l| encode_skiptoken(&id(l)))
    } else {
        None
    };
    Ok((rest.into_iter().skip(skip).collect(), next))
}

/// A `physicalIds` lambda filter: `physicalIds/any(p:startswith(p,'[ZTDId]'))` or
/// `physicalIds/any(p:p eq '[OrderID]:Sales')`.
#[derive(Debug, PartialEq, Eq)]
pub enum PhysicalIdsFilter {
    StartsWith(String),
    Eq(String),
}

impl PhysicalIdsFilter {
    fn matches(&self, ids: &[String]) -> bool {
        ids.iter().any(|id| {
            let id = id.to_lowercase();
            match self {
                PhysicalIdsFilter::StartsWith(v) => id.starts_with(&v.to_lowercase()),
                PhysicalIdsFilter::Eq(v) => id == v.to_lowercase(),
            }
        })
    }
}

fn quoted(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    // Inside, quotes come doubled.
    if inner.replace("''", "").contains('\'') {
        return None;
    }
    Some(inner.replace("''", "'"))
}

/// Parses the `$filter` forms `/devices` supports.
pub fn parse_physical_ids_filter(text: &str) -> ApiResult<PhysicalIdsFilter> {
    let fail = || {
        ApiError::bad_request(format!(
            "unsupported $filter '{text}' on devices: use physicalIds/any(p:startswith(p,'[ZTDId]')) or physicalIds/any(p:p eq 'value')"
        ))
    };
    let t = text.trim();
    const PREFIX: &str = "physicalids/any(";
    if !t.to_ascii_lowercase().starts_with(PREFIX) {
        return Err(fail());
    }
    let body = t
        .get(PREFIX.len()..)
        .and_then(|b| b.strip_suffix(')'))
        .ok_or_else(fail)?;
    let (var, expr) = body.split_once(':').ok_or_else(fail)?;
    let var = var.trim();
    let expr = expr.trim();
    if var.is_empty() || !var.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(fail());
    }
    if expr.to_ascii_lowercase().starts_with("startswith(") {
        let args = expr
            .get("startswith(".len()..)
            .and_then(|a| a.strip_suffix(')'))
            .ok_or_else(fail)?;
        let (first, value) = args.split_once(',').ok_or_else(fail)?;
        if first.trim() != var {
            return Err(fail());
        }
        return quoted(value)
            .map(PhysicalIdsFilter::StartsWith)
            .ok_or_else(fail);
    }
    let rest = expr.strip_prefix(var).ok_or_else(fail)?.trim_start();
    match rest.get(..3) {
        Some(op) if op.eq_ignore_ascii_case("eq ") => quoted(rest.get(3..).unwrap_or_default())
            .map(PhysicalIdsFilter::Eq)
            .ok_or_else(fail),
        _ => Err(fail()),
    }
}

#[utoipa::path(
    get,
    path = "/{version}/devices",
    params(("version" = String, Path, description = "v1.0 or beta")),
    responses((status = 200, description = "A page of directory devices"), (status = 400, description = "Bad query: an unsupported $filter or a malformed query option"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "devices"
)]
pub async fn list_directory<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
) -> ApiResult<Json<serde_json::Value>> {
    let filter = ctx
        .query
        .filter
        .as_deref()
        .map(parse_physical_ids_filter)
        .transpose()?;
    let mut all = st
        .registry
        .store()
        .list_directory_devices(&caller.scope)
        .await
        .map_err(CoreError::from)?;
    if let Some(f) = &filter {
        all.retain(|d| f.matches(&d.physical_ids));
    }
    collection_page(
        all,
        |d| d.id.to_string(),
        "devices",
        &ctx,
        |d| to_value(&DirectoryDeviceOut::from_device(d)),
    )
}

#[utoipa::path(
    get,
    path = "/{version}/devices/{id}",
    params(("version" = String, Path, description = "v1.0 or beta"), ("id" = String, Path, description = "GUID")),
    responses((status = 200, body = super::model::DirectoryDeviceOut), (status = 400, description = "Malformed key"), (status = 404, description = "Not found"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "devices"
)]
pub async fn get_directory<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_key(&id, DirectoryDeviceId::parse)?;
    let all = st
        .registry
        .store()
        .list_directory_devices(&caller.scope)
        .await
        .map_err(CoreError::from)?;
    let d = all
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| ApiError::not_found("device not found"))?;
    let item = apply_select(
        to_value(&DirectoryDeviceOut::from_device(d)),
        ctx.query.select.as_deref(),
    );
    Ok(Json(entity(ctx.entity_context("devices"), item)))
}

const MANAGED: &str = "deviceManagement/managedDevices";

#[utoipa::path(
    get,
    path = "/{version}/deviceManagement/managedDevices",
    params(("version" = String, Path, description = "v1.0 or beta")),
    responses((status = 200, description = "A page of managed devices"), (status = 400, description = "Bad query: an unsupported $filter or a malformed query option"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "managedDevices"
)]
pub async fn list_managed<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
) -> ApiResult<Json<serde_json::Value>> {
    let filter = ctx
        .query
        .filter
        .as_deref()
        .map(|f| parse_filter(f, &ManagedField::from_graph_name))
        .transpose()?;
    let mut all = st
        .registry
        .store()
        .list_managed_devices(&caller.scope)
        .await
        .map_err(CoreError::from)?;
    if let Some(f) = &filter {
        all.retain(|d| f.matches(&|field| d.field(field)));
    }
    collection_page(
        all,
        |d| d.id.to_string(),
        MANAGED,
        &ctx,
        |d| to_value(&ManagedDeviceOut::from_device(d, ctx.version)),
    )
}

#[utoipa::path(
    get,
    path = "/{version}/deviceManagement/managedDevices/{id}",
    params(("version" = String, Path, description = "v1.0 or beta"), ("id" = String, Path, description = "GUID")),
    responses((status = 200, body = super::model::ManagedDeviceOut), (status = 400, description = "Malformed key"), (status = 404, description = "Not found"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "managedDevices"
)]
pub async fn get_managed<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_key(&id, ManagedDeviceId::parse)?;
    let all = st
        .registry
        .store()
        .list_managed_devices(&caller.scope)
        .await
        .map_err(CoreError::from)?;
    let d = all
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| ApiError::not_found("managed device not found"))?;
    let item = apply_select(
        to_value(&ManagedDeviceOut::from_device(d, ctx.version)),
        ctx.query.select.as_deref(),
    );
    Ok(Json(entity(ctx.entity_context(MANAGED), item)))
}

#[utoipa::path(
    delete,
    path = "/{version}/deviceManagement/managedDevices/{id}",
    params(("version" = String, Path, description = "v1.0 or beta"), ("id" = String, Path, description = "GUID")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Malformed key"), (status = 403, description = "Read-only token"), (status = 404, description = "Not found"), (status = 401, description = "Missing, invalid, expired or revoked token"), (status = 429, description = "Too many failed authentications")),
    security(("bearer" = [])),
    tag = "managedDevices"
)]
pub async fn delete_managed<S: ApiStore>(
    State(st): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let scope = caller.writable()?;
    let id = parse_key(&id, ManagedDeviceId::parse)?;
    if st
        .registry
        .store()
        .delete_managed_device(scope, id)
        .await
        .map_err(CoreError::from)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("managed device not found"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_ids_filters() {
        assert_eq!(
            parse_physical_ids_filter("physicalIds/any(p:startswith(p,'[ZTDId]'))").ok(),
            Some(PhysicalIdsFilter::StartsWith("[ZTDId]".into()))
        );
        assert_eq!(
            parse_physical_ids_filter("physicalids/any(x: x eq '[OrderID]:it''s')").ok(),
            Some(PhysicalIdsFilter::Eq("[OrderID]:it's".into()))
        );
        for bad in [
            "displayName eq 'x'",
            "physicalIds/any(p:startswith(q,'x'))",
            "physicalIds/any(p:p ne 'x')",
            "physicalIds/any(p:startswith(p,'x)",
        ] {
            assert!(parse_physical_ids_filter(bad).is_err(), "{bad}");
        }
    }
}
