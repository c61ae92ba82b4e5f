//! `carecodec fhir` and `carecodec esr` end to end: every resource type, UK Core checks of
//! nested resources, file-level problems, missing files and standard input.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_carecodec"))
}

/// A file `name` holding `bytes` in this test's own directory.
fn file(test: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "carecodec-cli-codecs-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run(args: &[&str], paths: &[&Path]) -> Output {
    bin().args(args).args(paths).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const IMMUNIZATION: &str = r#"{"resourceType":"Immunization","status":"completed",
  "vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"39114911000001105"}]},
  "patient":{"reference":"Patient/1"},"occurrenceDateTime":"2024-01-01"}"#;

#[test]
fn every_resource_type_is_checked_and_converted() {
    let imm = file("types", "imm.json", IMMUNIZATION.as_bytes());
    let cs = file(
        "types",
        "cs.json",
        br#"{"resourceType":"CodeSystem","status":"active","content":"complete","url":"http://x"}"#,
    );
    let out = run(&["fhir", "check", "--profile", "uk-core"], &[&imm, &cs]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Immunization read, 0 problem(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("CodeSystem read"), "{stdout}");
    let out = run(&["fhir", "convert", "--to", "xml"], &[&cs]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("<CodeSystem"));
}

#[test]
fn uk_core_checks_contained_resources_and_nested_bundles() {
    let patient = r#"{"resourceType":"Patient","gender":"M","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number/","value":"9000000009"}]}"#;
    let contained = format!(
        r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"contained":[{patient}]}}"#
    );
    let nested = format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{patient}}}]}}}}]}}"#
    );
    let a = file("nested", "contained.json", contained.as_bytes());
    let b = file("nested", "nested.json", nested.as_bytes());
    let out = run(&["fhir", "check", "--profile", "uk-core"], &[&a, &b]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Observation.contained[0].gender"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Observation.contained[0].identifier[0].system"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Bundle.entry[0].resource.entry[0].resource.gender"),
        "{stdout}"
    );
}
