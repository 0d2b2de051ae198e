-- A sync looks for the tenant's unpublished devices and those marked for removal. Both are few
-- next to the tenant's list, so they get partial indexes: a sync with nothing to do no longer
-- reads every device of the tenant (four scans, inside the write transaction).
CREATE INDEX devices_unpublished ON devices (tenant_id) WHERE published = 0;
CREATE INDEX devices_pending_removal ON devices (tenant_id) WHERE pending_removal = 1;
