//! FHIR → model: references, identity and the Bundle's structure (which
//! patient a resource belongs to, how references resolve, entries that are
//! not records, documents that are not resources).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_map::fhir::{read_bundle, read_workers};
use carecodec_model::{Action, Identifier, MappingReport, Source, VerificationStatus};
use serde_json::{Value, json};

fn path(s: &Source) -> &str {
    match s {
        Source::Fhir { path } => path,
        other => panic!("not a FHIR source: {other:?}"),
    }
}

/// The unmapped paths of `report`.
fn unmapped(report: &MappingReport) -> Vec<&str> {
    report.unmapped.iter().map(|u| path(&u.source)).collect()
}

/// The invalid entry at `at`, which must be there.
fn invalid_at<'r>(report: &'r MappingReport, at: &str) -> &'r carecodec_model::Invalid {
    report
        .invalid
        .iter()
        .find(|i| path(&i.source) == at)
        .unwrap_or_else(|| panic!("no invalid entry at {at}: {:?}", report.invalid))
}

/// Every leaf of the resource at `prefix` is reported unmapped.
fn all_unmapped(report: &MappingReport, doc: &Value, prefix: &str, pointer: &str) {
    let mut n = 0;
    count_leaves(doc.pointer(pointer).unwrap(), &mut n);
    let got = unmapped(report)
        .iter()
        .filter(|p| p.starts_with(prefix) && p[prefix.len()..].starts_with(['.', '[']))
        .count();
    assert_eq!(got, n, "{prefix}: {:?}", unmapped(report));
}

fn count_leaves(v: &Value, n: &mut usize) {
    match v {
        Value::Object(m) => m.values().for_each(|x| count_leaves(x, n)),
        Value::Array(a) => a.iter().for_each(|x| count_leaves(x, n)),
        Value::Null => {}
        _ => *n += 1,
    }
}

fn nhs(value: &str) -> Value {
    json!({"system": "https://fhir.nhs.uk/Id/nhs-number", "value": value})
}

#[test]
fn a_resource_of_another_or_an_unknown_patient_is_not_attached() {
    // obs_other.json: an Observation of a patient not in the Bundle used to
    // be read for the Bundle's Patient, every leaf mapped.
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1",
          "identifier": [nhs("9434765919")]}},
        {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation", "status": "final",
          "code": {"text": "Potassium"},
          "subject": {"reference": "Patient/other-999", "display": "Someone Else"},
          "valueQuantity": {"value": 4.5, "unit": "mmol/L"}}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert!(event.observations.is_empty());
    assert!(event.patient.is_some() && !report.quarantined());
    let bad = invalid_at(&report, "Bundle.entry[1].resource.subject.reference");
    assert_eq!(bad.raw, "Patient/other-999");
    assert_eq!(bad.action, Action::Dropped);
    all_unmapped(
        &report,
        &doc,
        "Bundle.entry[1].resource",
        "/entry/1/resource",
    );

    // two_pat.json: the first Patient is the Bundle's; the second one and its
    // allergy, condition and encounter are reported, not attached.
    let doc = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient",
          "identifier": [nhs("9434765919")]}, "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:p2", "resource": {"resourceType": "Patient",
          "identifier": [nhs("9434765870")]}, "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:a2", "resource": {"resourceType": "AllergyIntolerance",
          "code": {"text": "Penicillin"}, "patient": {"reference": "urn:uuid:p2"}}},
        {"fullUrl": "urn:uuid:c2", "resource": {"resourceType": "Condition",
          "code": {"text": "Asthma"}, "subject": {"reference": "urn:uuid:p2"}}},
        {"fullUrl": "urn:uuid:e2", "resource": {"resourceType": "Encounter", "status": "finished",
          "class": {"code": "AMB"}, "subject": {"reference": "urn:uuid:p2"}}},
        {"fullUrl": "urn:uuid:c1", "resource": {"resourceType": "Condition",
          "code": {"text": "Eczema"}, "subject": {"reference": "urn:uuid:p1"}}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let p = event.patient.unwrap();
    assert!(
        matches!(&p.identifiers[0].value, Identifier::Nhs { number, .. } if number.as_str() == "9434765919")
    );
    assert!(event.allergies.is_empty() && event.encounter.is_none());
    assert_eq!(event.conditions.len(), 1);
    assert_eq!(
        event.conditions[0].code.value.text.as_deref(),
        Some("Eczema")
    );
    invalid_at(&report, "Bundle.entry[1].resource");
    for (i, k) in [(2, "patient"), (3, "subject"), (4, "subject")] {
        let bad = invalid_at(
            &report,
            &format!("Bundle.entry[{i}].resource.{k}.reference"),
        );
        assert!(bad.reason.contains("another patient"), "{}", bad.reason);
        all_unmapped(
            &report,
            &doc,
            &format!("Bundle.entry[{i}].resource"),
            &format!("/entry/{i}/resource"),
        );
    }
    all_unmapped(
        &report,
        &doc,
        "Bundle.entry[1].resource",
        "/entry/1/resource",
    );
    assert!(
        !unmapped(&report)
            .iter()
            .any(|p| p.starts_with("Bundle.entry[5]"))
    );
}

#[test]
fn a_relative_patient_reference_matches_the_patient_id_or_full_url() {
    // R4: `Patient/<id>` refers to the Patient with that id (or whose fullUrl
    // ends so); its subject is consumed as before.
    for (url, id) in [
        ("urn:uuid:p1", Some("abc")),
        ("http://srv/fhir/Patient/abc", None),
    ] {
        let mut patient = json!({"resourceType": "Patient", "identifier": [nhs("9434765919")]});
        if let Some(id) = id {
            patient["id"] = json!(id);
        }
        let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": url, "resource": patient},
            {"fullUrl": "urn:uuid:c1", "resource": {"resourceType": "Condition",
              "code": {"text": "Asthma"}, "subject": {"reference": "Patient/abc"}}}]});
        let (event, report) = read_bundle(&doc);
        assert_eq!(event.conditions.len(), 1, "{url}");
        assert!(report.invalid.is_empty(), "{:?}", report.invalid);
        assert!(report.unmapped.is_empty(), "{url}: {:?}", unmapped(&report));
    }
}

#[test]
fn nhs_verification_status_is_the_uk_core_extension_wherever_it_is() {
    // id10.json: another extension at [0] with code 01 used to be read as
    // "verified".
    let mut id = nhs("9434765919");
    id["extension"] = json!([{"url": "http://example.org/identifier-source-priority",
        "valueCodeableConcept": {"coding": [{"system": "http://example.org/prio", "code": "01"}]}}]);
    let doc = json!({"resourceType": "Patient", "identifier": [id]});
    let (event, report) = read_bundle(&doc);
    let p = event.patient.unwrap();
    assert!(matches!(
        &p.identifiers[0].value,
        Identifier::Nhs {
            verification: None,
            ..
        }
    ));
    let u = unmapped(&report);
    assert!(
        u.contains(&"Patient.identifier[0].extension[0].url"),
        "{u:?}"
    );
    assert!(u.contains(&"Patient.identifier[0].extension[0].valueCodeableConcept.coding[0].code"));
    // id6.json: the UK Core extension at [1] (its coding at [1]) used to be
    // ignored.
    let mut id = nhs("9434765919");
    id["extension"] = json!([{"url": "http://example.org/other", "valueString": "x"},
        {"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
         "valueCodeableConcept": {"coding": [
            {"system": "http://example.org/other", "code": "02"},
            {"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
             "code": "01", "display": "Number present and verified"}]}}]);
    let doc = json!({"resourceType": "Patient", "identifier": [id]});
    let (event, report) = read_bundle(&doc);
    let p = event.patient.unwrap();
    assert!(matches!(
        &p.identifiers[0].value,
        Identifier::Nhs {
            verification: Some(VerificationStatus::Verified),
            ..
        }
    ));
    assert!(report.balanced());
    let mut u = unmapped(&report);
    u.sort_unstable();
    assert_eq!(
        u,
        [
            "Patient.identifier[0].extension[0].url",
            "Patient.identifier[0].extension[0].valueString",
            "Patient.identifier[0].extension[1].valueCodeableConcept.coding[0].code",
            "Patient.identifier[0].extension[1].valueCodeableConcept.coding[0].system",
        ]
    );
}

#[test]
fn an_nhs_number_sent_with_spaces_is_read_and_reported() {
    let doc = json!({"resourceType": "Patient", "identifier": [nhs("943 476 5919")]});
    let (event, report) = read_bundle(&doc);
    let p = event.patient.as_ref().unwrap();
    assert_eq!(p.nhs_number().unwrap().as_str(), "9434765919");
    let bad = invalid_at(&report, "Patient.identifier[0].value");
    assert_eq!(bad.action, Action::Interpreted);
    assert_eq!(
        bad.reason,
        "NHS number sent with spaces: read as 9434765919"
    );
    assert!(report.balanced());
    assert!(!report.quarantined());
    // Written back as the ten digits.
    let b = carecodec_map::fhir::event_bundle(&event).unwrap();
    assert_eq!(
        b["entry"][0]["resource"]["identifier"][0]["value"],
        "9434765919"
    );
    // Ten digits alone are not reported.
    let doc = json!({"resourceType": "Patient", "identifier": [nhs("9434765919")]});
    assert!(read_bundle(&doc).1.invalid.is_empty());
}

#[test]
fn replaced_patients_naming_two_people_quarantine_the_merge() {
    let replaced = |n: &str, id: &str| {
        json!({"fullUrl": format!("urn:uuid:{id}"), "resource": {"resourceType": "Patient",
            "identifier": [nhs(n)], "active": false,
            "link": [{"other": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
                      "type": "replaced-by"}]}})
    };
    let doc = |others: Vec<Value>| {
        let mut entry = vec![
            json!({"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
            "resource": {"resourceType": "Patient", "identifier": [nhs("9434765919")]}}),
        ];
        entry.extend(others);
        json!({"resourceType": "Bundle", "type": "collection", "entry": entry})
    };
    let two = doc(vec![
        replaced("4010232137", "00000000-0000-4000-8000-000000000002"),
        replaced("9000000009", "00000000-0000-4000-8000-000000000003"),
    ]);
    let (event, report) = read_bundle(&two);
    assert_eq!(event.merged_from.len(), 2);
    assert!(report.quarantined());
    let d = report.identity.iter().find(|d| d.quarantined()).unwrap();
    assert!(d.reason.contains("4010232137, 9000000009"), "{}", d.reason);
    // One replaced Patient: a merge as before.
    let one = doc(vec![replaced(
        "4010232137",
        "00000000-0000-4000-8000-000000000002",
    )]);
    let (event, report) = read_bundle(&one);
    assert_eq!(event.merged_from.len(), 1);
    assert!(!report.quarantined(), "{:?}", report.identity);
}

#[test]
fn an_event_about_no_patient_with_nothing_to_write_is_quarantined() {
    // A Provenance or MessageHeader alone used to be read as an event the
    // writer made an empty transaction Bundle of, not quarantined.
    let prov = json!({"resourceType": "Provenance", "recorded": "2024-03-12T09:15:00Z",
        "agent": [{"who": {"display": "PAS"}}]});
    let (event, report) = read_bundle(&prov);
    assert!(event.patient.is_none());
    assert!(report.balanced());
    assert!(report.quarantined());
    assert!(
        report.identity[0]
            .reason
            .contains("no Patient and nothing else to write"),
        "{}",
        report.identity[0].reason
    );
    let header = |code: &str| {
        json!({"resourceType": "MessageHeader", "eventCoding": {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0003", "code": code.split('^').nth(1).unwrap(),
            "display": code}, "source": {"endpoint": "urn:oid:1.2.3"}})
    };
    // An ADT event: as HL7 v2's ADT without PID.
    let (_, report) = read_bundle(&header("ADT^A01"));
    assert!(report.quarantined());
    assert_eq!(
        report.identity[0].reason,
        "quarantined: ADT^A01 has no PID segment: an ADT event about no patient"
    );
    let (_, report) = read_bundle(&header("ORU^R01"));
    assert!(report.quarantined());
    // Results about no patient are read as sent (ORU's PATIENT group is optional).
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001", "resource": header("ORU^R01")},
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000002", "resource": {
            "resourceType": "Observation", "status": "final", "code": {"text": "QC"},
            "valueString": "ok"}}]});
    let (event, report) = read_bundle(&doc);
    assert_eq!(event.observations.len(), 1);
    assert!(!report.quarantined(), "{:?}", report.identity);
}

#[test]
fn relative_references_resolve_against_a_restful_full_url() {
    // relref.json: a searchset; `Observation/1` from
    // `http://srv/fhir/DiagnosticReport/5` is `http://srv/fhir/Observation/1`.
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://srv/fhir/Patient/123", "resource": {"resourceType": "Patient", "id": "123",
          "identifier": [nhs("9434765919")]}},
        {"fullUrl": "http://srv/fhir/Observation/1", "resource": {"resourceType": "Observation",
          "id": "1", "status": "final", "code": {"text": "Na"}, "subject": {"reference": "Patient/123"},
          "valueQuantity": {"value": 140}, "performer": [{"reference": "Practitioner/9"}]}},
        {"fullUrl": "http://srv/fhir/Practitioner/9", "resource": {"resourceType": "Practitioner",
          "id": "9", "identifier": [{"system": "https://fhir.hl7.org.uk/Id/gmc-number", "value": "C1234567"}]}},
        {"fullUrl": "http://srv/fhir/DiagnosticReport/5", "resource": {"resourceType": "DiagnosticReport",
          "id": "5", "status": "final", "code": {"text": "U&E"}, "subject": {"reference": "Patient/123"},
          "result": [{"reference": "Observation/1"}]}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert!(event.observations.is_empty());
    let obs = &event.reports[0].observations;
    assert_eq!(obs.len(), 1);
    let gmc = &obs[0].performers[0]
        .practitioner
        .as_ref()
        .unwrap()
        .identifiers[0];
    assert_eq!(gmc.value.value(), "C1234567");
    assert!(report.unmapped.is_empty(), "{:?}", unmapped(&report));
}

#[test]
fn a_reference_to_nothing_in_the_bundle_is_reported() {
    // refs.json: the asserter's and the participant's displays used to be
    // consumed with their references, though nothing was read from them.
    // (An `encounter` not in the Bundle beside the Encounter read makes the
    // Condition another encounter's, not read since 2026-12-07: see
    // `resources_of_a_second_encounter_are_not_linked_to_the_first`, which
    // also has the Condition read, its `encounter` reported, when no
    // Encounter is.)
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient",
          "identifier": [nhs("9434765919")]}},
        {"fullUrl": "urn:uuid:c1", "resource": {"resourceType": "Condition", "code": {"text": "Asthma"},
          "subject": {"reference": "urn:uuid:p1"}, "encounter": {"reference": "Encounter/e1"},
          "asserter": {"reference": "Practitioner/abc", "display": "Dr Asserter"}}},
        {"fullUrl": "urn:uuid:e1", "resource": {"resourceType": "Encounter", "status": "finished",
          "id": "e1", "class": {"code": "AMB"}, "subject": {"reference": "urn:uuid:p1"},
          "participant": [{"individual": {"reference": "Practitioner/xyz", "display": "Dr Attending"}}]}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert_eq!(event.conditions.len(), 1);
    let mut u = unmapped(&report);
    u.sort_unstable();
    assert_eq!(
        u,
        [
            "Bundle.entry[1].resource.asserter.display",
            "Bundle.entry[1].resource.asserter.reference",
            "Bundle.entry[2].resource.participant[0].individual.display",
            "Bundle.entry[2].resource.participant[0].individual.reference",
        ]
    );
    // single_obs.json: no Patient at all: the Observation is read, its
    // subject reported.
    let doc = json!({"resourceType": "Observation", "status": "final", "code": {"text": "Na"},
        "subject": {"reference": "Patient/1"}});
    let (event, report) = read_bundle(&doc);
    assert_eq!(event.observations.len(), 1);
    assert_eq!(unmapped(&report), ["Observation.subject.reference"]);
}

#[test]
fn a_result_listed_twice_is_read_once_and_duplicate_full_urls_are_reported() {
    // tworep.json: the same Observation listed twice used to be read twice;
    // a result that is not an Observation of the Bundle is reported.
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "identifier": [nhs("9434765919")]}},
        {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation", "status": "final",
          "code": {"text": "Sodium"}, "subject": {"reference": "urn:uuid:p1"}}},
        {"fullUrl": "urn:uuid:d1", "resource": {"resourceType": "DiagnosticReport", "status": "final",
          "code": {"text": "A"}, "subject": {"reference": "urn:uuid:p1"},
          "result": [{"reference": "urn:uuid:o1"}, {"reference": "urn:uuid:o1"}]}},
        {"fullUrl": "urn:uuid:d2", "resource": {"resourceType": "DiagnosticReport", "status": "final",
          "code": {"text": "B"}, "subject": {"reference": "urn:uuid:p1"},
          "result": [{"reference": "urn:uuid:p1"}, {"reference": "urn:uuid:o1"}]}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert_eq!(event.reports[0].observations.len(), 1);
    assert!(event.reports[1].observations.is_empty());
    assert!(event.observations.is_empty());
    assert_eq!(
        unmapped(&report),
        ["Bundle.entry[3].resource.result[0].reference"]
    );

    // dupurl.json: two entries with one fullUrl; the report's result used to
    // be the last. Both are read on their own, the reference is reported.
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "identifier": [nhs("9434765919")]}},
        {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation", "status": "final",
          "code": {"text": "Sodium"}, "subject": {"reference": "urn:uuid:p1"}}},
        {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation", "status": "final",
          "code": {"text": "Potassium"}, "subject": {"reference": "urn:uuid:p1"}}},
        {"fullUrl": "urn:uuid:d1", "resource": {"resourceType": "DiagnosticReport", "status": "final",
          "code": {"text": "U&E"}, "subject": {"reference": "urn:uuid:p1"},
          "result": [{"reference": "urn:uuid:o1"}]}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert!(event.reports[0].observations.is_empty());
    assert_eq!(event.observations.len(), 2);
    assert_eq!(report.invalid.len(), 1, "{:?}", report.invalid);
    let dup = invalid_at(&report, "Bundle.entry[2].fullUrl");
    assert_eq!(dup.reason, "duplicate fullUrl (R4 bdl-7)");
    assert_eq!(
        unmapped(&report),
        ["Bundle.entry[3].resource.result[0].reference"]
    );
}

#[test]
fn a_modifier_extension_is_not_read_as_if_absent() {
    // modext.json: a refuted allergy (modifier extension) used to be read as
    // an active one.
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "identifier": [nhs("9434765919")]}},
        {"fullUrl": "urn:uuid:a1", "resource": {"resourceType": "AllergyIntolerance",
          "modifierExtension": [{"url": "http://example.org/refuted", "valueBoolean": true}],
          "code": {"text": "Penicillin"}, "patient": {"reference": "urn:uuid:p1"}}},
        {"fullUrl": "urn:uuid:c1", "resource": {"resourceType": "Condition", "code": {"text": "Asthma"},
          "subject": {"reference": "urn:uuid:p1"},
          "evidence": [{"modifierExtension": [{"url": "http://example.org/not", "valueBoolean": true}]}]}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert!(event.allergies.is_empty() && event.conditions.is_empty());
    assert!(!report.quarantined());
    let bad = invalid_at(&report, "Bundle.entry[1].resource.modifierExtension[0]");
    assert!(
        bad.reason.contains("http://example.org/refuted"),
        "{}",
        bad.reason
    );
    assert_eq!(bad.action, Action::Dropped);
    invalid_at(
        &report,
        "Bundle.entry[2].resource.evidence[0].modifierExtension[0]",
    );
    all_unmapped(
        &report,
        &doc,
        "Bundle.entry[1].resource",
        "/entry/1/resource",
    );
    all_unmapped(
        &report,
        &doc,
        "Bundle.entry[2].resource",
        "/entry/2/resource",
    );
    // On the Patient: the record is quarantined.
    let doc = json!({"resourceType": "Patient", "identifier": [nhs("9434765919")],
        "modifierExtension": [{"url": "http://example.org/not-this-patient", "valueBoolean": true}]});
    let (event, report) = read_bundle(&doc);
    assert!(event.patient.is_none());
    assert!(report.quarantined() && report.balanced());
    assert!(
        report.identity[0]
            .reason
            .contains("http://example.org/not-this-patient")
    );
    assert_eq!(report.mapped, 0);
}

#[test]
fn a_delete_entry_is_reported_and_conditional_headers_are_not_consumed() {
    // del.json: a DELETE (and an ifMatch) used to be consumed silently.
    let doc = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "identifier": [nhs("9434765919")]},
         "request": {"method": "PUT", "url": "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919"}},
        {"request": {"method": "DELETE", "url": "AllergyIntolerance?code=http://snomed.info/sct|91936005"}},
        {"fullUrl": "urn:uuid:a0", "resource": {"resourceType": "AllergyIntolerance", "code": {"text": "Nuts"},
          "patient": {"reference": "urn:uuid:p1"}}, "request": {"method": "DELETE", "url": "AllergyIntolerance/x"}},
        {"fullUrl": "urn:uuid:a1", "resource": {"resourceType": "AllergyIntolerance", "code": {"text": "Penicillin"},
          "patient": {"reference": "urn:uuid:p1"}},
         "request": {"method": "PUT", "url": "AllergyIntolerance/abc", "ifMatch": "W/\"3\""}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert_eq!(event.allergies.len(), 1);
    for i in [1, 2] {
        let bad = invalid_at(&report, &format!("Bundle.entry[{i}].request"));
        assert_eq!(bad.reason, "a DELETE is not a record to map");
        assert_eq!(bad.action, Action::Dropped);
        all_unmapped(
            &report,
            &doc,
            &format!("Bundle.entry[{i}]"),
            &format!("/entry/{i}"),
        );
    }
    assert!(unmapped(&report).contains(&"Bundle.entry[3].request.ifMatch"));
}

#[test]
fn a_document_that_is_not_a_resource_is_not_read() {
    // rob/nort.json: no resourceType; paths used to be rooted at ".".
    let doc = json!({"identifier": [nhs("9434765919")]});
    let (event, report) = read_bundle(&doc);
    assert!(event.patient.is_none());
    assert!(report.quarantined() && report.balanced());
    assert_eq!(report.mapped, 0);
    assert!(report.identity[0].reason.contains("no string resourceType"));
    for u in unmapped(&report) {
        assert!(u.starts_with("Resource."), "{u}");
    }
    let (_, report) = read_bundle(&json!({"resourceType": 7}));
    assert!(report.quarantined());
    invalid_at(&report, "Resource.resourceType");
    // rob/weird2.json: `entry` an object: nothing in it was read.
    let doc = json!({"resourceType": "Bundle", "entry": {"resource": {"resourceType": "Patient",
        "identifier": [nhs("9434765919")]}}});
    let (event, report) = read_bundle(&doc);
    assert!(event.patient.is_none());
    assert!(report.quarantined() && report.balanced());
    assert_eq!(
        invalid_at(&report, "Bundle.entry").action,
        Action::Quarantined
    );
}

#[test]
fn a_resource_type_the_reader_does_not_read_is_reported_whole() {
    // A MedicationRequest's resourceType, id, meta, subject and encounter
    // used to count as mapped.
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "identifier": [nhs("9434765919")]}},
        {"fullUrl": "urn:uuid:m1", "resource": {"resourceType": "MedicationRequest", "id": "m1",
          "meta": {"versionId": "1"}, "status": "active", "intent": "order",
          "medicationCodeableConcept": {"text": "Warfarin"},
          "subject": {"reference": "urn:uuid:p1"}, "encounter": {"reference": "urn:uuid:e9"}}},
        {"fullUrl": "urn:uuid:x1", "resource": {"resourceType": "Practitioner", "id": "x1"}}]});
    let (_, report) = read_bundle(&doc);
    assert!(report.balanced());
    all_unmapped(
        &report,
        &doc,
        "Bundle.entry[1].resource",
        "/entry/1/resource",
    );
    all_unmapped(
        &report,
        &doc,
        "Bundle.entry[2].resource",
        "/entry/2/resource",
    );
    assert!(report.invalid.is_empty());
}

#[test]
fn a_registration_number_not_of_its_registers_shape_keys_no_worker() {
    // GMC `12AB` used to be read as a GMC number and key the Practitioner.
    let reg = |system: &str, value: &str| {
        json!({"system": format!("https://fhir.hl7.org.uk/Id/{system}"), "value": value,
               "period": {"start": "2020-01-01"}})
    };
    let doc = json!({"resourceType": "Practitioner", "identifier": [
        reg("gmc-number", "12AB"), reg("nmc-number", "01Z2345A")]});
    let (workers, report) = read_workers(&doc);
    assert!(report.balanced());
    let bad = invalid_at(&report, "Practitioner.identifier[0].value");
    assert_eq!(bad.action, Action::NotUsedForMatching);
    assert_eq!(bad.raw, "12AB");
    assert!(bad.reason.contains("GMC"), "{}", bad.reason);
    // Kept as text with its period; the next valid registration keys it.
    let w = &workers[0];
    assert_eq!(w.registrations.len(), 2);
    assert_eq!(
        w.registrations[0].identifier.value,
        Identifier::Other {
            system: Some("GMC (invalid)".into()),
            value: "12AB".into()
        }
    );
    assert!(w.registrations[0].from.is_some());
    assert_eq!(
        report.identity[0].key,
        Some(Identifier::Nmc("01Z2345A".into()))
    );
    let b = carecodec_map::fhir::worker_bundle(w).unwrap();
    assert_eq!(
        b["entry"][0]["request"]["url"],
        "Practitioner?identifier=https://fhir.hl7.org.uk/Id/nmc-number|01Z2345A"
    );
    assert!(!b.to_string().contains("gmc-number"), "{b}");
    // Read back: the same registrations.
    let (back, _) = read_workers(&b);
    let values = |w: &carecodec_model::Worker| {
        w.registrations
            .iter()
            .map(|r| r.identifier.value.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&back[0]), values(w));
    // Alone, it keys nothing: the worker is quarantined.
    let doc = json!({"resourceType": "Practitioner", "identifier": [reg("gmc-number", "12AB")]});
    let (_, report) = read_workers(&doc);
    assert!(report.quarantined());
    // In an event (an Encounter participant), it is reported the same.
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
         "resource": {"resourceType": "Patient", "identifier": [nhs("9434765919")]}},
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000002",
         "resource": {"resourceType": "Encounter", "status": "finished",
            "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
            "participant": [{"individual": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000003"}}]}},
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000003",
         "resource": {"resourceType": "Practitioner", "identifier": [
            {"system": "https://fhir.hl7.org.uk/Id/gphc-number", "value": "12345"}]}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert!(
        report
            .invalid
            .iter()
            .any(|i| i.raw == "12345" && i.action == Action::NotUsedForMatching),
        "{:?}",
        report.invalid
    );
    let b = carecodec_map::fhir::event_bundle(&event).unwrap();
    assert!(!b.to_string().contains("gphc-number"), "{b}");
}

#[test]
fn workers_resolve_relative_references_and_report_roles_of_no_practitioner() {
    // A searchset of a Practitioner and its roles: `Practitioner/9` from
    // `http://srv/fhir/PractitionerRole/1` is the Practitioner's entry; a
    // role of a Practitioner not in the Bundle used to have its
    // resourceType, id and active counted as read.
    let doc = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": "http://srv/fhir/Practitioner/9", "resource": {"resourceType": "Practitioner",
          "id": "9", "identifier": [{"system": "https://fhir.hl7.org.uk/Id/gmc-number", "value": "C1234567"}]}},
        {"fullUrl": "http://srv/fhir/PractitionerRole/1", "resource": {"resourceType": "PractitionerRole",
          "id": "1", "practitioner": {"reference": "Practitioner/9"}, "period": {"start": "2020-01-01"}}},
        {"fullUrl": "http://srv/fhir/PractitionerRole/2", "resource": {"resourceType": "PractitionerRole",
          "id": "2", "active": true, "practitioner": {"reference": "Practitioner/elsewhere"}}}]});
    let (workers, report) = read_workers(&doc);
    assert!(report.balanced());
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0].assignments.len(), 1);
    assert_eq!(
        workers[0].assignments[0]
            .start
            .as_ref()
            .unwrap()
            .value
            .to_string(),
        "2020-01-01"
    );
    all_unmapped(
        &report,
        &doc,
        "Bundle.entry[2].resource",
        "/entry/2/resource",
    );
    assert_eq!(report.unmapped.len(), 4, "{:?}", unmapped(&report));
}

/// An assigner identifier is an authority only as an ODS code (the writer's
/// form) or with no system: one in another system is reported unmapped, and
/// the assigner's display is the authority.
#[test]
fn an_assigner_in_another_system_is_not_read_as_the_authority() {
    let mr = json!({"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"});
    let doc = json!({"resourceType": "Patient", "identifier": [
        nhs("9434765919"),
        {"type": {"coding": [mr]}, "value": "K1",
         "assigner": {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RX1"}}},
        {"type": {"coding": [mr]}, "value": "K2",
         "assigner": {"identifier": {"system": "urn:oid:1.2.3", "value": "ABC"}, "display": "Lab A"}},
        {"type": {"coding": [mr]}, "value": "K3", "assigner": {"identifier": {"value": "RX2"}}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let ids: Vec<Identifier> = event
        .patient
        .unwrap()
        .identifiers
        .into_iter()
        .map(|i| i.value)
        .collect();
    let mrn = |v: &str, a: &str| Identifier::Mrn {
        value: v.into(),
        authority: Some(a.into()),
        system: None,
    };
    assert_eq!(
        ids[1..],
        [mrn("K1", "RX1"), mrn("K2", "Lab A"), mrn("K3", "RX2")]
    );
    let u = unmapped(&report);
    assert!(
        u.contains(&"Patient.identifier[2].assigner.identifier.system")
            && u.contains(&"Patient.identifier[2].assigner.identifier.value"),
        "{u:?}"
    );
    assert_eq!(u.len(), 2, "{u:?}");
}

/// A Bundle of the Patient `a` (NHS number 9434765919) and `more` entries,
/// with RESTful fullUrls under `http://srv/fhir`.
fn bundle_with(more: &[Value]) -> Value {
    let mut entries = vec![json!({"fullUrl": "http://srv/fhir/Patient/a", "resource": {
        "resourceType": "Patient", "id": "a", "identifier": [nhs("9434765919")],
        "name": [{"family": "Smith"}]}})];
    entries.extend(more.iter().cloned());
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
}

#[test]
fn a_patient_or_related_person_is_never_read_as_a_practitioner() {
    // repro/asserter-patient: a self-reported Condition (asserter → the
    // Patient) and an Encounter participant that is the patient's mother
    // (RelatedPerson) were read as Practitioners keyed by NHS number.
    let doc = bundle_with(&[
        json!({"fullUrl": "http://srv/fhir/RelatedPerson/m", "resource": {
            "resourceType": "RelatedPerson", "id": "m", "patient": {"reference": "Patient/a"},
            "identifier": [nhs("4010232137")], "name": [{"family": "Mother"}]}}),
        json!({"fullUrl": "http://srv/fhir/Condition/4", "resource": {
            "resourceType": "Condition", "subject": {"reference": "Patient/a"},
            "asserter": {"reference": "Patient/a", "display": "the patient"},
            "code": {"text": "self-reported asthma"}}}),
        json!({"fullUrl": "http://srv/fhir/Encounter/e", "resource": {
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "Patient/a"},
            "participant": [{"type": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                "code": "ATND"}]}],
              "individual": {"reference": "RelatedPerson/m"}}]}}),
        json!({"fullUrl": "http://srv/fhir/Provenance/v", "resource": {
            "resourceType": "Provenance", "target": [{"reference": "Condition/4"}],
            "recorded": "2024-03-12T09:15:00Z",
            "agent": [{"who": {"reference": "Patient/a"}}]}}),
    ]);
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let c = &event.conditions[0];
    assert!(c.asserter.is_none(), "{:?}", c.asserter);
    let e = event.encounter.as_ref().unwrap();
    assert!(e.participants.is_empty(), "{:?}", e.participants);
    assert!(event.operator.is_none(), "{:?}", event.operator);
    let u = unmapped(&report);
    for at in [
        "Bundle.entry[2].resource.asserter.reference",
        "Bundle.entry[2].resource.asserter.display",
        "Bundle.entry[3].resource.participant[0].individual.reference",
        "Bundle.entry[4].resource.agent[0].who.reference",
    ] {
        assert!(u.contains(&at), "{at} not reported: {u:?}");
    }
    // The RelatedPerson, which nothing reads, is reported whole.
    all_unmapped(
        &report,
        &doc,
        "Bundle.entry[1].resource",
        "/entry/1/resource",
    );
}

#[test]
fn a_practitioner_role_participant_or_asserter_is_its_practitioner() {
    // repro/participant-practitionerrole: a participant or asserter that is a
    // PractitionerRole gave an empty Practitioner (a blank one POSTed at
    // every load).
    let role = |id: &str, to: Option<&str>| {
        let mut r = json!({"resourceType": "PractitionerRole", "id": id,
            "code": [{"text": "Consultant"}]});
        if let Some(to) = to {
            r["practitioner"] = json!({"reference": to});
        }
        json!({"fullUrl": format!("http://srv/fhir/PractitionerRole/{id}"), "resource": r})
    };
    let doc = bundle_with(&[
        json!({"fullUrl": "http://srv/fhir/Encounter/e", "resource": {
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": "Patient/a"},
            "participant": [
              {"type": [{"coding": [{"code": "ATND"}]}],
               "individual": {"reference": "PractitionerRole/r1"}},
              {"type": [{"coding": [{"code": "REF"}]}],
               "individual": {"reference": "PractitionerRole/r2"}}]}}),
        role("r1", Some("Practitioner/d")),
        // A PractitionerRole with no Practitioner: nobody to read.
        role("r2", None),
        json!({"fullUrl": "http://srv/fhir/Practitioner/d", "resource": {
            "resourceType": "Practitioner", "id": "d",
            "identifier": [{"system": "https://fhir.hl7.org.uk/Id/gmc-number", "value": "1234567"}],
            "name": [{"family": "Jones"}]}}),
        json!({"fullUrl": "http://srv/fhir/Condition/c", "resource": {
            "resourceType": "Condition", "subject": {"reference": "Patient/a"},
            "encounter": {"reference": "Encounter/e"},
            "asserter": {"reference": "PractitionerRole/r1"}, "code": {"text": "Asthma"}}}),
        json!({"fullUrl": "http://srv/fhir/Condition/c2", "resource": {
            "resourceType": "Condition", "subject": {"reference": "Patient/a"},
            "encounter": {"reference": "Encounter/e"},
            "asserter": {"reference": "PractitionerRole/r2"}, "code": {"text": "Eczema"}}}),
    ]);
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let jones = |p: &carecodec_model::Practitioner| {
        assert_eq!(p.identifiers.len(), 1, "{p:?}");
        assert!(matches!(&p.identifiers[0].value, Identifier::Gmc(n) if n == "1234567"));
        assert_eq!(
            p.name.as_ref().unwrap().value.family.as_deref(),
            Some("Jones")
        );
    };
    let e = event.encounter.as_ref().unwrap();
    assert_eq!(e.participants.len(), 1, "{:?}", e.participants);
    assert_eq!(e.participants[0].role, "ATND");
    jones(&e.participants[0].practitioner);
    jones(event.conditions[0].asserter.as_ref().unwrap());
    assert!(event.conditions[1].asserter.is_none());
    let u = unmapped(&report);
    for at in [
        // The role's code has no place beside a participant: reported.
        "Bundle.entry[2].resource.code[0].text",
        // The second participant and asserter: no Practitioner to read.
        "Bundle.entry[1].resource.participant[1].individual.reference",
        "Bundle.entry[1].resource.participant[1].type[0].coding[0].code",
        "Bundle.entry[6].resource.asserter.reference",
    ] {
        assert!(u.contains(&at), "{at} not reported: {u:?}");
    }
    assert!(!u.contains(&"Bundle.entry[4].resource.name[0].family"));
}

#[test]
fn resources_of_a_second_encounter_are_not_linked_to_the_first() {
    // repro/second-encounter-relinked: the Observation and Condition of
    // Encounter V2 were read, and written linked to V1 (and in its diagnoses).
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient",
          "identifier": [nhs("9434765919")]}},
        {"fullUrl": "urn:uuid:e1", "resource": {"resourceType": "Encounter", "status": "finished",
          "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
          "subject": {"reference": "urn:uuid:p"}, "identifier": [{"value": "V1"}]}},
        {"fullUrl": "urn:uuid:e2", "resource": {"resourceType": "Encounter", "status": "in-progress",
          "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
          "subject": {"reference": "urn:uuid:p"}, "identifier": [{"value": "V2"}]}},
        {"fullUrl": "urn:uuid:o2", "resource": {"resourceType": "Observation", "status": "final",
          "code": {"text": "obs for V2"}, "subject": {"reference": "urn:uuid:p"},
          "encounter": {"reference": "urn:uuid:e2"}, "valueString": "v"}},
        {"fullUrl": "urn:uuid:c2", "resource": {"resourceType": "Condition",
          "subject": {"reference": "urn:uuid:p"}, "encounter": {"reference": "urn:uuid:e2"},
          "code": {"text": "cond for V2"}}},
        // Another server's Encounter, which may not be V1 either.
        {"fullUrl": "urn:uuid:c3", "resource": {"resourceType": "Condition",
          "subject": {"reference": "urn:uuid:p"},
          "encounter": {"reference": "http://elsewhere/fhir/Encounter/9"},
          "code": {"text": "cond elsewhere"}}},
        {"fullUrl": "urn:uuid:c1", "resource": {"resourceType": "Condition",
          "subject": {"reference": "urn:uuid:p"}, "encounter": {"reference": "urn:uuid:e1"},
          "code": {"text": "cond for V1"}}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert!(event.encounter.is_some());
    assert!(event.observations.is_empty(), "{:?}", event.observations);
    assert_eq!(event.conditions.len(), 1, "{:?}", event.conditions);
    assert_eq!(
        event.conditions[0].code.value.text.as_deref(),
        Some("cond for V1")
    );
    invalid_at(&report, "Bundle.entry[2].resource");
    for i in 2..=5 {
        if i > 2 {
            let bad = invalid_at(
                &report,
                &format!("Bundle.entry[{i}].resource.encounter.reference"),
            );
            assert_eq!(bad.action, Action::Dropped);
        }
        all_unmapped(
            &report,
            &doc,
            &format!("Bundle.entry[{i}].resource"),
            &format!("/entry/{i}/resource"),
        );
    }
    // With no Encounter read, a resource's encounter is reported and the
    // resource is read: it is linked to no other.
    let mut doc = doc;
    doc["entry"].as_array_mut().unwrap().drain(1..3);
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert!(event.encounter.is_none());
    assert_eq!((event.observations.len(), event.conditions.len()), (1, 3));
    assert!(unmapped(&report).contains(&"Bundle.entry[1].resource.encounter.reference"));
}

#[test]
fn a_performer_that_is_the_patient_is_reported() {
    // repro/performer-patient: a patient-reported reading's performer (the
    // Patient) was counted as mapped and dropped, display included.
    let doc = bundle_with(&[
        json!({"fullUrl": "http://srv/fhir/Observation/o", "resource": {
        "resourceType": "Observation", "status": "final", "code": {"text": "home BP"},
        "subject": {"reference": "Patient/a"},
        "performer": [{"reference": "Patient/a", "display": "the patient herself"}],
        "valueString": "120/80"}}),
    ]);
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert!(event.observations[0].performers.is_empty());
    let u = unmapped(&report);
    assert!(
        u.contains(&"Bundle.entry[1].resource.performer[0].reference"),
        "{u:?}"
    );
    assert!(
        u.contains(&"Bundle.entry[1].resource.performer[0].display"),
        "{u:?}"
    );
}

#[test]
fn nhs_numbers_under_other_spellings_of_the_system_are_seen() {
    // repro/nhs-number-oid: the NHS number OID and a trailing slash were
    // plain identifiers, so a second, different NHS number went unseen.
    let oid = "urn:oid:2.16.840.1.113883.2.1.4.1";
    let patient = |ids: Value| json!({"resourceType": "Patient", "identifier": ids});
    // The OID alone: the NHS number, the spelling reported.
    let (event, report) = read_bundle(&patient(json!([{"system": oid, "value": "9434765919"}])));
    assert!(
        report.balanced() && report.unmapped.is_empty(),
        "{:?}",
        report.unmapped
    );
    let p = event.patient.unwrap();
    assert!(
        matches!(&p.identifiers[0].value, Identifier::Nhs { number, .. } if number.as_str() == "9434765919")
    );
    let i = invalid_at(&report, "Patient.identifier[0].system");
    assert_eq!((i.raw.as_str(), i.action), (oid, Action::Interpreted));
    assert!(!report.quarantined());
    // Near misses of the UK Core system: read as the NHS number, reported.
    for s in [
        "https://fhir.nhs.uk/Id/nhs-number/",
        "http://fhir.nhs.uk/Id/nhs-number",
        "https://FHIR.nhs.uk/Id/NHS-Number",
        " https://fhir.nhs.uk/Id/nhs-number",
    ] {
        let (event, report) = read_bundle(&patient(json!([{"system": s, "value": "9434765919"}])));
        let p = event.patient.unwrap();
        assert!(
            matches!(&p.identifiers[0].value, Identifier::Nhs { .. }),
            "{s}"
        );
        let i = invalid_at(&report, "Patient.identifier[0].system");
        assert_eq!((i.raw.as_str(), i.action), (s, Action::Interpreted));
        assert!(
            i.reason.contains("https://fhir.nhs.uk/Id/nhs-number"),
            "{}",
            i.reason
        );
    }
    // A second, different NHS number under either spelling is a conflict:
    // the record is quarantined.
    for s in [oid, "https://fhir.nhs.uk/Id/nhs-number/"] {
        let (_, report) = read_bundle(&patient(json!([nhs("9434765919"),
            {"system": s, "value": "4010232137"}])));
        assert!(report.quarantined(), "{s}: {:?}", report.identity);
    }
    // Another system is another identifier, as before.
    let (event, report) = read_bundle(&patient(json!([nhs("9434765919"),
        {"system": "https://fhir.nhs.uk/Id/nhs-number-x", "value": "4010232137"}])));
    assert!(!report.quarantined());
    assert!(matches!(
        &event.patient.unwrap().identifiers[1].value,
        Identifier::Other { .. }
    ));
}
