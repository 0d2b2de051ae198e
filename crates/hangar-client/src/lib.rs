//! A typed, blocking Microsoft Graph client for the Windows Autopilot resources.
//!
//! It talks to any Graph-compatible endpoint: a Hangar server (`http://127.0.0.1:8080`) or
//! `https://graph.microsoft.com` itself. Give it the root URL (a trailing `/v1.0` or `/beta` is
//! accepted and dropped) and a bearer token; each call picks the API version its resource needs
//! (`v1.0` for devices and imports, `beta` for `windowsAutopilotSettings` and `deleteDevices`).
//!
//! ```no_run
//! let client = hangar_client::Client::new("http://127.0.0.1:8080", "eyJ...")?;
//! for d in client.list_devices(Some("startswith(serialNumber,'PF')"))? {
//!     println!("{} {}", d.serial_number, d.id);
//! }
//! # Ok::<(), hangar_client::Error>(())
//! ```

mod error;
mod model;

pub use error::{parse_retry_after, Error, GraphError};
pub use model::{
    AutopilotSettings, DeletedDeviceState, DeviceIdentity, DeviceUpdate, ImportState,
    ImportedDevice, NewImportedDevice,
};

use model::{AssignUserBody, DeleteDevicesBody, ImportBody, Page};
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::cell::Cell;
use std::time::Duration;

/// Graph's limit of devices per `import` call.
pub const MAX_IMPORT_ROWS: usize = 1000;

const DEVICES: &str = "deviceManagement/windowsAutopilotDeviceIdentities";
const IMPORTED: &str = "deviceManagement/importedWindowsAutopilotDeviceIdentities";
const SETTINGS: &str = "deviceManagement/windowsAutopilotSettings";

/// The Graph API version of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    Beta,
}

impl Version {
    fn segment(self) -> &'static str {
        match self {
            Version::V1 => "v1.0",
            Version::Beta => "beta",
        }
    }
}

/// What `windowsAutopilotSettings/sync` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// 204: the sync ran (Hangar) or started (Intune).
    Started,
    /// 409: a sync is already in progress.
    AlreadyRunning(GraphError),
    /// 429: too soon after the last manual sync; `retry_after` is the time left, when given.
    TooSoon {
        retry_after: Option<Duration>,
        error: GraphError,
    },
}

/// Options for building a [`Client`].
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Extra PEM certificates to trust (a self-signed Hangar certificate).
    pub ca_certificates_pem: Vec<Vec<u8>>,
    /// Per-request timeout; default 60 s.
    pub timeout: Option<Duration>,
}

/// A Graph client bound to one endpoint and token.
pub struct Client {
    http: reqwest::blocking::Client,
    root: String,
    token: String,
    /// Whether `importedWindowsAutopilotDeviceIdentities` takes `$filter` on `importId`; learnt
    /// from the first try.
    imported_filter: Cell<Option<bool>>,
}

impl Client {
    pub fn new(root: &str, token: &str) -> Result<Client, Error> {
        Client::with_options(root, token, ClientOptions::default())
    }

    pub fn with_options(root: &str, token: &str, options: ClientOptions) -> Result<Client, Error> {
        let root = normalize_root(root)?;
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::Config("the bearer token is empty".into()));
        }
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(concat!("hangar-client/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout.unwrap_or(Duration::from_secs(60)));
        for pem in &options.ca_certificates_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| Error::Config(format!("cannot read the CA certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client {
            http,
            root,
            token: token.to_string(),
            imported_filter: Cell::new(None),
        })
    }

    /// The root URL, without a version segment.
    pub fn root(&self) -> &str {
        &self.root
    }

    fn url(&self, v: Version, path: &str) -> String {
        format!("{}/{}/{path}", self.root, v.segment())
    }

    fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/json")
    }

    fn send(&self, req: RequestBuilder, url: &str) -> Result<Response, Error> {
        let res = req.send().map_err(|source| Error::Transport {
            url: url.to_string(),
            source,
        })?;
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("request-id");
        let client_request_id = header("client-request-id");
        let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v));
        let body = res.bytes().unwrap_or_default();
        Err(GraphError::parse(status, &body, request_id, client_request_id, retry_after).into())
    }

    fn json<T: DeserializeOwned>(&self, res: Response, url: &str) -> Result<T, Error> {
        let bytes = res.bytes().map_err(|source| Error::Transport {
            url: url.to_string(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    fn get<T: DeserializeOwned>(&self, url: &str) -> Result<T, Error> {
        let res = self.send(self.request(Method::GET, url), url)?;
        self.json(res, url)
    }

    fn post_json<B: serde::Serialize + ?Sized>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<Response, Error> {
        self.send(self.request(Method::POST, url).json(body), url)
    }

    fn post_empty(&self, url: &str) -> Result<Response, Error> {
        self.send(
            self.request(Method::POST, url)
                .header(reqwest::header::CONTENT_LENGTH, "0"),
            url,
        )
    }

    fn delete(&self, url: &str) -> Result<(), Error> {
        self.send(self.request(Method::DELETE, url), url)?;
        Ok(())
    }

    /// Every item of a collection, following `@odata.nextLink`; `on_page` sees each page's size.
    fn collect<T: DeserializeOwned>(
        &self,
        first: String,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        let mut url = first;
        let mut pages = 0usize;
        loop {
            let page: Page<T> = self.get(&url)?;
            on_page(page.value.len());
            out.extend(page.value);
            pages += 1;
            match page.next_link {
                Some(next) if !next.is_empty() && next != url => url = next,
                _ => break,
            }
            if pages > 1_000_000 {
                return Err(Error::Decode {
                    url,
                    message: "the server keeps sending next links".into(),
                });
            }
        }
        Ok(out)
    }

    // ---- windowsAutopilotDeviceIdentities ----

    /// Every Autopilot device (all pages), optionally filtered with an OData `$filter`.
    pub fn list_devices(&self, filter: Option<&str>) -> Result<Vec<DeviceIdentity>, Error> {
        self.list_devices_with(filter, None, &mut |_| {})
    }

    /// [`Client::list_devices`] with a page size (`$top`) and a callback per page.
    pub fn list_devices_with(
        &self,
        filter: Option<&str>,
        top: Option<usize>,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<Vec<DeviceIdentity>, Error> {
        let mut query = Vec::new();
        if let Some(f) = filter.filter(|f| !f.trim().is_empty()) {
            query.push(("$filter", f.to_string()));
        }
        if let Some(t) = top {
            query.push(("$top", t.to_string()));
        }
        let url = with_query(&self.url(Version::V1, DEVICES), &query);
        self.collect(url, on_page)
    }

    pub fn get_device(&self, id: &str) -> Result<DeviceIdentity, Error> {
        self.get(&self.url(Version::V1, &format!("{DEVICES}/{}", segment(id))))
    }

    /// The devices with this serial number (exact, case-insensitive on Hangar and Graph).
    pub fn find_devices_by_serial(&self, serial: &str) -> Result<Vec<DeviceIdentity>, Error> {
        let filter = format!("serialNumber eq '{}'", serial.replace('\'', "''"));
        self.list_devices(Some(&filter))
    }

    pub fn delete_device(&self, id: &str) -> Result<(), Error> {
        self.delete(&self.url(Version::V1, &format!("{DEVICES}/{}", segment(id))))
    }

    /// Beta `deleteDevices`: one state per serial number.
    pub fn delete_devices_by_serial(
        &self,
        serials: &[String],
    ) -> Result<Vec<DeletedDeviceState>, Error> {
        let url = self.url(Version::Beta, &format!("{DEVICES}/deleteDevices"));
        let res = self.post_json(
            &url,
            &DeleteDevicesBody {
                serial_numbers: serials,
            },
        )?;
        let page: Page<DeletedDeviceState> = self.json(res, &url)?;
        Ok(page.value)
    }

    pub fn assign_user(&self, id: &str, upn: &str, addressable_name: &str) -> Result<(), Error> {
        let url = self.url(
            Version::V1,
            &format!("{DEVICES}/{}/assignUserToDevice", segment(id)),
        );
        self.post_json(
            &url,
            &AssignUserBody {
                user_principal_name: upn,
                addressable_user_name: addressable_name,
            },
        )?;
        Ok(())
    }

    pub fn unassign_user(&self, id: &str) -> Result<(), Error> {
        let url = self.url(
            Version::V1,
            &format!("{DEVICES}/{}/unassignUserFromDevice", segment(id)),
        );
        self.post_empty(&url)?;
        Ok(())
    }

    pub fn update_device(&self, id: &str, update: &DeviceUpdate) -> Result<(), Error> {
        let url = self.url(
            Version::V1,
            &format!("{DEVICES}/{}/updateDeviceProperties", segment(id)),
        );
        self.post_json(&url, update)?;
        Ok(())
    }

    // ---- importedWindowsAutopilotDeviceIdentities ----

    /// The `import` action: at most [`MAX_IMPORT_ROWS`] devices; one answer per device, same order.
    pub fn import(&self, devices: &[NewImportedDevice]) -> Result<Vec<ImportedDevice>, Error> {
        if devices.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.url(Version::V1, &format!("{IMPORTED}/import"));
        let res = self.post_json(
            &url,
            &ImportBody {
                imported_windows_autopilot_device_identities: devices,
            },
        )?;
        let page: Page<ImportedDevice> = self.json(res, &url)?;
        if page.value.len() != devices.len() {
            return Err(Error::Decode {
                url,
                message: format!(
                    "import sent {} devices and got {} answers",
                    devices.len(),
                    page.value.len()
                ),
            });
        }
        Ok(page.value)
    }

    /// Imported rows, all pages; with `import_id`, only that import's rows (server-side `$filter`
    /// when the server takes it, else filtered here).
    pub fn list_imported(&self, import_id: Option<&str>) -> Result<Vec<ImportedDevice>, Error> {
        let base = self.url(Version::V1, IMPORTED);
        let Some(import_id) = import_id else {
            return self.collect(base, &mut |_| {});
        };
        if self.imported_filter.get() != Some(false) {
            let filter = format!("importId eq '{}'", import_id.replace('\'', "''"));
            match self
                .collect::<ImportedDevice>(with_query(&base, &[("$filter", filter)]), &mut |_| {})
            {
                Ok(rows) => {
                    self.imported_filter.set(Some(true));
                    return Ok(rows);
                }
                Err(Error::Graph(g)) if g.status == 400 || g.status == 501 => {
                    self.imported_filter.set(Some(false));
                }
                Err(e) => return Err(e),
            }
        }
        let mut rows: Vec<ImportedDevice> = self.collect(base, &mut |_| {})?;
        rows.retain(|r| r.import_id.as_deref() == Some(import_id));
        Ok(rows)
    }

    pub fn get_imported(&self, id: &str) -> Result<ImportedDevice, Error> {
        self.get(&self.url(Version::V1, &format!("{IMPORTED}/{}", segment(id))))
    }

    pub fn delete_imported(&self, id: &str) -> Result<(), Error> {
        self.delete(&self.url(Version::V1, &format!("{IMPORTED}/{}", segment(id))))
    }

    // ---- windowsAutopilotSettings (beta) ----

    pub fn settings(&self) -> Result<AutopilotSettings, Error> {
        self.get(&self.url(Version::Beta, SETTINGS))
    }

    /// `POST windowsAutopilotSettings/sync`; 409 and 429 are outcomes, not errors.
    pub fn sync(&self) -> Result<SyncOutcome, Error> {
        match self.post_empty(&self.url(Version::Beta, &format!("{SETTINGS}/sync"))) {
            Ok(_) => Ok(SyncOutcome::Started),
            Err(Error::Graph(g)) if g.status == 409 => Ok(SyncOutcome::AlreadyRunning(*g)),
            Err(Error::Graph(g)) if g.status == 429 => Ok(SyncOutcome::TooSoon {
                retry_after: g.retry_after,
                error: *g,
            }),
            Err(e) => Err(e),
        }
    }
}

/// `https://host/v1.0/` -> `https://host`.
fn normalize_root(root: &str) -> Result<String, Error> {
    let mut r = root.trim().trim_end_matches('/').to_string();
    for v in ["/v1.0", "/beta"] {
        if r.to_ascii_lowercase().ends_with(v) {
            r.truncate(r.len() - v.len());
        }
    }
    let r = r.trim_end_matches('/').to_string();
    let parsed =
        url::Url::parse(&r).map_err(|e| Error::Config(format!("'{root}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Config(format!(
            "'{root}' is not an http:// or https:// URL"
        )));
    }
    Ok(r)
}

/// A key as a path segment: percent-encodes anything outside the unreserved set.
fn segment(id: &str) -> String {
    encode(id.trim())
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'_' | b'~' | b'$' | b'\'' | b'(' | b')' | b','
            )
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Appends query options; spaces become `%20` (not `+`), which every OData server reads.
fn with_query(url: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("{url}?{}", q.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_lose_version_and_slashes() {
        assert_eq!(
            normalize_root("https://graph.microsoft.com/beta/")
                .ok()
                .as_deref(),
            Some("https://graph.microsoft.com")
        );
        assert_eq!(
            normalize_root("http://127.0.0.1:8080/v1.0").ok().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            normalize_root("http://h/prefix/").ok().as_deref(),
            Some("http://h/prefix")
        );
        assert!(normalize_root("ftp://h").is_err());
        assert!(normalize_root("not a url").is_err());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            with_query(
                "http://h/x",
                &[("$filter", "serialNumber eq 'A&B+C'".into())]
            ),
            "http://h/x?$filter=serialNumber%20eq%20'A%26B%2BC'"
        );
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn import_state_follows_the_polling_contract() {
        let mut s = ImportState::default();
        assert!(!s.is_final());
        s.device_import_status = "unknown".into();
        assert!(!s.is_final());
        s.device_import_status = "error".into();
        assert!(s.is_final() && !s.is_complete());
        s.device_import_status = "complete".into();
        assert!(s.is_final() && s.is_complete());
    }
}
