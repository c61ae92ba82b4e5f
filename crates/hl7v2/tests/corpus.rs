//! Conformance over the shared HL7 v2 corpus (`../shared/corpora/hl7v2`).
//!
//! Every message either parses or is rejected with a position; every accepted
//! message round-trips byte for byte (as a message and as part of its file);
//! the NHapi fuzzer inputs neither panic nor hang. Skips, saying so, when the
//! corpus is not beside the workspace.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use carecodec_hl7v2::batch::BatchReader;
use carecodec_hl7v2::{Message, MessageBuf};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/hl7v2");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/corpora not found ({})", dir.display());
        None
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.file_name().is_some_and(|n| n != "SOURCES.md") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[derive(Default, Debug)]
struct Tally {
    files: usize,
    read: usize,
    accepted: usize,
    rejected: usize,
    repaired: usize,
}

#[test]
fn every_message_parses_or_is_rejected_with_a_position_and_round_trips() {
    let Some(dir) = corpus() else { return };
    let mut t = Tally::default();
    for path in files(&dir) {
        if path
            .components()
            .any(|c| c.as_os_str() == "nhapi-badinputs")
        {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        t.files += 1;
        let mut reader = BatchReader::new(&bytes[..]);
        let mut rebuilt = Vec::new();
        while let Some(entry) = reader.next_message() {
            rebuilt.extend_from_slice(entry.bytes);
            match entry.result {
                Ok(msg) => {
                    t.accepted += 1;
                    if !msg.repairs().is_empty() {
                        t.repaired += 1;
                    }
                    let mut out = Vec::new();
                    msg.write_to(&mut out).unwrap();
                    assert_eq!(
                        out,
                        entry.bytes,
                        "{}: message {}",
                        path.display(),
                        entry.number
                    );
                    assert_eq!(
                        MessageBuf::from(&msg).to_bytes(),
                        entry.bytes,
                        "{}",
                        path.display()
                    );
                    msg.for_each_leaf(|_, v| {
                        let _ = v.decoded();
                    });
                }
                Err(e) => {
                    t.rejected += 1;
                    // The position points into the file, at or after the message start.
                    assert!(
                        e.offset() >= entry.offset && e.offset() <= bytes.len(),
                        "{}: {e}",
                        path.display()
                    );
                    assert!(e.line() >= entry.line, "{}: {e}", path.display());
                    println!("rejected {}:{}: {e}", path.display(), e.line());
                }
            }
        }
        let s = reader.summary();
        assert_eq!(s.read, s.accepted + s.rejected);
        t.read += s.read;
        // Messages cover every byte from the first MSH on, except envelope and orphan lines.
        if s.problems.is_empty() && s.batches == 0 && s.files == 0 {
            let first = bytes.windows(3).position(|w| w == b"MSH").unwrap_or(0);
            let tail = &bytes[first..];
            if !rebuilt.is_empty() && rebuilt.len() == tail.len() {
                assert_eq!(rebuilt, tail, "{}", path.display());
            }
        }
    }
    println!("{t:?}");
    assert_eq!(t.read, t.accepted + t.rejected);
    assert!(t.accepted > 300, "too few messages accepted: {t:?}");
}

#[test]
fn nhapi_fuzzer_inputs_neither_panic_nor_hang() {
    let Some(dir) = corpus() else { return };
    let mut n = 0;
    for path in files(&dir.join("nhapi-badinputs")) {
        let bytes = std::fs::read(&path).unwrap();
        let start = Instant::now();
        if let Ok(msg) = Message::parse(&bytes) {
            msg.for_each_leaf(|_, v| {
                let _ = v.decoded();
            });
            assert_eq!(MessageBuf::from(&msg).to_bytes(), bytes);
        }
        let mut r = BatchReader::new(&bytes[..]);
        while r.next_message().is_some() {}
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{} took {:?}",
            path.display(),
            start.elapsed()
        );
        n += 1;
    }
    println!("{n} NHapi fuzzer inputs read without a panic or hang");
    assert!(n >= 30);
}
