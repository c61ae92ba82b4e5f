//! Fuzz target: `carecodec_fuzz::hl7v2::escape_roundtrip`.
#![cfg_attr(fuzzing, no_main)]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carecodec_fuzz::hl7v2::escape_roundtrip(data));
#[cfg(not(fuzzing))]
fn main() {}
