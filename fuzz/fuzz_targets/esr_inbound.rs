//! Fuzz target: `carecodec_fuzz::esr::inbound_file`.
#![cfg_attr(fuzzing, no_main)]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| carecodec_fuzz::esr::inbound_file(data));
#[cfg(not(fuzzing))]
fn main() {}
