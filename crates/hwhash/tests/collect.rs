//! Collecting a hash from a fake Linux tree: every field read from where it should be, nothing
//! made up when a source is missing, and no panic on a damaged SMBIOS table.
#![cfg(target_os = "linux")]

use hwhash::collect::{collect_with, dmi, Collected, Options};
use hwhash::*;
use proptest::prelude::*;
use std::fs;
use std::path::Path;
use time::macros::{datetime, offset};

/// Assembles SMBIOS structures: formatted area (header added here) and strings.
#[derive(Default)]
struct Smbios {
    bytes: Vec<u8>,
    handle: u16,
}

impl Smbios {
    fn add(&mut self, kind: u8, fields: &[u8], strings: &[&str]) -> &mut Self {
        self.bytes.push(kind);
        self.bytes.push(u8::try_from(4 + fields.len()).unwrap());
        self.bytes.extend_from_slice(&self.handle.to_le_bytes());
        self.handle += 1;
        self.bytes.extend_from_slice(fields);
        if strings.is_empty() {
            self.bytes.extend_from_slice(&[0, 0]);
        } else {
            for s in strings {
                self.bytes.extend_from_slice(s.as_bytes());
                self.bytes.push(0);
            }
            self.bytes.push(0);
        }
        self
    }
}

/// The SMBIOS UUID of a Dell: text form `4c4c4544-0034-3610-804c-b2c04f4a5933`, stored (SMBIOS
/// 2.6+) with the first three fields little-endian.
const DELL_UUID_STORED: [u8; 16] = [
    0x44, 0x45, 0x4c, 0x4c, 0x34, 0x00, 0x10, 0x36, 0x80, 0x4c, 0xb2, 0xc0, 0x4f, 0x4a, 0x59, 0x33,
];

fn dmi_table() -> Vec<u8> {
    let mut t = Smbios::default();
    // Type 0: vendor (1), version (2), segment, release date (3), ROM size.
    t.add(
        0,
        &[1, 2, 0x00, 0xF0, 3, 0xFF],
        &["Dell Inc.", "1.2.3", "01/02/2025"],
    );
    // Type 1: manufacturer 1, product 2, version 0 (none), serial 3, UUID, wake-up, SKU 4, family 5.
    let mut sys = vec![1, 2, 0, 3];
    sys.extend_from_slice(&DELL_UUID_STORED);
    sys.extend_from_slice(&[6, 4, 5]);
    t.add(
        1,
        &sys,
        &["Dell Inc.", "Latitude 7440", "8NY7017", "0C0F", "Latitude"],
    );
    // Type 2: manufacturer, product, version, serial.
    t.add(
        2,
        &[1, 2, 3, 4],
        &["Dell Inc.", "0XYZ12", "A00", "/8NY7017/CNWS2000012345/"],
    );
    // Type 3: manufacturer, type 10 (Notebook) with the lock bit set.
    t.add(3, &[1, 0x8A, 0, 0, 0], &["Dell Inc."]);
    // Type 4 (processor): socket, type, family, manufacturer at 7, id, version at 0x10.
    let mut cpu = vec![1, 3, 0xC6, 2];
    cpu.extend_from_slice(&[0; 8]);
    cpu.push(3);
    t.add(
        4,
        &cpu,
        &[
            "CPU 1",
            "Intel(R) Corporation",
            "13th Gen Intel(R) Core(TM) i7-1365U",
        ],
    );
    // Type 16: location 3 (system board), use 3 (system memory), ECC 3 (none), 64 GB, no error
    // handle, 2 devices.
    let mut array = vec![3, 3, 3];
    array.extend_from_slice(&(64u32 * 1024 * 1024).to_le_bytes());
    array.extend_from_slice(&0xFFFEu16.to_le_bytes());
    array.extend_from_slice(&2u16.to_le_bytes());
    t.add(16, &array, &[]);
    // Type 17: array handle, error handle, widths, size at 0x0C (8192 MB), then extended size at 0x1C.
    let device = |size: u16, extended: u32| {
        let mut d = Vec::new();
        d.extend_from_slice(&5u16.to_le_bytes());
        d.extend_from_slice(&0xFFFEu16.to_le_bytes());
        d.extend_from_slice(&64u16.to_le_bytes());
        d.extend_from_slice(&64u16.to_le_bytes());
        d.extend_from_slice(&size.to_le_bytes());
        d.resize(0x1C - 4, 0);
        d.extend_from_slice(&extended.to_le_bytes());
        d
    };
    t.add(17, &device(8192, 0), &[]);
    t.add(17, &device(0x7FFF, 8192), &[]);
    t.add(17, &device(0, 0), &[]); // empty slot
    t.add(127, &[], &[]);
    t.bytes
}

fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn symlink(root: &Path, target: &str, link: &str) {
    let link = root.join(link);
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    fs::create_dir_all(root.join(target)).unwrap();
    std::os::unix::fs::symlink(root.join(target), link).unwrap();
}

fn edid() -> Vec<u8> {
    let mut e = vec![0u8; 128];
    e[..8].copy_from_slice(&[0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0]);
    e[21] = 31;
    e[22] = 17;
    let d = &mut e[54..72];
    d[0] = 0x1A; // pixel clock, non-zero
    d[1] = 0x36;
    d[2] = 0x80; // 1920 = 0x780
    d[4] = 0x70;
    d[5] = 0x38; // 1080 = 0x438
    d[7] = 0x40;
    d[12] = 0x35; // 309 mm = 0x135
    d[13] = 0xAE; // 174 mm = 0x0AE
    d[14] = 0x10;
    e
}

/// A laptop: Dell SMBIOS, 4 threads on 2 cores, an NVMe and a SATA disk, Ethernet and Wi-Fi.
fn fake_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "sys/firmware/dmi/tables/DMI", dmi_table());
    let mut facp = b"FACP".to_vec();
    facp.resize(116, 0);
    facp[45] = 2;
    write(r, "sys/firmware/acpi/tables/FACP", facp);

    let mut cpuinfo = String::new();
    for n in 0..4 {
        cpuinfo += &format!(
            "processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: 13th Gen Intel(R) Core(TM) i7-1365U\nphysical id\t: 0\ncore id\t\t: {}\n\n",
            n % 2
        );
    }
    write(r, "proc/cpuinfo", cpuinfo);
    write(
        r,
        "proc/meminfo",
        "MemTotal:       15728640 kB\nMemFree:         1000 kB\n",
    );
    for n in 0..4 {
        write(
            r,
            &format!("sys/devices/system/cpu/cpu{n}/topology/physical_package_id"),
            "0\n",
        );
        write(
            r,
            &format!("sys/devices/system/cpu/cpu{n}/topology/core_id"),
            format!("{}\n", n % 2),
        );
    }
    write(r, "sys/devices/system/cpu/online", "0-3\n");

    // NVMe: namespace dir with a link to the controller.
    let nvme = "sys/devices/pci0000:00/0000:00:06.0/0000:01:00.0/nvme/nvme0";
    symlink(r, nvme, "sys/block/nvme0n1/device");
    write(r, "sys/block/nvme0n1/size", "1000215216\n");
    write(r, "sys/block/nvme0n1/queue/rotational", "0\n");
    write(
        r,
        "sys/block/nvme0n1/queue/discard_max_bytes",
        "2199023255040\n",
    );
    write(r, &format!("{nvme}/eui"), "8c e3 8e 04 05 ad c7 6d\n");
    write(r, &format!("{nvme}/serial"), "X2NF71234567      \n");
    write(
        r,
        &format!("{nvme}/model"),
        "KXG70ZNV512G NVMe KIOXIA 512GB\n",
    );

    // SATA behind libata.
    let ata = "sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0";
    symlink(r, ata, "sys/block/sda/device");
    write(r, "sys/block/sda/size", "1953525168\n");
    write(r, "sys/block/sda/queue/rotational", "1\n");
    write(r, "sys/block/sda/queue/discard_max_bytes", "0\n");
    write(r, &format!("{ata}/serial"), "WD-WCC6Y1234567\n");
    write(r, &format!("{ata}/model"), "WDC WD10EZEX-08W\n");
    write(r, &format!("{ata}/vendor"), "ATA     \n");

    // Not disks.
    write(r, "sys/block/loop0/size", "204800\n");
    write(r, "sys/block/sr0/size", "2097152\n");

    // Network: Ethernet and Wi-Fi on PCI, loopback without a device.
    fs::create_dir_all(r.join("sys/bus/pci")).unwrap();
    let eth = "sys/devices/pci0000:00/0000:00:1f.6";
    let wifi = "sys/devices/pci0000:00/0000:00:14.3";
    for (name, dev, mac) in [
        ("eth0", eth, "8c:04:ba:12:34:56"),
        ("wlan0", wifi, "f0:9e:4a:ab:cd:ef"),
    ] {
        symlink(r, dev, &format!("sys/class/net/{name}/device"));
        symlink(r, "sys/bus/pci", &format!("{dev}/subsystem"));
        write(
            r,
            &format!("sys/class/net/{name}/address"),
            format!("{mac}\n"),
        );
    }
    fs::create_dir_all(r.join("sys/class/net/wlan0/wireless")).unwrap();
    write(r, "sys/class/net/lo/address", "00:00:00:00:00:00\n");

    write(r, "sys/class/drm/card0-eDP-1/edid", edid());
    write(r, "sys/class/drm/card0-HDMI-A-1/edid", b"");
    dir
}

fn options() -> Options {
    Options {
        arch: "x86_64".to_string(),
        now: Some(datetime!(2026-02-03 10:00:00 UTC)),
        local_offset: Some(offset!(+1)),
        offline_id: Some([7; 32]),
    }
}

fn run(root: &Path) -> Collected {
    let c = collect_with(root, &options());
    let text = c.hash.to_base64().expect("collected hash encodes");
    assert_eq!(
        decode(&text).expect("collected hash decodes"),
        c.hash,
        "round trip"
    );
    c
}

fn missing_fields(c: &Collected) -> Vec<&'static str> {
    c.missing.iter().map(|m| m.field).collect()
}

#[test]
fn reads_every_field_from_the_fake_tree() {
    let root = fake_root();
    let c = run(root.path());
    let h = &c.hash;

    assert_eq!(h.serial().as_deref(), Some("8NY7017"));
    assert_eq!(h.manufacturer().as_deref(), Some("Dell Inc."));
    assert_eq!(h.product_name().as_deref(), Some("Latitude 7440"));
    assert_eq!(
        h.text(TextField::SmbiosSystemFamily).as_deref(),
        Some("Latitude")
    );
    assert_eq!(h.text(TextField::SmbiosSkuNumber).as_deref(), Some("0C0F"));
    assert_eq!(
        h.text(TextField::SmbiosSystemVersion).as_deref(),
        Some(SMBIOS_MISSING)
    );
    assert_eq!(
        h.text(TextField::SmbiosFirmwareVendor).as_deref(),
        Some("Dell Inc.")
    );
    assert_eq!(
        h.text(TextField::SmbiosBoardProduct).as_deref(),
        Some("0XYZ12")
    );
    assert_eq!(
        h.text(TextField::SmbiosBoardVersion).as_deref(),
        Some("A00")
    );
    let uuid = h.smbios_uuid().unwrap();
    assert_eq!(uuid.bytes, DELL_UUID_STORED);
    assert_eq!(
        uuid.to_guid_string(),
        "4c4c4544-0034-3610-804c-b2c04f4a5933"
    );

    let os = h.os().unwrap();
    assert_eq!(os.collected_at(), datetime!(2026-02-03 10:00:00 UTC));
    assert_eq!(os.local_bias, 4);
    assert_eq!(
        (os.os_type, os.os_architecture, os.tool_version),
        (OsType(2), 9, 9)
    );

    let p = h.processor().unwrap();
    assert_eq!(
        (
            p.architecture,
            p.packages,
            p.cores,
            p.threads,
            p.hyper_threading
        ),
        (CpuArchitecture(9), 1, 2, 4, 1)
    );
    assert_eq!(
        h.text(TextField::ProcessorManufacturer).as_deref(),
        Some("GenuineIntel")
    );
    assert_eq!(
        h.text(TextField::ProcessorModel).as_deref(),
        Some("13th Gen Intel(R) Core(TM) i7-1365U")
    );
    let model_record = h.records.iter().find(|r| r.kind() == 4).unwrap();
    assert!(
        matches!(model_record, Record::Text(t) if t.raw.len() == 48),
        "x86 brand string is 48 bytes"
    );

    let m = h.memory().unwrap();
    assert_eq!(
        (
            m.total_gb,
            m.max_capacity_gb,
            m.slots,
            m.arrays,
            m.error_correction
        ),
        (16, 64, 2, 1, ErrorCorrection(3))
    );

    let disks: Vec<&Disk> = h.disks().collect();
    assert_eq!(disks.len(), 2, "loop0 and sr0 are skipped");
    assert_eq!(
        (
            disks[0].capacity_gb,
            disks[0].bus_type,
            disks[0].seek_penalty,
            disks[0].trim
        ),
        (512, BusType(17), 0, 1)
    );
    assert_eq!(
        (
            disks[1].capacity_gb,
            disks[1].bus_type,
            disks[1].seek_penalty,
            disks[1].trim
        ),
        (1000, BusType(11), 1, 0)
    );
    let serials: Vec<String> = h
        .texts(TextField::DiskSerialNumber)
        .map(|s| s.into_owned())
        .collect();
    assert_eq!(
        serials,
        [
            "8CE3_8E04_05AD_C76D.|KXG70ZNV512G NVMe KIOXIA 512GB|",
            "WD-WCC6Y1234567|WDC WD10EZEX-08W|"
        ]
    );
    let kernel: Vec<String> = h
        .texts(TextField::DiskSerialNumberKernel)
        .map(|s| s.into_owned())
        .collect();
    assert_eq!(
        kernel, serials,
        "record 28 repeats record 7, NUL-terminated"
    );

    let nics: Vec<&NetworkAdapter> = h.network_adapters().collect();
    assert_eq!(nics.len(), 2, "lo has no device link");
    assert_eq!(
        (
            nics[0].mac_string().as_str(),
            nics[0].medium,
            nics[0].enumerator().as_str()
        ),
        ("8c:04:ba:12:34:56", PhysicalMedium(14), "PCI")
    );
    assert_eq!(
        (
            nics[1].mac_string().as_str(),
            nics[1].medium,
            nics[1].enumerator().as_str()
        ),
        ("f0:9e:4a:ab:cd:ef", PhysicalMedium(9), "PCI")
    );
    assert_eq!(nics[0].enumerator_raw, b"P\0C\0I\0\0\0");

    let d = h.display().unwrap();
    assert_eq!(
        (
            d.width_mm,
            d.height_mm,
            d.horizontal_resolution,
            d.vertical_resolution
        ),
        (309, 174, 1920, 1080)
    );
    assert_eq!(d.output_technology, OutputTechnology(0x8000_0000));
    let size = h.display_size().unwrap();
    assert_eq!((size.width_cm, size.height_cm), (31, 17));

    let ch = h.chassis().unwrap();
    assert_eq!(
        (ch.chassis_type, ch.power_platform_role),
        (ChassisType(10), PowerPlatformRole(2))
    );

    // No TPM: no 13, no 25; the offline id is the random seed.
    assert!(h.text(TextField::TpmVersion).is_none());
    assert!(h.tpm_ek_pub().is_none());
    let id = h.offline_device_id().unwrap();
    assert_eq!(
        (id.method, id.flag, id.id.as_slice()),
        (OfflineIdMethod(3), 1, &[7u8; 32][..])
    );

    let kinds: Vec<u16> = h.records.iter().map(Record::kind).collect();
    assert_eq!(
        kinds,
        [
            1, 2, 5, 3, 4, 6, 7, 6, 7, 8, 8, 9, 27, 10, 11, 12, 14, 15, 16, 17, 18, 19, 23, 20, 21,
            22, 28, 28
        ]
    );

    let missing = missing_fields(&c);
    for field in [
        "TpmEkPub",
        "ProductKeyID",
        "ProductKeyPkPn",
        "GpuMemory",
        "GpuName",
        "Digitizer",
    ] {
        assert!(
            missing.contains(&field),
            "{field} reported missing: {missing:?}"
        );
    }
    for field in [
        "SmbiosSystemSerialNumber",
        "SmbiosUuid",
        "DiskSerialNumber",
        "MacAddress",
        "InternalDisplay",
        "PowerPlatformRole",
    ] {
        assert!(
            !missing.contains(&field),
            "{field} was read: {:?}",
            c.missing
        );
    }
    assert!(!c.needs_root());
}

#[test]
fn a_tpm_without_a_readable_ek_gives_record_13_only() {
    let root = fake_root();
    write(root.path(), "sys/class/tpm/tpm0/tpm_version_major", "2\n");
    write(root.path(), "dev/tpmrm0", "");
    let c = run(root.path());
    assert_eq!(
        c.hash.text(TextField::TpmVersion).as_deref(),
        Some("TPM-Version:2.0")
    );
    assert!(c.hash.tpm_ek_pub().is_none());
    assert!(c
        .missing
        .iter()
        .any(|m| m.field == "TpmEkPub" && m.reason.contains("not supported")));
    let kinds: Vec<u16> = c.hash.records.iter().map(Record::kind).collect();
    let pos = |k| kinds.iter().position(|&x| x == k).unwrap();
    assert!(pos(10) < pos(13) && pos(13) < pos(11));
}

#[test]
fn without_the_smbios_table_nothing_is_invented() {
    let root = fake_root();
    fs::remove_file(root.path().join("sys/firmware/dmi/tables/DMI")).unwrap();
    let c = run(root.path());
    let h = &c.hash;
    assert!(h.serial().is_none());
    assert!(h.manufacturer().is_none());
    assert!(h.smbios_uuid().is_none());
    for kind in [12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23] {
        assert!(
            h.records.iter().all(|r| r.kind() != kind),
            "record {kind} left out"
        );
    }
    assert!(c.smbios_unavailable());
    let serial = c
        .missing
        .iter()
        .find(|m| m.field == "SmbiosSystemSerialNumber")
        .unwrap();
    assert!(
        serial.source.ends_with("sys/firmware/dmi/tables/DMI"),
        "{}",
        serial.source
    );
    assert_eq!(serial.reason, "not present");
    for field in [
        "SmbiosUuid",
        "SmbiosSystemManufacturer",
        "ChassisType",
        "SmbiosRamMaximumCapacity",
    ] {
        assert!(missing_fields(&c).contains(&field), "{field}");
    }
    // RAM falls back to /proc/meminfo, rounded up: 15 GiB -> 15.
    assert_eq!(h.memory().unwrap().total_gb, 15);
    // Chassis type unknown; the power role still comes from the FADT.
    let ch = h.chassis().unwrap();
    assert_eq!(
        (ch.chassis_type, ch.power_platform_role),
        (ChassisType(2), PowerPlatformRole(2))
    );
}

#[test]
fn an_unreadable_table_asks_for_root() {
    use std::os::unix::fs::PermissionsExt;
    let root = fake_root();
    let path = root.path().join("sys/firmware/dmi/tables/DMI");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&path).is_ok() {
        return; // running as root: permissions do not apply
    }
    let c = run(root.path());
    assert!(c.needs_root());
    let serial = c
        .missing
        .iter()
        .find(|m| m.field == "SmbiosSystemSerialNumber")
        .unwrap();
    assert!(
        serial
            .reason
            .contains("run as root (sudo hangar hash collect)"),
        "{}",
        serial.reason
    );
}

#[test]
fn every_truncation_of_the_table_is_survived() {
    let root = fake_root();
    let full = dmi_table();
    let path = root.path().join("sys/firmware/dmi/tables/DMI");
    for len in 0..full.len() {
        fs::write(&path, &full[..len]).unwrap();
        let c = run(root.path());
        // Cut short of the end-of-table structure: either reported as damage or a clean cut
        // between structures.
        let t = dmi::parse(&full[..len]);
        assert_eq!(
            t.error.is_some(),
            c.missing.iter().any(|m| m.field == "SMBIOS"),
            "len {len}"
        );
    }
}

#[test]
fn string_index_zero_is_written_as_windows_does() {
    let root = fake_root();
    let mut t = Smbios::default();
    let mut sys = vec![1, 0, 0, 0];
    sys.extend_from_slice(&[0xFF; 16]);
    t.add(1, &sys, &["Acme"]);
    t.add(127, &[], &[]);
    write(root.path(), "sys/firmware/dmi/tables/DMI", &t.bytes);
    let c = run(root.path());
    assert_eq!(c.hash.manufacturer().as_deref(), Some("Acme"));
    assert_eq!(c.hash.serial().as_deref(), Some(SMBIOS_MISSING));
    assert_eq!(c.hash.product_name().as_deref(), Some(SMBIOS_MISSING));
    // Type 1 shorter than SMBIOS 2.4: no SKU or family field.
    assert_eq!(
        c.hash.text(TextField::SmbiosSkuNumber).as_deref(),
        Some(SMBIOS_MISSING)
    );
    assert!(c.hash.smbios_uuid().unwrap().is_placeholder());
    // No type 0/2: those records are reported, not invented.
    assert!(c.hash.text(TextField::SmbiosBoardManufacturer).is_none());
    assert!(missing_fields(&c).contains(&"SmbiosBoardManufacturer"));
}

#[test]
fn arm_and_unknown_architectures() {
    let root = fake_root();
    write(
        root.path(),
        "proc/cpuinfo",
        "processor\t: 0\nCPU implementer\t: 0x61\n\nprocessor\t: 1\nCPU implementer\t: 0x61\n",
    );
    let mut o = options();
    o.arch = "aarch64".to_string();
    let c = collect_with(root.path(), &o);
    assert_eq!(
        c.hash.processor().unwrap().architecture,
        CpuArchitecture(12)
    );
    assert_eq!(c.hash.os().unwrap().os_architecture, 12);
    // On Arm, SMBIOS type 4 comes first (Windows reads the processor name from it there).
    assert_eq!(
        c.hash.text(TextField::ProcessorManufacturer).as_deref(),
        Some("Intel(R) Corporation")
    );
    o.arch = "riscv64".to_string();
    let c = collect_with(root.path(), &o);
    assert_eq!(
        c.hash.processor().unwrap().architecture,
        CpuArchitecture(0xFFFF)
    );
    assert!(missing_fields(&c).contains(&"ProcessorArchitecture"));
}

#[test]
fn an_empty_root_still_gives_a_sound_hash() {
    let root = tempfile::tempdir().unwrap();
    let c = run(root.path());
    assert!(c.hash.serial().is_none());
    assert!(c.missing.len() > 10);
}

#[test]
fn too_many_disks_are_dropped_and_reported() {
    let root = fake_root();
    for n in 0..60 {
        let dev = format!(
            "sys/devices/pci0000:00/0000:00:17.0/ata{}/host0/target0:0:0/0:0:0:0",
            n + 2
        );
        symlink(root.path(), &dev, &format!("sys/block/sd{n:03}/device"));
        write(
            root.path(),
            &format!("sys/block/sd{n:03}/size"),
            "1953525168\n",
        );
        write(
            root.path(),
            &format!("{dev}/serial"),
            format!("WD-SERIAL-NUMBER-{n:04}\n"),
        );
        write(
            root.path(),
            &format!("{dev}/model"),
            "WDC WD10EZEX-08WN4A0\n",
        );
    }
    let c = run(root.path());
    let disks = c.hash.disks().count();
    assert!(disks > 2 && disks < 62, "{disks}");
    assert_eq!(c.hash.texts(TextField::DiskSerialNumber).count(), disks);
    assert_eq!(
        c.hash.texts(TextField::DiskSerialNumberKernel).count(),
        disks
    );
    let dropped = c
        .missing
        .iter()
        .filter(|m| m.reason.contains("do not fit"))
        .count();
    assert_eq!(dropped, 62 - disks);
}

proptest! {
    #[test]
    fn the_dmi_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let t = dmi::parse(&data);
        for s in &t.structures {
            prop_assert!(s.offset + s.formatted.len() <= data.len());
            for off in 0..300 {
                let _ = (s.string(off), s.byte(off), s.word(off), s.dword(off), s.qword(off), s.bytes(off, 16));
            }
        }
    }

    #[test]
    fn garbage_tables_still_give_a_sound_hash(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "sys/firmware/dmi/tables/DMI", &data);
        run(root.path());
    }

    #[test]
    fn garbage_after_valid_structures_keeps_them(tail in proptest::collection::vec(any::<u8>(), 0..100)) {
        let mut table = dmi_table();
        table.truncate(table.len() - 6); // drop type 127
        table.extend_from_slice(&tail);
        let t = dmi::parse(&table);
        prop_assert!(t.first(1).is_some());
        prop_assert!(t.structures.len() >= 9);
    }
}

#[test]
fn hybrid_cores_bluetooth_usb_disks_and_the_zone_file() {
    let root = fake_root();
    let r = root.path();
    // cpu0-1: one performance core with two threads; cpu2-3: two efficient cores.
    write(r, "sys/devices/cpu_core/cpus", "0-1\n");
    write(r, "sys/devices/cpu_atom/cpus", "2-3\n");
    for (n, core) in [(0, 0), (1, 0), (2, 8), (3, 9)] {
        write(
            r,
            &format!("sys/devices/system/cpu/cpu{n}/topology/core_id"),
            format!("{core}\n"),
        );
    }
    fs::create_dir_all(r.join("sys/class/bluetooth/hci0")).unwrap();
    write(
        r,
        "sys/kernel/debug/bluetooth/hci0/identity",
        "F2:8C:23:CC:FE:1B (type 0) 00000000000000000000000000000000 00:00:00:00:00:00\n",
    );
    let usb = "sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0";
    symlink(r, usb, "sys/block/sdb/device");
    write(r, "sys/block/sdb/size", "62521344\n");
    write(r, &format!("{usb}/model"), "Flash Disk      \n");
    write(r, &format!("{usb}/vendor"), "SanDisk \n");
    write(
        r,
        &format!("{usb}/vpd_pg80"),
        b"\x00\x80\x00\x0c4C530001230\x00",
    );
    // A zone file without transitions whose rule says UTC+5:30.
    let mut tzif = b"TZif2".to_vec();
    tzif.extend_from_slice(&[0; 15]);
    tzif.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4,
    ]);
    let v1 = tzif.clone();
    tzif.extend_from_slice(&[0, 0, 0x4d, 0x58, 0, 0]);
    tzif.extend_from_slice(b"IST\0");
    tzif.extend_from_slice(&v1);
    tzif.extend_from_slice(&[0, 0, 0x4d, 0x58, 0, 0]);
    tzif.extend_from_slice(b"IST\0");
    tzif.extend_from_slice(b"\nIST-5:30\n");
    write(r, "etc/localtime", tzif);

    let mut o = options();
    o.local_offset = None;
    let c = collect_with(r, &o);
    decode(c.hash.to_base64().unwrap()).unwrap();
    assert_eq!(c.hash.os().unwrap().local_bias, 22);
    let classes = &c.hash.core_classes().unwrap().classes;
    assert_eq!(
        classes
            .iter()
            .map(|k| (k.efficiency_class, k.cores, k.logical_processors))
            .collect::<Vec<_>>(),
        [(1, 1, 2), (0, 2, 2)]
    );
    assert_eq!(c.hash.records[2].kind(), 34, "record 34 follows record 2");
    let bt = c.hash.network_adapters().last().unwrap();
    assert_eq!(
        (
            bt.medium,
            bt.mac_string().as_str(),
            bt.enumerator().as_str()
        ),
        (PhysicalMedium(10), "f2:8c:23:cc:fe:1b", "BTH")
    );
    let disks: Vec<&Disk> = c.hash.disks().collect();
    assert_eq!((disks[2].bus_type, disks[2].capacity_gb), (BusType(7), 32));
    let serials: Vec<String> = c
        .hash
        .texts(TextField::DiskSerialNumber)
        .map(|s| s.into_owned())
        .collect();
    assert_eq!(
        serials[2], "4C530001230|Flash Disk      |SanDisk ",
        "SCSI padding kept"
    );
}
