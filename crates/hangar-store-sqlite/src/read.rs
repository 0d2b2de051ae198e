//! The hot reads (see `hangar_store_sql::ReadRows`) on plain read-only rusqlite connections. A
//! lookup by key runs on the calling thread: it is an index probe that takes microseconds, less
//! than handing it to another thread would. A range may read many rows, so it runs on tokio's
//! blocking pool, a few at a time: with more ranges in flight than cores they only take turns on
//! the CPU and each needs a connection (and a page cache) of its own, which stretches the tail
//! latency of all of them.

use hangar_core::store::{StoreError, StoreResult};
use hangar_store_sql::{Cols, Decode, ReadKind, Sql};
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Ranges read at once.
const RANGES: usize = 4;
/// Idle connections kept for reuse (the ranges and the lookups on the runtime's threads); more
/// are opened under load and closed after use.
const IDLE: usize = 16;

#[derive(Debug)]
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Connections for [`ReadKind::Bulk`]: not memory-mapped, with a small page cache. Pages read
    /// through a mapping stay in the process's resident set (as page cache shared with the
    /// kernel), and so do those of a large page cache: an import of a million devices that read
    /// its rows and keys through mapped connections peaked at 685 MB of RSS, through unmapped
    /// ones with 16 MB caches at 396 MB, and with these at ~200 MB, as fast. Such reads go
    /// through their pages once; the kernel's page cache serves them as well.
    idle_bulk: Mutex<Vec<Connection>>,
    ranges: tokio::sync::Semaphore,
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl Readers {
    pub fn new(path: PathBuf) -> Arc<Readers> {
        Arc::new(Readers {
            path,
            idle: Mutex::new(Vec::new()),
            idle_bulk: Mutex::new(Vec::new()),
            ranges: tokio::sync::Semaphore::new(RANGES),
        })
    }

    fn open(&self, kind: ReadKind) -> StoreResult<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        if kind == ReadKind::Bulk {
            conn.pragma_update(None, "cache_size", -2048).map_err(err)?;
        } else {
            conn.pragma_update(None, "cache_size", -65536)
                .map_err(err)?;
            // Pages are read straight from the mapped file instead of copied into each
            // connection's own cache (up to SQLITE_MAX_MMAP_SIZE, set in .cargo/config.toml).
            conn.query_row("PRAGMA mmap_size = 17179869184", [], |r| r.get::<_, i64>(0))
                .map_err(err)?;
        }
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn with<R>(
        &self,
        kind: ReadKind,
        f: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let pool = if kind == ReadKind::Bulk {
            &self.idle_bulk
        } else {
            &self.idle
        };
        let taken = pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.open(kind)?,
        };
        let out = f(&conn);
        let mut idle = pool.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE {
            idle.push(conn);
        }
        out
    }

    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        kind: ReadKind,
        sql: Sql,
        decode: Decode<T>,
    ) -> StoreResult<Vec<T>> {
        match kind {
            ReadKind::ByKey => self.with(kind, |conn| run(conn, &sql, decode)),
            ReadKind::Range | ReadKind::Bulk => {
                let _turn = self
                    .ranges
                    .acquire()
                    .await
                    .map_err(|e| StoreError::Backend(format!("readers closed: {e}")))?;
                let readers = Arc::clone(self);
                tokio::task::spawn_blocking(move || {
                    readers.with(kind, |conn| run(conn, &sql, decode))
                })
                .await
                .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
            }
        }
    }
}

fn run<T>(conn: &Connection, sql: &Sql, decode: Decode<T>) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql.text()).map_err(err)?;
    for (i, value) in sql.binds().iter().enumerate() {
        // `$N` are named parameters to SQLite; look each up rather than trust their order.
        let name = format!("${}", i + 1);
        let index = stmt
            .parameter_index(&name)
            .map_err(err)?
            .ok_or_else(|| StoreError::Backend(format!("no parameter {name} in statement")))?;
        crate::write::bind_value(&mut stmt, index, value).map_err(err)?;
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(err)? {
        out.push(decode(&Row(row))?);
    }
    Ok(out)
}

struct Row<'a, 'stmt>(&'a rusqlite::Row<'stmt>);

impl Cols for Row<'_, '_> {
    fn text(&self, i: usize) -> StoreResult<String> {
        self.0.get(i).map_err(err)
    }
    fn with_text(&self, i: usize, f: &mut dyn FnMut(&str)) -> StoreResult<()> {
        let value = self.0.get_ref(i).map_err(err)?;
        f(value
            .as_str()
            .map_err(|e| StoreError::Backend(format!("column {i}: {e}")))?);
        Ok(())
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.0.get(i).map_err(err)
    }
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.0.get(i).map_err(err)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.0.get(i).map_err(err)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        self.0.get(i).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_readers_map_the_file_and_bulk_readers_do_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let w = Connection::open(&path).expect("open");
        w.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .expect("create");
        let readers = Readers::new(path);
        let mmap_size = |kind| -> i64 {
            readers
                .with(kind, |c| {
                    c.pragma_query_value(None, "mmap_size", |r| r.get(0))
                        .map_err(err)
                })
                .expect("mmap_size")
        };
        assert!(mmap_size(ReadKind::ByKey) > 0);
        assert!(mmap_size(ReadKind::Range) > 0);
        assert_eq!(mmap_size(ReadKind::Bulk), 0);
    }
}
