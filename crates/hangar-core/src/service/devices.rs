//! The tenant's Autopilot device list: read, update, assign/unassign the user, deregister.

use super::Registry;
use crate::authz::TenantScope;
use crate::model::*;
use crate::store::{DeleteDevice, Store};
use crate::{CoreError, CoreResult};

/// `deletedWindowsAutopilotDeviceState.deletionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionState {
    Accepted,
    Failed,
    Error,
}

impl DeletionState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionState::Accepted => "accepted",
            DeletionState::Failed => "failed",
            DeletionState::Error => "error",
        }
    }
}

/// One result of a bulk delete by serial number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedDeviceState {
    pub serial_number: String,
    pub device_registration_id: Option<DeviceId>,
    pub deletion_state: DeletionState,
    pub error_message: String,
}

const ENROLLED: &str =
    "the device is enrolled: delete its managed device first (unassign the user, delete the managed device, then delete the Autopilot device)";

pub(crate) fn check_page(page: &PageRequest) -> CoreResult<PageRequest> {
    if let Some(t) = &page.skiptoken {
        if decode_skiptoken(t).is_none() {
            return Err(CoreError::Validation(
                "the $skiptoken is not one Hangar issued".into(),
            ));
        }
    }
    Ok(PageRequest {
        top: page.top.clamp(1, PageRequest::MAX_TOP),
        skiptoken: page.skiptoken.clone(),
    })
}

fn check_upn(upn: &str) -> CoreResult<()> {
    if upn.is_empty() {
        return Ok(());
    }
    match upn.rsplit_once('@') {
        Some((user, domain))
            if !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(())
        }
        _ => Err(CoreError::Validation(format!(
            "'{upn}' is not a user principal name (user@domain)"
        ))),
    }
}

impl<S: Store> Registry<S> {
    /// A device of the tenant's list (NotFound for unpublished and other tenants' devices).
    pub async fn get_device(
        &self,
        scope: &TenantScope,
        id: DeviceId,
    ) -> CoreResult<AutopilotDevice> {
        match self.store.get_device(scope, id).await? {
            Some(d) if d.published => Ok(d),
            _ => Err(CoreError::NotFound { what: "device" }),
        }
    }

    /// [`Registry::get_device`] without the hash bytes and identity keys (left empty), which
    /// showing a device does not need: one indexed read instead of three.
    pub async fn get_device_record(
        &self,
        scope: &TenantScope,
        id: DeviceId,
    ) -> CoreResult<AutopilotDevice> {
        match self.store.get_device_record(scope, id).await? {
            Some(d) if d.published => Ok(d),
            _ => Err(CoreError::NotFound { what: "device" }),
        }
    }

    pub async fn list_devices(
        &self,
        scope: &TenantScope,
        filter: Option<&Filter<DeviceField>>,
        page: &PageRequest,
    ) -> CoreResult<Page<AutopilotDevice>> {
        let page = check_page(page)?;
        Ok(self.store.list_devices(scope, filter, &page).await?)
    }

    /// `updateDeviceProperties`.
    pub async fn update_device(
        &self,
        scope: &TenantScope,
        id: DeviceId,
        patch: &DevicePatch,
    ) -> CoreResult<()> {
        if let Some(upn) = &patch.user_principal_name {
            check_upn(upn.trim())?;
        }
        if let Some(upn) = &patch.device_account_upn {
            check_upn(upn.trim())?;
        }
        self.get_device_record(scope, id).await?;
        let trimmed = DevicePatch {
            group_tag: patch.group_tag.as_ref().map(|s| s.trim().to_string()),
            user_principal_name: patch
                .user_principal_name
                .as_ref()
                .map(|s| s.trim().to_string()),
            addressable_user_name: patch
                .addressable_user_name
                .as_ref()
                .map(|s| s.trim().to_string()),
            display_name: patch.display_name.as_ref().map(|s| s.trim().to_string()),
            device_account_upn: patch
                .device_account_upn
                .as_ref()
                .map(|s| s.trim().to_string()),
            device_account_password: patch.device_account_password.clone(),
            device_friendly_name: patch
                .device_friendly_name
                .as_ref()
                .map(|s| s.trim().to_string()),
        };
        if trimmed.is_empty() {
            return Ok(());
        }
        if !self
            .store
            .update_device(scope, id, &trimmed, self.now())
            .await?
        {
            return Err(CoreError::NotFound { what: "device" });
        }
        let mut changed = Vec::new();
        for (name, v) in [
            ("groupTag", &trimmed.group_tag),
            ("userPrincipalName", &trimmed.user_principal_name),
            ("addressableUserName", &trimmed.addressable_user_name),
            ("displayName", &trimmed.display_name),
            ("deviceAccountUpn", &trimmed.device_account_upn),
            ("deviceFriendlyName", &trimmed.device_friendly_name),
        ] {
            if let Some(v) = v {
                changed.push(format!("{name}={v}"));
            }
        }
        if trimmed.device_account_password.is_some() {
            changed.push("deviceAccountPassword".into());
        }
        self.audit(
            scope,
            "device.updated",
            vec![id.to_string()],
            changed.join(", "),
        )
        .await
    }

    /// `assignUserToDevice`.
    pub async fn assign_user(
        &self,
        scope: &TenantScope,
        id: DeviceId,
        upn: &str,
        addressable_name: &str,
    ) -> CoreResult<()> {
        if upn.trim().is_empty() {
            return Err(CoreError::Validation(
                "userPrincipalName is required".into(),
            ));
        }
        let patch = DevicePatch {
            user_principal_name: Some(upn.to_string()),
            addressable_user_name: Some(addressable_name.to_string()),
            ..DevicePatch::default()
        };
        self.update_device(scope, id, &patch).await
    }

    /// `unassignUserFromDevice`.
    pub async fn unassign_user(&self, scope: &TenantScope, id: DeviceId) -> CoreResult<()> {
        let patch = DevicePatch {
            user_principal_name: Some(String::new()),
            addressable_user_name: Some(String::new()),
            ..DevicePatch::default()
        };
        self.update_device(scope, id, &patch).await
    }

    /// Deregisters a device of the tenant's list, with its directory placeholder. Refused
    /// (`Conflict`) while the device is enrolled.
    pub async fn delete_device(&self, scope: &TenantScope, id: DeviceId) -> CoreResult<()> {
        self.get_device_record(scope, id).await?;
        match self.store.delete_device(scope, id).await? {
            DeleteDevice::Deleted => {
                self.audit(scope, "device.deleted", vec![id.to_string()], String::new())
                    .await
            }
            DeleteDevice::NotFound => Err(CoreError::NotFound { what: "device" }),
            DeleteDevice::Enrolled => Err(CoreError::Conflict(ENROLLED.into())),
        }
    }

    /// Beta `deleteDevices`: one result per serial number, in order.
    pub async fn delete_devices_by_serial(
        &self,
        scope: &TenantScope,
        serials: &[String],
    ) -> CoreResult<Vec<DeletedDeviceState>> {
        let found = self.store.find_by_serials(scope, serials).await?;
        let mut out = Vec::with_capacity(serials.len());
        for serial in serials {
            let ids: Vec<DeviceId> = found
                .iter()
                .filter(|(s, _)| s == serial)
                .map(|(_, id)| *id)
                .collect();
            if ids.is_empty() {
                out.push(DeletedDeviceState {
                    serial_number: serial.clone(),
                    device_registration_id: None,
                    deletion_state: DeletionState::Failed,
                    error_message: format!("no Autopilot device with serial number '{serial}'"),
                });
                continue;
            }
            for id in ids {
                let (state, message) = match self.store.delete_device(scope, id).await {
                    Ok(DeleteDevice::Deleted) => {
                        self.audit(
                            scope,
                            "device.deleted",
                            vec![id.to_string()],
                            format!("by serial {serial}"),
                        )
                        .await?;
                        (DeletionState::Accepted, String::new())
                    }
                    Ok(DeleteDevice::NotFound) => (
                        DeletionState::Failed,
                        "the device was deleted meanwhile".to_string(),
                    ),
                    Ok(DeleteDevice::Enrolled) => (DeletionState::Failed, ENROLLED.to_string()),
                    Err(e) => (DeletionState::Error, e.to_string()),
                };
                out.push(DeletedDeviceState {
                    serial_number: serial.clone(),
                    device_registration_id: Some(id),
                    deletion_state: state,
                    error_message: message,
                });
            }
        }
        Ok(out)
    }
}
