//! Streaming rows out of an import file.

use super::encoding::{DecodingReader, Stop};
use super::{Code, Column, Encoding, Finding, Header, Severity};
use hwhash::{DecodeError, HardwareHash};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// A record longer than this (1 MiB; a real row is about 4 KiB) stops reading: it is an unclosed
/// quotation mark swallowing the rest of the file, or not a CSV file at all. It bounds memory.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// How to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Read as Intune does: quotation marks are ordinary characters (and each one is reported).
    pub intune: bool,
}

/// Why a file cannot be read (any further).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the file: {0}")]
    Io(#[from] io::Error),
    #[error("the file is empty: an import file starts with the header line \"Device Serial Number,Windows Product ID,Hardware Hash\"")]
    Empty,
    #[error("not a text file: {detail}")]
    NotText { line: Option<u64>, detail: String },
    #[error("line {line}: a row runs past {max} bytes without ending; a quotation mark opened on this line is probably never closed (or this is not a CSV file). Close or remove the quotation mark.", max = MAX_RECORD_BYTES)]
    RecordTooLong { line: u64 },
}

impl ReadError {
    pub fn code(&self) -> Code {
        match self {
            ReadError::Io(_) => Code::FileUnreadable,
            ReadError::Empty => Code::EmptyFile,
            ReadError::NotText { .. } => Code::NotText,
            ReadError::RecordTooLong { .. } => Code::RecordTooLong,
        }
    }

    /// The line the problem is on, when there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            ReadError::NotText { line, .. } => *line,
            ReadError::RecordTooLong { line } => Some(*line),
            ReadError::Io(_) | ReadError::Empty => None,
        }
    }

    /// As a finding about `file`.
    pub fn to_finding(&self, file: &str) -> Finding {
        let message = match self {
            ReadError::Io(e) => {
                format!("cannot read the file: {e}. Check the path and that you may read it.")
            }
            ReadError::NotText { detail, .. } => {
                format!(
                    "this is not a text file: {detail}. An import file is CSV text; re-export it."
                )
            }
            other => other.to_string(),
        };
        Finding::new(Severity::Error, self.code(), file, self.line(), message)
    }
}

/// One device row, typed.
#[derive(Debug, Clone)]
pub struct Row {
    /// The physical line the row starts on (the header is line 1).
    pub line: u64,
    /// Device Serial Number, trimmed.
    pub serial: String,
    /// Windows Product ID, trimmed (optional for admins).
    pub product_id: String,
    /// Hardware Hash as written, trimmed.
    pub hash_text: String,
    /// The decoded hash, or why it does not decode.
    pub hash: Result<HardwareHash, DecodeError>,
    /// Group Tag (or OrderID); `None` when the column is absent or the value empty.
    pub group_tag: Option<String>,
    /// Assigned User; `None` when absent or empty.
    pub assigned_user: Option<String>,
    /// Partner form: Manufacturer name.
    pub manufacturer: Option<String>,
    /// Partner form: Device model.
    pub model: Option<String>,
    /// Whether every field of the row is empty.
    pub blank: bool,
    /// Problems with the row's structure found while reading it (field count, quotes, line breaks).
    pub issues: Vec<Finding>,
}

impl Default for Row {
    fn default() -> Row {
        Row {
            line: 0,
            serial: String::new(),
            product_id: String::new(),
            hash_text: String::new(),
            hash: Err(DecodeError::WrongSize { actual: 0 }),
            group_tag: None,
            assigned_user: None,
            manufacturer: None,
            model: None,
            blank: true,
            issues: Vec::new(),
        }
    }
}

/// Reads an import file row by row, in constant memory.
pub struct Reader<R> {
    csv: csv::Reader<DecodingReader<R>>,
    record: csv::ByteRecord,
    header: Header,
    header_findings: Vec<Finding>,
    file: String,
    options: ReadOptions,
    rows: u64,
    done: bool,
    /// The physical line of the current record.
    line: u64,
    /// The line after the end of the current record.
    next_line: u64,
    /// Line breaks inside the current record's fields.
    inner_breaks: u64,
    /// A quotation mark somewhere in the current record's fields.
    has_quote: bool,
}

impl Reader<File> {
    /// Opens a file; the name in findings is the path as given.
    pub fn open(path: &Path, options: ReadOptions) -> Result<Reader<File>, ReadError> {
        let file = File::open(path)?;
        Reader::new(file, &path.display().to_string(), options)
    }
}

impl<R: Read> Reader<R> {
    /// Reads the header. `file` names the input in findings.
    pub fn new(input: R, file: &str, options: ReadOptions) -> Result<Reader<R>, ReadError> {
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .quoting(!options.intune)
            // A CR before the LF stays in the last field and is trimmed with it; the LF alone ends
            // a record, so every line break is counted the same way (see `next_record`).
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(64 * 1024)
            .from_reader(DecodingReader::new(input, MAX_RECORD_BYTES));
        let mut reader = Reader {
            csv,
            record: csv::ByteRecord::new(),
            header: Header::default(),
            header_findings: Vec::new(),
            file: file.to_string(),
            options,
            rows: 0,
            done: false,
            line: 0,
            next_line: 1,
            inner_breaks: 0,
            has_quote: false,
        };
        // Whitespace-only lines before the header are as good as nothing.
        loop {
            if !reader.next_record()? {
                return Err(ReadError::Empty);
            }
            if !reader.record.iter().all(|f| f.trim_ascii().is_empty()) {
                break;
            }
        }
        let line = reader.line;
        let mut fields: Vec<String> = reader
            .record
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        if let Some(last) = fields.last_mut() {
            // The CR of a CRLF line end.
            if last.ends_with('\r') {
                last.pop();
            }
        }
        if let Some(bad) = fields
            .iter()
            .flat_map(|f| f.chars())
            .find(|c| c.is_control() && *c != '\t' || *c == '\u{FFFD}')
        {
            return Err(ReadError::NotText {
                line: Some(line),
                detail: format!(
                    "the first line holds the character U+{:04X}, which no header has (read as {})",
                    u32::from(bad),
                    reader.encoding().name()
                ),
            });
        }
        let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        let mut findings = Vec::new();
        reader.header = Header::parse(&field_refs, options.intune, file, line, &mut findings);
        reader.header_findings = findings;
        if options.intune {
            for (i, f) in fields.iter().enumerate() {
                if f.contains('"') {
                    reader
                        .header_findings
                        .push(quote_finding(file, line, None, i + 1, true));
                }
            }
        }
        Ok(reader)
    }

    /// The name of the input in findings.
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Problems with the header.
    pub fn header_findings(&self) -> &[Finding] {
        &self.header_findings
    }

    /// The encoding detected so far (final once the file is read to the end).
    pub fn encoding(&self) -> Encoding {
        self.csv.get_ref().encoding()
    }

    /// Raw bytes read from the input so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.csv.get_ref().bytes_in
    }

    /// Device rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    /// The next raw record; false at the end.
    fn next_record(&mut self) -> Result<bool, ReadError> {
        if self.done {
            return Ok(false);
        }
        let start = self.csv.position().byte();
        self.csv.get_mut().record_start = start;
        match self.csv.read_byte_record(&mut self.record) {
            Ok(true) => {
                // csv counts a line when it consumes its LF, and positions a record before the
                // blank lines it skips; so count back from the end of the record instead.
                let end = self.csv.position();
                let source = self.csv.get_ref();
                let at_end = end.byte() == source.bytes_out && source.drained();
                let ended_by_lf = !at_end || source.last_byte == Some(b'\n');
                let (quote, lf) = scan(self.record.as_slice());
                self.has_quote = quote;
                let inner: u64 = if lf {
                    self.record
                        .iter()
                        .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
                        .sum()
                } else {
                    0
                };
                self.inner_breaks = inner;
                // A record never starts before the previous one ended. That bound also corrects
                // the one case the count above gets wrong: a quotation mark left open to the end
                // of the file holds the file's last line feed, which then counts twice.
                self.line = end
                    .line()
                    .saturating_sub(inner + u64::from(ended_by_lf))
                    .max(self.next_line);
                self.next_line = self.line + inner + 1;
                Ok(true)
            }
            Ok(false) => {
                self.done = true;
                Ok(false)
            }
            Err(e) => {
                self.done = true;
                Err(self.error(e))
            }
        }
    }

    fn error(&self, e: csv::Error) -> ReadError {
        let line = self.next_line;
        match self.csv.get_ref().stop {
            Some(Stop::Nul { offset, utf16_hint }) => ReadError::NotText {
                line: None,
                detail: format!(
                    "it holds a NUL byte (near byte {offset}){}",
                    if utf16_hint {
                        "; it looks like UTF-16 without a byte-order mark: save it as ANSI or UTF-8 instead"
                    } else {
                        ""
                    }
                ),
            },
            Some(Stop::RecordTooLong) => ReadError::RecordTooLong { line },
            None => match e.into_kind() {
                csv::ErrorKind::Io(io) => ReadError::Io(io),
                other => ReadError::Io(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{other:?}"),
                )),
            },
        }
    }

    /// Reads the next row into `row`, reusing its buffers, and decodes its hash. False at the end.
    pub fn read_row(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        if !self.read_fields(row)? {
            return Ok(false);
        }
        row.hash = if row.hash_text.is_empty() {
            Err(DecodeError::WrongSize { actual: 0 })
        } else {
            hwhash::decode(&row.hash_text)
        };
        Ok(true)
    }

    /// Like [`Reader::read_row`] without decoding the hash (`row.hash` is left as it was).
    pub(crate) fn read_fields(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        // Lines of nothing but spaces are blank lines, not rows.
        loop {
            if !self.next_record()? {
                return Ok(false);
            }
            if self.record.len() != 1 || !self.record.iter().all(|f| f.trim_ascii().is_empty()) {
                break;
            }
        }
        self.rows += 1;
        let line = self.line;
        row.line = line;
        row.issues.clear();
        let record = &self.record;
        let header = &self.header;
        let intune = self.options.intune;
        let file = self.file.as_str();

        row.blank = record.iter().all(|f| f.trim_ascii().is_empty());
        // Structure: quotation marks, line breaks, field count.
        let breaks = self.inner_breaks;
        for (i, raw) in record.iter().enumerate() {
            let column = header.columns.get(i).copied().flatten().map(Column::name);
            if self.has_quote && raw.contains(&b'"') {
                row.issues
                    .push(quote_finding(file, line, column, i + 1, intune));
            }
        }
        if breaks > 0 {
            row.issues.push(Finding::new(
                Severity::Error,
                Code::MultilineField,
                file,
                Some(line),
                format!(
                    "a quoted value spans lines {line} to {}: a quotation mark is probably not closed where it \
                     should be. Put each device on one line.",
                    line + breaks
                ),
            ));
        }
        let (n, expected) = (record.len(), header.len());
        if !row.blank && n != expected {
            let extra_empty = n > expected
                && record
                    .iter()
                    .skip(expected)
                    .all(|f| f.trim_ascii().is_empty());
            let (severity, message) = if extra_empty {
                (
                    if intune { Severity::Error } else { Severity::Warning },
                    format!(
                        "the row has {n} fields, the header {expected}: the extra ones are empty (trailing \
                         commas). Delete the trailing commas."
                    ),
                )
            } else if n > expected {
                (
                    Severity::Error,
                    format!(
                        "the row has {n} fields, the header {expected}: a value holds a comma, or the header \
                         lacks a column. Remove the comma or fix the header."
                    ),
                )
            } else {
                let missing: Vec<&str> = header
                    .fields
                    .iter()
                    .skip(n)
                    .map(|f| f.trim())
                    .filter(|f| !f.is_empty())
                    .collect();
                (
                    Severity::Error,
                    format!(
                        "the row has {n} fields, the header {expected}: no value for {}. Add the missing \
                         fields (empty ones need their commas too).",
                        missing.join(", ")
                    ),
                )
            };
            row.issues.push(Finding::new(
                severity,
                Code::WrongFieldCount,
                file,
                Some(line),
                message,
            ));
        }

        let field = |column: Column| -> &str {
            let raw = header
                .index(column)
                .and_then(|i| record.get(i))
                .unwrap_or(b"");
            let text = match std::str::from_utf8(raw) {
                Ok(text) => text,
                // The decoding layer only hands out UTF-8; be safe anyway.
                Err(e) => std::str::from_utf8(&raw[..e.valid_up_to()]).unwrap_or(""),
            };
            let text = text.trim();
            if intune {
                text.trim_matches('"').trim()
            } else {
                text
            }
        };
        let set = |target: &mut String, value: &str| {
            target.clear();
            target.push_str(value);
        };
        let set_opt = |target: &mut Option<String>, value: &str| {
            if value.is_empty() {
                *target = None;
            } else {
                match target {
                    Some(s) => {
                        s.clear();
                        s.push_str(value);
                    }
                    None => *target = Some(value.to_string()),
                }
            }
        };
        set(&mut row.serial, field(Column::SerialNumber));
        set(&mut row.product_id, field(Column::ProductId));
        set(&mut row.hash_text, field(Column::HardwareHash));
        set_opt(&mut row.group_tag, field(Column::GroupTag));
        set_opt(&mut row.assigned_user, field(Column::AssignedUser));
        set_opt(&mut row.manufacturer, field(Column::Manufacturer));
        set_opt(&mut row.model, field(Column::Model));
        Ok(true)
    }
}

/// Whether `bytes` hold a quotation mark, and a line feed: one pass the compiler vectorises.
fn scan(bytes: &[u8]) -> (bool, bool) {
    let (mut quote, mut lf) = (false, false);
    for block in bytes.chunks(64) {
        let (q, l) = block.iter().fold((false, false), |(q, l), &b| {
            (q | (b == b'"'), l | (b == b'\n'))
        });
        quote |= q;
        lf |= l;
    }
    (quote, lf)
}

fn quote_finding(
    file: &str,
    line: u64,
    column: Option<&'static str>,
    position: usize,
    intune: bool,
) -> Finding {
    let message = if intune {
        format!(
            "field {position} holds a quotation mark; Intune's import allows none anywhere. Remove the \
             quotation marks (save from Excel as \"CSV (Comma delimited)\" without quoting)."
        )
    } else {
        format!(
            "field {position} holds a quotation mark inside its value (a stray or unbalanced quote); no \
             Autopilot value contains one. Remove it."
        )
    };
    let mut finding = Finding::new(
        Severity::Error,
        Code::QuoteCharacter,
        file,
        Some(line),
        message,
    );
    finding.column = column;
    finding
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<Row, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut row = Row::default();
        match self.read_row(&mut row) {
            Ok(true) => Some(Ok(row)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
