//! WAL checkpoints off the writer's path. By default SQLite checkpoints in the commit that pushes
//! the WAL past `wal_autocheckpoint` pages: that commit copies tens of megabytes into the database
//! file and waits for `fsync`, and every write queued behind it waits too (a fifth of an import's
//! processing time). A thread of its own runs a PASSIVE checkpoint instead every
//! [`INTERVAL`] — it takes no lock a writer or reader needs — and the writer's own automatic
//! checkpoint stays as a backstop at [`WRITER_BACKSTOP_PAGES`], should this thread fall behind.
//!
//! Around each checkpoint it also ends the read transactions that idle readers kept and that a
//! commit made out of date (see `read`): those would stop the checkpoint at their snapshot and keep
//! the WAL from starting over. Readers keep transactions only while this thread runs.

use crate::read::Readers;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

pub const INTERVAL: Duration = Duration::from_millis(500);

/// The writer checkpoints itself only past this many WAL pages (256 MiB of 4 KiB pages).
pub const WRITER_BACKSTOP_PAGES: u32 = 65_536;

/// Kept by the store; when its last clone is dropped the thread ends.
#[derive(Debug)]
pub struct Alive;

/// Starts the checkpoint thread for the database at `path`, which runs while `alive` does.
pub fn start(path: PathBuf, readers: Arc<Readers>) -> std::io::Result<Arc<Alive>> {
    let alive = Arc::new(Alive);
    let watch = Arc::downgrade(&alive);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            run(&path, &watch, &readers);
            readers.keep_snapshots(false);
        })?;
    Ok(alive)
}

fn run(path: &PathBuf, alive: &Weak<Alive>, readers: &Readers) {
    let conn = match Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "no background checkpoints: the writer checkpoints itself");
            return;
        }
    };
    readers.keep_snapshots(true);
    while alive.strong_count() > 0 {
        std::thread::sleep(INTERVAL);
        readers.end_stale_snapshots();
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "checkpoint skipped");
        }
        readers.end_stale_snapshots();
    }
}
