//! Fuzz target bodies. Each `fuzz_targets/<name>.rs` calls one function here,
//! and `tests/seeds.rs` replays `seeds/<name>/*` through the same function.
