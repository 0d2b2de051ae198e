//! `hangar-bench hash`: decode + validate throughput on the real fixtures, next to the floor
//! measured in the same run — base64 decoding of the same strings alone.

use base64::Engine;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// Reads the hash column of every single-device fixture.
pub fn fixture_hashes(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut hashes = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if !name.ends_with(".csv") || name.contains("utf16") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines().skip(1) {
            if let Some(hash) = line.split(',').nth(2) {
                hashes.push(hash.trim().to_string());
            }
        }
    }
    anyhow::ensure!(
        !hashes.is_empty(),
        "no fixture hashes found in {}",
        dir.display()
    );
    Ok(hashes)
}

/// CPU time this thread has used. Unlike wall time it does not count waiting for a core while
/// other processes run, so the figures hold on a busy machine.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

type Workload<'a> = &'a mut dyn FnMut(&str) -> usize;

/// One pass of `work` over every hash; returns the CPU time it took.
fn pass(hashes: &[String], work: &mut Workload<'_>) -> Duration {
    let start = thread_cpu_time();
    for h in hashes {
        black_box(work(black_box(h)));
    }
    thread_cpu_time() - start
}

/// Hashes per CPU-second for each workload, measured in interleaved rounds so that whatever else
/// happens on the machine during the run affects every workload alike.
fn rates(hashes: &[String], budget: Duration, workloads: &mut [Workload<'_>]) -> Vec<f64> {
    for w in workloads.iter_mut() {
        pass(hashes, w); // warm caches and the allocator
    }
    let mut spent = vec![Duration::ZERO; workloads.len()];
    let mut passes = 0usize;
    let start = Instant::now();
    while start.elapsed() < budget {
        for _ in 0..20 {
            for (i, w) in workloads.iter_mut().enumerate() {
                spent[i] += pass(hashes, w);
            }
        }
        passes += 20;
    }
    spent
        .iter()
        .map(|d| (passes * hashes.len()) as f64 / d.as_secs_f64())
        .collect()
}

pub fn run(fixtures: &Path, seconds: f64) -> anyhow::Result<()> {
    let hashes = fixture_hashes(fixtures)?;
    let engine = base64::engine::general_purpose::STANDARD;
    let now = time::OffsetDateTime::now_utc();

    // The floor decodes into a stack buffer, as hwhash does: the cheapest way to do this step alone.
    let mut floor = |h: &str| {
        let mut buf = [0u8; 3000];
        engine.decode_slice(h, &mut buf).unwrap_or(0)
    };
    let mut decode = |h: &str| hwhash::decode(h).map(|x| x.records.len()).unwrap_or(0);
    let mut full = |h: &str| hwhash::validate_at(h, now).findings.len();
    let measured = rates(
        &hashes,
        Duration::from_secs_f64(seconds),
        &mut [&mut floor, &mut decode, &mut full],
    );
    let (floor, decode, full) = (measured[0], measured[1], measured[2]);

    println!(
        "hash benchmark: {} real fixture hashes, one thread, {seconds:.1} s of interleaved rounds, rates per CPU-second",
        hashes.len()
    );
    println!("  floor (base64 decode only)  {:>10.0} hashes/s", floor);
    println!(
        "  decode                      {:>10.0} hashes/s  {:.2} of floor",
        decode,
        decode / floor
    );
    println!(
        "  decode + validate           {:>10.0} hashes/s  {:.2} of floor",
        full,
        full / floor
    );
    println!(
        "  target: >= 0.5 of floor and >= 150000 hashes/s -> {}",
        if full / floor >= 0.5 && full >= 150_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
