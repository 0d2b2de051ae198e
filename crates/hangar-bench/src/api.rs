//! `hangar-bench api`: the Graph API over real loopback TCP against a SQLite registry holding many
//! devices (1M by default), with the ceiling measured in the same run.
//!
//! The server is `hangar serve`'s stack (the same app, state, job worker and `axum::serve`) in its
//! own tokio runtime configured as `hangar serve` configures it; the load generator is a hyper 1
//! client in another runtime of the same process, one keep-alive HTTP/1.1 connection per
//! concurrent client, each request timed into a latency histogram. The ceiling is a trivial axum
//! handler returning a static JSON body of the same size, served and loaded identically.
//!
//! Seeding goes through the registry's import service, as `hangar-bench import` does, and is not
//! measured. The seeded database is cached under `target/hangar-bench/` keyed by the device
//! count; each run works on a fresh copy of it, so runs never see each other's writes.

use crate::import::build_chunk;
use anyhow::{bail, Context};
use axum::body::Bytes;
use hangar_api::{ApiConfig, AppState};
use hangar_core::authz::{authorize, Principal};
use hangar_core::credentials::Role;
use hangar_core::model::{encode_skiptoken, ImportRow};
use hangar_core::service::Registry;
use hangar_core::store::DeviceStore;
use hangar_store_sqlite::SqliteStore;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::header;
use hyper_util::rt::TokioIo;
use rand::Rng;
use sqlx::Connection;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEVICES: &str = "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities";
const IMPORTED: &str = "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities";
const SEED_DOMAIN: &str = "bench-api.onmicrosoft.com";
const SEED_CHUNK: usize = 10_000;

pub struct Options {
    pub devices: usize,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub max_requests: u64,
    pub rounds: usize,
    /// Measure only GETs by id (`by-id`) or only pages (`page`), e.g. under a profiler.
    pub only: Option<String>,
    /// Drive the app in process instead of over loopback (for profiling; prints no verdicts).
    pub in_process: bool,
    /// The server's log filter (`hangar serve --log`).
    pub log: String,
    pub import_rows: usize,
    pub client_threads: usize,
    pub cache_dir: PathBuf,
    pub no_cache: bool,
}

type OnStop = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A server in its own runtime and threads; dropped = shut down.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Server {
    /// Serves what `make` builds the way `hangar serve` does: a default multi-thread runtime
    /// (one worker per core), `axum::serve` with connect info, 127.0.0.1 on an ephemeral port.
    /// `make` runs inside that runtime; its second result runs after the server stopped.
    fn start<F, Fut, A>(make: F) -> anyhow::Result<Server>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<(A, OnStop)>>,
        A: tower::Service<
                axum::extract::Request,
                Response = axum::response::Response,
                Error = std::convert::Infallible,
            > + Clone
            + Send
            + 'static,
        A::Future: Send,
    {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || -> anyhow::Result<()> {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let (app, on_stop) = match make().await {
                        Ok(v) => v,
                        Err(e) => {
                            let _ = addr_tx.send(Err(e));
                            return Ok(());
                        }
                    };
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                    let _ = addr_tx.send(Ok(listener.local_addr()?));
                    axum::serve(
                        listener,
                        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                            SocketAddr,
                        >(app),
                    )
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .await?;
                    on_stop.await;
                    Ok(())
                })
            })?;
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(300))
            .context("the server did not start")??;
        Ok(Server {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    fn stop(mut self) -> anyhow::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => bail!("the server thread panicked"),
            None => Ok(()),
        }
    }
}

/// The ceiling: one trivial handler answering every GET with the same static JSON bytes.
fn ceiling_app(body: Bytes) -> axum::Router {
    axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    })
}

/// What one measurement produced.
struct Measured {
    requests: u64,
    elapsed: Duration,
    hist: Histogram<u64>,
    bytes: u64,
    /// CPU time of every thread but the load generator's while the requests were measured: the
    /// server's cost, which unlike requests/s hardly moves with what else the machine is doing.
    server_cpu: Duration,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn p50_ms(&self) -> f64 {
        self.hist.value_at_quantile(0.50) as f64 / 1000.0
    }
    fn p99_ms(&self) -> f64 {
        self.hist.value_at_quantile(0.99) as f64 / 1000.0
    }
    fn server_cpu_us(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
    fn add(&mut self, other: Measured) -> anyhow::Result<()> {
        self.requests += other.requests;
        self.elapsed += other.elapsed;
        self.server_cpu += other.server_cpu;
        self.hist.add(other.hist)?;
        self.bytes += other.bytes;
        Ok(())
    }
}

/// Sums the rounds of one measurement.
fn total(rounds: Vec<Measured>) -> anyhow::Result<Measured> {
    let mut rounds = rounds.into_iter();
    let mut sum = rounds.next().context("no rounds")?;
    for r in rounds {
        sum.add(r)?;
    }
    Ok(sum)
}

/// One HTTP/1.1 keep-alive connection.
struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            host: addr.to_string(),
        })
    }

    async fn send(
        &mut self,
        method: hyper::Method,
        path: &str,
        token: &str,
        body: Option<Bytes>,
    ) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
        self.sender.ready().await?;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req.body(Full::new(body.unwrap_or_default()))?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }

    async fn get(&mut self, path: &str, token: &str) -> anyhow::Result<Bytes> {
        let (status, bytes) = self.send(hyper::Method::GET, path, token, None).await?;
        if !status.is_success() {
            bail!(
                "GET {path}: {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
            );
        }
        Ok(bytes)
    }
}

/// How one round of a measurement runs.
struct Timing {
    warmup: Duration,
    duration: Duration,
    connections: usize,
    max_requests: u64,
}

/// `connections` clients on their own keep-alive connections, each sending the next request as
/// soon as the previous answer is read; `path` picks each request's path. Requests started
/// during the warm-up are not counted; the run ends at the deadline or after `max_requests`.
fn load<P>(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    token: &str,
    opts: &Timing,
    path: P,
) -> anyhow::Result<Measured>
where
    P: Fn(&mut rand::rngs::StdRng) -> String + Send + Sync + 'static,
{
    use rand::SeedableRng;
    let path = Arc::new(path);
    let token: Arc<str> = token.into();
    let counted = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let max = opts.max_requests;
    let (warmup, duration, connections) = (opts.warmup, opts.duration, opts.connections);
    rt.block_on(async move {
        let mut conns = Vec::with_capacity(connections);
        for _ in 0..connections {
            conns.push(Conn::open(addr).await?);
        }
        let begin = Instant::now();
        let measure_from = begin + warmup;
        let end = measure_from + duration;
        let cpu_from = tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            server_cpu()
        });
        let mut tasks = Vec::new();
        for (i, mut conn) in conns.into_iter().enumerate() {
            let path = path.clone();
            let token = token.clone();
            let counted = counted.clone();
            tasks.push(tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed + i as u64);
                let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
                let mut bytes = 0u64;
                let mut last = Instant::now();
                loop {
                    let p = path(&mut rng);
                    let t = Instant::now();
                    if t >= end {
                        break;
                    }
                    let body = conn.get(&p, &token).await?;
                    last = Instant::now();
                    if t >= measure_from {
                        if counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= max {
                            break;
                        }
                        hist.saturating_record((last - t).as_micros() as u64);
                        bytes += body.len() as u64;
                    }
                }
                anyhow::Ok((hist, bytes, last))
            }));
        }
        let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let mut bytes = 0;
        let mut last = measure_from;
        for t in tasks {
            let (h, b, l) = t.await??;
            hist.add(h)?;
            bytes += b;
            last = last.max(l);
        }
        let server_cpu = server_cpu_since(&cpu_from.await?);
        Ok(Measured {
            requests: hist.len(),
            elapsed: last.saturating_duration_since(measure_from),
            hist,
            bytes,
            server_cpu,
        })
    })
}

/// The seeded database for `devices`: from the cache when there, else imported through the
/// registry (and cached unless `no_cache`). Returns the path of a fresh working copy in `dir`.
fn seeded_copy(opts: &Options, dir: &Path) -> anyhow::Result<PathBuf> {
    let cache = opts
        .cache_dir
        .join(format!("api-{}-devices.db", opts.devices));
    let work = dir.join("hangar.db");
    if !opts.no_cache && cache.exists() {
        let t = Instant::now();
        std::fs::copy(&cache, &work)
            .with_context(|| format!("copy {} to {}", cache.display(), work.display()))?;
        println!(
            "  seed: cached database {} copied in {:.1} s (delete it to seed again)",
            cache.display(),
            t.elapsed().as_secs_f64()
        );
        return Ok(work);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let t = Instant::now();
    rt.block_on(async {
        let seed_path = dir.join("seed.db");
        let store = SqliteStore::open(&seed_path).await?;
        let registry = Registry::new(store.clone());
        let operator = Principal::system("bench");
        let tenant = registry
            .create_tenant(&operator, "Bench API", SEED_DOMAIN)
            .await?;
        let admin = authorize(
            &Principal::TenantAdmin {
                tenant_id: tenant.id,
                name: "bench".into(),
            },
            tenant.id,
        )?;
        let mut done = 0;
        while done < opts.devices {
            let n = SEED_CHUNK.min(opts.devices - done);
            let rows: Vec<ImportRow> = build_chunk("API", done, n)?
                .into_iter()
                .map(|(serial, hash)| ImportRow {
                    serial_number: serial,
                    hardware_hash: hash,
                    ..ImportRow::default()
                })
                .collect();
            registry.import(&admin, rows).await?;
            registry.run_jobs("bench-seed").await?;
            done += n;
            if done % 100_000 == 0 || done == opts.devices {
                eprintln!(
                    "  seeding: {done}/{} devices ({:.0} s)",
                    opts.devices,
                    t.elapsed().as_secs_f64()
                );
            }
        }
        let count = registry.store().count_devices(&admin, true, None).await?;
        if count != opts.devices as u64 {
            bail!("seeded {count} devices, expected {}", opts.devices);
        }
        // One compact file, without a WAL beside it.
        if opts.no_cache {
            store.backup(&work).await?;
        } else {
            std::fs::create_dir_all(&opts.cache_dir)?;
            let tmp = cache.with_extension("db.tmp");
            let _ = std::fs::remove_file(&tmp);
            store.backup(&tmp).await?;
            std::fs::rename(&tmp, &cache)?;
        }
        store.close().await;
        std::fs::remove_file(&seed_path)?;
        let _ = std::fs::remove_file(dir.join("seed.db-wal"));
        let _ = std::fs::remove_file(dir.join("seed.db-shm"));
        anyhow::Ok(())
    })?;
    if !opts.no_cache {
        std::fs::copy(&cache, &work)?;
    }
    println!(
        "  seed: {} devices imported through the registry in {:.0} s{}",
        opts.devices,
        t.elapsed().as_secs_f64(),
        if opts.no_cache {
            String::new()
        } else {
            format!(" (cached as {} for later runs)", cache.display())
        }
    );
    Ok(work)
}

/// The seeded tenant's device ids, in id order.
async fn device_ids(path: &Path) -> anyhow::Result<Vec<String>> {
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id \
         WHERE t.primary_domain = $1 ORDER BY d.id",
    )
    .bind(SEED_DOMAIN)
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

fn line(name: &str, m: &Measured, ceiling: &Measured, target: &str) {
    println!(
        "  {name:<10} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  server CPU {:>5.1} us/request  ({} requests, {:.0} B/response)",
        m.rate(),
        m.p50_ms(),
        m.p99_ms(),
        m.server_cpu_us(),
        m.requests,
        m.bytes as f64 / m.requests.max(1) as f64
    );
    println!(
        "  {:<10} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  server CPU {:>5.1} us/request  (ceiling: static body of the same size)",
        "ceiling",
        ceiling.rate(),
        ceiling.p50_ms(),
        ceiling.p99_ms(),
        ceiling.server_cpu_us()
    );
    println!(
        "  {:<10} {:>8.2}   {target}; server CPU per request {:.2}x the ceiling's",
        "ratio",
        m.rate() / ceiling.rate().max(1e-9),
        m.server_cpu_us() / ceiling.server_cpu_us().max(1e-9)
    );
}

/// CPU time so far of each of this process's threads other than the load generator's
/// (`bench-client`), by thread id, from /proc/self/task/*/schedstat (nanoseconds on a CPU).
fn server_cpu() -> std::collections::HashMap<String, u64> {
    let mut cpu = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return cpu;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.starts_with("bench-client") {
            continue;
        }
        let ns = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(ns) = ns {
            cpu.insert(task.file_name().to_string_lossy().into_owned(), ns);
        }
    }
    cpu
}

/// The CPU the server's threads used between two [`server_cpu`] readings. Per thread, because
/// threads come and go (tokio's blocking pool ends idle ones): a sum over the threads alive at
/// each reading would lose the time of those that ended.
fn server_cpu_since(before: &std::collections::HashMap<String, u64>) -> Duration {
    let ns = server_cpu()
        .iter()
        .map(|(tid, now)| now.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum();
    Duration::from_nanos(ns)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unavailable".into())
}

/// `hangar serve`'s registry, state, job worker and app on the database at `db`, with a reader
/// token of the seeded tenant and an admin token of a tenant for imports; the last part stops the
/// worker and closes the store.
async fn hangar_app(db: &Path) -> anyhow::Result<(hangar_api::App, (String, String), OnStop)> {
    let store = SqliteStore::open(db).await?;
    let registry = Registry::new(store.clone());
    let system = Principal::system("bench");
    let seeded = registry
        .list_tenants(&system)
        .await?
        .into_iter()
        .find(|t| t.primary_domain == SEED_DOMAIN)
        .context("the seeded tenant is missing")?;
    let scope = authorize(&system, seeded.id)?;
    let reader = registry
        .issue_token(&scope, Role::Reader, "bench", None)
        .await?
        .token;
    // Imports go to a tenant of their own, so that polling its rows sees only them.
    let other = registry
        .create_tenant(
            &system,
            "Bench API Import",
            "bench-api-import.onmicrosoft.com",
        )
        .await?;
    let admin = registry
        .issue_token(&authorize(&system, other.id)?, Role::Admin, "bench", None)
        .await?
        .token;
    let state = AppState::new(registry.clone(), ApiConfig::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = hangar_api::worker::spawn(
        registry,
        state.worker_wake.clone(),
        stop_rx,
        hangar_api::worker::WorkerConfig::default(),
    );
    state.wake_worker();
    let on_stop: OnStop = Box::pin(async move {
        let _ = stop_tx.send(true);
        for w in workers {
            let _ = w.await;
        }
        store.close().await;
    });
    Ok((hangar_api::app(state), (reader, admin), on_stop))
}

/// The app driven in process, one request at a time on one thread (`oneshot` through the
/// router, no network): what the handlers themselves cost, apart from the kernel's share.
fn in_process(opts: &Options, db: PathBuf, ids: &[String]) -> anyhow::Result<()> {
    println!("  in process: one request at a time through the router, on a current-thread runtime");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (app, (reader, _), on_stop) = hangar_app(&db).await?;
        let auth = format!("Bearer {reader}");
        let mut rng = rand::thread_rng();
        for (name, page) in [("by id", false), ("page", true)] {
            if opts.only.as_deref() == Some(if page { "by-id" } else { "page" }) {
                continue;
            }
            let (mut requests, mut bytes) = (0u64, 0usize);
            let ends = Instant::now() + opts.warmup;
            let mut started = None;
            let (measured, cpu) = loop {
                let now = Instant::now();
                if started.is_none() && now >= ends {
                    started = Some((now, process_cpu()));
                }
                if let Some((at, cpu_at)) = started {
                    if now - at >= opts.duration || requests >= opts.max_requests {
                        break (now - at, process_cpu().saturating_sub(cpu_at));
                    }
                }
                let uri = if page {
                    let last = &ids[rng.gen_range(0..ids.len() - 100)];
                    format!("{DEVICES}?$top=100&$skiptoken={}", encode_skiptoken(last))
                } else {
                    format!("{DEVICES}/{}", ids[rng.gen_range(0..ids.len())])
                };
                let req = axum::http::Request::get(uri)
                    .header(header::HOST, "127.0.0.1")
                    .header(header::AUTHORIZATION, &auth)
                    .body(axum::body::Body::empty())?;
                let res = tower::ServiceExt::oneshot(app.clone(), req).await?;
                if !res.status().is_success() {
                    bail!("in process: {name} answered {}", res.status());
                }
                let body = res.into_body().collect().await?.to_bytes();
                if started.is_some() {
                    requests += 1;
                    bytes += body.len();
                }
            };
            let n = requests.max(1) as f64;
            println!(
                "  {name:<10} {:>8.0} req/s  {:>7.1} us/request  process CPU {:>7.1} us/request  ({requests} requests, {} B/response)",
                n / measured.as_secs_f64().max(1e-9),
                measured.as_secs_f64() * 1e6 / n,
                cpu.as_secs_f64() * 1e6 / n,
                bytes / requests.max(1) as usize
            );
        }
        on_stop.await;
        anyhow::Ok(())
    })
}

/// CPU time of the whole process so far (the blocking pool's and the log's threads included).
fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    if opts.devices < 100 {
        bail!("--devices must be at least 100");
    }
    println!(
        "Graph API over loopback HTTP/1.1, SQLite, {} devices, {} connections, {:.0} s warm-up + {:.0} s per measurement",
        opts.devices,
        opts.connections,
        opts.warmup.as_secs_f64(),
        opts.duration.as_secs_f64()
    );
    println!("  load average at start: {}", load_average());
    let dir = tempfile::tempdir()?;
    // The server logs as `hangar serve` does (by default a line per request, at info level).
    let log_path = dir.path().join("server.log");
    let _log = hangar_api::logging::init(&opts.log, std::fs::File::create(&log_path)?)
        .map_err(anyhow::Error::msg)?;
    println!(
        "  server log: '{}', written to {}",
        opts.log,
        log_path.display()
    );
    let db = seeded_copy(&opts, dir.path())?;

    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.client_threads)
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let ids = Arc::new(client.block_on(device_ids(&db))?);
    if ids.len() != opts.devices {
        bail!(
            "the database holds {} devices, expected {}",
            ids.len(),
            opts.devices
        );
    }

    if opts.in_process {
        return in_process(&opts, db, &ids);
    }

    // The Hangar server: `hangar serve`'s registry, state, job worker and app on the copy.
    let (setup_tx, setup_rx) = std::sync::mpsc::channel();
    let db_path = db.clone();
    let server = Server::start(move || async move {
        let (app, tokens, on_stop) = hangar_app(&db_path).await?;
        let _ = setup_tx.send(tokens);
        Ok((app, on_stop))
    })?;
    let (reader, admin) = setup_rx.recv()?;
    let addr = server.addr;

    // Response sizes for the ceilings: one real answer of each kind.
    let (one_body, page_body) = client.block_on(async {
        let mut c = Conn::open(addr).await?;
        let one = c
            .get(&format!("{DEVICES}/{}", ids[ids.len() / 2]), &reader)
            .await?;
        let page = c
            .get(
                &format!(
                    "{DEVICES}?$top=100&$skiptoken={}",
                    encode_skiptoken(&ids[ids.len() / 3])
                ),
                &reader,
            )
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&page)?;
        let n = v["value"].as_array().map_or(0, Vec::len);
        if n != 100 || v["@odata.nextLink"].as_str().is_none() {
            bail!("a page holds {n} devices (expected 100 and a next link)");
        }
        anyhow::Ok((one, page))
    })?;

    // The ceilings answer with one real answer of each kind, from servers started beside
    // Hangar's, so that each round can measure all four back to back.
    let (one_len, page_len) = (one_body.len(), page_body.len());
    let ceiling_one_server =
        Server::start(move || async move { Ok((ceiling_app(one_body), noop())) })?;
    let ceiling_page_server =
        Server::start(move || async move { Ok((ceiling_app(page_body), noop())) })?;

    // Interleaved rounds: load from outside the benchmark falls on Hangar and on its ceilings
    // alike, so their ratio holds still when the machine is busy.
    let rounds = opts.rounds.max(1);
    let per_round = opts.duration.div_f64(rounds as f64);
    let mut by_id = Vec::new();
    let mut ceiling_one = Vec::new();
    let mut page = Vec::new();
    let mut ceiling_page = Vec::new();
    for round in 0..rounds {
        let warmup = if round == 0 {
            opts.warmup
        } else {
            Duration::from_millis(200)
        };
        let timing = Timing {
            warmup,
            duration: per_round,
            connections: opts.connections,
            max_requests: opts.max_requests,
        };
        if opts.only.as_deref() != Some("page") {
            by_id.push({
                let ids = ids.clone();
                load(&client, addr, &reader, &timing, move |rng| {
                    format!("{DEVICES}/{}", ids[rng.gen_range(0..ids.len())])
                })?
            });
            ceiling_one.push(load(
                &client,
                ceiling_one_server.addr,
                &reader,
                &timing,
                |_| format!("{DEVICES}/x"),
            )?);
        }
        if opts.only.as_deref() != Some("by-id") {
            // Random pages: the skiptoken of a random device, exactly the token the server puts in
            // the next link of the page that ends with that device.
            page.push({
                let ids = ids.clone();
                load(&client, addr, &reader, &timing, move |rng| {
                    let last = &ids[rng.gen_range(0..ids.len() - 100)];
                    format!("{DEVICES}?$top=100&$skiptoken={}", encode_skiptoken(last))
                })?
            });
            ceiling_page.push(load(
                &client,
                ceiling_page_server.addr,
                &reader,
                &timing,
                |_| format!("{DEVICES}?$top=100"),
            )?);
        }
    }
    if opts.only.is_some() {
        for (name, m) in [
            ("by id", by_id),
            ("ceiling", ceiling_one),
            ("page", page),
            ("ceiling", ceiling_page),
        ] {
            if let Ok(m) = total(m) {
                println!(
                    "  {name:<10} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  server CPU {:>5.1} us/request",
                    m.rate(),
                    m.p50_ms(),
                    m.p99_ms(),
                    m.server_cpu_us()
                );
            }
        }
        server.stop()?;
        ceiling_one_server.stop()?;
        ceiling_page_server.stop()?;
        return Ok(());
    }
    let (by_id, ceiling_one) = (total(by_id)?, total(ceiling_one)?);
    let (page, ceiling_page) = (total(page)?, total(ceiling_page)?);

    // Import through the API: POST the rows, poll the tenant's imported rows until all are final.
    let mut imports = Vec::new();
    for round in 0..3 {
        imports.push(client.block_on(import_once(addr, &admin, round, opts.import_rows))?);
    }
    server.stop()?;
    ceiling_one_server.stop()?;
    ceiling_page_server.stop()?;

    println!(
        "results ({} client threads; server runtime as hangar serve's; {rounds} interleaved rounds; load average now {})",
        opts.client_threads,
        load_average()
    );
    println!("  GET one device by id ({one_len} B)");
    line(
        "by id",
        &by_id,
        &ceiling_one,
        "(targets: >= 10000 req/s and >= 0.5 of the ceiling)",
    );
    println!("  GET a page, $top=100 at a random skiptoken ({page_len} B)");
    line("page", &page, &ceiling_page, "(target: p99 <= 20 ms)");
    let secs: Vec<String> = imports
        .iter()
        .map(|d| format!("{:.3}", d.as_secs_f64()))
        .collect();
    let mut sorted = imports.clone();
    sorted.sort();
    println!(
        "  import via API: {} rows POSTed to .../import until every row is final (polled via GET): {} s; median {:.3} s (target <= 0.5 s)",
        opts.import_rows,
        secs.join(", "),
        sorted[sorted.len() / 2].as_secs_f64()
    );
    Ok(())
}

fn noop() -> OnStop {
    Box::pin(async {})
}

/// POSTs `rows` new devices to `.../import` and polls `GET .../importedWindowsAutopilotDeviceIdentities`
/// until every row is `complete` (an `error` row fails the run). The clock covers both.
async fn import_once(
    addr: SocketAddr,
    token: &str,
    round: usize,
    rows: usize,
) -> anyhow::Result<Duration> {
    use base64::Engine;
    let entries: Vec<serde_json::Value> = build_chunk(&format!("IMP{round}-"), 0, rows)?
        .into_iter()
        .map(|(serial, hash)| {
            serde_json::json!({
                "serialNumber": serial,
                "hardwareIdentifier": base64::engine::general_purpose::STANDARD.encode(hash),
            })
        })
        .collect();
    let body = Bytes::from(serde_json::to_vec(
        &serde_json::json!({ "importedWindowsAutopilotDeviceIdentities": entries }),
    )?);
    let mut c = Conn::open(addr).await?;
    let t = Instant::now();
    let (status, answer) = c
        .send(
            hyper::Method::POST,
            &format!("{IMPORTED}/import"),
            token,
            Some(body),
        )
        .await?;
    if !status.is_success() {
        bail!("import: {status}: {}", String::from_utf8_lossy(&answer));
    }
    let ids: std::collections::HashSet<String> =
        serde_json::from_slice::<serde_json::Value>(&answer)?["value"]
            .as_array()
            .context("import answered without value")?
            .iter()
            .filter_map(|v| v["id"].as_str().map(str::to_string))
            .collect();
    if ids.len() != rows {
        bail!("import answered {} rows, sent {rows}", ids.len());
    }
    loop {
        let mut complete = 0;
        let mut url = format!("{IMPORTED}?$top=1000");
        loop {
            let page: serde_json::Value = serde_json::from_slice(&c.get(&url, token).await?)?;
            for v in page["value"].as_array().into_iter().flatten() {
                if !v["id"].as_str().is_some_and(|id| ids.contains(id)) {
                    continue;
                }
                match v["state"]["deviceImportStatus"].as_str() {
                    Some("complete") => complete += 1,
                    Some("error") => bail!("an imported row failed: {v}"),
                    _ => {}
                }
            }
            match page["@odata.nextLink"].as_str() {
                Some(next) => {
                    url = next
                        .split_once("/v1.0")
                        .map(|(_, rest)| format!("/v1.0{rest}"))
                        .context("odd next link")?
                }
                None => break,
            }
        }
        if complete == rows {
            return Ok(t.elapsed());
        }
        if t.elapsed() > Duration::from_secs(60) {
            bail!("only {complete} of {rows} imported rows completed in 60 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
