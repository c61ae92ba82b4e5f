//! Checks shared by the mapping tests.

use carecodec_fhir::Resource;
use carecodec_fhir::uk_core::validate::{Severity, validate_nested};
use serde_json::Value;

/// The problems of a written Bundle: `Err` when it does not read strictly as
/// R4, else every UK Core error of the Bundle and its entries (the Bundle
/// invariants, each entry against its own profile or the R4 base rules,
/// reference targets resolved inside the Bundle: `Profile: location:
/// message`, entries located as `Bundle.entry[N].resource…`) and every entry
/// sharing its full URL, or its update's URL (a conditional or keyed `PUT`),
/// with an earlier one ([`shared_urls`]); an empty list means valid.
#[allow(dead_code)] // not every test binary writes Bundles
pub fn uk_core_errors(bundle: &Value) -> Result<Vec<String>, String> {
    let r: Resource = carecodec_fhir::json::from_str(&bundle.to_string())
        .map_err(|e| format!("not valid R4: {e}"))?;
    if !matches!(r, Resource::Bundle(_)) {
        return Err("not a Bundle".into());
    }
    let mut errors = shared_urls(bundle);
    errors.extend(
        validate_nested(&r)
            .into_iter()
            .filter(|(_, i)| i.severity == Severity::Error)
            .map(|(profile, i)| format!("{profile}: {}: {}", i.location, i.message)),
    );
    Ok(errors)
}

/// `v` with every `sources` list removed (values read back from FHIR say
/// where in the Bundle they came from, not where the original came from).
#[allow(dead_code)] // not every test binary compares model values
pub fn without_sources(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("sources");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// An assigning authority's universal id as a system (HD.2 typed by HD.3):
/// none, an ISO OID, a UUID or a URI.
#[allow(dead_code)] // used by the round-trip tests only
pub fn authority_system() -> proptest::strategy::BoxedStrategy<Option<String>> {
    use proptest::prelude::*;
    prop_oneof![
        Just(None),
        "[0-2](\\.[1-9][0-9]{0,4}){1,6}".prop_map(|oid| Some(format!("urn:oid:{oid}"))),
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
            .prop_map(|u| Some(format!("urn:uuid:{u}"))),
        "https://[a-z]{3,8}\\.nhs\\.uk/Id/[a-z-]{3,12}".prop_map(Some),
    ]
    .boxed()
}

/// Every file under `dir`, depth first, in name order.
#[allow(dead_code)] // not every test binary reads the corpora
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// R4 ele-1 and FHIR JSON: no `{}`, `[]`, blank string, null or control
/// character anywhere.
#[allow(dead_code)] // used by the writer tests only
pub fn no_empty(v: &Value, at: &str) {
    match v {
        Value::Object(m) => {
            assert!(!m.is_empty(), "empty object at {at}");
            m.iter()
                .for_each(|(k, x)| no_empty(x, &format!("{at}.{k}")));
        }
        Value::Array(a) => {
            assert!(!a.is_empty(), "empty array at {at}");
            a.iter()
                .enumerate()
                .for_each(|(i, x)| no_empty(x, &format!("{at}[{i}]")));
        }
        Value::String(s) => {
            assert!(!s.trim().is_empty(), "blank string at {at}");
            let control = s
                .chars()
                .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r'));
            assert!(!control, "control character at {at}: {s:?}");
        }
        Value::Null => panic!("null at {at}"),
        _ => {}
    }
}

/// Each entry of `bundle` whose full URL, or whose request's URL when it
/// is an update (`PUT`: conditional, `Condition?identifier=…`, or keyed,
/// `AllergyIntolerance/{id}`), is an earlier entry's: R4's transaction
/// rule (a server refuses such a Bundle), and two items of one message
/// with one key are one resource. Creates (`POST Type`) may share a URL.
#[allow(dead_code)] // not every test binary writes Bundles
pub fn shared_urls(bundle: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let (mut full, mut updates) = (Vec::new(), Vec::new());
    let entries = bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (n, e) in entries.iter().enumerate() {
        if let Some(u) = e["fullUrl"].as_str() {
            if let Some((m, _)) = full.iter().find(|(_, x)| *x == u) {
                errors.push(format!("entry {n}: full URL {u} is entry {m}'s"));
            }
            full.push((n, u));
        }
        let request = &e["request"];
        if request["method"] == "PUT" {
            let u = request["url"].as_str().unwrap_or_default();
            if let Some((m, _)) = updates.iter().find(|(_, x)| *x == u) {
                errors.push(format!("entry {n}: PUT {u} is entry {m}'s"));
            }
            updates.push((n, u));
        }
    }
    errors
}

/// The transaction Bundle of `event` and what it lists as not written; the
/// Bundle must read as strict R4, pass the UK Core checks
/// ([`uk_core_errors`]) and hold no empty object, array or string
/// ([`no_empty`]).
#[allow(dead_code)] // not every test binary writes events
pub fn write_valid(event: &carecodec_model::Event) -> (Value, Vec<carecodec_model::NotWritten>) {
    use carecodec_map::fhir::{BundleType, write_event_bundle_noting};
    let (mut out, mut lost) = (Vec::new(), Vec::new());
    write_event_bundle_noting(event, BundleType::Transaction, None, &mut out, &mut lost).unwrap();
    let bundle: Value = serde_json::from_slice(&out).unwrap();
    let errors = uk_core_errors(&bundle).unwrap();
    assert!(errors.is_empty(), "{errors:#?}\n{bundle}");
    no_empty(&bundle, "Bundle");
    (bundle, lost)
}
