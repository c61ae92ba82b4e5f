//! The no-allocation core: delimiter discovery and the offset index.
//!
//! `scan` makes one pass over a message's bytes and records, in a reusable
//! [`Index`], where each segment starts and ends and where each of its fields
//! starts. Nothing is copied and nothing is allocated per field: once the
//! index's vectors have grown to the size of the largest message seen, parsing
//! allocates nothing at all. Repetitions, components and subcomponents are
//! split lazily, on access.

use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// The six delimiters of an HL7 v2 message, read from MSH-1 and MSH-2.
///
/// ```
/// use carecodec_hl7v2::Delimiters;
///
/// let d = Delimiters::default();
/// assert_eq!((d.field, d.component, d.repetition), (b'|', b'^', b'~'));
/// assert_eq!((d.escape, d.subcomponent, d.truncation), (Some(b'\\'), Some(b'&'), None));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Delimiters {
    /// Field separator (MSH-1), usually `|`.
    pub field: u8,
    /// Component separator (MSH-2, first character), usually `^`.
    pub component: u8,
    /// Repetition separator (MSH-2, second character), usually `~`.
    pub repetition: u8,
    /// Escape character (MSH-2, third character), usually `\`; absent in a few old feeds.
    pub escape: Option<u8>,
    /// Subcomponent separator (MSH-2, fourth character), usually `&`.
    pub subcomponent: Option<u8>,
    /// Truncation character (MSH-2, fifth character, v2.7+), usually `#`.
    /// It never acts as a separator.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: Some(b'\\'),
            subcomponent: Some(b'&'),
            truncation: None,
        }
    }
}

impl Delimiters {
    /// Builds a delimiter set, checking that the characters are distinct,
    /// printable and not alphanumeric.
    ///
    /// ```
    /// use carecodec_hl7v2::Delimiters;
    ///
    /// let d = Delimiters::new(b'|', b"^~\\&#").unwrap();
    /// assert_eq!(d.truncation, Some(b'#'));
    /// assert!(Delimiters::new(b'|', b"^^\\&").is_err());
    /// ```
    pub fn new(field: u8, encoding: &[u8]) -> Result<Delimiters> {
        let mut it = encoding.iter().copied();
        let (Some(component), Some(repetition)) = (it.next(), it.next()) else {
            return Err(Error::new(
                ErrorKind::InvalidDelimiters("MSH-2 needs at least two characters"),
                4,
                1,
            ));
        };
        let d = Delimiters {
            field,
            component,
            repetition,
            escape: it.next(),
            subcomponent: it.next(),
            truncation: it.next(),
        };
        if it.next().is_some() {
            return Err(Error::new(
                ErrorKind::InvalidDelimiters("MSH-2 has more than five characters"),
                4,
                1,
            ));
        }
        d.check()?;
        Ok(d)
    }

    fn check(&self) -> Result<()> {
        let all = [
            Some(self.field),
            Some(self.component),
            Some(self.repetition),
            self.escape,
            self.subcomponent,
            self.truncation,
        ];
        for (i, a) in all.iter().enumerate() {
            let Some(a) = *a else { continue };
            if a.is_ascii_alphanumeric() || !(0x20..0x7f).contains(&a) {
                return Err(Error::new(
                    ErrorKind::InvalidDelimiters(
                        "a delimiter is a letter, digit, control or non-ASCII byte",
                    ),
                    3,
                    1,
                ));
            }
            if all.iter().skip(i + 1).any(|b| *b == Some(a)) {
                return Err(Error::new(
                    ErrorKind::InvalidDelimiters("a delimiter is used twice"),
                    3,
                    1,
                ));
            }
        }
        Ok(())
    }

    /// MSH-2 as it should be written: the encoding characters in order.
    ///
    /// ```
    /// use carecodec_hl7v2::Delimiters;
    ///
    /// assert_eq!(Delimiters::default().encoding_characters(), b"^~\\&");
    /// assert_eq!(Delimiters::new(b'|', b"^~\\&#")?.encoding_characters(), b"^~\\&#");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn encoding_characters(&self) -> Vec<u8> {
        [
            Some(self.component),
            Some(self.repetition),
            self.escape,
            self.subcomponent,
            self.truncation,
        ]
        .into_iter()
        .map_while(|c| c)
        .collect()
    }
}

/// A kind of leniency the parser applied to read a message.
///
/// ```
/// use carecodec_hl7v2::{Message, RepairKind};
///
/// let msg = Message::parse(b"\xEF\xBB\xBFMSH|^~\\&|A\rPID|1")?;
/// let kinds: Vec<RepairKind> = msg.repairs().iter().map(|r| r.kind).collect();
/// assert_eq!(kinds, [RepairKind::ByteOrderMark, RepairKind::MissingFinalTerminator]);
/// assert_eq!(RepairKind::ByteOrderMark.to_string(), "UTF-8 byte order mark skipped");
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RepairKind {
    /// The message starts with a UTF-8 byte order mark, which was skipped.
    ByteOrderMark,
    /// MLLP framing bytes (0x0B before, 0x1C after) were skipped.
    MllpFraming,
    /// Segments end with LF instead of CR (the message holds no CR at all).
    LfTerminators,
    /// Segments end with CRLF instead of CR.
    CrlfTerminators,
    /// The last segment has no terminator.
    MissingFinalTerminator,
    /// Blank lines, NULs or whitespace-only lines before, after or between
    /// the segments were skipped (and are kept by byte-exact writing).
    BlankLines,
    /// MSH-2 holds a doubled escape character (`^~\\&`), read as `^~\&`.
    DoubledEscapeInMsh2,
}

impl fmt::Display for RepairKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RepairKind::ByteOrderMark => "UTF-8 byte order mark skipped",
            RepairKind::MllpFraming => "MLLP framing bytes skipped",
            RepairKind::LfTerminators => "segments end with LF, not CR",
            RepairKind::CrlfTerminators => "segments end with CRLF, not CR",
            RepairKind::MissingFinalTerminator => "last segment has no terminator",
            RepairKind::BlankLines => "blank lines or padding skipped",
            RepairKind::DoubledEscapeInMsh2 => "doubled escape character in MSH-2 read as one",
        })
    }
}

/// One repair the lenient parser made, with the byte offset where it applies.
///
/// ```
/// use carecodec_hl7v2::{Message, RepairKind};
///
/// let msg = Message::parse(b"MSH|^~\\&|A\nPID|1\n").unwrap();
/// assert_eq!(msg.repairs()[0].kind, RepairKind::LfTerminators);
/// assert_eq!(msg.repairs()[0].offset, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Repair {
    /// What was repaired.
    pub kind: RepairKind,
    /// Byte offset of the first place it applied.
    pub offset: usize,
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (byte {})", self.kind, self.offset)
    }
}

/// The character sets a message may declare in MSH-18.
///
/// ```
/// use carecodec_hl7v2::{Charset, Message};
///
/// let msg = Message::parse(b"MSH|^~\\&|||||||ADT^A01|1|P|2.4||||||8859/1\rPID|1||||REN\xc9\r")?;
/// assert_eq!(msg.charset(), Charset::Latin1);
/// assert_eq!(msg.text("PID-5")?.as_deref(), Some("RENÉ"));
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Charset {
    #[default]
    /// `ASCII` (the HL7 default). Bytes above 0x7F are an error unless the
    /// options allow UTF-8 fallback (the default), since many senders leave
    /// MSH-18 empty and send UTF-8.
    Ascii,
    /// `8859/1`: ISO-8859-1 (Latin-1).
    Latin1,
    /// `UNICODE UTF-8` or `UNICODE` (as NHS ITK messages declare it).
    Utf8,
}

impl Charset {
    /// Reads an MSH-18 value. `None` when the set is not supported.
    ///
    /// ```
    /// use carecodec_hl7v2::Charset;
    ///
    /// assert_eq!(Charset::from_msh18(b"UNICODE UTF-8"), Some(Charset::Utf8));
    /// assert_eq!(Charset::from_msh18(b"8859/1"), Some(Charset::Latin1));
    /// assert_eq!(Charset::from_msh18(b""), Some(Charset::Ascii));
    /// assert_eq!(Charset::from_msh18(b"ISO IR87"), None);
    /// ```
    pub fn from_msh18(v: &[u8]) -> Option<Charset> {
        let v = v.trim_ascii();
        match v {
            b"" | b"ASCII" => Some(Charset::Ascii),
            b"8859/1" | b"ISO-8859-1" | b"ISO8859-1" => Some(Charset::Latin1),
            b"UNICODE UTF-8" | b"UNICODE" | b"UTF-8" | b"UTF8" => Some(Charset::Utf8),
            _ => None,
        }
    }

    /// The name used in error messages.
    ///
    /// ```
    /// use carecodec_hl7v2::Charset;
    ///
    /// assert_eq!(Charset::Latin1.name(), "ISO-8859-1");
    /// assert_eq!(Charset::Utf8.name(), "UTF-8");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Charset::Ascii => "ASCII",
            Charset::Latin1 => "ISO-8859-1",
            Charset::Utf8 => "UTF-8",
        }
    }
}

/// How to read a message.
///
/// ```
/// use carecodec_hl7v2::{Message, ParseOptions};
///
/// let lf = b"MSH|^~\\&|A\nPID|1\n";
/// assert!(Message::parse(lf).is_ok());
/// assert!(Message::parse_with(lf, &ParseOptions::strict()).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Reject every input that needs a repair instead of repairing it.
    pub strict: bool,
    /// Decode text in this character set, whatever MSH-18 says.
    pub charset: Option<Charset>,
}

impl ParseOptions {
    /// Lenient options (the default): repairs are made and reported.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, ParseOptions};
    ///
    /// let msg = Message::parse_with(b"MSH|^~\\&|A\r\nPID|1\r\n", &ParseOptions::lenient())?;
    /// assert_eq!(msg.repairs().len(), 1);
    /// assert_eq!(ParseOptions::lenient(), ParseOptions::default());
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn lenient() -> ParseOptions {
        ParseOptions::default()
    }

    /// Strict options: any repair is an error.
    ///
    /// ```
    /// use carecodec_hl7v2::{ErrorKind, Message, ParseOptions, RepairKind};
    ///
    /// let err = Message::parse_with(b"MSH|^~\\&|A\r\nPID|1\r\n", &ParseOptions::strict()).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Strict(RepairKind::CrlfTerminators));
    /// assert!(Message::parse_with(b"MSH|^~\\&|A\rPID|1\r", &ParseOptions::strict()).is_ok());
    /// ```
    pub fn strict() -> ParseOptions {
        ParseOptions {
            strict: true,
            ..ParseOptions::default()
        }
    }

    /// These options, decoding text as `charset` whatever MSH-18 says.
    ///
    /// ```
    /// use carecodec_hl7v2::{Charset, Message, ParseOptions};
    ///
    /// // MSH-18 says ASCII (empty), but the sender writes Latin-1.
    /// let opts = ParseOptions::default().with_charset(Charset::Latin1);
    /// let msg = Message::parse_with(b"MSH|^~\\&\rPID|1||||D\xfcRER\r", &opts)?;
    /// assert_eq!(msg.text("PID-5")?.as_deref(), Some("DüRER"));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    #[must_use]
    pub fn with_charset(mut self, charset: Charset) -> ParseOptions {
        self.charset = Some(charset);
        self
    }
}

/// One segment's place in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegEntry {
    /// First byte of the segment id.
    pub start: u32,
    /// One past the last byte of the segment, terminator excluded.
    pub end: u32,
    /// Index into `Index::fields` of this segment's field 0 (the id).
    pub first: u32,
    /// Number of field-separator-delimited pieces, the id included.
    pub count: u32,
}

/// The reusable offset index behind a parsed [`Message`](crate::Message).
///
/// Keep one per thread or stream and pass it to
/// [`Message::parse_in`](crate::Message::parse_in) to parse message after
/// message without allocating.
///
/// ```
/// use carecodec_hl7v2::{Index, Message, ParseOptions};
///
/// let mut index = Index::default();
/// for input in [&b"MSH|^~\\&|A\rPID|1\r"[..], b"MSH|^~\\&|B\r"] {
///     let msg = Message::parse_in(input, &ParseOptions::default(), &mut index).unwrap();
///     assert!(msg.segment_count() >= 1);
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    pub(crate) segs: Vec<SegEntry>,
    /// Start offset of every field of every segment, segment by segment.
    pub(crate) fields: Vec<u32>,
    pub(crate) repairs: Vec<Repair>,
    pub(crate) delims: Delimiters,
    pub(crate) charset: Charset,
    /// Where the content starts and ends (BOM, framing and padding excluded).
    pub(crate) content: (u32, u32),
}

impl Index {
    /// Capacity in segments and fields, for sizing a pool.
    ///
    /// ```
    /// use carecodec_hl7v2::{Index, Message, ParseOptions};
    ///
    /// let mut index = Index::default();
    /// assert_eq!(index.capacity(), (0, 0));
    /// Message::parse_in(b"MSH|^~\\&|A\rPID|1||X\r", &ParseOptions::default(), &mut index)?;
    /// let (segments, fields) = index.capacity();
    /// assert!(segments >= 2 && fields >= 6);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn capacity(&self) -> (usize, usize) {
        (self.segs.capacity(), self.fields.capacity())
    }

    fn clear(&mut self) {
        self.segs.clear();
        self.fields.clear();
        self.repairs.clear();
        self.content = (0, 0);
    }

    fn repair(
        &mut self,
        kind: RepairKind,
        offset: usize,
        opts: &ParseOptions,
        input: &[u8],
    ) -> Result<()> {
        if opts.strict {
            return Err(Error::at(ErrorKind::Strict(kind), input, offset));
        }
        self.repairs.push(Repair { kind, offset });
        Ok(())
    }
}

#[inline]
fn is_padding(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | 0 | b' ' | b'\t' | 0x1c | 0x0b)
}

/// Scans `input` into `index`. See the module documentation.
pub(crate) fn scan(input: &[u8], opts: &ParseOptions, index: &mut Index) -> Result<()> {
    index.clear();
    if u32::try_from(input.len()).is_err() {
        return Err(Error::new(ErrorKind::TooLarge, 0, 1));
    }
    // Leading framing: BOM, MLLP start block, blank lines.
    let mut start = 0usize;
    if input.starts_with(b"\xEF\xBB\xBF") {
        index.repair(RepairKind::ByteOrderMark, 0, opts, input)?;
        start = 3;
    }
    let mut mllp = false;
    let mut padded = false;
    while let Some(&b) = input.get(start) {
        if b == 0x0b {
            mllp = true;
        } else if is_padding(b) {
            padded = true;
        } else {
            break;
        }
        start += 1;
    }
    if mllp {
        index.repair(RepairKind::MllpFraming, 0, opts, input)?;
    }
    if padded {
        index.repair(RepairKind::BlankLines, 0, opts, input)?;
    }
    // Trailing framing: MLLP end block, NULs, blank lines.
    // Whitespace is trimmed only where it fills a whole line, so trailing spaces
    // in the last field survive.
    let mut end = input.len();
    let mut tail_mllp = false;
    loop {
        while end > start {
            let Some(&b) = input.get(end - 1) else { break };
            if !matches!(b, b'\r' | b'\n' | 0 | 0x1c) {
                break;
            }
            tail_mllp |= b == 0x1c;
            end -= 1;
        }
        let head = input.get(start..end).unwrap_or_default();
        let line_start = memchr::memrchr2(b'\r', b'\n', head).map_or(start, |p| start + p + 1);
        let line = input.get(line_start..end).unwrap_or_default();
        if line.is_empty() || !line.iter().all(|&b| is_padding(b)) {
            break;
        }
        end = line_start;
    }
    let body = input.get(start..end).unwrap_or_default();
    if body.is_empty() {
        return Err(Error::new(ErrorKind::Empty, start.min(input.len()), 1));
    }
    // Header and delimiters.
    let head = body.get(..3).unwrap_or(body);
    if head != b"MSH" && head != b"FHS" && head != b"BHS" {
        return Err(Error::at(ErrorKind::MissingHeader, input, start));
    }
    let Some(&fs) = body.get(3) else {
        return Err(Error::at(ErrorKind::TruncatedHeader, input, start + 3));
    };
    if fs == b'\r' || fs == b'\n' {
        return Err(Error::at(ErrorKind::TruncatedHeader, input, start + 3));
    }
    let enc_start = start + 4;
    let rest = input.get(enc_start..end).unwrap_or_default();
    let enc_len = rest
        .iter()
        .position(|&b| b == fs || b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    let enc = rest.get(..enc_len).unwrap_or_default();
    let delims = match Delimiters::new(fs, enc) {
        Ok(d) => d,
        Err(e) => {
            // `^~\\&`: a doubled escape character, a common copy-paste corruption.
            if let [c, r, e1, e2, s] = enc {
                if e1 == e2 && *e1 == b'\\' {
                    let d =
                        Delimiters::new(fs, &[*c, *r, *e1, *s]).map_err(|e| e.shifted(start, 0))?;
                    index.repair(RepairKind::DoubledEscapeInMsh2, enc_start + 3, opts, input)?;
                    d
                } else {
                    return Err(e.shifted(start, 0));
                }
            } else {
                return Err(e.shifted(start, 0));
            }
        }
    };
    index.delims = delims;
    // Terminators: CR (with an optional LF after it); LF only when there is no CR.
    let has_cr = memchr::memchr(b'\r', body).is_some();
    let term = if has_cr { b'\r' } else { b'\n' };
    if !has_cr && memchr::memchr(b'\n', body).is_some() {
        let at = start + memchr::memchr(b'\n', body).unwrap_or(0);
        index.repair(RepairKind::LfTerminators, at, opts, input)?;
    }
    // The segment/field pass.
    let base = start;
    let mut seg_start = 0usize;
    let mut crlf_seen = false;
    let mut blank_seen = false;
    // Piece 0 is the segment id; for the header, piece 1 is MSH-2 (MSH-1 is the
    // separator itself), which holds the separators and is never split.
    index.fields.push(base as u32);
    index.fields.push((base + 4) as u32);
    let mut first_field = 0u32;
    // Hits before `from` were already consumed (MSH-2, CRLF pairs, blank lines).
    let mut from = 4 + enc_len;
    for p in Hits::new(body, fs, term) {
        if p < from {
            continue;
        }
        if body.get(p) == Some(&fs) {
            index.fields.push((base + p + 1) as u32);
            continue;
        }
        push_segment(index, body, base, seg_start, p, first_field)?;
        let mut next = p + 1;
        if has_cr && body.get(next) == Some(&b'\n') {
            if !crlf_seen {
                crlf_seen = true;
                index.repair(RepairKind::CrlfTerminators, base + p, opts, input)?;
            }
            next += 1;
        }
        // Blank lines between segments: empty, or only spaces, TABs and NULs
        // up to the next terminator (a line with anything else is a segment).
        loop {
            let skip = match body.get(next) {
                Some(b'\r' | b'\n') => 1,
                Some(b' ' | b'\t' | 0) => {
                    let rest = body.get(next..).unwrap_or_default();
                    let run = rest
                        .iter()
                        .take_while(|&&b| matches!(b, b' ' | b'\t' | 0))
                        .count();
                    if !matches!(rest.get(run), Some(b'\r' | b'\n')) {
                        break;
                    }
                    run
                }
                _ => break,
            };
            if !blank_seen {
                blank_seen = true;
                index.repair(RepairKind::BlankLines, base + next, opts, input)?;
            }
            next += skip;
        }
        // `body` ends with segment content, never with a terminator.
        seg_start = next;
        first_field = index.fields.len() as u32;
        index.fields.push((base + next) as u32);
        from = next;
    }
    push_segment(index, body, base, seg_start, body.len(), first_field)?;
    // `end` stopped before the final terminator; check it was there.
    let after = input.get(end).copied();
    if after != Some(b'\r') && after != Some(b'\n') {
        index.repair(RepairKind::MissingFinalTerminator, end, opts, input)?;
    }
    let trailing = input.get(end..).unwrap_or_default();
    let term_len = match trailing {
        [b'\r', b'\n', ..] if has_cr => 2,
        [b'\r' | b'\n', ..] => 1,
        _ => 0,
    };
    if trailing.len() > term_len && !padded_only_mllp(trailing.get(term_len..).unwrap_or_default())
    {
        index.repair(RepairKind::BlankLines, end + term_len, opts, input)?;
    }
    if tail_mllp && !mllp {
        index.repair(RepairKind::MllpFraming, end, opts, input)?;
    }
    index.content = (start as u32, (end + term_len) as u32);
    // Character set from MSH-18.
    index.charset = match opts.charset {
        Some(c) => c,
        None => charset_of(index, input)?,
    };
    Ok(())
}

/// Positions of two bytes (the field separator and the segment terminator)
/// in a slice, found eight bytes at a time with SWAR bit tricks.
///
/// Fields are short (a few bytes), so hits are dense: a word-at-a-time scan
/// with a bit mask per word beats a SIMD search restarted at every hit
/// (measured: `cargo bench -p carecodec-benches --bench hl7v2`).
struct Hits<'a> {
    body: &'a [u8],
    /// Offset of the word the mask describes.
    at: usize,
    mask: u64,
    a: u64,
    b: u64,
}

const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// High bit set in each byte of `x` that is zero, and only there.
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LO7).wrapping_add(LO7)) | x | LO7)
}

/// Position of the first `needle` in `hay`. Values are mostly a few bytes:
/// up to 64 bytes are searched eight at a time in place (the SIMD search's
/// set-up and dispatch cost more than that), longer ones with `memchr`.
#[inline]
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    if hay.len() > 64 {
        return memchr::memchr(needle, hay);
    }
    let pattern = u64::from_ne_bytes([needle; 8]);
    let mut words = hay.chunks_exact(8);
    let mut at = 0usize;
    for w in &mut words {
        if let Some(w) = w.first_chunk::<8>() {
            let hit = zero_bytes(u64::from_le_bytes(*w) ^ pattern);
            if hit != 0 {
                return Some(at + (hit.trailing_zeros() / 8) as usize);
            }
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|p| at + p)
}

impl<'a> Hits<'a> {
    fn new(body: &'a [u8], a: u8, b: u8) -> Hits<'a> {
        let mut h = Hits {
            body,
            at: 0,
            mask: 0,
            a: u64::from_ne_bytes([a; 8]),
            b: u64::from_ne_bytes([b; 8]),
        };
        h.mask = h.word_mask(0);
        h
    }

    #[inline(always)]
    fn word_mask(&self, at: usize) -> u64 {
        let word = match self.body.get(at..at + 8) {
            Some(w) => {
                let mut buf = [0u8; 8];
                buf.copy_from_slice(w);
                u64::from_le_bytes(buf)
            }
            None => {
                // The short tail: pad with a byte that is neither needle.
                let pad = if self.a as u8 == 0 || self.b as u8 == 0 {
                    1
                } else {
                    0
                };
                let mut buf = [pad; 8];
                let tail = self.body.get(at..).unwrap_or_default();
                if let Some(dst) = buf.get_mut(..tail.len()) {
                    dst.copy_from_slice(tail);
                }
                u64::from_le_bytes(buf)
            }
        };
        zero_bytes(word ^ self.a) | zero_bytes(word ^ self.b)
    }
}

impl Iterator for Hits<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.at += 8;
            if self.at >= self.body.len() {
                return None;
            }
            self.mask = self.word_mask(self.at);
        }
        let p = self.at + (self.mask.trailing_zeros() / 8) as usize;
        self.mask &= self.mask - 1;
        Some(p)
    }
}

/// True when the bytes after the final terminator are only the MLLP end block
/// (`0x1C 0x0D`), already reported as framing.
fn padded_only_mllp(rest: &[u8]) -> bool {
    matches!(rest, [0x1c] | [0x1c, b'\r'])
}

fn push_segment(
    index: &mut Index,
    body: &[u8],
    base: usize,
    s: usize,
    e: usize,
    first: u32,
) -> Result<()> {
    let id = body.get(s..e).unwrap_or_default();
    let id_len = id
        .iter()
        .position(|&b| b == index.delims.field)
        .unwrap_or(id.len());
    let id = id.get(..id_len).unwrap_or_default();
    let valid = id.len() == 3
        && id.first().is_some_and(u8::is_ascii_uppercase)
        && id
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !valid {
        let line = index.segs.len() + 1;
        return Err(Error::new(
            ErrorKind::InvalidSegmentId(String::from_utf8_lossy(id).into_owned()),
            base + s,
            line,
        ));
    }
    let count = index.fields.len() as u32 - first;
    index.segs.push(SegEntry {
        start: (base + s) as u32,
        end: (base + e) as u32,
        first,
        count,
    });
    Ok(())
}

fn charset_of(index: &Index, input: &[u8]) -> Result<Charset> {
    // MSH-18 is piece 17 of the MSH segment (MSH-1 is the separator itself).
    let Some(msh) = index.segs.first() else {
        return Ok(Charset::Ascii);
    };
    let Some(&at) = index.fields.get(msh.first as usize + 17) else {
        return Ok(Charset::Ascii);
    };
    if msh.count <= 17 {
        return Ok(Charset::Ascii);
    }
    let end = index
        .fields
        .get(msh.first as usize + 18)
        .filter(|_| msh.count > 18)
        .map_or(msh.end as usize, |&n| n as usize - 1);
    let raw = input.get(at as usize..end).unwrap_or_default();
    // The first repetition names the default set; alternates are not switched to.
    let first = raw
        .split(|&b| b == index.delims.repetition)
        .next()
        .unwrap_or_default();
    Charset::from_msh18(first).ok_or_else(|| {
        Error::at(
            ErrorKind::UnsupportedCharset(String::from_utf8_lossy(first).into_owned()),
            input,
            at as usize,
        )
        .with_path("MSH[1]-18")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn find_byte_agrees_with_position(
            hay in proptest::collection::vec(proptest::sample::select(b"|^~ab\x00\xff".to_vec()), 0..150),
            needle in proptest::sample::select(b"|^~\x00\xffz".to_vec()),
        ) {
            proptest::prop_assert_eq!(find_byte(&hay, needle), hay.iter().position(|&b| b == needle));
        }
    }

    #[test]
    fn hits_match_a_naive_scan() {
        let data: Vec<u8> = (0..300u32)
            .map(|i| [b'|', b'a', b'\r', 0, 0xff, b'x', b'|'][(i * 7 % 11 % 7) as usize])
            .collect();
        for len in 0..data.len() {
            let slice = &data[..len];
            let naive: Vec<usize> = slice
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'|' || **b == b'\r')
                .map(|(i, _)| i)
                .collect();
            assert_eq!(
                Hits::new(slice, b'|', b'\r').collect::<Vec<_>>(),
                naive,
                "len {len}"
            );
        }
        let zeros = [0u8, 1, 0, 2];
        assert_eq!(Hits::new(&zeros, 0, b'\r').collect::<Vec<_>>(), [0, 2]);
    }

    /// F15 (probe 12): a line holding only a space or a TAB between
    /// segments rejected the message as an invalid segment id, though the
    /// guide lists whitespace-only lines as skipped blank lines.
    #[test]
    fn whitespace_only_lines_between_segments_are_blank_lines() {
        for (input, at) in [
            (&b"MSH|^~\\&|A\r \rPID|1\r"[..], 11),
            (b"MSH|^~\\&|A\n\t\nPID|1\n", 11),
            (b"MSH|^~\\&|A\r\n \t\r\n\r\nPID|1\r\n", 12),
            (b"MSH|^~\\&|A\r\0 \rPID|1\r \r", 11),
        ] {
            let msg = crate::Message::parse(input).unwrap();
            let ids: Vec<_> = msg.segments().map(|s| s.id().to_owned()).collect();
            assert_eq!(ids, ["MSH", "PID"], "{input:?}");
            assert_eq!(msg.text("PID-1").unwrap().as_deref(), Some("1"));
            let blank = msg
                .repairs()
                .iter()
                .find(|r| r.kind == RepairKind::BlankLines);
            assert_eq!(blank.map(|r| r.offset), Some(at), "{input:?}");
            let mut out = Vec::new();
            msg.write_to(&mut out).unwrap();
            assert_eq!(out, input);
            assert_eq!(crate::MessageBuf::from(&msg).to_bytes(), input);
        }
        // A line that starts with whitespace but holds more is a segment
        // (and here a bad one), not a blank line.
        assert!(crate::Message::parse(b"MSH|^~\\&|A\r PID|1\r").is_err());
        // Strict mode refuses the repair.
        let strict = ParseOptions::strict();
        assert!(crate::Message::parse_with(b"MSH|^~\\&|A\r \rPID|1\r", &strict).is_err());
    }
}
