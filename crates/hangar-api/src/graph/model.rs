//! The Graph wire shapes (graph-api.md), built from the registry's model.

use hangar_core::model::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// API version of a request: beta-only properties appear only on `/beta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    Beta,
}

impl Version {
    pub fn segment(self) -> &'static str {
        match self {
            Version::V1 => "v1.0",
            Version::Beta => "beta",
        }
    }

    /// The version a routed path names (the request middleware has lower-cased it).
    pub fn of_path(path: &str) -> Version {
        if path.starts_with("/beta/") {
            Version::Beta
        } else {
            Version::V1
        }
    }
}

/// ISO-8601 UTC with `Z`; a date that never happened is `0001-01-01T00:00:00Z`.
pub fn date(t: Option<OffsetDateTime>) -> String {
    let t = t.unwrap_or_else(never).to_offset(time::UtcOffset::UTC);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "0001-01-01T00:00:00Z".into())
}

/// Padded standard base64 (`Edm.Binary`).
pub fn binary(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `windowsAutopilotDeviceIdentity`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceIdentity<'a> {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    pub id: String,
    pub group_tag: &'a str,
    pub purchase_order_identifier: &'a str,
    pub serial_number: &'a str,
    pub product_key: &'a str,
    pub manufacturer: &'a str,
    pub model: &'a str,
    pub enrollment_state: &'static str,
    pub last_contacted_date_time: String,
    pub addressable_user_name: &'a str,
    pub user_principal_name: &'a str,
    pub resource_name: &'a str,
    pub sku_number: &'a str,
    pub system_family: &'a str,
    pub azure_active_directory_device_id: &'a str,
    pub managed_device_id: String,
    pub display_name: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub beta: Option<DeviceIdentityBeta<'a>>,
}

/// The beta-only properties of `windowsAutopilotDeviceIdentity`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceIdentityBeta<'a> {
    pub azure_ad_device_id: &'a str,
    pub deployment_profile_assignment_status: &'static str,
    pub deployment_profile_assignment_detailed_status: &'static str,
    pub deployment_profile_assigned_date_time: String,
    pub device_account_upn: &'a str,
    pub device_account_password: &'static str,
    pub device_friendly_name: &'a str,
    pub remediation_state: &'static str,
    pub remediation_state_last_modified_date_time: String,
    pub userless_enrollment_status: &'static str,
}

impl<'a> DeviceIdentity<'a> {
    pub fn from_device(d: &'a AutopilotDevice, v: Version) -> DeviceIdentity<'a> {
        // v1.0 has no `blocked` enrollment state.
        let enrollment_state = match (d.enrollment_state, v) {
            (EnrollmentState::Blocked, Version::V1) => EnrollmentState::Unknown,
            (s, _) => s,
        };
        DeviceIdentity {
            odata_type: "#microsoft.graph.windowsAutopilotDeviceIdentity",
            id: d.id.to_string(),
            group_tag: &d.group_tag,
            purchase_order_identifier: &d.purchase_order_identifier,
            serial_number: &d.serial_number,
            product_key: &d.product_key,
            manufacturer: &d.manufacturer,
            model: &d.model,
            enrollment_state: enrollment_state.as_str(),
            last_contacted_date_time: date(d.last_contacted),
            addressable_user_name: &d.addressable_user_name,
            user_principal_name: &d.user_principal_name,
            resource_name: &d.resource_name,
            sku_number: &d.sku_number,
            system_family: &d.system_family,
            azure_active_directory_device_id: &d.azure_active_directory_device_id,
            managed_device_id: d
                .managed_device_id
                .map_or_else(|| NIL_GUID.to_string(), |m| m.to_string()),
            display_name: &d.display_name,
            beta: (v == Version::Beta).then(|| DeviceIdentityBeta {
                azure_ad_device_id: &d.azure_ad_device_id,
                deployment_profile_assignment_status: d
                    .deployment_profile_assignment_status
                    .as_str(),
                deployment_profile_assignment_detailed_status: d
                    .deployment_profile_assignment_detailed_status
                    .as_str(),
                deployment_profile_assigned_date_time: date(d.deployment_profile_assigned),
                device_account_upn: &d.device_account_upn,
                // A password is write-only: it is kept for the device, never served back.
                device_account_password: "",
                device_friendly_name: &d.device_friendly_name,
                remediation_state: d.remediation_state.as_str(),
                remediation_state_last_modified_date_time: date(d.remediation_state_last_modified),
                userless_enrollment_status: d.userless_enrollment_status.as_str(),
            }),
        }
    }
}

/// `importedWindowsAutopilotDeviceIdentityState`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportedState {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    pub device_import_status: String,
    pub device_registration_id: Option<String>,
    pub device_error_code: i32,
    pub device_error_name: String,
}

/// `importedWindowsAutopilotDeviceIdentity`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportedIdentity {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    pub id: String,
    pub group_tag: String,
    pub serial_number: String,
    pub product_key: String,
    pub import_id: String,
    /// Padded base64.
    pub hardware_identifier: String,
    pub assigned_user_principal_name: String,
    pub state: ImportedState,
}

impl ImportedIdentity {
    pub fn from_imported(d: &ImportedDevice) -> ImportedIdentity {
        ImportedIdentity {
            odata_type: "#microsoft.graph.importedWindowsAutopilotDeviceIdentity",
            id: d.id.to_string(),
            group_tag: d.group_tag.clone(),
            serial_number: d.serial_number.clone(),
            product_key: d.product_key.clone(),
            import_id: d.import_id.clone(),
            hardware_identifier: binary(&d.hardware_identifier),
            assigned_user_principal_name: d.assigned_user_principal_name.clone(),
            state: ImportedState {
                odata_type: "microsoft.graph.importedWindowsAutopilotDeviceIdentityState",
                device_import_status: d.state.status.as_str().into(),
                device_registration_id: d.state.device_registration_id.map(|i| i.to_string()),
                device_error_code: d.state.error_code(),
                device_error_name: d.state.error_name().into(),
            },
        }
    }
}

/// An imported device as a client sends it. Unknown properties (and `state`) are ignored.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportedIdentityInput {
    pub group_tag: Option<String>,
    pub serial_number: Option<String>,
    pub product_key: Option<String>,
    /// Base64, padded or not.
    pub hardware_identifier: Option<String>,
    pub assigned_user_principal_name: Option<String>,
    /// The group tag under its old beta name, still sent by the WindowsAutopilotIntune PowerShell
    /// module (and so by `Get-WindowsAutopilotInfo -Online`); `groupTag` wins when both are set.
    pub order_identifier: Option<String>,
}

impl ImportedIdentityInput {
    pub fn into_row(self) -> ImportRow {
        let text = |v: Option<String>| v.unwrap_or_default();
        let hash_text = text(self.hardware_identifier);
        // Text that is not base64 is kept so that processing reports 802 on the row.
        let hash = hwhash::base64_to_bytes(hash_text.trim().as_bytes())
            .unwrap_or_else(|_| hash_text.into_bytes());
        ImportRow {
            serial_number: text(self.serial_number),
            product_key: text(self.product_key),
            hardware_hash: hash,
            group_tag: crate::body::present(self.group_tag)
                .or(self.order_identifier)
                .unwrap_or_default(),
            assigned_user_principal_name: text(self.assigned_user_principal_name),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportRequest {
    pub imported_windows_autopilot_device_identities: Vec<ImportedIdentityInput>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateDeviceProperties {
    pub user_principal_name: Option<String>,
    pub addressable_user_name: Option<String>,
    pub group_tag: Option<String>,
    pub display_name: Option<String>,
    pub device_account_upn: Option<String>,
    pub device_account_password: Option<String>,
    pub device_friendly_name: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignUser {
    pub user_principal_name: Option<String>,
    pub addressable_user_name: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DeleteDevicesRequest {
    pub serial_numbers: Vec<String>,
}

/// `windowsAutopilotSettings`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutopilotSettings {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    pub id: String,
    pub last_sync_date_time: String,
    pub last_manual_sync_trigger_date_time: String,
    pub sync_status: String,
}

impl AutopilotSettings {
    pub fn from_state(s: &SyncState) -> AutopilotSettings {
        AutopilotSettings {
            odata_type: "#microsoft.graph.windowsAutopilotSettings",
            id: s.tenant_id.to_string(),
            last_sync_date_time: date(s.last_sync),
            last_manual_sync_trigger_date_time: date(s.last_manual_sync_trigger),
            sync_status: s.sync_status.as_str().into(),
        }
    }
}

/// A directory `device`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryDeviceOut {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    pub id: String,
    pub device_id: String,
    pub display_name: String,
    pub physical_ids: Vec<String>,
    pub trust_type: String,
    pub account_enabled: bool,
    pub operating_system: String,
    pub registration_date_time: String,
}

impl DirectoryDeviceOut {
    pub fn from_device(d: &DirectoryDevice) -> DirectoryDeviceOut {
        DirectoryDeviceOut {
            odata_type: "#microsoft.graph.device",
            id: d.id.to_string(),
            device_id: d.device_id.clone(),
            display_name: d.display_name.clone(),
            physical_ids: d.physical_ids.clone(),
            trust_type: d.trust_type.clone(),
            account_enabled: d.account_enabled,
            operating_system: d.operating_system.clone(),
            registration_date_time: date(d.registration),
        }
    }
}

/// A `managedDevice`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedDeviceOut {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    pub id: String,
    pub device_name: String,
    pub serial_number: String,
    pub manufacturer: String,
    pub model: String,
    pub user_principal_name: String,
    #[serde(rename = "azureADDeviceId")]
    pub azure_ad_device_id: String,
    pub enrolled_date_time: String,
    pub last_sync_date_time: String,
    pub operating_system: String,
    pub management_state: String,
    pub enrolled_by_user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autopilot_enrolled: Option<bool>,
}

impl ManagedDeviceOut {
    pub fn from_device(d: &ManagedDevice, v: Version) -> ManagedDeviceOut {
        ManagedDeviceOut {
            odata_type: "#microsoft.graph.managedDevice",
            id: d.id.to_string(),
            device_name: d.device_name.clone(),
            serial_number: d.serial_number.clone(),
            manufacturer: d.manufacturer.clone(),
            model: d.model.clone(),
            user_principal_name: d.user_principal_name.clone(),
            azure_ad_device_id: d.azure_ad_device_id.clone(),
            enrolled_date_time: date(d.enrolled),
            last_sync_date_time: date(d.last_sync),
            operating_system: if d.operating_system.is_empty() {
                "Windows".into()
            } else {
                d.operating_system.clone()
            },
            management_state: d.management_state.clone(),
            enrolled_by_user_id: d.enrolled_by_user_id.clone(),
            autopilot_enrolled: (v == Version::Beta).then_some(d.autopilot_enrolled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_binary() {
        assert_eq!(date(None), "0001-01-01T00:00:00Z");
        assert_eq!(
            date(Some(time::macros::datetime!(2025-03-01 10:20:30 UTC))),
            "2025-03-01T10:20:30Z"
        );
        assert_eq!(binary(b"ab"), "YWI=");
    }
}
