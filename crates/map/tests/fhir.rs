//! HL7 v2 → model → UK Core Bundle → model on every bundled sample and, when
//! present, the NHS ITK ADT corpus: each Bundle reads strictly as R4, every
//! reference resolves inside it, and it reads back balanced with the same
//! patient key.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use carecodec_hl7v2::Message;
use carecodec_hl7v2::batch::BatchReader;
use carecodec_map::fhir::{event_bundle, read_bundle};
use carecodec_map::v2::{V2Options, identity, map_message};

fn check(name: &str, bytes: &[u8]) -> usize {
    let mut n = 0;
    let mut reader = BatchReader::new(bytes);
    while let Some(entry) = reader.next_message() {
        let msg: Message<'_> = entry.result.unwrap();
        let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
        assert!(report.balanced(), "{name}");
        let Ok(bundle) = event_bundle(&event) else {
            assert!(
                report.quarantined(),
                "{name}: no Bundle but not quarantined"
            );
            continue;
        };
        let text = bundle.to_string();
        if let Err(e) = carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text) {
            panic!("{name}: Bundle is not valid R4: {e}");
        }
        assert!(!text.contains("example.com"), "{name}: placeholder system");
        let urls: Vec<&str> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["fullUrl"].as_str().unwrap())
            .collect();
        for r in text.split("\"reference\":\"").skip(1) {
            let target = r.split('"').next().unwrap();
            assert!(
                urls.contains(&target),
                "{name}: dangling reference {target}"
            );
        }
        let (back, back_report) = read_bundle(&bundle);
        assert!(back_report.balanced(), "{name}");
        let key = |e: &carecodec_model::Event| {
            e.patient
                .as_ref()
                .and_then(|p| identity(&p.identifiers).key)
        };
        assert_eq!(key(&event), key(&back), "{name}: patient key changed");
        n += 1;
    }
    n
}

#[test]
fn bundled_samples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/hl7v2");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        n += check(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
    assert!(n >= 6, "{n}");
}

#[test]
fn nhs_itk_adt_corpus() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/hl7v2/nhs-itk-adt");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found ({})", dir.display());
        return;
    }
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        n += check(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
    assert_eq!(n, 8);
}

#[test]
fn fhir_converter_adt_oru_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/mapping/fhir-converter/messages");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found ({})", dir.display());
        return;
    }
    let (mut files, mut bundles) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("ADT") || name.starts_with("ORU")) {
            continue;
        }
        files += 1;
        bundles += check(&name, &std::fs::read(&path).unwrap());
    }
    println!("FHIR-Converter ADT/ORU: {files} files, {bundles} Bundles (the rest quarantined)");
    assert!(
        files > 50 && bundles + 5 >= files,
        "{files} files, {bundles} Bundles"
    );
}
