//! The model → UK Core writers used as a library (a vendor builds model
//! values from its own database): whatever text, identifiers, decimals,
//! periods, ranges and resources the model holds, each Bundle is valid R4
//! (no blank string, no empty object, no control character, no number
//! `serde_json` refuses), passes the UK Core checks, keys nothing on a blank
//! identifier, and lists in `not_written` what it leaves out (probe eleven
//! F1–F3, F5, F6, F8, F9, F14).
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
    BundleType, FhirError, event_bundle_for, worker_bundle, write_event_bundle_noting,
    write_worker_bundle_noting,
};
use carecodec_map::v2::{V2Options, map_message};
use carecodec_model::{
    Address, Assignment, Code, CodeSystem, Event, HumanName, Identifier, Location, NotWritten,
    ObservationValue, Organisation, Quantity, Registration, Source, Sourced, Worker,
};
use chrono::NaiveDate;
use serde_json::Value;

const A01: &str = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|42|P|2.4\r\
EVN|A01|20240312091500\r\
PID|1||9434765919^^^NHS^NH~K1^^^RX1^MR||SMITH^JOHN||19700214|M|||1 HIGH ST^^LEEDS^^LS1 1AA\r\
PV1|1|I|WARD A^^B1^RX1|||||C1234567^JONES^ANN^^^^^^GMC^^^^GMC|||||||||||V123^^^RX1\r\
OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F\r";

fn src() -> Source {
    Source::Derived {
        rule: "vendor".into(),
    }
}

fn s<T>(v: T) -> Sourced<T> {
    Sourced::new(v, src())
}

/// An ADT^A01 as the v2 mapper gives it: the model a vendor would build.
fn event() -> Event {
    let msg = Message::parse(A01.as_bytes()).unwrap();
    map_message(&msg, &V2Options::default()).unwrap().0
}

/// Both forms of `bundle`: strict R4, UK Core, nothing empty, and the same.
fn valid(out: &[u8], value_form: Option<Value>) -> Value {
    let text = std::str::from_utf8(out).unwrap();
    let doc = carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(text);
    assert!(doc.is_ok(), "{:?}", doc.err());
    let bundle: Value = serde_json::from_slice(out).unwrap();
    let errors = common::uk_core_errors(&bundle).unwrap();
    assert!(errors.is_empty(), "{errors:#?}\n{bundle}");
    common::no_empty(&bundle, "Bundle");
    if let Some(v) = value_form {
        assert_eq!(v, bundle);
    }
    bundle
}

/// The transaction Bundle of `event` (checked: [`valid`]) and its list.
fn write(event: &Event) -> (Value, Vec<NotWritten>) {
    let (mut out, mut lost) = (Vec::new(), Vec::new());
    write_event_bundle_noting(event, BundleType::Transaction, None, &mut out, &mut lost).unwrap();
    let v = event_bundle_for(event, BundleType::Transaction, None).unwrap();
    (valid(&out, Some(v)), lost)
}

/// The worker's Bundle (checked) and its list.
fn write_worker(w: &Worker) -> (Value, Vec<NotWritten>) {
    let (mut out, mut lost) = (Vec::new(), Vec::new());
    write_worker_bundle_noting(w, &mut out, &mut lost).unwrap();
    (valid(&out, Some(worker_bundle(w).unwrap())), lost)
}

fn listed<'l>(lost: &'l [NotWritten], field: &str) -> &'l NotWritten {
    lost.iter()
        .find(|n| n.field == field)
        .unwrap_or_else(|| panic!("{field} is not listed: {lost:#?}"))
}

fn resources<'b>(bundle: &'b Value, rtype: &str) -> Vec<&'b Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == rtype)
        .collect()
}

/// The request URLs of `rtype`'s entries.
fn urls(bundle: &Value, rtype: &str) -> Vec<String> {
    resources(bundle, rtype)
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap().to_owned())
        .collect()
}

fn worker() -> Worker {
    let mut w = Worker::default();
    w.identifiers.push(s(Identifier::EsrPerson {
        vpd: "999".into(),
        value: "7100001".into(),
    }));
    w.names.push(s(HumanName {
        family: Some("Sample".into()),
        given: vec!["Owen".into()],
        ..HumanName::default()
    }));
    w.assignments.push(Assignment {
        number: Some(s(Identifier::EsrAssignment {
            vpd: "999".into(),
            value: "4000001".into(),
        })),
        organisation: Some(Organisation {
            identifiers: vec![s(Identifier::OdsOrganisation("RX1".into()))],
            name: Some(s("Trust".into())),
            ..Organisation::default()
        }),
        job_role: Some(s("Staff Nurse".into())),
        ..Assignment::default()
    });
    w
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn the_sample_writes_valid_bundles() {
    let (bundle, _) = write(&event());
    assert_eq!(urls(&bundle, "Patient").len(), 1);
    write_worker(&worker());
}

/// F1: a blank MRN value never keys the Patient (`system|` names every
/// patient of the system); a Patient keyed on nothing else is quarantined.
#[test]
fn a_blank_mrn_is_no_key_and_is_not_written() {
    let mut e = event();
    let p = e.patient.as_mut().unwrap();
    let mrn = |value: &str| Identifier::Mrn {
        value: value.into(),
        authority: Some("RX1".into()),
        system: Some("https://trust.example.nhs.uk/Id/mrn".into()),
    };
    p.identifiers = vec![s(mrn("   "))];
    assert_eq!(
        event_bundle_for(&e, BundleType::Transaction, None),
        Err(FhirError::Quarantined("patient"))
    );
    let mut out = Vec::new();
    let mut lost = Vec::new();
    let r = write_event_bundle_noting(&e, BundleType::Transaction, None, &mut out, &mut lost);
    assert_eq!(r, Err(FhirError::Quarantined("patient")));
    // Beside a key: written without the blank one, which is listed.
    let mut e = event();
    let p = e.patient.as_mut().unwrap();
    p.identifiers.push(s(mrn("")));
    // One of nothing at all loses nothing: not listed.
    p.identifiers.push(s(Identifier::Mrn {
        value: String::new(),
        authority: None,
        system: None,
    }));
    let (bundle, lost) = write(&e);
    assert!(
        lost.iter().all(|n| n.field != "patient.identifiers[3]"),
        "{lost:#?}"
    );
    let url = &urls(&bundle, "Patient")[0];
    assert!(url.ends_with("|9434765919"), "{url}");
    let ids = resources(&bundle, "Patient")[0]["resource"]["identifier"].clone();
    assert_eq!(ids.as_array().unwrap().len(), 2, "{ids}");
    assert!(!ids.to_string().contains("trust.example"), "{ids}");
    let n = listed(&lost, "patient.identifiers[2]");
    assert_eq!(n.sources[0], src());
    assert_eq!(n.value, "mrn ");
    // A GP practice code, and a merged record's MRN, of blank value.
    let mut e = event();
    let p = e.patient.as_mut().unwrap();
    p.gp_practice = Some(s(Identifier::OdsOrganisation(" ".into())));
    e.merged_from = vec![s(mrn(""))];
    let (bundle, lost) = write(&e);
    assert_eq!(resources(&bundle, "Patient").len(), 1, "{bundle}");
    let patient = &resources(&bundle, "Patient")[0]["resource"];
    assert!(patient.get("generalPractitioner").is_none(), "{patient}");
    listed(&lost, "patient.gp_practice");
    listed(&lost, "merged_from[0]");
}

/// F1: a blank GMC or SDS number, ODS code or visit number keys nothing.
#[test]
fn blank_practitioner_organisation_and_visit_ids_key_nothing() {
    let mut e = event();
    let enc = e.encounter.as_mut().unwrap();
    for p in &mut enc.participants {
        p.practitioner.identifiers = vec![s(Identifier::Gmc(" ".into()))];
    }
    for i in &mut enc.identifiers {
        if let Identifier::VisitNumber { value, .. } = &mut i.value {
            value.clear();
        }
    }
    e.operator = Some(carecodec_model::Practitioner {
        identifiers: vec![s(Identifier::SdsUser(String::new()))],
        name: Some(s(HumanName {
            family: Some("Clerk".into()),
            ..HumanName::default()
        })),
    });
    let (bundle, lost) = write(&e);
    for rtype in ["Practitioner", "Encounter"] {
        for e in resources(&bundle, rtype) {
            assert_eq!(e["request"]["method"], "POST", "{e}");
        }
    }
    assert!(!bundle.to_string().contains("gmc-number"), "{bundle}");
    listed(
        &lost,
        "encounter.participants[0].practitioner.identifiers[0]",
    );
    listed(&lost, "encounter.identifiers[0]");
    // A visit number with a trust scope keys nothing either.
    let (mut out, mut lost) = (Vec::new(), Vec::new());
    write_event_bundle_noting(
        &e,
        BundleType::Transaction,
        Some("RX1"),
        &mut out,
        &mut lost,
    )
    .unwrap();
    let bundle = valid(&out, None);
    assert_eq!(
        resources(&bundle, "Encounter")[0]["request"]["method"],
        "POST"
    );
    // The worker's: an ODS code and an assignment number.
    let mut w = worker();
    let a = &mut w.assignments[0];
    a.organisation.as_mut().unwrap().identifiers = vec![s(Identifier::OdsOrganisation(" ".into()))];
    a.number = Some(s(Identifier::EsrAssignment {
        vpd: "999".into(),
        value: String::new(),
    }));
    let (bundle, lost) = write_worker(&w);
    assert_eq!(urls(&bundle, "Organization"), ["Organization"]);
    assert_eq!(urls(&bundle, "PractitionerRole"), ["PractitionerRole"]);
    listed(&lost, "assignments[0].organisation.identifiers[0]");
    listed(&lost, "assignments[0].number");
    // A blank ESR person id is no key: quarantined.
    let mut w = worker();
    w.identifiers[0].value = Identifier::EsrPerson {
        vpd: "999".into(),
        value: " ".into(),
    };
    assert_eq!(worker_bundle(&w), Err(FhirError::Quarantined("worker")));
}

/// F2: a decimal beyond `f64` in plain digits is text, as `1e400` is.
#[test]
fn a_decimal_beyond_f64_in_digits_is_written_as_text() {
    let mut e = event();
    let huge = format!("1{}", "0".repeat(400));
    let ob = &mut e.observations[0];
    ob.value = Some(s(ObservationValue::Quantity(Quantity {
        value: huge.clone(),
        unit: Some("/min".into()),
        ucum: None,
        comparator: None,
    })));
    let (bundle, lost) = write(&e);
    let obs = &resources(&bundle, "Observation")[0]["resource"];
    assert_eq!(obs["valueString"], huge.as_str());
    assert!(obs.get("valueQuantity").is_none());
    listed(&lost, "observations[0].value");
}

/// F3, F5: blank strings are never written, nor the objects they leave
/// empty; each dropped value is listed.
#[test]
fn blank_strings_and_the_objects_they_empty_are_not_written() {
    let mut e = event();
    let p = e.patient.as_mut().unwrap();
    p.addresses = vec![s(Address {
        lines: vec![String::new(), " ".into()],
        city: Some(String::new()),
        postcode: Some("  ".into()),
        ..Address::default()
    })];
    let ob = &mut e.observations[0];
    ob.notes = vec![s(String::new()), s("  ".into())];
    ob.interpretation = vec![s(Code::new(CodeSystem::V2Table("0078".into()), "", None))];
    ob.reference_range = Some(s(" ".into()));
    let (bundle, lost) = write(&e);
    let patient = &resources(&bundle, "Patient")[0]["resource"];
    assert!(patient.get("address").is_none(), "{patient}");
    let obs = &resources(&bundle, "Observation")[0]["resource"];
    for k in ["note", "interpretation", "referenceRange"] {
        assert!(obs.get(k).is_none(), "{k}: {obs}");
    }
    for field in [
        "patient.addresses[0].lines[1]",
        "patient.addresses[0].postcode",
        "observations[0].notes[1]",
        "observations[0].interpretation[0]",
        "observations[0].reference_range",
    ] {
        listed(&lost, field);
    }
    // Empty in the model: nothing lost, nothing listed.
    assert!(lost.iter().all(|n| n.field != "observations[0].notes[0]"));
}

/// F3: MessageHeader names and displays, allergy reactions, worker role
/// texts.
#[test]
fn blank_header_reaction_and_role_texts_are_not_written() {
    let text = format!("{A01}AL1|1|DA|1191^Penicillin^SCT|SV|RASH~HIVES\r");
    let msg = Message::parse(text.as_bytes()).unwrap();
    let mut e = map_message(&msg, &V2Options::default()).unwrap().0;
    e.allergies[0].reactions = vec![s(String::new()), s(" ".into())];
    e.sender = Some(s("  ".into()));
    let (mut out, mut lost) = (Vec::new(), Vec::new());
    write_event_bundle_noting(&e, BundleType::Message, None, &mut out, &mut lost).unwrap();
    let v = event_bundle_for(&e, BundleType::Message, None).unwrap();
    let bundle = valid(&out, Some(v));
    let allergy = &resources(&bundle, "AllergyIntolerance")[0]["resource"];
    assert!(allergy.get("reaction").is_none(), "{allergy}");
    let header = &resources(&bundle, "MessageHeader")[0]["resource"];
    assert!(header.get("sender").is_none(), "{header}");
    listed(&lost, "allergies[0].reactions[1]");
    listed(&lost, "sender");
    let mut w = worker();
    w.assignments[0].job_role = Some(s("  ".into()));
    w.assignments[0].staff_group = Some(s(String::new()));
    let (bundle, lost) = write_worker(&w);
    let role = &resources(&bundle, "PractitionerRole")[0]["resource"];
    assert!(role.get("code").is_none(), "{role}");
    listed(&lost, "assignments[0].job_role");
}

/// F6: control characters are not written (as the HL7 v2 reader drops
/// them); the value is listed.
#[test]
fn control_characters_are_not_written_and_listed() {
    let mut e = event();
    let n = &mut e.patient.as_mut().unwrap().names[0].value;
    n.family = Some("SM\u{1}ITH\u{7}".into());
    n.given = vec!["\u{0}".into()];
    let (bundle, lost) = write(&e);
    let name = &resources(&bundle, "Patient")[0]["resource"]["name"][0];
    assert_eq!(name["family"], "SMITH");
    assert!(name.get("given").is_none(), "{name}");
    assert_eq!(
        listed(&lost, "patient.names[0].family").value,
        "SM\u{1}ITH\u{7}"
    );
    listed(&lost, "patient.names[0].given[0]");
    let mut w = worker();
    w.names[0].value.family = Some("D\u{0}Sample".into());
    let (bundle, lost) = write_worker(&w);
    let name = &resources(&bundle, "Practitioner")[0]["resource"]["name"][0];
    assert_eq!(name["family"], "DSample");
    listed(&lost, "names[0].family");
}

/// A code system kept by name ([`CodeSystem::Local`]: a vendor's own, a
/// v2 `L`), which no `Coding.system` holds (it must be an absolute URI), is
/// left out of its coding, the code and display written; each one left out
/// is listed at its coding with its source and why (until 2026-12-08 only
/// the v2 mapper reported it, so a model built as a library lost it
/// unlisted). A coding of another system and one of no system name list
/// nothing.
#[test]
fn a_local_code_system_is_left_out_of_its_coding_and_listed() {
    let mut e = event();
    let p = e.patient.as_mut().unwrap();
    p.marital_status = Some(s(Code::new(
        CodeSystem::Local("VENDOR-MS".into()),
        "WID",
        Some("Widowed"),
    )));
    p.religion = Some(s(carecodec_model::Concept {
        codes: vec![
            Code::new(CodeSystem::Local("L".into()), "C1", Some("Church")),
            Code::new(CodeSystem::Snomed, "160234004", None),
            Code::new(CodeSystem::Local(String::new()), "C2", None),
        ],
        text: None,
    }));
    let (bundle, lost) = write(&e);
    let patient = &resources(&bundle, "Patient")[0]["resource"];
    assert_eq!(
        patient["maritalStatus"],
        serde_json::json!({"coding": [{"code": "WID", "display": "Widowed"}]})
    );
    let systems: Vec<(&str, &str)> = lost
        .iter()
        .filter(|n| n.field.ends_with(".system"))
        .map(|n| (n.field.as_str(), n.value.as_str()))
        .collect();
    assert_eq!(
        systems,
        [
            ("patient.marital_status.system", "VENDOR-MS"),
            ("patient.religion.codes[0].system", "L"),
        ],
        "{lost:#?}"
    );
    let ms = listed(&lost, "patient.marital_status.system");
    assert_eq!(ms.sources.first(), Some(&src()));
    assert!(ms.reason.contains("absolute URI"), "{}", ms.reason);
    assert!(ms.reason.starts_with("a coding system name with no known"));
    let l = listed(&lost, "patient.religion.codes[0].system");
    assert!(
        l.reason.starts_with("a local coding system"),
        "{}",
        l.reason
    );
    // Written without a system, wherever it is.
    assert!(!bundle.to_string().contains("VENDOR-MS"));
}

/// F8: a worker's role period and registration period never end before
/// they start (R4 per-1): the end is not written, and listed.
#[test]
fn worker_periods_ending_before_they_start_lose_their_end() {
    let mut w = worker();
    w.assignments[0].start = Some(s(day(2025, 1, 1)));
    w.assignments[0].end = Some(s(day(2024, 1, 1)));
    w.registrations.push(Registration {
        identifier: s(Identifier::Gmc("1234567".into())),
        from: Some(s(day(2027, 4, 1))),
        until: Some(s(day(2027, 3, 31))),
    });
    let (bundle, lost) = write_worker(&w);
    let role = &resources(&bundle, "PractitionerRole")[0]["resource"];
    assert_eq!(role["period"], serde_json::json!({"start": "2025-01-01"}));
    let prac = &resources(&bundle, "Practitioner")[0]["resource"];
    let gmc = prac["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["value"] == "1234567")
        .unwrap();
    assert_eq!(gmc["period"], serde_json::json!({"start": "2027-04-01"}));
    assert_eq!(listed(&lost, "assignments[0].end").value, "2024-01-01");
    assert_eq!(listed(&lost, "registrations[0].until").value, "2027-03-31");
    // A registration of blank number: no identifier, listed whole.
    let mut w = worker();
    w.registrations.push(Registration {
        identifier: s(Identifier::Gmc(" ".into())),
        from: Some(s(day(2027, 4, 1))),
        until: None,
    });
    let (bundle, lost) = write_worker(&w);
    assert!(!bundle.to_string().contains("gmc-number"), "{bundle}");
    listed(&lost, "registrations[0]");
}

/// F9: a Range's high below its low is not written (R4 rng-2), and listed.
#[test]
fn a_range_whose_low_is_above_its_high_loses_its_high() {
    let mut e = event();
    let q = |v: &str| Quantity {
        value: v.into(),
        unit: Some("mg".into()),
        ucum: None,
        comparator: None,
    };
    e.observations[0].value = Some(s(ObservationValue::Range {
        low: Some(q("10")),
        high: Some(q("5")),
    }));
    let (bundle, lost) = write(&e);
    let obs = &resources(&bundle, "Observation")[0]["resource"];
    assert_eq!(
        obs["valueRange"],
        serde_json::json!({"low": {"value": 10, "unit": "mg"}})
    );
    assert_eq!(listed(&lost, "observations[0].value.high").value, "5");
    // In order, both are written.
    e.observations[0].value = Some(s(ObservationValue::Range {
        low: Some(q("5")),
        high: Some(q("10")),
    }));
    let (bundle, lost) = write(&e);
    let obs = &resources(&bundle, "Observation")[0]["resource"];
    assert_eq!(obs["valueRange"]["high"]["value"], 10);
    assert!(lost.iter().all(|n| !n.field.starts_with("observations")));
}

/// F14: a Location or Organization with nothing in it is no entry, and no
/// reference.
#[test]
fn empty_locations_and_organisations_are_not_written() {
    let mut e = event();
    let enc = e.encounter.as_mut().unwrap();
    enc.location = Some(Box::new(Location {
        ward: Some(s(" ".into())),
        ..Location::default()
    }));
    let (bundle, lost) = write(&e);
    assert!(resources(&bundle, "Location").is_empty(), "{bundle}");
    let enc = &resources(&bundle, "Encounter")[0]["resource"];
    assert!(enc.get("location").is_none(), "{enc}");
    listed(&lost, "encounter.location");
    let mut w = worker();
    w.assignments[0].organisation = Some(Organisation::default());
    w.assignments[0].location = Some(Location {
        name: Some(s("  ".into())),
        ..Location::default()
    });
    let (bundle, lost) = write_worker(&w);
    assert!(resources(&bundle, "Organization").is_empty(), "{bundle}");
    assert!(resources(&bundle, "Location").is_empty(), "{bundle}");
    let role = &resources(&bundle, "PractitionerRole")[0]["resource"];
    assert!(role.get("organization").is_none() && role.get("location").is_none());
    listed(&lost, "assignments[0].organisation");
    listed(&lost, "assignments[0].location");
}
