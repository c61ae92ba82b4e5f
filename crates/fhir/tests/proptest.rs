//! Property tests: generated resources write to JSON and read back equal; arbitrary bytes never
//! panic the reader.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_fhir::json;
use carecodec_fhir::{
    AnyValue, Coding, Decimal, Extension, HumanName, Patient, PatientDeceased, Primitive,
    PrimitiveExt, Resource,
};
use proptest::prelude::*;

/// Text a FHIR string may hold: anything but the control characters below U+0020 other than
/// tab, LF and CR (the reader rejects those: see `control_characters_are_rejected`), and never
/// empty (R4 JSON: see `empty_strings_are_refused`).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 '-]{1,12}",
        any::<String>().prop_map(|s| s
            .chars()
            .filter(|&c| c >= ' ' || matches!(c, '\t' | '\n' | '\r'))
            .take(12)
            .collect()),
        Just("line\n\"quoted\" \\ \t \u{7f} \u{2028} é".to_string()),
    ]
    .prop_map(non_empty)
}

/// `s`, or `x` for an empty one.
fn non_empty(s: String) -> String {
    if s.is_empty() { "x".to_owned() } else { s }
}

/// A `uri`: any text without white space (R4's `\S*`; the reader rejects the rest).
fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}:[A-Za-z0-9/._~%-]{0,12}",
        text().prop_map(|s| s
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect()),
    ]
    .prop_map(non_empty)
}

/// A resource `id`: R4's `[A-Za-z0-9\-\.]{1,64}`.
fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.-]{1,64}"
}

fn decimal() -> impl Strategy<Value = Decimal> {
    ("-?(0|[1-9][0-9]{0,8})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,2})?")
        .prop_map(|s| Decimal::parse(&s).expect("generated decimal"))
}

fn leaf_extension() -> impl Strategy<Value = Extension> {
    let value = prop_oneof![
        text().prop_map(|s| AnyValue::String(Primitive::new(s))),
        decimal().prop_map(|d| AnyValue::Decimal(Primitive::new(d))),
        any::<i32>().prop_map(|i| AnyValue::Integer(Primitive::new(i))),
        any::<bool>().prop_map(|b| AnyValue::Boolean(Primitive::new(b))),
        (uri(), text()).prop_map(|(s, c)| AnyValue::Coding(Box::new(Coding {
            system: Some(Primitive::new(s)),
            display: Some(Primitive::new(c)),
            ..Coding::default()
        }))),
    ];
    (text(), value).prop_map(|(url, v)| Extension {
        url: Some(url),
        value: Some(v),
        ..Extension::default()
    })
}

fn ext() -> impl Strategy<Value = PrimitiveExt> {
    (
        proptest::option::of(text()),
        proptest::collection::vec(leaf_extension(), 0..3),
    )
        // Not empty: `"_x": {}` is not FHIR (ele-1).
        .prop_filter("empty", |(id, extension)| {
            id.is_some() || !extension.is_empty()
        })
        .prop_map(|(id, extension)| PrimitiveExt { id, extension })
}

/// A primitive that has a value, an extension, or both (a primitive with neither is not FHIR).
fn prim<T: std::fmt::Debug + Clone + 'static>(
    v: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Primitive<T>> {
    (proptest::option::of(v), proptest::option::of(ext())).prop_filter_map("empty", |(value, e)| {
        (value.is_some() || e.is_some()).then(|| Primitive {
            value,
            ext: e.map(Box::new),
        })
    })
}

fn patient() -> impl Strategy<Value = Patient> {
    let name = (
        proptest::option::of(prim(text())),
        proptest::collection::vec(prim(text()), 0..4),
    )
        // Not empty: `"name": [{}]` is not FHIR (ele-1).
        .prop_filter("empty", |(family, given)| {
            family.is_some() || !given.is_empty()
        })
        .prop_map(|(family, given)| HumanName {
            family,
            given,
            ..HumanName::default()
        });
    (
        proptest::option::of(id()),
        proptest::collection::vec(name, 0..3),
        proptest::option::of(prim(prop_oneof![
            Just("male".to_string()),
            Just("unknown".to_string())
        ])),
        proptest::option::of(prim("[0-9]{4}(-[0-9]{2}){0,2}")),
        proptest::option::of(prop_oneof![
            prim(any::<bool>()).prop_map(PatientDeceased::Boolean),
            prim("[0-9]{4}").prop_map(PatientDeceased::DateTime),
        ]),
        proptest::collection::vec(leaf_extension(), 0..3),
        proptest::option::of(prim(any::<i32>())),
    )
        .prop_map(
            |(id, name, gender, birth_date, deceased, extension, births)| Patient {
                id: id.map(Primitive::new),
                name,
                gender,
                birth_date,
                deceased,
                extension,
                multiple_birth: births.map(carecodec_fhir::PatientMultipleBirth::Integer),
                ..Patient::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_patients_round_trip(p in patient()) {
        let r = Resource::from(p);
        let out = json::to_vec(&r);
        let back: Resource = json::from_slice(&out).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&out))))?;
        prop_assert_eq!(&back, &r);
        let pretty: Resource = json::from_str(&json::to_string_pretty(&r)).unwrap();
        prop_assert_eq!(pretty, r);
    }

    #[test]
    fn control_characters_are_rejected(
        s in text(),
        c in (0u32..0x20).prop_filter("allowed", |c| !matches!(c, 9 | 10 | 13)),
        at in any::<prop::sample::Index>(),
    ) {
        let mut chars: Vec<char> = s.chars().collect();
        chars.insert(at.index(chars.len() + 1), char::from_u32(c).unwrap());
        let family: String = chars.into_iter().collect();
        let r = Resource::from(Patient {
            name: vec![HumanName {
                family: Some(Primitive::new(family)),
                ..HumanName::default()
            }],
            ..Patient::default()
        });
        let out = json::to_vec(&r);
        let e = json::from_slice::<Resource>(&out).unwrap_err();
        prop_assert_eq!(e.kind(), json::ErrorKind::InvalidValue);
        prop_assert_eq!(e.path(), "Patient.name[0].family");
        let (back, issues) = json::from_slice_lenient::<Resource>(&out).unwrap();
        prop_assert_eq!(issues.len(), 1);
        prop_assert_eq!(back, r);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = json::from_slice::<Resource>(&data);
        let _ = json::from_slice_lenient::<Resource>(&data);
    }

    #[test]
    fn mutated_json_never_panics(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut data = br#"{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}],"deceasedBoolean":true,"multipleBirthInteger":2}"#.to_vec();
        let i = pos.index(data.len());
        data[i] = byte;
        if let Ok(r) = json::from_slice::<Resource>(&data) {
            let back: Resource = json::from_slice(&json::to_vec(&r)).unwrap();
            prop_assert_eq!(back, r);
        }
    }
}
