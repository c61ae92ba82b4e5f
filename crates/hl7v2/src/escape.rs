//! Escape sequences and character sets: decoding raw values to text, and
//! escaping text for writing.
//!
//! | escape | decodes to |
//! |---|---|
//! | `\F\ \S\ \T\ \R\ \E\` | field, component, subcomponent, repetition separator, escape character |
//! | `\P\` | the truncation character (v2.7) |
//! | `\Xhh…\` | the bytes `hh…` (any even number of hex digits), in the message's charset |
//! | `\.br\ \.sp n\ \.ce\ \.in n\ \.ti n\ \.sk n\ \.fi\ \.nf\ \H\ \N\` | kept verbatim, or rendered ([`Formatting::Render`]) |
//! | `\Cxxyy\ \Mxxyyzz\` | recognised and kept verbatim (charset switching is not applied) |
//! | anything else, or an unterminated escape | kept verbatim |
//!
//! Decoding allocates only when the value holds an escape or is not UTF-8 as is.

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Result};
use crate::scan::{Charset, Delimiters};

/// What to do with formatting escapes (`\.br\`, `\H\`, …).
///
/// ```
/// use carecodec_hl7v2::escape::{decode, DecodeOptions, Formatting};
/// use carecodec_hl7v2::{Charset, Delimiters};
///
/// let d = Delimiters::default();
/// let mut keep = DecodeOptions::default();
/// keep.formatting = Formatting::Keep;
/// assert_eq!(decode(b"A\\.br\\B", &d, Charset::Ascii, &keep)?, "A\\.br\\B");
/// let mut render = DecodeOptions::default();
/// render.formatting = Formatting::Render;
/// assert_eq!(decode(b"A\\.br\\B", &d, Charset::Ascii, &render)?, "A\nB");
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Formatting {
    /// Keep them verbatim in the decoded text (lossless; the default).
    #[default]
    Keep,
    /// Render them as plain text: `\.br\` and `\.ce\` become a line break,
    /// `\.sp n\` n line breaks; highlighting, fill and indentation are dropped.
    Render,
}

/// Options for [`decode`].
///
/// ```
/// use carecodec_hl7v2::escape::{decode, DecodeOptions};
/// use carecodec_hl7v2::{Charset, Delimiters};
///
/// let d = Delimiters::default();
/// let text = decode(b"\\H\\Urgent\\N\\", &d, Charset::Ascii, &DecodeOptions::default())?;
/// assert_eq!(text, "\\H\\Urgent\\N\\"); // kept verbatim by default
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Formatting escapes: kept (default) or rendered.
    pub formatting: Formatting,
}

impl DecodeOptions {
    /// Options that render formatting escapes as plain text.
    ///
    /// ```
    /// use carecodec_hl7v2::escape::{decode, DecodeOptions};
    /// use carecodec_hl7v2::{Charset, Delimiters};
    ///
    /// let d = Delimiters::default();
    /// let text = decode(b"\\H\\Urgent\\N\\\\.sp 2\\end", &d, Charset::Ascii, &DecodeOptions::render())?;
    /// assert_eq!(text, "Urgent\n\nend");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn render() -> DecodeOptions {
        DecodeOptions {
            formatting: Formatting::Render,
        }
    }
}

/// Decodes a raw value: escapes resolved, bytes read in `charset`.
///
/// The error, if any, carries the offset of the bad byte relative to `raw`.
///
/// ```
/// use carecodec_hl7v2::escape::{decode, DecodeOptions};
/// use carecodec_hl7v2::{Charset, Delimiters};
///
/// let d = Delimiters::default();
/// let plain = decode(b"SMITH", &d, Charset::Ascii, &DecodeOptions::default()).unwrap();
/// assert!(matches!(plain, std::borrow::Cow::Borrowed("SMITH")));
/// let text = decode(b"A\\F\\B\\X0D0A\\C", &d, Charset::Ascii, &DecodeOptions::default()).unwrap();
/// assert_eq!(text, "A|B\r\nC");
/// let latin = decode(b"Ren\xe9", &d, Charset::Latin1, &DecodeOptions::default()).unwrap();
/// assert_eq!(latin, "René");
/// ```
#[inline]
pub fn decode<'a>(
    raw: &'a [u8],
    delims: &Delimiters,
    charset: Charset,
    opts: &DecodeOptions,
) -> Result<Cow<'a, str>> {
    match delims.escape {
        Some(esc) if has_escape(raw, esc) => decode_escaped(raw, esc, delims, charset, opts),
        _ => text(raw, charset, 0),
    }
}

/// True when `raw` holds the escape character `esc`.
#[inline]
fn has_escape(raw: &[u8], esc: u8) -> bool {
    crate::scan::find_byte(raw, esc).is_some()
}

/// [`decode`] for a value that holds at least one escape character.
fn decode_escaped<'a>(
    raw: &'a [u8],
    esc: u8,
    delims: &Delimiters,
    charset: Charset,
    opts: &DecodeOptions,
) -> Result<Cow<'a, str>> {
    // Resolve escapes into bytes in the message's charset, then decode once.
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0usize;
    while let Some(rel) = raw.get(i..).and_then(|r| memchr::memchr(esc, r)) {
        let at = i + rel;
        out.extend_from_slice(raw.get(i..at).unwrap_or_default());
        let body_start = at + 1;
        let close = raw
            .get(body_start..)
            .and_then(|r| memchr::memchr(esc, r))
            .map(|p| body_start + p);
        let Some(close) = close else {
            // Unterminated: keep the rest verbatim.
            out.extend_from_slice(raw.get(at..).unwrap_or_default());
            i = raw.len();
            break;
        };
        let body = raw.get(body_start..close).unwrap_or_default();
        let verbatim = raw.get(at..=close).unwrap_or_default();
        resolve(body, verbatim, delims, opts, &mut out);
        i = close + 1;
    }
    out.extend_from_slice(raw.get(i..).unwrap_or_default());
    match text(&out, charset, 0) {
        Ok(s) => Ok(Cow::Owned(s.into_owned())),
        // The offset is into `out`; report it in `raw`.
        Err(e) => Err(Error::new(
            e.kind().clone(),
            raw_offset(raw, esc, delims, opts, e.offset()),
            0,
        )),
    }
}

/// The offset in `raw` of byte `at` of `decode_escaped`'s output: inside a
/// run copied as is, the same byte in `raw`; inside what an escape decoded
/// to, the escape's start. Replays the decoding (only on the error path).
#[cold]
fn raw_offset(raw: &[u8], esc: u8, delims: &Delimiters, opts: &DecodeOptions, at: usize) -> usize {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0usize;
    while let Some(rel) = raw.get(i..).and_then(|r| memchr::memchr(esc, r)) {
        let start = i + rel;
        if at < out.len() + rel {
            return i + (at - out.len());
        }
        out.extend_from_slice(raw.get(i..start).unwrap_or_default());
        i = start;
        let Some(close) = raw
            .get(start + 1..)
            .and_then(|r| memchr::memchr(esc, r))
            .map(|p| start + 1 + p)
        else {
            break;
        };
        let body = raw.get(start + 1..close).unwrap_or_default();
        let verbatim = raw.get(start..=close).unwrap_or_default();
        resolve(body, verbatim, delims, opts, &mut out);
        if at < out.len() {
            return start;
        }
        i = close + 1;
    }
    // In the tail copied as is (or an unterminated escape kept verbatim).
    (i + at.saturating_sub(out.len())).min(raw.len())
}

fn resolve(body: &[u8], verbatim: &[u8], d: &Delimiters, opts: &DecodeOptions, out: &mut Vec<u8>) {
    let render = opts.formatting == Formatting::Render;
    match body {
        b"F" => out.push(d.field),
        b"S" => out.push(d.component),
        b"R" => out.push(d.repetition),
        b"T" => match d.subcomponent {
            Some(s) => out.push(s),
            None => out.extend_from_slice(verbatim),
        },
        b"E" => match d.escape {
            Some(e) => out.push(e),
            None => out.extend_from_slice(verbatim),
        },
        b"P" => match d.truncation {
            Some(t) => out.push(t),
            None => out.extend_from_slice(verbatim),
        },
        [b'X', hex @ ..]
            if !hex.is_empty() && hex.len() % 2 == 0 && hex.iter().all(u8::is_ascii_hexdigit) =>
        {
            out.extend(hex.chunks_exact(2).map(|p| match p {
                [h, l] => (hexval(*h) << 4) | hexval(*l),
                _ => 0,
            }));
        }
        b"H" | b"N" if render => {}
        [b'.', cmd @ ..] if render => render_formatting(cmd, verbatim, out),
        _ => out.extend_from_slice(verbatim),
    }
}

/// The first escape in `raw` that decoding keeps verbatim because it does
/// not resolve it: an escape HL7 does not define (`\Q\`), `\X…\` with an
/// odd number of digits or a non-hex one, `\T\`/`\E\`/`\P\` when the message
/// defines no such delimiter, a character-set switch (`\C…\`, `\M…\`, not
/// applied), an unknown formatting command, or an escape left unterminated.
/// Its byte range in `raw`; `None` when every escape decodes (formatting
/// escapes count as decoded: they are kept or rendered as asked).
///
/// Decoding keeps these as sent and is never an error (a receiver should
/// pass on what it cannot read); a caller that must not hide a changed value
/// reports them.
///
/// ```
/// use carecodec_hl7v2::escape::verbatim_escape;
/// use carecodec_hl7v2::Delimiters;
///
/// let d = Delimiters::default();
/// assert_eq!(verbatim_escape(b"A\\F\\B\\.br\\C", &d), None);
/// assert_eq!(verbatim_escape(b"SMITH\\Q\\", &d), Some(5..8));
/// assert_eq!(verbatim_escape(b"JO\\XZZ\\", &d), Some(2..7));
/// assert_eq!(verbatim_escape(b"A\\F", &d), Some(1..3));
/// ```
pub fn verbatim_escape(raw: &[u8], delims: &Delimiters) -> Option<std::ops::Range<usize>> {
    let esc = delims.escape?;
    let mut i = 0usize;
    while let Some(rel) = raw.get(i..).and_then(|r| memchr::memchr(esc, r)) {
        let at = i + rel;
        let Some(close) = raw
            .get(at + 1..)
            .and_then(|r| memchr::memchr(esc, r))
            .map(|p| at + 1 + p)
        else {
            return Some(at..raw.len());
        };
        if !resolves(raw.get(at + 1..close).unwrap_or_default(), delims) {
            return Some(at..close + 1);
        }
        i = close + 1;
    }
    None
}

/// True when [`resolve`] decodes the escape `body` (or renders it, for a
/// formatting command) rather than keeping it verbatim.
fn resolves(body: &[u8], d: &Delimiters) -> bool {
    match body {
        b"F" | b"S" | b"R" | b"H" | b"N" => true,
        b"T" => d.subcomponent.is_some(),
        b"E" => d.escape.is_some(),
        b"P" => d.truncation.is_some(),
        [b'X', hex @ ..] => {
            !hex.is_empty() && hex.len() % 2 == 0 && hex.iter().all(u8::is_ascii_hexdigit)
        }
        [b'.', cmd @ ..] => {
            let (name, arg) =
                cmd.split_at(cmd.iter().take_while(|c| c.is_ascii_alphabetic()).count());
            match name {
                b"br" | b"ce" | b"fi" | b"nf" | b"in" | b"ti" | b"sk" => true,
                // As `render_formatting` reads it: a count, or none for one.
                b"sp" => {
                    let arg = arg.trim_ascii();
                    arg.is_empty()
                        || std::str::from_utf8(arg).is_ok_and(|a| a.parse::<u16>().is_ok())
                }
                _ => false,
            }
        }
        _ => false,
    }
}

fn render_formatting(cmd: &[u8], verbatim: &[u8], out: &mut Vec<u8>) {
    let (name, arg) = cmd.split_at(cmd.iter().take_while(|c| c.is_ascii_alphabetic()).count());
    let arg = arg.trim_ascii();
    let n = if arg.is_empty() {
        Some(1)
    } else {
        std::str::from_utf8(arg)
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
    };
    match (name, n) {
        (b"br" | b"ce", _) => out.push(b'\n'),
        (b"sp", Some(n)) => out.extend(std::iter::repeat_n(b'\n', usize::from(n.min(100)))),
        (b"fi" | b"nf" | b"in" | b"ti" | b"sk", _) => {}
        _ => out.extend_from_slice(verbatim),
    }
}

fn hexval(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Reads bytes as text in `charset`. ASCII accepts UTF-8 too (many senders
/// leave MSH-18 empty and send UTF-8); invalid bytes are an error at their
/// offset (plus `base`).
#[inline]
fn text(raw: &[u8], charset: Charset, base: usize) -> Result<Cow<'_, str>> {
    match charset {
        // ASCII is read as UTF-8 (a superset), so a bad byte is invalid UTF-8.
        Charset::Ascii | Charset::Utf8 => match std::str::from_utf8(raw) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(e) => Err(invalid_text(Charset::Utf8, base + e.valid_up_to())),
        },
        Charset::Latin1 => {
            if raw.is_ascii() {
                Ok(Cow::Borrowed(std::str::from_utf8(raw).unwrap_or_default()))
            } else {
                Ok(Cow::Owned(raw.iter().map(|&b| char::from(b)).collect()))
            }
        }
    }
}

#[cold]
fn invalid_text(charset: Charset, offset: usize) -> Error {
    Error::new(
        ErrorKind::InvalidText {
            charset: charset.name(),
        },
        offset,
        0,
    )
}

/// Escapes text for writing as one leaf value: every delimiter and the escape
/// character become escape sequences, and control characters become hex
/// escapes `\Xhh\` (CR `\X0D\`, LF `\X0A\`, and every other C0 control but
/// TAB, and DEL), so the value can break neither the segment nor MLLP
/// framing (0x0B, 0x1C). The result is encoded in `charset`.
///
/// An error ([`ErrorKind::Unencodable`], at the character's byte offset in
/// `text`), never altered data, when a character cannot be written: with no
/// escape character in MSH-2 (`^~`), a delimiter or control character has
/// no escape that reads back; in ISO-8859-1, a character above U+00FF has
/// no byte (HL7's `\C..\`/`\M..\` code extension could switch sets, but
/// this crate does not apply it when reading, so it would not read back).
///
/// ```
/// use carecodec_hl7v2::escape::encode;
/// use carecodec_hl7v2::{Charset, Delimiters, ErrorKind};
///
/// let d = Delimiters::default();
/// assert_eq!(encode("O'Brien^A|B", &d, Charset::Utf8)?, b"O'Brien\\S\\A\\F\\B");
/// assert_eq!(encode("a\\b", &d, Charset::Utf8)?, b"a\\E\\b");
/// assert_eq!(encode("a\x1cb\x0b", &d, Charset::Utf8)?, b"a\\X1C\\b\\X0B\\");
///
/// let no_escape = Delimiters::new(b'|', b"^~")?;
/// assert_eq!(encode("a\\b", &no_escape, Charset::Utf8)?, b"a\\b"); // not a delimiter here
/// let err = encode("a^b", &no_escape, Charset::Utf8).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Unencodable { ch: '^', .. }));
/// assert_eq!(err.offset(), 1);
///
/// assert_eq!(encode("René", &d, Charset::Latin1)?, b"Ren\xe9");
/// let err = encode("Zołko", &d, Charset::Latin1).unwrap_err(); // 'ł' is U+0142
/// assert!(matches!(err.kind(), ErrorKind::Unencodable { ch: 'ł', .. }));
/// assert_eq!(err.offset(), 2);
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
pub fn encode(text: &str, delims: &Delimiters, charset: Charset) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    encode_into(text, delims, charset, &mut out)?;
    Ok(out)
}

/// [`encode`] appending to `out`; on an error `out` is left as it was.
///
/// ```
/// use carecodec_hl7v2::escape::encode_into;
/// use carecodec_hl7v2::{Charset, Delimiters};
///
/// let mut out = b"NTE|1||".to_vec();
/// encode_into("a|b\r\nc", &Delimiters::default(), Charset::Utf8, &mut out)?;
/// assert_eq!(out, b"NTE|1||a\\F\\b\\X0D\\\\X0A\\c");
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
pub fn encode_into(text: &str, d: &Delimiters, charset: Charset, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let result = encode_chars(text, d, charset, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_chars(text: &str, d: &Delimiters, charset: Charset, out: &mut Vec<u8>) -> Result<()> {
    let seq = |out: &mut Vec<u8>, at: usize, ch: char, code: &[u8]| -> Result<()> {
        let Some(esc) = d.escape else {
            return Err(unencodable(
                ch,
                at,
                "MSH-2 defines no escape character to write it with",
            ));
        };
        out.push(esc);
        out.extend_from_slice(code);
        out.push(esc);
        Ok(())
    };
    for (at, ch) in text.char_indices() {
        if ch.is_ascii() {
            let b = ch as u8;
            if b == d.field {
                seq(out, at, ch, b"F")?;
            } else if b == d.component {
                seq(out, at, ch, b"S")?;
            } else if b == d.repetition {
                seq(out, at, ch, b"R")?;
            } else if Some(b) == d.escape {
                seq(out, at, ch, b"E")?;
            } else if Some(b) == d.subcomponent {
                seq(out, at, ch, b"T")?;
            } else if Some(b) == d.truncation {
                seq(out, at, ch, b"P")?;
            } else if needs_hex(b) {
                let hex = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
                seq(out, at, ch, &[b'X', hex(b >> 4), hex(b & 0xf)])?;
            } else {
                out.push(b);
            }
        } else {
            match charset {
                Charset::Latin1 => match u8::try_from(u32::from(ch)) {
                    Ok(b) => out.push(b),
                    Err(_) => {
                        return Err(unencodable(
                            ch,
                            at,
                            "ISO-8859-1 (MSH-18 8859/1) has no byte for it",
                        ));
                    }
                },
                Charset::Ascii | Charset::Utf8 => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }
    Ok(())
}

#[cold]
fn unencodable(ch: char, offset: usize, reason: &'static str) -> Error {
    Error::new(ErrorKind::Unencodable { ch, reason }, offset, 0)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Control characters [`encode`] writes as `\Xhh\`: every C0 control but
/// TAB, and DEL. HL7 text types hold printable characters; CR and LF would
/// end the segment, and 0x0B / 0x1C are the MLLP start and end blocks, which
/// would cut the message when it is framed.
fn needs_hex(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(raw: &[u8]) -> String {
        decode(
            raw,
            &Delimiters::default(),
            Charset::Utf8,
            &DecodeOptions::default(),
        )
        .unwrap()
        .into_owned()
    }

    fn delimiters() -> impl proptest::strategy::Strategy<Value = Delimiters> {
        use proptest::prelude::*;
        (
            Just(b"|^~\\&#!$%*+/:;=?@{}".to_vec()).prop_shuffle(),
            0usize..4,
        )
            .prop_map(|(p, extra)| {
                let enc = p.get(1..3 + extra).unwrap_or_default();
                Delimiters::new(p.first().copied().unwrap_or(b'|'), enc).unwrap()
            })
    }

    fn charset() -> impl proptest::strategy::Strategy<Value = Charset> {
        proptest::sample::select(vec![Charset::Ascii, Charset::Utf8, Charset::Latin1])
    }

    proptest::proptest! {
        /// The in-place search for the escape character (the fast path taken
        /// by values without escapes) agrees with a plain search, at every
        /// length either side of the word size and of the 64-byte cut-over.
        #[test]
        fn escape_search_agrees_with_a_plain_search(
            raw in proptest::collection::vec(proptest::sample::select(b"\\ab\xff|^".to_vec()), 0..80),
            esc in proptest::sample::select(b"\\|#a".to_vec()),
        ) {
            proptest::prop_assert_eq!(has_escape(&raw, esc), raw.contains(&esc));
        }

        /// `decode` (the fast path for values without an escape) answers as
        /// the general escape decoder does, over arbitrary bytes, delimiters
        /// and character sets: same text, same error offset.
        #[test]
        fn decode_agrees_with_the_general_decoder(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
            d in delimiters(),
            charset in charset(),
            render in proptest::prelude::any::<bool>(),
        ) {
            let opts = if render { DecodeOptions::render() } else { DecodeOptions::default() };
            let fast = decode(&raw, &d, charset, &opts);
            let general = match d.escape {
                Some(esc) => decode_escaped(&raw, esc, &d, charset, &opts),
                None => text(&raw, charset, 0),
            };
            match (fast, general) {
                (Ok(a), Ok(b)) => proptest::prop_assert_eq!(a, b),
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.offset(), b.offset()),
                (a, b) => proptest::prop_assert!(false, "{a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn all_escapes() {
        assert_eq!(dec(b"\\F\\\\S\\\\T\\\\R\\\\E\\"), "|^&~\\");
        assert_eq!(dec(b"\\X0D0A\\"), "\r\n");
        assert_eq!(dec(b"\\X0D\\\\X0A\\"), "\r\n");
        assert_eq!(dec(b"caf\\XC3A9\\"), "café");
        assert_eq!(dec(b"\xc3\xa9\\F\\x"), "é|x");
        assert_eq!(dec(b"a\\.br\\b"), "a\\.br\\b");
        assert_eq!(dec(b"\\Zfoo\\"), "\\Zfoo\\");
        assert_eq!(dec(b"\\C2842\\x"), "\\C2842\\x");
        assert_eq!(dec(b"\\M2442\\x"), "\\M2442\\x");
        assert_eq!(dec(b"open\\F"), "open\\F");
        assert_eq!(dec(b"\\X0\\"), "\\X0\\");
        assert_eq!(dec(b"\\P\\"), "\\P\\");
        assert_eq!(dec(b"\\E\\R\\"), "\\R\\");
    }

    #[test]
    fn truncation_escape() {
        let d = Delimiters::new(b'|', b"^~\\&#").unwrap();
        let s = decode(b"a\\P\\b#", &d, Charset::Ascii, &DecodeOptions::default()).unwrap();
        assert_eq!(s, "a#b#");
    }

    #[test]
    fn rendering() {
        let d = Delimiters::default();
        let r = |raw: &[u8]| {
            decode(raw, &d, Charset::Utf8, &DecodeOptions::render())
                .unwrap()
                .into_owned()
        };
        assert_eq!(r(b"a\\.br\\b"), "a\nb");
        assert_eq!(r(b"a\\.sp 2\\b"), "a\n\nb");
        assert_eq!(r(b"\\H\\bold\\N\\"), "bold");
        assert_eq!(r(b"\\.in 4\\x\\.ce\\"), "x\n");
        assert_eq!(r(b"\\.zz\\"), "\\.zz\\");
    }

    /// F4 (probe 12): a bad byte after escapes was reported at its offset
    /// in the decoded buffer (`\\F\\` is 3 bytes shorter decoded).
    #[test]
    fn bad_byte_after_escapes_is_reported_at_its_raw_offset() {
        let d = Delimiters::default();
        let opts = DecodeOptions::default();
        for (raw, at) in [
            (&b"\\F\\\\F\\\\F\\\\F\\\xff"[..], 12),
            (b"ab\\S\\cd\xffe", 7),
            (b"\\XFF\\", 0),        // the escape decoded to the bad byte
            (b"x\\XC3\\\\F\\", 1),  // a truncated sequence from an escape
            (b"a\\F\\b\\Q\xff", 7), // in an unterminated escape, kept verbatim
        ] {
            let e = decode(raw, &d, Charset::Utf8, &opts).unwrap_err();
            assert_eq!(e.offset(), at, "{raw:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let e = decode(
            b"ab\xff",
            &Delimiters::default(),
            Charset::Utf8,
            &DecodeOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.offset(), 2);
    }

    #[test]
    fn empty_msh18_text_is_invalid_as_utf8_the_charset_it_is_read_in() {
        let e = decode(
            b"a\\Xe9\\b",
            &Delimiters::default(),
            Charset::Ascii,
            &DecodeOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidText { charset: "UTF-8" });
    }

    /// F6 (probe 12): 0x0B and 0x1C were written raw, and split the message
    /// when it was MLLP-framed.
    #[test]
    fn control_characters_are_hex_escaped() {
        let d = Delimiters::default();
        let raw = encode("a\x1c\x0b\x00\x7f\tb", &d, Charset::Utf8).unwrap();
        assert_eq!(raw, b"a\\X1C\\\\X0B\\\\X00\\\\X7F\\\tb");
        assert!(!raw.iter().any(|&b| b < 0x20 && b != b'\t'));
        let back = decode(&raw, &d, Charset::Utf8, &DecodeOptions::default()).unwrap();
        assert_eq!(back, "a\x1c\x0b\x00\x7f\tb");
    }

    /// F2 (probe 12): with MSH-2 `^~` (no escape character) encode fell
    /// back to `\\` and wrote `\\F\\`/`\\S\\`, which such a message reads back
    /// literally.
    #[test]
    fn no_escape_character_refuses_what_it_cannot_escape() {
        let d = Delimiters::new(b'|', b"^~").unwrap();
        for (text, at) in [("a|b", 1), ("ab^c", 2), ("~", 0), ("x\r", 1), ("\x1c", 0)] {
            let mut out = b"kept".to_vec();
            let e = encode_into(text, &d, Charset::Utf8, &mut out).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Unencodable { .. }),
                "{text:?}"
            );
            assert_eq!(e.offset(), at, "{text:?}");
            assert_eq!(out, b"kept");
        }
        // Everything else is written as is and reads back.
        let raw = encode("a\\F\\b&c\té", &d, Charset::Utf8).unwrap();
        assert_eq!(raw, "a\\F\\b&c\té".as_bytes());
        assert_eq!(
            decode(&raw, &d, Charset::Utf8, &DecodeOptions::default()).unwrap(),
            "a\\F\\b&c\té"
        );
    }

    #[test]
    fn encode_roundtrip() {
        let d = Delimiters::new(b'|', b"^~\\&#").unwrap();
        for s in ["plain", "a|b^c~d\\e&f#g", "line\r\nbreak", "é ü 漢"] {
            let raw = encode(s, &d, Charset::Utf8).unwrap();
            assert_eq!(
                decode(&raw, &d, Charset::Utf8, &DecodeOptions::default()).unwrap(),
                s
            );
        }
    }
}
