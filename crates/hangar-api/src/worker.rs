//! Background work of a serving process: the job worker (import processing), woken at once by new
//! imports and polling every few seconds for jobs queued by other processes, and the automatic
//! sync timer. Both stop when the shutdown signal fires; a job interrupted mid-way keeps its
//! unprocessed rows `unknown` and its lease expires, so the next start (or another process)
//! resumes it.

use crate::ApiStore;
use hangar_core::service::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub name: String,
    /// How often to look for jobs without being woken.
    pub poll: Duration,
    /// How often to check for tenants due for an automatic sync.
    pub sync_check: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            name: format!("hangar-{}", std::process::id()),
            poll: Duration::from_secs(2),
            sync_check: Duration::from_secs(60),
        }
    }
}

/// Starts the job worker and the sync timer; both end when `shutdown` turns true.
pub fn spawn<S: ApiStore>(
    registry: Registry<S>,
    wake: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    config: WorkerConfig,
) -> Vec<JoinHandle<()>> {
    let jobs = {
        let registry = registry.clone();
        let mut shutdown = shutdown.clone();
        let config = config.clone();
        tokio::spawn(async move {
            loop {
                if *shutdown.borrow() {
                    break;
                }
                // A job runs to the end of its current chunk even if shutdown arrives meanwhile.
                loop {
                    match registry.run_one_job(&config.name).await {
                        Ok(true) if !*shutdown.borrow() => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "a background job failed; it will be retried");
                            break;
                        }
                    }
                }
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(config.poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
            tracing::info!("job worker stopped");
        })
    };
    let sync = {
        let mut shutdown = shutdown;
        tokio::spawn(async move {
            loop {
                if *shutdown.borrow() {
                    break;
                }
                match registry.run_due_automatic_syncs().await {
                    Ok(done) if !done.is_empty() => {
                        tracing::info!(tenants = done.len(), "automatic sync ran")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "automatic sync failed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(config.sync_check) => {}
                    _ = shutdown.changed() => {}
                }
            }
            tracing::info!("sync timer stopped");
        })
    };
    vec![jobs, sync]
}
