//! `carecodec hl7` subcommands.

use std::process::ExitCode;

use clap::Subcommand;

/// `carecodec hl7` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Not implemented yet.
    Todo,
}

/// Runs a `carecodec hl7` subcommand.
pub fn run(_command: Command) -> Result<ExitCode, Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
