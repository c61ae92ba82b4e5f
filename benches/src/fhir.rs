//! Input builders for the FHIR benchmarks.
//!
//! The input is one compact JSON collection Bundle of about the requested size, built by
//! wrapping FHIR resources as entries and repeating them. The resources are the official R4
//! examples of the resource types this build enables (from `../shared/corpora/fhir/r4/
//! examples-json/` beside the workspace) when that directory exists, else the crate's own
//! fixtures (`crates/fhir/tests/data/*.json`). Each is re-written compactly by carecodec-fhir
//! itself, which keeps number literals exactly.

use std::path::{Path, PathBuf};

use carecodec_fhir::{Resource, json};

/// The bundle and what went into it.
#[derive(Debug)]
pub struct FhirBundle {
    /// The compact JSON bytes.
    pub bytes: Vec<u8>,
    /// Number of entries.
    pub entries: usize,
    /// Number of distinct source resources.
    pub distinct: usize,
    /// Where the resources came from.
    pub source: PathBuf,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sources() -> (PathBuf, Vec<Vec<u8>>) {
    let corpus = workspace().join("../shared/corpora/fhir/r4/examples-json");
    let fixtures = workspace().join("crates/fhir/tests/data");
    for dir in [corpus, fixtures] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let mut resources = Vec::new();
        for f in files {
            let Ok(bytes) = std::fs::read(&f) else {
                continue;
            };
            // Keep what this build reads (the default features: UK Core's clinical and admin set).
            if let Ok(r) = json::from_slice::<Resource>(&bytes) {
                if r.resource_type() != "Bundle" {
                    resources.push(json::to_vec(&r));
                }
            }
        }
        if !resources.is_empty() {
            return (dir, resources);
        }
    }
    (PathBuf::new(), Vec::new())
}

/// A collection Bundle of at least `target` bytes.
pub fn bundle(target: usize) -> FhirBundle {
    let (source, resources) = sources();
    let mut bytes = Vec::with_capacity(target + (1 << 20));
    bytes.extend_from_slice(
        br#"{"resourceType":"Bundle","id":"bench","type":"collection","entry":["#,
    );
    let mut entries = 0usize;
    'fill: loop {
        for r in &resources {
            if bytes.len() >= target {
                break 'fill;
            }
            if entries > 0 {
                bytes.push(b',');
            }
            bytes.extend_from_slice(
                format!(
                    r#"{{"fullUrl":"urn:uuid:00000000-0000-4000-8000-{entries:012}","resource":"#
                )
                .as_bytes(),
            );
            bytes.extend_from_slice(r);
            bytes.push(b'}');
            entries += 1;
        }
        if resources.is_empty() {
            break;
        }
    }
    bytes.extend_from_slice(b"]}");
    FhirBundle {
        bytes,
        entries,
        distinct: resources.len(),
        source,
    }
}
