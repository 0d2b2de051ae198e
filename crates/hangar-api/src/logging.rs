//! The server's log: one line per request (with its request id) and whatever the registry
//! reports, in tracing's text format. Lines are written by a background thread, so that a request
//! never waits for the terminal or the disk; none is dropped (a full buffer holds requests back
//! instead), and the rest is flushed when the returned guard is dropped. That thread buffers the
//! lines waiting for it and flushes whenever it has caught up, rather than making one system
//! call per line (standard error is unbuffered).

use std::io::Write;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

/// Installs the process-wide logger; `filter` uses tracing's EnvFilter syntax (`info`,
/// `hangar_api=debug`). Keep the guard until the process ends.
pub fn init(filter: &str, out: impl Write + Send + 'static) -> Result<WorkerGuard, String> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| format!("'{filter}' is not a valid log filter: {e}"))?;
    let out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let (writer, guard) = NonBlockingBuilder::default().lossy(false).finish(out);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| format!("the logger is already installed: {e}"))?;
    Ok(guard)
}
