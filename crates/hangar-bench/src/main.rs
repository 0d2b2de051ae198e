//! End-to-end benchmarks: `cargo run --release -p hangar-bench -- <what>`. Each prints its figure
//! and the ratio to a floor measured in the same run.

mod api;
mod csv;
mod hash;
mod import;

// The allocator `hangar` runs with, so the server measured here is the one users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "hangar-bench", about = "Hangar's benchmarks")]
struct Cli {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Hardware-hash decode + validate throughput against base64 decoding alone.
    Hash {
        /// The fixtures directory (import CSVs with real hashes).
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/hwhash"))]
        fixtures: PathBuf,
        /// Seconds of interleaved measurement rounds.
        #[arg(long, default_value_t = 6.0)]
        seconds: f64,
    },
    /// Registry import and sync end to end, against the raw-insert storage floor.
    Import {
        /// How many distinct synthetic devices to import.
        #[arg(long, default_value_t = 100_000)]
        devices: usize,
        /// sqlite or postgres.
        #[arg(long, default_value = "sqlite")]
        backend: String,
        /// The database (PostgreSQL: a fresh database is created through this URL; default
        /// HANGAR_TEST_POSTGRES_URL). SQLite defaults to a temporary file.
        #[arg(long)]
        database_url: Option<String>,
        /// Rows per processing transaction (`RegistryConfig::import_chunk`).
        #[arg(long, default_value_t = hangar_core::service::RegistryConfig::default().import_chunk)]
        import_chunk: usize,
    },
    /// The Graph API over loopback HTTP against SQLite: GET by id, GET a page, import; each with
    /// the ceiling of a static body of the same size served the same way.
    Api {
        /// Devices in the registry (the seeded database is cached in target/hangar-bench/).
        #[arg(long, default_value_t = 1_000_000)]
        devices: usize,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Seconds of warm-up before each measurement.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Seconds of each measurement.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// At most this many requests per measurement round.
        #[arg(long, default_value_t = 10_000_000)]
        max_requests: u64,
        /// Each measurement is split into this many rounds, interleaved with the others'.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Measure only `by-id` or only `page` (for profiling; prints no verdicts).
        #[arg(long, value_parser = ["by-id", "page"])]
        only: Option<String>,
        /// Drive the app in process, one request at a time through the router, without the
        /// network: what the handlers themselves cost (for profiling; prints no verdicts).
        #[arg(long)]
        in_process: bool,
        /// The server's log filter, as `hangar serve --log` (default: its default, a line per
        /// request).
        #[arg(long, default_value = "info")]
        log: String,
        /// Rows per import call.
        #[arg(long, default_value_t = 500)]
        import_rows: usize,
        /// Worker threads of the load generator's runtime.
        #[arg(long, default_value_t = 1)]
        client_threads: usize,
        /// Where the seeded database is cached.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/hangar-bench"))]
        cache_dir: PathBuf,
        /// Seed afresh and cache nothing.
        #[arg(long)]
        no_cache: bool,
    },
    /// `hangar csv check` throughput on a generated import file, with peak memory.
    Csv {
        /// Rows in the generated file.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().what {
        What::Hash { fixtures, seconds } => hash::run(&fixtures, seconds),
        What::Import {
            devices,
            backend,
            database_url,
            import_chunk,
        } => import::run(devices, &backend, database_url.as_deref(), import_chunk),
        What::Csv { rows } => csv::run(rows),
        What::Api {
            devices,
            connections,
            warmup,
            seconds,
            max_requests,
            rounds,
            only,
            in_process,
            log,
            import_rows,
            client_threads,
            cache_dir,
            no_cache,
        } => api::run(api::Options {
            devices,
            connections,
            warmup: std::time::Duration::from_secs_f64(warmup),
            duration: std::time::Duration::from_secs_f64(seconds),
            max_requests,
            rounds,
            only,
            in_process,
            log,
            import_rows,
            client_threads: client_threads.max(1),
            cache_dir,
            no_cache,
        }),
    }
}
