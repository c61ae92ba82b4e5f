//! Edge cases of the JSON and XML codecs found by probing (probe twelve): a byte order mark
//! and duplicate members (F14), repeating primitives with neither value nor extension (F12),
//! narratives that are not well-formed XHTML (F13), integers in forms R4 does not allow (F17).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_fhir::json::{self, ErrorKind};
use carecodec_fhir::{Resource, xml};

fn strict_err(text: &[u8]) -> json::Error {
    match json::from_slice::<Resource>(text) {
        Ok(r) => panic!("read: {}", json::to_string(&r)),
        Err(e) => e,
    }
}

// F14: a UTF-8 byte order mark before the JSON is accepted, as the XML reader accepts one.
#[test]
fn json_readers_accept_one_byte_order_mark() {
    let text = "\u{feff}{\"resourceType\":\"Patient\",\"gender\":\"male\"}";
    let r: Resource = json::from_str(text).unwrap();
    assert_eq!(
        json::to_string(&r),
        r#"{"resourceType":"Patient","gender":"male"}"#
    );
    let r: Resource = json::from_reader(text.as_bytes()).unwrap();
    assert_eq!(r.resource_type(), "Patient");
    let (r, issues) = json::from_slice_lenient::<Resource>(text.as_bytes()).unwrap();
    assert_eq!((r.resource_type(), issues.len()), ("Patient", 0));
    // json_to_xml already accepted it: both paths agree.
    assert!(xml::json_to_xml(text.as_bytes()).is_ok());
    // A second mark is a U+FEFF character before the JSON: not JSON.
    let two = format!("\u{feff}{text}");
    assert_eq!(strict_err(two.as_bytes()).kind(), ErrorKind::Syntax);
}

// F14: positions after a byte order mark are counted in the original bytes (the mark is 3).
#[test]
fn positions_after_a_byte_order_mark_count_its_bytes() {
    let text = "\u{feff}{\"resourceType\":\"Patient\",\"gender\":\"mal  e\"}";
    let e = strict_err(text.as_bytes());
    let plain = strict_err(&text.as_bytes()[3..]);
    assert_eq!(e.path(), "Patient.gender");
    assert_eq!(e.line(), 1);
    assert_eq!(e.column(), plain.column() + 3);
    assert_eq!(e.offset(), plain.offset() + 3);
    assert_eq!(&text.as_bytes()[e.offset() - 8..e.offset()], b"\"mal  e\"");
    // Lenient issues too.
    let text = "\u{feff}{\"resourceType\":\"Patient\",\"colour\":1}";
    let (_, issues) = json::from_slice_lenient::<Resource>(text.as_bytes()).unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].location, "Patient.colour");
    assert_eq!((issues[0].line, issues[0].column), (1, 39));
    assert_eq!(issues[0].offset, Some(38));
    assert_eq!(text.as_bytes()[38], b'1');
}

// F14: a duplicate member is placed at its name, not where the reader stopped.
#[test]
fn duplicate_member_is_placed_at_the_duplicate() {
    let text = br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#;
    let e = strict_err(text);
    assert_eq!(e.kind(), ErrorKind::DuplicateElement);
    assert_eq!((e.line(), e.column()), (1, 43));
    assert_eq!(text[e.column() - 1], b'"');
    assert_eq!(e.path(), "Patient.gender");
    // The XML converter says the same place.
    let x = xml::json_to_xml(text).unwrap_err();
    assert_eq!(x.column(), Some(43));
    // Complex and repeating members, a `_name` twin, on another line, after a BOM.
    let cases: [(&str, &str, usize, usize); 4] = [
        (
            "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"A\"}],\n  \"name\":[{\"family\":\"B\"}]}",
            "Patient.name",
            2,
            3,
        ),
        (
            "{\"resourceType\":\"Patient\",\"maritalStatus\":{\"text\":\"x\"},\"maritalStatus\":{\"text\":\"y\"},\"active\":true}",
            "Patient.maritalStatus",
            1,
            56,
        ),
        (
            "{\"resourceType\":\"Patient\",\"_gender\":{\"id\":\"a\"},\"_gender\":{\"id\":\"b\"}}",
            "Patient._gender",
            1,
            48,
        ),
        (
            "\u{feff}{\"resourceType\":\"Patient\",\"active\":true,\"active\":false}",
            "Patient.active",
            1,
            44,
        ),
    ];
    for (text, path, line, column) in cases {
        let e = strict_err(text.as_bytes());
        assert_eq!(e.kind(), ErrorKind::DuplicateElement, "{text}");
        assert_eq!(
            (e.path(), e.line(), e.column()),
            (path, line, column),
            "{text}"
        );
    }
}

// F12: a repeating primitive's entry with neither value nor extension (R4 JSON: `null` only
// pads one of `given` / `_given` where the other has an entry) is refused where it is.
#[test]
fn repeating_primitive_entry_with_neither_half_is_refused_at_it() {
    let cases: [(&str, &str, usize); 5] = [
        (
            r#"{"resourceType":"Patient","name":[{"given":[null]}]}"#,
            "Patient.name[0].given[0]",
            45,
        ),
        (
            r#"{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,null]}]}"#,
            "Patient.name[0].given[1]",
            49,
        ),
        // The extension array first, the values after it.
        (
            r#"{"resourceType":"Patient","name":[{"_given":[null,null],"given":["a",null]}]}"#,
            "Patient.name[0].given[1]",
            70,
        ),
        (
            r#"{"resourceType":"Patient","name":[{"_given":[null]}]}"#,
            "Patient.name[0]._given[0]",
            46,
        ),
        // resourceType last: the reordered slow path.
        (
            "{\"name\":[{\"family\":\"F\"},\n {\"prefix\":[\"Dr\",null]}],\"resourceType\":\"Patient\"}",
            "Patient.name[1].prefix[1]",
            18,
        ),
    ];
    for (text, path, column) in cases {
        let e = strict_err(text.as_bytes());
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "{text}");
        assert_eq!((e.path(), e.column()), (path, column), "{text}: {e}");
        assert!(
            e.message().contains("neither a value nor an extension"),
            "{e}"
        );
        assert_eq!(
            &text.as_bytes()[e.offset() - 1..e.offset() + 3],
            b"null",
            "{text}"
        );
        // Lenient: an issue at the same place, and the rest read.
        let (r, issues) = json::from_slice_lenient::<Resource>(text.as_bytes()).unwrap();
        assert_eq!(r.resource_type(), "Patient");
        assert_eq!(issues.len(), 1, "{text}: {issues:?}");
        assert_eq!(issues[0].kind, ErrorKind::InvalidValue);
        assert_eq!(
            (issues[0].location.as_str(), issues[0].column),
            (path, column)
        );
        // The XML converter refuses it at the same element, no longer at line 1, column 1.
        let x = xml::json_to_xml(text.as_bytes()).unwrap_err();
        assert_eq!(x.path(), path.replace("._given", ".given"), "{text}: {x}");
        assert_eq!(x.column(), Some(column), "{text}: {x}");
    }
    // Paired nulls read (either order, an id-only extension), and write back unchanged.
    for text in [
        r#"{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"g"}]}]}"#,
        r#"{"resourceType":"Patient","name":[{"_given":[{"id":"g"},null],"given":[null,"b"]}]}"#,
    ] {
        let r: Resource = json::from_str(text).unwrap();
        let back: Resource = json::from_str(&json::to_string(&r)).unwrap();
        assert_eq!(back, r);
        let (_, issues) = json::from_slice_lenient::<Resource>(text.as_bytes()).unwrap();
        assert!(issues.is_empty(), "{issues:?}");
    }
}

// F13: the narrative is checked as it is read: one well-formed XHTML `div`, in the XHTML
// namespace, with no entity but XML's; `fhir check` and `fhir convert` then agree.
#[test]
fn narrative_must_be_one_well_formed_xhtml_div() {
    let with = |div: &str| {
        format!(
            r#"{{"resourceType":"Patient","text":{{"status":"generated","div":{}}}}}"#,
            serde_json_string(div)
        )
    };
    let ns = r#"xmlns="http://www.w3.org/1999/xhtml""#;
    for bad in [
        // The probe's file: `<b>` never closed, and HTML's `&nbsp;`.
        "<div>unclosed &nbsp; <b>x</div>".to_owned(),
        format!("<div {ns}>unclosed <b>x</div>"),
        format!("<div {ns}>a&nbsp;b</div>"),
        format!("<div {ns}>a</div><p>b</p>"),
        format!("<p {ns}>a</p>"),
        "<div>no namespace</div>".to_owned(),
        r#"<div xmlns="http://www.w3.org/1999/xhtml/">a slash too many</div>"#.to_owned(),
        "just text".to_owned(),
    ] {
        let text = with(&bad);
        let e = strict_err(text.as_bytes());
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "{bad}");
        assert_eq!(e.path(), "Patient.text.div", "{bad}");
        assert!(e.message().contains("narrative"), "{bad}: {e}");
        let (_, issues) = json::from_slice_lenient::<Resource>(text.as_bytes()).unwrap();
        assert_eq!(issues.len(), 1, "{bad}: {issues:?}");
        assert_eq!(issues[0].kind, ErrorKind::InvalidValue);
    }
    let e = strict_err(with("<div>unclosed &nbsp; <b>x</div>").as_bytes());
    assert_eq!((e.line(), e.column()), (1, 94), "{e}"); // the closing quote
    for good in [
        format!("<div {ns}>Ann &amp; Bo&#160;&#x1F600; <b>x</b><!-- c --></div>"),
        format!("<div {ns}/>"),
    ] {
        let text = with(&good);
        let r: Resource = json::from_str(&text).unwrap_or_else(|e| panic!("{good}: {e}"));
        // What reads also converts to XML and back.
        let xml_text = xml::to_string(&r).unwrap();
        let again = xml::from_str(&xml_text).unwrap();
        assert_eq!(json::to_string(&again), json::to_string(&r));
    }
    // White space around the div reads (XML has nowhere to keep it).
    assert!(json::from_str::<Resource>(&with(&format!("\n  <div {ns}><p>a</p></div>\n"))).is_ok());
    // The XML reader declares the namespace on a div that left it to an ancestor: it reads.
    let x = r#"<Patient xmlns="http://hl7.org/fhir" xmlns:h="http://www.w3.org/1999/xhtml"><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>a</p></div></text></Patient>"#;
    assert!(xml::from_str(x).is_ok());
}

fn serde_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// F17: integer, positiveInt and unsignedInt values are in R4's form -?([0]|([1-9][0-9]*)) in
// the converters as in the typed reader, whose message shows the number as written.
#[test]
fn integers_in_other_forms_are_refused_by_converters_and_reader() {
    let obs = |v: &str| {
        format!(
            r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"valueInteger":{v}}}"#
        )
    };
    // `-0` matches R4's regex, but the reader's JSON parser cannot tell it from `-0.0`: it is
    // refused everywhere alike (write `0`).
    for bad in ["1e2", "2.0", "1E0", "-1.5", "0.0", "-0"] {
        let text = obs(bad);
        let e = strict_err(text.as_bytes());
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "{bad}");
        assert_eq!(e.path(), "Observation.valueInteger", "{bad}");
        assert!(
            e.message().starts_with(&format!("{bad} is not an integer")),
            "{e}"
        );
        let x = xml::json_to_xml(text.as_bytes()).unwrap_err();
        assert!(
            matches!(
                x.kind(),
                xml::ErrorKind::InvalidValue {
                    expected: "integer",
                    ..
                }
            ),
            "{bad}: {x}"
        );
        assert_eq!(x.offset(), Some(text.find(bad).unwrap()), "{bad}: {x}");
        assert_eq!(x.path(), "Observation.valueInteger");
        let from_xml = format!(
            r#"<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="x"/></code><valueInteger value="{bad}"/></Observation>"#
        );
        let x = xml::xml_to_json(from_xml.as_bytes()).unwrap_err();
        assert!(
            matches!(x.kind(), xml::ErrorKind::InvalidValue { .. }),
            "{bad}: {x}"
        );
        assert_eq!(
            x.offset(),
            Some(from_xml.find("<valueInteger").unwrap()),
            "{x}"
        );
    }
    // positiveInt and unsignedInt too (Patient.multipleBirthInteger is an integer; these are
    // the extension choices), with the text in the message.
    for (member, bad, what) in [
        ("valuePositiveInt", "1e2", "a positiveInt"),
        ("valueUnsignedInt", "3.0", "an unsignedInt"),
        ("valueUnsignedInt", "99999999999999999999", "an unsignedInt"),
    ] {
        let text = format!(
            r#"{{"resourceType":"Patient","extension":[{{"url":"http://e","{member}":{bad}}}]}}"#
        );
        let e = strict_err(text.as_bytes());
        assert!(
            e.message().starts_with(&format!("{bad} is not {what}")),
            "{e}"
        );
        assert_eq!(e.path(), format!("Patient.extension[0].{member}"));
        if !bad.starts_with('9') {
            assert!(xml::json_to_xml(text.as_bytes()).is_err(), "{bad}");
        }
    }
    // The integer forms read, convert and stay as written; -0 is R4's form for 0.
    for ok in ["0", "-7", "2147483647", "-2147483648"] {
        let text = obs(ok);
        let r: Resource = json::from_str(&text).unwrap();
        assert_eq!(json::to_string(&r), text);
        let x = xml::json_to_xml(text.as_bytes()).unwrap();
        assert!(
            x.contains(&format!(r#"<valueInteger value="{ok}"/>"#)),
            "{x}"
        );
        assert_eq!(xml::xml_to_json(x.as_bytes()).unwrap(), text);
    }
    // Placed at the number also when it is not the object's last member, and in an array.
    let text = r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"component":[{"code":{"text":"g"},"valueInteger":2.50}]}"#;
    let e = strict_err(text.as_bytes());
    assert_eq!(e.path(), "Observation.component[0].valueInteger");
    assert!(e.message().starts_with("2.50 is not an integer"), "{e}");
    assert_eq!(&text[e.offset() - 4..e.offset()], "2.50");
    let e = strict_err(obs("2147483648").as_bytes());
    assert!(
        e.message().starts_with("2147483648 is not an integer"),
        "{e}"
    );
    // positiveInt and unsignedInt ranges are as before.
    let e = strict_err(
        br#"{"resourceType":"Patient","extension":[{"url":"http://e","valuePositiveInt":0}]}"#,
    );
    assert!(e.message().contains("0 is not a positiveInt"), "{e}");
}
