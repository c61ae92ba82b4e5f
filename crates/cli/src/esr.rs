//! `carecodec esr` subcommands: check, json.

use std::collections::HashSet;
use std::error::Error;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use carecodec_esr::bi::{BiReader, DEFAULT_MAPPING};
use carecodec_esr::inbound;
use carecodec_esr::layout::FieldType;
use carecodec_esr::value::{EndDate, FieldValue, parse_dmy};
use carecodec_esr::{GoOptions, GoReader, Problem, ProblemKind, Severity};
use clap::Subcommand;
use serde_json::{Map, Value, json};

use crate::io::open;

/// `carecodec esr` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check ESR files (Generic Outbound `GO_…DAT`, BI `.csv`, inbound `TA_…DAT`):
    /// header, counts per record type, every problem. A missing or unreadable file is reported
    /// and the rest are checked. Exit status 1 on any rejection, file error or unreadable file.
    Check {
        /// Files (`-` for standard input; its kind is detected from its first line).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Read files concatenated after a trailer as further logical files.
        #[arg(long)]
        split: bool,
    },
    /// Write one JSON object per record (NDJSON): record type, line and every field by name; a
    /// rejected record has `accepted: false`, its raw fields and its problems. File-level
    /// problems (trailer, header, footer, an unreadable file) go to standard error. Exit status
    /// 1 on any rejection, file error or unreadable file.
    Json {
        /// Files (`-` for standard input; its kind is detected from its first line).
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

/// The kind of a named file, from its name.
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

/// The kind of standard input, from its first line: `HDR~` is Generic Outbound, `HDR,`
/// inbound, a first line with a `,` and no `~` a BI CSV header; anything else is read as
/// Generic Outbound (whose reader reports a missing header).
fn sniff(start: &[u8]) -> Kind {
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    let first = start
        .split(|&b| b == b'\n' || b == b'\r')
        .next()
        .unwrap_or_default();
    if first.starts_with(b"HDR~") {
        Kind::Go
    } else if first.starts_with(b"HDR,") {
        Kind::Inbound
    } else if first.contains(&b',') && !first.contains(&b'~') {
        Kind::Bi
    } else {
        Kind::Go
    }
}

/// An input opened, with its kind: by name, or for standard input by its first line.
fn open_input(path: &Path) -> io::Result<(Kind, Box<dyn BufRead>)> {
    let mut input = open(path)?;
    let kind = if path.as_os_str() == "-" {
        sniff(input.fill_buf()?)
    } else {
        kind_of(path)
    };
    Ok((kind, input))
}

/// The whole of an opened input.
fn slurp(mut input: Box<dyn BufRead>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    Ok(bytes)
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
        match check_one(path, &name, split) {
            Ok(f) => failed |= f,
            Err(e) => {
                println!("{name}: error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Checks one file; whether it failed. An `Err` is a file that could not be read.
fn check_one(path: &Path, name: &str, split: bool) -> io::Result<bool> {
    let name = name.to_owned();
    let mut failed = false;
    let (kind, input) = open_input(path)?;
    match kind {
        Kind::Go => {
            let opts = GoOptions::default().split_concatenated(split);
            let transport = transport_name(path);
            let mut r = GoReader::new(input, transport.as_deref(), opts);
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
                    // A code read from garbage may hold control characters.
                    println!(
                        "{name}: {}: read {}, accepted {}, rejected {}",
                        code.escape_debug(),
                        c.read,
                        c.accepted,
                        c.rejected
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
            let bytes = slurp(input)?;
            let r = BiReader::read(&bytes).map_err(io::Error::other)?;
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
            failed |=
                r.summary.rejected > 0 || r.problems.iter().any(|p| p.severity == Severity::File);
        }
        Kind::Inbound => {
            let bytes = slurp(input)?;
            let transport = transport_name(path);
            let f = inbound::read_named(&bytes, transport.as_deref()).map_err(io::Error::other)?;
            for p in &f.problems {
                print_problem(&name, p);
            }
            println!(
                "{name}: inbound {} VPD {} period {}{}{}: ATT read {}, accepted {}, rejected {}, footer {}",
                // Header fields read from a damaged file may hold control characters: escaped,
                // so the summary stays one line.
                f.header.file_name.escape_debug(),
                f.header.vpd.escape_debug(),
                f.header.period_type.escape_debug(),
                f.header.period_run.escape_debug(),
                f.header.tax_period.escape_debug(),
                f.summary.read,
                f.summary.accepted,
                f.summary.rejected,
                f.footer.map_or("missing".to_owned(), |n| n.to_string())
            );
            failed |=
                f.summary.rejected > 0 || f.problems.iter().any(|p| p.severity >= Severity::Error);
        }
    }
    Ok(failed)
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

/// `fields` as one JSON object in the order given (a JSON map would sort them).
fn render_fields<'f>(
    fields: impl IntoIterator<Item = (&'f str, Value)>,
) -> Result<Value, serde_json::Error> {
    let mut out = String::from("{");
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(name)?);
        out.push(':');
        out.push_str(&serde_json::to_string(&value)?);
    }
    out.push('}');
    Ok(Value::String(out))
}

/// A BI field's value as JSON: a date column's valid `DD/MM/YYYY` date as
/// ISO 8601 (as every other ESR date in JSON), anything else as sent.
fn bi_value(name: &str, text: &str) -> Value {
    let date = DEFAULT_MAPPING
        .iter()
        .any(|&(_, canonical, t)| canonical == name && t == FieldType::Date);
    match date.then(|| parse_dmy(text.as_bytes())).flatten() {
        Some(d) => Value::String(d.to_string()),
        None => Value::String(text.to_owned()),
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

/// Writes a file-level problem of `esr json` to standard error.
fn file_problem(name: &str, p: &Problem) {
    eprintln!("{name}:{p}");
}

/// Whether a BI or inbound problem is about the file, not the row at its line.
fn file_level(p: &Problem) -> bool {
    p.severity == Severity::File
        || matches!(p.kind, ProblemKind::NotUtf8 | ProblemKind::ByteOrderMark)
}

/// Whether `p` is a problem of one of the `rows` (by line).
fn of_row(p: &Problem, rows: &HashSet<u64>) -> bool {
    !file_level(p) && rows.contains(&p.line)
}

/// The problems of a BI or inbound row at `line`, as JSON strings.
fn problems_at(problems: &[Problem], line: u64) -> Vec<String> {
    problems
        .iter()
        .filter(|p| p.line == line && !file_level(p))
        .map(Problem::to_string)
        .collect()
}

fn json_cmd(files: &[PathBuf]) -> Result<ExitCode, Box<dyn Error>> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for path in files {
        let file = path.display().to_string();
        match json_one(path, &file, &mut out) {
            Ok(f) => failed |= f,
            // The input could not be read: report it and go on with the next file.
            Err(e) if e.is::<InputError>() => {
                out.flush()?;
                eprintln!("{file}: error: {e}");
                failed = true;
            }
            Err(e) => return Err(e),
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A failure to read an input (not to write the output): reported, and the run goes on.
#[derive(Debug)]
struct InputError(io::Error);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Error for InputError {}

/// Writes one file's records as NDJSON to `out` and its file-level problems to standard
/// error; whether it failed. An [`InputError`] is an input that could not be read.
fn json_one(path: &Path, file: &str, out: &mut impl Write) -> Result<bool, Box<dyn Error>> {
    let file = file.to_owned();
    let mut failed = false;
    let (kind, input) = open_input(path).map_err(InputError)?;
    match kind {
        Kind::Go => {
            let transport = transport_name(path);
            let mut r = GoReader::new(input, transport.as_deref(), GoOptions::default());
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
                        // Fields in layout order.
                        let fields = t.fields.iter().map(|(n, v)| (&**n, value_json(v)));
                        obj.insert("fields".into(), render_fields(fields)?);
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
                write_ordered(&mut *out, obj)?;
            }
            out.flush()?;
            for s in r.summaries() {
                for p in &s.problems {
                    file_problem(&file, p);
                }
                if !s.complete {
                    eprintln!("{file}: INCOMPLETE: do not apply");
                }
                failed |= s.has_file_errors();
            }
        }
        Kind::Bi => {
            let bytes = slurp(input).map_err(InputError)?;
            let r = BiReader::read(&bytes).map_err(|e| InputError(io::Error::other(e)))?;
            for row in &r.rows {
                // Fields in column order, dates ISO 8601.
                let fields = row.fields.iter().map(|(k, v)| (&**k, bi_value(k, v)));
                let mut obj = Map::new();
                obj.insert("file".into(), json!(file));
                obj.insert("line".into(), json!(row.line));
                obj.insert("record".into(), json!("BI"));
                obj.insert("accepted".into(), json!(row.accepted));
                obj.insert("fields".into(), render_fields(fields)?);
                let problems = problems_at(&r.problems, row.line);
                if !problems.is_empty() {
                    obj.insert("problems".into(), json!(problems));
                }
                write_ordered(&mut *out, obj)?;
                failed |= !row.accepted;
            }
            out.flush()?;
            let rows: HashSet<u64> = r.rows.iter().map(|row| row.line).collect();
            for p in r.problems.iter().filter(|p| !of_row(p, &rows)) {
                file_problem(&file, p);
                failed |= p.severity == Severity::File;
            }
        }
        Kind::Inbound => {
            let bytes = slurp(input).map_err(InputError)?;
            let transport = transport_name(path);
            let f = inbound::read_named(&bytes, transport.as_deref())
                .map_err(|e| InputError(io::Error::other(e)))?;
            for rec in &f.records {
                let mut obj = Map::new();
                obj.insert("file".into(), json!(file));
                obj.insert("line".into(), json!(rec.line));
                obj.insert("record".into(), json!("ATT"));
                match rec.to_attendance() {
                    Some(a) => {
                        obj.insert("accepted".into(), json!(true));
                        // Fields in the order of the row.
                        let values = a.values.iter();
                        let fields = [
                            ("Entry Date", json!(a.date.to_string())),
                            ("Action", json!(a.action)),
                            ("Assignment Number", json!(a.assignment_number)),
                            ("Element Name", json!(a.element)),
                            (
                                "Input Values",
                                values
                                    .map(|(n, v)| json!({"name": n, "value": v}))
                                    .collect(),
                            ),
                        ];
                        obj.insert("fields".into(), render_fields(fields)?);
                    }
                    None => {
                        obj.insert("accepted".into(), json!(false));
                        obj.insert("raw".into(), json!(rec.fields));
                        obj.insert("problems".into(), json!(problems_at(&f.problems, rec.line)));
                    }
                }
                write_ordered(&mut *out, obj)?;
                failed |= !rec.accepted;
            }
            out.flush()?;
            let rows: HashSet<u64> = f.records.iter().map(|r| r.line).collect();
            for p in f.problems.iter().filter(|p| !of_row(p, &rows)) {
                file_problem(&file, p);
                failed |= p.severity >= Severity::Error;
            }
        }
    }
    Ok(failed)
}
