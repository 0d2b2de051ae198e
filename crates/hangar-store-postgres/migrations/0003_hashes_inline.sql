-- Hardware hashes (about 3000 bytes, little redundancy) made every row pass PostgreSQL's toast
-- threshold (2 kB): each insert ran pglz over the hash first, which rarely shrinks it. With the
-- toast target at 4080 bytes, a row up to that size is stored inline, uncompressed; larger ones
-- are still compressed or moved out of line as before. Only new rows are affected.
ALTER TABLE hashes SET (toast_tuple_target = 4080);
