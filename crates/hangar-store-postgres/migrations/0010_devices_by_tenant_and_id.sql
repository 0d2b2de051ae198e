-- On SQLite this migration stores devices in a table keyed by (tenant_id, id). PostgreSQL keeps
-- its heap with the primary key on id and `devices_list` on (tenant_id, id): an index scan already
-- reaches a row in one descent and a heap fetch, so there is nothing to gain here.
SELECT 1;
