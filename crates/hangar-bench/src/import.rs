//! `hangar-bench import`: imports synthetic devices end to end through the registry's services
//! (rows recorded, jobs claimed, hashes decoded, keys checked, registrations committed), then syncs
//! a tenant with as many pending partner registrations, and compares the import with the storage
//! floor measured in the same run: the same device rows inserted raw, in one transaction, into a
//! table without indexes.
//!
//! Devices are built and handled in chunks, so memory stays flat however many there are. Building
//! hashes is not what is measured: each chunk is built before its clock starts.

use anyhow::{bail, Context};
use hangar_core::authz::{authorize, Principal, TenantScope};
use hangar_core::model::ImportRow;
use hangar_core::service::{RegistrationRequest, Registry, RegistryConfig};
use hangar_core::store::Store;
use hangar_store_postgres::PostgresStore;
use hangar_store_sqlite::SqliteStore;
use sqlx::Connection;
use std::time::{Duration, Instant};

/// Devices per import call (one import, one job).
const CHUNK: usize = 10_000;
/// Devices registered by a partner for the sync measurement (at most).
const SYNC_DEVICES: usize = 100_000;

pub(crate) fn build_chunk(
    prefix: &str,
    start: usize,
    len: usize,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    (start..start + len)
        .map(|i| {
            let serial = format!("{prefix}{i:08}");
            let hash = hwhash::Builder::new()
                .serial(&serial)
                .manufacturer("Contoso")
                .model("Surface Laptop 9")
                .tpm()
                .build()
                .to_bytes()
                .context("build a synthetic hash")?;
            Ok((serial, hash))
        })
        .collect()
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU time (user + system) this process has used so far, all threads.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Bytes this process has passed to write calls so far (`wchar` of /proc/self/io).
fn written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("wchar:").and_then(|v| v.trim().parse().ok()))
        })
        .unwrap_or(0)
}

/// The 1-minute load average, to tell a slow run from a busy machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

struct Figures {
    import: Duration,
    import_cpu: Duration,
    /// Of `import`, the time spent recording rows (`Registry::import`) before processing.
    record: Duration,
    record_bytes: u64,
    process_bytes: u64,
    partner: Duration,
    sync: Duration,
    sync_devices: usize,
    published: u64,
    /// VmHWM when the import is done, before the checks and the rest of the run.
    import_rss_mb: Option<f64>,
}

async fn measure<S: Store>(
    store: S,
    devices: usize,
    import_chunk: usize,
) -> anyhow::Result<Figures> {
    let registry = Registry::new(store).with_config(RegistryConfig {
        import_chunk,
        ..RegistryConfig::default()
    });
    let operator = Principal::system("bench");
    let a = registry
        .create_tenant(&operator, "Bench Import", "bench-import.onmicrosoft.com")
        .await?;
    let b = registry
        .create_tenant(&operator, "Bench Sync", "bench-sync.onmicrosoft.com")
        .await?;
    let admin: TenantScope = authorize(
        &Principal::TenantAdmin {
            tenant_id: a.id,
            name: "bench".into(),
        },
        a.id,
    )?;
    let partner = authorize(
        &Principal::Partner {
            partner_id: "bench-csp".into(),
        },
        b.id,
    )?;

    let mut import = Duration::ZERO;
    let mut import_cpu = Duration::ZERO;
    let mut record = Duration::ZERO;
    let (mut record_bytes, mut process_bytes) = (0, 0);
    let mut done = 0;
    while done < devices {
        let n = CHUNK.min(devices - done);
        let chunk = build_chunk("IMP", done, n)?;
        let rows: Vec<ImportRow> = chunk
            .into_iter()
            .map(|(serial, hash)| ImportRow {
                serial_number: serial,
                hardware_hash: hash,
                ..ImportRow::default()
            })
            .collect();
        let t = Instant::now();
        let c = cpu_time();
        let w = written();
        registry.import(&admin, rows).await?;
        record += t.elapsed();
        let w2 = written();
        record_bytes += w2 - w;
        registry.run_jobs("bench").await?;
        process_bytes += written() - w2;
        import += t.elapsed();
        import_cpu += cpu_time().saturating_sub(c);
        done += n;
    }
    // Read before the count below: that count runs on the readers, which map the database file,
    // and the pages it touches then count in the process's RSS as page cache shared with the
    // kernel, not memory the import used.
    let import_rss_mb = peak_rss_mb();
    let registered = registry.store().count_devices(&admin, true, None).await?;
    if registered != devices as u64 {
        bail!("expected {devices} registrations, found {registered}");
    }

    let sync_devices = devices.min(SYNC_DEVICES);
    let mut partner_time = Duration::ZERO;
    let mut done = 0;
    while done < sync_devices {
        let n = 1000.min(sync_devices - done);
        let requests: Vec<RegistrationRequest> = build_chunk("PTN", done, n)?
            .into_iter()
            .map(|(_, hash)| RegistrationRequest {
                hardware_hash: Some(hash),
                ..RegistrationRequest::default()
            })
            .collect();
        let t = Instant::now();
        let results = registry.register_on_behalf(&partner, &requests).await?;
        partner_time += t.elapsed();
        if let Some(e) = results.iter().find_map(|r| r.err()) {
            bail!("a partner registration failed: {e}");
        }
        done += n;
    }
    let t = Instant::now();
    let changes = registry.trigger_manual_sync(&partner).await?;
    let sync = t.elapsed();
    Ok(Figures {
        import,
        import_cpu,
        record,
        record_bytes,
        process_bytes,
        partner: partner_time,
        sync,
        sync_devices,
        published: changes.published,
        import_rss_mb,
    })
}

/// The storage floor on SQLite: the device rows, raw, one transaction, no indexes, own file.
async fn sqlite_floor(
    dir: &std::path::Path,
    devices: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let url = format!("sqlite://{}?mode=rwc", dir.join("floor.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&mut conn)
        .await?;
    // The same settings as the store's connections (a fair floor is the cheapest reasonable insert).
    for pragma in [
        "PRAGMA synchronous = NORMAL",
        "PRAGMA cache_size = -65536",
        "PRAGMA wal_autocheckpoint = 16384",
        "PRAGMA temp_store = MEMORY",
    ] {
        sqlx::query(pragma).execute(&mut conn).await?;
    }
    floor(&mut conn, devices, "BLOB").await
}

async fn postgres_floor(url: &str, devices: usize) -> anyhow::Result<(Duration, Duration)> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    floor(&mut conn, devices, "BYTEA").await
}

macro_rules! floor_impl {
    ($conn:expr, $devices:expr, $blob:expr, $db:ty) => {{
        sqlx::query(&format!(
            "CREATE TABLE floor_devices (id TEXT, tenant_id TEXT, serial_number TEXT, manufacturer TEXT, model TEXT, \
             hardware_hash {}, created BIGINT)",
            $blob
        ))
        .execute(&mut *$conn)
        .await?;
        if $blob == "BYTEA" {
            // As the store's hashes table: rows up to 4080 bytes stay inline, uncompressed.
            sqlx::query("ALTER TABLE floor_devices SET (toast_tuple_target = 4080)")
                .execute(&mut *$conn)
                .await?;
        }
        let tenant = uuid::Uuid::new_v4().to_string();
        let mut elapsed = Duration::ZERO;
        let mut cpu = Duration::ZERO;
        let c = cpu_time();
        let mut tx = $conn.begin().await?;
        cpu += cpu_time().saturating_sub(c);
        let mut done = 0;
        while done < $devices {
            let n = CHUNK.min($devices - done);
            let chunk = build_chunk("FLR", done, n)?;
            let t = Instant::now();
            let c = cpu_time();
            for part in chunk.chunks(500) {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO floor_devices (id, tenant_id, serial_number, manufacturer, model, hardware_hash, created) ",
                );
                qb.push_values(part, |mut b, (serial, hash)| {
                    b.push_bind(uuid::Uuid::new_v4().to_string())
                        .push_bind(tenant.clone())
                        .push_bind(serial.clone())
                        .push_bind("Contoso")
                        .push_bind("Surface Laptop 9")
                        .push_bind(hash.clone())
                        .push_bind(0i64);
                });
                qb.build().execute(&mut *tx).await?;
            }
            elapsed += t.elapsed();
            cpu += cpu_time().saturating_sub(c);
            done += n;
        }
        let t = Instant::now();
        let c = cpu_time();
        tx.commit().await?;
        elapsed += t.elapsed();
        cpu += cpu_time().saturating_sub(c);
        Ok((elapsed, cpu))
    }};
}

trait Floor {
    async fn floor_run(
        &mut self,
        devices: usize,
        blob: &str,
    ) -> anyhow::Result<(Duration, Duration)>;
}

impl Floor for sqlx::SqliteConnection {
    async fn floor_run(
        &mut self,
        devices: usize,
        blob: &str,
    ) -> anyhow::Result<(Duration, Duration)> {
        let conn = self;
        floor_impl!(conn, devices, blob, sqlx::Sqlite)
    }
}

impl Floor for sqlx::PgConnection {
    async fn floor_run(
        &mut self,
        devices: usize,
        blob: &str,
    ) -> anyhow::Result<(Duration, Duration)> {
        let conn = self;
        floor_impl!(conn, devices, blob, sqlx::Postgres)
    }
}

async fn floor<C: Floor>(
    conn: &mut C,
    devices: usize,
    blob: &str,
) -> anyhow::Result<(Duration, Duration)> {
    conn.floor_run(devices, blob).await
}

async fn fresh_postgres(base: &str) -> anyhow::Result<String> {
    let name = format!("hangar_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(base)
        .await
        .context("connect to PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(hangar_store_tests::replace_database(base, &name))
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

pub fn run(
    devices: usize,
    backend: &str,
    database_url: Option<&str>,
    import_chunk: usize,
) -> anyhow::Result<()> {
    if devices == 0 {
        bail!("--devices must be at least 1");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let dir = tempfile::tempdir()?;
        let load_before = load_average();
        let (figures, (floor, floor_cpu)) = match backend {
            "sqlite" => {
                let store = match database_url {
                    Some(url) => SqliteStore::connect(url).await?,
                    None => SqliteStore::open(&dir.path().join("hangar.db")).await?,
                };
                let figures = measure(store.clone(), devices, import_chunk).await?;
                store.close().await;
                (figures, sqlite_floor(dir.path(), devices).await?)
            }
            "postgres" => {
                let base = database_url
                    .map(str::to_string)
                    .or_else(|| std::env::var("HANGAR_TEST_POSTGRES_URL").ok())
                    .context("PostgreSQL needs --database-url (or HANGAR_TEST_POSTGRES_URL); a fresh database is created through it")?;
                let url = fresh_postgres(&base).await?;
                let store = PostgresStore::connect(&url, 10).await?;
                let figures = measure(store.clone(), devices, import_chunk).await?;
                store.close().await;
                (figures, postgres_floor(&url, devices).await?)
            }
            other => bail!("unknown backend '{other}': use sqlite or postgres"),
        };
        let import_rate = rate(devices, figures.import);
        let floor_rate = rate(devices, floor);
        println!(
            "registry import and sync, backend {backend}, {devices} devices, {import_chunk} rows per transaction (load average {load_before} at start, {} at end)",
            load_average()
        );
        println!(
            "  import end to end   {:>10.0} devices/s  ({:.2} s wall, {:.2} s process CPU; target {} devices/s)",
            import_rate,
            figures.import.as_secs_f64(),
            figures.import_cpu.as_secs_f64(),
            if backend == "sqlite" { "20000" } else { "10000" }
        );
        println!(
            "    of which recording rows {:.2} s ({} MB written), processing {:.2} s ({} MB written)",
            figures.record.as_secs_f64(),
            figures.record_bytes >> 20,
            (figures.import - figures.record).as_secs_f64(),
            figures.process_bytes >> 20
        );
        println!(
            "  storage floor       {:>10.0} devices/s  ({:.2} s wall, {:.2} s process CPU; raw rows, one transaction, no indexes)",
            floor_rate,
            floor.as_secs_f64(),
            floor_cpu.as_secs_f64()
        );
        println!("  ratio to floor      {:>10.2}  (target >= 0.5 on SQLite)", import_rate / floor_rate);
        println!(
            "  partner register    {:>10.0} devices/s  ({} devices, {:.2} s)",
            rate(figures.sync_devices, figures.partner),
            figures.sync_devices,
            figures.partner.as_secs_f64()
        );
        println!(
            "  sync                {:>10.0} devices/s  ({} published in {:.3} s; target <= 2 s for 100k)",
            rate(figures.published as usize, figures.sync),
            figures.published,
            figures.sync.as_secs_f64()
        );
        match (figures.import_rss_mb, peak_rss_mb()) {
            (Some(import), Some(run)) => {
                println!("  peak RSS, import    {import:>10.0} MB  (target < 300 MB for 1M devices)");
                println!(
                    "  peak RSS, whole run {run:>10.0} MB  (with the checks, partner, sync and floor; \
                     pages of the database the readers map count here)"
                );
            }
            _ => println!("  peak RSS            unavailable (no /proc/self/status)"),
        }
        Ok(())
    })
}
