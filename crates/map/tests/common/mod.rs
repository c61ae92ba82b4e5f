//! Checks shared by the mapping tests.

use carecodec_fhir::Resource;
use carecodec_fhir::uk_core::validate::{Severity, validate_nested};
use serde_json::Value;

/// The problems of a written Bundle: `Err` when it does not read strictly as
/// R4, else every UK Core error of the Bundle and its entries (the Bundle
/// invariants, each entry against its own profile or the R4 base rules,
/// reference targets resolved inside the Bundle: `Profile: location:
/// message`, entries located as `Bundle.entry[N].resource…`); an empty list
/// means valid.
#[allow(dead_code)] // not every test binary writes Bundles
pub fn uk_core_errors(bundle: &Value) -> Result<Vec<String>, String> {
    let r: Resource = carecodec_fhir::json::from_str(&bundle.to_string())
        .map_err(|e| format!("not valid R4: {e}"))?;
    if !matches!(r, Resource::Bundle(_)) {
        return Err("not a Bundle".into());
    }
    Ok(validate_nested(&r)
        .into_iter()
        .filter(|(_, i)| i.severity == Severity::Error)
        .map(|(profile, i)| format!("{profile}: {}: {}", i.location, i.message))
        .collect())
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
