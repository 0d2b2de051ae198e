//! Import-file checking: rows per second of `hangar_core::csv::check_file` over a generated file of
//! distinct synthetic devices, against the 100k rows/s target, with peak memory before and after
//! to show that it does not grow with the file.

use anyhow::{bail, Context};
use hangar_core::csv::{check_file, CheckOptions};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

/// Rows per second the check must sustain on one core.
const TARGET_ROWS_PER_SEC: f64 = 100_000.0;

pub fn run(rows: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let path = dir.path().join("devices.csv");

    let started = Instant::now();
    let mut out = BufWriter::new(File::create(&path).context("creating the import file")?);
    out.write_all(b"Device Serial Number,Windows Product ID,Hardware Hash\r\n")?;
    for i in 0..rows {
        let serial = format!("HNGR{i:08}");
        let hash = hwhash::Builder::new()
            .serial(&serial)
            .tpm()
            .build()
            .to_base64()?;
        write!(out, "{serial},,{hash}\r\n")?;
    }
    out.flush()?;
    drop(out);
    let bytes = std::fs::metadata(&path)?.len();
    println!(
        "csv check: generated {rows} distinct devices, {:.1} MB, in {:.1}s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let before = memory();
    let cpu_before = cpu_nanos();
    let started = Instant::now();
    let report = check_file(&path, &CheckOptions::default());
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu_nanos();
    let after = memory();

    if report.summary.rows != rows as u64 || report.summary.errors != 0 {
        bail!(
            "the check did not read the generated file cleanly: {} rows, {} errors (first: {:?})",
            report.summary.rows,
            report.summary.errors,
            report.findings.first().map(|f| f.to_string())
        );
    }
    let rate = rows as f64 / seconds;
    println!(
        "csv check: {rows} rows in {seconds:.3}s = {rate:.0} rows/s ({:.1} MB/s); {:.2}x the {:.0} rows/s target",
        bytes as f64 / 1e6 / seconds,
        rate / TARGET_ROWS_PER_SEC,
        TARGET_ROWS_PER_SEC
    );
    if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
        let cpu = b.saturating_sub(a) as f64 / 1e9;
        if cpu > 0.0 {
            println!(
                "csv check: {cpu:.3}s on the CPU = {:.0} rows per CPU-second; {:.2}x the target (wall time \
                 also counts waiting for the CPU when the machine is busy)",
                rows as f64 / cpu,
                rows as f64 / cpu / TARGET_ROWS_PER_SEC
            );
        }
    }
    match (before, after) {
        (Some(before), Some(after)) => println!(
            "csv check: peak RSS {:.1} MB before, {:.1} MB after (+{:.1} MB for a {:.1} MB file; the growth is \
             the duplicate index, about {} bytes per device)",
            before.peak_kib as f64 / 1024.0,
            after.peak_kib as f64 / 1024.0,
            after.peak_kib.saturating_sub(before.peak_kib) as f64 / 1024.0,
            bytes as f64 / 1e6,
            (after.peak_kib.saturating_sub(before.peak_kib) * 1024).checked_div(rows as u64).unwrap_or(0)
        ),
        _ => println!("csv check: peak RSS not available (no /proc/self/status)"),
    }
    Ok(())
}

/// Time this thread has spent on the CPU, in nanoseconds (/proc/self/schedstat).
fn cpu_nanos() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

struct Memory {
    peak_kib: u64,
}

/// VmHWM (peak resident set) from /proc/self/status.
fn memory() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(Memory { peak_kib: kib })
}
