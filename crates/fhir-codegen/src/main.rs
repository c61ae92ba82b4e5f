//! Generates the checked-in source of `carecodec-fhir` from the FHIR R4 (4.0.1)
//! definition bundles and the UK Core conformance resources.
//!
//! ```text
//! cargo run -p carecodec-fhir-codegen -- [DEFINITIONS_ROOT]
//! ```
//!
//! `DEFINITIONS_ROOT` defaults to `../shared/corpora/fhir` (beside the workspace);
//! it must hold `r4/definitions/`. (The UK Core code tables in `uk_core::validate`
//! are written by hand and checked against `ukcore-conformance/` by `tests/ukcore_drift.rs`.) Output is written
//! under `crates/fhir/src/` and committed; the generator is deterministic.
// A developer tool, not library code: failing loudly is the right behaviour.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::error::Error;
use std::path::PathBuf;

mod meta;
mod model;

fn main() -> Result<(), Box<dyn Error>> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let defs = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("../shared/corpora/fhir"));
    let out = workspace.join("crates/fhir/src");
    model::generate(&defs, &out)?;
    meta::generate(&defs, &out)?;
    Ok(())
}
