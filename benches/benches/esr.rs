//! Criterion benchmarks for carecodec-esr (figures in docs/benchmarks.md).
//!
//! `cargo bench -p carecodec-benches --bench esr`
// Bench harness code: a panic aborts the run, which is what a broken bench should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::hint::black_box;

use carecodec_benches::esr::go_file;
use carecodec_esr::reader::RawRecord;
use carecodec_esr::value::FieldRef;
use carecodec_esr::{GoOptions, GoReader, TypedRecord};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    let file = go_file(200 << 20);
    let name = Some("GO_999_GDW_GOF_20250301_00000101.DAT");
    let mut g = c.benchmark_group("esr");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(file.len() as u64));

    // The no-alloc core: lines and `~` fields as byte slices.
    g.bench_function("raw_split", |b| {
        b.iter(|| {
            let mut fields = 0usize;
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', &file) {
                fields += RawRecord::new(&file[start..end]).fields().count();
                start = end + 1;
            }
            fields
        })
    });

    // The streaming reader with every row checked against its layout.
    g.bench_function("read_validated", |b| {
        b.iter(|| {
            let mut r = GoReader::new(&file[..], name, GoOptions::default());
            while let Some(e) = r.next_record() {
                black_box(e.accepted);
            }
            assert_eq!(r.summary().rejected, 0);
            r.summary().read
        })
    });

    // Checked and typed: every record to named, typed values.
    g.bench_function("read_validated_typed", |b| {
        b.iter(|| {
            let mut r = GoReader::new(&file[..], name, GoOptions::default());
            let mut n = 0usize;
            while let Some(e) = r.next_record() {
                n += e.typed().map_or(0, |t| t.fields.len());
            }
            n
        })
    });

    // Checked and typed, borrowing: every field of every record as a named
    // `FieldRef` (text borrowed from the line, dates parsed). The fast path.
    g.bench_function("read_validated_typed_ref", |b| {
        b.iter(|| {
            let mut r = GoReader::new(&file[..], name, GoOptions::default());
            let mut n = 0usize;
            while let Some(e) = r.next_record() {
                if let Some(fields) = e.typed_fields() {
                    for (_, v) in fields {
                        n += usize::from(!matches!(black_box(v), FieldRef::Empty));
                    }
                }
            }
            n
        })
    });

    // The same, refilling one kept `TypedRecord` (buffers reused).
    g.bench_function("read_validated_typed_into", |b| {
        b.iter(|| {
            let mut r = GoReader::new(&file[..], name, GoOptions::default());
            let mut rec = TypedRecord::default();
            let mut n = 0usize;
            while let Some(e) = r.next_record() {
                if e.typed_into(&mut rec) {
                    n += rec.fields.len();
                }
            }
            n
        })
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
