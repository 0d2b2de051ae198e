//! Bytes to [`HardwareHash`]. Every read is bounds-checked: arbitrary input yields a typed error,
//! never a panic.

use crate::enums::*;
use crate::model::*;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A structural fault: the hash cannot be used (Intune answers 802 `InvalidZtdHardwareHash`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not base64: {detail}")]
    Base64 { detail: String },
    #[error("wrong size: {actual} bytes, a hardware hash has exactly {HASH_LEN} (4000 base64 characters)")]
    WrongSize { actual: usize },
    #[error("bad magic: starts with {found:02x?}, a hardware hash starts with \"OA\" (4f 41)")]
    BadMagic { found: [u8; 2] },
    #[error("bad total length {total_length}: must be between 4 and {max}", max = HASH_LEN - TRAILER_LEN)]
    BadTotalLength { total_length: usize },
    #[error("record of type {kind} at offset {offset} has length {length}; a record is at least 4 bytes")]
    BadRecordLength {
        offset: usize,
        kind: u16,
        length: usize,
    },
    #[error("record of type {kind} at offset {offset} with length {length} runs past the end of the records at {total_length}")]
    RecordOverrun {
        offset: usize,
        kind: u16,
        length: usize,
        total_length: usize,
    },
    #[error("bad trailer at offset {offset}: found {found:02x?}, expected the checksum record 43 53 24 00")]
    BadTrailer { offset: usize, found: [u8; 4] },
    #[error("checksum mismatch: the SHA-256 in the trailer does not match the records; the hash was altered or truncated")]
    ChecksumMismatch,
    #[error("non-zero padding at offset {offset}: everything after the checksum must be zero")]
    NonZeroPadding { offset: usize },
}

impl DecodeError {
    /// A stable identifier for this kind of fault.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Base64 { .. } => "not-base64",
            DecodeError::WrongSize { .. } => "wrong-size",
            DecodeError::BadMagic { .. } => "bad-magic",
            DecodeError::BadTotalLength { .. } => "bad-total-length",
            DecodeError::BadRecordLength { .. } => "bad-record-length",
            DecodeError::RecordOverrun { .. } => "record-overrun",
            DecodeError::BadTrailer { .. } => "bad-trailer",
            DecodeError::ChecksumMismatch => "checksum-mismatch",
            DecodeError::NonZeroPadding { .. } => "nonzero-padding",
        }
    }
}

/// A hash read as far as its structure allows, with every fault found on the way. Faults after
/// the framing (trailer, checksum, padding, an overrunning last record) still leave the records
/// before them readable, which is what a person inspecting a damaged hash wants to see.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub hash: HardwareHash,
    pub faults: Vec<DecodeError>,
}

const ENGINE: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes the base64 text form. Surrounding and embedded whitespace (line-wrapped hashes) is
/// ignored; padding is optional.
pub fn decode(text: impl AsRef<[u8]>) -> Result<HardwareHash, DecodeError> {
    with_bytes(text.as_ref(), decode_bytes)?
}

/// Decodes a hash's 3000 bytes, rejecting any structural fault.
pub fn decode_bytes(bytes: &[u8]) -> Result<HardwareHash, DecodeError> {
    let inspection = inspect_bytes(bytes)?;
    match inspection.faults.into_iter().next() {
        Some(fault) => Err(fault),
        None => Ok(inspection.hash),
    }
}

/// Like [`decode`], but keeps going past faults that leave the records readable.
pub fn inspect(text: impl AsRef<[u8]>) -> Result<Inspection, DecodeError> {
    with_bytes(text.as_ref(), inspect_bytes)?
}

/// Decodes the base64 text and hands the bytes to `f`. A well-formed hash (exactly 4000
/// characters) decodes into a stack buffer: no allocation on the hot path.
pub(crate) fn with_bytes<R>(text: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<R, DecodeError> {
    let trimmed = text.trim_ascii();
    if trimmed.len() == HASH_TEXT_LEN {
        let mut buf = [0u8; HASH_LEN];
        if let Ok(HASH_LEN) = ENGINE.decode_slice(trimmed, &mut buf) {
            return Ok(f(&buf));
        }
    }
    Ok(f(&base64_to_bytes(text)?))
}

/// 3000 bytes in base64.
const HASH_TEXT_LEN: usize = 4000;

/// The base64 text to raw bytes, exactly as [`decode`] reads it.
pub fn base64_to_bytes(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let text = text.trim_ascii();
    match ENGINE.decode(text) {
        Ok(bytes) => Ok(bytes),
        Err(first) => {
            if text.iter().any(u8::is_ascii_whitespace) {
                let compact: Vec<u8> = text
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                ENGINE.decode(compact).map_err(base64_error)
            } else {
                Err(base64_error(first))
            }
        }
    }
}

fn base64_error(e: base64::DecodeError) -> DecodeError {
    let detail = match e {
        base64::DecodeError::InvalidByte(at, byte) => {
            format!(
                "character {:?} at position {} is not in the base64 alphabet",
                byte as char,
                at + 1
            )
        }
        base64::DecodeError::InvalidLength(len) => {
            format!("{len} base64 characters cannot encode whole bytes (the text looks truncated)")
        }
        base64::DecodeError::InvalidLastSymbol(at, byte) => {
            format!(
                "last character {:?} at position {} is impossible there",
                byte as char,
                at + 1
            )
        }
        base64::DecodeError::InvalidPadding => "misplaced '=' padding".to_string(),
    };
    DecodeError::Base64 { detail }
}

/// Reads the framing and every record; returns `Err` only when nothing trustworthy can be read.
pub fn inspect_bytes(bytes: &[u8]) -> Result<Inspection, DecodeError> {
    if bytes.len() != HASH_LEN {
        return Err(DecodeError::WrongSize {
            actual: bytes.len(),
        });
    }
    if bytes[0..2] != MAGIC {
        return Err(DecodeError::BadMagic {
            found: [bytes[0], bytes[1]],
        });
    }
    let total_length = usize::from(u16::from_le_bytes([bytes[2], bytes[3]]));
    if !(4..=HASH_LEN - TRAILER_LEN).contains(&total_length) {
        return Err(DecodeError::BadTotalLength { total_length });
    }

    let mut faults = Vec::new();
    let mut records = Vec::with_capacity(40);
    let mut offset = 4;
    while offset < total_length {
        if offset + 4 > total_length {
            faults.push(DecodeError::RecordOverrun {
                offset,
                kind: 0,
                length: 4,
                total_length,
            });
            break;
        }
        let kind = u16::from_le_bytes([bytes[offset], bytes[offset + 1]]);
        let length = usize::from(u16::from_le_bytes([bytes[offset + 2], bytes[offset + 3]]));
        if length < 4 {
            faults.push(DecodeError::BadRecordLength {
                offset,
                kind,
                length,
            });
            break;
        }
        if offset + length > total_length {
            faults.push(DecodeError::RecordOverrun {
                offset,
                kind,
                length,
                total_length,
            });
            break;
        }
        records.push(parse_record(kind, &bytes[offset + 4..offset + length]));
        offset += length;
    }

    let trailer = &bytes[total_length..total_length + TRAILER_LEN];
    if trailer[0..4] != TRAILER {
        faults.push(DecodeError::BadTrailer {
            offset: total_length,
            found: [trailer[0], trailer[1], trailer[2], trailer[3]],
        });
    } else if Sha256::digest(&bytes[..total_length]).as_slice() != &trailer[4..] {
        faults.push(DecodeError::ChecksumMismatch);
    }
    let padding = &bytes[total_length + TRAILER_LEN..];
    // The OR-fold vectorises; the position is only needed for a bad hash.
    if padding.iter().fold(0u8, |acc, &b| acc | b) != 0 {
        let at = padding.iter().position(|&b| b != 0).unwrap_or(0);
        faults.push(DecodeError::NonZeroPadding {
            offset: total_length + TRAILER_LEN + at,
        });
    }

    Ok(Inspection {
        hash: HardwareHash { records },
        faults,
    })
}

/// A little-endian reader over one record's payload. Reads past the end return `None`.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|b| b.try_into().ok())
    }
    fn version(&mut self) -> Option<Version> {
        Some(Version {
            minor: self.u16()?,
            major: self.u16()?,
            revision: self.u16()?,
            build: self.u16()?,
        })
    }
    fn rest(&mut self) -> Vec<u8> {
        let rest = self.bytes.get(self.at..).unwrap_or_default().to_vec();
        self.at = self.bytes.len();
        rest
    }
}

fn parse_record(kind: u16, payload: &[u8]) -> Record {
    if let Some(field) = TextField::from_kind(kind) {
        return Record::Text(TextRecord {
            field,
            raw: TextBytes::from_slice(payload),
        });
    }
    let mut r = Reader {
        bytes: payload,
        at: 0,
    };
    parse_fixed(kind, &mut r).unwrap_or_else(|| Record::Raw {
        kind,
        bytes: payload.to_vec(),
    })
}

fn parse_fixed(kind: u16, r: &mut Reader<'_>) -> Option<Record> {
    Some(match kind {
        1 => Record::Os(OsInfo {
            tool_build: r.version()?,
            os_build: r.version()?,
            collected_seconds: r.u32()?,
            local_bias: r.u8()? as i8,
            os_type: OsType(r.u8()?),
            os_architecture: r.u8()?,
            tool_version: r.u8()?,
            extra: r.rest(),
        }),
        2 => Record::Processor(Processor {
            architecture: CpuArchitecture(r.u16()?),
            packages: r.u16()?,
            cores: r.u16()?,
            threads: r.u16()?,
            hyper_threading: r.u8()?,
            reserved: r.array()?,
            extra: r.rest(),
        }),
        5 => Record::Memory(Memory {
            total_gb: r.u64()?,
            max_capacity_gb: r.u64()?,
            slots: r.u16()?,
            arrays: r.u16()?,
            error_correction: ErrorCorrection(r.u8()?),
            extra: r.rest(),
        }),
        6 => Record::Disk(Disk {
            capacity_gb: r.u64()?,
            bus_type: BusType(r.u16()?),
            seek_penalty: r.u8()?,
            trim: r.u8()?,
            extra: r.rest(),
        }),
        8 => {
            let medium = PhysicalMedium(r.u32()?);
            let mac = r.array()?;
            let n = r.u32()?;
            let enumerator_raw = r.take(usize::try_from(n).ok()?)?.to_vec();
            Record::NetworkAdapter(NetworkAdapter {
                medium,
                mac,
                enumerator_raw,
                extra: r.rest(),
            })
        }
        9 => Record::Display(Display {
            width_mm: r.u16()?,
            height_mm: r.u16()?,
            horizontal_resolution: r.u16()?,
            vertical_resolution: r.u16()?,
            output_technology: OutputTechnology(r.u32()?),
            extra: r.rest(),
        }),
        10 => Record::Chassis(Chassis {
            chassis_type: ChassisType(r.u8()?),
            power_platform_role: PowerPlatformRole(r.u8()?),
            unknown: r.u8()?,
            digitizer: DigitizerFlags(r.u8()?),
            max_touches: r.u8()?,
            extra: r.rest(),
        }),
        11 => {
            let status = r.u32()?;
            let method = OfflineIdMethod(r.u8()?);
            let flag = r.u8()?;
            let id_len = r.u16()?;
            let reserved = r.u16()?;
            let id = r.take(usize::from(id_len))?.to_vec();
            Record::OfflineDeviceId(OfflineDeviceId {
                status,
                method,
                flag,
                reserved,
                id,
                extra: r.rest(),
            })
        }
        12 => Record::SmbiosUuid(SmbiosUuid {
            bytes: r.array()?,
            extra: r.rest(),
        }),
        25 => Record::TpmEkPub(r.rest()),
        27 => Record::DisplaySize(DisplaySize {
            width_cm: r.u16()?,
            height_cm: r.u16()?,
            extra: r.rest(),
        }),
        29 => Record::GpuMemory(GpuMemory {
            dedicated_video_bytes: r.u64()?,
            dedicated_system_bytes: r.u64()?,
            removal_policy: r.u8()?,
            in_local_machine_container: r.u8()?,
            extra: r.rest(),
        }),
        34 => {
            let n = r.u8()?;
            let mut classes = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                classes.push(CoreClass {
                    efficiency_class: r.u8()?,
                    cores: r.u16()?,
                    logical_processors: r.u16()?,
                });
            }
            Record::CoreClasses(CoreClasses {
                classes,
                extra: r.rest(),
            })
        }
        _ => return None,
    })
}
