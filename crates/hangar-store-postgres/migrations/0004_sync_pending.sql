-- A sync looks for the tenant's devices marked for removal; they are few next to the tenant's
-- list, so a partial index finds them without reading every device of the tenant (three scans,
-- inside the write transaction). SQLite's 0004 also indexes the unpublished devices; here that
-- index would make every update of `published` a non-HOT update of all the table's indexes,
-- which doubled the time to publish 100k new devices.
CREATE INDEX devices_pending_removal ON devices (tenant_id) WHERE pending_removal = 1;
