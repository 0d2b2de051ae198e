//! Collecting this Linux machine's hardware hash.
//!
//! [`collect`] reads the machine the way Windows' collector would, from files below a root
//! directory (`/` in production; tests point it at a fake tree), and builds a [`HardwareHash`] in
//! Windows' record order. Whatever it cannot read is listed in [`Collected::missing`] and left out
//! of the hash, never made up:
//!
//! | records | source |
//! |---|---|
//! | 1 | collection time (now), local UTC offset, Windows version 10.0.0.0 (there is no Windows build) |
//! | 2, 34, 3, 4 | `/proc/cpuinfo`, `/sys/devices/system/cpu/cpu*/topology`, `/sys/devices/cpu_{core,atom}/cpus`, SMBIOS type 4 |
//! | 5 | SMBIOS types 16 and 17, else `/proc/meminfo` |
//! | 6, 7, 28 | `/sys/block/*` |
//! | 8 | `/sys/class/net/*` with a `device` link; `/sys/class/bluetooth` + debugfs |
//! | 9, 27 | EDID of the internal panel in `/sys/class/drm/*-{eDP,LVDS,DSI}-*` |
//! | 10 | SMBIOS type 3; power role from the ACPI FADT (`/sys/firmware/acpi/tables/FACP`) |
//! | 13, 25 | TPM 2.0 commands through `/dev/tpmrm0` (see [`tpm`]); else `/sys/class/tpm/tpm0/tpm_version_major` (major version only) |
//! | 11 | SHA-256 of the EK (method 1, TPM_EK); without one a random 32-byte id (method 3, UEFI_VARIABLE_RANDOMSEED) |
//! | 12, 14–23 | the raw SMBIOS table `/sys/firmware/dmi/tables/DMI` (types 0, 1, 2) |
//!
//! Not available on Linux, always reported missing: product key id and part number (24, 26), GPU
//! records (29, 30), digitizer capabilities (part of 10).

pub mod display;
pub mod dmi;
pub mod tpm;

mod cpu;
mod net;
mod storage;
mod tz;

pub use storage::format_nvme_id;

use crate::encode::EncodeError;
use crate::enums::*;
use crate::model::*;
use dmi::{SmbiosString, Structure, Table};
use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use time::{OffsetDateTime, UtcOffset};

/// The hash of this machine and what could not be read for it.
#[derive(Debug, Clone)]
pub struct Collected {
    pub hash: HardwareHash,
    pub missing: Vec<Missing>,
}

/// A field that could not be read, where it was looked for, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The oa3tool name of the field (`SmbiosSystemSerialNumber`, `TpmEkPub`, ...).
    pub field: &'static str,
    /// The file or directory it was read from; empty for fields that have no source on Linux.
    pub source: String,
    pub reason: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.source.is_empty() {
            true => write!(f, "{}: {}", self.field, self.reason),
            false => write!(f, "{}: {} ({})", self.field, self.reason, self.source),
        }
    }
}

/// What to say when a file needs root.
pub const RUN_AS_ROOT: &str = "run as root (sudo hangar hash collect)";

impl Collected {
    /// True when something could not be read for lack of permission: running as root would
    /// give a more complete hash.
    pub fn needs_root(&self) -> bool {
        self.missing.iter().any(|m| m.reason.contains(RUN_AS_ROOT))
    }

    /// True when the SMBIOS table could not be read at all, so the hash has no serial,
    /// manufacturer, model or UUID.
    pub fn smbios_unavailable(&self) -> bool {
        self.hash.smbios_uuid().is_none() && self.hash.serial().is_none()
    }
}

/// What the machine cannot tell from its files.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Rust architecture name of the running OS (`std::env::consts::ARCH`).
    pub arch: String,
    /// The collection time; now when unset.
    pub now: Option<OffsetDateTime>,
    /// The local offset from UTC; when unset, the one `etc/localtime` below the root gives for
    /// the collection time (UTC if there is none).
    pub local_offset: Option<UtcOffset>,
    /// The offline device id (record 11, method 3) used when the TPM EK cannot be read; 32 bytes
    /// from `/dev/urandom` when unset.
    pub offline_id: Option<[u8; 32]>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            arch: std::env::consts::ARCH.to_string(),
            now: None,
            local_offset: None,
            offline_id: None,
        }
    }
}

/// Windows' number for a Rust architecture name; `None` for architectures Windows does not run on.
pub fn windows_architecture(arch: &str) -> Option<CpuArchitecture> {
    Some(CpuArchitecture(match arch {
        "x86" => 0,
        "arm" => 5,
        "x86_64" => 9,
        "aarch64" | "arm64ec" => 12,
        _ => return None,
    }))
}

/// Collects this machine's hash from the files below `root` (`/` in production).
pub fn collect(root: &Path) -> Collected {
    collect_with(root, &Options::default())
}

pub(crate) struct Ctx {
    root: PathBuf,
    missing: Vec<Missing>,
}

pub(crate) fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "not present".to_string(),
        io::ErrorKind::PermissionDenied => format!("permission denied; {RUN_AS_ROOT}"),
        _ => e.to_string(),
    }
}

impl Ctx {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn missing_at(&mut self, field: &'static str, source: &Path, reason: &str) {
        self.missing.push(Missing {
            field,
            source: source.display().to_string(),
            reason: reason.to_string(),
        });
    }

    fn read_string(&self, path: &Path) -> Result<String, String> {
        std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| io_reason(&e))
    }
}

fn text(field: TextField, value: &[u8]) -> Record {
    let mut raw = value.to_vec();
    match field.encoding() {
        TextEncoding::CString => {
            // A C-string ends at its first NUL; keep what comes before it.
            if let Some(nul) = raw.iter().position(|&b| b == 0) {
                if field != TextField::ProcessorModel {
                    raw.truncate(nul);
                }
            }
            if raw.last() != Some(&0) {
                raw.push(0);
            }
        }
        TextEncoding::Plain | TextEncoding::Utf16 => {}
    }
    Record::Text(TextRecord {
        field,
        raw: raw.into_iter().collect(),
    })
}

const DMI: &str = "sys/firmware/dmi/tables/DMI";

/// The SMBIOS strings of records 14–23: (field, structure type, offset).
const SMBIOS_STRINGS: [(TextField, u8, usize); 10] = [
    (TextField::SmbiosSystemSerialNumber, 1, 0x07),
    (TextField::SmbiosFirmwareVendor, 0, 0x04),
    (TextField::SmbiosSystemManufacturer, 1, 0x04),
    (TextField::SmbiosSystemProductName, 1, 0x05),
    (TextField::SmbiosSkuNumber, 1, 0x19),
    (TextField::SmbiosSystemFamily, 1, 0x1A),
    (TextField::SmbiosSystemVersion, 1, 0x06),
    (TextField::SmbiosBoardManufacturer, 2, 0x04),
    (TextField::SmbiosBoardProduct, 2, 0x05),
    (TextField::SmbiosBoardVersion, 2, 0x06),
];

struct Smbios<'a> {
    table: Option<Table<'a>>,
    /// Why a structure that is not in the table is not there.
    absent_reason: String,
}

impl<'a> Smbios<'a> {
    fn first(&self, kind: u8) -> Option<&Structure<'a>> {
        self.table.as_ref()?.first(kind)
    }

    fn why_absent(&self, kind: u8) -> String {
        match &self.table {
            Some(_) => format!("no SMBIOS type {kind} structure{}", self.absent_reason),
            None => self.absent_reason.clone(),
        }
    }
}

/// [`collect`] with the clock, time zone, architecture and offline id given.
pub fn collect_with(root: &Path, options: &Options) -> Collected {
    collect_with_tpm(root, options, None)
}

/// [`collect_with`] sending TPM commands through `transport` instead of the device
/// `dev/tpmrm0` below the root.
pub fn collect_with_tpm(
    root: &Path,
    options: &Options,
    transport: Option<&mut dyn tpm::TpmTransport>,
) -> Collected {
    let mut ctx = Ctx {
        root: root.to_path_buf(),
        missing: Vec::new(),
    };

    // SMBIOS.
    let dmi_path = ctx.path(DMI);
    let dmi_bytes = std::fs::read(&dmi_path);
    let smbios = match &dmi_bytes {
        Ok(bytes) => {
            let table = dmi::parse(bytes);
            let absent_reason = match &table.error {
                Some(e) => format!(" before the table's damage: {e}"),
                None => String::new(),
            };
            if let Some(e) = &table.error {
                ctx.missing_at(
                    "SMBIOS",
                    &dmi_path,
                    &format!("{e}; read the structures before it"),
                );
            }
            Smbios {
                table: Some(table),
                absent_reason,
            }
        }
        Err(e) => Smbios {
            table: None,
            absent_reason: io_reason(e),
        },
    };

    let architecture = windows_architecture(&options.arch);
    if architecture.is_none() {
        let reason = format!(
            "Windows has no processor architecture number for {}; written as 0xFFFF (unknown)",
            options.arch
        );
        ctx.missing_at(
            "ProcessorArchitecture",
            Path::new("std::env::consts::ARCH"),
            &reason,
        );
    }
    let arch = architecture.unwrap_or(CpuArchitecture(0xFFFF));
    let is_arm = matches!(arch.0, 5 | 12);

    // 1: OS.
    let now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
    let offset = options.local_offset.unwrap_or_else(|| {
        std::fs::read(ctx.path("etc/localtime"))
            .ok()
            .and_then(|z| tz::offset_at(&z, now.unix_timestamp()))
            .and_then(|s| UtcOffset::from_whole_seconds(s).ok())
            .unwrap_or(UtcOffset::UTC)
    });
    let collected_seconds = u32::try_from((now - EPOCH).whole_seconds().max(0)).unwrap_or(u32::MAX);
    let windows_version = Version {
        major: 10,
        minor: 0,
        build: 0,
        revision: 0,
    };
    let mut records = vec![Record::Os(OsInfo {
        tool_build: windows_version,
        os_build: windows_version,
        collected_seconds,
        local_bias: i8::try_from(offset.whole_seconds() / 900).unwrap_or(0),
        os_type: OsType(2),
        os_architecture: u8::try_from(arch.0).unwrap_or(0xFF),
        tool_version: 9,
        extra: Vec::new(),
    })];

    // 2, 34: processor.
    let cpu = cpu::collect(&mut ctx, smbios.table.as_ref(), is_arm);
    let threads = cpu.threads.unwrap_or(0);
    let cores = cpu.cores.unwrap_or(0);
    records.push(Record::Processor(Processor {
        architecture: arch,
        packages: cpu.packages.unwrap_or(0),
        cores,
        threads,
        hyper_threading: u8::from(cores > 0 && threads > cores),
        reserved: [0; 3],
        extra: Vec::new(),
    }));
    if let Some(classes) = cpu.core_classes {
        records.push(Record::CoreClasses(CoreClasses {
            classes,
            extra: Vec::new(),
        }));
    }

    // 5: memory.
    records.push(Record::Memory(memory(&mut ctx, &smbios, &dmi_path)));

    // 3, 4.
    if let Some(m) = &cpu.manufacturer {
        records.push(text(TextField::ProcessorManufacturer, m));
    }
    if let Some(m) = &cpu.model {
        records.push(text(TextField::ProcessorModel, m));
    }

    // 6, 7: disks.
    let disks = storage::collect(&mut ctx);
    for d in &disks {
        records.push(Record::Disk(d.disk.clone()));
        records.push(text(TextField::DiskSerialNumber, &d.serial_text));
    }

    // 8: network adapters.
    let adapters = net::collect(&mut ctx);
    records.extend(adapters.into_iter().map(Record::NetworkAdapter));

    // 9, 27: internal display.
    if let Some((d, size)) = display::collect(&mut ctx) {
        records.push(Record::Display(d));
        records.push(Record::DisplaySize(size));
    }

    // 10: chassis.
    records.push(Record::Chassis(chassis(&mut ctx, &smbios, &dmi_path)));

    // 13, 25: TPM.
    let tpm = tpm::collect(&mut ctx, transport);
    if let Some(version) = &tpm.version {
        records.push(text(TextField::TpmVersion, version.as_bytes()));
    }
    if let Some(ek) = &tpm.ek {
        records.push(Record::TpmEkPub(ek.clone()));
    }

    // 11: offline device id: SHA-256 of the EK, method 1 (TPM_EK), flag 0, as in Windows' hashes
    // with a TPM; without an EK method 3 (UEFI_VARIABLE_RANDOMSEED), flag 1, a random id.
    let offline = match &tpm.ek {
        Some(ek) => Ok((1, 0, <[u8; 32]>::from(Sha256::digest(ek)))),
        None => options
            .offline_id
            .map(Ok)
            .unwrap_or_else(random_id)
            .map(|id| (3, 1, id)),
    };
    match offline {
        Ok((method, flag, id)) => records.push(Record::OfflineDeviceId(OfflineDeviceId {
            status: 0,
            method: OfflineIdMethod(method),
            flag,
            reserved: 0,
            id: id.to_vec(),
            extra: Vec::new(),
        })),
        Err(e) => ctx.missing_at("OfflineDeviceId", Path::new("/dev/urandom"), &io_reason(&e)),
    }

    // 12: SMBIOS UUID, bytes as stored: SMBIOS 2.6+ stores the first three fields little-endian,
    // which is Windows GUID byte order.
    match smbios.first(1) {
        Some(s) => match s.bytes(8, 16) {
            Some(b) => {
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(b);
                records.push(Record::SmbiosUuid(SmbiosUuid {
                    bytes,
                    extra: Vec::new(),
                }));
            }
            None => ctx.missing_at(
                "SmbiosUuid",
                &dmi_path,
                "the SMBIOS type 1 structure is too short to hold a UUID",
            ),
        },
        None => ctx.missing_at("SmbiosUuid", &dmi_path, &smbios.why_absent(1)),
    }

    // 14–19, 23, 20–22.
    for (field, kind, offset) in SMBIOS_STRINGS {
        let Some(s) = smbios.first(kind) else {
            ctx.missing_at(field.name(), &dmi_path, &smbios.why_absent(kind));
            continue;
        };
        let value = s.string(offset);
        if let SmbiosString::BadIndex(n) = value {
            let reason = format!("SMBIOS type {kind} names string {n}, which it does not have; written as {SMBIOS_MISSING}");
            ctx.missing_at(field.name(), &dmi_path, &reason);
        }
        records.push(text(field, value.bytes_or_missing()));
    }

    // 24, 26, 29, 30.
    for field in ["ProductKeyID", "ProductKeyPkPn"] {
        ctx.missing_at(
            field,
            Path::new(""),
            "not available on Linux: the OEM product key is read by Windows",
        );
    }
    for field in ["GpuMemory", "GpuName"] {
        ctx.missing_at(
            field,
            Path::new(""),
            "not available on Linux: reported by Windows display drivers",
        );
    }

    // 28: disk serials again (kernel path).
    for d in &disks {
        records.push(text(TextField::DiskSerialNumberKernel, &d.serial_text));
    }

    let mut hash = HardwareHash { records };
    fit(&mut hash, &mut ctx, &disks);
    Collected {
        hash,
        missing: ctx.missing,
    }
}

/// Drops disks (last first) until the records fit in 3000 bytes, reporting each one dropped.
fn fit(hash: &mut HardwareHash, ctx: &mut Ctx, disks: &[storage::CollectedDisk]) {
    let mut dropped = 0;
    while let Err(EncodeError::TooLarge { .. }) = hash.to_bytes() {
        let Some(last) = disks.len().checked_sub(dropped + 1) else {
            break;
        };
        let d = &disks[last];
        let serial = &d.serial_text;
        // The last records 6/7 and 28 of this disk.
        if let Some(i) = hash.records.iter().rposition(|r| matches!(r, Record::Text(t) if t.field == TextField::DiskSerialNumberKernel && t.raw.strip_suffix(&[0]) == Some(serial))) {
            hash.records.remove(i);
        }
        if let Some(i) = hash.records.iter().rposition(|r| matches!(r, Record::Text(t) if t.field == TextField::DiskSerialNumber && t.raw[..] == serial[..])) {
            hash.records.remove(i);
            if i > 0 && matches!(hash.records[i - 1], Record::Disk(_)) {
                hash.records.remove(i - 1);
            }
        }
        let source = ctx.path("sys/block").join(&d.name);
        ctx.missing_at(
            "DiskSerialNumber",
            &source,
            "left out: the records of all disks do not fit in a 3000-byte hash",
        );
        dropped += 1;
    }
}

fn random_id() -> io::Result<[u8; 32]> {
    use std::io::Read;
    let mut id = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut id)?;
    Ok(id)
}

/// Type 17 size in MB, `None` when empty or unknown.
fn memory_device_mb(s: &Structure<'_>) -> Option<u64> {
    let size = s.word(0x0C)?;
    match size {
        0 | 0xFFFF => None,
        0x7FFF => s
            .dword(0x1C)
            .map(|x| u64::from(x & 0x7FFF_FFFF))
            .filter(|&mb| mb > 0),
        n if n & 0x8000 != 0 => Some(u64::from(n & 0x7FFF) / 1024), // KB granularity
        n => Some(u64::from(n)),
    }
}

const KB_PER_GB: u64 = 1024 * 1024;

fn memory(ctx: &mut Ctx, smbios: &Smbios<'_>, dmi_path: &Path) -> Memory {
    let sizes: Vec<u64> = smbios
        .table
        .iter()
        .flat_map(|t| t.of_type(17))
        .filter_map(memory_device_mb)
        .collect();
    let total_gb = if !sizes.is_empty() {
        sizes.iter().sum::<u64>().div_ceil(1024)
    } else {
        let meminfo = ctx.path("proc/meminfo");
        let kb = ctx.read_string(&meminfo).ok().and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        match kb {
            Some(kb) => kb.div_ceil(KB_PER_GB),
            None => {
                ctx.missing_at(
                    "TotalPhysicalRAM",
                    &meminfo,
                    "no SMBIOS type 17 sizes and no MemTotal line",
                );
                0
            }
        }
    };
    let all: Vec<&Structure<'_>> = smbios.table.iter().flat_map(|t| t.of_type(16)).collect();
    // Use 3 = system memory; other arrays hold video or flash memory.
    let system: Vec<&Structure<'_>> = all
        .iter()
        .copied()
        .filter(|s| s.byte(5) == Some(3))
        .collect();
    let arrays = if system.is_empty() { all } else { system };
    if arrays.is_empty() {
        let reason = smbios.why_absent(16);
        for field in [
            "SmbiosRamMaximumCapacity",
            "SmbiosRamSlots",
            "SmbiosRamArrayCount",
            "SmbiosRamErrorCorrection",
        ] {
            ctx.missing_at(field, dmi_path, &reason);
        }
        return Memory {
            total_gb,
            max_capacity_gb: 0,
            slots: 0,
            arrays: 0,
            error_correction: ErrorCorrection(2),
            extra: Vec::new(),
        };
    }
    let max_kb: u64 = arrays
        .iter()
        .map(|s| match s.dword(7) {
            Some(0x8000_0000) => s.qword(0x0F).unwrap_or(0) / 1024,
            Some(kb) => u64::from(kb),
            None => 0,
        })
        .fold(0u64, u64::saturating_add);
    let slots = arrays
        .iter()
        .map(|s| u32::from(s.word(0x0D).unwrap_or(0)))
        .sum::<u32>();
    Memory {
        total_gb,
        max_capacity_gb: max_kb.div_ceil(KB_PER_GB),
        slots: u16::try_from(slots).unwrap_or(u16::MAX),
        arrays: u16::try_from(arrays.len()).unwrap_or(u16::MAX),
        error_correction: ErrorCorrection(arrays[0].byte(6).unwrap_or(2)),
        extra: Vec::new(),
    }
}

fn chassis(ctx: &mut Ctx, smbios: &Smbios<'_>, dmi_path: &Path) -> Chassis {
    let chassis_type = match smbios.first(3).and_then(|s| s.byte(5)) {
        Some(t) => t & 0x7F,
        None => {
            let reason = format!("{}; written as 2 (Unknown)", smbios.why_absent(3));
            ctx.missing_at("ChassisType", dmi_path, &reason);
            2
        }
    };
    // Windows' power platform role is the ACPI FADT's Preferred_PM_Profile (byte 45).
    let facp = ctx.path("sys/firmware/acpi/tables/FACP");
    let role = match std::fs::read(&facp) {
        Ok(t) if t.len() > 45 && t[..4] == *b"FACP" && t[45] <= 8 => t[45],
        other => {
            let fallback = match chassis_type {
                8 | 9 | 10 | 14 | 31 | 32 => 2, // portable, laptop, notebook, sub notebook, convertible, detachable
                30 => 8,                        // tablet
                _ => 1,
            };
            let why = match other {
                Err(e) => io_reason(&e),
                Ok(_) => "not a FADT with a valid Preferred_PM_Profile".to_string(),
            };
            let reason = format!("{why}; derived {fallback} from the chassis type");
            ctx.missing_at("PowerPlatformRole", &facp, &reason);
            fallback
        }
    };
    ctx.missing_at(
        "Digitizer",
        &ctx.path("proc/bus/input/devices"),
        "touch and pen capabilities are not read on Linux; written as 0",
    );
    Chassis {
        chassis_type: ChassisType(chassis_type),
        power_platform_role: PowerPlatformRole(role),
        unknown: 0,
        digitizer: DigitizerFlags(0),
        max_touches: 0,
        extra: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_ask_for_root() {
        let reason = io_reason(&io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(
            reason,
            "permission denied; run as root (sudo hangar hash collect)"
        );
        assert_eq!(
            io_reason(&io::Error::from(io::ErrorKind::NotFound)),
            "not present"
        );
        let m = Missing {
            field: "GpuName",
            source: String::new(),
            reason: "not available on Linux".into(),
        };
        assert_eq!(m.to_string(), "GpuName: not available on Linux");
    }

    #[test]
    fn architectures() {
        assert_eq!(windows_architecture("x86_64"), Some(CpuArchitecture(9)));
        assert_eq!(windows_architecture("aarch64"), Some(CpuArchitecture(12)));
        assert_eq!(windows_architecture("riscv64"), None);
    }
}
