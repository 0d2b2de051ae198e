//! Disks from `/sys/block/*`: size, rotational, discard (TRIM), bus, and the
//! `serial|product|vendor` text of records 7 and 28.

use super::Ctx;
use crate::enums::BusType;
use crate::model::Disk;
use std::path::Path;

/// Block devices that are not disks Windows would list.
const SKIPPED_PREFIXES: [&str; 9] = ["loop", "ram", "zram", "dm-", "md", "sr", "nbd", "fd", "zd"];

pub(super) struct CollectedDisk {
    pub name: String,
    pub disk: Disk,
    /// `serial|product|vendor`, as Windows writes it.
    pub serial_text: Vec<u8>,
}

fn is_skipped(name: &str) -> bool {
    if SKIPPED_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return true;
    }
    // nvme0c0n1: a hidden per-controller path of a multipath namespace.
    if let Some(rest) = name.strip_prefix("nvme") {
        let parts: Vec<&str> = rest.split(['c', 'n']).collect();
        return rest.contains('c')
            && parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    }
    false
}

/// Hex digits of an NVMe namespace identifier as sysfs prints it (`8c e3 8e 04 ...` for `eui`,
/// a UUID-style text for `nguid`, `eui.8ce3...` for `wwid`); `None` when absent or all zero.
fn nvme_id_hex(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text.strip_prefix("eui.").unwrap_or(text);
    if text.starts_with("nvme.") || text.starts_with("uuid.") || text.starts_with("t10.") {
        return None;
    }
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | ':'))
        .collect();
    if hex.is_empty()
        || !matches!(hex.len(), 16 | 32) // EUI-64 or NGUID
        || !hex.chars().all(|c| c.is_ascii_hexdigit())
        || hex.chars().all(|c| c == '0')
    {
        return None;
    }
    Some(hex.to_ascii_uppercase())
}

/// Windows' NVMe serial: the EUI-64 or NGUID as upper-case 4-digit groups joined by `_`, then `.`.
pub fn format_nvme_id(hex: &str) -> String {
    let groups: Vec<&str> = hex
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!("{}.", groups.join("_"))
}

/// The bytes of an ATA string from IDENTIFY DEVICE data (byte-swapped 16-bit words), trimmed.
fn ata_string(identify: &[u8], first_word: usize, words: usize) -> Option<String> {
    let raw = identify.get(first_word * 2..(first_word + words) * 2)?;
    let swapped: Vec<u8> = raw.chunks_exact(2).flat_map(|w| [w[1], w[0]]).collect();
    let s = String::from_utf8_lossy(&swapped)
        .trim()
        .trim_matches('\0')
        .trim()
        .to_string();
    (!s.is_empty()).then_some(s)
}

/// The unit serial number VPD page (0x80): 4-byte header, then the serial.
fn vpd_serial(page: &[u8]) -> Option<String> {
    let len = usize::from(u16::from_be_bytes([*page.get(2)?, *page.get(3)?]));
    let raw = page.get(4..4 + len).or_else(|| page.get(4..))?;
    let s = String::from_utf8_lossy(raw)
        .trim()
        .trim_matches('\0')
        .trim()
        .to_string();
    (!s.is_empty()).then_some(s)
}

fn has_component(path: &Path, test: impl Fn(&str) -> bool) -> bool {
    path.components()
        .any(|c| test(&c.as_os_str().to_string_lossy()))
}

fn starts_with_then_digit(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|r| r.bytes().next().is_some_and(|b| b.is_ascii_digit()))
}

fn read_trimmed(path: &Path) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// A SCSI INQUIRY field as sysfs shows it: padding kept (Windows keeps it too), newline dropped.
fn read_padded(path: &Path) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim_end_matches(['\n', '\r', '\0']).to_string();
    (!s.trim().is_empty()).then_some(s)
}

pub(super) fn collect(ctx: &mut Ctx) -> Vec<CollectedDisk> {
    let block = ctx.path("sys/block");
    let mut names: Vec<String> = match std::fs::read_dir(&block) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => {
            ctx.missing_at("DiskSerialNumber", &block, &super::io_reason(&e));
            return Vec::new();
        }
    };
    names.sort();
    let mut out = Vec::new();
    for name in names.into_iter().filter(|n| !is_skipped(n)) {
        let dir = block.join(&name);
        let size_path = dir.join("size");
        let sectors = match std::fs::read_to_string(&size_path).map(|s| s.trim().parse::<u64>()) {
            Ok(Ok(0)) => continue, // no medium (an empty card reader)
            Ok(Ok(n)) => Some(n),
            Ok(Err(_)) => {
                ctx.missing_at("DiskCapacity", &size_path, "not a number");
                None
            }
            Err(e) => {
                ctx.missing_at("DiskCapacity", &size_path, &super::io_reason(&e));
                None
            }
        };
        let capacity_gb = sectors.map_or(0, |s| {
            u64::try_from(u128::from(s) * 512 / 1_000_000_000).unwrap_or(u64::MAX)
        });
        let seek_penalty = match read_trimmed(&dir.join("queue/rotational")).as_deref() {
            Some("1") => 1,
            Some("0") => 0,
            _ => 0xFF,
        };
        let trim = read_trimmed(&dir.join("queue/discard_max_bytes"))
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|n| n > 0);
        let device = dir.join("device");
        let real = std::fs::canonicalize(&device)
            .or_else(|_| std::fs::canonicalize(&dir))
            .unwrap_or_else(|_| dir.clone());
        let is_nvme = name.starts_with("nvme");
        let is_ata = !is_nvme && has_component(&real, |c| starts_with_then_digit(c, "ata"));
        let bus = if is_nvme {
            match read_trimmed(&device.join("transport")).as_deref() {
                None | Some("pcie") => 17,
                Some(_) => 20,
            }
        } else if has_component(&real, |c| starts_with_then_digit(c, "usb")) {
            7
        } else if is_ata {
            11
        } else if name.starts_with("mmcblk") {
            match read_trimmed(&device.join("type")).as_deref() {
                Some("SD") => 12,
                _ => 13,
            }
        } else if name.starts_with("vd")
            || name.starts_with("xvd")
            || has_component(&real, |c| starts_with_then_digit(c, "virtio"))
        {
            14
        } else if has_component(&real, |c| c.starts_with("end_device-")) {
            10
        } else if name.starts_with("sd") {
            1
        } else {
            0
        };

        let (serial, model, vendor) = if is_nvme {
            let id = [
                "eui",
                "nguid",
                "device/eui",
                "device/nguid",
                "wwid",
                "device/wwid",
            ]
            .iter()
            .find_map(|f| {
                std::fs::read_to_string(dir.join(f))
                    .ok()
                    .and_then(|t| nvme_id_hex(&t))
            });
            let serial = id
                .map(|h| format_nvme_id(&h))
                .or_else(|| read_trimmed(&device.join("serial")));
            (
                serial,
                read_trimmed(&device.join("model")),
                read_trimmed(&device.join("vendor")).unwrap_or_default(),
            )
        } else if is_ata {
            // IDENTIFY DEVICE data (VPD page 0x89, from byte 60) has the full 40-character model;
            // sysfs `model` is cut to the 16 characters of the SCSI translation.
            let identify = std::fs::read(device.join("vpd_pg89"))
                .ok()
                .and_then(|p| p.get(60..572).map(<[u8]>::to_vec));
            let serial = read_trimmed(&device.join("serial"))
                .or_else(|| identify.as_deref().and_then(|id| ata_string(id, 10, 10)))
                .or_else(|| {
                    std::fs::read(device.join("vpd_pg80"))
                        .ok()
                        .and_then(|p| vpd_serial(&p))
                });
            let model = identify
                .as_deref()
                .and_then(|id| ata_string(id, 27, 20))
                .or_else(|| read_trimmed(&device.join("model")));
            // libata reports the vendor "ATA" for every disk; Windows writes none.
            let vendor = read_trimmed(&device.join("vendor"))
                .filter(|v| v != "ATA")
                .unwrap_or_default();
            (serial, model, vendor)
        } else if bus == 14 && name.starts_with("vd") {
            // virtio-blk: a serial on the block device; `device/vendor` is the virtio vendor id.
            (read_trimmed(&dir.join("serial")), None, String::new())
        } else {
            let serial = read_trimmed(&device.join("serial"))
                .or_else(|| read_trimmed(&dir.join("serial")))
                .or_else(|| {
                    std::fs::read(device.join("vpd_pg80"))
                        .ok()
                        .and_then(|p| vpd_serial(&p))
                });
            (
                serial,
                read_padded(&device.join("model")),
                read_padded(&device.join("vendor")).unwrap_or_default(),
            )
        };
        if serial.is_none() {
            ctx.missing_at(
                "DiskSerialNumber",
                &dir,
                "no eui/nguid, serial or vpd_pg80 for this disk",
            );
        }
        let serial_text = format!(
            "{}|{}|{}",
            serial.unwrap_or_default(),
            model.unwrap_or_default(),
            vendor
        )
        .into_bytes();
        out.push(CollectedDisk {
            name,
            disk: Disk {
                capacity_gb,
                bus_type: BusType(bus),
                seek_penalty,
                trim: u8::from(trim),
                extra: Vec::new(),
            },
            serial_text,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvme_ids_are_formatted_like_windows() {
        assert_eq!(
            nvme_id_hex("8c e3 8e 04 05 ad c7 6d\n")
                .map(|h| format_nvme_id(&h))
                .as_deref(),
            Some("8CE3_8E04_05AD_C76D.")
        );
        assert_eq!(
            nvme_id_hex("6d335ea6-5b24-2dfe-5b8c-a1adbde688b2")
                .map(|h| format_nvme_id(&h))
                .as_deref(),
            Some("6D33_5EA6_5B24_2DFE_5B8C_A1AD_BDE6_88B2.")
        );
        assert_eq!(
            nvme_id_hex("eui.8ce38e0405adc76d").as_deref(),
            Some("8CE38E0405ADC76D")
        );
        assert_eq!(nvme_id_hex("00 00 00 00 00 00 00 00"), None);
        assert_eq!(nvme_id_hex("nvme.144d-5333-53414d53554e47-00000001"), None);
    }

    #[test]
    fn skipped_devices() {
        for n in [
            "loop0",
            "ram1",
            "zram0",
            "dm-0",
            "md127",
            "sr0",
            "nvme0c0n1",
        ] {
            assert!(is_skipped(n), "{n}");
        }
        for n in ["sda", "nvme0n1", "vda", "mmcblk0"] {
            assert!(!is_skipped(n), "{n}");
        }
    }

    #[test]
    fn ata_identify_strings_are_byte_swapped() {
        let mut id = vec![0u8; 512];
        let model = b"QEMU HARDDISK                           ";
        for (i, w) in model.chunks(2).enumerate() {
            id[54 + i * 2] = w[1];
            id[54 + i * 2 + 1] = w[0];
        }
        assert_eq!(ata_string(&id, 27, 20).as_deref(), Some("QEMU HARDDISK"));
        assert_eq!(
            vpd_serial(&[0, 0x80, 0, 4, b'A', b'B', b' ', b' ']).as_deref(),
            Some("AB")
        );
    }
}
