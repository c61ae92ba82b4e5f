//! FHIR → model: values and codes are kept as far as the model can hold
//! them, and what it cannot hold is reported (unmapped, or invalid with what
//! was done), never consumed and lost. Reproducers of the 2026-12-07 probe
//! (`/work/probe-fhir/FINDINGS.md` #4, #5, #6, #7, #12, #21).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_map::fhir::{JsonDocument, event_bundle, read_bundle};
use carecodec_model::{Action, EncounterClass, Event, MappingReport};

/// Reads `json` (a Bundle or one resource), checking the accounting.
fn read(json: &str) -> (Event, MappingReport) {
    let doc = JsonDocument::from_slice(json.as_bytes()).unwrap();
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced(), "{report:#?}");
    (event, report)
}

/// The raw text of the unmapped leaf at `path`, if it is one.
fn unmapped<'r>(report: &'r MappingReport, path: &str) -> Option<&'r str> {
    report
        .unmapped
        .iter()
        .find(|u| u.source.to_string().ends_with(path))
        .map(|u| u.raw.as_str())
}

/// The `invalid` entry at `path`, if there is one.
fn invalid<'r>(report: &'r MappingReport, path: &str) -> Option<&'r carecodec_model::Invalid> {
    report
        .invalid
        .iter()
        .find(|i| i.source.to_string().ends_with(path))
}

const NHS: &str =
    r#""identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]"#;

/// A Bundle of a Patient and `resource` (which refers to it as `urn:uuid:p1`).
fn with_patient(resource: &str) -> String {
    format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[
        {{"fullUrl":"urn:uuid:p1","resource":{{"resourceType":"Patient",{NHS}}}}},
        {{"fullUrl":"urn:uuid:x1","resource":{resource}}}]}}"#
    )
}

#[test]
fn a_single_code_keeps_the_first_coding_and_reports_the_rest() {
    // #7: cc1.json. The model holds one code for the marital status and the
    // ethnic category: the SNOMED codings and the texts are reported.
    let json = format!(
        r#"{{"resourceType":"Patient",{NHS},
        "maritalStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M"}},
          {{"system":"http://snomed.info/sct","code":"87915002","display":"Married"}}],"text":"Married (civil partnership)"}},
        "extension":[{{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
          "valueCodeableConcept":{{"coding":[{{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland","code":"A"}},
          {{"system":"http://snomed.info/sct","code":"976631000000101"}}],"text":"British"}}}}],
        "contact":[{{"relationship":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"N"}}],"text":"next of kin"}}],
          "name":{{"family":"Smith"}}}}]}}"#
    );
    let (event, report) = read(&json);
    let p = event.patient.unwrap();
    assert_eq!(p.marital_status.unwrap().value.code, "M");
    assert_eq!(p.ethnic_category.unwrap().value.code, "A");
    assert_eq!(p.contacts[0].relationship.as_ref().unwrap().value.code, "N");
    for (path, raw) in [
        ("maritalStatus.coding[1].code", "87915002"),
        ("maritalStatus.coding[1].display", "Married"),
        ("maritalStatus.text", "Married (civil partnership)"),
        ("valueCodeableConcept.coding[1].code", "976631000000101"),
        ("valueCodeableConcept.text", "British"),
        ("relationship[0].text", "next of kin"),
    ] {
        assert_eq!(unmapped(&report, path), Some(raw), "{path}");
    }
    assert_eq!(report.unmapped.len(), 8, "{:#?}", report.unmapped);
}

#[test]
fn encounter_codes_keep_one_code_and_report_text_and_other_codings() {
    // #7 on the Encounter: priority, serviceType, admitSource, reAdmission,
    // dischargeDisposition, specialArrangement, participant type.
    let cc = |code: &str| {
        format!(
            r#"{{"coding":[{{"system":"http://example.org/a","code":"{code}"}},{{"system":"http://example.org/b","code":"x"}}],"text":"t"}}"#
        )
    };
    let enc = format!(
        r#"{{"resourceType":"Encounter","status":"finished","subject":{{"reference":"urn:uuid:p1"}},
        "class":{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"}},
        "priority":{p},"serviceType":{s},
        "hospitalization":{{"admitSource":{a},"reAdmission":{r},"dischargeDisposition":{d},"specialArrangement":[{w}]}}}}"#,
        p = cc("P"),
        s = cc("S"),
        a = cc("A"),
        r = cc("R"),
        d = cc("D"),
        w = cc("W"),
    );
    let (event, report) = read(&with_patient(&enc));
    let e = event.encounter.unwrap();
    assert_eq!(e.priority.unwrap().value.code, "P");
    assert_eq!(e.service.unwrap().value.code, "S");
    assert_eq!(e.admit_source.unwrap().value.code, "A");
    assert_eq!(e.readmission.unwrap().value.code, "R");
    assert_eq!(e.discharge_destination.unwrap().value.code, "D");
    assert_eq!(e.ambulatory_status[0].value.code, "W");
    for at in [
        "priority",
        "serviceType",
        "hospitalization.admitSource",
        "hospitalization.reAdmission",
        "hospitalization.dischargeDisposition",
        "hospitalization.specialArrangement[0]",
    ] {
        assert_eq!(unmapped(&report, &format!("{at}.text")), Some("t"), "{at}");
        assert_eq!(
            unmapped(&report, &format!("{at}.coding[1].code")),
            Some("x"),
            "{at}"
        );
    }
}

#[test]
fn an_encounter_class_the_model_has_not_is_reported() {
    // #5: enc.json, class VR (virtual) was read as v3 NullFlavor UNK.
    let enc = r#"{"resourceType":"Encounter","status":"in-progress","subject":{"reference":"urn:uuid:p1"},
        "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"VR","display":"virtual"}}"#;
    let (event, report) = read(&with_patient(enc));
    let e = event.encounter.unwrap();
    assert_eq!(e.class, None);
    assert_eq!(unmapped(&report, "class.code"), Some("VR"));
    assert_eq!(unmapped(&report, "class.display"), Some("virtual"));
    // The classes it has are read, and the writer's UNK is `Other`.
    for (system, code, class) in [
        ("v3-ActCode", "EMER", EncounterClass::Emergency),
        ("v3-NullFlavor", "UNK", EncounterClass::Other),
    ] {
        let enc = format!(
            r#"{{"resourceType":"Encounter","status":"finished","subject":{{"reference":"urn:uuid:p1"}},
            "class":{{"system":"http://terminology.hl7.org/CodeSystem/{system}","code":"{code}"}}}}"#
        );
        let (event, report) = read(&with_patient(&enc));
        assert_eq!(event.encounter.unwrap().class.unwrap().value, class);
        assert!(report.unmapped.is_empty(), "{:#?}", report.unmapped);
    }
}

#[test]
fn allergy_type_and_category_the_model_cannot_hold_are_reported() {
    // #5 and #6: alg.json. `intolerance` was read as an allergy, `biologic`
    // as environmental, and coded manifestations were consumed and lost.
    let alg = r#"{"resourceType":"AllergyIntolerance","patient":{"reference":"urn:uuid:p1"},
        "type":"intolerance","category":["biologic"],
        "code":{"coding":[{"system":"http://snomed.info/sct","code":"91936005","display":"Allergy to penicillin"}]},
        "reaction":[{"manifestation":[{"coding":[{"system":"http://snomed.info/sct","code":"271807003","display":"Eruption of skin"}]},
          {"text":"itching"}]}]}"#;
    let (event, report) = read(&with_patient(alg));
    let a = &event.allergies[0];
    assert_eq!(a.category, None);
    assert_eq!(
        a.reactions
            .iter()
            .map(|r| r.value.as_str())
            .collect::<Vec<_>>(),
        ["itching"]
    );
    assert_eq!(unmapped(&report, "type"), Some("intolerance"));
    assert_eq!(unmapped(&report, "category[0]"), Some("biologic"));
    assert_eq!(
        unmapped(&report, "manifestation[0].coding[0].code"),
        Some("271807003")
    );
    // A medication intolerance: the category is read (DA, a drug allergy),
    // and the report says the type was not kept.
    let alg = alg.replace("biologic", "medication");
    let (event, report) = read(&with_patient(&alg));
    assert_eq!(
        event.allergies[0].category.as_ref().unwrap().value.code,
        "DA"
    );
    assert_eq!(unmapped(&report, "type"), Some("intolerance"));
    let i = invalid(&report, "resource.type").unwrap();
    assert_eq!(
        (i.raw.as_str(), i.action),
        ("intolerance", Action::Interpreted)
    );
}

#[test]
fn a_condition_category_other_than_encounter_diagnosis_is_reported() {
    // #5: alg.json, problem-list-item was consumed (and written back as
    // encounter-diagnosis).
    let cond = r#"{"resourceType":"Condition","subject":{"reference":"urn:uuid:p1"},
        "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]},
          {"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis"}]}],
        "code":{"text":"Asthma"}}"#;
    let (_, report) = read(&with_patient(cond));
    assert_eq!(
        unmapped(&report, "category[0].coding[0].code"),
        Some("problem-list-item")
    );
    assert_eq!(unmapped(&report, "category[1].coding[0].code"), None);
}

#[test]
fn a_data_absent_reason_other_than_unknown_is_reported() {
    // #5: obsv.json T15, asked-declined was consumed (and written back as
    // unknown).
    let obs = |reason: &str| {
        format!(
            r#"{{"resourceType":"Observation","status":"final","subject":{{"reference":"urn:uuid:p1"}},
            "code":{{"text":"smoking"}},
            "dataAbsentReason":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/data-absent-reason","code":"{reason}"}}]}}}}"#
        )
    };
    let (_, report) = read(&with_patient(&obs("asked-declined")));
    assert_eq!(
        unmapped(&report, "dataAbsentReason.coding[0].code"),
        Some("asked-declined")
    );
    let (_, report) = read(&with_patient(&obs("unknown")));
    assert!(report.unmapped.is_empty(), "{:#?}", report.unmapped);
}

#[test]
fn an_encounter_length_not_in_days_is_not_read_as_days() {
    // #4: enc.json, 90 minutes was written back as 90 d.
    let enc = |length: &str| {
        format!(
            r#"{{"resourceType":"Encounter","status":"finished","subject":{{"reference":"urn:uuid:p1"}},
            "class":{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"}},"length":{length}}}"#
        )
    };
    let (event, report) = read(&with_patient(&enc(
        r#"{"value":90,"unit":"minutes","system":"http://unitsofmeasure.org","code":"min"}"#,
    )));
    assert_eq!(event.encounter.unwrap().length_days, None);
    assert_eq!(unmapped(&report, "length.value"), Some("90"));
    assert_eq!(unmapped(&report, "length.code"), Some("min"));
    assert_eq!(invalid(&report, "length").unwrap().action, Action::Dropped);
    // Days are read, as UCUM `d` or a unit text alone.
    for length in [
        r#"{"value":2.50,"unit":"d","system":"http://unitsofmeasure.org","code":"d"}"#,
        r#"{"value":2.50,"unit":"days"}"#,
    ] {
        let (event, report) = read(&with_patient(&enc(length)));
        assert_eq!(event.encounter.unwrap().length_days.unwrap().value, "2.50");
        assert!(report.unmapped.is_empty() && report.invalid.is_empty());
    }
}

#[test]
fn values_of_the_wrong_json_type_are_reported_invalid() {
    // #12: nm.json, rob/num.json, v1.json, v2.json.
    let json = format!(
        r#"{{"resourceType":"Patient",{NHS},"gender":"Male","multipleBirthInteger":5000000000,
        "name":[{{"family":123,"given":"John","prefix":["Dr",1]}}],
        "address":[{{"line":"1 High St","city":["Leeds"]}}],
        "telecom":[{{"system":"phone","value":"0113","rank":"1"}}]}}"#
    );
    let (event, report) = read(&json);
    let p = event.patient.unwrap();
    assert_eq!(p.gender, None);
    assert_eq!(p.multiple_birth, None);
    assert_eq!(p.names[0].value.prefix, ["Dr"]);
    for (path, raw) in [
        ("Patient.gender", "Male"),
        ("multipleBirthInteger", "5000000000"),
        ("name[0].family", "123"),
        ("name[0].given", "John"),
        ("name[0].prefix[1]", "1"),
        ("address[0].line", "1 High St"),
        ("address[0].city", r#"["Leeds"]"#),
        ("telecom[0].rank", "1"),
    ] {
        let i = invalid(&report, path).unwrap_or_else(|| panic!("{path}: {report:#?}"));
        assert_eq!((i.raw.as_str(), i.action), (raw, Action::Dropped), "{path}");
    }
}

#[test]
fn fractional_seconds_keep_their_digits() {
    // #21: .123456789 was written back as .123.
    let json = format!(
        r#"{{"resourceType":"Patient",{NHS},"deceasedDateTime":"2024-03-12T09:15:00.123456789+01:00"}}"#
    );
    let (event, _) = read(&json);
    let bundle = event_bundle(&event).unwrap();
    let patient = &bundle["entry"][0]["resource"];
    assert_eq!(
        patient["deceasedDateTime"],
        "2024-03-12T09:15:00.123456789+01:00"
    );
}
