//! `hangar hash collect` as a process, against a fake machine tree.

use assert_cmd::Command;
use std::fs;
use std::path::Path;

fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// One SMBIOS structure: header, fields, strings.
fn structure(kind: u8, fields: &[u8], strings: &[&str]) -> Vec<u8> {
    let mut s = vec![kind, u8::try_from(4 + fields.len()).unwrap(), 0, 0];
    s.extend_from_slice(fields);
    for text in strings {
        s.extend_from_slice(text.as_bytes());
        s.push(0);
    }
    s.push(0);
    if strings.is_empty() {
        s.push(0);
    }
    s
}

/// A machine with SMBIOS type 1 (`serial`), a CPU and an Ethernet adapter.
fn fake_root(serial: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let mut system = vec![1, 2, 0, 3];
    system.extend_from_slice(&[
        0x44, 0x45, 0x4c, 0x4c, 0x34, 0x00, 0x10, 0x36, 0x80, 0x4c, 0xb2, 0xc0, 0x4f, 0x4a, 0x59,
        0x33,
    ]);
    system.extend_from_slice(&[6, 0, 0]);
    let mut dmi = structure(1, &system, &["Dell Inc.", "Latitude 7440", serial]);
    dmi.extend(structure(3, &[1, 10, 0, 0, 0], &["Dell Inc."]));
    dmi.extend(structure(127, &[], &[]));
    write(r, "sys/firmware/dmi/tables/DMI", dmi);
    write(r, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i5\nphysical id\t: 0\ncore id\t: 0\n");
    write(r, "proc/meminfo", "MemTotal: 16000000 kB\n");
    fs::create_dir_all(r.join("devices/pci0000:00/0000:00:1f.6")).unwrap();
    fs::create_dir_all(r.join("sys/class/net/eth0")).unwrap();
    std::os::unix::fs::symlink(
        r.join("devices/pci0000:00/0000:00:1f.6"),
        r.join("sys/class/net/eth0/device"),
    )
    .unwrap();
    write(r, "sys/class/net/eth0/address", "8c:04:ba:12:34:56\n");
    dir
}

fn collect(root: &Path, extra: &[&str]) -> (String, String) {
    let out = Command::cargo_bin("hangar")
        .unwrap()
        .args(["hash", "collect", "--root"])
        .arg(root)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn prints_an_import_row() {
    let root = fake_root("8NY7017");
    let (stdout, stderr) = collect(root.path(), &[]);
    let lines: Vec<&str> = stdout.split("\r\n").collect();
    assert_eq!(lines.len(), 3, "{stdout:?}");
    assert_eq!(
        lines[0],
        "Device Serial Number,Windows Product ID,Hardware Hash"
    );
    assert_eq!(lines[2], "", "ends with CRLF");
    let cols: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(cols.len(), 3);
    assert_eq!((cols[0], cols[1]), ("8NY7017", ""));
    assert_eq!(cols[2].len(), 4000);
    assert!(!stdout.contains('"'));
    let hash = hwhash::decode(cols[2]).unwrap();
    assert_eq!(hash.serial().as_deref(), Some("8NY7017"));
    assert_eq!(hash.manufacturer().as_deref(), Some("Dell Inc."));
    assert_eq!(
        hash.smbios_uuid().unwrap().to_guid_string(),
        "4c4c4544-0034-3610-804c-b2c04f4a5933"
    );
    assert_eq!(
        hash.network_adapters().next().unwrap().mac_string(),
        "8c:04:ba:12:34:56"
    );
    // One warning line per field that could not be read: field, reason, source.
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("warning: TpmEkPub: ") && l.contains("/dev/tpmrm0")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("warning: GpuName: not available on Linux")),
        "{stderr}"
    );
    assert!(!stderr.contains("SmbiosSystemSerialNumber"), "{stderr}");
}

#[test]
fn group_tag_assigned_user_and_output_file() {
    let root = fake_root("8NY7017");
    let out = root.path().join("out.csv");
    let out_arg = out.to_str().unwrap();
    let (stdout, _) = collect(
        root.path(),
        &[
            "--csv",
            out_arg,
            "--group-tag",
            "Sales",
            "--assigned-user",
            "ann@contoso.com",
        ],
    );
    assert_eq!(stdout, "");
    let text = fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User"
    );
    let cols: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        (cols[0], cols[3], cols[4]),
        ("8NY7017", "Sales", "ann@contoso.com")
    );

    // An assigned user without a tag still has the Group Tag column, as Get-WindowsAutopilotInfo writes it.
    let (stdout, _) = collect(root.path(), &["--assigned-user", "ann@contoso.com"]);
    assert!(stdout.starts_with(
        "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User\r\n"
    ));
    assert!(stdout
        .lines()
        .nth(1)
        .unwrap()
        .ends_with(",,ann@contoso.com"));
}

#[test]
fn placeholder_serial_leaves_the_column_empty() {
    let root = fake_root("To be filled by O.E.M.");
    let (stdout, _) = collect(root.path(), &[]);
    let row = stdout.split("\r\n").nth(1).unwrap();
    assert!(row.starts_with(",,"), "{row}");
    let hash = hwhash::decode(row.trim_start_matches(',')).unwrap();
    assert_eq!(hash.serial().as_deref(), Some("To be filled by O.E.M."));
}

#[test]
fn without_smbios_it_says_so_and_still_exits_zero() {
    let root = fake_root("8NY7017");
    fs::remove_file(root.path().join("sys/firmware/dmi/tables/DMI")).unwrap();
    let (stdout, stderr) = collect(root.path(), &[]);
    assert!(stderr.contains("no SMBIOS table could be read"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("warning: SmbiosSystemSerialNumber: not present")),
        "{stderr}"
    );
    assert!(stdout.split("\r\n").nth(1).unwrap().starts_with(",,T0"));
}

#[test]
fn a_comma_in_the_group_tag_is_refused() {
    let root = fake_root("8NY7017");
    Command::cargo_bin("hangar")
        .unwrap()
        .args(["hash", "collect", "--group-tag", "a,b", "--root"])
        .arg(root.path())
        .assert()
        .failure()
        .stderr(predicates::str::contains("comma"));
}
