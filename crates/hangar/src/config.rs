//! `--config FILE` (or `HANGAR_CONFIG`): a TOML file of settings. Its keys are the `HANGAR_*`
//! variables without the prefix, in lower case (`listen`, `data_dir`, `database_url`,
//! `sync_window`, ...). Flags win over the environment, which wins over the file, which wins over
//! the defaults. That order comes for free by exporting each file setting as its `HANGAR_*`
//! variable, unless the environment already has it, before the command line is parsed.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;

/// The config file named on the command line or in the environment, if any.
pub fn path_from(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("HANGAR_CONFIG").map(PathBuf::from)
}

/// Every `HANGAR_*` variable some command reads.
fn known_variables(command: &clap::Command) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for arg in command.get_arguments() {
        if let Some(env) = arg.get_env() {
            out.insert(env.to_string_lossy().into_owned());
        }
    }
    for sub in command.get_subcommands() {
        out.extend(known_variables(sub));
    }
    out.remove("HANGAR_CONFIG");
    out
}

/// Reads the file and exports its settings; the error names the file, the key and what to do.
pub fn apply(path: &std::path::Path, command: &clap::Command) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the config file: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: not valid TOML: {e}", path.display()))?;
    let known = known_variables(command);
    for (key, value) in table {
        let variable = format!("HANGAR_{}", key.to_ascii_uppercase().replace('-', "_"));
        if !known.contains(&variable) {
            let keys: Vec<String> = known
                .iter()
                .map(|v| v.trim_start_matches("HANGAR_").to_ascii_lowercase())
                .collect();
            return Err(format!(
                "{}: unknown setting '{key}'; the settings are: {}",
                path.display(),
                keys.join(", ")
            ));
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "{}: setting '{key}' is a {}; write a string, number or boolean",
                    path.display(),
                    other.type_str()
                ))
            }
        };
        if std::env::var_os(&variable).is_none() {
            // Still single-threaded: nothing else reads the environment yet.
            std::env::set_var(&variable, value);
        }
    }
    Ok(())
}
