//! `carecodec fhir` subcommands.

use std::process::ExitCode;

use clap::Subcommand;

/// `carecodec fhir` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Not implemented yet.
    Todo,
}

/// Runs a `carecodec fhir` subcommand.
pub fn run(_command: Command) -> Result<ExitCode, Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
