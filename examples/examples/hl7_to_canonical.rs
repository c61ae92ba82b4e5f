//! Reads an HL7 v2 file (a bundled sample by default), maps every message to the
//! canonical model and prints, per message, the patient key, what was mapped and
//! what was not.
//!
//! `cargo run -p carecodec-examples --example hl7_to_canonical [FILE]`
// An example program: failing loudly on a bad argument is fine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use carecodec::hl7v2::batch::BatchReader;
use carecodec::map::v2::{V2Options, map_message};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/hl7v2/adt_a01.hl7").to_owned()
    });
    let bytes = std::fs::read(&path)?;
    let mut reader = BatchReader::new(&bytes[..]);
    while let Some(entry) = reader.next_message() {
        let msg = match entry.result {
            Ok(m) => m,
            Err(e) => {
                println!("message {}: rejected: {e}", entry.number);
                continue;
            }
        };
        let (event, report) = map_message(&msg, &V2Options::default())?;
        let key = report
            .identity
            .first()
            .map_or("no patient".to_owned(), |d| {
                format!("{:?} ({})", d.key.as_ref().map(|k| k.value()), d.reason)
            });
        println!(
            "message {} {}: key {key}; {} of {} leaves mapped, {} unmapped, {} invalid",
            entry.number,
            event.message_type,
            report.mapped,
            report.source_leaves,
            report.unmapped.len(),
            report.invalid.len()
        );
        for u in report.unmapped.iter().take(5) {
            println!("  unmapped {} = {:?}", u.source, u.raw);
        }
    }
    let s = reader.summary();
    println!(
        "read {}, accepted {}, rejected {}",
        s.read, s.accepted, s.rejected
    );
    Ok(())
}
