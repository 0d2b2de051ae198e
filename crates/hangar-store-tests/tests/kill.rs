//! A worker process SIGKILLed in the middle of a large import: after a restart every row ends
//! `complete` or `error`, nothing is lost and no device is registered twice.

use hangar_core::authz::TenantScope;
use hangar_core::model::*;
use hangar_core::service::{Registry, RegistryConfig};
use hangar_core::store::Store;

use hangar_core::ZtdError;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const ROWS: usize = 20_000;
const LEASE_SECS: u64 = 2;

async fn counts<S: Store>(store: &S, t: &TenantScope, import_id: &str) -> (u64, u64, u64) {
    let c = store.import_counts(t, import_id).await.expect("counts");
    let get = |s| c.iter().find(|(x, _)| *x == s).map_or(0, |(_, n)| *n);
    (
        get(DeviceImportStatus::Unknown),
        get(DeviceImportStatus::Complete),
        get(DeviceImportStatus::Error),
    )
}

async fn kill_and_resume<S: Store>(store: S, worker_args: [&str; 2]) {
    let registry = Registry::new(store).with_config(RegistryConfig {
        job_lease: Duration::from_secs(LEASE_SECS),
        import_chunk: 250,
        ..RegistryConfig::default()
    });
    let t = hangar_store_tests::tenant(&registry, "contoso").await;
    // Every 1000th row repeats an earlier device: those must end ZtdDeviceDuplicated, killed or not.
    let rows: Vec<ImportRow> = (0..ROWS)
        .map(|i| {
            let n = if i % 1000 == 999 { i - 500 } else { i };
            hangar_store_tests::row(&format!("KILL-{n:06}"))
        })
        .collect();
    let duplicates = ROWS / 1000;
    let imported = registry.import(&t, rows).await.expect("import");
    let import_id = imported[0].import_id.clone();
    drop(imported);

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_store-worker"))
        .args([
            worker_args[0],
            worker_args[1],
            &LEASE_SECS.to_string(),
            "250",
        ])
        .spawn()
        .expect("spawn worker");
    let started = Instant::now();
    let at_kill = loop {
        let (unknown, complete, error) = counts(registry.store(), &t, &import_id).await;
        if complete + error >= 2_000 {
            break (unknown, complete, error);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the worker ended before it could be killed: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the worker made no progress"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    child.kill().expect("SIGKILL the worker");
    let status = child.wait().expect("reap the worker");
    assert!(!status.success(), "killed, not finished: {status:?}");
    let (unknown, complete, _) = counts(registry.store(), &t, &import_id).await;
    assert!(unknown > 0, "killed mid-import: {at_kill:?}");
    eprintln!("killed the worker with {complete} rows complete and {unknown} unknown");

    // The dead worker's lease runs out; a restarted worker takes the job over.
    assert_eq!(
        registry.run_jobs("restarted").await.expect("jobs"),
        0,
        "still leased to the dead worker"
    );
    tokio::time::sleep(Duration::from_millis(LEASE_SECS * 1000 + 300)).await;
    assert_eq!(registry.run_jobs("restarted").await.expect("jobs"), 1);

    let (unknown, complete, error) = counts(registry.store(), &t, &import_id).await;
    assert_eq!(unknown, 0);
    assert_eq!(complete + error, ROWS as u64, "nothing lost");
    assert_eq!(error, duplicates as u64);
    assert_eq!(complete, (ROWS - duplicates) as u64);
    assert_eq!(
        registry
            .store()
            .count_devices(&t, false, None)
            .await
            .expect("count"),
        complete,
        "no duplicate registrations"
    );
    let mut ids = HashSet::new();
    let mut page = PageRequest::first(1000);
    loop {
        let p = registry
            .list_imported(&t, Some(&import_id), None, &page)
            .await
            .expect("rows");
        for r in &p.items {
            match r.state.status {
                DeviceImportStatus::Complete => {
                    assert!(
                        ids.insert(r.state.device_registration_id.expect("id")),
                        "one registration per row"
                    );
                }
                _ => assert_eq!(r.state.error, Some(ZtdError::ZtdDeviceDuplicated), "{r:?}"),
            }
        }
        match p.next {
            Some(n) => page.skiptoken = Some(n),
            None => break,
        }
    }
    assert_eq!(ids.len() as u64, complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_worker_killed_mid_import_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hangar.db");
    let store = hangar_store_sqlite::SqliteStore::open(&path)
        .await
        .expect("open");
    let p = path.to_string_lossy().into_owned();
    kill_and_resume(store, ["sqlite", &p]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_worker_killed_mid_import_resumes() {
    let Some(url) = hangar_store_tests::fresh_postgres_url().await else {
        return;
    };
    let store = hangar_store_postgres::PostgresStore::connect(&url, 4)
        .await
        .expect("connect");
    kill_and_resume(store, ["postgres", &url]).await;
}
