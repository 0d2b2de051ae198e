use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum HashCommand {}

pub fn run(command: HashCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
