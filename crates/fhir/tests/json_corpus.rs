//! Conformance: every official FHIR R4 JSON example parses (run with `--features all` for
//! all of them; otherwise the resources of disabled features are skipped) and round-trips JSON → model → JSON unchanged (compared as trees, numbers by their
//! literal text), except the known-invalid ones, each rejected for its known reason; and the
//! R4 base rules of `uk_core::validate` (`Profile::R4Base`) find no error in any of them.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::Path;

use carecodec_fhir::Resource;
use carecodec_fhir::json::{self, ErrorKind};
use carecodec_fhir::uk_core::validate::{Profile, Severity, validate};

/// The examples that are not valid FHIR, with the reason each must be rejected for
/// (`../shared/corpora/fhir/r4/KNOWN_INVALID.tsv`).
const KNOWN_INVALID: &[(&str, ErrorKind, &str)] = &[
    (
        "CodeSystem-v2-0550.json",
        ErrorKind::InvalidValue,
        "is not a valid code",
    ),
    (
        "ImplementationGuide-fhir.json",
        ErrorKind::MissingElement,
        "`name`",
    ),
    ("ig-r4.json", ErrorKind::MissingElement, "`name`"),
    (
        "Questionnaire-qs1.json",
        ErrorKind::MissingElement,
        "`linkId`",
    ),
    (
        "SearchParameter-codesystem-extensions-CodeSystem-author.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
    (
        "SearchParameter-codesystem-extensions-CodeSystem-effective.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
    (
        "SearchParameter-codesystem-extensions-CodeSystem-end.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
    (
        "SearchParameter-codesystem-extensions-CodeSystem-keyword.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
    (
        "SearchParameter-codesystem-extensions-CodeSystem-workflow.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
    (
        "SearchParameter-valueset-extensions-ValueSet-author.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
    (
        "SearchParameter-valueset-extensions-ValueSet-effective.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
    (
        "SearchParameter-valueset-extensions-ValueSet-end.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
    (
        "SearchParameter-valueset-extensions-ValueSet-keyword.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
    (
        "SearchParameter-valueset-extensions-ValueSet-workflow.json",
        ErrorKind::MissingElement,
        "`base`",
    ),
];

/// Examples `KNOWN_INVALID.tsv` does not list (the tool that made it does not check these
/// rules) that R4 nonetheless forbids, each with the reason it must be rejected for: an id of
/// 67 characters (R4 `id`: at most 64).
const FOUND_INVALID: &[(&str, ErrorKind, &str)] = &[(
    "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json",
    ErrorKind::InvalidValue,
    "is not an id",
)];

/// Examples that read but break an R4 rule `uk_core::validate` checks (every error they give
/// is that one): an empty narrative (txt-2), a literal reference to a type the element does
/// not allow (HAPI: "The type … implied by the reference URL … is not a valid Target"), or a
/// RESTful fullUrl that does not end with its resource's type and id (the official
/// validator: "The fullUrl … looks like a RESTful server URL, so it must end with the correct
/// type and id").
const BREAK_BASE_RULES: &[(&str, &str)] = &[
    ("ActivityDefinition-blood-tubes-supply.json", "txt-2"),
    ("ActivityDefinition-heart-valve-replacement.json", "txt-2"),
    (
        "Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json",
        "'http://acme.com/ehr/fhir/Patient/pat12' is a RESTful URL",
    ),
    (
        "Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json",
        "'http://acme.com/ehr/fhir/Patient/pat12' is a RESTful URL",
    ),
    ("Bundle-lri-example.json", "/r4/Observation/lri-"),
    (
        "DeviceMetric-example.json",
        "'DeviceDefinition/dc102' points at a DeviceDefinition",
    ),
    (
        "DeviceUseStatement-example.json",
        "'Procedure/example' points at a Procedure",
    ),
    ("EventDefinition-example.json", "txt-2"),
    (
        "MedicationRequest-medrx0301.json",
        "'Practitioner/f001' points at a Practitioner",
    ),
    (
        "Observation-clinical-gender.json",
        "'Encounter/example' points at a Encounter",
    ),
    ("Questionnaire-zika-virus-exposure-assessment.json", "txt-2"),
];

#[test]
fn official_r4_examples() {
    // Debug builds of the generated readers use far more stack per nesting level than release.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

fn run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/fhir/r4");
    let dir = root.join("examples-json");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found");
        return;
    }
    // The corpus's own list must be the one this test knows.
    let tsv = std::fs::read_to_string(root.join("KNOWN_INVALID.tsv")).unwrap();
    let listed: Vec<&str> = tsv
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(listed.len(), KNOWN_INVALID.len());
    for name in &listed {
        assert!(
            KNOWN_INVALID.iter().any(|(n, _, _)| n == name),
            "{name} not listed in the test"
        );
    }

    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let (mut ok, mut rejected, mut disabled, mut base_invalid) = (0, 0, 0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let bytes = std::fs::read(path).unwrap();
        let result = json::from_slice::<Resource>(&bytes);
        // Without `--features all`, resources of disabled features are skipped.
        if result
            .as_ref()
            .is_err_and(|e| e.kind() == ErrorKind::DisabledResourceType)
        {
            disabled += 1;
            continue;
        }
        if let Some((_, kind, why)) = KNOWN_INVALID
            .iter()
            .chain(FOUND_INVALID)
            .find(|(n, _, _)| *n == name)
        {
            match result {
                Err(e) if e.kind() == *kind && e.message().contains(why) => rejected += 1,
                Err(e) => failures.push(format!("{name}: rejected for the wrong reason: {e}")),
                Ok(_) => failures.push(format!("{name}: accepted, but it is invalid")),
            }
            continue;
        }
        match result {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(resource) => {
                let out = json::to_vec(&resource);
                match common::same_json(&bytes, &out) {
                    Ok(()) => ok += 1,
                    Err(diff) => failures.push(format!("{name}: round trip differs: {diff}")),
                }
                // The R4 base rules of `uk_core::validate` find no error in a valid example.
                let errors: Vec<String> = validate(&resource, Profile::R4Base)
                    .into_iter()
                    .filter(|i| i.severity == Severity::Error)
                    .map(|i| i.to_string())
                    .collect();
                let known = BREAK_BASE_RULES.iter().find(|(n, _)| *n == name);
                match (known, errors.as_slice()) {
                    (None, []) => {}
                    (Some((_, why)), [_, ..]) if errors.iter().all(|e| e.contains(why)) => {
                        base_invalid += 1;
                    }
                    (Some(_), []) => failures.push(format!(
                        "{name}: listed as breaking an R4 base rule, but none found"
                    )),
                    _ => failures.push(format!("{name}: R4 base rules: {}", errors.join("; "))),
                }
            }
        }
    }
    if disabled == 0 && base_invalid != BREAK_BASE_RULES.len() {
        failures.push(format!(
            "{base_invalid} of the {} examples listed as breaking an R4 base rule did",
            BREAK_BASE_RULES.len()
        ));
    }
    println!(
        "{ok} round-tripped ({base_invalid} breaking an R4 base rule as listed), {rejected} rejected as known invalid, {disabled} skipped (feature off), {} failures",
        failures.len()
    );
    for f in failures.iter().take(40) {
        println!("{f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());
}
