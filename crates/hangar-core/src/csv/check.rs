//! Row and file checks.
//!
//! Value rules (every column but the hash, whose own decoder says what is wrong with it):
//! - no control characters, no commas and no quotation marks: Intune's format has no quoting, so
//!   such a value cannot be imported (commas and quotes can only get in through a quoted field);
//! - characters Windows-1252 cannot represent are a warning (Intune reads ANSI only);
//! - Group Tag: at most [`MAX_GROUP_TAG_CHARS`] characters;
//! - Assigned User: a UPN as Entra ID accepts it, see [`is_valid_upn`].

use super::reader::{ReadOptions, Reader, Row};
use super::{
    Code, Column, Encoding, Finding, Severity, Summary, INTUNE_MAX_ROWS, INVALID_ZTD_HARDWARE_HASH,
    ZTD_DEVICE_DUPLICATED,
};
use hwhash::{is_placeholder_serial, HardwareHash};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io::Read;
use std::path::Path;

/// The longest Group Tag Intune takes, in characters.
pub const MAX_GROUP_TAG_CHARS: usize = 128;

/// What to check for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Also apply Intune's rules: exact header, at most 500 rows, no quotation marks, ANSI only.
    pub intune: bool,
}

/// Everything found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    pub file: String,
    /// `None` when the file could not be read at all.
    pub encoding: Option<Encoding>,
    /// The header fields as written.
    pub header: Vec<String>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl FileReport {
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }

    fn push(&mut self, finding: Finding, observer: &mut dyn CheckObserver) {
        observer.finding(&finding);
        self.summary.count(&finding);
        self.findings.push(finding);
    }
}

/// Follows a check as it runs (for progress bars and streaming output).
pub trait CheckObserver {
    fn finding(&mut self, _finding: &Finding) {}
    /// Raw bytes of the file read so far.
    fn progress(&mut self, _bytes: u64) {}
}

impl CheckObserver for () {}

/// Checks a file on disk.
pub fn check_file(path: &Path, options: &CheckOptions) -> FileReport {
    check_file_with(path, options, &mut ())
}

/// [`check_file`] reporting to `observer` as it goes.
pub fn check_file_with(
    path: &Path,
    options: &CheckOptions,
    observer: &mut dyn CheckObserver,
) -> FileReport {
    let name = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(file) => check_reader_with(file, &name, options, observer),
        Err(e) => {
            let mut report = FileReport {
                file: name.clone(),
                ..FileReport::default()
            };
            report.summary.files = 1;
            let finding = Finding::new(
                Severity::Error,
                Code::FileUnreadable,
                &name,
                None,
                format!("cannot open the file: {e}. Check the path and that you may read it."),
            );
            report.push(finding, observer);
            report
        }
    }
}

/// Checks any input; `file` names it in findings.
pub fn check_reader<R: Read>(input: R, file: &str, options: &CheckOptions) -> FileReport {
    check_reader_with(input, file, options, &mut ())
}

/// [`check_reader`] reporting to `observer` as it goes.
pub fn check_reader_with<R: Read>(
    input: R,
    file: &str,
    options: &CheckOptions,
    observer: &mut dyn CheckObserver,
) -> FileReport {
    let mut report = FileReport {
        file: file.to_string(),
        ..FileReport::default()
    };
    report.summary.files = 1;
    let mut reader = match Reader::new(
        input,
        file,
        ReadOptions {
            intune: options.intune,
        },
    ) {
        Ok(reader) => reader,
        Err(e) => {
            report.push(e.to_finding(file), observer);
            return report;
        }
    };
    report.header = reader.header().fields.clone();
    let header_line = reader.header().line;
    for finding in reader.header_findings().to_vec() {
        report.push(finding, observer);
    }
    let mut encoding_reported = false;
    if options.intune && !matches!(reader.encoding(), Encoding::Ascii) {
        // A byte-order mark or UTF-16 is known from the first bytes.
        encoding_reported = true;
        report.push(
            not_ansi_file(file, Some(header_line), reader.encoding()),
            observer,
        );
    }
    if !reader.header().is_usable() {
        report.encoding = Some(reader.encoding());
        return report;
    }

    let mut checker = RowChecker::new(file, *options);
    let mut row = Row::default();
    let mut found = Vec::new();
    loop {
        match reader.read_row(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                report.push(e.to_finding(file), observer);
                break;
            }
        }
        found.clear();
        checker.check(&row, &mut found);
        if options.intune
            && !encoding_reported
            && reader.encoding() == Encoding::Utf8
            && row_has_non_ascii(&row)
        {
            encoding_reported = true;
            found.push(not_ansi_file(file, Some(row.line), Encoding::Utf8));
        }
        report.summary.rows += 1;
        if !found.iter().any(|f| f.severity == Severity::Error) {
            report.summary.valid_rows += 1;
        }
        for finding in found.drain(..) {
            report.push(finding, observer);
        }
        if report.summary.rows & 0xFF == 0 {
            observer.progress(reader.bytes_read());
        }
    }
    observer.progress(reader.bytes_read());
    let encoding = reader.encoding();
    report.encoding = Some(encoding);
    if options.intune && !encoding_reported && !encoding.is_ansi() {
        report.push(not_ansi_file(file, None, encoding), observer);
    }
    if report.summary.rows == 0
        && !report
            .findings
            .iter()
            .any(|f| f.code == Code::RecordTooLong)
    {
        let finding = Finding::new(
            Severity::Warning,
            Code::NoRows,
            file,
            Some(header_line),
            "the file has a header but no device rows; nothing would be imported. Add rows below the header.",
        );
        report.push(finding, observer);
    }
    report
}

fn row_has_non_ascii(row: &Row) -> bool {
    [
        Some(&row.serial),
        Some(&row.product_id),
        row.group_tag.as_ref(),
        row.assigned_user.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|v| !v.is_ascii())
}

fn not_ansi_file(file: &str, line: Option<u64>, encoding: Encoding) -> Finding {
    let what = match encoding {
        Encoding::Utf8 => "holds UTF-8 text".to_string(),
        other => format!("is saved as {}", other.name()),
    };
    Finding::new(
        Severity::Error,
        Code::NotAnsiFile,
        file,
        line,
        format!(
            "the file {what}; Intune imports ANSI text only. Save it as ANSI (in Notepad: Save As, Encoding \
             ANSI; in PowerShell: Out-File -Encoding ASCII), or let `hangar csv merge` write it."
        ),
    )
}

/// The identity keys of a device as 64-bit fingerprints, for a compact index.
///
/// The same keys as [`IdentityKeys::of`], with the same rules for when a key is absent, but
/// fingerprinted from the decoded values directly (the EK modulus instead of its hex SHA-256, the
/// UUID bytes instead of their GUID string: both one-to-one), which saves a SHA-256 and several
/// allocations per row. Two fingerprints of different keys collide with probability 2^-64 per pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KeyPrints(pub(crate) [Option<u64>; 4]);

/// What each slot of [`KeyPrints`] is, for messages.
pub(crate) const KEY_NAMES: [&str; 4] = [
    "TPM endorsement key",
    "SMBIOS UUID",
    "manufacturer, model and serial",
    "product key id",
];

impl KeyPrints {
    pub(crate) fn of(hash: &HardwareHash) -> KeyPrints {
        fn print(slot: u8, parts: &[&[u8]]) -> u64 {
            let mut h = std::hash::DefaultHasher::new();
            slot.hash(&mut h);
            for part in parts {
                part.hash(&mut h);
            }
            h.finish()
        }
        fn non_empty(v: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
            v.filter(|s| !s.trim().is_empty())
        }
        let ek = hash
            .tpm_ek_pub()
            .filter(|ek| !ek.is_empty())
            .map(|ek| print(0, &[ek]));
        let uuid = hash
            .smbios_uuid()
            .filter(|u| !u.is_placeholder())
            .map(|u| print(1, &[&u.bytes]));
        let tuple = match (
            non_empty(hash.manufacturer()),
            non_empty(hash.product_name()),
            non_empty(hash.serial()),
        ) {
            (Some(m), Some(p), Some(s)) if !is_placeholder_serial(&s) => {
                Some(print(2, &[m.as_bytes(), p.as_bytes(), s.as_bytes()]))
            }
            _ => None,
        };
        let pkid = non_empty(hash.product_key_id()).map(|k| print(3, &[k.as_bytes()]));
        KeyPrints([ek, uuid, tuple, pkid])
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

/// The fingerprints are already uniformly distributed: use them as their own hash.
#[derive(Default)]
pub(crate) struct PrintHasher(u64);

impl Hasher for PrintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) type PrintMap<V> = HashMap<u64, V, BuildHasherDefault<PrintHasher>>;

/// Checks rows one at a time, remembering what it needs across rows (duplicates, row count).
pub struct RowChecker {
    file: String,
    options: CheckOptions,
    rows: u64,
    /// Identity key fingerprint -> line of the first row with it.
    seen: PrintMap<u32>,
    /// Report duplicates (merge resolves them itself).
    pub(crate) dedupe: bool,
}

impl RowChecker {
    pub fn new(file: &str, options: CheckOptions) -> RowChecker {
        RowChecker {
            file: file.to_string(),
            options,
            rows: 0,
            seen: PrintMap::default(),
            dedupe: true,
        }
    }

    /// Appends the findings for `row` (its reading issues included) to `out`.
    pub fn check(&mut self, row: &Row, out: &mut Vec<Finding>) {
        self.rows += 1;
        let file = self.file.as_str();
        let line = Some(row.line);
        out.extend(row.issues.iter().cloned());
        if self.options.intune && self.rows == INTUNE_MAX_ROWS + 1 {
            out.push(Finding::new(
                Severity::Error,
                Code::TooManyRows,
                file,
                line,
                format!(
                    "this is row {} and Intune imports at most {INTUNE_MAX_ROWS} rows per file. Split the \
                     file (`hangar csv merge FILE -o OUT --max-rows {INTUNE_MAX_ROWS}`).",
                    self.rows
                ),
            ));
        }
        if row.blank {
            let severity = if self.options.intune {
                Severity::Error
            } else {
                Severity::Warning
            };
            out.push(Finding::new(
                severity,
                Code::EmptyRow,
                file,
                line,
                "every field of this row is empty; Intune would read it as a device without a hash. Delete the line.",
            ));
            return;
        }

        // Values other than the hash.
        let values = [
            (Column::SerialNumber, Some(row.serial.as_str())),
            (Column::ProductId, Some(row.product_id.as_str())),
            (Column::GroupTag, row.group_tag.as_deref()),
            (Column::AssignedUser, row.assigned_user.as_deref()),
            (Column::Manufacturer, row.manufacturer.as_deref()),
            (Column::Model, row.model.as_deref()),
        ];
        for (column, value) in values {
            if let Some(value) = value {
                self.check_value(column, value, row.line, out);
            }
        }

        // The hash.
        let hash_column = Column::HardwareHash.name();
        let hash = match &row.hash {
            Ok(hash) => Some(hash),
            Err(_) if row.hash_text.is_empty() => {
                out.push(
                    Finding::new(
                        Severity::Error,
                        Code::MissingHardwareHash,
                        file,
                        line,
                        "Hardware Hash is empty; Intune rejects the row with InvalidZtdHardwareHash (802). \
                         Collect the hash on the device (Get-WindowsAutopilotInfo) and paste it here.",
                    )
                    .column(hash_column)
                    .ztd(INVALID_ZTD_HARDWARE_HASH),
                );
                None
            }
            Err(e) => {
                out.push(
                    Finding::new(
                        Severity::Error,
                        Code::InvalidHardwareHash,
                        file,
                        line,
                        format!(
                            "the hash cannot be decoded ({e}); Intune rejects the row with \
                             InvalidZtdHardwareHash (802). Re-collect the hash on the device \
                             (Get-WindowsAutopilotInfo) and copy all 4000 characters, without line breaks."
                        ),
                    )
                    .column(hash_column)
                    .value(&row.hash_text)
                    .ztd(INVALID_ZTD_HARDWARE_HASH),
                );
                None
            }
        };
        let hash_serial = hash.and_then(|h| h.serial()).map(|s| s.trim().to_string());
        if let Some(hash) = hash {
            let manufacturer = hash
                .manufacturer()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty());
            let missing = match (
                &manufacturer,
                hash_serial.as_deref().filter(|s| !s.is_empty()),
            ) {
                (None, None) => Some("SMBIOS manufacturer and serial number"),
                (None, Some(_)) => Some("SMBIOS manufacturer"),
                (Some(_), None) => Some("SMBIOS serial number"),
                _ => None,
            };
            if let Some(missing) = missing {
                out.push(
                    Finding::new(
                        Severity::Error,
                        Code::HashMissingIdentity,
                        file,
                        line,
                        format!(
                            "the hash has no {missing}; Intune rejects it with InvalidZtdHardwareHash (802). \
                             Re-collect the hash on the device; if the firmware lacks the value, ask the \
                             manufacturer for a BIOS update."
                        ),
                    )
                    .column(hash_column)
                    .ztd(INVALID_ZTD_HARDWARE_HASH),
                );
            }
        }

        // Serial number against the hash.
        let serial_column = Column::SerialNumber.name();
        match (row.serial.is_empty(), hash_serial.as_deref()) {
            (true, Some(smbios)) if is_placeholder_serial(smbios) => out.push(
                Finding::new(
                    Severity::Info,
                    Code::EmptySerial,
                    file,
                    line,
                    format!(
                        "Device Serial Number is empty, as Windows writes it when the firmware has no serial: \
                         the hash's SMBIOS serial is the placeholder \"{smbios}\". Allowed; the device is \
                         identified by its other keys."
                    ),
                )
                .column(serial_column),
            ),
            (true, Some(smbios)) => out.push(
                Finding::new(
                    Severity::Error,
                    Code::MissingSerial,
                    file,
                    line,
                    format!(
                        "Device Serial Number is empty but the hash says the serial is \"{smbios}\". Put \
                         \"{smbios}\" in the column."
                    ),
                )
                .column(serial_column),
            ),
            (true, None) => out.push(
                Finding::new(
                    Severity::Error,
                    Code::MissingSerial,
                    file,
                    line,
                    "Device Serial Number is empty. Fill in the device's serial number.",
                )
                .column(serial_column),
            ),
            (false, Some(smbios)) if smbios != row.serial => out.push(
                Finding::new(
                    Severity::Warning,
                    Code::SerialMismatch,
                    file,
                    line,
                    format!(
                        "Device Serial Number \"{}\" differs from the serial inside the hash, \"{smbios}\"; the \
                         device reports the hash's serial at its first run and fails to find its \
                         registration. Use \"{smbios}\", or re-collect the hash on the right device.",
                        row.serial
                    ),
                )
                .column(serial_column)
                .value(&row.serial),
            ),
            _ => {}
        }

        // Partner form against the hash.
        if let Some(hash) = hash {
            let pairs = [
                (
                    Column::Manufacturer,
                    Code::ManufacturerMismatch,
                    &row.manufacturer,
                    hash.manufacturer(),
                ),
                (
                    Column::Model,
                    Code::ModelMismatch,
                    &row.model,
                    hash.product_name(),
                ),
            ];
            for (column, code, given, actual) in pairs {
                let (Some(given), Some(actual)) = (given, actual) else {
                    continue;
                };
                if given != actual.trim() {
                    out.push(
                        Finding::new(
                            Severity::Warning,
                            code,
                            file,
                            line,
                            format!(
                                "{} \"{given}\" differs from the hash's \"{}\"; a tuple registration must match \
                                 exactly (case-sensitive). Use \"{}\".",
                                column.name(),
                                actual.trim(),
                                actual.trim()
                            ),
                        )
                        .column(column.name())
                        .value(given),
                    );
                }
            }
        }

        // The same device twice.
        if let Some(hash) = hash.filter(|_| self.dedupe) {
            let prints = KeyPrints::of(hash);
            if prints.is_empty() {
                out.push(
                    Finding::new(
                        Severity::Warning,
                        Code::NoIdentityKeys,
                        file,
                        line,
                        "the hash has no TPM key, no usable SMBIOS UUID, no real serial and no product key id, \
                         so this device cannot be told apart from others. Re-collect the hash with the TPM \
                         enabled.",
                    )
                    .column(hash_column),
                );
            }
            let first = prints.0.iter().enumerate().find_map(|(slot, p)| {
                p.and_then(|p| self.seen.get(&p))
                    .map(|first| (*first, KEY_NAMES[slot]))
            });
            match first {
                Some((first, key)) => out.push(
                    Finding::new(
                        Severity::Error,
                        Code::DuplicateDevice,
                        file,
                        line,
                        format!(
                            "the same device as line {first} (same {key}); Intune processes only the first \
                             (ZtdDeviceDuplicated). Delete one of the two rows, keeping the more recently \
                             collected hash."
                        ),
                    )
                    .column(hash_column)
                    .ztd(ZTD_DEVICE_DUPLICATED),
                ),
                None => {
                    for p in prints.0.into_iter().flatten() {
                        self.seen.insert(p, u32::try_from(row.line).unwrap_or(u32::MAX));
                    }
                }
            }
        }
    }

    fn check_value(&self, column: Column, value: &str, line: u64, out: &mut Vec<Finding>) {
        let file = self.file.as_str();
        let name = column.name();
        let at = Some(line);
        if let Some(c) = value
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r'))
        {
            out.push(
                Finding::new(
                    Severity::Error,
                    Code::ControlCharacter,
                    file,
                    at,
                    format!(
                        "the value holds the control character U+{:04X}. Remove it.",
                        u32::from(c)
                    ),
                )
                .column(name)
                .value(value),
            );
        }
        if value.contains(',') {
            out.push(
                Finding::new(
                    Severity::Error,
                    Code::CommaInValue,
                    file,
                    at,
                    "the value holds a comma; Intune's format has no quoting, so the comma would split the row. \
                     Remove it.",
                )
                .column(name)
                .value(value),
            );
        }
        if !value.is_ascii() {
            if value.contains('\u{FFFD}') {
                out.push(
                    Finding::new(
                        Severity::Error,
                        Code::InvalidEncoding,
                        file,
                        at,
                        "the value holds bytes that are not valid in the file's encoding (shown as \u{FFFD}); \
                         the file mixes encodings. Save it again as ANSI or UTF-8.",
                    )
                    .column(name)
                    .value(value),
                );
            } else if !self.options.intune && !fits_windows_1252(value) {
                out.push(
                    Finding::new(
                        Severity::Warning,
                        Code::NotAnsi,
                        file,
                        at,
                        "the value has characters that ANSI (Windows-1252) cannot hold, and Intune imports ANSI \
                         only. Use Latin characters.",
                    )
                    .column(name)
                    .value(value),
                );
            }
        }
        match column {
            Column::GroupTag | Column::OrderId => {
                let chars = value.chars().count();
                if chars > MAX_GROUP_TAG_CHARS {
                    out.push(
                        Finding::new(
                            Severity::Error,
                            Code::GroupTagTooLong,
                            file,
                            at,
                            format!("the group tag has {chars} characters; at most {MAX_GROUP_TAG_CHARS} are allowed. Shorten it."),
                        )
                        .column(name)
                        .value(value),
                    );
                }
            }
            Column::AssignedUser => {
                if let Some(problem) = upn_problem(value) {
                    out.push(
                        Finding::new(
                            Severity::Error,
                            Code::InvalidUpn,
                            file,
                            at,
                            format!(
                                "\"{value}\" is not a valid user principal name (user@domain.tld): {problem}. A \
                                 wrong UPN can lock the user out of the device; use the user's sign-in name."
                            ),
                        )
                        .column(name)
                        .value(value),
                    );
                }
            }
            _ => {}
        }
    }
}

pub(crate) fn fits_windows_1252(value: &str) -> bool {
    value.is_ascii() || !encoding_rs::WINDOWS_1252.encode(value).2
}

/// Whether `upn` is a user principal name as Entra ID accepts it: `local@domain.tld`, one `@`, a
/// local part of letters, digits and `' . - _ ! # ^ ~` (no leading, trailing or double dot, at most
/// 64 characters), and a domain of at least two dot-separated labels of letters, digits and inner
/// hyphens, the last one alphabetic (or an `xn--` IDN label).
pub fn is_valid_upn(upn: &str) -> bool {
    upn_problem(upn).is_none()
}

fn upn_problem(upn: &str) -> Option<&'static str> {
    if upn.chars().any(char::is_whitespace) {
        return Some("it contains a space");
    }
    let mut parts = upn.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Some(if upn.contains('@') {
            "it has more than one @"
        } else {
            "it has no @"
        });
    };
    if local.is_empty() {
        return Some("nothing before the @");
    }
    if local.len() > 64 {
        return Some("the part before the @ is longer than 64 characters");
    }
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c))
    {
        return Some("the part before the @ may hold only letters, digits and ' . - _ ! # ^ ~");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some("the part before the @ has a leading, trailing or double dot");
    }
    if domain.is_empty() {
        return Some("nothing after the @");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Some("the domain has no dot (expected something like contoso.com)");
    }
    for label in &labels {
        if label.is_empty() {
            return Some("the domain has an empty part (a leading, trailing or double dot)");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Some("the domain may hold only letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') || label.len() > 63 {
            return Some(
                "a domain part starts or ends with a hyphen, or is longer than 63 characters",
            );
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    if !(tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()) || tld.starts_with("xn--"))
    {
        return Some("the last part of the domain must be letters, like .com or .org");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upns() {
        for ok in [
            "a@b.co",
            "first.last@contoso.com",
            "o'neil@sub.contoso.onmicrosoft.com",
            "x_y-z@a-b.io",
        ] {
            assert!(is_valid_upn(ok), "{ok}");
        }
        for (bad, says) in [
            ("", "no @"),
            ("user", "no @"),
            ("a@b@c.com", "more than one @"),
            ("a b@c.com", "space"),
            ("@c.com", "nothing before"),
            ("a@", "nothing after"),
            ("a@localhost", "no dot"),
            ("a@b..com", "empty part"),
            ("a@-b.com", "hyphen"),
            (".a@b.com", "dot"),
            ("a@b.c0m", "letters"),
            ("a,b@c.com", "only letters"),
        ] {
            assert!(
                upn_problem(bad).is_some_and(|p| p.contains(says)),
                "{bad}: {:?}",
                upn_problem(bad)
            );
        }
    }

    /// Fingerprints overlap exactly when hwhash's identity keys do.
    #[test]
    fn key_prints_agree_with_identity_keys() {
        use hwhash::IdentityKeys;
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/hwhash"
        );
        let mut hashes = Vec::new();
        for entry in std::fs::read_dir(dir).expect("fixtures").flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".csv") && !name.contains("utf16") {
                let text = std::fs::read_to_string(entry.path()).expect("reads");
                let line = text.lines().nth(1).expect("a row");
                hashes.push(
                    hwhash::decode(line.rsplit(',').next().expect("hash").trim()).expect("decodes"),
                );
            }
        }
        assert_eq!(hashes.len(), 11);
        let b = || hwhash::Builder::new();
        let uuid = [7u8; 16];
        hashes.extend([
            b().serial("A1").tpm().build(),
            b().serial("A1")
                .tpm()
                .collected_at(time::macros::datetime!(2026-02-01 0:00 UTC))
                .build(),
            b().serial("A2").uuid(uuid).build(),
            b().serial("A3").uuid(uuid).build(),
            b().serial("A4").model("Other").build(),
            b().serial("Default string")
                .product_key_id("1234567890123")
                .build(),
            b().serial("Default string")
                .product_key_id("1234567890123")
                .manufacturer("Else")
                .build(),
            b().serial("To be filled by O.E.M.")
                .uuid([0; 16])
                .no_disks()
                .build(),
        ]);
        let mut overlaps = 0;
        for (i, x) in hashes.iter().enumerate() {
            let (kx, px) = (IdentityKeys::of(x), KeyPrints::of(x));
            let present = [
                kx.tpm_ek_hash.is_some(),
                kx.smbios_uuid.is_some(),
                kx.tuple.is_some(),
                kx.product_key_id.is_some(),
            ];
            assert_eq!(present, px.0.map(|p| p.is_some()), "hash {i}");
            for (j, y) in hashes.iter().enumerate().skip(i + 1) {
                let (ky, py) = (IdentityKeys::of(y), KeyPrints::of(y));
                let prints = px.0.iter().zip(py.0).any(|(a, b)| a.is_some() && *a == b);
                assert_eq!(kx.overlaps(&ky), prints, "hashes {i} and {j}");
                overlaps += usize::from(prints);
            }
        }
        assert_eq!(
            overlaps, 3,
            "A1 twice, the shared UUID, the shared product key id"
        );
    }

    #[test]
    fn windows_1252() {
        assert!(fits_windows_1252("Café €"));
        assert!(!fits_windows_1252("東京"));
    }
}
