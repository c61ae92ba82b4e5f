//! A FHIR JSON document read with its numbers as sent.
//!
//! `serde_json::Value` holds a number as an `f64` (or an integer), so a
//! decimal's text does not survive it: `4.50` reads back as `4.5`, and
//! `0.1234567890123456789` loses its last digits. FHIR decimals carry their
//! precision in their text, and a result value must reach the canonical model
//! as it was sent. [`JsonDocument`] keeps, beside the `Value`, the literal of
//! every number whose text the `Value` would change, keyed by its element
//! path (`Bundle.entry[1].resource.valueQuantity.value`, the paths the
//! readers' sources use).

use std::collections::HashMap;

use serde_json::Value;
use serde_json::value::RawValue;

/// Number literals a `Value` would change, by element path.
type Literals = HashMap<String, Box<str>>;

/// A FHIR JSON document: its `serde_json::Value`, and the text of every
/// number that the `Value` would not give back as sent.
///
/// Read one with [`JsonDocument::from_slice`] and pass it to
/// [`read_bundle`](super::read_bundle) or [`read_workers`](super::read_workers):
/// quantities and durations then reach the model with their text
/// (`4.50` stays `4.50`), and unmapped numbers are reported as sent.
///
/// ```
/// use carecodec_map::fhir::{read_bundle, JsonDocument};
/// use carecodec_model::ObservationValue;
///
/// let doc = JsonDocument::from_slice(br#"{"resourceType": "Observation", "status": "final",
///   "code": {"text": "Potassium"}, "valueQuantity": {"value": 4.50, "unit": "mmol/L"},
///   "valueX": 1.10}"#)?;
/// let (event, report) = read_bundle(&doc);
/// let ObservationValue::Quantity(q) = &event.observations[0].value.as_ref().unwrap().value else {
///     panic!("a quantity")
/// };
/// assert_eq!(q.value, "4.50");
/// // The same document read as a plain `Value` has lost the zero (unless
/// // serde_json's `arbitrary_precision` is on: the `arbitrary-precision` feature).
/// let (event, _) = read_bundle(doc.value());
/// let ObservationValue::Quantity(q) = &event.observations[0].value.as_ref().unwrap().value else {
///     panic!("a quantity")
/// };
/// let exact = cfg!(feature = "arbitrary-precision");
/// assert_eq!(q.value, if exact { "4.50" } else { "4.5" });
/// // Numbers nothing reads are reported as sent too.
/// assert_eq!(report.unmapped[0].raw, "1.10");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonDocument {
    value: Value,
    literals: Literals,
}

impl JsonDocument {
    /// Parses `json` (one JSON value, as `serde_json::from_slice` reads it).
    ///
    /// # Errors
    /// `json` is not JSON; the error has its line and column.
    ///
    /// ```
    /// use carecodec_map::fhir::JsonDocument;
    ///
    /// let doc = JsonDocument::from_slice(br#"{"resourceType": "Patient", "id": "p1"}"#)?;
    /// assert_eq!(doc.value()["id"], "p1");
    /// let err = JsonDocument::from_slice(b"{\n  \"id\": }").unwrap_err();
    /// assert_eq!((err.line(), err.column()), (2, 9));
    /// // A member named twice in one object is an error, with its place.
    /// let err = JsonDocument::from_slice(b"{\"value\": \"1\",\n \"value\": \"2\"}").unwrap_err();
    /// assert!(err.to_string().contains("`value` twice"), "{err}");
    /// assert_eq!(err.line(), 2);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn from_slice(json: &[u8]) -> Result<JsonDocument, serde_json::Error> {
        // FHIR JSON names each member once; a `Value` would keep the last of
        // two (two NHS numbers in one identifier would read as the second).
        serde_json::from_slice::<NoDuplicates>(json)?;
        let value: Value = serde_json::from_slice(json)?;
        let raw: &RawValue = serde_json::from_slice(json)?;
        let mut literals = Literals::new();
        // The root is named as the readers name it: by its resource type.
        let mut path = value
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        collect(raw, &mut path, &mut literals)?;
        Ok(JsonDocument { value, literals })
    }

    /// The document as a `serde_json::Value` (numbers as `f64` or integers;
    /// as sent with serde_json's `arbitrary_precision`, the
    /// `arbitrary-precision` feature).
    ///
    /// ```
    /// use carecodec_map::fhir::JsonDocument;
    ///
    /// let doc = JsonDocument::from_slice(br#"{"valueDecimal": 2.50}"#)?;
    /// let exact = cfg!(feature = "arbitrary-precision");
    /// assert_eq!(doc.value()["valueDecimal"].to_string(), if exact { "2.50" } else { "2.5" });
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The literal text of the number at the element `path`, when the
    /// `Value` would not give it back as sent (`None` for any other path).
    ///
    /// ```
    /// use carecodec_map::fhir::JsonDocument;
    ///
    /// let doc = JsonDocument::from_slice(
    ///     br#"{"resourceType": "Observation", "component": [{"valueQuantity": {"value": 1.50}}],
    ///          "valueInteger": 7}"#)?;
    /// // With serde_json's `arbitrary_precision` (the `arbitrary-precision`
    /// // feature) the `Value` keeps `1.50` itself.
    /// let exact = cfg!(feature = "arbitrary-precision");
    /// let path = "Observation.component[0].valueQuantity.value";
    /// assert_eq!(doc.literal(path), if exact { None } else { Some("1.50") });
    /// assert_eq!(doc.literal("Observation.valueInteger"), None); // `7` is kept by the `Value`
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn literal(&self, path: &str) -> Option<&str> {
        self.literals.get(path).map(|t| &**t)
    }

    /// The `Value`, without the literals.
    ///
    /// ```
    /// use carecodec_map::fhir::JsonDocument;
    ///
    /// let doc = JsonDocument::from_slice(b"[1, 2]")?;
    /// assert_eq!(doc.into_value(), serde_json::json!([1, 2]));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn into_value(self) -> Value {
        self.value
    }
}

/// A `Value` as a document: its numbers are taken as the `Value` holds them.
///
/// ```
/// use carecodec_map::fhir::JsonDocument;
///
/// let doc = JsonDocument::from(serde_json::json!({"value": 4.5}));
/// assert_eq!(doc.value()["value"], 4.5);
/// ```
impl From<Value> for JsonDocument {
    fn from(value: Value) -> JsonDocument {
        JsonDocument {
            value,
            literals: Literals::new(),
        }
    }
}

/// What [`read_bundle`](super::read_bundle) and
/// [`read_workers`](super::read_workers) read: a `&serde_json::Value`
/// (numbers as the `Value` holds them) or a `&`[`JsonDocument`] (numbers as
/// sent). Made by `From`; callers pass either reference.
///
/// ```
/// use carecodec_map::fhir::{JsonDocument, JsonInput};
///
/// let value = serde_json::json!({"resourceType": "Patient"});
/// let doc = JsonDocument::from(value.clone());
/// let (a, b) = (JsonInput::from(&value), JsonInput::from(&doc));
/// assert_eq!(a.value(), b.value());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct JsonInput<'d> {
    value: &'d Value,
    literals: Option<&'d Literals>,
}

impl<'d> JsonInput<'d> {
    /// The document's `Value`.
    ///
    /// ```
    /// use carecodec_map::fhir::JsonInput;
    ///
    /// let value = serde_json::json!({"id": "x"});
    /// assert_eq!(JsonInput::from(&value).value()["id"], "x");
    /// ```
    pub fn value(&self) -> &'d Value {
        self.value
    }

    /// The same input read from `value` (a cleaned copy of this one's `Value`:
    /// the same shape, so the same literal paths).
    pub(crate) fn with_value<'v>(&self, value: &'v Value) -> JsonInput<'v>
    where
        'd: 'v,
    {
        JsonInput {
            value,
            literals: self.literals,
        }
    }

    /// The text of the number `n` found at the element `path`: as sent when
    /// the document kept it, else as the `Value` holds it.
    pub(crate) fn number(&self, path: &str, n: &serde_json::Number) -> String {
        match self.literals.and_then(|l| l.get(path)) {
            Some(text) => text.to_string(),
            None => n.to_string(),
        }
    }

    /// The text of a leaf `v` at `path`: a string's own text, a number as
    /// sent when kept, anything else as JSON.
    pub(crate) fn text(&self, path: &str, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => self.number(path, n),
            other => other.to_string(),
        }
    }
}

impl<'d> From<&'d Value> for JsonInput<'d> {
    fn from(value: &'d Value) -> JsonInput<'d> {
        JsonInput {
            value,
            literals: None,
        }
    }
}

impl<'d> From<&'d JsonDocument> for JsonInput<'d> {
    fn from(doc: &'d JsonDocument) -> JsonInput<'d> {
        JsonInput {
            value: &doc.value,
            literals: Some(&doc.literals),
        }
    }
}

/// A JSON text in which no object names a member twice: one pass, nothing
/// kept (serde_json places the error at the member).
struct NoDuplicates;

impl<'de> serde::Deserialize<'de> for NoDuplicates {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NoDuplicates, D::Error> {
        d.deserialize_any(NoDuplicates)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicates {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }

    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }

    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }

    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }

    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }

    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<NoDuplicates, A::Error> {
        while a.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<NoDuplicates, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = m.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "an object names the member `{key}` twice (FHIR JSON names each once)"
                )));
            }
            m.next_value::<NoDuplicates>()?;
            seen.insert(key);
        }
        Ok(NoDuplicates)
    }
}

/// Records, under `path`, every number literal of `raw` whose text a `Value`
/// would change. Objects and arrays are split one level at a time, and a
/// part that holds no number is not split further.
fn collect(raw: &RawValue, path: &mut String, out: &mut Literals) -> serde_json::Result<()> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') if may_hold_number(text) => {
            // No member is named twice (checked before: `NoDuplicates`).
            let members: HashMap<String, &RawValue> = serde_json::from_str(text)?;
            for (k, v) in members {
                let len = path.len();
                path.push('.');
                path.push_str(&k);
                collect(v, path, out)?;
                path.truncate(len);
            }
        }
        Some(b'[') if may_hold_number(text) => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            for (i, v) in items.into_iter().enumerate() {
                let len = path.len();
                path.push('[');
                path.push_str(itoa::Buffer::new().format(i));
                path.push(']');
                collect(v, path, out)?;
                path.truncate(len);
            }
        }
        Some(b'-' | b'0'..=b'9') => {
            let n: serde_json::Number = serde_json::from_str(text)?;
            if n.to_string() != text {
                out.insert(path.clone(), text.into());
            }
        }
        _ => {}
    }
    Ok(())
}

/// False only when `text` (an object or array) certainly holds no number: no
/// `-` or digit follows a `:`, `[` or `,` (whitespace aside). Strings may give
/// a false "maybe", never a false "no".
fn may_hold_number(text: &str) -> bool {
    let mut after_separator = false;
    for &b in text.as_bytes() {
        match b {
            b':' | b'[' | b',' => after_separator = true,
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'-' | b'0'..=b'9' if after_separator => return true,
            _ => after_separator = false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keeps_only_the_literals_a_value_changes() {
        let doc = JsonDocument::from_slice(
            br#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation",
               "valueQuantity":{"value":4.50},"referenceRange":[{"low":{"value":3.5},
               "high":{"value":5.300}}],"x":[1e2, -0.0, 12345678901234567890123, 7, "8:9"]}}]}"#,
        )
        .unwrap();
        let mut got: Vec<_> = doc
            .literals
            .iter()
            .map(|(k, v)| (k.as_str(), &**v))
            .collect();
        got.sort_unstable();
        if cfg!(feature = "arbitrary-precision") {
            // The `Value` keeps the others' text itself.
            assert_eq!(got, [("Bundle.entry[0].resource.x[0]", "1e2")]);
            return;
        }
        assert_eq!(
            got,
            [
                (
                    "Bundle.entry[0].resource.referenceRange[0].high.value",
                    "5.300"
                ),
                ("Bundle.entry[0].resource.valueQuantity.value", "4.50"),
                ("Bundle.entry[0].resource.x[0]", "1e2"),
                ("Bundle.entry[0].resource.x[2]", "12345678901234567890123"),
            ]
        );
    }

    #[test]
    fn a_member_named_twice_is_an_error_at_its_place() {
        let err = JsonDocument::from_slice(br#"{"a": 1.50, "b": [{"c": 1}, {"c": 2, "c": 3}]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("`c` twice"), "{err}");
        assert_eq!(err.line(), 1);
        assert!(err.column() > 30, "{err}");
        // The same name in different objects is fine.
        assert!(
            JsonDocument::from_slice(br#"{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]}"#)
                .is_ok()
        );
    }

    #[test]
    fn escaped_member_names_are_read_as_value_reads_them() {
        let doc = JsonDocument::from_slice(br#"{"v\u0061lue": 1.50}"#).unwrap();
        if cfg!(feature = "arbitrary-precision") {
            // The `Value` keeps the text itself.
            assert_eq!(doc.value()["value"].to_string(), "1.50");
        } else {
            assert_eq!(doc.literal(".value"), Some("1.50"));
        }
    }

    #[test]
    fn may_hold_number_never_misses_one() {
        for yes in [
            "[1]",
            "{\"a\": -1}",
            "[ \n 0]",
            "[\"x\",2]",
            "{\"a\":\"b:1\"}",
        ] {
            assert!(may_hold_number(yes), "{yes}");
        }
        for no in [
            "[]",
            "{\"a\":\"1\"}",
            "[true, null, \"2020-01-01\"]",
            "{\"a1\":{}}",
        ] {
            assert!(!may_hold_number(no), "{no}");
        }
    }

    #[test]
    fn errors_are_serde_jsons() {
        assert!(JsonDocument::from_slice(b"{").is_err());
        assert!(JsonDocument::from_slice(b"1 2").is_err());
    }
}
