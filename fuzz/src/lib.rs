//! Fuzz target bodies.
//!
//! Each `fuzz_targets/<name>.rs` calls one function listed in [`targets`], and
//! `tests/seeds.rs` replays every file in `seeds/<name>/` through the same
//! function in an ordinary `cargo test`, so a crash once found stays fixed.
//! A body must never panic and must return quickly on any input.

pub mod esr;
pub mod fhir;
pub mod fhir_xml;
pub mod hl7v2;
pub mod map;

/// A fuzz target: its name (the file stem under `fuzz_targets/`) and body.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target of the workspace, by name.
pub fn targets() -> Vec<Target> {
    let mut all = Vec::new();
    all.extend_from_slice(hl7v2::TARGETS);
    all.extend_from_slice(fhir::TARGETS);
    all.extend_from_slice(fhir_xml::TARGETS);
    all.extend_from_slice(esr::TARGETS);
    all.extend_from_slice(map::TARGETS);
    all
}
