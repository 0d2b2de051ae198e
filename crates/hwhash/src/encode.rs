//! [`HardwareHash`] to bytes and base64, and the [`Builder`] for synthetic hashes.

use crate::enums::*;
use crate::model::*;
use base64::Engine;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("the records take {needed} bytes; a hardware hash has room for {max}")]
    TooLarge { needed: usize, max: usize },
    #[error("record of type {kind} has a {len}-byte payload; a record holds at most 65531")]
    RecordTooLarge { kind: u16, len: usize },
    #[error("record 34 lists {count} core classes; it can hold at most 255")]
    TooManyCoreClasses { count: usize },
}

impl HardwareHash {
    /// The 3000 bytes: records, `CS` trailer with SHA-256, zero padding.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(HASH_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[0, 0]);
        let mut payload = Vec::with_capacity(512);
        for record in &self.records {
            payload.clear();
            write_payload(record, &mut payload)?;
            let len = payload.len() + 4;
            let len16 = u16::try_from(len).map_err(|_| EncodeError::RecordTooLarge {
                kind: record.kind(),
                len: payload.len(),
            })?;
            out.extend_from_slice(&record.kind().to_le_bytes());
            out.extend_from_slice(&len16.to_le_bytes());
            out.extend_from_slice(&payload);
        }
        let total = out.len();
        let max = HASH_LEN - TRAILER_LEN;
        if total > max {
            return Err(EncodeError::TooLarge { needed: total, max });
        }
        out[2..4].copy_from_slice(&(total as u16).to_le_bytes());
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&TRAILER);
        out.extend_from_slice(&digest);
        out.resize(HASH_LEN, 0);
        Ok(out)
    }

    /// The 4000-character base64 text form.
    pub fn to_base64(&self) -> Result<String, EncodeError> {
        Ok(base64::engine::general_purpose::STANDARD.encode(self.to_bytes()?))
    }
}

fn write_payload(record: &Record, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match record {
        Record::Os(v) => {
            for version in [v.tool_build, v.os_build] {
                for part in [
                    version.minor,
                    version.major,
                    version.revision,
                    version.build,
                ] {
                    out.extend_from_slice(&part.to_le_bytes());
                }
            }
            out.extend_from_slice(&v.collected_seconds.to_le_bytes());
            out.extend_from_slice(&[
                v.local_bias as u8,
                v.os_type.0,
                v.os_architecture,
                v.tool_version,
            ]);
            out.extend_from_slice(&v.extra);
        }
        Record::Processor(v) => {
            for n in [v.architecture.0, v.packages, v.cores, v.threads] {
                out.extend_from_slice(&n.to_le_bytes());
            }
            out.push(v.hyper_threading);
            out.extend_from_slice(&v.reserved);
            out.extend_from_slice(&v.extra);
        }
        Record::Memory(v) => {
            out.extend_from_slice(&v.total_gb.to_le_bytes());
            out.extend_from_slice(&v.max_capacity_gb.to_le_bytes());
            out.extend_from_slice(&v.slots.to_le_bytes());
            out.extend_from_slice(&v.arrays.to_le_bytes());
            out.push(v.error_correction.0);
            out.extend_from_slice(&v.extra);
        }
        Record::Disk(v) => {
            out.extend_from_slice(&v.capacity_gb.to_le_bytes());
            out.extend_from_slice(&v.bus_type.0.to_le_bytes());
            out.extend_from_slice(&[v.seek_penalty, v.trim]);
            out.extend_from_slice(&v.extra);
        }
        Record::NetworkAdapter(v) => {
            out.extend_from_slice(&v.medium.0.to_le_bytes());
            out.extend_from_slice(&v.mac);
            out.extend_from_slice(&(v.enumerator_raw.len() as u32).to_le_bytes());
            out.extend_from_slice(&v.enumerator_raw);
            out.extend_from_slice(&v.extra);
        }
        Record::Display(v) => {
            for n in [
                v.width_mm,
                v.height_mm,
                v.horizontal_resolution,
                v.vertical_resolution,
            ] {
                out.extend_from_slice(&n.to_le_bytes());
            }
            out.extend_from_slice(&v.output_technology.0.to_le_bytes());
            out.extend_from_slice(&v.extra);
        }
        Record::Chassis(v) => {
            out.extend_from_slice(&[
                v.chassis_type.0,
                v.power_platform_role.0,
                v.unknown,
                v.digitizer.0,
                v.max_touches,
            ]);
            out.extend_from_slice(&v.extra);
        }
        Record::OfflineDeviceId(v) => {
            let id_len = u16::try_from(v.id.len()).map_err(|_| EncodeError::RecordTooLarge {
                kind: 11,
                len: v.id.len(),
            })?;
            out.extend_from_slice(&v.status.to_le_bytes());
            out.extend_from_slice(&[v.method.0, v.flag]);
            out.extend_from_slice(&id_len.to_le_bytes());
            out.extend_from_slice(&v.reserved.to_le_bytes());
            out.extend_from_slice(&v.id);
            out.extend_from_slice(&v.extra);
        }
        Record::SmbiosUuid(v) => {
            out.extend_from_slice(&v.bytes);
            out.extend_from_slice(&v.extra);
        }
        Record::TpmEkPub(v) => out.extend_from_slice(v),
        Record::DisplaySize(v) => {
            out.extend_from_slice(&v.width_cm.to_le_bytes());
            out.extend_from_slice(&v.height_cm.to_le_bytes());
            out.extend_from_slice(&v.extra);
        }
        Record::GpuMemory(v) => {
            out.extend_from_slice(&v.dedicated_video_bytes.to_le_bytes());
            out.extend_from_slice(&v.dedicated_system_bytes.to_le_bytes());
            out.extend_from_slice(&[v.removal_policy, v.in_local_machine_container]);
            out.extend_from_slice(&v.extra);
        }
        Record::CoreClasses(v) => {
            let count =
                u8::try_from(v.classes.len()).map_err(|_| EncodeError::TooManyCoreClasses {
                    count: v.classes.len(),
                })?;
            out.push(count);
            for c in &v.classes {
                out.push(c.efficiency_class);
                out.extend_from_slice(&c.cores.to_le_bytes());
                out.extend_from_slice(&c.logical_processors.to_le_bytes());
            }
            out.extend_from_slice(&v.extra);
        }
        Record::Text(t) => out.extend_from_slice(&t.raw),
        Record::Raw { bytes, .. } => out.extend_from_slice(bytes),
    }
    if out.len() > usize::from(u16::MAX) - 4 {
        return Err(EncodeError::RecordTooLarge {
            kind: record.kind(),
            len: out.len(),
        });
    }
    Ok(())
}

/// Builds a valid hash from whatever fields are given; the rest get plausible values derived from
/// the identity (so a fleet built from distinct serials has distinct UUIDs, MACs and disk serials).
#[derive(Debug, Clone, Default)]
pub struct Builder {
    serial: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    uuid: Option<[u8; 16]>,
    tpm_ek: Option<Vec<u8>>,
    tpm_version: Option<String>,
    product_key_id: Option<String>,
    sku: Option<String>,
    family: Option<String>,
    collected_at: Option<OffsetDateTime>,
    os_type: Option<OsType>,
    architecture: Option<CpuArchitecture>,
    disks: Option<Vec<(Disk, String)>>,
    network_adapters: Option<Vec<NetworkAdapter>>,
    extra_records: Vec<Record>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    pub fn serial(mut self, serial: impl Into<String>) -> Self {
        self.serial = Some(serial.into());
        self
    }

    pub fn manufacturer(mut self, manufacturer: impl Into<String>) -> Self {
        self.manufacturer = Some(manufacturer.into());
        self
    }

    /// The SMBIOS system product name (Graph's `model`).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The SMBIOS UUID in Windows GUID byte order (see [`parse_guid`]).
    pub fn uuid(mut self, uuid: [u8; 16]) -> Self {
        self.uuid = Some(uuid);
        self
    }

    /// Adds a TPM 2.0 with an endorsement key derived from the device's identity.
    pub fn tpm(mut self) -> Self {
        self.tpm_ek = Some(Vec::new());
        self
    }

    /// Adds a TPM with this EK modulus (normally 256 bytes).
    pub fn tpm_ek(mut self, modulus: Vec<u8>) -> Self {
        self.tpm_ek = Some(modulus);
        self
    }

    pub fn tpm_version(mut self, version: impl Into<String>) -> Self {
        self.tpm_version = Some(version.into());
        self
    }

    pub fn product_key_id(mut self, pkid: impl Into<String>) -> Self {
        self.product_key_id = Some(pkid.into());
        self
    }

    pub fn sku(mut self, sku: impl Into<String>) -> Self {
        self.sku = Some(sku.into());
        self
    }

    pub fn family(mut self, family: impl Into<String>) -> Self {
        self.family = Some(family.into());
        self
    }

    pub fn collected_at(mut self, at: OffsetDateTime) -> Self {
        self.collected_at = Some(at);
        self
    }

    pub fn os_type(mut self, os_type: OsType) -> Self {
        self.os_type = Some(os_type);
        self
    }

    pub fn architecture(mut self, architecture: CpuArchitecture) -> Self {
        self.architecture = Some(architecture);
        self
    }

    /// Adds a disk and its `serial|product|vendor` text (record 7). Without any, one NVMe disk is made up.
    pub fn disk(mut self, disk: Disk, serial_text: impl Into<String>) -> Self {
        self.disks
            .get_or_insert_with(Vec::new)
            .push((disk, serial_text.into()));
        self
    }

    /// No disk records at all (as on some VMs).
    pub fn no_disks(mut self) -> Self {
        self.disks = Some(Vec::new());
        self
    }

    /// Adds a network adapter. Without any, one Ethernet adapter is made up.
    pub fn network_adapter(mut self, adapter: NetworkAdapter) -> Self {
        self.network_adapters
            .get_or_insert_with(Vec::new)
            .push(adapter);
        self
    }

    /// No network adapter records.
    pub fn no_network_adapters(mut self) -> Self {
        self.network_adapters = Some(Vec::new());
        self
    }

    /// Appends a record as is (for example an unknown type).
    pub fn record(mut self, record: Record) -> Self {
        self.extra_records.push(record);
        self
    }

    pub fn build(self) -> HardwareHash {
        let serial = self.serial.unwrap_or_else(|| SMBIOS_MISSING.to_string());
        let manufacturer = self
            .manufacturer
            .unwrap_or_else(|| "Hangar Labs".to_string());
        let model = self.model.unwrap_or_else(|| "Virtual Device".to_string());
        let seed: [u8; 32] = Sha256::digest(format!("{manufacturer}\0{model}\0{serial}")).into();
        let derived = |label: &str, len: usize| -> Vec<u8> {
            let mut out = Vec::with_capacity(len);
            let mut counter = 0u32;
            while out.len() < len {
                let mut h = Sha256::new();
                h.update(seed);
                h.update(label.as_bytes());
                h.update(counter.to_le_bytes());
                out.extend_from_slice(&h.finalize());
                counter += 1;
            }
            out.truncate(len);
            out
        };
        let arch = self.architecture.unwrap_or(CpuArchitecture(9));
        let collected = self
            .collected_at
            .unwrap_or(time::macros::datetime!(2026-01-15 09:30:00 UTC));
        let collected_seconds =
            u32::try_from((collected - EPOCH).whole_seconds().max(0)).unwrap_or(u32::MAX);
        let text = |field, value: &str| Record::Text(TextRecord::new(field, value));

        let mut records = vec![
            Record::Os(OsInfo {
                tool_build: Version {
                    major: 10,
                    minor: 0,
                    build: 26100,
                    revision: 1,
                },
                os_build: Version {
                    major: 10,
                    minor: 0,
                    build: 26100,
                    revision: 1,
                },
                collected_seconds,
                local_bias: 0,
                os_type: self.os_type.unwrap_or(OsType(2)),
                os_architecture: arch.0 as u8,
                tool_version: 9,
                extra: Vec::new(),
            }),
            Record::Processor(Processor {
                architecture: arch,
                packages: 1,
                cores: 4,
                threads: 8,
                hyper_threading: 1,
                reserved: [0; 3],
                extra: Vec::new(),
            }),
            Record::Memory(Memory {
                total_gb: 16,
                max_capacity_gb: 64,
                slots: 2,
                arrays: 1,
                error_correction: ErrorCorrection(3),
                extra: Vec::new(),
            }),
            text(
                TextField::ProcessorManufacturer,
                if arch.0 == 12 {
                    "Apple"
                } else {
                    "GenuineIntel"
                },
            ),
            text(TextField::ProcessorModel, "Hangar Synthetic CPU @ 2.60GHz"),
        ];
        let disks = self.disks.unwrap_or_else(|| {
            let eui = derived("disk", 8);
            let groups: Vec<String> = eui
                .chunks(2)
                .map(|c| format!("{:02X}{:02X}", c[0], c[1]))
                .collect();
            let disk = Disk {
                capacity_gb: 512,
                bus_type: BusType(17),
                seek_penalty: 0,
                trim: 1,
                extra: Vec::new(),
            };
            vec![(disk, format!("{}.|HANGAR NVME 512GB|", groups.join("_")))]
        });
        for (disk, serial_text) in &disks {
            records.push(Record::Disk(disk.clone()));
            records.push(text(TextField::DiskSerialNumber, serial_text));
        }
        let adapters = self.network_adapters.unwrap_or_else(|| {
            let mut mac: [u8; 6] = derived("mac", 6).try_into().unwrap_or([2, 0, 0, 0, 0, 1]);
            mac[0] = (mac[0] & 0xFE) | 0x02; // locally administered, unicast
            vec![NetworkAdapter {
                medium: PhysicalMedium(14),
                mac,
                enumerator_raw: "PCI\0".encode_utf16().flat_map(u16::to_le_bytes).collect(),
                extra: Vec::new(),
            }]
        });
        records.extend(adapters.into_iter().map(Record::NetworkAdapter));
        records.push(Record::Display(Display {
            width_mm: 309,
            height_mm: 174,
            horizontal_resolution: 1920,
            vertical_resolution: 1080,
            output_technology: OutputTechnology(0x8000_0000),
            extra: Vec::new(),
        }));
        records.push(Record::DisplaySize(DisplaySize {
            width_cm: 31,
            height_cm: 17,
            extra: Vec::new(),
        }));
        records.push(Record::Chassis(Chassis {
            chassis_type: ChassisType(10),
            power_platform_role: PowerPlatformRole(2),
            unknown: 0,
            digitizer: DigitizerFlags(0),
            max_touches: 0,
            extra: Vec::new(),
        }));
        let offline_id = match self.tpm_ek {
            Some(ek) => {
                let ek = if ek.is_empty() {
                    derived("ek", 256)
                } else {
                    ek
                };
                let version = self.tpm_version.unwrap_or_else(|| {
                    "TPM-Version:2.0 -Level:0-Revision:1.59-VendorID:'HNGR'-Firmware:1.0"
                        .to_string()
                });
                records.push(text(TextField::TpmVersion, &version));
                let id = Sha256::digest(&ek).to_vec();
                records.push(Record::TpmEkPub(ek));
                OfflineDeviceId {
                    status: 0,
                    method: OfflineIdMethod(1),
                    flag: 0,
                    reserved: 0,
                    id,
                    extra: Vec::new(),
                }
            }
            None => OfflineDeviceId {
                status: 0,
                method: OfflineIdMethod(3),
                flag: 0,
                reserved: 0,
                id: derived("offline", 32),
                extra: Vec::new(),
            },
        };
        records.push(Record::OfflineDeviceId(offline_id));
        let uuid = self.uuid.unwrap_or_else(|| {
            let mut b: [u8; 16] = derived("uuid", 16).try_into().unwrap_or([1; 16]);
            b[7] = (b[7] & 0x0F) | 0x40; // version 4 in Windows byte order
            b[8] = (b[8] & 0x3F) | 0x80;
            b
        });
        records.push(Record::SmbiosUuid(SmbiosUuid {
            bytes: uuid,
            extra: Vec::new(),
        }));
        records.push(text(TextField::SmbiosSystemSerialNumber, &serial));
        records.push(text(TextField::SmbiosFirmwareVendor, &manufacturer));
        records.push(text(TextField::SmbiosSystemManufacturer, &manufacturer));
        records.push(text(TextField::SmbiosSystemProductName, &model));
        records.push(text(
            TextField::SmbiosSkuNumber,
            self.sku.as_deref().unwrap_or(SMBIOS_MISSING),
        ));
        records.push(text(
            TextField::SmbiosSystemFamily,
            self.family.as_deref().unwrap_or(&model),
        ));
        records.push(text(TextField::SmbiosSystemVersion, "1.0"));
        records.push(text(TextField::SmbiosBoardManufacturer, &manufacturer));
        records.push(text(TextField::SmbiosBoardProduct, &model));
        records.push(text(TextField::SmbiosBoardVersion, "1.0"));
        if let Some(pkid) = &self.product_key_id {
            records.push(text(TextField::ProductKeyId, pkid));
        }
        for (_, serial_text) in &disks {
            records.push(text(TextField::DiskSerialNumberKernel, serial_text));
        }
        records.extend(self.extra_records);
        HardwareHash { records }
    }
}
