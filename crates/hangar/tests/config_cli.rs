//! `--config FILE`: settings from a TOML file, under the environment and the flags.

use assert_cmd::Command;
use predicates::prelude::*;

fn hangar() -> Command {
    let mut cmd = Command::cargo_bin("hangar").expect("the hangar binary");
    for var in ["HANGAR_DATA_DIR", "HANGAR_DATABASE_URL", "HANGAR_CONFIG"] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn file_settings_apply_and_the_environment_and_flags_win() {
    let dir = tempfile::tempdir().expect("tempdir");
    let from_file = dir.path().join("from-file");
    let from_env = dir.path().join("from-env");
    let from_flag = dir.path().join("from-flag");
    let config = dir.path().join("hangar.toml");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", from_file.display().to_string()),
    )
    .expect("write");

    hangar()
        .args([
            "tenant",
            "create",
            "--name",
            "A",
            "--domain",
            "a.example.com",
            "--config",
        ])
        .arg(&config)
        .assert()
        .success();
    assert!(
        from_file.join("hangar.db").exists(),
        "the file's data_dir is used"
    );

    hangar()
        .env("HANGAR_CONFIG", &config)
        .env("HANGAR_DATA_DIR", &from_env)
        .args([
            "tenant",
            "create",
            "--name",
            "B",
            "--domain",
            "b.example.com",
        ])
        .assert()
        .success();
    assert!(
        from_env.join("hangar.db").exists(),
        "the environment wins over the file"
    );

    hangar()
        .env("HANGAR_CONFIG", &config)
        .args(["tenant", "list", "--data-dir"])
        .arg(&from_flag)
        .assert()
        .success();
    assert!(
        from_flag.join("hangar.db").exists(),
        "a flag wins over the file"
    );
}

#[test]
fn unknown_settings_and_bad_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hangar.toml");
    std::fs::write(&config, "data_dir = \"x\"\nlisten_port = 8080\n").expect("write");
    hangar()
        .args(["tenant", "list", "--config"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown setting 'listen_port'"))
        .stderr(predicate::str::contains("listen"));
    std::fs::write(&config, "data_dir = [1, 2]\n").expect("write");
    hangar()
        .args(["tenant", "list", "--config"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("setting 'data_dir' is a array"));
    std::fs::write(&config, "data_dir = \n").expect("write");
    hangar()
        .args(["tenant", "list", "--config"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not valid TOML"));
    hangar()
        .args(["tenant", "list", "--config", "/nonexistent/hangar.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read the config file"));
}
