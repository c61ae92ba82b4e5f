//! `carecodec map`: HL7 v2, FHIR or ESR input to the canonical model (or UK Core).

use std::error::Error;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use carecodec_esr::filename::{ExtractType, FileName};
use carecodec_esr::layout::{self, Profile};
use carecodec_hl7v2::batch::{BatchReader, Problem};
use carecodec_map::esr::{
    DeletedRecord, EsrDeletion, EsrMapping, EsrOptions, FileUse, map_go_files,
};
use carecodec_map::fhir::{
    BundleType, JsonDocument, read_bundle, read_workers, write_deletions_bundle,
    write_event_bundle_for, write_event_bundle_noting, write_worker_bundle,
    write_worker_bundle_noting,
};
use carecodec_map::v2::{V2Options, map_patient_groups};
use carecodec_model::{Event, Identifier, MappingReport, NotWritten, Source, Worker};
use clap::ValueEnum;

use crate::io::read_all;

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// The canonical model as JSON, one document per message.
    Canonical,
    /// FHIR UK Core Bundles.
    Fhir,
}

/// The FHIR Bundle type to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Bundle {
    /// `transaction`: entries with requests (the Patient a conditional update).
    Transaction,
    /// `message`: a UK Core MessageHeader first, from the HL7 v2 MSH.
    Message,
}

impl From<Bundle> for BundleType {
    fn from(b: Bundle) -> BundleType {
        match b {
            Bundle::Transaction => BundleType::Transaction,
            Bundle::Message => BundleType::Message,
        }
    }
}

/// `carecodec map` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files (`-` for standard input): HL7 v2 messages or batch files,
    /// ESR Generic Outbound files (one canonical worker per person; the GO
    /// files of one VPD and sub-file, a full file and the change files after
    /// it, are applied in sequence and mapped once, after the other inputs),
    /// or FHIR JSON or XML (a Bundle or one resource).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output shape.
    #[arg(long, value_enum, default_value_t = Target::Canonical)]
    to: Target,
    /// With `--to fhir`, the Bundle type for HL7 v2 and FHIR input: a
    /// transaction, or a message with a MessageHeader first (ESR workers are
    /// always transactions).
    #[arg(long, value_enum, default_value_t = Bundle::Transaction)]
    bundle: Bundle,
    /// Write the mapping reports (unmapped leaves, invalid values, identity
    /// decisions) here as NDJSON, one per message (HL7 v2 byte spans count
    /// from the file's start; `offset` is the message's); an input or
    /// message not mapped at all (malformed, rejected) gets a line saying
    /// why (`rejected`); an ESR file's line gives its record counts
    /// (`records`: read = accepted + rejected); with `--to fhir`, a line
    /// also lists the model values its Bundles do not carry (`not_written`).
    #[arg(long)]
    report: Option<PathBuf>,
    /// IANA zone for times sent without an offset (when MSH-7 has none).
    #[arg(long, default_value = "Europe/London")]
    zone: String,
    /// ODS code of the trust, the authority of MRNs sent without one, and
    /// with `--to fhir` the scope keying the Locations (facility, ward, room,
    /// bed) of a message with no sending facility (MSH-4), or of a FHIR
    /// Bundle naming no sender. A blank one is none.
    #[arg(long)]
    trust_ods: Option<String>,
    /// ESR input: resolve date-tracked rows as at this date (YYYY-MM-DD);
    /// default the extract's creation date (HDR-2).
    #[arg(long)]
    as_at: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Hl7v2,
    Fhir,
    Esr,
    Unknown,
}

/// A quarantine decision's reason without its leading `quarantined: ` (the
/// line it is printed on says so already).
fn why(reason: &str) -> &str {
    reason.strip_prefix("quarantined: ").unwrap_or(reason)
}

/// `bytes` without a leading UTF-8 byte order mark.
fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The input's format, by its content; `name` (the file's name) makes an
/// empty or unrecognised file named like a GO file (`GO_…_….DAT`) ESR, so
/// its missing header is reported as the file error it is.
fn detect(bytes: &[u8], name: Option<&str>) -> Input {
    let b = strip_bom(bytes);
    let b = b.strip_prefix(b"\x0b").unwrap_or(b);
    let b = b.trim_ascii_start();
    match b.get(..4) {
        Some(b"MSH|" | b"FHS|" | b"BHS|") => Input::Hl7v2,
        Some(b"HDR~") => Input::Esr,
        _ if matches!(b.first(), Some(b'{' | b'<')) => Input::Fhir,
        _ if b.starts_with(b"MSH") => Input::Hl7v2,
        _ if go_record(b) || name.is_some_and(|n| FileName::parse(n).is_ok()) => Input::Esr,
        _ => Input::Unknown,
    }
}

/// True when `b` starts with a GO record (a known GDW or EXP record code,
/// its delete code, or `TRL`, then `~`): a GO file that lost its header.
fn go_record(b: &[u8]) -> bool {
    let (Some(code), Some(b'~')) = (
        b.get(..3).and_then(|c| std::str::from_utf8(c).ok()),
        b.get(3),
    ) else {
        return false;
    };
    code == "TRL"
        || [Profile::Gdw, Profile::Exp].into_iter().any(|p| {
            layout::layout(p, "01", code).is_some()
                || layout::deleted_layout(p, "01", code).is_some()
        })
}

/// ESR input's record accounting in a report line, as `esr check` counts
/// (HDR, TRL and blank lines are not records).
#[derive(serde::Serialize)]
struct Records {
    read: usize,
    accepted: usize,
    rejected: usize,
}

/// One line of the `--report` file: which file (and message of it) the
/// report is for, then the report.
#[derive(serde::Serialize)]
struct ReportLine<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<usize>,
    /// HL7 v2 input: the byte offset of the message in the file (its
    /// sources' spans count from the file's start, this offset included).
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<usize>,
    /// Why the input (a FHIR file, a file of no known format) or the HL7 v2
    /// message was not mapped at all (malformed, rejected by the parser, no
    /// MSH-9): nothing of it is in the output, and the run exits 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected: Option<&'a str>,
    /// HL7 v2 input: the patient group (1-based) of a message mapped as
    /// one event per patient (`map_patient_groups`).
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<usize>,
    /// ESR input: false when the file had a file error (it must not be
    /// applied as a delta), or, for several files, one was not applied.
    /// HL7 v2 input: false on the file's own line (no `message`) when its
    /// batch envelope has problems (its notes say which).
    #[serde(skip_serializing_if = "Option::is_none")]
    complete: Option<bool>,
    /// ESR input: the reader's record counts, of every file mapped together
    /// (`read == accepted + rejected`; each rejected row is also in the
    /// report's `invalid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<Records>,
    /// ESR input: the persons and assignments its delete rows remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    deleted: Vec<DeletedLine<'a>>,
    /// Written `--to fhir`: each model value of the workers (or the event)
    /// their Bundles do not carry (documented losses, not failures).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_written: Vec<NotWrittenLine<'a>>,
    report: &'a MappingReport,
}

/// One model value a Bundle does not carry, in a report line: for a worker,
/// its key (as its identity decision names it); then the field, the value,
/// its sources and why.
#[derive(serde::Serialize)]
struct NotWrittenLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    worker: Option<&'a Identifier>,
    #[serde(flatten)]
    value: NotWritten,
}

/// Writes `w`'s UK Core Bundle to `buf` (cleared first); when `not_written`
/// is kept (a report is asked for), the values the Bundle does not carry are
/// added to it under `key`.
fn write_worker<'a>(
    w: &Worker,
    key: Option<&'a Identifier>,
    buf: &mut Vec<u8>,
    not_written: Option<&mut Vec<NotWrittenLine<'a>>>,
) -> Result<(), carecodec_map::fhir::FhirError> {
    buf.clear();
    let Some(lines) = not_written else {
        return write_worker_bundle(w, buf);
    };
    let mut values = Vec::new();
    write_worker_bundle_noting(w, buf, &mut values)?;
    lines.extend(
        values
            .into_iter()
            .map(|value| NotWrittenLine { worker: key, value }),
    );
    Ok(())
}

/// One ESR deletion in a report line: what (`person`, `assignment`), its
/// VPD, the key of its FHIR id and the delete row.
#[derive(serde::Serialize)]
struct DeletedLine<'a> {
    what: &'static str,
    vpd: &'a str,
    key: &'a str,
    source: &'a Source,
}

impl<'a> From<&'a EsrDeletion> for DeletedLine<'a> {
    fn from(d: &'a EsrDeletion) -> Self {
        DeletedLine {
            what: match d.what {
                DeletedRecord::Person => "person",
                _ => "assignment",
            },
            vpd: &d.vpd,
            key: &d.key,
            source: &d.source,
        }
    }
}

/// Writes one report line, streamed: a whole ESR file's report can run to
/// hundreds of megabytes of JSON, which as a `serde_json::Value` tree took
/// gigabytes.
fn write_report(
    out: &mut impl Write,
    file: &str,
    (message, offset, group): (Option<usize>, Option<usize>, Option<usize>),
    report: &MappingReport,
    not_written: Vec<NotWritten>,
) -> Result<(), Box<dyn Error>> {
    let not_written = not_written
        .into_iter()
        .map(|value| NotWrittenLine {
            worker: None,
            value,
        })
        .collect();
    serde_json::to_writer(
        &mut *out,
        &ReportLine {
            file,
            message,
            offset,
            rejected: None,
            group,
            complete: None,
            records: None,
            deleted: Vec::new(),
            not_written,
            report,
        },
    )?;
    Ok(())
}

/// Says on stderr that `file` (or its message `message`, at byte `offset`)
/// was not mapped and why, and with a report writes a line for it
/// (`rejected`: the reason, also its report's note). The caller goes on with
/// the other inputs (messages) and the run exits 1.
fn rejected(
    report: Option<&mut BufWriter<File>>,
    file: &str,
    (message, offset): (Option<usize>, Option<usize>),
    why: &str,
) -> Result<(), Box<dyn Error>> {
    match message {
        Some(n) => eprintln!("{file}: message {n} rejected: {why}"),
        None => eprintln!("{file}: not mapped: {why} (the other inputs are mapped)"),
    }
    if let Some(r) = report {
        let note = match message {
            Some(n) => format!("message {n} rejected, not mapped: {why}"),
            None => format!("not mapped: {why}"),
        };
        let report = MappingReport {
            notes: vec![note],
            ..MappingReport::default()
        };
        serde_json::to_writer(
            &mut *r,
            &ReportLine {
                file,
                message,
                offset,
                rejected: Some(why),
                group: None,
                complete: None,
                records: None,
                deleted: Vec::new(),
                not_written: Vec::new(),
                report: &report,
            },
        )?;
        r.write_all(b"\n")?;
    }
    Ok(())
}

/// Runs `carecodec map`.
pub fn run(args: Args) -> Result<ExitCode, Box<dyn Error>> {
    let zone: chrono_tz::Tz = args
        .zone
        .parse()
        .map_err(|e| format!("--zone {:?}: {e}", args.zone))?;
    let mut opts = V2Options::default().zone(zone);
    if let Some(ods) = &args.trust_ods {
        opts = opts.trust_ods(ods);
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    // One Bundle's JSON at a time, reused.
    let mut buf = Vec::with_capacity(1 << 14);
    let mut report_out = match &args.report {
        Some(p) => Some(BufWriter::new(File::create(p)?)),
        None => None,
    };
    let (mut quarantined, mut failed) = (0usize, false);
    // ESR GO files: (name as given, bytes).
    let mut esr: Vec<EsrInput> = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let bytes = read_all(path)?;
        match detect(&bytes, path.file_name().and_then(|n| n.to_str())) {
            Input::Hl7v2 => {}
            Input::Fhir => {
                // FHIR XML is read as the FHIR JSON it converts to (losslessly:
                // decimals, extensions and `_element`s included), so sources
                // are the same element paths either way.
                // A malformed file is reported (stderr and report) and the
                // run goes on with the other inputs (exit 1).
                let json;
                let text: &[u8] = if strip_bom(&bytes).trim_ascii_start().starts_with(b"<") {
                    match carecodec_fhir::xml::xml_to_json(&bytes) {
                        Ok(j) => json = j,
                        Err(e) => {
                            failed = true;
                            let why = format!("not FHIR XML: {e}");
                            rejected(report_out.as_mut(), &name, (None, None), &why)?;
                            continue;
                        }
                    }
                    json.as_bytes()
                } else {
                    &bytes
                };
                // Numbers as sent: a `Value` alone would turn `4.50` into `4.5`.
                let doc = match JsonDocument::from_slice(strip_bom(text)) {
                    Ok(d) => d,
                    Err(e) => {
                        failed = true;
                        let why = format!("not FHIR JSON: {e}");
                        rejected(report_out.as_mut(), &name, (None, None), &why)?;
                        continue;
                    }
                };
                if is_workforce(doc.value()) {
                    // Practitioners and their roles, no Patient: one worker each.
                    let (workers, report) = read_workers(&doc);
                    let mut not_written = Vec::new();
                    for (i, w) in workers.iter().enumerate() {
                        if args.to == Target::Fhir {
                            let key = report.identity.get(i).and_then(|d| d.key.as_ref());
                            let lines = report_out.is_some().then_some(&mut not_written);
                            match write_worker(w, key, &mut buf, lines) {
                                Ok(()) => out.write_all(&buf)?,
                                Err(e) => {
                                    quarantined += 1;
                                    eprintln!("{name}: {e}");
                                    continue;
                                }
                            }
                        } else {
                            serde_json::to_writer(&mut out, w)?;
                        }
                        out.write_all(b"\n")?;
                    }
                    if report.quarantined() {
                        quarantined += 1;
                        eprintln!(
                            "{name}: quarantined: a Practitioner without an ESR person id or a valid professional registration"
                        );
                    }
                    if let Some(r) = report_out.as_mut() {
                        serde_json::to_writer(
                            &mut *r,
                            &ReportLine {
                                file: &name,
                                message: None,
                                offset: None,
                                rejected: None,
                                group: None,
                                complete: None,
                                records: None,
                                deleted: Vec::new(),
                                not_written,
                                report: &report,
                            },
                        )?;
                        r.write_all(b"\n")?;
                    }
                    continue;
                }
                let (event, report) = read_bundle(&doc);
                if report.quarantined() {
                    quarantined += 1;
                    // The decision says why (no usable identifier, a modifier
                    // extension, a document that is not a resource…).
                    let why = report
                        .identity
                        .iter()
                        .find(|d| d.quarantined())
                        .map_or("quarantined: no usable patient identifier", |d| {
                            d.reason.as_str()
                        });
                    eprintln!("{name}: {why}");
                }
                // A quarantined record gets no Bundle (reported above, exit
                // 1), though its event may have no patient to refuse.
                let skip = report.quarantined();
                let mut not_written = Vec::new();
                let lost = report_out.is_some().then_some(&mut not_written);
                failed |= !write_event(&mut out, &mut buf, &event, skip, &args, &name, lost)?;
                if let Some(r) = report_out.as_mut() {
                    write_report(r, &name, (None, None, None), &report, not_written)?;
                    r.write_all(b"\n")?;
                }
                continue;
            }
            Input::Esr => {
                // Mapped after the other inputs: several GO files are one
                // state (a full file and the change files after it).
                esr.push((name, bytes));
                continue;
            }
            Input::Unknown => {
                failed = true;
                let why = "not HL7 v2, FHIR or ESR";
                rejected(report_out.as_mut(), &name, (None, None), why)?;
                continue;
            }
        }
        let mut reader = BatchReader::new(&bytes[..]);
        while let Some(entry) = reader.next_message() {
            // A rejected message gets a report line too (`rejected`).
            let at = (Some(entry.number), Some(entry.offset));
            let msg = match entry.result {
                Ok(m) => m,
                Err(e) => {
                    failed = true;
                    rejected(report_out.as_mut(), &name, at, &e.to_string())?;
                    continue;
                }
            };
            // Spans count from the file's start (a batch's later messages
            // included).
            opts.file_offset = entry.offset;
            // One event per patient group: an ORU^R01 of several patients'
            // results (or an A40 of several merges) is one per patient.
            let groups = match map_patient_groups(&msg, &opts) {
                Ok(x) => x,
                Err(e) => {
                    failed = true;
                    rejected(report_out.as_mut(), &name, at, &e.to_string())?;
                    continue;
                }
            };
            let split = groups.len() > 1;
            for (k, (event, report)) in groups.iter().enumerate() {
                let label = match split {
                    true => format!("{name}: message {} patient group {}", entry.number, k + 1),
                    false => format!("{name}: message {}", entry.number),
                };
                if report.quarantined() {
                    quarantined += 1;
                    // Every reason (a message with a second patient's group
                    // whose first patient has no key has two).
                    let reasons: Vec<&str> = report
                        .identity
                        .iter()
                        .filter(|d| d.quarantined())
                        .map(|d| why(&d.reason))
                        .collect();
                    eprintln!(
                        "{label} quarantined: {}",
                        if reasons.is_empty() {
                            "no patient".to_owned()
                        } else {
                            reasons.join("; ")
                        }
                    );
                }
                // A quarantined message (no patient key, or an ADT event
                // with no PID) gets no Bundle (reported above, exit 1).
                let skip = report.quarantined();
                let mut not_written = Vec::new();
                let lost = report_out.is_some().then_some(&mut not_written);
                failed |= !write_event(&mut out, &mut buf, event, skip, &args, &label, lost)?;
                if let Some(r) = report_out.as_mut() {
                    let group = split.then_some(k + 1);
                    let at = (Some(entry.number), Some(entry.offset), group);
                    write_report(r, &name, at, report, not_written)?;
                    r.write_all(b"\n")?;
                }
            }
        }
        // Envelope problems (trailer counts, missing trailers, lines outside
        // any message): messages may have been lost, as `hl7 check` says.
        if envelope_problems(&name, &reader.summary().problems, report_out.as_mut())? {
            failed = true;
        }
    }
    if !esr.is_empty() {
        let opts = match args.as_at {
            Some(d) => EsrOptions::new(d),
            None => EsrOptions::at_extract_date(),
        };
        let groups = esr_groups(&esr);
        if args.to == Target::Fhir && shared_vpds(&groups) {
            failed = true;
        }
        for group in groups {
            // One file through `map_go_files` is `map_go` (and says what
            // the file is, from its GO name or else its header's). Each file
            // is named as given (its sources and notes tell two files of one
            // name in two folders apart); the GO name is its last component.
            let mapped = map_go_files(
                group
                    .iter()
                    .map(|(name, bytes)| (Some(name.as_str()), &bytes[..])),
                &opts,
            );
            let label = group
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(" + ");
            // The state starts from the last file it was based on (the
            // first, or a full file re-basing it): a change file there holds
            // only the rows that changed.
            let changes = mapped
                .files
                .iter()
                .rev()
                .find(|f| matches!(f.applied, FileUse::Base | FileUse::Rebase))
                .is_some_and(|f| f.extract == Some(ExtractType::Changes));
            let mut sink = Sink {
                out: &mut out,
                buf: &mut buf,
                report: report_out.as_mut(),
                quarantined: &mut quarantined,
                failed: &mut failed,
            };
            write_esr(&mut sink, &label, &mapped, changes, args.to)?;
        }
    }
    out.flush()?;
    if let Some(mut r) = report_out {
        r.flush()?;
    }
    Ok(if quarantined > 0 || failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Says on stderr what is wrong with an HL7 v2 file's batch envelope (each
/// problem as `hl7 check` finds it, then why it matters) and, with a report,
/// writes a line for the file (`"complete": false`, the problems as its
/// notes). True when there was any problem (the run exits 1).
fn envelope_problems(
    name: &str,
    problems: &[Problem],
    report: Option<&mut BufWriter<File>>,
) -> Result<bool, Box<dyn Error>> {
    if problems.is_empty() {
        return Ok(false);
    }
    for p in problems {
        eprintln!("{name}:{}: {p}", p.line);
    }
    let why = "the batch envelope does not match the messages read (messages may be \
               missing): the file is incomplete and must not be applied as if whole";
    eprintln!("{name}: {why}");
    if let Some(r) = report {
        let mut notes: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        notes.push(why.to_owned());
        let file_report = MappingReport {
            notes,
            ..MappingReport::default()
        };
        serde_json::to_writer(
            &mut *r,
            &ReportLine {
                file: name,
                message: None,
                offset: None,
                rejected: None,
                group: None,
                complete: Some(false),
                records: None,
                deleted: Vec::new(),
                not_written: Vec::new(),
                report: &file_report,
            },
        )?;
        r.write_all(b"\n")?;
    }
    Ok(true)
}

/// Writes `event` as one line: its UK Core Bundle (`--to fhir`; nothing when
/// `quarantined`, which the caller has reported) or its canonical JSON.
/// With `not_written` (a report is asked for), a Bundle's writer adds the
/// event's values it does not carry to it. Returns false when the writer
/// refused a Bundle the mapping did not quarantine (said on stderr under
/// `name`: the run exits 1).
fn write_event(
    out: &mut impl Write,
    buf: &mut Vec<u8>,
    event: &Event,
    quarantined: bool,
    args: &Args,
    name: &str,
    not_written: Option<&mut Vec<NotWritten>>,
) -> Result<bool, Box<dyn Error>> {
    if args.to != Target::Fhir {
        serde_json::to_writer(&mut *out, event)?;
        out.write_all(b"\n")?;
        return Ok(true);
    }
    if quarantined {
        return Ok(true);
    }
    buf.clear();
    let (kind, trust_ods) = (args.bundle.into(), args.trust_ods.as_deref());
    let written = match not_written {
        Some(list) => write_event_bundle_noting(event, kind, trust_ods, buf, list),
        None => write_event_bundle_for(event, kind, trust_ods, buf),
    };
    match written {
        Ok(()) => {
            out.write_all(buf)?;
            out.write_all(b"\n")?;
            Ok(true)
        }
        Err(e) => {
            eprintln!("{name}: no Bundle: {e}");
            Ok(false)
        }
    }
}

/// An ESR GO input: its name as given (the path; its last component is the
/// GO name), its bytes.
type EsrInput = (String, Vec<u8>);

/// The ESR GO files of a run, grouped into the states they make: the files
/// of one VPD and sub-file (from their GO names) are one state, applied in
/// sequence; a file whose name is not a GO name is a state of its own.
/// Groups in the order of their first file.
fn esr_groups(files: &[EsrInput]) -> Vec<Vec<&EsrInput>> {
    let mut keys: Vec<Option<(String, String)>> = Vec::new();
    let mut groups: Vec<Vec<&EsrInput>> = Vec::new();
    for f in files {
        // `FileName::parse` reads the last component of the path.
        let key = FileName::parse(&f.0).ok().map(|n| (n.vpd, n.sub_file));
        match key
            .as_ref()
            .and_then(|k| keys.iter().position(|g| g.as_ref() == Some(k)))
        {
            Some(i) => {
                if let Some(g) = groups.get_mut(i) {
                    g.push(f);
                }
            }
            None => {
                keys.push(key);
                groups.push(vec![f]);
            }
        }
    }
    groups
}

/// Says on stderr, once per VPD, when two or more states of a run (GO files
/// of one VPD, different sub-files: GDW and EXP) are written to FHIR: their
/// Practitioners (and roles) are keyed on (VPD, person id) alone, so each
/// state's Bundles replace the other's. True when it did (the run fails).
fn shared_vpds(groups: &[Vec<&EsrInput>]) -> bool {
    let mut by_vpd: Vec<(String, Vec<String>)> = Vec::new();
    for g in groups {
        let Some(n) = g.first().and_then(|f| FileName::parse(&f.0).ok()) else {
            continue;
        };
        match by_vpd.iter_mut().find(|(v, _)| *v == n.vpd) {
            Some((_, subs)) => subs.push(n.sub_file),
            None => by_vpd.push((n.vpd, vec![n.sub_file])),
        }
    }
    let mut shared = false;
    for (vpd, subs) in by_vpd.iter().filter(|(_, s)| s.len() > 1) {
        shared = true;
        eprintln!(
            "VPD {vpd}: sub-files {} are mapped as separate states: each state's Bundles PUT \
             the same Practitioner and PractitionerRole ids and replace the other's (load one \
             sub-file's output per server, or merge the workers)",
            subs.join(" and ")
        );
    }
    shared
}

/// Where ESR output goes, and the run's counts.
struct Sink<'a, W: Write, R: Write> {
    out: &'a mut W,
    buf: &'a mut Vec<u8>,
    report: Option<&'a mut R>,
    quarantined: &'a mut usize,
    failed: &'a mut bool,
}

/// Writes the workers of an ESR mapping (one file, or several applied as
/// one state), its warnings and failure, and its report line. `changes`:
/// the state starts from a change file (warned of).
fn write_esr<W: Write, R: Write>(
    sink: &mut Sink<'_, W, R>,
    name: &str,
    mapped: &EsrMapping,
    changes: bool,
    to: Target,
) -> Result<(), Box<dyn Error>> {
    // With a report, what the workers' Bundles do not carry.
    let mut not_written = Vec::new();
    for (w, d) in mapped.workers.iter().zip(&mapped.report.identity) {
        if d.quarantined() {
            *sink.quarantined += 1;
            eprintln!("{name}: worker quarantined: {}", why(&d.reason));
        }
        if to == Target::Fhir {
            let lines = sink.report.is_some().then_some(&mut not_written);
            match write_worker(w, d.key.as_ref(), sink.buf, lines) {
                Ok(()) => sink.out.write_all(sink.buf)?,
                Err(e) => {
                    // A worker with no Bundle is not written: exit 1.
                    *sink.failed = true;
                    eprintln!("{name}: {e}");
                    continue;
                }
            }
        } else {
            serde_json::to_writer(&mut *sink.out, w)?;
        }
        sink.out.write_all(b"\n")?;
    }
    // The persons and assignments deleted: one Bundle of DELETEs, after the
    // workers, for what earlier runs sent.
    if to == Target::Fhir && !mapped.deleted.is_empty() {
        sink.buf.clear();
        match write_deletions_bundle(&mapped.deleted, sink.buf) {
            Ok(()) => {
                sink.out.write_all(sink.buf)?;
                sink.out.write_all(b"\n")?;
            }
            Err(e) => {
                *sink.failed = true;
                eprintln!("{name}: deletions not written: {e}");
            }
        }
    }
    // A change file with no full file before it holds only the rows that
    // changed: each worker's Bundle (an update by id) would replace the
    // server's copy with that part. Said once, and a failure: the output
    // must not be loaded as it is (to canonical it is what the file says).
    if changes && to == Target::Fhir && !mapped.workers.is_empty() {
        eprintln!(
            "{name}: warning: a change file: each worker's Bundle holds only what this \
             file holds, and its PUT replaces the whole Practitioner (apply it to the \
             state of the full file instead of loading it alone)"
        );
        *sink.failed = true;
    }
    // An incomplete file, a file not applied, rejected rows or nothing
    // resolved: the workers are not the files' whole truth (exit 1).
    if let Some(why) = mapped.failure() {
        *sink.failed = true;
        eprintln!("{name}: {why}");
    }
    if let Some(r) = sink.report.as_mut() {
        serde_json::to_writer(
            &mut **r,
            &ReportLine {
                file: name,
                message: None,
                offset: None,
                rejected: None,
                group: None,
                complete: Some(mapped.complete),
                records: Some(Records {
                    read: mapped.read,
                    accepted: mapped.accepted,
                    rejected: mapped.rejected,
                }),
                deleted: mapped.deleted.iter().map(DeletedLine::from).collect(),
                not_written,
                report: &mapped.report,
            },
        )?;
        r.write_all(b"\n")?;
    }
    Ok(())
}

/// A FHIR document about the workforce: Practitioners (or PractitionerRoles)
/// and no Patient.
fn is_workforce(doc: &serde_json::Value) -> bool {
    let types: Vec<&str> = match doc.get("entry").and_then(serde_json::Value::as_array) {
        Some(entries) => entries
            .iter()
            .filter_map(|e| e.pointer("/resource/resourceType"))
            .filter_map(serde_json::Value::as_str)
            .collect(),
        None => doc
            .get("resourceType")
            .and_then(serde_json::Value::as_str)
            .into_iter()
            .collect(),
    };
    types.contains(&"Practitioner") && !types.contains(&"Patient")
}
