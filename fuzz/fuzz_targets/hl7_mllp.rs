//! Fuzz target: `carecodec_fuzz::hl7v2::mllp`.
#![cfg_attr(fuzzing, no_main)]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carecodec_fuzz::hl7v2::mllp(data));
#[cfg(not(fuzzing))]
fn main() {}
