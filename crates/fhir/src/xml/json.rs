//! A small JSON tree reader that keeps number text exactly (FHIR decimals) and
//! the byte offset of every value, with a nesting limit and duplicate-key check.

use std::borrow::Cow;

use super::MAX_DEPTH;
use super::error::{Error, ErrorKind, Result};

/// A JSON value borrowing from the input where it can.
#[derive(Debug)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's literal text.
    Num(&'a str),
    Str(Cow<'a, str>),
    Arr(Vec<Value<'a>>),
    Obj(Vec<Member<'a>>),
}

/// A value and the byte offset where it starts.
#[derive(Debug)]
pub(crate) struct Value<'a> {
    pub(crate) json: Json<'a>,
    pub(crate) offset: usize,
}

/// An object member.
#[derive(Debug)]
pub(crate) struct Member<'a> {
    pub(crate) key: Cow<'a, str>,
    pub(crate) value: Value<'a>,
}

impl Json<'_> {
    /// What kind of value this is, for error messages.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Num(_) => "a number",
            Json::Str(_) => "a string",
            Json::Arr(_) => "an array",
            Json::Obj(_) => "an object",
        }
    }
}

/// Parses one JSON document (UTF-8; a leading BOM is skipped).
pub(crate) fn parse(input: &[u8]) -> Result<Value<'_>> {
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(e) => return Err(Error::new(ErrorKind::InvalidUtf8).at(input, e.valid_up_to())),
    };
    let start = if text.starts_with('\u{FEFF}') { 3 } else { 0 };
    let mut p = Parser {
        text,
        bytes: input,
        pos: start,
        depth: 0,
    };
    let value = p.value()?;
    p.ws();
    if p.pos < p.bytes.len() {
        return Err(p.err("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    #[cold]
    fn err(&self, what: &str) -> Error {
        Error::new(ErrorKind::Json(what.to_owned())).at(self.bytes, self.pos)
    }

    fn ws(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn value(&mut self) -> Result<Value<'a>> {
        self.ws();
        let offset = self.pos;
        let json = match self.peek() {
            None => return Err(self.err("unexpected end of input")),
            Some(b'{') => self.object()?,
            Some(b'[') => self.array()?,
            Some(b'"') => Json::Str(self.string()?),
            Some(b't') => self.word("true", Json::Bool(true))?,
            Some(b'f') => self.word("false", Json::Bool(false))?,
            Some(b'n') => self.word("null", Json::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.err("expected a JSON value")),
        };
        Ok(Value { json, offset })
    }

    fn word(&mut self, word: &str, json: Json<'a>) -> Result<Json<'a>> {
        if self
            .text
            .get(self.pos..)
            .is_some_and(|t| t.starts_with(word))
        {
            self.pos += word.len();
            Ok(json)
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<Json<'a>> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let text = self.text.get(start..self.pos).unwrap_or_default();
        if !super::text::is_json_number(text) {
            self.pos = start;
            return Err(self.err("invalid number"));
        }
        Ok(Json::Num(text))
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::new(ErrorKind::TooDeep(MAX_DEPTH)).at(self.bytes, self.pos));
        }
        Ok(())
    }

    fn array(&mut self) -> Result<Json<'a>> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                items.push(self.value()?);
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("expected `,` or `]`")),
                }
            }
        }
        self.depth -= 1;
        Ok(Json::Arr(items))
    }

    fn object(&mut self) -> Result<Json<'a>> {
        self.enter()?;
        self.pos += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                if self.peek() != Some(b'"') {
                    return Err(self.err("expected a property name"));
                }
                let key_at = self.pos;
                let key = self.string()?;
                self.ws();
                if self.peek() != Some(b':') {
                    return Err(self.err("expected `:`"));
                }
                self.pos += 1;
                let value = self.value()?;
                members.push((key_at, Member { key, value }));
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("expected `,` or `}`")),
                }
            }
        }
        // Duplicate keys: sort a list of indices (linear-logarithmic on any input).
        if members.len() > 1 {
            let mut order: Vec<usize> = (0..members.len()).collect();
            order.sort_by(|&a, &b| {
                let ka = members.get(a).map(|m| &m.1.key);
                let kb = members.get(b).map(|m| &m.1.key);
                ka.cmp(&kb).then(a.cmp(&b))
            });
            for pair in order.windows(2) {
                if let [a, b] = *pair {
                    if let (Some(ma), Some(mb)) = (members.get(a), members.get(b)) {
                        if ma.1.key == mb.1.key {
                            return Err(Error::new(ErrorKind::DuplicateKey(
                                super::error::excerpt(&mb.1.key),
                            ))
                            .at(self.bytes, mb.0));
                        }
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(Json::Obj(members.into_iter().map(|(_, m)| m).collect()))
    }

    fn string(&mut self) -> Result<Cow<'a, str>> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes.
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    let s = self.text.get(start..self.pos).unwrap_or_default();
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(0..0x20) => return Err(self.err("control character in string")),
                Some(_) => self.pos += 1,
            }
        }
        let mut s = String::from(self.text.get(start..self.pos).unwrap_or_default());
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(s));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self
                                    .text
                                    .get(self.pos..)
                                    .is_some_and(|t| t.starts_with("\\u"))
                                {
                                    self.pos += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(self.err("invalid surrogate pair"));
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    return Err(self.err("lone surrogate"));
                                }
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)
                                .ok_or_else(|| self.err("invalid \\u escape"))?;
                            s.push(c);
                            continue;
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    s.push(c);
                    self.pos += 1;
                }
                Some(0..0x20) => return Err(self.err("control character in string")),
                Some(_) => {
                    let rest = self.text.get(self.pos..).unwrap_or_default();
                    let end = rest.find(['"', '\\']).unwrap_or(rest.len());
                    let chunk = rest.get(..end).unwrap_or_default();
                    if chunk.bytes().any(|b| b < 0x20) {
                        let bad = chunk.bytes().position(|b| b < 0x20).unwrap_or(0);
                        self.pos += bad;
                        return Err(self.err("control character in string"));
                    }
                    s.push_str(chunk);
                    self.pos += end;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.err("invalid \\u escape"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_number_text() {
        let v = parse(br#"{"a":[1.50,-0,1E-22],"b":"x\u00e9\ud83d\ude00\n","c":null,"d":true}"#)
            .unwrap();
        let Json::Obj(m) = v.json else { panic!() };
        let Json::Arr(a) = &m[0].value.json else {
            panic!()
        };
        assert!(matches!(a[0].json, Json::Num("1.50")));
        assert!(matches!(a[2].json, Json::Num("1E-22")));
        let Json::Str(s) = &m[1].value.json else {
            panic!()
        };
        assert_eq!(s, "xé😀\n");
    }

    #[test]
    fn rejects_bad_json() {
        for bad in [
            &b"{\"a\":1,\"a\":2}"[..],
            b"{\"a\":01}",
            b"[1,]",
            b"{\"a\":\"\\ud800\"}",
            b"\"\x01\"",
            b"[1] x",
            b"\xff",
            b"",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(100_000);
        assert!(matches!(
            parse(deep.as_bytes()).unwrap_err().kind(),
            ErrorKind::TooDeep(_)
        ));
    }
}
