//! The internal panel (records 9 and 27) from the EDID the kernel exports for each DRM connector.

use super::Ctx;
use crate::enums::OutputTechnology;
use crate::model::{Display, DisplaySize};

/// What an EDID says about a panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edid {
    pub width_cm: u16,
    pub height_cm: u16,
    pub width_mm: u16,
    pub height_mm: u16,
    pub horizontal_resolution: u16,
    pub vertical_resolution: u16,
}

const EDID_HEADER: [u8; 8] = [0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00];

/// Parses the base EDID block: screen size in cm (bytes 21–22) and the first detailed timing
/// descriptor (native resolution and image size in mm).
pub fn parse_edid(edid: &[u8]) -> Option<Edid> {
    let b = edid.get(..128)?;
    if b[..8] != EDID_HEADER {
        return None;
    }
    let dtd = &b[54..72];
    if dtd[0] == 0 && dtd[1] == 0 {
        return None; // not a timing descriptor
    }
    let hi = |low: u8, high_nibble: u8| u16::from(low) | (u16::from(high_nibble) << 8);
    Some(Edid {
        width_cm: u16::from(b[21]),
        height_cm: u16::from(b[22]),
        horizontal_resolution: hi(dtd[2], dtd[4] >> 4),
        vertical_resolution: hi(dtd[5], dtd[7] >> 4),
        width_mm: hi(dtd[12], dtd[14] >> 4),
        height_mm: hi(dtd[13], dtd[14] & 0x0F),
    })
}

/// Connector names of built-in panels.
fn is_internal(connector: &str) -> bool {
    ["-eDP-", "-LVDS-", "-DSI-"]
        .iter()
        .any(|k| connector.contains(k))
}

pub(super) fn collect(ctx: &mut Ctx) -> Option<(Display, DisplaySize)> {
    let drm = ctx.path("sys/class/drm");
    let mut names: Vec<String> = std::fs::read_dir(&drm)
        .map(|es| {
            es.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names.iter().filter(|n| is_internal(n)) {
        let Ok(bytes) = std::fs::read(drm.join(name).join("edid")) else {
            continue;
        };
        if let Some(edid) = parse_edid(&bytes) {
            return Some((
                Display {
                    width_mm: edid.width_mm,
                    height_mm: edid.height_mm,
                    horizontal_resolution: edid.horizontal_resolution,
                    vertical_resolution: edid.vertical_resolution,
                    output_technology: OutputTechnology(0x8000_0000),
                    extra: Vec::new(),
                },
                DisplaySize {
                    width_cm: edid.width_cm,
                    height_cm: edid.height_cm,
                    extra: Vec::new(),
                },
            ));
        }
    }
    let reason = "no internal panel (eDP, LVDS or DSI connector) with a readable EDID; records 9 and 27 left out";
    ctx.missing_at("InternalDisplay", &drm, reason);
    None
}
