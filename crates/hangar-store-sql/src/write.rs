//! The bulk writes of an import — its rows and hashes when it is recorded, then the devices and
//! identity keys its processing registers — are listed here once as [`Insert`]s, and each backend
//! runs them its own way through `insert_rows` (see [`impl_store!`](crate::impl_store)):
//! PostgreSQL as multi-row statements (one round trip per few thousand rows), SQLite as one
//! prepared statement stepped once per row on the writer's own handle. A multi-row statement
//! through sqlx's SQLite driver copied every value twice and cost twice what SQLite needs for the
//! B-tree work itself.

use crate::{opt_micros, Value};
use hangar_core::model::{to_micros, AutopilotDevice, ImportedDevice};
use hangar_core::store::{StoreError, StoreResult};

/// Rows for one table: `INSERT INTO {table} ({columns})`, [`Insert::width`] values per row.
#[derive(Debug, Clone)]
pub struct Insert {
    pub table: &'static str,
    pub columns: &'static str,
    values: Vec<Value>,
}

impl Insert {
    pub fn new(table: &'static str, columns: &'static str) -> Insert {
        Insert {
            table,
            columns,
            values: Vec::new(),
        }
    }

    /// Values per row: one per column.
    pub fn width(&self) -> usize {
        self.columns.split(',').count()
    }

    pub fn push_row(&mut self, row: impl IntoIterator<Item = Value>) {
        let before = self.values.len();
        self.values.extend(row);
        debug_assert_eq!(self.values.len() - before, self.width());
    }

    /// The rows, each [`Insert::width`] values.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, Value> {
        self.values.chunks_exact(self.width())
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `INSERT INTO t (a, b) VALUES ($1, $2)`: the statement for one row.
    pub fn single_row_sql(&self) -> String {
        let placeholders: Vec<_> = (1..=self.width()).map(crate::placeholder).collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.table,
            self.columns,
            placeholders.join(", ")
        )
    }
}

/// A device's row of `devices`, in the order of [`crate::DEVICE_INSERT_COLUMNS`].
pub fn device_row(
    d: &AutopilotDevice,
    hash_id: &str,
    publish_generation: i64,
) -> impl IntoIterator<Item = Value> {
    [
        Value::Text(d.id.to_string()),
        Value::Text(d.tenant_id.to_string()),
        Value::Text(d.group_tag.clone()),
        Value::Text(d.purchase_order_identifier.clone()),
        Value::Text(d.serial_number.clone()),
        Value::Text(d.product_key.clone()),
        Value::Text(d.manufacturer.clone()),
        Value::Text(d.model.clone()),
        Value::from(d.enrollment_state.as_str()),
        Value::OptInt(opt_micros(d.last_contacted)),
        Value::Text(d.addressable_user_name.clone()),
        Value::Text(d.user_principal_name.clone()),
        Value::Text(d.resource_name.clone()),
        Value::Text(d.sku_number.clone()),
        Value::Text(d.system_family.clone()),
        Value::Text(d.azure_active_directory_device_id.clone()),
        Value::OptText(d.managed_device_id.map(|m| m.to_string())),
        Value::Text(d.display_name.clone()),
        Value::Text(d.azure_ad_device_id.clone()),
        Value::from(d.deployment_profile_assignment_status.as_str()),
        Value::from(d.deployment_profile_assignment_detailed_status.as_str()),
        Value::OptInt(opt_micros(d.deployment_profile_assigned)),
        Value::Text(d.device_account_upn.clone()),
        Value::Text(d.device_account_password.clone()),
        Value::Text(d.device_friendly_name.clone()),
        Value::from(d.remediation_state.as_str()),
        Value::OptInt(opt_micros(d.remediation_state_last_modified)),
        Value::from(d.userless_enrollment_status.as_str()),
        Value::Text(hash_id.to_string()),
        Value::from(d.source.as_str()),
        Value::Text(d.registered_by.clone()),
        Value::OptText(d.import_id.clone()),
        Value::Int(to_micros(d.created)),
        Value::Int(to_micros(d.updated)),
        Value::Int(publish_generation),
        Value::Int(i64::from(d.pending_removal)),
    ]
}

/// The columns of an imported row, in the order of [`imported_row`].
pub const IMPORTED_INSERT_COLUMNS: &str =
    "id, tenant_id, import_id, seq, group_tag, serial_number, \
     product_key, assigned_user, status, device_registration_id, error_code, created";

/// An imported row's row of `imported_devices` in `tenant` (its hash goes to `hashes`).
pub fn imported_row(r: &ImportedDevice, tenant: &str) -> impl IntoIterator<Item = Value> {
    [
        Value::Text(r.id.to_string()),
        Value::Text(tenant.to_string()),
        Value::Text(r.import_id.clone()),
        Value::Int(r.seq),
        Value::Text(r.group_tag.clone()),
        Value::Text(r.serial_number.clone()),
        Value::Text(r.product_key.clone()),
        Value::Text(r.assigned_user_principal_name.clone()),
        Value::from(r.state.status.as_str()),
        Value::OptText(r.state.device_registration_id.map(|d| d.to_string())),
        Value::Int(i64::from(r.state.error_code())),
        Value::Int(to_micros(r.created)),
    ]
}

/// The columns of `hashes`, in the order of [`hash_row`].
pub const HASH_INSERT_COLUMNS: &str = "id, tenant_id, bytes, codec";

/// `hashes.codec` of a hash stored as it came (rows written before migration 0009).
const CODEC_RAW: i64 = 0;
/// `hashes.codec` of a hash stored LZ4-compressed (a block with its length prepended). Hardware
/// hashes compress to about a third (3,000 bytes to ~1,000 for the fixtures' devices), so three
/// or four share a page where one filled it, and an import writes a third of the bytes for them.
const CODEC_LZ4: i64 = 1;
/// LZ4 expands a block at most this many times (a byte per literal run of 255), so a stored
/// length beyond it is damage, and is refused before anything is allocated for it.
const LZ4_MAX_RATIO: usize = 255;

/// A row of `hashes`: the hash of the imported row or device `id`, compressed.
pub fn hash_row(id: String, tenant: &str, hash: &[u8]) -> [Value; 4] {
    [
        Value::Text(id),
        Value::Text(tenant.to_string()),
        Value::Bytes(lz4_flex::compress_prepend_size(hash)),
        Value::Int(CODEC_LZ4),
    ]
}

/// A hash as stored in `hashes.bytes` with its `codec`, back to its bytes.
pub fn stored_hash(bytes: Vec<u8>, codec: i64) -> StoreResult<Vec<u8>> {
    let corrupt = |why: String| StoreError::Corrupt(format!("a stored hardware hash {why}"));
    match codec {
        CODEC_RAW => Ok(bytes),
        CODEC_LZ4 => {
            let len = bytes
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or_else(|| corrupt("is shorter than its length".into()))?;
            if len > bytes.len().saturating_mul(LZ4_MAX_RATIO) {
                return Err(corrupt(format!(
                    "claims {len} bytes from {} compressed",
                    bytes.len()
                )));
            }
            lz4_flex::decompress_size_prepended(&bytes)
                .map_err(|e| corrupt(format!("does not decompress: {e}")))
        }
        other => Err(corrupt(format!("has the unknown codec {other}"))),
    }
}

/// The identity keys of a registration, from its stored hash: the same derivation as when it was
/// registered (`hwhash::IdentityKeys::of`), so they are the keys its `device_keys` rows hold. A
/// hash that no longer decodes (none is stored that did not) has none.
pub fn identity_keys_of(hash: &[u8]) -> hwhash::IdentityKeys {
    hwhash::decode_bytes(hash)
        .map(|h| hwhash::IdentityKeys::of(&h))
        .unwrap_or_default()
}

/// The columns of `device_keys`.
pub const KEY_INSERT_COLUMNS: &str = "key, device_id, tenant_id";

#[cfg(test)]
mod tests {
    use super::*;
    use hangar_core::model::{RegistrationSource, TenantId};

    /// The hash of the first device of each fixture CSV.
    fn fixture_hashes() -> Vec<Vec<u8>> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/hwhash"
        );
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("fixtures").flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue; // UTF-16 files
            };
            let Some(line) = text.lines().nth(1) else {
                continue;
            };
            let longest = line
                .split(',')
                .map(|c| c.trim_matches('"'))
                .max_by_key(|c| c.len());
            if let Some(bytes) = longest.and_then(|c| hwhash::base64_to_bytes(c.as_bytes()).ok()) {
                if hwhash::decode_bytes(&bytes).is_ok() {
                    out.push(bytes);
                }
            }
        }
        out
    }

    #[test]
    fn hashes_are_stored_compressed_and_read_back_unchanged() {
        let hashes = fixture_hashes();
        assert!(hashes.len() >= 5, "found {} fixture hashes", hashes.len());
        let (mut raw, mut stored) = (0, 0);
        for hash in hashes {
            let [_, _, Value::Bytes(bytes), Value::Int(codec)] = hash_row("id".into(), "t", &hash)
            else {
                panic!("a hash row is id, tenant, bytes, codec");
            };
            raw += hash.len();
            stored += bytes.len();
            assert_eq!(stored_hash(bytes, codec).expect("read back"), hash);
        }
        assert!(stored * 2 < raw, "{raw} bytes stored as {stored}");
    }

    #[test]
    fn hashes_stored_before_compression_are_read_as_they_are() {
        let bytes = vec![0x4f, 0x41, 1, 2, 3];
        assert_eq!(stored_hash(bytes.clone(), CODEC_RAW).expect("raw"), bytes);
    }

    #[test]
    fn any_size_of_hash_reads_back() {
        // What an import row may carry is bounded by the request body, not by this codec.
        for len in [0, 1, 3000, 5 << 20] {
            let hash: Vec<u8> = (0..len).map(|i| (i % 7) as u8).collect();
            let [_, _, Value::Bytes(bytes), Value::Int(codec)] = hash_row("id".into(), "t", &hash)
            else {
                panic!("a hash row is id, tenant, bytes, codec");
            };
            assert_eq!(
                stored_hash(bytes, codec).expect("read back"),
                hash,
                "{len} bytes"
            );
        }
    }

    #[test]
    fn damaged_hashes_are_errors_not_panics() {
        let good = lz4_flex::compress_prepend_size(&[7u8; 3000]);
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        for (bytes, codec) in [
            (good[..good.len() / 2].to_vec(), CODEC_LZ4),
            (vec![1, 2], CODEC_LZ4),
            (huge, CODEC_LZ4),
            (good, 9),
        ] {
            assert!(matches!(
                stored_hash(bytes, codec),
                Err(StoreError::Corrupt(_))
            ));
        }
    }

    #[test]
    fn a_device_row_has_a_value_per_insert_column() {
        let d = AutopilotDevice::new(
            TenantId::new(),
            RegistrationSource::Import,
            "admin".into(),
            time::OffsetDateTime::now_utc(),
        );
        let mut insert = Insert::new("devices", crate::DEVICE_INSERT_COLUMNS);
        insert.push_row(device_row(&d, "h", 3));
        let row = insert.rows().next().expect("one row");
        assert_eq!(row.len(), 36);
        assert_eq!(row[0], Value::Text(d.id.to_string()));
        assert_eq!(row[28], Value::Text("h".into()));
        assert_eq!(row[34], Value::Int(3));
        assert_eq!(
            insert.single_row_sql(),
            format!(
                "INSERT INTO devices ({}) VALUES ({})",
                crate::DEVICE_INSERT_COLUMNS,
                (1..=36)
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
    }
}
