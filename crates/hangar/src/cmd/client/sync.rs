//! `hangar sync` and `hangar sync status` (beta `windowsAutopilotSettings`).

use super::{duration_words, print_json, when, Connection, Local, Remote};
use clap::{Args, Subcommand};
use hangar_client::{Client, GraphError, SyncOutcome};
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
                eprintln!("{}", too_soon_message(retry_after, &error));
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

/// The explanation of a 429: the window is the server's, so only the time it gave is stated.
fn too_soon_message(retry_after: Option<std::time::Duration>, error: &GraphError) -> String {
    match retry_after {
        Some(d) => format!(
            "too soon: the server allows one manual sync per window; the next is possible in {} ({error})",
            duration_words(d)
        ),
        None => format!(
            "too soon: the server allows one manual sync per window; try again later ({error})"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn error(retry_after: Option<Duration>) -> GraphError {
        GraphError::parse(
            429,
            br#"{"error":{"code":"TooManyRequests","message":"too many requests: retry after 90 seconds"}}"#,
            None,
            None,
            retry_after,
        )
    }

    #[test]
    fn too_soon_says_what_the_server_said() {
        let m = too_soon_message(
            Some(Duration::from_secs(90)),
            &error(Some(Duration::from_secs(90))),
        );
        assert!(
            m.starts_with("too soon: the server allows one manual sync per window; the next is possible in 1 min 30 s ("),
            "{m}"
        );
        assert!(!m.contains("10 minutes"), "{m}");
        let m = too_soon_message(None, &error(None));
        assert!(m.contains("try again later"), "{m}");
        assert!(!m.contains("10 minutes"), "{m}");
    }
}
