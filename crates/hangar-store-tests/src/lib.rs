//! One conformance suite for every store backend. Each test is an async function taking a fresh,
//! empty store; `conformance_tests!` turns them into `#[tokio::test]`s for one backend.

use hangar_core::authz::{authorize, Principal, TenantScope};
use hangar_core::credentials::{app_token_name, AuthFailure, CredentialStore, Role};
use hangar_core::model::*;
use hangar_core::service::{
    DeletionState, ManualClock, RegistrationRequest, Registry, RegistryConfig,
};
use hangar_core::store::Store;
use hangar_core::{CoreError, ZtdError};
use std::sync::Arc;
use std::time::Duration;

/// The real (anonymised) hashes in `shared/fixtures/hwhash`.
pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/hwhash"
);

/// A valid synthetic hash for a distinct device.
pub fn hash_of(serial: &str) -> Vec<u8> {
    hwhash::Builder::new()
        .serial(serial)
        .manufacturer("Contoso")
        .model("Surface 9")
        .tpm()
        .build()
        .to_bytes()
        .unwrap_or_default()
}

pub fn row(serial: &str) -> ImportRow {
    ImportRow {
        serial_number: serial.to_string(),
        hardware_hash: hash_of(serial),
        ..ImportRow::default()
    }
}

/// Every hash of the fixture CSVs (UTF-8 ones), with its file name.
pub fn fixture_rows() -> Vec<(String, ImportRow)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(FIXTURES) else {
        return out;
    };
    let mut paths: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.extension().and_then(|e| e.to_str()) != Some("csv") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line
                .trim_matches('\u{feff}')
                .split(',')
                .map(|c| c.trim_matches('"'))
                .collect();
            if cols.len() >= 3 && !cols[2].is_empty() {
                let mut r = ImportRow::with_base64_hash(cols[0], cols[2]);
                r.product_key = cols[1].to_string();
                out.push((
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    r,
                ));
            }
        }
    }
    out
}

pub fn start() -> time::OffsetDateTime {
    time::macros::datetime!(2026-03-01 10:00:00 UTC)
}

pub struct World<S> {
    pub registry: Registry<S>,
    pub clock: Arc<ManualClock>,
}

pub fn world<S: Store>(store: S, config: RegistryConfig) -> World<S> {
    let clock = Arc::new(ManualClock::new(start()));
    World {
        registry: Registry::new(store)
            .with_config(config)
            .with_clock(clock.clone()),
        clock,
    }
}

pub async fn tenant<S: Store>(r: &Registry<S>, name: &str) -> TenantScope {
    let t = r
        .create_tenant(
            &Principal::system("test"),
            name,
            &format!("{name}.onmicrosoft.com"),
        )
        .await
        .expect("create tenant");
    let admin = Principal::TenantAdmin {
        tenant_id: t.id,
        name: format!("admin@{name}"),
    };
    authorize(&admin, t.id).expect("own tenant")
}

pub fn partner_scope(t: &TenantScope) -> TenantScope {
    authorize(
        &Principal::Partner {
            partner_id: "fabrikam-csp".into(),
        },
        t.tenant_id(),
    )
    .expect("partner scope")
}

async fn states<S: Store>(
    r: &Registry<S>,
    scope: &TenantScope,
    rows: &[ImportedDevice],
) -> Vec<ImportState> {
    let mut out = Vec::new();
    for row in rows {
        out.push(
            r.get_imported(scope, row.id)
                .await
                .expect("imported row")
                .state,
        );
    }
    out
}

async fn all_devices<S: Store>(r: &Registry<S>, scope: &TenantScope) -> Vec<AutopilotDevice> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let p = r.list_devices(scope, None, &page).await.expect("list");
        out.extend(p.items);
        match p.next {
            Some(t) => page.skiptoken = Some(t),
            None => return out,
        }
    }
}

/// A fresh PostgreSQL database for one test, created through `HANGAR_TEST_POSTGRES_URL`; `None`
/// (after printing why) when the variable is unset.
pub async fn fresh_postgres_url() -> Option<String> {
    use sqlx::Connection;
    let Ok(url) = std::env::var("HANGAR_TEST_POSTGRES_URL") else {
        eprintln!(
            "skipped: set HANGAR_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests"
        );
        return None;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = format!(
        "hangar_test_{now}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut admin = sqlx::PgConnection::connect(&url)
        .await
        .expect("connect to HANGAR_TEST_POSTGRES_URL");
    // Test databases are left for inspection; those of runs more than two hours old are dropped.
    let old: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'hangar_test_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
    for (db,) in old {
        let created = db.split('_').nth(2).and_then(|t| t.parse::<u64>().ok());
        if created.is_some_and(|t| t + 7200 < now) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
                .execute(&mut admin)
                .await;
        }
    }
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.ok();
    Some(replace_database(&url, &name))
}

/// The URL with its database path replaced.
pub fn replace_database(url: &str, db: &str) -> String {
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

// ---------------------------------------------------------------------------------------------

pub async fn tenants_are_created_listed_and_unique<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let sys = Principal::system("test");
    let a = w
        .registry
        .create_tenant(&sys, "Contoso", "Contoso.onmicrosoft.com")
        .await
        .expect("create");
    assert_eq!(a.primary_domain, "contoso.onmicrosoft.com");
    w.clock.advance(Duration::from_secs(1));
    let b = w
        .registry
        .create_tenant(&sys, "Fabrikam", "fabrikam.onmicrosoft.com")
        .await
        .expect("create");
    let dup = w
        .registry
        .create_tenant(&sys, "Contoso 2", "contoso.onmicrosoft.com")
        .await;
    assert!(matches!(dup, Err(CoreError::Conflict(_))), "{dup:?}");
    assert!(matches!(
        w.registry.create_tenant(&sys, "X", "not a domain").await,
        Err(CoreError::Validation(_))
    ));
    let list = w.registry.list_tenants(&sys).await.expect("list");
    assert_eq!(
        list.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![a.id, b.id]
    );
    let admin = Principal::TenantAdmin {
        tenant_id: a.id,
        name: "x".into(),
    };
    assert!(matches!(
        w.registry.list_tenants(&admin).await,
        Err(CoreError::Forbidden(_))
    ));
    let scope = authorize(&admin, a.id).expect("scope");
    assert_eq!(
        w.registry
            .get_tenant(&scope)
            .await
            .expect("get")
            .display_name,
        "Contoso"
    );
    let settings = w.registry.sync_settings(&scope).await.expect("settings");
    assert_eq!(settings.sync_status, SyncStatus::Unknown);
    assert_eq!(settings.last_sync, None);
}

pub async fn import_rows_are_unknown_until_processed_then_complete<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    let mut r1 = row("SN-0001");
    r1.group_tag = "Sales".into();
    r1.assigned_user_principal_name = "ada@contoso.onmicrosoft.com".into();
    r1.product_key = "00330-80000-00000-AA123".into();
    let rows = w
        .registry
        .import(&t, vec![r1.clone(), row("SN-0002")])
        .await
        .expect("import");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].import_id, rows[1].import_id);
    for s in states(&w.registry, &t, &rows).await {
        assert_eq!(s.status, DeviceImportStatus::Unknown);
    }
    assert_eq!(w.registry.run_jobs("w1").await.expect("jobs"), 1);
    let st = states(&w.registry, &t, &rows).await;
    for s in &st {
        assert_eq!(s.status, DeviceImportStatus::Complete);
        assert_eq!(s.error_code(), 0);
        assert_eq!(s.error_name(), "None");
    }
    let id = st[0].device_registration_id.expect("registration id");
    let d = w
        .registry
        .get_device(&t, id)
        .await
        .expect("device retrievable by its id");
    assert_eq!(d.serial_number, "SN-0001");
    assert_eq!(d.manufacturer, "Contoso");
    assert_eq!(d.model, "Surface 9");
    assert_eq!(d.group_tag, "Sales");
    assert_eq!(d.user_principal_name, "ada@contoso.onmicrosoft.com");
    assert_eq!(d.product_key, "00330-80000-00000-AA123");
    assert_eq!(d.enrollment_state, EnrollmentState::NotContacted);
    assert_eq!(
        d.deployment_profile_assignment_status,
        ProfileAssignmentStatus::NotAssigned
    );
    assert_eq!(d.source, RegistrationSource::Import);
    assert_eq!(d.registered_by, "admin:admin@contoso");
    assert!(d.published);
    assert_eq!(d.hardware_hash, r1.hardware_hash, "hash kept byte for byte");
    let keys = hwhash::IdentityKeys::of(&hwhash::decode_bytes(&r1.hardware_hash).expect("decode"));
    assert_eq!(d.identity_keys, keys);
    assert!(d.identity_keys.tpm_ek_hash.is_some() && d.identity_keys.tuple.is_some());
    // The record is the same registration without the hash bytes and identity keys.
    let record = w
        .registry
        .get_device_record(&t, id)
        .await
        .expect("record retrievable by its id");
    assert_eq!(
        record,
        AutopilotDevice {
            hardware_hash: Vec::new(),
            identity_keys: hwhash::IdentityKeys::default(),
            ..d.clone()
        }
    );
    assert_eq!(
        w.registry
            .import_counts(&t, &rows[0].import_id)
            .await
            .expect("counts"),
        vec![(DeviceImportStatus::Complete, 2)]
    );
    let audit = w.registry.audit_log(&t, 10).await.expect("audit");
    assert_eq!(audit[0].action, "import.processed");
    assert_eq!(audit[1].action, "import.created");
    assert_eq!(audit[1].objects, vec![rows[0].import_id.clone()]);
}

pub async fn real_fixture_hashes_register<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    let fixtures = fixture_rows();
    assert!(
        fixtures.len() >= 10,
        "fixtures at {FIXTURES}: found {}",
        fixtures.len()
    );
    let rows = w
        .registry
        .import(&t, fixtures.iter().map(|(_, r)| r.clone()).collect())
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let st = states(&w.registry, &t, &rows).await;
    for ((name, r), s) in fixtures.iter().zip(&st) {
        assert_ne!(s.status, DeviceImportStatus::Unknown, "{name}");
        if s.status == DeviceImportStatus::Complete {
            let d = w
                .registry
                .get_device(&t, s.device_registration_id.expect("id"))
                .await
                .expect("device");
            let hash = hwhash::decode_bytes(&r.hardware_hash).expect("fixture decodes");
            assert_eq!(
                Some(d.manufacturer.as_str()),
                hash.manufacturer().as_deref().map(str::trim),
                "{name}"
            );
            assert_eq!(d.hardware_hash, r.hardware_hash);
        } else {
            // Windows leaves the serial column empty for QEMU guests without an SMBIOS serial.
            assert!(r.serial_number.is_empty(), "{name}: {s:?}");
            assert_eq!(
                s.error,
                Some(ZtdError::MissingZtdSerialNumberAndProductKey),
                "{name}: {s:?}"
            );
        }
    }
    assert!(
        st.iter()
            .filter(|s| s.status == DeviceImportStatus::Complete)
            .count()
            >= 8
    );
}

pub async fn import_errors_carry_ztd_codes<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let a = tenant(&w.registry, "contoso").await;
    let b = tenant(&w.registry, "fabrikam").await;
    w.registry
        .import(&a, vec![row("OWNED-A")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");

    let mut garbage = row("BAD-HASH");
    garbage.hardware_hash = b"not a hash".to_vec();
    let mut corrupt = row("CORRUPT");
    if let Some(b) = corrupt.hardware_hash.get_mut(100) {
        *b ^= 0xFF;
    }
    let mut anonymous = row("NO-SERIAL");
    anonymous.serial_number.clear();
    let rows = w
        .registry
        .import(
            &a,
            vec![
                row("NEW-1"),
                garbage,
                corrupt,
                anonymous,
                row("NEW-1"),
                row("OWNED-A"),
                row("NEW-2"),
            ],
        )
        .await
        .expect("import");
    let other = w
        .registry
        .import(&b, vec![row("OWNED-A"), row("NEW-B")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let st = states(&w.registry, &a, &rows).await;
    let codes: Vec<Option<ZtdError>> = st.iter().map(|s| s.error).collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some(ZtdError::InvalidZtdHardwareHash),
            Some(ZtdError::InvalidZtdHardwareHash),
            Some(ZtdError::MissingZtdSerialNumberAndProductKey),
            Some(ZtdError::ZtdDeviceDuplicated),
            Some(ZtdError::ZtdDeviceAlreadyAssigned),
            None,
        ]
    );
    assert_eq!(st[1].error_code(), 802);
    assert_eq!(st[5].error_code(), 806);
    assert!(st.iter().all(|s| s.status != DeviceImportStatus::Unknown));
    assert!(st
        .iter()
        .filter(|s| s.error.is_some())
        .all(|s| s.status == DeviceImportStatus::Error && s.device_registration_id.is_none()));
    let sb = states(&w.registry, &b, &other).await;
    assert_eq!(sb[0].error, Some(ZtdError::ZtdDeviceAssignedToOtherTenant));
    assert_eq!(sb[0].error_code(), 808);
    assert_eq!(sb[1].status, DeviceImportStatus::Complete);
    assert_eq!(
        w.registry
            .store()
            .count_devices(&a, false, None)
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        w.registry
            .store()
            .count_devices(&b, false, None)
            .await
            .expect("count"),
        1
    );
}

pub async fn duplicates_across_chunks_of_one_import_keep_the_first<S: Store>(store: S) {
    let w = world(
        store,
        RegistryConfig {
            import_chunk: 2,
            ..RegistryConfig::default()
        },
    );
    let t = tenant(&w.registry, "contoso").await;
    let rows = w
        .registry
        .import(
            &t,
            vec![
                row("D1"),
                row("D2"),
                row("D3"),
                row("D1"),
                row("D2"),
                row("D4"),
            ],
        )
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let st = states(&w.registry, &t, &rows).await;
    let errors: Vec<Option<ZtdError>> = st.iter().map(|s| s.error).collect();
    assert_eq!(
        errors,
        vec![
            None,
            None,
            None,
            Some(ZtdError::ZtdDeviceDuplicated),
            Some(ZtdError::ZtdDeviceDuplicated),
            None
        ]
    );
}

/// A chunk is first planned as if none of its devices were registered; the commit that meets a
/// registered one is refused and planned again, and leaves nothing of itself behind.
pub async fn registered_devices_met_in_later_chunks_fail_alone<S: Store>(store: S) {
    let w = world(
        store,
        RegistryConfig {
            import_chunk: 2,
            ..RegistryConfig::default()
        },
    );
    let t = tenant(&w.registry, "contoso").await;
    let first = ["D1", "D2", "D3", "D4"].map(row).to_vec();
    w.registry.import(&t, first).await.expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let serials = ["N1", "N2", "N3", "D1", "N4", "N5", "D2", "N6"];
    let rows = w
        .registry
        .import(&t, serials.map(row).to_vec())
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let st = states(&w.registry, &t, &rows).await;
    let codes: Vec<i32> = st.iter().map(|s| s.error_code()).collect();
    assert_eq!(codes, vec![0, 0, 0, 806, 0, 0, 806, 0]);
    for (serial, s) in serials.iter().zip(&st) {
        if let Some(id) = s.device_registration_id {
            let d = w
                .registry
                .store()
                .get_device(&t, id)
                .await
                .expect("get")
                .expect("the registration of a complete row");
            assert_eq!(&d.serial_number, serial);
        }
    }
    assert_eq!(
        w.registry
            .store()
            .count_devices(&t, false, None)
            .await
            .expect("count"),
        10
    );
}

pub async fn two_tenants_importing_one_device_concurrently_get_one_registration<S: Store>(
    store: S,
) {
    let w = world(
        store,
        RegistryConfig {
            import_chunk: 50,
            ..RegistryConfig::default()
        },
    );
    let a = tenant(&w.registry, "contoso").await;
    let b = tenant(&w.registry, "fabrikam").await;
    let shared: Vec<ImportRow> = (0..200).map(|i| row(&format!("SHARED-{i:04}"))).collect();
    let ra = w
        .registry
        .import(&a, shared.clone())
        .await
        .expect("import a");
    let rb = w.registry.import(&b, shared).await.expect("import b");
    let (r1, r2) = (w.registry.clone(), w.registry.clone());
    let (x, y) = tokio::join!(
        tokio::spawn(async move { r1.run_jobs("worker-1").await }),
        tokio::spawn(async move { r2.run_jobs("worker-2").await })
    );
    x.expect("join").expect("worker 1");
    y.expect("join").expect("worker 2");
    let sa = states(&w.registry, &a, &ra).await;
    let sb = states(&w.registry, &b, &rb).await;
    for (i, (x, y)) in sa.iter().zip(&sb).enumerate() {
        let complete = [x, y]
            .iter()
            .filter(|s| s.status == DeviceImportStatus::Complete)
            .count();
        let other = [x, y]
            .iter()
            .filter(|s| s.error == Some(ZtdError::ZtdDeviceAssignedToOtherTenant))
            .count();
        assert_eq!((complete, other), (1, 1), "device {i}: {x:?} / {y:?}");
    }
    let na = w
        .registry
        .store()
        .count_devices(&a, false, None)
        .await
        .expect("count");
    let nb = w
        .registry
        .store()
        .count_devices(&b, false, None)
        .await
        .expect("count");
    assert_eq!(na + nb, 200);
}

pub async fn another_tenants_objects_are_not_found<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let a = tenant(&w.registry, "contoso").await;
    let b = tenant(&w.registry, "fabrikam").await;
    let rows = w
        .registry
        .import(&a, vec![row("MINE")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let id = w
        .registry
        .get_imported(&a, rows[0].id)
        .await
        .expect("row")
        .state
        .device_registration_id
        .expect("id");
    assert!(matches!(
        w.registry.get_device(&b, id).await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(matches!(
        w.registry.get_imported(&b, rows[0].id).await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(matches!(
        w.registry.delete_device(&b, id).await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(matches!(
        w.registry.delete_imported(&b, rows[0].id).await,
        Err(CoreError::NotFound { .. })
    ));
    let patch = DevicePatch {
        group_tag: Some("x".into()),
        ..DevicePatch::default()
    };
    assert!(matches!(
        w.registry.update_device(&b, id, &patch).await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(all_devices(&w.registry, &b).await.is_empty());
    assert!(w
        .registry
        .list_imported(&b, None, None, &PageRequest::first(100))
        .await
        .expect("list")
        .items
        .is_empty());
    let admin_a = Principal::TenantAdmin {
        tenant_id: a.tenant_id(),
        name: "a".into(),
    };
    assert!(matches!(
        authorize(&admin_a, b.tenant_id()),
        Err(CoreError::NotFound { .. })
    ));
    // The row survives its processing until the client deletes it.
    w.registry
        .delete_imported(&a, rows[0].id)
        .await
        .expect("delete row");
    let audit = w.registry.audit_log(&a, 1).await.expect("audit");
    assert_eq!(audit[0].action, "import.row_deleted");
    assert_eq!(audit[0].objects, vec![rows[0].id.to_string()]);
    // Tenant b's failed attempt on the same row left nothing in b's log.
    assert!(w
        .registry
        .audit_log(&b, 50)
        .await
        .expect("audit")
        .iter()
        .all(|e| e.action != "import.row_deleted"));
    assert!(matches!(
        w.registry.get_imported(&a, rows[0].id).await,
        Err(CoreError::NotFound { .. })
    ));
    // The device keeps the hash it shared with the row.
    let device = w.registry.get_device(&a, id).await.expect("device");
    assert_eq!(device.hardware_hash, row("MINE").hardware_hash);
}

pub async fn partner_registrations_and_deregistrations_wait_for_sync<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    let p = partner_scope(&t);
    let req = |serial: &str| RegistrationRequest {
        hardware_hash: Some(hash_of(serial)),
        group_tag: "CSP".into(),
        ..Default::default()
    };
    let results = w
        .registry
        .register_on_behalf(
            &p,
            &[
                req("P-1"),
                req("P-2"),
                req("P-1"),
                RegistrationRequest {
                    product_key_id: "3312345678901".into(),
                    ..Default::default()
                },
            ],
        )
        .await
        .expect("register");
    assert!(results[0].is_ok() && results[1].is_ok());
    assert_eq!(results[2], Err(ZtdError::ZtdDeviceDuplicated));
    assert_eq!(results[3], Err(ZtdError::ZtdDeviceNotFound));
    let id1 = results[0].expect("id");
    // Not in the tenant's list before a sync, but the device is taken already.
    assert!(all_devices(&w.registry, &t).await.is_empty());
    assert!(matches!(
        w.registry.get_device(&t, id1).await,
        Err(CoreError::NotFound { .. })
    ));
    let again = w
        .registry
        .import(&t, vec![row("P-1")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    assert_eq!(
        states(&w.registry, &t, &again).await[0].error,
        Some(ZtdError::ZtdDeviceAlreadyAssigned)
    );
    // An admin is not a partner.
    assert!(matches!(
        w.registry.register_on_behalf(&t, &[req("P-9")]).await,
        Err(CoreError::Forbidden(_))
    ));

    let changes = w.registry.trigger_manual_sync(&t).await.expect("sync");
    assert_eq!(changes.published, 2);
    let listed = all_devices(&w.registry, &t).await;
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .all(|d| d.source == RegistrationSource::Partner
            && d.registered_by == "partner:fabrikam-csp"));

    // Partner deregistration: the device stays listed until the next sync, but is free at once.
    w.registry
        .deregister_on_behalf(&p, id1)
        .await
        .expect("deregister");
    assert_eq!(all_devices(&w.registry, &t).await.len(), 2);
    let other = tenant(&w.registry, "fabrikam").await;
    let moved = w
        .registry
        .import(&other, vec![row("P-1")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    assert_eq!(
        states(&w.registry, &other, &moved).await[0].status,
        DeviceImportStatus::Complete
    );
    w.clock.advance(Duration::from_secs(601));
    let changes = w.registry.trigger_manual_sync(&t).await.expect("sync");
    assert_eq!(changes.removed, 1);
    assert_eq!(all_devices(&w.registry, &t).await.len(), 1);
    // Partners never touch devices the tenant imported itself.
    let own = w
        .registry
        .import(&t, vec![row("OWN-1")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let own_id = states(&w.registry, &t, &own).await[0]
        .device_registration_id
        .expect("id");
    assert!(matches!(
        w.registry.deregister_on_behalf(&p, own_id).await,
        Err(CoreError::NotFound { .. })
    ));

    // Every sync publishes what was registered before it, and only that: a partner registration
    // after a sync waits for the next one, and the tenant's own imports never wait.
    let later = w
        .registry
        .register_on_behalf(&p, &[req("P-3")])
        .await
        .expect("register")[0]
        .expect("id");
    assert_eq!(all_devices(&w.registry, &t).await.len(), 2);
    assert_eq!(
        w.registry
            .store()
            .count_devices(&t, true, None)
            .await
            .expect("count"),
        2
    );
    w.clock.advance(Duration::from_secs(601));
    let changes = w.registry.trigger_manual_sync(&t).await.expect("sync");
    assert_eq!((changes.published, changes.removed), (1, 0));
    let listed = all_devices(&w.registry, &t).await;
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().any(|d| d.id == later && d.published));
    w.clock.advance(Duration::from_secs(601));
    let changes = w.registry.trigger_manual_sync(&t).await.expect("sync");
    assert_eq!((changes.published, changes.removed), (0, 0));
    assert_eq!(all_devices(&w.registry, &t).await.len(), 3);
}

pub async fn manual_sync_is_limited_to_one_per_window<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    w.registry
        .trigger_manual_sync(&t)
        .await
        .expect("first sync");
    let s = w.registry.sync_settings(&t).await.expect("settings");
    assert_eq!(s.sync_status, SyncStatus::Completed);
    assert_eq!(s.last_sync, Some(start()));
    assert_eq!(s.last_manual_sync_trigger, Some(start()));
    w.clock.advance(Duration::from_secs(90));
    match w.registry.trigger_manual_sync(&t).await {
        Err(CoreError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(510))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    w.clock.advance(Duration::from_millis(509_500));
    match w.registry.trigger_manual_sync(&t).await {
        Err(CoreError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(1))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    w.clock.advance(Duration::from_millis(500));
    w.registry
        .trigger_manual_sync(&t)
        .await
        .expect("sync after the window");
    // Another tenant has its own window.
    let other = tenant(&w.registry, "fabrikam").await;
    w.registry
        .trigger_manual_sync(&other)
        .await
        .expect("other tenant");
    // A configurable window.
    let short = Registry::new(w.registry.store().clone())
        .with_config(RegistryConfig {
            sync_window: Duration::from_secs(5),
            ..RegistryConfig::default()
        })
        .with_clock(w.clock.clone());
    w.clock.advance(Duration::from_secs(6));
    short.trigger_manual_sync(&t).await.expect("short window");
    let audit = w.registry.audit_log(&t, 10).await.expect("audit");
    assert_eq!(
        audit.iter().filter(|e| e.action == "sync.manual").count(),
        3
    );
}

pub async fn concurrent_manual_syncs_run_once<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (r, t) = (w.registry.clone(), t.clone());
        tasks.push(tokio::spawn(async move { r.trigger_manual_sync(&t).await }));
    }
    let mut ran = 0;
    for task in tasks {
        match task.await.expect("join") {
            Ok(_) => ran += 1,
            Err(CoreError::Conflict(_)) | Err(CoreError::RateLimited { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ran, 1);
    let audit = w.registry.audit_log(&t, 50).await.expect("audit");
    assert_eq!(
        audit.iter().filter(|e| e.action == "sync.manual").count(),
        1
    );
}

pub async fn a_running_sync_answers_conflict_and_a_stale_one_is_taken_over<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    // A sync begun by a process that then died.
    let now = w.registry.now();
    let begun = w.registry.store();
    use hangar_core::store::BeginSync;
    assert_eq!(
        begun
            .begin_manual_sync(
                &t,
                now,
                Duration::from_secs(600),
                now - Duration::from_secs(900)
            )
            .await
            .expect("begin"),
        BeginSync::Started
    );
    w.clock.advance(Duration::from_secs(700));
    assert!(matches!(
        w.registry.trigger_manual_sync(&t).await,
        Err(CoreError::Conflict(_))
    ));
    assert_eq!(
        w.registry
            .sync_settings(&t)
            .await
            .expect("settings")
            .sync_status,
        SyncStatus::InProgress
    );
    w.clock.advance(Duration::from_secs(300));
    w.registry
        .trigger_manual_sync(&t)
        .await
        .expect("stale sync taken over");
    assert_eq!(
        w.registry
            .sync_settings(&t)
            .await
            .expect("settings")
            .sync_status,
        SyncStatus::Completed
    );
}

pub async fn automatic_syncs_run_when_due<S: Store>(store: S) {
    let w = world(
        store,
        RegistryConfig {
            auto_sync_interval: Duration::from_secs(1800),
            ..RegistryConfig::default()
        },
    );
    let a = tenant(&w.registry, "contoso").await;
    let b = tenant(&w.registry, "fabrikam").await;
    w.registry
        .register_on_behalf(
            &partner_scope(&a),
            &[RegistrationRequest {
                hardware_hash: Some(hash_of("AUTO-1")),
                ..Default::default()
            }],
        )
        .await
        .expect("register");
    let done = w.registry.run_due_automatic_syncs().await.expect("auto");
    assert_eq!(done.len(), 2);
    assert_eq!(all_devices(&w.registry, &a).await.len(), 1);
    let s = w.registry.sync_settings(&a).await.expect("settings");
    assert_eq!(s.last_sync, Some(start()));
    assert_eq!(
        s.last_manual_sync_trigger, None,
        "automatic syncs leave the manual window alone"
    );
    w.clock.advance(Duration::from_secs(600));
    w.registry
        .trigger_manual_sync(&b)
        .await
        .expect("manual sync after an automatic one");
    assert!(w
        .registry
        .run_due_automatic_syncs()
        .await
        .expect("auto")
        .is_empty());
    w.clock.advance(Duration::from_secs(1200));
    let again: Vec<TenantId> = w
        .registry
        .run_due_automatic_syncs()
        .await
        .expect("auto")
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        again,
        vec![a.tenant_id()],
        "b synced manually 10 minutes later, so it is not due yet"
    );
}

pub async fn device_properties_update_and_users_assign<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    let rows = w
        .registry
        .import(&t, vec![row("UPD-1")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let id = states(&w.registry, &t, &rows).await[0]
        .device_registration_id
        .expect("id");
    w.clock.advance(Duration::from_secs(5));
    let patch = DevicePatch {
        group_tag: Some(" Kiosk ".into()),
        display_name: Some("PC-01".into()),
        ..DevicePatch::default()
    };
    w.registry
        .update_device(&t, id, &patch)
        .await
        .expect("update");
    w.registry
        .assign_user(&t, id, "grace@contoso.onmicrosoft.com", "Grace Hopper")
        .await
        .expect("assign");
    let d = w.registry.get_device(&t, id).await.expect("get");
    assert_eq!(
        (d.group_tag.as_str(), d.display_name.as_str()),
        ("Kiosk", "PC-01")
    );
    assert_eq!(d.user_principal_name, "grace@contoso.onmicrosoft.com");
    assert_eq!(d.addressable_user_name, "Grace Hopper");
    assert_eq!(d.updated, start() + Duration::from_secs(5));
    assert!(matches!(
        w.registry.assign_user(&t, id, "grace", "G").await,
        Err(CoreError::Validation(_))
    ));
    w.registry.unassign_user(&t, id).await.expect("unassign");
    let d = w.registry.get_device(&t, id).await.expect("get");
    assert_eq!(
        (
            d.user_principal_name.as_str(),
            d.addressable_user_name.as_str()
        ),
        ("", "")
    );
    assert_eq!(d.group_tag, "Kiosk");
    let audit = w.registry.audit_log(&t, 10).await.expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "device.updated")
            .count(),
        3
    );
    assert_eq!(audit[0].objects, vec![id.to_string()]);
}

pub async fn deregistration_is_refused_while_enrolled<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    let rows = w
        .registry
        .import(&t, vec![row("ENR-1")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let id = states(&w.registry, &t, &rows).await[0]
        .device_registration_id
        .expect("id");
    let store = w.registry.store();
    store
        .insert_directory_device(
            &t,
            &DirectoryDevice {
                id: DirectoryDeviceId::new(),
                tenant_id: t.tenant_id(),
                device_id: uuid::Uuid::new_v4().to_string(),
                display_name: "ENR-1".into(),
                physical_ids: vec![format!("[ZTDId]:{id}")],
                trust_type: "AzureAd".into(),
                account_enabled: true,
                operating_system: "Windows".into(),
                registration: None,
                autopilot_device_id: Some(id),
            },
        )
        .await
        .expect("directory");
    let managed = ManagedDevice {
        id: ManagedDeviceId::new(),
        tenant_id: t.tenant_id(),
        device_name: "PC-01".into(),
        serial_number: "ENR-1".into(),
        manufacturer: "Contoso".into(),
        model: "Surface 9".into(),
        user_principal_name: String::new(),
        azure_ad_device_id: String::new(),
        enrolled: Some(start()),
        last_sync: None,
        operating_system: "Windows".into(),
        management_state: "managed".into(),
        autopilot_enrolled: true,
        enrolled_by_user_id: String::new(),
        autopilot_device_id: Some(id),
    };
    store
        .insert_managed_device(&t, &managed)
        .await
        .expect("managed");
    match w.registry.delete_device(&t, id).await {
        Err(CoreError::Conflict(m)) => {
            assert!(m.contains("delete its managed device first"), "{m}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let bulk = w
        .registry
        .delete_devices_by_serial(&t, &["ENR-1".to_string()])
        .await
        .expect("bulk");
    assert_eq!(bulk[0].deletion_state, DeletionState::Failed);
    assert!(store
        .delete_managed_device(&t, managed.id)
        .await
        .expect("delete managed"));
    w.registry.delete_device(&t, id).await.expect("delete");
    assert!(matches!(
        w.registry.get_device(&t, id).await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(
        store
            .list_directory_devices(&t)
            .await
            .expect("dir")
            .is_empty(),
        "the placeholder goes with the registration"
    );
    // The identity keys are free again.
    let again = w
        .registry
        .import(&t, vec![row("ENR-1")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    assert_eq!(
        states(&w.registry, &t, &again).await[0].status,
        DeviceImportStatus::Complete
    );
    assert_eq!(
        w.registry
            .audit_log(&t, 10)
            .await
            .expect("audit")
            .iter()
            .filter(|e| e.action == "device.deleted")
            .count(),
        1
    );
}

pub async fn bulk_delete_by_serial_reports_each<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    w.registry
        .import(&t, vec![row("B-1"), row("B-2")])
        .await
        .expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let out = w
        .registry
        .delete_devices_by_serial(&t, &["B-1".into(), "NOPE".into(), "B-2".into()])
        .await
        .expect("bulk");
    let states: Vec<(&str, DeletionState, bool)> = out
        .iter()
        .map(|o| {
            (
                o.serial_number.as_str(),
                o.deletion_state,
                o.device_registration_id.is_some(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("B-1", DeletionState::Accepted, true),
            ("NOPE", DeletionState::Failed, false),
            ("B-2", DeletionState::Accepted, true)
        ]
    );
    assert!(out[1].error_message.contains("NOPE"));
    assert!(all_devices(&w.registry, &t).await.is_empty());
}

pub async fn lists_page_by_key_and_filter<S: Store>(store: S) {
    let w = world(store, RegistryConfig::default());
    let t = tenant(&w.registry, "contoso").await;
    let mut rows = Vec::new();
    for i in 0..25 {
        let mut r = row(&format!("LIST-{i:02}"));
        r.group_tag = if i % 2 == 0 {
            "Sales".into()
        } else {
            "Dev_Ops".into()
        };
        rows.push(r);
    }
    w.registry.import(&t, rows).await.expect("import");
    w.registry.run_jobs("w").await.expect("jobs");
    let mut seen = Vec::new();
    let mut page = PageRequest::first(10);
    let mut pages = 0;
    loop {
        let p = w
            .registry
            .list_devices(&t, None, &page)
            .await
            .expect("page");
        pages += 1;
        seen.extend(p.items.iter().map(|d| d.id));
        match p.next {
            Some(next) => page.skiptoken = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "stable order, no duplicates");
    assert_eq!(seen.len(), 25);
    // A device imported meanwhile appears once, in its place.
    let count = |f: Filter<DeviceField>| {
        let r = w.registry.clone();
        let t = t.clone();
        async move {
            let listed = r
                .list_devices(&t, Some(&f), &PageRequest::first(1000))
                .await
                .expect("filter")
                .items
                .len();
            let counted = r
                .store()
                .count_devices(&t, true, Some(&f))
                .await
                .expect("count");
            assert_eq!(counted, listed as u64, "count_devices agrees with the list");
            listed
        }
    };
    use DeviceField::*;
    assert_eq!(count(Filter::Eq(GroupTag, "sales".into())).await, 13);
    assert_eq!(count(Filter::Ne(GroupTag, "SALES".into())).await, 12);
    assert_eq!(
        count(Filter::Contains(GroupTag, "v_o".into())).await,
        12,
        "_ is literal"
    );
    assert_eq!(
        count(Filter::Contains(GroupTag, "%".into())).await,
        0,
        "% is literal"
    );
    assert_eq!(
        count(Filter::StartsWith(SerialNumber, "list-1".into())).await,
        10
    );
    assert_eq!(
        count(
            Filter::StartsWith(SerialNumber, "list-1".into())
                .and(Filter::Eq(GroupTag, "Sales".into()))
        )
        .await,
        5
    );
    assert_eq!(
        count(
            Filter::Eq(SerialNumber, "LIST-00".into())
                .or(Filter::Eq(SerialNumber, "list-24".into()))
        )
        .await,
        2
    );
    assert_eq!(
        count(
            Filter::Eq(Manufacturer, "contoso".into()).and(Filter::Contains(Model, "FACE".into()))
        )
        .await,
        25
    );
    let bad = PageRequest {
        top: 10,
        skiptoken: Some("%%%".into()),
    };
    assert!(matches!(
        w.registry.list_devices(&t, None, &bad).await,
        Err(CoreError::Validation(_))
    ));
    // Imported rows page the same way.
    let p1 = w
        .registry
        .list_imported(&t, None, None, &PageRequest::first(20))
        .await
        .expect("imported");
    assert_eq!(p1.items.len(), 20);
    let p2 = w
        .registry
        .list_imported(
            &t,
            None,
            None,
            &PageRequest {
                top: 20,
                skiptoken: p1.next,
            },
        )
        .await
        .expect("imported");
    assert_eq!(p2.items.len(), 5);
    assert!(p2.next.is_none());
    // And filter like the devices, across pages.
    let imported = |f: Filter<ImportedField>| {
        let r = w.registry.clone();
        let t = t.clone();
        async move {
            let mut serials = Vec::new();
            let mut page = PageRequest::first(4);
            loop {
                let p = r
                    .list_imported(&t, None, Some(&f), &page)
                    .await
                    .expect("filtered imported rows");
                serials.extend(p.items.into_iter().map(|i| i.serial_number));
                match p.next {
                    Some(next) => page.skiptoken = Some(next),
                    None => break,
                }
            }
            serials.sort();
            serials
        }
    };
    let ones = imported(Filter::StartsWith(
        ImportedField::SerialNumber,
        "LIST-1".into(),
    ))
    .await;
    assert_eq!(ones.len(), 10, "{ones:?}");
    assert!(ones.iter().all(|s| s.to_lowercase().starts_with("list-1")));
    assert_eq!(
        imported(Filter::Eq(ImportedField::GroupTag, "SALES".into()))
            .await
            .len(),
        13
    );
    assert_eq!(
        imported(
            Filter::Eq(ImportedField::GroupTag, "sales".into())
                .and(Filter::Contains(ImportedField::SerialNumber, "-2".into()))
        )
        .await
        .len(),
        count(
            Filter::Eq(GroupTag, "sales".into()).and(Filter::Contains(SerialNumber, "-2".into()))
        )
        .await
    );
}

pub async fn an_abandoned_job_is_reclaimed_after_its_lease<S: Store>(store: S) {
    let w = world(
        store,
        RegistryConfig {
            job_lease: Duration::from_secs(30),
            import_chunk: 3,
            ..RegistryConfig::default()
        },
    );
    let t = tenant(&w.registry, "contoso").await;
    let rows = w
        .registry
        .import(&t, (0..10).map(|i| row(&format!("LEASE-{i}"))).collect())
        .await
        .expect("import");
    let sys = hangar_core::authz::require_system(&Principal::system("test")).expect("sys");
    let store = w.registry.store();
    // A worker claims the job and dies without a heartbeat.
    let job = store
        .claim_job(&sys, "dead", w.registry.now(), Duration::from_secs(30))
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(job.attempts, 1);
    assert_eq!(
        w.registry.run_jobs("alive").await.expect("jobs"),
        0,
        "leased to the dead worker"
    );
    w.clock.advance(Duration::from_secs(31));
    assert_eq!(w.registry.run_jobs("alive").await.expect("jobs"), 1);
    assert!(states(&w.registry, &t, &rows)
        .await
        .iter()
        .all(|s| s.status == DeviceImportStatus::Complete));
    assert!(
        !store
            .heartbeat_job(&sys, job.id, "dead", w.registry.now())
            .await
            .expect("heartbeat"),
        "the dead worker lost it"
    );
    assert_eq!(store.count_jobs(&sys).await.expect("jobs"), 0);
}

pub async fn a_job_that_keeps_failing_fails_its_rows_with_storage_error<S: Store>(store: S) {
    let w = world(
        store,
        RegistryConfig {
            job_max_attempts: 2,
            job_lease: Duration::from_secs(30),
            ..RegistryConfig::default()
        },
    );
    let t = tenant(&w.registry, "contoso").await;
    let rows = w
        .registry
        .import(&t, vec![row("F-1"), row("F-2")])
        .await
        .expect("import");
    let sys = hangar_core::authz::require_system(&Principal::system("test")).expect("sys");
    // Two workers claim it in turn and die.
    for _ in 0..2 {
        w.registry
            .store()
            .claim_job(&sys, "crashy", w.registry.now(), Duration::from_secs(30))
            .await
            .expect("claim")
            .expect("job");
        w.clock.advance(Duration::from_secs(31));
    }
    assert_eq!(w.registry.run_jobs("w").await.expect("jobs"), 1);
    for s in states(&w.registry, &t, &rows).await {
        assert_eq!(s.status, DeviceImportStatus::Error);
        assert_eq!(s.error, Some(ZtdError::StorageError));
    }
    assert_eq!(w.registry.store().count_jobs(&sys).await.expect("jobs"), 0);
    assert_eq!(
        w.registry.audit_log(&t, 1).await.expect("audit")[0].action,
        "import.failed"
    );
}

pub async fn credentials_are_listed_only_in_their_tenant<S: Store + CredentialStore>(store: S) {
    let w = world(store, RegistryConfig::default());
    let a = tenant(&w.registry, "contoso").await;
    let b = tenant(&w.registry, "fabrikam").await;
    let cli = w
        .registry
        .issue_token(&a, Role::Reader, "cli", Some(Duration::from_secs(3600)))
        .await
        .expect("token");
    w.clock.advance(Duration::from_secs(1));
    let app = w
        .registry
        .create_app(&a, "intune-sync", Role::Admin)
        .await
        .expect("app");
    let exchanged = w
        .registry
        .client_credentials(
            "contoso.onmicrosoft.com",
            &app.app.client_id,
            &app.client_secret,
            Duration::from_secs(3600),
        )
        .await
        .expect("exchange")
        .expect("a token for the app");

    let tokens = w.registry.list_tokens(&a).await.expect("tokens");
    assert_eq!(tokens, vec![cli.record.clone(), exchanged.record.clone()]);
    assert_eq!(tokens[1].name, app_token_name(&app.app.client_id));
    assert_eq!(tokens[1].role, Role::Admin);
    let apps = w.registry.list_apps(&a).await.expect("apps");
    assert_eq!(apps, vec![app.app.clone()]);
    assert_eq!(apps[0].display_name, "intune-sync");
    assert_eq!(apps[0].revoked, None);

    // The other tenant sees none of them, and its own only.
    assert!(w.registry.list_tokens(&b).await.expect("tokens").is_empty());
    assert!(w.registry.list_apps(&b).await.expect("apps").is_empty());
    let other = w
        .registry
        .create_app(&b, "other", Role::Reader)
        .await
        .expect("app");
    let apps_b = w.registry.list_apps(&b).await.expect("apps");
    assert_eq!(apps_b.len(), 1);
    assert_eq!(apps_b[0].client_id, other.app.client_id);
    assert_eq!(w.registry.list_apps(&a).await.expect("apps").len(), 1);

    // Revoked tokens stay listed, with their revocation time.
    w.registry
        .revoke_token(&cli.record.id)
        .await
        .expect("revoke");
    let tokens = w.registry.list_tokens(&a).await.expect("tokens");
    assert_eq!(tokens[0].revoked, Some(w.registry.now()));
    assert_eq!(tokens[1].revoked, None);
}

pub async fn revoking_an_app_revokes_its_tokens_and_nothing_else<S: Store + CredentialStore>(
    store: S,
) {
    let w = world(store, RegistryConfig::default());
    let a = tenant(&w.registry, "contoso").await;
    let b = tenant(&w.registry, "fabrikam").await;
    let app = w
        .registry
        .create_app(&a, "sync", Role::Admin)
        .await
        .expect("app");
    let kept = w
        .registry
        .create_app(&a, "kept", Role::Reader)
        .await
        .expect("app");
    let exchange = |app: &hangar_core::credentials::CreatedApp| {
        let (id, secret) = (app.app.client_id.clone(), app.client_secret.clone());
        let r = &w.registry;
        async move {
            r.client_credentials(
                "contoso.onmicrosoft.com",
                &id,
                &secret,
                Duration::from_secs(3600),
            )
            .await
            .expect("exchange")
        }
    };
    let t1 = exchange(&app).await.expect("token");
    let t2 = exchange(&app).await.expect("token");
    let t_kept = exchange(&kept).await.expect("token");
    let t_cli = w
        .registry
        .issue_token(&a, Role::Admin, "cli", None)
        .await
        .expect("token");
    // Another tenant's token that happens to carry the app's name is not the app's.
    let t_other = w
        .registry
        .issue_token(&b, Role::Admin, &app_token_name(&app.app.client_id), None)
        .await
        .expect("token");
    // Every token is looked up once, so that the registry's cache holds it.
    for t in [&t1, &t2, &t_kept, &t_cli, &t_other] {
        assert!(matches!(
            w.registry.authenticate_token(&t.token).await,
            Ok(Ok(_))
        ));
    }

    w.clock.advance(Duration::from_secs(5));
    let (revoked, count) = w
        .registry
        .revoke_app(&app.app.client_id)
        .await
        .expect("revoke app");
    assert_eq!(revoked.client_id, app.app.client_id);
    assert_eq!(count, 2);
    let now = w.registry.now();

    // Its tokens are refused at once (the cache forgot them), the others still work.
    for t in [&t1, &t2] {
        assert_eq!(
            w.registry
                .authenticate_token(&t.token)
                .await
                .expect("auth")
                .err(),
            Some(AuthFailure::Revoked)
        );
    }
    for t in [&t_kept, &t_cli, &t_other] {
        assert!(matches!(
            w.registry.authenticate_token(&t.token).await,
            Ok(Ok(_))
        ));
    }
    let tokens = w.registry.list_tokens(&a).await.expect("tokens");
    for t in &tokens {
        let expected = (t.id == t1.record.id || t.id == t2.record.id).then_some(now);
        assert_eq!(t.revoked, expected, "{}", t.name);
    }
    assert_eq!(tokens.len(), 4);
    assert!(w.registry.list_tokens(&b).await.expect("tokens")[0]
        .revoked
        .is_none());
    let apps = w.registry.list_apps(&a).await.expect("apps");
    for a in &apps {
        let expected = (a.client_id == app.app.client_id).then_some(now);
        assert_eq!(a.revoked, expected, "{}", a.display_name);
    }

    // The revoked app gets no more tokens; the other one does.
    assert!(exchange(&app).await.is_none());
    assert!(exchange(&kept).await.is_some());
    // Revoking again, or an unknown app, is an error and changes nothing.
    assert!(matches!(
        w.registry.revoke_app(&app.app.client_id).await,
        Err(CoreError::Conflict(_))
    ));
    assert!(matches!(
        w.registry
            .revoke_app("00000000-0000-0000-0000-000000000001")
            .await,
        Err(CoreError::NotFound { .. })
    ));
    assert_eq!(
        w.registry.list_tokens(&a).await.expect("tokens").len(),
        5,
        "the kept app's second token"
    );
}

/// Instantiates the suite for one backend: `$make` is an async block yielding `Option<store>`
/// (`None` skips, after printing why).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            tenants_are_created_listed_and_unique,
            import_rows_are_unknown_until_processed_then_complete,
            real_fixture_hashes_register,
            import_errors_carry_ztd_codes,
            duplicates_across_chunks_of_one_import_keep_the_first,
            registered_devices_met_in_later_chunks_fail_alone,
            two_tenants_importing_one_device_concurrently_get_one_registration,
            another_tenants_objects_are_not_found,
            partner_registrations_and_deregistrations_wait_for_sync,
            manual_sync_is_limited_to_one_per_window,
            concurrent_manual_syncs_run_once,
            a_running_sync_answers_conflict_and_a_stale_one_is_taken_over,
            automatic_syncs_run_when_due,
            device_properties_update_and_users_assign,
            deregistration_is_refused_while_enrolled,
            bulk_delete_by_serial_reports_each,
            lists_page_by_key_and_filter,
            an_abandoned_job_is_reclaimed_after_its_lease,
            a_job_that_keeps_failing_fails_its_rows_with_storage_error,
            credentials_are_listed_only_in_their_tenant,
            revoking_an_app_revokes_its_tokens_and_nothing_else,
        );
    };
    (@each $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(store) = $make.await {
                    $crate::$name(store).await;
                }
            }
        )+
    };
}
