//! Who may act for which tenant. A [`TenantScope`] is the only key to tenant data: every store
//! method that reads or writes a tenant's rows takes one, and only [`authorize`] makes one.

use crate::error::CoreError;
use crate::model::{RegistrationSource, TenantId};

/// Whoever is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An administrator (user or app) of one tenant.
    TenantAdmin { tenant_id: TenantId, name: String },
    /// A CSP partner acting for a customer (consent checks come with the partner API).
    Partner { partner_id: String },
    /// An OEM acting for a customer (consent checks come with the OEM API).
    Oem { oem_id: String },
    /// Hangar itself: background workers, timers and the offline admin commands.
    System { name: String },
}

impl Principal {
    /// How the principal shows up in the audit log and in `registered_by`.
    pub fn label(&self) -> String {
        match self {
            Principal::TenantAdmin { name, .. } => format!("admin:{name}"),
            Principal::Partner { partner_id } => format!("partner:{partner_id}"),
            Principal::Oem { oem_id } => format!("oem:{oem_id}"),
            Principal::System { name } => format!("system:{name}"),
        }
    }

    /// The registration source of devices this principal registers.
    pub fn source(&self) -> RegistrationSource {
        match self {
            Principal::Partner { .. } => RegistrationSource::Partner,
            Principal::Oem { .. } => RegistrationSource::Oem,
            _ => RegistrationSource::Import,
        }
    }

    pub fn system(name: impl Into<String>) -> Principal {
        Principal::System { name: name.into() }
    }
}

/// Proof that `principal` may act on `tenant_id`'s data. Fields are private and there is no public
/// constructor: a store query can only be scoped to a tenant someone was authorized for.
#[derive(Debug, Clone)]
pub struct TenantScope {
    tenant_id: TenantId,
    principal: Principal,
}

impl TenantScope {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

/// Grants `principal` a scope on `tenant_id`, or answers NotFound (never Forbidden: a caller must
/// not learn that another tenant exists).
pub fn authorize(principal: &Principal, tenant_id: TenantId) -> Result<TenantScope, CoreError> {
    let allowed = match principal {
        Principal::TenantAdmin { tenant_id: own, .. } => *own == tenant_id,
        // Consent checks arrive with the partner and OEM APIs; until then the service entry points
        // that register on behalf of a tenant are reachable only from code, not from the network.
        Principal::Partner { .. } | Principal::Oem { .. } => true,
        Principal::System { .. } => true,
    };
    if allowed {
        Ok(TenantScope {
            tenant_id,
            principal: principal.clone(),
        })
    } else {
        Err(CoreError::NotFound { what: "tenant" })
    }
}

/// Proof that the caller may run installation-wide operations: create and list tenants, claim
/// background jobs across tenants.
#[derive(Debug, Clone)]
pub struct SystemScope {
    principal: Principal,
}

impl SystemScope {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

/// Grants installation-wide rights to Hangar's own principals only.
pub fn require_system(principal: &Principal) -> Result<SystemScope, CoreError> {
    match principal {
        Principal::System { .. } => Ok(SystemScope {
            principal: principal.clone(),
        }),
        _ => Err(CoreError::Forbidden(
            "only Hangar's operators may manage tenants".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_gets_only_its_own_tenant() {
        let a = TenantId::new();
        let b = TenantId::new();
        let admin = Principal::TenantAdmin {
            tenant_id: a,
            name: "alice".into(),
        };
        assert_eq!(authorize(&admin, a).map(|s| s.tenant_id()).ok(), Some(a));
        assert!(matches!(
            authorize(&admin, b),
            Err(CoreError::NotFound { .. })
        ));
        assert!(require_system(&admin).is_err());
        assert!(require_system(&Principal::system("cli")).is_ok());
    }
}
