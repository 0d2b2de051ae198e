//! `hangar serve` as a process on a free port, talked to over a real socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path) -> Server {
    start_with(data_dir, &[])
}

fn start_with(data_dir: &std::path::Path, extra: &[&str]) -> Server {
    let (server, lines) = start_logging(data_dir, "warn", extra);
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    server
}

/// Starts `hangar serve --log LOG` and returns its standard error after the listening line.
fn start_logging(
    data_dir: &std::path::Path,
    log: &str,
    extra: &[&str],
) -> (Server, std::io::Lines<BufReader<std::process::ChildStderr>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hangar"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            log,
            "--data-dir",
        ])
        .arg(data_dir)
        .args(extra)
        .env_remove("HANGAR_DATABASE_URL")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn hangar serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("hangar serve ended before listening: {seen:?}");
        };
        if let Some(a) = line.strip_prefix("hangar listening on ") {
            break a
                .trim()
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .to_string();
        }
        seen.push(line);
    };
    (Server { child, addr }, lines)
}

/// One HTTP/1.1 request; returns (status, headers+body text).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    try_http(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"))
}

/// [`http`] that reports a refused or dropped connection instead of panicking.
fn try_http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    if out.is_empty() {
        // A stopping server closes a connection whose request it has not read yet, as idle: the
        // request was never served, as when the connection is refused.
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the connection closed without a response",
        ));
    }
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, out))
}

#[test]
fn serve_starts_writes_a_private_admin_token_and_answers_over_a_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let (status, text) = http(&server.addr, "GET", "/healthz", &[], "");
    assert_eq!(status, 200, "{text}");
    let (status, _) = http(&server.addr, "GET", "/readyz", &[], "");
    assert_eq!(status, 200);

    let token_file = dir.path().join("admin-token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file)
            .expect("admin-token")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let token = std::fs::read_to_string(&token_file)
        .expect("read token")
        .trim()
        .to_string();
    assert_eq!(token.split('.').count(), 3, "JWT-shaped");
    let bearer = format!("Bearer {token}");

    // The Python SDK's double slash, over a real socket.
    let (status, text) = http(
        &server.addr,
        "GET",
        "/v1.0//deviceManagement/windowsAutopilotDeviceIdentities",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"value\":[]"), "{text}");
    assert!(text.to_ascii_lowercase().contains("request-id:"), "{text}");
    let (status, text) = http(
        &server.addr,
        "GET",
        "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities",
        &[],
        "",
    );
    assert_eq!(status, 401);
    assert!(text.contains("\"InvalidAuthenticationToken\""), "{text}");

    // An app registration and the token endpoint (the app is created while the server runs).
    let out = Command::new(env!("CARGO_BIN_EXE_hangar"))
        .args([
            "app",
            "create",
            "--tenant",
            "default.onmicrosoft.com",
            "--name",
            "sync",
            "--role",
            "reader",
            "--json",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("app create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        app["clientId"].as_str().unwrap_or_default(),
        app["clientSecret"].as_str().unwrap_or_default()
    );
    let ct = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, text) = http(
        &server.addr,
        "POST",
        "/default.onmicrosoft.com/oauth2/v2.0/token",
        &ct,
        &form,
    );
    assert_eq!(status, 200, "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let issued: serde_json::Value = serde_json::from_str(body).expect("token json");
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["expires_in"], 3599);
    let app_bearer = format!(
        "Bearer {}",
        issued["access_token"].as_str().unwrap_or_default()
    );
    let (status, _) = http(
        &server.addr,
        "GET",
        "/beta/deviceManagement/windowsAutopilotSettings",
        &[("Authorization", &app_bearer)],
        "",
    );
    assert_eq!(status, 200);
    let (status, text) = http(
        &server.addr,
        "POST",
        "/beta/deviceManagement/windowsAutopilotSettings/sync",
        &[("Authorization", &app_bearer)],
        "",
    );
    assert_eq!(status, 403, "a reader app may not write: {text}");
    let wrong = form.replace("client_secret=", "client_secret=x");
    let (status, text) = http(
        &server.addr,
        "POST",
        "/default.onmicrosoft.com/oauth2/v2.0/token",
        &ct,
        &wrong,
    );
    assert_eq!(status, 401);
    assert!(text.contains("\"invalid_client\""), "{text}");

    // A token from the CLI works, and stops working once revoked.
    let out = Command::new(env!("CARGO_BIN_EXE_hangar"))
        .args([
            "token",
            "create",
            "--tenant",
            "default.onmicrosoft.com",
            "--role",
            "admin",
            "--expires",
            "1d",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("token create");
    assert!(out.status.success());
    let cli_token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let cli_bearer = format!("Bearer {cli_token}");
    let (status, _) = http(
        &server.addr,
        "GET",
        "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities",
        &[("Authorization", &cli_bearer)],
        "",
    );
    assert_eq!(status, 200);
    let out = Command::new(env!("CARGO_BIN_EXE_hangar"))
        .args(["token", "revoke", &cli_token, "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("revoke");
    assert!(out.status.success());
    // The server trusts a token it looked up for 2 s (token_cache_ttl): a revocation made by
    // another process is honoured once that has passed.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        let (status, _) = http(
            &server.addr,
            "GET",
            "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities",
            &[("Authorization", &cli_bearer)],
            "",
        );
        if status != 200 || std::time::Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status, 401);
}

#[cfg(unix)]
/// The access log: a line per request with its request id and status, written while the server
/// runs (lines are buffered, and flushed as soon as the log has caught up).
#[test]
fn serve_logs_each_request_with_its_request_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, lines) = start_logging(dir.path(), "info", &[]);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (status, text) = http(
        &server.addr,
        "GET",
        "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities",
        &[],
        "",
    );
    assert_eq!(status, 401, "{text}");
    let request_id = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("request-id")
                .then(|| value.trim().to_string())
        })
        .expect("a request-id header");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let line = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(&request_id) => break line,
            Ok(line) => seen.push(line),
            Err(e) => panic!("no log line for request {request_id} ({e}); saw {seen:?}"),
        }
    };
    assert!(line.contains("handled"), "{line}");
    assert!(line.contains("status=401"), "{line}");
    // The path as routed: Graph paths are matched case-insensitively, so they are logged lower-cased.
    assert!(
        line.contains("path=/v1.0/devicemanagement/windowsautopilotdeviceidentities"),
        "{line}"
    );
}

/// Sends `signal` to the server and waits (at most a minute) for it to exit.
fn stop(server: &mut Server, signal: libc::c_int) -> Option<std::process::ExitStatus> {
    // SAFETY: sends a signal to our own child process.
    unsafe {
        libc::kill(server.child.id() as i32, signal);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The JSON body of an answer from [`http`].
fn body_json(text: &str) -> serde_json::Value {
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn serve_stops_on_sigterm_and_keeps_its_admin_token_on_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = start(dir.path());
    let first = std::fs::read_to_string(dir.path().join("admin-token")).expect("token");
    let stopped = stop(&mut server, libc::SIGTERM);
    assert!(
        stopped.is_some_and(|s| s.success()),
        "graceful exit on SIGTERM: {stopped:?}"
    );
    // The second start finds the tenant and leaves the token alone.
    let again = start(dir.path());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("admin-token")).expect("token"),
        first
    );
    let bearer = format!("Bearer {}", first.trim());
    let (status, _) = http(
        &again.addr,
        "GET",
        "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 200);
}

#[test]
fn serve_stops_on_ctrl_c_with_status_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = start(dir.path());
    let (status, _) = http(&server.addr, "GET", "/healthz", &[], "");
    assert_eq!(status, 200);
    let stopped = stop(&mut server, libc::SIGINT);
    assert!(
        stopped.is_some_and(|s| s.success()),
        "graceful exit on SIGINT: {stopped:?}"
    );
}

/// SIGTERM while imported rows may still be `unknown`: the server exits 0, and once it is started
/// again on the same data directory every row of the import ends `complete` or `error`.
#[test]
fn sigterm_during_an_import_leaves_no_row_unknown_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = start(dir.path());
    let token = std::fs::read_to_string(dir.path().join("admin-token")).expect("admin-token");
    let bearer = format!("Bearer {}", token.trim());
    // 600 distinct synthetic devices, as an import CSV: serial, product key, hash.
    let out = Command::new(env!("CARGO_BIN_EXE_hangar"))
        .args([
            "hash",
            "build",
            "--serial",
            "TERM",
            "--manufacturer",
            "Contoso",
            "--model",
            "Surface 9",
            "--tpm",
            "--count",
            "600",
            "--csv",
        ])
        .output()
        .expect("hash build");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<serde_json::Value> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.trim().split(',');
            let serial = cols.next()?;
            let hash = cols.nth(1)?;
            Some(serde_json::json!({"serialNumber": serial, "hardwareIdentifier": hash}))
        })
        .collect();
    assert_eq!(rows.len(), 600);
    // Six import calls at once; the signal comes as soon as the first is answered, so jobs are
    // still queued or running behind it. A call the stopping server no longer accepted records
    // nothing; the ids of every answered call are kept.
    let imported = "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities";
    let (tx, rx) = std::sync::mpsc::channel();
    let callers: Vec<_> = rows
        .chunks(100)
        .map(|chunk| {
            let body =
                serde_json::json!({"importedWindowsAutopilotDeviceIdentities": chunk}).to_string();
            let (addr, bearer, tx) = (server.addr.clone(), bearer.clone(), tx.clone());
            std::thread::spawn(move || {
                let headers = [
                    ("Authorization", bearer.as_str()),
                    ("Content-Type", "application/json"),
                ];
                let answer = try_http(
                    &addr,
                    "POST",
                    &format!("{imported}/import"),
                    &headers,
                    &body,
                );
                let ids: Option<Vec<String>> = match answer {
                    Ok((200, text)) => Some(
                        body_json(&text)["value"]
                            .as_array()
                            .expect("value")
                            .iter()
                            .map(|r| r["id"].as_str().expect("id").to_string())
                            .collect(),
                    ),
                    Ok((status, text)) => {
                        panic!("an import call answered {status} during shutdown: {text}")
                    }
                    Err(_) => None,
                };
                let _ = tx.send(ids.is_some());
                ids
            })
        })
        .collect();
    drop(tx);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)),
        Ok(true),
        "the first import call is answered"
    );
    let stopped = stop(&mut server, libc::SIGTERM);
    assert!(
        stopped.is_some_and(|s| s.success()),
        "graceful exit on SIGTERM during an import: {stopped:?}"
    );
    let ids: Vec<String> = callers
        .into_iter()
        .filter_map(|c| c.join().expect("caller"))
        .flatten()
        .collect();
    assert!(ids.len() >= 100, "{}", ids.len());

    let again = start(dir.path());
    let auth = [("Authorization", bearer.as_str())];
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let states = loop {
        let (status, text) = http(&again.addr, "GET", imported, &auth, "");
        assert_eq!(status, 200, "{text}");
        let states: std::collections::HashMap<String, String> = body_json(&text)["value"]
            .as_array()
            .expect("value")
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap_or_default().to_string(),
                    r["state"]["deviceImportStatus"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        let unknown = states.values().filter(|s| *s == "unknown").count();
        if unknown == 0 {
            break states;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{unknown} rows still unknown after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Every answered row is there, and every row recorded (answered or not) is final.
    for id in &ids {
        assert!(states.contains_key(id), "row {id} is missing");
    }
    for (id, state) in &states {
        assert!(
            state == "complete" || state == "error",
            "row {id} ended {state}"
        );
    }
    // Distinct valid devices: every one registered.
    assert!(states.values().all(|s| s == "complete"), "{states:?}");
}

#[test]
fn serve_speaks_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).expect("write key");
    let data = dir.path().join("data");
    let server = start_with(
        &data,
        &[
            "--tls-cert",
            cert_file.to_str().unwrap_or_default(),
            "--tls-key",
            key_file.to_str().unwrap_or_default(),
        ],
    );

    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots
        .add(cert.cert.der().clone())
        .expect("trust the test certificate");
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut conn = tokio_rustls::rustls::ClientConnection::new(std::sync::Arc::new(config), name)
        .expect("client");
    let mut sock = TcpStream::connect(&server.addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut tls = tokio_rustls::rustls::Stream::new(&mut conn, &mut sock);
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write over TLS");
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"ok\""), "{text}");
}

#[test]
fn a_config_file_sets_the_sync_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hangar.toml");
    std::fs::write(
        &config,
        "sync_window = \"7s\"\nauto_sync_interval = \"2h\"\n",
    )
    .expect("write");
    let data = dir.path().join("data");
    let server = start_with(&data, &["--config", config.to_str().expect("utf-8 path")]);
    let token = std::fs::read_to_string(data.join("admin-token")).expect("admin-token");
    let bearer = format!("Bearer {}", token.trim());
    let sync = "/beta/deviceManagement/windowsAutopilotSettings/sync";
    // The automatic sync of the new tenant may be running at first: that is a 409, never a 429.
    let mut first = (0, String::new());
    for _ in 0..50 {
        first = http(
            &server.addr,
            "POST",
            sync,
            &[("Authorization", &bearer)],
            "",
        );
        if first.0 != 409 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, text) = first;
    assert_eq!(status, 204, "{text}");
    let (status, text) = http(
        &server.addr,
        "POST",
        sync,
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 429, "{text}");
    let retry_after: u64 = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("retry-after")
                .then(|| value.trim().parse().ok())?
        })
        .expect("a Retry-After header");
    assert!(
        (1..=7).contains(&retry_after),
        "Retry-After {retry_after} with a 7 s window"
    );
}
