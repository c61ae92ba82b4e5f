//! Criterion benchmarks for carecodec-hl7v2 (figures in docs/benchmarks.md).
//!
//! `cargo bench -p carecodec-benches --bench hl7v2`
// Bench harness code: a panic aborts the run, which is what a broken bench should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::hint::black_box;

use carecodec_benches::hl7v2::{corpus, table_scan};
use carecodec_hl7v2::batch::BatchReader;
use carecodec_hl7v2::{Index, Message, ParseOptions, Path};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    let corpus = corpus(50 << 20);
    assert!(
        !corpus.messages.is_empty(),
        "no samples in examples/data/hl7v2"
    );
    let bytes = &corpus.bytes;
    let opts = ParseOptions::default();
    let pid3 = Path::parse("PID-3[1].1").unwrap();

    let mut g = c.benchmark_group("hl7v2");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));

    g.bench_function("table_scan_ceiling", |b| {
        b.iter(|| table_scan(black_box(bytes)))
    });

    g.bench_function("parse_index_lookup", |b| {
        let mut index = Index::default();
        b.iter(|| {
            let mut found = 0usize;
            for r in &corpus.messages {
                let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                found += msg.query(&pid3).map_or(0, |v| v.raw().len());
            }
            found
        })
    });

    g.bench_function("parse_walk_every_leaf", |b| {
        let mut index = Index::default();
        b.iter(|| {
            let mut n = 0usize;
            for r in &corpus.messages {
                let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                msg.for_each_leaf(|_, v| n += v.raw().len());
            }
            n
        })
    });

    g.bench_function("stream_reader_parse", |b| {
        b.iter(|| {
            let mut r = BatchReader::new(&bytes[..]);
            while let Some(e) = r.next_message() {
                black_box(e.result.is_ok());
            }
            r.summary().accepted
        })
    });
    g.finish();

    let mut g = c.benchmark_group("hl7v2_messages");
    g.sample_size(10);
    g.throughput(Throughput::Elements(corpus.messages.len() as u64));
    g.bench_function("parse_index_lookup", |b| {
        let mut index = Index::default();
        b.iter(|| {
            let mut found = 0usize;
            for r in &corpus.messages {
                let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                found += msg.query(&pid3).map_or(0, |v| v.raw().len());
            }
            found
        })
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
