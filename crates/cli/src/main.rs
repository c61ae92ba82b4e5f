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

/// Exit status when standard output is closed before everything was written
/// (`carecodec hl7 check … | head`): 141, what a shell reports for a process
/// ended by SIGPIPE, so pipelines (`set -o pipefail`) see what other Unix tools
/// give. Nothing is printed: the reader went away on purpose.
const BROKEN_PIPE: u8 = 141;

/// True when `e`, or an error it wraps, is an I/O error of kind `BrokenPipe`
/// (also inside a `serde_json` error, whose `source` skips the I/O error).
fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            == pipe
            || err
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == pipe
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Ends the program quietly with [`BROKEN_PIPE`] when a `println!`/`eprintln!`
/// anywhere fails on a closed pipe, instead of panicking with exit status 101;
/// every other panic is reported as usual.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to std") && text.contains("Broken pipe") {
            std::process::exit(i32::from(BROKEN_PIPE));
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hl7(c) => hl7::run(c),
        Command::Fhir(c) => fhir::run(c),
        Command::Esr(c) => esr::run(c),
        Command::Map(a) => map::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::from(BROKEN_PIPE),
        Err(e) => {
            eprintln!("carecodec: {e}");
            ExitCode::from(2)
        }
    }
}
