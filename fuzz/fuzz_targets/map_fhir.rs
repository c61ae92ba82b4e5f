//! Fuzz target: `carecodec_fuzz::map::fhir`.
#![cfg_attr(fuzzing, no_main)]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carecodec_fuzz::map::fhir(data));
#[cfg(not(fuzzing))]
fn main() {}
