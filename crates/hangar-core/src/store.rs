//! Storage traits, split by capability. Every method that touches a tenant's rows takes a
//! [`TenantScope`] (only `authz` makes one) and must filter by its tenant id; installation-wide
//! methods take a [`SystemScope`]. The backends live in `hangar-store-sqlite` and
//! `hangar-store-postgres` and pass the one conformance suite in `hangar-store-tests`.

use crate::authz::{SystemScope, TenantScope};
use crate::model::*;
use std::future::Future;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A concurrent write won: a UNIQUE index refused this one (another registration took one of
    /// the identity keys), or the database broke a deadlock. Callers re-check and retry.
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    /// Anything else from the database (connection lost, disk full, ...).
    #[error("storage error: {0}")]
    Backend(String),
    /// A stored value Hangar cannot read back (a bug or a hand-edited database).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Who holds an identity key already, as far as the asking tenant may know: another tenant's
/// device is reported without its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub key: String,
    pub same_tenant: bool,
    /// Set only when `same_tenant`.
    pub device_id: Option<DeviceId>,
    /// The import that registered it; set only when `same_tenant`.
    pub import_id: Option<String>,
}

/// What processing decided for one imported row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOutcome {
    pub row: ImportedDeviceId,
    pub state: ImportState,
}

/// A background job, claimed under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub tenant_id: TenantId,
    pub kind: JobKind,
    /// How many times it was claimed, this claim included.
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// Process the unknown rows of this import, registering the devices in the name of
    /// `requested_by` (the importing principal's label).
    ProcessImport {
        import_id: String,
        requested_by: String,
    },
}

impl JobKind {
    pub fn kind_str(&self) -> &'static str {
        match self {
            JobKind::ProcessImport { .. } => "import",
        }
    }

    pub fn payload(&self) -> String {
        match self {
            JobKind::ProcessImport {
                import_id,
                requested_by,
            } => format!("{import_id}\n{requested_by}"),
        }
    }

    pub fn from_parts(kind: &str, payload: &str) -> Option<JobKind> {
        match kind {
            "import" => {
                let (import_id, requested_by) = payload.split_once('\n')?;
                Some(JobKind::ProcessImport {
                    import_id: import_id.to_string(),
                    requested_by: requested_by.to_string(),
                })
            }
            _ => None,
        }
    }
}

/// The result of trying to start a manual sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginSync {
    Started,
    /// A sync is running (and its claim is not stale).
    InProgress,
    /// The last manual trigger is inside the window; retry at this time.
    TooSoon {
        retry_at: OffsetDateTime,
    },
}

/// What a sync changed in a tenant's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncChanges {
    pub published: u64,
    pub removed: u64,
}

/// Result of deleting a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteDevice {
    Deleted,
    NotFound,
    /// A managed device exists for it: enrolled.
    Enrolled,
}

pub trait TenantStore: Send + Sync {
    fn create_tenant(
        &self,
        scope: &SystemScope,
        tenant: &Tenant,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn list_tenants(
        &self,
        scope: &SystemScope,
    ) -> impl Future<Output = StoreResult<Vec<Tenant>>> + Send;
    fn get_tenant(
        &self,
        scope: &TenantScope,
    ) -> impl Future<Output = StoreResult<Option<Tenant>>> + Send;
}

pub trait DeviceStore: Send + Sync {
    /// Which of these identity keys are taken, by whom (any tenant; see [`KeyOwner`]).
    fn lookup_keys(
        &self,
        scope: &TenantScope,
        keys: &[String],
    ) -> impl Future<Output = StoreResult<Vec<KeyOwner>>> + Send;

    /// In one transaction: inserts the registrations with their identity keys and sets the rows'
    /// outcomes. A taken key fails the whole call with [`StoreError::UniqueViolation`] and changes
    /// nothing.
    fn commit_registrations(
        &self,
        scope: &TenantScope,
        devices: &[AutopilotDevice],
        outcomes: &[RowOutcome],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// A registration, published or not (callers decide what to show).
    fn get_device(
        &self,
        scope: &TenantScope,
        id: DeviceId,
    ) -> impl Future<Output = StoreResult<Option<AutopilotDevice>>> + Send;

    /// The same registration without its hash bytes and identity keys (empty, as `list_devices`
    /// gives them): one indexed row, for callers that show or check a device.
    fn get_device_record(
        &self,
        scope: &TenantScope,
        id: DeviceId,
    ) -> impl Future<Output = StoreResult<Option<AutopilotDevice>>> + Send;

    /// The tenant's published list, ordered by id, keyset-paged. Hash bytes are not loaded.
    fn list_devices(
        &self,
        scope: &TenantScope,
        filter: Option<&Filter<DeviceField>>,
        page: &PageRequest,
    ) -> impl Future<Output = StoreResult<Page<AutopilotDevice>>> + Send;

    /// Published registrations with these serial numbers (exact).
    fn find_by_serials(
        &self,
        scope: &TenantScope,
        serials: &[String],
    ) -> impl Future<Output = StoreResult<Vec<(String, DeviceId)>>> + Send;

    /// Applies the patch; false when there is no such device.
    fn update_device(
        &self,
        scope: &TenantScope,
        id: DeviceId,
        patch: &DevicePatch,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Removes the registration, its identity keys and its directory placeholder, unless a managed
    /// device exists for it; atomic.
    fn delete_device(
        &self,
        scope: &TenantScope,
        id: DeviceId,
    ) -> impl Future<Output = StoreResult<DeleteDevice>> + Send;

    /// Partner/OEM deregistration: releases the identity keys at once and leaves the entry for the
    /// next sync to remove from the list. False when there is no such device.
    fn mark_for_removal(
        &self,
        scope: &TenantScope,
        id: DeviceId,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The tenant's devices (only those its list shows when `published_only`) that match.
    fn count_devices(
        &self,
        scope: &TenantScope,
        published_only: bool,
        filter: Option<&Filter<DeviceField>>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

pub trait ImportStore: Send + Sync {
    /// In one transaction: records the rows (state `unknown`) and queues the job processing them.
    fn create_import(
        &self,
        scope: &TenantScope,
        rows: &[ImportedDevice],
        job: &JobKind,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_imported(
        &self,
        scope: &TenantScope,
        id: ImportedDeviceId,
    ) -> impl Future<Output = StoreResult<Option<ImportedDevice>>> + Send;

    /// The tenant's imported rows (optionally of one import), ordered by id, keyset-paged.
    fn list_imported(
        &self,
        scope: &TenantScope,
        import_id: Option<&str>,
        filter: Option<&Filter<ImportedField>>,
        page: &PageRequest,
    ) -> impl Future<Output = StoreResult<Page<ImportedDevice>>> + Send;

    fn delete_imported(
        &self,
        scope: &TenantScope,
        id: ImportedDeviceId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The next `limit` rows of an import still `unknown` whose `seq` is greater than `after_seq`,
    /// in import order. A worker passes the last `seq` it handled, so it never walks past the
    /// rows it already finished (and can read the next chunk before the previous one commits);
    /// `-1` starts at the beginning.
    fn unknown_rows(
        &self,
        scope: &TenantScope,
        import_id: &str,
        after_seq: i64,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<ImportedDevice>>> + Send;

    /// Marks every still-`unknown` row of the import failed with `error`; returns how many.
    fn fail_unknown_rows(
        &self,
        scope: &TenantScope,
        import_id: &str,
        error: crate::error::ZtdError,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Counts of an import's rows by status.
    fn import_counts(
        &self,
        scope: &TenantScope,
        import_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<(DeviceImportStatus, u64)>>> + Send;
}

pub trait JobStore: Send + Sync {
    /// Claims the oldest job that is queued or whose lease expired, for `lease`.
    fn claim_job(
        &self,
        scope: &SystemScope,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> impl Future<Output = StoreResult<Option<Job>>> + Send;

    /// Extends the lease; false when the worker lost it (expired and claimed by another).
    fn heartbeat_job(
        &self,
        scope: &SystemScope,
        job_id: i64,
        worker: &str,
        until: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Removes a finished job.
    fn finish_job(
        &self,
        scope: &SystemScope,
        job_id: i64,
        worker: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Gives a job back to be retried from `retry_at`.
    fn release_job(
        &self,
        scope: &SystemScope,
        job_id: i64,
        worker: &str,
        retry_at: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn count_jobs(&self, scope: &SystemScope) -> impl Future<Output = StoreResult<u64>> + Send;
}

pub trait SyncStore: Send + Sync {
    fn get_sync_state(
        &self,
        scope: &TenantScope,
    ) -> impl Future<Output = StoreResult<SyncState>> + Send;

    /// Atomically (one conditional UPDATE): when no sync runs (or the running one started before
    /// `stale_before`) and the last manual trigger is older than `window`, stamps the trigger and
    /// marks the sync in progress.
    fn begin_manual_sync(
        &self,
        scope: &TenantScope,
        now: OffsetDateTime,
        window: Duration,
        stale_before: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<BeginSync>> + Send;

    /// Like [`SyncStore::begin_manual_sync`] without the window, and only when the last sync is
    /// older than `due_before`; true when it started.
    fn begin_automatic_sync(
        &self,
        scope: &TenantScope,
        now: OffsetDateTime,
        due_before: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Tenants whose last sync is older than `due_before` (or never) and with no sync running.
    fn tenants_due_for_sync(
        &self,
        scope: &SystemScope,
        due_before: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Vec<TenantId>>> + Send;

    /// In one transaction: publishes pending registrations and removes deregistered ones.
    fn apply_sync(
        &self,
        scope: &TenantScope,
    ) -> impl Future<Output = StoreResult<SyncChanges>> + Send;

    /// Ends the running sync with `status`, stamping `lastSyncDateTime` when it completed.
    fn finish_sync(
        &self,
        scope: &TenantScope,
        now: OffsetDateTime,
        status: SyncStatus,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait AuditStore: Send + Sync {
    fn append_audit(
        &self,
        scope: &TenantScope,
        entry: &AuditEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Newest first.
    fn list_audit(
        &self,
        scope: &TenantScope,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<AuditEntry>>> + Send;
}

pub trait DirectoryStore: Send + Sync {
    fn insert_directory_device(
        &self,
        scope: &TenantScope,
        device: &DirectoryDevice,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn list_directory_devices(
        &self,
        scope: &TenantScope,
    ) -> impl Future<Output = StoreResult<Vec<DirectoryDevice>>> + Send;
}

pub trait ManagedDeviceStore: Send + Sync {
    fn insert_managed_device(
        &self,
        scope: &TenantScope,
        device: &ManagedDevice,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn list_managed_devices(
        &self,
        scope: &TenantScope,
    ) -> impl Future<Output = StoreResult<Vec<ManagedDevice>>> + Send;
    fn delete_managed_device(
        &self,
        scope: &TenantScope,
        id: ManagedDeviceId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The managed device enrolled from this registration, if any.
    fn managed_device_for(
        &self,
        scope: &TenantScope,
        device: DeviceId,
    ) -> impl Future<Output = StoreResult<Option<ManagedDeviceId>>> + Send;
}

/// Everything the services need; implemented by each backend.
pub trait Store:
    TenantStore
    + DeviceStore
    + ImportStore
    + JobStore
    + SyncStore
    + AuditStore
    + DirectoryStore
    + ManagedDeviceStore
    + Clone
    + 'static
{
}

impl<T> Store for T where
    T: TenantStore
        + DeviceStore
        + ImportStore
        + JobStore
        + SyncStore
        + AuditStore
        + DirectoryStore
        + ManagedDeviceStore
        + Clone
        + 'static
{
}
