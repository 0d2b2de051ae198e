//! `hangar sync` and `hangar sync status` (beta `windowsAutopilotSettings`).

use super::{duration_words, print_json, when, Connection, Local, Remote};
use clap::{Args, Subcommand};
use hangar_client::{Client, SyncOutcome};
use serde_json::json;
use std::process::ExitCode;

#[derive(Args)]
pub struct SyncArgs {
    #[command(subcommand)]
    command: Option<SyncCommand>,
    #[command(flatten)]
    local: Local,
}

#[derive(Subcommand)]
enum SyncCommand {
    /// Show the last sync, the last manual sync and the sync status.
    Status,
}

pub fn run(args: SyncArgs, connection: &Connection) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(connection, args.local);
    let client = remote.client()?;
    match args.command {
        None => {
            let (ok, value) = trigger(&client, !remote.json)?;
            if remote.json {
                print_json(&value)?;
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(SyncCommand::Status) => {
            let s = client.settings()?;
            if remote.json {
                print_json(&s)?;
            } else {
                println!("last sync:              {}", when(&s.last_sync_date_time));
                println!(
                    "last manual sync:       {}",
                    when(&s.last_manual_sync_trigger_date_time)
                );
                println!("sync status:            {}", s.sync_status);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Triggers a sync and explains the outcome on stderr when `human`; returns whether it ran and a
/// JSON summary.
pub fn trigger(client: &Client, human: bool) -> anyhow::Result<(bool, serde_json::Value)> {
    Ok(match client.sync()? {
        SyncOutcome::Started => {
            if human {
                eprintln!("sync started");
            }
            (true, json!({"status": "started"}))
        }
        SyncOutcome::AlreadyRunning(e) => {
            if human {
                eprintln!(
                    "a sync is already running; see `hangar sync status` and try again once it has finished ({e})"
                );
            }
            (
                false,
                json!({"status": "alreadyRunning", "code": e.code, "message": e.message}),
            )
        }
        SyncOutcome::TooSoon { retry_after, error } => {
            if human {
                match retry_after {
                    Some(d) => eprintln!(
                        "too soon: one manual sync is allowed per 10 minutes and the last one was \
                         recent; the next is possible in {} ({error})",
                        duration_words(d)
                    ),
                    None => eprintln!(
                        "too soon: one manual sync is allowed per 10 minutes; try again later ({error})"
                    ),
                }
            }
            (
                false,
                json!({
                    "status": "tooSoon",
                    "retryAfterSeconds": retry_after.map(|d| d.as_secs()),
                    "code": error.code,
                    "message": error.message,
                }),
            )
        }
    })
}
