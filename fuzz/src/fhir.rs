//! Fuzz bodies for `carecodec-fhir`.

/// The fhir fuzz targets: name (file stem under `fuzz_targets/`) and body.
pub const TARGETS: &[crate::Target] = &[];
