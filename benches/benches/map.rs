//! Criterion benchmarks for carecodec-map (see docs/benchmarks.md).
// Bench harness code: a panic aborts the run, which is what a broken bench should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use criterion::{Criterion, criterion_group, criterion_main};

fn benches(_c: &mut Criterion) {}

criterion_group!(group, benches);
criterion_main!(group);
