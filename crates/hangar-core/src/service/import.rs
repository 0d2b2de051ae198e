//! Import: rows are recorded at once as `unknown` (the polling contract) together with a job in the
//! database; a worker — in this process or any other — claims the job and turns the rows into
//! registrations chunk by chunk, each chunk one transaction.

use super::Registry;
use crate::authz::{authorize, require_system, Principal, SystemScope, TenantScope};
use crate::model::*;
use crate::store::{Job, JobKind, KeyOwner, RowOutcome, Store, StoreError};
use crate::{CoreError, CoreResult, ZtdError};
use std::collections::HashMap;
use time::OffsetDateTime;

/// One device to register, from an import row or a partner/OEM request.
pub(crate) struct Candidate<'a> {
    pub row: Option<ImportedDeviceId>,
    pub hash: &'a [u8],
    pub serial_number: &'a str,
    pub product_key: &'a str,
    pub group_tag: &'a str,
    pub user_principal_name: &'a str,
    pub purchase_order_identifier: &'a str,
}

/// The decision for a batch of candidates, ready to commit.
pub(crate) struct Plan {
    pub devices: Vec<AutopilotDevice>,
    pub outcomes: Vec<RowOutcome>,
    /// Per candidate, in order.
    pub results: Vec<Result<DeviceId, ZtdError>>,
}

impl<S: Store> Registry<S> {
    /// Records the rows as `unknown` and queues their processing. Returns the rows with their ids,
    /// in input order. Call [`Registry::run_jobs`] (or let a worker do it) to process them.
    pub async fn import(
        &self,
        scope: &TenantScope,
        rows: Vec<ImportRow>,
    ) -> CoreResult<Vec<ImportedDevice>> {
        if rows.is_empty() {
            return Err(CoreError::Validation(
                "an import needs at least one row".into(),
            ));
        }
        let import_id = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let imported: Vec<ImportedDevice> = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| ImportedDevice {
                id: ImportedDeviceId::new(),
                tenant_id: scope.tenant_id(),
                import_id: import_id.clone(),
                seq: i as i64,
                group_tag: r.group_tag,
                serial_number: r.serial_number,
                product_key: r.product_key,
                hardware_identifier: r.hardware_hash,
                assigned_user_principal_name: r.assigned_user_principal_name,
                state: ImportState::unknown(),
                created: now,
            })
            .collect();
        let job = JobKind::ProcessImport {
            import_id: import_id.clone(),
            requested_by: scope.principal().label(),
        };
        self.store
            .create_import(scope, &imported, &job, now)
            .await?;
        self.audit(
            scope,
            "import.created",
            vec![import_id],
            format!("{} rows", imported.len()),
        )
        .await?;
        Ok(imported)
    }

    pub async fn get_imported(
        &self,
        scope: &TenantScope,
        id: ImportedDeviceId,
    ) -> CoreResult<ImportedDevice> {
        self.store
            .get_imported(scope, id)
            .await?
            .ok_or(CoreError::NotFound {
                what: "imported device",
            })
    }

    pub async fn list_imported(
        &self,
        scope: &TenantScope,
        import_id: Option<&str>,
        filter: Option<&Filter<ImportedField>>,
        page: &PageRequest,
    ) -> CoreResult<Page<ImportedDevice>> {
        let page = super::devices::check_page(page)?;
        Ok(self
            .store
            .list_imported(scope, import_id, filter, &page)
            .await?)
    }

    pub async fn delete_imported(
        &self,
        scope: &TenantScope,
        id: ImportedDeviceId,
    ) -> CoreResult<()> {
        if self.store.delete_imported(scope, id).await? {
            self.audit(
                scope,
                "import.row_deleted",
                vec![id.to_string()],
                String::new(),
            )
            .await
        } else {
            Err(CoreError::NotFound {
                what: "imported device",
            })
        }
    }

    /// Counts of an import's rows by status.
    pub async fn import_counts(
        &self,
        scope: &TenantScope,
        import_id: &str,
    ) -> CoreResult<Vec<(DeviceImportStatus, u64)>> {
        Ok(self.store.import_counts(scope, import_id).await?)
    }

    /// Runs jobs until none is left to claim; returns how many were finished. Any number of
    /// processes may do this at once on one database.
    pub async fn run_jobs(&self, worker: &str) -> CoreResult<usize> {
        let mut done = 0;
        while self.run_one_job(worker).await? {
            done += 1;
        }
        Ok(done)
    }

    /// Claims and runs one job; false when there was none to claim.
    pub async fn run_one_job(&self, worker: &str) -> CoreResult<bool> {
        let sys = require_system(&Principal::system(format!("worker:{worker}")))?;
        let now = self.now();
        let Some(job) = self
            .store
            .claim_job(&sys, worker, now, self.config.job_lease)
            .await?
        else {
            return Ok(false);
        };
        let scope = authorize(sys.principal(), job.tenant_id)?;
        let JobKind::ProcessImport {
            import_id,
            requested_by,
        } = &job.kind;
        if job.attempts > self.config.job_max_attempts {
            self.give_up(&sys, &scope, &job, import_id, worker).await?;
            return Ok(true);
        }
        match self
            .process_import(&sys, &scope, &job, import_id, requested_by, worker)
            .await
        {
            Ok(true) => {
                self.store.finish_job(&sys, job.id, worker).await?;
                let counts = self.store.import_counts(&scope, import_id).await?;
                let detail = counts
                    .iter()
                    .map(|(s, n)| format!("{n} {s}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.audit(&scope, "import.processed", vec![import_id.clone()], detail)
                    .await?;
            }
            // The lease was lost to another worker: that one finishes the job.
            Ok(false) => {}
            Err(e) => {
                if job.attempts >= self.config.job_max_attempts {
                    self.give_up(&sys, &scope, &job, import_id, worker).await?;
                } else {
                    let backoff = std::time::Duration::from_secs(1 << job.attempts.clamp(0, 6));
                    self.store
                        .release_job(&sys, job.id, worker, self.now() + backoff)
                        .await?;
                }
                return Err(e);
            }
        }
        Ok(true)
    }

    async fn give_up(
        &self,
        sys: &SystemScope,
        scope: &TenantScope,
        job: &Job,
        import_id: &str,
        worker: &str,
    ) -> CoreResult<()> {
        let failed = self
            .store
            .fail_unknown_rows(scope, import_id, ZtdError::StorageError)
            .await?;
        self.store.finish_job(sys, job.id, worker).await?;
        self.audit(
            scope,
            "import.failed",
            vec![import_id.to_string()],
            format!("{failed} rows failed after {} attempts", job.attempts),
        )
        .await
    }

    /// Processes the import's unknown rows chunk by chunk. False when the lease was lost.
    ///
    /// While chunk n commits (on the writer), chunk n+1 is read and planned (on the readers and
    /// this task). A plan made before the previous commit is safe: if chunk n took a key that
    /// chunk n+1 also claims, the UNIQUE index refuses chunk n+1's commit and it is planned again.
    ///
    /// For the same reason a chunk is first planned without looking up who owns its identity
    /// keys, as if none were registered: most imports register new devices, and the commit's
    /// inserts find a taken key anyway, in the B-tree descent they make regardless. A refused
    /// commit is planned again with the owners (806, 808, duplicates), and so are the chunks after
    /// it: an import of devices that are already registered tends to be one throughout.
    async fn process_import(
        &self,
        sys: &SystemScope,
        scope: &TenantScope,
        job: &Job,
        import_id: &str,
        requested_by: &str,
        worker: &str,
    ) -> CoreResult<bool> {
        let limit = self.config.import_chunk.max(1);
        let mut rows = self.store.unknown_rows(scope, import_id, -1, limit).await?;
        let mut plan = None;
        let mut owners = Owners::Assumed;
        while let Some(last) = rows.last() {
            let after = last.seq;
            let candidates = import_candidates(&rows);
            // The next chunk is planned in a task of its own: the commit keeps this thread busy
            // with the writer's inserts, and planning (decoding hashes) would otherwise wait.
            let next = {
                let (this, scope) = (self.clone(), scope.clone());
                let (import_id, requested_by) = (import_id.to_string(), requested_by.to_string());
                tokio::spawn(async move {
                    this.read_and_plan(&scope, &import_id, &requested_by, after, limit, owners)
                        .await
                })
            };
            let committed = self
                .commit_plan(
                    scope,
                    RegistrationSource::Import,
                    requested_by,
                    Some(import_id),
                    &candidates,
                    plan.take().ok_or(owners),
                )
                .await;
            let next = next
                .await
                .map_err(|e| StoreError::Backend(format!("the planning task failed: {e}")))?;
            if committed?.collided {
                owners = Owners::LookedUp;
            }
            let until = self.now() + self.config.job_lease;
            if !self.store.heartbeat_job(sys, job.id, worker, until).await? {
                return Ok(false);
            }
            (rows, plan) = next?;
        }
        Ok(true)
    }

    /// The import's next unknown rows after `after_seq`, with a plan for them.
    async fn read_and_plan(
        &self,
        scope: &TenantScope,
        import_id: &str,
        requested_by: &str,
        after_seq: i64,
        limit: usize,
        owners: Owners,
    ) -> CoreResult<(Vec<ImportedDevice>, Option<Plan>)> {
        let rows = self
            .store
            .unknown_rows(scope, import_id, after_seq, limit)
            .await?;
        if rows.is_empty() {
            return Ok((rows, None));
        }
        let plan = self
            .plan(
                scope,
                RegistrationSource::Import,
                requested_by,
                Some(import_id),
                &import_candidates(&rows),
                owners,
            )
            .await?;
        Ok((rows, Some(plan)))
    }

    /// Plans and commits; when a concurrent registration takes a key between the check and the
    /// commit, the UNIQUE index refuses the commit and the batch is planned again.
    pub(crate) async fn register_candidates(
        &self,
        scope: &TenantScope,
        source: RegistrationSource,
        registered_by: &str,
        import_id: Option<&str>,
        candidates: &[Candidate<'_>],
    ) -> CoreResult<Vec<Result<DeviceId, ZtdError>>> {
        let committed = self
            .commit_plan(
                scope,
                source,
                registered_by,
                import_id,
                candidates,
                Err(Owners::LookedUp),
            )
            .await?;
        Ok(committed.results)
    }

    /// Commits `planned` (a plan made earlier for these candidates, or how to make the first),
    /// planning again with the keys' owners after every key collision.
    async fn commit_plan(
        &self,
        scope: &TenantScope,
        source: RegistrationSource,
        registered_by: &str,
        import_id: Option<&str>,
        candidates: &[Candidate<'_>],
        mut planned: Result<Plan, Owners>,
    ) -> CoreResult<Committed> {
        let mut last = None;
        for attempt in 0..8 {
            let plan = match std::mem::replace(&mut planned, Err(Owners::LookedUp)) {
                Ok(plan) => plan,
                Err(owners) => {
                    self.plan(scope, source, registered_by, import_id, candidates, owners)
                        .await?
                }
            };
            match self
                .store
                .commit_registrations(scope, &plan.devices, &plan.outcomes)
                .await
            {
                Ok(()) => {
                    return Ok(Committed {
                        results: plan.results,
                        collided: attempt > 0,
                    })
                }
                Err(StoreError::UniqueViolation(m)) => last = Some(m),
                Err(e) => return Err(e.into()),
            }
        }
        Err(CoreError::Conflict(format!(
            "registrations kept colliding: {}",
            last.unwrap_or_default()
        )))
    }

    async fn plan(
        &self,
        scope: &TenantScope,
        source: RegistrationSource,
        registered_by: &str,
        import_id: Option<&str>,
        candidates: &[Candidate<'_>],
        owners: Owners,
    ) -> CoreResult<Plan> {
        let now = self.now();
        let decoded: Vec<Result<(AutopilotDevice, Vec<String>), ZtdError>> = candidates
            .iter()
            .map(|c| build_device(scope, c, source, registered_by, import_id, now))
            .collect();
        let all_keys: Vec<String> = decoded
            .iter()
            .filter_map(|d| d.as_ref().ok())
            .flat_map(|(_, k)| k.iter().cloned())
            .collect();
        let owners: HashMap<String, KeyOwner> = match owners {
            Owners::Assumed => HashMap::new(),
            Owners::LookedUp => self
                .store
                .lookup_keys(scope, &all_keys)
                .await?
                .into_iter()
                .map(|o| (o.key.clone(), o))
                .collect(),
        };

        let mut plan = Plan {
            devices: Vec::new(),
            outcomes: Vec::new(),
            results: Vec::with_capacity(candidates.len()),
        };
        let mut taken_here: HashMap<&str, ()> = HashMap::new();
        for (c, d) in candidates.iter().zip(&decoded) {
            let result = match d {
                Err(e) => Err(*e),
                Ok((device, keys)) => {
                    if keys.iter().any(|k| taken_here.contains_key(k.as_str())) {
                        Err(ZtdError::ZtdDeviceDuplicated)
                    } else {
                        let found: Vec<&KeyOwner> =
                            keys.iter().filter_map(|k| owners.get(k)).collect();
                        if found.is_empty() {
                            for k in keys {
                                taken_here.insert(k.as_str(), ());
                            }
                            Ok(device.clone())
                        } else if found.iter().any(|o| !o.same_tenant) {
                            Err(ZtdError::ZtdDeviceAssignedToOtherTenant)
                        } else if import_id.is_some()
                            && found.iter().all(|o| o.import_id.as_deref() == import_id)
                        {
                            // Registered by an earlier chunk of this same import.
                            Err(ZtdError::ZtdDeviceDuplicated)
                        } else {
                            Err(ZtdError::ZtdDeviceAlreadyAssigned)
                        }
                    }
                }
            };
            let state = match &result {
                Ok(device) => ImportState::complete(device.id),
                Err(e) => ImportState::failed(*e),
            };
            if let Some(row) = c.row {
                plan.outcomes.push(RowOutcome { row, state });
            }
            plan.results.push(result.map(|device| {
                let id = device.id;
                plan.devices.push(device);
                id
            }));
        }
        Ok(plan)
    }
}

/// How a plan learns who already owns its identity keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owners {
    /// Nobody, as far as the plan knows: the commit's UNIQUE index checks.
    Assumed,
    /// Looked up before planning.
    LookedUp,
}

/// A committed plan's results, and whether a key collision made it plan again first.
struct Committed {
    results: Vec<Result<DeviceId, ZtdError>>,
    collided: bool,
}

fn import_candidates(rows: &[ImportedDevice]) -> Vec<Candidate<'_>> {
    rows.iter()
        .map(|r| Candidate {
            row: Some(r.id),
            hash: &r.hardware_identifier,
            serial_number: &r.serial_number,
            product_key: &r.product_key,
            group_tag: &r.group_tag,
            user_principal_name: &r.assigned_user_principal_name,
            purchase_order_identifier: "",
        })
        .collect()
}

/// Decodes a candidate's hash and builds the registration it would become.
fn build_device(
    scope: &TenantScope,
    c: &Candidate<'_>,
    source: RegistrationSource,
    registered_by: &str,
    import_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<(AutopilotDevice, Vec<String>), ZtdError> {
    // Admin imports name the device by serial or product key (partners may send a hash alone).
    if c.row.is_some() && c.serial_number.trim().is_empty() && c.product_key.trim().is_empty() {
        return Err(ZtdError::MissingZtdSerialNumberAndProductKey);
    }
    let hash = hwhash::decode_bytes(c.hash).map_err(|_| ZtdError::InvalidZtdHardwareHash)?;
    let text =
        |v: Option<std::borrow::Cow<'_, str>>| v.map(|s| s.trim().to_string()).unwrap_or_default();
    let manufacturer = text(hash.manufacturer());
    let hash_serial = text(hash.serial());
    if manufacturer.is_empty() || hash_serial.is_empty() {
        return Err(ZtdError::InvalidZtdHardwareHash);
    }
    let identity = hwhash::IdentityKeys::of(&hash);
    let keys = key_strings(&identity);
    let mut d = AutopilotDevice::new(scope.tenant_id(), source, registered_by.to_string(), now);
    d.serial_number = hash_serial;
    d.manufacturer = manufacturer;
    d.model = text(hash.product_name());
    d.sku_number = text(hash.text(hwhash::TextField::SmbiosSkuNumber));
    d.system_family = text(hash.text(hwhash::TextField::SmbiosSystemFamily));
    d.product_key = c.product_key.trim().to_string();
    d.group_tag = c.group_tag.trim().to_string();
    d.user_principal_name = c.user_principal_name.trim().to_string();
    d.purchase_order_identifier = c.purchase_order_identifier.trim().to_string();
    // A registration made from an imported row shares the row's stored hash, so its plan does
    // not carry a copy of the bytes.
    if c.row.is_none() {
        d.hardware_hash = c.hash.to_vec();
    }
    d.identity_keys = identity;
    d.import_id = import_id.map(str::to_string);
    // A tenant's own imports show in its list as they complete; partner and OEM registrations
    // wait for the next sync.
    d.published = source == RegistrationSource::Import;
    Ok((d, keys))
}
