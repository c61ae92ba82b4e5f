//! Batch files (FHS/BHS … BTS/FTS) and back-to-back message streams, read
//! from any [`BufRead`] in constant memory.
//!
//! [`BatchReader`] splits the input into messages at each `MSH` segment,
//! keeping every byte of each message (terminators included) in one reusable
//! buffer and parsing it into one reusable [`Index`]. Memory stays bounded by
//! the largest message (capped by [`BatchOptions::max_message_bytes`]).
//!
//! Every message is accounted for: [`Summary::read`] = accepted + rejected,
//! and each rejection carries the byte offset and line in the *file*. The
//! envelope is checked: BTS-1 against the messages in the batch, FTS-1
//! against the batches in the file, missing trailers, and lines outside any
//! message are reported as [`Problem`]s rather than dropped.
//!
//! ```
//! use carecodec_hl7v2::batch::BatchReader;
//!
//! let file = b"FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A||||||ADT^A01|1|P|2.4\rPID|1\r\
//! MSH|^~\\&|A||||||ADT^A01|2|P|2.4\rBTS|2\rFTS|1\r";
//! let mut reader = BatchReader::new(&file[..]);
//! let mut ids = Vec::new();
//! while let Some(entry) = reader.next_message() {
//!     let msg = entry.result.unwrap();
//!     ids.push(msg.control_id().unwrap().to_owned());
//! }
//! assert_eq!(ids, ["1", "2"]);
//! let summary = reader.summary();
//! assert_eq!((summary.read, summary.accepted, summary.rejected), (2, 2, 0));
//! assert!(summary.problems.is_empty());
//! ```

use std::fmt;
use std::io::BufRead;

use crate::error::{Error, ErrorKind, Result};
use crate::message::Message;
use crate::scan::{Index, ParseOptions};

/// Options for [`BatchReader`].
///
/// ```
/// use carecodec_hl7v2::batch::{BatchOptions, BatchReader};
/// use carecodec_hl7v2::ErrorKind;
///
/// let file = b"MSH|^~\\&|A||||||ADT^A01|1\rPID|1||LONG-IDENTIFIER\rMSH|^~\\&|B\r";
/// let mut opts = BatchOptions::default();
/// opts.max_message_bytes = 32;
/// let mut reader = BatchReader::with_options(&file[..], opts);
/// let first = reader.next_message().ok_or("no message")?;
/// assert!(matches!(first.result.map_err(|e| e.kind().clone()),
///     Err(ErrorKind::OverLimit { limit: 32, .. })));
/// assert!(reader.next_message().ok_or("no message")?.result.is_ok());
/// assert_eq!(reader.summary().rejected, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchOptions {
    /// How each message is parsed.
    pub parse: ParseOptions,
    /// A message larger than this is rejected (and skipped) instead of buffered.
    pub max_message_bytes: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            parse: ParseOptions::default(),
            max_message_bytes: 64 << 20,
        }
    }
}

/// Something wrong with the file around the messages.
///
/// ```
/// use carecodec_hl7v2::batch::{BatchReader, ProblemKind};
///
/// let file = b"BHS|^~\\&\rMSH|^~\\&|A\rBTS|3\r";
/// let mut reader = BatchReader::new(&file[..]);
/// while reader.next_message().is_some() {}
/// let kinds: Vec<&ProblemKind> = reader.summary().problems.iter().map(|p| &p.kind).collect();
/// assert_eq!(kinds, [&ProblemKind::BatchCountMismatch { declared: "3".into(), counted: 1 }]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// BTS-1 does not match the number of messages in the batch.
    BatchCountMismatch {
        /// BTS-1 as sent.
        declared: String,
        /// Messages counted in the batch.
        counted: usize,
    },
    /// FTS-1 does not match the number of batches in the file.
    FileCountMismatch {
        /// FTS-1 as sent.
        declared: String,
        /// Batches counted in the file.
        counted: usize,
    },
    /// A BHS without a BTS before the next BHS or the end.
    MissingBatchTrailer,
    /// An FHS without an FTS before the end.
    MissingFileTrailer,
    /// A trailer (BTS/FTS) without its header.
    UnexpectedTrailer(String),
    /// Lines outside any message (before the first MSH, or after a trailer).
    OrphanLines {
        /// How many lines.
        lines: usize,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::BatchCountMismatch { declared, counted } => {
                write!(
                    f,
                    "BTS-1 says {declared:?} messages, the batch holds {counted}"
                )
            }
            ProblemKind::FileCountMismatch { declared, counted } => {
                write!(
                    f,
                    "FTS-1 says {declared:?} batches, the file holds {counted}"
                )
            }
            ProblemKind::MissingBatchTrailer => f.write_str("batch has no BTS trailer"),
            ProblemKind::MissingFileTrailer => f.write_str("file has no FTS trailer"),
            ProblemKind::UnexpectedTrailer(s) => write!(f, "{s} without its header"),
            ProblemKind::OrphanLines { lines } => write!(f, "{lines} line(s) outside any message"),
        }
    }
}

/// An envelope problem with its position in the file.
///
/// ```
/// use carecodec_hl7v2::batch::{BatchReader, ProblemKind};
///
/// let file = b"junk\rMSH|^~\\&|A\r";
/// let mut reader = BatchReader::new(&file[..]);
/// while reader.next_message().is_some() {}
/// let problem = &reader.summary().problems[0];
/// assert_eq!(problem.kind, ProblemKind::OrphanLines { lines: 1 });
/// assert_eq!((problem.offset, problem.line), (0, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// Byte offset in the file.
    pub offset: usize,
    /// 1-based line in the file.
    pub line: usize,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {}, byte {}",
            self.kind, self.line, self.offset
        )
    }
}

/// The accounting of a read: `read == accepted + rejected`.
///
/// ```
/// use carecodec_hl7v2::batch::BatchReader;
///
/// let file = b"MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B\rP!D|2\r";
/// let mut reader = BatchReader::new(&file[..]);
/// while reader.next_message().is_some() {}
/// let s = reader.summary();
/// assert_eq!((s.read, s.accepted, s.rejected), (2, 1, 1));
/// assert_eq!(s.bytes, file.len() as u64);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Messages read (every `MSH`).
    pub read: usize,
    /// Messages that parsed.
    pub accepted: usize,
    /// Messages rejected with an error.
    pub rejected: usize,
    /// Batches (BHS) seen.
    pub batches: usize,
    /// Files (FHS) seen.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Envelope problems.
    pub problems: Vec<Problem>,
}

/// One message read from a stream: its place in the file and its parse result.
///
/// ```
/// use carecodec_hl7v2::batch::BatchReader;
///
/// let file = b"MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B\r";
/// let mut reader = BatchReader::new(&file[..]);
/// reader.next_message();
/// let entry = reader.next_message().ok_or("no second message")?;
/// assert_eq!((entry.number, entry.offset, entry.line), (2, 17, 3));
/// assert_eq!(entry.bytes, b"MSH|^~\\&|B\r");
/// assert_eq!(entry.result?.text("MSH-3")?.as_deref(), Some("B"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Entry<'r> {
    /// 1-based message number in the stream.
    pub number: usize,
    /// Byte offset of the message's first byte in the file.
    pub offset: usize,
    /// 1-based line of the message's MSH in the file.
    pub line: usize,
    /// The message's bytes exactly as in the file, terminators included.
    pub bytes: &'r [u8],
    /// The parsed message, or the error (with file positions) that rejected it.
    pub result: Result<Message<'r>>,
}

#[derive(Debug, Default)]
struct Envelope {
    in_file: bool,
    in_batch: bool,
    batch_messages: usize,
    file_batches: usize,
}

/// How a line read from the stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Term {
    /// End of the input, no terminator.
    #[default]
    None,
    /// CR, with the LF after it when there is one.
    Cr,
    /// LF alone.
    Lf,
    /// The MLLP end block 0x1C (as the line's last byte, or before its CR, LF
    /// or CRLF).
    EndBlock,
}

/// Reads messages one at a time from a [`BufRead`], in constant memory.
///
/// ```
/// use carecodec_hl7v2::batch::BatchReader;
///
/// let file = b"MSH|^~\\&|A||||||ADT^A01|1\nPID|1\nMSH|^~\\&|A||||||ADT^A01|2\nPID|2\n";
/// let mut reader = BatchReader::new(&file[..]);
/// let mut ids = Vec::new();
/// while let Some(entry) = reader.next_message() {
///     ids.push(entry.result?.control_id().map(str::to_owned));
/// }
/// assert_eq!(ids, [Some("1".to_owned()), Some("2".to_owned())]);
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug)]
pub struct BatchReader<R> {
    reader: R,
    opts: BatchOptions,
    /// The next message's bytes (complete once the following MSH/trailer or EOF is seen).
    buf: Vec<u8>,
    /// A line already read that starts the next message.
    pending: Vec<u8>,
    /// The pending line's offset, line number, length in the file and terminator.
    pending_at: (usize, usize, usize, Term),
    index: Index,
    /// Byte offset of the next unread byte, and lines seen so far.
    pos: usize,
    lines: usize,
    eof: bool,
    io_error: Option<Error>,
    env: Envelope,
    orphan: Option<(usize, usize, usize)>,
    summary: Summary,
    /// The last line read, cut at the limit (`line_len` is its full length).
    line_buf: Vec<u8>,
    line_len: usize,
    line_term: Term,
}

fn segment_id(line: &[u8]) -> &[u8] {
    line.get(..3).unwrap_or(line)
}

/// `line` without a leading BOM and MLLP start block.
fn unframed(line: &[u8]) -> &[u8] {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    line.strip_prefix(b"\x0b").unwrap_or(line)
}

/// True when `line` starts a message or is a batch/file header or trailer.
fn is_envelope_id(line: &[u8]) -> bool {
    matches!(
        segment_id(unframed(line)),
        b"MSH" | b"FHS" | b"BHS" | b"BTS" | b"FTS"
    )
}

/// In a CR-terminated message a line after a bare LF is the same segment's
/// text; it starts a new message only when it is unmistakably a header or
/// trailer: framed by 0x0B, or the segment id followed by the message's own
/// field separator (`MSH|`, `BTS|`), as in files holding one CR-terminated
/// message per LF-ended line.
fn starts_after_lf(line: &[u8], field_sep: Option<u8>) -> bool {
    let bare = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if bare.first() == Some(&0x0b) {
        return is_envelope_id(bare);
    }
    is_envelope_id(bare) && field_sep.is_some() && bare.get(3).copied() == field_sep
}

/// True when a line holding `line` so far (`line_len` bytes read, `line` cut
/// at the limit) and then `head` is at its start: empty, or only a BOM. An
/// MLLP start block there is the line's own.
fn at_line_start(line: &[u8], line_len: usize, head: &[u8]) -> bool {
    match line_len + head.len() {
        0 => true,
        3 => line.iter().chain(head).eq(b"\xEF\xBB\xBF".iter()),
        _ => false,
    }
}

impl<R: BufRead> BatchReader<R> {
    /// A reader with default options.
    ///
    /// ```
    /// use carecodec_hl7v2::batch::BatchReader;
    ///
    /// let mut reader = BatchReader::new(std::io::Cursor::new(b"MSH|^~\\&|A\r".to_vec()));
    /// assert!(reader.next_message().is_some_and(|e| e.result.is_ok()));
    /// assert!(reader.next_message().is_none());
    /// ```
    pub fn new(reader: R) -> BatchReader<R> {
        BatchReader::with_options(reader, BatchOptions::default())
    }

    /// A reader with `opts`.
    ///
    /// ```
    /// use carecodec_hl7v2::batch::{BatchOptions, BatchReader};
    /// use carecodec_hl7v2::ParseOptions;
    ///
    /// let mut opts = BatchOptions::default();
    /// opts.parse = ParseOptions::strict();
    /// let mut reader = BatchReader::with_options(&b"MSH|^~\\&|A\nPID|1\n"[..], opts);
    /// assert!(reader.next_message().is_some_and(|e| e.result.is_err())); // LF terminators
    /// assert_eq!(reader.summary().rejected, 1);
    /// ```
    pub fn with_options(reader: R, opts: BatchOptions) -> BatchReader<R> {
        BatchReader {
            reader,
            opts,
            buf: Vec::new(),
            pending: Vec::new(),
            pending_at: (0, 0, 0, Term::None),
            index: Index::default(),
            pos: 0,
            lines: 0,
            eof: false,
            io_error: None,
            env: Envelope::default(),
            orphan: None,
            summary: Summary::default(),
            line_buf: Vec::new(),
            line_len: 0,
            line_term: Term::None,
        }
    }

    /// Reads one line (terminator included) into `line_buf`, keeping at most
    /// `cap` bytes of it (the rest is read and counted in `line_len`, not
    /// kept). A line ends at CR (with an LF after it), at LF, before an MLLP
    /// start block 0x0B that is not at its start, or at the end of the input.
    /// A line whose last byte before that end is the MLLP end block 0x1C ends
    /// a frame ([`Term::EndBlock`]). Returns false at EOF.
    fn read_line(&mut self, cap: usize) -> bool {
        self.line_buf.clear();
        self.line_len = 0;
        self.line_term = Term::None;
        let cap = cap.max(16);
        // The last byte read, and the one before it.
        let (mut last, mut before_last) = (None, None);
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.io_error = Some(Error::from(e).shifted(self.pos, self.lines + 1));
                    self.eof = true;
                    break;
                }
            };
            if chunk.is_empty() {
                self.eof = true;
                break;
            }
            if last == Some(b'\r') {
                // A CR ends the line, with the LF after it when there is one.
                if chunk.first() == Some(&b'\n') {
                    self.push_line(b"\n", cap);
                    self.reader.consume(1);
                }
                break;
            }
            match memchr::memchr3(b'\r', b'\n', 0x0b, chunk) {
                Some(p) => {
                    let found = chunk.get(p).copied();
                    let prev = p.checked_sub(1).and_then(|i| chunk.get(i).copied());
                    let head = chunk.get(..p).unwrap_or_default();
                    if found == Some(0x0b) && !at_line_start(&self.line_buf, self.line_len, head) {
                        // A start block inside a line begins the next frame:
                        // the line ends before it (a frame cut off mid-segment).
                        Self::push_capped(&mut self.line_buf, &mut self.line_len, head, cap);
                        self.reader.consume(p);
                        before_last = prev.or(last);
                        return self.ended(before_last, Term::None);
                    }
                    let part = chunk.get(..=p).unwrap_or_default();
                    Self::push_capped(&mut self.line_buf, &mut self.line_len, part, cap);
                    self.reader.consume(p + 1);
                    before_last = prev.or(last);
                    last = found;
                    if found == Some(b'\n') {
                        return self.ended(before_last, Term::Lf);
                    }
                }
                None => {
                    let n = chunk.len();
                    before_last = chunk
                        .len()
                        .checked_sub(2)
                        .and_then(|i| chunk.get(i).copied())
                        .or(last);
                    last = chunk.last().copied();
                    Self::push_capped(&mut self.line_buf, &mut self.line_len, chunk, cap);
                    self.reader.consume(n);
                }
            }
        }
        match last {
            Some(b'\r') => self.ended(before_last, Term::Cr),
            Some(0x1c) => self.ended(Some(0x1c), Term::None),
            _ => self.line_len > 0,
        }
    }

    /// Sets how the line ended: at an end block when the byte before its
    /// terminator (`before`) is 0x1C, else at `term`. Returns true.
    fn ended(&mut self, before: Option<u8>, term: Term) -> bool {
        self.line_term = if before == Some(0x1c) {
            Term::EndBlock
        } else {
            term
        };
        true
    }

    fn push_line(&mut self, bytes: &[u8], cap: usize) {
        Self::push_capped(&mut self.line_buf, &mut self.line_len, bytes, cap);
    }

    fn push_capped(buf: &mut Vec<u8>, len: &mut usize, bytes: &[u8], cap: usize) {
        *len += bytes.len();
        let room = cap.saturating_sub(buf.len());
        buf.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
    }

    fn problem(&mut self, kind: ProblemKind, offset: usize, line: usize) {
        self.summary.problems.push(Problem { kind, offset, line });
    }

    fn flush_orphans(&mut self) {
        if let Some((offset, line, lines)) = self.orphan.take() {
            self.problem(ProblemKind::OrphanLines { lines }, offset, line);
        }
    }

    /// Handles a line that is not part of a message body. Returns true when it
    /// starts a message (MSH).
    fn envelope_line(&mut self, offset: usize, line_no: usize) -> bool {
        let line = std::mem::take(&mut self.line_buf);
        let trimmed = unframed(&line);
        let id = segment_id(trimmed);
        let is_msh = id == b"MSH";
        match id {
            b"MSH" => {
                if self.env.in_batch {
                    self.env.batch_messages += 1;
                }
            }
            b"FHS" => {
                self.flush_orphans();
                self.close_batch(offset, line_no);
                self.close_file(offset, line_no);
                self.env.in_file = true;
                self.summary.files += 1;
            }
            b"BHS" => {
                self.flush_orphans();
                self.close_batch(offset, line_no);
                self.env.in_batch = true;
                self.env.batch_messages = 0;
                self.env.file_batches += 1;
                self.summary.batches += 1;
            }
            b"BTS" => {
                self.flush_orphans();
                if self.env.in_batch {
                    let declared = field1(trimmed);
                    if parse_count(&declared) != Some(self.env.batch_messages) {
                        self.problem(
                            ProblemKind::BatchCountMismatch {
                                declared,
                                counted: self.env.batch_messages,
                            },
                            offset,
                            line_no,
                        );
                    }
                    self.env.in_batch = false;
                } else {
                    self.problem(
                        ProblemKind::UnexpectedTrailer("BTS".into()),
                        offset,
                        line_no,
                    );
                }
            }
            b"FTS" => {
                self.flush_orphans();
                self.close_batch(offset, line_no);
                if self.env.in_file {
                    let declared = field1(trimmed);
                    if parse_count(&declared) != Some(self.env.file_batches) {
                        self.problem(
                            ProblemKind::FileCountMismatch {
                                declared,
                                counted: self.env.file_batches,
                            },
                            offset,
                            line_no,
                        );
                    }
                    self.env.in_file = false;
                    self.env.file_batches = 0;
                } else {
                    self.problem(
                        ProblemKind::UnexpectedTrailer("FTS".into()),
                        offset,
                        line_no,
                    );
                }
            }
            _ => {
                let blank = trimmed
                    .iter()
                    .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0 | 0x1c));
                if !blank {
                    match &mut self.orphan {
                        Some((_, _, n)) => *n += 1,
                        None => self.orphan = Some((offset, line_no, 1)),
                    }
                }
            }
        }
        self.line_buf = line;
        is_msh
    }

    fn close_batch(&mut self, offset: usize, line: usize) {
        if self.env.in_batch {
            self.env.in_batch = false;
            self.problem(ProblemKind::MissingBatchTrailer, offset, line);
        }
    }

    fn close_file(&mut self, offset: usize, line: usize) {
        if self.env.in_file {
            self.env.in_file = false;
            self.problem(ProblemKind::MissingFileTrailer, offset, line);
        }
    }

    /// Reads the next message. `None` at the end of the input; the summary is
    /// then final. The returned entry borrows the reader until the next call.
    ///
    /// ```
    /// use carecodec_hl7v2::batch::BatchReader;
    ///
    /// let file = b"MSH|^~\\&|A\rP!D|1\rMSH|^~\\&|B\r";
    /// let mut reader = BatchReader::new(&file[..]);
    /// let bad = reader.next_message().ok_or("none")?;
    /// let err = bad.result.unwrap_err();
    /// assert_eq!((err.offset(), err.line()), (11, 2)); // positions in the file
    /// let good = reader.next_message().ok_or("none")?;
    /// assert_eq!(good.result?.text("MSH-3")?.as_deref(), Some("B"));
    /// assert!(reader.next_message().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_message(&mut self) -> Option<Entry<'_>> {
        let max = self.opts.max_message_bytes;
        // Find the start of the next message.
        let (start, start_line, first_len, first_term) = if self.pending.is_empty() {
            loop {
                if self.eof {
                    self.finish();
                    return None;
                }
                let offset = self.pos;
                if !self.read_line(max.saturating_add(1)) {
                    self.finish();
                    return None;
                }
                self.pos += self.line_len;
                self.lines += 1;
                if self.envelope_line(offset, self.lines) {
                    break;
                }
            }
            // Swapped, not copied: a long first line is not held twice.
            std::mem::swap(&mut self.buf, &mut self.line_buf);
            (
                self.pos - self.line_len,
                self.lines,
                self.line_len,
                self.line_term,
            )
        } else {
            self.buf.clear();
            std::mem::swap(&mut self.buf, &mut self.pending);
            self.pending_at
        };
        self.flush_orphans();
        let mut size = first_len;
        let framed = self
            .buf
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.buf)
            .first()
            == Some(&0x0b);
        let header = unframed(&self.buf);
        // The message's own terminator: in a CR-terminated message a bare LF is data.
        let cr_terminated = first_term == Term::Cr;
        let field_sep = header.get(3).copied();
        let mut closed = first_term == Term::EndBlock;
        let mut after_lf = first_term == Term::Lf;
        let mut cut_by = "the end of the input";
        // Collect its lines up to the next MSH/envelope segment, end block or EOF.
        while !self.eof && !closed {
            let offset = self.pos;
            // The full limit, not the room left: the line may start the next message.
            if !self.read_line(max.saturating_add(1)) {
                break;
            }
            self.pos += self.line_len;
            self.lines += 1;
            let boundary = if cr_terminated && after_lf {
                starts_after_lf(&self.line_buf, field_sep)
            } else {
                is_envelope_id(&self.line_buf)
            };
            if boundary {
                if self.envelope_line(offset, self.lines) {
                    self.pending.clear();
                    std::mem::swap(&mut self.pending, &mut self.line_buf);
                    self.pending_at = (offset, self.lines, self.line_len, self.line_term);
                    cut_by = "the next message";
                } else {
                    cut_by = "a batch or file header or trailer";
                }
                break;
            }
            size += self.line_len;
            if size <= max {
                self.buf.extend_from_slice(&self.line_buf);
            }
            after_lf = self.line_term == Term::Lf;
            closed = self.line_term == Term::EndBlock;
        }
        self.summary.read += 1;
        self.summary.bytes = self.pos as u64;
        let number = self.summary.read;
        let result = if size > max {
            Err(Error::new(
                ErrorKind::OverLimit { size, limit: max },
                start,
                start_line,
            ))
        } else if framed && !closed {
            Err(Error::new(
                ErrorKind::UnterminatedFrame(cut_by),
                start,
                start_line,
            ))
        } else {
            Message::parse_in(&self.buf, &self.opts.parse, &mut self.index)
                .map_err(|e| e.shifted(start, start_line - 1))
        };
        if result.is_ok() {
            self.summary.accepted += 1;
        } else {
            self.summary.rejected += 1;
        }
        Some(Entry {
            number,
            offset: start,
            line: start_line,
            bytes: &self.buf,
            result,
        })
    }

    fn finish(&mut self) {
        self.flush_orphans();
        let (o, l) = (self.pos, self.lines);
        self.close_batch(o, l);
        self.close_file(o, l);
        self.summary.bytes = self.pos as u64;
    }

    /// The accounting so far (final once [`BatchReader::next_message`] returned `None`).
    ///
    /// ```
    /// use carecodec_hl7v2::batch::{BatchReader, ProblemKind};
    ///
    /// let file = b"FHS|^~\\&\rMSH|^~\\&|A\r";
    /// let mut reader = BatchReader::new(&file[..]);
    /// while reader.next_message().is_some() {}
    /// let s = reader.summary();
    /// assert_eq!((s.read, s.files), (1, 1));
    /// assert_eq!(s.problems[0].kind, ProblemKind::MissingFileTrailer);
    /// ```
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// An I/O error that ended the read early, if any.
    ///
    /// ```
    /// use std::io::{self, BufReader, Read};
    /// use carecodec_hl7v2::batch::BatchReader;
    ///
    /// struct Broken;
    /// impl Read for Broken {
    ///     fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
    ///         Err(io::Error::other("disk gone"))
    ///     }
    /// }
    /// let mut reader = BatchReader::new(BufReader::new(Broken));
    /// while reader.next_message().is_some() {}
    /// assert!(reader.io_error().is_some_and(|e| e.to_string().contains("disk gone")));
    /// ```
    pub fn io_error(&self) -> Option<&Error> {
        self.io_error.as_ref()
    }
}

fn field1(line: &[u8]) -> String {
    let fs = line.get(3).copied().unwrap_or(b'|');
    let body = line
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .map_or(line, |p| line.get(..p).unwrap_or_default());
    let v = body.split(|&b| b == fs).nth(1).unwrap_or_default();
    String::from_utf8_lossy(v).into_owned()
}

fn parse_count(s: &str) -> Option<usize> {
    s.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> (Vec<std::result::Result<String, String>>, Summary) {
        let mut r = BatchReader::new(input);
        let mut out = Vec::new();
        while let Some(e) = r.next_message() {
            out.push(match e.result {
                Ok(m) => Ok(m.control_id().unwrap_or("").to_owned()),
                Err(err) => Err(format!("{}:{}", err.line(), err.offset())),
            });
        }
        (out, r.summary().clone())
    }

    #[test]
    fn back_to_back_lf_messages_with_blank_lines() {
        let (msgs, s) = read_all(b"MSH|^~\\&||||||||1\nPID|1\n\nMSH|^~\\&||||||||2\nPID|1\n");
        assert_eq!(msgs, [Ok("1".to_owned()), Ok("2".to_owned())]);
        assert_eq!((s.read, s.accepted, s.rejected), (2, 2, 0));
    }

    #[test]
    fn rejections_carry_file_positions() {
        let input = b"MSH|^~\\&||||||||1\rPID|1\rMSH|^~\\&||||||||2\rP!D|1\r";
        let (msgs, s) = read_all(input);
        assert_eq!(msgs[1], Err("4:42".to_owned()));
        assert_eq!(&input[42..45], b"P!D");
        assert_eq!((s.read, s.accepted, s.rejected), (2, 1, 1));
    }

    #[test]
    fn envelope_counts_checked() {
        let (_, s) = read_all(b"FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&\rBTS|3\rFTS|2\r");
        assert_eq!(s.problems.len(), 2);
        assert!(matches!(
            s.problems[0].kind,
            ProblemKind::BatchCountMismatch { counted: 1, .. }
        ));
        assert!(matches!(
            s.problems[1].kind,
            ProblemKind::FileCountMismatch { counted: 1, .. }
        ));
        let (_, s) = read_all(b"FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&\r");
        assert_eq!(
            s.problems
                .iter()
                .map(|p| p.kind.clone())
                .collect::<Vec<_>>(),
            [
                ProblemKind::MissingBatchTrailer,
                ProblemKind::MissingFileTrailer
            ]
        );
    }

    #[test]
    fn orphan_lines_reported() {
        let (msgs, s) = read_all(b"// comment\rjunk\rMSH|^~\\&||||||||1\r");
        assert_eq!(msgs.len(), 1);
        assert_eq!(s.problems[0].kind, ProblemKind::OrphanLines { lines: 2 });
        assert_eq!(s.problems[0].line, 1);
    }

    #[test]
    fn entry_bytes_are_exact() {
        let input = b"MSH|^~\\&||||||||1\r\nPID|1\r\nMSH|^~\\&||||||||2\r\n";
        let mut r = BatchReader::new(&input[..]);
        let mut all = Vec::new();
        while let Some(e) = r.next_message() {
            all.extend_from_slice(e.bytes);
        }
        assert_eq!(all, input);
    }

    #[test]
    fn concatenated_files_with_their_own_bom_split_into_messages() {
        let (msgs, s) =
            read_all(b"MSH|^~\\&||||||||1\rPID|1\r\xEF\xBB\xBFMSH|^~\\&||||||||2\nPID|1\n");
        assert_eq!(msgs, [Ok("1".to_owned()), Ok("2".to_owned())]);
        assert_eq!(s.rejected, 0);
    }

    #[test]
    fn tiny_buffer_reader() {
        let input = b"MSH|^~\\&||||||||1\r\nPID|1\r\nMSH|^~\\&||||||||2\r\n";
        let r = std::io::BufReader::with_capacity(1, &input[..]);
        let mut r = BatchReader::new(r);
        let mut n = 0;
        while let Some(e) = r.next_message() {
            assert!(e.result.is_ok());
            n += 1;
        }
        assert_eq!(n, 2);
    }

    #[test]
    fn lf_in_cr_terminated_text_is_data_even_before_msh_or_bts() {
        let input = b"MSH|^~\\&|S|F|R|RF|20240101||ORU^R01|C1|P|2.5\rOBX|1|TX|||Report:\nMSH sequence was checked\nBTS normal\rNTE|1||end\r";
        let mut r = BatchReader::new(&input[..]);
        let e = r.next_message().unwrap();
        assert_eq!(e.bytes, &input[..]);
        let msg = e.result.unwrap();
        assert_eq!(
            msg.get("OBX-5").unwrap().unwrap().raw(),
            b"Report:\nMSH sequence was checked\nBTS normal"
        );
        assert_eq!(msg.segment_count(), 3);
        assert!(r.next_message().is_none());
        let s = r.summary();
        assert_eq!((s.read, s.accepted, s.rejected), (1, 1, 0));
        assert!(s.problems.is_empty(), "{:?}", s.problems);
    }

    #[test]
    fn mixed_terminators_still_split() {
        // CR message, then LF message, then CRLF message; and one CR-terminated
        // message per LF-ended line inside a batch.
        let (msgs, s) = read_all(
            b"MSH|^~\\&||||||||1\rPID|1\rMSH|^~\\&||||||||2\nPID|1\nMSH|^~\\&||||||||3\r\nPID|1\r\n",
        );
        assert_eq!(msgs, [Ok("1".into()), Ok("2".into()), Ok("3".into())]);
        assert!(s.problems.is_empty());
        let (msgs, s) =
            read_all(b"BHS|^~\\&\nMSH|^~\\&||||||||1\rPID|1\nMSH|^~\\&||||||||2\rPID|1\nBTS|2\n");
        assert_eq!(msgs, [Ok("1".into()), Ok("2".into())]);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
    }

    #[test]
    fn mllp_frames_without_cr_after_the_end_block_split() {
        let input = b"\x0bMSH|^~\\&||||||||C1\rPID|1\r\x1c\x0bMSH|^~\\&||||||||C2\rPID|2\r\x1c";
        let (msgs, s) = read_all(input);
        assert_eq!(msgs, [Ok("C1".into()), Ok("C2".into())]);
        assert_eq!((s.read, s.accepted, s.rejected), (2, 2, 0));
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        // And with the CR after each end block.
        let (msgs, _) = read_all(
            b"\x0bMSH|^~\\&||||||||C1\rPID|1\r\x1c\r\x0bMSH|^~\\&||||||||C2\rPID|2\r\x1c\r",
        );
        assert_eq!(msgs, [Ok("C1".into()), Ok("C2".into())]);
    }

    #[test]
    fn mllp_frame_cut_off_is_rejected() {
        let input = b"\x0bMSH|^~\\&||||||||C1\rPID|1\r\x0bMSH|^~\\&||||||||C2\rPID|2\r\x1c\r\x0bMSH|^~\\&||||||||C3\r";
        let mut r = BatchReader::new(&input[..]);
        let mut kinds = Vec::new();
        while let Some(e) = r.next_message() {
            kinds.push(
                e.result
                    .map(|m| m.control_id().unwrap_or("").to_owned())
                    .map_err(|e| (e.kind().clone(), e.offset())),
            );
        }
        assert_eq!(
            kinds,
            [
                Err((ErrorKind::UnterminatedFrame("the next message"), 0)),
                Ok("C2".into()),
                Err((ErrorKind::UnterminatedFrame("the end of the input"), 54)),
            ]
        );
        let s = r.summary();
        assert_eq!((s.read, s.accepted, s.rejected), (3, 1, 2));
    }

    #[test]
    fn mllp_frame_cut_off_mid_segment_is_rejected() {
        let input = b"\x0bMSH|^~\\&||||||||C1\rPID|1|Sm\x0bMSH|^~\\&||||||||C2\rPID|2\r\x1c\r";
        let mut r = BatchReader::new(&input[..]);
        let first = r.next_message().unwrap();
        assert_eq!(first.bytes, &input[..28]);
        assert!(matches!(
            first.result.unwrap_err().kind(),
            ErrorKind::UnterminatedFrame(_)
        ));
        let second = r.next_message().unwrap();
        assert_eq!(second.result.unwrap().control_id(), Some("C2"));
        assert!(r.next_message().is_none());
        let s = r.summary();
        assert_eq!((s.read, s.accepted, s.rejected), (2, 1, 1));
        // A file-level BOM before the first start block is not a cut.
        let (msgs, s) = read_all(b"\xEF\xBB\xBF\x0bMSH|^~\\&||||||||C1\rPID|1\r\x1c\r");
        assert_eq!(msgs, [Ok("C1".into())]);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
    }

    #[test]
    fn over_limit_line_is_skipped_in_bounded_memory() {
        let mut input = b"MSH|^~\\&||||||||1\rNTE|1||".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend_from_slice(b"\rMSH|^~\\&||||||||2\rPID|1\r");
        let opts = BatchOptions {
            max_message_bytes: 1000,
            ..BatchOptions::default()
        };
        let mut r = BatchReader::with_options(&input[..], opts);
        let e = r.next_message().unwrap();
        let err = e.result.unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::OverLimit {
                size: 10_026,
                limit: 1000
            }
        );
        assert!(err.to_string().contains("10026 bytes"), "{err}");
        assert!(err.to_string().contains("1000-byte limit"), "{err}");
        assert!(r.buf.capacity() <= 2048 && r.line_buf.capacity() <= 2048);
        let e = r.next_message().unwrap();
        assert_eq!(e.result.unwrap().control_id(), Some("2"));
        // The line that starts the next message is kept whole, whatever room
        // the message before it had left.
        let input = b"MSH|^~\\&||||||||1\rPID|1|a\rMSH|^~\\&||||||||2\rPID|1\r";
        let opts = BatchOptions {
            max_message_bytes: 30,
            ..BatchOptions::default()
        };
        let mut r = BatchReader::with_options(&input[..], opts);
        assert!(r.next_message().unwrap().result.is_ok());
        let e = r.next_message().unwrap();
        assert_eq!(e.bytes, &input[26..]);
        assert_eq!(e.result.unwrap().control_id(), Some("2"));
        // A single line with no terminator at all, from its first byte.
        let mut huge = b"MSH|^~\\&|".to_vec();
        huge.extend(std::iter::repeat_n(b'y', 50_000));
        let mut r = BatchReader::with_options(&huge[..], opts);
        let e = r.next_message().unwrap();
        assert!(matches!(
            e.result.unwrap_err().kind(),
            ErrorKind::OverLimit { size: 50_009, .. }
        ));
        assert!(r.line_buf.capacity() <= 2048);
        assert_eq!(r.summary().rejected, 1);
    }

    #[test]
    fn splitting_does_not_depend_on_the_read_buffer_size() {
        let inputs: [&[u8]; 5] = [
            b"\xEF\xBB\xBF\x0bMSH|^~\\&||||||||C1\rPID|1|Sm\x0bMSH|^~\\&||||||||C2\rPID|2\r\x1c\r\n\x0bMSH|^~\\&||||||||C3\r\x1c\x0bMSH|^~\\&||||||||C4\r\x1c",
            b"MSH|^~\\&||||||||1\rOBX|1|TX|||a\nMSH x\nBTS y\rNTE|1\r\nMSH|^~\\&||||||||2\nPID|1\n\nBTS|1\n",
            b"junk\r\nBHS|^~\\&\rMSH|^~\\&||||||||1\rPID|1\nMSH|^~\\&||||||||2\rBTS|2\rFTS|1\r",
            b"\x1c\r\x0b\x0b\x1c\x1c\r\r\n\n\x0bMSH|\x0b\rMSH|^~\\&\x1c\r\n",
            b"MSH|^~\\&||||||||1\r\r\n\x0bjunk\rPID|1\x0b\rMSH|^~\\&||||||||2",
        ];
        for input in inputs {
            let run = |cap: usize| {
                let opts = BatchOptions {
                    max_message_bytes: 40,
                    ..BatchOptions::default()
                };
                let mut r =
                    BatchReader::with_options(std::io::BufReader::with_capacity(cap, input), opts);
                let mut out = Vec::new();
                while let Some(e) = r.next_message() {
                    out.push((e.offset, e.line, e.bytes.to_vec(), e.result.is_ok()));
                }
                (out, r.summary().clone())
            };
            let whole = run(1 << 16);
            for cap in 1..8 {
                assert_eq!(run(cap), whole, "capacity {cap}: {input:?}");
            }
        }
    }
}
