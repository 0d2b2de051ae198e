//! The JSON form of a hash, with oa3tool's names at the top level.

use crate::decode::{DecodeError, Inspection};
use crate::enums::*;
use crate::model::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `2025-12-01T17:57:34Z` (or with the offset, for local times).
pub fn format_time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Every field of a hash, named as oa3tool names them. Absent records are `null` (or empty lists).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Report {
    pub tool_build: Option<String>,
    pub os_build: Option<String>,
    pub os_system_time: Option<String>,
    pub os_local_time: Option<String>,
    #[serde(rename = "OSType")]
    pub os_type: Option<OsType>,
    pub os_cpu_architecture: Option<CpuArchitecture>,
    pub tool_version: Option<u8>,
    pub processor_architecture: Option<CpuArchitecture>,
    pub processor_manufacturer: Option<String>,
    pub processor_model: Option<String>,
    pub processor_packages: Option<u16>,
    pub processor_cores: Option<u16>,
    pub processor_threads: Option<u16>,
    pub processor_hyper_threading: Option<bool>,
    pub processor_core_classes: Vec<CoreClassReport>,
    #[serde(rename = "TotalPhysicalRAM")]
    pub total_physical_ram: Option<u64>,
    pub smbios_ram_maximum_capacity: Option<u64>,
    pub smbios_ram_slots: Option<u16>,
    pub smbios_ram_array_count: Option<u16>,
    pub smbios_ram_error_correction: Option<ErrorCorrection>,
    pub smbios_system_serial_number: Option<String>,
    pub smbios_system_manufacturer: Option<String>,
    pub smbios_system_product_name: Option<String>,
    pub smbios_sku_number: Option<String>,
    pub smbios_system_family: Option<String>,
    pub smbios_system_version: Option<String>,
    pub smbios_firmware_vendor: Option<String>,
    pub smbios_board_manufacturer: Option<String>,
    pub smbios_board_product: Option<String>,
    pub smbios_board_version: Option<String>,
    pub smbios_uuid: Option<String>,
    pub tpm_version: Option<String>,
    pub tpm_ek_pub_hash: Option<String>,
    pub offline_device_id: Option<String>,
    pub offline_device_id_method: Option<OfflineIdMethod>,
    #[serde(rename = "ProductKeyID")]
    pub product_key_id: Option<String>,
    pub product_key_pk_pn: Option<String>,
    pub chassis_type: Option<ChassisType>,
    pub power_platform_role: Option<PowerPlatformRole>,
    pub digitizer: Option<DigitizerFlags>,
    pub max_touches: Option<u8>,
    pub locale: Option<String>,
    pub disks: Vec<DiskReport>,
    pub disk_serial_numbers: Vec<String>,
    pub network_adapters: Vec<NetworkAdapterReport>,
    pub displays: Vec<DisplayReport>,
    pub gpus: Vec<GpuReport>,
    pub unknown_records: Vec<RawRecordReport>,
    pub checksum: ChecksumReport,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CoreClassReport {
    pub efficiency_class: u8,
    pub cores: u16,
    pub logical_processors: u16,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiskReport {
    #[serde(rename = "CapacityGB")]
    pub capacity_gb: u64,
    pub bus_type: BusType,
    /// `SSD`, `HDD` or `Unknown`.
    pub media: &'static str,
    pub trim: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkAdapterReport {
    pub physical_medium: PhysicalMedium,
    pub mac_address: String,
    pub enumerator: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisplayReport {
    pub width_mm: Option<u16>,
    pub height_mm: Option<u16>,
    pub horizontal_resolution: Option<u16>,
    pub vertical_resolution: Option<u16>,
    pub output_technology: Option<OutputTechnology>,
    pub width_cm: Option<u16>,
    pub height_cm: Option<u16>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GpuReport {
    pub vendor: Option<String>,
    pub name: Option<String>,
    pub dedicated_video_memory: Option<u64>,
    pub dedicated_system_memory: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawRecordReport {
    #[serde(rename = "Type")]
    pub kind: u16,
    pub hex: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChecksumReport {
    pub valid: bool,
}

impl Report {
    /// The report of a hash that decoded cleanly.
    pub fn of(hash: &HardwareHash) -> Report {
        Report::build(hash, true)
    }

    /// The report of whatever an inspection could read; `Checksum.Valid` reflects its faults.
    pub fn of_inspection(inspection: &Inspection) -> Report {
        let valid = !inspection.faults.iter().any(|f| {
            matches!(
                f,
                DecodeError::ChecksumMismatch | DecodeError::BadTrailer { .. }
            )
        });
        Report::build(&inspection.hash, valid)
    }

    fn build(hash: &HardwareHash, checksum_valid: bool) -> Report {
        let text = |field| hash.text(field).map(|v| v.into_owned());
        let os = hash.os();
        let cpu = hash.processor();
        let memory = hash.memory();
        let chassis = hash.chassis();
        let offline = hash.offline_device_id();

        let mut displays = Vec::new();
        let display = hash.display();
        let size = hash.display_size();
        if display.is_some() || size.is_some() {
            displays.push(DisplayReport {
                width_mm: display.map(|d| d.width_mm),
                height_mm: display.map(|d| d.height_mm),
                horizontal_resolution: display.map(|d| d.horizontal_resolution),
                vertical_resolution: display.map(|d| d.vertical_resolution),
                output_technology: display.map(|d| d.output_technology),
                width_cm: size.map(|s| s.width_cm),
                height_cm: size.map(|s| s.height_cm),
            });
        }

        // Records 29 and 30 come in the same adapter order.
        let memories: Vec<&GpuMemory> = hash.gpu_memory().collect();
        let names: Vec<String> = hash
            .texts(TextField::GpuName)
            .map(|n| n.into_owned())
            .collect();
        let gpus = (0..memories.len().max(names.len()))
            .map(|i| {
                let (vendor, name) = match names.get(i).map(|n| n.split_once('|')) {
                    Some(Some((vendor, name))) => {
                        (Some(vendor.to_string()), Some(name.to_string()))
                    }
                    Some(None) => (None, names.get(i).cloned()),
                    None => (None, None),
                };
                GpuReport {
                    vendor,
                    name,
                    dedicated_video_memory: memories.get(i).map(|m| m.dedicated_video_bytes),
                    dedicated_system_memory: memories.get(i).map(|m| m.dedicated_system_bytes),
                }
            })
            .collect();

        Report {
            tool_build: os.map(|o| o.tool_build.to_string()),
            os_build: os.map(|o| o.os_build.to_string()),
            os_system_time: os.map(|o| format_time(o.collected_at())),
            os_local_time: os.map(|o| format_time(o.collected_local())),
            os_type: os.map(|o| o.os_type),
            os_cpu_architecture: os.map(OsInfo::os_cpu_architecture),
            tool_version: os.map(|o| o.tool_version),
            processor_architecture: cpu.map(|c| c.architecture),
            processor_manufacturer: text(TextField::ProcessorManufacturer),
            processor_model: text(TextField::ProcessorModel),
            processor_packages: cpu.map(|c| c.packages),
            processor_cores: cpu.map(|c| c.cores),
            processor_threads: cpu.map(|c| c.threads),
            processor_hyper_threading: cpu.map(|c| c.hyper_threading != 0),
            processor_core_classes: hash
                .core_classes()
                .map(|c| {
                    c.classes
                        .iter()
                        .map(|k| CoreClassReport {
                            efficiency_class: k.efficiency_class,
                            cores: k.cores,
                            logical_processors: k.logical_processors,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            total_physical_ram: memory.map(|m| m.total_gb),
            smbios_ram_maximum_capacity: memory.map(|m| m.max_capacity_gb),
            smbios_ram_slots: memory.map(|m| m.slots),
            smbios_ram_array_count: memory.map(|m| m.arrays),
            smbios_ram_error_correction: memory.map(|m| m.error_correction),
            smbios_system_serial_number: text(TextField::SmbiosSystemSerialNumber),
            smbios_system_manufacturer: text(TextField::SmbiosSystemManufacturer),
            smbios_system_product_name: text(TextField::SmbiosSystemProductName),
            smbios_sku_number: text(TextField::SmbiosSkuNumber),
            smbios_system_family: text(TextField::SmbiosSystemFamily),
            smbios_system_version: text(TextField::SmbiosSystemVersion),
            smbios_firmware_vendor: text(TextField::SmbiosFirmwareVendor),
            smbios_board_manufacturer: text(TextField::SmbiosBoardManufacturer),
            smbios_board_product: text(TextField::SmbiosBoardProduct),
            smbios_board_version: text(TextField::SmbiosBoardVersion),
            smbios_uuid: hash.smbios_uuid().map(SmbiosUuid::to_guid_string),
            tpm_version: text(TextField::TpmVersion),
            tpm_ek_pub_hash: hash.tpm_ek_pub().map(|ek| hex::encode(Sha256::digest(ek))),
            offline_device_id: offline.map(|o| hex::encode(&o.id)),
            offline_device_id_method: offline.map(|o| o.method),
            product_key_id: text(TextField::ProductKeyId),
            product_key_pk_pn: text(TextField::ProductKeyPkPn),
            chassis_type: chassis.map(|c| c.chassis_type),
            power_platform_role: chassis.map(|c| c.power_platform_role),
            digitizer: chassis.map(|c| c.digitizer),
            max_touches: chassis.map(|c| c.max_touches),
            locale: text(TextField::Locale),
            disks: hash
                .disks()
                .map(|d| DiskReport {
                    capacity_gb: d.capacity_gb,
                    bus_type: d.bus_type,
                    media: match d.seek_penalty {
                        0 => "SSD",
                        1 => "HDD",
                        _ => "Unknown",
                    },
                    trim: d.trim != 0,
                })
                .collect(),
            disk_serial_numbers: hash
                .texts(TextField::DiskSerialNumber)
                .chain(hash.texts(TextField::DiskSerialNumberKernel))
                .map(|s| s.into_owned())
                .collect(),
            network_adapters: hash
                .network_adapters()
                .map(|n| NetworkAdapterReport {
                    physical_medium: n.medium,
                    mac_address: n.mac_string(),
                    enumerator: n.enumerator(),
                })
                .collect(),
            displays,
            gpus,
            unknown_records: hash
                .raw_records()
                .map(|(kind, bytes)| RawRecordReport {
                    kind,
                    hex: hex::encode(bytes),
                })
                .collect(),
            checksum: ChecksumReport {
                valid: checksum_valid,
            },
        }
    }
}
