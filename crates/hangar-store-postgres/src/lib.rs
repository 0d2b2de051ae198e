//! Hangar's registry on PostgreSQL: any number of `hangar` processes share one database. Migrations
//! run under an advisory lock; jobs are claimed with `FOR UPDATE SKIP LOCKED`; the sync window
//! lives in the database.

mod copy;

use hangar_core::store::RowOutcome;
use hangar_store_sql::{Decode, Insert, KeyOwnerRow, ReadKind, ReadRows, Sql, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};
use std::str::FromStr;
use std::time::Duration;

pub use hangar_core::store::StoreError;

fn migrator() -> sqlx::migrate::Migrator {
    hangar_store_sql::migrator(hangar_store_sql::migrations!())
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects with a pool of `pool_size` connections and brings the schema up to date.
    pub async fn connect(url: &str, pool_size: u32) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(err)?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(2))
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options)
            .await
            .map_err(err)?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Brings the schema up to date, under an advisory lock so that processes starting together
    /// don't race.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator().run(&self.pool).await.map_err(err)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// Claims the oldest claimable job; concurrent claimers skip rows another has locked.
    const CLAIM_JOB_SQL: &'static str = "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM jobs WHERE lease_until < $3 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, tenant_id, kind, payload, attempts";

    /// The tenant's sync generation, held against a concurrent sync until the registering
    /// transaction ends (`FOR SHARE`: registrations do not wait for each other, a sync waits for
    /// them), so a device registered before a sync commits is published by that sync or a later
    /// one, never listed before a sync.
    const SYNC_GENERATION_SQL: &'static str =
        "SELECT generation FROM sync_state WHERE tenant_id = $1 FOR SHARE";

    /// A chunk's keys go in one array: one statement, one plan whatever their number.
    const LOOKUP_KEYS_PER_STATEMENT: usize = 100_000;

    /// The registered keys among `keys`, with their owners. One array parameter: the statement is
    /// the same for every batch (a list of binds was a new statement per length, and its plans
    /// fell back to a parallel sequential scan of `device_keys`).
    async fn key_owner_rows(&self, keys: &[String]) -> Result<Vec<KeyOwnerRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "{}k.key = ANY($1::text[])",
            hangar_store_sql::KEY_OWNER_SELECT
        ))
        .bind(keys)
        .fetch_all(self.reader())
        .await
        .map_err(hangar_store_sql::map_err)?;
        rows.iter()
            .map(|r| hangar_store_sql::key_owner_from_cols(r))
            .collect()
    }

    /// Sets the imported rows' states in one statement over arrays (`UNNEST`), which plans as
    /// primary-key lookups; `UPDATE ... FROM (VALUES ...)` planned a hash join over a sequential
    /// scan of `imported_devices`.
    async fn record_outcomes(
        conn: &mut PgConnection,
        tenant: &str,
        outcomes: &[RowOutcome],
    ) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = outcomes.iter().map(|o| o.row.to_string()).collect();
        let statuses: Vec<&str> = outcomes.iter().map(|o| o.state.status.as_str()).collect();
        let registrations: Vec<Option<String>> = outcomes
            .iter()
            .map(|o| o.state.device_registration_id.map(|d| d.to_string()))
            .collect();
        let codes: Vec<i64> = outcomes
            .iter()
            .map(|o| i64::from(o.state.error_code()))
            .collect();
        sqlx::query(
            "UPDATE imported_devices i SET status = v.status, device_registration_id = v.registration, \
             error_code = v.code \
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::int8[]) AS v (id, status, registration, code) \
             WHERE i.id = v.id AND i.tenant_id = $1",
        )
        .bind(tenant)
        .bind(ids)
        .bind(statuses)
        .bind(registrations)
        .bind(codes)
        .execute(conn)
        .await
        .map_err(hangar_store_sql::map_err)?;
        Ok(())
    }

    /// Each table's rows in one binary COPY.
    async fn insert_rows(conn: &mut PgConnection, inserts: &[Insert]) -> Result<(), StoreError> {
        for insert in inserts.iter().filter(|i| !i.is_empty()) {
            copy::copy_in(conn, insert).await?;
        }
        Ok(())
    }
}

impl ReadRows for PostgresStore {
    async fn read_rows<T: Send + 'static>(
        &self,
        _kind: ReadKind,
        sql: Sql,
        decode: Decode<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut query = sqlx::query(sql.text());
        for value in sql.binds() {
            query = match value {
                Value::Text(v) => query.bind(v.as_str()),
                Value::Int(v) => query.bind(*v),
                Value::OptText(v) => query.bind(v.as_deref()),
                Value::OptInt(v) => query.bind(*v),
                Value::Bytes(v) => query.bind(v.as_slice()),
            };
        }
        let rows = query
            .fetch_all(self.reader())
            .await
            .map_err(hangar_store_sql::map_err)?;
        rows.iter().map(|row| decode(row)).collect()
    }
}

hangar_store_sql::impl_store!(PostgresStore, sqlx::Postgres);
hangar_store_sql::impl_credential_store!(PostgresStore, sqlx::Postgres);
