//! Merging import files: de-duplication by recency, splitting, Intune's exact format.

#[path = "csv_support.rs"]
mod support;

use hangar_core::csv::*;
use std::path::{Path, PathBuf};
use support::*;
use time::macros::datetime;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writes");
    path
}

#[test]
fn merge_dedupes_by_recency_splits_and_passes_intune_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = datetime!(2025-06-01 08:00 UTC);
    let new = datetime!(2026-01-20 08:00 UTC);
    // a.csv: UTF-16LE from PowerShell 5.1; devices D1..D4, D2 collected long ago, one broken row.
    let a_text = crlf(&[
        format!("{HEADER},Group Tag"),
        format!("D1,,{},Café", synthetic("D1")),
        format!("D2,,{},Sales", synthetic_at("D2", old)),
        "D9,,not-a-hash,Sales".to_string(),
        format!("D3,,{},", synthetic("D3")),
        format!("D4,,{},", synthetic("D4")),
    ]);
    let a = write(dir.path(), "a.csv", &utf16le_bom(&a_text));
    // b.csv: UTF-8, lower-case header, a newer collection of D2 and the same D3 collected at the same time.
    let b_text = crlf(&[
        "device serial number,windows product id,hardware hash,assigned user".to_string(),
        format!("D2,,{},ann@contoso.com", synthetic_at("D2", new)),
        format!("D3,,{},", synthetic("D3")),
        format!("D5,,{},bad user", synthetic("D5")),
        format!("D6,,{},東京", synthetic("D6")).replace(",東京", ",ann@contoso.com"),
    ]);
    let b = write(dir.path(), "b.csv", b_text.as_bytes());
    // c.csv: the real fixtures, one with an empty serial.
    let c = fixture_dir().join("qemu-q35-swtpm.csv");

    let out = dir.path().join("import.csv");
    let report = merge_files(
        &[a.clone(), b.clone(), c.clone()],
        &out,
        &MergeOptions { max_rows: 3 },
    )
    .expect("merges");

    let dropped: Vec<(String, Option<u64>, Code)> = report
        .dropped
        .iter()
        .map(|d| {
            (
                Path::new(&d.file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string(),
                d.line,
                d.code,
            )
        })
        .collect();
    assert_eq!(
        dropped,
        [
            ("a.csv".to_string(), Some(3), Code::DuplicateDevice),
            ("a.csv".to_string(), Some(4), Code::InvalidHardwareHash),
            ("b.csv".to_string(), Some(3), Code::DuplicateDevice),
            ("b.csv".to_string(), Some(4), Code::InvalidUpn),
        ],
        "{:#?}",
        report.dropped
    );
    let d2 = &report.dropped[0];
    assert!(
        d2.reason.contains("b.csv:2") && d2.reason.contains("collected later"),
        "{}",
        d2.reason
    );
    let d3 = &report.dropped[2];
    assert!(
        d3.reason.contains("a.csv:5") && d3.reason.contains("same time"),
        "{}",
        d3.reason
    );

    // D1, D2 (new), D3 (a), D4, D6, the fixture: 6 rows in two files of 3.
    assert_eq!(report.rows_read, 10);
    assert_eq!(report.rows_written, 6);
    let outputs: Vec<(String, u64)> = report
        .outputs
        .iter()
        .map(|o| {
            (
                o.path.file_name().unwrap().to_string_lossy().to_string(),
                o.rows,
            )
        })
        .collect();
    assert_eq!(
        outputs,
        [
            ("import-1.csv".to_string(), 3),
            ("import-2.csv".to_string(), 3)
        ]
    );

    let first = std::fs::read(dir.path().join("import-1.csv")).expect("written");
    assert!(first.starts_with(
        b"Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User\r\n"
    ));
    assert!(
        first.windows(5).any(|w| w == b"Caf\xE9,"),
        "Café in Windows-1252"
    );
    assert!(!first.contains(&b'"'));
    for output in &report.outputs {
        let check = check_file(&output.path, &CheckOptions { intune: true });
        assert_eq!(
            check.summary.errors + check.summary.warnings,
            0,
            "{:#?}",
            check.findings
        );
        assert!(matches!(
            check.encoding,
            Some(Encoding::Windows1252 | Encoding::Ascii)
        ));
    }
    // Read back: the order and values survive, the newer D2 with its user.
    let mut serials = Vec::new();
    for output in &report.outputs {
        for row in Reader::open(&output.path, ReadOptions { intune: true }).expect("opens") {
            let row = row.expect("reads");
            if row.serial == "D2" {
                assert_eq!(
                    row.hash.as_ref().ok().and_then(|h| h.collected_at()),
                    Some(new)
                );
                assert_eq!(row.assigned_user.as_deref(), Some("ann@contoso.com"));
            }
            if row.serial == "D1" {
                assert_eq!(row.group_tag.as_deref(), Some("Café"));
            }
            serials.push(row.serial);
        }
    }
    assert_eq!(serials, ["D1", "D3", "D4", "D2", "D6", ""]);
}

#[test]
fn merge_of_all_fixtures_into_one_intune_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut inputs = fixture_files();
    inputs.push(fixture_dir().join("all-devices.utf16le.csv"));
    let report =
        merge_files(&inputs, &dir.path().join("fleet"), &MergeOptions::default()).expect("merges");
    // The UTF-16 file repeats all eleven: same collections, so the single-device files win.
    assert_eq!(report.rows_written, 11);
    assert_eq!(report.dropped.len(), 11);
    assert!(report
        .dropped
        .iter()
        .all(|d| d.code == Code::DuplicateDevice && d.file.contains("utf16")));
    assert_eq!(report.outputs.len(), 1);
    assert_eq!(report.outputs[0].path, dir.path().join("fleet-1.csv"));
    let text = std::fs::read_to_string(&report.outputs[0].path).expect("ASCII");
    assert!(text.starts_with("Device Serial Number,Windows Product ID,Hardware Hash\r\n"));
    let check = check_file(&report.outputs[0].path, &CheckOptions { intune: true });
    assert_eq!(check.summary.rows, 11);
    assert_eq!(
        check.summary.errors + check.summary.warnings,
        0,
        "{:#?}",
        check.findings
    );
}

#[test]
fn merge_fails_on_unreadable_input_and_nothing_to_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.csv");
    let err = merge_files(
        &[missing],
        &dir.path().join("out"),
        &MergeOptions::default(),
    )
    .expect_err("fails");
    assert!(
        matches!(err, MergeError::Read { ref file, .. } if file.ends_with("missing.csv")),
        "{err}"
    );

    let bad = write(
        dir.path(),
        "bad.csv",
        format!("{HEADER}\r\nX,,nothash\r\n").as_bytes(),
    );
    let report =
        merge_files(&[bad], &dir.path().join("out"), &MergeOptions::default()).expect("runs");
    assert!(report.outputs.is_empty());
    assert_eq!(report.dropped.len(), 1);
    assert!(!dir.path().join("out-1.csv").exists());
}

#[test]
fn output_stem_strips_csv_only() {
    assert_eq!(
        output_stem(Path::new("out/import.csv")),
        PathBuf::from("out/import")
    );
    assert_eq!(
        output_stem(Path::new("import.CSV")),
        PathBuf::from("import")
    );
    assert_eq!(
        output_stem(Path::new("import.v2")),
        PathBuf::from("import.v2")
    );
    assert_eq!(output_stem(Path::new("import")), PathBuf::from("import"));
}
