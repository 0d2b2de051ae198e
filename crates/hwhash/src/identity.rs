//! The keys that identify a device in the registry. Hashes are never compared as strings (every
//! collection differs in its timestamp); their identity keys are.

use crate::model::*;
use sha2::{Digest, Sha256};

/// A device's identity keys, strongest first. A key is absent when the hash lacks it or holds a
/// placeholder, so that two unrelated devices never collide on firmware filler.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct IdentityKeys {
    /// Hex SHA-256 of the TPM EK modulus (record 25).
    pub tpm_ek_hash: Option<String>,
    /// The SMBIOS UUID as a lower-case GUID; absent when all-zero or all-FF.
    pub smbios_uuid: Option<String>,
    /// Manufacturer, product name and serial, exact and case-sensitive; absent when the serial is
    /// a placeholder.
    pub tuple: Option<DeviceTuple>,
    /// The OEM product key id (record 24).
    pub product_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct DeviceTuple {
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
}

impl IdentityKeys {
    pub fn of(hash: &HardwareHash) -> IdentityKeys {
        let non_empty = |v: Option<std::borrow::Cow<'_, str>>| {
            v.map(|s| s.into_owned()).filter(|s| !s.trim().is_empty())
        };
        let tuple = match (
            non_empty(hash.manufacturer()),
            non_empty(hash.product_name()),
            non_empty(hash.serial()),
        ) {
            (Some(manufacturer), Some(model), Some(serial)) if !is_placeholder_serial(&serial) => {
                Some(DeviceTuple {
                    manufacturer,
                    model,
                    serial,
                })
            }
            _ => None,
        };
        IdentityKeys {
            tpm_ek_hash: hash
                .tpm_ek_pub()
                .filter(|ek| !ek.is_empty())
                .map(|ek| hex::encode(Sha256::digest(ek))),
            smbios_uuid: hash
                .smbios_uuid()
                .filter(|u| !u.is_placeholder())
                .map(SmbiosUuid::to_guid_string),
            tuple,
            product_key_id: non_empty(hash.product_key_id()),
        }
    }

    /// True when any key is present in both.
    pub fn overlaps(&self, other: &IdentityKeys) -> bool {
        fn both<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
            matches!((a, b), (Some(x), Some(y)) if x == y)
        }
        both(&self.tpm_ek_hash, &other.tpm_ek_hash)
            || both(&self.smbios_uuid, &other.smbios_uuid)
            || both(&self.tuple, &other.tuple)
            || both(&self.product_key_id, &other.product_key_id)
    }

    pub fn is_empty(&self) -> bool {
        self.tpm_ek_hash.is_none()
            && self.smbios_uuid.is_none()
            && self.tuple.is_none()
            && self.product_key_id.is_none()
    }
}
