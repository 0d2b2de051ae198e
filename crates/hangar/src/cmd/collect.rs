//! `hangar hash collect` (being built).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CollectArgs {}

pub fn run(_args: CollectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("collecting is not available in this build")
}
