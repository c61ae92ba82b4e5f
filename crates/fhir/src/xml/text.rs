//! Character-level helpers: XML attribute decoding and escaping, JSON string
//! escaping, the JSON number grammar.

use super::error::{ErrorKind, excerpt};

/// Whether XML 1.0 allows this character in a document.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Finds the first character XML 1.0 does not allow (C0 controls other than tab,
/// LF and CR; U+FFFE and U+FFFF) in UTF-8 text: its byte offset and code point.
pub(crate) fn find_invalid_char(text: &[u8]) -> Option<(usize, u32)> {
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
            return Some((i, u32::from(b)));
        }
        if b == 0xEF
            && text.get(i + 1) == Some(&0xBF)
            && matches!(text.get(i + 2), Some(0xBE | 0xBF))
        {
            let last = text.get(i + 2).copied().unwrap_or(0xBE);
            return Some((i, 0xFFC0 | u32::from(last & 0x3F)));
        }
        i += 1;
    }
    None
}

/// Decodes a raw attribute value (valid UTF-8, as checked on input): the five
/// predefined entities and character references are replaced, and literal
/// tabs and line ends become spaces (XML attribute-value normalisation).
/// Any other entity is an error: nothing is ever looked up elsewhere.
pub(crate) fn decode_attr(raw: &[u8], out: &mut String) -> Result<(), ErrorKind> {
    let raw = std::str::from_utf8(raw).map_err(|_| ErrorKind::InvalidUtf8)?;
    if !raw.contains(['&', '\t', '\n', '\r']) {
        out.push_str(raw);
        return Ok(());
    }
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\t', '\n', '\r']) {
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i..).unwrap_or_default();
        if let Some(after) = tail.strip_prefix("\r\n") {
            out.push(' ');
            rest = after;
        } else if let Some(after) = tail.strip_prefix('&') {
            let Some(end) = after.find(';') else {
                return Err(ErrorKind::Entity(excerpt(tail)));
            };
            let name = after.get(..end).unwrap_or_default();
            out.push(entity(name)?);
            rest = after.get(end + 1..).unwrap_or_default();
        } else {
            // A single tab, CR or LF.
            out.push(' ');
            rest = tail.get(1..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    Ok(())
}

/// The character named by `&name;`: one of the five predefined entities or a
/// character reference; anything else is an error (never looked up). A reference to a
/// character XML does not allow (`&#1;`, `&#xFFFE;`) is [`ErrorKind::InvalidChar`].
pub(crate) fn entity(name: &str) -> Result<char, ErrorKind> {
    let bad = || ErrorKind::Entity(format!("&{};", excerpt(name)));
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).map_err(|_| bad())?
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse::<u32>().map_err(|_| bad())?
            } else {
                return Err(bad());
            };
            let c = char::from_u32(code).ok_or_else(bad)?;
            if name.contains('+') || name.contains('-') {
                return Err(bad());
            }
            // `&#1;`: well-formed, but XML 1.0 forbids referring to such a character.
            if !is_xml_char(c) {
                return Err(ErrorKind::InvalidChar(code));
            }
            c
        }
    };
    Ok(c)
}

/// Whether `s` is a JSON number (which is also FHIR's decimal/integer lexical form).
pub(crate) fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Writes `s` as a quoted JSON string.
pub(crate) fn json_string(s: &str, out: &mut String) {
    out.push('"');
    json_string_body(s, out);
    out.push('"');
}

/// Bytes that [`json_string_body`] must escape: `"`, `\\` and C0 controls.
#[inline]
fn json_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Bytes that [`xml_attr`] must look at: markup, C0 controls, and 0xEF (the lead
/// byte of U+FFFE and U+FFFF, which XML forbids).
#[inline]
fn xml_escape(b: u8) -> bool {
    b < 0x20 || matches!(b, b'&' | b'<' | b'>' | b'"' | 0xEF)
}

/// Position of the first byte of `s` that `flag` selects.
#[inline]
fn scan(s: &str, flag: impl Fn(u8) -> bool) -> Option<usize> {
    // Eight bytes at a time while none is flagged (the common case: long plain text).
    let bytes = s.as_bytes();
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in chunks.by_ref() {
        if chunk.iter().fold(false, |acc, &b| acc | flag(b)) {
            return chunk.iter().position(|&b| flag(b)).map(|i| base + i);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| flag(b))
        .map(|i| base + i)
}

/// Writes `s` JSON-escaped, without quotes.
pub(crate) fn json_string_body(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(i) = scan(rest, json_escape) {
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i..).unwrap_or_default();
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c => {
                    out.push_str("\\u00");
                    let v = c as u32;
                    for d in [v >> 4, v & 0xF] {
                        out.push(char::from_digit(d, 16).unwrap_or('0'));
                    }
                }
            }
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
}

/// Writes `s` escaped for a double-quoted XML attribute; tabs and line ends as
/// character references so that they survive attribute-value normalisation.
pub(crate) fn xml_attr(s: &str, out: &mut String) -> Result<(), ErrorKind> {
    let mut rest = s;
    while let Some(i) = scan(rest, xml_escape) {
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i..).unwrap_or_default();
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\n' => out.push_str("&#xA;"),
                '\r' => out.push_str("&#xD;"),
                '\t' => out.push_str("&#x9;"),
                c if is_xml_char(c) => out.push(c),
                c => return Err(ErrorKind::InvalidChar(c as u32)),
            }
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<String, ErrorKind> {
        let mut out = String::new();
        decode_attr(s.as_bytes(), &mut out).map(|()| out)
    }

    #[test]
    fn attributes_decode_and_normalise() {
        assert_eq!(
            dec("a &lt;b&gt; &amp; &quot;&apos;").unwrap(),
            "a <b> & \"'"
        );
        assert_eq!(dec("&#xA;&#10;&#x1F600;").unwrap(), "\n\n😀");
        assert_eq!(dec("a\r\nb\tc\nd").unwrap(), "a b c d");
        assert!(dec("&nbsp;").is_err());
        assert!(matches!(dec("&#1;"), Err(ErrorKind::InvalidChar(1))));
        assert!(matches!(dec("&#x1F;"), Err(ErrorKind::InvalidChar(0x1F))));
        assert!(matches!(dec("&#0;"), Err(ErrorKind::InvalidChar(0))));
        assert_eq!(dec("&#9;&#xD;").unwrap(), "\t\r");
        assert!(dec("&#xD800;").is_err());
        assert!(dec("& x").is_err());
    }

    #[test]
    fn invalid_characters_are_found() {
        assert_eq!(find_invalid_char(b"a\tb\r\nc"), None);
        assert_eq!(find_invalid_char(b"ab\x05"), Some((2, 5)));
        assert_eq!(find_invalid_char("x\u{FFFE}".as_bytes()), Some((1, 0xFFFE)));
        assert_eq!(find_invalid_char("x\u{FFFF}".as_bytes()), Some((1, 0xFFFF)));
        assert_eq!(find_invalid_char("\u{FFFD}\u{10000}".as_bytes()), None);
    }

    #[test]
    fn json_numbers() {
        for ok in ["0", "-0", "1.50", "1E-22", "12e+3", "-7.0"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["", "01", "1.", ".5", "+1", "1e", "NaN", "1 ", "0x1"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        json_string("a\"b\\c\n\u{1}", &mut s);
        assert_eq!(s, r#""a\"b\\c\n\u0001""#);
        let mut x = String::new();
        xml_attr("<&>\"\n\t'", &mut x).unwrap();
        assert_eq!(x, "&lt;&amp;&gt;&quot;&#xA;&#x9;'");
        assert!(xml_attr("\u{1}", &mut x).is_err());
        let roundtrip = dec(&x).unwrap();
        assert_eq!(roundtrip, "<&>\"\n\t'");
    }
}
