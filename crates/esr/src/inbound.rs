//! The inbound element-entry file (`TA_<VPD>_<SUPPLIER>_<period>_<SEQ8>.DAT`),
//! sent by a supplier to ESR: comma-delimited, text values in double quotes,
//! CR-only record separators (LF and CRLF are read, with a warning), `HDR` / `ATT`… / `FTR`
//! with the `ATT` count.
//!
//! ```
//! use carecodec_esr::inbound::{read, write, Attendance, InboundHeader};
//! use chrono::NaiveDate;
//!
//! let header = InboundHeader::new("TA_999_SEL_MN2511_00000001.DAT", "20250228180000", "SEL", "999", "M", "N", "11");
//! let mut att = Attendance::new(NaiveDate::from_ymd_opt(2025, 2, 28).unwrap(), "90000001", "Business Miles NR NHS");
//! att.values.push(("Claim Start Date".into(), "03-Feb-2025".into()));
//! att.values.push(("Claimed Mileage".into(), "24".into()));
//! let bytes = write(&header, &[att.clone()]).unwrap();
//! assert!(bytes.ends_with(b"FTR,1,0"));
//! let back = read(&bytes).unwrap();
//! assert!(back.problems.is_empty());
//! assert_eq!(back.records[0].to_attendance().unwrap(), att);
//! ```

use chrono::NaiveDate;

use crate::bi::{control_bytes, field_starts};
use crate::filename::InboundFileName;
use crate::problem::{Problem, ProblemKind, Severity};
use crate::reader::Counts;
use crate::value::parse_date;

/// Fields in an `ATT` record.
///
/// ```
/// use carecodec_esr::inbound::{read, write, Attendance, InboundHeader, ATT_FIELDS};
/// use chrono::NaiveDate;
///
/// let header = InboundHeader::new("TA_999_SEL_MN2511_00000001.DAT", "20250228180000", "SEL", "999", "M", "N", "11");
/// let att = Attendance::new(NaiveDate::from_ymd_opt(2025, 2, 28).ok_or("date")?, "90000001", "Overtime");
/// let back = read(&write(&header, &[att])?)?;
/// assert_eq!(back.records[0].fields.len(), ATT_FIELDS);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const ATT_FIELDS: usize = 40;

/// The `HDR` record.
///
/// ```
/// use carecodec_esr::inbound::{read, write, InboundHeader};
///
/// let header = InboundHeader::new("TA_999_SEL_MN2511_00000001.DAT", "20250228180000", "SEL", "999", "M", "N", "11");
/// let back = read(&write(&header, &[])?)?;
/// assert_eq!(back.header, header);
/// assert_eq!(back.header.tax_period, "11");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct InboundHeader {
    /// The file name.
    pub file_name: String,
    /// Created, `YYYYMMDDHHMMSS`.
    pub created: String,
    /// Supplier code.
    pub supplier: String,
    /// VPD.
    pub vpd: String,
    /// Period type (`W`, `M`, `L`, `B`).
    pub period_type: String,
    /// Period run (`N` normal, `S` supplementary).
    pub period_run: String,
    /// Tax period.
    pub tax_period: String,
}

impl InboundHeader {
    /// A header.
    ///
    /// ```
    /// use carecodec_esr::inbound::{write, InboundHeader};
    ///
    /// let header = InboundHeader::new("TA_999_SEL_MN2511_00000001.DAT", "20250228180000", "SEL", "999", "M", "N", "11");
    /// assert_eq!((header.vpd.as_str(), header.period_type.as_str()), ("999", "M"));
    /// assert_eq!(write(&header, &[])?, b"HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\rFTR,0,0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        file_name: &str,
        created: &str,
        supplier: &str,
        vpd: &str,
        period_type: &str,
        period_run: &str,
        tax_period: &str,
    ) -> InboundHeader {
        InboundHeader {
            file_name: file_name.into(),
            created: created.into(),
            supplier: supplier.into(),
            vpd: vpd.into(),
            period_type: period_type.into(),
            period_run: period_run.into(),
            tax_period: tax_period.into(),
        }
    }
}

/// One element entry to send (an `ATT` record).
///
/// ```
/// use carecodec_esr::inbound::{read, write, Attendance, InboundHeader};
/// use chrono::NaiveDate;
///
/// let header = InboundHeader::new("TA_999_SEL_MN2511_00000001.DAT", "20250228180000", "SEL", "999", "M", "N", "11");
/// let mut att = Attendance::new(NaiveDate::from_ymd_opt(2025, 2, 28).ok_or("date")?, "90000001-2", "Overtime");
/// att.values.push(("Hours".into(), "7.5".into()));
/// let back = read(&write(&header, &[att.clone()])?)?;
/// assert_eq!(back.records[0].to_attendance(), Some(att));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attendance {
    /// Entry date.
    pub date: NaiveDate,
    /// Action (`ADD`).
    pub action: String,
    /// Assignment number.
    pub assignment_number: String,
    /// Element name (per-trust configuration).
    pub element: String,
    /// (input value name, value) pairs, at most 16; dates as `DD-Mon-YYYY`.
    pub values: Vec<(String, String)>,
}

impl Attendance {
    /// An `ADD` entry with no values yet.
    ///
    /// ```
    /// use carecodec_esr::inbound::Attendance;
    /// use chrono::NaiveDate;
    ///
    /// let att = Attendance::new(NaiveDate::from_ymd_opt(2025, 2, 28).ok_or("date")?, "90000001", "Overtime");
    /// assert_eq!((att.action.as_str(), att.element.as_str()), ("ADD", "Overtime"));
    /// assert!(att.values.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(date: NaiveDate, assignment_number: &str, element: &str) -> Attendance {
        Attendance {
            date,
            action: "ADD".into(),
            assignment_number: assignment_number.into(),
            element: element.into(),
            values: Vec::new(),
        }
    }
}

/// A record read back: its line and raw fields.
///
/// ```
/// use carecodec_esr::inbound::{read, write, Attendance, InboundHeader};
/// use chrono::NaiveDate;
///
/// let header = InboundHeader::new("TA_999_SEL_MN2511_00000001.DAT", "20250228180000", "SEL", "999", "M", "N", "11");
/// let att = Attendance::new(NaiveDate::from_ymd_opt(2025, 2, 28).ok_or("date")?, "90000001", "Overtime");
/// let back = read(&write(&header, &[att])?)?;
/// let rec = &back.records[0];
/// assert_eq!((rec.line, rec.accepted), (2, true));
/// assert_eq!(rec.fields[0], "ATT");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundRecord {
    /// 1-based line (lines end with CR, LF or CRLF; blank lines count).
    pub line: u64,
    /// The fields, unquoted.
    pub fields: Vec<String>,
    /// Well formed (40 fields, a valid entry date): its fields are where the layout says.
    /// A rejected record's problems are in [`InboundFile::problems`] at its line.
    pub accepted: bool,
}

impl InboundRecord {
    /// The record as an [`Attendance`], when it is a well-formed `ATT` (accepted).
    ///
    /// ```
    /// use carecodec_esr::inbound::read;
    ///
    /// // An ATT row with too few fields is read, rejected, and not an attendance.
    /// let back = read(b"HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\rATT,28-Feb-2025\rFTR,1,0")?;
    /// assert!(!back.records[0].accepted);
    /// assert_eq!(back.records[0].to_attendance(), None);
    /// assert!(!back.problems.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_attendance(&self) -> Option<Attendance> {
        if !self.accepted {
            return None;
        }
        let f = |i: usize| self.fields.get(i).map(String::as_str).unwrap_or("");
        let date = parse_date(f(1).as_bytes())?;
        let mut values = Vec::new();
        let mut i = 7;
        while i + 1 < self.fields.len() {
            let (n, v) = (f(i), f(i + 1));
            if !n.is_empty() || !v.is_empty() {
                values.push((n.to_owned(), v.to_owned()));
            }
            i += 2;
        }
        Some(Attendance {
            date,
            action: f(2).into(),
            assignment_number: f(4).into(),
            element: f(6).into(),
            values,
        })
    }
}

/// An inbound file read.
///
/// ```
/// use carecodec_esr::inbound::read;
/// use carecodec_esr::ProblemKind;
///
/// let back = read(b"HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\rFTR,2,0")?;
/// assert_eq!(back.footer, Some(2));
/// assert!(back.records.is_empty());
/// assert!(back.problems.iter().any(|p| matches!(p.kind, ProblemKind::FooterCountMismatch { declared: 2, actual: 0 })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct InboundFile {
    /// The header.
    pub header: InboundHeader,
    /// The `ATT` records.
    pub records: Vec<InboundRecord>,
    /// The footer's count, when present.
    pub footer: Option<u64>,
    /// Every problem.
    pub problems: Vec<Problem>,
    /// `ATT` records: read = accepted + rejected.
    pub summary: Counts,
}

fn is_dd_mon_yyyy(v: &str) -> bool {
    let b = v.as_bytes();
    matches!(b, [d1, d2, b'-', m1, m2, m3, b'-', y1, y2, y3, y4]
        if [d1, d2, y1, y2, y3, y4].iter().all(|c| c.is_ascii_digit())
            && [m1, m2, m3].iter().all(|c| c.is_ascii_alphabetic()))
}

/// Looks like a `DD-Mon-YYYY` date but is not one (e.g. `23 - Mar - 2012`).
fn malformed_date(v: &str) -> bool {
    let squeezed: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed != v && is_dd_mon_yyyy(&squeezed)
}

/// Where the reader is in the file: before, inside, or after its `HDR` … `FTR` body.
#[derive(Default)]
struct ReadState {
    header_seen: bool,
    /// A second `HDR` was read (before any `FTR`).
    second_header: bool,
    footer_seen: bool,
    /// `ContentAfterFooter` has been reported as a file error.
    after_footer_flagged: bool,
    lf_reported: bool,
    /// The (first) header's line, byte offset and field starts in its line.
    header_at: (u64, u64, Vec<usize>),
}

/// The next line of `bytes` from `pos`: its length and its terminator's (CR, LF or CRLF;
/// 0 at the end of the file), and whether the terminator holds an LF.
fn next_line(bytes: &[u8], pos: usize) -> (usize, usize, bool) {
    let rest = bytes.get(pos..).unwrap_or_default();
    match memchr::memchr2(b'\r', b'\n', rest) {
        Some(i) => match (rest.get(i), rest.get(i + 1)) {
            (Some(b'\r'), Some(b'\n')) => (i, 2, true),
            (Some(b'\r'), _) => (i, 1, false),
            _ => (i, 1, true),
        },
        None => (rest.len(), 0, false),
    }
}

/// The comma-separated, optionally quoted fields of one line (which holds no line break),
/// as bytes.
fn split_line(line: &[u8]) -> Result<csv::ByteRecord, csv::Error> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line);
    let mut rec = csv::ByteRecord::new();
    rdr.read_byte_record(&mut rec)?;
    Ok(rec)
}

/// Reads an inbound file. Records end with CR (the format's terminator), LF or CRLF (reported
/// once, `LfLineEnds`, and read as line ends): a multi-record file is never read as one record,
/// and a lost quote cannot run past its line. Every `ATT` row is read and counted (read =
/// accepted + rejected); one with an error is rejected: not 40 fields, a bad entry date, a
/// malformed date, bytes that are not UTF-8 (`InvalidText`, at the first such byte; the text is
/// decoded lossily; inbound files are ASCII), a row after the `FTR` (`ContentAfterFooter`) or
/// after a second `HDR` (`AfterDuplicateHeader`). Content after the footer and a second header
/// are also file errors; the first `HDR` is the header. A blank line is a warning, not a record.
/// Only a failure of the CSV engine is an `Err`; everything about the content is a [`Problem`].
///
/// ```
/// use carecodec_esr::inbound::read;
/// use carecodec_esr::{ProblemKind, Severity};
///
/// let back = read(b"HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\r")?;
/// assert_eq!(back.header.supplier, "SEL");
/// assert!(back.problems.iter().any(|p| p.kind == ProblemKind::MissingFooter));
///
/// // LF line ends: read line by line, with a warning.
/// let back = read(b"HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\nFTR,0,0\n")?;
/// assert_eq!((back.header.tax_period.as_str(), back.footer), ("11", Some(0)));
/// assert_eq!(back.problems[0].kind, ProblemKind::LfLineEnds);
/// assert_eq!(back.problems[0].severity, Severity::Warning);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read(bytes: &[u8]) -> Result<InboundFile, csv::Error> {
    read_named(bytes, None)
}

/// Reads an inbound file as [`read()`] does, and checks `file_name`, the transport file name
/// (a path's directories are ignored), as the Generic Outbound reader checks its name: a name
/// that does not follow `TA_<VPD>_<SUPPLIER>_<type><run><YY><PP>_<SEQ8>.DAT`
/// ([`InboundFileName`]) is a file error (`BadFileName`: the name carries the VPD and the
/// sequence number a file is filed and ordered by), a header naming another file a warning
/// (`HeaderFileNameMismatch`), a header VPD other than the name's a file error
/// (`VpdMismatch`). `None` checks no name, as [`read()`].
///
/// ```
/// use carecodec_esr::inbound::read_named;
/// use carecodec_esr::{ProblemKind, Severity};
///
/// let file = b"HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\rFTR,0,0";
/// assert!(read_named(file, Some("in/TA_999_SEL_MN2511_00000001.DAT"))?.problems.is_empty());
/// let back = read_named(file, Some("payroll.DAT"))?;
/// assert_eq!(back.problems[0].severity, Severity::File);
/// assert!(matches!(back.problems[0].kind, ProblemKind::BadFileName(_)));
/// let back = read_named(file, Some("TA_999_SEL_MN2511_00000002.DAT"))?;
/// assert!(matches!(back.problems[0].kind, ProblemKind::HeaderFileNameMismatch { .. }));
/// assert_eq!(back.problems[0].severity, Severity::Warning);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_named(bytes: &[u8], file_name: Option<&str>) -> Result<InboundFile, csv::Error> {
    let mut out = InboundFile::default();
    let name = file_name.map(|n| (n, InboundFileName::parse(n)));
    if let Some((raw, Err(why))) = &name {
        out.problems.push(
            Problem::new(
                Severity::File,
                ProblemKind::BadFileName((*why).into()),
                0,
                0,
            )
            .with_raw(raw.as_bytes()),
        );
    }
    let mut st = ReadState::default();
    let mut pos = 0usize;
    let mut n = 0u64;
    while pos < bytes.len() {
        let (len, term, lf) = next_line(bytes, pos);
        let offset = pos as u64;
        let line = bytes.get(pos..pos + len).unwrap_or_default();
        pos += len + term;
        n += 1;
        if lf && !st.lf_reported {
            st.lf_reported = true;
            out.problems.push(Problem::new(
                Severity::Warning,
                ProblemKind::LfLineEnds,
                n,
                offset + len as u64,
            ));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            out.problems.push(
                Problem::new(Severity::Warning, ProblemKind::BlankLine, n, offset).with_raw(line),
            );
            continue;
        }
        let raw = split_line(line)?;
        let fields: Vec<String> = raw
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let code = fields.first().map_or("", String::as_str);
        let is_att = code == "ATT";
        // Not UTF-8: where the first bad byte is, and in which field.
        let bad_text = std::str::from_utf8(line).err().map(|e| {
            let field = raw.iter().position(|f| std::str::from_utf8(f).is_err());
            let severity = if is_att {
                Severity::Error
            } else {
                Severity::File
            };
            let p = Problem::new(
                severity,
                ProblemKind::InvalidText,
                n,
                offset + e.valid_up_to() as u64,
            )
            .in_record(code.as_bytes());
            match field.and_then(|i| raw.get(i).map(|f| (i, f))) {
                Some((i, f)) => p.in_field(i, None, f),
                None => p.with_raw(line),
            }
        });
        // A control character in a value: kept as read, a warning at its byte.
        let controls: Vec<Problem> = control_bytes(line)
            .into_iter()
            .map(|(i, at, b)| {
                let field = raw.get(i).unwrap_or_default();
                Problem::new(
                    Severity::Warning,
                    ProblemKind::ControlCharacter(b),
                    n,
                    offset + at as u64,
                )
                .in_record(code.as_bytes())
                .in_field(i, field_name(code, i), field)
            })
            .collect();
        let file_problem = |kind| {
            Problem::new(Severity::File, kind, n, offset)
                .in_record(code.as_bytes())
                .with_raw(line)
        };
        if st.footer_seen && (!st.after_footer_flagged || !is_att) {
            st.after_footer_flagged = true;
            out.problems
                .push(file_problem(ProblemKind::ContentAfterFooter));
        }
        if is_att {
            let outside = if st.footer_seen {
                Some(ProblemKind::ContentAfterFooter)
            } else if st.second_header {
                Some(ProblemKind::AfterDuplicateHeader)
            } else {
                None
            };
            read_att(&mut out, fields, n, offset, outside, bad_text);
            out.problems.extend(controls);
            continue;
        }
        if st.footer_seen {
            // Reported above; a second HDR or FTR does not change the file read.
            continue;
        }
        out.problems.extend(bad_text);
        out.problems.extend(controls);
        let problem = |kind| Problem::new(Severity::Error, kind, n, offset);
        match code {
            "HDR" if st.header_seen => {
                st.second_header = true;
                out.problems
                    .push(file_problem(ProblemKind::DuplicateHeader));
            }
            "HDR" => {
                st.header_seen = true;
                let starts = field_starts(line);
                st.header_at = (n, offset, starts);
                if fields.len() != 8 {
                    out.problems
                        .push(problem(ProblemKind::BadHeader("HDR has not 8 fields")));
                }
                let f = |i: usize| fields.get(i).cloned().unwrap_or_default();
                out.header = InboundHeader {
                    file_name: f(1),
                    created: f(2),
                    supplier: f(3),
                    vpd: f(4),
                    period_type: f(5),
                    period_run: f(6),
                    tax_period: f(7),
                };
            }
            "FTR" => {
                st.footer_seen = true;
                let declared = fields.get(1).and_then(|s| s.trim().parse::<u64>().ok());
                out.footer = declared;
                let actual = out.records.len() as u64;
                if declared != Some(actual) {
                    out.problems.push(problem(ProblemKind::FooterCountMismatch {
                        declared: declared.unwrap_or(0),
                        actual,
                    }));
                }
            }
            other => {
                out.problems
                    .push(problem(ProblemKind::UnknownRecordType(other.to_owned())).with_raw(line));
            }
        }
    }
    if let (Some((raw, parsed)), true) = (&name, st.header_seen) {
        check_header_names(&mut out, raw, parsed.as_ref().ok(), &st.header_at);
    }
    if !st.header_seen {
        out.problems.push(Problem::new(
            Severity::File,
            ProblemKind::MissingHeader,
            0,
            0,
        ));
    }
    if !st.footer_seen {
        out.problems.push(Problem::new(
            Severity::File,
            ProblemKind::MissingFooter,
            n,
            bytes.len() as u64,
        ));
    }
    Ok(out)
}

/// The header's file name against the transport name `raw`, and its VPD against the name's
/// when `raw` follows the convention (`name`); the header was read on line `at.0`, from byte
/// `at.1`, its fields starting at `at.2`.
fn check_header_names(
    out: &mut InboundFile,
    raw: &str,
    name: Option<&InboundFileName>,
    at: &(u64, u64, Vec<usize>),
) {
    let (line, offset, starts) = at;
    let field_at = |i: usize| offset + starts.get(i).copied().unwrap_or_default() as u64;
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let h = &out.header;
    let mut found = Vec::new();
    if h.file_name != base {
        let kind = ProblemKind::HeaderFileNameMismatch {
            header: h.file_name.clone(),
            actual: base.to_owned(),
        };
        found.push(
            Problem::new(Severity::Warning, kind, *line, field_at(1))
                .in_record(b"HDR")
                .in_field(1, field_name("HDR", 1), h.file_name.as_bytes()),
        );
    }
    if let Some(name) = name.filter(|n| n.vpd != h.vpd) {
        let kind = ProblemKind::VpdMismatch {
            header: h.vpd.clone(),
            name: name.vpd.clone(),
        };
        found.push(
            Problem::new(Severity::File, kind, *line, field_at(4))
                .in_record(b"HDR")
                .in_field(4, field_name("HDR", 4), h.vpd.as_bytes()),
        );
    }
    out.problems.extend(found);
}

/// The name of field `index` of a record with code `code`, where the layout names it.
fn field_name(code: &str, index: usize) -> Option<&'static str> {
    match (code, index) {
        (_, 0) => Some("Record Type"),
        ("HDR", i) => [
            "File Name",
            "Created",
            "Supplier",
            "VPD",
            "Period Type",
            "Period Run",
            "Tax Period",
        ]
        .get(i - 1)
        .copied(),
        ("ATT", 1) => Some("Entry Date"),
        ("ATT", 2) => Some("Action"),
        ("ATT", 4) => Some("Assignment Number"),
        ("ATT", 6) => Some("Element Name"),
        ("ATT", i) if i >= 7 => VALUE_FIELD_NAMES.get(i - 7).copied(),
        ("FTR", 1) => Some("Record Count"),
        _ => None,
    }
}

/// Checks and counts one `ATT` row: `outside` when it lies outside the file's body (after the
/// footer or a second header), `bad_text` when it is not UTF-8; either rejects it.
fn read_att(
    out: &mut InboundFile,
    fields: Vec<String>,
    n: u64,
    offset: u64,
    outside: Option<ProblemKind>,
    bad_text: Option<Problem>,
) {
    let problem = |kind| Problem::new(Severity::Error, kind, n, offset).in_record(b"ATT");
    let before = out.problems.len();
    if let Some(kind) = outside {
        out.problems.push(problem(kind));
    }
    out.problems.extend(bad_text);
    if fields.len() != ATT_FIELDS {
        out.problems.push(problem(ProblemKind::FieldCount {
            code: "ATT".into(),
            expected: ATT_FIELDS,
            found: fields.len(),
        }));
    }
    let date = fields.get(1).map_or(&b""[..], |s| s.as_bytes());
    if parse_date(date).is_none() {
        out.problems
            .push(problem(ProblemKind::InvalidDate).in_field(1, Some("Entry Date"), date));
    }
    for (i, v) in fields.iter().enumerate() {
        if malformed_date(v) {
            out.problems
                .push(problem(ProblemKind::InvalidDate).in_field(i, None, v.as_bytes()));
        }
    }
    // Any error rejects the row: a wrong field count (a lost quote shifts every field after
    // it), a bad entry date, a malformed date value, text that is not UTF-8, a row outside
    // the file's body.
    let accepted = !out
        .problems
        .get(before..)
        .unwrap_or_default()
        .iter()
        .any(|p| p.severity >= Severity::Error);
    out.summary.read += 1;
    if accepted {
        out.summary.accepted += 1;
    } else {
        out.summary.rejected += 1;
    }
    out.records.push(InboundRecord {
        line: n,
        fields,
        accepted,
    });
}

/// Error from [`write()`]: the entry and field that would break the format or that
/// [`read()`] would refuse, so a written file always reads back.
///
/// ```
/// use carecodec_esr::inbound::{write, Attendance, InboundHeader, WriteError};
/// use chrono::NaiveDate;
///
/// let header = InboundHeader::new("TA_999_SEL_MN2511_00000001.DAT", "20250228180000", "SEL", "999", "M", "N", "11");
/// let mut att = Attendance::new(NaiveDate::from_ymd_opt(2025, 2, 28).ok_or("date")?, "90000001", "Overtime");
/// att.values.push(("Note".into(), "say \"hi\"".into()));
/// assert_eq!(
///     write(&header, &[att]),
///     Err(WriteError::InvalidField { entry: Some(0), index: 8, name: "Input Value 1", value: "say \"hi\"".into(), reason: "holds a quote" })
/// );
/// // Header fields are checked too: a comma would shift every field after it.
/// let bad = InboundHeader::new("TA_999_SEL_MN2511_00000001.DAT", "20250228180000", "SEL,X", "999", "M", "N", "11");
/// assert!(matches!(write(&bad, &[]), Err(WriteError::InvalidField { entry: None, index: 3, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// More than 16 input values in one entry.
    #[error("entry {0} has more than 16 input values")]
    TooManyValues(usize),
    /// A field that would break the format (a comma in an unquoted field; a quote, CR or LF
    /// anywhere), that the reader warns on (another control character: NUL, VT…), or that the
    /// reader refuses (a date-like value that is not `DD-Mon-YYYY`, an
    /// entry date outside years 0–9999), or that would not read back (an input value pair with
    /// neither name nor value reads back as padding).
    #[error("{}field {index} ({name}) {value:?}: {reason}", entry.map_or_else(|| "HDR: ".to_owned(), |e| format!("entry {e}: ")))]
    InvalidField {
        /// 0-based entry (`ATT` record); `None` for the `HDR`.
        entry: Option<usize>,
        /// 0-based field index in the record.
        index: usize,
        /// The field's name.
        name: &'static str,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Names of the `ATT` input value fields (7…38): name then value, 16 pairs.
const VALUE_FIELD_NAMES: [&str; 32] = [
    "Input Value Name 1",
    "Input Value 1",
    "Input Value Name 2",
    "Input Value 2",
    "Input Value Name 3",
    "Input Value 3",
    "Input Value Name 4",
    "Input Value 4",
    "Input Value Name 5",
    "Input Value 5",
    "Input Value Name 6",
    "Input Value 6",
    "Input Value Name 7",
    "Input Value 7",
    "Input Value Name 8",
    "Input Value 8",
    "Input Value Name 9",
    "Input Value 9",
    "Input Value Name 10",
    "Input Value 10",
    "Input Value Name 11",
    "Input Value 11",
    "Input Value Name 12",
    "Input Value 12",
    "Input Value Name 13",
    "Input Value 13",
    "Input Value Name 14",
    "Input Value 14",
    "Input Value Name 15",
    "Input Value 15",
    "Input Value Name 16",
    "Input Value 16",
];

/// Why `s` cannot be written as a field (`quoted` or bare), if it cannot: what would break
/// the record, and what [`read()`] refuses.
fn unwritable(s: &str, quoted: bool) -> Option<&'static str> {
    if s.contains('"') {
        Some("holds a quote")
    } else if s.contains(['\r', '\n']) {
        Some("holds a line break")
    } else if s.bytes().any(|b| b < 0x20 && b != b'\t') {
        // The reader warns on it (`ControlCharacter`): a file this writes reads back clean.
        Some("holds a control character")
    } else if !quoted && s.contains(',') {
        Some("holds a comma (the field is not quoted)")
    } else if malformed_date(s) {
        Some("a malformed date (dates are DD-Mon-YYYY)")
    } else {
        None
    }
}

/// `s` as field `index` of `entry`, quoted or bare, or why it cannot be.
fn field(
    s: &str,
    quoted: bool,
    entry: Option<usize>,
    index: usize,
    name: &'static str,
) -> Result<String, WriteError> {
    match unwritable(s, quoted) {
        Some(reason) => Err(WriteError::InvalidField {
            entry,
            index,
            name,
            value: s.to_owned(),
            reason,
        }),
        None if quoted => Ok(format!("\"{s}\"")),
        None => Ok(s.to_owned()),
    }
}

/// Writes an inbound file: `HDR`, one `ATT` per entry (40 fields), `FTR,<n>,0`;
/// CR-separated, no final terminator. Every field is checked first: what this writes,
/// [`read()`] reads back (the same header, the same entries, every row accepted).
///
/// ```
/// use carecodec_esr::inbound::{write, Attendance, InboundHeader, WriteError};
/// use chrono::NaiveDate;
///
/// let header = InboundHeader::new("TA_999_SEL_MN2511_00000001.DAT", "20250228180000", "SEL", "999", "M", "N", "11");
/// let mut att = Attendance::new(NaiveDate::from_ymd_opt(2025, 2, 28).ok_or("date")?, "90000001", "Overtime");
/// let bytes = write(&header, &[att.clone()])?;
/// assert!(bytes.starts_with(b"HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\rATT,"));
/// assert!(bytes.ends_with(b"\rFTR,1,0"));
/// att.values = (0..17).map(|i| (format!("V{i}"), "1".to_owned())).collect();
/// assert_eq!(write(&header, &[att.clone()]), Err(WriteError::TooManyValues(0)));
/// // A line break in the assignment number would start a record of its own.
/// att.values.clear();
/// att.assignment_number = "90000001\rFTR,0,0".into();
/// assert!(matches!(write(&header, &[att]), Err(WriteError::InvalidField { entry: Some(0), index: 4, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write(header: &InboundHeader, entries: &[Attendance]) -> Result<Vec<u8>, WriteError> {
    let h = |s: &str, index, name| field(s, false, None, index, name);
    let mut lines = vec![
        [
            "HDR".to_owned(),
            h(&header.file_name, 1, "File Name")?,
            h(&header.created, 2, "Created")?,
            h(&header.supplier, 3, "Supplier")?,
            h(&header.vpd, 4, "VPD")?,
            h(&header.period_type, 5, "Period Type")?,
            h(&header.period_run, 6, "Period Run")?,
            h(&header.tax_period, 7, "Tax Period")?,
        ]
        .join(","),
    ];
    for (i, e) in entries.iter().enumerate() {
        if e.values.len() > 16 {
            return Err(WriteError::TooManyValues(i));
        }
        let date = e.date.format("%Y%m%d").to_string();
        if parse_date(date.as_bytes()) != Some(e.date) {
            return Err(WriteError::InvalidField {
                entry: Some(i),
                index: 1,
                name: "Entry Date",
                value: date,
                reason: "not a YYYYMMDD date (years 0-9999)",
            });
        }
        let mut f: Vec<String> = vec![
            "ATT".into(),
            date,
            field(&e.action, false, Some(i), 2, "Action")?,
            String::new(),
            field(&e.assignment_number, false, Some(i), 4, "Assignment Number")?,
            String::new(),
            field(&e.element, true, Some(i), 6, "Element Name")?,
        ];
        for ((name, value), names) in e.values.iter().zip(VALUE_FIELD_NAMES.chunks(2)) {
            let index = f.len();
            let name_of = |k: usize| names.get(k).copied().unwrap_or("Input Value");
            if name.is_empty() && value.is_empty() {
                return Err(WriteError::InvalidField {
                    entry: Some(i),
                    index,
                    name: name_of(0),
                    value: String::new(),
                    reason: "an input value with neither name nor value reads back as padding",
                });
            }
            f.push(field(name, true, Some(i), index, name_of(0))?);
            f.push(field(value, false, Some(i), index + 1, name_of(1))?);
        }
        f.resize(ATT_FIELDS, String::new());
        lines.push(f.join(","));
    }
    lines.push(format!("FTR,{},0", entries.len()));
    Ok(lines.join("\r").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_att_row_is_rejected_and_counted() {
        let good =
            "ATT,20250228,ADD,,90000001,,\"Business Miles NR NHS\",\"Claim Start Date\",03-Feb-2025"
                .to_owned() + &",".repeat(ATT_FIELDS - 9);
        // A lost closing quote merges two fields: 39 instead of 40.
        let bad = "ATT,20250228,ADD,,90000002,,\"Expenses NR NP NHS,Claim Start Date\",31-Feb-2025"
            .to_owned()
            + &",".repeat(ATT_FIELDS - 9);
        let file = format!(
            "HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\r{good}\r{bad}\rFTR,2,0"
        );
        let f = read(file.as_bytes()).unwrap();
        assert_eq!(
            (f.summary.read, f.summary.accepted, f.summary.rejected),
            (2, 1, 1)
        );
        assert!(f.records[0].accepted && f.records[0].to_attendance().is_some());
        assert!(!f.records[1].accepted && f.records[1].to_attendance().is_none());
    }

    fn header() -> InboundHeader {
        InboundHeader::new(
            "TA_999_SEL_MN2511_00000001.DAT",
            "20250228180000",
            "SEL",
            "999",
            "M",
            "N",
            "11",
        )
    }

    fn entry() -> Attendance {
        let date = NaiveDate::from_ymd_opt(2025, 2, 28).unwrap();
        let mut att = Attendance::new(date, "90000001", "Business Miles");
        att.values.push(("Claimed Mileage".into(), "24".into()));
        att
    }

    /// The probe's case (F7): a comma in a header field and a CR in the assignment number
    /// gave `Ok` bytes holding a 9-field HDR and an injected FTR.
    #[test]
    fn the_writer_refuses_every_field_its_reader_would_refuse() {
        let mut h = header();
        h.supplier = "SEL,X".into();
        let err = write(&h, &[entry()]).unwrap_err();
        assert!(
            matches!(
                err,
                WriteError::InvalidField {
                    entry: None,
                    index: 3,
                    name: "Supplier",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("HDR: field 3 (Supplier)"),
            "{err}"
        );

        type Change = fn(&mut Attendance);
        let cases: [(Change, usize); 8] = [
            (|a| a.assignment_number = "90000001\rFTR,0,0\rATT".into(), 4),
            (|a| a.action = "ADD,X".into(), 2),
            (|a| a.action = "\"ADD".into(), 2),
            (|a| a.element = "Miles\nNHS".into(), 6),
            (|a| a.values[0].1 = "2\u{0}4".into(), 8),
            (|a| a.values[0].0 = "23 - Mar - 2012".into(), 7),
            (|a| a.values[0] = (String::new(), String::new()), 7),
            (
                |a| a.date = NaiveDate::from_ymd_opt(10000, 1, 1).unwrap(),
                1,
            ),
        ];
        for (change, index) in cases {
            let mut att = entry();
            change(&mut att);
            let err = write(&header(), &[entry(), att.clone()]).unwrap_err();
            assert!(
                matches!(err, WriteError::InvalidField { entry: Some(1), index: i, .. } if i == index),
                "{att:?}: {err:?}"
            );
        }
        // A comma in a quoted name is fine, and reads back.
        let mut att = entry();
        att.element = "Miles, NHS".into();
        let back = read(&write(&header(), &[att.clone()]).unwrap()).unwrap();
        assert!(back.problems.is_empty(), "{:?}", back.problems);
        assert_eq!(back.records[0].to_attendance(), Some(att));
    }

    const HDR: &str = "HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11";

    fn att_row(asg: &str) -> String {
        format!("ATT,20250228,ADD,,{asg},,\"Business Miles\",\"Claimed Mileage\",24")
            + &",".repeat(ATT_FIELDS - 9)
    }

    fn kinds(f: &InboundFile) -> Vec<(u64, Severity, ProblemKind)> {
        f.problems
            .iter()
            .map(|p| (p.line, p.severity, p.kind.clone()))
            .collect()
    }

    /// F8: rows after the footer and after a second header were read as accepted, silently,
    /// and the second header replaced the first.
    #[test]
    fn rows_after_the_footer_or_a_second_header_are_rejected_and_counted() {
        let (a, b, c) = (
            att_row("90000001"),
            att_row("90000002"),
            att_row("90000003"),
        );
        let file = format!("{HDR}\r{a}\rFTR,1,0\r{b}\rHDR,other,1,2,3,4,5,6\r{c}");
        let f = read(file.as_bytes()).unwrap();
        assert_eq!(
            (f.summary.read, f.summary.accepted, f.summary.rejected),
            (3, 1, 2)
        );
        assert_eq!(f.header.file_name, "TA_999_SEL_MN2511_00000001.DAT");
        assert_eq!(f.footer, Some(1));
        let k = kinds(&f);
        assert!(
            k.contains(&(4, Severity::File, ProblemKind::ContentAfterFooter)),
            "{k:?}"
        );
        assert!(
            k.contains(&(4, Severity::Error, ProblemKind::ContentAfterFooter)),
            "{k:?}"
        );
        assert!(
            k.contains(&(5, Severity::File, ProblemKind::ContentAfterFooter)),
            "{k:?}"
        );
        assert!(
            k.contains(&(6, Severity::Error, ProblemKind::ContentAfterFooter)),
            "{k:?}"
        );
        assert!(!f.records[1].accepted && !f.records[2].accepted);

        // A second header before the footer: a file error, its rows rejected.
        let file = format!("{HDR}\r{a}\rHDR,other,1,2,3,4,5,6\r{b}\rFTR,2,0");
        let f = read(file.as_bytes()).unwrap();
        assert_eq!(
            (f.summary.read, f.summary.accepted, f.summary.rejected),
            (2, 1, 1)
        );
        assert_eq!(f.header.file_name, "TA_999_SEL_MN2511_00000001.DAT");
        let k = kinds(&f);
        assert!(
            k.contains(&(3, Severity::File, ProblemKind::DuplicateHeader)),
            "{k:?}"
        );
        assert!(
            k.contains(&(4, Severity::Error, ProblemKind::AfterDuplicateHeader)),
            "{k:?}"
        );
    }

    /// F10: an LF-terminated file was read as one HDR record (`ATT read 0`).
    #[test]
    fn lf_and_crlf_line_ends_are_read_as_line_ends_and_reported() {
        let (a, b) = (att_row("90000001"), att_row("90000002"));
        for sep in ["\n", "\r\n"] {
            let file = format!("{HDR}{sep}{a}{sep}{b}{sep}FTR,2,0{sep}");
            let f = read(file.as_bytes()).unwrap();
            assert_eq!(f.header.tax_period, "11");
            assert_eq!(
                (f.summary.read, f.summary.accepted),
                (2, 2),
                "{:?}",
                f.problems
            );
            assert_eq!(f.footer, Some(2));
            assert_eq!(
                kinds(&f),
                vec![(1, Severity::Warning, ProblemKind::LfLineEnds)],
                "{sep:?}"
            );
            assert_eq!(f.problems[0].offset, HDR.len() as u64);
            assert_eq!((f.records[0].line, f.records[1].line), (2, 3));
        }
        // CR-only, the format's own terminator, is not reported; nor is a final CR.
        let file = format!("{HDR}\r{a}\rFTR,1,0\r");
        assert!(read(file.as_bytes()).unwrap().problems.is_empty());
        // A blank line is a warning, not a record.
        let file = format!("{HDR}\r\r{a}\rFTR,1,0");
        let f = read(file.as_bytes()).unwrap();
        assert_eq!(
            kinds(&f),
            vec![(2, Severity::Warning, ProblemKind::BlankLine)]
        );
        assert_eq!(f.records[0].line, 3);
    }

    /// F9: one non-UTF-8 byte failed the whole file, "at line 1".
    #[test]
    fn a_row_that_is_not_utf8_is_rejected_where_the_byte_is_and_the_rest_read() {
        let (a, c) = (att_row("90000001"), att_row("90000003"));
        let mut file = format!("{HDR}\r{a}\r").into_bytes();
        let row_start = file.len();
        file.extend_from_slice(
            b"ATT,20250228,ADD,,90000002,,\"Caf\xe9 Miles\",\"Claimed Mileage\",24",
        );
        file.extend_from_slice(",".repeat(ATT_FIELDS - 9).as_bytes());
        file.extend_from_slice(format!("\r{c}\rFTR,3,0").as_bytes());
        let f = read(&file).unwrap();
        assert_eq!(
            (f.summary.read, f.summary.accepted, f.summary.rejected),
            (3, 2, 1)
        );
        let p = &f.problems[0];
        assert_eq!(f.problems.len(), 1, "{:?}", f.problems);
        assert_eq!(
            (p.severity, &p.kind, p.line),
            (Severity::Error, &ProblemKind::InvalidText, 3)
        );
        assert_eq!(p.offset, (row_start + 32) as u64);
        assert_eq!(p.field_index, Some(6));
        assert_eq!(p.raw.as_deref(), Some("Caf\u{fffd} Miles"));
        assert!(!f.records[1].accepted && f.records[2].accepted);
        assert_eq!(f.records[1].fields[6], "Caf\u{fffd} Miles");
    }

    /// The inbound file name was never checked against `TA_<VPD>_<SUPPLIER>_<period>_<SEQ8>.DAT`.
    #[test]
    fn the_transport_name_is_checked_against_the_convention_and_the_header() {
        let file = format!("{HDR}\r{}\rFTR,1,0", att_row("90000001"));
        let ok = read_named(file.as_bytes(), Some("/in/TA_999_SEL_MN2511_00000001.DAT")).unwrap();
        assert!(ok.problems.is_empty(), "{:?}", ok.problems);
        assert_eq!(ok.summary.accepted, 1);
        // Not the convention: a file error with the name, the records still read.
        for bad in [
            "payroll.csv",
            "TA_999_SEL_MN2511_1.DAT",
            "TA_999_SEL_XN2511_00000001.DAT",
        ] {
            let f = read_named(file.as_bytes(), Some(bad)).unwrap();
            assert_eq!(f.summary.accepted, 1);
            let p = &f.problems[0];
            assert!(
                matches!(p.kind, ProblemKind::BadFileName(_)),
                "{bad}: {p:?}"
            );
            assert_eq!((p.severity, p.line, p.offset), (Severity::File, 0, 0));
            assert_eq!(p.raw.as_deref(), Some(bad));
        }
        // Another file's name (the sequence) in the header: a warning at HDR-1; another
        // VPD: a file error at HDR-4.
        let f = read_named(file.as_bytes(), Some("TA_998_SEL_MN2511_00000002.DAT")).unwrap();
        let k: Vec<_> = f
            .problems
            .iter()
            .map(|p| (p.severity, p.line, p.offset, p.field_index, p.field))
            .collect();
        assert_eq!(
            k,
            [
                (Severity::Warning, 1, 4, Some(1), Some("File Name")),
                (Severity::File, 1, 54, Some(4), Some("VPD")),
            ]
        );
        assert_eq!(&HDR[54..57], "999");
        assert_eq!(
            f.problems[1].kind,
            ProblemKind::VpdMismatch {
                header: "999".into(),
                name: "998".into()
            }
        );
        // `read` checks no name.
        assert!(read(file.as_bytes()).unwrap().problems.is_empty());
    }

    /// Control characters in inbound values passed unreported (Generic Outbound warns on them).
    #[test]
    fn a_control_character_in_a_value_is_a_warning_at_its_byte() {
        let row = att_row("90000001").replace("Business Miles", "Business\u{b}Miles");
        let file = format!("{HDR}\r{row}\rFTR,1,0");
        let f = read(file.as_bytes()).unwrap();
        assert_eq!(
            (f.summary.read, f.summary.accepted),
            (1, 1),
            "{:?}",
            f.problems
        );
        assert!(f.records[0].accepted);
        assert_eq!(f.problems.len(), 1, "{:?}", f.problems);
        let p = &f.problems[0];
        let at = file.find('\u{b}').unwrap() as u64;
        assert_eq!(
            (p.severity, &p.kind, p.line, p.offset),
            (
                Severity::Warning,
                &ProblemKind::ControlCharacter(0x0b),
                2,
                at
            )
        );
        assert_eq!((p.field_index, p.field), (Some(6), Some("Element Name")));
        assert_eq!(p.record.as_deref(), Some("ATT"));
        assert_eq!(p.raw.as_deref(), Some("Business\u{b}Miles"));
        // In the header too, and a NUL in an input value.
        let file = format!(
            "HDR,TA_999_SEL_MN2511_00000001.DAT,2025\u{0}0228180000,SEL,999,M,N,11\r{}\rFTR,1,0",
            att_row("9000\u{1}0001")
        );
        let f = read(file.as_bytes()).unwrap();
        let k: Vec<(u64, ProblemKind, Option<&str>)> = f
            .problems
            .iter()
            .map(|p| (p.line, p.kind.clone(), p.field))
            .collect();
        assert_eq!(
            k,
            [
                (1, ProblemKind::ControlCharacter(0), Some("Created")),
                (
                    2,
                    ProblemKind::ControlCharacter(1),
                    Some("Assignment Number")
                ),
            ]
        );
        assert_eq!(f.summary.accepted, 1);
    }
}
