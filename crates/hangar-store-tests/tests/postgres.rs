//! The conformance suite on PostgreSQL, when `HANGAR_TEST_POSTGRES_URL` is set: each test gets a
//! database of its own, `hangar_test_<random>`, created through that URL.

use hangar_store_postgres::PostgresStore;
use sqlx::Connection;

async fn fresh() -> Option<PostgresStore> {
    let Ok(url) = std::env::var("HANGAR_TEST_POSTGRES_URL") else {
        eprintln!("skipped: set HANGAR_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL conformance suite");
        return None;
    };
    let name = format!("hangar_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&url)
        .await
        .expect("connect to HANGAR_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.ok();
    let test_url = replace_database(&url, &name);
    Some(
        PostgresStore::connect(&test_url, 8)
            .await
            .expect("connect test database"),
    )
}

/// The URL with its database path replaced.
fn replace_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

hangar_store_tests::conformance_tests!(fresh());
