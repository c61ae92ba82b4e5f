//! Fuzz bodies for `carecodec-fhir`.
#![allow(
    clippy::expect_used,
    reason = "a fuzz body reports a broken invariant by panicking"
)]

use carecodec_fhir::{Resource, json};

/// The fhir fuzz targets: name (file stem under `fuzz_targets/`) and body.
pub const TARGETS: &[crate::Target] = &[("fhir_json", json_roundtrip)];

/// Reads FHIR JSON strictly and leniently; whatever is accepted writes back to JSON that
/// reads to the same model and writes to the same bytes. Errors point inside the input.
pub fn json_roundtrip(data: &[u8]) {
    match json::from_slice::<Resource>(data) {
        Ok(r) => {
            let out = json::to_vec(&r);
            let again: Resource = json::from_slice(&out).expect("written JSON reads back");
            assert_eq!(again, r);
            assert_eq!(json::to_vec(&again), out);
            let pretty = json::to_string_pretty(&r);
            assert_eq!(
                json::from_str::<Resource>(&pretty).expect("pretty reads back"),
                r
            );
        }
        Err(e) => {
            assert!(e.offset() <= data.len());
            assert!(!e.path().is_empty());
        }
    }
    if let Ok((r, _issues)) = json::from_slice_lenient::<Resource>(data) {
        let out = json::to_vec(&r);
        // What the lenient reader kept is valid apart from missing required elements and codes.
        let _ = json::from_slice_lenient::<Resource>(&out).expect("lenient output reads back");
    }
}
