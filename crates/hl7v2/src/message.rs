//! Borrowed views over a parsed message: [`Message`], [`Segment`], [`Value`].

use std::borrow::Cow;
use std::ops::Range;

use crate::error::{Error, ErrorKind, Result};
use crate::escape::{self, DecodeOptions};
use crate::path::Path;
use crate::scan::{self, Charset, Delimiters, Index, ParseOptions, Repair, SegEntry};

/// A parsed HL7 v2 message borrowing its input.
///
/// Parsing records an offset index of segments and fields; nothing is copied
/// and nothing is allocated per field. Repetitions, components and
/// subcomponents are split on access.
///
/// ```
/// use carecodec_hl7v2::Message;
///
/// let input = b"MSH|^~\\&|PAS|RX1|EPR|RX1|202401021230||ADT^A01|42|P|2.4\r\
///               PID|1||9434765919^^^NHS^NH~123^^^RX1^MR||SMITH^JOHN\r";
/// let msg = Message::parse(input).unwrap();
/// assert_eq!(msg.control_id(), Some("42"));
/// let nhs = msg.get("PID-3[1].1").unwrap().unwrap();
/// assert_eq!(nhs.raw(), b"9434765919");
/// assert_eq!(msg.get("PID-3[2].4").unwrap().unwrap().decoded().unwrap(), "RX1");
/// assert_eq!(msg.get("PID-5.2").unwrap().unwrap().decoded().unwrap(), "JOHN");
/// assert!(msg.get("PID-5.3").unwrap().is_none()); // absent
/// ```
#[derive(Debug, Clone)]
pub struct Message<'a> {
    input: &'a [u8],
    index: Cow<'a, Index>,
}

/// Where a value sits: it decides which separator splits it further.
///
/// ```
/// use carecodec_hl7v2::{Level, Message};
///
/// let msg = Message::parse(b"MSH|^~\\&\rPID|1||A&B^C~D\r")?;
/// assert_eq!(msg.get("PID-3")?.map(|v| v.level()), Some(Level::Field));
/// assert_eq!(msg.get("PID-3[2]")?.map(|v| v.level()), Some(Level::Repetition));
/// assert_eq!(msg.get("PID-3.1")?.map(|v| v.level()), Some(Level::Component));
/// assert_eq!(msg.get("PID-3.1.2")?.map(|v| v.level()), Some(Level::Subcomponent));
/// assert_eq!(msg.get("MSH-2")?.map(|v| v.level()), Some(Level::Literal));
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Level {
    /// A whole segment.
    Segment,
    /// A whole field, all repetitions.
    Field,
    /// One repetition of a field.
    Repetition,
    /// One component.
    Component,
    /// One subcomponent: a leaf.
    Subcomponent,
    /// MSH-1 or MSH-2: a leaf that is never split.
    Literal,
}

/// Whether a present value is empty, the HL7 null `""`, or has content.
///
/// An absent value is `None` from the lookup that would have found it.
///
/// ```
/// use carecodec_hl7v2::{Message, Presence};
///
/// let msg = Message::parse(b"MSH|^~\\&\rPID|1|\"\"||X\r")?;
/// let presence = |path| msg.get(path).map(|v| v.map(|v| v.presence()));
/// assert_eq!(presence("PID-2")?, Some(Presence::Null));
/// assert_eq!(presence("PID-3")?, Some(Presence::Empty));
/// assert_eq!(presence("PID-4")?, Some(Presence::Value));
/// assert_eq!(presence("PID-9")?, None); // absent
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Presence {
    /// Present but empty (`||`): "no change" in most interfaces.
    Empty,
    /// The HL7 null `""`: "delete the stored value".
    Null,
    /// Present with content.
    Value,
}

/// MSH-9 split into its parts (raw text).
///
/// ```
/// use carecodec_hl7v2::{Message, MessageType};
///
/// let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A08^ADT_A01|7|P|2.4\r")?;
/// let t: MessageType<'_> = msg.message_type().ok_or("no MSH-9")?;
/// assert_eq!((t.code, t.trigger, t.structure), ("ADT", "A08", "ADT_A01"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageType<'a> {
    /// MSH-9.1, e.g. `ADT`.
    pub code: &'a str,
    /// MSH-9.2, e.g. `A01` (empty when absent).
    pub trigger: &'a str,
    /// MSH-9.3, e.g. `ADT_A01` (empty when absent).
    pub structure: &'a str,
}

impl<'a> Message<'a> {
    /// Parses `input` leniently (repairs reported in [`Message::repairs`]).
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, RepairKind};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|PAS\nPID|1\n")?;
    /// assert_eq!(msg.segment_count(), 2);
    /// assert_eq!(msg.repairs()[0].kind, RepairKind::LfTerminators);
    /// let err = Message::parse(b"PID|1\r").unwrap_err();
    /// assert_eq!(err.offset(), 0);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn parse(input: &'a [u8]) -> Result<Message<'a>> {
        Message::parse_with(input, &ParseOptions::default())
    }

    /// Parses `input` with `opts`.
    ///
    /// ```
    /// use carecodec_hl7v2::{Charset, Message, ParseOptions};
    ///
    /// let input = b"MSH|^~\\&|PAS\rPID|1||||REN\xc9";
    /// // Strict: the missing final terminator is an error, not a repair.
    /// assert!(Message::parse_with(input, &ParseOptions::strict()).is_err());
    /// let latin1 = ParseOptions::default().with_charset(Charset::Latin1);
    /// let msg = Message::parse_with(input, &latin1)?;
    /// assert_eq!(msg.text("PID-5")?.as_deref(), Some("RENÉ"));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn parse_with(input: &'a [u8], opts: &ParseOptions) -> Result<Message<'a>> {
        let mut index = Index::default();
        scan::scan(input, opts, &mut index)?;
        Ok(Message {
            input,
            index: Cow::Owned(index),
        })
    }

    /// Parses `input` into a caller-owned, reusable `index`: after the index has
    /// grown to fit the largest message, parsing allocates nothing.
    ///
    /// ```
    /// use carecodec_hl7v2::{Index, Message, ParseOptions};
    ///
    /// let mut index = Index::default();
    /// let mut ids = Vec::new();
    /// for input in [&b"MSH|^~\\&|||||||ADT^A01|1\r"[..], b"MSH|^~\\&|||||||ADT^A01|2\r"] {
    ///     let msg = Message::parse_in(input, &ParseOptions::default(), &mut index)?;
    ///     ids.push(msg.control_id().map(str::to_owned));
    /// }
    /// assert_eq!(ids, [Some("1".to_owned()), Some("2".to_owned())]);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn parse_in(
        input: &'a [u8],
        opts: &ParseOptions,
        index: &'a mut Index,
    ) -> Result<Message<'a>> {
        scan::scan(input, opts, index)?;
        Ok(Message {
            input,
            index: Cow::Borrowed(index),
        })
    }

    /// The input exactly as given (BOM, framing and terminators included).
    /// Writing these bytes reproduces the message byte for byte.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let input = b"\x0bMSH|^~\\&|A\r\x1c\r";
    /// let msg = Message::parse(input)?;
    /// assert_eq!(msg.as_bytes(), input);
    /// assert_eq!(msg.content(), b"MSH|^~\\&|A\r");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn as_bytes(&self) -> &'a [u8] {
        self.input
    }

    /// The segments' bytes: the input without BOM, MLLP framing or padding
    /// (the final terminator is kept when present).
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"\xEF\xBB\xBFMSH|^~\\&|A\r")?;
    /// assert_eq!(msg.content(), b"MSH|^~\\&|A\r"); // byte order mark left out
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn content(&self) -> &'a [u8] {
        let (s, e) = self.index.content;
        self.input.get(s as usize..e as usize).unwrap_or_default()
    }

    /// Byte range of [`Message::content`] in the input.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"\x0bMSH|^~\\&|A\r\x1c\r")?;
    /// assert_eq!(msg.content_range(), 1..12);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn content_range(&self) -> Range<usize> {
        let (s, e) = self.index.content;
        s as usize..e as usize
    }

    /// The delimiters read from MSH-1 and MSH-2.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH#!@$%\rPID#1\r")?;
    /// let d = msg.delimiters();
    /// assert_eq!((d.field, d.component, d.repetition), (b'#', b'!', b'@'));
    /// assert_eq!(msg.get("PID-1")?.map(|v| v.raw()), Some(&b"1"[..]));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn delimiters(&self) -> Delimiters {
        self.index.delims
    }

    /// The character set text is decoded in (MSH-18, or the option that overrode it).
    ///
    /// ```
    /// use carecodec_hl7v2::{Charset, Message};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|||||||ADT^A01|1|P|2.4||||||8859/1\r")?;
    /// assert_eq!(msg.charset(), Charset::Latin1);
    /// assert_eq!(Message::parse(b"MSH|^~\\&\r")?.charset(), Charset::Ascii);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn charset(&self) -> Charset {
        self.index.charset
    }

    /// Every repair the lenient parser made, in input order.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, RepairKind};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A\r\nPID|1\r\n")?;
    /// let kinds: Vec<RepairKind> = msg.repairs().iter().map(|r| r.kind).collect();
    /// assert_eq!(kinds, [RepairKind::CrlfTerminators]);
    /// assert!(Message::parse(b"MSH|^~\\&|A\rPID|1\r")?.repairs().is_empty());
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn repairs(&self) -> &[Repair] {
        &self.index.repairs
    }

    /// Number of segments.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A\rPID|1\rPV1|1\r")?;
    /// assert_eq!(msg.segment_count(), 3);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn segment_count(&self) -> usize {
        self.index.segs.len()
    }

    /// Number of fields over all segments (MSH-1 and MSH-2 counted).
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// // MSH-1, MSH-2, MSH-3, then PID-1 and PID-3 (PID-2 is present but empty).
    /// let msg = Message::parse(b"MSH|^~\\&|A\rPID|1||X\r")?;
    /// assert_eq!(msg.field_count(), 6);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn field_count(&self) -> usize {
        self.segments().map(|s| s.field_count()).sum()
    }

    /// The segments in order.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A\rPID|1\rPV1|1\r")?;
    /// let ids: Vec<&str> = msg.segments().map(|s| s.id()).collect();
    /// assert_eq!(ids, ["MSH", "PID", "PV1"]);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn segments(&self) -> impl ExactSizeIterator<Item = Segment<'_, 'a>> + '_ {
        self.index
            .segs
            .iter()
            .enumerate()
            .map(move |(i, e)| self.segment_at(i, *e))
    }

    /// The segments from the one at 0-based position `ordinal` on (its
    /// [`Segment::line`] is `ordinal + 1`), in order: none when `ordinal` is
    /// past the last. Found without stepping over the ones before it.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1\rOBX|1\rOBX|2\r").unwrap();
    /// let ids: Vec<&str> = msg.segments_from(2).map(|s| s.id()).collect();
    /// assert_eq!(ids, ["OBX", "OBX"]);
    /// assert_eq!(msg.segments_from(2).next().unwrap().line(), 3);
    /// assert_eq!(msg.segments_from(9).count(), 0);
    /// ```
    pub fn segments_from(
        &self,
        ordinal: usize,
    ) -> impl ExactSizeIterator<Item = Segment<'_, 'a>> + '_ {
        self.index
            .segs
            .get(ordinal..)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(move |(i, e)| self.segment_at(ordinal + i, *e))
    }

    fn segment_at(&self, ordinal: usize, entry: SegEntry) -> Segment<'_, 'a> {
        Segment {
            input: self.input,
            index: &self.index,
            entry,
            ordinal,
        }
    }

    /// The `occurrence`th (1-based) segment with identifier `id`.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rOBX|1\rOBX|2\r").unwrap();
    /// assert_eq!(msg.segment("OBX", 2).unwrap().raw(), b"OBX|2");
    /// assert!(msg.segment("OBX", 3).is_none());
    /// ```
    pub fn segment(&self, id: &str, occurrence: u32) -> Option<Segment<'_, 'a>> {
        let id = id.as_bytes();
        self.index
            .segs
            .iter()
            .enumerate()
            .filter(|(_, e)| self.input.get(e.start as usize..e.start as usize + 3) == Some(id))
            .nth(occurrence.max(1) as usize - 1)
            .map(|(i, e)| self.segment_at(i, *e))
    }

    /// The 1-based line of the segment holding byte `offset` of the input
    /// (its position in the message, as [`Segment::line`]): the line of a
    /// value by its [`Value::offset`], found by a binary search.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||X\rPV1|1\r").unwrap();
    /// let x = msg.get("PID-3").unwrap().unwrap();
    /// assert_eq!(msg.line_at(x.offset()), 2);
    /// assert_eq!(msg.line_at(0), 1);
    /// ```
    pub fn line_at(&self, offset: usize) -> usize {
        self.index
            .segs
            .partition_point(|e| e.start as usize <= offset)
            .max(1)
    }

    /// The first segment with identifier `id` after `after` (a segment of
    /// this message): the next occurrence found from where the last one is,
    /// so a caller reading occurrences in order scans the message once
    /// rather than from its start for each ([`Message::segment`]).
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rOBX|1\rNTE|1\rOBX|2\r").unwrap();
    /// let first = msg.segment("OBX", 1).unwrap();
    /// let second = msg.next_segment(&first, "OBX").unwrap();
    /// assert_eq!(second.raw(), b"OBX|2");
    /// assert!(msg.next_segment(&second, "OBX").is_none());
    /// ```
    pub fn next_segment(&self, after: &Segment<'_, 'a>, id: &str) -> Option<Segment<'_, 'a>> {
        let id = id.as_bytes();
        let from = after.ordinal + 1;
        self.index
            .segs
            .get(from..)?
            .iter()
            .enumerate()
            .find(|(_, e)| self.input.get(e.start as usize..e.start as usize + 3) == Some(id))
            .map(|(i, e)| self.segment_at(from + i, *e))
    }

    /// Looks up a path such as `PID-3[2].1`. `Ok(None)` means absent; an
    /// invalid path is an error.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||123^^^RX1^MR~456\r")?;
    /// assert_eq!(msg.get("PID-3[2]")?.map(|v| v.raw()), Some(&b"456"[..]));
    /// assert_eq!(msg.get("PID-3.4")?.map(|v| v.raw()), Some(&b"RX1"[..]));
    /// assert!(msg.get("PID-9")?.is_none()); // absent
    /// assert!(msg.get("PID-0").is_err()); // not a path
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn get(&self, path: &str) -> Result<Option<Value<'a>>> {
        Ok(self.query(&Path::parse(path)?))
    }

    /// Looks up a parsed path.
    ///
    /// A path returns the element at the depth it names: `PID-5` is the whole
    /// field with every repetition, `PID-5.1` the first component of the first
    /// repetition *including* any subcomponents (`EVERYMAN&&Aniston`), and
    /// `PID-5.1.1` the first subcomponent alone (`EVERYMAN`).
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, Path};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||1||EVERYMAN&&Aniston^ADAM\r")?;
    /// let field = msg.query(&Path::parse("PID-5")?).map(|v| v.raw());
    /// assert_eq!(field, Some(&b"EVERYMAN&&Aniston^ADAM"[..]));
    /// let component = msg.query(&Path::parse("PID-5.1")?).map(|v| v.raw());
    /// assert_eq!(component, Some(&b"EVERYMAN&&Aniston"[..]));
    /// let sub = msg.query(&Path::parse("PID-5.1.1")?).map(|v| v.raw());
    /// assert_eq!(sub, Some(&b"EVERYMAN"[..]));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn query(&self, path: &Path) -> Option<Value<'a>> {
        self.segment(path.segment(), path.occurrence)?.query(path)
    }

    /// Decoded text at `path`: `Ok(None)` when absent.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rNTE|1||a\\T\\b\r").unwrap();
    /// assert_eq!(msg.text("NTE-3").unwrap().as_deref(), Some("a&b"));
    /// ```
    pub fn text(&self, path: &str) -> Result<Option<Cow<'a, str>>> {
        match self.get(path)? {
            None => Ok(None),
            Some(v) => v.decoded().map(Some),
        }
    }

    fn msh_str(&self, field: u32, component: u32) -> Option<&'a str> {
        let v = self
            .segments()
            .next()?
            .field(field)?
            .repetition(1)?
            .component(component)?;
        std::str::from_utf8(v.raw()).ok()
    }

    /// MSH-9 (message type, trigger event, structure).
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ORU^R01|7|P|2.4\r")?;
    /// let t = msg.message_type().ok_or("no MSH-9")?;
    /// assert_eq!((t.code, t.trigger, t.structure), ("ORU", "R01", ""));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn message_type(&self) -> Option<MessageType<'a>> {
        // MSH-9's first repetition found once, its components read in turn
        // (what msh_str(9, 1..=3) answers, without finding MSH-9 three times).
        let rep = self.segments().next()?.field(9)?.repetition(1)?;
        let mut parts = rep.parts();
        let mut next = || parts.next().and_then(|v| std::str::from_utf8(v.raw()).ok());
        Some(MessageType {
            code: next()?,
            trigger: next().unwrap_or(""),
            structure: next().unwrap_or(""),
        })
    }

    /// MSH-10, the message control id.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|MSG0042|P|2.4\r")?;
    /// assert_eq!(msg.control_id(), Some("MSG0042"));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn control_id(&self) -> Option<&'a str> {
        self.msh_str(10, 1).filter(|s| !s.is_empty())
    }

    /// MSH-12.1, the version id (`2.4`, `2.5.1`…).
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5.1^GBR\r")?;
    /// assert_eq!(msg.version(), Some("2.5.1"));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn version(&self) -> Option<&'a str> {
        self.msh_str(12, 1).filter(|s| !s.is_empty())
    }

    /// Calls `f` for every non-empty leaf in document order, with its fully
    /// indexed path (`PID[1]-5[1].1.1`). MSH-1 and MSH-2 are leaves of their
    /// own (`MSH[1]-1`, `MSH[1]-2`). Allocates nothing.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A\rPID|1||X&Y^Z~W\r").unwrap();
    /// let mut seen = Vec::new();
    /// msg.for_each_leaf(|path, v| seen.push(format!("{path}={}", v.decoded().unwrap())));
    /// assert_eq!(seen, [
    ///     "MSH[1]-1=|", "MSH[1]-2=^~\\&", "MSH[1]-3[1].1.1=A",
    ///     "PID[1]-1[1].1.1=1", "PID[1]-3[1].1.1=X", "PID[1]-3[1].1.2=Y",
    ///     "PID[1]-3[1].2.1=Z", "PID[1]-3[2].1.1=W",
    /// ]);
    /// ```
    pub fn for_each_leaf(&self, mut f: impl FnMut(Path, Value<'a>)) {
        let class = leaf_classes(&self.index.delims);
        let mut counts: [([u8; 3], u32); 32] = [([0; 3], 0); 32];
        let mut used = 0usize;
        for (i, seg) in self.segments().enumerate() {
            let id = seg.id_bytes();
            let slot = counts.iter().take(used).position(|(k, _)| *k == id);
            let occurrence = if let Some((_, n)) = slot.and_then(|i| counts.get_mut(i)) {
                *n += 1;
                *n
            } else if let Some(free) = counts.get_mut(used) {
                *free = (id, 1);
                used += 1;
                1
            } else {
                // More distinct segment ids than slots: count the hard way.
                1 + self
                    .segments()
                    .take(i)
                    .filter(|s| s.id_bytes() == id)
                    .count() as u32
            };
            // Segment ids were checked when the message was parsed.
            let base = Path::from_checked_id(id, occurrence);
            seg.walk_leaves(base, &class, &mut f);
        }
    }

    /// Every non-empty leaf with its path, collected (see [`Message::for_each_leaf`]).
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||A^B\r")?;
    /// let leaves: Vec<String> = msg.leaves().iter().map(|(p, v)| format!("{p}={}", v.decoded().unwrap_or_default())).collect();
    /// assert_eq!(leaves, ["MSH[1]-1=|", "MSH[1]-2=^~\\&", "PID[1]-1[1].1.1=1",
    ///     "PID[1]-3[1].1.1=A", "PID[1]-3[1].2.1=B"]);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn leaves(&self) -> Vec<(Path, Value<'a>)> {
        let mut out = Vec::new();
        self.for_each_leaf(|p, v| out.push((p, v)));
        out
    }
}

/// What each byte does to the leaf counters of a walk: 0 nothing, 1 next
/// repetition, 2 next component, 3 next subcomponent. One load per byte
/// instead of up to three compares.
fn leaf_classes(d: &Delimiters) -> [u8; 256] {
    let mut class = [0u8; 256];
    if let Some(c) = class.get_mut(usize::from(d.repetition)) {
        *c = 1;
    }
    if let Some(c) = class.get_mut(usize::from(d.component)) {
        *c = 2;
    }
    if let Some(c) = d.subcomponent.and_then(|s| class.get_mut(usize::from(s))) {
        *c = 3;
    }
    class
}

/// One segment of a [`Message`].
///
/// ```
/// use carecodec_hl7v2::Message;
///
/// let msg = Message::parse(b"MSH|^~\\&\rPID|1||123||SMITH^ANN\r")?;
/// let pid = msg.segment("PID", 1).ok_or("no PID")?;
/// assert_eq!((pid.id(), pid.line()), ("PID", 2));
/// assert_eq!(pid.field(5).and_then(|f| f.component(2)).map(|v| v.raw()), Some(&b"ANN"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Segment<'m, 'a> {
    input: &'a [u8],
    index: &'m Index,
    entry: SegEntry,
    ordinal: usize,
}

impl<'m, 'a> Segment<'m, 'a> {
    /// Looks up the field part of a path in this segment (the path's segment
    /// id and occurrence are not checked): [`Message::query`] once the segment
    /// is found, for callers reading many fields of one segment.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, Path};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||123^^^RX1^MR||SMITH^ANN\r").unwrap();
    /// let pid = msg.segment("PID", 1).unwrap();
    /// let family = Path::parse("PID-5.1").unwrap();
    /// assert_eq!(pid.query(&family).unwrap().raw(), b"SMITH");
    /// ```
    pub fn query(&self, path: &Path) -> Option<Value<'a>> {
        let Some(n) = path.field else {
            return Some(self.as_value());
        };
        let field = self.field(n)?;
        if field.level == Level::Literal {
            let all_first = [path.repetition, path.component, path.subcomponent]
                .iter()
                .all(|i| i.is_none_or(|i| i == 1));
            return all_first.then_some(field);
        }
        if path.repetition.is_none() && path.component.is_none() {
            return Some(field);
        }
        let rep = field.repetition(path.repetition.unwrap_or(1))?;
        let Some(c) = path.component else {
            return Some(rep);
        };
        let comp = rep.component(c)?;
        match path.subcomponent {
            None => Some(comp),
            Some(s) => comp.subcomponent(s),
        }
    }

    /// Calls `f` for every non-empty leaf of this segment, in order, with
    /// its fully indexed path under `base` (the segment's own path: its
    /// occurrence is the caller's to count). [`Message::for_each_leaf`] is
    /// this over every segment; a caller that knows most segments need no
    /// visit walks only the others. Allocates nothing.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, Path};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rOBX|1||A^B~C\rOBX|2||D\r").unwrap();
    /// let obx = msg.segment("OBX", 2).unwrap();
    /// let mut seen = Vec::new();
    /// obx.for_each_leaf(Path::segment_path("OBX", 2).unwrap(), |path, v| {
    ///     seen.push(format!("{path}={}", v.decoded().unwrap()))
    /// });
    /// assert_eq!(seen, ["OBX[2]-1[1].1.1=2", "OBX[2]-3[1].1.1=D"]);
    /// ```
    pub fn for_each_leaf(&self, base: Path, mut f: impl FnMut(Path, Value<'a>)) {
        self.walk_leaves(base, &leaf_classes(&self.index.delims), &mut f);
    }

    /// [`Segment::for_each_leaf`] with the byte classes of [`leaf_classes`]
    /// made once by the caller.
    fn walk_leaves(&self, base: Path, class: &[u8; 256], f: &mut impl FnMut(Path, Value<'a>)) {
        let d = self.index.delims;
        let charset = self.index.charset;
        let line = self.line_u32();
        // The fields straight from the index: piece k runs from its start
        // offset to the byte before the next piece's (the segment's end
        // for the last). For a header segment, field 1 is the separator
        // itself and field n > 1 is piece n - 1.
        let first = self.entry.first as usize;
        let count = self.entry.count as usize;
        let Some(starts) = self.index.fields.get(first..first + count) else {
            return;
        };
        let header = self.is_header();
        if header {
            let at = self.entry.start + 3;
            if let Some(raw) = self.input.get(at as usize..at as usize + 1) {
                f(
                    base.field(1),
                    Value {
                        raw,
                        offset: at,
                        line,
                        level: Level::Literal,
                        delims: d,
                        charset,
                    },
                );
            }
        }
        for (k, &start) in starts.iter().enumerate().skip(1) {
            let end = starts.get(k + 1).map_or(self.entry.end, |&n| n - 1);
            let Some(raw) = self.input.get(start as usize..end as usize) else {
                continue;
            };
            if raw.is_empty() {
                continue;
            }
            let n = if header { k as u32 + 1 } else { k as u32 };
            let fp = base.field(n);
            if header && n == 2 {
                f(
                    fp,
                    Value {
                        raw,
                        offset: start,
                        line,
                        level: Level::Literal,
                        delims: d,
                        charset,
                    },
                );
                continue;
            }
            // One pass over the field's bytes: a separator closes the
            // leaf before it and moves the repetition, component or
            // subcomponent counter (three nested splits would read every
            // byte three times).
            let (mut r, mut c, mut sub) = (1u32, 1u32, 1u32);
            let mut from = 0usize;
            let mut emit = |from: usize, to: usize, r: u32, c: u32, sub: u32| {
                if let Some(leaf) = raw.get(from..to).filter(|b| !b.is_empty()) {
                    f(
                        fp.repetition(r).component(c).subcomponent(sub),
                        Value {
                            raw: leaf,
                            offset: start + from as u32,
                            line,
                            level: Level::Subcomponent,
                            delims: d,
                            charset,
                        },
                    );
                }
            };
            for (i, &b) in raw.iter().enumerate() {
                // Most bytes are content: one test for them.
                let k = class.get(usize::from(b)).copied().unwrap_or(0);
                if k == 0 {
                    continue;
                }
                let next = match k {
                    1 => (r + 1, 1, 1),
                    2 => (r, c + 1, 1),
                    _ => (r, c, sub + 1),
                };
                emit(from, i, r, c, sub);
                (r, c, sub) = next;
                from = i + 1;
            }
            emit(from, raw.len(), r, c, sub);
        }
    }

    /// The segment identifier, e.g. `PID`.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rZXY|1\r")?;
    /// let ids: Vec<&str> = msg.segments().map(|s| s.id()).collect();
    /// assert_eq!(ids, ["MSH", "ZXY"]);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn id(&self) -> &'a str {
        // Ids were checked at parse (three upper-case letters or digits), so
        // the common ones are answered from a table without a UTF-8 check
        // (a `&'static str`, equal to the id's bytes in the message).
        match known_id(self.id_bytes()) {
            Some(id) => id,
            None => std::str::from_utf8(self.id_raw()).unwrap_or(""),
        }
    }

    fn id_raw(&self) -> &'a [u8] {
        let s = self.entry.start as usize;
        self.input.get(s..s + 3).unwrap_or_default()
    }

    fn id_bytes(&self) -> [u8; 3] {
        match self.id_raw() {
            [a, b, c] => [*a, *b, *c],
            _ => [0; 3],
        }
    }

    /// The segment's bytes, terminator excluded.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||X\r")?;
    /// assert_eq!(msg.segment("PID", 1).map(|s| s.raw()), Some(&b"PID|1||X"[..]));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn raw(&self) -> &'a [u8] {
        self.input
            .get(self.entry.start as usize..self.entry.end as usize)
            .unwrap_or_default()
    }

    /// Byte span of the segment in the input, terminator excluded.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let input = b"MSH|^~\\&\rPID|1||X\r";
    /// let msg = Message::parse(input)?;
    /// let span = msg.segment("PID", 1).map(|s| s.span());
    /// assert_eq!(span, Some(9..17));
    /// assert_eq!(&input[9..17], b"PID|1||X");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn span(&self) -> Range<usize> {
        self.entry.start as usize..self.entry.end as usize
    }

    /// 1-based line: the segment's position in the message.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1\rOBX|1\rOBX|2\r")?;
    /// assert_eq!(msg.segment("OBX", 2).map(|s| s.line()), Some(4));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn line(&self) -> usize {
        self.ordinal + 1
    }

    /// [`Segment::line`] as a value holds it (a message has at most 4 GiB, so fewer
    /// segments than `u32::MAX`).
    fn line_u32(&self) -> u32 {
        u32::try_from(self.ordinal + 1).unwrap_or(u32::MAX)
    }

    fn is_header(&self) -> bool {
        matches!(self.id_raw(), b"MSH" | b"FHS" | b"BHS")
    }

    /// Number of fields present (for MSH, MSH-1 and MSH-2 included).
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A\rPID|1||X\r")?;
    /// assert_eq!(msg.segment("MSH", 1).map(|s| s.field_count()), Some(3));
    /// assert_eq!(msg.segment("PID", 1).map(|s| s.field_count()), Some(3));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn field_count(&self) -> usize {
        let pieces = self.entry.count as usize;
        if self.is_header() {
            pieces
        } else {
            pieces.saturating_sub(1)
        }
    }

    #[inline]
    fn piece(&self, k: u32) -> Option<(&'a [u8], u32)> {
        let count = self.entry.count;
        if k >= count {
            return None;
        }
        let i = self.entry.first as usize + k as usize;
        // A piece ends one byte before the next one starts (the segment's
        // end for the last): both offsets with one bounds check.
        let (start, end) = if k + 1 < count {
            match self.index.fields.get(i..i + 2)? {
                [start, next] => (*start, next.checked_sub(1)?),
                _ => return None,
            }
        } else {
            (*self.index.fields.get(i)?, self.entry.end)
        };
        Some((self.input.get(start as usize..end as usize)?, start))
    }

    fn value(&self, raw: &'a [u8], offset: u32, level: Level) -> Value<'a> {
        Value {
            raw,
            offset,
            line: self.line_u32(),
            level,
            delims: self.index.delims,
            charset: self.index.charset,
        }
    }

    /// The whole segment as a [`Value`] (level [`Level::Segment`]).
    ///
    /// ```
    /// use carecodec_hl7v2::{Level, Message};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rNTE|1||text\r")?;
    /// let nte = msg.segment("NTE", 1).ok_or("no NTE")?.as_value();
    /// assert_eq!(nte.level(), Level::Segment);
    /// assert_eq!(nte.raw(), b"NTE|1||text");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_value(&self) -> Value<'a> {
        self.value(self.raw(), self.entry.start, Level::Segment)
    }

    /// Field `n` (1-based); `None` when absent. For header segments, field 1
    /// is the field separator and field 2 the encoding characters.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|PAS\rPID|1||X\r")?;
    /// let msh = msg.segment("MSH", 1).ok_or("no MSH")?;
    /// assert_eq!(msh.field(1).map(|v| v.raw()), Some(&b"|"[..]));
    /// assert_eq!(msh.field(3).map(|v| v.raw()), Some(&b"PAS"[..]));
    /// assert!(msh.field(4).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn field(&self, n: u32) -> Option<Value<'a>> {
        if n == 0 {
            return None;
        }
        if self.is_header() {
            if n == 1 {
                let at = self.entry.start + 3;
                return Some(self.value(
                    self.input.get(at as usize..at as usize + 1)?,
                    at,
                    Level::Literal,
                ));
            }
            let (raw, at) = self.piece(n - 1)?;
            let level = if n == 2 { Level::Literal } else { Level::Field };
            return Some(self.value(raw, at, level));
        }
        let (raw, at) = self.piece(n)?;
        Some(self.value(raw, at, Level::Field))
    }

    /// The fields with their 1-based numbers.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||X\r")?;
    /// let pid = msg.segment("PID", 1).ok_or("no PID")?;
    /// let fields: Vec<(u32, &[u8])> = pid.fields().map(|(n, v)| (n, v.raw())).collect();
    /// assert_eq!(fields, [(1, &b"1"[..]), (2, b""), (3, b"X")]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fields(&self) -> impl Iterator<Item = (u32, Value<'a>)> + '_ {
        (1..=self.field_count() as u32).filter_map(move |n| self.field(n).map(|v| (n, v)))
    }
}

/// The common segment ids as `&'static str`, so that [`Segment::id`] needs
/// no UTF-8 check for them (a `str::from_utf8` call per id cost ~60
/// instructions, and mappers compare ids of every segment).
fn known_id(id: [u8; 3]) -> Option<&'static str> {
    Some(match &id {
        b"MSH" => "MSH",
        b"EVN" => "EVN",
        b"PID" => "PID",
        b"PD1" => "PD1",
        b"PV1" => "PV1",
        b"PV2" => "PV2",
        b"NK1" => "NK1",
        b"AL1" => "AL1",
        b"IAM" => "IAM",
        b"DG1" => "DG1",
        b"DRG" => "DRG",
        b"PR1" => "PR1",
        b"GT1" => "GT1",
        b"IN1" => "IN1",
        b"IN2" => "IN2",
        b"IN3" => "IN3",
        b"ROL" => "ROL",
        b"OBR" => "OBR",
        b"OBX" => "OBX",
        b"NTE" => "NTE",
        b"ORC" => "ORC",
        b"RXA" => "RXA",
        b"RXC" => "RXC",
        b"RXD" => "RXD",
        b"RXE" => "RXE",
        b"RXG" => "RXG",
        b"RXO" => "RXO",
        b"RXR" => "RXR",
        b"SPM" => "SPM",
        b"SAC" => "SAC",
        b"TQ1" => "TQ1",
        b"TQ2" => "TQ2",
        b"MRG" => "MRG",
        b"ACC" => "ACC",
        b"UB1" => "UB1",
        b"UB2" => "UB2",
        b"DB1" => "DB1",
        b"FHS" => "FHS",
        b"FTS" => "FTS",
        b"BHS" => "BHS",
        b"BTS" => "BTS",
        b"MSA" => "MSA",
        b"ERR" => "ERR",
        b"QRD" => "QRD",
        b"QRF" => "QRF",
        b"QAK" => "QAK",
        b"QPD" => "QPD",
        b"RCP" => "RCP",
        b"SFT" => "SFT",
        b"UAC" => "UAC",
        b"ARQ" => "ARQ",
        b"SCH" => "SCH",
        b"AIS" => "AIS",
        b"AIG" => "AIG",
        b"AIL" => "AIL",
        b"AIP" => "AIP",
        b"RGS" => "RGS",
        b"TXA" => "TXA",
        b"CTI" => "CTI",
        b"CTD" => "CTD",
        b"DSC" => "DSC",
        b"PRB" => "PRB",
        b"GOL" => "GOL",
        b"PTH" => "PTH",
        b"VAR" => "VAR",
        b"FT1" => "FT1",
        b"MFI" => "MFI",
        b"MFE" => "MFE",
        b"STF" => "STF",
        b"PRA" => "PRA",
        b"ORG" => "ORG",
        b"LOC" => "LOC",
        b"CON" => "CON",
        b"PDA" => "PDA",
        b"NPU" => "NPU",
        b"PES" => "PES",
        b"PEO" => "PEO",
        b"PCR" => "PCR",
        b"CSR" => "CSR",
        b"CSP" => "CSP",
        b"TCD" => "TCD",
        b"TCC" => "TCC",
        b"INV" => "INV",
        b"EQU" => "EQU",
        b"OM1" => "OM1",
        b"BLG" => "BLG",
        b"ZPI" => "ZPI",
        b"ZPV" => "ZPV",
        b"ZPD" => "ZPD",
        b"ZU1" => "ZU1",
        _ => return None,
    })
}

/// A borrowed field, repetition, component or subcomponent.
///
/// [`Value::raw`] gives the bytes exactly as read; [`Value::decoded`] resolves
/// escapes and the character set, allocating only when it must.
///
/// ```
/// use carecodec_hl7v2::Message;
///
/// let msg = Message::parse(b"MSH|^~\\&\rNTE|1||caf\\T\\e^x\r")?;
/// let v = msg.get("NTE-3.1")?.unwrap_or_else(|| unreachable!());
/// assert_eq!(v.raw(), b"caf\\T\\e");
/// assert_eq!(v.decoded()?, "caf&e");
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a [u8],
    offset: u32,
    /// The 1-based line (segment number) of the segment the value is in.
    line: u32,
    level: Level,
    delims: Delimiters,
    charset: Charset,
}

impl<'a> Value<'a> {
    /// The bytes exactly as read, escapes and separators included.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||1||O\\S\\BRIEN^ANN\r")?;
    /// assert_eq!(msg.get("PID-5.1")?.map(|v| v.raw()), Some(&b"O\\S\\BRIEN"[..]));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Byte offset of the value in the input.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let input = b"MSH|^~\\&\rPID|1||X\r";
    /// let msg = Message::parse(input)?;
    /// assert_eq!(msg.get("PID-3")?.map(|v| v.offset()), Some(16));
    /// assert_eq!(input[16], b'X');
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn offset(&self) -> usize {
        self.offset as usize
    }

    /// Byte span of the value in the input.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||AB^CD\r")?;
    /// assert_eq!(msg.get("PID-3.2")?.map(|v| v.span()), Some(19..21));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn span(&self) -> Range<usize> {
        self.offset as usize..self.offset as usize + self.raw.len()
    }

    /// The 1-based line of the value: the number of the segment it is in
    /// ([`Segment::line`]), the line an error from [`Value::decoded`] reports.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1\rOBX|1||A^B\r")?;
    /// assert_eq!(msg.get("OBX-3.2")?.map(|v| v.line()), Some(3));
    /// assert_eq!(msg.get("MSH-2")?.map(|v| v.line()), Some(1));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn line(&self) -> usize {
        self.line as usize
    }

    /// The level the value sits at.
    ///
    /// ```
    /// use carecodec_hl7v2::{Level, Message};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||A^B\r")?;
    /// assert_eq!(msg.get("PID-3.2")?.map(|v| v.level()), Some(Level::Component));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn level(&self) -> Level {
        self.level
    }

    /// True when the value is present but empty.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||X\r")?;
    /// assert_eq!(msg.get("PID-2")?.map(|v| v.is_empty()), Some(true));
    /// assert_eq!(msg.get("PID-3")?.map(|v| v.is_empty()), Some(false));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Empty, the HL7 null `""`, or content.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, Presence};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1|\"\"||X\r").unwrap();
    /// assert_eq!(msg.get("PID-2").unwrap().unwrap().presence(), Presence::Null);
    /// assert_eq!(msg.get("PID-3").unwrap().unwrap().presence(), Presence::Empty);
    /// assert_eq!(msg.get("PID-4").unwrap().unwrap().presence(), Presence::Value);
    /// assert!(msg.get("PID-5").unwrap().is_none()); // absent
    /// ```
    pub fn presence(&self) -> Presence {
        match self.raw {
            [] => Presence::Empty,
            b"\"\"" => Presence::Null,
            _ => Presence::Value,
        }
    }

    /// True for the HL7 null `""`.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1|\"\"|X\r")?;
    /// assert_eq!(msg.get("PID-2")?.map(|v| v.is_null()), Some(true));
    /// assert_eq!(msg.get("PID-3")?.map(|v| v.is_null()), Some(false));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn is_null(&self) -> bool {
        self.presence() == Presence::Null
    }

    /// Text with escapes resolved (formatting escapes kept) in the message's charset.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rNTE|1||A\\F\\B\\.br\\C|plain\r")?;
    /// assert_eq!(msg.text("NTE-3")?.as_deref(), Some("A|B\\.br\\C")); // formatting kept
    /// let plain = msg.get("NTE-4")?.map(|v| v.decoded()).transpose()?;
    /// assert!(matches!(plain, Some(Cow::Borrowed("plain")))); // no allocation
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn decoded(&self) -> Result<Cow<'a, str>> {
        self.decoded_with(&DecodeOptions::default())
    }

    /// Text with escapes resolved per `opts`.
    ///
    /// ```
    /// use carecodec_hl7v2::escape::DecodeOptions;
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rNTE|1||line 1\\.br\\line 2\r")?;
    /// let v = msg.get("NTE-3")?.map(|v| v.decoded_with(&DecodeOptions::render())).transpose()?;
    /// assert_eq!(v.as_deref(), Some("line 1\nline 2"));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn decoded_with(&self, opts: &DecodeOptions) -> Result<Cow<'a, str>> {
        if self.level == Level::Literal {
            return std::str::from_utf8(self.raw)
                .map(Cow::Borrowed)
                .map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidText { charset: "UTF-8" },
                        self.offset as usize + e.valid_up_to(),
                        self.line(),
                    )
                });
        }
        escape::decode(self.raw, &self.delims, self.charset, opts).map_err(|e| {
            Error::new(
                e.kind().clone(),
                self.offset as usize + e.offset(),
                self.line(),
            )
        })
    }

    fn child_level(&self) -> Option<(Level, Option<u8>)> {
        match self.level {
            Level::Segment => Some((Level::Field, Some(self.delims.field))),
            Level::Field => Some((Level::Repetition, Some(self.delims.repetition))),
            Level::Repetition => Some((Level::Component, Some(self.delims.component))),
            Level::Component => Some((Level::Subcomponent, self.delims.subcomponent)),
            Level::Subcomponent | Level::Literal => None,
        }
    }

    /// The parts one level down (repetitions of a field, components of a
    /// repetition, subcomponents of a component). A leaf yields itself.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||A^B~C\r")?;
    /// let field = msg.get("PID-3")?.ok_or("absent")?;
    /// let reps: Vec<&[u8]> = field.parts().map(|v| v.raw()).collect();
    /// assert_eq!(reps, [&b"A^B"[..], b"C"]);
    /// let comps: Vec<&[u8]> = field.parts().next().ok_or("none")?.parts().map(|v| v.raw()).collect();
    /// assert_eq!(comps, [&b"A"[..], b"B"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parts(&self) -> Parts<'a> {
        match self.child_level() {
            Some((level, sep)) => Parts {
                rest: Some(self.raw),
                offset: self.offset,
                line: self.line,
                sep,
                level,
                delims: self.delims,
                charset: self.charset,
            },
            None => Parts {
                rest: Some(self.raw),
                offset: self.offset,
                line: self.line,
                sep: None,
                level: self.level,
                delims: self.delims,
                charset: self.charset,
            },
        }
    }

    /// Part `n` (1-based) one level down, when that level is `want`: what
    /// `self.parts().nth(n - 1)` gives, found by skipping separators rather
    /// than building every part before it.
    fn nth_part(&self, want: Level, n: u32) -> Option<Value<'a>> {
        let (level, sep) = self.child_level()?;
        if n == 0 || level != want {
            return None;
        }
        let Some(sep) = sep else {
            // Nothing splits this level: the value is its only part.
            return (n == 1).then_some(Value { level, ..*self });
        };
        let find = |hay: &[u8]| hay.iter().position(|&b| b == sep);
        let mut start = 0usize;
        for _ in 1..n {
            let rest = self.raw.get(start..)?;
            start += find(rest)? + 1;
        }
        let rest = self.raw.get(start..)?;
        let len = find(rest).unwrap_or(rest.len());
        Some(Value {
            raw: rest.get(..len)?,
            offset: self.offset + start as u32,
            line: self.line,
            level,
            delims: self.delims,
            charset: self.charset,
        })
    }

    /// Repetition `n` (1-based) of a field.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||123^^^RX1~456^^^NHS\r")?;
    /// let ids = msg.get("PID-3")?.ok_or("absent")?;
    /// assert_eq!(ids.repetition(2).map(|v| v.raw()), Some(&b"456^^^NHS"[..]));
    /// assert!(ids.repetition(3).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn repetition(&self, n: u32) -> Option<Value<'a>> {
        self.nth_part(Level::Repetition, n)
    }

    /// Component `n` (1-based) of a repetition. On a field, of its first repetition.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||1||SMITH^ANN~JONES^BOB\r")?;
    /// let names = msg.get("PID-5")?.ok_or("absent")?;
    /// assert_eq!(names.component(2).map(|v| v.raw()), Some(&b"ANN"[..])); // first repetition
    /// let second = names.repetition(2).ok_or("no second")?;
    /// assert_eq!(second.component(1).map(|v| v.raw()), Some(&b"JONES"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn component(&self, n: u32) -> Option<Value<'a>> {
        if self.level == Level::Field {
            return self.first_repetition_component(n);
        }
        self.nth_part(Level::Component, n)
    }

    /// `self.repetition(1)?.component(n)` for a field, in one pass: the
    /// first repetition ends at the first repetition separator, so there is
    /// no need to find that end before counting component separators.
    fn first_repetition_component(&self, n: u32) -> Option<Value<'a>> {
        if n == 0 {
            return None;
        }
        let (rep_sep, comp_sep) = (self.delims.repetition, self.delims.component);
        let (mut k, mut start, mut end) = (1u32, 0usize, self.raw.len());
        for (i, &b) in self.raw.iter().enumerate() {
            if b == rep_sep {
                end = i;
                break;
            }
            if b == comp_sep {
                if k == n {
                    end = i;
                    break;
                }
                k += 1;
                start = i + 1;
            }
        }
        if k != n {
            return None;
        }
        Some(Value {
            raw: self.raw.get(start..end)?,
            offset: self.offset + start as u32,
            line: self.line,
            level: Level::Component,
            delims: self.delims,
            charset: self.charset,
        })
    }

    /// Subcomponent `n` (1-based) of a component.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||123^^^RX1&2.16.840&ISO\r")?;
    /// let authority = msg.get("PID-3.4")?.ok_or("absent")?;
    /// assert_eq!(authority.subcomponent(2).map(|v| v.raw()), Some(&b"2.16.840"[..]));
    /// assert!(authority.subcomponent(4).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subcomponent(&self, n: u32) -> Option<Value<'a>> {
        self.nth_part(Level::Subcomponent, n)
    }

    /// The repetitions of a field (a field with no repetition separator has one).
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||A~B~C|D\r")?;
    /// assert_eq!(msg.get("PID-3")?.map(|v| v.repetitions().count()), Some(3));
    /// assert_eq!(msg.get("PID-4")?.map(|v| v.repetitions().count()), Some(1));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn repetitions(&self) -> Parts<'a> {
        if self.level == Level::Field {
            self.parts()
        } else {
            Parts::empty(self)
        }
    }

    /// The delimiters of the message the value came from.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1\r")?;
    /// assert_eq!(msg.get("PID-1")?.map(|v| v.delimiters().component), Some(b'^'));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// The character set of the message the value came from.
    ///
    /// ```
    /// use carecodec_hl7v2::{Charset, Message};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|||||||ADT^A01|1|P|2.4||||||UNICODE UTF-8\rPID|1\r")?;
    /// assert_eq!(msg.get("PID-1")?.map(|v| v.charset()), Some(Charset::Utf8));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn charset(&self) -> Charset {
        self.charset
    }
}

/// Iterator over the parts of a [`Value`] one level down.
///
/// ```
/// use carecodec_hl7v2::Message;
///
/// let msg = Message::parse(b"MSH|^~\\&\rPID|1||1||SMITH&&Smyth^ANN\r")?;
/// let family = msg.get("PID-5.1")?.ok_or("absent")?;
/// let subs: Vec<&[u8]> = family.parts().map(|v| v.raw()).collect();
/// assert_eq!(subs, [&b"SMITH"[..], b"", b"Smyth"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Parts<'a> {
    rest: Option<&'a [u8]>,
    offset: u32,
    line: u32,
    sep: Option<u8>,
    level: Level,
    delims: Delimiters,
    charset: Charset,
}

impl<'a> Parts<'a> {
    fn empty(v: &Value<'a>) -> Parts<'a> {
        Parts {
            rest: None,
            offset: v.offset,
            line: v.line,
            sep: None,
            level: v.level,
            delims: v.delims,
            charset: v.charset,
        }
    }
}

impl<'a> Iterator for Parts<'a> {
    type Item = Value<'a>;

    #[inline]
    fn next(&mut self) -> Option<Value<'a>> {
        let rest = self.rest?;
        let (raw, next) = match self.sep.and_then(|s| rest.iter().position(|&b| b == s)) {
            Some(p) => (rest.get(..p)?, rest.get(p + 1..)),
            None => (rest, None),
        };
        let v = Value {
            raw,
            offset: self.offset,
            line: self.line,
            level: self.level,
            delims: self.delims,
            charset: self.charset,
        };
        self.offset += raw.len() as u32 + 1;
        self.rest = next;
        Some(v)
    }
}

impl std::iter::FusedIterator for Parts<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leaf walk done field by field through [`Segment::fields`], as
    /// `for_each_leaf` did before it read the index directly: the reference
    /// the fast walk must agree with, path and value alike.
    fn reference_leaves<'a>(msg: &Message<'a>) -> Vec<(Path, Value<'a>)> {
        let mut out = Vec::new();
        let mut seen: Vec<[u8; 3]> = Vec::new();
        for seg in msg.segments() {
            let id = seg.id_bytes();
            seen.push(id);
            let occurrence = seen.iter().filter(|k| **k == id).count() as u32;
            let base = Path::segment_path(seg.id(), occurrence).unwrap();
            for (n, field) in seg.fields() {
                if field.raw.is_empty() {
                    continue;
                }
                let fp = base.field(n);
                if field.level == Level::Literal {
                    out.push((fp, field));
                    continue;
                }
                for (r, rep) in field.parts().enumerate() {
                    for (c, comp) in rep.parts().enumerate() {
                        for (s, sub) in comp.parts().enumerate() {
                            if sub.raw.is_empty() {
                                continue;
                            }
                            let at = |i: usize| i as u32 + 1;
                            let p = fp.repetition(at(r)).component(at(c)).subcomponent(at(s));
                            let sub = Value {
                                level: Level::Subcomponent,
                                ..sub
                            };
                            out.push((p, sub));
                        }
                    }
                }
            }
        }
        out
    }

    /// A value carries its line in 40 bytes (32 without it): the cost of the line, measured
    /// in docs/benchmarks.md.
    #[test]
    fn a_value_is_40_bytes() {
        assert_eq!(std::mem::size_of::<Value<'_>>(), 40);
    }

    /// Errors from decoding a value said line 0: a value did not know its line. Each way to
    /// a value (lookup, parts, leaf walk, typed read) gives the segment's line and the
    /// byte's offset in the message.
    #[test]
    fn decoding_errors_carry_the_values_line_and_offset() {
        let input: &[u8] = b"MSH|^~\\&|||||||ADT^A01|1|P|2.5\rPID|1\rNTE|1||ok^caf\xff\rNTE|2||a\\XFF\\b\rPV1|1|I||||||||||||||||||||||||||||||||||||||||||2024133\r";
        let msg = Message::parse(input).unwrap();
        let bad = input.iter().position(|&b| b == 0xff).unwrap();
        let hex = input.windows(4).position(|w| w == b"\\XFF").unwrap();
        let check = |e: Error, line: usize, offset: usize| {
            assert_eq!((e.line(), e.offset()), (line, offset), "{e}");
            assert!(
                e.to_string()
                    .contains(&format!("at line {line}, byte {offset}")),
                "{e}"
            );
        };
        let v = msg.get("NTE-3.2").unwrap().unwrap();
        assert_eq!(v.line(), 3);
        check(v.decoded().unwrap_err(), 3, bad);
        check(msg.text("NTE-3").unwrap_err(), 3, bad);
        check(msg.text("NTE[2]-3").unwrap_err(), 4, hex);
        let field = msg.get("NTE[2]-3").unwrap().unwrap();
        let part = field.parts().next().unwrap().parts().next().unwrap();
        check(part.decoded().unwrap_err(), 4, hex);
        let sub = field
            .repetition(1)
            .unwrap()
            .component(1)
            .unwrap()
            .subcomponent(1)
            .unwrap();
        check(sub.decoded().unwrap_err(), 4, hex);
        let mut errors = Vec::new();
        msg.for_each_leaf(|_, v| errors.extend(v.decoded().err()));
        assert_eq!(errors.len(), 2);
        check(errors.remove(0), 3, bad);
        check(errors.remove(0), 4, hex);
        let pv1_44 = msg.get("PV1-44").unwrap().unwrap();
        let at = pv1_44.offset();
        check(
            crate::types::Timestamp::from_value(&pv1_44).unwrap_err(),
            5,
            at,
        );
        // MSH-1 and MSH-2, literals, are on line 1.
        assert_eq!(msg.get("MSH-1").unwrap().map(|v| v.line()), Some(1));
        // Lines are segment numbers: blank lines between segments are not counted.
        let input = b"MSH|^~\\&\r\r\nNTE|1||caf\xff\r";
        let msg = Message::parse(input).unwrap();
        let bad = input.iter().position(|&b| b == 0xff).unwrap();
        check(msg.text("NTE-3").unwrap_err(), 2, bad);
    }

    proptest::proptest! {
        #[test]
        fn leaf_walk_agrees_with_the_field_by_field_walk(
            head in proptest::sample::select(vec!["MSH|^~\\&", "MSH|^~\\&#", "MSH#^~\\&", "MSH|^~", "MSH|^~\\", "BHS|^~\\&"]),
            rest in "(\\|[A-Z0-9^~&#|\\\\]{0,10}){0,6}",
            body in "(\r(PID|OBX|ZZ1|MSH|FHS)([|#][A-Z0-9^~&#|\\\\]{0,10}){0,8}){0,6}",
        ) {
            let input = format!("{head}{rest}{body}\r");
            if let Ok(msg) = Message::parse(input.as_bytes()) {
                proptest::prop_assert_eq!(msg.leaves(), reference_leaves(&msg));
            }
        }
    }

    proptest::proptest! {
        /// `repetition`, `component` and `subcomponent` find the part that
        /// `parts().nth(n - 1)` yields, at every level, with and without a
        /// subcomponent separator.
        #[test]
        fn nth_part_agrees_with_parts(
            head in proptest::sample::select(vec!["MSH|^~\\&", "MSH|^~\\", "MSH|^~"]),
            field in "[A-Z^~&\\\\]{0,24}",
            n in 0u32..6,
        ) {
            let input = format!("{head}\rPID|{field}\r");
            let msg = Message::parse(input.as_bytes()).unwrap();
            let f = msg.segment("PID", 1).unwrap().field(1).unwrap();
            fn nth<'a>(v: &Value<'a>, n: u32) -> Option<Value<'a>> {
                v.parts().nth(n.checked_sub(1)? as usize)
            }
            proptest::prop_assert_eq!(f.repetition(n), nth(&f, n));
            let first = f.parts().next().unwrap();
            proptest::prop_assert_eq!(f.component(n), nth(&first, n));
            for rep in f.parts() {
                proptest::prop_assert_eq!(rep.component(n), nth(&rep, n));
                for comp in rep.parts() {
                    proptest::prop_assert_eq!(comp.subcomponent(n), nth(&comp, n));
                    for sub in comp.parts() {
                        proptest::prop_assert_eq!(sub.subcomponent(n), None);
                    }
                }
            }
        }
    }

    /// The table of common ids answers each with its own bytes, and only
    /// for valid ids.
    #[test]
    fn known_ids_are_their_bytes() {
        let mut known = 0;
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for c in (b'0'..=b'9').chain(b'A'..=b'Z') {
                    let id = [a, b, c];
                    if let Some(s) = known_id(id) {
                        assert_eq!(s.as_bytes(), id);
                        assert!(Path::segment_path(s, 1).is_ok(), "{s}");
                        known += 1;
                    }
                }
            }
        }
        assert_eq!(known, 90, "the ids in the table");
    }

    #[test]
    fn segment_id_is_the_ids_bytes() {
        let msg = Message::parse(b"MSH|^~\\&\rPID|1\rZQ9|x\rOBX|1\r").unwrap();
        let ids: Vec<&str> = msg.segments().map(|s| s.id()).collect();
        assert_eq!(ids, ["MSH", "PID", "ZQ9", "OBX"]);
    }

    proptest::proptest! {
        /// `message_type` reads MSH-9 as `msh_str(9, 1..=3)` does.
        #[test]
        fn message_type_agrees_with_msh_str(
            msh9 in "[A-Z0-9_^&~\\\\]{0,16}",
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
        ) {
            let mut input = format!("MSH|^~\\&|||||||{msh9}").into_bytes();
            input.extend_from_slice(&bytes);
            input.extend_from_slice(b"|1\r");
            let Ok(msg) = Message::parse(&input) else { return Ok(()); };
            let expected = msg.msh_str(9, 1).map(|code| MessageType {
                code,
                trigger: msg.msh_str(9, 2).unwrap_or(""),
                structure: msg.msh_str(9, 3).unwrap_or(""),
            });
            proptest::prop_assert_eq!(msg.message_type(), expected);
        }
    }

    #[test]
    fn leaf_walk_of_header_literals() {
        let msg = Message::parse(b"MSH|^~\\&||B\rFHS|^~\\&|X\rPID|1|^&~\r").unwrap();
        assert_eq!(msg.leaves(), reference_leaves(&msg));
        assert_eq!(msg.leaves().len(), 7);
    }
}
