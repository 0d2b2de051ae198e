//! Hangar's registry on PostgreSQL: any number of `hangar` processes share one database. Migrations
//! run under an advisory lock; jobs are claimed with `FOR UPDATE SKIP LOCKED`; the sync window
//! lives in the database.

use hangar_store_sql::{Decode, ReadKind, ReadRows, Sql, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

pub use hangar_core::store::StoreError;

fn migrator() -> sqlx::migrate::Migrator {
    hangar_store_sql::migrator(&[
        (
            1,
            "registry",
            include_str!("../migrations/0001_registry.sql"),
        ),
        (
            2,
            "imported_by_seq",
            include_str!("../migrations/0002_imported_by_seq.sql"),
        ),
        (
            100,
            "credentials",
            include_str!("../migrations/0100_credentials.sql"),
        ),
    ])
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
