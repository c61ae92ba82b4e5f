//! Property tests: generated resources (arbitrary text, decimal literals, repeats with
//! and without primitive extensions, nested extensions, contained resources) go
//! JSON → XML → JSON unchanged, and arbitrary bytes never panic the XML reader.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_fhir::xml;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Text XML can carry (no C0 controls other than tab/LF/CR, no U+FFFE/U+FFFF).
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 &<>\"'\\t\\n\\r\\u{e9}\\u{1F600}\\u{FFFD}\\u{EFFF}]{0,12}"
}

fn decimal() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        0u32..100_000,
        proptest::option::of("[0-9]{1,4}"),
        proptest::option::of(-30i32..30),
    )
        .prop_map(|(neg, int, frac, exp)| {
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            s.push_str(&int.to_string());
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            if let Some(e) = exp {
                s.push_str(&format!("E{e}"));
            }
            s
        })
}

/// A primitive slot: value, `_` part, or both.
#[derive(Debug, Clone)]
struct Slot {
    value: Option<String>,
    id: Option<String>,
    ext: Option<String>,
}

fn slot() -> impl Strategy<Value = Slot> {
    (
        proptest::option::of(text()),
        proptest::option::of("[a-z0-9]{1,6}"),
        proptest::option::of(text()),
    )
        .prop_map(|(value, id, ext)| Slot { value, id, ext })
        .prop_filter("a primitive needs a value or an extension", |s| {
            s.value.is_some() || s.id.is_some() || s.ext.is_some()
        })
}

fn side(s: &Slot) -> Value {
    let mut o = serde_json::Map::new();
    if let Some(id) = &s.id {
        o.insert("id".into(), json!(id));
    }
    if let Some(e) = &s.ext {
        o.insert(
            "extension".into(),
            json!([{"url": "http://example.org/x", "valueString": e}]),
        );
    }
    if o.is_empty() {
        Value::Null
    } else {
        Value::Object(o)
    }
}

fn patient(given: Vec<Slot>, family: Slot, decimal: String, nested: usize, note: String) -> String {
    let mut name = serde_json::Map::new();
    if let Some(v) = &family.value {
        name.insert("family".into(), json!(v));
    }
    if !side(&family).is_null() {
        name.insert("_family".into(), side(&family));
    }
    if !given.is_empty() {
        if given.iter().any(|s| s.value.is_some()) {
            name.insert(
                "given".into(),
                Value::Array(given.iter().map(|s| json!(s.value)).collect()),
            );
        }
        if given.iter().any(|s| !side(s).is_null()) {
            name.insert(
                "_given".into(),
                Value::Array(given.iter().map(side).collect()),
            );
        }
    }
    let mut ext = json!({"url": "http://example.org/leaf", "valueDecimal": 0});
    for i in 0..nested {
        ext = json!({"url": format!("http://example.org/n{i}"), "extension": [ext]});
    }
    let doc = json!({
        "resourceType": "Patient",
        "extension": [ext],
        "name": [Value::Object(name)],
        "contained": [{"resourceType": "Observation", "status": "final",
                       "code": {"text": note}, "valueQuantity": {"value": 0}}],
    });
    // Put the decimal literals in by text (serde_json would normalise them).
    doc.to_string()
        .replace(
            r#""valueDecimal":0"#,
            &format!(r#""valueDecimal":{decimal}"#),
        )
        .replace(r#""value":0}"#, &format!(r#""value":{decimal}}}"#))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_resources_round_trip(
        given in proptest::collection::vec(slot(), 0..5),
        family in slot(),
        decimal in decimal(),
        nested in 0usize..6,
        note in text(),
    ) {
        let input = patient(given, family, decimal.clone(), nested, note);
        let x = xml::json_to_xml(input.as_bytes()).unwrap();
        let back = xml::xml_to_json(x.as_bytes()).unwrap();
        let a: Value = serde_json::from_str(&input).unwrap();
        let b: Value = serde_json::from_str(&back).unwrap();
        prop_assert_eq!(a, b);
        // Decimal literals survive exactly.
        let needle = format!(r#""valueDecimal":{decimal}"#);
        prop_assert!(back.contains(&needle));
        prop_assert_eq!(xml::json_to_xml(back.as_bytes()).unwrap(), x);
        let pretty = xml::json_to_xml_pretty(input.as_bytes()).unwrap();
        prop_assert_eq!(xml::xml_to_json(pretty.as_bytes()).unwrap(), back);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = xml::xml_to_json(&data);
        let _ = xml::json_to_xml(&data);
    }

    #[test]
    fn mutated_documents_never_panic(cut in 0usize..400, byte in any::<u8>()) {
        let mut doc = br#"<Patient xmlns="http://hl7.org/fhir"><id value="a"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></text><name><given value="a"/><given id="g"><extension url="u"><valueDecimal value="1.50"/></extension></given></name></Patient>"#.to_vec();
        if let Some(b) = doc.get_mut(cut) {
            *b = byte;
        }
        if let Ok(json_text) = xml::xml_to_json(&doc) {
            let x = xml::json_to_xml(json_text.as_bytes()).unwrap();
            let again = xml::xml_to_json(x.as_bytes()).unwrap();
            prop_assert_eq!(xml::json_to_xml(again.as_bytes()).unwrap(), x);
        }
    }
}
