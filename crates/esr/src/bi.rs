//! BI CSV exports ("staff in post" and similar): real CSV, header-driven.
//!
//! Columns are locally configured, so rows are read by header name through a
//! mapping table from header aliases to canonical field names
//! ([`DEFAULT_MAPPING`], or your own). RFC 4180 quoting is the `csv` crate's;
//! on top of it this reader reports a byte order mark, repeated header rows
//! (report page breaks: skipped, not counted), short rows (missing trailing
//! fields read as empty), long rows (rejected), a quote that never closes or
//! that runs on past its line (rejected, with the lines where it opened and
//! closed), a quote inside an unquoted field (kept as data, a warning), invalid
//! `DD/MM/YYYY` dates and NI numbers.
//!
//! ```
//! use carecodec_esr::bi::BiReader;
//!
//! let csv = b"Employee Number,NI Number,WTE,Start Date\r\n90000001,JK 00 00 01 A,0.80,04/04/2022\r\n";
//! let r = BiReader::read(csv).unwrap();
//! assert_eq!(r.rows[0].get("employee_number"), Some("90000001"));
//! assert_eq!(r.rows[0].get("ni_number"), Some("JK000001A"));
//! assert_eq!(r.rows[0].get("fte"), Some("0.80"));
//! assert_eq!((r.summary.read, r.summary.accepted), (1, 1));
//! ```

use crate::layout::FieldType;
use crate::problem::{Problem, ProblemKind, Severity};
use crate::reader::Counts;
use crate::value::{self, normalise_ni};

/// Header alias → canonical field name, and the canonical field's type.
///
/// ```
/// use carecodec_esr::bi::{BiReader, Mapping};
/// use carecodec_esr::layout::FieldType;
///
/// const MINE: Mapping = &[("Staff No", "employee_number", FieldType::Id)];
/// let file = BiReader::with_mapping(MINE).read_bytes(b"Staff No,Site\n123,Leeds\n")?;
/// assert_eq!(file.mapped, [Some("employee_number"), None]);
/// assert_eq!(file.rows[0].get("employee_number"), Some("123"));
/// assert_eq!(file.rows[0].get("Site"), Some("Leeds")); // unmapped: kept under its header
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Mapping = &'static [(&'static str, &'static str, FieldType)];

/// The documented default mapping for "staff in post" style exports
/// (header names compared case-insensitively, spaces and `_` ignored).
///
/// ```
/// use carecodec_esr::bi::DEFAULT_MAPPING;
///
/// assert!(DEFAULT_MAPPING.iter().any(|(alias, field, _)| *alias == "NI Number" && *field == "ni_number"));
/// ```
pub const DEFAULT_MAPPING: Mapping = &[
    ("Org L1", "org_l1", FieldType::Text),
    ("Org L2", "org_l2", FieldType::Text),
    ("Org L3", "org_l3", FieldType::Text),
    ("Org L4", "org_l4", FieldType::Text),
    ("Org L5", "org_l5", FieldType::Text),
    ("Org L6", "org_l6", FieldType::Text),
    ("Org L7", "org_l7", FieldType::Text),
    ("Organisation", "organisation", FieldType::Text),
    ("Organization Name", "organisation", FieldType::Text),
    ("Organisation Name", "organisation", FieldType::Text),
    ("Employee Number", "employee_number", FieldType::Text),
    ("Assignment Number", "assignment_number", FieldType::AsgNo),
    ("Title", "title", FieldType::Text),
    ("First Name", "first_name", FieldType::Text),
    ("Last Name", "last_name", FieldType::Text),
    ("Surname", "last_name", FieldType::Text),
    ("Date of Birth", "date_of_birth", FieldType::Date),
    ("NI Number", "ni_number", FieldType::Nino),
    ("National Insurance Number", "ni_number", FieldType::Nino),
    ("Gender", "gender", FieldType::Text),
    ("Staff Group", "staff_group", FieldType::Text),
    ("Job Role", "job_role", FieldType::Text),
    ("Role", "job_role", FieldType::Text),
    ("Occupation Code", "occupation_code", FieldType::Occ),
    ("Area of Work", "area_of_work", FieldType::Text),
    ("Position Title", "position_title", FieldType::Text),
    ("Position Number", "position_number", FieldType::Text),
    ("Payscale", "payscale", FieldType::Text),
    ("Grade", "grade", FieldType::Text),
    ("Contracted Hours", "contracted_hours", FieldType::DecPos),
    ("WTE", "fte", FieldType::Dec01),
    ("FTE", "fte", FieldType::Dec01),
    ("TotalFTE", "fte", FieldType::Dec01),
    ("FTEBudget", "budgeted_fte", FieldType::DecPos),
    ("Primary Assignment", "primary_assignment", FieldType::Yn),
    ("Assignment Status", "assignment_status", FieldType::Text),
    (
        "Assignment Category",
        "assignment_category",
        FieldType::Text,
    ),
    ("Start Date", "start_date", FieldType::Date),
    ("CensusDate", "census_date", FieldType::Date),
    ("Professional Body", "professional_body", FieldType::Text),
    (
        "Registration Number",
        "registration_number",
        FieldType::Text,
    ),
    (
        "Registration Expiry",
        "registration_expiry",
        FieldType::Date,
    ),
    ("Email", "email", FieldType::Email),
];

fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// One data row: its line and each mapped field's value (unmapped columns
/// are kept under their header name).
///
/// ```
/// use carecodec_esr::bi::BiReader;
///
/// let file = BiReader::read(b"Employee Number,Start Date\n90000001,31/02/2022\n")?;
/// let row = &file.rows[0];
/// assert_eq!((row.line, row.offset), (2, 27));
/// assert!(!row.accepted); // 31 February
/// assert_eq!(file.problems[0].line, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BiRow {
    /// 1-based line where the row starts.
    pub line: u64,
    /// Byte offset of the row.
    pub offset: u64,
    /// (canonical name or header, value) in column order; NI numbers normalised.
    pub fields: Vec<(String, String)>,
    /// Accepted or rejected.
    pub accepted: bool,
}

impl BiRow {
    /// The value of canonical field (or header) `name`.
    ///
    /// ```
    /// use carecodec_esr::bi::BiReader;
    ///
    /// let file = BiReader::read(b"Employee Number,NI Number\n90000001,jk 00 00 01 a\n")?;
    /// assert_eq!(file.rows[0].get("ni_number"), Some("JK000001A")); // normalised
    /// assert_eq!(file.rows[0].get("no such field"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A whole BI file read.
///
/// ```
/// use carecodec_esr::bi::BiReader;
///
/// let file = BiReader::read(b"Employee Number,Team\n1,A\n2,B\n")?;
/// assert_eq!(file.header, ["Employee Number", "Team"]);
/// assert_eq!(file.rows.len(), 2);
/// assert_eq!((file.summary.read, file.summary.accepted, file.summary.rejected), (2, 2, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BiFile {
    /// The header row as written.
    pub header: Vec<String>,
    /// For each column, the canonical field it maps to (`None`: unmapped).
    pub mapped: Vec<Option<&'static str>>,
    /// The data rows (accepted and rejected).
    pub rows: Vec<BiRow>,
    /// Every problem, positioned.
    pub problems: Vec<Problem>,
    /// read = accepted + rejected (repeated headers not counted).
    pub summary: Counts,
}

/// Reads BI CSV files.
///
/// ```
/// use carecodec_esr::bi::BiReader;
/// use carecodec_esr::ProblemKind;
///
/// let file = BiReader::default().read_bytes(b"Employee Number\n1\nEmployee Number\n2\n")?;
/// assert_eq!(file.rows.len(), 2); // the repeated header row is skipped
/// assert_eq!(file.problems[0].kind, ProblemKind::DuplicateHeaderRow);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BiReader {
    mapping: Mapping,
}

impl Default for BiReader {
    fn default() -> Self {
        BiReader {
            mapping: DEFAULT_MAPPING,
        }
    }
}

impl BiReader {
    /// A reader with your own header mapping.
    ///
    /// ```
    /// use carecodec_esr::bi::BiReader;
    /// use carecodec_esr::layout::FieldType;
    ///
    /// let reader = BiReader::with_mapping(&[("Pay No", "employee_number", FieldType::Id)]);
    /// let file = reader.read_bytes(b"Pay No\n42\n")?;
    /// assert_eq!(file.rows[0].get("employee_number"), Some("42"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_mapping(mapping: Mapping) -> BiReader {
        BiReader { mapping }
    }

    /// Reads `bytes` with the default mapping.
    ///
    /// ```
    /// use carecodec_esr::bi::BiReader;
    ///
    /// let file = BiReader::read(b"Employee Number,WTE\r\n90000001,0.80\r\n")?;
    /// assert_eq!(file.rows[0].get("fte"), Some("0.80"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read(bytes: &[u8]) -> Result<BiFile, csv::Error> {
        BiReader::default().read_bytes(bytes)
    }

    /// Reads `bytes`. Only an I/O-level failure of the CSV engine is an
    /// `Err`; everything about the content is a [`Problem`].
    ///
    /// ```
    /// use carecodec_esr::bi::BiReader;
    /// use carecodec_esr::ProblemKind;
    ///
    /// let file = BiReader::default().read_bytes(b"Employee Number,Team\n1,A,extra\n")?;
    /// assert!(!file.rows[0].accepted);
    /// assert!(matches!(file.problems[0].kind, ProblemKind::LongRow { expected: 2, found: 3 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_bytes(&self, bytes: &[u8]) -> Result<BiFile, csv::Error> {
        let mut out = BiFile::default();
        let (body, base) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => {
                out.problems.push(Problem::new(
                    Severity::Warning,
                    ProblemKind::ByteOrderMark,
                    1,
                    0,
                ));
                (rest, 3u64)
            }
            None => (bytes, 0),
        };
        // Not UTF-8 (an export saved by Excel): decode as Windows-1252, and say so once.
        let cp1252 = match std::str::from_utf8(body) {
            Ok(_) => false,
            Err(e) => {
                let at = e.valid_up_to();
                let line = 1 + body
                    .get(..at)
                    .map_or(0, |b| memchr::memchr_iter(b'\n', b).count())
                    as u64;
                out.problems.push(Problem::new(
                    Severity::Warning,
                    ProblemKind::NotUtf8,
                    line,
                    base + at as u64,
                ));
                true
            }
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut rec = csv::ByteRecord::new();
        let mut types: Vec<FieldType> = Vec::new();
        let mut header_raw: Option<csv::ByteRecord> = None;
        loop {
            if !rdr.read_byte_record(&mut rec)? {
                break;
            }
            let Some(start) = rec.position().cloned() else {
                continue;
            };
            let end = rdr.position().byte();
            // The engine's record start can sit on the LF of the previous
            // CRLF: step over terminators. Lines are counted here, since the
            // engine does not count LFs inside quoted fields.
            let mut first = start.byte() as usize;
            while matches!(body.get(first), Some(b'\r' | b'\n')) {
                first += 1;
            }
            let line = 1 + body
                .get(..first)
                .map_or(0, |b| memchr::memchr_iter(b'\n', b).count())
                as u64;
            let offset = base + first as u64;
            let span = body.get(first..end as usize).unwrap_or_default();
            let quotes = scan_quotes(span);
            // A quote that ran past its line: the row's fields are not where the header says.
            let unterminated = quotes.unterminated.is_some() || quotes.run_on.is_some();
            let Some(h) = &header_raw else {
                out.header = rec.iter().map(|f| decode(f, cp1252)).collect();
                for name in &out.header {
                    let m = self
                        .mapping
                        .iter()
                        .find(|(alias, _, _)| fold(alias) == fold(name));
                    out.mapped.push(m.map(|(_, c, _)| *c));
                    types.push(m.map_or(FieldType::Text, |(_, _, t)| *t));
                }
                duplicate_columns(&out.header, &out.mapped, line, offset, &mut out.problems);
                header_raw = Some(rec.clone());
                continue;
            };
            if rec.iter().eq(h.iter()) {
                out.problems.push(Problem::new(
                    Severity::Warning,
                    ProblemKind::DuplicateHeaderRow,
                    line,
                    offset,
                ));
                continue;
            }
            if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
                out.problems.push(Problem::new(
                    Severity::Warning,
                    ProblemKind::BlankLine,
                    line,
                    offset,
                ));
                continue;
            }
            // Every field empty (`,,,,`: a spreadsheet's empty row): not a record, skipped and
            // reported as a blank line is, never counted as data.
            if !unterminated && rec.iter().all(|f| f.trim_ascii().is_empty()) {
                let shown = span.trim_ascii_end();
                out.problems.push(
                    Problem::new(
                        Severity::Warning,
                        ProblemKind::EmptyRow(rec.len()),
                        line,
                        offset,
                    )
                    .with_raw(shown),
                );
                continue;
            }
            let mut accepted = true;
            let mut problems = Vec::new();
            if let Some((opened, lines)) = quotes.unterminated {
                let opened = line + opened;
                let why = format!(
                    "quote opened on line {opened} never closes: the {lines} line(s) after it, to the end of the file, were read into one field"
                );
                problems.push(
                    Problem::new(
                        Severity::Error,
                        ProblemKind::UnterminatedQuote,
                        line,
                        offset,
                    )
                    .with_raw(why.as_bytes()),
                );
                accepted = false;
            } else if let Some((opened, closed)) = quotes.run_on {
                let kind = ProblemKind::QuoteRunsOn {
                    opened: line + opened,
                    closed: line + closed,
                };
                problems.push(Problem::new(Severity::Error, kind, line, offset));
                accepted = false;
            } else if let Some(i) = quotes.stray {
                let column = out.mapped.get(i).copied().flatten();
                let raw = rec.get(i).unwrap_or_default();
                problems.push(
                    Problem::new(Severity::Warning, ProblemKind::StrayQuote, line, offset)
                        .in_record(b"BI")
                        .in_field(i, column, decode(raw, cp1252).as_bytes()),
                );
            }
            let expected = out.header.len();
            if rec.len() < expected && !unterminated {
                problems.push(Problem::new(
                    Severity::Warning,
                    ProblemKind::ShortRow {
                        expected,
                        found: rec.len(),
                    },
                    line,
                    offset,
                ));
            } else if rec.len() > expected {
                problems.push(Problem::new(
                    Severity::Error,
                    ProblemKind::LongRow {
                        expected,
                        found: rec.len(),
                    },
                    line,
                    offset,
                ));
                accepted = false;
            }
            let mut fields = Vec::with_capacity(expected);
            for (i, name) in out.header.iter().enumerate() {
                let raw = rec.get(i).unwrap_or_default();
                let ty = types.get(i).copied().unwrap_or(FieldType::Text);
                let mut text = decode(raw, cp1252);
                let mut found = Vec::new();
                if !unterminated {
                    check_bi(ty, raw, &mut found);
                }
                let column = out.mapped.get(i).copied().flatten();
                for (sev, kind) in found {
                    if sev >= Severity::Error {
                        accepted = false;
                    }
                    problems.push(
                        Problem::new(sev, kind, line, offset)
                            .in_record(b"BI")
                            .in_field(i, column, text.as_bytes()),
                    );
                }
                if ty == FieldType::Nino {
                    text = normalise_ni(&text);
                }
                let key = out
                    .mapped
                    .get(i)
                    .copied()
                    .flatten()
                    .map_or_else(|| name.clone(), str::to_owned);
                fields.push((key, text));
            }
            // A control character in a value: kept as read, a warning at its byte.
            if !unterminated {
                for (i, at, b) in control_bytes(span) {
                    let column = out.mapped.get(i).copied().flatten();
                    let raw = decode(rec.get(i).unwrap_or_default(), cp1252);
                    problems.push(
                        Problem::new(
                            Severity::Warning,
                            ProblemKind::ControlCharacter(b),
                            line,
                            offset + at as u64,
                        )
                        .in_record(b"BI")
                        .in_field(i, column, raw.as_bytes()),
                    );
                }
            }
            out.summary.read += 1;
            if accepted {
                out.summary.accepted += 1;
            } else {
                out.summary.rejected += 1;
            }
            out.problems.extend(problems);
            out.rows.push(BiRow {
                line,
                offset,
                fields,
                accepted,
            });
        }
        if header_raw.is_none() {
            out.problems
                .push(Problem::new(Severity::File, ProblemKind::NoHeaderRow, 0, 0));
        } else if out.rows.is_empty() {
            out.problems.push(Problem::new(
                Severity::Warning,
                ProblemKind::NoDataRows,
                0,
                bytes.len() as u64,
            ));
        }
        Ok(out)
    }
}

/// What the quotes of one CSV record say, read the way the `csv` crate reads them (RFC 4180:
/// a field that starts with `"` is quoted, `""` inside it is a quote; a quote elsewhere is
/// data). Lines are counted from the record's first line (0).
#[derive(Debug, Default, PartialEq, Eq)]
struct Quotes {
    /// A quoted field still open at the end of the record (the end of the file): the line where
    /// it opened and the line breaks after it.
    unterminated: Option<(u64, u64)>,
    /// A quoted field that crossed a line break and, once closed, went on with more text (a
    /// lost closing quote closed by a later one): the lines where it opened and closed.
    run_on: Option<(u64, u64)>,
    /// The first field with a quote that is data: inside an unquoted field, or after a closing
    /// quote on the same line.
    stray: Option<usize>,
}

/// Reads the quotes of one record's bytes (`span`: from its first byte; a line break outside
/// quotes ends it).
fn scan_quotes(span: &[u8]) -> Quotes {
    #[derive(PartialEq)]
    enum S {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    // A final terminator ends the file, not a line swallowed by an open quote.
    let mut span = span;
    while let [rest @ .., b'\r' | b'\n'] = span {
        span = rest;
    }
    let mut q = Quotes::default();
    let (mut s, mut field, mut line) = (S::Start, 0usize, 0u64);
    // The line where the current quoted field opened.
    let mut opened = 0u64;
    for &b in span {
        match (&s, b) {
            (S::Quoted, b'"') => s = S::QuoteInQuoted,
            (S::Quoted, b'\n') => line += 1,
            (S::Quoted, _) => {}
            (S::QuoteInQuoted, b'"') => s = S::Quoted,
            (_, b',') => {
                field += 1;
                s = S::Start;
            }
            (_, b'\r' | b'\n') => break,
            (S::Start, b'"') => {
                s = S::Quoted;
                opened = line;
            }
            (S::Start, _) => s = S::Unquoted,
            (S::Unquoted, b'"') => {
                q.stray.get_or_insert(field);
            }
            (S::Unquoted, _) => {}
            (S::QuoteInQuoted, _) => {
                if line > opened {
                    q.run_on.get_or_insert((opened, line));
                } else {
                    q.stray.get_or_insert(field);
                }
                s = S::Unquoted;
            }
        }
    }
    if s == S::Quoted {
        q.unterminated = Some((opened, line - opened));
    }
    q
}

/// Where each comma-separated field of one CSV record starts in `span` (from the record's first
/// byte), with quotes read as the `csv` crate reads them (see [`scan_quotes`]); a line break
/// outside quotes ends the record.
pub(crate) fn field_starts(span: &[u8]) -> Vec<usize> {
    #[derive(PartialEq)]
    enum S {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut starts = vec![0];
    let mut s = S::Start;
    for (i, &b) in span.iter().enumerate() {
        match (&s, b) {
            (S::Quoted, b'"') => s = S::QuoteInQuoted,
            (S::Quoted, _) => {}
            (S::QuoteInQuoted, b'"') => s = S::Quoted,
            (_, b',') => {
                starts.push(i + 1);
                s = S::Start;
            }
            (_, b'\r' | b'\n') => break,
            (S::Start, b'"') => s = S::Quoted,
            _ => s = S::Unquoted,
        }
    }
    starts
}

/// A control byte that has no place in a CSV value: below 0x20 and not TAB, CR or LF (a line
/// break inside a quoted field is RFC 4180 data; outside one it ends the record).
fn is_control(b: u8) -> bool {
    b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')
}

/// The first control byte of each field of one CSV record `span`: (field index, its position
/// in `span`, the byte). One pass over the record when it holds none.
pub(crate) fn control_bytes(span: &[u8]) -> Vec<(usize, usize, u8)> {
    if !span.iter().any(|&b| is_control(b)) {
        return Vec::new();
    }
    let starts = field_starts(span);
    let mut found = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts
            .get(i + 1)
            .map_or(span.len(), |next| next.saturating_sub(1));
        let field = span.get(start..end).unwrap_or_default();
        if let Some(at) = field.iter().position(|&b| is_control(b)) {
            found.push((i, start + at, field.get(at).copied().unwrap_or_default()));
        }
    }
    found
}

/// A file problem for each column whose field name (canonical, or the header itself when
/// unmapped) was already taken by an earlier column: the row would hold two values for it.
/// Blank header cells are left alone.
fn duplicate_columns(
    header: &[String],
    mapped: &[Option<&'static str>],
    line: u64,
    offset: u64,
    problems: &mut Vec<Problem>,
) {
    let key = |i: usize| -> String {
        match mapped.get(i).copied().flatten() {
            Some(c) => c.to_owned(),
            None => header.get(i).map_or_else(String::new, |h| fold(h)),
        }
    };
    for (i, name) in header.iter().enumerate() {
        // Blank header cells (trailing commas from a spreadsheet) are not names.
        if name.trim().is_empty() {
            continue;
        }
        if (0..i).any(|j| key(j) == key(i)) {
            problems.push(
                Problem::new(
                    Severity::File,
                    ProblemKind::DuplicateColumn(name.clone()),
                    line,
                    offset,
                )
                .in_record(b"BI")
                .in_field(i, mapped.get(i).copied().flatten(), name.as_bytes()),
            );
        }
    }
}

/// Windows-1252 characters for the bytes 0x80–0x9F (U+FFFD for the five it leaves undefined).
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{FFFD}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{FFFD}', '\u{017D}', '\u{FFFD}',
    '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{FFFD}', '\u{017E}', '\u{0178}',
];

/// A field's text: UTF-8, or Windows-1252 when the file is not UTF-8.
fn decode(raw: &[u8], cp1252: bool) -> String {
    if !cp1252 {
        return String::from_utf8_lossy(raw).into_owned();
    }
    raw.iter()
        .map(|&b| match b {
            0x80..=0x9F => CP1252_HIGH
                .get(usize::from(b - 0x80))
                .copied()
                .unwrap_or('\u{FFFD}'),
            _ => char::from(b),
        })
        .collect()
}

fn check_bi(ty: FieldType, raw: &[u8], out: &mut Vec<(Severity, ProblemKind)>) {
    if raw.is_empty() {
        return;
    }
    match ty {
        FieldType::Date => {
            if value::parse_dmy(raw).is_none() {
                out.push((Severity::Error, ProblemKind::InvalidDate));
            }
        }
        _ => value::check(ty, false, raw, true, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quirks() {
        let csv = b"\xEF\xBB\xBFEmployee Number,Position Title,Start Date\r\n1,\"A, \"\"B\"\"\nC\",01/02/2020\r\nEmployee Number,Position Title,Start Date\r\n2,x\r\n3,y,31/02/2020\r\n";
        let r = BiReader::read(csv).unwrap();
        assert_eq!(r.rows[0].get("position_title"), Some("A, \"B\"\nC"));
        assert_eq!(
            (r.summary.read, r.summary.accepted, r.summary.rejected),
            (3, 2, 1)
        );
        let kinds: Vec<_> = r
            .problems
            .iter()
            .map(|p| (p.line, p.kind.clone()))
            .collect();
        assert!(kinds.contains(&(1, ProblemKind::ByteOrderMark)));
        assert!(kinds.contains(&(4, ProblemKind::DuplicateHeaderRow)));
        assert!(kinds.contains(&(
            5,
            ProblemKind::ShortRow {
                expected: 3,
                found: 2
            }
        )));
        assert!(kinds.contains(&(6, ProblemKind::InvalidDate)));
    }

    #[test]
    fn row_problems_name_their_column() {
        let csv = b"Employee Number,Date of Birth,Start Date\n1,01/02/1980,32/13/2020\n";
        let r = BiReader::read(csv).unwrap();
        let p = r
            .problems
            .iter()
            .find(|p| p.kind == ProblemKind::InvalidDate)
            .unwrap();
        assert_eq!((p.field_index, p.field), (Some(2), Some("start_date")));
        assert!(p.to_string().contains("field 2 start_date"), "{p}");
    }

    #[test]
    fn windows_1252_is_decoded_and_reported() {
        let csv = b"Employee Number,First Name\n1,Ren\xe9e \x80\n";
        let r = BiReader::read(csv).unwrap();
        assert_eq!(r.rows[0].get("first_name"), Some("Ren\u{e9}e \u{20ac}"));
        let p = r
            .problems
            .iter()
            .find(|p| p.kind == ProblemKind::NotUtf8)
            .unwrap();
        assert_eq!((p.line, p.offset), (2, 32));
    }

    #[test]
    fn repeated_column_is_a_file_problem() {
        let r = BiReader::read(b"Employee Number,Employee Number,First Name\n1,2,A\n").unwrap();
        let p = r
            .problems
            .iter()
            .find(|p| matches!(p.kind, ProblemKind::DuplicateColumn(_)))
            .unwrap();
        assert_eq!((p.severity, p.field_index), (Severity::File, Some(1)));
        let r = BiReader::read(b"Employee Number,,\n1,,\n").unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let r = BiReader::read(b"WTE,FTE\n1,0.5\n").unwrap();
        assert!(
            r.problems
                .iter()
                .any(|p| p.kind == ProblemKind::DuplicateColumn("FTE".into()))
        );
    }

    #[test]
    fn empty_and_header_only_files_are_reported() {
        let r = BiReader::read(b"").unwrap();
        assert_eq!(r.problems[0].kind, ProblemKind::NoHeaderRow);
        assert_eq!(r.problems[0].severity, Severity::File);
        let r = BiReader::read(b"Employee Number,First Name\r\n").unwrap();
        assert_eq!(r.problems[0].kind, ProblemKind::NoDataRows);
    }

    #[test]
    fn unterminated_quote_is_reported_where_it_opened() {
        let csv = b"A,B\n1,\"open\n2,x\n";
        let r = BiReader::read(csv).unwrap();
        let p = r
            .problems
            .iter()
            .find(|p| p.kind == ProblemKind::UnterminatedQuote)
            .unwrap();
        assert_eq!((p.line, p.offset), (2, 4));
        assert_eq!(r.summary.rejected, 1);
    }

    /// F11: a stray quote in an unquoted field (`O"wen`) was rejected as an unterminated quote
    /// "consumed 0 line(s) to the end of the file"; the csv crate reads it as data.
    #[test]
    fn a_stray_quote_in_an_unquoted_field_is_data_with_a_warning() {
        let csv = b"Employee Number,First Name,Position Title\r\n1,O\"wen,\"Nurse, Band 5\"\r\n2,Ann,Porter\r\n";
        let r = BiReader::read(csv).unwrap();
        assert_eq!(
            (r.summary.read, r.summary.accepted),
            (2, 2),
            "{:?}",
            r.problems
        );
        assert_eq!(r.rows[0].get("first_name"), Some("O\"wen"));
        assert_eq!(r.rows[0].get("position_title"), Some("Nurse, Band 5"));
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        let p = &r.problems[0];
        assert_eq!(
            (p.severity, &p.kind, p.line),
            (Severity::Warning, &ProblemKind::StrayQuote, 2)
        );
        assert_eq!((p.field_index, p.field), (Some(1), Some("first_name")));
        // Text after a closing quote on the same line is kept too (`"a"b` reads `ab`).
        let r = BiReader::read(b"A,B\n1,\"a\"b\n").unwrap();
        assert_eq!(r.rows[0].fields[1].1, "ab");
        assert_eq!(r.problems[0].kind, ProblemKind::StrayQuote);
        // A quoted field with a line break that closes at its field's end is plain RFC 4180.
        let r = BiReader::read(b"A,B\n1,\"x\ny\"\n2,z\n").unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }

    /// F11: a quote that runs on and closes on the next line was reported as read "to the end
    /// of the file".
    #[test]
    fn a_quote_that_runs_on_says_where_it_closes() {
        let csv = b"A,B,C\n1,\"open,x\n2,\"Two\",y\n3,z,w\n";
        let r = BiReader::read(csv).unwrap();
        assert_eq!(
            (r.summary.read, r.summary.accepted, r.summary.rejected),
            (2, 1, 1)
        );
        let p = &r.problems[0];
        assert_eq!(
            p.kind,
            ProblemKind::QuoteRunsOn {
                opened: 2,
                closed: 3
            }
        );
        assert_eq!((p.line, p.severity), (2, Severity::Error));
        assert!(!p.to_string().contains("end of the file"), "{p}");
        assert_eq!((r.rows[1].line, r.rows[1].accepted), (4, true));
        // Never closed: read to the end of the file, and the message says so.
        let r = BiReader::read(b"A,B\n1,x\n2,\"open\n3,y\n4,z\n").unwrap();
        let p = &r.problems[0];
        assert_eq!(
            (p.kind.clone(), p.line),
            (ProblemKind::UnterminatedQuote, 3)
        );
        assert_eq!(
            p.raw.as_deref(),
            Some(
                "quote opened on line 3 never closes: the 2 line(s) after it, to the end of the file, were read into one field"
            )
        );
    }

    /// An all-empty row (`,,,,`) was read as a record and counted as accepted data.
    #[test]
    fn an_all_empty_row_is_skipped_and_reported_never_counted() {
        let csv = b"Employee Number,First Name,Start Date\r\n1,Ann,\r\n,,\r\n , ,\r\n,\"\",,,\r\n2,Bob,\r\n";
        let r = BiReader::read(csv).unwrap();
        assert_eq!(
            (r.summary.read, r.summary.accepted, r.summary.rejected),
            (2, 2, 0),
            "{:?}",
            r.problems
        );
        assert_eq!(r.rows.len(), 2);
        assert_eq!((r.rows[0].line, r.rows[1].line), (2, 6));
        let empty: Vec<(u64, u64, Severity, ProblemKind)> = r
            .problems
            .iter()
            .map(|p| (p.line, p.offset, p.severity, p.kind.clone()))
            .collect();
        assert_eq!(
            empty,
            [
                (3, 47, Severity::Warning, ProblemKind::EmptyRow(3)),
                (4, 51, Severity::Warning, ProblemKind::EmptyRow(3)),
                (5, 57, Severity::Warning, ProblemKind::EmptyRow(5)),
            ]
        );
        assert_eq!(r.problems[0].raw.as_deref(), Some(",,"));
        // Only empty rows: no data rows.
        let r = BiReader::read(b"A,B\n,\n,\n").unwrap();
        assert_eq!((r.summary.read, r.rows.len()), (0, 0));
        assert!(r.problems.iter().any(|p| p.kind == ProblemKind::NoDataRows));
    }

    /// Control characters in BI values passed unreported (Generic Outbound warns on them).
    #[test]
    fn a_control_character_in_a_value_is_a_warning_at_its_byte() {
        let csv = b"Employee Number,First Name,Position Title,Team\n1,A\0nn,\"Say \"\"hi\"\"\x01, Band 5\",\"Ward\n7\"\n";
        let r = BiReader::read(csv).unwrap();
        assert_eq!((r.summary.read, r.summary.accepted), (1, 1));
        assert_eq!(
            r.rows[0].get("position_title"),
            Some("Say \"hi\"\u{1}, Band 5")
        );
        let found: Vec<_> = r
            .problems
            .iter()
            .map(|p| {
                (
                    p.line,
                    p.offset,
                    p.severity,
                    p.kind.clone(),
                    p.field_index,
                    p.field,
                )
            })
            .collect();
        let nul = csv.iter().position(|&b| b == 0).unwrap() as u64;
        let soh = csv.iter().position(|&b| b == 1).unwrap() as u64;
        // The quoted line break in `Team` is RFC 4180 data, not a control character.
        assert_eq!(
            found,
            [
                (
                    2,
                    nul,
                    Severity::Warning,
                    ProblemKind::ControlCharacter(0),
                    Some(1),
                    Some("first_name")
                ),
                (
                    2,
                    soh,
                    Severity::Warning,
                    ProblemKind::ControlCharacter(1),
                    Some(2),
                    Some("position_title")
                ),
            ]
        );
        assert_eq!(r.problems[0].raw.as_deref(), Some("A\0nn"));
        // A BOM shifts every offset by its three bytes.
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(csv);
        let r = BiReader::read(&bom).unwrap();
        let p = r
            .problems
            .iter()
            .find(|p| p.kind == ProblemKind::ControlCharacter(0))
            .unwrap();
        assert_eq!(p.offset, nul + 3);
    }

    #[test]
    fn field_starts_follow_csv_quoting() {
        assert_eq!(field_starts(b"a,\"b,\"\"c\",d\r\ne,f"), [0, 2, 10]);
        assert_eq!(field_starts(b"\"x\ny\",z"), [0, 6]);
        assert_eq!(field_starts(b""), [0]);
    }
}
