//! UK Core checks on the project's own fixtures (`tests/data/ukcore/`) and small inline
//! resources: every rule of `uk_core::validate` is hit at least once, with its severity,
//! issue code and location.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_fhir::uk_core::validate::{
    IssueCode, Profile, Severity, has_errors, to_operation_outcome, validate, validate_nested,
};
use carecodec_fhir::{Resource, json};

fn fixture(name: &str) -> Resource {
    let path = format!("{}/tests/data/ukcore/{name}", env!("CARGO_MANIFEST_DIR"));
    json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Reads leniently: several cases break base R4 cardinalities (which the strict reader
/// already rejects) to show that `validate` also catches them in resources built in code.
fn parse(text: &str) -> Resource {
    json::from_slice_lenient(text.as_bytes()).unwrap().0
}

/// The issues as `severity code location` lines, for compact assertions.
fn lines(r: &Resource, profile: Profile) -> Vec<String> {
    validate(r, profile)
        .iter()
        .map(|i| format!("{} {} {}", i.severity.code(), i.code.code(), i.location))
        .collect()
}

fn assert_has(got: &[String], want: &str) {
    assert!(
        got.iter().any(|g| g == want),
        "missing `{want}` in {got:#?}"
    );
}

#[test]
fn valid_fixtures_are_clean() {
    for (file, profile) in [
        ("patient-valid.json", Profile::UKCorePatient),
        ("practitioner-gmc.json", Profile::UKCorePractitioner),
        ("organization-ods.json", Profile::UKCoreOrganization),
        (
            "observation-vital-sign.json",
            Profile::UKCoreObservationVitalSigns,
        ),
    ] {
        let r = fixture(file);
        assert_eq!(Profile::for_resource(&r), Some(profile), "{file}");
        let issues = validate(&r, profile);
        assert!(issues.is_empty(), "{file}: {issues:#?}");
    }
    let p = fixture("patient-valid.json");
    let Resource::Patient(p) = &p else { panic!() };
    assert_eq!(p.nhs_number(), Some("9000000009"));
}

#[test]
fn invalid_patient() {
    let r = fixture("patient-invalid.json");
    let got = lines(&r, Profile::UKCorePatient);
    // A bad NHS number is carecodec's check, not UK Core's: a warning.
    assert_has(&got, "warning value Patient.identifier[0].value");
    assert_has(&got, "error value Patient.identifier[1].system");
    assert_has(
        &got,
        "error code-invalid Patient.identifier[0].extension[0].value",
    );
    assert_has(&got, "error code-invalid Patient.gender");
    assert_eq!(got.len(), 4, "{got:#?}");
    let issues = validate(&r, Profile::UKCorePatient);
    assert!(has_errors(&issues));
    assert!(issues[0].message.contains("9000000008"), "{}", issues[0]);
    let wrong = issues
        .iter()
        .find(|i| i.location == "Patient.identifier[1].system")
        .unwrap();
    assert!(
        wrong.message.contains("https://fhir.nhs.uk/Id/nhs-number"),
        "{wrong}"
    );
}

#[test]
fn patient_slices_extensions_and_invariants() {
    let r = parse(
        r#"{"resourceType":"Patient",
        "extension":[
          {"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
           "valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland","code":"X"}]}},
          {"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
           "valueCodeableConcept":{"text":"free text is fine for an extensible binding"}},
          {"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BirthSex",
           "valueCodeableConcept":{"coding":[{"system":"http://hl7.org/fhir/administrative-gender","code":"female"}]}},
          {"url":"https://example.org/both","valueString":"x","extension":[{"url":"a","valueString":"y"}]},
          {"valueString":"no url"}
        ],
        "identifier":[
          {"system":"https://fhir.nhs.uk/Id/nhs-number",
           "extension":[
             {"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus","valueCode":"01"},
             {"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"}
           ]},
          {"system":"https://fhir.nhs.uk/Id/nhs-number","value":"943 476 5919"}
        ],
        "contact":[{"gender":"female"},{"gender":"girl","name":{"text":"C"}}],
        "communication":[{"preferred":true}],
        "link":[{"id":"l1"}]}"#,
    );
    let got = lines(&r, Profile::UKCorePatient);
    for want in [
        // NHS number slice: value 1..1, at most one; 10 digits (no spaces) is carecodec's
        // check, a warning.
        "error required Patient.identifier[0].value",
        "error structure Patient.identifier[1]",
        "warning value Patient.identifier[1].value",
        // Verification status: max 1, a CodeableConcept, with a value.
        "error structure Patient.identifier[0].extension[1]",
        "error structure Patient.identifier[0].extension[0].value",
        "error required Patient.identifier[0].extension[1].value",
        // Ethnic category: max 1, extensible binding (warning).
        "error structure Patient.extension[1]",
        "warning code-invalid Patient.extension[0].value",
        // Birth sex: required binding.
        "error code-invalid Patient.extension[2].value",
        // ext-1 and url.
        "error invariant Patient.extension[3]",
        "error required Patient.extension[4]",
        // pat-1, contact gender, communication.language, link.other/type.
        "error invariant Patient.contact[0]",
        "error code-invalid Patient.contact[1].gender",
        "error required Patient.communication[0].language",
        "error required Patient.link[0].other",
        "error required Patient.link[0].type",
    ] {
        assert_has(&got, want);
    }
    assert!(!got.iter().any(|g| g.contains("Patient.extension[1].value")));
}

#[test]
fn practitioner_and_organization_systems() {
    let r = parse(
        r#"{"resourceType":"Practitioner","identifier":[
          {"system":"https://fhir.nhs.uk/Id/gmc-number","value":"1234567"},
          {"system":"https://fhir.hl7.org.uk/Id/GMC-Number","value":"1234567"},
          {"system":"https://fhir.hl7.org.uk/Id/nmc-number","value":"12A3456B"}],
          "gender":"F"}"#,
    );
    let got = lines(&r, Profile::UKCorePractitioner);
    assert_has(&got, "error value Practitioner.identifier[0].system");
    assert_has(&got, "error value Practitioner.identifier[1].system");
    assert_has(&got, "error code-invalid Practitioner.gender");
    assert_eq!(got.len(), 3, "{got:#?}");

    let r = parse(
        r#"{"resourceType":"Organization","identifier":[
          {"system":"https://fhir.nhs.uk/Id/ods-organisation-code","value":"RR8"},
          {"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"RR8"},
          {"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"RR9"},
          {"system":"https://fhir.nhs.uk/Id/ods-site-code"}]}"#,
    );
    let got = lines(&r, Profile::UKCoreOrganization);
    assert_has(&got, "error value Organization.identifier[0].system");
    assert_has(&got, "error structure Organization.identifier[2]");
    assert_has(&got, "error required Organization.identifier[3].value");
    assert_eq!(got.len(), 3, "{got:#?}");

    let r = parse(
        r#"{"resourceType":"Location","status":"open","identifier":[
          {"system":"https://fhir.nhs.uk/Id/ods-site-code","value":"RR813"},
          {"system":"https://fhir.nhs.uk/Id/ods-site-code","value":"RR814"}]}"#,
    );
    let got = lines(&r, Profile::UKCoreLocation);
    assert_has(&got, "error structure Location.identifier[1]");
    assert_has(&got, "error code-invalid Location.status");

    let r = parse(
        r#"{"resourceType":"PractitionerRole","identifier":[
          {"system":"https://fhir.nhs.uk/id/sds-role-profile-id","value":"1"}]}"#,
    );
    assert_eq!(
        lines(&r, Profile::UKCorePractitionerRole),
        ["error value PractitionerRole.identifier[0].system"]
    );
}

#[test]
fn vital_signs() {
    let r = parse(
        r#"{"resourceType":"Observation","status":"done",
          "code":{"coding":[{"system":"http://snomed.info/sct","code":"27113001"}]}}"#,
    );
    let got = lines(&r, Profile::UKCoreObservationVitalSigns);
    for want in [
        "error code-invalid Observation.status",
        "error required Observation.category",
        "error required Observation.subject",
        "error required Observation.effective[x]",
        "error invariant Observation.code.coding",
        "error invariant Observation",
    ] {
        assert_has(&got, want);
    }
    // The generic Observation profile does not ask for any of the vital-sign elements.
    assert_eq!(
        lines(&r, Profile::UKCoreObservation),
        ["error code-invalid Observation.status"]
    );

    let r = parse(
        r#"{"resourceType":"Observation","status":"final",
          "category":[
            {"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]},
            {"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
          "code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},
          "subject":{"reference":"Patient/1"},"effectiveDateTime":"2024-01-01",
          "valueQuantity":{"value":72500,"system":"http://unitsofmeasure.org","code":"g"},
          "dataAbsentReason":{"text":"both"}}"#,
    );
    let got = lines(&r, Profile::UKCoreObservationVitalSigns);
    assert_has(&got, "error structure Observation.category");
    assert_has(&got, "error value Observation.valueQuantity.code");
    assert_has(&got, "error invariant Observation.dataAbsentReason");

    let r = parse(
        r#"{"resourceType":"Observation","status":"final",
          "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
          "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
          "subject":{"reference":"Patient/1"},"effectiveDateTime":"2024-01-01",
          "component":[
            {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
             "valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
            {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},
             "valueQuantity":{"value":80,"unit":"mmHg"}},
            {"valueString":"no code"}]}"#,
    );
    let got = lines(&r, Profile::UKCoreObservationVitalSigns);
    assert_eq!(
        got,
        [
            "error required Observation.component[2].code",
            "error value Observation.component[1].valueQuantity.system",
            "error required Observation.component[1].valueQuantity.code",
        ]
    );
}

#[test]
fn encounter_and_diagnostic_report() {
    let r = parse(r#"{"resourceType":"Encounter","statusHistory":[{"status":"done"}]}"#);
    let got = lines(&r, Profile::UKCoreEncounter);
    assert_eq!(
        got,
        [
            "error required Encounter.status",
            "error required Encounter.class",
            "error code-invalid Encounter.statusHistory[0].status",
        ]
    );
    let r = parse(r#"{"resourceType":"Encounter","status":"finished","class":{"code":"IMP"}}"#);
    assert!(validate(&r, Profile::UKCoreEncounter).is_empty());

    let r = parse(r#"{"resourceType":"DiagnosticReport","status":"done"}"#);
    assert_eq!(
        lines(&r, Profile::UKCoreDiagnosticReport),
        [
            "error required DiagnosticReport.code",
            "error code-invalid DiagnosticReport.status",
        ]
    );
}

#[test]
fn periods_that_end_before_they_start() {
    // R4 per-1 (7 of the 2026-12-07 ORU probe: such Bundles passed the check).
    let r = parse(
        r#"{"resourceType":"Patient",
        "identifier":[{"value":"1","period":{"start":"2024-01-01","end":"2023-12-31"}}],
        "name":[{"family":"A","period":{"start":"2024-01-01","end":"2023-12-31"}},
                {"family":"B","period":{"start":"2024-01-01","end":"2024-01-01"}},
                {"family":"C","period":{"start":"2024-03-01","end":"2024-02"}},
                {"family":"D","period":{"start":"2024-01-01","end":"2023"}},
                {"family":"E","period":{"start":"2024-01-01","end":"2024"}}],
        "telecom":[{"value":"1","period":{"start":"2024-01-01T10:00:00Z","end":"2024-01-01T09:59:59Z"}},
                   {"value":"2","period":{"start":"2024-01-01T09:00:00-01:00","end":"2024-01-01T09:30:00Z"}},
                   {"value":"3","period":{"start":"2024-01-01T10:00:00.250Z","end":"2024-01-01T10:00:00.1Z"}},
                   {"value":"4","period":{"start":"2024-01-01T10:00:00.25Z","end":"2024-01-01T10:00:00Z"}},
                   {"value":"5","period":{"start":"2024-01-01T10:00:00+01:00","end":"2024-01-01T09:30:00Z"}}],
        "address":[{"city":"X","period":{"start":"2024-01-02","end":"2024-01-01T23:00:00Z"}},
                   {"city":"Y","period":{"start":"2024-01-03","end":"2024-01-01T09:00:00Z"}}],
        "contact":[{"name":{"family":"F"},"period":{"start":"20240101","end":"2023-12-31"}},
                   {"name":{"family":"G","period":{"start":"2024-01-01","end":"2023-12-31"}},
                    "period":{"start":"2024-01-01","end":"2023-12-31"}}]}"#,
    );
    let got: Vec<_> = lines(&r, Profile::UKCorePatient)
        .into_iter()
        .filter(|l| l.contains("period"))
        .collect();
    assert_eq!(
        got,
        [
            "error invariant Patient.identifier[0].period",
            "error invariant Patient.name[0].period",
            // February (a month) ends before 1 March, 2023 before 2024; the
            // same day, or 2024 against a day of it, is not before.
            "error invariant Patient.name[2].period",
            "error invariant Patient.name[3].period",
            "error invariant Patient.telecom[0].period",
            // 09:00-01:00 is 10:00Z (and 10:00+01:00 09:00Z, so [4] is
            // not before); to the millisecond (a second may hold [3]'s start).
            "error invariant Patient.telecom[1].period",
            "error invariant Patient.telecom[2].period",
            // A date has no offset: 23:00Z on the day before may be the 2nd
            // somewhere; two days before is not. A start that is no FHIR
            // date is not compared.
            "error invariant Patient.address[1].period",
            // `20240101` is no R4 dateTime.
            "error value Patient.contact[0].period.start",
            "error invariant Patient.contact[1].name.period",
            "error invariant Patient.contact[1].period",
        ]
    );
    let issue = validate(&r, Profile::UKCorePatient)
        .into_iter()
        .find(|i| i.location == "Patient.name[0].period")
        .unwrap();
    assert_eq!(
        issue.message,
        "per-1: the period ends (2023-12-31) before it starts (2024-01-01)"
    );
    let r = parse(
        r#"{"resourceType":"Encounter","status":"finished","class":{"code":"IMP"},
        "period":{"start":"2024-03-15T10:00:00+00:00","end":"2024-03-12"},
        "participant":[{"period":{"start":"2024-03-15","end":"2024-03-16"}}]}"#,
    );
    assert_eq!(
        lines(&r, Profile::UKCoreEncounter),
        ["error invariant Encounter.period"]
    );
    let r = parse(
        r#"{"resourceType":"Condition","subject":{"reference":"Patient/1"},
        "onsetPeriod":{"start":"2024","end":"2023-06"}}"#,
    );
    assert_has(
        &lines(&r, Profile::UKCoreCondition),
        "error invariant Condition.onsetPeriod",
    );
}

/// R4 rng-2: an Observation's value Range (or a component's) whose low is
/// above its high, in the same unit, is an error; in order, equal, or in
/// different units it is not.
#[test]
fn ranges_whose_low_is_above_their_high() {
    let r = parse(
        r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},
        "valueRange":{"low":{"value":10,"unit":"mg"},"high":{"value":5,"unit":"mg"}},
        "component":[
          {"code":{"text":"a"},"valueRange":{"low":{"value":1.5},"high":{"value":1.25}}},
          {"code":{"text":"b"},"valueRange":{"low":{"value":1},"high":{"value":1.0}}},
          {"code":{"text":"c"},"valueRange":{"low":{"value":2,"unit":"g"},"high":{"value":5,"unit":"mg"}}},
          {"code":{"text":"d"},"valueRange":{"low":{"value":2}}}]}"#,
    );
    let got: Vec<String> = lines(&r, Profile::UKCoreObservation)
        .into_iter()
        .filter(|l| l.contains("Range"))
        .collect();
    assert_eq!(
        got,
        [
            "error invariant Observation.valueRange",
            "error invariant Observation.component[0].valueRange",
        ]
    );
    let issue = validate(&r, Profile::UKCoreObservation)
        .into_iter()
        .find(|i| i.location == "Observation.valueRange")
        .unwrap();
    assert_eq!(
        issue.message,
        "rng-2: the range's low (10) is above its high (5)"
    );
}

#[test]
fn allergy_intolerance() {
    let r = parse(
        r#"{"resourceType":"AllergyIntolerance","type":"dislike","criticality":"extreme",
          "category":["drug"],"reaction":[{"severity":"bad"}]}"#,
    );
    let got = lines(&r, Profile::UKCoreAllergyIntolerance);
    for want in [
        "error required AllergyIntolerance.code",
        "error required AllergyIntolerance.patient",
        "error code-invalid AllergyIntolerance.type",
        "error code-invalid AllergyIntolerance.criticality",
        "error code-invalid AllergyIntolerance.category[0]",
        "error invariant AllergyIntolerance.clinicalStatus",
        "error required AllergyIntolerance.reaction[0].manifestation",
        "error code-invalid AllergyIntolerance.reaction[0].severity",
    ] {
        assert_has(&got, want);
    }
    let r = parse(
        r#"{"resourceType":"AllergyIntolerance","code":{"text":"nuts"},"patient":{"reference":"Patient/1"},
          "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"gone"}]},
          "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"entered-in-error"}]}}"#,
    );
    let issues = validate(&r, Profile::UKCoreAllergyIntolerance);
    let got = lines(&r, Profile::UKCoreAllergyIntolerance);
    assert_eq!(
        got,
        [
            "error code-invalid AllergyIntolerance.clinicalStatus",
            "error invariant AllergyIntolerance.clinicalStatus",
        ]
    );
    assert!(issues[1].message.starts_with("ait-2"), "{}", issues[1]);
    let r = parse(
        r#"{"resourceType":"AllergyIntolerance","code":{"text":"nuts"},"patient":{"reference":"Patient/1"},
          "verificationStatus":{"coding":[{"system":"x","code":"confirmed"}]}}"#,
    );
    let got = lines(&r, Profile::UKCoreAllergyIntolerance);
    assert_has(
        &got,
        "error code-invalid AllergyIntolerance.verificationStatus",
    );
}

#[test]
fn condition() {
    const CLIN: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    const VER: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
    let r = parse(&format!(
        r#"{{"resourceType":"Condition",
          "clinicalStatus":{{"coding":[{{"system":"{CLIN}","code":"active"}}]}},
          "verificationStatus":{{"coding":[{{"system":"{VER}","code":"entered-in-error"}}]}},
          "abatementString":"gone","evidence":[{{"id":"e"}}],"stage":[{{"id":"s"}}]}}"#
    ));
    let got = lines(&r, Profile::UKCoreCondition);
    assert_eq!(
        got,
        [
            "error required Condition.subject",
            "error invariant Condition.clinicalStatus",
            "error invariant Condition.clinicalStatus",
            "error invariant Condition.evidence[0]",
            "error invariant Condition.stage[0]",
        ]
    );
    let messages: Vec<String> = validate(&r, Profile::UKCoreCondition)
        .into_iter()
        .map(|i| i.message)
        .collect();
    assert!(messages[1].starts_with("con-5") && messages[2].starts_with("con-4"));

    let r = parse(&format!(
        r#"{{"resourceType":"Condition","subject":{{"reference":"Patient/1"}},
          "category":[{{"coding":[{{"code":"problem-list-item"}}]}}],
          "verificationStatus":{{"coding":[{{"system":"{VER}","code":"maybe"}}]}}}}"#
    ));
    let issues = validate(&r, Profile::UKCoreCondition);
    assert_eq!(
        lines(&r, Profile::UKCoreCondition),
        [
            "error code-invalid Condition.verificationStatus",
            "warning invariant Condition.clinicalStatus",
            // A coding without a system is outside UKCore-ConditionCategory (extensible).
            "warning code-invalid Condition.category[0]",
        ]
    );
    assert_eq!(issues[1].severity, Severity::Warning);
    assert_eq!(issues[1].code, IssueCode::Invariant);
    let r = parse(&format!(
        r#"{{"resourceType":"Condition","subject":{{"reference":"Patient/1"}},
          "clinicalStatus":{{"coding":[{{"system":"{CLIN}","code":"active"}}]}}}}"#
    ));
    assert!(validate(&r, Profile::UKCoreCondition).is_empty());
}

#[test]
fn profiles() {
    for p in Profile::ALL {
        assert_eq!(Profile::from_url(&p.url()), Some(p));
        assert_eq!(
            Profile::from_url(&format!("{}|2.0.1", p.url())),
            Some(p),
            "{p}"
        );
    }
    assert_eq!(
        Profile::from_url(
            "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-VitalSigns-BMI"
        ),
        Some(Profile::UKCoreObservationVitalSigns)
    );
    assert_eq!(
        Profile::from_url("https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-Lab"),
        Some(Profile::UKCoreObservationLab)
    );
    assert_eq!(
        Profile::from_url("https://fhir.hl7.org.uk/StructureDefinition/UKCore-Specimen"),
        None
    );
    assert_eq!(
        Profile::from_url("http://hl7.org/fhir/StructureDefinition/Patient"),
        None
    );
    let obs = parse(r#"{"resourceType":"Observation","status":"final","code":{"text":"x"}}"#);
    assert_eq!(
        Profile::for_resource(&obs),
        Some(Profile::UKCoreObservation)
    );
    let bundle = parse(r#"{"resourceType":"Bundle","type":"collection"}"#);
    assert_eq!(Profile::for_resource(&bundle), None);
    // A resource of the wrong type: one structure error, no further checks.
    assert_eq!(
        lines(&obs, Profile::UKCorePatient),
        ["error structure Observation"]
    );
}

#[test]
fn operation_outcome() {
    let r = fixture("patient-invalid.json");
    let issues = validate(&r, Profile::UKCorePatient);
    let oo = Resource::OperationOutcome(Box::new(to_operation_outcome(&issues)));
    let text = json::to_string(&oo);
    assert!(
        text.contains(r#""severity":"warning","code":"value","diagnostics":"#),
        "{text}"
    );
    assert!(
        text.contains(r#""location":["Patient.identifier[0].value"],"expression":["Patient.identifier[0].value"]"#),
        "{text}"
    );
    let back: Resource = json::from_str(&text).unwrap();
    assert_eq!(back, oo);
    let empty = to_operation_outcome(&[]);
    assert_eq!(empty.issue.len(), 1);
    assert_eq!(
        empty.issue[0].severity.as_ref().unwrap().value.as_deref(),
        Some("information")
    );
}

#[test]
fn laboratory() {
    let r = parse(
        r#"{"resourceType":"DiagnosticReport","status":"final","code":{"text":"FBC"},
          "category":[{"coding":[{"system":"http://snomed.info/sct","code":"15220000"}]}],
          "media":[{"extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-DiagnosticReport.media.link",
             "valueReference":{"reference":"DocumentReference/1"}}],
            "link":{"reference":"Media/1"}}]}"#,
    );
    assert_eq!(
        lines(&r, Profile::UKCoreDiagnosticReportLab),
        [
            "error required DiagnosticReport.category",
            "error required DiagnosticReport.subject",
            "warning invariant DiagnosticReport.issued",
            "error invariant DiagnosticReport.media[0].link",
        ]
    );
    // The generic DiagnosticReport profile asks for none of that.
    assert!(validate(&r, Profile::UKCoreDiagnosticReport).is_empty());

    let r = parse(r#"{"resourceType":"Observation","status":"final","code":{"text":"K+"}}"#);
    assert_eq!(
        lines(&r, Profile::UKCoreObservationLab),
        ["warning invariant Observation"]
    );
    let r = parse(
        r#"{"resourceType":"Observation","status":"final","code":{"text":"FBC"},"valueString":"x"}"#,
    );
    assert_eq!(
        lines(&r, Profile::UKCoreObservationGroupLab),
        ["warning invariant Observation.value[x]"]
    );
    assert!(!has_errors(&validate(
        &r,
        Profile::UKCoreObservationGroupLab
    )));
}

/// A trailing `/` or space is a near miss of the NHS number system too.
#[test]
fn nhs_number_system_with_trailing_slash_or_space() {
    for system in [
        "https://fhir.nhs.uk/Id/nhs-number/",
        "https://fhir.nhs.uk/Id/nhs-number ",
    ] {
        let r = parse(&format!(
            r#"{{"resourceType":"Patient","identifier":[{{"system":"{system}","value":"9000000009"}}]}}"#
        ));
        assert_has(
            &lines(&r, Profile::UKCorePatient),
            "error value Patient.identifier[0].system",
        );
    }
}

/// Contained resources and the entries of nested Bundles are checked against their own
/// profiles, located in the outer resource.
#[test]
fn nested_resources_are_validated() {
    let patient = r#"{"resourceType":"Patient","gender":"M"}"#;
    let r = parse(&format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"contained":[{patient}]}}}}]}}}}]}}"#
    ));
    let got: Vec<String> = validate_nested(&r)
        .iter()
        .map(|(p, i)| format!("{p} {} {}", i.severity.code(), i.location))
        .collect();
    assert_has(
        &got,
        "UKCore-Patient error Bundle.entry[0].resource.entry[0].resource.contained[0].gender",
    );
}
