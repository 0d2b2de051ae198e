//! `hangar app list|revoke` and `hangar token list`, run as processes on a data directory.

use assert_cmd::Command;
use hangar_core::credentials::token_hash;
use predicates::prelude::*;
use serde_json::Value;

fn hangar(data_dir: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("hangar").expect("binary");
    c.env_remove("HANGAR_DATABASE_URL")
        .env("HANGAR_DATA_DIR", data_dir);
    c
}

/// Runs a command that must succeed; returns (stdout, stderr).
fn run(data_dir: &std::path::Path, args: &[&str]) -> (String, String) {
    let out = hangar(data_dir).args(args).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

fn json(data_dir: &std::path::Path, args: &[&str]) -> Value {
    let (stdout, _) = run(data_dir, args);
    serde_json::from_str(&stdout).expect("json")
}

/// Issues a token; returns (token text, token id).
fn token(data_dir: &std::path::Path, tenant: &str, name: &str) -> (String, String) {
    let (stdout, stderr) = run(
        data_dir,
        &[
            "token", "create", "--tenant", tenant, "--role", "reader", "--name", name,
        ],
    );
    let id = stderr
        .split_whitespace()
        .nth(2)
        .expect("token id on stderr")
        .to_string();
    (stdout.trim().to_string(), id)
}

#[test]
fn apps_and_tokens_are_listed_per_tenant_and_an_app_is_revoked_with_its_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let contoso = "contoso.onmicrosoft.com";
    let fabrikam = "fabrikam.onmicrosoft.com";
    for (name, domain) in [("Contoso", contoso), ("Fabrikam", fabrikam)] {
        run(
            data,
            &["tenant", "create", "--name", name, "--domain", domain],
        );
    }
    let mut apps = Vec::new();
    for name in ["intune-sync", "inventory"] {
        let created = json(
            data,
            &[
                "app", "create", "--tenant", contoso, "--name", name, "--role", "admin", "--json",
            ],
        );
        apps.push((
            created["clientId"].as_str().expect("id").to_string(),
            created["clientSecret"]
                .as_str()
                .expect("secret")
                .to_string(),
        ));
    }
    let (sync_id, sync_secret) = apps[0].clone();
    // The token endpoint names the tokens it issues for an app `app:<client id>`; issue two such
    // here, offline, plus one from the CLI and one in the other tenant.
    let app_name = format!("app:{sync_id}");
    let (t1, t1_id) = token(data, contoso, &app_name);
    let (t2, t2_id) = token(data, contoso, &app_name);
    let (t_cli, t_cli_id) = token(data, contoso, "cli");
    token(data, fabrikam, "cli");

    // app list: both apps, never a secret or its hash.
    let (table, _) = run(data, &["app", "list", "--tenant", contoso]);
    assert!(table.starts_with("CLIENT ID"), "{table}");
    assert!(
        table.contains("intune-sync") && table.contains("inventory"),
        "{table}"
    );
    let listed = json(data, &["app", "list", "--tenant", contoso, "--json"]);
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["clientId"], sync_id.as_str());
    assert_eq!(listed[0]["displayName"], "intune-sync");
    assert_eq!(listed[0]["role"], "admin");
    assert!(listed[0]["createdDateTime"].is_string());
    assert!(listed[0]["revokedDateTime"].is_null());
    let keys: Vec<&String> = listed[0].as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "clientId",
            "displayName",
            "role",
            "createdDateTime",
            "revokedDateTime"
        ]
    );
    for out in [&table, &serde_json::to_string(listed).expect("json")] {
        assert!(
            !out.contains("argon2") && !out.contains(&sync_secret),
            "{out}"
        );
    }
    assert_eq!(
        json(data, &["app", "list", "--tenant", fabrikam, "--json"]),
        serde_json::json!([])
    );

    // token list: the tenant's three tokens, never a token or its hash.
    let listed = json(data, &["token", "list", "--tenant", contoso, "--json"]);
    let ids: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, [t1_id.as_str(), t2_id.as_str(), t_cli_id.as_str()]);
    assert_eq!(listed[0]["name"], app_name.as_str());
    assert_eq!(listed[0]["role"], "reader");
    assert!(listed[0]["expirationDateTime"].is_null());
    assert!(listed[0]["revokedDateTime"].is_null());
    let (table, _) = run(data, &["token", "list", "--tenant", contoso]);
    assert!(
        table.contains(&t_cli_id) && table.contains("never"),
        "{table}"
    );
    for out in [&table, &listed.to_string()] {
        for t in [&t1, &t2, &t_cli] {
            assert!(!out.contains(t.as_str()), "a token printed: {out}");
            assert!(!out.contains(&token_hash(t)), "a token hash printed: {out}");
        }
    }

    // app revoke: the app and its two tokens, nothing else.
    let (stdout, _) = run(data, &["app", "revoke", &sync_id]);
    assert_eq!(
        stdout.trim(),
        format!("revoked app {sync_id} (intune-sync) and 2 tokens issued for it")
    );
    let listed = json(data, &["token", "list", "--tenant", contoso, "--json"]);
    assert!(listed[0]["revokedDateTime"].is_string());
    assert!(listed[1]["revokedDateTime"].is_string());
    assert!(
        listed[2]["revokedDateTime"].is_null(),
        "the CLI token stays"
    );
    let other = json(data, &["token", "list", "--tenant", fabrikam, "--json"]);
    assert_eq!(other.as_array().map(Vec::len), Some(1));
    assert!(other[0]["revokedDateTime"].is_null());
    let apps_now = json(data, &["app", "list", "--tenant", contoso, "--json"]);
    assert!(apps_now[0]["revokedDateTime"].is_string());
    assert!(
        apps_now[1]["revokedDateTime"].is_null(),
        "the other app stays"
    );
    let (table, _) = run(data, &["app", "list", "--tenant", contoso]);
    assert!(!table.contains("argon2"), "{table}");

    // Errors: non-zero exit and a message that says what to do.
    hangar(data)
        .args(["app", "revoke", &sync_id])
        .assert()
        .failure()
        .stderr(predicate::str::contains("revoked already"));
    hangar(data)
        .args(["app", "revoke", "00000000-0000-0000-0000-000000000001"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "no app with client id '00000000-0000-0000-0000-000000000001'",
        ));
    for noun in ["app", "token"] {
        hangar(data)
            .args([noun, "list", "--tenant", "nowhere.example"])
            .assert()
            .failure()
            .stderr(
                predicate::str::contains("no tenant 'nowhere.example'")
                    .and(predicate::str::contains("hangar tenant list")),
            );
    }
}
