//! One module per command group. Each exposes a clap subcommand type and `run`, which returns the
//! process exit code: 0 success, 1 failure (bad input found, errors reported), 2 usage (clap).

pub mod admin;
pub mod auth;
pub mod client;
pub mod collect;
pub mod csv;
pub mod hash;
pub mod serve;
