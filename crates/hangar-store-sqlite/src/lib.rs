//! Hangar's registry on SQLite, the embedded default: one file in the data directory, WAL,
//! `synchronous=NORMAL`, foreign keys on, ONE writer connection (SQLite allows one writer at a time;
//! queuing in the pool is cheaper than lock retries) and several readers.

mod checkpoint;
mod read;
mod write;

use hangar_core::store::RowOutcome;
use hangar_store_sql::{Decode, KeyOwnerRow, ReadKind, ReadRows, Sql};
use read::Readers;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use hangar_core::store::StoreError;

const MIGRATIONS: &[(i64, &str, &str)] = hangar_store_sql::migrations!();

fn migrator() -> sqlx::migrate::Migrator {
    hangar_store_sql::migrator(MIGRATIONS)
}

#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    hot_readers: Arc<Readers>,
    _checkpoints: Arc<checkpoint::Alive>,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating it if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new().filename(path);
        SqliteStore::connect_with(options).await
    }

    /// Opens a `sqlite://...` URL (`sqlite://hangar.db`, `sqlite::memory:` is refused: readers and
    /// the writer must share a file).
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url).map_err(err)?;
        SqliteStore::connect_with(options).await
    }

    async fn connect_with(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536")
            .pragma(
                "wal_autocheckpoint",
                checkpoint::WRITER_BACKSTOP_PAGES.to_string(),
            )
            .pragma("temp_store", "MEMORY");
        let hot_readers = Readers::new(options.get_filename().to_path_buf());
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await
            .map_err(err)?;
        migrator().run(&writer).await.map_err(err)?;
        let checkpoints = checkpoint::start(
            options.get_filename().to_path_buf(),
            Arc::clone(&hot_readers),
        )
        .map_err(err)?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.read_only(true))
            .await
            .map_err(err)?;
        Ok(SqliteStore {
            writer,
            readers,
            hot_readers,
            _checkpoints: checkpoints,
        })
    }

    /// Brings the schema up to date (also done by `open`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator().run(&self.writer).await.map_err(err)
    }

    /// A consistent copy of the database in one file (`VACUUM INTO`), safe while Hangar runs.
    pub async fn backup(&self, out: &Path) -> Result<(), StoreError> {
        let target = out
            .to_str()
            .ok_or_else(|| StoreError::Backend(format!("{} is not valid UTF-8", out.display())))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(())
    }

    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn reader(&self) -> &SqlitePool {
        &self.readers
    }

    /// Claims the oldest job that is queued or whose lease expired. The single writer serializes
    /// claims in this process; SQLite's write lock serializes them across processes.
    const CLAIM_JOB_SQL: &'static str =
        "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM jobs WHERE lease_until < $3 ORDER BY id LIMIT 1) \
         RETURNING id, tenant_id, kind, payload, attempts";

    /// The tenant's sync generation. A write, so the transaction holds SQLite's write lock from
    /// its first statement (a read first would have to upgrade its lock later, which fails at once
    /// if another process wrote in between).
    const SYNC_GENERATION_SQL: &'static str =
        "UPDATE sync_state SET generation = generation WHERE tenant_id = $1 RETURNING generation";

    /// Keys per lookup statement: one bind each, below SQLite's 32766.
    const LOOKUP_KEYS_PER_STATEMENT: usize = hangar_store_sql::CHUNK * 4;

    /// The registered keys among `keys`, with their owners (a list of binds: SQLite has no arrays).
    async fn key_owner_rows(&self, keys: &[String]) -> Result<Vec<KeyOwnerRow>, StoreError> {
        let mut sql = Sql::new(hangar_store_sql::KEY_OWNER_SELECT);
        sql.push("k.key IN (");
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(k.as_str());
        }
        sql.push(")");
        self.read_rows(ReadKind::Bulk, sql, hangar_store_sql::key_owner_from_cols)
            .await
    }

    async fn insert_rows(
        conn: &mut SqliteConnection,
        inserts: &[hangar_store_sql::Insert],
    ) -> Result<(), StoreError> {
        write::insert_rows(conn, inserts).await
    }

    async fn record_outcomes(
        conn: &mut SqliteConnection,
        tenant: &str,
        outcomes: &[RowOutcome],
    ) -> Result<(), StoreError> {
        write::record_outcomes(conn, tenant, outcomes).await
    }
}

impl ReadRows for SqliteStore {
    async fn read_rows<T: Send + 'static>(
        &self,
        kind: ReadKind,
        sql: Sql,
        decode: Decode<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.hot_readers.read(kind, sql, decode).await
    }
}

hangar_store_sql::impl_store!(SqliteStore, sqlx::Sqlite);
hangar_store_sql::impl_credential_store!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
mod tests {
    use super::*;
    use hangar_core::authz::{authorize, Principal};
    use hangar_core::model::{AutopilotDevice, PageRequest, RegistrationSource, TenantId};
    use hangar_core::store::{DeviceStore, SyncStore};

    /// A device row as an earlier schema stored it: `last` names its two last columns (0001 – 0004:
    /// `published, pending_removal`; 0005 – 0009: `publish_generation, pending_removal`), `values`
    /// gives them.
    async fn insert_old_device(
        pool: &SqlitePool,
        d: &AutopilotDevice,
        last: &str,
        values: [i64; 2],
    ) {
        let columns = format!("{}, {last}", hangar_store_sql::stored_device_columns!());
        let placeholders = vec!["?"; 36].join(", ");
        sqlx::query(&format!(
            "INSERT INTO devices ({columns}) VALUES ({placeholders})"
        ))
        .bind(d.id.to_string())
        .bind(d.tenant_id.to_string())
        .bind("")
        .bind("")
        .bind(&d.serial_number)
        .bind("")
        .bind("Contoso")
        .bind("Laptop 7")
        .bind(d.enrollment_state.as_str())
        .bind(None::<i64>)
        .bind("")
        .bind("")
        .bind("")
        .bind("")
        .bind("")
        .bind("")
        .bind(None::<String>)
        .bind("")
        .bind("")
        .bind(d.deployment_profile_assignment_status.as_str())
        .bind(d.deployment_profile_assignment_detailed_status.as_str())
        .bind(None::<i64>)
        .bind("")
        .bind("")
        .bind("")
        .bind(d.remediation_state.as_str())
        .bind(None::<i64>)
        .bind(d.userless_enrollment_status.as_str())
        .bind(d.id.to_string())
        .bind(d.source.as_str())
        .bind(&d.registered_by)
        .bind(None::<String>)
        .bind(0i64)
        .bind(0i64)
        .bind(values[0])
        .bind(values[1])
        .execute(pool)
        .await
        .expect("insert device");
    }

    /// A database at the schema of the first `migrations` migrations, with one tenant and its sync
    /// state.
    async fn database_at(path: &Path, migrations: usize) -> (SqlitePool, TenantId) {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true),
            )
            .await
            .expect("open");
        hangar_store_sql::migrator(&MIGRATIONS[..migrations])
            .run(&pool)
            .await
            .expect("the earlier migrations");
        let tenant = TenantId::new();
        sqlx::query("INSERT INTO tenants (id, display_name, primary_domain, created) VALUES (?, 'Contoso', 'contoso.onmicrosoft.com', 0)")
            .bind(tenant.to_string())
            .execute(&pool)
            .await
            .expect("tenant");
        sqlx::query("INSERT INTO sync_state (tenant_id, status) VALUES (?, 'unknown')")
            .bind(tenant.to_string())
            .execute(&pool)
            .await
            .expect("sync state");
        (pool, tenant)
    }

    /// Hashes written before migration 0009 stay as they were (codec 0) and read back unchanged.
    #[tokio::test]
    async fn migration_0009_reads_hashes_stored_uncompressed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hangar.db");
        let (old, tenant) = database_at(&path, 8).await;
        let row = hangar_core::model::ImportedDeviceId::new();
        let raw: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
        sqlx::query(
            "INSERT INTO imported_devices (id, tenant_id, import_id, seq, group_tag, serial_number, \
             product_key, assigned_user, status, device_registration_id, error_code, created) \
             VALUES (?, ?, 'import-1', 0, '', 'SER-1', '', '', 'error', NULL, 802, 0)",
        )
        .bind(row.to_string())
        .bind(tenant.to_string())
        .execute(&old)
        .await
        .expect("imported row");
        sqlx::query("INSERT INTO hashes (id, tenant_id, bytes) VALUES (?, ?, ?)")
            .bind(row.to_string())
            .bind(tenant.to_string())
            .bind(&raw)
            .execute(&old)
            .await
            .expect("hash");
        old.close().await;

        let store = SqliteStore::open(&path)
            .await
            .expect("migrate to the current schema");
        let scope = authorize(&Principal::system("test"), tenant).expect("scope");
        let read = hangar_core::store::ImportStore::get_imported(&store, &scope, row)
            .await
            .expect("get")
            .expect("the row is there");
        assert_eq!(read.hardware_identifier, raw);
        store.close().await;
    }

    #[tokio::test]
    async fn migration_0005_keeps_unpublished_devices_waiting_for_a_sync() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hangar.db");
        let (old, tenant) = database_at(&path, 4).await;
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let mut listed =
            AutopilotDevice::new(tenant, RegistrationSource::Import, "admin:a".into(), now);
        listed.serial_number = "LISTED-1".into();
        let mut waiting =
            AutopilotDevice::new(tenant, RegistrationSource::Partner, "partner:p".into(), now);
        waiting.serial_number = "WAITING-1".into();
        let v4 = "published, pending_removal";
        insert_old_device(&old, &listed, v4, [1, 0]).await;
        insert_old_device(&old, &waiting, v4, [0, 0]).await;
        old.close().await;

        let store = SqliteStore::open(&path)
            .await
            .expect("migrate to the current schema");
        let scope = authorize(&Principal::system("test"), tenant).expect("scope");
        let page = PageRequest {
            top: 100,
            skiptoken: None,
        };
        let serials = |p: hangar_core::model::Page<AutopilotDevice>| {
            p.items
                .into_iter()
                .map(|d| d.serial_number)
                .collect::<Vec<_>>()
        };
        let before = store.list_devices(&scope, None, &page).await.expect("list");
        assert_eq!(serials(before), ["LISTED-1"]);
        let record = store
            .get_device_record(&scope, waiting.id)
            .await
            .expect("get");
        assert!(!record.expect("the waiting device is stored").published);

        let changes = store.apply_sync(&scope).await.expect("sync");
        assert_eq!((changes.published, changes.removed), (1, 0));
        let mut after = serials(store.list_devices(&scope, None, &page).await.expect("list"));
        after.sort();
        assert_eq!(after, ["LISTED-1", "WAITING-1"]);
        store.close().await;
    }

    /// Migration 0010 re-keys devices by (tenant, id): every device keeps its place in the list and
    /// in the sync, and the reads and the sync's removals find their rows by key.
    #[tokio::test]
    async fn migration_0010_keeps_every_device_and_finds_it_by_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hangar.db");
        let (old, tenant) = database_at(&path, 9).await;
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let device = |source, serial: &str| {
            let mut d = AutopilotDevice::new(tenant, source, "admin:a".into(), now);
            d.serial_number = serial.into();
            d
        };
        let listed = device(RegistrationSource::Import, "LISTED-1");
        let waiting = device(RegistrationSource::Partner, "WAITING-1");
        let leaving = device(RegistrationSource::Import, "LEAVING-1");
        let v9 = "publish_generation, pending_removal";
        insert_old_device(&old, &listed, v9, [0, 0]).await;
        insert_old_device(&old, &waiting, v9, [1, 0]).await;
        insert_old_device(&old, &leaving, v9, [0, 1]).await;
        old.close().await;

        let store = SqliteStore::open(&path)
            .await
            .expect("migrate to the current schema");
        let scope = authorize(&Principal::system("test"), tenant).expect("scope");
        for d in [&listed, &waiting, &leaving] {
            let read = store
                .get_device_record(&scope, d.id)
                .await
                .expect("get")
                .expect("the device is kept");
            assert_eq!(
                (read.serial_number.as_str(), read.source, read.published),
                (d.serial_number.as_str(), d.source, d.id != waiting.id)
            );
        }

        let plan = |sql: String, binds: Vec<String>| {
            let store = &store;
            async move {
                let explain = format!("EXPLAIN QUERY PLAN {sql}");
                let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
                for b in binds {
                    query = query.bind(b);
                }
                let rows = query.fetch_all(store.writer()).await.expect("plan");
                rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
            }
        };
        let by_id = plan(
            format!(
                "SELECT {} FROM devices WHERE tenant_id = $1 AND id = $2",
                hangar_store_sql::DEVICE_COLUMNS
            ),
            vec![tenant.to_string(), listed.id.to_string()],
        )
        .await;
        assert_eq!(
            by_id.split("; ").next(),
            Some("SEARCH devices USING PRIMARY KEY (tenant_id=? AND id=?)"),
            "{by_id}"
        );
        for sql in hangar_store_sql::SYNC_REMOVALS {
            let found = plan(sql.to_string(), vec![tenant.to_string()]).await;
            let on_devices: Vec<&str> = found
                .split("; ")
                .filter(|step| step.contains(" devices "))
                .collect();
            assert!(
                !on_devices.is_empty()
                    && on_devices
                        .iter()
                        .all(|step| step.contains("devices_pending_removal")),
                "{sql}: {found}"
            );
        }

        let changes = store.apply_sync(&scope).await.expect("sync");
        assert_eq!((changes.published, changes.removed), (1, 1));
        let page = PageRequest {
            top: 100,
            skiptoken: None,
        };
        let mut after: Vec<String> = store
            .list_devices(&scope, None, &page)
            .await
            .expect("list")
            .items
            .into_iter()
            .map(|d| d.serial_number)
            .collect();
        after.sort();
        assert_eq!(after, ["LISTED-1", "WAITING-1"]);
        store.close().await;
    }
}
