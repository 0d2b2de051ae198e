//! The server's log: one line per request (with its request id) and whatever the registry
//! reports, in tracing's text format.
//!
//! A request only appends its formatted line to a shared buffer; a background thread writes the
//! buffer out every [`FLUSH_EVERY`], or at once when it holds [`FLUSH_AT`] bytes. So a request
//! never waits for the terminal or the disk and never wakes another thread, and no line is dropped:
//! when the output falls behind and the buffer reaches [`HOLD_AT`], requests wait for the writer.
//! Handing each line to a logging thread through a channel, as before, cost a wake-up per
//! request; with it the server spent about a quarter of its CPU per GET by id on its log.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// The buffer is written out early once it holds this much.
const FLUSH_AT: usize = 64 * 1024;
/// Lines are held back (the request waits) while the buffer holds this much.
const HOLD_AT: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Signalled when the buffer should be written out now, and after each write.
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `MakeWriter` of the subscriber: each event's line is appended to the shared buffer.
#[derive(Clone)]
struct Buffered(Arc<Shared>);

impl Write for Buffered {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.0.lock();
        while pending.bytes.len() >= HOLD_AT && !pending.closed {
            pending = self
                .0
                .changed
                .wait(pending)
                .unwrap_or_else(|e| e.into_inner());
        }
        pending.bytes.extend_from_slice(line);
        if pending.bytes.len() >= FLUSH_AT {
            self.0.changed.notify_all();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffered {
    type Writer = Buffered;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Writes the rest of the log out and stops the writer thread when dropped.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn write_out(shared: &Shared, mut out: impl Write + Send + 'static) {
    let mut spare = Vec::new();
    loop {
        let mut pending = shared.lock();
        if pending.bytes.len() < FLUSH_AT && !pending.closed {
            pending = shared
                .changed
                .wait_timeout(pending, FLUSH_EVERY)
                .map(|(p, _)| p)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        let closed = pending.closed;
        std::mem::swap(&mut pending.bytes, &mut spare);
        drop(pending);
        shared.changed.notify_all();
        if !spare.is_empty() {
            // A log that cannot be written (a closed terminal) must not stop the server.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
        }
        if closed && shared.lock().bytes.is_empty() {
            return;
        }
    }
}

/// Installs the process-wide logger; `filter` uses tracing's EnvFilter syntax (`info`,
/// `hangar_api=debug`). Keep the guard until the process ends: dropping it writes out the rest.
pub fn init(filter: &str, out: impl Write + Send + 'static) -> Result<LogGuard, String> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| format!("'{filter}' is not a valid log filter: {e}"))?;
    let shared = Arc::new(Shared::default());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Buffered(Arc::clone(&shared)))
        .with_ansi(false)
        .try_init()
        .map_err(|e| format!("the logger is already installed: {e}"))?;
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("hangar-log".into())
            .spawn(move || write_out(&shared, out))
            .map_err(|e| format!("cannot start the log writer: {e}"))?
    };
    Ok(LogGuard {
        shared,
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn start(sink: &Sink) -> LogGuard {
        let shared = Arc::new(Shared::default());
        let out = sink.clone();
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || write_out(&shared, out))
        };
        LogGuard {
            shared,
            thread: Some(thread),
        }
    }

    fn text(sink: &Sink) -> String {
        String::from_utf8_lossy(&sink.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    #[test]
    fn lines_reach_the_output_while_running_and_all_of_them_at_the_end() {
        let sink = Sink::default();
        let guard = start(&sink);
        let mut w = Buffered(Arc::clone(&guard.shared));
        w.write_all(b"first\n").expect("write");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !text(&sink).contains("first\n") {
            assert!(
                std::time::Instant::now() < deadline,
                "the line was not written out"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // More than HOLD_AT in all: writers wait for the output instead of dropping lines.
        let line = vec![b'x'; 1023];
        let lines = 3 * HOLD_AT / 1024;
        for _ in 0..lines {
            w.write_all(&line).expect("write");
            w.write_all(b"\n").expect("write");
        }
        w.write_all(b"last\n").expect("write");
        drop(guard);
        let all = text(&sink);
        assert!(all.starts_with("first\n"));
        assert!(all.ends_with("last\n"));
        assert_eq!(all.len(), 6 + lines * 1024 + 5);
    }
}
