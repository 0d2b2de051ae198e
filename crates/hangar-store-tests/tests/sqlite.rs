//! The conformance suite on SQLite (always).

use hangar_store_sqlite::SqliteStore;

async fn fresh() -> Option<SqliteStore> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.keep().join("hangar.db");
    Some(SqliteStore::open(&path).await.expect("open sqlite"))
}

hangar_store_tests::conformance_tests!(fresh());
