-- A worker walks an import's rows by seq (it remembers the last seq it handled), so the import
-- index no longer needs status: without it, recording a row's outcome rewrites the row but moves
-- no index entry (two B-tree writes per device fewer).
DROP INDEX imported_by_import;
CREATE INDEX imported_by_seq ON imported_devices (tenant_id, import_id, seq);
