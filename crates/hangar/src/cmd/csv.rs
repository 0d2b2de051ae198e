use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CsvCommand {}

pub fn run(command: CsvCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
