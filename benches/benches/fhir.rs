//! Criterion benchmarks for carecodec-fhir (figures in docs/benchmarks.md "## FHIR").
//!
//! `cargo bench -p carecodec-benches --bench fhir`
// Bench harness code: a panic aborts the run, which is what a broken bench should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::hint::black_box;

use carecodec_benches::fhir::bundle;
use carecodec_fhir::{Resource, json};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn entries(r: &Resource) -> usize {
    match r {
        Resource::Bundle(b) => b.entry.len(),
        _ => panic!("not a Bundle"),
    }
}

fn benches(c: &mut Criterion) {
    let input = bundle(30 << 20);
    eprintln!(
        "fhir bench input: {} bytes, {} entries from {} resources in {}",
        input.bytes.len(),
        input.entries,
        input.distinct,
        input.source.display()
    );
    let bytes = &input.bytes;
    let parsed: Resource = json::from_slice(bytes).unwrap();
    assert_eq!(entries(&parsed), input.entries);

    let mut g = c.benchmark_group("fhir_json");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));

    g.bench_function("serde_json_value_parse", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(black_box(bytes)).unwrap();
            assert_eq!(v["entry"].as_array().map(Vec::len), Some(input.entries));
            v
        })
    });
    g.bench_function("typed_parse", |b| {
        b.iter(|| {
            let r: Resource = json::from_slice(black_box(bytes)).unwrap();
            assert_eq!(entries(&r), input.entries);
            r
        })
    });
    g.bench_function("typed_write", |b| {
        b.iter(|| {
            let out = json::to_vec(black_box(&parsed));
            assert_eq!(out.len(), bytes.len());
            out
        })
    });
    g.finish();

    // XML: the same Bundle written as FHIR XML, read back typed.
    let xml_bytes = carecodec_fhir::xml::to_vec(&parsed).unwrap();
    let mut g = c.benchmark_group("fhir_xml");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(xml_bytes.len() as u64));
    g.bench_function("typed_parse", |b| {
        b.iter(|| {
            let r = carecodec_fhir::xml::from_slice(black_box(&xml_bytes)).unwrap();
            assert_eq!(entries(&r), input.entries);
            r
        })
    });
    g.bench_function("typed_write", |b| {
        b.iter(|| carecodec_fhir::xml::to_vec(black_box(&parsed)).unwrap())
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
