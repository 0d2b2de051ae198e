//! `hangar migrate`, `hangar tenant create|list`, `hangar backup`, run as processes.

use assert_cmd::Command;
use predicates::prelude::*;

fn hangar(data_dir: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("hangar").expect("binary");
    c.env_remove("HANGAR_DATABASE_URL")
        .env("HANGAR_DATA_DIR", data_dir);
    c
}

#[test]
fn tenants_are_created_listed_and_backed_up_in_the_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    hangar(&data).arg("migrate").assert().success();
    assert!(data.join("hangar.db").exists(), "created on first use");

    let out = hangar(&data)
        .args([
            "tenant",
            "create",
            "--name",
            "Contoso",
            "--domain",
            "contoso.onmicrosoft.com",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(id.len(), 36, "prints the id: {id}");

    hangar(&data)
        .args([
            "tenant",
            "create",
            "--name",
            "Again",
            "--domain",
            "contoso.onmicrosoft.com",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("exists already"));
    hangar(&data)
        .args(["tenant", "create", "--name", "Bad", "--domain", "contoso"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a domain name"));

    let out = hangar(&data)
        .args(["tenant", "list", "--json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["primaryDomain"], "contoso.onmicrosoft.com");
    assert_eq!(list[0]["displayName"], "Contoso");
    hangar(&data)
        .args(["tenant", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("contoso.onmicrosoft.com"));

    let copy = dir.path().join("backup.db");
    hangar(&data).arg("backup").arg(&copy).assert().success();
    // The copy is a working database with the tenant in it.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).expect("dir");
    std::fs::copy(&copy, restored.join("hangar.db")).expect("copy");
    hangar(&restored)
        .args(["tenant", "list", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains(id.as_str()));
    hangar(&data)
        .arg("backup")
        .arg(&copy)
        .assert()
        .failure()
        .stderr(predicate::str::contains("exists already"));
}

#[test]
fn a_database_url_selects_the_backend() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("other.db");
    let url = format!("sqlite://{}", file.display());
    hangar(dir.path())
        .args([
            "tenant",
            "create",
            "--name",
            "Fabrikam",
            "--domain",
            "fabrikam.onmicrosoft.com",
            "--database-url",
            &url,
        ])
        .assert()
        .success();
    assert!(file.exists());
    hangar(dir.path())
        .args(["tenant", "list", "--json"])
        .env("HANGAR_DATABASE_URL", &url)
        .assert()
        .success()
        .stdout(predicate::str::contains("fabrikam"));
    hangar(dir.path())
        .args(["migrate", "--database-url", "mysql://x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unsupported database URL"));
}

#[test]
fn postgres_backup_explains_pg_dump() {
    let Ok(base) = std::env::var("HANGAR_TEST_POSTGRES_URL") else {
        eprintln!("skipped: set HANGAR_TEST_POSTGRES_URL to run the PostgreSQL CLI test");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    hangar(dir.path())
        .args(["backup", "out.dump", "--database-url", &base])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "pg_dump --format=custom --file 'out.dump'",
        ));
}
