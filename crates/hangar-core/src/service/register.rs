//! Registration on behalf of a tenant by a partner (CSP) or an OEM. Consent checks arrive with the
//! partner API; this is the entry point it will call. Such registrations are published to the
//! tenant's list by its next sync, and so are their deregistrations.

use super::import::Candidate;
use super::Registry;
use crate::authz::{Principal, TenantScope};
use crate::model::*;
use crate::store::Store;
use crate::{CoreError, CoreResult, ZtdError};

/// One device in a partner/OEM batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationRequest {
    pub hardware_hash: Option<Vec<u8>>,
    pub serial_number: String,
    pub manufacturer: String,
    pub model: String,
    pub product_key_id: String,
    pub group_tag: String,
    pub purchase_order_identifier: String,
}

impl<S: Store> Registry<S> {
    /// Registers devices for the scope's tenant with source partner/oem (from the principal).
    /// One result per request, in order.
    pub async fn register_on_behalf(
        &self,
        scope: &TenantScope,
        requests: &[RegistrationRequest],
    ) -> CoreResult<Vec<Result<DeviceId, ZtdError>>> {
        require_partner(scope.principal())?;
        let mut results: Vec<Option<Result<DeviceId, ZtdError>>> = vec![None; requests.len()];
        let mut candidates = Vec::new();
        let mut positions = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            match &r.hardware_hash {
                Some(hash) if !hash.is_empty() => {
                    positions.push(i);
                    candidates.push(Candidate {
                        row: None,
                        hash,
                        serial_number: &r.serial_number,
                        product_key: &r.product_key_id,
                        group_tag: &r.group_tag,
                        user_principal_name: "",
                        purchase_order_identifier: &r.purchase_order_identifier,
                    });
                }
                // A PKID or tuple needs a hash the OEM uploaded when it built the device; Hangar
                // holds no such build reports yet.
                _ if !r.product_key_id.is_empty() || !r.serial_number.is_empty() => {
                    results[i] = Some(Err(ZtdError::ZtdDeviceNotFound));
                }
                _ => results[i] = Some(Err(ZtdError::InvalidZtdRequestBody)),
            }
        }
        if !candidates.is_empty() {
            let (source, by) = (scope.principal().source(), scope.principal().label());
            let registered = self
                .register_candidates(scope, source, &by, None, &candidates)
                .await?;
            let ids: Vec<String> = registered
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|id| id.to_string())
                .collect();
            for (pos, r) in positions.into_iter().zip(registered) {
                results[pos] = Some(r);
            }
            if !ids.is_empty() {
                let n = ids.len();
                self.audit(
                    scope,
                    "device.registered",
                    ids,
                    format!("{n} devices, published by the next sync"),
                )
                .await?;
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or(Err(ZtdError::InvalidZtdRequestBody)))
            .collect())
    }

    /// A partner/OEM deregistration: the identity keys are released at once; the tenant's list
    /// loses the device at its next sync. Partners never see devices the tenant imported itself.
    pub async fn deregister_on_behalf(&self, scope: &TenantScope, id: DeviceId) -> CoreResult<()> {
        require_partner(scope.principal())?;
        let device = self.store.get_device(scope, id).await?;
        match device {
            Some(d) if d.source != RegistrationSource::Import && !d.pending_removal => {
                if !self.store.mark_for_removal(scope, id, self.now()).await? {
                    return Err(CoreError::NotFound { what: "device" });
                }
                self.audit(
                    scope,
                    "device.deregistered",
                    vec![id.to_string()],
                    "removed from the list by the next sync".into(),
                )
                .await
            }
            _ => Err(CoreError::NotFound { what: "device" }),
        }
    }
}

fn require_partner(p: &Principal) -> CoreResult<()> {
    match p {
        Principal::Partner { .. } | Principal::Oem { .. } => Ok(()),
        _ => Err(CoreError::Forbidden(
            "only partners and OEMs register on behalf of a tenant".into(),
        )),
    }
}
