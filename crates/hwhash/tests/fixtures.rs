//! Every real hash in shared/fixtures decodes to the right values and re-encodes byte for byte.

use hwhash::*;
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/hwhash")
}

/// (file stem, CSV serial, hash text) for each single-device fixture.
fn fixtures() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(fixture_dir())
        .expect("fixtures present")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".csv") || name.contains("utf16") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let row = text.lines().nth(1).unwrap();
        let cols: Vec<&str> = row.split(',').collect();
        out.push((
            name.trim_end_matches(".csv").to_string(),
            cols[0].to_string(),
            cols[2].trim().to_string(),
        ));
    }
    assert_eq!(out.len(), 11, "expected the eleven fixtures");
    out
}

fn fixture(stem: &str) -> HardwareHash {
    let (_, _, text) = fixtures().into_iter().find(|(s, _, _)| s == stem).unwrap();
    decode(&text).unwrap()
}

#[test]
fn every_fixture_round_trips_exactly() {
    for (stem, _, text) in fixtures() {
        let hash = decode(&text).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(
            hash.to_base64().unwrap(),
            text,
            "{stem} re-encodes differently"
        );
        assert!(
            hash.raw_records()
                .all(|(kind, _)| matches!(kind, 35 | 37 | 38)),
            "{stem}: unexpected raw record"
        );
    }
}

#[test]
fn csv_serial_matches_smbios_serial() {
    for (stem, csv_serial, text) in fixtures() {
        let hash = decode(&text).unwrap();
        let serial = hash.serial().unwrap().into_owned();
        if csv_serial.is_empty() {
            assert_eq!(serial, SMBIOS_MISSING, "{stem}");
        } else {
            assert_eq!(serial, csv_serial, "{stem}");
        }
    }
}

#[test]
fn dell_uuid_is_in_windows_byte_order() {
    let hash = fixture("dell-latitude-5530-winpe");
    let uuid = hash.smbios_uuid().unwrap();
    // Stored bytes 80 d2 45 c2 | ec 2b | ab e8 | 04 8c ...: the first three fields are little-endian.
    assert_eq!(hex_of(&uuid.bytes), "80d245c2ec2babe8048cb8f8d976e2fb");
    assert_eq!(
        uuid.to_guid_string(),
        "c245d280-2bec-e8ab-048c-b8f8d976e2fb"
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
