//! Offline administration: `hangar migrate`, `hangar tenant create|list`, `hangar backup`. These
//! open the database directly (SQLite in the data directory by default, or any `--database-url`).

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hangar_core::authz::Principal;
use hangar_core::model::Tenant;
use hangar_core::service::Registry;
use hangar_core::store::Store;
use hangar_store_postgres::PostgresStore;
use hangar_store_sqlite::SqliteStore;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the registry lives.
#[derive(Args, Debug, Clone)]
pub struct Database {
    /// Data directory; the SQLite database is `hangar.db` inside, created on first use.
    #[arg(
        long,
        env = "HANGAR_DATA_DIR",
        default_value = "./hangar-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// A database URL instead of the data directory: `postgres://user@host/db` or `sqlite://path`.
    #[arg(long, env = "HANGAR_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Connections in the PostgreSQL pool.
    #[arg(
        long,
        env = "HANGAR_DATABASE_POOL_SIZE",
        default_value_t = 10,
        value_name = "N"
    )]
    pub pool_size: u32,
}

#[derive(Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    db: Database,
}

#[derive(Args)]
pub struct TenantArgs {
    #[command(subcommand)]
    command: TenantCommand,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints its id.
    Create {
        /// Display name, e.g. "Contoso".
        #[arg(long)]
        name: String,
        /// Primary domain, e.g. contoso.onmicrosoft.com.
        #[arg(long)]
        domain: String,
        #[command(flatten)]
        db: Database,
    },
    /// List the tenants.
    List {
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: Database,
    },
}

#[derive(Args)]
pub struct BackupArgs {
    /// The file to write (must not exist).
    out: PathBuf,
    #[command(flatten)]
    db: Database,
}

/// The backend chosen at run time; only this crate knows which one runs.
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Database {
    pub async fn open(&self) -> anyhow::Result<Backend> {
        match self
            .database_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let store = PostgresStore::connect(url, self.pool_size)
                    .await
                    .with_context(|| {
                        format!("cannot open the PostgreSQL database at {}", redact(url))
                    })?;
                Ok(Backend::Postgres(store))
            }
            Some(url) if url.starts_with("sqlite:") => {
                let store = SqliteStore::connect(url)
                    .await
                    .with_context(|| format!("cannot open the SQLite database {url}"))?;
                Ok(Backend::Sqlite(store))
            }
            Some(url) => bail!(
                "unsupported database URL '{}': use postgres://... or sqlite://...",
                redact(url)
            ),
            None => {
                std::fs::create_dir_all(&self.data_dir).with_context(|| {
                    format!(
                        "cannot create the data directory {}",
                        self.data_dir.display()
                    )
                })?;
                let path = self.data_dir.join("hangar.db");
                let store = SqliteStore::open(&path).await.with_context(|| {
                    format!("cannot open the SQLite database {}", path.display())
                })?;
                Ok(Backend::Sqlite(store))
            }
        }
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        // Opening migrates (under an advisory lock on PostgreSQL).
        match args.db.open().await? {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(p) => p.close().await,
        }
        eprintln!("the database schema is up to date");
        Ok(ExitCode::SUCCESS)
    })
}

pub fn tenant(args: TenantArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        match args.command {
            TenantCommand::Create { name, domain, db } => {
                let t = match db.open().await? {
                    Backend::Sqlite(s) => create(s, &name, &domain).await?,
                    Backend::Postgres(p) => create(p, &name, &domain).await?,
                };
                println!("{}", t.id);
            }
            TenantCommand::List { json, db } => {
                let tenants = match db.open().await? {
                    Backend::Sqlite(s) => list(s).await?,
                    Backend::Postgres(p) => list(p).await?,
                };
                print_tenants(&tenants, json)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn operator() -> Principal {
    Principal::system("cli")
}

async fn create<S: Store>(store: S, name: &str, domain: &str) -> anyhow::Result<Tenant> {
    Ok(Registry::new(store)
        .create_tenant(&operator(), name, domain)
        .await?)
}

async fn list<S: Store>(store: S) -> anyhow::Result<Vec<Tenant>> {
    Ok(Registry::new(store).list_tenants(&operator()).await?)
}

fn iso(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn print_tenants(tenants: &[Tenant], json: bool) -> anyhow::Result<()> {
    if json {
        let value: Vec<serde_json::Value> = tenants
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id.to_string(),
                    "displayName": t.display_name,
                    "primaryDomain": t.primary_domain,
                    "createdDateTime": iso(t.created),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if tenants.is_empty() {
        println!(
            "no tenants yet: create one with `hangar tenant create --name NAME --domain DOMAIN`"
        );
    } else {
        println!("{:<36}  {:<32}  {:<20}  CREATED", "ID", "DOMAIN", "NAME");
        for t in tenants {
            println!(
                "{:<36}  {:<32}  {:<20}  {}",
                t.id.to_string(),
                t.primary_domain,
                t.display_name,
                iso(t.created)
            );
        }
    }
    Ok(())
}

pub fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() {
        bail!(
            "{} exists already: choose a new file name",
            args.out.display()
        );
    }
    let url = args
        .db
        .database_url
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        eprintln!(
            "hangar backup copies SQLite databases only. Back up PostgreSQL with pg_dump, which takes a consistent \
             snapshot while Hangar runs:\n\n    pg_dump --format=custom --file '{}' '{}'\n\nand restore with \
             pg_restore --dbname URL FILE.",
            args.out.display(),
            redact(url)
        );
        return Ok(ExitCode::FAILURE);
    }
    runtime()?.block_on(async {
        match args.db.open().await? {
            Backend::Sqlite(s) => {
                s.backup(Path::new(&args.out))
                    .await
                    .with_context(|| format!("cannot write the backup {}", args.out.display()))?;
                s.close().await;
                eprintln!(
                    "wrote a consistent copy of the database to {}",
                    args.out.display()
                );
                Ok(ExitCode::SUCCESS)
            }
            Backend::Postgres(p) => {
                p.close().await;
                bail!("PostgreSQL databases are backed up with pg_dump")
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
