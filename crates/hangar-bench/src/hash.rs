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

/// Runs `work` over all hashes repeatedly for about `budget`; returns hashes per second.
fn rate(hashes: &[String], budget: Duration, mut work: impl FnMut(&str) -> usize) -> f64 {
    // Warm up caches and the allocator.
    for h in hashes {
        black_box(work(h));
    }
    let start = Instant::now();
    let mut done = 0usize;
    while start.elapsed() < budget {
        for h in hashes {
            black_box(work(black_box(h)));
        }
        done += hashes.len();
    }
    done as f64 / start.elapsed().as_secs_f64()
}

pub fn run(fixtures: &Path, seconds: f64) -> anyhow::Result<()> {
    let hashes = fixture_hashes(fixtures)?;
    let budget = Duration::from_secs_f64(seconds);
    let engine = base64::engine::general_purpose::STANDARD;
    let now = time::OffsetDateTime::now_utc();

    // The floor decodes into a stack buffer, as hwhash does: the fastest way to do this step alone.
    let floor = rate(&hashes, budget, |h| {
        let mut buf = [0u8; 3000];
        engine.decode_slice(h, &mut buf).unwrap_or(0)
    });
    let decode = rate(&hashes, budget, |h| {
        hwhash::decode(h).map(|x| x.records.len()).unwrap_or(0)
    });
    let full = rate(&hashes, budget, |h| {
        hwhash::validate_at(h, now).findings.len()
    });

    println!(
        "hash benchmark: {} real fixture hashes, one core, {seconds:.1} s per measurement",
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
