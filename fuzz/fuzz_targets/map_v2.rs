//! Fuzz target: `carecodec_fuzz::map::v2`.
#![cfg_attr(fuzzing, no_main)]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carecodec_fuzz::map::v2(data));
#[cfg(not(fuzzing))]
fn main() {}
