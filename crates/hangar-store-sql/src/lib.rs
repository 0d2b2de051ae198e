//! The SQL both store backends run. SQLite and PostgreSQL accept the same conservative subset
//! (`$N` placeholders, BIGINT times in Unix microseconds, TEXT ids, `UPDATE ... FROM (VALUES ...)`,
//! `RETURNING`), so the queries are written once, in [`impl_store!`], and each backend crate
//! instantiates it for its own pool type. What differs (connection setup, migrations, the
//! job-claim statement) stays in the backend crates.

mod credentials;
mod read;
mod write;

pub use read::*;
pub use write::*;

use hangar_core::model::{DeviceField, ImportedField};
use hangar_core::store::StoreError;

/// Rows per multi-row statement. Devices have 36 columns: 500 rows stay below SQLite's 32766 and
/// PostgreSQL's 65535 bind parameters.
pub const CHUNK: usize = 500;

pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::UniqueViolation(db.message().to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// The column of a filterable device property.
pub fn device_column(f: DeviceField) -> &'static str {
    match f {
        DeviceField::GroupTag => "group_tag",
        DeviceField::PurchaseOrderIdentifier => "purchase_order_identifier",
        DeviceField::SerialNumber => "serial_number",
        DeviceField::ProductKey => "product_key",
        DeviceField::Manufacturer => "manufacturer",
        DeviceField::Model => "model",
        DeviceField::EnrollmentState => "enrollment_state",
        DeviceField::AddressableUserName => "addressable_user_name",
        DeviceField::UserPrincipalName => "user_principal_name",
        DeviceField::ResourceName => "resource_name",
        DeviceField::SkuNumber => "sku_number",
        DeviceField::SystemFamily => "system_family",
        DeviceField::AzureActiveDirectoryDeviceId => "azure_active_directory_device_id",
        DeviceField::DisplayName => "display_name",
        DeviceField::DeploymentProfileAssignmentStatus => "profile_status",
    }
}

/// The column of a filterable imported-row property (in [`imported_select!`], as `i`).
pub fn imported_column(f: ImportedField) -> &'static str {
    match f {
        ImportedField::SerialNumber => "i.serial_number",
        ImportedField::GroupTag => "i.group_tag",
        ImportedField::ProductKey => "i.product_key",
        ImportedField::ImportId => "i.import_id",
        ImportedField::AssignedUserPrincipalName => "i.assigned_user",
    }
}

/// A LIKE pattern (with `\` as escape) matching `value` literally.
pub fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Lists are stored as text joined by newlines (no JSON type needed).
pub fn join_list(items: &[String]) -> String {
    items.join("\n")
}

pub fn split_list(text: &str) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split('\n').map(str::to_string).collect()
    }
}

pub fn opt_micros(t: Option<time::OffsetDateTime>) -> Option<i64> {
    t.map(hangar_core::model::to_micros)
}

pub fn from_opt_micros(v: Option<i64>) -> Option<time::OffsetDateTime> {
    v.map(hangar_core::model::from_micros)
}

pub fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: '{value}'"))
}

#[doc(hidden)]
pub use hangar_core as __core;
#[doc(hidden)]
pub use hwhash as __hwhash;
#[doc(hidden)]
pub use sqlx as __sqlx;
#[doc(hidden)]
pub use time as __time;

/// What a sync removes, in order (bind `$1` tenant): the directory placeholders and hashes of the
/// tenant's devices pending removal, then the devices, whose count the last statement's rows give.
pub const SYNC_REMOVALS: [&str; 3] = [
    "DELETE FROM directory_devices WHERE tenant_id = $1 AND autopilot_device_id IN \
     (SELECT id FROM devices WHERE tenant_id = $1 AND pending_removal = 1)",
    "DELETE FROM hashes WHERE tenant_id = $1 AND id IN \
     (SELECT hash_id FROM devices WHERE tenant_id = $1 AND pending_removal = 1) \
     AND NOT EXISTS (SELECT 1 FROM imported_devices i WHERE i.tenant_id = hashes.tenant_id AND i.id = hashes.id)",
    "DELETE FROM devices WHERE tenant_id = $1 AND pending_removal = 1",
];

/// Implements every storage trait of `hangar_core::store` for `$store`, which must provide
/// `fn writer(&self) -> &sqlx::Pool<$db>`, `fn reader(&self) -> &sqlx::Pool<$db>`,
/// `const CLAIM_JOB_SQL: &'static str` (binds: `$1` worker, `$2` lease until, `$3` now; returns
/// `id, tenant_id, kind, payload, attempts`), and the two bulk statements whose best form differs
/// between the backends (a list of binds on SQLite, arrays on PostgreSQL):
/// - `const SYNC_GENERATION_SQL: &'static str` (bind `$1` tenant; returns the tenant's sync
///   `generation`), run first in a transaction that registers devices awaiting a sync, and
///   holding off a concurrent sync of the tenant until it ends;
/// - `const LOOKUP_KEYS_PER_STATEMENT: usize` and `async fn key_owner_rows(&self, keys: &[String])
///   -> StoreResult<Vec<KeyOwnerRow>>` returning the keys among `keys` that are registered (on a
///   reader, [`KEY_OWNER_SELECT`] decoded by [`key_owner_from_cols`]);
/// - `async fn insert_rows(conn: &mut <$db as sqlx::Database>::Connection, inserts: &[Insert])
///   -> StoreResult<()>` inserting every row of every [`Insert`], in order, in the connection's
///   open transaction;
/// - `async fn record_outcomes(conn: &mut <$db as sqlx::Database>::Connection, tenant: &str,
///   outcomes: &[RowOutcome]) -> StoreResult<()>` setting each imported row's status,
///   registration id and error code.
#[macro_export]
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::__core::authz::{SystemScope, TenantScope};
            use $crate::__core::model::*;
            use $crate::__core::store::*;
            use $crate::__core::ZtdError;
            use $crate::__hwhash as hwhash;
            use $crate::__time::OffsetDateTime;
            use std::time::Duration;
            use $crate::__sqlx as sqlx;
            use $crate::{corrupt, from_opt_micros, map_err, opt_micros, CHUNK, DEVICE_INSERT_COLUMNS, device_from_cols, ReadKind, ReadRows, Sql};
            use sqlx::{QueryBuilder, Row};

            type DbRow = <$db as sqlx::Database>::Row;

            const IMPORTED_SELECT: &str = $crate::imported_select!();

            fn s(r: &DbRow, c: &str) -> StoreResult<String> {
                r.try_get::<String, _>(c).map_err(map_err)
            }
            fn os(r: &DbRow, c: &str) -> StoreResult<Option<String>> {
                r.try_get::<Option<String>, _>(c).map_err(map_err)
            }
            fn i(r: &DbRow, c: &str) -> StoreResult<i64> {
                r.try_get::<i64, _>(c).map_err(map_err)
            }
            fn oi(r: &DbRow, c: &str) -> StoreResult<Option<i64>> {
                r.try_get::<Option<i64>, _>(c).map_err(map_err)
            }
            fn uuid_of<T>(r: &DbRow, c: &str, make: fn(&str) -> Option<T>) -> StoreResult<T> {
                let v = s(r, c)?;
                make(&v).ok_or_else(|| corrupt(c, &v))
            }
            fn enum_of<T>(r: &DbRow, c: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
                let v = s(r, c)?;
                parse(&v).ok_or_else(|| corrupt(c, &v))
            }

            fn tenant_from_row(r: &DbRow) -> StoreResult<Tenant> {
                Ok(Tenant {
                    id: uuid_of(r, "id", TenantId::parse)?,
                    display_name: s(r, "display_name")?,
                    primary_domain: s(r, "primary_domain")?,
                    created: from_micros(i(r, "created")?),
                })
            }

            /// Deletes a device's identity keys, which follow from its hash (`identity_keys_of`):
            /// keys are found by their own primary key, so `device_keys` needs no index by device.
            async fn free_keys(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &str,
                device_id: &str,
                hash_id: &str,
            ) -> StoreResult<()> {
                let stored: Option<(Vec<u8>, i64)> = sqlx::query_as("SELECT bytes, codec FROM hashes WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant)
                    .bind(hash_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(map_err)?;
                let bytes = match stored {
                    Some((bytes, codec)) => $crate::stored_hash(bytes, codec)?,
                    None => Vec::new(),
                };
                let keys = key_strings(&$crate::identity_keys_of(&bytes));
                for key in keys {
                    sqlx::query("DELETE FROM device_keys WHERE key = $1 AND tenant_id = $2 AND device_id = $3")
                        .bind(key)
                        .bind(tenant)
                        .bind(device_id)
                        .execute(&mut *conn)
                        .await
                        .map_err(map_err)?;
                }
                Ok(())
            }

            fn after(page: &PageRequest) -> Option<String> {
                page.skiptoken.as_deref().and_then(decode_skiptoken)
            }

            impl TenantStore for $store {
                async fn create_tenant(&self, _scope: &SystemScope, t: &Tenant) -> StoreResult<()> {
                    let mut tx = self.writer().begin().await.map_err(map_err)?;
                    sqlx::query("INSERT INTO tenants (id, display_name, primary_domain, created) VALUES ($1, $2, $3, $4)")
                        .bind(t.id.to_string())
                        .bind(&t.display_name)
                        .bind(&t.primary_domain)
                        .bind(to_micros(t.created))
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    sqlx::query("INSERT INTO sync_state (tenant_id, status) VALUES ($1, 'unknown')")
                        .bind(t.id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)
                }

                async fn list_tenants(&self, _scope: &SystemScope) -> StoreResult<Vec<Tenant>> {
                    let rows = sqlx::query("SELECT id, display_name, primary_domain, created FROM tenants ORDER BY created, id")
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_err)?;
                    rows.iter().map(tenant_from_row).collect()
                }

                async fn get_tenant(&self, scope: &TenantScope) -> StoreResult<Option<Tenant>> {
                    let row = sqlx::query("SELECT id, display_name, primary_domain, created FROM tenants WHERE id = $1")
                        .bind(scope.tenant_id().to_string())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(map_err)?;
                    row.as_ref().map(tenant_from_row).transpose()
                }
            }

            impl DeviceStore for $store {
                async fn lookup_keys(&self, scope: &TenantScope, keys: &[String]) -> StoreResult<Vec<KeyOwner>> {
                    let tenant = scope.tenant_id().to_string();
                    let mut out = Vec::new();
                    for chunk in keys.chunks(<$store>::LOOKUP_KEYS_PER_STATEMENT) {
                        for o in self.key_owner_rows(chunk).await? {
                            let same = o.tenant_id == tenant;
                            out.push(KeyOwner {
                                key: o.key,
                                same_tenant: same,
                                device_id: if same { DeviceId::parse(&o.device_id) } else { None },
                                import_id: if same { o.import_id } else { None },
                            });
                        }
                    }
                    Ok(out)
                }

                async fn commit_registrations(
                    &self,
                    scope: &TenantScope,
                    devices: &[AutopilotDevice],
                    outcomes: &[RowOutcome],
                ) -> StoreResult<()> {
                    let tenant = scope.tenant_id().to_string();
                    if devices.iter().any(|d| d.tenant_id != scope.tenant_id()) {
                        return Err(StoreError::Backend("a registration outside the scope's tenant".into()));
                    }
                    // A device made from an imported row shares that row's stored hash.
                    let from_row: std::collections::HashMap<DeviceId, String> = outcomes
                        .iter()
                        .filter_map(|o| o.state.device_registration_id.map(|d| (d, o.row.to_string())))
                        .collect();
                    let hash_ids: Vec<String> =
                        devices.iter().map(|d| from_row.get(&d.id).cloned().unwrap_or_else(|| d.id.to_string())).collect();
                    let own: Vec<&AutopilotDevice> = devices.iter().filter(|d| !from_row.contains_key(&d.id)).collect();
                    let mut tx = self.writer().begin().await.map_err(map_err)?;
                    // Devices that wait for a sync are registered at the generation the next sync
                    // reaches (migration 0005).
                    let awaiting_sync: i64 = if devices.iter().any(|d| !d.published) {
                        let generation: Option<i64> = sqlx::query_scalar(<$store>::SYNC_GENERATION_SQL)
                            .bind(&tenant)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(map_err)?;
                        generation.unwrap_or(0) + 1
                    } else {
                        0
                    };
                    let mut device_rows = $crate::Insert::new("devices", DEVICE_INSERT_COLUMNS);
                    for (d, hash_id) in devices.iter().zip(&hash_ids) {
                        device_rows.push_row($crate::device_row(d, hash_id, if d.published { 0 } else { awaiting_sync }));
                    }
                    let mut hash_rows = $crate::Insert::new("hashes", $crate::HASH_INSERT_COLUMNS);
                    for d in &own {
                        hash_rows.push_row($crate::hash_row(d.id.to_string(), &tenant, &d.hardware_hash));
                    }
                    let mut key_rows = $crate::Insert::new("device_keys", $crate::KEY_INSERT_COLUMNS);
                    // In key order, so each insert lands near the last one in the key index.
                    let mut keys: Vec<(String, &AutopilotDevice)> =
                        devices.iter().flat_map(|d| key_strings(&d.identity_keys).into_iter().map(move |k| (k, d))).collect();
                    keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                    for (k, d) in keys {
                        key_rows.push_row([k.into(), d.id.to_string().into(), tenant.as_str().into()]);
                    }
                    // Keys first: a taken key refuses the commit before anything else is written.
                    <$store>::insert_rows(&mut *tx, &[key_rows, device_rows, hash_rows]).await?;
                    <$store>::record_outcomes(&mut *tx, &tenant, outcomes).await?;
                    tx.commit().await.map_err(map_err)
                }

                async fn get_device(&self, scope: &TenantScope, id: DeviceId) -> StoreResult<Option<AutopilotDevice>> {
                    let Some(mut d) = self.get_device_record(scope, id).await? else { return Ok(None) };
                    let hash = sqlx::query(
                        "SELECT h.bytes, h.codec FROM devices d JOIN hashes h ON h.tenant_id = d.tenant_id AND h.id = d.hash_id \
                         WHERE d.tenant_id = $1 AND d.id = $2",
                    )
                    .bind(scope.tenant_id().to_string())
                    .bind(id.to_string())
                    .fetch_optional(self.reader())
                    .await
                    .map_err(map_err)?;
                    if let Some(h) = hash {
                        d.hardware_hash = $crate::stored_hash(
                            h.try_get::<Vec<u8>, _>("bytes").map_err(map_err)?,
                            h.try_get::<i64, _>("codec").map_err(map_err)?,
                        )?;
                    }
                    d.identity_keys = $crate::identity_keys_of(&d.hardware_hash);
                    Ok(Some(d))
                }

                async fn get_device_record(&self, scope: &TenantScope, id: DeviceId) -> StoreResult<Option<AutopilotDevice>> {
                    let mut sql = Sql::new(concat!("SELECT ", $crate::device_columns!(), " FROM devices WHERE tenant_id = "));
                    sql.bind(scope.tenant_id().to_string()).push(" AND id = ").bind(id.to_string());
                    $crate::single(self.read_rows(ReadKind::ByKey, sql, device_from_cols).await?)
                }

                async fn list_devices(
                    &self,
                    scope: &TenantScope,
                    filter: Option<&Filter<DeviceField>>,
                    page: &PageRequest,
                ) -> StoreResult<Page<AutopilotDevice>> {
                    let mut sql = Sql::new(concat!("SELECT ", $crate::device_columns!(listed), " FROM devices WHERE tenant_id = "));
                    sql.bind(scope.tenant_id().to_string());
                    $crate::push_published(&mut sql, scope.tenant_id().to_string());
                    if let Some(last) = after(page) {
                        sql.push(" AND id > ").bind(last);
                    }
                    if let Some(f) = filter {
                        sql.push(" AND (");
                        $crate::push_filter(&mut sql, f, $crate::device_column);
                        sql.push(")");
                    }
                    sql.push(" ORDER BY id LIMIT ").bind(page.top as i64 + 1);
                    let mut items = self.read_rows(ReadKind::Range, sql, device_from_cols).await?;
                    let next = if items.len() > page.top {
                        items.truncate(page.top);
                        items.last().map(|d| encode_skiptoken(&d.id.to_string()))
                    } else {
                        None
                    };
                    Ok(Page { items, next })
                }

                async fn find_by_serials(&self, scope: &TenantScope, serials: &[String]) -> StoreResult<Vec<(String, DeviceId)>> {
                    let mut out = Vec::new();
                    for chunk in serials.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("SELECT serial_number, id FROM devices WHERE tenant_id = ");
                        qb.push_bind(scope.tenant_id().to_string());
                        qb.push($crate::PUBLISHED_IN_TENANT);
                        qb.push_bind(scope.tenant_id().to_string());
                        qb.push(") AND pending_removal = 0 AND serial_number IN (");
                        let mut sep = qb.separated(", ");
                        for serial in chunk {
                            sep.push_bind(serial);
                        }
                        qb.push(") ORDER BY id");
                        for r in qb.build().fetch_all(self.reader()).await.map_err(map_err)? {
                            out.push((s(&r, "serial_number")?, uuid_of(&r, "id", DeviceId::parse)?));
                        }
                    }
                    Ok(out)
                }

                async fn update_device(
                    &self,
                    scope: &TenantScope,
                    id: DeviceId,
                    patch: &DevicePatch,
                    now: OffsetDateTime,
                ) -> StoreResult<bool> {
                    let mut qb = QueryBuilder::<$db>::new("UPDATE devices SET updated = ");
                    qb.push_bind(to_micros(now));
                    for (column, value) in [
                        ("group_tag", &patch.group_tag),
                        ("user_principal_name", &patch.user_principal_name),
                        ("addressable_user_name", &patch.addressable_user_name),
                        ("display_name", &patch.display_name),
                        ("device_account_upn", &patch.device_account_upn),
                        ("device_account_password", &patch.device_account_password),
                        ("device_friendly_name", &patch.device_friendly_name),
                    ] {
                        if let Some(v) = value {
                            qb.push(format!(", {column} = "));
                            qb.push_bind(v.clone());
                        }
                    }
                    qb.push(" WHERE tenant_id = ");
                    qb.push_bind(scope.tenant_id().to_string());
                    qb.push(" AND id = ");
                    qb.push_bind(id.to_string());
                    let done = qb.build().execute(self.writer()).await.map_err(map_err)?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_device(&self, scope: &TenantScope, id: DeviceId) -> StoreResult<DeleteDevice> {
                    let tenant = scope.tenant_id().to_string();
                    let id_text = id.to_string();
                    let mut tx = self.writer().begin().await.map_err(map_err)?;
                    let deleted = sqlx::query(
                        "DELETE FROM devices WHERE tenant_id = $1 AND id = $2 AND NOT EXISTS \
                         (SELECT 1 FROM managed_devices m WHERE m.tenant_id = $1 AND m.autopilot_device_id = $2) \
                         RETURNING hash_id",
                    )
                    .bind(&tenant)
                    .bind(&id_text)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    let Some(deleted) = deleted else {
                        let exists = sqlx::query("SELECT 1 AS one FROM devices WHERE tenant_id = $1 AND id = $2")
                            .bind(&tenant)
                            .bind(&id_text)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(map_err)?
                            .is_some();
                        return Ok(if exists { DeleteDevice::Enrolled } else { DeleteDevice::NotFound });
                    };
                    let hash_id = s(&deleted, "hash_id")?;
                    free_keys(&mut *tx, &tenant, &id_text, &hash_id).await?;
                    sqlx::query(
                        "DELETE FROM hashes WHERE tenant_id = $1 AND id = $2 AND NOT EXISTS \
                         (SELECT 1 FROM imported_devices i WHERE i.tenant_id = $1 AND i.id = $2)",
                    )
                    .bind(&tenant)
                    .bind(&hash_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    sqlx::query("DELETE FROM directory_devices WHERE tenant_id = $1 AND autopilot_device_id = $2")
                        .bind(&tenant)
                        .bind(&id_text)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                    Ok(DeleteDevice::Deleted)
                }

                async fn mark_for_removal(&self, scope: &TenantScope, id: DeviceId, now: OffsetDateTime) -> StoreResult<bool> {
                    let tenant = scope.tenant_id().to_string();
                    let mut tx = self.writer().begin().await.map_err(map_err)?;
                    let marked = sqlx::query(
                        "UPDATE devices SET pending_removal = 1, updated = $3 WHERE tenant_id = $1 AND id = $2 RETURNING hash_id",
                    )
                    .bind(&tenant)
                    .bind(id.to_string())
                    .bind(to_micros(now))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    let Some(marked) = marked else { return Ok(false) };
                    free_keys(&mut *tx, &tenant, &id.to_string(), &s(&marked, "hash_id")?).await?;
                    tx.commit().await.map_err(map_err)?;
                    Ok(true)
                }

                async fn count_devices(
                    &self,
                    scope: &TenantScope,
                    published_only: bool,
                    filter: Option<&Filter<DeviceField>>,
                ) -> StoreResult<u64> {
                    let mut sql = Sql::new("SELECT COUNT(*) FROM devices WHERE tenant_id = ");
                    sql.bind(scope.tenant_id().to_string());
                    if published_only {
                        $crate::push_published(&mut sql, scope.tenant_id().to_string());
                    }
                    if let Some(f) = filter {
                        sql.push(" AND (");
                        $crate::push_filter(&mut sql, f, $crate::device_column);
                        sql.push(")");
                    }
                    let n = self.read_rows(ReadKind::Range, sql, |r| r.int(0)).await?;
                    Ok(n.first().copied().unwrap_or(0).max(0) as u64)
                }
            }

            impl ImportStore for $store {
                async fn create_import(
                    &self,
                    scope: &TenantScope,
                    rows: &[ImportedDevice],
                    job: &JobKind,
                    now: OffsetDateTime,
                ) -> StoreResult<()> {
                    let tenant = scope.tenant_id().to_string();
                    let mut tx = self.writer().begin().await.map_err(map_err)?;
                    let mut imported_rows = $crate::Insert::new("imported_devices", $crate::IMPORTED_INSERT_COLUMNS);
                    let mut hash_rows = $crate::Insert::new("hashes", $crate::HASH_INSERT_COLUMNS);
                    for r in rows {
                        imported_rows.push_row($crate::imported_row(r, &tenant));
                        hash_rows.push_row($crate::hash_row(r.id.to_string(), &tenant, &r.hardware_identifier));
                    }
                    <$store>::insert_rows(&mut *tx, &[imported_rows, hash_rows]).await?;
                    sqlx::query(
                        "INSERT INTO jobs (tenant_id, kind, payload, attempts, lease_until, created) VALUES ($1, $2, $3, 0, 0, $4)",
                    )
                    .bind(&tenant)
                    .bind(job.kind_str())
                    .bind(job.payload())
                    .bind(to_micros(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)
                }

                async fn get_imported(&self, scope: &TenantScope, id: ImportedDeviceId) -> StoreResult<Option<ImportedDevice>> {
                    let row = sqlx::query(&format!("{IMPORTED_SELECT} WHERE i.tenant_id = $1 AND i.id = $2"))
                        .bind(scope.tenant_id().to_string())
                        .bind(id.to_string())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(map_err)?;
                    row.as_ref().map(|r| $crate::imported_from_cols(r)).transpose()
                }

                async fn list_imported(
                    &self,
                    scope: &TenantScope,
                    import_id: Option<&str>,
                    filter: Option<&Filter<ImportedField>>,
                    page: &PageRequest,
                ) -> StoreResult<Page<ImportedDevice>> {
                    let mut sql = Sql::new(concat!($crate::imported_select!(), " WHERE i.tenant_id = "));
                    sql.bind(scope.tenant_id().to_string());
                    if let Some(import_id) = import_id {
                        sql.push(" AND i.import_id = ").bind(import_id);
                    }
                    if let Some(last) = after(page) {
                        sql.push(" AND i.id > ").bind(last);
                    }
                    if let Some(f) = filter {
                        sql.push(" AND (");
                        $crate::push_filter(&mut sql, f, $crate::imported_column);
                        sql.push(")");
                    }
                    sql.push(" ORDER BY i.id LIMIT ").bind(page.top as i64 + 1);
                    let mut items = self.read_rows(ReadKind::Range, sql, $crate::imported_from_cols).await?;
                    let next = if items.len() > page.top {
                        items.truncate(page.top);
                        items.last().map(|d| encode_skiptoken(&d.id.to_string()))
                    } else {
                        None
                    };
                    Ok(Page { items, next })
                }

                async fn delete_imported(&self, scope: &TenantScope, id: ImportedDeviceId) -> StoreResult<bool> {
                    let mut tx = self.writer().begin().await.map_err(map_err)?;
                    let deleted = sqlx::query(
                        "DELETE FROM imported_devices WHERE tenant_id = $1 AND id = $2 RETURNING device_registration_id",
                    )
                    .bind(scope.tenant_id().to_string())
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    let Some(deleted) = deleted else { return Ok(false) };
                    // The row's hash stays while the device registered from it does (that device
                    // is the only one whose hash_id is the row's id).
                    sqlx::query(
                        "DELETE FROM hashes WHERE tenant_id = $1 AND id = $2 AND NOT EXISTS \
                         (SELECT 1 FROM devices d WHERE d.tenant_id = $1 AND d.id = $3 AND d.hash_id = $2)",
                    )
                    .bind(scope.tenant_id().to_string())
                    .bind(id.to_string())
                    .bind(os(&deleted, "device_registration_id")?)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                    Ok(true)
                }

                async fn unknown_rows(
                    &self,
                    scope: &TenantScope,
                    import_id: &str,
                    after_seq: i64,
                    limit: usize,
                ) -> StoreResult<Vec<ImportedDevice>> {
                    let mut sql = Sql::new(concat!($crate::imported_select!(), " WHERE i.tenant_id = "));
                    sql.bind(scope.tenant_id().to_string());
                    sql.push(" AND i.import_id = ").bind(import_id);
                    sql.push(" AND i.seq > ").bind(after_seq);
                    sql.push(" AND i.status = 'unknown' ORDER BY i.seq LIMIT ").bind(limit as i64);
                    self.read_rows(ReadKind::Bulk, sql, $crate::imported_from_cols).await
                }

                async fn fail_unknown_rows(&self, scope: &TenantScope, import_id: &str, error: ZtdError) -> StoreResult<u64> {
                    let n = sqlx::query(
                        "UPDATE imported_devices SET status = 'error', error_code = $3 \
                         WHERE tenant_id = $1 AND import_id = $2 AND status = 'unknown'",
                    )
                    .bind(scope.tenant_id().to_string())
                    .bind(import_id)
                    .bind(i64::from(error.code()))
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                    Ok(n)
                }

                async fn import_counts(&self, scope: &TenantScope, import_id: &str) -> StoreResult<Vec<(DeviceImportStatus, u64)>> {
                    let rows = sqlx::query(
                        "SELECT status, COUNT(*) AS n FROM imported_devices WHERE tenant_id = $1 AND import_id = $2 \
                         GROUP BY status ORDER BY status",
                    )
                    .bind(scope.tenant_id().to_string())
                    .bind(import_id)
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    rows.iter().map(|r| Ok((enum_of(r, "status", DeviceImportStatus::parse)?, i(r, "n")? as u64))).collect()
                }
            }

            impl JobStore for $store {
                async fn claim_job(
                    &self,
                    _scope: &SystemScope,
                    worker: &str,
                    now: OffsetDateTime,
                    lease: Duration,
                ) -> StoreResult<Option<Job>> {
                    let row = sqlx::query(<$store>::CLAIM_JOB_SQL)
                        .bind(worker)
                        .bind(to_micros(now + lease))
                        .bind(to_micros(now))
                        .fetch_optional(self.writer())
                        .await
                        .map_err(map_err)?;
                    let Some(r) = row else { return Ok(None) };
                    let kind = s(&r, "kind")?;
                    Ok(Some(Job {
                        id: i(&r, "id")?,
                        tenant_id: uuid_of(&r, "tenant_id", TenantId::parse)?,
                        kind: JobKind::from_parts(&kind, &s(&r, "payload")?).ok_or_else(|| corrupt("job kind", &kind))?,
                        attempts: i(&r, "attempts")?,
                    }))
                }

                async fn heartbeat_job(&self, _scope: &SystemScope, job_id: i64, worker: &str, until: OffsetDateTime) -> StoreResult<bool> {
                    let n = sqlx::query("UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2")
                        .bind(job_id)
                        .bind(worker)
                        .bind(to_micros(until))
                        .execute(self.writer())
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    Ok(n > 0)
                }

                async fn finish_job(&self, _scope: &SystemScope, job_id: i64, worker: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_owner = $2")
                        .bind(job_id)
                        .bind(worker)
                        .execute(self.writer())
                        .await
                        .map_err(map_err)?;
                    Ok(())
                }

                async fn release_job(&self, _scope: &SystemScope, job_id: i64, worker: &str, retry_at: OffsetDateTime) -> StoreResult<()> {
                    sqlx::query("UPDATE jobs SET lease_owner = NULL, lease_until = $3 WHERE id = $1 AND lease_owner = $2")
                        .bind(job_id)
                        .bind(worker)
                        .bind(to_micros(retry_at))
                        .execute(self.writer())
                        .await
                        .map_err(map_err)?;
                    Ok(())
                }

                async fn count_jobs(&self, _scope: &SystemScope) -> StoreResult<u64> {
                    let r = sqlx::query("SELECT COUNT(*) AS n FROM jobs").fetch_one(self.reader()).await.map_err(map_err)?;
                    Ok(i(&r, "n")? as u64)
                }
            }

            impl SyncStore for $store {
                async fn get_sync_state(&self, scope: &TenantScope) -> StoreResult<SyncState> {
                    let r = sqlx::query("SELECT last_sync, last_manual_trigger, status FROM sync_state WHERE tenant_id = $1")
                        .bind(scope.tenant_id().to_string())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(map_err)?;
                    Ok(match r {
                        Some(r) => SyncState {
                            tenant_id: scope.tenant_id(),
                            last_sync: from_opt_micros(oi(&r, "last_sync")?),
                            last_manual_sync_trigger: from_opt_micros(oi(&r, "last_manual_trigger")?),
                            sync_status: enum_of(&r, "status", SyncStatus::parse)?,
                        },
                        None => SyncState {
                            tenant_id: scope.tenant_id(),
                            last_sync: None,
                            last_manual_sync_trigger: None,
                            sync_status: SyncStatus::Unknown,
                        },
                    })
                }

                async fn begin_manual_sync(
                    &self,
                    scope: &TenantScope,
                    now: OffsetDateTime,
                    window: Duration,
                    stale_before: OffsetDateTime,
                ) -> StoreResult<BeginSync> {
                    let tenant = scope.tenant_id().to_string();
                    let open_after = to_micros(now - window);
                    // The conditional UPDATE is the atomic check-and-stamp. When it changes nothing,
                    // the row says why; but a sync that blocked it may have ended before the row is
                    // read (an automatic sync, typically), and then the trigger is simply retried.
                    for _ in 0..3 {
                        let n = sqlx::query(
                            "UPDATE sync_state SET status = 'inProgress', started = $2, last_manual_trigger = $2 \
                             WHERE tenant_id = $1 AND (last_manual_trigger IS NULL OR last_manual_trigger <= $3) \
                             AND (status <> 'inProgress' OR started < $4)",
                        )
                        .bind(&tenant)
                        .bind(to_micros(now))
                        .bind(open_after)
                        .bind(to_micros(stale_before))
                        .execute(self.writer())
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                        if n > 0 {
                            return Ok(BeginSync::Started);
                        }
                        let r = sqlx::query("SELECT status, started, last_manual_trigger FROM sync_state WHERE tenant_id = $1")
                            .bind(&tenant)
                            .fetch_optional(self.writer())
                            .await
                            .map_err(map_err)?
                            .ok_or_else(|| StoreError::Backend("the tenant has no sync state".into()))?;
                        let running = s(&r, "status")? == "inProgress" && oi(&r, "started")?.unwrap_or(0) >= to_micros(stale_before);
                        if running {
                            return Ok(BeginSync::InProgress);
                        }
                        if let Some(last) = oi(&r, "last_manual_trigger")? {
                            if last > open_after {
                                return Ok(BeginSync::TooSoon { retry_at: from_micros(last) + window });
                            }
                        }
                    }
                    // Syncs keep starting and ending under us: report the one that is running.
                    Ok(BeginSync::InProgress)
                }

                async fn begin_automatic_sync(
                    &self,
                    scope: &TenantScope,
                    now: OffsetDateTime,
                    due_before: OffsetDateTime,
                    stale_before: OffsetDateTime,
                ) -> StoreResult<bool> {
                    let n = sqlx::query(
                        "UPDATE sync_state SET status = 'inProgress', started = $2 \
                         WHERE tenant_id = $1 AND (last_sync IS NULL OR last_sync <= $3) \
                         AND (status <> 'inProgress' OR started < $4)",
                    )
                    .bind(scope.tenant_id().to_string())
                    .bind(to_micros(now))
                    .bind(to_micros(due_before))
                    .bind(to_micros(stale_before))
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                    Ok(n > 0)
                }

                async fn tenants_due_for_sync(
                    &self,
                    _scope: &SystemScope,
                    due_before: OffsetDateTime,
                    stale_before: OffsetDateTime,
                ) -> StoreResult<Vec<TenantId>> {
                    let rows = sqlx::query(
                        "SELECT tenant_id FROM sync_state WHERE (last_sync IS NULL OR last_sync <= $1) \
                         AND (status <> 'inProgress' OR started < $2) ORDER BY tenant_id",
                    )
                    .bind(to_micros(due_before))
                    .bind(to_micros(stale_before))
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    rows.iter().map(|r| uuid_of(r, "tenant_id", TenantId::parse)).collect()
                }

                async fn apply_sync(&self, scope: &TenantScope) -> StoreResult<SyncChanges> {
                    let tenant = scope.tenant_id().to_string();
                    let mut tx = self.writer().begin().await.map_err(map_err)?;
                    // Publishing is one counter: the devices registered at the next generation
                    // are listed from this commit on (migration 0005).
                    let generation: i64 = sqlx::query_scalar(
                        "UPDATE sync_state SET generation = generation + 1 WHERE tenant_id = $1 RETURNING generation",
                    )
                    .bind(&tenant)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    let published: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM devices WHERE tenant_id = $1 AND publish_generation > 0 \
                         AND publish_generation = $2 AND pending_removal = 0",
                    )
                    .bind(&tenant)
                    .bind(generation)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    let published = published.max(0) as u64;
                    let mut removed = 0;
                    for sql in $crate::SYNC_REMOVALS {
                        removed = sqlx::query(sql).bind(&tenant).execute(&mut *tx).await.map_err(map_err)?.rows_affected();
                    }
                    tx.commit().await.map_err(map_err)?;
                    Ok(SyncChanges { published, removed })
                }

                async fn finish_sync(&self, scope: &TenantScope, now: OffsetDateTime, status: SyncStatus) -> StoreResult<()> {
                    let sql = if status == SyncStatus::Completed {
                        "UPDATE sync_state SET status = $2, last_sync = $3, started = NULL WHERE tenant_id = $1"
                    } else {
                        "UPDATE sync_state SET status = $2, started = NULL WHERE tenant_id = $1 AND $3 > 0"
                    };
                    sqlx::query(sql)
                        .bind(scope.tenant_id().to_string())
                        .bind(status.as_str())
                        .bind(to_micros(now))
                        .execute(self.writer())
                        .await
                        .map_err(map_err)?;
                    Ok(())
                }
            }

            impl AuditStore for $store {
                async fn append_audit(&self, scope: &TenantScope, e: &AuditEntry) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO audit_log (tenant_id, principal, action, objects, detail, at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(scope.tenant_id().to_string())
                    .bind(&e.principal)
                    .bind(&e.action)
                    .bind($crate::join_list(&e.objects))
                    .bind(&e.detail)
                    .bind(to_micros(e.at))
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?;
                    Ok(())
                }

                async fn list_audit(&self, scope: &TenantScope, limit: usize) -> StoreResult<Vec<AuditEntry>> {
                    let rows = sqlx::query(
                        "SELECT principal, action, objects, detail, at FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
                    )
                    .bind(scope.tenant_id().to_string())
                    .bind(limit as i64)
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    rows.iter()
                        .map(|r| {
                            Ok(AuditEntry {
                                tenant_id: scope.tenant_id(),
                                principal: s(r, "principal")?,
                                action: s(r, "action")?,
                                objects: $crate::split_list(&s(r, "objects")?),
                                detail: s(r, "detail")?,
                                at: from_micros(i(r, "at")?),
                            })
                        })
                        .collect()
                }
            }

            impl DirectoryStore for $store {
                async fn insert_directory_device(&self, scope: &TenantScope, d: &DirectoryDevice) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO directory_devices (id, tenant_id, device_id, display_name, physical_ids, trust_type, \
                         account_enabled, operating_system, registration, autopilot_device_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(d.id.to_string())
                    .bind(scope.tenant_id().to_string())
                    .bind(&d.device_id)
                    .bind(&d.display_name)
                    .bind($crate::join_list(&d.physical_ids))
                    .bind(&d.trust_type)
                    .bind(i64::from(d.account_enabled))
                    .bind(&d.operating_system)
                    .bind(opt_micros(d.registration))
                    .bind(d.autopilot_device_id.map(|x| x.to_string()))
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?;
                    Ok(())
                }

                async fn list_directory_devices(&self, scope: &TenantScope) -> StoreResult<Vec<DirectoryDevice>> {
                    let rows = sqlx::query(
                        "SELECT id, device_id, display_name, physical_ids, trust_type, account_enabled, operating_system, \
                         registration, autopilot_device_id FROM directory_devices WHERE tenant_id = $1 ORDER BY id",
                    )
                    .bind(scope.tenant_id().to_string())
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    rows.iter()
                        .map(|r| {
                            Ok(DirectoryDevice {
                                id: uuid_of(r, "id", DirectoryDeviceId::parse)?,
                                tenant_id: scope.tenant_id(),
                                device_id: s(r, "device_id")?,
                                display_name: s(r, "display_name")?,
                                physical_ids: $crate::split_list(&s(r, "physical_ids")?),
                                trust_type: s(r, "trust_type")?,
                                account_enabled: i(r, "account_enabled")? != 0,
                                operating_system: s(r, "operating_system")?,
                                registration: from_opt_micros(oi(r, "registration")?),
                                autopilot_device_id: os(r, "autopilot_device_id")?.as_deref().and_then(DeviceId::parse),
                            })
                        })
                        .collect()
                }
            }

            impl ManagedDeviceStore for $store {
                async fn insert_managed_device(&self, scope: &TenantScope, m: &ManagedDevice) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO managed_devices (id, tenant_id, device_name, serial_number, manufacturer, model, \
                         user_principal_name, azure_ad_device_id, enrolled, last_sync, operating_system, management_state, \
                         autopilot_enrolled, enrolled_by_user_id, autopilot_device_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    )
                    .bind(m.id.to_string())
                    .bind(scope.tenant_id().to_string())
                    .bind(&m.device_name)
                    .bind(&m.serial_number)
                    .bind(&m.manufacturer)
                    .bind(&m.model)
                    .bind(&m.user_principal_name)
                    .bind(&m.azure_ad_device_id)
                    .bind(opt_micros(m.enrolled))
                    .bind(opt_micros(m.last_sync))
                    .bind(&m.operating_system)
                    .bind(&m.management_state)
                    .bind(i64::from(m.autopilot_enrolled))
                    .bind(&m.enrolled_by_user_id)
                    .bind(m.autopilot_device_id.map(|x| x.to_string()))
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?;
                    Ok(())
                }

                async fn list_managed_devices(&self, scope: &TenantScope) -> StoreResult<Vec<ManagedDevice>> {
                    let rows = sqlx::query(
                        "SELECT id, device_name, serial_number, manufacturer, model, user_principal_name, azure_ad_device_id, \
                         enrolled, last_sync, operating_system, management_state, autopilot_enrolled, enrolled_by_user_id, \
                         autopilot_device_id FROM managed_devices WHERE tenant_id = $1 ORDER BY id",
                    )
                    .bind(scope.tenant_id().to_string())
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    rows.iter()
                        .map(|r| {
                            Ok(ManagedDevice {
                                id: uuid_of(r, "id", ManagedDeviceId::parse)?,
                                tenant_id: scope.tenant_id(),
                                device_name: s(r, "device_name")?,
                                serial_number: s(r, "serial_number")?,
                                manufacturer: s(r, "manufacturer")?,
                                model: s(r, "model")?,
                                user_principal_name: s(r, "user_principal_name")?,
                                azure_ad_device_id: s(r, "azure_ad_device_id")?,
                                enrolled: from_opt_micros(oi(r, "enrolled")?),
                                last_sync: from_opt_micros(oi(r, "last_sync")?),
                                operating_system: s(r, "operating_system")?,
                                management_state: s(r, "management_state")?,
                                autopilot_enrolled: i(r, "autopilot_enrolled")? != 0,
                                enrolled_by_user_id: s(r, "enrolled_by_user_id")?,
                                autopilot_device_id: os(r, "autopilot_device_id")?.as_deref().and_then(DeviceId::parse),
                            })
                        })
                        .collect()
                }

                async fn delete_managed_device(&self, scope: &TenantScope, id: ManagedDeviceId) -> StoreResult<bool> {
                    let n = sqlx::query("DELETE FROM managed_devices WHERE tenant_id = $1 AND id = $2")
                        .bind(scope.tenant_id().to_string())
                        .bind(id.to_string())
                        .execute(self.writer())
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    Ok(n > 0)
                }

                async fn managed_device_for(&self, scope: &TenantScope, device: DeviceId) -> StoreResult<Option<ManagedDeviceId>> {
                    let r = sqlx::query("SELECT id FROM managed_devices WHERE tenant_id = $1 AND autopilot_device_id = $2")
                        .bind(scope.tenant_id().to_string())
                        .bind(device.to_string())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(map_err)?;
                    Ok(r.as_ref().map(|r| s(r, "id")).transpose()?.as_deref().and_then(ManagedDeviceId::parse))
                }
            }
        };
    };
}

/// The registry's migrations, `(version, name, SQL)`, read from the `migrations/` folder of the
/// backend crate that invokes this: both backends have the same versions and names, each with
/// SQL of its own dialect.
#[macro_export]
macro_rules! migrations {
    () => {
        $crate::migrations!(
            1 "registry" "0001_registry.sql",
            2 "imported_by_seq" "0002_imported_by_seq.sql",
            3 "hashes_inline" "0003_hashes_inline.sql",
            4 "sync_pending" "0004_sync_pending.sql",
            5 "publish_generation" "0005_publish_generation.sql",
            6 "outcomes_in_place" "0006_outcomes_in_place.sql",
            7 "devices_without_hash_index" "0007_devices_without_hash_index.sql",
            8 "keys_without_device_index" "0008_keys_without_device_index.sql",
            9 "compressed_hashes" "0009_compressed_hashes.sql",
            10 "devices_by_tenant_and_id" "0010_devices_by_tenant_and_id.sql",
            100 "credentials" "0100_credentials.sql",
        )
    };
    ($($version:literal $name:literal $file:literal,)*) => {
        &[$((
            $version,
            $name,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $file)),
        )),*]
    };
}

/// A migrator over migrations embedded in the binary (`include_str!`), so `hangar` needs no files
/// beside it. `locking` makes PostgreSQL run them under an advisory lock.
pub fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use std::borrow::Cow;
    Migrator {
        migrations: Cow::Owned(
            migrations
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}
