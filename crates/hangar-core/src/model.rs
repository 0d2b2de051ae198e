//! The registry's data: tenants, Autopilot registrations, imported rows, sync state, directory and
//! managed devices, the audit log. Property names follow Graph (graph-api.md), in snake_case.

use crate::error::ZtdError;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id. Time-ordered (UUID v7), so that rows inserted together land together in
            /// the stores' primary-key indexes instead of at random pages.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(text: &str) -> Option<Self> {
                Uuid::parse_str(text.trim()).ok().map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// A tenant (directory) id.
    TenantId
);
id_type!(
    /// An Autopilot registration (`windowsAutopilotDeviceIdentity.id`, the ZTDId).
    DeviceId
);
id_type!(
    /// One imported row (`importedWindowsAutopilotDeviceIdentity.id`).
    ImportedDeviceId
);
id_type!(
    /// A directory (Entra) device object.
    DirectoryDeviceId
);
id_type!(
    /// A managed (MDM) device.
    ManagedDeviceId
);

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The Graph (lower-camel) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(EnrollmentState {
    Unknown = "unknown",
    Enrolled = "enrolled",
    PendingReset = "pendingReset",
    Failed = "failed",
    NotContacted = "notContacted",
    Blocked = "blocked",
});

string_enum!(ProfileAssignmentStatus {
    Unknown = "unknown",
    AssignedInSync = "assignedInSync",
    AssignedOutOfSync = "assignedOutOfSync",
    AssignedUnkownSyncState = "assignedUnkownSyncState",
    NotAssigned = "notAssigned",
    Pending = "pending",
    Failed = "failed",
});

string_enum!(ProfileAssignmentDetailedStatus {
    None = "none",
    HardwareRequirementsNotMet = "hardwareRequirementsNotMet",
    SurfaceHubProfileNotSupported = "surfaceHubProfileNotSupported",
    HoloLensProfileNotSupported = "holoLensProfileNotSupported",
    WindowsPcProfileNotSupported = "windowsPcProfileNotSupported",
    SurfaceHub2SProfileNotSupported = "surfaceHub2SProfileNotSupported",
    UnknownFutureValue = "unknownFutureValue",
});

string_enum!(RemediationState {
    Unknown = "unknown",
    NoRemediationRequired = "noRemediationRequired",
    AutomaticRemediationRequired = "automaticRemediationRequired",
    ManualRemediationRequired = "manualRemediationRequired",
});

string_enum!(UserlessEnrollmentStatus { Unknown = "unknown", Allowed = "allowed", Blocked = "blocked" });

string_enum!(
    /// How a registration came to be.
    RegistrationSource { Import = "import", Partner = "partner", Oem = "oem" }
);

string_enum!(DeviceImportStatus {
    Unknown = "unknown",
    Pending = "pending",
    Partial = "partial",
    Complete = "complete",
    Error = "error",
});

string_enum!(SyncStatus { Unknown = "unknown", InProgress = "inProgress", Completed = "completed", Failed = "failed" });

/// A tenant (an Entra directory) whose devices Hangar registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    /// `contoso.onmicrosoft.com` style.
    pub primary_domain: String,
    pub created: OffsetDateTime,
}

/// The placeholder for "never happened" (`0001-01-01T00:00:00Z` on the wire).
pub fn never() -> OffsetDateTime {
    time::macros::datetime!(0001-01-01 00:00:00 UTC)
}

/// An Autopilot registration: every property of `windowsAutopilotDeviceIdentity` (v1.0 and beta)
/// plus Hangar's own bookkeeping. String properties Graph may return empty are `""`, never absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutopilotDevice {
    pub id: DeviceId,
    pub tenant_id: TenantId,
    // v1.0
    pub group_tag: String,
    pub purchase_order_identifier: String,
    pub serial_number: String,
    pub product_key: String,
    pub manufacturer: String,
    pub model: String,
    pub enrollment_state: EnrollmentState,
    pub last_contacted: Option<OffsetDateTime>,
    pub addressable_user_name: String,
    pub user_principal_name: String,
    pub resource_name: String,
    pub sku_number: String,
    pub system_family: String,
    pub azure_active_directory_device_id: String,
    /// `None` is served as the nil GUID.
    pub managed_device_id: Option<ManagedDeviceId>,
    pub display_name: String,
    // beta
    pub azure_ad_device_id: String,
    pub deployment_profile_assignment_status: ProfileAssignmentStatus,
    pub deployment_profile_assignment_detailed_status: ProfileAssignmentDetailedStatus,
    pub deployment_profile_assigned: Option<OffsetDateTime>,
    pub device_account_upn: String,
    pub device_account_password: String,
    pub device_friendly_name: String,
    pub remediation_state: RemediationState,
    pub remediation_state_last_modified: Option<OffsetDateTime>,
    pub userless_enrollment_status: UserlessEnrollmentStatus,
    // Hangar
    /// The hardware hash as uploaded (3000 bytes), kept byte for byte.
    pub hardware_hash: Vec<u8>,
    pub identity_keys: hwhash::IdentityKeys,
    pub source: RegistrationSource,
    /// The principal that registered it (`admin:…`, `partner:…`, `oem:…`).
    pub registered_by: String,
    /// The import that created it, when it came from one.
    pub import_id: Option<String>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    /// Whether the tenant's Autopilot list shows it yet (imports: at once; partner/OEM: next sync).
    pub published: bool,
    /// Deregistered by a partner/OEM; the next sync removes it from the tenant's list.
    pub pending_removal: bool,
}

/// The identity keys of a device as the unique strings the registry indexes. One device, one
/// tenant: two registrations may never share any of these.
pub fn key_strings(keys: &hwhash::IdentityKeys) -> Vec<String> {
    let mut out = Vec::with_capacity(4);
    if let Some(ek) = &keys.tpm_ek_hash {
        out.push(format!("ek:{ek}"));
    }
    if let Some(uuid) = &keys.smbios_uuid {
        out.push(format!("uuid:{uuid}"));
    }
    if let Some(t) = &keys.tuple {
        out.push(format!(
            "tuple:{}\u{1f}{}\u{1f}{}",
            t.manufacturer, t.model, t.serial
        ));
    }
    if let Some(pkid) = &keys.product_key_id {
        out.push(format!("pkid:{pkid}"));
    }
    out
}

/// Rebuilds identity keys from [`key_strings`].
pub fn keys_from_strings<'a>(strings: impl IntoIterator<Item = &'a str>) -> hwhash::IdentityKeys {
    let mut keys = hwhash::IdentityKeys::default();
    for s in strings {
        if let Some(v) = s.strip_prefix("ek:") {
            keys.tpm_ek_hash = Some(v.to_string());
        } else if let Some(v) = s.strip_prefix("uuid:") {
            keys.smbios_uuid = Some(v.to_string());
        } else if let Some(v) = s.strip_prefix("pkid:") {
            keys.product_key_id = Some(v.to_string());
        } else if let Some(v) = s.strip_prefix("tuple:") {
            let mut parts = v.split('\u{1f}');
            if let (Some(m), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) {
                keys.tuple = Some(hwhash::DeviceTuple {
                    manufacturer: m.to_string(),
                    model: p.to_string(),
                    serial: s.to_string(),
                });
            }
        }
    }
    keys
}

impl AutopilotDevice {
    /// A fresh registration with Graph's defaults for a device that never ran Autopilot.
    pub fn new(
        tenant_id: TenantId,
        source: RegistrationSource,
        registered_by: String,
        now: OffsetDateTime,
    ) -> Self {
        AutopilotDevice {
            id: DeviceId::new(),
            tenant_id,
            group_tag: String::new(),
            purchase_order_identifier: String::new(),
            serial_number: String::new(),
            product_key: String::new(),
            manufacturer: String::new(),
            model: String::new(),
            enrollment_state: EnrollmentState::NotContacted,
            last_contacted: None,
            addressable_user_name: String::new(),
            user_principal_name: String::new(),
            resource_name: String::new(),
            sku_number: String::new(),
            system_family: String::new(),
            azure_active_directory_device_id: String::new(),
            managed_device_id: None,
            display_name: String::new(),
            azure_ad_device_id: String::new(),
            deployment_profile_assignment_status: ProfileAssignmentStatus::NotAssigned,
            deployment_profile_assignment_detailed_status: ProfileAssignmentDetailedStatus::None,
            deployment_profile_assigned: None,
            device_account_upn: String::new(),
            device_account_password: String::new(),
            device_friendly_name: String::new(),
            remediation_state: RemediationState::Unknown,
            remediation_state_last_modified: None,
            userless_enrollment_status: UserlessEnrollmentStatus::Unknown,
            hardware_hash: Vec::new(),
            identity_keys: hwhash::IdentityKeys::default(),
            source,
            registered_by,
            import_id: None,
            created: now,
            updated: now,
            published: false,
            pending_removal: false,
        }
    }
}

/// One row handed to an import, whatever it came from (the CSV dialect, Graph `import`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportRow {
    pub serial_number: String,
    pub product_key: String,
    /// The decoded hash bytes (Graph's `hardwareIdentifier`).
    pub hardware_hash: Vec<u8>,
    pub group_tag: String,
    pub assigned_user_principal_name: String,
}

impl ImportRow {
    /// A row from the base64 text of a hash (CSV column `Hardware Hash`). Text that is not base64
    /// is kept as is, so that processing reports it as 802 on the row instead of losing the row.
    pub fn with_base64_hash(serial_number: impl Into<String>, hash_base64: &str) -> ImportRow {
        let bytes = hwhash::base64_to_bytes(hash_base64.trim().as_bytes())
            .unwrap_or_else(|_| hash_base64.as_bytes().to_vec());
        ImportRow {
            serial_number: serial_number.into(),
            hardware_hash: bytes,
            ..ImportRow::default()
        }
    }
}

/// `importedWindowsAutopilotDeviceIdentityState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportState {
    pub status: DeviceImportStatus,
    pub device_registration_id: Option<DeviceId>,
    /// `None` means `deviceErrorCode: 0, deviceErrorName: "None"`.
    pub error: Option<ZtdError>,
}

impl ImportState {
    pub fn unknown() -> ImportState {
        ImportState {
            status: DeviceImportStatus::Unknown,
            device_registration_id: None,
            error: None,
        }
    }

    pub fn complete(id: DeviceId) -> ImportState {
        ImportState {
            status: DeviceImportStatus::Complete,
            device_registration_id: Some(id),
            error: None,
        }
    }

    pub fn failed(error: ZtdError) -> ImportState {
        ImportState {
            status: DeviceImportStatus::Error,
            device_registration_id: None,
            error: Some(error),
        }
    }

    pub fn error_code(&self) -> i32 {
        self.error.map_or(0, ZtdError::code)
    }

    pub fn error_name(&self) -> &'static str {
        self.error.map_or("None", ZtdError::name)
    }
}

/// `importedWindowsAutopilotDeviceIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedDevice {
    pub id: ImportedDeviceId,
    pub tenant_id: TenantId,
    pub import_id: String,
    /// Position in its import (the first of duplicates wins).
    pub seq: i64,
    pub group_tag: String,
    pub serial_number: String,
    pub product_key: String,
    pub hardware_identifier: Vec<u8>,
    pub assigned_user_principal_name: String,
    pub state: ImportState,
    pub created: OffsetDateTime,
}

/// `windowsAutopilotSettings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub tenant_id: TenantId,
    pub last_sync: Option<OffsetDateTime>,
    pub last_manual_sync_trigger: Option<OffsetDateTime>,
    pub sync_status: SyncStatus,
}

/// A directory (Entra) device: the placeholder a registration keeps for group targeting, or the
/// joined device after the first run. Filled by a later issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryDevice {
    pub id: DirectoryDeviceId,
    pub tenant_id: TenantId,
    pub device_id: String,
    pub display_name: String,
    pub physical_ids: Vec<String>,
    pub trust_type: String,
    pub account_enabled: bool,
    pub operating_system: String,
    pub registration: Option<OffsetDateTime>,
    pub autopilot_device_id: Option<DeviceId>,
}

/// A managed (MDM) device: exists once a device enrolled. Filled by a later issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedDevice {
    pub id: ManagedDeviceId,
    pub tenant_id: TenantId,
    pub device_name: String,
    pub serial_number: String,
    pub manufacturer: String,
    pub model: String,
    pub user_principal_name: String,
    pub azure_ad_device_id: String,
    pub enrolled: Option<OffsetDateTime>,
    pub last_sync: Option<OffsetDateTime>,
    pub operating_system: String,
    pub management_state: String,
    pub autopilot_enrolled: bool,
    pub enrolled_by_user_id: String,
    pub autopilot_device_id: Option<DeviceId>,
}

/// One audit record: who did what to which objects, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub tenant_id: TenantId,
    pub principal: String,
    /// `import.created`, `import.processed`, `sync.manual`, `sync.automatic`, `device.updated`,
    /// `device.deleted`, `device.registered`, `device.deregistered`.
    pub action: String,
    pub objects: Vec<String>,
    pub detail: String,
    pub at: OffsetDateTime,
}

/// An enum of the string properties a list can filter on, each with its Graph name.
macro_rules! string_fields {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $graph:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The Graph property name.
            pub fn graph_name(self) -> &'static str {
                match self {
                    $($name::$variant => $graph,)*
                }
            }

            /// The property with this Graph name, ignoring case.
            pub fn from_graph_name(name: &str) -> Option<$name> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|f| f.graph_name().eq_ignore_ascii_case(name))
            }
        }
    };
}

string_fields! {
    /// The string properties of an Autopilot device a list can filter on.
    DeviceField {
        GroupTag => "groupTag",
        PurchaseOrderIdentifier => "purchaseOrderIdentifier",
        SerialNumber => "serialNumber",
        ProductKey => "productKey",
        Manufacturer => "manufacturer",
        Model => "model",
        EnrollmentState => "enrollmentState",
        AddressableUserName => "addressableUserName",
        UserPrincipalName => "userPrincipalName",
        ResourceName => "resourceName",
        SkuNumber => "skuNumber",
        SystemFamily => "systemFamily",
        AzureActiveDirectoryDeviceId => "azureActiveDirectoryDeviceId",
        DisplayName => "displayName",
        DeploymentProfileAssignmentStatus => "deploymentProfileAssignmentStatus",
    }
}

string_fields! {
    /// The string properties of an imported device row a list can filter on.
    ImportedField {
        SerialNumber => "serialNumber",
        GroupTag => "groupTag",
        ProductKey => "productKey",
        ImportId => "importId",
        AssignedUserPrincipalName => "assignedUserPrincipalName",
    }
}

string_fields! {
    /// The string properties of a managed device a list can filter on.
    ManagedField {
        DeviceName => "deviceName",
        SerialNumber => "serialNumber",
        Manufacturer => "manufacturer",
        Model => "model",
        UserPrincipalName => "userPrincipalName",
        AzureAdDeviceId => "azureADDeviceId",
        OperatingSystem => "operatingSystem",
        ManagementState => "managementState",
        EnrolledByUserId => "enrolledByUserId",
    }
}

impl ManagedDevice {
    pub fn field(&self, f: ManagedField) -> &str {
        match f {
            ManagedField::DeviceName => &self.device_name,
            ManagedField::SerialNumber => &self.serial_number,
            ManagedField::Manufacturer => &self.manufacturer,
            ManagedField::Model => &self.model,
            ManagedField::UserPrincipalName => &self.user_principal_name,
            ManagedField::AzureAdDeviceId => &self.azure_ad_device_id,
            ManagedField::OperatingSystem => &self.operating_system,
            ManagedField::ManagementState => &self.management_state,
            ManagedField::EnrolledByUserId => &self.enrolled_by_user_id,
        }
    }
}

/// A list filter: Graph's `contains`, `startswith`, `eq`, `ne`, `and`, `or` on string properties,
/// compared case-insensitively. Parsing OData text into it belongs to the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter<F> {
    Contains(F, String),
    StartsWith(F, String),
    Eq(F, String),
    Ne(F, String),
    And(Box<Filter<F>>, Box<Filter<F>>),
    Or(Box<Filter<F>>, Box<Filter<F>>),
}

impl<F> Filter<F> {
    pub fn and(self, other: Filter<F>) -> Filter<F> {
        Filter::And(Box::new(self), Box::new(other))
    }

    pub fn or(self, other: Filter<F>) -> Filter<F> {
        Filter::Or(Box::new(self), Box::new(other))
    }
}

impl<F: Copy> Filter<F> {
    /// Whether an item whose properties `value` reads matches, compared as the stores compare:
    /// ignoring case. For lists that are filtered in memory.
    pub fn matches<'a>(&self, value: &dyn Fn(F) -> &'a str) -> bool {
        let lower = |f: F| value(f).to_lowercase();
        match self {
            Filter::Contains(f, v) => lower(*f).contains(&v.to_lowercase()),
            Filter::StartsWith(f, v) => lower(*f).starts_with(&v.to_lowercase()),
            Filter::Eq(f, v) => lower(*f) == v.to_lowercase(),
            Filter::Ne(f, v) => lower(*f) != v.to_lowercase(),
            Filter::And(a, b) => a.matches(value) && b.matches(value),
            Filter::Or(a, b) => a.matches(value) || b.matches(value),
        }
    }
}

/// A page request: at most `top` items after the position in `skiptoken` (opaque, from the
/// previous page's `next`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub top: usize,
    pub skiptoken: Option<String>,
}

impl PageRequest {
    pub const MAX_TOP: usize = 1000;

    pub fn first(top: usize) -> PageRequest {
        PageRequest {
            top,
            skiptoken: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The skiptoken of the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Skiptokens are the last key of a page, opaque to clients.
pub fn encode_skiptoken(last_key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last_key.as_bytes())
}

pub fn decode_skiptoken(token: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Changes to a registration (`updateDeviceProperties`, `assignUserToDevice`). `None` leaves a
/// property as it is; `Some("")` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicePatch {
    pub group_tag: Option<String>,
    pub user_principal_name: Option<String>,
    pub addressable_user_name: Option<String>,
    pub display_name: Option<String>,
    pub device_account_upn: Option<String>,
    pub device_account_password: Option<String>,
    pub device_friendly_name: Option<String>,
}

impl DevicePatch {
    pub fn is_empty(&self) -> bool {
        *self == DevicePatch::default()
    }
}

/// Converts times to the stores' representation: BIGINT microseconds since the Unix epoch.
pub fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_in_memory_ignoring_case() {
        let f = Filter::Contains(ManagedField::DeviceName, "desk".into())
            .and(Filter::Ne(ManagedField::Manufacturer, "CONTOSO".into()))
            .or(Filter::Eq(ManagedField::SerialNumber, "sn-1".into()));
        let read = |name: &'static str, maker: &'static str, serial: &'static str| {
            move |field: ManagedField| match field {
                ManagedField::DeviceName => name,
                ManagedField::Manufacturer => maker,
                ManagedField::SerialNumber => serial,
                _ => "",
            }
        };
        assert!(f.matches(&read("DESKTOP-1", "Fabrikam", "X")));
        assert!(!f.matches(&read("DESKTOP-1", "contoso", "X")));
        assert!(f.matches(&read("LAPTOP", "contoso", "SN-1")));
        assert!(!f.matches(&read("LAPTOP", "Fabrikam", "SN-2")));
        assert!(Filter::StartsWith(ManagedField::Model, "surf".into())
            .matches(&|_: ManagedField| "Surface Pro"));
        assert_eq!(
            ManagedField::from_graph_name("azureaddeviceid"),
            Some(ManagedField::AzureAdDeviceId)
        );
        assert_eq!(
            ImportedField::from_graph_name("IMPORTID"),
            Some(ImportedField::ImportId)
        );
        assert_eq!(DeviceField::from_graph_name("nope"), None);
    }

    #[test]
    fn key_strings_round_trip() {
        let hash = hwhash::Builder::new()
            .serial("S1")
            .manufacturer("Contoso")
            .model("M")
            .tpm()
            .product_key_id("1234567890123")
            .build();
        let keys = hwhash::IdentityKeys::of(&hash);
        let strings = key_strings(&keys);
        assert_eq!(strings.len(), 4);
        assert_eq!(keys_from_strings(strings.iter().map(String::as_str)), keys);
    }

    #[test]
    fn skiptokens_round_trip_and_reject_garbage() {
        assert_eq!(
            decode_skiptoken(&encode_skiptoken("abc-1")),
            Some("abc-1".into())
        );
        assert_eq!(decode_skiptoken("%%%"), None);
    }

    #[test]
    fn micros_round_trip() {
        let t = time::macros::datetime!(2026-03-01 10:20:30.123456 UTC);
        assert_eq!(from_micros(to_micros(t)), t);
    }
}
