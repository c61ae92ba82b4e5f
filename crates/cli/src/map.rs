//! `carecodec map`.

use std::process::ExitCode;

/// `carecodec map` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `carecodec map`.
pub fn run(_args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
