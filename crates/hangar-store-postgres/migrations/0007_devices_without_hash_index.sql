-- Only deleting an imported row asked which device uses a hash, and the row itself names that
-- device (its registration id), so the index on devices.hash_id is looked up by primary key
-- instead: one B-tree insert fewer per registered device.
DROP INDEX devices_hash;
