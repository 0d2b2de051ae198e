//! Commands that talk to a running Hangar (or any Graph-compatible endpoint) over HTTP:
//! `hangar import`, `hangar sync`, `hangar devices ...`, `hangar imports ...`.

pub mod devices;
pub mod import;
pub mod imports;
pub mod sync;

use anyhow::{bail, Context};
use clap::Args;
use hangar_client::{Client, ClientOptions};
use std::path::PathBuf;

/// Where the server is and how to authenticate. Global flags: `hangar --server URL devices list`
/// and `hangar devices list --server URL` both work.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Server (client commands)")]
pub struct Connection {
    /// The server's root URL (a Graph base URL such as https://graph.microsoft.com/beta works too).
    #[arg(
        long,
        env = "HANGAR_SERVER",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL",
        global = true
    )]
    pub server: String,
    /// Bearer token; by default the admin token `hangar serve` wrote into the data directory.
    #[arg(
        long,
        env = "HANGAR_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
    /// PEM certificate to trust for an https:// server (a self-signed Hangar certificate).
    #[arg(long, env = "HANGAR_CA_CERT", value_name = "FILE", global = true)]
    pub ca_cert: Option<PathBuf>,
}

/// The options of each client command: the data directory holding the admin token, and `--json`.
#[derive(Args, Debug, Clone)]
pub struct Local {
    /// Data directory holding `admin-token` (used when no token is given).
    #[arg(
        long,
        env = "HANGAR_DATA_DIR",
        default_value = "./hangar-data",
        value_name = "DIR",
        global = true
    )]
    pub data_dir: PathBuf,
    /// JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Everything a client command needs to reach the server.
#[derive(Debug, Clone)]
pub struct Remote {
    pub server: String,
    pub token: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub json: bool,
}

impl Remote {
    pub fn new(connection: &Connection, local: Local) -> Remote {
        Remote {
            server: connection.server.clone(),
            token: connection.token.clone(),
            ca_cert: connection.ca_cert.clone(),
            data_dir: local.data_dir,
            json: local.json,
        }
    }

    pub fn token(&self) -> anyhow::Result<String> {
        if let Some(t) = self
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            return Ok(t.to_string());
        }
        let path = self.data_dir.join("admin-token");
        match std::fs::read_to_string(&path) {
            Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
            Ok(_) => bail!("{} is empty: pass --token or set HANGAR_TOKEN", path.display()),
            Err(e) => bail!(
                "no token: pass --token, set HANGAR_TOKEN, or point --data-dir at the server's data \
                 directory (cannot read {}: {e})",
                path.display()
            ),
        }
    }

    pub fn client(&self) -> anyhow::Result<Client> {
        let mut options = ClientOptions::default();
        if let Some(ca) = &self.ca_cert {
            options
                .ca_certificates_pem
                .push(std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?);
        }
        Ok(Client::with_options(&self.server, &self.token()?, options)?)
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Whether `text` is a GUID (an object id) rather than a serial number.
pub fn is_guid(text: &str) -> bool {
    let t = text.trim();
    let groups: Vec<&str> = t.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A plain text table: columns padded to their widest cell, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i < last {
                let pad = widths[i].saturating_sub(c.chars().count()) + 2;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}

/// `0001-01-01T00:00:00Z` (Graph's "never") as `never`.
pub fn when(date: &str) -> String {
    if date.is_empty() || date.starts_with("0001-01-01") {
        "never".into()
    } else {
        date.to_string()
    }
}

/// `9 min 32 s`, `45 s`, `2 h 5 min`.
pub fn duration_words(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (min, sec) = (s / 60, s % 60);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 if sec == 0 => format!("{min} min"),
        60..=3599 => format!("{min} min {sec} s"),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn guids_and_serials() {
        assert!(is_guid("0b4f6c1e-8a8e-4c4b-9d1a-2f0e3c4d5e6f"));
        assert!(!is_guid("8NY7017XC5"));
        assert!(!is_guid("0b4f6c1e-8a8e-4c4b-9d1a-2f0e3c4d5e6"));
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(Duration::from_secs(45)), "45 s");
        assert_eq!(duration_words(Duration::from_secs(572)), "9 min 32 s");
        assert_eq!(duration_words(Duration::from_secs(600)), "10 min");
        assert_eq!(duration_words(Duration::from_secs(7500)), "2 h 5 min");
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["A", "BB"],
            &[vec!["xyz".into(), "1".into()], vec!["q".into(), "".into()]],
        );
        assert_eq!(t, "A    BB\nxyz  1\nq\n");
    }
}
