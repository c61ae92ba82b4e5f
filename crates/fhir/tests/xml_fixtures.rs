//! FHIR XML on the project's own hand-written fixtures (no corpora needed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use carecodec_fhir::xml;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/xml")
        .join(name)
}

#[test]
fn dump() {
    for f in [
        "patient-extensions.xml",
        "observation-decimal.xml",
        "bundle-contained.xml",
    ] {
        let input = std::fs::read(data(f)).unwrap();
        let json = xml::xml_to_json(&input).unwrap();
        println!("{json}");
        let back = xml::json_to_xml_pretty(json.as_bytes()).unwrap();
        println!("{back}");
    }
}
