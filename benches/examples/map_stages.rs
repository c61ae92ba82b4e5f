//! Cost of each stage of HL7 v2 → UK Core JSON, per message: time and heap
//! allocations (a counting allocator), for the bundled samples of one kind.
//!
//! ```text
//! cargo run --release -p carecodec-benches --example map_stages -- ADT [COUNT] [STAGES]
//! valgrind --tool=callgrind target/release/examples/map_stages ADT 1000 map,write
//! ```
//!
//! `STAGES` (default `map,value,write`) picks the stages after `map`, so a
//! callgrind total counts the instructions of one path. `parse` alone runs
//! only `Message::parse_in`, and `walk` alone parse + `for_each_leaf` (the
//! parse a tree-building parser does), the baselines the mapping is compared
//! with. `copy` alone is the walk with every leaf decoded and kept as a
//! `Sourced<String>` with its path and span (the floor of a mapping into an
//! owned model with provenance), `borrow` the same keeping a
//! `Sourced<Cow<str>>` (the floor of a model borrowing the message).
//!
//! Stages: `map` (`map_message`), `value` (`event_bundle`: the Bundle as a
//! `serde_json::Value`, then `serde_json::to_writer`), `write`
//! (`write_event_bundle`: compact JSON straight from the builders' tree) and
//! `noting` (`write_event_bundle_noting`: the same, listing what the Bundle
//! leaves out, as `carecodec map --report` does; timed in the `write` row in
//! place of `write`).
//! Timings are for comparing stages in one run; the criterion benches
//! (`--bench map`) are the throughput figures.
// Measurement code: a failure aborts the run, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use carecodec_benches::map::{keep_every_leaf, messages};
use carecodec_hl7v2::{Index, Message, ParseOptions};
use carecodec_map::fhir::{
    BundleType, event_bundle, write_event_bundle, write_event_bundle_noting,
};
use carecodec_map::v2::{V2Options, map_message};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to the system allocator unchanged; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Time and allocations of one stage, summed over the messages.
#[derive(Default)]
struct Stage {
    time: Duration,
    allocations: usize,
}

impl Stage {
    fn run<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let a = ALLOCATIONS.load(Relaxed);
        let t = Instant::now();
        let out = f();
        self.time += t.elapsed();
        self.allocations += ALLOCATIONS.load(Relaxed) - a;
        out
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "ADT".into());
    let count = args.next().map_or(20_000, |n| n.parse().expect("COUNT"));
    let stages = args.next().unwrap_or_else(|| "map,value,write".into());
    let (run_value, run_write) = (stages.contains("value"), stages.contains("write"));
    let run_noting = stages.contains("noting");
    let mut lost = Vec::new();
    let input = messages(kind.as_bytes(), count);
    assert!(!input.ranges.is_empty(), "no {kind} samples");
    let opts = ParseOptions::default();
    let map_opts = V2Options::default();
    let mut index = Index::default();
    let (mut map, mut value, mut write) = (Stage::default(), Stage::default(), Stage::default());
    let (mut value_bytes, mut write_bytes) = (0usize, 0usize);
    let mut out = Vec::with_capacity(1 << 16);
    let (mut leaves, mut unmapped) = (0usize, 0usize);
    if ["parse", "walk", "copy", "borrow"].contains(&stages.as_str()) {
        for r in &input.ranges {
            let bytes = input.bytes.get(r.clone()).unwrap();
            let msg = map.run(|| Message::parse_in(bytes, &opts, &mut index).unwrap());
            match stages.as_str() {
                "walk" => map.run(|| msg.for_each_leaf(|_, v| leaves += v.raw().len().min(1))),
                "copy" => leaves += map.run(|| keep_every_leaf(&msg, Cow::into_owned).len()),
                "borrow" => leaves += map.run(|| keep_every_leaf(&msg, |text| text).len()),
                _ => {}
            }
        }
        let n = input.ranges.len();
        println!(
            "{n} {kind} messages, {} leaves each; {stages}: {:.3} µs, {:.0} allocations per message",
            leaves / n,
            map.time.as_secs_f64() * 1e6 / n as f64,
            map.allocations as f64 / n as f64
        );
        return;
    }
    for r in &input.ranges {
        let bytes = input.bytes.get(r.clone()).unwrap();
        let msg = Message::parse_in(bytes, &opts, &mut index).unwrap();
        let (event, report) = map.run(|| map_message(&msg, &map_opts).unwrap());
        leaves += report.source_leaves;
        unmapped += report.unmapped.len();
        if run_value {
            value_bytes += value.run(|| {
                out.clear();
                serde_json::to_writer(&mut out, &event_bundle(&event).unwrap()).unwrap();
                out.len()
            });
        }
        if run_write {
            write_bytes += write.run(|| {
                out.clear();
                write_event_bundle(&event, BundleType::Transaction, &mut out).unwrap();
                out.len()
            });
        }
        if run_noting {
            write_bytes += write.run(|| {
                out.clear();
                lost.clear();
                let kind = BundleType::Transaction;
                write_event_bundle_noting(&event, kind, None, &mut out, &mut lost).unwrap();
                out.len()
            });
        }
    }
    let n = input.ranges.len();
    println!(
        "{n} {kind} messages, {} leaves each, {} of them unmapped; Bundle JSON {} bytes each ({} through Value)",
        leaves / n,
        unmapped / n,
        write_bytes / n,
        value_bytes / n
    );
    for (name, s) in [("map", &map), ("value", &value), ("write", &write)] {
        println!(
            "{name:>5}: {:8.2} µs {:8.3} allocations per message",
            s.time.as_secs_f64() * 1e6 / n as f64,
            s.allocations as f64 / n as f64
        );
    }
}
