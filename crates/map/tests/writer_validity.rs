//! FHIR → model → UK Core Bundle for values R4 bounds or forbids: each
//! Bundle written is valid R4 (no empty object, array or string, no
//! positiveInt or integer out of range, no empty code) and passes the UK Core
//! checks, and what it cannot carry is listed in `not_written`; what the
//! readers take of such values is reported.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use carecodec_map::fhir::{BundleType, read_bundle, write_event_bundle_noting};
use carecodec_model::{Action, Event, MappingReport, MultipleBirth, NotWritten, Source};
use serde_json::{Value, json};

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const PATIENT: &str = "urn:uuid:11111111-1111-1111-1111-111111111111";

/// A collection Bundle of a Patient (with `patient`'s members) and `others`
/// (each given its full URL), read.
fn read(patient: Value, others: &[(&str, Value)]) -> (Event, MappingReport) {
    let mut p =
        json!({"resourceType": "Patient", "identifier": [{"system": NHS, "value": "9434765919"}]});
    for (k, v) in patient.as_object().unwrap() {
        p[k] = v.clone();
    }
    let mut entry = vec![json!({"fullUrl": PATIENT, "resource": p})];
    for (url, r) in others {
        entry.push(json!({"fullUrl": url, "resource": r}));
    }
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": entry});
    read_bundle(&doc)
}

use common::write_valid as write;

/// The resource of type `rtype` in `bundle` (the first).
fn resource<'b>(bundle: &'b Value, rtype: &str) -> &'b Value {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == rtype)
        .unwrap_or_else(|| panic!("no {rtype} in {bundle}"))
}

fn fields(lost: &[NotWritten]) -> Vec<(&str, &str)> {
    lost.iter()
        .map(|n| (n.field.as_str(), n.value.as_str()))
        .collect()
}

/// The invalid entries of `report` as (FHIR path, raw, action).
fn invalid(report: &MappingReport) -> Vec<(&str, &str, Action)> {
    report
        .invalid
        .iter()
        .map(|i| match &i.source {
            Source::Fhir { path } => (path.as_str(), i.raw.as_str(), i.action),
            other => panic!("not a FHIR source: {other:?}"),
        })
        .collect()
}

/// F2: a participant with no coded type (none, or text only) is written
/// with no `type`, never an empty code.
#[test]
fn a_participant_with_no_coded_type_is_written_without_one() {
    for participant in [json!({}), json!({"type": [{"text": "Surgeon"}]})] {
        let mut part = participant;
        part["individual"] = json!({"reference": "urn:uuid:33333333-3333-3333-3333-333333333333"});
        let encounter = json!({
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": PATIENT},
            "participant": [part],
        });
        let practitioner = json!({
            "resourceType": "Practitioner",
            "identifier": [{"system": "https://fhir.hl7.org.uk/Id/gmc-number", "value": "1234567"}],
            "name": [{"family": "Jones"}],
        });
        let (event, _) = read(
            json!({}),
            &[
                ("urn:uuid:22222222-2222-2222-2222-222222222222", encounter),
                (
                    "urn:uuid:33333333-3333-3333-3333-333333333333",
                    practitioner,
                ),
            ],
        );
        let (bundle, lost) = write(&event);
        let p = &resource(&bundle, "Encounter")["participant"][0];
        assert!(p.get("type").is_none(), "{p}");
        assert!(p["individual"]["reference"].is_string(), "{p}");
        assert_eq!(fields(&lost), []);
    }
}

/// F4: a contact whose name has only text (which the reader reports
/// unmapped) and nothing else is not written as `{}` (R4 pat-1).
#[test]
fn a_contact_of_only_a_text_name_is_not_written_empty() {
    let (event, report) = read(
        json!({"contact": [{"relationship": [{"text": "Neighbour"}], "name": {"text": "Bob Smith"}}]}),
        &[],
    );
    assert_eq!(report.unmapped.len(), 2, "{:?}", report.unmapped);
    let (bundle, lost) = write(&event);
    assert!(resource(&bundle, "Patient").get("contact").is_none());
    assert_eq!(fields(&lost), []);
}

/// F5: display-only codings and a text-only name leave empty values in the
/// model: none is written as an empty object (an Observation's required
/// code as data-absent-reason).
#[test]
fn empty_concepts_and_names_are_never_empty_objects() {
    let subject = json!({"reference": PATIENT});
    let (event, _) = read(
        json!({}),
        &[
            (
                "urn:uuid:66666666-6666-6666-6666-666666666666",
                json!({"resourceType": "AllergyIntolerance", "patient": subject,
                       "code": {"coding": [{"display": "Nuts"}]}}),
            ),
            (
                "urn:uuid:77777777-7777-7777-7777-777777777777",
                json!({"resourceType": "Condition", "subject": subject,
                       "code": {"coding": [{"system": "http://snomed.info/sct", "display": "Asthma"}]},
                       "asserter": {"reference": "urn:uuid:88888888-8888-8888-8888-888888888888"}}),
            ),
            (
                "urn:uuid:88888888-8888-8888-8888-888888888888",
                json!({"resourceType": "Practitioner", "name": [{"text": "Dr Who"}]}),
            ),
            (
                "urn:uuid:55555555-5555-5555-5555-555555555555",
                json!({"resourceType": "Observation", "status": "final", "subject": subject,
                       "code": {"coding": [{"display": "Note"}]},
                       "valueCodeableConcept": {"coding": [{"display": "Positive"}]}}),
            ),
        ],
    );
    let (bundle, lost) = write(&event);
    let absent = |r: &Value| {
        r["code"]["extension"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("data-absent-reason")
    };
    assert!(absent(resource(&bundle, "AllergyIntolerance")));
    assert!(absent(resource(&bundle, "Condition")));
    // Each reads back, with no code.
    let (back, report) = read_bundle(&bundle);
    assert_eq!(report.unmapped.len(), 0, "{:?}", report.unmapped);
    assert_eq!((back.allergies.len(), back.conditions.len()), (1, 1));
    assert_eq!(back.observations.len(), 1);
    assert!(back.conditions[0].code.value.codes.is_empty());
    let ob = resource(&bundle, "Observation");
    assert!(ob.get("valueCodeableConcept").is_none(), "{ob}");
    assert!(absent(ob), "{ob}");
    assert_eq!(fields(&lost), []);
}

/// F6: a telecom rank of 0 or a diagnosis priority above 2^31 - 1 (a model
/// made elsewhere: the readers report and drop them) is not written, and
/// listed.
#[test]
fn positive_ints_out_of_range_are_not_written_and_listed() {
    let (mut event, _) = read(json!({"telecom": [{"system": "phone", "value": "1"}]}), &[]);
    let p = event.patient.as_mut().unwrap();
    p.telecom[0].value.rank = Some(0);
    let (bundle, lost) = write(&event);
    assert!(
        resource(&bundle, "Patient")["telecom"][0]
            .get("rank")
            .is_none()
    );
    assert_eq!(fields(&lost), [("patient.telecom[0].rank", "0")]);
    fn rank(e: &mut Event) -> &mut Option<u32> {
        &mut e.patient.as_mut().unwrap().telecom[0].value.rank
    }
    *rank(&mut event) = Some(2_147_483_648);
    assert_eq!(
        fields(&write(&event).1),
        [("patient.telecom[0].rank", "2147483648")]
    );
    *rank(&mut event) = Some(2_147_483_647);
    let (bundle, lost) = write(&event);
    assert_eq!(
        resource(&bundle, "Patient")["telecom"][0]["rank"],
        2_147_483_647
    );
    assert_eq!(fields(&lost), []);
}

/// F6, read: the FHIR reader takes a positiveInt of 0 or above 2^31 - 1
/// as none, and reports it.
#[test]
fn the_reader_reports_positive_ints_out_of_range() {
    for rank in [json!(0), json!(2_147_483_648u64)] {
        let (event, report) = read(
            json!({"telecom": [{"system": "phone", "value": "1", "rank": rank}]}),
            &[],
        );
        assert_eq!(event.patient.unwrap().telecom[0].value.rank, None);
        let raw = rank.to_string();
        assert_eq!(
            invalid(&report),
            [(
                "Bundle.entry[0].resource.telecom[0].rank",
                raw.as_str(),
                Action::Dropped
            )]
        );
    }
}

/// F3: a birth order above 2^31 - 1 is no R4 integer: the reader reports
/// and drops it, and the writer (given one by a model made elsewhere)
/// writes the multiple birth it says and lists the order.
#[test]
fn a_birth_order_beyond_an_r4_integer_is_never_written() {
    let (event, report) = read(json!({"multipleBirthInteger": 2_147_483_648u64}), &[]);
    assert_eq!(event.patient.as_ref().unwrap().multiple_birth, None);
    assert_eq!(
        invalid(&report),
        [(
            "Bundle.entry[0].resource.multipleBirthInteger",
            "2147483648",
            Action::Dropped
        )]
    );
    let (mut event, report) = read(json!({"multipleBirthInteger": 2_147_483_647u64}), &[]);
    assert_eq!(invalid(&report), []);
    let m = event
        .patient
        .as_mut()
        .unwrap()
        .multiple_birth
        .as_mut()
        .unwrap();
    assert_eq!(m.value, MultipleBirth::Order(2_147_483_647));
    m.value = MultipleBirth::Order(u32::MAX);
    let (bundle, lost) = write(&event);
    let p = resource(&bundle, "Patient");
    assert!(p.get("multipleBirthInteger").is_none(), "{p}");
    assert_eq!(p["multipleBirthBoolean"], true);
    assert_eq!(fields(&lost), [("patient.multiple_birth", "4294967295")]);
}

/// F12: a birth time sent with no birth date (patient-birthTime is an
/// extension of birthDate) is not written, and listed.
#[test]
fn a_birth_time_without_a_birth_date_is_listed() {
    let time = "http://hl7.org/fhir/StructureDefinition/patient-birthTime";
    let (event, _) = read(
        json!({"_birthDate": {"extension": [{"url": time, "valueDateTime": "1970-01-01T10:15:00+01:00"}]}}),
        &[],
    );
    assert!(event.patient.as_ref().unwrap().birth_time.is_some());
    let (bundle, lost) = write(&event);
    assert!(resource(&bundle, "Patient").get("_birthDate").is_none());
    assert_eq!(
        fields(&lost),
        [("patient.birth_time", "1970-01-01T10:15:00+01:00")]
    );
}

/// F11: a clinical status beside verification `entered-in-error` (R4
/// con-5, ait-2) is reported and dropped by the reader; the Bundle carries
/// neither it nor a loss.
#[test]
fn a_clinical_status_beside_entered_in_error_is_reported() {
    let subject = json!({"reference": PATIENT});
    let cs = |system: &str, code: &str| json!({"coding": [{"system": system, "code": code}]});
    let tho = "http://terminology.hl7.org/CodeSystem/";
    let (event, report) = read(
        json!({}),
        &[
            (
                "urn:uuid:66666666-6666-6666-6666-666666666666",
                json!({"resourceType": "AllergyIntolerance", "patient": subject, "code": {"text": "Peanut"},
                       "clinicalStatus": cs(&format!("{tho}allergyintolerance-clinical"), "active"),
                       "verificationStatus": cs(&format!("{tho}allergyintolerance-verification"), "entered-in-error")}),
            ),
            (
                "urn:uuid:77777777-7777-7777-7777-777777777777",
                json!({"resourceType": "Condition", "subject": subject, "code": {"text": "Asthma"},
                       "clinicalStatus": cs(&format!("{tho}condition-clinical"), "remission"),
                       "verificationStatus": cs(&format!("{tho}condition-ver-status"), "entered-in-error")}),
            ),
        ],
    );
    assert_eq!(event.allergies[0].clinical_status, None);
    assert_eq!(event.conditions[0].clinical_status, None);
    assert_eq!(
        invalid(&report),
        [
            (
                "Bundle.entry[1].resource.clinicalStatus.coding[0].code",
                "active",
                Action::Dropped
            ),
            (
                "Bundle.entry[2].resource.clinicalStatus.coding[0].code",
                "remission",
                Action::Dropped
            ),
        ]
    );
    let (_, lost) = write(&event);
    assert_eq!(fields(&lost), []);
}

/// F14: a leap second is kept, and written back as `:60` (R4's dateTime
/// allows it), not a second earlier.
#[test]
fn a_leap_second_is_written_as_sent() {
    let encounter = json!({
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": PATIENT},
        "period": {"start": "2016-12-31T23:59:60Z", "end": "2017-01-01T00:00:00.5+00:00"},
    });
    let (event, report) = read(
        json!({}),
        &[("urn:uuid:22222222-2222-2222-2222-222222222222", encounter)],
    );
    assert_eq!(invalid(&report), []);
    let (bundle, lost) = write(&event);
    let period = &resource(&bundle, "Encounter")["period"];
    assert_eq!(period["start"], "2016-12-31T23:59:60+00:00");
    assert_eq!(fields(&lost), []);
    let (back, _) = read_bundle(&bundle);
    let at = |e: &Event| {
        e.encounter
            .as_ref()
            .unwrap()
            .admitted
            .as_ref()
            .unwrap()
            .value
    };
    assert_eq!(at(&back), at(&event));
}

/// F15: fraction digits past the nanosecond are reported (interpreted:
/// kept to the nanosecond).
#[test]
fn a_fraction_finer_than_the_nanosecond_is_reported() {
    let encounter = |start: &str| {
        json!({
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": PATIENT},
            "period": {"start": start},
        })
    };
    let url = "urn:uuid:22222222-2222-2222-2222-222222222222";
    let start = "2024-03-12T10:00:00.1234567890123Z";
    let (_, report) = read(json!({}), &[(url, encounter(start))]);
    assert_eq!(
        invalid(&report),
        [(
            "Bundle.entry[1].resource.period.start",
            start,
            Action::Interpreted
        )]
    );
    let (_, report) = read(
        json!({}),
        &[(url, encounter("2024-03-12T10:00:00.123456789Z"))],
    );
    assert_eq!(invalid(&report), []);
}

/// F6, workers: a telecom rank that is no positiveInt is not written, and
/// listed.
#[test]
fn a_worker_telecom_rank_out_of_range_is_listed() {
    use carecodec_map::fhir::{worker_bundle, worker_not_written};
    use carecodec_model::{Identifier, Sourced, Telecom, Worker};
    let src = || Source::fhir("Practitioner");
    let mut w = Worker::default();
    w.identifiers.push(Sourced::new(
        Identifier::EsrPerson {
            vpd: "999".into(),
            value: "7100001".into(),
        },
        src(),
    ));
    for (rank, listed) in [(0, true), (2_147_483_648, true), (1, false)] {
        w.telecom = vec![Sourced::new(
            Telecom {
                system: Some("phone".into()),
                value: "01632 960001".into(),
                rank: Some(rank),
                ..Telecom::default()
            },
            src(),
        )];
        let bundle = worker_bundle(&w).unwrap();
        let p = resource(&bundle, "Practitioner");
        assert_eq!(p["telecom"][0].get("rank").is_none(), listed, "{p}");
        let rank = rank.to_string();
        let lost = worker_not_written(&w).unwrap();
        let want: &[(&str, &str)] = if listed {
            &[("telecom[0].rank", rank.as_str())]
        } else {
            &[]
        };
        assert_eq!(fields(&lost), want);
    }
}

/// An identifier whose system holds white space (`http://x y`, which R4's
/// `uri` cannot) is not written as a system: an identifier of no type keeps
/// it as text (`type.text`, as other non-URI systems are) and reads back the
/// same; a medical record number's has its white space percent-encoded.
/// Until 2026-12-07 it was copied into `identifier.system` and the strict
/// reader refused the Bundle.
#[test]
fn a_system_with_white_space_is_not_written_as_a_uri() {
    let (event, _) = read(
        json!({"identifier": [
            {"system": NHS, "value": "9434765919"},
            {"system": "http://x y", "value": "M1"},
            {"system": "https://trust.nhs.uk/mrn a", "value": "M2",
             "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}
        ]}),
        &[],
    );
    let (bundle, _) = write(&event);
    let ids = &bundle["entry"][0]["resource"]["identifier"];
    let other = ids
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["value"] == "M1")
        .unwrap();
    assert_eq!(other["type"]["text"], "http://x y", "{ids}");
    assert!(other.get("system").is_none(), "{ids}");
    for i in ids.as_array().unwrap() {
        let system = i.get("system").and_then(Value::as_str).unwrap_or_default();
        assert!(!system.contains(' '), "{ids}");
    }
    let text = serde_json::to_vec(&bundle).unwrap();
    carecodec_fhir::json::from_slice::<carecodec_fhir::Resource>(&text).unwrap();
    let (back, _) = read_bundle(&bundle);
    let seen = |e: &Event| {
        let p = e.patient.as_ref().unwrap();
        p.identifiers
            .iter()
            .map(|i| format!("{:?}", i.value))
            .find(|i| i.contains("M1"))
    };
    assert_eq!(seen(&back), seen(&event));
}

/// Text over R4's string limit (1,048,576 characters, which the strict
/// reader refuses): an Observation's text value is written as a plain-text
/// attachment and reads back as the same text; any other string (a note, a
/// name, an address line, a concept's text) is not written and is listed,
/// with its sources. The Bundle reads strictly and passes UK Core.
#[test]
fn text_over_the_r4_string_limit_is_never_written_as_a_string() {
    let observation = json!({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1-1"}], "text": "Blood"},
        "subject": {"reference": PATIENT},
        "valueString": "short",
        "note": [{"text": "a note"}],
    });
    let (mut event, _) = read(
        json!({"name": [{"family": "Smith", "given": ["Ann"]}],
               "address": [{"line": ["1 High St"], "city": "Leeds"}]}),
        &[("urn:uuid:44444444-4444-4444-4444-444444444444", observation)],
    );
    let long = |c: char| {
        let mut s = c.to_string().repeat(1024 * 1024);
        s.push_str("é!");
        s
    };
    let (value, note, family, line, text) = (long('v'), long('n'), long('f'), long('l'), long('t'));
    let ob = event.observations.first_mut().expect("an observation");
    let Some(v) = ob.value.as_mut() else {
        panic!("no value")
    };
    v.value = carecodec_model::ObservationValue::Text(value.clone());
    ob.notes[0].value = note.clone();
    ob.code.value.text = Some(text.clone());
    let p = event.patient.as_mut().unwrap();
    p.names[0].value.family = Some(family.clone());
    p.addresses[0].value.lines[0] = line.clone();
    // Exactly the limit is a string still.
    p.names[0].value.given[0] = "g".repeat(1024 * 1024);

    let (bundle, lost) = write(&event);
    let obs = resource(&bundle, "Observation");
    assert!(obs.get("valueString").is_none(), "{}", obs["extension"]);
    assert!(obs.get("note").is_none());
    let attachment = &obs["extension"][0]["valueAttachment"];
    assert_eq!(attachment["contentType"], "text/plain; charset=utf-8");
    assert!(attachment["data"].as_str().unwrap().starts_with("dnZ2"));
    assert_eq!(obs["code"]["coding"][0]["code"], "1-1");
    assert!(obs["code"].get("text").is_none());
    let patient = resource(&bundle, "Patient");
    assert!(patient["name"][0].get("family").is_none());
    assert_eq!(
        patient["name"][0]["given"][0].as_str().unwrap().len(),
        1024 * 1024
    );
    assert!(patient["address"][0].get("line").is_none());
    assert_eq!(patient["address"][0]["city"], "Leeds");

    let mut listed: Vec<(&str, usize)> = lost
        .iter()
        .map(|n| (n.field.as_str(), n.value.len()))
        .collect();
    listed.sort_unstable();
    let len = value.len();
    assert_eq!(
        listed,
        [
            ("observations[0].code.text", len),
            ("observations[0].notes[0]", len),
            ("patient.addresses[0].lines[0]", len),
            ("patient.names[0].family", len),
        ]
    );
    assert!(
        lost.iter().all(|n| !n.sources.is_empty()),
        "{:?}",
        lost[0].sources
    );

    // A message Bundle likewise; the plain writer writes the same bytes.
    let (mut message, mut also) = (Vec::new(), Vec::new());
    write_event_bundle_noting(&event, BundleType::Message, None, &mut message, &mut also).unwrap();
    let message: Value = serde_json::from_slice(&message).unwrap();
    assert_eq!(
        common::uk_core_errors(&message).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(also.len(), lost.len());
    let (mut noted, mut plain) = (Vec::new(), Vec::new());
    write_event_bundle_noting(&event, BundleType::Transaction, None, &mut noted, &mut also)
        .unwrap();
    carecodec_map::fhir::write_event_bundle_for(&event, BundleType::Transaction, None, &mut plain)
        .unwrap();
    assert!(noted == plain);

    // A message id over the limit is no Bundle identifier (listed, with no
    // source: the model keeps none).
    let mut long_id = event.clone();
    long_id.message_id = Some(long('m'));
    let display = long('p');
    long_id.processing = Some(carecodec_model::Sourced::new(
        carecodec_model::Code::new(
            carecodec_model::CodeSystem::V2Table("0103".into()),
            "P",
            Some(display.as_str()),
        ),
        Source::fhir("Bundle.meta.tag[0]"),
    ));
    for kind in [BundleType::Transaction, BundleType::Message] {
        let (mut out, mut lost) = (Vec::new(), Vec::new());
        write_event_bundle_noting(&long_id, kind, None, &mut out, &mut lost).unwrap();
        let b: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(common::uk_core_errors(&b).unwrap(), Vec::<String>::new());
        assert!(b.get("identifier").is_none());
        assert!(lost.iter().any(|n| n.field == "message_id"), "{kind:?}");
        assert!(
            lost.iter().any(|n| n.field == "processing.display"),
            "{kind:?}"
        );
        let tags = match kind {
            BundleType::Transaction => &b["meta"]["tag"],
            _ => &resource(&b, "MessageHeader")["meta"]["tag"],
        };
        assert_eq!(tags[0]["code"], "P", "{kind:?}");
        assert!(tags[0].get("display").is_none(), "{kind:?}");
    }

    // The text value comes back as the same text.
    let (back, _) = read_bundle(&bundle);
    let ob = &back.observations[0];
    assert_eq!(
        ob.value.as_ref().map(|v| &v.value),
        Some(&carecodec_model::ObservationValue::Text(value))
    );
}

/// An Observation or Condition read from FHIR with no `encounter`, beside
/// an Encounter, is kept as of no encounter and written without one (and
/// the Condition outside the Encounter's `diagnosis`); one that names the
/// Encounter, or that the Encounter's `diagnosis` lists, is the
/// encounter's. Read back, each is as it was. With no Encounter in the
/// Bundle there is nothing to say.
#[test]
fn results_and_diagnoses_of_no_encounter_are_written_without_one() {
    const ENC: &str = "urn:uuid:22222222-2222-2222-2222-222222222222";
    let encounter = json!({
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": PATIENT},
        "diagnosis": [{"condition": {"reference": "urn:uuid:77777777-7777-7777-7777-777777777777"}}],
    });
    let obs = |code: &str, enc: bool| {
        let mut o = json!({
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": PATIENT}, "valueString": "x",
        });
        if enc {
            o["encounter"] = json!({"reference": ENC});
        }
        o
    };
    let cond = |code: &str, enc: bool| {
        let mut c = json!({
            "resourceType": "Condition",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
            "subject": {"reference": PATIENT},
        });
        if enc {
            c["encounter"] = json!({"reference": ENC});
        }
        c
    };
    let others = [
        (ENC, encounter),
        (
            "urn:uuid:44444444-4444-4444-4444-444444444444",
            obs("1-1", false),
        ),
        (
            "urn:uuid:55555555-5555-5555-5555-555555555555",
            obs("2-2", true),
        ),
        (
            "urn:uuid:66666666-6666-6666-6666-666666666666",
            cond("111", false),
        ),
        // No `encounter`, but the Encounter lists it: the encounter's.
        (
            "urn:uuid:77777777-7777-7777-7777-777777777777",
            cond("222", false),
        ),
        (
            "urn:uuid:88888888-8888-8888-8888-888888888888",
            cond("333", true),
        ),
    ];
    let (event, report) = read(json!({}), &others);
    let flags = |e: &Event| {
        (
            e.observations
                .iter()
                .map(|o| o.no_encounter)
                .collect::<Vec<_>>(),
            e.conditions
                .iter()
                .map(|c| c.no_encounter)
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(flags(&event), (vec![true, false], vec![true, false, false]));
    assert_eq!(report.unmapped, [], "{report:#?}");
    let (bundle, lost) = write(&event);
    assert_eq!(fields(&lost), []);
    let of = |rtype: &str| -> Vec<bool> {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == rtype)
            .map(|r| r.get("encounter").is_some())
            .collect()
    };
    assert_eq!(of("Observation"), [false, true]);
    assert_eq!(of("Condition"), [false, true, true]);
    let diagnoses = resource(&bundle, "Encounter")["diagnosis"]
        .as_array()
        .unwrap();
    assert_eq!(diagnoses.len(), 2, "{diagnoses:?}");
    let (back, _) = read_bundle(&bundle);
    assert_eq!(flags(&back), flags(&event));

    // No Encounter: nothing to be linked to, so nothing is said.
    let (event, _) = read(json!({}), &others[1..]);
    assert_eq!(
        flags(&event),
        (vec![false, false], vec![false, false, false])
    );
    let (bundle, _) = write(&event);
    let (back, _) = read_bundle(&bundle);
    assert_eq!(flags(&back), flags(&event));
}

/// The FHIR paths `report` lists as unmapped.
fn fhir_unmapped(report: &carecodec_model::MappingReport) -> Vec<&str> {
    report
        .unmapped
        .iter()
        .filter_map(|u| match &u.source {
            Source::Fhir { path } => Some(path.as_str()),
            _ => None,
        })
        .collect()
}

/// An Observation performer that is a Practitioner with neither identifier
/// nor name (here only a name's `text`), directly or as a role's
/// Practitioner, is not read (an empty Practitioner would be written): the
/// reference is reported unmapped. The role's Organization is still read.
#[test]
fn a_performer_that_says_nobody_is_not_written_empty() {
    const NOBODY: &str = "urn:uuid:33333333-3333-3333-3333-333333333333";
    const ROLE: &str = "urn:uuid:55555555-5555-5555-5555-555555555555";
    const ORG: &str = "urn:uuid:66666666-6666-6666-6666-666666666666";
    let observation = json!({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1-1"}]},
        "subject": {"reference": PATIENT}, "valueString": "x",
        "performer": [{"reference": NOBODY}, {"reference": ROLE}],
    });
    let (event, report) = read(
        json!({}),
        &[
            ("urn:uuid:44444444-4444-4444-4444-444444444444", observation),
            (
                NOBODY,
                json!({"resourceType": "Practitioner", "name": [{"text": "Dr Who"}]}),
            ),
            (
                ROLE,
                json!({"resourceType": "PractitionerRole",
                       "practitioner": {"reference": NOBODY}, "organization": {"reference": ORG}}),
            ),
            (
                ORG,
                json!({"resourceType": "Organization",
                       "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RX1"}]}),
            ),
        ],
    );
    let performers = &event.observations[0].performers;
    assert_eq!(performers.len(), 1, "{performers:?}");
    assert!(performers[0].practitioner.is_none());
    assert!(performers[0].organisation.is_some());
    let unmapped = fhir_unmapped(&report);
    assert!(
        unmapped
            .iter()
            .any(|p| p.ends_with(".performer[0].reference")),
        "{unmapped:?}"
    );
    assert!(
        unmapped
            .iter()
            .any(|p| p.ends_with(".practitioner.reference")),
        "{unmapped:?}"
    );
    let (bundle, _) = write(&event);
    let practitioners = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Practitioner")
        .count();
    assert_eq!(practitioners, 0, "{bundle}");
}

/// Blank statuses (a model a library user builds; neither reader gives
/// one) are never written as an empty code: the Encounter's is `unknown`,
/// an AllergyIntolerance's clinical status (required; no `unknown` in its
/// value set, and UK Core refuses the data-absent-reason extension there)
/// `active` as for none, a Condition's statuses and an allergy's verification status
/// (optional) are left out; a blank attachment content type is none (its
/// data typed application/octet-stream). Each is listed in `not_written`.
#[test]
fn blank_statuses_are_never_written_as_empty_codes() {
    let encounter = json!({
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": PATIENT},
    });
    let allergy = json!({
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005"}]},
        "patient": {"reference": PATIENT},
    });
    let condition = json!({
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        "subject": {"reference": PATIENT},
    });
    let observation = json!({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1-1"}]},
        "subject": {"reference": PATIENT},
        "extension": [{"url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.value",
                       "valueAttachment": {"contentType": "application/pdf", "data": "JVBERi0xLjQK"}}],
    });
    let (mut event, _) = read(
        json!({}),
        &[
            ("urn:uuid:22222222-2222-2222-2222-222222222222", encounter),
            ("urn:uuid:33333333-3333-3333-3333-333333333333", allergy),
            ("urn:uuid:44444444-4444-4444-4444-444444444444", condition),
            ("urn:uuid:55555555-5555-5555-5555-555555555555", observation),
        ],
    );
    event.encounter.as_mut().unwrap().status = Some(" ".into());
    let a = &mut event.allergies[0];
    let blank = |text: &str| {
        Some(carecodec_model::Sourced::new(
            text.to_owned(),
            Source::fhir("x"),
        ))
    };
    a.clinical_status = blank("");
    a.verification = blank("  ");
    let c = &mut event.conditions[0];
    c.clinical_status = blank(" ");
    c.verification = blank("");
    let v = event.observations[0].value.as_mut().unwrap();
    let carecodec_model::ObservationValue::Attachment(att) = &mut v.value else {
        panic!("not an attachment: {v:?}")
    };
    att.content_type = Some(" ".into());
    event.observations[0]
        .performers
        .push(carecodec_model::Performer {
            role: Some("  ".into()),
            ..carecodec_model::Performer::default()
        });

    let (bundle, lost) = write(&event);
    assert_eq!(resource(&bundle, "Encounter")["status"], "unknown");
    let allergy = resource(&bundle, "AllergyIntolerance");
    assert_eq!(
        allergy["clinicalStatus"]["coding"][0]["code"], "active",
        "{allergy}"
    );
    assert!(allergy.get("verificationStatus").is_none(), "{allergy}");
    let condition = resource(&bundle, "Condition");
    assert!(condition.get("clinicalStatus").is_none(), "{condition}");
    assert!(condition.get("verificationStatus").is_none(), "{condition}");
    let attachment = &resource(&bundle, "Observation")["extension"][0]["valueAttachment"];
    assert_eq!(attachment["contentType"], "application/octet-stream");
    // A performer of only a blank role is none.
    assert!(resource(&bundle, "Observation").get("performer").is_none());
    let mut listed: Vec<&str> = lost.iter().map(|n| n.field.as_str()).collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "allergies[0].clinical_status",
            "allergies[0].verification",
            "conditions[0].clinical_status",
            "conditions[0].verification",
            "encounter.status",
            "observations[0].performers[0].role",
            "observations[0].value.content_type",
        ]
    );
    // Read back, nothing is left unread.
    let (_, report) = read_bundle(&bundle);
    assert_eq!(report.unmapped, []);
}

/// A DiagnosticReport's performer and results interpreter that say nobody
/// (a Practitioner with neither identifier nor name) are not read either
/// (reported), so no empty Practitioner is written for them.
#[test]
fn a_report_performer_that_says_nobody_is_not_read() {
    const NOBODY: &str = "urn:uuid:33333333-3333-3333-3333-333333333333";
    let report = json!({
        "resourceType": "DiagnosticReport", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": {"reference": PATIENT},
        "performer": [{"reference": NOBODY}],
        "resultsInterpreter": [{"reference": NOBODY}],
    });
    let (event, mapping) = read(
        json!({}),
        &[
            ("urn:uuid:44444444-4444-4444-4444-444444444444", report),
            (
                NOBODY,
                json!({"resourceType": "Practitioner", "gender": "male"}),
            ),
        ],
    );
    let r = &event.reports[0];
    assert!(r.performers.is_empty(), "{:?}", r.performers);
    assert!(r.interpreters.is_empty(), "{:?}", r.interpreters);
    let unmapped = fhir_unmapped(&mapping);
    for at in [
        ".performer[0].reference",
        ".resultsInterpreter[0].reference",
    ] {
        assert!(
            unmapped.iter().any(|p| p.ends_with(at)),
            "{at}: {unmapped:?}"
        );
    }
    let (bundle, _) = write(&event);
    let practitioners = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Practitioner")
        .count();
    assert_eq!(practitioners, 0, "{bundle}");
}

/// A clinical or verification status a model made elsewhere holds that is
/// no code of its required R4 value set is never written into the binding
/// (UK Core refuses it): an allergy's clinical status (required) is written
/// active, as for none, the others are left out, and each is listed.
#[test]
fn statuses_outside_their_required_value_sets_are_not_written() {
    let allergy = json!({
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "inactive"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005"}]},
        "patient": {"reference": PATIENT},
    });
    let condition = json!({
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "remission"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "differential"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        "subject": {"reference": PATIENT},
    });
    let (mut event, _) = read(
        json!({}),
        &[
            ("urn:uuid:33333333-3333-3333-3333-333333333333", allergy),
            ("urn:uuid:44444444-4444-4444-4444-444444444444", condition),
        ],
    );
    // Every code of the value sets is written as it is.
    let (bundle, lost) = write(&event);
    assert!(lost.is_empty(), "{lost:?}");
    let a = resource(&bundle, "AllergyIntolerance");
    assert_eq!(a["clinicalStatus"]["coding"][0]["code"], "inactive");
    let c = resource(&bundle, "Condition");
    assert_eq!(c["clinicalStatus"]["coding"][0]["code"], "remission");
    assert_eq!(c["verificationStatus"]["coding"][0]["code"], "differential");

    let status = |text: &str| {
        Some(carecodec_model::Sourced::new(
            text.to_owned(),
            Source::fhir("x"),
        ))
    };
    let a = &mut event.allergies[0];
    a.clinical_status = status("bogus");
    a.verification = status("presumed");
    let c = &mut event.conditions[0];
    c.clinical_status = status("Active");
    c.verification = status("bogus2");
    let (bundle, lost) = write(&event);
    let a = resource(&bundle, "AllergyIntolerance");
    assert_eq!(a["clinicalStatus"]["coding"][0]["code"], "active", "{a}");
    assert!(a.get("verificationStatus").is_none(), "{a}");
    let c = resource(&bundle, "Condition");
    assert!(c.get("clinicalStatus").is_none(), "{c}");
    assert!(c.get("verificationStatus").is_none(), "{c}");
    let mut listed: Vec<(&str, &str)> = lost
        .iter()
        .map(|n| (n.field.as_str(), n.value.as_str()))
        .collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            ("allergies[0].clinical_status", "bogus"),
            ("allergies[0].verification", "presumed"),
            ("conditions[0].clinical_status", "Active"),
            ("conditions[0].verification", "bogus2"),
        ]
    );
}

/// A worker's text over R4's string limit (here a telecom value and a name
/// part) is not written and is listed; the Bundle reads strictly and passes
/// UK Core.
#[test]
fn a_worker_text_over_the_r4_string_limit_is_listed() {
    use carecodec_map::fhir::{worker_bundle, worker_not_written};
    use carecodec_model::{HumanName, Identifier, Sourced, Telecom, Worker};
    let src = || Source::fhir("Practitioner");
    let long = "7".repeat(1024 * 1024 + 1);
    let mut w = Worker::default();
    w.identifiers.push(Sourced::new(
        Identifier::EsrPerson {
            vpd: "999".into(),
            value: "7100001".into(),
        },
        src(),
    ));
    w.names.push(Sourced::new(
        HumanName {
            family: Some("Jones".into()),
            given: vec![long.clone()],
            ..HumanName::default()
        },
        src(),
    ));
    w.telecom.push(Sourced::new(
        Telecom {
            system: Some("phone".into()),
            value: long.clone(),
            ..Telecom::default()
        },
        src(),
    ));
    let bundle = worker_bundle(&w).unwrap();
    assert_eq!(
        common::uk_core_errors(&bundle).unwrap(),
        Vec::<String>::new()
    );
    common::no_empty(&bundle, "Bundle");
    let p = resource(&bundle, "Practitioner");
    assert_eq!(p["name"][0], json!({"family": "Jones"}));
    assert!(p["telecom"][0].get("value").is_none(), "{}", p["telecom"]);
    let lost = worker_not_written(&w).unwrap();
    let listed: Vec<(&str, usize)> = lost
        .iter()
        .map(|n| (n.field.as_str(), n.value.len()))
        .collect();
    assert_eq!(
        listed,
        [
            ("names[0].given[0]", long.len()),
            ("telecom[0].value", long.len())
        ]
    );
}
