//! `hangar imports list|show|delete`: imported rows (`importedWindowsAutopilotDeviceIdentities`).

use super::{print_json, table, Connection, Local, Remote};
use clap::{Args, Subcommand};
use hangar_client::ImportedDevice;
use serde_json::json;
use std::process::ExitCode;

#[derive(Args)]
pub struct ImportsArgs {
    #[command(subcommand)]
    command: ImportsCommand,
    #[command(flatten)]
    local: Local,
}

#[derive(Subcommand)]
enum ImportsCommand {
    /// List imported rows and their state.
    List {
        /// Only the rows of this import.
        #[arg(long, value_name = "ID")]
        import_id: Option<String>,
    },
    /// Show one imported row.
    Show {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Delete imported rows (the registered devices stay).
    Delete {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
}

pub fn run(args: ImportsArgs, connection: &Connection) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(connection, args.local);
    let client = remote.client()?;
    let json = remote.json;
    match args.command {
        ImportsCommand::List { import_id } => {
            let rows = client.list_imported(import_id.as_deref())?;
            if json {
                print_json(&rows)?;
            } else {
                print!("{}", imported_table(&rows));
                eprintln!("{} imported row(s)", rows.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        ImportsCommand::Show { id } => {
            let row = client.get_imported(&id)?;
            if json {
                print_json(&row)?;
            } else {
                let s = &row.state;
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                for (k, v) in [
                    ("id", row.id.clone()),
                    ("serial number", opt(&row.serial_number)),
                    ("import id", opt(&row.import_id)),
                    ("group tag", opt(&row.group_tag)),
                    ("assigned user", opt(&row.assigned_user_principal_name)),
                    ("status", s.device_import_status.clone()),
                    ("error code", s.device_error_code.to_string()),
                    ("error name", opt(&s.device_error_name)),
                    ("device id", opt(&s.device_registration_id)),
                ] {
                    println!("{}", format!("{:<15} {v}", format!("{k}:")).trim_end());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ImportsCommand::Delete { ids } => {
            let mut failed = false;
            let mut results = Vec::new();
            for id in ids {
                match client.delete_imported(&id) {
                    Ok(()) => results.push(json!({"id": id, "result": "deleted"})),
                    Err(e) => {
                        failed = true;
                        results.push(json!({"id": id, "result": "failed", "error": e.to_string()}));
                    }
                }
            }
            if json {
                print_json(&results)?;
            } else {
                for r in &results {
                    let id = r["id"].as_str().unwrap_or_default();
                    match r["error"].as_str() {
                        Some(e) => println!("{id}: failed: {e}"),
                        None => println!("{id}: deleted"),
                    }
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn imported_table(rows: &[ImportedDevice]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let s = &r.state;
            vec![
                r.serial_number.clone().unwrap_or_default(),
                s.device_import_status.clone(),
                if s.device_error_code == 0 {
                    String::new()
                } else {
                    s.device_error_code.to_string()
                },
                s.device_error_name
                    .clone()
                    .filter(|n| n != "None")
                    .unwrap_or_default(),
                r.import_id.clone().unwrap_or_default(),
                r.id.clone(),
            ]
        })
        .collect();
    table(
        &["SERIAL", "STATUS", "CODE", "NAME", "IMPORT ID", "ID"],
        &cells,
    )
}
