//! FHIR JSON reading and writing on the crate's own fixtures and hostile inputs.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::Path;

use carecodec_fhir::json::{self, ErrorKind};
use carecodec_fhir::{
    AnyValue, Decimal, Extension, HumanName, Observation, ObservationValue, Patient, Primitive,
    PrimitiveExt, Resource,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn fixtures_round_trip() {
    for name in [
        "patient-uk-core.json",
        "observation-decimals.json",
        "bundle-collection.json",
        "message-header.json",
    ] {
        let input = fixture(name);
        let r: Resource = json::from_slice(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        common::same_json(&input, &json::to_vec(&r)).unwrap_or_else(|d| panic!("{name}: {d}"));
        let pretty = json::to_string_pretty(&r);
        let again: Resource = json::from_str(&pretty).unwrap();
        assert_eq!(again, r, "{name}: pretty output reads back the same");
    }
}

#[test]
fn primitive_extensions_and_decimals() {
    let r: Resource = json::from_slice(&fixture("patient-uk-core.json")).unwrap();
    let Resource::Patient(p) = r else { panic!() };
    let given = &p.name[0].given;
    assert_eq!(given[0].value.as_deref(), Some("Ann"));
    assert!(given[0].ext.is_none());
    assert_eq!(given[1].id(), Some("g2"));
    assert_eq!(p.birth_date.as_ref().unwrap().extension().len(), 1);

    let r: Resource = json::from_slice(&fixture("observation-decimals.json")).unwrap();
    let Resource::Observation(o) = r else {
        panic!()
    };
    let Some(ObservationValue::Quantity(q)) = &o.value else {
        panic!()
    };
    assert_eq!(
        q.value.as_ref().unwrap().value.as_ref().unwrap().as_str(),
        "27.50"
    );
    let out = String::from_utf8(json::to_vec(&*o)).unwrap();
    assert!(out.contains("\"value\":27.50") && out.contains("1E-22") && out.contains("24.90"));
}

#[test]
fn key_order_does_not_matter() {
    let a = br#"{"resourceType":"Patient","_birthDate":{"id":"x"},"birthDate":"2000","name":[{"_given":[{"id":"a"}],"given":["A"]}]}"#;
    let b = br#"{"name":[{"given":["A"],"_given":[{"id":"a"}]}],"birthDate":"2000","resourceType":"Patient","_birthDate":{"id":"x"}}"#;
    let ra: Resource = json::from_slice(a).unwrap();
    let rb: Resource = json::from_slice(b).unwrap();
    assert_eq!(ra, rb);
    assert_eq!(
        json::to_string(&ra),
        r#"{"resourceType":"Patient","name":[{"given":["A"],"_given":[{"id":"a"}]}],"birthDate":"2000","_birthDate":{"id":"x"}}"#
    );
}

fn err(input: &[u8]) -> json::Error {
    json::from_slice::<Resource>(input).unwrap_err()
}

#[test]
fn errors_name_the_problem_and_place() {
    let e = err(b"{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"a\"},\n\"valueString\":\"a\",\"valueQuantity\":{\"value\":1}}");
    assert_eq!(e.kind(), ErrorKind::MultipleChoice);
    assert!(
        e.message().contains("valueString") && e.message().contains("valueQuantity"),
        "{e}"
    );
    assert_eq!(e.line(), 2);
    assert_eq!(e.path(), "Observation.valueQuantity");

    let e = err(br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#);
    assert_eq!(e.kind(), ErrorKind::DuplicateElement);
    let e = err(br#"{"resourceType":"Patient","name":[{"family":"x","colour":"red"}]}"#);
    assert_eq!(e.kind(), ErrorKind::UnknownElement);
    assert_eq!(e.path(), "Patient.name[0].colour");
    let e = err(br#"{"resourceType":"Nope"}"#);
    assert_eq!(e.kind(), ErrorKind::UnknownResourceType);
    let e = err(br#"{"id":"x"}"#);
    assert_eq!(e.kind(), ErrorKind::UnknownResourceType);
    let e = err(br#"{"resourceType":"Observation","code":{"text":"a"}}"#);
    assert_eq!(e.kind(), ErrorKind::MissingElement);
    assert!(e.message().contains("`status`"));
    let e = err(br#"{"resourceType":"Patient","gender":"fe male "}"#);
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    let e = err(br#"{"resourceType":"Observation","status":"final","code":{"text":"a"},"valueQuantity":{"value":"1.0"}}"#);
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    let e = err(br#"{"resourceType":"Patient","active":"true"}"#);
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    let e = err(br#"{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[null]}]}"#);
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    let e = err(br#"{"resourceType":"Patient"} x"#);
    assert_eq!(e.kind(), ErrorKind::Syntax);
    let e = err(br#"{"resourceType":"Patient","#);
    assert_eq!(e.kind(), ErrorKind::Eof);
}

#[cfg(not(feature = "account"))]
#[test]
fn disabled_resource_type_names_its_feature() {
    let e = err(br#"{"resourceType":"Account","status":"active"}"#);
    assert_eq!(e.kind(), ErrorKind::DisabledResourceType);
    assert!(e.message().contains("`account`"), "{e}");
}

#[test]
fn lenient_collects_issues() {
    let input = br#"{"resourceType":"Observation","code":{"colour":1},"status":"final","extra":[1,{"a":2}]}"#;
    assert_eq!(err(input).kind(), ErrorKind::UnknownElement);
    let (r, issues) = json::from_slice_lenient::<Resource>(input).unwrap();
    assert_eq!(r.resource_type(), "Observation");
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["CodeableConcept.colour", "Observation.extra"]);
    let (_, issues) = json::from_slice_lenient::<Resource>(
        br#"{"resourceType":"Observation","code":{"text":"a"}}"#,
    )
    .unwrap();
    assert_eq!(issues[0].kind, ErrorKind::MissingElement);
    // Strict reading afterwards is strict again.
    assert!(json::from_slice::<Resource>(input).is_err());
}

/// An unknown element tolerated by the lenient reader says which one and where, also inside
/// a resource whose `resourceType` is not first.
#[test]
fn lenient_issues_are_located() {
    let input =
        b"{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\"},\n {\"colour\":\"red\"}]}";
    let (_, issues) = json::from_slice_lenient::<Resource>(input).unwrap();
    assert_eq!(issues[0].path, "HumanName.colour");
    assert_eq!(issues[0].location, "Patient.name[1].colour");
    assert_eq!((issues[0].line, issues[0].column), (2, 12));
    assert_eq!(issues[0].offset, Some(61));
    let input = b"{\"entry\":[{\"resource\":{\"name\":[{\"colour\":1}],\"resourceType\":\"Patient\"}}],\"resourceType\":\"Bundle\",\"type\":\"collection\"}";
    let (_, issues) = json::from_slice_lenient::<Resource>(input).unwrap();
    assert_eq!(
        issues[0].location,
        "Bundle.entry[0].resource.name[0].colour"
    );
    assert_eq!(issues[0].column, 42);
}

#[test]
fn resource_type_anywhere() {
    let r: Resource =
        json::from_slice(br#"{"id":"x","gender":"male","resourceType":"Patient"}"#).unwrap();
    assert_eq!(
        json::to_string(&r),
        r#"{"resourceType":"Patient","id":"x","gender":"male"}"#
    );
    let e = err(br#"{"id":"x","gender":1,"resourceType":"Patient"}"#);
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
}

/// A fault inside resources whose `resourceType` is not first (sorted keys, at two levels)
/// is reported where it is in the file, not at the end of the outer resource.
#[test]
fn errors_keep_their_place_when_resource_type_is_last() {
    let input = b"{\"entry\":[\n {\"resource\":{\"id\":\"a\",\"resourceType\":\"Patient\"}},\n {\"resource\":{\"name\":[{\"colour\":\"red\"}],\"resourceType\":\"Patient\"}}\n],\n\"resourceType\":\"Bundle\",\"type\":\"collection\"}";
    let e = err(input);
    assert_eq!(e.kind(), ErrorKind::UnknownElement);
    assert_eq!(e.path(), "Bundle.entry[1].resource.name[0].colour", "{e}");
    assert_eq!((e.line(), e.column()), (3, 31), "{e}");
    assert!(!e.message().contains("first member"), "{e}");
    let e = err(b"{\"id\":\"x\",\n\"gender\":1,\"resourceType\":\"Patient\"}");
    assert_eq!((e.line(), e.path()), (2, "Patient.gender"), "{e}");
}

#[test]
fn hostile_inputs_give_errors() {
    big_stack(|| {
        // 10^5-deep nesting, in several shapes.
        let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(json::from_slice::<Resource>(deep_array.as_bytes()).is_err());
        let deep_value: Result<serde_json::Value, _> = json::from_slice(deep_array.as_bytes());
        assert_eq!(deep_value.unwrap_err().kind(), ErrorKind::DepthLimit);
        let mut ext = String::from(r#"{"resourceType":"Patient","extension":"#);
        for _ in 0..100_000 {
            ext.push_str(r#"[{"url":"u","extension":"#);
        }
        assert_eq!(err(ext.as_bytes()).kind(), ErrorKind::DepthLimit);
        let mut res = String::from(r#"{"resourceType":"Patient","contained":"#);
        for _ in 0..100_000 {
            res.push_str(r#"[{"resourceType":"Patient","contained":"#);
        }
        assert_eq!(err(res.as_bytes()).kind(), ErrorKind::DepthLimit);
        let mut lenient = String::from(r#"{"resourceType":"Patient","unknown":"#);
        lenient.push_str(&"[".repeat(100_000));
        assert!(json::from_slice_lenient::<Resource>(lenient.as_bytes()).is_err());
        let mut reordered = String::new();
        for _ in 0..100_000 {
            reordered.push_str(r#"{"contained":["#);
        }
        assert!(json::from_slice::<Resource>(reordered.as_bytes()).is_err());
    });
    // A 100 MB string is read (or rejected) without trouble: as base64Binary data, read; as
    // a name (a `string`: at most 1,048,576 characters) or an id (at most 64), rejected.
    let mut big = String::from(r#"{"resourceType":"Patient","photo":[{"data":""#);
    big.push_str(&"a".repeat(100 << 20));
    big.push_str("\"}]}");
    let r: Resource = json::from_slice(big.as_bytes()).unwrap();
    assert_eq!(json::to_vec(&r).len(), big.len());
    let mut big = String::from(r#"{"resourceType":"Patient","name":[{"text":""#);
    big.push_str(&"a".repeat(100 << 20));
    big.push_str("\"}]}");
    let e = err(big.as_bytes());
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    assert_eq!(e.path(), "Patient.name[0].text");
    let mut big = String::from(r#"{"resourceType":"Patient","id":""#);
    big.push_str(&"a".repeat(100 << 20));
    big.push_str("\"}");
    let e = err(big.as_bytes());
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    assert_eq!(e.path(), "Patient.id");
    drop(big);
    // Invalid UTF-8 inside a string.
    let e = err(b"{\"resourceType\":\"Patient\",\"id\":\"\xff\xfe\"}");
    assert_eq!(e.kind(), ErrorKind::Syntax);
    // Duplicate keys, including `resourceType`.
    assert_eq!(
        err(br#"{"resourceType":"Patient","resourceType":"Patient","id":"a","id":"b"}"#).kind(),
        ErrorKind::DuplicateElement
    );
    assert_eq!(
        err(br#"{"id":"a","resourceType":"Patient","resourceType":"Patient"}"#).kind(),
        ErrorKind::DuplicateElement
    );
    assert!(json::from_slice::<Resource>(b"").is_err());
    assert!(json::from_slice::<Resource>(b"null").is_err());
    assert!(json::from_slice::<Resource>(b"[]").is_err());
}

#[test]
fn built_in_code_round_trips() {
    let mut p = Patient {
        id: Some("x".into()),
        ..Patient::default()
    };
    p.name.push(HumanName {
        family: Some("O'Neil \"Q\"".into()),
        given: vec![
            Primitive::from("A"),
            Primitive {
                value: None,
                ext: Some(Box::new(PrimitiveExt {
                    id: Some("e".into()),
                    extension: vec![],
                })),
            },
        ],
        ..HumanName::default()
    });
    p.extension.push(Extension {
        url: Some("http://example.org/x".into()),
        value: Some(AnyValue::Decimal(Primitive::new(
            Decimal::parse("0.10").unwrap(),
        ))),
        ..Extension::default()
    });
    let r = Resource::from(p);
    let text = json::to_string(&r);
    assert_eq!(json::from_str::<Resource>(&text).unwrap(), r);
    assert!(text.contains(r#""valueDecimal":0.10"#), "{text}");
    let o = Observation::default();
    assert_eq!(json::to_string(&o), r#"{"resourceType":"Observation"}"#);
}

/// An invalid code is placed at the code itself (line, column, path with its index), also
/// when it is the last member of its object or an item of a repeating element; checked
/// after the member, it was placed after the enclosing object (`Patient`, or
/// `Location.hoursOfOperation[0]` without the index of the bad item).
#[test]
fn invalid_codes_are_placed_at_the_value() {
    let e = err(b"{\"resourceType\":\"Patient\",\n\"gender\": \"a  b\"}");
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    assert_eq!(
        (e.path(), e.line(), e.column()),
        ("Patient.gender", 2, 16),
        "{e}"
    );
    let e =
        err(br#"{"resourceType":"Location","hoursOfOperation":[{"daysOfWeek":["mon","t  u"]}]}"#);
    assert_eq!(
        e.path(),
        "Location.hoursOfOperation[0].daysOfWeek[1]",
        "{e}"
    );
    assert_eq!((e.line(), e.column()), (1, 74), "{e}");
    let e = err(
        br#"{"resourceType":"Patient","extension":[{"url":"http://example.org/a","valueCode":""}]}"#,
    );
    assert_eq!(e.path(), "Patient.extension[0].valueCode", "{e}");
    // Lenient reading still takes them as issues.
    let (_, issues) = json::from_slice_lenient::<Resource>(
        br#"{"resourceType":"Location","hoursOfOperation":[{"daysOfWeek":["mon","t  u"]}],"status":" x"}"#,
    )
    .unwrap();
    assert_eq!(issues.len(), 2, "{issues:?}");
}

/// `uri`, `url` and `canonical` values (R4 `\S*`), resource ids (`[A-Za-z0-9\-\.]{1,64}`),
/// `oid` and `uuid` values are checked against their regex as they are read, the error
/// placed at the value; valid ones read. Until 2026-12-07 only codes and control characters
/// were checked, so a Bundle could carry `"url": "file name.pdf"` and still read.
#[test]
fn uris_ids_oids_and_uuids_are_checked_as_read() {
    let bad: &[(&str, &str, &str)] = &[
        (
            r#"{"resourceType":"Patient","identifier":[{"system":"https://x.nhs.uk/a b","value":"1"}]}"#,
            "Patient.identifier[0].system",
            "not a uri",
        ),
        (
            r#"{"resourceType":"Observation","status":"final","code":{"text":"a"},"extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.value","valueAttachment":{"url":"file name.pdf"}}]}"#,
            "Observation.extension[0].valueAttachment.url",
            "not a uri",
        ),
        (
            r#"{"resourceType":"Patient","meta":{"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient","a\tb"]}}"#,
            "Patient.meta.profile[1]",
            "not a uri",
        ),
        (
            r#"{"resourceType":"Patient","id":"abc_123"}"#,
            "Patient.id",
            "not an id",
        ),
        (
            r#"{"resourceType":"Patient","id":""}"#,
            "Patient.id",
            // Refused as every empty string is (see `empty_strings_are_refused`).
            "empty string",
        ),
        (
            r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"a b"}}]}"#,
            "Bundle.entry[0].resource.id",
            "not an id",
        ),
        (
            r#"{"resourceType":"Patient","identifier":[{"value":"1","extension":[{"url":"http://example.org/o","valueOid":"urn:oid:1.02.3"}]}]}"#,
            "Patient.identifier[0].extension[0].valueOid",
            "not an oid",
        ),
        (
            r#"{"resourceType":"Patient","extension":[{"url":"http://example.org/u","valueUuid":"urn:uuid:A5E0C7D2-0B1F-4A8E-9C3D-2F6B8E1A7C90"}]}"#,
            "Patient.extension[0].valueUuid",
            "not a uuid",
        ),
    ];
    for (text, path, what) in bad {
        let e = json::from_str::<Resource>(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "{e}");
        assert_eq!(e.path(), *path, "{e}");
        assert!(e.message().contains(what), "{e}");
        // Placed at the bad value: the error's column is the value's closing quote.
        let column = e.column();
        assert_eq!(text.as_bytes().get(column - 1), Some(&b'"'), "{e}");
        // The lenient reader takes it as an issue and reads on.
        let (_, issues) = json::from_slice_lenient::<Resource>(text.as_bytes()).unwrap();
        assert_eq!(issues.len(), 1, "{issues:?}");
    }
    let good = [
        r#"{"resourceType":"Patient","id":"A-1.b","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}"#,
        r#"{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.840.1.113883.2.1.4.1","value":"1"}]}"#,
        r#"{"resourceType":"Patient","extension":[{"url":"http://example.org/o","valueOid":"urn:oid:2.16.0.1"},{"url":"http://example.org/u","valueUuid":"urn:uuid:a5e0c7d2-0b1f-4a8e-9c3d-2f6b8e1a7c90"}]}"#,
        r#"{"resourceType":"Patient","extension":[{"url":"http://example.org/u","valueUri":"urn:ietf:rfc:3986#caf%C3%A9é"}]}"#,
        // `\S` is not only ASCII: a C1 control or a no-break space is not R4's white space.
        "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"https://x.nhs.uk/a\u{9e}b\u{a0}c\",\"value\":\"1\"}]}",
    ];
    for text in good {
        json::from_str::<Resource>(text).unwrap();
    }
}

/// R4 JSON has no empty objects (ele-1: an element has a value or children) and no empty
/// arrays; `string`s hold at most 1,048,576 characters; `positiveInt` is 1 to 2,147,483,647
/// and `unsignedInt` 0 to 2,147,483,647. Each is an invalid value at its path, or a lenient
/// issue. Until 2026-12-07 all of them read (and `fhir check` passed them).
#[test]
fn empty_objects_and_arrays_long_strings_and_int_ranges_are_refused() {
    let bad: &[(&str, &str, &str)] = &[
        (
            r#"{"resourceType":"Patient","name":[{}]}"#,
            "Patient.name[0]",
            "empty object",
        ),
        (
            r#"{"resourceType":"Patient","contact":[{"name":{}}]}"#,
            "Patient.contact[0].name",
            "empty object",
        ),
        (
            r#"{"resourceType":"Condition","subject":{"reference":"Patient/a"},"code":{}}"#,
            "Condition.code",
            "empty object",
        ),
        (
            r#"{"resourceType":"Patient","birthDate":"2000-01-01","_birthDate":{}}"#,
            "Patient._birthDate",
            "empty object",
        ),
        (
            r#"{"resourceType":"Patient","name":[]}"#,
            "Patient.name",
            "empty array (`name`)",
        ),
        (
            r#"{"resourceType":"Patient","name":[{"given":[]}]}"#,
            "Patient.name[0].given",
            "empty array (`given`)",
        ),
        (
            r#"{"resourceType":"Patient","telecom":[{"system":"phone","value":"1","rank":0}]}"#,
            "Patient.telecom[0].rank",
            "not a positiveInt",
        ),
        (
            r#"{"resourceType":"Encounter","status":"finished","class":{"code":"IMP"},"diagnosis":[{"condition":{"reference":"Condition/a"},"rank":4294967295}]}"#,
            "Encounter.diagnosis[0].rank",
            "not a positiveInt",
        ),
        (
            r#"{"resourceType":"Patient","extension":[{"url":"http://example.org/n","valueUnsignedInt":2147483648}]}"#,
            "Patient.extension[0].valueUnsignedInt",
            "not an unsignedInt",
        ),
    ];
    for (text, path, what) in bad {
        let e = json::from_str::<Resource>(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "{text}: {e}");
        assert_eq!(e.path(), *path, "{e}");
        assert!(e.message().contains(what), "{e}");
        let (_, issues) = json::from_slice_lenient::<Resource>(text.as_bytes()).unwrap();
        assert_eq!(issues.len(), 1, "{issues:?}");
    }
    let long = format!(
        r#"{{"resourceType":"Patient","name":[{{"family":"{}"}}]}}"#,
        "é".repeat(1 << 20)
    );
    // 1,048,576 characters (2 MiB of UTF-8) are a string's most.
    json::from_str::<Resource>(&long).unwrap();
    let longer = long.replacen('é', "éa", 1);
    let e = json::from_str::<Resource>(&longer).unwrap_err();
    assert_eq!(e.path(), "Patient.name[0].family", "{e}");
    for good in [
        r#"{"resourceType":"Patient","telecom":[{"system":"phone","value":"1","rank":2147483647}]}"#,
        r#"{"resourceType":"Patient","extension":[{"url":"http://example.org/n","valueUnsignedInt":0}]}"#,
        r#"{"resourceType":"Patient"}"#,
    ] {
        json::from_str::<Resource>(good).unwrap();
    }
}

/// R4 JSON: "string property values can never be empty. Either the property is absent, or it
/// is present with at least one character of content". An empty string of any string-like
/// primitive (string, code, uri, id, date…, an element id, an extension url) is an invalid
/// value placed at it, or a lenient issue (probe eleven F3: `fhir check` passed
/// `"family": ""`). White space alone is R4's string regex `[ \r\n\t\S]+`: it reads.
#[test]
fn empty_strings_are_refused() {
    let bad: &[(&str, &str)] = &[
        (
            r#"{"resourceType":"Patient","name":[{"family":""}]}"#,
            "Patient.name[0].family",
        ),
        (
            r#"{"resourceType":"Patient","name":[{"given":["A",""]}]}"#,
            "Patient.name[0].given[1]",
        ),
        (
            r#"{"resourceType":"Patient","identifier":[{"system":"","value":"1"}]}"#,
            "Patient.identifier[0].system",
        ),
        (
            r#"{"resourceType":"Patient","birthDate":""}"#,
            "Patient.birthDate",
        ),
        (
            r#"{"resourceType":"Patient","gender":""}"#,
            "Patient.gender",
        ),
        (r#"{"resourceType":"Patient","id":""}"#, "Patient.id"),
        (
            r#"{"resourceType":"Patient","extension":[{"url":"","valueString":"x"}]}"#,
            "Patient.extension[0].url",
        ),
        (
            r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"note":[{"text":""}]}"#,
            "Observation.note[0].text",
        ),
    ];
    for (text, path) in bad {
        let e = json::from_str::<Resource>(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "{text}: {e}");
        assert_eq!(e.path(), *path, "{e}");
        assert!(e.message().contains("empty string"), "{e}");
        assert_eq!(e.line(), 1, "{e}");
        let (_, issues) = json::from_slice_lenient::<Resource>(text.as_bytes()).unwrap();
        assert_eq!(issues.len(), 1, "{text}: {issues:?}");
    }
    json::from_str::<Resource>(r#"{"resourceType":"Patient","name":[{"family":" "}]}"#).unwrap();
}

/// The strict reader's error for `text`, which must be an invalid value placed at the path
/// `path`, on line 1 at the byte just after the first occurrence of `value`: the closing
/// quote of the bad string, where the code errors are placed too.
fn control_err(text: &str, value: &str, path: &str) -> json::Error {
    let e = json::from_str::<Resource>(text).expect_err(text);
    assert_eq!(e.kind(), ErrorKind::InvalidValue, "{e}");
    assert_eq!(e.path(), path, "{e}");
    let at = text.find(value).expect(value) + value.len();
    assert_eq!((e.line(), e.column()), (1, at + 1), "{e}");
    assert!(e.message().contains("control character"), "{e}");
    e
}

/// FHIR R4 strings SHALL NOT hold characters below U+0020 other than tab, LF and CR
/// (probe finding 4: `"family":"SM\u0001ITH"` was accepted). Every string-like value is
/// checked as it is read, so the error is placed at the value: top level, nested in an array,
/// an item of a repeating element, inside an extension (its value and its url), an element
/// id, a narrative, a choice, a code; also inside a resource whose `resourceType` is not first.
#[test]
fn control_characters_in_strings_are_rejected_at_the_value() {
    let e = json::from_str::<Resource>(
        "{\"resourceType\":\"Patient\",\n\"birthDate\": \"1970\\u0007-01-01\"}",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidValue, "{e}");
    assert_eq!(
        (e.path(), e.line(), e.column()),
        ("Patient.birthDate", 2, 31),
        "{e}"
    );
    assert!(e.message().contains("U+0007"), "{e}");
    control_err(
        r#"{"resourceType":"Patient","name":[{"family":"SMI\u0000TH","given":["JO"]}]}"#,
        r#""SMI\u0000TH"#,
        "Patient.name[0].family",
    );
    control_err(
        r#"{"resourceType":"Patient","name":[{"given":["JO","JO\u0000HN"]}]}"#,
        r#""JO\u0000HN"#,
        "Patient.name[0].given[1]",
    );
    control_err(
        r#"{"resourceType":"Patient","name":[{"family":"A"},{"family":"B","_family":{"extension":[{"url":"http://example.org/x","valueString":"a\u001fb"}]}}]}"#,
        r#""a\u001fb"#,
        "Patient.name[1]._family.extension[0].valueString",
    );
    control_err(
        r#"{"resourceType":"Patient","extension":[{"url":"http://example.org/\u0001","valueCode":"x"}]}"#,
        r#""http://example.org/\u0001"#,
        "Patient.extension[0].url",
    );
    control_err(
        r#"{"resourceType":"Patient","name":[{"id":"n\u000b1","family":"A"}]}"#,
        r#""n\u000b1"#,
        "Patient.name[0].id",
    );
    control_err(
        r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">\u0002</div>"}}"#,
        r#"\u0002</div>"#,
        "Patient.text.div",
    );
    control_err(
        r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"1\u00002"}"#,
        r#""1\u00002"#,
        "Observation.valueString",
    );
    let code = r#"{"resourceType":"Patient","gender":"ma\u0001le"}"#;
    let e = json::from_str::<Resource>(code).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidValue, "{e}");
    assert!(e.message().contains("not a valid code"), "{e}");
    assert_eq!(
        (e.path(), e.column()),
        ("Patient.gender", code.len() - 1),
        "{e}"
    );
    control_err(
        r#"{"name":[{"family":"W\u00071"}],"resourceType":"Patient"}"#,
        r#""W\u00071"#,
        "Patient.name[0].family",
    );
    // In a Bundle entry, as the mapping layer writes them.
    control_err(
        r#"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Location","name":"W\u00071"},"request":{"method":"PUT","url":"Location/1"}}]}"#,
        r#""W\u00071"#,
        "Bundle.entry[0].resource.name",
    );
    // Raw in the JSON text, a control character is already malformed JSON (which is why a
    // string read without escapes needs no scan).
    let e = json::from_slice::<Resource>(
        b"{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"A\x01\"}]}",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax, "{e}");
    // Read from anything else (here a serde_json::Value, which lends its strings), every
    // string is checked.
    let value: serde_json::Value = serde_json::from_str(r#"{"family":"SMI\u0000TH"}"#).unwrap();
    let e = <HumanName as serde::Deserialize>::deserialize(&value).unwrap_err();
    assert!(e.to_string().contains("control character U+0000"), "{e}");
    // Tab, LF and CR are allowed, and so is everything from U+0020 up (DEL and C1 too).
    let ok = r#"{"resourceType":"Patient","name":[{"family":"a\tb\r\nc \u007f\u0085 é","given":["x\ty"]}]}"#;
    let r: Resource = json::from_str(ok).unwrap();
    assert_eq!(
        json::to_string(&r),
        ok.replace("\\u007f", "\u{7f}").replace("\\u0085", "\u{85}")
    );
}

/// The lenient reader takes a control character as an issue (like an invalid code) and keeps
/// the value as it was.
#[test]
fn control_characters_are_lenient_issues() {
    let (r, issues) = json::from_slice_lenient::<Resource>(
        br#"{"resourceType":"Patient","name":[{"family":"SMI\u0000TH","given":["A","JO\u0007HN"]}],"gender":"ma\u0001le"}"#,
    )
    .unwrap();
    assert_eq!(issues.len(), 3, "{issues:?}");
    assert!(
        issues.iter().all(|i| i.kind == ErrorKind::InvalidValue),
        "{issues:?}"
    );
    assert_eq!(
        issues.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(),
        ["family", "given", "gender"]
    );
    assert!(
        issues[0]
            .message
            .starts_with(r#""SMI\u0000TH" holds the control character U+0000 (`family`)"#),
        "{issues:?}"
    );
    let Resource::Patient(p) = r else {
        panic!("a Patient")
    };
    assert_eq!(
        p.name[0].family.as_ref().and_then(|f| f.value.as_deref()),
        Some("SMI\u{0}TH")
    );
}

/// The writers and a model string holding a control character: JSON escapes it (`\u0000`,
/// which JSON allows, so the write stays infallible and lossless) and the strict reader then
/// rejects it, placed at the value; XML cannot carry it and refuses to write.
#[test]
fn control_characters_from_the_model_are_escaped_in_json_refused_in_xml() {
    let r = Resource::from(Patient {
        name: vec![HumanName {
            family: Some(Primitive::new("SMI\u{0}TH".to_string())),
            ..HumanName::default()
        }],
        ..Patient::default()
    });
    let text = json::to_string(&r);
    assert_eq!(
        text,
        r#"{"resourceType":"Patient","name":[{"family":"SMI\u0000TH"}]}"#
    );
    control_err(&text, r#""SMI\u0000TH"#, "Patient.name[0].family");
    let e = carecodec_fhir::xml::to_string(&r).unwrap_err();
    assert!(
        matches!(e.kind(), carecodec_fhir::xml::ErrorKind::InvalidChar(0)),
        "{e}"
    );
    assert!(carecodec_fhir::has_control_char("SMI\u{0}TH"));
}

/// Each read keeps its own state, even when another read runs in the middle of it on the same
/// thread: here a `Resource` is read through its `Deserialize` impl from members an iterator
/// makes one at a time, and the iterator reads other documents (strict and lenient) as it goes.
/// When the reader kept its state in thread-locals, the read in the middle started at the
/// nesting depth of the one around it, and refused a document of resources nested as deep as
/// allowed.
#[test]
fn a_read_in_the_middle_of_another_keeps_its_own_state() {
    use serde::Deserialize;
    use serde::de::value::MapDeserializer;
    use serde_json::{Value, json};

    struct Members {
        members: std::vec::IntoIter<(&'static str, Value)>,
        deepest: String,
    }

    impl Iterator for Members {
        type Item = (&'static str, Value);
        fn next(&mut self) -> Option<Self::Item> {
            // Resources nested as deep as allowed read, strictly.
            let r: Resource = json::from_slice(self.deepest.as_bytes()).unwrap();
            assert_eq!(r.contained().len(), 1);
            // A lenient read's issues are its own: only its own, all of them.
            let (_, issues) = json::from_slice_lenient::<Resource>(
                br#"{"resourceType":"Patient","colour":"blue","gender":" male"}"#,
            )
            .unwrap();
            let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
            assert_eq!(paths, ["Patient.colour", "gender"]);
            // A strict read's error is its own, kind and place.
            let e = err(br#"{"resourceType":"Patient","gender":" male"}"#);
            assert_eq!(
                (e.kind(), e.column(), e.path()),
                (ErrorKind::InvalidValue, 42, "Patient.gender")
            );
            self.members.next()
        }
    }

    big_stack(|| {
        let depth = usize::from(json::MAX_RESOURCE_DEPTH);
        let deepest = format!(
            "{}{}{}",
            r#"{"resourceType":"Patient","contained":["#.repeat(depth - 1),
            r#"{"resourceType":"Patient"}"#,
            "]}".repeat(depth - 1)
        );
        let read = |members: Vec<(&'static str, Value)>| {
            let map = MapDeserializer::<_, serde_json::Error>::new(Members {
                members: members.into_iter(),
                deepest: deepest.clone(),
            });
            Resource::deserialize(map)
        };
        // Valid: read, with the reads in the middle done at each member.
        let r = read(vec![
            ("resourceType", json!("Patient")),
            ("gender", json!("female")),
        ])
        .unwrap();
        let Resource::Patient(p) = r else {
            panic!("a Patient")
        };
        assert_eq!(p.gender.and_then(|g| g.value).as_deref(), Some("female"));
        // Invalid: the outer read is strict whatever the reads in the middle were.
        let e = read(vec![
            ("resourceType", json!("Patient")),
            ("gender", json!("female")),
            ("colour", json!("red")),
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown element `colour` in Patient"),
            "{e}"
        );
    });
}
