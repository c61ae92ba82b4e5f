//! `carecodec fhir` subcommands: check, convert.

use std::error::Error;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use carecodec_fhir::{Resource, json, uk_core, xml};
use clap::{Subcommand, ValueEnum};

use crate::io::read_all;

/// Output format of `carecodec fhir convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// FHIR JSON.
    Json,
    /// FHIR XML.
    Xml,
}

/// `carecodec fhir` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read FHIR resources (JSON or XML, detected) and print every problem with its location;
    /// exit status 1 if any file has an error.
    Check {
        /// Files (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Report unknown elements, missing required elements and bad codes as issues and keep
        /// reading (JSON input), instead of stopping at the first.
        #[arg(long)]
        lenient: bool,
        /// Also run the UK Core checks (`uk-core`): each resource, and each Bundle entry, is
        /// validated against the UK Core profile in its `meta.profile`, else the one for its type.
        #[arg(long, value_name = "PROFILE")]
        profile: Option<String>,
    },
    /// Convert one resource between FHIR JSON and FHIR XML (lossless) and write it to stdout.
    Convert {
        /// Input file (`-` for standard input); JSON or XML, detected.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum)]
        to: Format,
        /// Indent the output.
        #[arg(long)]
        pretty: bool,
    },
}

fn is_xml(bytes: &[u8]) -> bool {
    let start = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    start.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

fn read(path: &Path, bytes: &[u8]) -> Result<Resource, String> {
    if is_xml(bytes) {
        xml::from_slice(bytes).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        json::from_slice(bytes).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// UK Core checks: the resource against its profile (from `meta.profile`, else by type), and
/// every Bundle entry's resource against its own, with the entry's location as prefix.
/// Returns the printed lines and whether any is an error.
fn uk_core_issues(r: &Resource) -> (Vec<String>, bool) {
    use uk_core::validate::{Profile, has_errors, validate};
    let mut out = Vec::new();
    let mut errors = false;
    let mut one = |r: &Resource, prefix: Option<String>| {
        let Some(profile) = Profile::for_resource(r) else {
            return;
        };
        let issues = validate(r, profile);
        errors |= has_errors(&issues);
        for i in issues {
            let location = match &prefix {
                // `Patient.identifier[0]` inside an entry becomes
                // `Bundle.entry[3].resource.identifier[0]`.
                Some(p) => {
                    let tail = i
                        .location
                        .strip_prefix(r.resource_type())
                        .unwrap_or(&i.location);
                    format!("{p}{tail}")
                }
                None => i.location.clone(),
            };
            out.push(format!(
                "{} [{}] {location} ({profile}): {}",
                i.severity.code(),
                i.code.code(),
                i.message
            ));
        }
    };
    one(r, None);
    if let Resource::Bundle(b) = r {
        for (n, e) in b.entry.iter().enumerate() {
            if let Some(inner) = e.resource.as_ref() {
                one(inner, Some(format!("Bundle.entry[{n}].resource")));
            }
        }
    }
    (out, errors)
}

/// Runs a `carecodec fhir` subcommand.
pub fn run(command: Command) -> Result<ExitCode, Box<dyn Error>> {
    match command {
        Command::Check {
            files,
            lenient,
            profile,
        } => {
            if let Some(p) = &profile {
                if p != "uk-core" {
                    return Err(format!("unknown profile {p:?} (known: uk-core)").into());
                }
            }
            let (mut bad_files, mut problem_count) = (0usize, 0usize);
            let stdout = io::stdout();
            let mut out = stdout.lock();
            for path in &files {
                let mut failed = false;
                let bytes = match read_all(path) {
                    Ok(b) => b,
                    Err(e) => {
                        writeln!(out, "{}: error: {e}", path.display())?;
                        bad_files += 1;
                        continue;
                    }
                };
                let (resource, issues) = if lenient && !is_xml(&bytes) {
                    match json::from_slice_lenient::<Resource>(&bytes) {
                        Ok((r, issues)) => (
                            Ok(r),
                            issues
                                .iter()
                                .map(|i| format!("issue at {}: {}", i.path, i.message))
                                .collect(),
                        ),
                        Err(e) => (Err(format!("{}: {e}", path.display())), Vec::new()),
                    }
                } else {
                    (read(path, &bytes), Vec::new())
                };
                match resource {
                    Err(e) => {
                        writeln!(out, "error: {e}")?;
                        failed = true;
                    }
                    Ok(r) => {
                        let mut problems: Vec<String> = issues;
                        if profile.is_some() {
                            let (uk, errors) = uk_core_issues(&r);
                            failed |= errors;
                            problems.extend(uk);
                        }
                        writeln!(
                            out,
                            "{}: {} read, {} problem(s)",
                            path.display(),
                            r.resource_type(),
                            problems.len()
                        )?;
                        problem_count += problems.len();
                        for p in problems {
                            writeln!(out, "  {p}")?;
                        }
                    }
                }
                bad_files += usize::from(failed);
            }
            writeln!(
                out,
                "{} file(s) checked: {} with errors, {} problem(s) listed",
                files.len(),
                bad_files,
                problem_count
            )?;
            Ok(if bad_files > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Convert { file, to, pretty } => {
            let bytes = read_all(&file)?;
            let resource = read(&file, &bytes)?;
            let text = match (to, pretty) {
                (Format::Json, false) => json::to_string(&resource),
                (Format::Json, true) => json::to_string_pretty(&resource),
                (Format::Xml, false) => xml::to_string(&resource)?,
                (Format::Xml, true) => xml::to_string_pretty(&resource)?,
            };
            let stdout = io::stdout();
            let mut out = stdout.lock();
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
