use super::Registry;
use crate::authz::{require_system, Principal, TenantScope};
use crate::model::{Tenant, TenantId};
use crate::store::{Store, StoreError};
use crate::{CoreError, CoreResult};

impl<S: Store> Registry<S> {
    /// Creates a tenant (Hangar's operators only). The domain is `contoso.onmicrosoft.com` style.
    pub async fn create_tenant(
        &self,
        principal: &Principal,
        display_name: &str,
        primary_domain: &str,
    ) -> CoreResult<Tenant> {
        let sys = require_system(principal)?;
        let display_name = display_name.trim();
        let domain = primary_domain.trim().to_ascii_lowercase();
        if display_name.is_empty() {
            return Err(CoreError::Validation(
                "the tenant needs a display name".into(),
            ));
        }
        if !is_domain(&domain) {
            return Err(CoreError::Validation(format!(
                "'{primary_domain}' is not a domain name; use a name like contoso.onmicrosoft.com"
            )));
        }
        let tenant = Tenant {
            id: TenantId::new(),
            display_name: display_name.to_string(),
            primary_domain: domain,
            created: self.now(),
        };
        match self.store.create_tenant(&sys, &tenant).await {
            Ok(()) => Ok(tenant),
            Err(StoreError::UniqueViolation(_)) => Err(CoreError::Conflict(format!(
                "a tenant with the domain {} exists already",
                tenant.primary_domain
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_tenants(&self, principal: &Principal) -> CoreResult<Vec<Tenant>> {
        let sys = require_system(principal)?;
        Ok(self.store.list_tenants(&sys).await?)
    }

    pub async fn get_tenant(&self, scope: &TenantScope) -> CoreResult<Tenant> {
        self.store
            .get_tenant(scope)
            .await?
            .ok_or(CoreError::NotFound { what: "tenant" })
    }
}

fn is_domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn domains() {
        assert!(super::is_domain("contoso.onmicrosoft.com"));
        assert!(!super::is_domain("contoso"));
        assert!(!super::is_domain("con toso.com"));
        assert!(!super::is_domain("-a.com"));
    }
}
