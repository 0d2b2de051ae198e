//! Named values found in hash records. Each keeps its raw number, because new Windows builds and
//! new hardware add values that no table here knows yet; a name is a convenience, never a filter.

use serde::{Serialize, Serializer};
use std::fmt;

macro_rules! named {
    ($(#[$doc:meta])* $name:ident($raw:ty) { $($value:literal => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $raw);

        impl $name {
            /// The documented name of this value, if it has one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }

            /// The raw number as stored in the hash.
            pub fn raw(self) -> $raw {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(text) => f.write_str(text),
                    None => write!(f, "unknown ({})", self.0),
                }
            }
        }

        /// Serialized as its name where it has one, else as the raw number.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(text) => s.serialize_str(text),
                    None => self.0.serialize(s),
                }
            }
        }
    };
}

named! {
    /// Processor architecture (records 1 and 2).
    CpuArchitecture(u16) { 0 => "x86", 5 => "ARM", 6 => "IA64", 9 => "x64", 12 => "ARM64" }
}

named! {
    /// The OS the hash was collected in (record 1).
    OsType(u8) { 1 => "WinPE", 2 => "FullOS" }
}

named! {
    /// Power platform role (record 10).
    PowerPlatformRole(u8) {
        0 => "Unspecified", 1 => "Desktop", 2 => "Mobile", 3 => "Workstation", 4 => "EnterpriseServer",
        5 => "SOHOServer", 6 => "AppliancePC", 7 => "PerformanceServer", 8 => "Slate",
    }
}

named! {
    /// SMBIOS chassis type (record 10), the SMBIOS type 3 table.
    ChassisType(u8) {
        1 => "Other", 2 => "Unknown", 3 => "Desktop", 4 => "Low Profile Desktop", 5 => "Pizza Box",
        6 => "Mini Tower", 7 => "Tower", 8 => "Portable", 9 => "Laptop", 10 => "Notebook",
        11 => "Hand Held", 12 => "Docking Station", 13 => "All in One", 14 => "Sub Notebook",
        15 => "Space-saving", 16 => "Lunch Box", 17 => "Main Server Chassis", 18 => "Expansion Chassis",
        19 => "SubChassis", 20 => "Bus Expansion Chassis", 21 => "Peripheral Chassis",
        22 => "RAID Chassis", 23 => "Rack Mount Chassis", 24 => "Sealed-case PC",
        25 => "Multi-system chassis", 26 => "Compact PCI", 27 => "Advanced TCA", 28 => "Blade",
        29 => "Blade Enclosure", 30 => "Tablet", 31 => "Convertible", 32 => "Detachable",
        33 => "IoT Gateway", 34 => "Embedded PC", 35 => "Mini PC", 36 => "Stick PC",
    }
}

named! {
    /// RAM error correction (record 5).
    ErrorCorrection(u8) {
        1 => "Other", 2 => "Unknown", 3 => "None", 4 => "Parity", 5 => "Single-bit ECC",
        6 => "Multi-bit ECC", 7 => "CRC",
    }
}

named! {
    /// Storage bus type (record 6).
    BusType(u16) {
        0 => "Unknown", 1 => "SCSI", 2 => "ATAPI", 3 => "ATA", 4 => "1394", 5 => "SSA", 6 => "Fibre",
        7 => "USB", 8 => "RAID", 9 => "iSCSI", 10 => "SAS", 11 => "SATA", 12 => "SD", 13 => "MMC",
        14 => "Virtual", 15 => "FileBackedVirtual", 16 => "Spaces", 17 => "NVMe", 18 => "SCM",
        19 => "UFS", 20 => "NVMeoF",
    }
}

named! {
    /// NDIS physical medium of a network adapter (record 8).
    PhysicalMedium(u32) {
        0 => "Unspecified", 1 => "WirelessLan", 2 => "CableModem", 3 => "PhoneLine",
        4 => "PowerLine", 5 => "DSL", 6 => "FibreChannel", 7 => "1394", 8 => "WirelessWan",
        9 => "Native802_11", 10 => "Bluetooth", 11 => "Infiniband", 12 => "WiMax", 13 => "UWB",
        14 => "802_3", 15 => "802_5", 16 => "Irda", 17 => "WiredWAN", 18 => "WiredCoWan",
        19 => "Other", 20 => "Native802_15_4",
    }
}

named! {
    /// How the offline device id was derived (record 11).
    OfflineIdMethod(u8) {
        0 => "DEFAULT", 1 => "TPM_EK", 2 => "UEFI_VARIABLE_TPM", 3 => "UEFI_VARIABLE_RANDOMSEED",
        4 => "UEFI_DEV_LOCK_UNLOCK", 5 => "XBOX_CONSOLE_ID", 6 => "REGISTRY_ENTRY",
    }
}

named! {
    /// Display output technology (record 9).
    OutputTechnology(u32) {
        0xFFFF_FFFF => "Other", 0 => "HD15", 1 => "SVideo", 2 => "CompositeVideo",
        3 => "ComponentVideo", 4 => "DVI", 5 => "HDMI", 6 => "LVDS", 8 => "DJPN", 9 => "SDI",
        10 => "DisplayPortExternal", 11 => "DisplayPortEmbedded", 12 => "UDIExternal",
        13 => "UDIEmbedded", 14 => "SDTVDongle", 15 => "Miracast", 16 => "IndirectWired",
        0x8000_0000 => "Internal",
    }
}

/// Digitizer capability flags (record 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DigitizerFlags(pub u8);

impl DigitizerFlags {
    const NAMES: [(u8, &'static str); 6] = [
        (0x01, "IntegratedTouch"),
        (0x02, "ExternalTouch"),
        (0x04, "IntegratedPen"),
        (0x08, "ExternalPen"),
        (0x40, "MultiInput"),
        (0x80, "Ready"),
    ];

    /// Names of the flags that are set; bits without a name are listed as hex.
    pub fn names(self) -> Vec<String> {
        let mut out = Vec::new();
        let mut known = 0u8;
        for (bit, name) in Self::NAMES {
            known |= bit;
            if self.0 & bit != 0 {
                out.push(name.to_string());
            }
        }
        if self.0 & !known != 0 {
            out.push(format!("0x{:02x}", self.0 & !known));
        }
        out
    }
}

impl fmt::Display for DigitizerFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.names();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(", "))
        }
    }
}

impl Serialize for DigitizerFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_have_names_and_unknown_keep_numbers() {
        assert_eq!(CpuArchitecture(12).to_string(), "ARM64");
        assert_eq!(CpuArchitecture(42).to_string(), "unknown (42)");
        assert_eq!(serde_json::to_string(&OsType(1)).unwrap(), "\"WinPE\"");
        assert_eq!(serde_json::to_string(&OsType(7)).unwrap(), "7");
        assert_eq!(OutputTechnology(0x8000_0000).name(), Some("Internal"));
    }

    #[test]
    fn digitizer_flags_list_every_bit() {
        assert_eq!(
            DigitizerFlags(0x85).to_string(),
            "IntegratedTouch, IntegratedPen, Ready"
        );
        assert_eq!(DigitizerFlags(0x30).names(), vec!["0x30".to_string()]);
        assert_eq!(DigitizerFlags(0).to_string(), "none");
    }
}
