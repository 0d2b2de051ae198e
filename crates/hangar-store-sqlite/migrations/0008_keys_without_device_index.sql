-- A device's identity keys follow from its stored hash, so deleting or deregistering a device
-- finds them by their primary key: the index on device_keys.device_id goes, and registering a
-- device makes one B-tree insert fewer per identity key (four, usually).
DROP INDEX device_keys_device;
