//! Input builders shared by the carecodec benchmarks (`benches/benches/*.rs`).

pub mod esr;
pub mod fhir;
pub mod hl7v2;
pub mod map;
