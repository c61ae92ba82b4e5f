//! The validator gaps the 2026-12-07 probe left open after the base-rule work (probe cases
//! `sqty-1`, `pat-verif-on-other-id`, `bdl-fullurl-id`, `vs-hr-unit-string`,
//! `vs-hr-dar-only`; findings V9, V10): SimpleQuantity's sqty-1, UK Core extension
//! contexts, the NHS number verification status on any Patient identifier, a RESTful
//! fullUrl that agrees with its resource, and the specific UK Core vital-sign profiles.
//! Inline resources only: no corpus needed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_fhir::uk_core::validate::validate_nested;
use carecodec_fhir::{Resource, json};

/// Every issue of `validate_nested` as `severity code location: message`, without the
/// informational notices.
fn issues(text: &str) -> Vec<String> {
    let (r, _): (Resource, _) =
        json::from_slice_lenient(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"));
    validate_nested(&r)
        .iter()
        .filter(|(_, i)| i.severity.code() != "information")
        .map(|(_, i)| {
            format!(
                "{} {} {}: {}",
                i.severity.code(),
                i.code.code(),
                i.location,
                i.message
            )
        })
        .collect()
}

/// `bad` gives an issue starting with `want` and containing `fragment`; `good` gives none.
fn rule(bad: &str, want: &str, fragment: &str, good: &str) {
    let got = issues(bad);
    assert!(
        got.iter()
            .any(|g| g.starts_with(want) && g.contains(fragment)),
        "missing `{want}` … `{fragment}` in {got:#?}\nfor {bad}"
    );
    let clean = issues(good);
    assert!(clean.is_empty(), "{clean:#?}\nfor {good}");
}

const OBS: &str = r#""resourceType":"Observation","status":"final","code":{"text":"x"}"#;

#[test]
fn sqty_1_no_comparator_on_a_simple_quantity() {
    let rr = |low: &str| format!(r#"{{{OBS},"referenceRange":[{{"low":{low}}}]}}"#);
    rule(
        &rr(r#"{"value":1,"comparator":">"}"#),
        "error invariant Observation.referenceRange[0].low",
        "sqty-1",
        &rr(r#"{"value":1}"#),
    );
    // Range.low and Range.high are SimpleQuantity too.
    let range = |high: &str| format!(r#"{{{OBS},"valueRange":{{"high":{high}}}}}"#);
    rule(
        &range(r#"{"value":5,"comparator":"<"}"#),
        "error invariant Observation.valueRange.high",
        "sqty-1",
        &range(r#"{"value":5}"#),
    );
    // A plain Quantity may have one.
    assert!(
        issues(&format!(
            r#"{{{OBS},"valueQuantity":{{"value":5,"comparator":"<"}}}}"#
        ))
        .is_empty()
    );
}

const VERIF: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
const ENGLAND: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";

#[test]
fn verification_status_binding_on_every_patient_identifier() {
    let pat = |code: &str| {
        format!(
            r#"{{"resourceType":"Patient","identifier":[{{"system":"urn:x","value":"1","extension":[{{"url":"{VERIF}","valueCodeableConcept":{{"coding":[{{"system":"{ENGLAND}","code":"{code}"}}]}}}}]}}]}}"#
        )
    };
    rule(
        &pat("09"),
        "error code-invalid Patient.identifier[0].extension[0].value",
        "NHSNumberVerificationStatus",
        &pat("01"),
    );
}

#[test]
fn ukcore_extension_contexts() {
    let status = format!(
        r#"{{"url":"{VERIF}","valueCodeableConcept":{{"coding":[{{"system":"{ENGLAND}","code":"01"}}]}}}}"#
    );
    // NHSNumberVerificationStatus belongs on Patient.identifier, not on the Patient.
    rule(
        &format!(r#"{{"resourceType":"Patient","extension":[{status}]}}"#),
        "error structure Patient.extension[0]",
        "is not allowed on Patient; its context is Patient.identifier",
        &format!(
            r#"{{"resourceType":"Patient","identifier":[{{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009","extension":[{status}]}}]}}"#
        ),
    );
    // DischargeMethod (context Encounter) on an Observation.
    let dm = r#"{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DischargeMethod","valueCodeableConcept":{"text":"x"}}"#;
    rule(
        &format!(r#"{{{OBS},"extension":[{dm}]}}"#),
        "error structure Observation.extension[0]",
        "its context is Encounter",
        &format!(
            r#"{{"resourceType":"Encounter","status":"finished","class":{{"code":"IMP"}},"extension":[{dm}]}}"#
        ),
    );
    // A datatype context (AddressKey on any Address) and a primitive's own context
    // (OtherContactSystem on ContactPoint.system, given in `_system`).
    let key = r#"{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AddressKey","extension":[{"url":"type","valueCoding":{"system":"https://example.org/k","code":"UPRN"}},{"url":"value","valueString":"1"}]}"#;
    assert!(
        issues(&format!(
            r#"{{"resourceType":"Patient","contact":[{{"address":{{"city":"Leeds","extension":[{key}]}}}}]}}"#
        ))
        .is_empty()
    );
    let other = r#"{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-OtherContactSystem","valueCodeableConcept":{"text":"textphone"}}"#;
    rule(
        &format!(
            r#"{{"resourceType":"Patient","telecom":[{{"system":"other","value":"1","extension":[{other}]}}]}}"#
        ),
        "error structure Patient.telecom[0].extension[0]",
        "its context is ContactPoint.system",
        &format!(
            r#"{{"resourceType":"Patient","telecom":[{{"system":"other","_system":{{"extension":[{other}]}},"value":"1"}}]}}"#
        ),
    );
}

#[test]
fn restful_full_url_agrees_with_the_resource() {
    let b = |full: &str| {
        format!(
            r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"fullUrl":"{full}","resource":{{"resourceType":"Patient","id":"p1"}}}}]}}"#
        )
    };
    rule(
        &b("http://example.org/fhir/Patient/zz"),
        "error value Bundle.entry[0].fullUrl",
        "must end with the resource's type and id (/Patient/p1)",
        &b("http://example.org/fhir/Patient/p1"),
    );
    assert!(issues(&b("http://example.org/fhir/Observation/p1"))[0].contains("/Patient/p1"));
    // A urn:uuid fullUrl carries no such rule.
    assert!(issues(&b("urn:uuid:11111111-1111-4111-8111-111111111111")).is_empty());
}

const VS: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-VitalSigns";

fn vital(profile: &str, loinc: &str, rest: &str) -> String {
    format!(
        r#"{{"resourceType":"Observation","meta":{{"profile":["{VS}{profile}"]}},"status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}}]}}],"code":{{"coding":[{{"system":"http://loinc.org","code":"{loinc}"}}]}},"subject":{{"reference":"Patient/p1"}},"effectiveDateTime":"2024-01-01"{rest}}}"#
    )
}

#[test]
fn specific_vital_sign_profiles() {
    let hr = |q: &str| vital("-HeartRate", "8867-4", &format!(r#","valueQuantity":{q}"#));
    let good = hr(
        r#"{"value":60,"unit":"per minute","system":"http://unitsofmeasure.org","code":"/min"}"#,
    );
    rule(
        &hr(
            r#"{"value":60,"unit":"beats/min","system":"http://unitsofmeasure.org","code":"/min"}"#,
        ),
        "error value Observation.valueQuantity.unit",
        "the unit SHALL be 'per minute'",
        &good,
    );
    rule(
        &hr(r#"{"value":60,"system":"http://unitsofmeasure.org","code":"/min"}"#),
        "error required Observation.valueQuantity.unit",
        "'per minute'",
        &good,
    );
    // value[x] 1..1: dataAbsentReason alone is not enough in the specific profile, though it
    // is in UKCore-Observation-VitalSigns (vs-2).
    let absent = r#","dataAbsentReason":{"text":"not measured"}"#;
    rule(
        &vital("-HeartRate", "8867-4", absent),
        "error required Observation.value[x]",
        "UKCore-Observation-VitalSigns-HeartRate",
        &good,
    );
    assert!(issues(&vital("", "8867-4", absent)).is_empty());
    // The fixed LOINC code.
    rule(
        &vital(
            "-HeartRate",
            "8310-5",
            r#","valueQuantity":{"value":37,"unit":"per minute","system":"http://unitsofmeasure.org","code":"Cel"}"#,
        ),
        "error value Observation.code.coding",
        "SHALL be 8867-4",
        &good,
    );
    // Blood pressure: no value[x]; a systolic component with a value, units in words.
    let comp = |code: &str, unit: &str| {
        format!(
            r#"{{"code":{{"coding":[{{"system":"http://loinc.org","code":"{code}"}}]}},"valueQuantity":{{"value":120,"unit":"{unit}","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}}}"#
        )
    };
    let bp = |comps: &str| {
        vital(
            "-BloodPressure",
            "85354-9",
            &format!(r#","component":[{comps}]"#),
        )
    };
    let good_bp = bp(&format!(
        "{},{}",
        comp("8480-6", "millimeter of mercury"),
        comp("8462-4", "millimeter of mercury")
    ));
    rule(
        &bp(&comp("8462-4", "millimeter of mercury")),
        "error required Observation.component",
        "the SystolicBP component (8480-6) is mandatory",
        &good_bp,
    );
    rule(
        &bp(&comp("8480-6", "mmHg")),
        "error value Observation.component[0].valueQuantity.unit",
        "'millimeter of mercury'",
        &good_bp,
    );
    rule(
        &vital(
            "-BloodPressure",
            "85354-9",
            &format!(
                r#","valueQuantity":{{"value":1,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},"component":[{}]"#,
                comp("8480-6", "millimeter of mercury")
            ),
        ),
        "error structure Observation.value[x]",
        "not allowed",
        &good_bp,
    );
}

const UK: &str = "https://fhir.hl7.org.uk/";

#[test]
fn extensible_bindings_warn_and_unknown_codes_are_errors() {
    // UK Core Patient.maritalStatus: extensible to UKCore-PersonMaritalStatusCode.
    let marital = |system: &str, code: &str| {
        format!(
            r#"{{"resourceType":"Patient","maritalStatus":{{"coding":[{{"system":"{system}","code":"{code}"}}]}}}}"#
        )
    };
    let england = format!("{UK}CodeSystem/UKCore-PersonMaritalStatusEngland");
    rule(
        &marital("urn:x", "Q"),
        "warning code-invalid Patient.maritalStatus",
        "UKCore-PersonMaritalStatusCode (given urn:x#Q)",
        &marital(&england, "M"),
    );
    // Text alone is fine for an extensible binding.
    assert!(issues(r#"{"resourceType":"Patient","maritalStatus":{"text":"married"}}"#).is_empty());
    // An extension's binding (AdmissionMethod, extensible): a code its own code system
    // does not have is an error; a code from another system a warning.
    let adm = |system: &str, code: &str| {
        format!(
            r#"{{"resourceType":"Encounter","status":"finished","class":{{"code":"IMP"}},"hospitalization":{{"extension":[{{"url":"{UK}StructureDefinition/Extension-UKCore-AdmissionMethod","valueCodeableConcept":{{"coding":[{{"system":"{system}","code":"{code}"}}]}}}}]}}}}"#
        )
    };
    let adm_england = format!("{UK}CodeSystem/UKCore-AdmissionMethodEngland");
    rule(
        &adm(&adm_england, "ZZ"),
        "error code-invalid Encounter.hospitalization.extension[0].valueCodeableConcept.coding[0].code",
        "unknown code 'ZZ'",
        &adm(&adm_england, "21"),
    );
    rule(
        &adm("urn:x", "21"),
        "warning code-invalid Encounter.hospitalization.extension[0].valueCodeableConcept",
        "extensible value set",
        &adm(&adm_england, "21"),
    );
    // NHSNumberUnavailableReason (on the Patient).
    let unavail = |code: &str| {
        format!(
            r#"{{"resourceType":"Patient","extension":[{{"url":"{UK}StructureDefinition/Extension-UKCore-NHSNumberUnavailableReason","valueCodeableConcept":{{"coding":[{{"system":"{UK}CodeSystem/UKCore-NHSNumberUnavailableReason","code":"{code}"}}]}}}}]}}"#
        )
    };
    rule(
        &unavail("zzz"),
        "error code-invalid Patient.extension[0].valueCodeableConcept.coding[0].code",
        "UKCore-NHSNumberUnavailableReason",
        &unavail("overseas-patient"),
    );
    // The UK Core binding applies to a resource checked as UK Core: a Condition category
    // from R4's own value set is outside UKCore-ConditionCategory.
    let cat = r#"{"resourceType":"Condition","subject":{"reference":"Patient/1"},"category":[{"coding":[{"system":"http://snomed.info/sct","code":"439401001"}]}]}"#;
    assert!(
        issues(cat).iter().any(
            |i| i.starts_with("warning code-invalid Condition.category[0]")
                && i.contains("UKCore-ConditionCategory")
        ),
        "{:#?}",
        issues(cat)
    );
}

#[test]
fn urn_references_resolve_inside_a_bundle() {
    let b = |subject: &str| {
        format!(
            r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{{"resourceType":"Patient"}}}},{{"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{{{OBS},"subject":{{"reference":"{subject}"}}}}}}]}}"#
        )
    };
    rule(
        &b("urn:uuid:99999999-9999-4999-8999-999999999999"),
        "warning not-found Bundle.entry[1].resource.subject.reference",
        "not the fullUrl of any entry",
        &b("urn:uuid:11111111-1111-4111-8111-111111111111"),
    );
    // Outside a Bundle a urn reference is not judged.
    assert!(
        issues(&format!(
            r#"{{{OBS},"subject":{{"reference":"urn:uuid:99999999-9999-4999-8999-999999999999"}}}}"#
        ))
        .is_empty()
    );
}

#[test]
fn a_value_set_that_cannot_be_listed_is_judged_by_its_code_systems() {
    // R4 Encounter.participant.type: extensible to encounter-participant-type, which takes
    // v3 ParticipationType codes by a hierarchy filter (not listed offline).
    let enc = |system: &str, code: &str| {
        format!(
            r#"{{"resourceType":"Encounter","status":"finished","class":{{"code":"IMP"}},"participant":[{{"type":[{{"coding":[{{"system":"{system}","code":"{code}"}}]}}]}}]}}"#
        )
    };
    rule(
        &enc("urn:x", "ATT"),
        "warning code-invalid Encounter.participant[0].type[0]",
        "encounter-participant-type (given urn:x#ATT)",
        &enc(
            "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
            "ATND",
        ),
    );
}
