-- Processing an import sets each row's status, registration id and error code. On a full page
-- that update writes the new row version to another page and adds it to every index of the table
-- (three B-tree inserts per row). With half of each page kept free, the new version stays on its
-- page and no index changes (a HOT update). Applies to pages written from now on.
ALTER TABLE imported_devices SET (fillfactor = 50);

-- Ids and identity keys compare byte by byte ("C"), as SQLite compares them: under the database's
-- default collation every B-tree comparison of these columns went through strcoll. GUIDs and keys
-- sort the same either way (ASCII), so pages and next links keep their order.
ALTER TABLE device_keys
    ALTER COLUMN key TYPE TEXT COLLATE "C",
    ALTER COLUMN device_id TYPE TEXT COLLATE "C";
ALTER TABLE devices
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN hash_id TYPE TEXT COLLATE "C";
ALTER TABLE imported_devices ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE hashes ALTER COLUMN id TYPE TEXT COLLATE "C";
