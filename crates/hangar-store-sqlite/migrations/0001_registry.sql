-- The registry. Times are BIGINT Unix microseconds; ids are TEXT GUIDs; flags are BIGINT 0/1.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    primary_domain TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL
);

CREATE TABLE sync_state (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    last_sync BIGINT,
    last_manual_trigger BIGINT,
    status TEXT NOT NULL,
    started BIGINT
);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    group_tag TEXT NOT NULL,
    purchase_order_identifier TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    product_key TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    model TEXT NOT NULL,
    enrollment_state TEXT NOT NULL,
    last_contacted BIGINT,
    addressable_user_name TEXT NOT NULL,
    user_principal_name TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    sku_number TEXT NOT NULL,
    system_family TEXT NOT NULL,
    azure_active_directory_device_id TEXT NOT NULL,
    managed_device_id TEXT,
    display_name TEXT NOT NULL,
    azure_ad_device_id TEXT NOT NULL,
    profile_status TEXT NOT NULL,
    profile_detailed_status TEXT NOT NULL,
    profile_assigned BIGINT,
    device_account_upn TEXT NOT NULL,
    device_account_password TEXT NOT NULL,
    device_friendly_name TEXT NOT NULL,
    remediation_state TEXT NOT NULL,
    remediation_modified BIGINT,
    userless_enrollment_status TEXT NOT NULL,
    hash_id TEXT NOT NULL,
    source TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    import_id TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    published BIGINT NOT NULL,
    pending_removal BIGINT NOT NULL
);
-- Not on published: publishing (sync) then moves no index entries.
CREATE INDEX devices_list ON devices (tenant_id, id);
CREATE INDEX devices_serial ON devices (tenant_id, serial_number);
CREATE INDEX devices_hash ON devices (hash_id);

-- One device, one tenant: every identity key (TPM EK hash, SMBIOS UUID, tuple, PKID) once.
CREATE TABLE device_keys (
    key TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX device_keys_device ON device_keys (device_id);

CREATE TABLE imported_devices (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    import_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    group_tag TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    product_key TEXT NOT NULL,
    assigned_user TEXT NOT NULL,
    status TEXT NOT NULL,
    device_registration_id TEXT,
    error_code BIGINT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX imported_by_import ON imported_devices (tenant_id, import_id, status, seq);
CREATE INDEX imported_list ON imported_devices (tenant_id, id);

-- Hardware hashes, stored once: an imported row's hash has the row's id and its registration
-- points at it (hash_id), so an import writes 3000 bytes per device once, and updating a row's
-- state or publishing a device never rewrites them. A partner registration's hash has the
-- device's id. A hash goes when neither its row nor its device is left.
CREATE TABLE hashes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    bytes BLOB NOT NULL
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX jobs_claim ON jobs (lease_until, id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    action TEXT NOT NULL,
    objects TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX audit_by_tenant ON audit_log (tenant_id, id);

CREATE TABLE directory_devices (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    device_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    physical_ids TEXT NOT NULL,
    trust_type TEXT NOT NULL,
    account_enabled BIGINT NOT NULL,
    operating_system TEXT NOT NULL,
    registration BIGINT,
    autopilot_device_id TEXT
);
CREATE INDEX directory_by_autopilot ON directory_devices (tenant_id, autopilot_device_id);

CREATE TABLE managed_devices (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    device_name TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    model TEXT NOT NULL,
    user_principal_name TEXT NOT NULL,
    azure_ad_device_id TEXT NOT NULL,
    enrolled BIGINT,
    last_sync BIGINT,
    operating_system TEXT NOT NULL,
    management_state TEXT NOT NULL,
    autopilot_enrolled BIGINT NOT NULL,
    enrolled_by_user_id TEXT NOT NULL,
    autopilot_device_id TEXT
);
CREATE INDEX managed_by_autopilot ON managed_devices (tenant_id, autopilot_device_id);
