//! `carecodec esr` subcommands: check, json.

use std::error::Error;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use carecodec_esr::bi::BiReader;
use carecodec_esr::inbound;
use carecodec_esr::value::{EndDate, FieldValue};
use carecodec_esr::{GoOptions, GoReader, Problem, Severity};
use clap::Subcommand;
use serde_json::{Map, Value, json};

use crate::io::{open, read_all};

/// `carecodec esr` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check ESR files (Generic Outbound `GO_…DAT`, BI `.csv`, inbound `TA_…DAT`):
    /// header, counts per record type, every problem; exit 1 on any rejection or file error.
    Check {
        /// Files (`-` for standard input, read as Generic Outbound).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Read files concatenated after a trailer as further logical files.
        #[arg(long)]
        split: bool,
    },
    /// Write one JSON object per record (NDJSON): record type, line and every field by name.
    Json {
        /// Files (`-` for standard input, read as Generic Outbound).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs a `carecodec esr` subcommand.
pub fn run(command: Command) -> Result<ExitCode, Box<dyn Error>> {
    match command {
        Command::Check { files, split } => check(&files, split),
        Command::Json { files } => json_cmd(&files),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Go,
    Bi,
    Inbound,
}

fn kind_of(path: &Path) -> Kind {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let base = name.rsplit("__").next().unwrap_or(name);
    if base.to_ascii_lowercase().ends_with(".csv") {
        Kind::Bi
    } else if base.starts_with("TA_") {
        Kind::Inbound
    } else {
        Kind::Go
    }
}

fn transport_name(path: &Path) -> Option<String> {
    if path.as_os_str() == "-" {
        return None;
    }
    path.file_name().and_then(|n| n.to_str()).map(str::to_owned)
}

fn print_problem(name: &str, p: &Problem) {
    println!("{name}:{p}");
}

fn check(files: &[PathBuf], split: bool) -> Result<ExitCode, Box<dyn Error>> {
    let mut failed = false;
    for path in files {
        let name = path.display().to_string();
        match kind_of(path) {
            Kind::Go => {
                let opts = GoOptions::default().split_concatenated(split);
                let transport = transport_name(path);
                let mut r = GoReader::new(open(path)?, transport.as_deref(), opts);
                while let Some(e) = r.next_record() {
                    for p in e.problems {
                        print_problem(&name, p);
                    }
                }
                for s in r.summaries() {
                    for p in &s.problems {
                        print_problem(&name, p);
                    }
                    if let Some(h) = &s.header {
                        let kind = if h.snapshot_request {
                            "snapshot request"
                        } else {
                            "extract"
                        };
                        println!(
                            "{name}: header: {kind} {} VPD {} version {} window {} -> {}",
                            h.file_name,
                            h.vpd,
                            h.version,
                            h.previous_run.map(|t| t.to_string()).unwrap_or_default(),
                            h.this_run.map(|t| t.to_string()).unwrap_or_default()
                        );
                    }
                    for (code, c) in &s.per_type {
                        println!(
                            "{name}: {code}: read {}, accepted {}, rejected {}",
                            c.read, c.accepted, c.rejected
                        );
                    }
                    let profile = s.profile.map(|p| p.code()).unwrap_or("?");
                    println!(
                        "{name}: profile {profile}: read {}, accepted {}, rejected {}, with warnings {}, blank lines {}, trailer {}, {}",
                        s.read,
                        s.accepted,
                        s.rejected,
                        s.warned,
                        s.blank_lines,
                        s.trailer.map_or("missing".to_owned(), |t| t.to_string()),
                        if s.complete {
                            "complete"
                        } else {
                            "INCOMPLETE: do not apply"
                        }
                    );
                    failed |= s.rejected > 0 || s.has_file_errors();
                }
            }
            Kind::Bi => {
                let bytes = read_all(path)?;
                let r = BiReader::read(&bytes)?;
                for p in &r.problems {
                    print_problem(&name, p);
                }
                let unmapped: Vec<&str> = r
                    .header
                    .iter()
                    .zip(&r.mapped)
                    .filter(|(_, m)| m.is_none())
                    .map(|(h, _)| h.as_str())
                    .collect();
                if !unmapped.is_empty() {
                    println!(
                        "{name}: columns kept under their own names: {}",
                        unmapped.join(", ")
                    );
                }
                println!(
                    "{name}: BI CSV: read {}, accepted {}, rejected {}",
                    r.summary.read, r.summary.accepted, r.summary.rejected
                );
                failed |= r.summary.rejected > 0
                    || r.problems.iter().any(|p| p.severity == Severity::File);
            }
            Kind::Inbound => {
                let bytes = read_all(path)?;
                let f = inbound::read(&bytes)?;
                for p in &f.problems {
                    print_problem(&name, p);
                }
                println!(
                    "{name}: inbound {} VPD {} period {}{}{}: {} ATT records, footer {}",
                    f.header.file_name,
                    f.header.vpd,
                    f.header.period_type,
                    f.header.period_run,
                    f.header.tax_period,
                    f.records.len(),
                    f.footer.map_or("missing".to_owned(), |n| n.to_string())
                );
                failed |= f.problems.iter().any(|p| p.severity >= Severity::Error);
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A typed value as JSON: dates ISO 8601, an open end date `null`, decimals
/// as their text, key-flexfield values as arrays of segments.
fn value_json(v: &FieldValue) -> Value {
    match v {
        FieldValue::Empty => Value::String(String::new()),
        FieldValue::Text(s) | FieldValue::Decimal(s) => Value::String(s.clone()),
        FieldValue::Date(d) => Value::String(d.to_string()),
        FieldValue::End(EndDate::On(d)) => Value::String(d.to_string()),
        FieldValue::End(EndDate::Open) => Value::Null,
        FieldValue::Timestamp(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S").to_string()),
        FieldValue::Flag(b) => Value::Bool(*b),
        FieldValue::Segments(s) => json!(s),
        _ => Value::Null,
    }
}

/// Writes `obj` as one line: `record`, `line`, `file`, `accepted`, `entity`,
/// `delete`, then `fields` (pre-rendered, in layout order), then the rest.
fn write_ordered(out: &mut impl Write, mut obj: Map<String, Value>) -> Result<(), Box<dyn Error>> {
    out.write_all(b"{")?;
    let mut first = true;
    for key in [
        "record", "line", "file", "accepted", "entity", "delete", "fields", "raw", "problems",
    ] {
        let Some(v) = obj.remove(key) else { continue };
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        write!(out, "{}:", serde_json::to_string(key)?)?;
        match (key, v) {
            ("fields", Value::String(rendered)) => out.write_all(rendered.as_bytes())?,
            (_, v) => serde_json::to_writer(&mut *out, &v)?,
        }
    }
    out.write_all(b"}\n")?;
    Ok(())
}

fn json_cmd(files: &[PathBuf]) -> Result<ExitCode, Box<dyn Error>> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for path in files {
        let file = path.display().to_string();
        match kind_of(path) {
            Kind::Go => {
                let transport = transport_name(path);
                let mut r = GoReader::new(open(path)?, transport.as_deref(), GoOptions::default());
                while let Some(e) = r.next_record() {
                    let mut obj = Map::new();
                    obj.insert("file".into(), json!(file));
                    obj.insert("line".into(), json!(e.line));
                    obj.insert("accepted".into(), json!(e.accepted));
                    match e.typed() {
                        Some(t) => {
                            obj.insert("record".into(), json!(t.code));
                            obj.insert("entity".into(), json!(t.entity));
                            obj.insert("delete".into(), json!(t.delete));
                            // Fields in layout order (a JSON map would sort them).
                            let mut fields = String::from("{");
                            for (i, (n, v)) in t.fields.iter().enumerate() {
                                if i > 0 {
                                    fields.push(',');
                                }
                                fields.push_str(&serde_json::to_string(n)?);
                                fields.push(':');
                                fields.push_str(&serde_json::to_string(&value_json(v))?);
                            }
                            fields.push('}');
                            obj.insert("fields".into(), Value::String(fields));
                        }
                        None => {
                            obj.insert("record".into(), json!(e.text(0).unwrap_or_default()));
                            obj.insert(
                                "raw".into(),
                                json!(String::from_utf8_lossy(e.record.bytes())),
                            );
                        }
                    }
                    if !e.problems.is_empty() {
                        let probs: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
                        obj.insert("problems".into(), json!(probs));
                    }
                    failed |= !e.accepted;
                    write_ordered(&mut out, obj)?;
                }
                failed |= r.summaries().iter().any(|s| s.has_file_errors());
            }
            Kind::Bi => {
                let bytes = read_all(path)?;
                let r = BiReader::read(&bytes)?;
                for row in &r.rows {
                    let fields: Map<String, Value> = row
                        .fields
                        .iter()
                        .map(|(k, v)| (k.clone(), json!(v)))
                        .collect();
                    let obj = json!({"file": file, "line": row.line, "record": "BI", "accepted": row.accepted, "fields": fields});
                    serde_json::to_writer(&mut out, &obj)?;
                    out.write_all(b"\n")?;
                    failed |= !row.accepted;
                }
            }
            Kind::Inbound => {
                let bytes = read_all(path)?;
                let f = inbound::read(&bytes)?;
                for rec in &f.records {
                    let obj = match rec.to_attendance() {
                        Some(a) => json!({
                            "file": file, "line": rec.line, "record": "ATT",
                            "fields": {
                                "Entry Date": a.date.to_string(), "Action": a.action,
                                "Assignment Number": a.assignment_number, "Element Name": a.element,
                                "Input Values": a.values.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
                            }
                        }),
                        None => {
                            json!({"file": file, "line": rec.line, "record": "ATT", "raw": rec.fields})
                        }
                    };
                    serde_json::to_writer(&mut out, &obj)?;
                    out.write_all(b"\n")?;
                }
                failed |= !f.problems.is_empty();
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
