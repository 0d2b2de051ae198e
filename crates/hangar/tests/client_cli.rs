//! The client commands (`hangar import`, `sync`, `devices`, `imports`) as processes against a real
//! `hangar serve` on a free port, with the real fixture hashes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/hwhash"
    ))
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

struct Server {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn start() -> Server {
    start_with(&[])
}

/// `hangar serve` with more flags (`--sync-window 3m`, `--tls-cert ...`).
fn start_with(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hangar"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "warn",
            "--data-dir",
        ])
        .arg(dir.path())
        .args(extra)
        .env_remove("HANGAR_DATABASE_URL")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn hangar serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let url = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("hangar serve ended before listening: {seen:?}");
        };
        if let Some(a) = line.strip_prefix("hangar listening on ") {
            break a.trim().to_string();
        }
        seen.push(line);
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, url, dir }
}

impl Server {
    /// `hangar ARGS` against this server, with the token read from its data directory.
    fn run(&self, args: &[&str]) -> Output {
        self.run_in(args, None)
    }

    fn run_in(&self, args: &[&str], cwd: Option<&Path>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hangar"));
        cmd.args(args)
            .env("HANGAR_SERVER", &self.url)
            .env("HANGAR_DATA_DIR", self.dir.path())
            .env_remove("HANGAR_TOKEN");
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        cmd.output().expect("run hangar")
    }

    /// `hangar sync` (or `import ... --sync`), again while the answer is 409: the new tenant's
    /// automatic sync runs right after the start and may still be in progress. Any other answer
    /// is returned as it is.
    fn sync_past_409(&self, args: &[&str]) -> Output {
        for _ in 0..50 {
            let out = self.run(args);
            let stderr = text(&out.stderr);
            if !(stderr.contains("a sync is already running") && stderr.contains("409")) {
                return out;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{args:?}: a sync was still in progress after 50 tries");
    }

    /// Waits (at most 10 s) for the automatic sync the server runs for a new tenant at its start,
    /// so that a later manual sync does not meet it.
    fn wait_for_the_first_sync(&self) {
        for _ in 0..100 {
            let st = self.json(&["sync", "status"]);
            let last = st["lastSyncDateTime"].as_str().unwrap_or_default();
            if !last.is_empty() && !last.starts_with("0001") && st["syncStatus"] != "inProgress" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}): {}\n{}",
                text(&out.stdout),
                text(&out.stderr)
            )
        })
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Asserts that the command exited 1 with `message` in its standard error.
fn fails_with(o: &Output, message: &str) {
    assert_eq!(code(o), 1, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(message), "{}", text(&o.stderr));
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn import_prints_a_table_exits_0_and_1_when_a_row_fails() {
    let s = start();
    let a = fixture("hp-elitebook-840-g8.csv");
    let b = fixture("lenovo-thinkpad-x270.csv");
    let out = s.run(&["import", path(&a), path(&b), "--group-tag", "Sales"]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}\n{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("ROW"), "{stdout}");
    assert!(lines[0].contains("SERIAL") && lines[0].contains("DEVICE ID"));
    let row = lines
        .iter()
        .find(|l| l.contains("8NY7017XC5"))
        .expect("row of the HP");
    assert!(row.starts_with("hp-elitebook-840-g8.csv:2"), "{row}");
    assert!(row.contains("complete"), "{row}");
    assert!(lines
        .iter()
        .any(|l| l.contains("WP1SXFYV") && l.contains("complete")));
    assert!(text(&out.stderr).contains("2 complete, 0 failed"));

    // The devices exist with the group tag, under the ids the table printed.
    let devices = s.json(&["devices", "list"]);
    let devices = devices.as_array().expect("array");
    assert_eq!(devices.len(), 2);
    for d in devices {
        assert_eq!(d["groupTag"], "Sales");
        let id = d["id"].as_str().unwrap_or_default();
        assert!(stdout.contains(id), "{id} not in the table:\n{stdout}");
    }

    // The same device again: 806, exit 1.
    let out = s.run(&["import", path(&a)]);
    assert_eq!(code(&out), 1);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("806") && stdout.contains("ZtdDeviceAlreadyAssigned"),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("0 complete, 1 failed"));
}

#[test]
fn import_refuses_a_file_with_errors_unless_skip_invalid() {
    let s = start();
    let good = std::fs::read_to_string(fixture("hp-probook-450-g5.csv")).expect("fixture");
    let good_row = good.lines().nth(1).expect("a device row");
    let csv = s.dir.path().join("mixed.csv");
    std::fs::write(
        &csv,
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\n{good_row}\nBROKEN1,,notahash\n"
        ),
    )
    .expect("write csv");

    let out = s.run(&["import", path(&csv)]);
    assert_eq!(code(&out), 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("mixed.csv:3"), "names the line: {stderr}");
    assert!(stderr.contains("nothing was uploaded"), "{stderr}");
    let imported = s.json(&["imports", "list"]);
    assert_eq!(imported.as_array().map(Vec::len), Some(0), "{imported}");

    let out = s.run(&["import", path(&csv), "--skip-invalid", "--json"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["complete"], 1);
    assert_eq!(report["failed"], 0);
    assert_eq!(report["rows"][0]["serialNumber"], "1EH2321Y8G");
    assert_eq!(report["rows"][0]["line"], 2);
    assert_eq!(report["skipped"][0]["line"], 3);
    let imported = s.json(&["imports", "list"]);
    assert_eq!(imported.as_array().map(Vec::len), Some(1), "{imported}");
}

#[test]
fn import_uploads_in_batches_and_waits_for_every_one() {
    let s = start();
    let files: Vec<PathBuf> = [
        "hp-elitebook-650-g10.csv",
        "lenovo-thinkpad-p14s-gen5.csv",
        "vmware-fusion-arm64.csv",
        "dell-latitude-5530-winpe.csv",
        "vmware-esxi-notpm.csv",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let mut args = vec!["import", "--batch-size", "2", "--json"];
    args.extend(files.iter().map(|p| path(p)));
    let out = s.run(&args);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 5);
    let import_ids: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r["importId"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(import_ids.len(), 3, "5 rows in batches of 2: {report}");
    assert!(rows.iter().all(|r| r["status"] == "complete"), "{report}");
    // Every device id the report gives is retrievable.
    for r in rows {
        let id = r["deviceRegistrationId"].as_str().unwrap_or_default();
        let d = s.json(&["devices", "show", id]);
        assert_eq!(d["serialNumber"], r["serialNumber"]);
    }
    // Paging: a page size of 2 still lists all five.
    let all = s.json(&["devices", "list", "--top", "2"]);
    assert_eq!(all.as_array().map(Vec::len), Some(5));
    let out = s.run(&["import", "--batch-size", "1001", path(&files[0])]);
    assert_eq!(code(&out), 2, "usage error");
}

#[test]
fn import_no_wait_returns_the_imported_rows() {
    let s = start();
    let out = s.run(&[
        "import",
        "--no-wait",
        "--json",
        path(&fixture("lenovo-thinkpad-t14s-2in1-gen1.csv")),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let id = report["rows"][0]["importedDeviceId"]
        .as_str()
        .expect("imported id")
        .to_string();
    // The row finishes on the server; `imports show` sees it eventually.
    let mut status = String::new();
    for _ in 0..100 {
        let row = s.json(&["imports", "show", &id]);
        status = row["state"]["deviceImportStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if status != "unknown" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(status, "complete");
}

#[test]
fn sync_then_a_second_sync_explains_the_time_left() {
    let s = start();
    let out = s.sync_past_409(&["sync"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let out = s.run(&["sync"]);
    assert_eq!(code(&out), 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("too soon: the server allows one manual sync per window;"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the next is possible in 10 min")
            || stderr.contains("the next is possible in 9 min"),
        "{stderr}"
    );
    let v = s.json(&["sync"]);
    assert_eq!(v["status"], "tooSoon");
    let left = v["retryAfterSeconds"].as_u64().unwrap_or_default();
    assert!((1..=600).contains(&left), "{v}");

    let out = s.run(&["sync", "status"]);
    assert_eq!(code(&out), 0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("sync status:") && stdout.contains("completed"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("last manual sync:       never"),
        "{stdout}"
    );
    let st = s.json(&["sync", "status"]);
    assert_eq!(st["syncStatus"], "completed");
}

#[test]
fn devices_show_update_assign_and_delete_by_id_and_serial() {
    let s = start();
    let out = s.run(&[
        "import",
        path(&fixture("hp-elitebook-840-g8.csv")),
        path(&fixture("lenovo-thinkpad-x270.csv")),
        path(&fixture("hp-probook-450-g5.csv")),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));

    let out = s.run(&["devices", "show", "8NY7017XC5"]);
    assert_eq!(code(&out), 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("serial number:     8NY7017XC5"), "{stdout}");
    assert!(stdout.contains("manufacturer:      HP"), "{stdout}");
    let hp = s.json(&["devices", "show", "8NY7017XC5"]);
    let id = hp["id"].as_str().expect("id").to_string();

    let out = s.run(&[
        "devices",
        "update",
        &id,
        "--group-tag",
        "Kiosk",
        "--display-name",
        "KIOSK-01",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let d = s.json(&["devices", "show", &id]);
    assert_eq!(d["groupTag"], "Kiosk");
    assert_eq!(d["displayName"], "KIOSK-01");
    let out = s.run(&["devices", "update", &id]);
    assert_eq!(code(&out), 1, "nothing to change");

    let out = s.run(&[
        "devices",
        "assign-user",
        "8NY7017XC5",
        "--user",
        "ada@contoso.com",
        "--name",
        "Ada",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let d = s.json(&["devices", "show", &id]);
    assert_eq!(d["userPrincipalName"], "ada@contoso.com");
    assert_eq!(d["addressableUserName"], "Ada");
    let out = s.run(&["devices", "unassign-user", &id]);
    assert_eq!(code(&out), 0);
    let d = s.json(&["devices", "show", &id]);
    assert_eq!(d["userPrincipalName"], "");

    let filtered = s.json(&["devices", "list", "--filter", "groupTag eq 'Kiosk'"]);
    assert_eq!(filtered.as_array().map(Vec::len), Some(1), "{filtered}");
    let out = s.run(&["devices", "list", "--filter", "bogus(("]);
    fails_with(&out, "400 BadRequest");

    // Delete: one by id, one by serial, one unknown serial (failed), one unknown id (404).
    let out = s.run(&[
        "devices",
        "delete",
        &id,
        "WP1SXFYV",
        "NOSUCHSERIAL",
        "00000000-0000-0000-0000-000000000001",
    ]);
    assert_eq!(code(&out), 1, "one item failed");
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("{id}: deleted")), "{stdout}");
    assert!(stdout.contains("WP1SXFYV: deleted"), "{stdout}");
    assert!(stdout.contains("NOSUCHSERIAL: failed"), "{stdout}");
    assert!(
        stdout.contains("00000000-0000-0000-0000-000000000001: failed: 404 ResourceNotFound"),
        "{stdout}"
    );
    let left = s.json(&["devices", "list"]);
    let serials: Vec<&str> = left
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["serialNumber"].as_str())
        .collect();
    assert_eq!(serials, ["1EH2321Y8G"]);
    let out = s.run(&["devices", "show", "8NY7017XC5"]);
    assert_eq!(code(&out), 1);
    assert!(text(&out.stderr).contains("no device with the serial number"));
}

#[test]
fn imports_list_show_and_delete() {
    let s = start();
    let out = s.run(&["import", path(&fixture("hp-elitebook-650-g10.csv"))]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let rows = s.json(&["imports", "list"]);
    let row = &rows[0];
    let id = row["id"].as_str().expect("id").to_string();
    let import_id = row["importId"].as_str().expect("import id").to_string();
    assert_eq!(row["state"]["deviceImportStatus"], "complete");

    let by_import = s.json(&["imports", "list", "--import-id", &import_id]);
    assert_eq!(by_import.as_array().map(Vec::len), Some(1));
    let none = s.json(&["imports", "list", "--import-id", "no-such-import"]);
    assert_eq!(none.as_array().map(Vec::len), Some(0));

    let out = s.run(&["imports", "list"]);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("SERIAL"), "{stdout}");
    assert!(
        stdout.contains("1ZN650Q3VR") && stdout.contains("complete"),
        "{stdout}"
    );
    let out = s.run(&["imports", "show", &id]);
    assert!(
        text(&out.stdout).contains("status:         complete"),
        "{}",
        text(&out.stdout)
    );

    let out = s.run(&[
        "imports",
        "delete",
        &id,
        "00000000-0000-0000-0000-000000000002",
    ]);
    assert_eq!(code(&out), 1);
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("{id}: deleted")), "{stdout}");
    assert!(
        stdout.contains("00000000-0000-0000-0000-000000000002: failed"),
        "{stdout}"
    );
    let rows = s.json(&["imports", "list"]);
    assert_eq!(rows.as_array().map(Vec::len), Some(0));
    // The registered device stays.
    let devices = s.json(&["devices", "list"]);
    assert_eq!(devices.as_array().map(Vec::len), Some(1));
}

#[test]
fn a_bad_token_or_no_token_is_a_clear_error() {
    let s = start();
    let out = s.run(&["devices", "list", "--token", "nope"]);
    fails_with(&out, "401 InvalidAuthenticationToken");
    let empty = tempfile::tempdir().expect("tempdir");
    let out = s.run(&["devices", "list", "--data-dir", path(empty.path())]);
    fails_with(&out, "no token");
    let out = s.run(&["devices", "list", "--server", "http://127.0.0.1:9"]);
    fails_with(&out, "cannot reach");
}

#[test]
fn the_too_soon_message_follows_the_servers_window() {
    let s = start_with(&["--sync-window", "3m"]);
    let out = s.sync_past_409(&["sync"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let out = s.run(&["sync"]);
    assert_eq!(code(&out), 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("too soon: the server allows one manual sync per window; the next is possible in 3 min (")
            || stderr.starts_with("too soon: the server allows one manual sync per window; the next is possible in 2 min "),
        "{stderr}"
    );
    assert!(!stderr.contains("10 min"), "{stderr}");
    let v = s.json(&["sync"]);
    assert_eq!(v["status"], "tooSoon");
    let left = v["retryAfterSeconds"].as_u64().unwrap_or_default();
    assert!((1..=180).contains(&left), "{v}");
}

#[test]
fn import_sync_reports_the_rows_then_syncs() {
    let s = start();
    // The import's sync comes once the rows are final; the start's automatic sync must be over.
    s.wait_for_the_first_sync();
    let before = s.json(&["sync", "status"]);
    assert_eq!(
        before["lastManualSyncTriggerDateTime"], "0001-01-01T00:00:00Z",
        "{before}"
    );
    let file = fixture("hp-elitebook-650-g10.csv");
    let out = s.run(&["import", path(&file), "--sync"]);
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 0, "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("hp-elitebook-650-g10.csv:2") && l.contains("complete")),
        "{stdout}"
    );
    let done = stderr.find("1 complete, 0 failed").expect("the summary");
    let synced = stderr.find("sync started").expect("the sync");
    assert!(
        done < synced,
        "the rows are reported before the sync: {stderr}"
    );
    let st = s.json(&["sync", "status"]);
    let manual = st["lastManualSyncTriggerDateTime"]
        .as_str()
        .unwrap_or_default();
    assert!(!manual.starts_with("0001"), "{st}");
    assert_eq!(st["syncStatus"], "completed", "{st}");
    let out = s.run(&["sync", "status"]);
    assert!(
        !text(&out.stdout).contains("last manual sync:       never"),
        "{}",
        text(&out.stdout)
    );

    // --sync needs the rows to be final: with --no-wait it is a usage error.
    let out = s.run(&["import", path(&file), "--sync", "--no-wait"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn tenant_by_name_after_the_first_start_and_an_ambiguous_name() {
    let s = start();
    // The first start created the tenant "Default": its name works as --tenant, in any case.
    let out = s.run(&["token", "create", "--tenant", "default", "--role", "reader"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    let out = s.run(&["devices", "list", "--token", &token]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let out = s.run(&[
        "app",
        "create",
        "--tenant",
        "DEFAULT",
        "--name",
        "intune-sync",
        "--role",
        "reader",
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let app: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(app["tenantDomain"], "default.onmicrosoft.com");
    let out = s.run(&["app", "list", "--tenant", "Default"]);
    assert!(text(&out.stdout).contains("intune-sync"));

    // A second tenant of the same name makes the name ambiguous.
    let out = s.run(&[
        "tenant",
        "create",
        "--name",
        "default",
        "--domain",
        "second.example.com",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let second = text(&out.stdout).trim().to_string();
    let first = app["tenantId"].as_str().expect("tenant id").to_string();
    let out = s.run(&["token", "create", "--tenant", "default", "--role", "reader"]);
    assert_eq!(code(&out), 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("2 tenants are named 'default'"), "{stderr}");
    assert!(
        stderr.contains(&first) && stderr.contains(&second),
        "{stderr}"
    );
    assert!(
        stderr.contains("use the tenant's id or primary domain"),
        "{stderr}"
    );
    assert!(text(&out.stdout).is_empty(), "no token is printed");
    // The id and the domain still pick one.
    for key in [first.as_str(), "default.onmicrosoft.com", second.as_str()] {
        let out = s.run(&["token", "list", "--tenant", key]);
        assert_eq!(code(&out), 0, "{key}: {}", text(&out.stderr));
    }
    let out = s.run(&["token", "list", "--tenant", "fabrikam"]);
    fails_with(&out, "hangar tenant list");
}

#[test]
fn server_token_and_ca_cert_go_before_or_after_the_command() {
    let certs = tempfile::tempdir().expect("tempdir");
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("certificate");
    let cert_file = certs.path().join("cert.pem");
    let key_file = certs.path().join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).expect("write key");
    let s = start_with(&["--tls-cert", path(&cert_file), "--tls-key", path(&key_file)]);
    assert!(s.url.starts_with("https://"), "{}", s.url);
    let token = std::fs::read_to_string(s.dir.path().join("admin-token")).expect("admin-token");
    let token = token.trim();
    let empty = tempfile::tempdir().expect("tempdir");
    // Nothing from the environment: a dead server, no token, no certificate.
    let bare = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hangar"))
            .args(args)
            .env("HANGAR_SERVER", "http://127.0.0.1:9")
            .env("HANGAR_DATA_DIR", empty.path())
            .env_remove("HANGAR_TOKEN")
            .env_remove("HANGAR_CA_CERT")
            .output()
            .expect("run hangar")
    };
    let (url, ca) = (s.url.as_str(), path(&cert_file));
    for args in [
        vec![
            "--server",
            url,
            "--token",
            token,
            "--ca-cert",
            ca,
            "devices",
            "list",
        ],
        vec![
            "devices",
            "list",
            "--server",
            url,
            "--token",
            token,
            "--ca-cert",
            ca,
        ],
        vec![
            "--server",
            url,
            "sync",
            "--token",
            token,
            "status",
            "--ca-cert",
            ca,
        ],
        vec![
            "--ca-cert",
            ca,
            "imports",
            "list",
            "--server",
            url,
            "--token",
            token,
        ],
    ] {
        let out = bare(&args);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
    }
    // Without --ca-cert the self-signed certificate is not trusted: the flag did the work above.
    let out = bare(&["--server", url, "--token", token, "devices", "list"]);
    fails_with(&out, "cannot reach");
}

/// Replaces what differs from run to run — ids, date-times, the time left — with placeholders.
fn normalize(line: &str) -> String {
    static RULES: std::sync::LazyLock<Vec<(regex::Regex, &str)>> = std::sync::LazyLock::new(|| {
        [
            (
                r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                "<id>",
            ),
            (r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.TZ+-]*", "<time>"),
            (
                r"the next is possible in [^(]*\(",
                "the next is possible in <left> (",
            ),
            (r"retry after [0-9]+", "retry after <n>"),
        ]
        .into_iter()
        .map(|(pattern, with)| (regex::Regex::new(pattern).expect("pattern"), with))
        .collect()
    });
    RULES
        .iter()
        .fold(line.trim_end().to_string(), |text, (pattern, with)| {
            pattern.replace_all(&text, *with).into_owned()
        })
}

/// The commands of README.md's "Five minutes with a server" and the output it shows for each.
fn readme_walkthrough() -> Vec<(String, Vec<String>)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let (_, section) = readme
        .split_once("## Five minutes with a server")
        .expect("the section in README.md");
    let block = section.split("```").nth(1).expect("its code block");
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in block.lines() {
        if let Some(command) = line.strip_prefix("$ hangar ") {
            steps.push((command.to_string(), Vec::new()));
        } else if !line.trim().is_empty() {
            steps
                .last_mut()
                .expect("output after a command")
                .1
                .push(line.to_string());
        }
    }
    steps
}

#[test]
fn the_readme_walkthrough_prints_what_the_readme_shows() {
    let s = start();
    let steps = readme_walkthrough();
    let commands: Vec<&str> = steps.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        commands,
        [
            "import examples/devices.csv --group-tag Lab",
            "sync",
            "sync status",
            "devices list",
            "sync"
        ]
    );
    let mut outputs = Vec::new();
    for (i, (command, shown)) in steps.iter().enumerate() {
        let args: Vec<&str> = command.split_whitespace().collect();
        let out = if i == 1 {
            s.sync_past_409(&args)
        } else {
            s.run_in(&args, Some(&repo()))
        };
        // The README shows what a terminal shows: the table (stdout), then the summary (stderr).
        let printed = format!("{}{}", text(&out.stdout), text(&out.stderr));
        let got: Vec<String> = printed.lines().map(normalize).collect();
        let want: Vec<String> = shown.iter().map(|l| normalize(l)).collect();
        assert_eq!(
            got,
            want,
            "`hangar {command}` printed:\n{printed}\nREADME.md shows:\n{}",
            shown.join("\n")
        );
        outputs.push((code(&out), text(&out.stdout), text(&out.stderr)));
    }
    // The essentials, spelled out.
    let (status, stdout, stderr) = &outputs[0];
    assert_eq!(*status, 0);
    assert_eq!(
        stdout.lines().filter(|l| l.contains(" complete ")).count(),
        5
    );
    assert!(stderr.contains("5 complete, 0 failed"));
    assert_eq!(outputs[1].0, 0);
    assert!(outputs[2].1.contains("sync status:            completed"));
    let (_, devices, count) = &outputs[3];
    assert_eq!(
        devices
            .lines()
            .filter(|l| l.starts_with("CTS-LAB-") && l.contains("  Lab  "))
            .count(),
        5,
        "{devices}"
    );
    assert!(count.contains("5 device(s)"));
    let (status, _, stderr) = &outputs[4];
    assert_eq!(*status, 1);
    assert!(stderr.starts_with("too soon: "), "{stderr}");
    assert!(stderr.contains("429 TooManyRequests"), "{stderr}");
}
