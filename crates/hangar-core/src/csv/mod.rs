//! The Autopilot import CSV dialect: read the files people really have, check them row by row,
//! and merge many into import-ready files.
//!
//! - [`Reader`] streams a file in any of the encodings Windows tools write ([`Encoding`]), maps
//!   its header ([`Header`]) and yields typed [`Row`]s with the hardware hash decoded.
//! - [`RowChecker`] turns rows into [`Finding`]s; [`check_file`] / [`check_reader`] do a whole file
//!   and return a [`FileReport`] with a [`Summary`]. [`CheckOptions::intune`] adds Intune's strict
//!   rules, so a file that passes imports into Intune as well.
//! - [`merge_files`] combines files into `OUT-1.csv`, `OUT-2.csv`, ... in Intune's exact format,
//!   keeping the most recently collected hash of each device, and reports what it dropped.
//!
//! Line numbers are physical lines of the file, counted as the Intune portal does: the header is
//! line 1. Memory does not grow with the size of a file: input is decoded and parsed in chunks;
//! only the duplicate index (a few words per device) grows with the number of rows.

mod check;
mod encoding;
mod header;
mod merge;
mod reader;

pub use check::{
    check_file, check_file_with, check_reader, check_reader_with, is_valid_upn, CheckObserver,
    CheckOptions, FileReport, RowChecker, MAX_GROUP_TAG_CHARS,
};
pub use encoding::Encoding;
pub use header::{Column, Header, INTUNE_HEADER};
pub use merge::{
    merge_files, merge_files_with, output_stem, Dropped, MergeError, MergeOptions, MergeOutput,
    MergeReport,
};
pub use reader::{ReadError, ReadOptions, Reader, Row, MAX_RECORD_BYTES};

use serde::Serialize;
use std::collections::BTreeMap;

/// Intune's limit on rows per import file.
pub const INTUNE_MAX_ROWS: u64 = 500;

/// How bad a finding is. Only errors make a row (or a file) unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// A stable identifier for each kind of finding (kebab-case in text and JSON).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    /// The file cannot be opened or read.
    FileUnreadable = "file-unreadable",
    /// Zero bytes, or nothing but a byte-order mark and blank lines.
    EmptyFile = "empty-file",
    /// NUL bytes or control characters: not a text file.
    NotText = "not-text",
    /// A record longer than [`MAX_RECORD_BYTES`]: an unclosed quotation mark, or not a CSV file.
    RecordTooLong = "record-too-long",
    /// Intune mode: a byte-order mark, UTF-16 or UTF-8 text instead of ANSI.
    NotAnsiFile = "not-ansi-file",
    /// A header with no device rows after it.
    NoRows = "no-rows",
    /// Intune mode: more than 500 rows.
    TooManyRows = "too-many-rows",
    /// A header column that is not part of the dialect.
    UnknownColumn = "unknown-column",
    /// A required column is missing from the header.
    MissingColumn = "missing-column",
    /// The same column twice (Group Tag and OrderID count as the same).
    DuplicateColumn = "duplicate-column",
    /// Intune mode: the header is not exactly Intune's.
    IntuneHeader = "intune-header",
    /// A row with more or fewer fields than the header.
    WrongFieldCount = "wrong-field-count",
    /// A quoted field spanning several lines.
    MultilineField = "multiline-field",
    /// A quotation mark in a value (or anywhere, in Intune mode).
    QuoteCharacter = "quote-character",
    /// A control character in a value.
    ControlCharacter = "control-character",
    /// A comma inside a (quoted) value: cannot be written in Intune's unquoted format.
    CommaInValue = "comma-in-value",
    /// Bytes that are not valid in the file's encoding (decoded as U+FFFD).
    InvalidEncoding = "invalid-encoding",
    /// A value with characters that Windows-1252 (ANSI) cannot represent.
    NotAnsi = "not-ansi",
    /// A row with every field empty.
    EmptyRow = "empty-row",
    /// No serial number, and the hash carries a real one.
    MissingSerial = "missing-serial",
    /// No serial number, allowed because the hash's SMBIOS serial is a placeholder.
    EmptySerial = "empty-serial",
    /// The CSV serial differs from the SMBIOS serial inside the hash.
    SerialMismatch = "serial-mismatch",
    /// No hardware hash (InvalidZtdHardwareHash, 802).
    MissingHardwareHash = "missing-hardware-hash",
    /// The hash does not decode (InvalidZtdHardwareHash, 802).
    InvalidHardwareHash = "invalid-hardware-hash",
    /// The hash lacks the SMBIOS manufacturer or serial (InvalidZtdHardwareHash, 802).
    HashMissingIdentity = "hash-missing-identity",
    /// The hash carries no identity key at all: the device cannot be told apart from others.
    NoIdentityKeys = "no-identity-keys",
    /// The same device as an earlier row (ZtdDeviceDuplicated).
    DuplicateDevice = "duplicate-device",
    /// Assigned User is not a valid UPN.
    InvalidUpn = "invalid-upn",
    /// Group Tag longer than 128 characters.
    GroupTagTooLong = "group-tag-too-long",
    /// Partner form: Manufacturer name differs from the hash's SMBIOS manufacturer.
    ManufacturerMismatch = "manufacturer-mismatch",
    /// Partner form: Device model differs from the hash's SMBIOS product name.
    ModelMismatch = "model-mismatch",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The registry error a finding corresponds to, with its number where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ZtdError {
    pub name: &'static str,
    pub code: Option<u16>,
}

pub const INVALID_ZTD_HARDWARE_HASH: ZtdError = ZtdError {
    name: "InvalidZtdHardwareHash",
    code: Some(802),
};
pub const ZTD_DEVICE_DUPLICATED: ZtdError = ZtdError {
    name: "ZtdDeviceDuplicated",
    code: None,
};

/// One problem (or remark) about a file, a line, a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub severity: Severity,
    pub code: Code,
    /// The registry error this row would get on import, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ztd_error: Option<ZtdError>,
    pub file: String,
    /// Physical line in the file (the header is line 1); `None` for the file as a whole.
    pub line: Option<u64>,
    /// The column, by its header name.
    pub column: Option<&'static str>,
    /// The offending value, where showing it helps (long values are shortened).
    pub value: Option<String>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl Finding {
    pub fn new(
        severity: Severity,
        code: Code,
        file: &str,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            severity,
            code,
            ztd_error: None,
            file: file.to_string(),
            line,
            column: None,
            value: None,
            message: message.into(),
        }
    }

    pub fn column(mut self, column: &'static str) -> Finding {
        self.column = Some(column);
        self
    }

    pub fn value(mut self, value: &str) -> Finding {
        self.value = Some(shorten(value));
        self
    }

    pub fn ztd(mut self, ztd: ZtdError) -> Finding {
        self.ztd_error = Some(ztd);
        self
    }
}

impl std::fmt::Display for Finding {
    /// `devices.csv:7: Hardware Hash: error invalid-hardware-hash: message`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(column) = self.column {
            write!(f, "{column}: ")?;
        }
        write!(f, "{} {}: {}", self.severity, self.code, self.message)
    }
}

/// Values longer than this are shown shortened in findings.
const SHOW_CHARS: usize = 60;

fn shorten(value: &str) -> String {
    match value.char_indices().nth(SHOW_CHARS) {
        Some((at, _)) => format!("{}… ({} characters)", &value[..at], value.chars().count()),
        None => value.to_string(),
    }
}

/// Counts for one file or many.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub files: u64,
    /// Device rows read (the header and blank lines not counted).
    pub rows: u64,
    /// Rows without any error.
    pub valid_rows: u64,
    pub errors: u64,
    pub warnings: u64,
    pub infos: u64,
    pub by_code: BTreeMap<Code, u64>,
}

impl Summary {
    pub fn count(&mut self, finding: &Finding) {
        match finding.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Info => self.infos += 1,
        }
        *self.by_code.entry(finding.code).or_insert(0) += 1;
    }

    pub fn add(&mut self, other: &Summary) {
        self.files += other.files;
        self.rows += other.rows;
        self.valid_rows += other.valid_rows;
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.infos += other.infos;
        for (code, n) in &other.by_code {
            *self.by_code.entry(*code).or_insert(0) += n;
        }
    }
}
