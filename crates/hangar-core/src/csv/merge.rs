//! Many import files into import-ready ones.
//!
//! Two passes keep memory flat: the first checks every row and resolves duplicates with a few
//! words per device (file, line, collection time, identity-key fingerprints); the second re-reads
//! the inputs and copies the rows that survived into `OUT-1.csv`, `OUT-2.csv`, ... Outputs are in
//! Intune's exact format: ANSI (Windows-1252), CRLF, no quotation marks, the header
//! `Device Serial Number,Windows Product ID,Hardware Hash` plus `,Group Tag` and `,Assigned User`
//! only when some row has them.

use super::check::{fits_windows_1252, KeyPrints, PrintMap, RowChecker};
use super::reader::{ReadError, ReadOptions, Reader, Row};
use super::{CheckOptions, Code, Finding, Severity, INTUNE_HEADER, INTUNE_MAX_ROWS};
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// How to merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeOptions {
    /// Rows per output file (Intune takes at most 500).
    pub max_rows: u64,
}

impl Default for MergeOptions {
    fn default() -> MergeOptions {
        MergeOptions {
            max_rows: INTUNE_MAX_ROWS,
        }
    }
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeOutput {
    pub path: PathBuf,
    pub rows: u64,
}

/// A row (or a whole input, with `line` `None`) left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dropped {
    pub file: String,
    pub line: Option<u64>,
    /// The main reason (the first error of the row, or `duplicate-device`).
    pub code: Code,
    pub reason: String,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}: {}", self.file, self.code, self.reason),
            None => write!(f, "{}: {}: {}", self.file, self.code, self.reason),
        }
    }
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeReport {
    pub outputs: Vec<MergeOutput>,
    pub dropped: Vec<Dropped>,
    /// Warnings about rows that were kept, and about inputs' headers.
    pub notes: Vec<Finding>,
    pub rows_read: u64,
    pub rows_written: u64,
}

/// Why a merge could not be done.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{file}: {source}")]
    Read { file: String, source: ReadError },
    #[error(
        "{file}: the header has no usable Device Serial Number and Hardware Hash columns: {detail}"
    )]
    Header { file: String, detail: String },
    #[error("{file} changed while it was being merged (line {line} is no longer where it was); run the merge again")]
    Changed { file: String, line: u64 },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("the number of rows per output file must be at least 1")]
    NoRowsPerFile,
}

/// `OUT` for `OUT.csv` (any case), otherwise `out` unchanged: outputs are `OUT-1.csv`, `OUT-2.csv`, ...
pub fn output_stem(out: &Path) -> PathBuf {
    match out.extension() {
        Some(ext) if ext.eq_ignore_ascii_case("csv") => out.with_extension(""),
        _ => out.to_path_buf(),
    }
}

/// Merges `inputs` into `OUT-1.csv`, `OUT-2.csv`, ... next to `out` (see [`output_stem`]).
pub fn merge_files(
    inputs: &[PathBuf],
    out: &Path,
    options: &MergeOptions,
) -> Result<MergeReport, MergeError> {
    merge_files_with(inputs, out, options, &mut |_| {})
}

/// One device row that passed every check.
struct Kept {
    file: u32,
    /// Ordinal of the row in its file (0-based, in reading order).
    ordinal: u64,
    line: u64,
    collected: Option<OffsetDateTime>,
    group_tag: bool,
    assigned_user: bool,
}

/// [`merge_files`], calling `progress` with the input bytes read so far.
pub fn merge_files_with(
    inputs: &[PathBuf],
    out: &Path,
    options: &MergeOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<MergeReport, MergeError> {
    if options.max_rows == 0 {
        return Err(MergeError::NoRowsPerFile);
    }
    let mut report = MergeReport::default();
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();

    // Pass 1: check, and group rows into devices (union-find over identity-key fingerprints).
    let mut kept: Vec<Kept> = Vec::new();
    let mut parent: Vec<u32> = Vec::new();
    let mut best: Vec<u32> = Vec::new();
    let mut by_key: PrintMap<u32> = PrintMap::default();
    let mut bytes_before = 0u64;
    for (file_index, (path, name)) in inputs.iter().zip(&names).enumerate() {
        let read_error = |source| MergeError::Read {
            file: name.clone(),
            source,
        };
        let mut reader = match Reader::open(path, ReadOptions::default()) {
            Ok(reader) => reader,
            Err(ReadError::Empty) => {
                report.dropped.push(Dropped {
                    file: name.clone(),
                    line: None,
                    code: Code::EmptyFile,
                    reason: "the file is empty".to_string(),
                });
                continue;
            }
            Err(e) => return Err(read_error(e)),
        };
        if !reader.header().is_usable() {
            let detail: Vec<String> = reader
                .header_findings()
                .iter()
                .map(|f| f.message.clone())
                .collect();
            return Err(MergeError::Header {
                file: name.clone(),
                detail: detail.join(" "),
            });
        }
        report
            .notes
            .extend(reader.header_findings().iter().map(|f| Finding {
                severity: Severity::Warning,
                message: format!("{} (the column is left out of the merge)", f.message),
                ..f.clone()
            }));
        let mut checker = RowChecker::new(name, CheckOptions::default());
        checker.dedupe = false;
        let mut row = Row::default();
        let mut found = Vec::new();
        let mut ordinal = 0u64;
        while reader.read_row(&mut row).map_err(read_error)? {
            let this = ordinal;
            ordinal += 1;
            report.rows_read += 1;
            if report.rows_read & 0xFF == 0 {
                progress(bytes_before + reader.bytes_read());
            }
            found.clear();
            checker.check(&row, &mut found);
            let problems: Vec<&Finding> = found
                .iter()
                .filter(|f| f.severity == Severity::Error || f.code == Code::NotAnsi)
                .collect();
            if let Some(first) = problems.first() {
                let reason: Vec<String> = problems
                    .iter()
                    .map(|f| match f.column {
                        Some(column) => format!("{column}: {}", f.message),
                        None => f.message.clone(),
                    })
                    .collect();
                report.dropped.push(Dropped {
                    file: name.clone(),
                    line: Some(row.line),
                    code: first.code,
                    reason: reason.join(" "),
                });
                continue;
            }
            report
                .notes
                .extend(found.drain(..).filter(|f| f.severity == Severity::Warning));
            let Ok(hash) = &row.hash else { continue };
            let id = u32::try_from(kept.len()).unwrap_or(u32::MAX);
            kept.push(Kept {
                file: u32::try_from(file_index).unwrap_or(u32::MAX),
                ordinal: this,
                line: row.line,
                collected: hash.collected_at(),
                group_tag: row.group_tag.is_some(),
                assigned_user: row.assigned_user.is_some(),
            });
            parent.push(id);
            best.push(id);
            for print in KeyPrints::of(hash).0.into_iter().flatten() {
                match by_key.get(&print) {
                    Some(&other) => union(&mut parent, &mut best, &kept, id, other),
                    None => {
                        by_key.insert(print, id);
                    }
                }
            }
        }
        bytes_before += reader.bytes_read();
        progress(bytes_before);
    }
    drop(by_key);

    // Which rows win, and why the others lose.
    let mut keep = vec![false; kept.len()];
    for id in 0..kept.len() {
        let winner = best[find(&mut parent, id as u32) as usize] as usize;
        if winner == id {
            keep[id] = true;
            continue;
        }
        let (this, other) = (&kept[id], &kept[winner]);
        let when = |t: Option<OffsetDateTime>| {
            t.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "an unknown time".to_string())
        };
        let why = if this.collected == other.collected {
            "both hashes were collected at the same time, and the first one is kept".to_string()
        } else {
            format!(
                "that hash was collected later ({}; this one {})",
                when(other.collected),
                when(this.collected)
            )
        };
        report.dropped.push(Dropped {
            file: names[this.file as usize].clone(),
            line: Some(this.line),
            code: Code::DuplicateDevice,
            reason: format!(
                "the same device as {}:{} (ZtdDeviceDuplicated), which is kept: {why}.",
                names[other.file as usize], other.line
            ),
        });
    }
    report
        .dropped
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let assigned_user = kept
        .iter()
        .zip(&keep)
        .any(|(k, &keep)| keep && k.assigned_user);
    let group_tag = assigned_user || kept.iter().zip(&keep).any(|(k, &keep)| keep && k.group_tag);
    let columns = 3 + usize::from(group_tag) + usize::from(assigned_user);

    // Pass 2: copy the winners.
    let stem = output_stem(out);
    let mut writer = Outputs {
        stem,
        max_rows: options.max_rows,
        columns,
        current: None,
        outputs: Vec::new(),
    };
    let mut next = 0usize;
    for (file_index, (path, name)) in inputs.iter().zip(&names).enumerate() {
        let mine: Vec<&Kept> = kept
            .iter()
            .zip(&keep)
            .filter(|(k, &keep)| keep && k.file as usize == file_index)
            .map(|(k, _)| k)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let read_error = |source| MergeError::Read {
            file: name.clone(),
            source,
        };
        let mut reader = Reader::open(path, ReadOptions::default()).map_err(read_error)?;
        let mut row = Row::default();
        let mut ordinal = 0u64;
        let mut wanted = mine.into_iter().peekable();
        while let Some(k) = wanted.peek() {
            if !reader.read_fields(&mut row).map_err(read_error)? {
                return Err(MergeError::Changed {
                    file: name.clone(),
                    line: k.line,
                });
            }
            let this = ordinal;
            ordinal += 1;
            if this != k.ordinal {
                continue;
            }
            if row.line != k.line {
                return Err(MergeError::Changed {
                    file: name.clone(),
                    line: k.line,
                });
            }
            writer.write(&row)?;
            next += 1;
            wanted.next();
        }
    }
    writer.finish()?;
    report.rows_written = next as u64;
    report.outputs = writer.outputs;
    Ok(report)
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let grand = parent[parent[x as usize] as usize];
        parent[x as usize] = grand;
        x = grand;
    }
    x
}

fn union(parent: &mut [u32], best: &mut [u32], kept: &[Kept], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra == rb {
        return;
    }
    // Keep the lower root so that the group's identity does not depend on arrival order.
    let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
    parent[child as usize] = root;
    let (x, y) = (best[ra as usize], best[rb as usize]);
    let (cx, cy) = (kept[x as usize].collected, kept[y as usize].collected);
    // The most recently collected wins; on a tie, the earlier row.
    best[root as usize] = if cy > cx || (cy == cx && y < x) { y } else { x };
}

struct Outputs {
    stem: PathBuf,
    max_rows: u64,
    columns: usize,
    current: Option<(BufWriter<File>, u64, PathBuf)>,
    outputs: Vec<MergeOutput>,
}

impl Outputs {
    fn path(&self, n: usize) -> PathBuf {
        let mut name = self.stem.clone().into_os_string();
        name.push(format!("-{n}.csv"));
        PathBuf::from(name)
    }

    fn write(&mut self, row: &Row) -> Result<(), MergeError> {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, n, _)| *n >= self.max_rows)
        {
            self.finish()?;
        }
        if self.current.is_none() {
            let path = self.path(self.outputs.len() + 1);
            let fail = |source| MergeError::Write {
                path: path.clone(),
                source,
            };
            let mut file = BufWriter::new(File::create(&path).map_err(fail)?);
            let header = INTUNE_HEADER[..self.columns].join(",");
            file.write_all(header.as_bytes())
                .and_then(|_| file.write_all(b"\r\n"))
                .map_err(fail)?;
            self.outputs.push(MergeOutput {
                path: path.clone(),
                rows: 0,
            });
            self.current = Some((file, 0, path));
        }
        let mut line = String::with_capacity(row.hash_text.len() + 64);
        let fields = [
            Some(row.serial.as_str()),
            Some(row.product_id.as_str()),
            Some(row.hash_text.as_str()),
            Some(row.group_tag.as_deref().unwrap_or("")),
            Some(row.assigned_user.as_deref().unwrap_or("")),
        ];
        for (i, field) in fields.iter().take(self.columns).flatten().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(field);
        }
        line.push_str("\r\n");
        let bytes = if line.is_ascii() || !fits_windows_1252(&line) {
            std::borrow::Cow::Borrowed(line.as_bytes())
        } else {
            encoding_rs::WINDOWS_1252.encode(&line).0
        };
        if let (Some((file, n, path)), Some(output)) =
            (self.current.as_mut(), self.outputs.last_mut())
        {
            file.write_all(&bytes).map_err(|source| MergeError::Write {
                path: path.clone(),
                source,
            })?;
            *n += 1;
            output.rows += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), MergeError> {
        if let Some((mut file, _, path)) = self.current.take() {
            file.flush()
                .map_err(|source| MergeError::Write { path, source })?;
        }
        Ok(())
    }
}
