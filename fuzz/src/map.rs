//! Fuzz bodies for `carecodec-map`: whatever the input, mapping never panics,
//! its accounting balances, and every Bundle it writes is valid R4 that reads
//! back balanced.

use carecodec_hl7v2::Message;
use carecodec_map::esr::{EsrOptions, map_go, map_go_files};
use carecodec_map::fhir::{
    BundleType, JsonDocument, event_bundle_with, read_bundle, read_workers, worker_bundle,
    write_event_bundle, write_worker_bundle,
};
use carecodec_map::v2::{V2Options, map_message, map_patient_groups};
use carecodec_model::{Event, Worker};

/// The map fuzz targets: name (file stem under `fuzz_targets/`) and body.
pub const TARGETS: &[crate::Target] = &[("map_v2", v2), ("map_fhir", fhir), ("map_esr", esr)];

/// The compact JSON written straight from the tree must be JSON and say
/// the same as the `serde_json::Value` form, and read strictly as R4.
fn assert_r4(bundle: &serde_json::Value, written: &[u8]) {
    let back = serde_json::from_slice::<serde_json::Value>(written);
    assert!(
        back.as_ref().is_ok_and(|b| b == bundle),
        "written JSON differs from the Value: {:?}\n{}",
        back.err(),
        String::from_utf8_lossy(written)
    );
    let text = String::from_utf8_lossy(written);
    let parsed = carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text);
    assert!(
        parsed.is_ok(),
        "the mapper wrote invalid R4: {:?}\n{text}",
        parsed.err()
    );
}

/// An event's Bundle, if it gets one, must be valid R4 both ways it is
/// written and read back into the model balanced.
fn check_event(event: &Event, kind: BundleType) {
    let Ok(bundle) = event_bundle_with(event, kind) else {
        return;
    };
    let mut written = Vec::new();
    assert!(write_event_bundle(event, kind, &mut written).is_ok());
    assert_r4(&bundle, &written);
    let (_, report) = read_bundle(&bundle);
    assert!(report.balanced());
    // Read from its text, with the numbers as written: the same accounting.
    let doc = JsonDocument::from_slice(&written);
    assert!(doc.is_ok(), "{:?}", doc.err());
    if let Ok(doc) = doc {
        let (_, exact) = read_bundle(&doc);
        assert_eq!(
            (exact.mapped, exact.source_leaves),
            (report.mapped, report.source_leaves)
        );
    }
}

/// A worker's Bundle, if it gets one, must be valid R4 both ways it is written.
fn check_worker(w: &Worker) {
    let Ok(bundle) = worker_bundle(w) else {
        return;
    };
    let mut written = Vec::new();
    assert!(write_worker_bundle(w, &mut written).is_ok());
    assert_r4(&bundle, &written);
}

/// Arbitrary bytes as an HL7 v2 message → model (balanced report) → both
/// Bundle types (valid R4, read back balanced).
pub fn v2(data: &[u8]) {
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    let Ok((event, report)) = map_message(&msg, &V2Options::default()) else {
        return;
    };
    assert!(report.balanced());
    for kind in [BundleType::Transaction, BundleType::Message] {
        check_event(&event, kind);
    }
    // Split into patient groups: one group is `map_message`'s mapping; each
    // of several balances and is written as R4.
    let groups = map_patient_groups(&msg, &V2Options::default());
    assert!(
        groups.is_ok(),
        "map_message mapped the message but map_patient_groups did not"
    );
    let Ok(groups) = groups else { return };
    if let [one] = &groups[..] {
        assert!(one.0 == event && one.1 == report);
        return;
    }
    for (event, report) in &groups {
        assert!(report.balanced());
        for kind in [BundleType::Transaction, BundleType::Message] {
            check_event(event, kind);
        }
    }
}

/// Arbitrary bytes as FHIR JSON → events and workers (balanced), and what they
/// give written again as Bundles (valid R4).
pub fn fhir(data: &[u8]) {
    // A document reads exactly what a `Value` reads.
    let value = serde_json::from_slice::<serde_json::Value>(data).ok();
    let doc = match JsonDocument::from_slice(data) {
        Ok(doc) => doc,
        Err(e) => {
            // Only a member named twice is refused where a `Value` reads.
            assert!(value.is_none() || e.to_string().contains("twice"), "{e}");
            return;
        }
    };
    assert_eq!(value.as_ref(), Some(doc.value()));
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    // Numbers as sent change texts, never what is read or how much.
    let (_, plain) = read_bundle(doc.value());
    assert_eq!(
        (plain.mapped, plain.source_leaves, plain.unmapped.len()),
        (report.mapped, report.source_leaves, report.unmapped.len())
    );
    check_event(&event, BundleType::Transaction);
    let (workers, report) = read_workers(&doc);
    assert!(report.balanced());
    workers.iter().for_each(check_worker);
}

/// Arbitrary bytes as an ESR GO file → workers as at the extract date
/// (balanced report), each written as a valid R4 Bundle.
pub fn esr(data: &[u8]) {
    const FULL: &str = "GO_999_GDW_GOF_20250301_00000101.DAT";
    const CHANGE: &str = "GO_999_GDW_GOC_20250302_00000102.DAT";
    let opts = EsrOptions::at_extract_date();
    let mapping = map_go(data, Some(FULL), &opts);
    assert!(mapping.report.balanced());
    mapping.workers.iter().for_each(check_worker);
    // One file through `map_go_files` is `map_go`.
    let one = map_go_files([(Some(FULL), data)], &opts);
    assert_eq!(
        (&one.workers, &one.report),
        (&mapping.workers, &mapping.report)
    );
    // The input cut at its second `HDR~` (else in the middle) is a full file
    // and a change file applied on top: balanced over both, valid Bundles.
    let cut = data
        .windows(4)
        .enumerate()
        .skip(1)
        .find(|(_, w)| *w == b"HDR~")
        .map_or(data.len() / 2, |(i, _)| i);
    let (full, change) = data.split_at(cut);
    let both = map_go_files([(Some(CHANGE), change), (Some(FULL), full)], &opts);
    assert!(both.report.balanced());
    both.workers.iter().for_each(check_worker);
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_samples_map_cleanly() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
        for dir in ["hl7v2", "fhir", "esr"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                super::v2(&bytes);
                super::fhir(&bytes);
                super::esr(&bytes);
            }
        }
    }
}
