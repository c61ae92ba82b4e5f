//! Streams an ESR Generic Outbound file (the bundled sample by default) and
//! prints each person record's name and each problem, then the accounting.
//!
//! `cargo run -p carecodec-examples --example esr_staff [FILE]`
// An example program: failing loudly on a bad argument is fine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufReader;

use carecodec::esr::{GoOptions, GoReader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/esr/GO_998_GDW_GOF_20250401_00000001.DAT"
        )
        .to_owned()
    });
    let name = std::path::Path::new(&path)
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned);
    let file = BufReader::new(std::fs::File::open(&path)?);
    let mut reader = GoReader::new(file, name.as_deref(), GoOptions::default());
    while let Some(entry) = reader.next_record() {
        for p in entry.problems {
            println!("line {}: {p}", entry.line);
        }
        if let Some(rec) = entry.typed().filter(|r| r.code == "PRA") {
            println!(
                "person {}: {} {}",
                rec.text("Person ID").unwrap_or("?"),
                rec.text("First Name").unwrap_or(""),
                rec.text("Last Name").unwrap_or("")
            );
        }
    }
    let s = reader.summary();
    println!(
        "read {}, accepted {}, rejected {}, complete: {}",
        s.read, s.accepted, s.rejected, s.complete
    );
    Ok(())
}
