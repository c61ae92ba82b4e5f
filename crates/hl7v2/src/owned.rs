//! Writing: byte-exact write-back, normalised output, and [`MessageBuf`], an
//! owned message edited by path.

use std::io::Write;

use crate::error::{Error, ErrorKind, Result};
use crate::escape;
use crate::message::Message;
use crate::path::Path;
use crate::scan::{Charset, Delimiters};

/// How to write a message.
///
/// ```
/// use carecodec_hl7v2::{Message, WriteOptions};
///
/// let msg = Message::parse(b"\xEF\xBB\xBFMSH|^~\\&|A||\nPID|1||X^^~\n").unwrap();
/// let mut out = Vec::new();
/// msg.write_with(&mut out, &WriteOptions::normalised()).unwrap();
/// assert_eq!(out, b"MSH|^~\\&|A\rPID|1||X\r");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Write CR terminators, drop BOM, framing and padding, and trim trailing
    /// empty fields, repetitions, components and subcomponents.
    pub normalise: bool,
}

impl WriteOptions {
    /// Byte-exact output (the default).
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, WriteOptions};
    ///
    /// let input = b"MSH|^~\\&|A\nPID|1||\n";
    /// let mut out = Vec::new();
    /// Message::parse(input)?.write_with(&mut out, &WriteOptions::exact())?;
    /// assert_eq!(out, input); // LF terminators and the empty field kept
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn exact() -> WriteOptions {
        WriteOptions::default()
    }

    /// Normalised output.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, WriteOptions};
    ///
    /// let mut out = Vec::new();
    /// Message::parse(b"MSH|^~\\&|A\nPID|1||\n")?.write_with(&mut out, &WriteOptions::normalised())?;
    /// assert_eq!(out, b"MSH|^~\\&|A\rPID|1\r");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn normalised() -> WriteOptions {
        WriteOptions { normalise: true }
    }
}

impl Message<'_> {
    /// Writes the message exactly as it was read.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    ///
    /// let input = b"\x0bMSH|^~\\&|A\rPID|1\r\x1c\r";
    /// let mut out = Vec::new();
    /// Message::parse(input)?.write_to(&mut out)?;
    /// assert_eq!(out, input); // framing kept: byte for byte
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn write_to(&self, w: &mut impl Write) -> Result<()> {
        w.write_all(self.as_bytes())?;
        Ok(())
    }

    /// Writes the message per `opts`.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, WriteOptions};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A\r\nPID|1||X^^~\r\n")?;
    /// let mut out = Vec::new();
    /// msg.write_with(&mut out, &WriteOptions::normalised())?;
    /// assert_eq!(out, b"MSH|^~\\&|A\rPID|1||X\r");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn write_with(&self, w: &mut impl Write, opts: &WriteOptions) -> Result<()> {
        if !opts.normalise {
            return self.write_to(w);
        }
        let d = self.delimiters();
        let mut buf = Vec::with_capacity(self.as_bytes().len());
        for seg in self.segments() {
            normalise_segment(seg.raw(), &d, &mut buf);
            buf.push(b'\r');
        }
        w.write_all(&buf)?;
        Ok(())
    }
}

fn is_header(raw: &[u8]) -> bool {
    matches!(raw.get(..3), Some(b"MSH" | b"FHS" | b"BHS"))
}

/// Trims trailing empty fields, repetitions, components and subcomponents.
fn normalise_segment(raw: &[u8], d: &Delimiters, out: &mut Vec<u8>) {
    let header = is_header(raw);
    let mut fields: Vec<&[u8]> = raw.split(|&b| b == d.field).collect();
    let keep = if header { 2 } else { 1 };
    while fields.len() > keep && trimmed_len(fields.last().copied().unwrap_or_default(), d) == 0 {
        fields.pop();
    }
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(d.field);
        }
        if i < keep {
            out.extend_from_slice(f);
        } else {
            write_trimmed(f, d, out);
        }
    }
}

fn seps(d: &Delimiters) -> [Option<u8>; 3] {
    [Some(d.repetition), Some(d.component), d.subcomponent]
}

fn trimmed_len(f: &[u8], d: &Delimiters) -> usize {
    let mut v = Vec::new();
    write_trimmed(f, d, &mut v);
    v.len()
}

fn write_trimmed(f: &[u8], d: &Delimiters, out: &mut Vec<u8>) {
    write_trimmed_level(f, &seps(d), out);
}

fn write_trimmed_level(v: &[u8], seps: &[Option<u8>], out: &mut Vec<u8>) {
    let Some((first, rest)) = seps.split_first() else {
        out.extend_from_slice(v);
        return;
    };
    let Some(sep) = *first else {
        out.extend_from_slice(v);
        return;
    };
    let parts: Vec<Vec<u8>> = v
        .split(|&b| b == sep)
        .map(|p| {
            let mut o = Vec::new();
            write_trimmed_level(p, rest, &mut o);
            o
        })
        .collect();
    let n = parts
        .iter()
        .rposition(|p| !p.is_empty())
        .map_or(0, |i| i + 1);
    for (i, p) in parts.iter().take(n).enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.extend_from_slice(p);
    }
}

/// An owned, editable message.
///
/// Converting a parsed [`Message`] keeps every byte (BOM, terminators,
/// padding, original escapes), so an unmodified `MessageBuf` writes back
/// byte for byte; [`MessageBuf::set`] escapes the text it stores.
///
/// ```
/// use carecodec_hl7v2::{Message, MessageBuf};
///
/// let input = b"MSH|^~\\&|PAS\rPID|1||123||SMITH^JOHN\r";
/// let mut buf = MessageBuf::from(&Message::parse(input).unwrap());
/// assert_eq!(buf.to_bytes(), input);
/// buf.set("PID-5.1", "O'BRIEN|SMYTH").unwrap();
/// buf.set("PID-3[2].1", "X9").unwrap();
/// assert_eq!(buf.to_bytes(), b"MSH|^~\\&|PAS\rPID|1||123~X9||O'BRIEN\\F\\SMYTH^JOHN\r");
/// let again = buf.to_bytes();
/// let msg = Message::parse(&again).unwrap();
/// assert_eq!(msg.text("PID-5.1").unwrap().as_deref(), Some("O'BRIEN|SMYTH"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBuf {
    delims: Delimiters,
    charset: Charset,
    prefix: Vec<u8>,
    segments: Vec<SegmentBuf>,
    suffix: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SegmentBuf {
    raw: Vec<u8>,
    terminator: Vec<u8>,
}

impl SegmentBuf {
    fn id(&self) -> &[u8] {
        self.raw.get(..3).unwrap_or(&self.raw)
    }
}

impl From<&Message<'_>> for MessageBuf {
    fn from(msg: &Message<'_>) -> MessageBuf {
        let input = msg.as_bytes();
        let spans: Vec<_> = msg.segments().map(|s| s.span()).collect();
        let content_end = msg.content_range().end;
        let prefix = spans
            .first()
            .and_then(|s| input.get(..s.start))
            .unwrap_or_default()
            .to_vec();
        let mut segments = Vec::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            let next = spans.get(i + 1).map_or(content_end, |n| n.start);
            segments.push(SegmentBuf {
                raw: input.get(s.clone()).unwrap_or_default().to_vec(),
                terminator: input
                    .get(s.end..next.max(s.end))
                    .unwrap_or_default()
                    .to_vec(),
            });
        }
        let suffix = input.get(content_end..).unwrap_or_default().to_vec();
        MessageBuf {
            delims: msg.delimiters(),
            charset: msg.charset(),
            prefix,
            segments,
            suffix,
        }
    }
}

impl MessageBuf {
    /// A new message holding only `MSH|^~\&` (with `delims`), CR-terminated,
    /// UTF-8 until MSH-18 says otherwise.
    ///
    /// ```
    /// use carecodec_hl7v2::{Delimiters, MessageBuf};
    ///
    /// let mut m = MessageBuf::new(Delimiters::default());
    /// m.set("MSH-9.1", "ACK").unwrap();
    /// m.set("MSA-1", "AA").unwrap();
    /// assert_eq!(m.to_bytes(), b"MSH|^~\\&|||||||ACK\rMSA|AA\r");
    /// ```
    pub fn new(delims: Delimiters) -> MessageBuf {
        let mut raw = b"MSH".to_vec();
        raw.push(delims.field);
        raw.extend(delims.encoding_characters());
        MessageBuf {
            delims,
            charset: Charset::Utf8,
            prefix: Vec::new(),
            segments: vec![SegmentBuf {
                raw,
                terminator: b"\r".to_vec(),
            }],
            suffix: Vec::new(),
        }
    }

    /// The delimiters in use.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, MessageBuf};
    ///
    /// let buf = MessageBuf::from(&Message::parse(b"MSH|!@#$\rPID|1\r")?);
    /// assert_eq!(buf.delimiters().field, b'|');
    /// assert_eq!(buf.delimiters().component, b'!');
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// The character set text is written in: UTF-8 for [`MessageBuf::new`],
    /// the message's for a buffer made from a [`Message`], and the one MSH-18
    /// names once it is set.
    ///
    /// ```
    /// use carecodec_hl7v2::{Charset, Delimiters, Message, MessageBuf};
    ///
    /// assert_eq!(MessageBuf::new(Delimiters::default()).charset(), Charset::Utf8);
    /// let msg = Message::parse(b"MSH|^~\\&|||||||ADT^A01|1|P|2.4||||||8859/1\r")?;
    /// assert_eq!(MessageBuf::from(&msg).charset(), Charset::Latin1);
    ///
    /// let mut buf = MessageBuf::new(Delimiters::default());
    /// buf.set("MSH-18", "8859/1")?; // MSH-18 decides how later text is written
    /// assert_eq!(buf.charset(), Charset::Latin1);
    /// buf.set("PID-5", "René")?;
    /// assert!(buf.to_bytes().ends_with(b"PID|||||Ren\xe9\r"));
    /// assert!(buf.set("PID-6", "Zołko").is_err()); // no byte for 'ł' in ISO-8859-1
    /// assert!(buf.set("MSH-18", "UNICODE UTF-8").is_err()); // 'é' is already Latin-1
    /// assert!(buf.set("MSH-18", "ISO IR87").is_err()); // not supported
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// Number of segments.
    ///
    /// ```
    /// use carecodec_hl7v2::{Delimiters, MessageBuf};
    ///
    /// let mut buf = MessageBuf::new(Delimiters::default());
    /// assert_eq!(buf.segment_count(), 1);
    /// buf.set("PID-3", "123")?;
    /// assert_eq!(buf.segment_count(), 2);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Appends a segment with the raw bytes `raw` (e.g. `b"NTE|1||text"`),
    /// CR-terminated. The bytes must start with a valid segment id and hold
    /// no terminator.
    ///
    /// ```
    /// use carecodec_hl7v2::{Delimiters, MessageBuf};
    ///
    /// let mut buf = MessageBuf::new(Delimiters::default());
    /// buf.push_segment_raw(b"NTE|1||A^B")?;
    /// assert_eq!(buf.to_bytes(), b"MSH|^~\\&\rNTE|1||A^B\r");
    /// assert!(buf.push_segment_raw(b"nte|1").is_err());
    /// assert!(buf.push_segment_raw(b"NTE|1\rNTE|2").is_err());
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn push_segment_raw(&mut self, raw: &[u8]) -> Result<()> {
        let id = raw.get(..3).unwrap_or(raw);
        let id_str = std::str::from_utf8(id).unwrap_or("");
        Path::segment_path(id_str, 1)?;
        if raw.len() > 3 && raw.get(3) != Some(&self.delims.field)
            || raw.iter().any(|&b| b == b'\r' || b == b'\n')
        {
            return Err(Error::new(
                ErrorKind::ReadOnly("a segment with a terminator or bad id"),
                0,
                0,
            ));
        }
        if let Some(last) = self.segments.last_mut() {
            if last.terminator.is_empty() {
                last.terminator.push(b'\r');
            }
        }
        self.segments.push(SegmentBuf {
            raw: raw.to_vec(),
            terminator: b"\r".to_vec(),
        });
        Ok(())
    }

    /// Sets the text at `path`, escaping delimiters. Missing segments are
    /// appended; missing fields, repetitions and components are created empty.
    ///
    /// Text that cannot be written as it is ([`escape::encode`]: a delimiter
    /// when MSH-2 defines no escape character) is refused with
    /// `ErrorKind::Unencodable` carrying the path, and nothing is changed.
    ///
    /// ```
    /// use carecodec_hl7v2::{Delimiters, ErrorKind, Message, MessageBuf};
    ///
    /// let mut plain = MessageBuf::new(Delimiters::new(b'|', b"^~")?); // no escape character
    /// let err = plain.set("PID-5", "a|b").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Unencodable { ch: '|', .. }));
    /// assert_eq!(err.path(), Some("PID[1]-5"));
    ///
    /// let mut buf = MessageBuf::new(Delimiters::default());
    /// buf.set("PID-5.1", "SMITH^JONES")?; // the separator is escaped
    /// assert_eq!(buf.to_bytes(), b"MSH|^~\\&\rPID|||||SMITH\\S\\JONES\r");
    /// let bytes = buf.to_bytes();
    /// assert_eq!(Message::parse(&bytes)?.text("PID-5.1")?.as_deref(), Some("SMITH^JONES"));
    /// assert!(buf.set("MSH-1", "#").is_err()); // read-only
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn set(&mut self, path: &str, text: &str) -> Result<()> {
        let path = Path::parse(path)?;
        let raw = escape::encode(text, &self.delims, self.charset)
            .map_err(|e| e.with_path(path.to_string()))?;
        self.set_raw_path(&path, &raw)
    }

    /// Sets the raw bytes at `path` as given (no escaping: the caller may
    /// place separators on purpose, e.g. a whole `XPN`).
    ///
    /// ```
    /// use carecodec_hl7v2::{Delimiters, MessageBuf};
    ///
    /// let mut buf = MessageBuf::new(Delimiters::default());
    /// buf.set_raw("PID-5", b"SMITH^ANN^^^MRS")?; // a whole XPN, separators kept
    /// assert_eq!(buf.to_bytes(), b"MSH|^~\\&\rPID|||||SMITH^ANN^^^MRS\r");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn set_raw(&mut self, path: &str, raw: &[u8]) -> Result<()> {
        self.set_raw_path(&Path::parse(path)?, raw)
    }

    /// [`MessageBuf::set_raw`] with a parsed path.
    ///
    /// Every index is 1-based. An error, never a panic, when:
    /// - an index is 0 (a [`Path`] built with [`Path::field`],
    ///   [`Path::component`]… or its public fields can hold one, though
    ///   [`Path::parse`] rejects it): `ErrorKind::InvalidPath`;
    /// - a subcomponent is given without a component: `ErrorKind::InvalidPath`;
    /// - the edit would create more than 100 000 empty segments, fields,
    ///   repetitions, components or subcomponents to reach the index (a
    ///   bound on the memory one call can take): `ErrorKind::InvalidPath`;
    /// - the path names a whole segment, or MSH-1/MSH-2 (and FHS/BHS-1/2):
    ///   these hold the delimiters and are fixed when the buffer is made
    ///   (`ErrorKind::ReadOnly`). The segment id is never written by an edit:
    ///   the path's segment only selects (or appends) the segment.
    ///
    /// The error carries the path ([`Error::path`]).
    ///
    /// Setting MSH-18 (of the first MSH) switches the charset later text is
    /// written in ([`MessageBuf::charset`]); a value this crate does not
    /// support is `ErrorKind::UnsupportedCharset`, and switching between
    /// ISO-8859-1 and UTF-8/ASCII once the buffer holds non-ASCII bytes is
    /// refused (`ErrorKind::ReadOnly`): set MSH-18 first.
    ///
    /// ```
    /// use carecodec_hl7v2::{Delimiters, ErrorKind, MessageBuf, Path};
    ///
    /// let mut buf = MessageBuf::new(Delimiters::default());
    /// buf.set_raw_path(&Path::parse("OBX[2]-1")?, b"2")?;
    /// assert_eq!(buf.to_bytes(), b"MSH|^~\\&\rOBX\rOBX|2\r");
    ///
    /// let zero = Path::segment_path("OBX", 1)?.field(5).component(0);
    /// let err = buf.set_raw_path(&zero, b"X").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::InvalidPath { .. }));
    /// assert_eq!(err.path(), Some("OBX[1]-5.0"));
    /// let id = Path::segment_path("OBX", 1)?.field(0); // would be the segment id
    /// assert!(buf.set_raw_path(&id, b"ZZZ").is_err());
    /// assert!(buf.set_raw_path(&Path::parse("OBX-5[999999999]")?, b"X").is_err()); // too far
    /// assert_eq!(buf.to_bytes(), b"MSH|^~\\&\rOBX\rOBX|2\r"); // unchanged
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn set_raw_path(&mut self, path: &Path, raw: &[u8]) -> Result<()> {
        self.edit(path, raw, true)
    }

    /// Copies `raw` into MSH-18 and declares `charset` for the text written
    /// after it, without reading MSH-18 (an ACK answers in the original's
    /// charset, even one this crate cannot name from MSH-18).
    pub(crate) fn set_msh18_as(&mut self, raw: &[u8], charset: Charset) -> Result<()> {
        if !raw.is_empty() {
            self.edit(&Path::parse("MSH-18")?, raw, false)?;
        }
        self.charset = charset;
        Ok(())
    }

    /// [`MessageBuf::set_raw_path`]; with `follow_charset`, an edit of the
    /// first MSH's MSH-18 also switches the charset text is written in.
    fn edit(&mut self, path: &Path, raw: &[u8], follow_charset: bool) -> Result<()> {
        let Some(field) = path.field else {
            return Err(Error::new(ErrorKind::ReadOnly("a whole segment"), 0, 0)
                .with_path(path.to_string()));
        };
        let indices = [
            Some(path.occurrence),
            Some(field),
            path.repetition,
            path.component,
            path.subcomponent,
        ];
        if indices.contains(&Some(0)) {
            return Err(invalid_edit(
                path,
                "indices are 1-based: 0 addresses nothing",
            ));
        }
        if path.subcomponent.is_some() && path.component.is_none() {
            return Err(invalid_edit(path, "a subcomponent without a component"));
        }
        let id = path.segment_id();
        let header = matches!(&id, b"MSH" | b"FHS" | b"BHS");
        if header && field <= 2 {
            return Err(
                Error::new(ErrorKind::ReadOnly("MSH-1 or MSH-2"), 0, 0).with_path(path.to_string())
            );
        }
        let d = self.delims;
        // Piece number of the field: MSH-n is piece n-1, other SEG-n is piece n.
        let piece = to_index(if header { field - 1 } else { field });
        let mut levels = vec![(d.field, piece)];
        if path.repetition.is_some() || path.component.is_some() {
            levels.push((d.repetition, to_index(path.repetition.unwrap_or(1)) - 1));
        }
        if let Some(c) = path.component {
            levels.push((d.component, to_index(c) - 1));
            if let Some(s) = path.subcomponent {
                let sub = d.subcomponent.ok_or_else(|| {
                    Error::new(
                        ErrorKind::ReadOnly("a subcomponent without a subcomponent separator"),
                        0,
                        0,
                    )
                    .with_path(path.to_string())
                })?;
                levels.push((sub, to_index(s) - 1));
            }
        }
        let occurrence = to_index(path.occurrence);
        let have = self.segments.iter().filter(|s| s.id() == id).count();
        if occurrence > have.saturating_add(MAX_CREATED) {
            return Err(invalid_edit(path, TOO_FAR));
        }
        let found = self
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.id() == id)
            .nth(occurrence - 1)
            .map(|(i, _)| i);
        // Build the new segment before changing anything, so that an error
        // leaves the buffer as it was.
        let old = found
            .and_then(|i| self.segments.get(i))
            .map_or(&id[..], |s| &s.raw[..]);
        let Some(new) = replace_nested(old, &levels, raw) else {
            return Err(invalid_edit(path, TOO_FAR));
        };
        if follow_charset && field == 18 && &id == b"MSH" && found == Some(0) {
            self.charset = self.charset_for(&new, path)?;
        }
        match found.and_then(|i| self.segments.get_mut(i)) {
            Some(seg) => seg.raw = new,
            None => {
                for _ in have..occurrence {
                    self.push_segment_raw(&id)?;
                }
                if let Some(seg) = self.segments.last_mut() {
                    seg.raw = new;
                }
            }
        }
        Ok(())
    }

    /// The charset an edit that leaves the first segment as `msh` declares
    /// in MSH-18: an error when this crate does not support it, or when it
    /// would change how the non-ASCII text already in the buffer reads.
    fn charset_for(&self, msh: &[u8], path: &Path) -> Result<Charset> {
        let d = self.delims;
        let msh18 = msh.split(|&b| b == d.field).nth(17).unwrap_or_default();
        let first = msh18
            .split(|&b| b == d.repetition)
            .next()
            .unwrap_or_default();
        let Some(charset) = Charset::from_msh18(first) else {
            return Err(Error::new(
                ErrorKind::UnsupportedCharset(String::from_utf8_lossy(first).into_owned()),
                0,
                0,
            )
            .with_path(path.to_string()));
        };
        let latin1 = |c: Charset| c == Charset::Latin1;
        let non_ascii = self
            .segments
            .iter()
            .skip(1)
            .map(|s| &s.raw[..])
            .chain([msh])
            .any(|raw| !raw.is_ascii());
        if latin1(charset) != latin1(self.charset) && non_ascii {
            return Err(Error::new(
                ErrorKind::ReadOnly(
                    "MSH-18 to another character set once the message holds non-ASCII text \
                     (set MSH-18 first)",
                ),
                0,
                0,
            )
            .with_path(path.to_string()));
        }
        Ok(charset)
    }

    /// The message's bytes.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, MessageBuf};
    ///
    /// let input = b"\xEF\xBB\xBFMSH|^~\\&|A\nPID|1\n";
    /// let buf = MessageBuf::from(&Message::parse(input)?);
    /// assert_eq!(buf.to_bytes(), input); // BOM and LF terminators kept
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.prefix.len()
                + self.suffix.len()
                + self.segments.iter().map(|s| s.raw.len() + 2).sum::<usize>(),
        );
        out.extend_from_slice(&self.prefix);
        for s in &self.segments {
            out.extend_from_slice(&s.raw);
            out.extend_from_slice(&s.terminator);
        }
        out.extend_from_slice(&self.suffix);
        out
    }

    /// Writes the message per `opts`.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, MessageBuf, WriteOptions};
    ///
    /// let mut buf = MessageBuf::from(&Message::parse(b"MSH|^~\\&|A\nPID|1||X^^\n")?);
    /// buf.set("PID-2", "Y")?;
    /// let mut out = Vec::new();
    /// buf.write_with(&mut out, &WriteOptions::normalised())?;
    /// assert_eq!(out, b"MSH|^~\\&|A\rPID|1|Y|X\r");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn write_with(&self, w: &mut impl Write, opts: &WriteOptions) -> Result<()> {
        if opts.normalise {
            let mut buf = Vec::new();
            for s in &self.segments {
                normalise_segment(&s.raw, &self.delims, &mut buf);
                buf.push(b'\r');
            }
            w.write_all(&buf)?;
        } else {
            w.write_all(&self.to_bytes())?;
        }
        Ok(())
    }
}

/// The most empty elements (segments, fields, repetitions, components,
/// subcomponents) one edit may create to reach its index.
const MAX_CREATED: usize = 100_000;

const TOO_FAR: &str = "an index more than 100000 past the last existing element";

/// A 1-based index as `usize` (`u32` always fits on the targets we build for;
/// saturating otherwise, which the padding bound then rejects).
fn to_index(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cold]
fn invalid_edit(path: &Path, reason: &'static str) -> Error {
    Error::new(
        ErrorKind::InvalidPath {
            path: path.to_string(),
            reason,
        },
        0,
        0,
    )
    .with_path(path.to_string())
}

/// Replaces the element addressed by `levels` (separator, 0-based index) in
/// `raw` with `value`, padding with empty elements as needed; `None` when
/// that would take more than [`MAX_CREATED`] new elements at one level.
fn replace_nested(raw: &[u8], levels: &[(u8, usize)], value: &[u8]) -> Option<Vec<u8>> {
    let Some(((sep, idx), rest)) = levels.split_first() else {
        return Some(value.to_vec());
    };
    let mut parts: Vec<&[u8]> = raw.split(|b| b == sep).collect();
    if raw.is_empty() {
        parts.clear();
        parts.push(b"");
    }
    if *idx >= parts.len().saturating_add(MAX_CREATED) {
        return None;
    }
    while parts.len() <= *idx {
        parts.push(b"");
    }
    let inner = replace_nested(parts.get(*idx).copied().unwrap_or_default(), rest, value)?;
    let mut out = Vec::with_capacity(raw.len() + value.len() + idx + 1);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(*sep);
        }
        if i == *idx {
            out.extend_from_slice(&inner);
        } else {
            out.extend_from_slice(p);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_exact_roundtrip_keeps_everything() {
        for input in [
            &b"MSH|^~\\&|A\rPID|1\r"[..],
            b"\xEF\xBB\xBFMSH|^~\\&|A\nPID|1||\n\n",
            b"\x0bMSH|^~\\&|A\rPID|1\r\x1c\r",
            b"MSH|^~\\&|A\r\nPID|1\r\n",
            b"MSH|^~\\&|A\rPID|1",
        ] {
            let msg = Message::parse(input).unwrap();
            assert_eq!(MessageBuf::from(&msg).to_bytes(), input);
        }
    }

    #[test]
    fn set_pads_and_escapes() {
        let mut m = MessageBuf::new(Delimiters::default());
        m.set("PID-5[2].3.2", "a&b").unwrap();
        assert_eq!(m.to_bytes(), b"MSH|^~\\&\rPID|||||~^^&a\\T\\b\r");
        assert!(m.set("MSH-2", "x").is_err());
        m.set("OBX[2]-1", "2").unwrap();
        assert_eq!(m.segment_count(), 4);
    }

    /// F1 (probe 12): a zero index from the public builders or fields
    /// overflowed (`n - 1`: a panic in debug, a 4 GiB padding abort in
    /// release), and `field(0)` overwrote the segment id.
    #[test]
    fn zero_and_far_indices_are_errors_not_panics() {
        let mut m = MessageBuf::new(Delimiters::default());
        m.set("PID-3", "X").unwrap();
        let before = m.to_bytes();
        let pid = Path::segment_path("PID", 1).unwrap();
        let mut occ0 = pid.field(3);
        occ0.occurrence = 0;
        for p in [
            pid.field(0),
            pid.field(3).repetition(0),
            pid.field(3).component(0),
            pid.field(3).component(1).subcomponent(0),
            pid.field(3).subcomponent(1),
            occ0,
            pid.field(u32::MAX),
            pid.field(3).repetition(u32::MAX),
            pid.field(3).component(200_002),
            Path::segment_path("OBX", u32::MAX).unwrap().field(1),
        ] {
            let err = m.set_raw_path(&p, b"ZZZ").unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::InvalidPath { .. }),
                "{p}: {err}"
            );
            assert_eq!(err.path(), Some(p.to_string().as_str()));
            assert_eq!(m.to_bytes(), before, "{p} changed the buffer");
        }
        // Far, but within the bound: padded.
        m.set_raw_path(&pid.field(3).repetition(100_001), b"Y")
            .unwrap();
        let bytes = m.to_bytes();
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.text("PID-3[100001]").unwrap().as_deref(), Some("Y"));
        assert_eq!(msg.text("PID-3[1]").unwrap().as_deref(), Some("X"));
    }
}
