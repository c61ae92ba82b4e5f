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
    /// a missing or unreadable file is reported and the rest are checked. Exit status 1 if any
    /// file has an error, is unreadable or was not checked (a resource type not compiled in).
    Check {
        /// Files (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Report unknown elements, missing required elements and bad codes as issues and keep
        /// reading (JSON input), instead of stopping at the first.
        #[arg(long)]
        lenient: bool,
        /// Also run the UK Core checks (`uk-core`): each resource, and each Bundle entry, is
        /// validated against the UK Core profile in its `meta.profile`, else the one for its type,
        /// and against the R4 base rules; a resource with no UK Core profile known here gets a
        /// note saying it was checked against the R4 base rules only.
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

/// Why a file could not be read into the typed model.
enum ReadError {
    /// Its `resourceType` is an R4 resource not compiled into this build: not a fault of the
    /// file, so reported apart from validation errors.
    NotCompiledIn(String),
    /// Anything else: the file is invalid.
    Invalid(String),
}

fn read(path: &Path, bytes: &[u8]) -> Result<Resource, ReadError> {
    let (message, disabled) = if is_xml(bytes) {
        match xml::from_slice(bytes) {
            Ok(r) => return Ok(r),
            Err(e) => {
                let disabled = matches!(e.kind(), xml::ErrorKind::Model(j)
                    if j.kind() == json::ErrorKind::DisabledResourceType);
                (e.to_string(), disabled)
            }
        }
    } else {
        match json::from_slice(bytes) {
            Ok(r) => return Ok(r),
            Err(e) => {
                let disabled = e.kind() == json::ErrorKind::DisabledResourceType;
                (e.to_string(), disabled)
            }
        }
    };
    let message = format!("{}: {message}", path.display());
    Err(if disabled {
        ReadError::NotCompiledIn(message)
    } else {
        ReadError::Invalid(message)
    })
}

/// Converts with the table-driven converter, which needs no typed model (for a resource type
/// not compiled into this build): JSON and XML both ways; JSON to JSON goes through XML.
fn convert_untyped(bytes: &[u8], to: Format, pretty: bool) -> Result<String, xml::Error> {
    match (is_xml(bytes), to, pretty) {
        (true, Format::Json, _) => xml::xml_to_json(bytes),
        (true, Format::Xml, false) => xml::json_to_xml(xml::xml_to_json(bytes)?.as_bytes()),
        (true, Format::Xml, true) => xml::json_to_xml_pretty(xml::xml_to_json(bytes)?.as_bytes()),
        (false, Format::Xml, false) => xml::json_to_xml(bytes),
        (false, Format::Xml, true) => xml::json_to_xml_pretty(bytes),
        (false, Format::Json, _) => xml::xml_to_json(xml::json_to_xml(bytes)?.as_bytes()),
    }
}

/// UK Core checks: the resource against its profile (from `meta.profile`, else by type), and
/// every contained resource and Bundle entry (nested Bundles too) against its own, located in
/// the outer resource. Returns the printed problem lines, the notices (a resource checked
/// against the R4 base rules only: no UK Core profile known for it) and whether any problem
/// is an error.
fn uk_core_issues(r: &Resource) -> (Vec<String>, Vec<String>, bool) {
    use uk_core::validate::{Severity, validate_nested};
    let (notices, issues): (Vec<_>, Vec<_>) = validate_nested(r)
        .into_iter()
        .partition(|(_, i)| i.severity == Severity::Information);
    let errors = issues.iter().any(|(_, i)| i.severity == Severity::Error);
    let notices = notices
        .iter()
        .map(|(_, i)| format!("note: {}: {}", i.location, i.message))
        .collect();
    let out = issues
        .iter()
        .map(|(profile, i)| {
            format!(
                "{} [{}] {} ({profile}): {}",
                i.severity.code(),
                i.code.code(),
                i.location,
                i.message
            )
        })
        .collect();
    (out, notices, errors)
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
            let (mut bad_files, mut problem_count, mut not_checked) = (0usize, 0usize, 0usize);
            let mut notice_count = 0usize;
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
                                .map(|i| {
                                    if i.location.is_empty() {
                                        format!("issue at {}: {}", i.path, i.message)
                                    } else {
                                        format!(
                                            "issue at {} (line {}, column {}): {}",
                                            i.location, i.line, i.column, i.message
                                        )
                                    }
                                })
                                .collect(),
                        ),
                        Err(e) if e.kind() == json::ErrorKind::DisabledResourceType => (
                            Err(ReadError::NotCompiledIn(format!("{}: {e}", path.display()))),
                            Vec::new(),
                        ),
                        Err(e) => (
                            Err(ReadError::Invalid(format!("{}: {e}", path.display()))),
                            Vec::new(),
                        ),
                    }
                } else {
                    (read(path, &bytes), Vec::new())
                };
                match resource {
                    Err(ReadError::Invalid(e)) => {
                        // The reading error is the file's one problem listed.
                        writeln!(out, "error: {e}")?;
                        problem_count += 1;
                        failed = true;
                    }
                    Err(ReadError::NotCompiledIn(e)) => {
                        writeln!(out, "not checked: {e}")?;
                        not_checked += 1;
                    }
                    Ok(r) => {
                        let mut problems: Vec<String> = issues;
                        let mut notices = Vec::new();
                        if profile.is_some() {
                            let (uk, notes, errors) = uk_core_issues(&r);
                            failed |= errors;
                            problems.extend(uk);
                            notices = notes;
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
                        notice_count += notices.len();
                        for n in notices {
                            writeln!(out, "  {n}")?;
                        }
                    }
                }
                bad_files += usize::from(failed);
            }
            write!(
                out,
                "{} file(s) checked: {} with errors, {} problem(s) listed",
                files.len(),
                bad_files,
                problem_count
            )?;
            if notice_count > 0 {
                write!(
                    out,
                    ", {notice_count} resource(s) with no UK Core profile (R4 base rules only)"
                )?;
            }
            if not_checked > 0 {
                write!(
                    out,
                    ", {not_checked} not checked (resource type not compiled in)"
                )?;
            }
            writeln!(out)?;
            Ok(if bad_files > 0 || not_checked > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Convert { file, to, pretty } => {
            let bytes = read_all(&file)?;
            let text = match read(&file, &bytes) {
                Ok(resource) => match (to, pretty) {
                    (Format::Json, false) => json::to_string(&resource),
                    (Format::Json, true) => json::to_string_pretty(&resource),
                    (Format::Xml, false) => xml::to_string(&resource)?,
                    (Format::Xml, true) => xml::to_string_pretty(&resource)?,
                },
                Err(ReadError::NotCompiledIn(_)) => convert_untyped(&bytes, to, pretty)
                    .map_err(|e| format!("{}: {e}", file.display()))?,
                Err(ReadError::Invalid(e)) => return Err(e.into()),
            };
            let stdout = io::stdout();
            let mut out = stdout.lock();
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
