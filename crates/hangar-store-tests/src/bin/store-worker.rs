//! Processes the registry's queued jobs until none is left, then exits. The kill/resume tests run
//! it as a child process and SIGKILL it in the middle of an import.
//!
//! Usage: store-worker (sqlite PATH | postgres URL) LEASE_SECS CHUNK

use hangar_core::service::{Registry, RegistryConfig};
use hangar_core::store::Store;
use std::process::ExitCode;
use std::time::Duration;

async fn work<S: Store>(store: S, config: RegistryConfig) -> ExitCode {
    let registry = Registry::new(store).with_config(config);
    match registry
        .run_jobs(&format!("child-{}", std::process::id()))
        .await
    {
        Ok(n) => {
            println!("finished {n} jobs");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("store-worker: {e}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [backend, target, lease, chunk] = args.as_slice() else {
        eprintln!("usage: store-worker (sqlite PATH | postgres URL) LEASE_SECS CHUNK");
        return ExitCode::from(2);
    };
    let (Ok(lease), Ok(chunk)) = (lease.parse::<u64>(), chunk.parse::<usize>()) else {
        eprintln!("store-worker: LEASE_SECS and CHUNK must be numbers");
        return ExitCode::from(2);
    };
    let config = RegistryConfig {
        job_lease: Duration::from_secs(lease),
        import_chunk: chunk,
        ..RegistryConfig::default()
    };
    match backend.as_str() {
        "sqlite" => {
            match hangar_store_sqlite::SqliteStore::open(std::path::Path::new(target)).await {
                Ok(s) => work(s, config).await,
                Err(e) => {
                    eprintln!("store-worker: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        "postgres" => match hangar_store_postgres::PostgresStore::connect(target, 4).await {
            Ok(s) => work(s, config).await,
            Err(e) => {
                eprintln!("store-worker: {e}");
                ExitCode::FAILURE
            }
        },
        other => {
            eprintln!("store-worker: unknown backend '{other}'");
            ExitCode::from(2)
        }
    }
}
