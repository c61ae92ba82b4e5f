//! `carecodec hl7` subcommands: flat, stats, check, ack.

use std::error::Error;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use carecodec_hl7v2::ack::{self, AckCode, AckError, AckOptions, Outcome};
use carecodec_hl7v2::batch::{BatchOptions, BatchReader, Summary};
use carecodec_hl7v2::error::line_of;
use carecodec_hl7v2::{Charset, Message, ParseOptions};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::io::open;

/// `carecodec hl7` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one line per non-empty leaf: message number, full path, value as a JSON string.
    ///
    /// Rejected messages, undecodable values and envelope problems (junk lines,
    /// trailer counts) go to stderr; exit 1 if there is any.
    Flat {
        /// HL7 v2 files (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Count messages, segments, fields and bytes, and time the parse.
    ///
    /// Exit 1, as `check` does, if any message is rejected or the envelope has
    /// problems (counted on the `rejected` and `problems` lines).
    Stats {
        /// HL7 v2 files (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print every repair and error with its position; exit 1 if any message is rejected.
    ///
    /// Also exit 1 on envelope problems and on values whose text is invalid in
    /// the message's charset (MSH-18), each reported with its path and byte.
    Check {
        /// HL7 v2 files (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Reject instead of repairing (LF terminators, BOM, framing…).
        #[arg(long)]
        strict: bool,
    },
    /// Write the ACK for each message (AA/CA when it parses, AR/CR with ERR when not).
    ///
    /// A message is answered from its MSH read as ASCII when the rest cannot
    /// be read (an unsupported MSH-18 included). Rejections and envelope
    /// problems are also printed to stderr; exit 1 if there is any.
    Ack {
        /// HL7 v2 file (`-` for standard input).
        file: PathBuf,
        /// Frame each ACK with MLLP instead of ending it with a newline.
        #[arg(long)]
        mllp: bool,
    },
}

/// Runs a `carecodec hl7` subcommand.
pub fn run(command: Command) -> Result<ExitCode, Box<dyn Error>> {
    match command {
        Command::Flat { files } => flat(&files),
        Command::Stats { files } => stats(&files),
        Command::Check { files, strict } => check(&files, strict),
        Command::Ack { file, mllp } => ack_cmd(&file, mllp),
    }
}

/// A message reader over a file, with a progress bar when stderr is a terminal.
type Reader = (BatchReader<Box<dyn BufRead>>, Option<ProgressBar>);

fn reader(path: &PathBuf, opts: BatchOptions) -> io::Result<Reader> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = (io::stderr().is_terminal() && size > 8 << 20).then(|| {
        let bar = ProgressBar::new(size);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        {
            bar.set_style(style);
        }
        bar
    });
    Ok((BatchReader::with_options(open(path)?, opts), bar))
}

fn tick(bar: &Option<ProgressBar>, bytes: u64, n: usize) {
    if let Some(bar) = bar {
        if n % 1024 == 0 {
            bar.set_position(bytes);
        }
    }
}

/// Prints the envelope problems of a read (junk lines, trailer counts) to
/// stderr, as `check` prints them to stdout. True when there was any.
fn report_problems(path: &std::path::Path, summary: &Summary) -> bool {
    for p in &summary.problems {
        eprintln!("{}:{}: {p}", path.display(), p.line);
    }
    !summary.problems.is_empty()
}

fn flat(files: &[PathBuf]) -> Result<ExitCode, Box<dyn Error>> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut number = 0usize;
    let mut failed = false;
    for path in files {
        // A file that cannot be read is reported and the others still read.
        let (mut r, bar) = match reader(path, BatchOptions::default()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: error: {e}", path.display());
                failed = true;
                continue;
            }
        };
        while let Some(entry) = r.next_message() {
            number += 1;
            tick(&bar, entry.offset as u64, number);
            match entry.result {
                Ok(msg) => {
                    let mut err = None;
                    msg.for_each_leaf(|p, v| {
                        if err.is_some() {
                            return;
                        }
                        match v.decoded() {
                            Ok(text) => {
                                let json = serde_json::to_string(&text).unwrap_or_default();
                                if let Err(e) = writeln!(out, "{number}\t{p}\t{json}") {
                                    err = Some(Box::<dyn Error>::from(e));
                                }
                            }
                            Err(e) => {
                                failed = true;
                                eprintln!(
                                    "{}: message {number}: {p}: {} at byte {}",
                                    path.display(),
                                    e.kind(),
                                    entry.offset + e.offset()
                                );
                            }
                        }
                    });
                    if let Some(e) = err {
                        return Err(e);
                    }
                }
                Err(e) => {
                    failed = true;
                    eprintln!("{}: message {number} rejected: {e}", path.display());
                }
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        failed |= report_problems(path, r.summary());
        if let Some(e) = r.io_error() {
            eprintln!("{}: error: {e}", path.display());
            failed = true;
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn stats(files: &[PathBuf]) -> Result<ExitCode, Box<dyn Error>> {
    let (mut messages, mut rejected, mut problems, mut segments, mut fields, mut bytes) =
        (0usize, 0usize, 0usize, 0usize, 0usize, 0u64);
    let mut unreadable = 0usize;
    let start = Instant::now();
    for path in files {
        let (mut r, bar) = match reader(path, BatchOptions::default()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: error: {e}", path.display());
                unreadable += 1;
                continue;
            }
        };
        while let Some(entry) = r.next_message() {
            messages += 1;
            tick(&bar, entry.offset as u64, messages);
            match entry.result {
                Ok(msg) => {
                    segments += msg.segment_count();
                    fields += msg.field_count();
                }
                Err(_) => rejected += 1,
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        bytes += r.summary().bytes;
        problems += r.summary().problems.len();
        if let Some(e) = r.io_error() {
            eprintln!("{}: error: {e}", path.display());
            unreadable += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let mut out = io::stdout().lock();
    writeln!(out, "messages\t{messages}")?;
    writeln!(out, "rejected\t{rejected}")?;
    writeln!(out, "problems\t{problems}")?;
    if unreadable > 0 {
        writeln!(out, "unreadable files\t{unreadable}")?;
    }
    writeln!(out, "segments\t{segments}")?;
    writeln!(out, "fields\t{fields}")?;
    writeln!(out, "bytes\t{bytes}")?;
    writeln!(out, "seconds\t{secs:.6}")?;
    writeln!(out, "MB/s\t{:.1}", bytes as f64 / 1e6 / secs)?;
    writeln!(out, "messages/s\t{:.0}", messages as f64 / secs)?;
    out.flush()?;
    Ok(if rejected > 0 || problems > 0 || unreadable > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The leaves of `msg` whose text is invalid in the charset it is read in
/// (MSH-18), with the error (offset in `bytes`). Only a message with bytes
/// above 0x7F or a hex escape (`\X…\`) can have any, so others are not walked.
fn undecodable(msg: &Message<'_>, bytes: &[u8]) -> Vec<(String, carecodec_hl7v2::Error)> {
    let mut bad = Vec::new();
    let esc = msg.delimiters().escape;
    let hex = esc.is_some_and(|c| bytes.windows(2).any(|w| w == [c, b'X']));
    if msg.charset() == Charset::Latin1 || (bytes.is_ascii() && !hex) {
        return bad;
    }
    msg.for_each_leaf(|p, v| {
        if let Err(e) = v.decoded() {
            bad.push((p.to_string(), e));
        }
    });
    bad
}

fn check(files: &[PathBuf], strict: bool) -> Result<ExitCode, Box<dyn Error>> {
    let mut opts = BatchOptions::default();
    if strict {
        opts.parse = ParseOptions::strict();
    }
    let (mut read, mut accepted, mut rejected, mut repaired, mut problems) = (0, 0, 0, 0, 0);
    let (mut undecodable_values, mut unreadable) = (0usize, 0usize);
    let mut out = io::stdout().lock();
    for path in files {
        let name = path.display();
        let file_undecodable = undecodable_values;
        // A file that cannot be read is reported and the others still checked.
        let (mut r, bar) = match reader(path, opts) {
            Ok(r) => r,
            Err(e) => {
                writeln!(out, "{name}: error: {e}")?;
                unreadable += 1;
                continue;
            }
        };
        while let Some(entry) = r.next_message() {
            tick(&bar, entry.offset as u64, entry.number);
            let id = |m: &Message<'_>| {
                m.control_id()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            };
            match &entry.result {
                Ok(msg) => {
                    if !msg.repairs().is_empty() {
                        repaired += 1;
                    }
                    for (p, e) in undecodable(msg, entry.bytes) {
                        undecodable_values += 1;
                        let line = entry.line + line_of(entry.bytes, e.offset()) - 1;
                        writeln!(
                            out,
                            "{name}:{line}: message {}{}: error: {p}: {} at byte {}",
                            entry.number,
                            id(msg),
                            e.kind(),
                            entry.offset + e.offset()
                        )?;
                    }
                    for rep in msg.repairs() {
                        let line = entry.line + line_of(entry.bytes, rep.offset) - 1;
                        writeln!(
                            out,
                            "{name}:{line}: message {}{}: repaired: {} (byte {})",
                            entry.number,
                            id(msg),
                            rep.kind,
                            entry.offset + rep.offset
                        )?;
                    }
                }
                Err(e) => {
                    // The error is in file positions; the excerpt is the message's bytes.
                    let shown = e.render_in(entry.bytes, entry.offset);
                    let detail = shown.split_once('\n').map_or("", |(_, d)| d);
                    writeln!(
                        out,
                        "{name}:{}: message {}: rejected: {e}\n{detail}",
                        e.line(),
                        entry.number
                    )?;
                }
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let s = r.summary();
        for p in &s.problems {
            writeln!(out, "{name}:{}: {}", p.line, p)?;
        }
        write!(
            out,
            "{name}: read {}, accepted {}, rejected {}, batches {}, envelope problems {}",
            s.read,
            s.accepted,
            s.rejected,
            s.batches,
            s.problems.len()
        )?;
        if undecodable_values > file_undecodable {
            write!(
                out,
                ", undecodable values {}",
                undecodable_values - file_undecodable
            )?;
        }
        writeln!(out)?;
        read += s.read;
        accepted += s.accepted;
        rejected += s.rejected;
        problems += s.problems.len();
        if let Some(e) = r.io_error() {
            writeln!(out, "{name}: error: {e}")?;
            unreadable += 1;
        }
    }
    if files.len() > 1 {
        write!(
            out,
            "total: read {read}, accepted {accepted} ({repaired} repaired), rejected {rejected}, envelope problems {problems}, undecodable values {undecodable_values}"
        )?;
        if unreadable > 0 {
            write!(out, ", unreadable files {unreadable}")?;
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(
        if rejected > 0 || problems > 0 || undecodable_values > 0 || unreadable > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

fn ack_cmd(path: &PathBuf, mllp: bool) -> Result<ExitCode, Box<dyn Error>> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let (mut r, _bar) = reader(path, BatchOptions::default())?;
    let now = chrono::Utc::now().format("%Y%m%d%H%M%S+0000").to_string();
    let mut failed = false;
    while let Some(entry) = r.next_message() {
        let built = match &entry.result {
            Ok(msg) => {
                let opts = AckOptions::new(
                    format!("ACK{}", msg.control_id().unwrap_or("")),
                    now.clone(),
                );
                ack::build(msg, AckCode::for_message(msg, Outcome::Accept), None, &opts)
            }
            Err(e) => {
                failed = true;
                eprintln!("{}: message {} rejected: {e}", path.display(), entry.number);
                // Answer from the header alone when the rest is unreadable:
                // in its MSH-18 charset (the ACK's text is written in it), or
                // read as ASCII so that an unsupported MSH-18 still gets its AR/CR.
                let header_len = entry
                    .bytes
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .unwrap_or(entry.bytes.len());
                let ascii = ParseOptions::default().with_charset(Charset::Ascii);
                let header = entry.bytes.get(..header_len).unwrap_or_default();
                match Message::parse(header).or_else(|_| Message::parse_with(header, &ascii)) {
                    Ok(header) => {
                        let opts = AckOptions::new(
                            format!("ACK{}", header.control_id().unwrap_or("")),
                            now.clone(),
                        );
                        let code = AckCode::for_message(&header, Outcome::Reject);
                        ack::build(&header, code, Some(&AckError::from_error(e)), &opts)
                    }
                    Err(_) => {
                        eprintln!(
                            "{}: message {}: no readable MSH, no ACK: {e}",
                            path.display(),
                            entry.number
                        );
                        continue;
                    }
                }
            }
        };
        let bytes = built?.to_bytes();
        if mllp {
            let mut framed = Vec::new();
            carecodec_hl7v2::mllp::encode(&bytes, &mut framed);
            out.write_all(&framed)?;
        } else {
            out.write_all(&bytes)?;
            out.write_all(b"\n")?;
        }
    }
    failed |= report_problems(path, r.summary());
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
