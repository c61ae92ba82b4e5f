//! FHIR primitive values: the value plus the element's `id` and extensions.
//!
//! In FHIR JSON a primitive element `birthDate` travels as two members,
//! `"birthDate": "1970-01-01"` and `"_birthDate": {"id": …, "extension": […]}`;
//! either may be absent. [`Primitive`] holds both halves so nothing is lost.

use std::fmt;

use crate::model::Extension;

/// A FHIR primitive element: an optional value and optional `id` / extensions.
///
/// `T` is `String` for the string-like types (string, code, uri, date, dateTime,
/// instant, time, base64Binary, markdown, id, oid, uuid, url, canonical, xhtml),
/// `bool`, `i32` (integer), `u32` (unsignedInt, positiveInt) or [`Decimal`].
///
/// ```
/// use carecodec_fhir::Primitive;
/// let given = Primitive::new("Ann".to_string());
/// assert_eq!(given.value.as_deref(), Some("Ann"));
/// assert!(given.id().is_none() && given.extension().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Primitive<T> {
    /// The value (`"birthDate": …`), absent when only extensions are given.
    pub value: Option<T>,
    /// The element's `id` and extensions (`"_birthDate": {…}`), if any.
    pub ext: Option<Box<PrimitiveExt>>,
}

/// The `_name` half of a primitive element: its `id` and `extension`s.
///
/// ```
/// use carecodec_fhir::{json, Patient};
///
/// let p: Patient = json::from_str(r#"{"resourceType":"Patient","_birthDate":{"id":"dob","extension":[{"url":"http://example.org/x","valueString":"y"}]}}"#)?;
/// let ext = p.birth_date.and_then(|d| d.ext).ok_or("no _birthDate")?;
/// assert_eq!(ext.id.as_deref(), Some("dob"));
/// assert_eq!(ext.extension.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrimitiveExt {
    /// Element id.
    pub id: Option<String>,
    /// Extensions on the primitive (e.g. `patient-birthTime` on `birthDate`).
    pub extension: Vec<Extension>,
}

impl<T> Primitive<T> {
    /// A primitive with a value and no id or extensions.
    ///
    /// ```
    /// use carecodec_fhir::{json, HumanName, Primitive};
    ///
    /// let mut name = HumanName::default();
    /// name.given.push(Primitive::new("Ann".to_string()));
    /// assert_eq!(json::to_string(&name), r#"{"given":["Ann"]}"#);
    /// ```
    pub fn new(value: T) -> Self {
        Self {
            value: Some(value),
            ext: None,
        }
    }

    /// A primitive with only extension data (FHIR allows a primitive without a value).
    ///
    /// ```
    /// use carecodec_fhir::{json, HumanName, Primitive, PrimitiveExt};
    ///
    /// let mut ext = PrimitiveExt::default();
    /// ext.id = Some("g1".into());
    /// let mut name = HumanName::default();
    /// name.given.push(Primitive::<String>::from_ext(ext));
    /// assert_eq!(json::to_string(&name), r#"{"_given":[{"id":"g1"}]}"#);
    /// ```
    pub fn from_ext(ext: PrimitiveExt) -> Self {
        Self {
            value: None,
            ext: Some(Box::new(ext)),
        }
    }

    /// The element id, if any.
    ///
    /// ```
    /// use carecodec_fhir::{json, Patient};
    ///
    /// let p: Patient = json::from_str(r#"{"resourceType":"Patient","gender":"male","_gender":{"id":"g"}}"#)?;
    /// assert_eq!(p.gender.as_ref().and_then(|g| g.id()), Some("g"));
    /// # Ok::<(), carecodec_fhir::json::Error>(())
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.ext.as_ref().and_then(|e| e.id.as_deref())
    }

    /// The extensions on this primitive (empty when none).
    ///
    /// ```
    /// use carecodec_fhir::{json, Patient};
    ///
    /// let p: Patient = json::from_str(r#"{"resourceType":"Patient","birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1970-01-01T08:30:00+00:00"}]}}"#)?;
    /// let exts = p.birth_date.as_ref().map(|d| d.extension()).unwrap_or_default();
    /// assert_eq!(exts[0].url.as_deref(), Some("http://hl7.org/fhir/StructureDefinition/patient-birthTime"));
    /// # Ok::<(), carecodec_fhir::json::Error>(())
    /// ```
    pub fn extension(&self) -> &[Extension] {
        self.ext.as_ref().map_or(&[], |e| e.extension.as_slice())
    }
}

impl<T> From<T> for Primitive<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Primitive<String> {
    fn from(value: &str) -> Self {
        Self::new(value.to_string())
    }
}

/// A FHIR `decimal`, kept as the exact literal text of the JSON number
/// (`72.50` stays `72.50`, `1E-22` stays `1E-22`). Never converted through `f64`.
///
/// ```
/// use carecodec_fhir::Decimal;
/// let d = Decimal::parse("72.50").expect("a decimal");
/// assert_eq!(d.as_str(), "72.50");
/// assert_eq!(d.to_f64(), Some(72.5));
/// assert!(Decimal::parse("1.").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// Accepts `text` if it is a JSON number literal (FHIR decimal lexical form).
    ///
    /// ```
    /// use carecodec_fhir::Decimal;
    ///
    /// assert_eq!(Decimal::parse("1E-22").map(|d| d.to_string()).as_deref(), Some("1E-22"));
    /// assert!(Decimal::parse("-0.50").is_some());
    /// assert!(Decimal::parse("01").is_none()); // a JSON number has no leading zero
    /// assert!(Decimal::parse(" 1").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        is_json_number(text.as_bytes()).then(|| Self(text.to_string()))
    }

    /// Wraps literal text already known to be a JSON number (used by the reader).
    pub(crate) fn from_literal(text: String) -> Self {
        Self(text)
    }

    /// The literal text.
    ///
    /// ```
    /// use carecodec_fhir::Decimal;
    ///
    /// assert_eq!(Decimal::parse("72.50").map(|d| d.as_str().len()), Some(5)); // the trailing zero kept
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as `f64` (lossy; for arithmetic only, never for writing back).
    ///
    /// ```
    /// use carecodec_fhir::Decimal;
    ///
    /// assert_eq!(Decimal::parse("1.5e2").and_then(|d| d.to_f64()), Some(150.0));
    /// ```
    pub fn to_f64(&self) -> Option<f64> {
        self.0.parse().ok()
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<i64> for Decimal {
    fn from(v: i64) -> Self {
        Self(v.to_string())
    }
}

/// Whether `s` holds a character no FHIR string-like value may hold: one below U+0020 other
/// than tab, LF and CR (R4 datatypes: strings "SHALL NOT contain Unicode character points
/// below 32, except for u0009 (horizontal tab), u000D (carriage return) and u000A (line
/// feed)"; the regexes of code, id, uri, markdown, … exclude them too). The readers reject
/// such a value; the JSON writer escapes it (`\u0001`), the XML writer refuses it.
///
/// One pass over the bytes, thirty-two at a time with no branch per byte (UTF-8 never uses
/// bytes below 0x20 inside a longer character).
///
/// ```
/// use carecodec_fhir::has_control_char;
/// assert!(has_control_char("SMI\u{0}TH"));
/// assert!(has_control_char("W\u{7}1"));
/// assert!(!has_control_char("line one\r\nline\ttwo, \u{e9}"));
/// ```
#[inline]
pub fn has_control_char(s: &str) -> bool {
    fn control(b: u8) -> u8 {
        u8::from(b < 0x20) & u8::from(b != b'\t') & u8::from(b != b'\n') & u8::from(b != b'\r')
    }
    let mut chunks = s.as_bytes().chunks_exact(32);
    for chunk in chunks.by_ref() {
        if chunk.iter().fold(0, |any, &b| any | control(b)) != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| control(b) != 0)
}

/// True if `s` is in R4's lexical form of `integer`, `-?([0]|([1-9][0-9]*))`, which
/// `positiveInt` and `unsignedInt` values also take in JSON: a JSON number with no fraction and
/// no exponent (`1e2`, `2.0` are not integers, whatever their value). `-0`, which the regex
/// admits, is refused too: the typed reader's JSON parser reads it as the float `-0.0` and
/// cannot tell it from `-0.0`, so the converters refuse it with the reader (write `0`).
pub(crate) fn is_integer_literal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    match digits.as_bytes() {
        [b'0'] => digits.len() == s.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// True if `b` is a JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
pub(crate) fn is_json_number(b: &[u8]) -> bool {
    let mut i = 0;
    let at = |i: usize| b.get(i).copied();
    if at(i) == Some(b'-') {
        i += 1;
    }
    match at(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(at(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return false,
    }
    if at(i) == Some(b'.') {
        i += 1;
        let start = i;
        while matches!(at(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if matches!(at(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(at(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while matches!(at(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for ok in ["0", "-0", "72.50", "1E-22", "1e+5", "10"] {
            assert!(is_json_number(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "+1", "1 ", "NaN"] {
            assert!(!is_json_number(bad.as_bytes()), "{bad}");
        }
    }
}
