-- Devices are stored in a table keyed by (tenant_id, id) instead of a rowid table with two indexes
-- on the same columns (`id`'s primary key and `devices_list`). Every read of a device names its
-- tenant, so a GET by id is one B-tree descent instead of an index descent and then a table
-- descent, a page of the list is a range of the table itself instead of an index range and a
-- table lookup per device, and a registration writes two B-trees fewer. Ids are time-ordered, so
-- a tenant's new devices still append to the end of its range.
CREATE TABLE devices_by_tenant (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
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
    publish_generation BIGINT NOT NULL DEFAULT 0,
    pending_removal BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

INSERT INTO devices_by_tenant (
    tenant_id, id, group_tag, purchase_order_identifier, serial_number, product_key, manufacturer,
    model, enrollment_state, last_contacted, addressable_user_name, user_principal_name,
    resource_name, sku_number, system_family, azure_active_directory_device_id, managed_device_id,
    display_name, azure_ad_device_id, profile_status, profile_detailed_status, profile_assigned,
    device_account_upn, device_account_password, device_friendly_name, remediation_state,
    remediation_modified, userless_enrollment_status, hash_id, source, registered_by, import_id,
    created, updated, publish_generation, pending_removal
)
SELECT
    tenant_id, id, group_tag, purchase_order_identifier, serial_number, product_key, manufacturer,
    model, enrollment_state, last_contacted, addressable_user_name, user_principal_name,
    resource_name, sku_number, system_family, azure_active_directory_device_id, managed_device_id,
    display_name, azure_ad_device_id, profile_status, profile_detailed_status, profile_assigned,
    device_account_upn, device_account_password, device_friendly_name, remediation_state,
    remediation_modified, userless_enrollment_status, hash_id, source, registered_by, import_id,
    created, updated, publish_generation, pending_removal
FROM devices;

-- A table cannot be re-keyed in place: it is copied, and the copy takes its name and indexes.
DROP TABLE devices;
ALTER TABLE devices_by_tenant RENAME TO devices;

CREATE INDEX devices_serial ON devices (tenant_id, serial_number);
-- The index names pending_removal and hash_id, though one is constant and the other only read, so
-- that a sync finds the few devices it removes through it rather than through the primary key.
CREATE INDEX devices_pending_removal ON devices (tenant_id, pending_removal, hash_id)
    WHERE pending_removal = 1;
CREATE INDEX devices_awaiting_sync ON devices (tenant_id, publish_generation, pending_removal)
    WHERE publish_generation > 0;
