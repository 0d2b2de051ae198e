//! `hangar`: self-hosted Windows Autopilot device registration.

mod cmd;
mod progress;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hangar",
    version,
    about = "Self-hosted Windows Autopilot device registration",
    propagate_version = true
)]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
