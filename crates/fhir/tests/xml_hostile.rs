//! Hostile FHIR XML (and the JSON the XML writer reads): entity expansion, external
//! entities, DTDs, deep nesting, invalid UTF-8, huge values, truncation. Each gives an
//! error (or a correct result), never a crash or a hang.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_fhir::xml::{self, ErrorKind};

const P: &str = r#"<Patient xmlns="http://hl7.org/fhir">"#;

#[test]
fn billion_laughs_is_rejected() {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE Patient [\n  <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            "  <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str("]>\n");
    doc.push_str(P);
    doc.push_str(r#"<name><family value="&lol9;"/></name></Patient>"#);
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Doctype), "{e}");
    assert_eq!(e.line(), Some(2));
    assert!(xml::from_str(&doc).is_err());
}

#[test]
fn external_entities_are_never_resolved() {
    let doc = format!(
        "<!DOCTYPE Patient [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{P}<id value=\"&xxe;\"/></Patient>"
    );
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Doctype), "{e}");
    let doc = format!("<!DOCTYPE Patient SYSTEM \"http://example.org/evil.dtd\">{P}</Patient>");
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Doctype), "{e}");
    // Without a DOCTYPE, an undeclared entity is just an error.
    let doc = format!("{P}<id value=\"&xxe;\"/></Patient>");
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Entity(_)), "{e}");
    assert_eq!(e.path(), "Patient.id");
    // Nor inside a narrative.
    let doc = format!(
        "{P}<text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\">&xxe;</div></text></Patient>"
    );
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Entity(_)), "{e}");
    // A DOCTYPE smuggled into a narrative.
    let doc = format!(
        "{P}<text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\"><!DOCTYPE x [<!ENTITY a \"b\">]></div></text></Patient>"
    );
    assert!(xml::xml_to_json(doc.as_bytes()).is_err());
}

#[test]
fn xml_declaration_inside_a_narrative_is_rejected() {
    // Found by fuzzing: the reader kept it and the writer then refused its own output.
    let doc = format!(
        "{P}<text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a<?xml\n> r>\n\"?>b</p></div></text></Patient>"
    );
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Xhtml(_)), "{e}");
    assert!(e.offset().is_some_and(|o| o > P.len()), "{e}");
    // An ordinary processing instruction is still kept.
    let doc = format!(
        "{P}<text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a<?pi x?>b</p></div></text></Patient>"
    );
    let json = xml::xml_to_json(doc.as_bytes()).unwrap();
    assert!(xml::json_to_xml(json.as_bytes()).is_ok(), "{json}");
}

#[test]
fn deep_nesting_is_limited() {
    // 10^5 nested extensions: valid shape, hostile depth.
    let n = 100_000;
    let mut doc = String::from(P);
    for _ in 0..n {
        doc.push_str(r#"<extension url="x">"#);
    }
    for _ in 0..n {
        doc.push_str("</extension>");
    }
    doc.push_str("</Patient>");
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::TooDeep(_)), "{e}");
    assert!(e.path().starts_with("Patient.extension[0].extension[0]"));

    // 10^5 nested elements inside a narrative: read without recursion, kept verbatim.
    let mut doc = format!(
        r#"{P}<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">"#
    );
    for _ in 0..n {
        doc.push_str("<span>");
    }
    for _ in 0..n {
        doc.push_str("</span>");
    }
    doc.push_str("</div></text></Patient>");
    let json_text = xml::xml_to_json(doc.as_bytes()).unwrap();
    assert!(json_text.len() > 13 * n);
    let back = xml::json_to_xml(json_text.as_bytes()).unwrap();
    assert_eq!(back, doc);

    // The JSON side: 10^5 nested arrays / objects.
    let deep = format!(
        r#"{{"resourceType":"Patient","extension":{}"#,
        "[".repeat(n)
    );
    let e = xml::json_to_xml(deep.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::TooDeep(_)), "{e}");
    let mut deep = String::from(r#"{"resourceType":"Patient""#);
    for _ in 0..n {
        deep.push_str(r#","extension":[{"url":"x""#);
    }
    let e = xml::json_to_xml(deep.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::TooDeep(_)), "{e}");
}

#[test]
fn deep_but_allowed_nesting_round_trips() {
    let n = 60;
    let mut doc = String::from(P);
    for _ in 0..n {
        doc.push_str(r#"<extension url="x">"#);
    }
    doc.push_str(r#"<valueString value="leaf"/>"#);
    for _ in 0..n {
        doc.push_str("</extension>");
    }
    doc.push_str("</Patient>");
    let json_text = xml::xml_to_json(doc.as_bytes()).unwrap();
    assert_eq!(xml::json_to_xml(json_text.as_bytes()).unwrap(), doc);
}

#[test]
fn invalid_utf8_is_rejected() {
    let mut doc = format!(r#"{P}<name><family value="Sm"#).into_bytes();
    let at = doc.len();
    doc.extend_from_slice(b"\xFF\xFEith\"/></name></Patient>");
    let e = xml::xml_to_json(&doc).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidUtf8), "{e}");
    assert_eq!(e.offset(), Some(at));
    let e = xml::json_to_xml(b"{\"resourceType\":\"Patient\",\"gender\":\"\xC0\"}").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidUtf8), "{e}");
    // Latin-1 declared, UTF-8 required: the bytes decide.
    let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"M\xFCller\"/></name></Patient>";
    assert!(matches!(
        xml::xml_to_json(doc).unwrap_err().kind(),
        ErrorKind::InvalidUtf8
    ));
}

#[test]
fn characters_outside_xml_are_rejected() {
    let doc = format!("{P}<name><family value=\"a\u{5}\"/></name></Patient>");
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidChar(5)), "{e}");
    assert_eq!(e.offset(), Some(P.len() + 22));
    let json_text =
        r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div>\u0005</div>"}}"#;
    let e = xml::json_to_xml(json_text.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidChar(5)), "{e}");
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let mut doc = b"\xEF\xBB\xBF".to_vec();
    doc.extend_from_slice(format!(r#"{P}<gender value="male"/></Patient>"#).as_bytes());
    assert_eq!(
        xml::xml_to_json(&doc).unwrap(),
        r#"{"resourceType":"Patient","gender":"male"}"#
    );
}

#[test]
fn huge_values_are_handled() {
    // 100 MB in optimised builds; 16 MB in debug builds (same linear code, quicker CI).
    let size = if cfg!(debug_assertions) {
        16 << 20
    } else {
        100 << 20
    };
    let big = "x".repeat(size);
    let doc = format!(r#"{P}<name><family value="{big}"/></name></Patient>"#);
    let json_text = xml::xml_to_json(doc.as_bytes()).unwrap();
    assert_eq!(json_text.len(), big.len() + 49);
    drop(doc);
    let back = xml::json_to_xml(json_text.as_bytes()).unwrap();
    assert!(back.len() > big.len());
}

#[test]
fn duplicate_attributes_and_keys_are_rejected() {
    let doc = format!(r#"{P}<gender value="male" value="female"/></Patient>"#);
    assert!(xml::xml_to_json(doc.as_bytes()).is_err());
    let e =
        xml::json_to_xml(br#"{"resourceType":"Patient","resourceType":"Patient"}"#).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::DuplicateKey(_)), "{e}");
}

#[test]
fn every_truncation_fails_cleanly() {
    let doc = format!(
        r#"<?xml version="1.0"?>{P}<!-- c --><id value="a"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>x &amp; <b>y</b></p></div></text><name><given value="a"/><given id="b"><extension url="u"><valueCode value="c"/></extension></given></name><contained><Observation><status value="final"/><code><text value="t"/></code><valueQuantity><value value="1.50"/></valueQuantity></Observation></contained></Patient>"#
    );
    let full = xml::xml_to_json(doc.as_bytes()).unwrap();
    let json_full = full.as_bytes();
    for cut in 0..doc.len() {
        if let Some(prefix) = doc.get(..cut) {
            assert!(xml::xml_to_json(prefix.as_bytes()).is_err(), "cut at {cut}");
        }
    }
    for cut in 0..json_full.len() {
        assert!(xml::json_to_xml(&json_full[..cut]).is_err(), "cut at {cut}");
    }
}

/// A control character (below U+0020, other than tab, LF and CR) in a value: XML 1.0 forbids
/// it as a character and as a character reference, and so does FHIR in a string. A raw byte
/// is an error at that byte; a reference (`&#1;`, `&#x1F;`, `&#0;`) at its element, with the
/// element's path, top level or nested (an extension on a repeated primitive, a repeated
/// element). A reference to tab, LF or CR is kept.
#[test]
fn control_characters_in_values_are_errors_with_their_place() {
    // Raw bytes: the exact byte, its line and column.
    let doc =
        format!("{P}\n<name><given value=\"JO\"/><given value=\"JO\u{1}HN\"/></name></Patient>");
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidChar(1)), "{e}");
    let at = doc.find('\u{1}').unwrap();
    assert_eq!(e.offset(), Some(at), "{e}");
    assert_eq!((e.line(), e.column()), (Some(2), Some(at - P.len())), "{e}");
    assert!(xml::from_str(&doc).is_err());

    // References: at the element holding the value, with its path.
    for (reference, code) in [("&#1;", 1), ("&#x1F;", 0x1F), ("&#0;", 0), ("&#x7;", 7)] {
        let cases = [
            (
                format!("{P}<birthDate value=\"1970{reference}-01-01\"/></Patient>"),
                "<birthDate",
                "Patient.birthDate",
            ),
            (
                format!(
                    "{P}<name><family value=\"A\"/></name><name><given value=\"B\"/><given value=\"SMI{reference}TH\"/></name></Patient>"
                ),
                "<given value=\"SMI",
                "Patient.name[1].given[1]",
            ),
            (
                format!(
                    "{P}<name><given value=\"B\"><extension url=\"http://example.org/x\"><valueString value=\"a{reference}\"/></extension></given></name></Patient>"
                ),
                "<valueString",
                "Patient.name[0].given[0].extension[0].valueString",
            ),
            (
                format!(
                    "{P}<extension url=\"http://example.org/{reference}\"><valueCode value=\"x\"/></extension></Patient>"
                ),
                "<extension",
                "Patient.extension[0]",
            ),
        ];
        for (doc, element, path) in cases {
            let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::InvalidChar(c) if *c == code),
                "{doc}: {e}"
            );
            assert_eq!(e.offset(), doc.find(element), "{doc}: {e}");
            assert_eq!(e.path(), path, "{doc}: {e}");
            assert!(xml::from_str(&doc).is_err());
        }
    }

    // In a narrative: at the reference.
    let doc = format!(
        "{P}<text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\">a&#x2;</div></text></Patient>"
    );
    let e = xml::xml_to_json(doc.as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidChar(2)), "{e}");
    assert_eq!(e.offset(), doc.find("&#x2;"), "{e}");

    // Tab, LF and CR as references are values, kept (as literal characters they would be
    // normalised to spaces).
    let doc = format!("{P}<name><family value=\"a&#9;b&#xD;&#xA;c\"/></name></Patient>");
    assert_eq!(
        xml::xml_to_json(doc.as_bytes()).unwrap(),
        r#"{"resourceType":"Patient","name":[{"family":"a\tb\r\nc"}]}"#
    );
}
