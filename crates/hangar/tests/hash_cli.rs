//! `hangar hash decode|validate|build` as a process, on the real fixtures.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/hwhash"
    ))
}

fn fixture_hash(stem: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join(format!("{stem}.csv"))).expect("fixture");
    let row = text.lines().nth(1).expect("a device row");
    row.split(',')
        .nth(2)
        .expect("a hash column")
        .trim()
        .to_string()
}

fn hangar() -> Command {
    Command::cargo_bin("hangar").expect("the hangar binary")
}

#[test]
fn decode_prints_the_sections_of_a_real_hash() {
    hangar()
        .args(["hash", "decode", &fixture_hash("hp-elitebook-840-g8")])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Serial number              8NY7017XC5",
        ))
        .stdout(predicate::str::contains(
            "Collected (UTC)            2026-02-26T19:21:02Z",
        ))
        .stdout(predicate::str::contains(
            "7D4A_7F93_0BFB_A429_E13A_5712_295B_ED87.|JYS512G3000XXG3|",
        ))
        .stdout(predicate::str::contains(
            "Offline id method          TPM_EK",
        ))
        .stdout(predicate::str::contains(
            "Type                       35: 02ff07",
        ));
}

#[test]
fn decode_json_uses_oa3tool_names_in_order() {
    let out = hangar()
        .args([
            "hash",
            "decode",
            "--json",
            &fixture_hash("dell-latitude-5530-winpe"),
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.trim_start().starts_with("{\n  \"ToolBuild\""),
        "{}",
        &text[..80]
    );
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["OSType"], "WinPE");
    assert_eq!(json["SmbiosSystemManufacturer"], "Dell Inc.");
    assert_eq!(json["SmbiosUuid"], "c245d280-2bec-e8ab-048c-b8f8d976e2fb");
    assert_eq!(json["Checksum"]["Valid"], true);
}

#[test]
fn decode_reads_standard_input_and_every_row_of_a_utf16_csv() {
    hangar()
        .args(["hash", "decode", "-"])
        .write_stdin(format!("{}\n", fixture_hash("vmware-fusion-arm64")))
        .assert()
        .success()
        .stdout(predicate::str::contains("ARM64"));
    let out = hangar()
        .args(["hash", "decode", "--json", "--csv"])
        .arg(fixtures().join("all-devices.utf16le.csv"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json.as_array().expect("one report per row").len(), 11);
}

#[test]
fn decode_of_a_damaged_hash_shows_what_it_can_and_fails() {
    let mut text = fixture_hash("hp-probook-450-g5").into_bytes();
    // Change one character inside the records: the checksum no longer matches.
    text[200] = if text[200] == b'A' { b'B' } else { b'A' };
    hangar()
        .args(["hash", "decode", std::str::from_utf8(&text).expect("ascii")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "Checksum                   INVALID",
        ))
        .stderr(predicate::str::contains("checksum mismatch"));
    hangar()
        .args(["hash", "decode", "T0GH!not*a#hash"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not base64"));
}

#[test]
fn validate_exit_code_follows_errors_only() {
    // Criticals (no TPM, no NIC) but no error: exit 0.
    hangar()
        .args(["hash", "validate", &fixture_hash("vmware-esxi-notpm")])
        .assert()
        .success()
        .stdout(predicate::str::contains("[missing-tpm-ek]"))
        .stdout(predicate::str::contains("0 error(s), 5 critical, 0 info"));
    let truncated = &fixture_hash("hp-elitebook-650-g10")[..3996];
    hangar()
        .args(["hash", "validate", "--json", truncated])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"code\": \"wrong-size\""))
        .stdout(predicate::str::contains("\"valid\": false"));
}

#[test]
fn build_makes_distinct_valid_devices_as_an_import_file() {
    let out = hangar()
        .args([
            "hash",
            "build",
            "--serial",
            "LAB",
            "--manufacturer",
            "Contoso",
            "--model",
            "Book 14",
        ])
        .args(["--tpm", "--count", "3", "--csv", "--group-tag", "Lab"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("ascii");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag"
    );
    assert_eq!(lines.len(), 4);
    let mut keys = Vec::new();
    for (i, line) in lines[1..].iter().enumerate() {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols[0], format!("LAB-{:04}", i + 1));
        assert_eq!(cols[3], "Lab");
        let hash = hwhash::decode(cols[2]).expect("valid hash");
        assert_eq!(hash.serial().expect("serial"), cols[0]);
        assert!(hash.has_tpm());
        keys.push(hwhash::IdentityKeys::of(&hash));
    }
    assert!(!keys[0].overlaps(&keys[1]) && !keys[1].overlaps(&keys[2]));
}

#[test]
fn build_refuses_bad_options_with_a_reason() {
    hangar()
        .args([
            "hash",
            "build",
            "--serial",
            "S",
            "--manufacturer",
            "M",
            "--model",
            "P",
            "--uuid",
            "nope",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not a GUID"));
    hangar()
        .args([
            "hash",
            "build",
            "--serial",
            "S",
            "--manufacturer",
            "M",
            "--model",
            "P",
        ])
        .args(["--count", "2", "--product-key-id", "1234567890123"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("PKID identifies a single device"));
    // A missing required flag is a usage error.
    hangar()
        .args(["hash", "build", "--serial", "S"])
        .assert()
        .code(2);
}

#[test]
fn build_with_a_given_uuid_keeps_windows_byte_order() {
    let out = hangar()
        .args([
            "hash",
            "build",
            "--serial",
            "D1",
            "--manufacturer",
            "Dell Inc.",
            "--model",
            "Latitude",
        ])
        .args(["--uuid", "4c4c4544-0034-3610-804c-b2c04f4a5933"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let hash = hwhash::decode(String::from_utf8(out.stdout).expect("ascii").trim()).expect("valid");
    let uuid = hash.smbios_uuid().expect("uuid");
    assert_eq!(&uuid.bytes[..4], b"DELL");
    assert_eq!(
        uuid.to_guid_string(),
        "4c4c4544-0034-3610-804c-b2c04f4a5933"
    );
}
