//! The typed hardware hash: every record, in the order Windows wrote it, with every byte kept so
//! that encoding a decoded hash gives back the original bytes exactly.

use crate::enums::*;
use std::borrow::Cow;
use time::{Duration, OffsetDateTime, UtcOffset};

/// The size of every hardware hash in bytes (4000 characters of base64).
pub const HASH_LEN: usize = 3000;
/// `"OA"`, the first two bytes.
pub const MAGIC: [u8; 2] = *b"OA";
/// The checksum record's header: type `0x5343` ("CS"), length 36.
pub const TRAILER: [u8; 4] = [0x43, 0x53, 0x24, 0x00];
/// Header (4 bytes) plus SHA-256 (32 bytes).
pub const TRAILER_LEN: usize = 36;

/// Collection times count from here.
pub const EPOCH: OffsetDateTime = time::macros::datetime!(2000-01-01 00:00:00 UTC);

/// A decoded hardware hash: its records in their original order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HardwareHash {
    pub records: Vec<Record>,
}

/// One record. Fixed-layout records keep any bytes past their documented layout in `extra`, so
/// future Windows builds that append fields still round-trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// 1: tool and OS versions, collection time, OS type.
    Os(OsInfo),
    /// 2: processor counts.
    Processor(Processor),
    /// 5: memory.
    Memory(Memory),
    /// 6: one per disk.
    Disk(Disk),
    /// 8: one per physical network adapter.
    NetworkAdapter(NetworkAdapter),
    /// 9: internal display.
    Display(Display),
    /// 10: chassis, power role, digitizer.
    Chassis(Chassis),
    /// 11: offline device id.
    OfflineDeviceId(OfflineDeviceId),
    /// 12: SMBIOS UUID, in Windows GUID byte order.
    SmbiosUuid(SmbiosUuid),
    /// 25: the TPM endorsement key's public modulus.
    TpmEkPub(Vec<u8>),
    /// 27: display size in centimetres.
    DisplaySize(DisplaySize),
    /// 29: one per GPU.
    GpuMemory(GpuMemory),
    /// 34: hybrid CPU core classes.
    CoreClasses(CoreClasses),
    /// Any text record (3, 4, 7, 13–24, 26, 28, 30, 36).
    Text(TextRecord),
    /// A record type this crate does not know, or a known type whose payload is too short for its
    /// layout. Kept as it was, shown as hex.
    Raw { kind: u16, bytes: Vec<u8> },
}

/// A version stored as four u16 in the order `minor, major, revision, build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
    pub build: u16,
    pub revision: u16,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}.{}.{}",
            self.major, self.minor, self.build, self.revision
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsInfo {
    pub tool_build: Version,
    pub os_build: Version,
    /// Seconds since 2000-01-01T00:00:00Z.
    pub collected_seconds: u32,
    /// Local-time offset from UTC; 15-minute units, except minutes with ToolVersion 3.
    pub local_bias: i8,
    pub os_type: OsType,
    /// Stored as one byte.
    pub os_architecture: u8,
    pub tool_version: u8,
    pub extra: Vec<u8>,
}

impl OsInfo {
    /// When the hash was collected, in UTC.
    pub fn collected_at(&self) -> OffsetDateTime {
        EPOCH + Duration::seconds(i64::from(self.collected_seconds))
    }

    /// The collecting machine's offset from UTC.
    pub fn local_offset(&self) -> UtcOffset {
        let minutes = if self.tool_version <= 3 {
            i32::from(self.local_bias)
        } else {
            i32::from(self.local_bias) * 15
        };
        UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(UtcOffset::UTC)
    }

    /// The collection time as the machine's clock showed it.
    pub fn collected_local(&self) -> OffsetDateTime {
        self.collected_at().to_offset(self.local_offset())
    }

    pub fn os_cpu_architecture(&self) -> CpuArchitecture {
        CpuArchitecture(u16::from(self.os_architecture))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processor {
    pub architecture: CpuArchitecture,
    pub packages: u16,
    pub cores: u16,
    pub threads: u16,
    pub hyper_threading: u8,
    pub reserved: [u8; 3],
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    pub total_gb: u64,
    pub max_capacity_gb: u64,
    pub slots: u16,
    pub arrays: u16,
    pub error_correction: ErrorCorrection,
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// Decimal GB, rounded down.
    pub capacity_gb: u64,
    pub bus_type: BusType,
    /// 0 solid state, 1 rotational, 0xFF unknown.
    pub seek_penalty: u8,
    pub trim: u8,
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAdapter {
    pub medium: PhysicalMedium,
    pub mac: [u8; 6],
    /// UTF-16LE, normally NUL-terminated (`PCI`, `USB`, `BTH`, `VMBUS`).
    pub enumerator_raw: Vec<u8>,
    pub extra: Vec<u8>,
}

impl NetworkAdapter {
    pub fn mac_string(&self) -> String {
        format_mac(&self.mac)
    }

    pub fn enumerator(&self) -> String {
        utf16_until_nul(&self.enumerator_raw)
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Display {
    pub width_mm: u16,
    pub height_mm: u16,
    pub horizontal_resolution: u16,
    pub vertical_resolution: u16,
    pub output_technology: OutputTechnology,
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplaySize {
    pub width_cm: u16,
    pub height_cm: u16,
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chassis {
    pub chassis_type: ChassisType,
    pub power_platform_role: PowerPlatformRole,
    /// Called "optical drive present" elsewhere; unreliable.
    pub unknown: u8,
    pub digitizer: DigitizerFlags,
    pub max_touches: u8,
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineDeviceId {
    pub status: u32,
    pub method: OfflineIdMethod,
    pub flag: u8,
    pub reserved: u16,
    pub id: Vec<u8>,
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbiosUuid {
    /// As stored: Windows GUID byte order (first three fields little-endian).
    pub bytes: [u8; 16],
    pub extra: Vec<u8>,
}

impl SmbiosUuid {
    /// Lower-case hyphenated, as Windows prints it.
    pub fn to_guid_string(&self) -> String {
        guid_string(&self.bytes)
    }

    /// All-zero and all-FF UUIDs are firmware placeholders, not identities.
    pub fn is_placeholder(&self) -> bool {
        self.bytes.iter().all(|&b| b == 0) || self.bytes.iter().all(|&b| b == 0xFF)
    }
}

/// Formats 16 bytes in Windows GUID byte order as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn guid_string(b: &[u8; 16]) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{}-{}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        hex::encode(&b[8..10]),
        hex::encode(&b[10..16])
    )
}

/// Parses a GUID string into Windows GUID byte order; `None` when it is not a GUID.
pub fn parse_guid(text: &str) -> Option<[u8; 16]> {
    let text = text.trim().trim_start_matches('{').trim_end_matches('}');
    let hex_digits: String = text.chars().filter(|c| *c != '-').collect();
    let groups: Vec<&str> = text.split('-').collect();
    if hex_digits.len() != 32
        || groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12]
    {
        return None;
    }
    let raw = hex::decode(&hex_digits).ok()?;
    let mut out = [0u8; 16];
    out[0..4].copy_from_slice(&[raw[3], raw[2], raw[1], raw[0]]);
    out[4..6].copy_from_slice(&[raw[5], raw[4]]);
    out[6..8].copy_from_slice(&[raw[7], raw[6]]);
    out[8..16].copy_from_slice(&raw[8..16]);
    Some(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuMemory {
    pub dedicated_video_bytes: u64,
    pub dedicated_system_bytes: u64,
    pub removal_policy: u8,
    pub in_local_machine_container: u8,
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreClasses {
    pub classes: Vec<CoreClass>,
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreClass {
    pub efficiency_class: u8,
    pub cores: u16,
    pub logical_processors: u16,
}

/// The text records. The discriminant is the record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextField {
    ProcessorManufacturer = 3,
    ProcessorModel = 4,
    DiskSerialNumber = 7,
    TpmVersion = 13,
    SmbiosSystemSerialNumber = 14,
    SmbiosFirmwareVendor = 15,
    SmbiosSystemManufacturer = 16,
    SmbiosSystemProductName = 17,
    SmbiosSkuNumber = 18,
    SmbiosSystemFamily = 19,
    SmbiosBoardManufacturer = 20,
    SmbiosBoardProduct = 21,
    SmbiosBoardVersion = 22,
    SmbiosSystemVersion = 23,
    ProductKeyId = 24,
    ProductKeyPkPn = 26,
    DiskSerialNumberKernel = 28,
    GpuName = 30,
    Locale = 36,
}

/// How a text record's bytes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8/ASCII with one NUL; the value ends at the first NUL.
    CString,
    /// ASCII without terminator.
    Plain,
    /// UTF-16LE without terminator.
    Utf16,
}

impl TextField {
    pub const ALL: [TextField; 19] = [
        TextField::ProcessorManufacturer,
        TextField::ProcessorModel,
        TextField::DiskSerialNumber,
        TextField::TpmVersion,
        TextField::SmbiosSystemSerialNumber,
        TextField::SmbiosFirmwareVendor,
        TextField::SmbiosSystemManufacturer,
        TextField::SmbiosSystemProductName,
        TextField::SmbiosSkuNumber,
        TextField::SmbiosSystemFamily,
        TextField::SmbiosBoardManufacturer,
        TextField::SmbiosBoardProduct,
        TextField::SmbiosBoardVersion,
        TextField::SmbiosSystemVersion,
        TextField::ProductKeyId,
        TextField::ProductKeyPkPn,
        TextField::DiskSerialNumberKernel,
        TextField::GpuName,
        TextField::Locale,
    ];

    pub fn from_kind(kind: u16) -> Option<TextField> {
        TextField::ALL.into_iter().find(|f| f.kind() == kind)
    }

    pub fn kind(self) -> u16 {
        self as u16
    }

    pub fn encoding(self) -> TextEncoding {
        match self {
            TextField::DiskSerialNumber | TextField::Locale => TextEncoding::Plain,
            TextField::GpuName => TextEncoding::Utf16,
            _ => TextEncoding::CString,
        }
    }

    /// The oa3tool name.
    pub fn name(self) -> &'static str {
        match self {
            TextField::ProcessorManufacturer => "ProcessorManufacturer",
            TextField::ProcessorModel => "ProcessorModel",
            TextField::DiskSerialNumber => "DiskSerialNumber",
            TextField::TpmVersion => "TpmVersion",
            TextField::SmbiosSystemSerialNumber => "SmbiosSystemSerialNumber",
            TextField::SmbiosFirmwareVendor => "SmbiosFirmwareVendor",
            TextField::SmbiosSystemManufacturer => "SmbiosSystemManufacturer",
            TextField::SmbiosSystemProductName => "SmbiosSystemProductName",
            TextField::SmbiosSkuNumber => "SmbiosSkuNumber",
            TextField::SmbiosSystemFamily => "SmbiosSystemFamily",
            TextField::SmbiosBoardManufacturer => "SmbiosBoardManufacturer",
            TextField::SmbiosBoardProduct => "SmbiosBoardProduct",
            TextField::SmbiosBoardVersion => "SmbiosBoardVersion",
            TextField::SmbiosSystemVersion => "SmbiosSystemVersion",
            TextField::ProductKeyId => "ProductKeyID",
            TextField::ProductKeyPkPn => "ProductKeyPkPn",
            TextField::DiskSerialNumberKernel => "DiskSerialNumber",
            TextField::GpuName => "GpuName",
            TextField::Locale => "Locale",
        }
    }
}

/// A text record: the field and its bytes exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRecord {
    pub field: TextField,
    pub raw: TextBytes,
}

/// A text record's bytes; short values (most of them) are stored inline without allocating.
pub type TextBytes = smallvec::SmallVec<[u8; 40]>;

impl TextRecord {
    /// Encodes `value` the way Windows stores this field.
    pub fn new(field: TextField, value: &str) -> TextRecord {
        let raw = match field.encoding() {
            TextEncoding::CString => {
                let mut raw = TextBytes::from_slice(value.as_bytes());
                raw.push(0);
                raw
            }
            TextEncoding::Plain => TextBytes::from_slice(value.as_bytes()),
            TextEncoding::Utf16 => value.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        };
        TextRecord { field, raw }
    }

    /// The value as text (invalid UTF-8 replaced, never rejected).
    pub fn value(&self) -> Cow<'_, str> {
        match self.field.encoding() {
            TextEncoding::CString => {
                let end = self
                    .raw
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(self.raw.len());
                String::from_utf8_lossy(&self.raw[..end])
            }
            TextEncoding::Plain => String::from_utf8_lossy(&self.raw),
            TextEncoding::Utf16 => Cow::Owned(utf16_until_nul(&self.raw)),
        }
    }
}

fn utf16_until_nul(raw: &[u8]) -> String {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// The literal Windows writes for a missing SMBIOS string.
pub const SMBIOS_MISSING: &str = "SMBIOS_STRING_INDEX_0";

/// Serial numbers that OEMs leave in firmware instead of a real one.
pub fn is_placeholder_serial(serial: &str) -> bool {
    let s = serial.trim();
    s.is_empty()
        || [
            SMBIOS_MISSING,
            "Default string",
            "To be filled by O.E.M.",
            "System Serial Number",
            "0",
        ]
        .iter()
        .any(|p| s.eq_ignore_ascii_case(p))
}

impl Record {
    /// The record type number.
    pub fn kind(&self) -> u16 {
        match self {
            Record::Os(_) => 1,
            Record::Processor(_) => 2,
            Record::Memory(_) => 5,
            Record::Disk(_) => 6,
            Record::NetworkAdapter(_) => 8,
            Record::Display(_) => 9,
            Record::Chassis(_) => 10,
            Record::OfflineDeviceId(_) => 11,
            Record::SmbiosUuid(_) => 12,
            Record::TpmEkPub(_) => 25,
            Record::DisplaySize(_) => 27,
            Record::GpuMemory(_) => 29,
            Record::CoreClasses(_) => 34,
            Record::Text(t) => t.field.kind(),
            Record::Raw { kind, .. } => *kind,
        }
    }
}

impl HardwareHash {
    pub fn text(&self, field: TextField) -> Option<Cow<'_, str>> {
        self.records.iter().find_map(|r| match r {
            Record::Text(t) if t.field == field => Some(t.value()),
            _ => None,
        })
    }

    pub fn texts(&self, field: TextField) -> impl Iterator<Item = Cow<'_, str>> {
        self.records.iter().filter_map(move |r| match r {
            Record::Text(t) if t.field == field => Some(t.value()),
            _ => None,
        })
    }

    pub fn os(&self) -> Option<&OsInfo> {
        self.records.iter().find_map(|r| match r {
            Record::Os(v) => Some(v),
            _ => None,
        })
    }

    pub fn processor(&self) -> Option<&Processor> {
        self.records.iter().find_map(|r| match r {
            Record::Processor(v) => Some(v),
            _ => None,
        })
    }

    pub fn memory(&self) -> Option<&Memory> {
        self.records.iter().find_map(|r| match r {
            Record::Memory(v) => Some(v),
            _ => None,
        })
    }

    pub fn disks(&self) -> impl Iterator<Item = &Disk> {
        self.records.iter().filter_map(|r| match r {
            Record::Disk(v) => Some(v),
            _ => None,
        })
    }

    pub fn network_adapters(&self) -> impl Iterator<Item = &NetworkAdapter> {
        self.records.iter().filter_map(|r| match r {
            Record::NetworkAdapter(v) => Some(v),
            _ => None,
        })
    }

    pub fn display(&self) -> Option<&Display> {
        self.records.iter().find_map(|r| match r {
            Record::Display(v) => Some(v),
            _ => None,
        })
    }

    pub fn display_size(&self) -> Option<&DisplaySize> {
        self.records.iter().find_map(|r| match r {
            Record::DisplaySize(v) => Some(v),
            _ => None,
        })
    }

    pub fn chassis(&self) -> Option<&Chassis> {
        self.records.iter().find_map(|r| match r {
            Record::Chassis(v) => Some(v),
            _ => None,
        })
    }

    pub fn offline_device_id(&self) -> Option<&OfflineDeviceId> {
        self.records.iter().find_map(|r| match r {
            Record::OfflineDeviceId(v) => Some(v),
            _ => None,
        })
    }

    pub fn smbios_uuid(&self) -> Option<&SmbiosUuid> {
        self.records.iter().find_map(|r| match r {
            Record::SmbiosUuid(v) => Some(v),
            _ => None,
        })
    }

    pub fn tpm_ek_pub(&self) -> Option<&[u8]> {
        self.records.iter().find_map(|r| match r {
            Record::TpmEkPub(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub fn gpu_memory(&self) -> impl Iterator<Item = &GpuMemory> {
        self.records.iter().filter_map(|r| match r {
            Record::GpuMemory(v) => Some(v),
            _ => None,
        })
    }

    pub fn core_classes(&self) -> Option<&CoreClasses> {
        self.records.iter().find_map(|r| match r {
            Record::CoreClasses(v) => Some(v),
            _ => None,
        })
    }

    /// Records kept raw: unknown types, and known types too short for their layout.
    pub fn raw_records(&self) -> impl Iterator<Item = (u16, &[u8])> {
        self.records.iter().filter_map(|r| match r {
            Record::Raw { kind, bytes } => Some((*kind, bytes.as_slice())),
            _ => None,
        })
    }

    /// The SMBIOS system serial number (record 14).
    pub fn serial(&self) -> Option<Cow<'_, str>> {
        self.text(TextField::SmbiosSystemSerialNumber)
    }

    /// The SMBIOS system manufacturer (record 16).
    pub fn manufacturer(&self) -> Option<Cow<'_, str>> {
        self.text(TextField::SmbiosSystemManufacturer)
    }

    /// The SMBIOS system product name (record 17), what Graph calls the model.
    pub fn product_name(&self) -> Option<Cow<'_, str>> {
        self.text(TextField::SmbiosSystemProductName)
    }

    /// The OEM product key id (record 24).
    pub fn product_key_id(&self) -> Option<Cow<'_, str>> {
        self.text(TextField::ProductKeyId)
    }

    /// When the hash was collected (record 1).
    pub fn collected_at(&self) -> Option<OffsetDateTime> {
        self.os().map(OsInfo::collected_at)
    }

    /// Whether the hash carries a TPM (records 13 and 25).
    pub fn has_tpm(&self) -> bool {
        self.tpm_ek_pub().is_some() && self.text(TextField::TpmVersion).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_uses_windows_byte_order_both_ways() {
        let bytes = [
            0x44, 0x45, 0x4c, 0x4c, 0x34, 0x00, 0x10, 0x36, 0x80, 0x4c, 0xb2, 0xc0, 0x4f, 0x4a,
            0x59, 0x33,
        ];
        let text = guid_string(&bytes);
        assert_eq!(text, "4c4c4544-0034-3610-804c-b2c04f4a5933");
        assert_eq!(parse_guid(&text), Some(bytes));
        assert_eq!(
            parse_guid("{4C4C4544-0034-3610-804C-B2C04F4A5933}"),
            Some(bytes)
        );
        assert_eq!(parse_guid("4c4c4544-0034-3610-804c"), None);
        assert_eq!(parse_guid("4c4c454400343610804cb2c04f4a5933"), None);
    }

    #[test]
    fn placeholder_serials_are_recognised() {
        for s in [
            "SMBIOS_STRING_INDEX_0",
            "Default string",
            "to be filled by o.e.m.",
            "0",
            " ",
        ] {
            assert!(is_placeholder_serial(s), "{s}");
        }
        assert!(!is_placeholder_serial("8NY7017XC5"));
    }

    #[test]
    fn from_kind_agrees_with_every_field() {
        for field in TextField::ALL {
            assert_eq!(TextField::from_kind(field.kind()), Some(field));
        }
        assert_eq!(TextField::from_kind(12), None);
        assert_eq!(TextField::from_kind(0x5343), None);
    }

    #[test]
    fn text_encodings() {
        let t = TextRecord::new(TextField::GpuName, "Intel|UHD");
        assert_eq!(t.raw.len(), 18);
        assert_eq!(t.value(), "Intel|UHD");
        let c = TextRecord {
            field: TextField::ProcessorModel,
            raw: TextBytes::from_slice(b"  Intel\0\0\0"),
        };
        assert_eq!(c.value(), "  Intel");
    }
}
