//! Fuzz bodies for `carecodec-esr`.

/// The esr fuzz targets: name (file stem under `fuzz_targets/`) and body.
pub const TARGETS: &[crate::Target] = &[];
