//! Sync: publishes pending partner/OEM registrations into the tenant's list, removes deregistered
//! ones, runs profile assignment and stamps `lastSyncDateTime`. Manual syncs are limited to one per
//! window per tenant; the window lives in the database so it holds across processes.

use super::Registry;
use crate::authz::{authorize, require_system, Principal, TenantScope};
use crate::model::{SyncState, SyncStatus, TenantId};
use crate::store::{BeginSync, Store, SyncChanges};
use crate::{CoreError, CoreResult};
use std::time::Duration;

impl<S: Store> Registry<S> {
    /// `windowsAutopilotSettings`.
    pub async fn sync_settings(&self, scope: &TenantScope) -> CoreResult<SyncState> {
        Ok(self.store.get_sync_state(scope).await?)
    }

    /// A manual sync: `RateLimited` inside the window since the last manual trigger, `Conflict`
    /// while one runs. Runs to completion before returning.
    pub async fn trigger_manual_sync(&self, scope: &TenantScope) -> CoreResult<SyncChanges> {
        let now = self.now();
        let stale = now - self.config.sync_stale_after;
        match self
            .store
            .begin_manual_sync(scope, now, self.config.sync_window, stale)
            .await?
        {
            BeginSync::Started => self.run_sync(scope, "sync.manual").await,
            BeginSync::InProgress => Err(CoreError::Conflict(
                "a sync is in progress for this tenant".into(),
            )),
            BeginSync::TooSoon { retry_at } => {
                let left = (retry_at - now).whole_microseconds().max(0) as u64;
                // Round up: say the truth in Retry-After.
                Err(CoreError::RateLimited {
                    retry_after: Duration::from_secs(left.div_ceil(1_000_000).max(1)),
                })
            }
        }
    }

    /// Runs the automatic sync of every tenant whose last sync is older than the configured
    /// interval. The server calls this on a timer; several processes may call it at once.
    pub async fn run_due_automatic_syncs(&self) -> CoreResult<Vec<(TenantId, SyncChanges)>> {
        let principal = Principal::system("auto-sync");
        let sys = require_system(&principal)?;
        let now = self.now();
        let due_before = now - self.config.auto_sync_interval;
        let stale = now - self.config.sync_stale_after;
        let mut done = Vec::new();
        for tenant in self
            .store
            .tenants_due_for_sync(&sys, due_before, stale)
            .await?
        {
            let scope = authorize(&principal, tenant)?;
            if self
                .store
                .begin_automatic_sync(&scope, now, due_before, stale)
                .await?
            {
                done.push((tenant, self.run_sync(&scope, "sync.automatic").await?));
            }
        }
        Ok(done)
    }

    async fn run_sync(&self, scope: &TenantScope, action: &str) -> CoreResult<SyncChanges> {
        let result = async {
            let changes = self.store.apply_sync(scope).await?;
            self.assign_profiles(scope).await?;
            Ok::<_, CoreError>(changes)
        }
        .await;
        match result {
            Ok(changes) => {
                self.store
                    .finish_sync(scope, self.now(), SyncStatus::Completed)
                    .await?;
                self.audit(
                    scope,
                    action,
                    Vec::new(),
                    format!(
                        "{} published, {} removed",
                        changes.published, changes.removed
                    ),
                )
                .await?;
                Ok(changes)
            }
            Err(e) => {
                // Best effort: the stale-sync rule frees the tenant even if this write fails too.
                let _ = self
                    .store
                    .finish_sync(scope, self.now(), SyncStatus::Failed)
                    .await;
                Err(e)
            }
        }
    }

    /// Profile assignment, run by every sync. Deployment profiles do not exist yet: an explicit
    /// no-op until they do.
    async fn assign_profiles(&self, _scope: &TenantScope) -> CoreResult<()> {
        Ok(())
    }
}
