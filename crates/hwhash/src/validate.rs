//! What is wrong with a hash, in words a person can act on. Three levels, as `oa3tool
//! /ValidateHwHash` reports them, and more.

use crate::decode::{inspect_bytes, with_bytes, DecodeError};
use crate::model::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use time::OffsetDateTime;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Autopilot features work; worth knowing.
    Info,
    /// The hash imports, but Autopilot features will not work.
    Critical,
    /// The hash is unusable; Intune answers 802 `InvalidZtdHardwareHash`.
    Error,
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Level::Info => "info",
            Level::Critical => "critical",
            Level::Error => "error",
        })
    }
}

/// One thing wrong with a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// Stable, kebab-case; safe to match on.
    pub code: &'static str,
    /// The field (oa3tool name) or structure concerned.
    pub field: &'static str,
    pub message: Cow<'static, str>,
}

/// The outcome of validating a hash: what could be decoded, and every finding.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The records, when the framing could be read (even if later checks failed).
    pub hash: Option<HardwareHash>,
    pub findings: Vec<Finding>,
}

impl Validation {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Error)
    }

    pub fn worst(&self) -> Option<Level> {
        self.findings.iter().map(|f| f.level).max()
    }
}

/// Validates the base64 text form against the clock.
pub fn validate(text: impl AsRef<[u8]>) -> Validation {
    validate_at(text, OffsetDateTime::now_utc())
}

/// Validates the base64 text form; `now` decides whether the collection time is in the future.
pub fn validate_at(text: impl AsRef<[u8]>, now: OffsetDateTime) -> Validation {
    match with_bytes(text.as_ref(), |bytes| validate_bytes_at(bytes, now)) {
        Ok(validation) => validation,
        Err(e) => Validation {
            hash: None,
            findings: vec![structural(&e)],
        },
    }
}

/// Validates raw bytes.
pub fn validate_bytes_at(bytes: &[u8], now: OffsetDateTime) -> Validation {
    match inspect_bytes(bytes) {
        Err(e) => Validation {
            hash: None,
            findings: vec![structural(&e)],
        },
        Ok(inspection) => {
            let mut findings: Vec<Finding> = inspection.faults.iter().map(structural).collect();
            findings.extend(check(&inspection.hash, now));
            findings.sort_by_key(|f| std::cmp::Reverse(f.level));
            Validation {
                hash: Some(inspection.hash),
                findings,
            }
        }
    }
}

fn structural(e: &DecodeError) -> Finding {
    let advice = match e {
        DecodeError::Base64 { .. } | DecodeError::WrongSize { .. } => {
            "Copy the whole Hardware Hash value again (4000 characters, no line breaks lost)."
        }
        _ => "The hash is damaged; collect it again on the device (Get-WindowsAutopilotInfo or hangar hash collect).",
    };
    Finding {
        level: Level::Error,
        code: e.code(),
        field: "Hash",
        message: format!("{e}. {advice}").into(),
    }
}

/// What one pass over the records learns; the checks below only read this.
#[derive(Default)]
struct Seen<'a> {
    manufacturer: Option<&'a TextRecord>,
    serial: Option<&'a TextRecord>,
    product_name: bool,
    family: bool,
    disk_serial: bool,
    mac: bool,
    tpm_version: bool,
    product_key_id: bool,
    uuid: Option<&'a SmbiosUuid>,
    ek: Option<&'a [u8]>,
    offline_id: Option<&'a OfflineDeviceId>,
    os: Option<&'a OsInfo>,
    malformed: Vec<(u16, usize)>,
}

/// True when the C-string or plain text holds something other than spaces.
fn has_text(t: &TextRecord) -> bool {
    let bytes = match t.field.encoding() {
        TextEncoding::CString => t.raw.split(|&b| b == 0).next().unwrap_or_default(),
        _ => &t.raw,
    };
    bytes.iter().any(|b| !b.is_ascii_whitespace())
}

fn scan(hash: &HardwareHash) -> Seen<'_> {
    let mut seen = Seen::default();
    for record in &hash.records {
        match record {
            Record::Text(t) => match t.field {
                TextField::SmbiosSystemManufacturer => {
                    seen.manufacturer = seen.manufacturer.or(Some(t))
                }
                TextField::SmbiosSystemSerialNumber => seen.serial = seen.serial.or(Some(t)),
                TextField::SmbiosSystemProductName => seen.product_name |= has_text(t),
                TextField::SmbiosSystemFamily => seen.family |= has_text(t),
                TextField::TpmVersion => seen.tpm_version |= has_text(t),
                TextField::ProductKeyId => seen.product_key_id |= has_text(t),
                TextField::DiskSerialNumber | TextField::DiskSerialNumberKernel => {
                    // `serial|product|vendor`: only the serial part counts.
                    let serial = t
                        .raw
                        .split(|&b| b == b'|' || b == 0)
                        .next()
                        .unwrap_or_default();
                    seen.disk_serial |= serial.iter().any(|b| !b.is_ascii_whitespace());
                }
                _ => {}
            },
            Record::NetworkAdapter(_) => seen.mac = true,
            Record::SmbiosUuid(u) => seen.uuid = seen.uuid.or(Some(u)),
            Record::TpmEkPub(ek) if !ek.is_empty() => seen.ek = seen.ek.or(Some(ek)),
            Record::OfflineDeviceId(id) => seen.offline_id = seen.offline_id.or(Some(id)),
            Record::Os(os) => seen.os = seen.os.or(Some(os)),
            Record::Raw { kind, bytes } if is_known_kind(*kind) => {
                seen.malformed.push((*kind, bytes.len()))
            }
            _ => {}
        }
    }
    seen
}

/// The semantic checks on a structurally sound (or partly readable) hash.
pub fn check(hash: &HardwareHash, now: OffsetDateTime) -> Vec<Finding> {
    let seen = scan(hash);
    let mut out = Vec::new();
    let mut push = |level, code, field, message: Cow<'static, str>| {
        out.push(Finding {
            level,
            code,
            field,
            message,
        })
    };
    use Level::{Critical, Error, Info};

    for (kind, len) in &seen.malformed {
        push(
            Error,
            "malformed-record",
            "Hash",
            format!("record {kind} has {len} payload bytes, too few for its layout; collect the hash again").into(),
        );
    }
    match seen.manufacturer {
        None => push(Error, "missing-manufacturer", "SmbiosSystemManufacturer",
            "the hash has no system manufacturer (record 16); the firmware must report one before the device can be registered".into()),
        Some(m) if !has_text(m) => push(Critical, "empty-manufacturer", "SmbiosSystemManufacturer",
            "the system manufacturer is empty; ask the OEM for a firmware update that sets it".into()),
        Some(_) => {}
    }
    match seen.serial {
        None => push(Error, "missing-serial", "SmbiosSystemSerialNumber",
            "the hash has no system serial number (record 14); the device cannot be registered".into()),
        Some(s) if !has_text(s) => push(Critical, "empty-serial", "SmbiosSystemSerialNumber",
            "the system serial number is empty; Autopilot cannot tell this device from others of its model".into()),
        Some(s) => {
            let serial = s.value();
            if is_placeholder_serial(&serial) {
                push(Info, "placeholder-serial", "SmbiosSystemSerialNumber", format!(
                    "the serial number {:?} is a firmware placeholder, not a real serial; the device is identified by its UUID and TPM instead, and the CSV serial column may be left empty",
                    serial.trim()).into());
            }
        }
    }
    if !seen.product_name {
        push(Critical, "missing-product-name", "SmbiosSystemProductName",
            "the system product name (model) is missing; tuple registration by partners and OEMs will not find this device".into());
    }
    if !seen.family {
        push(
            Critical,
            "missing-family",
            "SmbiosSystemFamily",
            "the system family is missing; ask the OEM for a firmware update that sets it".into(),
        );
    }
    match seen.uuid {
        None => push(Critical, "missing-uuid", "SmbiosUuid",
            "the SMBIOS UUID is missing; the device loses its strongest identity after the TPM".into()),
        Some(u) if u.is_placeholder() => push(Critical, "missing-uuid", "SmbiosUuid", format!(
            "the SMBIOS UUID {} is a firmware placeholder; ask the OEM or the hypervisor to set a unique UUID",
            u.to_guid_string()).into()),
        Some(_) => {}
    }
    if !seen.disk_serial {
        push(Critical, "missing-disk-serial", "DiskSerialNumber",
            "no disk serial number; attach the disk with a serial (on VMs, enable disk UUIDs) before collecting".into());
    }
    if !seen.mac {
        push(
            Critical,
            "missing-mac",
            "MacAddress",
            "no physical network adapter; collect the hash with the network adapters present"
                .into(),
        );
    }
    if !seen.tpm_version {
        push(Critical, "missing-tpm-version", "TpmVersion",
            "no TPM: self-deploying and pre-provisioning modes will not work; enable the TPM in the firmware and collect again".into());
    }
    if seen.ek.is_none() {
        push(
            Critical,
            "missing-tpm-ek",
            "TpmEkPubHash",
            "no TPM endorsement key: self-deploying and pre-provisioning modes will not work"
                .into(),
        );
    }
    match seen.offline_id {
        None => push(Critical, "missing-offline-id", "OfflineDeviceId", "no offline device id (record 11)".into()),
        Some(id) if id.method.0 != 1 => push(Critical, "offline-id-not-tpm", "OfflineDeviceIdMethod", format!(
            "the offline device id comes from {} rather than the TPM, so it does not survive a reinstall",
            id.method).into()),
        Some(id) => {
            if let Some(ek) = seen.ek {
                if Sha256::digest(ek).as_slice() != id.id.as_slice() {
                    push(Info, "offline-id-mismatch", "OfflineDeviceId",
                        "the offline device id is not the SHA-256 of the TPM endorsement key, as the TPM_EK method requires; the hash may have been edited".into());
                }
            }
        }
    }
    if !seen.product_key_id {
        push(Critical, "missing-product-key-id", "ProductKeyID",
            "no OEM product key id (normal on VMs and retail machines); partners and OEMs cannot register this device by PKID".into());
    }
    match seen.os {
        Some(os) => {
            if os.os_type.0 == 1 {
                push(Info, "winpe", "OSType",
                    "collected in WinPE; fine for registration, but some fields (network adapters, disks) may differ from the full OS".into());
            }
            let at = os.collected_at();
            if at > now + time::Duration::minutes(5) {
                push(
                    Info,
                    "collected-in-future",
                    "OsSystemTime",
                    format!(
                        "collected at {}, which is in the future; the device's clock was wrong",
                        crate::json::format_time(at)
                    )
                    .into(),
                );
            }
        }
        None => push(
            Critical,
            "missing-os-record",
            "OsSystemTime",
            "no OS record (record 1): collection time and tool version are unknown".into(),
        ),
    }
    out
}

fn is_known_kind(kind: u16) -> bool {
    matches!(
        kind,
        1 | 2 | 5 | 6 | 8 | 9 | 10 | 11 | 12 | 25 | 27 | 29 | 34
    ) || TextField::from_kind(kind).is_some()
}
