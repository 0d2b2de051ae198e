//! `hangar serve`: the Graph-compatible API over HTTP or HTTPS, with the background job worker and
//! the automatic sync timer. On first start (no tenant yet) it creates the tenant `default` and an
//! admin token, written to `<data-dir>/admin-token` (mode 0600) and never logged.

use super::admin::{Backend, Database};
use anyhow::Context;
use clap::Args;
use hangar_api::{ApiConfig, ApiStore, AppState};
use hangar_core::authz::{authorize, Principal};
use hangar_core::credentials::Role;
use hangar_core::service::{Registry, RegistryConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one; the address is printed).
    #[arg(
        long,
        env = "HANGAR_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    listen: SocketAddr,
    #[command(flatten)]
    db: Database,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(
        long,
        env = "HANGAR_TLS_CERT",
        requires = "tls_key",
        value_name = "FILE"
    )]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(
        long,
        env = "HANGAR_TLS_KEY",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    tls_key: Option<PathBuf>,
    /// The externally visible root URL (e.g. https://hangar.example.com), used in next links.
    #[arg(long, env = "HANGAR_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "HANGAR_BODY_LIMIT", default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    body_limit: usize,
    /// Rows per Graph import call.
    #[arg(
        long,
        env = "HANGAR_MAX_IMPORT_ROWS",
        default_value_t = 1000,
        value_name = "N"
    )]
    max_import_rows: usize,
    /// At most one manual sync per tenant within this window (Intune: 10 minutes).
    #[arg(long, env = "HANGAR_SYNC_WINDOW", default_value = "10m", value_parser = crate::duration::parse, value_name = "DURATION")]
    sync_window: Duration,
    /// How often every tenant is synced automatically.
    #[arg(long, env = "HANGAR_AUTO_SYNC_INTERVAL", default_value = "60m", value_parser = crate::duration::parse, value_name = "DURATION")]
    auto_sync_interval: Duration,
    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `hangar_api=debug`.
    #[arg(
        long,
        env = "HANGAR_LOG",
        default_value = "info",
        value_name = "FILTER"
    )]
    log: String,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let _log = hangar_api::logging::init(&args.log, std::io::stderr())
        .map_err(|e| anyhow::anyhow!("--log: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        match args.db.open().await? {
            Backend::Sqlite(s) => {
                serve(s.clone(), &args).await?;
                s.close().await;
            }
            Backend::Postgres(p) => {
                serve(p.clone(), &args).await?;
                p.close().await;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Creates the `default` tenant and its admin token when the registry has no tenant at all.
async fn first_start<S: ApiStore>(registry: &Registry<S>, data_dir: &Path) -> anyhow::Result<()> {
    let system = Principal::system("first-start");
    if !registry.list_tenants(&system).await?.is_empty() {
        return Ok(());
    }
    let tenant = match registry
        .create_tenant(&system, "Default", "default.onmicrosoft.com")
        .await
    {
        Ok(t) => t,
        // Another process sharing the database started first and did this.
        Err(hangar_core::CoreError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let scope = authorize(&system, tenant.id)?;
    let issued = registry
        .issue_token(&scope, Role::Admin, "first-start", None)
        .await?;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let path = data_dir.join("admin-token");
    write_secret_file(&path, &issued.token)?;
    eprintln!(
        "first start: created the tenant 'default' (default.onmicrosoft.com, id {}) and an admin token in {}",
        tenant.id,
        path.display()
    );
    tracing::info!(tenant = %tenant.id, file = %path.display(), "first start: tenant and admin token created");
    Ok(())
}

/// Writes a secret readable by its owner only (0600 on Unix), refusing to overwrite.
pub fn write_secret_file(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    Ok(())
}

/// Registers the SIGTERM and Ctrl-C handlers at once (so that a signal arriving right after the
/// "listening" line is not lost) and returns a future that resolves on the first of them.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle Ctrl-C")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("shutting down: finishing requests in flight");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down: finishing requests in flight");
        })
    }
}

async fn serve<S: ApiStore>(store: S, args: &ServeArgs) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
    let registry = Registry::new(store).with_config(RegistryConfig {
        sync_window: args.sync_window,
        auto_sync_interval: args.auto_sync_interval,
        ..RegistryConfig::default()
    });
    first_start(&registry, &args.db.data_dir).await?;
    let config = ApiConfig {
        public_url: args.public_url.clone().filter(|u| !u.trim().is_empty()),
        body_limit: args.body_limit,
        max_import_rows: args.max_import_rows.max(1),
        ..ApiConfig::default()
    };
    let state = AppState::new(registry.clone(), config);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = hangar_api::worker::spawn(
        registry,
        state.worker_wake.clone(),
        stop_rx,
        hangar_api::worker::WorkerConfig::default(),
    );
    // Jobs left over from a previous run resume at once.
    state.wake_worker();
    let app = hangar_api::app(state).with_connect_info();

    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "cannot load the TLS certificate {} and key {}",
                        cert.display(),
                        key.display()
                    )
                })?;
            let listener = std::net::TcpListener::bind(args.listen)
                .with_context(|| format!("cannot listen on {}", args.listen))?;
            listener.set_nonblocking(true)?;
            let addr = listener.local_addr()?;
            eprintln!("hangar listening on https://{addr}");
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(Duration::from_secs(30)));
            });
            axum_server::from_tcp_rustls(listener, tls)
                .handle(handle)
                .serve(app)
                .await
                .context("the HTTPS server failed")?;
        }
        _ => {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("cannot listen on {}", args.listen))?;
            eprintln!("hangar listening on http://{}", listener.local_addr()?);
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .context("the HTTP server failed")?;
        }
    }
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    tracing::info!("stopped");
    Ok(())
}
