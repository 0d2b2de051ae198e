//! `hangar hash collect`: this Linux machine's hash as an Autopilot import CSV, like
//! Get-WindowsAutopilotInfo. What could not be read goes to standard error, one line per field.

use anyhow::{bail, Context};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CollectArgs {
    /// Write the import CSV to this file instead of standard output.
    #[arg(long, value_name = "OUT")]
    csv: Option<PathBuf>,
    /// Add a Group Tag column with this value.
    #[arg(long, value_name = "TAG")]
    group_tag: Option<String>,
    /// Add an Assigned User column (and an empty Group Tag if none is given).
    #[arg(long, value_name = "UPN")]
    assigned_user: Option<String>,
    /// Read the machine below this directory instead of / (for tests).
    #[arg(long, value_name = "DIR", default_value = "/", hide = true)]
    root: PathBuf,
}

/// A value for the unquoted CSV Get-WindowsAutopilotInfo writes: no comma, quote or line break.
fn csv_value(what: &str, value: &str) -> anyhow::Result<String> {
    if value.contains([',', '"', '\r', '\n']) {
        bail!("{what} {value:?} contains a comma, quote or line break, which an Autopilot import CSV cannot hold");
    }
    Ok(value.to_string())
}

pub fn run(args: CollectArgs) -> anyhow::Result<ExitCode> {
    let collected = hwhash::collect::collect(&args.root);
    if collected.smbios_unavailable() {
        let why = match collected.needs_root() {
            true => {
                "the SMBIOS table is readable only by root; run as root (sudo hangar hash collect)"
            }
            false => "no SMBIOS table could be read",
        };
        eprintln!("warning: {why}: this hash has no serial number, manufacturer, model or UUID, so Autopilot cannot identify the device");
    }
    for m in &collected.missing {
        eprintln!("warning: {m}");
    }
    let hash = collected
        .hash
        .to_base64()
        .context("the collected hash cannot be encoded")?;

    // Windows leaves the serial column empty when the firmware holds a placeholder.
    let serial = collected
        .hash
        .serial()
        .map(|s| s.into_owned())
        .filter(|s| !hwhash::is_placeholder_serial(s))
        .unwrap_or_default();
    let serial = csv_value("the serial number", &serial)?;
    let mut header = "Device Serial Number,Windows Product ID,Hardware Hash".to_string();
    let mut row = format!("{serial},,{hash}");
    if args.group_tag.is_some() || args.assigned_user.is_some() {
        header.push_str(",Group Tag");
        row.push(',');
        row.push_str(&csv_value(
            "--group-tag",
            args.group_tag.as_deref().unwrap_or(""),
        )?);
    }
    if let Some(user) = &args.assigned_user {
        header.push_str(",Assigned User");
        row.push(',');
        row.push_str(&csv_value("--assigned-user", user)?);
    }
    let text = format!("{header}\r\n{row}\r\n");
    match &args.csv {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
