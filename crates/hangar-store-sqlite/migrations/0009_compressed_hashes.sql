-- Hardware hashes are stored LZ4-compressed from now on (codec 1): they shrink to about a third,
-- so several share a page where one filled it and an import writes a third of the bytes for them.
-- Rows written before keep their bytes as they are (codec 0) and are read as before.
ALTER TABLE hashes ADD COLUMN codec BIGINT NOT NULL DEFAULT 0;
