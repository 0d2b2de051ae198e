-- A 3000-byte hardware hash made every hashes row longer than the 2 kB at which PostgreSQL starts
-- compressing (pglz, ~10% of the server's CPU during an import, for bytes that barely compress).
-- Rows up to 4080 bytes now stay inline and uncompressed in the heap page; longer ones are
-- compressed and moved out of line as before.
ALTER TABLE hashes SET (toast_tuple_target = 4080);
