//! `hangar hash decode|validate|build|collect`.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hwhash::{Builder, Level, Report};
use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum HashCommand {
    /// Show every field of a hash: OS & tool, system, board, CPU/RAM, disks, network, displays, TPM & ids.
    Decode(Input),
    /// Check a hash and list what is wrong (error / critical / info); exit 1 when any error.
    Validate(Input),
    /// Build a valid synthetic hash (for labs, demos and tests).
    Build(BuildArgs),
    /// Collect this Linux machine's hash as an import row, like Get-WindowsAutopilotInfo.
    Collect(super::collect::CollectArgs),
}

/// Where hashes come from: one argument, standard input, or every row of an import CSV.
#[derive(Args)]
pub struct Input {
    /// The hash as base64 text, or `-` to read it from standard input.
    #[arg(required_unless_present = "csv", conflicts_with = "csv")]
    hash: Option<String>,
    /// Take the hashes from every row of this import CSV file.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Print JSON instead of a readable report.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct BuildArgs {
    /// SMBIOS system serial number.
    #[arg(long)]
    serial: String,
    /// SMBIOS system manufacturer.
    #[arg(long)]
    manufacturer: String,
    /// SMBIOS system product name (the model).
    #[arg(long)]
    model: String,
    /// SMBIOS UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`); derived from the identity when omitted.
    #[arg(long)]
    uuid: Option<String>,
    /// Include a TPM 2.0 (records 13 and 25) with an endorsement key derived from the identity.
    #[arg(long)]
    tpm: bool,
    /// OEM product key id (13 digits).
    #[arg(long, value_name = "PKID")]
    product_key_id: Option<String>,
    /// Collection time (RFC 3339, e.g. 2026-01-15T09:30:00Z).
    #[arg(long, value_name = "TIME")]
    collected_at: Option<String>,
    /// Build this many devices, numbering the serials SERIAL-0001, SERIAL-0002, ...
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// Print an import CSV (header and one row per device) instead of bare hashes.
    #[arg(long)]
    csv: bool,
    /// Group tag column for --csv.
    #[arg(long, requires = "csv")]
    group_tag: Option<String>,
}

pub fn run(command: HashCommand) -> anyhow::Result<ExitCode> {
    match command {
        HashCommand::Decode(input) => decode(input),
        HashCommand::Validate(input) => validate(input),
        HashCommand::Build(args) => build(args),
        HashCommand::Collect(args) => super::collect::run(args),
    }
}

/// A hash to work on and where it came from (for messages).
struct Source {
    label: String,
    text: String,
}

fn read_input(input: &Input) -> anyhow::Result<Vec<Source>> {
    if let Some(path) = &input.csv {
        return hashes_in_csv(path);
    }
    let text = match input.hash.as_deref() {
        Some("-") | None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the hash from standard input")?;
            text
        }
        Some(text) => text.to_string(),
    };
    if text.trim().is_empty() {
        bail!("no hash given: pass the base64 text, `-` for standard input, or --csv FILE");
    }
    Ok(vec![Source {
        label: "hash".to_string(),
        text,
    }])
}

/// Every row's hash from an import CSV (any encoding the CSV dialect reads), labelled `file:line`.
fn hashes_in_csv(path: &std::path::Path) -> anyhow::Result<Vec<Source>> {
    use hangar_core::csv::{ReadOptions, Reader};
    let reader = Reader::open(path, ReadOptions::default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(problem) = reader.header_findings().first() {
        bail!("{}: {}", path.display(), problem.message);
    }
    let mut sources = Vec::new();
    for row in reader {
        let row = row.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if row.blank {
            continue;
        }
        sources.push(Source {
            label: format!("{}:{}", path.display(), row.line),
            text: row.hash_text,
        });
    }
    if sources.is_empty() {
        bail!("{}: no rows with a hash", path.display());
    }
    Ok(sources)
}

fn decode(input: Input) -> anyhow::Result<ExitCode> {
    let sources = read_input(&input)?;
    let mut failed = false;
    let mut reports = Vec::new();
    for source in &sources {
        match hwhash::inspect(&source.text) {
            Ok(inspection) => {
                let report = Report::of_inspection(&inspection);
                for fault in &inspection.faults {
                    eprintln!("{}: warning: {fault}", source.label);
                }
                failed |= !inspection.faults.is_empty();
                reports.push((source, Some(report)));
            }
            Err(e) => {
                eprintln!("{}: error: {e}", source.label);
                failed = true;
                reports.push((source, None));
            }
        }
    }
    if input.json {
        let docs: Vec<serde_json::Value> = reports
            .iter()
            .map(|(_, r)| serde_json::to_value(r).unwrap_or(serde_json::Value::Null))
            .collect();
        let doc = if input.csv.is_some() {
            serde_json::Value::Array(docs)
        } else {
            docs.into_iter().next().unwrap_or_default()
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for (i, (source, report)) in reports.iter().enumerate() {
            if sources.len() > 1 {
                if i > 0 {
                    println!();
                }
                println!("== {} ==", source.label);
            }
            if let Some(report) = report {
                print!("{}", render(report));
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn validate(input: Input) -> anyhow::Result<ExitCode> {
    let sources = read_input(&input)?;
    let mut any_error = false;
    let mut docs = Vec::new();
    for source in &sources {
        let validation = hwhash::validate(&source.text);
        any_error |= validation.has_errors();
        if input.json {
            docs.push(serde_json::json!({
                "source": source.label,
                "valid": !validation.has_errors(),
                "findings": validation.findings,
            }));
            continue;
        }
        if validation.findings.is_empty() {
            println!("{}: ok", source.label);
        }
        for f in &validation.findings {
            println!(
                "{}: {}: {} [{}] {}",
                source.label, f.level, f.field, f.code, f.message
            );
        }
        let count = |level| {
            validation
                .findings
                .iter()
                .filter(|f| f.level == level)
                .count()
        };
        if !validation.findings.is_empty() {
            println!(
                "{}: {} error(s), {} critical, {} info",
                source.label,
                count(Level::Error),
                count(Level::Critical),
                count(Level::Info)
            );
        }
    }
    if input.json {
        let doc = if input.csv.is_some() {
            serde_json::Value::Array(docs)
        } else {
            docs.into_iter().next().unwrap_or_default()
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(if any_error {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn build(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let uuid = match &args.uuid {
        Some(text) => Some(hwhash::parse_guid(text).with_context(|| {
            format!("--uuid {text:?} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
        })?),
        None => None,
    };
    let collected_at = match &args.collected_at {
        Some(text) => Some(
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .with_context(|| format!("--collected-at {text:?} is not an RFC 3339 time such as 2026-01-15T09:30:00Z"))?,
        ),
        None => None,
    };
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    if args.count > 1 && args.product_key_id.is_some() {
        bail!("--product-key-id names one device; leave it out with --count (a PKID identifies a single device)");
    }
    if args.count > 1 && uuid.is_some() {
        bail!("--uuid names one device; leave it out with --count so each device gets its own");
    }
    if args.csv {
        let mut header = "Device Serial Number,Windows Product ID,Hardware Hash".to_string();
        if args.group_tag.is_some() {
            header.push_str(",Group Tag");
        }
        print!("{header}\r\n");
    }
    for n in 1..=args.count {
        let serial = if args.count == 1 {
            args.serial.clone()
        } else {
            format!("{}-{n:04}", args.serial)
        };
        let mut builder = Builder::new()
            .serial(&serial)
            .manufacturer(&args.manufacturer)
            .model(&args.model);
        if let Some(uuid) = uuid {
            builder = builder.uuid(uuid);
        }
        if args.tpm {
            builder = builder.tpm();
        }
        if let Some(pkid) = &args.product_key_id {
            builder = builder.product_key_id(pkid);
        }
        if let Some(at) = collected_at {
            builder = builder.collected_at(at);
        }
        let text = builder.build().to_base64()?;
        if args.csv {
            let mut row = format!("{serial},,{text}");
            if let Some(tag) = &args.group_tag {
                let _ = write!(row, ",{tag}");
            }
            print!("{row}\r\n");
        } else {
            println!("{text}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The readable report, in the sections people look for.
fn render(r: &Report) -> String {
    let mut out = String::new();
    let mut section = |title: &str, rows: Vec<(&str, Option<String>)>| {
        let rows: Vec<(&str, String)> = rows
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(out, "{title}");
        for (k, v) in rows {
            let _ = writeln!(out, "  {k:<26} {v}");
        }
    };
    let s = |v: &Option<String>| v.clone();
    let d = |v: Option<&dyn std::fmt::Display>| v.map(|v| v.to_string());
    section(
        "OS & tool",
        vec![
            ("OS build", s(&r.os_build)),
            ("OS type", d(r.os_type.as_ref().map(|v| v as _))),
            (
                "OS architecture",
                d(r.os_cpu_architecture.as_ref().map(|v| v as _)),
            ),
            ("Collected (UTC)", s(&r.os_system_time)),
            ("Collected (local)", s(&r.os_local_time)),
            ("Tool build", s(&r.tool_build)),
            ("Tool version", d(r.tool_version.as_ref().map(|v| v as _))),
        ],
    );
    section(
        "System",
        vec![
            ("Manufacturer", s(&r.smbios_system_manufacturer)),
            ("Product name (model)", s(&r.smbios_system_product_name)),
            ("Serial number", s(&r.smbios_system_serial_number)),
            ("SKU", s(&r.smbios_sku_number)),
            ("Family", s(&r.smbios_system_family)),
            ("Version", s(&r.smbios_system_version)),
            ("UUID", s(&r.smbios_uuid)),
            ("Firmware vendor", s(&r.smbios_firmware_vendor)),
            ("Chassis", d(r.chassis_type.as_ref().map(|v| v as _))),
            (
                "Power platform role",
                d(r.power_platform_role.as_ref().map(|v| v as _)),
            ),
            ("Digitizer", d(r.digitizer.as_ref().map(|v| v as _))),
            ("Max touches", d(r.max_touches.as_ref().map(|v| v as _))),
            ("Locale", s(&r.locale)),
        ],
    );
    section(
        "Board",
        vec![
            ("Manufacturer", s(&r.smbios_board_manufacturer)),
            ("Product", s(&r.smbios_board_product)),
            ("Version", s(&r.smbios_board_version)),
        ],
    );
    let classes = if r.processor_core_classes.is_empty() {
        None
    } else {
        Some(
            r.processor_core_classes
                .iter()
                .map(|c| {
                    format!(
                        "class {}: {} cores / {} threads",
                        c.efficiency_class, c.cores, c.logical_processors
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        )
    };
    section(
        "CPU & RAM",
        vec![
            (
                "Processor",
                r.processor_model.as_ref().map(|m| m.trim().to_string()),
            ),
            ("Manufacturer", s(&r.processor_manufacturer)),
            (
                "Architecture",
                d(r.processor_architecture.as_ref().map(|v| v as _)),
            ),
            (
                "Packages / cores / threads",
                r.processor_cores.map(|c| {
                    format!(
                        "{} / {} / {}",
                        r.processor_packages.unwrap_or(0),
                        c,
                        r.processor_threads.unwrap_or(0)
                    )
                }),
            ),
            ("Core classes", classes),
            ("RAM", r.total_physical_ram.map(|g| format!("{g} GB"))),
            (
                "RAM max / slots",
                r.smbios_ram_maximum_capacity
                    .map(|m| format!("{m} GB / {} slots", r.smbios_ram_slots.unwrap_or(0))),
            ),
            (
                "RAM error correction",
                d(r.smbios_ram_error_correction.as_ref().map(|v| v as _)),
            ),
        ],
    );
    let disks = r
        .disks
        .iter()
        .enumerate()
        .map(|(i, disk)| {
            (
                i,
                Some(format!(
                    "{} GB, {}, {}{}",
                    disk.capacity_gb,
                    disk.bus_type,
                    disk.media,
                    if disk.trim { ", TRIM" } else { "" }
                )),
            )
        })
        .collect::<Vec<_>>();
    let mut rows: Vec<(&str, Option<String>)> =
        disks.into_iter().map(|(_, v)| ("Disk", v)).collect();
    rows.extend(
        r.disk_serial_numbers
            .iter()
            .map(|sn| ("Serial|product|vendor", Some(sn.trim_end().to_string()))),
    );
    section("Disks", rows);
    section(
        "Network",
        r.network_adapters
            .iter()
            .map(|n| {
                (
                    "Adapter",
                    Some(format!(
                        "{}  {}  ({})",
                        n.mac_address, n.physical_medium, n.enumerator
                    )),
                )
            })
            .collect(),
    );
    let mut rows: Vec<(&str, Option<String>)> = r
        .displays
        .iter()
        .map(|d| {
            let mut text = String::new();
            if let (Some(h), Some(v)) = (d.horizontal_resolution, d.vertical_resolution) {
                let _ = write!(text, "{h}x{v}");
            }
            if let (Some(w), Some(h)) = (d.width_mm, d.height_mm) {
                let _ = write!(text, ", {w}x{h} mm");
            }
            if let Some(t) = d.output_technology {
                let _ = write!(text, ", {t}");
            }
            ("Display", Some(text))
        })
        .collect();
    rows.extend(r.gpus.iter().map(|g| {
        let name = [g.vendor.as_deref(), g.name.as_deref()]
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let vram = g
            .dedicated_video_memory
            .map(|b| format!(", {} MB video memory", b / (1024 * 1024)))
            .unwrap_or_default();
        ("GPU", Some(format!("{name}{vram}")))
    }));
    section("Displays & GPUs", rows);
    section(
        "TPM & ids",
        vec![
            ("TPM", s(&r.tpm_version)),
            ("TPM EK (SHA-256)", s(&r.tpm_ek_pub_hash)),
            ("Offline device id", s(&r.offline_device_id)),
            (
                "Offline id method",
                d(r.offline_device_id_method.as_ref().map(|v| v as _)),
            ),
            ("Product key id", s(&r.product_key_id)),
            ("Product key part number", s(&r.product_key_pk_pn)),
            (
                "Checksum",
                Some(if r.checksum.valid {
                    "valid".to_string()
                } else {
                    "INVALID".to_string()
                }),
            ),
        ],
    );
    section(
        "Unknown records",
        r.unknown_records
            .iter()
            .map(|u| ("Type", Some(format!("{}: {}", u.kind, u.hex))))
            .collect(),
    );
    out
}
