//! `hangar import FILE...`: check import CSVs locally, upload them in chunks through Graph's
//! `import` action, poll until every row is final, print a per-row table.

use super::{print_json, table, Connection, Local, Remote};
use crate::progress;
use anyhow::{bail, Context};
use clap::Args;
use hangar_client::{Client, ImportedDevice, NewImportedDevice, MAX_IMPORT_ROWS};
use hangar_core::csv::{check_file, CheckOptions, FileReport, ReadOptions, Reader, Row, Severity};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ImportArgs {
    /// Import CSV files (Get-WindowsAutopilotInfo output, the Intune template, the partner form).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Set this group tag on every row (replacing the file's Group Tag column).
    #[arg(long, value_name = "TAG")]
    group_tag: Option<String>,
    /// Upload and return without waiting for the rows to be processed.
    #[arg(long)]
    no_wait: bool,
    /// Run a sync once the import is done.
    #[arg(long, conflicts_with = "no_wait")]
    sync: bool,
    /// Upload the valid rows of files that have errors (the rest are reported and skipped).
    #[arg(long)]
    skip_invalid: bool,
    /// Devices per import call (at most 1000, Graph's limit).
    #[arg(long, default_value_t = MAX_IMPORT_ROWS as u64, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=MAX_IMPORT_ROWS as u64))]
    batch_size: u64,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    timeout: u64,
    #[command(flatten)]
    local: Local,
}

/// One uploaded row and what became of it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RowResult {
    file: String,
    line: u64,
    serial_number: String,
    imported_device_id: String,
    import_id: String,
    status: String,
    error_code: i32,
    error_name: String,
    device_registration_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Skipped {
    file: String,
    line: Option<u64>,
    message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    rows: Vec<RowResult>,
    skipped: Vec<Skipped>,
    complete: usize,
    failed: usize,
    pending: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync: Option<serde_json::Value>,
}

struct Pending {
    file: String,
    line: u64,
    device: NewImportedDevice,
}

pub fn run(args: ImportArgs, connection: &Connection) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(connection, args.local);
    check_distinct(&args.files)?;
    // 1. Check every file before anything is uploaded.
    let reports: Vec<FileReport> = args
        .files
        .iter()
        .map(|f| check_file(f, &CheckOptions::default()))
        .collect();
    let mut refused = false;
    let mut skipped = Vec::new();
    for report in &reports {
        for f in &report.findings {
            match f.severity {
                Severity::Error => {
                    eprintln!("{f}");
                    if f.line.is_some() && args.skip_invalid {
                        skipped.push(Skipped {
                            file: f.file.clone(),
                            line: f.line,
                            message: f.message.clone(),
                        });
                    }
                }
                Severity::Warning => eprintln!("{f}"),
                Severity::Info => {}
            }
        }
        if report.has_errors() && !args.skip_invalid {
            refused = true;
        }
    }
    if refused {
        eprintln!(
            "nothing was uploaded: fix the errors above, or pass --skip-invalid to upload only the valid rows"
        );
        return Ok(ExitCode::FAILURE);
    }

    // 2. Read the rows that passed.
    let mut pending = Vec::new();
    for (path, report) in args.files.iter().zip(&reports) {
        let file_level_error = report
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error && f.line.is_none());
        if file_level_error {
            eprintln!("skipping {}: the file cannot be imported", path.display());
            skipped.push(Skipped {
                file: report.file.clone(),
                line: None,
                message: "the file cannot be imported".into(),
            });
            continue;
        }
        let bad_lines: BTreeSet<u64> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .filter_map(|f| f.line)
            .collect();
        let mut reader = Reader::open(path, ReadOptions::default())
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut row = Row::default();
        while reader
            .read_row(&mut row)
            .with_context(|| format!("cannot read {}", path.display()))?
        {
            if row.blank || bad_lines.contains(&row.line) {
                continue;
            }
            let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
            pending.push(Pending {
                file: report.file.clone(),
                line: row.line,
                device: NewImportedDevice {
                    serial_number: row.serial.clone(),
                    product_key: some(&row.product_id),
                    hardware_identifier: row.hash_text.clone(),
                    group_tag: args
                        .group_tag
                        .clone()
                        .or_else(|| row.group_tag.clone())
                        .filter(|t| !t.is_empty()),
                    assigned_user_principal_name: row.assigned_user.clone(),
                },
            });
        }
    }
    if !skipped.is_empty() {
        eprintln!(
            "skipping {} row(s) with errors (--skip-invalid)",
            skipped.iter().filter(|s| s.line.is_some()).count()
        );
    }
    if pending.is_empty() {
        eprintln!("no rows to import");
        return Ok(if skipped.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }

    // 3. Upload in chunks.
    let client = remote.client()?;
    let total = pending.len();
    let upload_bar = progress::bar(total as u64, "uploading");
    let mut uploaded: Vec<(Pending, ImportedDevice)> = Vec::with_capacity(total);
    let chunk_size = usize::try_from(args.batch_size).unwrap_or(MAX_IMPORT_ROWS);
    let mut rest = pending.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<Pending> = rest.by_ref().take(chunk_size).collect();
        let devices: Vec<NewImportedDevice> = chunk.iter().map(|p| p.device.clone()).collect();
        let answers = match client.import(&devices) {
            Ok(a) => a,
            Err(e) => {
                upload_bar.abandon();
                if !uploaded.is_empty() {
                    eprintln!(
                        "{} of {total} rows were uploaded before the error; see `hangar imports list`",
                        uploaded.len()
                    );
                }
                return Err(e).context("the import call failed");
            }
        };
        upload_bar.inc(chunk.len() as u64);
        uploaded.extend(chunk.into_iter().zip(answers));
    }
    upload_bar.finish_and_clear();

    // 4. Poll until every row is final.
    if !args.no_wait {
        poll(&client, &mut uploaded, Duration::from_secs(args.timeout))?;
    }

    // 5. Report.
    let rows: Vec<RowResult> = uploaded
        .iter()
        .map(|(p, d)| RowResult {
            file: p.file.clone(),
            line: p.line,
            serial_number: p.device.serial_number.clone(),
            imported_device_id: d.id.clone(),
            import_id: d.import_id.clone().unwrap_or_default(),
            status: d.state.device_import_status.clone(),
            error_code: d.state.device_error_code,
            error_name: d.state.device_error_name.clone().unwrap_or_default(),
            device_registration_id: d.state.device_registration_id.clone().unwrap_or_default(),
        })
        .collect();
    let complete = uploaded
        .iter()
        .filter(|(_, d)| d.state.is_complete())
        .count();
    let pending_n = uploaded.iter().filter(|(_, d)| !d.state.is_final()).count();
    let failed = total - complete - pending_n;
    let mut report = Report {
        rows,
        skipped,
        complete,
        failed,
        pending: pending_n,
        sync: None,
    };
    let mut code = if failed > 0 || (pending_n > 0 && !args.no_wait) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };

    if !remote.json {
        print_rows(&report.rows, args.no_wait);
        if args.no_wait {
            let ids: BTreeSet<&str> = report.rows.iter().map(|r| r.import_id.as_str()).collect();
            eprintln!(
                "uploaded {total} row(s) in {} import(s); follow them with `hangar imports list`",
                ids.len()
            );
        } else {
            eprintln!(
                "{complete} complete, {failed} failed{}",
                if pending_n > 0 {
                    format!(", {pending_n} still processing after {} s", args.timeout)
                } else {
                    String::new()
                }
            );
        }
    }

    // 6. Sync if asked.
    if args.sync {
        let (ok, value) = super::sync::trigger(&client, !remote.json)?;
        report.sync = Some(value);
        if !ok {
            code = ExitCode::FAILURE;
        }
    }
    if remote.json {
        print_json(&report)?;
    }
    Ok(code)
}

fn poll(
    client: &Client,
    uploaded: &mut [(Pending, ImportedDevice)],
    timeout: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let total = uploaded.len() as u64;
    let bar = progress::bar(total, "processing");
    let mut interval = Duration::from_millis(200);
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, (_, d)) in uploaded.iter().enumerate() {
        index.insert(d.id.clone(), i);
    }
    loop {
        let open: BTreeSet<String> = uploaded
            .iter()
            .filter(|(_, d)| !d.state.is_final())
            .filter_map(|(_, d)| d.import_id.clone())
            .collect();
        bar.set_position(uploaded.iter().filter(|(_, d)| d.state.is_final()).count() as u64);
        if open.is_empty() && uploaded.iter().all(|(_, d)| d.state.is_final()) {
            break;
        }
        if start.elapsed() >= timeout {
            bar.abandon();
            return Ok(());
        }
        std::thread::sleep(interval);
        interval = (interval * 3 / 2).min(Duration::from_secs(2));
        let fresh = if open.is_empty() {
            // Rows without an import id: list everything.
            client.list_imported(None)?
        } else {
            let mut rows = Vec::new();
            for id in &open {
                rows.extend(client.list_imported(Some(id))?);
            }
            rows
        };
        for row in fresh {
            if let Some(&i) = index.get(&row.id) {
                uploaded[i].1 = row;
            }
        }
    }
    bar.finish_and_clear();
    Ok(())
}

fn print_rows(rows: &[RowResult], no_wait: bool) {
    let header = [
        "ROW",
        "SERIAL",
        "STATUS",
        "CODE",
        "NAME",
        if no_wait { "IMPORTED ID" } else { "DEVICE ID" },
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                format!("{}:{}", short_file(&r.file), r.line),
                r.serial_number.clone(),
                r.status.clone(),
                if r.error_code == 0 {
                    String::new()
                } else {
                    r.error_code.to_string()
                },
                if r.error_name.is_empty() || r.error_name == "None" {
                    String::new()
                } else {
                    r.error_name.clone()
                },
                if no_wait {
                    r.imported_device_id.clone()
                } else {
                    r.device_registration_id.clone()
                },
            ]
        })
        .collect();
    print!("{}", table(&header, &cells));
}

/// The file name without its directories, for the table.
fn short_file(path: &str) -> &str {
    std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}

/// Refuses a file list that names the same file twice (its devices would be 806 on the second).
fn check_distinct(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut seen = BTreeSet::new();
    for f in files {
        let key = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        if !seen.insert(key) {
            bail!("{} is named twice", f.display());
        }
    }
    Ok(())
}
