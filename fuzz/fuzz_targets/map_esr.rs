//! Fuzz target: `carecodec_fuzz::map::esr`.
#![cfg_attr(fuzzing, no_main)]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carecodec_fuzz::map::esr(data));
#[cfg(not(fuzzing))]
fn main() {}
