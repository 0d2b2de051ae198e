//! The Graph wire shapes the client reads and writes. Every property a server may leave out has a
//! default, and unknown properties are ignored, so the same types read Hangar and
//! `graph.microsoft.com` (v1.0 and beta).

use serde::{Deserialize, Serialize};

/// `windowsAutopilotDeviceIdentity` (v1.0 properties plus the beta ones the CLI shows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeviceIdentity {
    pub id: String,
    pub group_tag: String,
    pub purchase_order_identifier: String,
    pub serial_number: String,
    pub product_key: String,
    pub manufacturer: String,
    pub model: String,
    pub enrollment_state: String,
    pub last_contacted_date_time: String,
    pub addressable_user_name: String,
    pub user_principal_name: String,
    pub resource_name: String,
    pub sku_number: String,
    pub system_family: String,
    pub azure_active_directory_device_id: String,
    pub managed_device_id: String,
    pub display_name: String,
    /// Beta only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_profile_assignment_status: Option<String>,
}

/// `importedWindowsAutopilotDeviceIdentityState`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportState {
    /// `unknown` while the row is being processed; `complete`, `error`, `pending`, `partial` once
    /// it is final (see [`ImportState::is_final`]).
    pub device_import_status: String,
    pub device_registration_id: Option<String>,
    pub device_error_code: i32,
    pub device_error_name: Option<String>,
}

impl ImportState {
    /// Graph's polling contract: `unknown` (or nothing yet) means "still working".
    pub fn is_final(&self) -> bool {
        !(self.device_import_status.is_empty()
            || self.device_import_status.eq_ignore_ascii_case("unknown"))
    }

    pub fn is_complete(&self) -> bool {
        self.device_import_status.eq_ignore_ascii_case("complete")
    }
}

/// `importedWindowsAutopilotDeviceIdentity` as the server returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportedDevice {
    pub id: String,
    pub group_tag: Option<String>,
    pub serial_number: Option<String>,
    pub product_key: Option<String>,
    pub import_id: Option<String>,
    /// Base64.
    pub hardware_identifier: Option<String>,
    pub assigned_user_principal_name: Option<String>,
    pub state: ImportState,
}

/// One device to import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewImportedDevice {
    pub serial_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_key: Option<String>,
    /// The hardware hash, base64 (the "Hardware Hash" column of an import CSV).
    pub hardware_identifier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_user_principal_name: Option<String>,
}

/// The body of `updateDeviceProperties`; absent fields are left unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addressable_user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl DeviceUpdate {
    pub fn is_empty(&self) -> bool {
        self == &DeviceUpdate::default()
    }
}

/// Beta `windowsAutopilotSettings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutopilotSettings {
    pub id: String,
    pub last_sync_date_time: String,
    pub last_manual_sync_trigger_date_time: String,
    pub sync_status: String,
}

/// One answer of beta `deleteDevices`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeletedDeviceState {
    pub serial_number: String,
    pub device_registration_id: Option<String>,
    /// `accepted`, `failed` or `error`.
    pub deletion_state: String,
    pub error_message: Option<String>,
}

/// A Graph collection page.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportBody<'a> {
    pub imported_windows_autopilot_device_identities: &'a [NewImportedDevice],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssignUserBody<'a> {
    pub user_principal_name: &'a str,
    pub addressable_user_name: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteDevicesBody<'a> {
    pub serial_numbers: &'a [String],
}
