//! `carecodec`: check, flatten, convert and map HL7 v2, FHIR and ESR files.
// A binary reports failures through its exit status and messages; these
// library-only denials do not apply to the command line's own plumbing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod esr;
mod fhir;
mod hl7;
mod io;
mod map;

/// NHS healthcare message codecs: HL7 v2, FHIR R4 / UK Core and ESR extracts.
#[derive(Debug, Parser)]
#[command(name = "carecodec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// HL7 v2 messages and batch files.
    #[command(subcommand)]
    Hl7(hl7::Command),
    /// FHIR R4 resources (JSON or XML), with UK Core checks.
    #[command(subcommand)]
    Fhir(fhir::Command),
    /// ESR workforce extracts (Generic Outbound, BI CSV, inbound).
    #[command(subcommand)]
    Esr(esr::Command),
    /// Map HL7 v2, FHIR or ESR input to the canonical model or to UK Core.
    Map(map::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hl7(c) => hl7::run(c),
        Command::Fhir(c) => fhir::run(c),
        Command::Esr(c) => esr::run(c),
        Command::Map(a) => map::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("carecodec: {e}");
            ExitCode::from(2)
        }
    }
}
