//! The reads behind every API request — a token, a device by id, a page of devices — are written
//! here once as [`Sql`] and decoded once from [`Cols`], but each backend runs them its own way
//! through [`ReadRows`]: PostgreSQL through sqlx, SQLite through rusqlite on the calling thread.
//! sqlx's SQLite driver hands every statement to a per-connection worker thread and back (two
//! thread wake-ups and channel hops per query), which cost more than the query itself: a device
//! by id from the page cache takes a few microseconds in SQLite.

use crate::{corrupt, from_opt_micros};
use hangar_core::credentials::{AccessToken, Role};
use hangar_core::model::*;
use hangar_core::store::{StoreError, StoreResult};
use std::future::Future;

/// A bound value. The optional variants keep their type when NULL (PostgreSQL checks it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
    OptText(Option<String>),
    OptInt(Option<i64>),
    Bytes(Vec<u8>),
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}

/// A statement and its binds; [`Sql::bind`] appends the next `$N` placeholder, so placeholders
/// always appear in the order of their numbers.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    binds: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        // Room for the conditions and placeholders usually pushed after the column list, so that
        // the statement's text (hundreds of bytes) is copied once.
        let mut sql = Sql {
            text: String::with_capacity(text.len() + 128),
            binds: Vec::new(),
        };
        sql.text.push_str(text);
        sql
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Sql {
        self.binds.push(value.into());
        self.text.push_str(&placeholder(self.binds.len()));
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn binds(&self) -> &[Value] {
        &self.binds
    }
}

/// The placeholder of the `n`th bind (from 1): `$n`, as both backends name parameters.
pub fn placeholder(n: usize) -> std::borrow::Cow<'static, str> {
    const FIRST: [&str; 9] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9"];
    match n.checked_sub(1).and_then(|i| FIRST.get(i)) {
        Some(p) => std::borrow::Cow::Borrowed(p),
        None => std::borrow::Cow::Owned(format!("${n}")),
    }
}

/// What a read costs, which decides where a backend may run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadKind {
    /// Served by a unique index: at most a few rows, microseconds.
    ByKey,
    /// A range or a filter: may read many rows.
    Range,
    /// Background work reading through much of the database once (an import's rows and their
    /// hashes, its keys): it should not keep what it read in the process's memory.
    Bulk,
}

/// The columns of one result row, by position.
pub trait Cols {
    fn text(&self, i: usize) -> StoreResult<String>;
    /// Hands the column's text to `f` without copying it: for values parsed into something else.
    fn with_text(&self, i: usize, f: &mut dyn FnMut(&str)) -> StoreResult<()>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn int(&self, i: usize) -> StoreResult<i64>;
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>>;
}

pub type Decode<T> = fn(&dyn Cols) -> StoreResult<T>;

/// How a backend runs a read built here.
pub trait ReadRows {
    fn read_rows<T: Send + 'static>(
        &self,
        kind: ReadKind,
        sql: Sql,
        decode: Decode<T>,
    ) -> impl Future<Output = StoreResult<Vec<T>>> + Send;
}

macro_rules! impl_cols_for_sqlx {
    ($row:ty) => {
        impl Cols for $row {
            fn text(&self, i: usize) -> StoreResult<String> {
                sqlx::Row::try_get(self, i).map_err(crate::map_err)
            }
            fn with_text(&self, i: usize, f: &mut dyn FnMut(&str)) -> StoreResult<()> {
                f(sqlx::Row::try_get::<&str, _>(self, i).map_err(crate::map_err)?);
                Ok(())
            }
            fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
                sqlx::Row::try_get(self, i).map_err(crate::map_err)
            }
            fn int(&self, i: usize) -> StoreResult<i64> {
                sqlx::Row::try_get(self, i).map_err(crate::map_err)
            }
            fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
                sqlx::Row::try_get(self, i).map_err(crate::map_err)
            }
            fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
                sqlx::Row::try_get(self, i).map_err(crate::map_err)
            }
        }
    };
}

impl_cols_for_sqlx!(sqlx::sqlite::SqliteRow);
impl_cols_for_sqlx!(sqlx::postgres::PgRow);

fn parsed<T>(r: &dyn Cols, i: usize, what: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let mut out = Err(String::new());
    r.with_text(i, &mut |v| out = parse(v).ok_or_else(|| v.to_string()))?;
    out.map_err(|v| corrupt(what, &v))
}

/// The device columns, in the order [`device_from_cols`] reads them.
#[macro_export]
#[doc(hidden)]
macro_rules! device_columns {
    () => {
        concat!(
            $crate::stored_device_columns!(),
            ", CAST(CASE WHEN ",
            $crate::published!(),
            " THEN 1 ELSE 0 END AS BIGINT), pending_removal"
        )
    };
    // For a query whose conditions include [`push_published`]: every row is listed, and the flag
    // needs no lookup per row.
    (listed) => {
        concat!(
            $crate::stored_device_columns!(),
            ", CAST(1 AS BIGINT), pending_removal"
        )
    };
}

/// The columns that devices share between reading and inserting.
#[macro_export]
#[doc(hidden)]
macro_rules! stored_device_columns {
    () => {
        "id, tenant_id, group_tag, purchase_order_identifier, serial_number, product_key, \
         manufacturer, model, enrollment_state, last_contacted, addressable_user_name, user_principal_name, \
         resource_name, sku_number, system_family, azure_active_directory_device_id, managed_device_id, display_name, \
         azure_ad_device_id, profile_status, profile_detailed_status, profile_assigned, device_account_upn, \
         device_account_password, device_friendly_name, remediation_state, remediation_modified, \
         userless_enrollment_status, hash_id, source, registered_by, import_id, created, updated"
    };
}

/// A condition on a row of `devices`: it is in its tenant's list, i.e. its tenant's syncs have
/// reached its publish generation (migration 0005). Generation 0 (a tenant's own imports) is
/// listed from the start, and says so without looking up the tenant's generation.
#[macro_export]
#[doc(hidden)]
macro_rules! published {
    () => {
        "(devices.publish_generation = 0 OR devices.publish_generation <= \
         (SELECT s.generation FROM sync_state s WHERE s.tenant_id = devices.tenant_id))"
    };
}

pub const DEVICE_COLUMNS: &str = device_columns!();

/// The columns an insert into `devices` names, in the order [`device_from_cols`] reads them.
pub const DEVICE_INSERT_COLUMNS: &str = concat!(
    stored_device_columns!(),
    ", publish_generation, pending_removal"
);

/// A device row selected with [`DEVICE_COLUMNS`] (without its hash and identity keys).
pub fn device_from_cols(r: &dyn Cols) -> StoreResult<AutopilotDevice> {
    Ok(AutopilotDevice {
        id: parsed(r, 0, "id", DeviceId::parse)?,
        tenant_id: parsed(r, 1, "tenant_id", TenantId::parse)?,
        group_tag: r.text(2)?,
        purchase_order_identifier: r.text(3)?,
        serial_number: r.text(4)?,
        product_key: r.text(5)?,
        manufacturer: r.text(6)?,
        model: r.text(7)?,
        enrollment_state: parsed(r, 8, "enrollment_state", EnrollmentState::parse)?,
        last_contacted: from_opt_micros(r.opt_int(9)?),
        addressable_user_name: r.text(10)?,
        user_principal_name: r.text(11)?,
        resource_name: r.text(12)?,
        sku_number: r.text(13)?,
        system_family: r.text(14)?,
        azure_active_directory_device_id: r.text(15)?,
        managed_device_id: r.opt_text(16)?.as_deref().and_then(ManagedDeviceId::parse),
        display_name: r.text(17)?,
        azure_ad_device_id: r.text(18)?,
        deployment_profile_assignment_status: parsed(
            r,
            19,
            "profile_status",
            ProfileAssignmentStatus::parse,
        )?,
        deployment_profile_assignment_detailed_status: parsed(
            r,
            20,
            "profile_detailed_status",
            ProfileAssignmentDetailedStatus::parse,
        )?,
        deployment_profile_assigned: from_opt_micros(r.opt_int(21)?),
        device_account_upn: r.text(22)?,
        device_account_password: r.text(23)?,
        device_friendly_name: r.text(24)?,
        remediation_state: parsed(r, 25, "remediation_state", RemediationState::parse)?,
        remediation_state_last_modified: from_opt_micros(r.opt_int(26)?),
        userless_enrollment_status: parsed(
            r,
            27,
            "userless_enrollment_status",
            UserlessEnrollmentStatus::parse,
        )?,
        hardware_hash: Vec::new(),
        identity_keys: hwhash::IdentityKeys::default(),
        // hash_id (28) is read by the queries that need the hash.
        source: parsed(r, 29, "source", RegistrationSource::parse)?,
        registered_by: r.text(30)?,
        import_id: r.opt_text(31)?,
        created: from_micros(r.int(32)?),
        updated: from_micros(r.int(33)?),
        published: r.int(34)? != 0,
        pending_removal: r.int(35)? != 0,
    })
}

/// The token columns, in the order [`token_from_cols`] reads them.
#[macro_export]
#[doc(hidden)]
macro_rules! token_columns {
    () => {
        "id, tenant_id, role, token_hash, name, created, expires, revoked"
    };
}

/// A token row selected with [`token_columns!`].
pub fn token_from_cols(r: &dyn Cols) -> StoreResult<AccessToken> {
    Ok(AccessToken {
        id: r.text(0)?,
        tenant_id: parsed(r, 1, "tenant_id", TenantId::parse)?,
        role: parsed(r, 2, "role", Role::parse)?,
        token_hash: r.text(3)?,
        name: r.text(4)?,
        created: from_micros(r.int(5)?),
        expires: from_opt_micros(r.opt_int(6)?),
        revoked: from_opt_micros(r.opt_int(7)?),
    })
}

/// Appends ` AND ` the condition that a device is in `tenant`'s list: the condition of
/// [`published!`] with the tenant's generation read once for the statement, not once per row.
pub fn push_published(sql: &mut Sql, tenant: String) {
    sql.push(PUBLISHED_IN_TENANT).bind(tenant).push(")");
}

/// The start of [`push_published`]'s condition, for statements built otherwise: the tenant's id is
/// bound next, then `)` closes it.
pub const PUBLISHED_IN_TENANT: &str =
    " AND publish_generation <= (SELECT generation FROM sync_state WHERE tenant_id = ";

/// Appends a filter on the columns `column` names; string comparisons ignore case.
pub fn push_filter<F: Copy>(sql: &mut Sql, f: &Filter<F>, column: fn(F) -> &'static str) {
    match f {
        Filter::Contains(field, v) => {
            sql.push(&format!("LOWER({}) LIKE ", column(*field)))
                .bind(format!("%{}%", crate::like_escape(v)))
                .push(" ESCAPE '\\'");
        }
        Filter::StartsWith(field, v) => {
            sql.push(&format!("LOWER({}) LIKE ", column(*field)))
                .bind(format!("{}%", crate::like_escape(v)))
                .push(" ESCAPE '\\'");
        }
        Filter::Eq(field, v) => {
            sql.push(&format!("LOWER({}) = ", column(*field)))
                .bind(v.to_lowercase());
        }
        Filter::Ne(field, v) => {
            sql.push(&format!("LOWER({}) <> ", column(*field)))
                .bind(v.to_lowercase());
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            sql.push("(");
            push_filter(sql, a, column);
            sql.push(if matches!(f, Filter::And(..)) {
                ") AND ("
            } else {
                ") OR ("
            });
            push_filter(sql, b, column);
            sql.push(")");
        }
    }
}

/// The imported-row query without its conditions, in the order [`imported_from_cols`] reads.
#[macro_export]
#[doc(hidden)]
macro_rules! imported_select {
    () => {
        "SELECT i.id, i.tenant_id, i.import_id, i.seq, i.group_tag, i.serial_number, \
         i.product_key, i.assigned_user, i.status, i.device_registration_id, i.error_code, i.created, \
         h.bytes, h.codec FROM imported_devices i JOIN hashes h ON h.tenant_id = i.tenant_id AND h.id = i.id"
    };
}

/// An imported row selected with [`imported_select!`].
pub fn imported_from_cols(r: &dyn Cols) -> StoreResult<ImportedDevice> {
    let code = r.int(10)?;
    let error = if code == 0 {
        None
    } else {
        Some(
            hangar_core::ZtdError::from_code(code as i32)
                .ok_or_else(|| corrupt("error_code", &code.to_string()))?,
        )
    };
    Ok(ImportedDevice {
        id: parsed(r, 0, "id", ImportedDeviceId::parse)?,
        tenant_id: parsed(r, 1, "tenant_id", TenantId::parse)?,
        import_id: r.text(2)?,
        seq: r.int(3)?,
        group_tag: r.text(4)?,
        serial_number: r.text(5)?,
        product_key: r.text(6)?,
        assigned_user_principal_name: r.text(7)?,
        state: ImportState {
            status: parsed(r, 8, "status", DeviceImportStatus::parse)?,
            device_registration_id: r.opt_text(9)?.as_deref().and_then(DeviceId::parse),
            error,
        },
        created: from_micros(r.int(11)?),
        hardware_identifier: crate::stored_hash(r.bytes(12)?, r.int(13)?)?,
    })
}

/// At most one row.
pub fn single<T>(mut rows: Vec<T>) -> StoreResult<Option<T>> {
    match rows.len() {
        0 | 1 => Ok(rows.pop()),
        n => Err(StoreError::Corrupt(format!(
            "a lookup by key returned {n} rows"
        ))),
    }
}

/// The owner of each registered key among a list; the caller appends the list's condition on
/// `k.key`.
pub const KEY_OWNER_SELECT: &str = "SELECT k.key, k.tenant_id, k.device_id, d.import_id \
     FROM device_keys k JOIN devices d ON d.tenant_id = k.tenant_id AND d.id = k.device_id WHERE ";

/// A registered identity key and the registration that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwnerRow {
    pub key: String,
    pub tenant_id: String,
    pub device_id: String,
    pub import_id: Option<String>,
}

/// A row selected with [`KEY_OWNER_SELECT`].
pub fn key_owner_from_cols(r: &dyn Cols) -> StoreResult<KeyOwnerRow> {
    Ok(KeyOwnerRow {
        key: r.text(0)?,
        tenant_id: r.text(1)?,
        device_id: r.text(2)?,
        import_id: r.opt_text(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_number_their_placeholders_in_order() {
        let mut sql = Sql::new("SELECT x FROM t WHERE a = ");
        sql.bind("one").push(" AND b > ").bind(2i64);
        assert_eq!(sql.text(), "SELECT x FROM t WHERE a = $1 AND b > $2");
        assert_eq!(sql.binds(), &[Value::from("one"), Value::Int(2)]);
    }

    #[test]
    fn placeholders_past_the_ninth_have_two_digits() {
        let mut sql = Sql::new("VALUES (");
        for i in 0..11i64 {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(i);
        }
        sql.push(")");
        assert_eq!(
            sql.text(),
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        assert_eq!(placeholder(12), "$12");
    }

    #[test]
    fn device_columns_match_the_positions_decoded() {
        let cols: Vec<&str> = DEVICE_COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(cols.len(), 36);
        assert_eq!(cols[28], "hash_id");
        assert_eq!(cols[19], "profile_status");
        assert_eq!(cols[29], "source");
        assert_eq!(cols[35], "pending_removal");
        let inserted: Vec<&str> = DEVICE_INSERT_COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(inserted.len(), 36);
        assert_eq!(inserted[..34], cols[..34]);
        assert_eq!(inserted[34], "publish_generation");
    }
}
