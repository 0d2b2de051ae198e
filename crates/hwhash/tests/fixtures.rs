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

fn report(stem: &str) -> serde_json::Value {
    serde_json::to_value(Report::of(&fixture(stem))).unwrap()
}

#[test]
fn record_20_is_the_board_manufacturer() {
    let hash = fixture("vmware-esxi-notpm");
    let r = report("vmware-esxi-notpm");
    assert_eq!(r["SmbiosSystemManufacturer"], "VMware, Inc.");
    assert_eq!(r["SmbiosBoardManufacturer"], "Intel Corporation");
    assert_eq!(
        hash.text(TextField::SmbiosBoardManufacturer).unwrap(),
        "Intel Corporation"
    );
}

#[test]
fn nvme_disk_serials_keep_the_eui_format() {
    let r = report("hp-elitebook-840-g8");
    let serials = r["DiskSerialNumbers"].as_array().unwrap();
    assert_eq!(
        serials[0],
        "7D4A_7F93_0BFB_A429_E13A_5712_295B_ED87.|JYS512G3000XXG3|"
    );
    assert_eq!(r["Disks"][0]["BusType"], "NVMe");
    assert_eq!(r["Disks"][0]["CapacityGB"], 512);
}

#[test]
fn collection_time_counts_from_2000_with_local_offset() {
    let r = report("lenovo-thinkpad-p14s-gen5");
    assert_eq!(r["OsSystemTime"], "2025-12-01T17:57:34Z");
    assert_eq!(r["OsLocalTime"], "2025-12-01T09:57:34-08:00");
    // ToolVersion 3 stores the bias in minutes.
    let r = report("hp-probook-450-g5");
    assert_eq!(r["ToolVersion"], 3);
    assert_eq!(r["OsSystemTime"], "2018-03-22T23:38:45Z");
    assert_eq!(r["OsLocalTime"], "2018-03-23T01:38:45+02:00");
}

#[test]
fn tool_versions_follow_the_build() {
    let expected = [
        ("hp-probook-450-g5", 3, "10.0.16299.248"),
        ("qemu-q35-swtpm", 5, "10.0.19041.5072"),
        ("qemu-q35-server2022-notpm", 7, "10.0.20348.143"),
        ("hp-elitebook-650-g10", 8, "10.0.22621.2506"),
        ("hp-elitebook-840-g8", 9, "10.0.26100.7705"),
    ];
    for (stem, version, tool_build) in expected {
        let r = report(stem);
        assert_eq!(r["ToolVersion"], version, "{stem}");
        assert_eq!(r["ToolBuild"], tool_build, "{stem}");
    }
    assert_eq!(report("hp-elitebook-840-g8")["OsBuild"], "10.0.26200.7840");
}

#[test]
fn winpe_and_full_os_are_named() {
    assert_eq!(report("dell-latitude-5530-winpe")["OSType"], "WinPE");
    assert_eq!(report("hp-elitebook-840-g8")["OSType"], "FullOS");
    let findings = check(
        &fixture("dell-latitude-5530-winpe"),
        time::OffsetDateTime::now_utc(),
    );
    assert!(findings
        .iter()
        .any(|f| f.code == "winpe" && f.level == Level::Info));
}

#[test]
fn offline_id_is_sha256_of_the_ek_on_every_tpm_device() {
    let mut with_tpm = 0;
    for (stem, _, text) in fixtures() {
        let hash = decode(&text).unwrap();
        let r = Report::of(&hash);
        if r.tpm_ek_pub_hash.is_some() {
            with_tpm += 1;
            assert_eq!(
                r.offline_device_id_method.unwrap().name(),
                Some("TPM_EK"),
                "{stem}"
            );
            assert_eq!(r.offline_device_id, r.tpm_ek_pub_hash, "{stem}");
            assert_eq!(hash.tpm_ek_pub().unwrap().len(), 256, "{stem}");
        }
    }
    assert_eq!(with_tpm, 9);
    let no_tpm = report("qemu-q35-server2022-notpm");
    assert_eq!(no_tpm["TpmEkPubHash"], serde_json::Value::Null);
    assert_eq!(no_tpm["OfflineDeviceIdMethod"], "UEFI_VARIABLE_RANDOMSEED");
}

#[test]
fn arm64_device_is_arm64_throughout() {
    let r = report("vmware-fusion-arm64");
    assert_eq!(r["ProcessorArchitecture"], "ARM64");
    assert_eq!(r["OsCpuArchitecture"], "ARM64");
    assert_eq!(r["ProcessorManufacturer"], "Apple");
}

#[test]
fn repeated_records_become_lists() {
    let r = report("lenovo-thinkpad-x270");
    let nics = r["NetworkAdapters"].as_array().unwrap();
    assert_eq!(nics.len(), 4);
    assert!(nics
        .iter()
        .any(|n| n["MacAddress"] == "ff:ff:ff:ff:ff:ff" && n["PhysicalMedium"] == "WirelessWan"));
    let p14s = report("lenovo-thinkpad-p14s-gen5");
    assert_eq!(p14s["Gpus"].as_array().unwrap().len(), 2);
    assert_eq!(p14s["ProcessorCoreClasses"].as_array().unwrap().len(), 2);
    let t14s = report("lenovo-thinkpad-t14s-2in1-gen1");
    let digitizer: Vec<&str> = t14s["Digitizer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        digitizer.contains(&"IntegratedTouch") && digitizer.contains(&"IntegratedPen"),
        "{digitizer:?}"
    );
}

#[test]
fn unknown_records_are_kept_raw_and_shown_as_hex() {
    let r = report("hp-elitebook-840-g8");
    let unknown = r["UnknownRecords"].as_array().unwrap();
    assert_eq!(unknown[0]["Type"], 35);
    assert_eq!(unknown[0]["Hex"], "02ff07");
    assert_eq!(
        report("dell-latitude-5530-winpe")["Locale"],
        "en-US|en-US|Pacific Standard Time|en-US,de-DE|0407:00000407"
    );
}

#[test]
fn vm_without_disk_records_still_has_kernel_disk_serial() {
    let hash = fixture("vmware-esxi-notpm");
    assert_eq!(hash.disks().count(), 0);
    assert_eq!(hash.network_adapters().count(), 0);
    let findings = check(&hash, time::OffsetDateTime::now_utc());
    let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    assert!(!codes.contains(&"missing-disk-serial"), "{codes:?}");
    assert!(codes.contains(&"missing-mac"), "{codes:?}");
    assert!(codes.contains(&"missing-tpm-ek"), "{codes:?}");
}

#[test]
fn identity_keys_of_real_devices() {
    let hp = IdentityKeys::of(&fixture("hp-elitebook-840-g8"));
    let tuple = hp.tuple.clone().unwrap();
    assert_eq!(
        (
            tuple.manufacturer.as_str(),
            tuple.model.as_str(),
            tuple.serial.as_str()
        ),
        ("HP", "HP EliteBook 840 G8 Notebook PC", "8NY7017XC5")
    );
    assert_eq!(hp.product_key_id.as_deref(), Some("8344442618018"));
    assert_eq!(
        hp.tpm_ek_hash.as_deref(),
        Some("7441414107de65ef64da9e5f790e867cdafe160ff529d3c90e2deb07cae955bc")
    );
    let qemu = IdentityKeys::of(&fixture("qemu-q35-swtpm"));
    assert!(qemu.tuple.is_none(), "placeholder serial is not a key");
    assert!(qemu.smbios_uuid.is_some() && qemu.tpm_ek_hash.is_some());
    // Every fixture is a distinct device.
    let all: Vec<IdentityKeys> = fixtures()
        .iter()
        .map(|(_, _, t)| IdentityKeys::of(&decode(t).unwrap()))
        .collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert!(!a.overlaps(b));
        }
    }
}

#[test]
fn real_hashes_validate_without_errors() {
    for (stem, _, text) in fixtures() {
        let v = validate(&text);
        assert!(!v.has_errors(), "{stem}: {:?}", v.findings);
    }
    let qemu = validate(
        fixtures()
            .into_iter()
            .find(|(s, _, _)| s == "qemu-q35-swtpm")
            .unwrap()
            .2,
    );
    assert!(qemu.findings.iter().any(|f| f.code == "placeholder-serial"));
}
