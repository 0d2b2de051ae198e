//! `hangar`: self-hosted Windows Autopilot device registration.

mod cmd;
mod config;
mod duration;
mod progress;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// glibc's malloc was about a tenth of a request's CPU time under concurrent load (arena locks,
// consolidation); mimalloc's thread-local free lists avoid both.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hangar",
    version,
    about = "Self-hosted Windows Autopilot device registration",
    propagate_version = true
)]
struct Cli {
    /// A TOML file of settings: the HANGAR_* variables in lower case without the prefix
    /// (`listen = "0.0.0.0:8080"`, `data_dir = "/var/lib/hangar"`). Flags and the environment win.
    #[arg(long, global = true, env = "HANGAR_CONFIG", value_name = "FILE")]
    #[allow(dead_code)]
    // read before parsing, by config::apply; declared for --help and checking
    config: Option<std::path::PathBuf>,
    /// `--server`, `--token`, `--ca-cert`: global, so they may come before or after the command.
    #[command(flatten)]
    connection: cmd::client::Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode, validate, build and collect hardware hashes.
    #[command(subcommand)]
    Hash(cmd::hash::HashCommand),
    /// Check and merge Autopilot import CSV files.
    #[command(subcommand)]
    Csv(cmd::csv::CsvCommand),
    /// Create or upgrade the database schema.
    Migrate(cmd::admin::MigrateArgs),
    /// Create and list tenants.
    Tenant(cmd::admin::TenantArgs),
    /// Copy the SQLite database to a file (for PostgreSQL, says how to use pg_dump).
    Backup(cmd::admin::BackupArgs),
    /// Serve the Graph-compatible API (with the job worker and the sync timer).
    Serve(cmd::serve::ServeArgs),
    /// Register apps for the OAuth2 token endpoint.
    App(cmd::auth::AppArgs),
    /// Issue and revoke bearer tokens.
    Token(cmd::auth::TokenArgs),
    /// Import CSV files into a running server: check, upload, wait, report per row.
    Import(cmd::client::import::ImportArgs),
    /// Sync the Autopilot device list (`hangar sync`), or show its state (`hangar sync status`).
    Sync(cmd::client::sync::SyncArgs),
    /// List, show, update, assign and delete the Autopilot devices on a server.
    Devices(cmd::client::devices::DevicesArgs),
    /// List, show and delete imported rows on a server.
    Imports(cmd::client::imports::ImportsArgs),
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(path) = config::path_from(&args) {
        if let Err(message) = config::apply(&path, &<Cli as clap::CommandFactory>::command()) {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    }
    let cli = Cli::parse_from(args);
    // One-shot commands end quietly when their output pipe closes (`| head`); a long-running
    // server must keep the default Rust behaviour (EPIPE as an error) instead.
    restore_default_sigpipe();
    let result = match cli.command {
        Command::Hash(c) => cmd::hash::run(c),
        Command::Csv(c) => cmd::csv::run(c),
        Command::Migrate(a) => cmd::admin::migrate(a),
        Command::Tenant(a) => cmd::admin::tenant(a),
        Command::Backup(a) => cmd::admin::backup(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::App(a) => cmd::auth::app(a),
        Command::Token(a) => cmd::auth::token(a),
        Command::Import(a) => cmd::client::import::run(a, &cli.connection),
        Command::Sync(a) => cmd::client::sync::run(a, &cli.connection),
        Command::Devices(a) => cmd::client::devices::run(a, &cli.connection),
        Command::Imports(a) => cmd::client::imports::run(a, &cli.connection),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(unix)]
fn restore_default_sigpipe() {
    // SAFETY: called before any thread starts; only resets one signal's disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_default_sigpipe() {}
