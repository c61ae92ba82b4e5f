//! Problems with their severity and position (docs/esr.md §6).

use std::fmt;

/// How bad a problem is.
///
/// ```
/// use carecodec_esr::Severity;
///
/// assert!(Severity::Warning < Severity::Error && Severity::Error < Severity::File);
/// assert_eq!(Severity::File.to_string(), "file error");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// The row is accepted; the diagnostic is attached.
    Warning,
    /// The row is rejected (counted in `rejected`).
    Error,
    /// The file is flagged: records are still read, but an ingester must not
    /// apply the file as a delta.
    File,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::File => "file error",
        })
    }
}

/// What is wrong.
///
/// ```
/// use carecodec_esr::ProblemKind;
///
/// assert_eq!(ProblemKind::MissingTrailer.to_string().is_empty(), false);
/// let k = ProblemKind::FieldCount { code: "PRD".into(), expected: 2, found: 3 };
/// assert!(k.to_string().contains("PRD"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The first line is not an `HDR` with `~` at byte 3.
    #[error("missing header: the first line is not HDR~")]
    MissingHeader,
    /// The file starts with a UTF-8 byte order mark: decoded as UTF-8.
    #[error("UTF-8 byte order mark: text decoded as UTF-8")]
    ByteOrderMark,
    /// Lines end with a bare CR (GO files end lines with LF or CRLF; a
    /// transfer converted them): read as line ends.
    #[error("lines end with CR alone (GO files use LF or CRLF): read as line ends")]
    CrLineEnds,
    /// The file name does not follow `GO_<VPD>_<SUB>_<type>_<YYYYMMDD>_<SEQ>.DAT`.
    #[error("bad file name: {0}")]
    BadFileName(String),
    /// The header names another file than the one read.
    #[error("header file name {header:?} differs from {actual:?}")]
    HeaderFileNameMismatch {
        /// HDR field 1.
        header: String,
        /// The transport file name.
        actual: String,
    },
    /// The header's VPD differs from the file name's.
    #[error("header VPD {header:?} differs from the file name's {name:?}")]
    VpdMismatch {
        /// HDR field 3.
        header: String,
        /// From the file name.
        name: String,
    },
    /// The header is malformed.
    #[error("bad header: {0}")]
    BadHeader(&'static str),
    /// The file has no `TRL`: it may be truncated and must not be applied.
    #[error("missing trailer: the file is incomplete")]
    MissingTrailer,
    /// `TRL~n` does not match the non-blank lines counted.
    #[error("trailer says {declared} lines, the file has {actual}")]
    TrailerCountMismatch {
        /// The count the trailer declares.
        declared: u64,
        /// Non-blank lines counted, HDR and TRL included.
        actual: u64,
    },
    /// The trailer count is not a number.
    #[error("trailer count {0:?} is not a number")]
    BadTrailer(String),
    /// Lines follow the trailer (concatenated files?).
    #[error("content after the trailer")]
    ContentAfterTrailer,
    /// A second `HDR` inside a file.
    #[error("duplicate header")]
    DuplicateHeader,
    /// A blank line: not a record.
    #[error("blank line")]
    BlankLine,
    /// An unknown record code.
    #[error("unknown record type {0:?}")]
    UnknownRecordType(String),
    /// The row has the wrong number of fields for its layout.
    #[error("{code} has {found} fields, the layout has {expected}")]
    FieldCount {
        /// Record code.
        code: String,
        /// Fields in the layout.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// A delete row without its key.
    #[error("delete row without a key")]
    MissingKey,
    /// A required field is empty.
    #[error("required field is empty")]
    MissingRequired,
    /// Not a valid `YYYYMMDD` date.
    #[error("invalid date")]
    InvalidDate,
    /// Not a valid timestamp.
    #[error("invalid timestamp")]
    InvalidTimestamp,
    /// The effective start is after the end.
    #[error("effective start is after the end")]
    StartAfterEnd,
    /// Not a decimal number (or out of its range).
    #[error("invalid number: {0}")]
    InvalidNumber(&'static str),
    /// Not Yes/No/Y/N.
    #[error("invalid Yes/No flag")]
    InvalidFlag,
    /// Not `HH:MM`.
    #[error("invalid time")]
    InvalidTime,
    /// FTE above 1.
    #[error("FTE above 1")]
    FteAboveOne,
    /// Normal hours above the grade's contract hours.
    #[error("normal hours above grade contract hours")]
    HoursAboveContract,
    /// Not a valid National Insurance number: unusable for matching.
    #[error("invalid NI number")]
    InvalidNiNumber,
    /// An identifier with non-digits.
    #[error("identifier is not numeric")]
    NonNumericId,
    /// An assignment number not `digits[-digits]`.
    #[error("invalid assignment number")]
    InvalidAssignmentNumber,
    /// An occupation code not in the NHS format.
    #[error("invalid occupation code")]
    InvalidOccupationCode,
    /// An e-mail address without exactly one `@`.
    #[error("invalid e-mail address")]
    InvalidEmail,
    /// A professional registration value that is not a number for its body.
    #[error("registration {0:?} is not a valid number for its body")]
    RegistrationNotANumber(String),
    /// A field the layout marks unused holds a value (layout drift?).
    #[error("unused field holds a value")]
    UnusedFieldNotEmpty,
    /// Text that is not valid in the file's encoding.
    #[error("invalid text for the file's encoding")]
    InvalidText,
    /// A control character (a byte below 0x20 other than TAB: NUL, a stray CR…) in a value,
    /// a sign of a corrupt transfer; FHIR and XML strings cannot hold it. The value is kept as
    /// read; the problem gives the byte and its offset.
    #[error("control character {0:#04x} in the value (kept as read)")]
    ControlCharacter(u8),
    /// CSV: a quoted field never closed: the rest of the file was read into it.
    #[error("unterminated quote: the rest of the file was read into one field")]
    UnterminatedQuote,
    /// CSV: a quoted field ran on past its line and closed on a later one, inside a field
    /// (a lost closing quote, closed by the next quote in the file): the lines between were
    /// read as one row.
    #[error(
        "quote opened on line {opened} runs on and closes on line {closed}, inside a field: lines {opened}-{closed} were read as one row"
    )]
    QuoteRunsOn {
        /// Line of the opening quote.
        opened: u64,
        /// Line of the quote that closed it.
        closed: u64,
    },
    /// CSV: a quote inside an unquoted field (`O"wen`), or text after a closing quote on the
    /// same line (`"a"b`): kept as data, as RFC 4180 readers do.
    #[error("quote inside an unquoted field: kept as data")]
    StrayQuote,
    /// CSV: a row whose every field is empty or blank (`,,,,`, a spreadsheet's empty row; the
    /// number of fields): not a record, skipped and not counted, as a blank line is.
    #[error("empty row of {0} empty fields skipped (not a record)")]
    EmptyRow(usize),
    /// CSV: a repeated header row (a page break), skipped.
    #[error("duplicate header row skipped")]
    DuplicateHeaderRow,
    /// CSV: fewer fields than the header; the missing ones are empty.
    #[error("short row: {found} of {expected} fields")]
    ShortRow {
        /// Header fields.
        expected: usize,
        /// Row fields.
        found: usize,
    },
    /// CSV: more fields than the header.
    #[error("long row: {found} of {expected} fields")]
    LongRow {
        /// Header fields.
        expected: usize,
        /// Row fields.
        found: usize,
    },
    /// Inbound: `FTR` count does not match the `ATT` rows.
    #[error("footer says {declared} records, the file has {actual}")]
    FooterCountMismatch {
        /// The count the footer declares.
        declared: u64,
        /// ATT rows counted.
        actual: u64,
    },
    /// Inbound: no `FTR`.
    #[error("missing footer")]
    MissingFooter,
    /// Inbound: lines after the `FTR` (concatenated files?). The first is a file error; an
    /// `ATT` row after the footer is also rejected.
    #[error("content after the footer (FTR)")]
    ContentAfterFooter,
    /// Inbound: an `ATT` row after a second `HDR` (concatenated files?): rejected.
    #[error("row after a second header (HDR)")]
    AfterDuplicateHeader,
    /// Inbound: lines end with LF or CRLF (inbound files end records with CR alone; a transfer
    /// converted them): read as line ends.
    #[error("lines end with LF or CRLF (inbound files use CR alone): read as line ends")]
    LfLineEnds,
    /// A sequence number out of order for an ingester.
    #[error("sequence gap: expected {expected}, found {found}")]
    SequenceGap {
        /// Last applied + 1.
        expected: u64,
        /// The file's sequence number.
        found: u64,
    },
    /// A sequence number already applied (re-delivery).
    #[error("sequence {0} repeated")]
    SequenceRepeated(u64),
    /// CSV: the file is empty (no header row).
    #[error("no header row: the file is empty")]
    NoHeaderRow,
    /// CSV: a header row and no data rows (a truncated export?).
    #[error("no data rows after the header")]
    NoDataRows,
    /// CSV: two columns with the same header name, or mapped to the same field: which value
    /// the field holds would be ambiguous.
    #[error("column {0:?} appears more than once")]
    DuplicateColumn(String),
    /// CSV: the file is not valid UTF-8; it was decoded as Windows-1252 (ISO-8859-1 with the
    /// printable 0x80–0x9F characters). The line is the first with a non-UTF-8 byte.
    #[error("not UTF-8: text decoded as Windows-1252")]
    NotUtf8,
    /// A line longer than the reader's limit: the row is rejected and skipped.
    #[error("line longer than {0} bytes: skipped")]
    LineTooLong(usize),
    /// An I/O error.
    #[error("I/O error: {0}")]
    Io(String),
}

/// A problem with where it is: file, line, byte offset, record type, field and raw value.
///
/// ```
/// use carecodec_esr::bi::BiReader;
/// use carecodec_esr::{ProblemKind, Severity};
///
/// let file = BiReader::read(b"Employee Number,Start Date\n90000001,31/02/2022\n")?;
/// let p = &file.problems[0];
/// assert_eq!((p.severity, &p.kind, p.line), (Severity::Error, &ProblemKind::InvalidDate, 2));
/// assert_eq!(p.raw.as_deref(), Some("31/02/2022"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// How bad.
    pub severity: Severity,
    /// What.
    pub kind: ProblemKind,
    /// 1-based line (0 for the file as a whole).
    pub line: u64,
    /// Byte offset of the field (or the line) in the file.
    pub offset: u64,
    /// Record code, when known.
    pub record: Option<String>,
    /// 0-based field index, when the problem is in one field.
    pub field_index: Option<usize>,
    /// Field name, when known.
    pub field: Option<&'static str>,
    /// The raw value (or line), lossily decoded.
    pub raw: Option<String>,
}

impl Problem {
    /// A problem of `kind` at `line`/`offset`.
    ///
    /// ```
    /// use carecodec_esr::{Problem, ProblemKind, Severity};
    ///
    /// let p = Problem::new(Severity::File, ProblemKind::MissingTrailer, 0, 512);
    /// assert_eq!((p.line, p.offset), (0, 512));
    /// assert!(p.record.is_none() && p.field.is_none() && p.raw.is_none());
    /// ```
    pub fn new(severity: Severity, kind: ProblemKind, line: u64, offset: u64) -> Problem {
        Problem {
            severity,
            kind,
            line,
            offset,
            record: None,
            field_index: None,
            field: None,
            raw: None,
        }
    }

    /// The problem located in field `index` (`name`) holding `raw`.
    ///
    /// ```
    /// use carecodec_esr::{Problem, ProblemKind, Severity};
    ///
    /// let p = Problem::new(Severity::Error, ProblemKind::InvalidDate, 2, 120)
    ///     .in_field(3, Some("Date of Birth"), b"19701301");
    /// assert_eq!((p.field_index, p.field), (Some(3), Some("Date of Birth")));
    /// assert_eq!(p.raw.as_deref(), Some("19701301"));
    /// ```
    #[must_use]
    pub fn in_field(mut self, index: usize, name: Option<&'static str>, raw: &[u8]) -> Problem {
        self.field_index = Some(index);
        self.field = name;
        self.raw = Some(shown(raw));
        self
    }

    /// The problem tagged with its record code.
    ///
    /// ```
    /// use carecodec_esr::{Problem, ProblemKind, Severity};
    ///
    /// let p = Problem::new(Severity::Error, ProblemKind::MissingKey, 2, 100).in_record(b"PRD");
    /// assert_eq!(p.record.as_deref(), Some("PRD"));
    /// ```
    #[must_use]
    pub fn in_record(mut self, code: &[u8]) -> Problem {
        self.record = Some(String::from_utf8_lossy(code).into_owned());
        self
    }

    /// The problem with the raw value (or line) attached.
    ///
    /// ```
    /// use carecodec_esr::{Problem, ProblemKind, Severity};
    ///
    /// let p = Problem::new(Severity::Warning, ProblemKind::BlankLine, 3, 80).with_raw(b"Caf\xe9");
    /// assert_eq!(p.raw.as_deref(), Some("Caf\u{fffd}")); // lossily decoded
    /// ```
    #[must_use]
    pub fn with_raw(mut self, raw: &[u8]) -> Problem {
        self.raw = Some(shown(raw));
        self
    }
}

/// The most bytes of a raw value a problem echoes.
///
/// ```
/// use carecodec_esr::problem::MAX_RAW_BYTES;
/// use carecodec_esr::{Problem, ProblemKind, Severity};
///
/// let huge = vec![b'x'; 10 * MAX_RAW_BYTES];
/// let p = Problem::new(Severity::Error, ProblemKind::BlankLine, 1, 0).with_raw(&huge);
/// let shown = p.raw.unwrap_or_default();
/// assert!(shown.len() < 2 * MAX_RAW_BYTES);
/// assert!(shown.starts_with("xxx") && shown.contains('…'));
/// ```
pub const MAX_RAW_BYTES: usize = 2048;

/// A raw value as a problem shows it: lossily decoded, cut after [`MAX_RAW_BYTES`] with
/// `…` and the full length, so a huge line is never echoed whole.
fn shown(raw: &[u8]) -> String {
    match raw.get(..MAX_RAW_BYTES) {
        Some(head) if raw.len() > MAX_RAW_BYTES => {
            format!("{}… ({} bytes)", String::from_utf8_lossy(head), raw.len())
        }
        _ => String::from_utf8_lossy(raw).into_owned(),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, byte {}: {}: {}",
            self.line, self.offset, self.severity, self.kind
        )?;
        if let Some(r) = &self.record {
            // A code read from garbage may hold control characters and line
            // breaks: escaped, so a problem stays one line.
            write!(f, " [{}", r.escape_debug())?;
            if let (Some(i), Some(n)) = (self.field_index, self.field) {
                write!(f, " field {i} {n}")?;
            } else if let Some(i) = self.field_index {
                write!(f, " field {i}")?;
            }
            f.write_str("]")?;
        }
        if let Some(raw) = &self.raw {
            write!(f, " {raw:?}")?;
        }
        Ok(())
    }
}
