//! Helpers shared by the csv_* tests (included with `#[path]`; as a test target of its own it is empty).
#![allow(dead_code)]

use std::path::PathBuf;

pub const HEADER: &str = "Device Serial Number,Windows Product ID,Hardware Hash";

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/hwhash"
    ))
}

/// The eleven single-device fixtures, sorted by name.
pub fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .expect("the shared fixtures are checked out beside the repository")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "csv") && !p.to_string_lossy().contains("utf16")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 11);
    files
}

/// (serial, hash) of a fixture's single row.
pub fn fixture_row(stem: &str) -> (String, String) {
    let text = std::fs::read_to_string(fixture_dir().join(format!("{stem}.csv"))).expect("fixture");
    let line = text.lines().nth(1).expect("a row");
    let fields: Vec<&str> = line.split(',').collect();
    (fields[0].to_string(), fields[2].trim().to_string())
}

/// A synthetic device's hash text.
pub fn synthetic(serial: &str) -> String {
    hwhash::Builder::new()
        .serial(serial)
        .tpm()
        .build()
        .to_base64()
        .expect("encodes")
}

/// A synthetic device collected at `at`.
pub fn synthetic_at(serial: &str, at: time::OffsetDateTime) -> String {
    hwhash::Builder::new()
        .serial(serial)
        .tpm()
        .collected_at(at)
        .build()
        .to_base64()
        .expect("encodes")
}

/// Lines joined with CRLF, ending with CRLF.
pub fn crlf(lines: &[String]) -> String {
    let mut out = lines.join("\r\n");
    out.push_str("\r\n");
    out
}

pub fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

pub fn utf16be_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    out.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    out
}
