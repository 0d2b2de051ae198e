//! The hot reads (see `hangar_store_sql::ReadRows`) on plain read-only rusqlite connections. A
//! lookup by key runs on the calling thread: it is an index probe that takes microseconds, less
//! than handing it to another thread would. A range may read many rows, so it runs on tokio's
//! blocking pool, a few at a time: with more ranges in flight than cores they only take turns on
//! the CPU and each needs a connection (and a page cache) of its own, which stretches the tail
//! latency of all of them.
//!
//! A lookup by key keeps its connection's read transaction open for the next lookup while the
//! database has not changed. Beginning and ending a read transaction costs more than the lookup's
//! B-tree descent (two `fcntl` calls on the WAL index, the pager's setup and teardown). Whether
//! anything changed is read from the start of the `-shm` file, the WAL index that SQLite itself
//! reads to begin a transaction (<https://www.sqlite.org/walformat.html>): its header changes with
//! every commit, by any connection of any process, and its backfill counter with every
//! checkpoint. While those bytes are as they were when the transaction began, a new transaction
//! would read exactly what the open one reads, so reusing it returns what a fresh one would.
//!
//! An open read transaction holds back checkpoints and the WAL's restart, so transactions are
//! only kept while the checkpoint thread runs, which ends those of idle connections whose
//! snapshot is out of date before and after each checkpoint ([`Readers::end_stale_snapshots`]).

use hangar_core::store::{StoreError, StoreResult};
use hangar_store_sql::{Cols, Decode, ReadKind, Sql};
use rusqlite::{ffi, Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Ranges read at once.
const RANGES: usize = 4;
/// Idle connections kept for reuse (the ranges and the lookups on the runtime's threads); more
/// are opened under load and closed after use.
const IDLE: usize = 16;
/// The bytes of the `-shm` file compared: the WAL-index header's two copies (48 bytes each) and
/// the checkpoint's backfill counter (`nBackfill`, the 4 bytes after them). Readers' marks, which
/// follow, change as readers come and go and say nothing about the data.
const SHM_STATE: usize = 100;
/// A kept read transaction is ended after this long even if nothing changed: a backstop only,
/// as the WAL index is not reset while a connection of this process has the database open.
const MAX_AGE: Duration = Duration::from_secs(1);

type ShmState = [u32; SHM_STATE / 4];

/// The WAL index as SQLite maps it for `anchor`, the connection that keeps it mapped: asked of
/// SQLite's own VFS (`xShmMap` on the connection's file), because opening the `-shm` file apart
/// from SQLite and closing it again would release every POSIX lock this process holds on it,
/// SQLite's included, and let another process reset the index under this one's connections.
#[derive(Debug)]
struct WalIndex {
    header: *const AtomicU32,
    _anchor: Connection,
}

// SAFETY: the index is only read, through atomics; `_anchor` (which keeps the mapping alive) is
// never used after `map` and is dropped with the index.
unsafe impl Send for WalIndex {}
unsafe impl Sync for WalIndex {}

/// The size of the WAL index's regions (SQLite's `WALINDEX_PGSZ`).
const REGION: i32 = 32 * 1024;

impl WalIndex {
    /// The index of the database `anchor` has open; None unless it is in WAL mode.
    fn map(anchor: Connection) -> Option<WalIndex> {
        let mode: String = anchor
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .ok()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return None;
        }
        // A read maps the index's first region.
        anchor
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .ok()?;
        let mut region: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: the connection's own file and its VFS methods, as SQLite's pager calls them;
        // with `bExtend` 0 `xShmMap` only returns the region already mapped.
        unsafe {
            let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
            let rc = ffi::sqlite3_file_control(
                anchor.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&mut file as *mut *mut ffi::sqlite3_file).cast(),
            );
            if rc != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
                return None;
            }
            let methods = &*(*file).pMethods;
            let shm_map = methods.xShmMap.filter(|_| methods.iVersion >= 2)?;
            if shm_map(file, 0, REGION, 0, &mut region) != ffi::SQLITE_OK || region.is_null() {
                return None;
            }
        }
        Some(WalIndex {
            header: region as *const AtomicU32,
            _anchor: anchor,
        })
    }

    fn state(&self) -> ShmState {
        // Other connections write these words while they are read: atomics, as SQLite's own
        // reads of the header are; a torn copy only reads as a change.
        std::array::from_fn(|i| {
            // SAFETY: i < SHM_STATE / 4 words, inside the mapped region, which is page-aligned.
            unsafe { (*self.header.add(i)).load(Ordering::Acquire) }
        })
    }
}

/// An open read transaction kept on an idle connection, and the WAL index when it began.
#[derive(Debug)]
struct Snapshot {
    state: ShmState,
    since: Instant,
}

#[derive(Debug)]
struct Idle {
    conn: Connection,
    snapshot: Option<Snapshot>,
    /// The thread that used the connection last ([`this_thread`]).
    thread: u64,
}

/// A number for the calling thread, unique in the process.
///
/// A lookup takes the idle connection its thread used last, when there is one: a connection's
/// page cache, statements and allocations are then still in that core's caches. Taking whichever
/// came back last made the runtime's threads trade connections at almost every lookup.
fn this_thread() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static THIS: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    THIS.with(|t| *t)
}

#[derive(Debug)]
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Idle>>,
    /// Connections for [`ReadKind::Bulk`]: not memory-mapped, with a small page cache. Pages read
    /// through a mapping stay in the process's resident set (as page cache shared with the
    /// kernel), and so do those of a large page cache: an import of a million devices that read
    /// its rows and keys through mapped connections peaked at 685 MB of RSS, through unmapped
    /// ones with 16 MB caches at 396 MB, and with these at ~200 MB, as fast. Such reads go
    /// through their pages once; the kernel's page cache serves them as well.
    idle_bulk: Mutex<Vec<Connection>>,
    ranges: tokio::sync::Semaphore,
    /// The WAL index, mapped at the first read (after the writer made the database WAL); None
    /// when there is none, and then no read transaction is kept.
    wal_index: OnceLock<Option<WalIndex>>,
    /// Set while the checkpoint thread ends stale snapshots; read transactions are kept only then.
    keep_snapshots: AtomicBool,
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Ends a kept read transaction; false when the connection could not, and should be dropped.
fn end(conn: &Connection) -> bool {
    conn.is_autocommit() || conn.execute_batch("COMMIT").is_ok()
}

impl Readers {
    pub fn new(path: PathBuf) -> Arc<Readers> {
        Arc::new(Readers {
            path,
            idle: Mutex::new(Vec::new()),
            idle_bulk: Mutex::new(Vec::new()),
            ranges: tokio::sync::Semaphore::new(RANGES),
            wal_index: OnceLock::new(),
            keep_snapshots: AtomicBool::new(false),
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

    /// Lets lookups keep their read transactions (or stops them); the checkpoint thread turns it
    /// on once it runs, as it is what ends the stale ones.
    pub fn keep_snapshots(&self, on: bool) {
        self.keep_snapshots.store(on, Ordering::Release);
        if !on {
            self.end_snapshots(|_| true);
        }
    }

    /// The WAL index's state now; None when it could not be mapped.
    fn shm_state(&self) -> Option<ShmState> {
        let index = self
            .wal_index
            .get_or_init(|| WalIndex::map(self.open(ReadKind::Bulk).ok()?));
        Some(index.as_ref()?.state())
    }

    /// Ends the read transactions of idle connections that a commit or a checkpoint made out of
    /// date, so that they hold back neither the checkpoint nor the WAL's restart.
    pub fn end_stale_snapshots(&self) {
        let now = self.shm_state();
        self.end_snapshots(|s| Some(s.state) != now || s.since.elapsed() >= MAX_AGE);
    }

    fn end_snapshots(&self, stale: impl Fn(&Snapshot) -> bool) {
        let mut idle = lock(&self.idle);
        idle.retain_mut(|i| match &i.snapshot {
            Some(s) if stale(s) => {
                i.snapshot = None;
                end(&i.conn)
            }
            _ => true,
        });
    }

    fn with<R>(
        &self,
        kind: ReadKind,
        f: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        if kind == ReadKind::Bulk {
            let taken = lock(&self.idle_bulk).pop();
            let conn = match taken {
                Some(conn) => conn,
                None => self.open(kind)?,
            };
            let out = f(&conn);
            let mut idle = lock(&self.idle_bulk);
            if idle.len() < IDLE {
                idle.push(conn);
            }
            return out;
        }
        // Read before the transaction begins: a commit in between then shows as a change at the
        // next lookup, never the other way round.
        let now = if self.keep_snapshots.load(Ordering::Acquire) {
            self.shm_state()
        } else {
            None
        };
        let thread = this_thread();
        let taken = {
            let mut idle = lock(&self.idle);
            match idle.iter().rposition(|i| i.thread == thread) {
                Some(own) => Some(idle.swap_remove(own)),
                None => idle.pop(),
            }
        };
        let (conn, kept) = match taken {
            Some(Idle { conn, snapshot, .. }) => (conn, snapshot),
            None => (self.open(kind)?, None),
        };
        let snapshot = match (kept, now) {
            (Some(s), Some(now)) if s.state == now && s.since.elapsed() < MAX_AGE => Some(s),
            (_, now) => {
                if !end(&conn) {
                    return Err(StoreError::Backend(
                        "could not end a read transaction".into(),
                    ));
                }
                match now {
                    Some(state) => {
                        conn.execute_batch("BEGIN").map_err(err)?;
                        Some(Snapshot {
                            state,
                            since: Instant::now(),
                        })
                    }
                    None => None,
                }
            }
        };
        let out = f(&conn);
        let snapshot = match out {
            Ok(_) => snapshot,
            Err(_) => {
                if !end(&conn) {
                    return out;
                }
                None
            }
        };
        let mut idle = lock(&self.idle);
        if idle.len() < IDLE {
            idle.push(Idle {
                conn,
                snapshot,
                thread,
            });
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
        let name = hangar_store_sql::placeholder(i + 1);
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

    /// A WAL database with a table `t` of one row, its writer, and readers that keep snapshots.
    fn wal_db(dir: &tempfile::TempDir) -> (Connection, Arc<Readers>) {
        let path = dir.path().join("t.db");
        let w = Connection::open(&path).expect("open");
        w.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; \
             CREATE TABLE t (x); INSERT INTO t VALUES (1);",
        )
        .expect("create");
        let readers = Readers::new(path);
        readers.keep_snapshots(true);
        (w, readers)
    }

    fn read_x(readers: &Readers) -> i64 {
        readers
            .with(ReadKind::ByKey, |c| {
                c.query_row("SELECT max(x) FROM t", [], |r| r.get(0))
                    .map_err(err)
            })
            .expect("read")
    }

    fn kept_transactions(readers: &Readers) -> usize {
        lock(&readers.idle)
            .iter()
            .filter(|i| i.snapshot.is_some() && !i.conn.is_autocommit())
            .count()
    }

    #[test]
    fn a_kept_read_transaction_sees_every_commit_of_another_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, readers) = wal_db(&dir);
        assert_eq!(read_x(&readers), 1);
        assert_eq!(
            kept_transactions(&readers),
            1,
            "the lookup kept its transaction"
        );
        assert_eq!(read_x(&readers), 1);
        for x in 2..20 {
            w.execute("INSERT INTO t VALUES (?1)", [x]).expect("insert");
            assert_eq!(read_x(&readers), x, "the commit of {x} was not seen");
        }
        // A checkpoint rewrites no data, but moves readers off old WAL frames.
        w.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .expect("checkpoint");
        assert_eq!(read_x(&readers), 19);
        w.execute("DELETE FROM t WHERE x > 1", []).expect("delete");
        assert_eq!(read_x(&readers), 1);
    }

    #[test]
    fn stale_idle_transactions_are_ended_so_a_checkpoint_completes() {
        let checkpoint = |w: &Connection| -> (i64, i64) {
            w.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .expect("checkpoint")
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, readers) = wal_db(&dir);
        checkpoint(&w);
        assert_eq!(read_x(&readers), 1);
        w.execute_batch(
            "WITH RECURSIVE n(v) AS (SELECT 2 UNION ALL SELECT v + 1 FROM n WHERE v < 5000) \
             INSERT INTO t SELECT v FROM n;",
        )
        .expect("insert");
        // The idle reader's snapshot predates the insert: the checkpoint stops before it.
        let (log, done) = checkpoint(&w);
        assert!(
            done < log,
            "checkpointed {done} of {log} frames past a kept snapshot"
        );
        readers.end_stale_snapshots();
        assert_eq!(kept_transactions(&readers), 0);
        let (log, done) = checkpoint(&w);
        assert_eq!(done, log);
        assert_eq!(read_x(&readers), 5000);
    }

    #[test]
    fn a_lookup_takes_the_connection_its_thread_used_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_w, readers) = wal_db(&dir);
        // A connection is told by its SQLite handle's address (compared, never dereferenced).
        // SAFETY: `handle` only returns the pointer.
        let id = |c: &Connection| unsafe { c.handle() } as usize;
        let handle = |readers: &Readers| {
            readers
                .with(ReadKind::ByKey, |c| Ok(id(c)))
                .expect("lookup")
        };
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            let shared = Arc::clone(&readers);
            let other = s.spawn(move || {
                shared
                    .with(ReadKind::ByKey, |c| {
                        held_tx.send(()).expect("send");
                        done_rx.recv().expect("recv");
                        Ok(id(c))
                    })
                    .expect("lookup")
            });
            held_rx.recv().expect("recv");
            // The other thread holds a connection, so this one opens its own...
            let mine = handle(&readers);
            done_tx.send(()).expect("send");
            let theirs = other.join().expect("join");
            assert_ne!(mine, theirs);
            // ...and gets it back, though the other thread's came back after it.
            assert_eq!(
                lock(&readers.idle).last().map(|i| id(&i.conn)),
                Some(theirs)
            );
            assert_eq!(handle(&readers), mine);
            assert_eq!(handle(&readers), mine);
        });
    }

    #[test]
    fn without_the_checkpoint_thread_no_transaction_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_w, readers) = wal_db(&dir);
        assert_eq!(read_x(&readers), 1);
        readers.keep_snapshots(false);
        assert_eq!(kept_transactions(&readers), 0);
        assert_eq!(read_x(&readers), 1);
        assert_eq!(kept_transactions(&readers), 0);
        assert!(lock(&readers.idle).iter().all(|i| i.conn.is_autocommit()));
    }

    #[test]
    fn the_wal_index_is_read_through_sqlites_own_mapping() {
        // Closing a descriptor of the -shm file opened apart from SQLite would drop every POSIX
        // lock this process holds on it; SQLite keeps one descriptor per file and process.
        let shm_descriptors = |dir: &std::path::Path| {
            std::fs::read_dir("/proc/self/fd")
                .expect("/proc/self/fd")
                .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|target| target.starts_with(dir) && target.ends_with("t.db-shm"))
                .count()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, readers) = wal_db(&dir);
        let dir = dir.path().canonicalize().expect("canonical");
        assert_eq!(shm_descriptors(&dir), 1);
        assert_eq!(read_x(&readers), 1);
        assert!(readers.shm_state().is_some(), "the index was mapped");
        assert_eq!(kept_transactions(&readers), 1);
        assert_eq!(shm_descriptors(&dir), 1);
        drop(w);
        assert_eq!(shm_descriptors(&dir), 1, "the readers' connections keep it");
    }

    #[test]
    fn the_wal_starts_over_while_lookups_keep_transactions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, readers) = wal_db(&dir);
        let wal = dir.path().join("t.db-wal");
        let frames_after = |commits: i64| {
            for x in 0..commits {
                w.execute("INSERT INTO t VALUES (?1)", [x]).expect("insert");
                // Lookups on two connections at once, as on two runtime threads.
                readers
                    .with(ReadKind::ByKey, |_| {
                        read_x(&readers);
                        Ok(())
                    })
                    .expect("read");
                if x % 10 == 9 {
                    // What the checkpoint thread does every interval.
                    readers.end_stale_snapshots();
                    w.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                        .expect("checkpoint");
                    readers.end_stale_snapshots();
                }
            }
            std::fs::metadata(&wal).expect("wal").len() / 4120
        };
        let early = frames_after(50);
        read_x(&readers);
        assert!(kept_transactions(&readers) > 0);
        let late = frames_after(500);
        // Each commit appends a frame or two; a WAL that never started over would hold ~1,000.
        assert!(
            late <= early.max(40),
            "the WAL grew from {early} to {late} frames"
        );
    }
}
