-- Publishing by generation: a sync no longer rewrites every device it publishes (on PostgreSQL a
-- new version of each row and of its index entries: 3-5 s for 100k devices). Each tenant has a
-- sync generation; a device is in the tenant's list once its publish_generation is at most the
-- tenant's generation. The tenant's own imports are registered at generation 0 (listed at once);
-- partner and OEM registrations at the tenant's generation + 1, which the next sync reaches by
-- incrementing one counter. Devices not yet published keep waiting for the next sync.
ALTER TABLE sync_state ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN publish_generation BIGINT NOT NULL DEFAULT 0;
UPDATE devices SET publish_generation = 1 WHERE published = 0;
ALTER TABLE devices DROP COLUMN published;
-- What a sync publishes, counted without reading the tenant's other devices.
CREATE INDEX devices_awaiting_sync ON devices (tenant_id, publish_generation, pending_removal)
    WHERE publish_generation > 0;
