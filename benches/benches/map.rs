//! Criterion benchmarks for carecodec-map (figures in docs/benchmarks.md).
//!
//! `cargo bench -p carecodec-benches --bench map`
// Bench harness code: a panic aborts the run, which is what a broken bench should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::borrow::Cow;
use std::hint::black_box;

use carecodec_benches::esr::go_file;
use carecodec_benches::map::{keep_every_leaf, messages};
use carecodec_esr::reader::{GoOptions, GoReader};
use carecodec_hl7v2::{Index, Message, ParseOptions};
use carecodec_map::esr::{EsrOptions, map_go};
use carecodec_map::fhir::{BundleType, event_bundle, write_event_bundle, write_worker_bundle};
use carecodec_map::v2::{V2Options, map_message};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    let opts = ParseOptions::default();
    let map_opts = V2Options::default();
    for (name, kind) in [("adt", &b"ADT"[..]), ("oru", &b"ORU"[..])] {
        let input = messages(kind, 20_000);
        assert!(
            !input.ranges.is_empty(),
            "no {name} samples in examples/data/hl7v2"
        );
        let bytes = &input.bytes;
        // Every sample maps, balanced, before anything is timed.
        for r in &input.ranges {
            let msg = Message::parse(&bytes[r.clone()]).unwrap();
            let (_, report) = map_message(&msg, &map_opts).unwrap();
            assert!(report.balanced());
        }

        let mut g = c.benchmark_group(format!("map_v2_{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(input.ranges.len() as u64));

        g.bench_function("parse_only", |b| {
            let mut index = Index::default();
            b.iter(|| {
                let mut n = 0usize;
                for r in &input.ranges {
                    let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                    n += msg.segments().count();
                }
                n
            })
        });

        g.bench_function("parse_walk_every_leaf", |b| {
            let mut index = Index::default();
            b.iter(|| {
                let mut n = 0usize;
                for r in &input.ranges {
                    let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                    msg.for_each_leaf(|_, v| n += v.raw().len());
                }
                n
            })
        });

        // The floor of any mapping into an owned model with provenance: every
        // non-empty leaf decoded and copied into a `Sourced<String>` with its
        // path and span, nothing looked up, typed or checked. What the
        // mapping costs above this is its own work (docs/benchmarks.md).
        g.bench_function("parse_copy_every_leaf", |b| {
            let mut index = Index::default();
            b.iter(|| {
                let mut n = 0usize;
                for r in &input.ranges {
                    let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                    let kept = keep_every_leaf(&msg, Cow::into_owned);
                    n += kept.len();
                    black_box(kept);
                }
                n
            })
        });

        // The same floor for a model that borrowed the message's text (a
        // `Cow`, owned only where escapes were decoded): what a borrowed
        // canonical model could save.
        g.bench_function("parse_borrow_every_leaf", |b| {
            let mut index = Index::default();
            b.iter(|| {
                let mut n = 0usize;
                for r in &input.ranges {
                    let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                    let kept = keep_every_leaf(&msg, |text| text);
                    n += kept.len();
                    black_box(kept);
                }
                n
            })
        });

        g.bench_function("parse_map_canonical", |b| {
            let mut index = Index::default();
            b.iter(|| {
                let mut n = 0usize;
                for r in &input.ranges {
                    let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                    let (event, report) = map_message(&msg, &map_opts).unwrap();
                    n += report.mapped + usize::from(event.patient.is_some());
                    black_box(event);
                }
                n
            })
        });

        g.bench_function("parse_map_canonical_json", |b| {
            let mut index = Index::default();
            let mut out = Vec::with_capacity(1 << 16);
            b.iter(|| {
                let mut n = 0usize;
                for r in &input.ranges {
                    let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                    let (event, report) = map_message(&msg, &map_opts).unwrap();
                    out.clear();
                    serde_json::to_writer(&mut out, &event).unwrap();
                    serde_json::to_writer(&mut out, &report).unwrap();
                    n += out.len();
                }
                n
            })
        });

        // The fast path the CLI uses: compact JSON straight from the builders' tree.
        g.bench_function("parse_map_uk_core_json", |b| {
            let mut index = Index::default();
            let mut out = Vec::with_capacity(1 << 16);
            b.iter(|| {
                let mut n = 0usize;
                for r in &input.ranges {
                    let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                    let (event, _report) = map_message(&msg, &map_opts).unwrap();
                    out.clear();
                    write_event_bundle(&event, BundleType::Transaction, &mut out).unwrap();
                    n += out.len();
                }
                n
            })
        });

        // The same Bundle as a `serde_json::Value`, then written.
        g.bench_function("parse_map_uk_core_value_json", |b| {
            let mut index = Index::default();
            let mut out = Vec::with_capacity(1 << 16);
            b.iter(|| {
                let mut n = 0usize;
                for r in &input.ranges {
                    let msg = Message::parse_in(&bytes[r.clone()], &opts, &mut index).unwrap();
                    let (event, _report) = map_message(&msg, &map_opts).unwrap();
                    out.clear();
                    serde_json::to_writer(&mut out, &event_bundle(&event).unwrap()).unwrap();
                    n += out.len();
                }
                n
            })
        });
        g.finish();
    }

    // ESR: a generated GDW full file, read and validated alone vs mapped to workers.
    let file = go_file(10 << 20);
    let name = "GO_999_GDW_GOF_20250301_00000101.DAT";
    let opts = EsrOptions::at_extract_date();
    let persons = map_go(&file[..], Some(name), &opts).workers.len();
    assert!(persons > 1000);
    let mut g = c.benchmark_group("map_esr");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("read_validated", |b| {
        b.iter(|| {
            let mut r = GoReader::new(&file[..], Some(name), GoOptions::default());
            let mut n = 0u64;
            while let Some(e) = r.next_record() {
                n += u64::from(e.accepted);
            }
            n
        })
    });
    g.bench_function("map_workers_as_at", |b| {
        b.iter(|| {
            let out = map_go(&file[..], Some(name), &opts);
            assert_eq!(out.workers.len(), persons);
            out.report.mapped
        })
    });
    g.bench_function("map_workers_uk_core_json", |b| {
        let mut json = Vec::with_capacity(1 << 16);
        b.iter(|| {
            let out = map_go(&file[..], Some(name), &opts);
            let mut n = 0usize;
            for w in &out.workers {
                json.clear();
                if write_worker_bundle(w, &mut json).is_ok() {
                    n += json.len();
                }
            }
            n
        })
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
