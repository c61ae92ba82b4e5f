//! The model → UK Core writer on what FHIR input (and HL7 v2 input) can put
//! in the model: workers keyed by a registration, one NHS number identifier,
//! decimals with an exponent, telecom `old`, the preferred language, BCP-47
//! and other language codings, and a GP practice referenced as an
//! Organization. Each Bundle passes the UK Core checks.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use carecodec_hl7v2::Message;
use carecodec_map::fhir::{
    BundleType, JsonDocument, event_bundle, read_bundle, read_workers, worker_bundle,
    write_event_bundle, write_worker_bundle,
};
use carecodec_map::v2::{V2Options, map_message};
use carecodec_model::{Identifier, MappingReport};
use serde_json::{Value, json};

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const GMC: &str = "https://fhir.hl7.org.uk/Id/gmc-number";

fn uk_core_valid(name: &str, bundle: &Value) {
    match common::uk_core_errors(bundle) {
        Ok(errors) => assert!(errors.is_empty(), "{name}: {errors:#?}"),
        Err(e) => panic!("{name}: {e}"),
    }
}

/// The FHIR JSON text read (numbers as written) and written back as a
/// transaction Bundle, both ways (the fast path's text and the `Value`),
/// which must agree and pass the UK Core checks.
fn fhir_round(name: &str, text: &str) -> (Value, Vec<u8>, MappingReport) {
    let doc = JsonDocument::from_slice(text.as_bytes()).unwrap();
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced(), "{name}");
    let bundle = event_bundle(&event).unwrap();
    let mut written = Vec::new();
    write_event_bundle(&event, BundleType::Transaction, &mut written).unwrap();
    let back: Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(back, bundle, "{name}: the two writers differ");
    uk_core_valid(name, &bundle);
    (bundle, written, report)
}

fn patient(bundle: &Value) -> &Value {
    &bundle["entry"][0]["resource"]
}

fn unmapped(report: &MappingReport) -> Vec<String> {
    report
        .unmapped
        .iter()
        .map(|u| u.source.to_string())
        .collect()
}

fn practitioner(identifiers: Value) -> Value {
    json!({"resourceType": "Practitioner", "identifier": identifiers,
           "name": [{"family": "Gose", "given": ["Sandra"]}]})
}

#[test]
fn a_worker_read_from_fhir_is_keyed_by_its_registration() {
    // A UK Core Practitioner has no ESR person id: its GMC number keys it,
    // in the identity decision and in the Bundle's conditional update.
    let doc = practitioner(json!([{"system": GMC, "value": "1234567"}]));
    let (workers, report) = read_workers(&doc);
    assert!(report.balanced() && !report.quarantined());
    let [decision] = report.identity.as_slice() else {
        panic!("{:#?}", report.identity);
    };
    let gmc = Identifier::Gmc("1234567".into());
    assert_eq!(decision.key.as_ref(), Some(&gmc));
    let seen: Vec<&Identifier> = decision.seen.iter().map(|s| &s.value).collect();
    assert_eq!(seen, [&gmc], "the key is among what was seen");
    let bundle = worker_bundle(&workers[0]).unwrap();
    let entry = &bundle["entry"][0];
    assert_eq!(entry["request"]["method"], "PUT");
    assert_eq!(
        entry["request"]["url"],
        format!("Practitioner?identifier={GMC}|1234567")
    );
    assert_eq!(entry["resource"]["identifier"][0]["value"], "1234567");
    // The id is the key's alone: the one an HL7 v2 message naming the same
    // GMC number sends (R4 refuses an update whose body id is not the
    // matched resource's, so the two feeds must agree).
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
PID|1||9434765919^^^NHS^NH\r\
PV1|1|I|W1||||1234567^JONES^ANN^^^DR^^^GMC\r",
    )
    .unwrap();
    let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    let adt = event_bundle(&event).unwrap();
    let v2 = adt["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Practitioner")
        .unwrap();
    assert_eq!(v2["request"]["url"], entry["request"]["url"]);
    assert_eq!(v2["resource"]["id"], entry["resource"]["id"]);
    uk_core_valid("gmc worker", &bundle);
    let mut written = Vec::new();
    write_worker_bundle(&workers[0], &mut written).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&written).unwrap(), bundle);
}

#[test]
fn worker_keys_follow_esr_then_registration() {
    // Other identifiers first do not key the worker; the registration does,
    // and every identifier is in `seen`.
    let sds = json!({"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "555"});
    let nmc = json!({"system": "https://fhir.hl7.org.uk/Id/nmc-number", "value": "12A3456B"});
    let (workers, report) = read_workers(&practitioner(json!([sds, nmc])));
    let decision = &report.identity[0];
    assert_eq!(
        decision.key.as_ref(),
        Some(&Identifier::Nmc("12A3456B".into()))
    );
    assert_eq!(decision.seen.len(), 2);
    let bundle = worker_bundle(&workers[0]).unwrap();
    assert_eq!(
        bundle["entry"][0]["request"]["url"],
        "Practitioner?identifier=https://fhir.hl7.org.uk/Id/nmc-number|12A3456B"
    );
    // An ESR person id keys the worker before any registration: the
    // Practitioner is `PUT Practitioner/{id}`, the id from (VPD, person id);
    // the registration stays an identifier in the body.
    let esr = json!({"type": {"text": "ESR person id"}, "value": "7100001",
                     "assigner": {"display": "ESR VPD 999"}});
    let (workers, report) = read_workers(&practitioner(json!([nmc, esr])));
    assert!(matches!(
        report.identity[0].key,
        Some(Identifier::EsrPerson { .. })
    ));
    let bundle = worker_bundle(&workers[0]).unwrap();
    assert_eq!(bundle["entry"][0]["request"]["method"], "PUT");
    let id = bundle["entry"][0]["resource"]["id"].as_str().unwrap();
    assert_eq!(
        bundle["entry"][0]["request"]["url"],
        format!("Practitioner/{id}")
    );
    // Neither: quarantined by the reader and by the writer alike.
    let (workers, report) = read_workers(&practitioner(json!([sds])));
    assert!(report.quarantined());
    assert_eq!(report.identity[0].seen.len(), 1);
    assert!(worker_bundle(&workers[0]).is_err());
}

#[test]
fn the_uk_core_consultant_example_gets_a_bundle() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/corpora/fhir/ukcore/xml/UKCore-Practitioner-ConsultantSandraGose-Example.xml",
    );
    let Ok(xml) = std::fs::read(&path) else {
        println!("skipped: {} not found", path.display());
        return;
    };
    let json = carecodec_fhir::xml::xml_to_json(&xml).unwrap();
    let doc = JsonDocument::from_slice(json.as_bytes()).unwrap();
    // Its GMC number, `C12345678`, is not of a GMC number's shape (seven
    // digits): reported, kept as text, and no key, so the worker is
    // quarantined (it used to key the Practitioner's conditional update).
    let (workers, report) = read_workers(&doc);
    assert!(report.quarantined());
    let bad = &report.invalid[0];
    assert_eq!(
        (bad.raw.as_str(), bad.action),
        ("C12345678", carecodec_model::Action::NotUsedForMatching)
    );
    assert_eq!(report.identity[0].seen.len(), 1);
    assert!(worker_bundle(&workers[0]).is_err());
    // With a GMC number of the register's shape, it gets a valid Bundle.
    let json = json.replace("C12345678", "1234567");
    let doc = JsonDocument::from_slice(json.as_bytes()).unwrap();
    let (workers, report) = read_workers(&doc);
    assert!(!report.quarantined());
    assert!(report.invalid.is_empty(), "{:?}", report.invalid);
    let bundle = worker_bundle(&workers[0]).unwrap();
    uk_core_valid("SandraGose", &bundle);
}

#[test]
fn one_nhs_number_identifier_per_patient() {
    // The same number from PID-2 and PID-3: written once.
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
PID|1|9434765919^^^NHS^NH|9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
PV1|1|I|W1\r",
    )
    .unwrap();
    let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    let bundle = event_bundle(&event).unwrap();
    uk_core_valid("PID-2 and PID-3", &bundle);
    assert_eq!(
        patient(&bundle)["identifier"],
        json!([{"system": NHS, "value": "9434765919"}])
    );
    // FHIR: the same number twice, the second verified: the key (the
    // verified one) is written, once.
    let verified = json!({"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
        "valueCodeableConcept": {"coding": [{"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland", "code": "01"}]}});
    let text = json!({"resourceType": "Patient", "identifier": [
        {"system": NHS, "value": "9434765919"},
        {"extension": [verified], "system": NHS, "value": "9434765919"}]})
    .to_string();
    let (bundle, _, _) = fhir_round("same number twice", &text);
    let ids = patient(&bundle)["identifier"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{ids:#?}");
    assert_eq!(
        ids[0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"],
        "01"
    );
    // Two different numbers are an identity conflict: the record is
    // quarantined and no Bundle is written (see v2::identity).
    let text = json!({"resourceType": "Patient", "identifier": [
        {"system": NHS, "value": "9434765919"},
        {"system": NHS, "value": "9434765870"}]})
    .to_string();
    let doc = JsonDocument::from_slice(text.as_bytes()).unwrap();
    let (event, report) = read_bundle(&doc);
    assert!(report.quarantined());
    assert!(matches!(
        event_bundle(&event),
        Err(carecodec_map::fhir::FhirError::Quarantined(_))
    ));
}

#[test]
fn a_quantity_with_an_exponent_stays_a_quantity() {
    let text = r#"{"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}]}},
        {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation", "status": "final",
            "code": {"text": "T2"}, "subject": {"reference": "urn:uuid:p1"},
            "valueQuantity": {"value": 1.5E-2, "unit": "g", "system": "http://unitsofmeasure.org", "code": "g"}}}]}"#;
    let (bundle, written, report) = fhir_round("exponent", text);
    assert!(unmapped(&report).is_empty(), "{:?}", unmapped(&report));
    let obs = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Observation")
        .unwrap();
    assert!(obs.get("valueString").is_none(), "{obs:#?}");
    assert_eq!(obs["valueQuantity"]["unit"], "g");
    assert_eq!(obs["valueQuantity"]["code"], "g");
    assert_eq!(obs["valueQuantity"]["value"].as_f64(), Some(0.015));
    // The fast path keeps the literal as sent.
    let text = String::from_utf8(written).unwrap();
    assert!(
        text.contains(r#""valueQuantity":{"value":1.5E-2,"#),
        "{text}"
    );
}

#[test]
fn telecom_use_old_is_written() {
    let text = json!({"resourceType": "Patient",
        "identifier": [{"system": NHS, "value": "9434765919"}],
        "telecom": [{"system": "phone", "value": "0113 496 0000", "use": "old"}]})
    .to_string();
    let (bundle, _, report) = fhir_round("telecom old", &text);
    assert!(unmapped(&report).is_empty());
    assert_eq!(patient(&bundle)["telecom"][0]["use"], "old");
}

#[test]
fn a_language_not_preferred_is_not_written_as_preferred() {
    // Only a language marked not preferred: not the primary language the
    // model holds; reported, and no `preferred: true` is made up.
    let text = json!({"resourceType": "Patient",
        "identifier": [{"system": NHS, "value": "9434765919"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "fr"}]},
                           "preferred": false}]})
    .to_string();
    let (bundle, _, report) = fhir_round("preferred false", &text);
    assert!(patient(&bundle).get("communication").is_none());
    let u = unmapped(&report);
    assert!(
        u.contains(&"FHIR Patient.communication[0].preferred".to_owned()),
        "{u:?}"
    );
    // The preferred one is read, wherever it is; the other reported.
    let text = json!({"resourceType": "Patient",
        "identifier": [{"system": NHS, "value": "9434765919"}],
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "fr"}]}, "preferred": false},
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "cy"}]}, "preferred": true}]})
    .to_string();
    let (bundle, _, report) = fhir_round("preferred second", &text);
    assert_eq!(
        patient(&bundle)["communication"],
        json!([{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "cy"}]}, "preferred": true}])
    );
    assert!(
        unmapped(&report)
            .iter()
            .all(|p| p.starts_with("FHIR Patient.communication[0]"))
    );
}

#[test]
fn language_codings_read_from_fhir_are_written_as_read() {
    // UK Core's Patient-RichardSmith example: BSL (ISO 639-3, not in the v2
    // language table) and a SNOMED CT Makaton coding.
    let language = json!({"coding": [
        {"system": "urn:ietf:bcp:47", "code": "bfi", "display": "British Sign Language"},
        {"system": "http://snomed.info/sct", "code": "703963007", "display": "Makaton vocabulary"}]});
    let text = json!({"resourceType": "Patient",
        "identifier": [{"system": NHS, "value": "9434765919"}],
        "communication": [{"language": language}]})
    .to_string();
    let (bundle, _, report) = fhir_round("bfi", &text);
    assert!(unmapped(&report).is_empty());
    assert_eq!(patient(&bundle)["communication"][0]["language"], language);
    // A v2 PID-15 ISO 639-2 code is still written as its BCP-47 tag.
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M|||||||wel^Welsh^ISO639\r",
    )
    .unwrap();
    let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    let bundle = event_bundle(&event).unwrap();
    assert_eq!(
        patient(&bundle)["communication"][0]["language"]["coding"][0],
        json!({"system": "urn:ietf:bcp:47", "code": "cy", "display": "Welsh"})
    );
}

#[test]
fn a_gp_practice_organization_is_written_as_an_organization() {
    let text = r#"{"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
            "generalPractitioner": [{"reference": "urn:uuid:org1"}]}},
        {"fullUrl": "urn:uuid:org1", "resource": {"resourceType": "Organization",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"}],
            "name": "The Surgery"}}]}"#;
    let (bundle, _, report) = fhir_round("gp practice", text);
    assert!(unmapped(&report).is_empty(), "{:?}", unmapped(&report));
    assert_eq!(
        patient(&bundle)["generalPractitioner"],
        json!([{"type": "Organization",
                "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"},
                "display": "The Surgery"}])
    );
    // Read back: the practice again.
    let (event, _) = read_bundle(&bundle);
    assert_eq!(
        event.patient.unwrap().gp_practice_name.unwrap().value,
        "The Surgery"
    );
}

#[test]
fn an_ods_code_held_as_the_gp_is_written_as_the_practice() {
    // An organisation code where the GP's is expected (a model from
    // elsewhere): an Organization reference, not a Practitioner's.
    let doc = json!({"resourceType": "Patient",
        "identifier": [{"system": NHS, "value": "9434765919"}]});
    let (mut event, _) = read_bundle(&doc);
    let p = event.patient.as_mut().unwrap();
    p.gp = Some(carecodec_model::Sourced::new(
        Identifier::OdsOrganisation("A81001".into()),
        carecodec_model::Source::fhir("Patient.generalPractitioner[0]"),
    ));
    let bundle = event_bundle(&event).unwrap();
    uk_core_valid("ods gp", &bundle);
    assert_eq!(
        patient(&bundle)["generalPractitioner"],
        json!([{"type": "Organization",
                "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"}}])
    );
}
