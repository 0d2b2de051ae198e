//! The conformance suite on PostgreSQL, when `HANGAR_TEST_POSTGRES_URL` is set: each test gets a
//! database of its own, `hangar_test_<random>`, created through that URL.

use hangar_store_postgres::PostgresStore;

async fn fresh() -> Option<PostgresStore> {
    let url = hangar_store_tests::fresh_postgres_url().await?;
    Some(
        PostgresStore::connect(&url, 8)
            .await
            .expect("connect test database"),
    )
}

hangar_store_tests::conformance_tests!(fresh());
