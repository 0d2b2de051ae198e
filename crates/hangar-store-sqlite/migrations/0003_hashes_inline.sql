-- PostgreSQL's 0003 stops compressing hardware hashes (toast_tuple_target); SQLite stores BLOBs
-- as they are, so nothing changes here. The file keeps the two backends' versions in step.
SELECT 1;
