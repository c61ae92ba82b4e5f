//! Fuzz target: `carecodec_fuzz::esr::go`.
#![cfg_attr(fuzzing, no_main)]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carecodec_fuzz::esr::go(data));
#[cfg(not(fuzzing))]
fn main() {}
