//! FHIR → model: a leaf counted mapped is a value the model keeps. Elements
//! sent more often than the model holds them, or that the model has no place
//! for, are reported unmapped rather than consumed and dropped (probe 13
//! P1–P5), and result statuses are read as sent or reported (P6).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_map::fhir::{BundleType, event_bundle, event_not_written, read_bundle};
use carecodec_model::{Action, Identifier, MappingReport, Source};
use serde_json::{Value, json};

fn path(s: &Source) -> &str {
    match s {
        Source::Fhir { path } => path,
        other => panic!("not a FHIR source: {other:?}"),
    }
}

/// The unmapped paths of `report`, sorted.
fn unmapped(report: &MappingReport) -> Vec<&str> {
    let mut u: Vec<&str> = report.unmapped.iter().map(|u| path(&u.source)).collect();
    u.sort_unstable();
    u
}

/// The unmapped paths of `report` under `prefix` (a resource's path).
fn unmapped_under<'r>(report: &'r MappingReport, prefix: &str) -> Vec<&'r str> {
    unmapped(report)
        .into_iter()
        .filter(|p| p.starts_with(prefix) && p[prefix.len()..].starts_with(['.', '[']))
        .collect()
}

const PATIENT: &str = "urn:uuid:11111111-1111-4111-8111-111111111111";

fn patient_entry() -> Value {
    json!({"fullUrl": PATIENT, "resource": {"resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "name": [{"family": "Test", "given": ["Ann"]}]}})
}

fn gmc(n: &str) -> Value {
    json!({"system": "https://fhir.hl7.org.uk/Id/gmc-number", "value": n})
}

/// P1: a report's orders. The placer number of an order is one of the
/// report's identifiers; an order's code other than the report's, an order
/// status, and a second order's requester have no place and are reported.
#[test]
fn a_reports_orders_are_read_or_reported() {
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        patient_entry(),
        {"fullUrl": "urn:uuid:r1", "resource": {"resourceType": "DiagnosticReport",
          "status": "final", "subject": {"reference": PATIENT}, "code": {"text": "Panel"},
          "identifier": [{"system": "https://lab.example/report", "value": "R1"}],
          "basedOn": [{"reference": "urn:uuid:sa"}, {"reference": "urn:uuid:sb"}]}},
        {"fullUrl": "urn:uuid:sa", "resource": {"resourceType": "ServiceRequest",
          "status": "active", "intent": "order", "subject": {"reference": PATIENT},
          "identifier": [{"system": "https://gp.example/orders", "value": "PLAC-77"},
                         {"system": "https://lab.example/report", "value": "R1"}],
          "code": {"text": "Different test"}, "requester": {"reference": "urn:uuid:first"},
          "priority": "stat"}},
        {"fullUrl": "urn:uuid:sb", "resource": {"resourceType": "ServiceRequest",
          "status": "unknown", "intent": "plan", "subject": {"reference": PATIENT},
          "code": {"text": "Panel"}, "requester": {"reference": "urn:uuid:second"},
          "priority": "routine"}},
        {"fullUrl": "urn:uuid:first", "resource": {"resourceType": "Practitioner",
          "identifier": [gmc("1234567")], "name": [{"family": "First"}]}},
        {"fullUrl": "urn:uuid:second", "resource": {"resourceType": "Practitioner",
          "identifier": [gmc("7654321")], "name": [{"family": "Second"}]}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let r = &event.reports[0];
    let ids: Vec<&str> = r.identifiers.iter().map(|i| i.value.value()).collect();
    // The report's own, then the order's placer number (its copy of R1 is
    // the same identifier: read once).
    assert_eq!(ids, ["R1", "PLAC-77"]);
    let orderer = r.ordered_by.as_ref().unwrap();
    assert_eq!(
        orderer.name.as_ref().unwrap().value.family.as_deref(),
        Some("First")
    );
    assert_eq!(
        orderer.identifiers[0].value,
        Identifier::Gmc("1234567".into())
    );
    assert_eq!(
        r.priority.as_ref().map(|p| p.value.code.as_str()),
        Some("S")
    );
    assert_eq!(
        unmapped(&report),
        [
            // Order A: its code is not the report's, `active` is an order
            // status the model has not.
            "Bundle.entry[2].resource.code.text",
            "Bundle.entry[2].resource.status",
            // Order B: code and status `unknown` are the report's and
            // nothing; intent `plan`, a second priority and a second
            // requester have no place.
            "Bundle.entry[3].resource.intent",
            "Bundle.entry[3].resource.priority",
            "Bundle.entry[3].resource.requester.reference",
            // The second requester's Practitioner, not read.
            "Bundle.entry[5].resource.identifier[0].system",
            "Bundle.entry[5].resource.identifier[0].value",
            "Bundle.entry[5].resource.name[0].family",
            "Bundle.entry[5].resource.resourceType",
        ]
    );
    // The placer number is written (on the report and its order).
    let b = event_bundle(&event).unwrap();
    assert!(b.to_string().contains("PLAC-77"));
}

/// P2: one location of each status; another with the same status, and the
/// status of a location not read, are reported.
#[test]
fn a_second_location_of_a_status_is_reported_not_replacing_the_first() {
    let ward = |u: &str, n: &str| {
        json!({"fullUrl": u, "resource": {"resourceType": "Location", "name": n,
          "physicalType": {"coding": [{"system":
            "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]}}})
    };
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        patient_entry(),
        ward("urn:uuid:wa", "Ward A"),
        ward("urn:uuid:wb", "Ward B"),
        {"fullUrl": "urn:uuid:e1", "resource": {"resourceType": "Encounter",
          "status": "in-progress", "subject": {"reference": PATIENT},
          "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
          "location": [
            {"location": {"reference": "urn:uuid:wa"}, "status": "active"},
            {"location": {"reference": "urn:uuid:wb"}, "status": "active"},
            {"location": {"reference": "Location/elsewhere"}, "status": "completed"}]}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let e = event.encounter.as_ref().unwrap();
    let current = e.location.as_ref().unwrap();
    assert_eq!(current.ward.as_ref().unwrap().value, "Ward A");
    assert!(e.prior_location.is_none());
    assert_eq!(
        unmapped(&report),
        [
            "Bundle.entry[2].resource.name",
            "Bundle.entry[2].resource.physicalType.coding[0].code",
            "Bundle.entry[2].resource.physicalType.coding[0].system",
            "Bundle.entry[2].resource.resourceType",
            "Bundle.entry[3].resource.location[1].location.reference",
            "Bundle.entry[3].resource.location[1].status",
            "Bundle.entry[3].resource.location[2].location.reference",
            "Bundle.entry[3].resource.location[2].status",
        ]
    );
}

/// P3: one practice and one GP identifier; the others are reported.
#[test]
fn other_practices_and_gp_identifiers_are_reported() {
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": PATIENT, "resource": {"resourceType": "Patient",
          "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
          "generalPractitioner": [
            {"type": "Organization", "display": "Ashfield Surgery",
             "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "B82001"}},
            {"type": "Organization", "display": "Second Practice",
             "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y12345"}},
            {"reference": "urn:uuid:gp"}]}},
        {"fullUrl": "urn:uuid:gp", "resource": {"resourceType": "Practitioner",
          "identifier": [{"system": "https://fhir.hl7.org.uk/Id/gmp-number", "value": "G8612345"},
                         gmc("1234567"),
                         {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "555"}],
          "name": [{"family": "Gee", "given": ["Pee"]}]}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let p = event.patient.as_ref().unwrap();
    assert_eq!(
        p.gp_practice.as_ref().unwrap().value,
        Identifier::OdsOrganisation("B82001".into())
    );
    assert_eq!(
        p.gp_practice_name.as_ref().unwrap().value,
        "Ashfield Surgery"
    );
    assert_eq!(
        p.gp.as_ref().unwrap().value,
        Identifier::Gmp("G8612345".into())
    );
    assert_eq!(
        p.gp_name.as_ref().unwrap().value.family.as_deref(),
        Some("Gee")
    );
    assert_eq!(
        unmapped(&report),
        [
            "Bundle.entry[0].resource.generalPractitioner[1].display",
            "Bundle.entry[0].resource.generalPractitioner[1].identifier.system",
            "Bundle.entry[0].resource.generalPractitioner[1].identifier.value",
            "Bundle.entry[0].resource.generalPractitioner[1].type",
            "Bundle.entry[1].resource.identifier[1].system",
            "Bundle.entry[1].resource.identifier[1].value",
            "Bundle.entry[1].resource.identifier[2].system",
            "Bundle.entry[1].resource.identifier[2].value",
        ]
    );
    // The writer's form (the GP by identifier and by reference to its
    // Practitioner, which repeats the identifier) is read whole.
    let b = event_bundle(&event).unwrap();
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    assert_eq!(unmapped(&report), Vec::<&str>::new());
    let q = back.patient.as_ref().unwrap();
    assert_eq!(
        q.gp.as_ref().map(|g| &g.value),
        p.gp.as_ref().map(|g| &g.value)
    );
    assert_eq!(
        q.gp_practice.as_ref().map(|g| &g.value),
        p.gp_practice.as_ref().map(|g| &g.value)
    );
}

/// P4: patient extensions the model holds one of: the first is kept, the
/// others reported.
#[test]
fn repeated_patient_extensions_keep_the_first_and_report_the_others() {
    let cc = |t: &str| json!({"text": t});
    let ethnic = |c: &str| {
        json!({"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
          "valueCodeableConcept": {"coding": [{"system":
            "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland", "code": c}]}})
    };
    let nationality = |t: &str| {
        json!({"url": "http://hl7.org/fhir/StructureDefinition/patient-nationality",
          "extension": [{"url": "code", "valueCodeableConcept": cc(t)}]})
    };
    let religion = |t: &str| {
        json!({"url": "http://hl7.org/fhir/StructureDefinition/patient-religion",
          "valueCodeableConcept": cc(t)})
    };
    let string = |url: &str, t: &str| json!({"url": url, "valueString": t});
    let maiden = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName";
    let congregation = "http://hl7.org/fhir/StructureDefinition/patient-congregation";
    let birth_place = |t: &str| {
        json!({"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
          "valueAddress": {"text": t}})
    };
    let birth_time = |t: &str| {
        json!({"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
          "valueDateTime": t})
    };
    let doc = json!({"resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "birthDate": "1980-01-02",
        "_birthDate": {"extension": [birth_time("1980-01-02T03:04:00+00:00"),
                                     birth_time("1980-01-02T05:06:00+00:00")]},
        "extension": [
            ethnic("A"), ethnic("B"),
            religion("Religion One"), religion("Religion Two"),
            nationality("British"), nationality("Irish"),
            string(maiden, "Maiden1"), string(maiden, "Maiden2"),
            string(congregation, "St A"), string(congregation, "St B"),
            birth_place("Leeds"), birth_place("York")]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let p = event.patient.as_ref().unwrap();
    assert_eq!(p.ethnic_category.as_ref().unwrap().value.code, "A");
    let text = |c: &Option<carecodec_model::Sourced<carecodec_model::Concept>>| {
        c.as_ref().unwrap().value.text.clone().unwrap()
    };
    assert_eq!(text(&p.religion), "Religion One");
    assert_eq!(text(&p.nationality), "British");
    assert_eq!(p.mothers_maiden_name.as_ref().unwrap().value, "Maiden1");
    assert_eq!(p.congregation.as_ref().unwrap().value, "St A");
    assert_eq!(p.birth_place.as_ref().unwrap().value, "Leeds");
    let born = p.birth_time.as_ref().unwrap().value.at.to_rfc3339();
    assert_eq!(born, "1980-01-02T03:04:00+00:00");
    assert_eq!(
        unmapped(&report),
        [
            "Patient._birthDate.extension[1].url",
            "Patient._birthDate.extension[1].valueDateTime",
            "Patient.extension[11].url",
            "Patient.extension[11].valueAddress.text",
            "Patient.extension[1].url",
            "Patient.extension[1].valueCodeableConcept.coding[0].code",
            "Patient.extension[1].valueCodeableConcept.coding[0].system",
            "Patient.extension[3].url",
            "Patient.extension[3].valueCodeableConcept.text",
            "Patient.extension[5].extension[0].url",
            "Patient.extension[5].extension[0].valueCodeableConcept.text",
            "Patient.extension[5].url",
            "Patient.extension[7].url",
            "Patient.extension[7].valueString",
            "Patient.extension[9].url",
            "Patient.extension[9].valueString",
        ]
    );
}

/// P5: an Observation's `basedOn` is read only as its report's order.
#[test]
fn an_observations_own_based_on_is_reported() {
    let doc = json!({"resourceType": "Observation", "status": "final", "code": {"text": "Na"},
        "valueString": "140",
        "basedOn": [{"identifier": {"system": "https://acme.org/identifiers", "value": "ORDER-1234"}},
                    {"reference": "CarePlan/cp-9", "display": "Care plan"}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert_eq!(event.observations.len(), 1);
    assert_eq!(
        unmapped(&report),
        [
            "Observation.basedOn[0].identifier.system",
            "Observation.basedOn[0].identifier.value",
            "Observation.basedOn[1].display",
            "Observation.basedOn[1].reference",
        ]
    );
    // In a report: `basedOn` the report's order is read with it; another
    // order is reported.
    let doc = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        patient_entry(),
        {"fullUrl": "urn:uuid:r1", "resource": {"resourceType": "DiagnosticReport",
          "status": "final", "subject": {"reference": PATIENT}, "code": {"text": "Panel"},
          "basedOn": [{"reference": "urn:uuid:sr"}], "result": [{"reference": "urn:uuid:o1"}]}},
        {"fullUrl": "urn:uuid:sr", "resource": {"resourceType": "ServiceRequest",
          "status": "unknown", "intent": "order", "subject": {"reference": PATIENT},
          "identifier": [{"system": "https://lab.example/order", "value": "O1"}]}},
        {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation",
          "status": "final", "subject": {"reference": PATIENT}, "code": {"text": "Na"},
          "basedOn": [{"reference": "urn:uuid:sr"}, {"reference": "urn:uuid:other"}]}},
        {"fullUrl": "urn:uuid:other", "resource": {"resourceType": "ServiceRequest",
          "status": "unknown", "intent": "order", "subject": {"reference": PATIENT}}}]});
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    assert_eq!(event.reports[0].observations.len(), 1);
    assert!(
        unmapped_under(&report, "Bundle.entry[2].resource").is_empty(),
        "{:?}",
        unmapped(&report)
    );
    assert_eq!(
        unmapped_under(&report, "Bundle.entry[3].resource"),
        ["Bundle.entry[3].resource.basedOn[1].reference"]
    );
}

/// P6: every R4 result status is read as itself and written back; a code
/// that is none is reported.
#[test]
fn result_statuses_are_read_as_sent_or_reported() {
    let doc = |obs: &str, dr: &str| {
        json!({"resourceType": "Bundle", "type": "collection", "entry": [
            patient_entry(),
            {"fullUrl": "urn:uuid:r1", "resource": {"resourceType": "DiagnosticReport",
              "status": dr, "subject": {"reference": PATIENT}, "code": {"text": "Panel"},
              "result": [{"reference": "urn:uuid:o1"}]}},
            {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation",
              "status": obs, "subject": {"reference": PATIENT}, "code": {"text": "Na"}}}]})
    };
    let statuses = |e: &carecodec_model::Event| {
        let r = &e.reports[0];
        (
            r.observations[0]
                .status
                .as_ref()
                .map(|s| format!("{:?}", s.value)),
            r.status.as_ref().map(|s| format!("{:?}", s.value)),
        )
    };
    let written = |b: &Value| {
        let of = |kind: &str| {
            b["entry"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["resource"]["resourceType"] == kind)
                .map(|e| e["resource"]["status"].as_str().unwrap().to_owned())
                .unwrap()
        };
        (of("Observation"), of("DiagnosticReport"))
    };
    for (obs, dr, read) in [
        ("corrected", "corrected", ("Corrected", "Corrected")),
        ("amended", "appended", ("Amended", "Appended")),
        ("preliminary", "partial", ("Preliminary", "Partial")),
        ("unknown", "final", ("Unknown", "Final")),
    ] {
        let (event, report) = read_bundle(&doc(obs, dr));
        assert!(report.balanced());
        assert!(report.invalid.is_empty(), "{:?}", report.invalid);
        let (o, r) = statuses(&event);
        assert_eq!((o.as_deref(), r.as_deref()), (Some(read.0), Some(read.1)));
        assert_eq!(
            written(&event_bundle(&event).unwrap()),
            (obs.into(), dr.into())
        );
    }
    // Not R4 codes (they are case-sensitive), or a report's code on an
    // Observation: reported invalid and dropped; written `unknown`.
    let (event, report) = read_bundle(&doc("partial", "Final"));
    assert!(report.balanced());
    assert_eq!(statuses(&event), (None, None));
    let mut invalid: Vec<(&str, &str, Action)> = report
        .invalid
        .iter()
        .map(|i| (path(&i.source), i.raw.as_str(), i.action))
        .collect();
    invalid.sort_unstable_by_key(|i| i.0);
    assert_eq!(
        invalid,
        [
            ("Bundle.entry[1].resource.status", "Final", Action::Dropped),
            (
                "Bundle.entry[2].resource.status",
                "partial",
                Action::Dropped
            ),
        ]
    );
    assert_eq!(
        written(&event_bundle(&event).unwrap()),
        ("unknown".into(), "unknown".into())
    );
    // A model Observation with a report's status (one made elsewhere) is
    // written with the nearest observation-status code, and that is listed.
    let (mut event, _) = read_bundle(&doc("final", "partial"));
    let partial = event.reports[0].status.clone();
    event.reports[0].observations[0].status = partial;
    assert_eq!(
        written(&event_bundle(&event).unwrap()),
        ("preliminary".into(), "partial".into())
    );
    let listed = event_not_written(&event, BundleType::Message).unwrap();
    assert!(
        listed
            .iter()
            .any(|n| n.field == "reports[0].observations[0].status" && n.value == "partial"),
        "{listed:?}"
    );
}
