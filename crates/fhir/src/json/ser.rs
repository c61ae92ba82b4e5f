//! The JSON writer used by the generated [`ToJson`] impls.
//!
//! Members are written in definition order, `resourceType` first, empty elements
//! omitted, primitives split into `name` / `_name`, decimals as their literal text.

use crate::primitive::{Decimal, Primitive, PrimitiveExt};

/// A FHIR type that can be written as FHIR JSON (every generated type, [`Resource`](crate::Resource)).
///
/// ```
/// use carecodec_fhir::json::{self, ToJson};
/// use carecodec_fhir::{HumanName, Primitive};
///
/// fn compact<T: ToJson>(value: &T) -> String {
///     json::to_string(value)
/// }
/// let mut name = HumanName::default();
/// name.family = Some(Primitive::from("Smith"));
/// assert_eq!(compact(&name), r#"{"family":"Smith"}"#);
/// ```
pub trait ToJson {
    /// Writes `self` as one JSON value.
    #[doc(hidden)]
    fn write_json(&self, w: &mut Writer);
}

impl<T: ToJson + ?Sized> ToJson for Box<T> {
    fn write_json(&self, w: &mut Writer) {
        (**self).write_json(w);
    }
}

/// A choice enum (`value[x]`): writes `prefix` + its type name.
#[doc(hidden)]
pub trait ToJsonChoice {
    /// Writes the member(s) for this choice value.
    fn write_choice(&self, w: &mut Writer, prefix: &str);
}

/// A primitive value type that writes itself as a JSON scalar.
#[doc(hidden)]
pub trait PrimValue {
    /// Writes the value.
    fn write_value(&self, out: &mut Vec<u8>);
}

impl PrimValue for String {
    fn write_value(&self, out: &mut Vec<u8>) {
        write_escaped(out, self);
    }
}

impl PrimValue for bool {
    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl PrimValue for i32 {
    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.to_string().as_bytes());
    }
}

impl PrimValue for u32 {
    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.to_string().as_bytes());
    }
}

impl PrimValue for Decimal {
    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_str().as_bytes());
    }
}

/// Writes `s` as a JSON string literal.
pub(crate) fn write_escaped(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
            out.push(HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0'));
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Accumulates FHIR JSON output, compact or pretty (two-space indent).
///
/// ```
/// use carecodec_fhir::{json, Resource};
///
/// // The writer behind `to_string` (compact) and `to_string_pretty` (two-space indent).
/// let r: Resource = json::from_str(r#"{"resourceType":"Patient","active":true}"#)?;
/// assert_eq!(json::to_string(&r), r#"{"resourceType":"Patient","active":true}"#);
/// assert_eq!(json::to_string_pretty(&r), "{\n  \"resourceType\": \"Patient\",\n  \"active\": true\n}");
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
#[derive(Debug)]
pub struct Writer {
    out: Vec<u8>,
    pretty: bool,
    depth: usize,
    first: bool,
}

impl Writer {
    pub(crate) fn new(pretty: bool) -> Self {
        Self {
            out: Vec::new(),
            pretty,
            depth: 0,
            first: true,
        }
    }

    pub(crate) fn from_vec(pretty: bool, out: Vec<u8>) -> Self {
        Self {
            out,
            pretty,
            depth: 0,
            first: true,
        }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn newline(&mut self) {
        if self.pretty {
            self.out.push(b'\n');
            for _ in 0..self.depth {
                self.out.extend_from_slice(b"  ");
            }
        }
    }

    /// Separator before the next member or array item.
    fn item(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.newline();
    }

    fn key(&mut self, k: &str) {
        self.item();
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out
            .extend_from_slice(if self.pretty { b"\": " } else { b"\":" });
    }

    fn key2(&mut self, a: &str, b: &str) {
        self.item();
        self.out.push(b'"');
        self.out.extend_from_slice(a.as_bytes());
        self.out.extend_from_slice(b.as_bytes());
        self.out
            .extend_from_slice(if self.pretty { b"\": " } else { b"\":" });
    }

    #[doc(hidden)]
    pub fn begin_object(&mut self) {
        self.out.push(b'{');
        self.depth += 1;
        self.first = true;
    }

    #[doc(hidden)]
    pub fn end_object(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        if !self.first {
            self.newline();
        }
        self.out.push(b'}');
        self.first = false;
    }

    fn begin_array(&mut self) {
        self.out.push(b'[');
        self.depth += 1;
        self.first = true;
    }

    fn end_array(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        if !self.first {
            self.newline();
        }
        self.out.push(b']');
        self.first = false;
    }

    #[doc(hidden)]
    pub fn resource_type(&mut self, name: &str) {
        self.key("resourceType");
        write_escaped(&mut self.out, name);
    }

    fn ext(&mut self, e: &PrimitiveExt) {
        self.begin_object();
        self.plain("id", &e.id);
        self.objs("extension", &e.extension);
        self.end_object();
    }

    #[doc(hidden)]
    pub fn plain(&mut self, k: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.key(k);
            write_escaped(&mut self.out, v);
        }
    }

    #[doc(hidden)]
    pub fn prim<T: PrimValue>(&mut self, k: &str, v: &Option<Primitive<T>>) {
        if let Some(p) = v {
            self.prim_one("", k, p);
        }
    }

    fn prim_one<T: PrimValue>(&mut self, prefix: &str, k: &str, p: &Primitive<T>) {
        if let Some(v) = &p.value {
            self.key2(prefix, k);
            v.write_value(&mut self.out);
        }
        if let Some(e) = &p.ext {
            self.item();
            self.out.extend_from_slice(b"\"_");
            self.out.extend_from_slice(prefix.as_bytes());
            self.out.extend_from_slice(k.as_bytes());
            self.out
                .extend_from_slice(if self.pretty { b"\": " } else { b"\":" });
            self.ext(e);
        }
    }

    #[doc(hidden)]
    pub fn prims<T: PrimValue>(&mut self, k: &str, v: &[Primitive<T>]) {
        if v.iter().any(|p| p.value.is_some()) {
            self.key(k);
            self.begin_array();
            for p in v {
                self.item();
                match &p.value {
                    Some(x) => x.write_value(&mut self.out),
                    None => self.out.extend_from_slice(b"null"),
                }
            }
            self.end_array();
        }
        if v.iter().any(|p| p.ext.is_some()) {
            self.key2("_", k);
            self.begin_array();
            for p in v {
                self.item();
                match &p.ext {
                    Some(e) => self.ext(e),
                    None => self.out.extend_from_slice(b"null"),
                }
            }
            self.end_array();
        }
    }

    #[doc(hidden)]
    pub fn obj<T: ToJson>(&mut self, k: &str, v: &Option<T>) {
        if let Some(v) = v {
            self.key(k);
            v.write_json(self);
        }
    }

    #[doc(hidden)]
    pub fn objs<T: ToJson>(&mut self, k: &str, v: &[T]) {
        if !v.is_empty() {
            self.key(k);
            self.begin_array();
            for x in v {
                self.item();
                x.write_json(self);
            }
            self.end_array();
        }
    }

    #[doc(hidden)]
    pub fn choice<T: ToJsonChoice>(&mut self, prefix: &str, v: &Option<T>) {
        if let Some(v) = v {
            v.write_choice(self, prefix);
        }
    }

    #[doc(hidden)]
    pub fn choice_prim<T: PrimValue>(&mut self, prefix: &str, ty: &str, p: &Primitive<T>) {
        self.prim_one(prefix, ty, p);
    }

    #[doc(hidden)]
    pub fn choice_obj<T: ToJson>(&mut self, prefix: &str, ty: &str, v: &T) {
        self.key2(prefix, ty);
        v.write_json(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut out = Vec::new();
        write_escaped(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\u0001é\""
        );
    }
}
