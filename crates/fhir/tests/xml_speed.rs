//! Throughput of the XML layer and of the typed JSON reader on the benchmark Bundle (the
//! ~30 MB collection Bundle of `benches/src/fhir.rs`, built the same way from the official
//! R4 examples this build enables, then written as XML). Prints figures, asserts only
//! correctness; ignored by default because it needs an optimised build and the shared
//! corpora:
//!
//! `cargo test --release -p carecodec-fhir --test xml_speed -- --ignored --nocapture`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use carecodec_fhir::{Resource, json, xml};

fn bundle_json(dir: &Path, target: usize) -> (Vec<u8>, usize) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut resources = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        if let Ok(r) = json::from_slice::<Resource>(&bytes) {
            if r.resource_type() != "Bundle" {
                resources.push(json::to_vec(&r));
            }
        }
    }
    let mut out =
        br#"{"resourceType":"Bundle","id":"bench","type":"collection","entry":["#.to_vec();
    let mut n = 0usize;
    'fill: loop {
        for r in &resources {
            if out.len() >= target {
                break 'fill;
            }
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(
                format!(r#"{{"fullUrl":"urn:uuid:00000000-0000-4000-8000-{n:012}","resource":"#)
                    .as_bytes(),
            );
            out.extend_from_slice(r);
            out.push(b'}');
            n += 1;
        }
    }
    out.extend_from_slice(b"]}");
    (out, n)
}

/// Best of `runs` timings of `f`.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        last = Some(v);
    }
    (best, last.unwrap())
}

fn mib_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}

#[test]
#[ignore = "throughput figures: run with --release -- --ignored --nocapture"]
fn xml_throughput() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/fhir/r4/examples-json");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found");
        return;
    }
    let (json_bytes, entries) = bundle_json(&dir, 30 << 20);
    let resource: Resource = json::from_slice(&json_bytes).unwrap();
    let xml_text = xml::to_string(&resource).unwrap();
    let x = xml_text.as_bytes();
    println!(
        "input: JSON {} bytes, XML {} bytes, {entries} entries",
        json_bytes.len(),
        x.len()
    );
    let runs = 5;
    let (d, v) = best(runs, || {
        serde_json::from_slice::<serde_json::Value>(&json_bytes).unwrap()
    });
    assert_eq!(v["entry"].as_array().map(Vec::len), Some(entries));
    println!(
        "serde_json::Value parse (JSON bytes): {:.0} MiB/s",
        mib_s(json_bytes.len(), d)
    );
    let (d, j) = best(runs, || xml::xml_to_json(x).unwrap());
    println!("xml::xml_to_json: {:.0} MiB/s of XML", mib_s(x.len(), d));
    let (d, r) = best(runs, || xml::from_slice(x).unwrap());
    assert_eq!(json::to_string(&r).len(), json::to_string(&resource).len());
    println!(
        "xml::from_slice (typed XML parse): {:.0} MiB/s of XML",
        mib_s(x.len(), d)
    );
    let (d, out) = best(runs, || xml::to_string(&resource).unwrap());
    assert_eq!(out.len(), x.len());
    println!(
        "xml::to_string (typed XML write): {:.0} MiB/s of XML",
        mib_s(x.len(), d)
    );
    let (d, _) = best(runs, || xml::json_to_xml(j.as_bytes()).unwrap());
    println!("xml::json_to_xml: {:.0} MiB/s of JSON", mib_s(j.len(), d));
}

/// Throughput of the typed JSON reader on the same Bundle (every string-like value is checked
/// for control characters as it is read: this is the figure that check must not move).
///
/// `cargo test --release -p carecodec-fhir --test xml_speed json_read_throughput -- --ignored --nocapture`
#[test]
#[ignore = "throughput figures: run with --release -- --ignored --nocapture"]
fn json_read_throughput() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/fhir/r4/examples-json");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found");
        return;
    }
    let (json_bytes, entries) = bundle_json(&dir, 30 << 20);
    println!("input: JSON {} bytes, {entries} entries", json_bytes.len());
    let runs = 9;
    let (d, r) = best(runs, || json::from_slice::<Resource>(&json_bytes).unwrap());
    println!(
        "json::from_slice (typed JSON parse, strict): {:.0} MiB/s ({:.1} ms)",
        mib_s(json_bytes.len(), d),
        d.as_secs_f64() * 1e3
    );
    let (d, (_, issues)) = best(runs, || {
        json::from_slice_lenient::<Resource>(&json_bytes).unwrap()
    });
    assert!(issues.is_empty(), "{:?}", issues.first());
    println!(
        "json::from_slice_lenient: {:.0} MiB/s ({:.1} ms)",
        mib_s(json_bytes.len(), d),
        d.as_secs_f64() * 1e3
    );
    let (d, out) = best(runs, || json::to_vec(&r));
    assert_eq!(out.len(), json_bytes.len());
    println!(
        "json::to_vec (typed JSON write): {:.0} MiB/s ({:.1} ms)",
        mib_s(out.len(), d),
        d.as_secs_f64() * 1e3
    );
}
