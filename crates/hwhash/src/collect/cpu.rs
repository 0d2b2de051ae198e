//! Processor: vendor and model from `/proc/cpuinfo` (SMBIOS type 4 as fallback, and first on Arm),
//! counts from `/sys/devices/system/cpu/cpu*/topology`, hybrid core classes from the
//! `cpu_core`/`cpu_atom` PMU devices of Intel hybrid parts.

use super::dmi::{SmbiosString, Table};
use super::Ctx;
use crate::model::CoreClass;
use std::collections::{BTreeMap, BTreeSet};

pub(super) struct Cpu {
    pub manufacturer: Option<Vec<u8>>,
    pub model: Option<Vec<u8>>,
    pub packages: Option<u16>,
    pub cores: Option<u16>,
    pub threads: Option<u16>,
    pub core_classes: Option<Vec<CoreClass>>,
}

/// Arm's "CPU implementer" codes (MIDR bits 31:24).
fn implementer_name(code: &str) -> Option<&'static str> {
    let code = u32::from_str_radix(code.trim().trim_start_matches("0x"), 16).ok()?;
    Some(match code {
        0x41 => "ARM",
        0x42 => "Broadcom",
        0x43 => "Cavium",
        0x46 => "Fujitsu",
        0x48 => "HiSilicon",
        0x4e => "NVIDIA",
        0x50 => "Applied Micro",
        0x51 => "Qualcomm",
        0x53 => "Samsung",
        0x56 => "Marvell",
        0x61 => "Apple",
        0x69 => "Intel",
        0x6d => "Microsoft",
        0xc0 => "Ampere",
        _ => return None,
    })
}

/// `key: value` lines of /proc/cpuinfo, one map per blank-line separated block.
fn cpuinfo_blocks(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut blocks = vec![BTreeMap::new()];
    for line in text.lines() {
        if line.trim().is_empty() {
            if !blocks.last().is_some_and(BTreeMap::is_empty) {
                blocks.push(BTreeMap::new());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            if let Some(block) = blocks.last_mut() {
                block
                    .entry(k.trim().to_string())
                    .or_insert_with(|| v.trim().to_string());
            }
        }
    }
    blocks.retain(|b| !b.is_empty());
    blocks
}

fn first_value(blocks: &[BTreeMap<String, String>], key: &str) -> Option<String> {
    blocks
        .iter()
        .find_map(|b| b.get(key))
        .filter(|v| !v.is_empty())
        .cloned()
}

fn smbios_type4(table: Option<&Table<'_>>, offset: usize) -> Option<Vec<u8>> {
    let s = table?.first(4)?;
    match s.string(offset) {
        SmbiosString::Value(v) if !v.iter().all(u8::is_ascii_whitespace) => Some(v.to_vec()),
        _ => None,
    }
}

/// Parses a kernel CPU list such as `0-3,8,10-11`.
pub(super) fn parse_cpu_list(text: &str) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                    if b >= a && b - a < 65536 {
                        out.extend(a..=b);
                    }
                }
            }
            None => {
                if let Ok(n) = part.trim().parse() {
                    out.insert(n);
                }
            }
        }
    }
    out
}

fn count(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

pub(super) fn collect(ctx: &mut Ctx, table: Option<&Table<'_>>, is_arm: bool) -> Cpu {
    let cpuinfo_path = ctx.path("proc/cpuinfo");
    let blocks = match ctx.read_string(&cpuinfo_path) {
        Ok(text) => cpuinfo_blocks(&text),
        Err(reason) => {
            ctx.missing_at("ProcessorManufacturer", &cpuinfo_path, &reason);
            Vec::new()
        }
    };

    let (manufacturer, model) = if is_arm {
        let manufacturer = smbios_type4(table, 7).or_else(|| {
            first_value(&blocks, "CPU implementer")
                .and_then(|c| implementer_name(&c))
                .map(|s| s.as_bytes().to_vec())
        });
        let model = smbios_type4(table, 0x10)
            .or_else(|| first_value(&blocks, "model name").map(String::into_bytes))
            .or_else(|| first_value(&blocks, "Hardware").map(String::into_bytes));
        (manufacturer, model)
    } else {
        let manufacturer = first_value(&blocks, "vendor_id")
            .map(String::into_bytes)
            .or_else(|| smbios_type4(table, 7));
        let model = first_value(&blocks, "model name")
            .map(String::into_bytes)
            .or_else(|| smbios_type4(table, 0x10))
            // x86 Windows stores the 48-byte CPUID brand string, zero padded.
            .map(|mut m| {
                if m.len() < 48 {
                    m.resize(48, 0);
                }
                m
            });
        (manufacturer, model)
    };
    if manufacturer.is_none() {
        ctx.missing_at(
            "ProcessorManufacturer",
            &cpuinfo_path,
            "no vendor_id or CPU implementer line, no SMBIOS type 4",
        );
    }
    if model.is_none() {
        ctx.missing_at(
            "ProcessorModel",
            &cpuinfo_path,
            "no model name or Hardware line, no SMBIOS type 4",
        );
    }

    // Topology: logical cpu -> (package, die, core).
    let cpu_dir = ctx.path("sys/devices/system/cpu");
    let mut topology: BTreeMap<u32, (String, String, String)> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(&cpu_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(n) = name.strip_prefix("cpu").and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let topo = entry.path().join("topology");
            let read =
                |f: &str| std::fs::read_to_string(topo.join(f)).map(|s| s.trim().to_string());
            if let (Ok(package), Ok(core)) = (read("physical_package_id"), read("core_id")) {
                topology.insert(n, (package, read("die_id").unwrap_or_default(), core));
            }
        }
    }
    let (packages, cores, threads) = if !topology.is_empty() {
        let packages: BTreeSet<_> = topology.values().map(|t| &t.0).collect();
        let cores: BTreeSet<_> = topology.values().collect();
        (
            Some(count(packages.len())),
            Some(count(cores.len())),
            Some(count(topology.len())),
        )
    } else {
        // /proc/cpuinfo: "physical id" and "core id" on x86.
        let processors = blocks
            .iter()
            .filter(|b| b.contains_key("processor"))
            .count();
        let ids: Vec<(String, String)> = blocks
            .iter()
            .filter_map(|b| Some((b.get("physical id")?.clone(), b.get("core id")?.clone())))
            .collect();
        if processors > 0 && ids.len() == processors {
            let packages: BTreeSet<_> = ids.iter().map(|i| &i.0).collect();
            let cores: BTreeSet<_> = ids.iter().collect();
            (
                Some(count(packages.len())),
                Some(count(cores.len())),
                Some(count(processors)),
            )
        } else {
            let reason = "no readable topology/physical_package_id and core_id, and /proc/cpuinfo has no physical id/core id";
            ctx.missing_at("ProcessorPackages", &cpu_dir, reason);
            ctx.missing_at("ProcessorCores", &cpu_dir, reason);
            let threads = (processors > 0).then(|| count(processors));
            if threads.is_none() {
                ctx.missing_at(
                    "ProcessorThreads",
                    &cpu_dir,
                    "no cpu*/topology and no processor lines in /proc/cpuinfo",
                );
            }
            (None, None, threads)
        }
    };

    // Intel hybrid: performance cores (efficiency class 1) and efficient cores (class 0).
    let core_classes = (|| {
        let p =
            parse_cpu_list(&std::fs::read_to_string(ctx.path("sys/devices/cpu_core/cpus")).ok()?);
        let e =
            parse_cpu_list(&std::fs::read_to_string(ctx.path("sys/devices/cpu_atom/cpus")).ok()?);
        if p.is_empty() || e.is_empty() || topology.is_empty() {
            return None;
        }
        let class = |efficiency_class: u8, cpus: &BTreeSet<u32>| {
            let cores: BTreeSet<_> = cpus.iter().filter_map(|c| topology.get(c)).collect();
            CoreClass {
                efficiency_class,
                cores: count(cores.len()),
                logical_processors: count(cpus.len()),
            }
        };
        Some(vec![class(1, &p), class(0, &e)])
    })();

    Cpu {
        manufacturer,
        model,
        packages,
        cores,
        threads,
        core_classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11\n")
                .into_iter()
                .collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 8, 10, 11]
        );
        assert!(parse_cpu_list("").is_empty());
        assert!(parse_cpu_list("5-2,x").is_empty());
    }

    #[test]
    fn cpuinfo_blocks_split_on_blank_lines() {
        let b = cpuinfo_blocks(
            "processor\t: 0\nvendor_id\t: GenuineIntel\n\nprocessor\t: 1\n\n\nHardware : X\n",
        );
        assert_eq!(b.len(), 3);
        assert_eq!(
            first_value(&b, "vendor_id").as_deref(),
            Some("GenuineIntel")
        );
        assert_eq!(implementer_name("0x61"), Some("Apple"));
    }
}
