//! Physical network adapters: `/sys/class/net/*` entries with a `device` link, and Bluetooth
//! controllers (`/sys/class/bluetooth/hci*`), which Windows lists as a PAN adapter.

use super::Ctx;
use crate::enums::PhysicalMedium;
use crate::model::NetworkAdapter;
use std::path::Path;

const ETHERNET: u32 = 14;
const WIFI: u32 = 9;
const WWAN: u32 = 8;
const BLUETOOTH: u32 = 10;

/// `aa:bb:cc:dd:ee:ff` (either case) to bytes.
pub(super) fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (slot, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 {
            return None;
        }
        *slot = u8::from_str_radix(part, 16).ok()?;
    }
    Some(mac)
}

fn utf16z(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn subsystem_of(device: &Path) -> Option<String> {
    let link = std::fs::canonicalize(device.join("subsystem")).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// The Windows enumerator for a Linux bus.
fn enumerator(device: &Path) -> String {
    let Some(subsystem) = subsystem_of(device) else {
        return String::new();
    };
    let subsystem = if subsystem == "virtio" {
        // virtio-net sits on a PCI function; Windows enumerates that.
        std::fs::canonicalize(device)
            .ok()
            .and_then(|d| subsystem_of(d.parent()?))
            .unwrap_or(subsystem)
    } else {
        subsystem
    };
    match subsystem.as_str() {
        "pci" => "PCI".to_string(),
        "usb" => "USB".to_string(),
        "bluetooth" => "BTH".to_string(),
        "vmbus" => "VMBUS".to_string(),
        other => other.to_ascii_uppercase(),
    }
}

fn devtype(dir: &Path) -> Option<String> {
    let uevent = std::fs::read_to_string(dir.join("uevent")).ok()?;
    uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVTYPE="))
        .map(|s| s.trim().to_string())
}

pub(super) fn collect(ctx: &mut Ctx) -> Vec<NetworkAdapter> {
    let class = ctx.path("sys/class/net");
    let mut names: Vec<String> = match std::fs::read_dir(&class) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => {
            ctx.missing_at("MacAddress", &class, &super::io_reason(&e));
            Vec::new()
        }
    };
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let dir = class.join(&name);
        let device = dir.join("device");
        if std::fs::symlink_metadata(&device).is_err() {
            continue; // virtual: lo, bridges, tunnels, veth, ...
        }
        let address = dir.join("address");
        let Some(mac) = std::fs::read_to_string(&address)
            .ok()
            .and_then(|a| parse_mac(&a))
        else {
            ctx.missing_at(
                "MacAddress",
                &address,
                "unreadable or not a MAC address; adapter left out",
            );
            continue;
        };
        let enumerator = enumerator(&device);
        let medium = match devtype(&dir).as_deref() {
            _ if dir.join("wireless").exists() || dir.join("phy80211").exists() => WIFI,
            Some("wlan") => WIFI,
            Some("wwan") => WWAN,
            Some("bluetooth") => BLUETOOTH,
            _ if enumerator == "BTH" => BLUETOOTH,
            _ => ETHERNET,
        };
        out.push(NetworkAdapter {
            medium: PhysicalMedium(medium),
            mac,
            enumerator_raw: utf16z(&enumerator),
            extra: Vec::new(),
        });
    }

    // Bluetooth controllers: the address is only exported in debugfs (root).
    let bt_class = ctx.path("sys/class/bluetooth");
    let mut controllers: Vec<String> = std::fs::read_dir(&bt_class)
        .map(|es| {
            es.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("hci") && !n.contains(':'))
                .collect()
        })
        .unwrap_or_default();
    controllers.sort();
    for hci in controllers {
        let identity = ctx
            .path("sys/kernel/debug/bluetooth")
            .join(&hci)
            .join("identity");
        match std::fs::read_to_string(&identity) {
            Ok(text) => match text.split_whitespace().next().and_then(parse_mac) {
                Some(mac) => out.push(NetworkAdapter {
                    medium: PhysicalMedium(BLUETOOTH),
                    mac,
                    enumerator_raw: utf16z("BTH"),
                    extra: Vec::new(),
                }),
                None => ctx.missing_at("MacAddress", &identity, "no Bluetooth address in it"),
            },
            Err(e) => {
                let reason = format!(
                    "Bluetooth controller {hci}: {} (debugfs must be mounted)",
                    super::io_reason(&e)
                );
                ctx.missing_at("MacAddress", &identity, &reason);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("8C:E3:8e:04:05:ad\n"),
            Some([0x8c, 0xe3, 0x8e, 0x04, 0x05, 0xad])
        );
        assert_eq!(parse_mac("8c:e3:8e:04:05"), None);
        assert_eq!(parse_mac("8c:e3:8e:04:05:zz"), None);
        assert_eq!(parse_mac("8c:e3:8e:04:05:a"), None);
        assert_eq!(utf16z("PCI"), vec![b'P', 0, b'C', 0, b'I', 0, 0, 0]);
    }
}
