//! Fuzz bodies for `carecodec-hl7v2`.

/// The hl7v2 fuzz targets: name (file stem under `fuzz_targets/`) and body.
pub const TARGETS: &[crate::Target] = &[];
