//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the wire
//! types' `ToSchema` derives. Every Graph path exists under `/v1.0` and `/beta` (`{version}`).

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hangar",
        description = "Microsoft-Graph-compatible Windows Autopilot device registration. Errors are Graph error JSON \
                       ({\"error\":{\"code\",\"message\",\"innerError\"}}) everywhere under /v1.0 and /beta."
    ),
    paths(
        crate::graph::devices::list,
        crate::graph::devices::get_one,
        crate::graph::devices::delete,
        crate::graph::devices::collection_action,
        crate::graph::devices::action,
        crate::graph::devices::navigation,
        crate::graph::imported::list,
        crate::graph::imported::get_one,
        crate::graph::imported::delete,
        crate::graph::imported::create,
        crate::graph::imported::collection_action,
        crate::graph::settings::get,
        crate::graph::settings::action,
        crate::graph::directory::list_directory,
        crate::graph::directory::get_directory,
        crate::graph::directory::list_managed,
        crate::graph::directory::get_managed,
        crate::graph::directory::delete_managed,
        crate::token::token,
        crate::healthz,
        crate::readyz,
    ),
    components(schemas(
        crate::graph::model::DeviceIdentity,
        crate::graph::model::DeviceIdentityBeta,
        crate::graph::model::ImportedIdentity,
        crate::graph::model::ImportedState,
        crate::graph::model::ImportedIdentityInput,
        crate::graph::model::ImportRequest,
        crate::graph::model::UpdateDeviceProperties,
        crate::graph::model::AssignUser,
        crate::graph::model::DeleteDevicesRequest,
        crate::graph::model::AutopilotSettings,
        crate::graph::model::DirectoryDeviceOut,
        crate::graph::model::ManagedDeviceOut,
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The document as JSON text (what `/openapi.json` serves).
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
