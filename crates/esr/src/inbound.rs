//! The inbound element-entry file (`TA_<VPD>_<SUPPLIER>_<period>_<SEQ8>.DAT`),
//! sent by a supplier to ESR: comma-delimited, text values in double quotes,
//! CR-only record separators, `HDR` / `ATT`… / `FTR` with the `ATT` count.
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
    /// 1-based record number (CR-separated line).
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

/// Reads an inbound file.
///
/// ```
/// use carecodec_esr::inbound::read;
/// use carecodec_esr::ProblemKind;
///
/// let back = read(b"HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\r")?;
/// assert_eq!(back.header.supplier, "SEL");
/// assert!(back.problems.iter().any(|p| p.kind == ProblemKind::MissingFooter));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read(bytes: &[u8]) -> Result<InboundFile, csv::Error> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\r'))
        .from_reader(bytes);
    let mut out = InboundFile::default();
    let mut rec = csv::StringRecord::new();
    let mut n = 0u64;
    let mut header_seen = false;
    loop {
        let pos = rdr.position().clone();
        if !rdr.read_record(&mut rec)? {
            break;
        }
        n += 1;
        let fields: Vec<String> = rec
            .iter()
            .map(|f| f.trim_start_matches('\n').to_owned())
            .collect();
        let problem = |kind| Problem::new(Severity::Error, kind, n, pos.byte());
        match fields.first().map(String::as_str) {
            Some("HDR") => {
                header_seen = true;
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
            Some("ATT") => {
                let before = out.problems.len();
                if fields.len() != ATT_FIELDS {
                    out.problems.push(problem(ProblemKind::FieldCount {
                        code: "ATT".into(),
                        expected: ATT_FIELDS,
                        found: fields.len(),
                    }));
                }
                if parse_date(fields.get(1).map_or(&b""[..], |s| s.as_bytes())).is_none() {
                    out.problems
                        .push(problem(ProblemKind::InvalidDate).in_field(
                            1,
                            Some("Entry Date"),
                            fields.get(1).map_or(&b""[..], |s| s.as_bytes()),
                        ));
                }
                for (i, v) in fields.iter().enumerate() {
                    if malformed_date(v) {
                        out.problems
                            .push(problem(ProblemKind::InvalidDate).in_field(
                                i,
                                None,
                                v.as_bytes(),
                            ));
                    }
                }
                // Any error rejects the row: a wrong field count (a lost quote shifts every
                // field after it), a bad entry date, a malformed date value.
                let accepted = out.problems.len() == before;
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
            Some("FTR") => {
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
            Some("") if fields.len() == 1 => {}
            other => {
                out.problems.push(problem(ProblemKind::UnknownRecordType(
                    other.unwrap_or("").to_owned(),
                )));
            }
        }
    }
    if !header_seen {
        out.problems.push(Problem::new(
            Severity::File,
            ProblemKind::MissingHeader,
            0,
            0,
        ));
    }
    if out.footer.is_none() {
        out.problems.push(Problem::new(
            Severity::File,
            ProblemKind::MissingFooter,
            n,
            bytes.len() as u64,
        ));
    }
    Ok(out)
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
    /// anywhere), or that the reader refuses (a date-like value that is not `DD-Mon-YYYY`, an
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
        let cases: [(Change, usize); 7] = [
            (|a| a.assignment_number = "90000001\rFTR,0,0\rATT".into(), 4),
            (|a| a.action = "ADD,X".into(), 2),
            (|a| a.action = "\"ADD".into(), 2),
            (|a| a.element = "Miles\nNHS".into(), 6),
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
}
