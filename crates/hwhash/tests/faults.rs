//! Each structural fault yields its own error, never a panic; validation explains it.

use hwhash::*;
use sha2::{Digest, Sha256};

fn good() -> Vec<u8> {
    Builder::new()
        .serial("SN-1")
        .manufacturer("Contoso")
        .model("Laptop 7")
        .tpm()
        .build()
        .to_bytes()
        .unwrap()
}

fn total_length(bytes: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([bytes[2], bytes[3]]))
}

/// Recomputes the trailer so that only the intended fault remains.
fn reseal(bytes: &mut [u8]) {
    let tl = total_length(bytes);
    let digest = Sha256::digest(&bytes[..tl]);
    bytes[tl + 4..tl + 36].copy_from_slice(&digest);
}

#[test]
fn not_base64() {
    let err = decode("T0GH!!!").unwrap_err();
    assert_eq!(err.code(), "not-base64");
    assert!(err.to_string().contains("'!'"), "{err}");
}

#[test]
fn wrong_size() {
    let text = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &good()[..2997]);
    assert_eq!(
        decode(text).unwrap_err(),
        DecodeError::WrongSize { actual: 2997 }
    );
}

#[test]
fn bad_magic() {
    let mut b = good();
    b[0] = b'X';
    assert_eq!(decode_bytes(&b).unwrap_err().code(), "bad-magic");
}

#[test]
fn bad_total_length() {
    let mut b = good();
    b[2..4].copy_from_slice(&2990u16.to_le_bytes());
    assert_eq!(decode_bytes(&b).unwrap_err().code(), "bad-total-length");
}

#[test]
fn record_overrun() {
    let mut b = good();
    // Make the first record claim more bytes than the records hold.
    b[6..8].copy_from_slice(&2000u16.to_le_bytes());
    reseal(&mut b);
    let err = decode_bytes(&b).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::RecordOverrun {
                offset: 4,
                kind: 1,
                length: 2000,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn record_shorter_than_its_header() {
    let mut b = good();
    b[6..8].copy_from_slice(&2u16.to_le_bytes());
    reseal(&mut b);
    assert!(matches!(
        decode_bytes(&b).unwrap_err(),
        DecodeError::BadRecordLength {
            offset: 4,
            length: 2,
            ..
        }
    ));
}

#[test]
fn bad_trailer() {
    let mut b = good();
    let tl = total_length(&b);
    b[tl] = b'X';
    assert_eq!(decode_bytes(&b).unwrap_err().code(), "bad-trailer");
}

#[test]
fn checksum_mismatch_still_shows_the_records() {
    let mut b = good();
    let tl = total_length(&b);
    b[tl - 2] ^= 0x01; // flip a bit inside the last record
    assert_eq!(decode_bytes(&b).unwrap_err(), DecodeError::ChecksumMismatch);
    let inspection = inspect_bytes(&b).unwrap();
    assert_eq!(inspection.faults, vec![DecodeError::ChecksumMismatch]);
    assert_eq!(inspection.hash.serial().unwrap(), "SN-1");
    assert!(!Report::of_inspection(&inspection).checksum.valid);
}

#[test]
fn nonzero_padding() {
    let mut b = good();
    b[2999] = 7;
    assert_eq!(
        decode_bytes(&b).unwrap_err(),
        DecodeError::NonZeroPadding { offset: 2999 }
    );
}

#[test]
fn truncated_known_record_is_kept_raw_and_reported() {
    let mut hash = Builder::new()
        .serial("SN-2")
        .manufacturer("Contoso")
        .model("M")
        .build();
    hash.records.push(Record::Raw {
        kind: 6,
        bytes: vec![1, 2, 3],
    });
    let text = hash.to_base64().unwrap();
    let decoded = decode(&text).unwrap();
    assert_eq!(decoded, hash);
    let v = validate(&text);
    assert!(v
        .findings
        .iter()
        .any(|f| f.code == "malformed-record" && f.level == Level::Error));
}

#[test]
fn missing_serial_and_manufacturer_are_errors() {
    let mut hash = Builder::new()
        .serial("SN-3")
        .manufacturer("Contoso")
        .model("M")
        .build();
    hash.records.retain(|r| !matches!(r, Record::Text(t) if matches!(t.field, TextField::SmbiosSystemSerialNumber | TextField::SmbiosSystemManufacturer)));
    let v = validate(hash.to_base64().unwrap());
    let errors: Vec<&str> = v
        .findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .map(|f| f.code)
        .collect();
    assert_eq!(errors, vec!["missing-manufacturer", "missing-serial"]);
}

#[test]
fn offline_id_mismatch_and_future_collection_are_info() {
    let mut hash = Builder::new()
        .serial("SN-4")
        .manufacturer("Contoso")
        .model("M")
        .tpm()
        .build();
    for r in &mut hash.records {
        if let Record::OfflineDeviceId(id) = r {
            id.id[0] ^= 0xFF;
        }
    }
    let now = time::macros::datetime!(2025-01-01 00:00 UTC);
    let v = validate_at(hash.to_base64().unwrap(), now);
    let info: Vec<&str> = v
        .findings
        .iter()
        .filter(|f| f.level == Level::Info)
        .map(|f| f.code)
        .collect();
    assert!(info.contains(&"offline-id-mismatch"), "{info:?}");
    assert!(info.contains(&"collected-in-future"), "{info:?}");
    assert!(!v.has_errors());
}

#[test]
fn device_without_tpm_is_critical_not_error() {
    let v = validate(
        Builder::new()
            .serial("SN-5")
            .manufacturer("Contoso")
            .model("M")
            .build()
            .to_base64()
            .unwrap(),
    );
    let critical: Vec<&str> = v
        .findings
        .iter()
        .filter(|f| f.level == Level::Critical)
        .map(|f| f.code)
        .collect();
    assert!(
        critical.contains(&"missing-tpm-version")
            && critical.contains(&"missing-tpm-ek")
            && critical.contains(&"offline-id-not-tpm"),
        "{critical:?}"
    );
    assert!(!v.has_errors());
}

#[test]
fn line_wrapped_and_padded_text_is_accepted() {
    let text = Builder::new()
        .serial("SN-6")
        .manufacturer("C")
        .model("M")
        .build()
        .to_base64()
        .unwrap();
    let wrapped: String = text
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    assert_eq!(
        decode(format!("  {wrapped}\n")).unwrap().serial().unwrap(),
        "SN-6"
    );
}
