//! UK Core conformance over the shared corpora (skipped when `../shared/corpora` is absent):
//! every official UK Core XML example parses with `xml::from_slice` and validates with no
//! errors against its profile (from the file name for the vital signs, else
//! `Profile::for_resource`), except the one known invalid example, which must be rejected at
//! parse. Resources whose Cargo feature is off (default build) are counted, not failed; run
//! with `--features all` to parse every one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use carecodec_fhir::uk_core::validate::{Profile, Severity, validate};
use carecodec_fhir::{Resource, json, xml};

/// Examples the official repository ships although they are invalid, with the reason.
const REJECTED_AT_PARSE: &[(&str, &str)] = &[(
    "Extension-UKCore-ConditionEpisode-Example.xml",
    "one extension carries both valueCode and valueCodeableConcept (two value[x])",
)];

/// Examples that parse but break a UK Core rule we check, with the precise reason (none).
const KNOWN_INVALID: &[(&str, &str)] = &[];

/// Examples that break carecodec's NHS-number check (a warning: not a UK Core rule).
const NHS_NUMBER_WARNING: &[(&str, &str)] = &[(
    "UKCore-Patient-BabyPatient-Example.xml",
    "NHS number 9912003890 fails the Modulus 11 check (weighted sum 247, check digit 6, not 0)",
)];

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/fhir/ukcore/xml");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/corpora not found");
        None
    }
}

fn profile_for(name: &str, resource: &carecodec_fhir::Resource) -> Option<Profile> {
    if name.starts_with("UKCore-Observation-VitalSigns-")
        || name.starts_with("UKCore-VitalSigns-Observation-")
    {
        return Some(Profile::UKCoreObservationVitalSigns);
    }
    if name.starts_with("UKCore-Observation-Lab-") {
        return Some(Profile::UKCoreObservationLab);
    }
    if name.starts_with("UKCore-Observation-Group-") {
        return Some(Profile::UKCoreObservationGroupLab);
    }
    if name.starts_with("UKCore-DiagnosticReport-Lab-") {
        return Some(Profile::UKCoreDiagnosticReportLab);
    }
    Profile::for_resource(resource)
}

#[test]
fn ukcore_examples_parse_and_validate() {
    let Some(dir) = corpus() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    let (mut parsed, mut validated, mut disabled, mut rejected, mut warnings) = (0, 0, 0, 0, 0);
    let mut entries = 0;
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let expected_reject = REJECTED_AT_PARSE.iter().find(|(n, _)| *n == name);
        let resource = match xml::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                if let xml::ErrorKind::Model(m) = e.kind()
                    && m.kind() == json::ErrorKind::DisabledResourceType
                    && !cfg!(feature = "all")
                {
                    disabled += 1;
                } else if expected_reject.is_some() {
                    rejected += 1;
                } else {
                    failures.push(format!("{name}: parse error {e}"));
                }
                continue;
            }
        };
        parsed += 1;
        if let Some((_, why)) = expected_reject {
            failures.push(format!("{name}: parsed but should be rejected ({why})"));
            continue;
        }
        // Bundle entries are validated against their own profiles too.
        if let Resource::Bundle(b) = &resource {
            for (i, r) in b
                .entry
                .iter()
                .filter_map(|e| e.resource.as_ref())
                .enumerate()
            {
                let profile = Profile::for_resource(r).unwrap_or(Profile::R4Base);
                entries += 1;
                let errors: Vec<String> = validate(r, profile)
                    .iter()
                    .filter(|i| i.severity == Severity::Error)
                    .map(|i| i.to_string())
                    .collect();
                if !errors.is_empty() {
                    failures.push(format!(
                        "{name} entry {i} ({profile}): {}",
                        errors.join("; ")
                    ));
                }
            }
        }
        let profile = profile_for(&name, &resource).unwrap_or(Profile::R4Base);
        validated += 1;
        let issues = validate(&resource, profile);
        for w in issues.iter().filter(|i| i.severity == Severity::Warning) {
            println!("{name} ({profile}): {w}");
            warnings += 1;
        }
        let errors: Vec<String> = issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| i.to_string())
            .collect();
        let nhs_warning = issues
            .iter()
            .any(|i| i.severity == Severity::Warning && i.message.contains("NHS number"));
        if nhs_warning != NHS_NUMBER_WARNING.iter().any(|(n, _)| *n == name) {
            failures.push(format!("{name}: NHS-number warning given: {nhs_warning}"));
        }
        let known = KNOWN_INVALID.iter().any(|(n, _)| *n == name);
        match (errors.is_empty(), known) {
            (true, false) => {}
            // A listed example must fail for the listed reason only (the NHS number).
            (false, true) if errors.iter().all(|e| e.contains("NHS number")) => {}
            (false, true) => failures.push(format!("{name}: other errors: {}", errors.join("; "))),
            (false, false) => failures.push(format!("{name} ({profile}): {}", errors.join("; "))),
            (true, true) => failures.push(format!("{name}: listed as invalid but validates")),
        }
    }
    println!(
        "{} files: {parsed} parsed, {validated} validated against a profile (+ {entries} Bundle \
         entries), {warnings} warnings, {rejected} rejected as expected, {disabled} of disabled \
         resource types",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(rejected, REJECTED_AT_PARSE.len());
}
