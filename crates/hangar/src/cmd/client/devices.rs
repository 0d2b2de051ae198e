//! `hangar devices list|show|update|assign-user|unassign-user|delete`: the tenant's Autopilot
//! devices (`windowsAutopilotDeviceIdentities`).

use super::{is_guid, print_json, table, when, Connection, Local, Remote};
use anyhow::bail;
use clap::{Args, Subcommand};
use hangar_client::{Client, DeviceIdentity, DeviceUpdate};
use serde_json::json;
use std::process::ExitCode;

#[derive(Args)]
pub struct DevicesArgs {
    #[command(subcommand)]
    command: DevicesCommand,
    #[command(flatten)]
    local: Local,
}

#[derive(Subcommand)]
enum DevicesCommand {
    /// List every device (all pages).
    List {
        /// OData filter, e.g. "startswith(serialNumber,'PF') and groupTag eq 'Sales'".
        #[arg(long, value_name = "EXPR")]
        filter: Option<String>,
        /// Page size to ask the server for (the list is complete either way).
        #[arg(long, value_name = "N")]
        top: Option<usize>,
    },
    /// Show one device, by id or serial number.
    Show {
        #[arg(value_name = "ID|SERIAL")]
        device: String,
    },
    /// Change a device's group tag, user or display name.
    Update {
        #[arg(value_name = "ID|SERIAL")]
        device: String,
        #[arg(long, value_name = "TAG")]
        group_tag: Option<String>,
        /// User principal name of the assigned user.
        #[arg(long, value_name = "UPN")]
        user: Option<String>,
        #[arg(long, value_name = "NAME")]
        display_name: Option<String>,
    },
    /// Assign a user to a device (shown at sign-in during the first run).
    AssignUser {
        #[arg(value_name = "ID|SERIAL")]
        device: String,
        #[arg(long, value_name = "UPN")]
        user: String,
        /// The user's friendly name (addressableUserName).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// Remove the assigned user from a device.
    UnassignUser {
        #[arg(value_name = "ID|SERIAL")]
        device: String,
    },
    /// Deregister devices: ids are deleted one by one, serial numbers in one deleteDevices call.
    Delete {
        #[arg(required = true, value_name = "ID|SERIAL")]
        devices: Vec<String>,
    },
}

pub fn run(args: DevicesArgs, connection: &Connection) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(connection, args.local);
    let client = remote.client()?;
    let json = remote.json;
    match args.command {
        DevicesCommand::List { filter, top } => {
            let bar = crate::progress::bar(0, "listing");
            let devices = client.list_devices_with(filter.as_deref(), top, &mut |n| {
                bar.inc_length(n as u64);
                bar.inc(n as u64);
            })?;
            bar.finish_and_clear();
            if json {
                print_json(&devices)?;
            } else {
                print!("{}", device_table(&devices));
                eprintln!("{} device(s)", devices.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        DevicesCommand::Show { device } => {
            let devices = resolve_many(&client, &device)?;
            if json {
                if let [one] = devices.as_slice() {
                    print_json(one)?;
                } else {
                    print_json(&devices)?;
                }
            } else {
                for (i, d) in devices.iter().enumerate() {
                    if i > 0 {
                        println!();
                    }
                    print_device(d);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DevicesCommand::Update {
            device,
            group_tag,
            user,
            display_name,
        } => {
            let update = DeviceUpdate {
                user_principal_name: user,
                group_tag,
                display_name,
                ..DeviceUpdate::default()
            };
            if update.is_empty() {
                bail!("nothing to change: give --group-tag, --user or --display-name");
            }
            let id = resolve_one(&client, &device)?;
            client.update_device(&id, &update)?;
            done(json, &id, "updated")
        }
        DevicesCommand::AssignUser { device, user, name } => {
            let id = resolve_one(&client, &device)?;
            client.assign_user(&id, &user, name.as_deref().unwrap_or_default())?;
            done(json, &id, &format!("assigned to {user}"))
        }
        DevicesCommand::UnassignUser { device } => {
            let id = resolve_one(&client, &device)?;
            client.unassign_user(&id)?;
            done(json, &id, "user unassigned")
        }
        DevicesCommand::Delete { devices } => delete(&client, &devices, json),
    }
}

fn done(json: bool, id: &str, what: &str) -> anyhow::Result<ExitCode> {
    if json {
        print_json(&json!({"id": id, "result": what}))?;
    } else {
        println!("{id}: {what}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The devices an id or serial number names (one for an id; any number for a serial).
fn resolve_many(client: &Client, key: &str) -> anyhow::Result<Vec<DeviceIdentity>> {
    if is_guid(key) {
        return Ok(vec![client.get_device(key)?]);
    }
    let found = client.find_devices_by_serial(key)?;
    if found.is_empty() {
        bail!("no device with the serial number '{key}' (nor is it an id)");
    }
    Ok(found)
}

/// The id of exactly one device.
fn resolve_one(client: &Client, key: &str) -> anyhow::Result<String> {
    if is_guid(key) {
        return Ok(key.trim().to_string());
    }
    let found = resolve_many(client, key)?;
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        many => bail!(
            "the serial number '{key}' names {} devices ({}); give the id",
            many.len(),
            many.iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn delete(client: &Client, keys: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let mut results = Vec::new();
    let mut failed = false;
    let (ids, serials): (Vec<String>, Vec<String>) = keys
        .iter()
        .map(|k| k.trim().to_string())
        .partition(|k| is_guid(k));
    for id in ids {
        match client.delete_device(&id) {
            Ok(()) => {
                results.push(json!({"key": id, "deviceRegistrationId": id, "result": "deleted"}))
            }
            Err(e) => {
                failed = true;
                results.push(json!({"key": id, "result": "failed", "error": e.to_string()}));
            }
        }
    }
    for chunk in serials.chunks(hangar_client::MAX_IMPORT_ROWS) {
        match client.delete_devices_by_serial(chunk) {
            Ok(states) => {
                for s in states {
                    let ok = s.deletion_state.eq_ignore_ascii_case("accepted");
                    failed |= !ok;
                    results.push(json!({
                        "key": s.serial_number,
                        "deviceRegistrationId": s.device_registration_id,
                        "result": if ok { "deleted".to_string() } else { s.deletion_state.clone() },
                        "error": s.error_message.filter(|m| !m.is_empty()),
                    }));
                }
            }
            Err(e) => {
                failed = true;
                for serial in chunk {
                    results
                        .push(json!({"key": serial, "result": "failed", "error": e.to_string()}));
                }
            }
        }
    }
    if json {
        print_json(&results)?;
    } else {
        for r in &results {
            let key = r["key"].as_str().unwrap_or_default();
            let result = r["result"].as_str().unwrap_or_default();
            match r["error"].as_str() {
                Some(e) => println!("{key}: {result}: {e}"),
                None => println!("{key}: {result}"),
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn device_table(devices: &[DeviceIdentity]) -> String {
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|d| {
            vec![
                d.serial_number.clone(),
                d.manufacturer.clone(),
                d.model.clone(),
                d.group_tag.clone(),
                d.user_principal_name.clone(),
                d.enrollment_state.clone(),
                d.id.clone(),
            ]
        })
        .collect();
    table(
        &[
            "SERIAL",
            "MANUFACTURER",
            "MODEL",
            "GROUP TAG",
            "USER",
            "STATE",
            "ID",
        ],
        &rows,
    )
}

fn print_device(d: &DeviceIdentity) {
    let lines = [
        ("id", d.id.clone()),
        ("serial number", d.serial_number.clone()),
        ("manufacturer", d.manufacturer.clone()),
        ("model", d.model.clone()),
        ("group tag", d.group_tag.clone()),
        ("purchase order", d.purchase_order_identifier.clone()),
        ("product key", d.product_key.clone()),
        ("display name", d.display_name.clone()),
        ("user", d.user_principal_name.clone()),
        ("user name", d.addressable_user_name.clone()),
        ("enrollment state", d.enrollment_state.clone()),
        ("last contacted", when(&d.last_contacted_date_time)),
        ("managed device id", d.managed_device_id.clone()),
        (
            "entra device id",
            d.azure_active_directory_device_id.clone(),
        ),
    ];
    for (k, v) in lines {
        println!("{}", format!("{:<18} {v}", format!("{k}:")).trim_end());
    }
}
