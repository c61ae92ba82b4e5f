//! Errors with positions: byte offset, line (segment number) and HL7 path.

use std::fmt;

/// A `Result` whose error is this crate's [`Error`].
///
/// ```
/// use carecodec_hl7v2::{Message, Result};
///
/// fn control_id(input: &[u8]) -> Result<Option<String>> {
///     Ok(Message::parse(input)?.control_id().map(str::to_owned))
/// }
/// assert_eq!(control_id(b"MSH|^~\\&|||||||ADT^A01|9\r")?, Some("9".to_owned()));
/// assert!(control_id(b"PID|1\r").is_err());
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong. New variants may be added in minor releases.
///
/// ```
/// use carecodec_hl7v2::{ErrorKind, Message};
///
/// assert_eq!(Message::parse(b"").unwrap_err().kind(), &ErrorKind::Empty);
/// assert_eq!(Message::parse(b"PID|1\r").unwrap_err().kind(), &ErrorKind::MissingHeader);
/// assert_eq!(
///     Message::parse(b"MSH|^~\\&\rP!D|1\r").unwrap_err().kind(),
///     &ErrorKind::InvalidSegmentId("P!D".into())
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is empty (or holds only framing bytes and blank lines).
    #[error("no message: the input is empty")]
    Empty,
    /// The message does not start with an `MSH` (or `FHS`/`BHS`) header segment.
    #[error("the message does not start with an MSH segment")]
    MissingHeader,
    /// The header is too short to hold MSH-1 and MSH-2.
    #[error("the MSH segment is too short to hold its delimiters")]
    TruncatedHeader,
    /// A delimiter in MSH-1/MSH-2 is repeated, alphanumeric or a line break.
    #[error("invalid delimiters in MSH-1/MSH-2: {0}")]
    InvalidDelimiters(&'static str),
    /// A segment identifier is not three upper-case letters or digits.
    #[error("invalid segment identifier {0:?}")]
    InvalidSegmentId(String),
    /// A repair that strict mode does not allow.
    #[error("strict mode: {0}")]
    Strict(crate::RepairKind),
    /// MSH-18 names a character set this crate does not decode.
    #[error("unsupported character set {0:?} in MSH-18")]
    UnsupportedCharset(String),
    /// Bytes that are not valid in the message's character set.
    #[error("invalid {charset} text")]
    InvalidText {
        /// The character set the bytes were decoded as.
        charset: &'static str,
    },
    /// A path such as `PID-3[2].1` could not be parsed.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A value could not be read as the requested data type.
    #[error("invalid {datatype} value: {reason}")]
    InvalidValue {
        /// The HL7 data type (`TS`, `DTM`, `NM`…).
        datatype: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The message is larger than the 4 GiB an index can address.
    #[error("message larger than 4 GiB")]
    TooLarge,
    /// A message in a stream is larger than the reader's limit
    /// ([`BatchOptions::max_message_bytes`](crate::batch::BatchOptions)); it
    /// was skipped, not buffered.
    #[error("message of {size} bytes is over the {limit}-byte limit (max_message_bytes)")]
    OverLimit {
        /// The message's size in bytes (up to its end in the stream).
        size: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// An MLLP frame (started by 0x0B) has no end block (0x1C) before the next
    /// start block or the end of the input: the transmission was cut off.
    #[error("MLLP frame has no end block (0x1C): cut off before {0}")]
    UnterminatedFrame(&'static str),
    /// An edit addressed something that cannot be set (e.g. MSH-1).
    #[error("cannot set {0}")]
    ReadOnly(&'static str),
    /// Text that cannot be written into the message as it is: a delimiter
    /// or control character when MSH-2 defines no escape character, or a
    /// character the message's charset (MSH-18) cannot hold. The error's
    /// offset is the character's byte offset in the text.
    #[error("cannot write {ch:?}: {reason}")]
    Unencodable {
        /// The character.
        ch: char,
        /// Why it cannot be written.
        reason: &'static str,
    },
    /// An I/O error from an underlying reader or writer.
    #[error("I/O error: {0}")]
    Io(String),
}

/// An HL7 v2 error with its position.
///
/// The position is the byte offset into the input (always), the line (the
/// 1-based segment number, counting segment terminators) and, where known, the
/// HL7 path of the offending element.
///
/// ```
/// use carecodec_hl7v2::Message;
///
/// let err = Message::parse(b"MSH|^~\\&|A\rP!D|1\r").unwrap_err();
/// assert_eq!(err.offset(), 11);
/// assert_eq!(err.line(), 2);
/// assert!(err.to_string().contains("line 2"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<Inner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    offset: usize,
    line: usize,
    path: Option<String>,
}

impl Error {
    /// Builds an error of `kind` at byte `offset`, on 1-based `line`.
    ///
    /// ```
    /// use carecodec_hl7v2::{Error, ErrorKind};
    ///
    /// let err = Error::new(ErrorKind::TooLarge, 10, 2);
    /// assert_eq!((err.offset(), err.line()), (10, 2));
    /// assert_eq!(err.kind(), &ErrorKind::TooLarge);
    /// ```
    #[cold]
    pub fn new(kind: ErrorKind, offset: usize, line: usize) -> Error {
        Error(Box::new(Inner {
            kind,
            offset,
            line,
            path: None,
        }))
    }

    /// Builds an error at `offset` of `input`, deriving the line by counting
    /// segment terminators before it (CR, LF or CRLF, each counted once).
    ///
    /// ```
    /// use carecodec_hl7v2::{Error, ErrorKind};
    ///
    /// let input = b"MSH|^~\\&\rPID|1\rPV1|X\r";
    /// let err = Error::at(ErrorKind::ReadOnly("PV1-2"), input, 19);
    /// assert_eq!(err.line(), 3);
    /// ```
    #[cold]
    pub fn at(kind: ErrorKind, input: &[u8], offset: usize) -> Error {
        Error::new(kind, offset, line_of(input, offset))
    }

    /// Attaches the HL7 path (`PID[1]-3[2].1`) of the offending element.
    ///
    /// ```
    /// use carecodec_hl7v2::{Error, ErrorKind};
    ///
    /// let err = Error::new(ErrorKind::Empty, 0, 1).with_path("PID[1]-3[2].1");
    /// assert_eq!(err.path(), Some("PID[1]-3[2].1"));
    /// ```
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Error {
        self.0.path = Some(path.into());
        self
    }

    /// Moves the position by `base` bytes and `lines` lines, for a message read
    /// from inside a larger file.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// // An error in a message that starts at byte 100, line 7, of a file.
    /// let err = Message::parse(b"MSH|^~\\&\rP!D\r").unwrap_err().shifted(100, 6);
    /// assert_eq!((err.offset(), err.line()), (109, 8));
    /// ```
    #[must_use]
    pub fn shifted(mut self, base: usize, lines: usize) -> Error {
        self.0.offset += base;
        self.0.line += lines;
        self
    }

    /// What went wrong.
    ///
    /// ```
    /// use carecodec_hl7v2::{ErrorKind, Message};
    ///
    /// let err = Message::parse(b"MSH|^^\\&\r").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::InvalidDelimiters(_)));
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Byte offset of the fault in the input.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let input = b"MSH|^~\\&\rPID|1\rbad|1\r";
    /// let err = Message::parse(input).unwrap_err();
    /// assert_eq!(err.offset(), 15);
    /// assert_eq!(&input[err.offset()..err.offset() + 3], b"bad");
    /// ```
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// 1-based line (segment number) of the fault.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let err = Message::parse(b"MSH|^~\\&\rPID|1\rbad|1\r").unwrap_err();
    /// assert_eq!(err.line(), 3);
    /// ```
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// HL7 path of the offending element, when known.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let err = Message::parse(b"MSH|^~\\&|||||||ADT^A01|1|P|2.4||||||ISO IR87\r").unwrap_err();
    /// assert_eq!(err.path(), Some("MSH[1]-18"));
    /// assert_eq!(Message::parse(b"").unwrap_err().path(), None);
    /// ```
    pub fn path(&self) -> Option<&str> {
        self.0.path.as_deref()
    }

    /// Renders the offending line of `input` with a caret under the fault.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let input = b"MSH|^~\\&|A\rP!D|1\r";
    /// let err = Message::parse(input).unwrap_err();
    /// let shown = err.render(input);
    /// assert!(shown.contains("P!D|1"));
    /// assert!(shown.contains("^"));
    /// ```
    pub fn render(&self, input: &[u8]) -> String {
        render_caret(input, self.0.offset, &self.to_string())
    }

    /// Renders the offending line of `input` with a caret under the fault,
    /// where `input` starts at byte `base` of the file the error's position is
    /// in: a message read by [`BatchReader`](crate::batch::BatchReader), whose
    /// errors carry file offsets, with its `Entry::offset` as `base`.
    ///
    /// ```
    /// use carecodec_hl7v2::batch::BatchReader;
    ///
    /// let file = b"MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B\rP!D|2\r";
    /// let mut reader = BatchReader::new(&file[..]);
    /// reader.next_message();
    /// let entry = reader.next_message().unwrap();
    /// let err = entry.result.unwrap_err();
    /// assert_eq!(err.offset(), 28);
    /// let shown = err.render_in(entry.bytes, entry.offset);
    /// assert!(shown.ends_with("\n  P!D|2\n  ^"), "{shown}");
    /// ```
    pub fn render_in(&self, input: &[u8], base: usize) -> String {
        render_caret(input, self.0.offset.saturating_sub(base), &self.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {}, byte {}",
            self.0.kind, self.0.line, self.0.offset
        )?;
        if let Some(p) = &self.0.path {
            write!(f, " ({p})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    #[cold]
    fn from(e: std::io::Error) -> Error {
        Error::new(ErrorKind::Io(e.to_string()), 0, 0)
    }
}

/// 1-based line of `offset` in `input`: the segment terminators (CR, LF,
/// CRLF, each counted once) before it, plus one.
///
/// ```
/// assert_eq!(carecodec_hl7v2::error::line_of(b"MSH|x\r\nPID|1\rPV1", 13), 3);
/// ```
pub fn line_of(input: &[u8], offset: usize) -> usize {
    let end = offset.min(input.len());
    let head = input.get(..end).unwrap_or_default();
    let crs = memchr::memchr_iter(b'\r', head).count();
    let lfs = memchr::memchr_iter(b'\n', head).count();
    let crlfs = memchr::memmem::find_iter(head, b"\r\n").count();
    crs + lfs - crlfs + 1
}

/// Renders the line of `input` holding `offset`, with `message` above and a
/// caret below. Non-printable bytes are shown as `.` so columns line up.
pub(crate) fn render_caret(input: &[u8], offset: usize, message: &str) -> String {
    let offset = offset.min(input.len());
    let head = input.get(..offset).unwrap_or_default();
    let start = memchr::memrchr2(b'\r', b'\n', head).map_or(0, |p| p + 1);
    let tail = input.get(offset..).unwrap_or_default();
    let end = offset + memchr::memchr2(b'\r', b'\n', tail).unwrap_or(tail.len());
    // A long line is shown as a window around the fault, marked with `...`.
    let from = start.max(offset.saturating_sub(RENDER_WINDOW));
    let to = end.min(offset.saturating_add(RENDER_WINDOW));
    let line = input.get(from..to).unwrap_or_default();
    let mut shown: String = line
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    let mut col = offset - from;
    if from > start {
        shown.insert_str(0, "...");
        col += 3;
    }
    if to < end {
        shown.push_str("...");
    }
    format!("{message}\n  {shown}\n  {}^", " ".repeat(col))
}

/// Bytes shown either side of the fault when its line is longer.
const RENDER_WINDOW: usize = 72;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counts_crlf_once() {
        assert_eq!(line_of(b"a\r\nb\nc\rd", 0), 1);
        assert_eq!(line_of(b"a\r\nb\nc\rd", 3), 2);
        assert_eq!(line_of(b"a\r\nb\nc\rd", 7), 4);
        assert_eq!(line_of(b"abc", 99), 1);
    }

    #[test]
    fn long_lines_are_shown_as_a_window() {
        let mut input = b"NTE|1||".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1000));
        input.push(b'!');
        input.extend(std::iter::repeat_n(b'y', 1000));
        let s = render_caret(&input, 1007, "boom");
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[1].len(), 2 + 3 + 72 + 72 + 3);
        assert_eq!(lines[2].len(), lines[1].find('!').unwrap() + 1);
        assert!(lines[1].starts_with("  ...xxx") && lines[1].ends_with("yyy..."));
    }

    #[test]
    fn caret_points_at_column() {
        let s = render_caret(b"MSH|x\rPID|1|\x01", 11, "boom");
        assert_eq!(s, "boom\n  PID|1|.\n       ^");
    }
}
