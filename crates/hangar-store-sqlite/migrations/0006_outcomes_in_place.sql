-- PostgreSQL's 0006 leaves room on imported rows' pages for their outcomes; SQLite updates rows
-- in place, so nothing changes here. The file keeps the two backends' versions in step.
SELECT 1;
