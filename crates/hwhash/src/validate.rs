//! What is wrong with a hash, in words a person can act on. Three levels, as `oa3tool
//! /ValidateHwHash` reports them, and more.

use crate::decode::{base64_to_bytes, inspect_bytes, DecodeError};
use crate::model::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
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
    pub message: String,
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
    match base64_to_bytes(text.as_ref()) {
        Ok(bytes) => validate_bytes_at(&bytes, now),
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
            findings.sort_by(|a, b| b.level.cmp(&a.level));
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
        message: format!("{e}. {advice}"),
    }
}

/// The semantic checks on a structurally sound (or partly readable) hash.
pub fn check(hash: &HardwareHash, now: OffsetDateTime) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |level, code, field, message: String| {
        out.push(Finding {
            level,
            code,
            field,
            message,
        })
    };

    for (kind, bytes) in hash.raw_records() {
        if is_known_kind(kind) {
            push(
                Level::Error,
                "malformed-record",
                "Hash",
                format!("record {kind} has {} payload bytes, too few for its layout; collect the hash again", bytes.len()),
            );
        }
    }

    match hash.manufacturer() {
        None => push(
            Level::Error,
            "missing-manufacturer",
            "SmbiosSystemManufacturer",
            "the hash has no system manufacturer (record 16); the firmware must report one before the device can be registered".into(),
        ),
        Some(m) if m.trim().is_empty() => push(
            Level::Critical,
            "empty-manufacturer",
            "SmbiosSystemManufacturer",
            "the system manufacturer is empty; ask the OEM for a firmware update that sets it".into(),
        ),
        Some(_) => {}
    }
    match hash.serial() {
        None => push(
            Level::Error,
            "missing-serial",
            "SmbiosSystemSerialNumber",
            "the hash has no system serial number (record 14); the device cannot be registered".into(),
        ),
        Some(s) if s.trim().is_empty() => push(
            Level::Critical,
            "empty-serial",
            "SmbiosSystemSerialNumber",
            "the system serial number is empty; Autopilot cannot tell this device from others of its model".into(),
        ),
        Some(s) if is_placeholder_serial(&s) => push(
            Level::Info,
            "placeholder-serial",
            "SmbiosSystemSerialNumber",
            format!("the serial number {:?} is a firmware placeholder, not a real serial; the device is identified by its UUID and TPM instead, and the CSV serial column may be left empty", s.trim()),
        ),
        Some(_) => {}
    }
    if present(hash.product_name()).is_none() {
        push(Level::Critical, "missing-product-name", "SmbiosSystemProductName", "the system product name (model) is missing; tuple registration by partners and OEMs will not find this device".into());
    }
    if present(hash.text(TextField::SmbiosSystemFamily)).is_none() {
        push(
            Level::Critical,
            "missing-family",
            "SmbiosSystemFamily",
            "the system family is missing; ask the OEM for a firmware update that sets it".into(),
        );
    }
    match hash.smbios_uuid() {
        None => push(Level::Critical, "missing-uuid", "SmbiosUuid", "the SMBIOS UUID is missing; the device loses its strongest identity after the TPM".into()),
        Some(u) if u.is_placeholder() => push(
            Level::Critical,
            "missing-uuid",
            "SmbiosUuid",
            format!("the SMBIOS UUID {} is a firmware placeholder; ask the OEM or the hypervisor to set a unique UUID", u.to_guid_string()),
        ),
        Some(_) => {}
    }
    let disk_serial = hash
        .texts(TextField::DiskSerialNumber)
        .chain(hash.texts(TextField::DiskSerialNumberKernel))
        .any(|s| !s.split('|').next().unwrap_or_default().trim().is_empty());
    if !disk_serial {
        push(Level::Critical, "missing-disk-serial", "DiskSerialNumber", "no disk serial number; attach the disk with a serial (on VMs, enable disk UUIDs) before collecting".into());
    }
    if hash.network_adapters().next().is_none() {
        push(
            Level::Critical,
            "missing-mac",
            "MacAddress",
            "no physical network adapter; collect the hash with the network adapters present"
                .into(),
        );
    }
    let tpm_version = present(hash.text(TextField::TpmVersion)).is_some();
    let ek = hash.tpm_ek_pub().filter(|ek| !ek.is_empty());
    if !tpm_version {
        push(Level::Critical, "missing-tpm-version", "TpmVersion", "no TPM: self-deploying and pre-provisioning modes will not work; enable the TPM in the firmware and collect again".into());
    }
    if ek.is_none() {
        push(
            Level::Critical,
            "missing-tpm-ek",
            "TpmEkPubHash",
            "no TPM endorsement key: self-deploying and pre-provisioning modes will not work"
                .into(),
        );
    }
    match hash.offline_device_id() {
        None => push(
            Level::Critical,
            "missing-offline-id",
            "OfflineDeviceId",
            "no offline device id (record 11)".into(),
        ),
        Some(id) => {
            if id.method.0 != 1 {
                push(
                    Level::Critical,
                    "offline-id-not-tpm",
                    "OfflineDeviceIdMethod",
                    format!("the offline device id comes from {} rather than the TPM, so it does not survive a reinstall", id.method),
                );
            } else if let Some(ek) = ek {
                if Sha256::digest(ek).as_slice() != id.id.as_slice() {
                    push(Level::Info, "offline-id-mismatch", "OfflineDeviceId", "the offline device id is not the SHA-256 of the TPM endorsement key, as the TPM_EK method requires; the hash may have been edited".into());
                }
            }
        }
    }
    if present(hash.product_key_id()).is_none() {
        push(Level::Critical, "missing-product-key-id", "ProductKeyID", "no OEM product key id (normal on VMs and retail machines); partners and OEMs cannot register this device by PKID".into());
    }
    if let Some(os) = hash.os() {
        if os.os_type.0 == 1 {
            push(Level::Info, "winpe", "OSType", "collected in WinPE; fine for registration, but some fields (network adapters, disks) may differ from the full OS".into());
        }
        let at = os.collected_at();
        if at > now + time::Duration::minutes(5) {
            push(
                Level::Info,
                "collected-in-future",
                "OsSystemTime",
                format!(
                    "collected at {}, which is in the future; the device's clock was wrong",
                    crate::json::format_time(at)
                ),
            );
        }
    } else {
        push(
            Level::Critical,
            "missing-os-record",
            "OsSystemTime",
            "no OS record (record 1): collection time and tool version are unknown".into(),
        );
    }
    out
}

fn present(v: Option<std::borrow::Cow<'_, str>>) -> Option<std::borrow::Cow<'_, str>> {
    v.filter(|s| !s.trim().is_empty())
}

fn is_known_kind(kind: u16) -> bool {
    matches!(
        kind,
        1 | 2 | 5 | 6 | 8 | 9 | 10 | 11 | 12 | 25 | 27 | 29 | 34
    ) || TextField::from_kind(kind).is_some()
}
