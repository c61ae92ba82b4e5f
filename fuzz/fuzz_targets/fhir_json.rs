//! Fuzz target: `carecodec_fuzz::fhir::json_roundtrip`.
#![cfg_attr(fuzzing, no_main)]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carecodec_fuzz::fhir::json_roundtrip(data));
#[cfg(not(fuzzing))]
fn main() {}
