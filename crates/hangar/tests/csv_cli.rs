//! `hangar csv check|merge` as a process.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

const HEADER: &str = "Device Serial Number,Windows Product ID,Hardware Hash";

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/hwhash"
    ))
}

fn hangar() -> Command {
    Command::cargo_bin("hangar").expect("the hangar binary")
}

fn synthetic(serial: &str) -> String {
    hwhash::Builder::new()
        .serial(serial)
        .tpm()
        .build()
        .to_base64()
        .expect("encodes")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writes");
    path
}

#[test]
fn check_real_fixtures_passes() {
    hangar()
        .args(["csv", "check"])
        .arg(fixtures().join("hp-elitebook-840-g8.csv"))
        .arg(fixtures().join("qemu-q35-swtpm.csv"))
        .arg(fixtures().join("all-devices.utf16le.csv"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "qemu-q35-swtpm.csv:2: Device Serial Number: info empty-serial",
        ))
        .stdout(predicate::str::contains(
            "all-devices.utf16le.csv: 11 rows, 11 valid, 0 errors",
        ))
        .stdout(predicate::str::contains(
            "total: 3 files, 13 rows, 13 valid, 0 errors",
        ));
}

#[test]
fn check_reports_line_and_column_and_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = synthetic("S1");
    let text = format!(
        "{HEADER},Group Tag,Assigned User\r\nS1,,{good},Lab,ann@contoso.com\r\nS2,,{},Lab,ann@contoso.com\r\nS3,,{},Lab,not a upn\r\n",
        &good[..100],
        synthetic("S3")
    );
    let file = write(dir.path(), "devices.csv", &text);
    hangar()
        .current_dir(dir.path())
        .args(["csv", "check", "devices.csv"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "devices.csv:3: Hardware Hash: error invalid-hardware-hash: the hash cannot be decoded",
        ))
        .stdout(predicate::str::contains("Re-collect"))
        .stdout(predicate::str::contains(
            "devices.csv:4: Assigned User: error invalid-upn",
        ))
        .stdout(predicate::str::contains(
            "devices.csv: 3 rows, 1 valid, 2 errors",
        ));

    // Warnings alone do not fail.
    let mismatch = write(
        dir.path(),
        "mismatch.csv",
        &format!("{HEADER}\r\nOTHER,,{good}\r\n"),
    );
    hangar()
        .args(["csv", "check"])
        .arg(&mismatch)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            ":2: Device Serial Number: warning serial-mismatch",
        ));
    drop(file);
}

#[test]
fn check_json_shape() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "bad.csv",
        &format!("{HEADER}\r\nS1,,nothash\r\n"),
    );
    let output = hangar()
        .args(["csv", "check", "--json"])
        .arg(&file)
        .arg(fixtures().join("hp-probook-450-g5.csv"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(doc["intune"], false);
    assert_eq!(doc["summary"]["files"], 2);
    assert_eq!(doc["summary"]["rows"], 2);
    assert_eq!(doc["summary"]["validRows"], 1);
    assert_eq!(doc["summary"]["errors"], 1);
    assert_eq!(doc["summary"]["byCode"]["invalid-hardware-hash"], 1);
    let files = doc["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["encoding"], "ascii");
    assert_eq!(files[0]["header"][2], "Hardware Hash");
    let finding = &files[0]["findings"][0];
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["code"], "invalid-hardware-hash");
    assert_eq!(finding["line"], 2);
    assert_eq!(finding["column"], "Hardware Hash");
    assert_eq!(finding["ztdError"]["name"], "InvalidZtdHardwareHash");
    assert_eq!(finding["ztdError"]["code"], 802);
    assert!(finding["file"].as_str().expect("file").ends_with("bad.csv"));
    assert!(finding["message"]
        .as_str()
        .expect("message")
        .contains("wrong size"));
    assert_eq!(files[1]["findings"].as_array().map(Vec::len), Some(0));
}

#[test]
fn check_intune_501_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = format!("{HEADER}\r\n");
    for i in 1..=501 {
        let serial = format!("SER{i:04}");
        text.push_str(&format!("{serial},,{}\r\n", synthetic(&serial)));
    }
    let file = write(dir.path(), "big.csv", &text);
    hangar()
        .args(["csv", "check"])
        .arg(&file)
        .assert()
        .success();
    hangar()
        .args(["csv", "check", "--intune"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("big.csv:502: error too-many-rows"))
        .stdout(predicate::str::contains("at most 500"));
}

#[test]
fn check_missing_file_names_it() {
    hangar()
        .args(["csv", "check", "/nonexistent/devices.csv"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "/nonexistent/devices.csv: error file-unreadable",
        ));
}

#[test]
fn merge_dedupes_splits_and_outputs_check_clean() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = time::macros::datetime!(2025-01-01 00:00 UTC);
    let stale = hwhash::Builder::new()
        .serial("D0")
        .tpm()
        .collected_at(old)
        .build()
        .to_base64()
        .expect("encodes");
    let mut a = format!("{HEADER},Group Tag\r\nD0,,{stale},Lab\r\n");
    for i in 1..=4 {
        a.push_str(&format!("D{i},,{},Lab\r\n", synthetic(&format!("D{i}"))));
    }
    a.push_str("D9,,broken,Lab\r\n");
    let b = format!(
        "{HEADER}\r\nD0,,{}\r\nD3,,{}\r\n",
        synthetic("D0"),
        synthetic("D3")
    );
    let a = write(dir.path(), "a.csv", &a);
    let b = write(dir.path(), "b.csv", &b);

    hangar()
        .current_dir(dir.path())
        .args([
            "csv",
            "merge",
            "a.csv",
            "b.csv",
            "-o",
            "import.csv",
            "--max-rows",
            "2",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote import-1.csv (2 rows)"))
        .stdout(predicate::str::contains("wrote import-3.csv (1 rows)"))
        .stdout(predicate::str::contains(
            "dropped a.csv:2: duplicate-device: the same device as b.csv:2",
        ))
        .stdout(predicate::str::contains(
            "dropped a.csv:7: invalid-hardware-hash",
        ))
        .stdout(predicate::str::contains(
            "dropped b.csv:3: duplicate-device: the same device as a.csv:5",
        ))
        .stdout(predicate::str::contains(
            "8 rows read, 5 written to 3 files, 3 dropped",
        ));
    assert!(!dir.path().join("import-4.csv").exists());

    let outputs: Vec<PathBuf> = (1..=3)
        .map(|n| dir.path().join(format!("import-{n}.csv")))
        .collect();
    let mut serials = Vec::new();
    for output in &outputs {
        let text = std::fs::read_to_string(output).expect("ASCII output");
        assert!(
            text.starts_with("Device Serial Number,Windows Product ID,Hardware Hash,Group Tag\r\n")
        );
        serials.extend(
            text.lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap_or_default().to_string()),
        );
    }
    assert_eq!(serials, ["D1", "D2", "D3", "D4", "D0"]);
    hangar()
        .args(["csv", "check", "--intune"])
        .args(&outputs)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "total: 3 files, 5 rows, 5 valid, 0 errors, 0 warnings",
        ));
    drop((a, b));
}

#[test]
fn merge_failures_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    hangar()
        .current_dir(dir.path())
        .args(["csv", "merge", "missing.csv", "-o", "out"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.csv"));
    write(dir.path(), "bad.csv", &format!("{HEADER}\r\nX,,broken\r\n"));
    hangar()
        .current_dir(dir.path())
        .args(["csv", "merge", "bad.csv", "-o", "out"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "dropped bad.csv:2: invalid-hardware-hash",
        ))
        .stderr(predicate::str::contains("nothing to write"));
    hangar()
        .args(["csv", "merge", "x.csv", "-o", "out", "--max-rows", "0"])
        .assert()
        .code(2);
}
