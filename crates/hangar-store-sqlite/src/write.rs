//! The bulk writes (see `hangar_store_sql::Insert`) on the writer connection's own SQLite handle,
//! inside the transaction sqlx opened on it: one prepared statement per table, stepped once per
//! row. Through sqlx, a multi-row statement copied every value twice (into sqlx's arguments, then
//! into SQLite) and went to the connection's worker thread and back; this way a row costs what
//! SQLite's B-tree work costs.

use hangar_core::store::{RowOutcome, StoreError, StoreResult};
use hangar_store_sql::{Insert, Value};
use rusqlite::ffi::ErrorCode;
use sqlx::SqliteConnection;
use tokio::runtime::{Handle, RuntimeFlavor};

fn err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == ErrorCode::ConstraintViolation => {
            let m = msg.clone().unwrap_or_else(|| e.to_string());
            // Only UNIQUE and PRIMARY KEY violations mean "someone took that key first".
            if m.contains("UNIQUE") {
                StoreError::UniqueViolation(m)
            } else {
                StoreError::Backend(m)
            }
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Runs `f` on the raw handle of `conn` (the writer, in its open transaction) while sqlx's worker
/// thread for it waits. On a multi-thread runtime the calling thread first hands its other tasks
/// to the runtime (`block_in_place`), since `f` keeps it for tens of milliseconds.
async fn with_handle<R>(
    conn: &mut SqliteConnection,
    f: impl FnOnce(&rusqlite::Connection) -> StoreResult<R>,
) -> StoreResult<R> {
    let mut locked = conn
        .lock_handle()
        .await
        .map_err(hangar_store_sql::map_err)?;
    let raw = locked.as_raw_handle();
    let run = || {
        // SAFETY: `locked` keeps sqlx's worker off this handle until it drops, after `db`;
        // a connection made by `from_handle` does not close the handle it borrows.
        let db = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }.map_err(err)?;
        f(&db)
    };
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(run)
        }
        _ => run(),
    }
}

/// Binds `value` to the parameter at `index` (from 1).
pub(crate) fn bind_value(
    stmt: &mut rusqlite::Statement<'_>,
    index: usize,
    value: &Value,
) -> rusqlite::Result<()> {
    match value {
        Value::Text(v) => stmt.raw_bind_parameter(index, v.as_str()),
        Value::Int(v) => stmt.raw_bind_parameter(index, v),
        Value::OptText(v) => stmt.raw_bind_parameter(index, v.as_deref()),
        Value::OptInt(v) => stmt.raw_bind_parameter(index, v),
        Value::Bytes(v) => stmt.raw_bind_parameter(index, v.as_slice()),
    }
}

/// Binds a row to a statement whose placeholders appear in the order of the row's values.
fn bind(stmt: &mut rusqlite::Statement<'_>, row: &[Value]) -> StoreResult<()> {
    for (i, value) in row.iter().enumerate() {
        bind_value(stmt, i + 1, value).map_err(err)?;
    }
    Ok(())
}

pub(crate) async fn insert_rows(
    conn: &mut SqliteConnection,
    inserts: &[Insert],
) -> StoreResult<()> {
    with_handle(conn, |db| {
        for insert in inserts.iter().filter(|i| !i.is_empty()) {
            let mut stmt = db.prepare(&insert.single_row_sql()).map_err(err)?;
            for row in insert.rows() {
                bind(&mut stmt, row)?;
                stmt.raw_execute().map_err(err)?;
            }
        }
        Ok(())
    })
    .await
}

pub(crate) async fn record_outcomes(
    conn: &mut SqliteConnection,
    tenant: &str,
    outcomes: &[RowOutcome],
) -> StoreResult<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    with_handle(conn, |db| {
        let mut stmt = db
            .prepare(
                "UPDATE imported_devices SET status = $1, device_registration_id = $2, error_code = $3 \
                 WHERE id = $4 AND tenant_id = $5",
            )
            .map_err(err)?;
        for o in outcomes {
            bind(
                &mut stmt,
                &[
                    Value::from(o.state.status.as_str()),
                    Value::OptText(o.state.device_registration_id.map(|d| d.to_string())),
                    Value::Int(i64::from(o.state.error_code())),
                    Value::Text(o.row.to_string()),
                    Value::from(tenant),
                ],
            )?;
            stmt.raw_execute().map_err(err)?;
        }
        Ok(())
    })
    .await
}
