//! `hangar csv check|merge`: Autopilot import files.

use crate::progress;
use clap::{Args, Subcommand};
use hangar_core::csv::{
    check_file_with, merge_files_with, CheckObserver, CheckOptions, FileReport, Finding,
    MergeOptions, Summary, INTUNE_MAX_ROWS,
};
use indicatif::ProgressBar;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CsvCommand {
    /// Check import files: every problem with its file, line and column and what to do about it,
    /// then a summary. Exit 1 when any error is found (warnings do not fail).
    Check(CheckArgs),
    /// Merge import files into Intune-ready files OUT-1.csv, OUT-2.csv, ...: ANSI, no quotes, at
    /// most --max-rows rows each, one row per device (the most recently collected hash wins),
    /// rows with errors left out and listed with the reason.
    Merge(MergeArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// Import CSV files (UTF-8, UTF-16 with BOM or ANSI; any of the Autopilot column layouts).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Also apply Intune's rules: exact header, at most 500 rows, no quotation marks, ANSI only.
    #[arg(long)]
    intune: bool,
    /// Print one JSON document (files, findings, summary) instead of readable lines.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct MergeArgs {
    /// Import CSV files to merge, in order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Output name: writes OUT-1.csv, OUT-2.csv, ... (a trailing .csv is dropped first).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Rows per output file; Intune takes at most 500.
    #[arg(long, default_value_t = INTUNE_MAX_ROWS, value_parser = clap::value_parser!(u64).range(1..))]
    max_rows: u64,
    /// Print the merge report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: CsvCommand) -> anyhow::Result<ExitCode> {
    match command {
        CsvCommand::Check(args) => check(args),
        CsvCommand::Merge(args) => merge(args),
    }
}

fn total_size(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

/// Moves the bar as a file is read.
struct Progress<'a> {
    bar: &'a ProgressBar,
    base: u64,
}

impl CheckObserver for Progress<'_> {
    fn progress(&mut self, bytes: u64) {
        self.bar.set_position(self.base + bytes);
    }
}

#[derive(serde::Serialize)]
struct CheckDocument<'a> {
    intune: bool,
    files: &'a [FileReport],
    summary: &'a Summary,
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let options = CheckOptions {
        intune: args.intune,
    };
    let bar = progress::bar(total_size(&args.files), "checking");
    let mut reports = Vec::with_capacity(args.files.len());
    let mut total = Summary::default();
    let mut base = 0;
    for path in &args.files {
        let report = check_file_with(path, &options, &mut Progress { bar: &bar, base });
        base += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        bar.set_position(base);
        if !args.json {
            bar.suspend(|| print_file(&report));
        }
        total.add(&report.summary);
        reports.push(report);
    }
    bar.finish_and_clear();
    if args.json {
        let document = CheckDocument {
            intune: args.intune,
            files: &reports,
            summary: &total,
        };
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else if reports.len() > 1 {
        println!("total: {} files, {}", total.files, counts(&total));
    }
    Ok(if total.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_file(report: &FileReport) {
    for finding in &report.findings {
        println!("{finding}");
    }
    let encoding = report
        .encoding
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    println!("{}: {}{encoding}", report.file, counts(&report.summary));
}

fn counts(s: &Summary) -> String {
    let plural = |n: u64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let mut text = format!(
        "{}, {} valid, {}, {}",
        plural(s.rows, "row"),
        s.valid_rows,
        plural(s.errors, "error"),
        plural(s.warnings, "warning")
    );
    if s.infos > 0 {
        text.push_str(&format!(", {} info", s.infos));
    }
    if !s.by_code.is_empty() {
        let codes: Vec<String> = s
            .by_code
            .iter()
            .map(|(code, n)| format!("{code} {n}"))
            .collect();
        text.push_str(&format!(" [{}]", codes.join(", ")));
    }
    text
}

fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let options = MergeOptions {
        max_rows: args.max_rows,
    };
    let bar = progress::bar(total_size(&args.files), "merging");
    let result = merge_files_with(&args.files, &args.output, &options, &mut |bytes| {
        bar.set_position(bytes)
    });
    bar.finish_and_clear();
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for output in &report.outputs {
            println!("wrote {} ({} rows)", output.path.display(), output.rows);
        }
        for dropped in &report.dropped {
            println!("dropped {dropped}");
        }
        for note in &report.notes {
            print_note(note);
        }
        println!(
            "merged {} files: {} rows read, {} written to {} files, {} dropped",
            args.files.len(),
            report.rows_read,
            report.rows_written,
            report.outputs.len(),
            report.dropped.iter().filter(|d| d.line.is_some()).count()
        );
        if args.max_rows > INTUNE_MAX_ROWS {
            println!("note: Intune imports at most {INTUNE_MAX_ROWS} rows per file; use --max-rows {INTUNE_MAX_ROWS} for files to upload there");
        }
    }
    if report.outputs.is_empty() {
        eprintln!("error: nothing to write: no row passed the checks");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A warning about a kept row or an input's header.
fn print_note(note: &Finding) {
    println!("note {note}");
}
