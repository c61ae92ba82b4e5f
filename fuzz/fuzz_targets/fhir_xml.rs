//! Fuzz target: `carecodec_fuzz::fhir_xml::round_trip`.
#![cfg_attr(fuzzing, no_main)]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carecodec_fuzz::fhir_xml::round_trip(data));
#[cfg(not(fuzzing))]
fn main() {}
