//! BI CSV exports ("staff in post" and similar): real CSV, header-driven.
//!
//! Columns are locally configured, so rows are read by header name through a
//! mapping table from header aliases to canonical field names
//! ([`DEFAULT_MAPPING`], or your own). RFC 4180 quoting is the `csv` crate's;
//! on top of it this reader reports a byte order mark, repeated header rows
//! (report page breaks: skipped, not counted), short rows (missing trailing
//! fields read as empty), long rows (rejected), an unterminated quote (with
//! the line where it opened), invalid `DD/MM/YYYY` dates and NI numbers.
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
pub type Mapping = &'static [(&'static str, &'static str, FieldType)];

/// The documented default mapping for "staff in post" style exports
/// (header names compared case-insensitively, spaces and `_` ignored).
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
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A whole BI file read.
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
    pub fn with_mapping(mapping: Mapping) -> BiReader {
        BiReader { mapping }
    }

    /// Reads `bytes` with the default mapping.
    pub fn read(bytes: &[u8]) -> Result<BiFile, csv::Error> {
        BiReader::default().read_bytes(bytes)
    }

    /// Reads `bytes`. Only an I/O-level failure of the CSV engine is an
    /// `Err`; everything about the content is a [`Problem`].
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
            let unterminated = span.iter().filter(|&&b| b == b'"').count() % 2 == 1;
            let Some(h) = &header_raw else {
                out.header = rec
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                for name in &out.header {
                    let m = self
                        .mapping
                        .iter()
                        .find(|(alias, _, _)| fold(alias) == fold(name));
                    out.mapped.push(m.map(|(_, c, _)| *c));
                    types.push(m.map_or(FieldType::Text, |(_, _, t)| *t));
                }
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
            let mut accepted = true;
            let mut problems = Vec::new();
            if unterminated {
                let lines = span.iter().filter(|&&b| b == b'\n').count();
                problems.push(
                    Problem::new(Severity::Error, ProblemKind::UnterminatedQuote, line, offset).with_raw(
                        format!("quote opened on line {line} consumed {lines} line(s) to the end of the file").as_bytes(),
                    ),
                );
                accepted = false;
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
                let mut text = String::from_utf8_lossy(raw).into_owned();
                let mut found = Vec::new();
                if !unterminated {
                    check_bi(ty, raw, &mut found);
                }
                for (sev, kind) in found {
                    if sev >= Severity::Error {
                        accepted = false;
                    }
                    problems.push(Problem::new(sev, kind, line, offset).in_field(i, None, raw));
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
        Ok(out)
    }
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
}
