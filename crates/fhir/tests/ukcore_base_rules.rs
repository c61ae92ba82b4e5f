//! The R4 base rules `uk_core::validate` checks on every resource (findings V1–V9, V12, V14
//! of the 2026-12-07 validator probe): for each rule one instance that breaks it (the issue
//! expected, by severity, code, location and message fragment) and one that keeps it (no
//! issue there). Inline resources only: no corpus needed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_fhir::uk_core::validate::{Profile, Severity, validate_nested};
use carecodec_fhir::{Resource, json};

/// Every issue of `validate_nested` as `severity code location: message`. Read leniently:
/// the strict reader already refuses some of what the validator also checks (a narrative
/// that is not one XHTML `div`, txt-1), and a resource read leniently, or built in code,
/// still reaches the validator.
fn issues(text: &str) -> Vec<String> {
    let (r, _): (Resource, _) =
        json::from_slice_lenient(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"));
    validate_nested(&r)
        .iter()
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

/// `bad` gives an issue starting with `want` (and containing `fragment`); `good` gives no
/// error nor warning at all.
fn rule(bad: &str, want: &str, fragment: &str, good: &str) {
    let got = issues(bad);
    assert!(
        got.iter()
            .any(|g| g.starts_with(want) && g.contains(fragment)),
        "missing `{want}` … `{fragment}` in {got:#?}\nfor {bad}"
    );
    let clean: Vec<String> = issues(good)
        .into_iter()
        .filter(|g| !g.starts_with("information"))
        .collect();
    assert!(clean.is_empty(), "{clean:#?}\nfor {good}");
}

const PAT: &str = r#""resourceType":"Patient""#;

#[test]
fn v14_unprofiled_resources_get_a_notice_and_the_base_rules() {
    // A Bundle (UK Core has no Bundle profile): a notice, not a silent pass.
    let got = issues(r#"{"resourceType":"Bundle","type":"collection"}"#);
    assert_eq!(
        got,
        [
            "information informational Bundle: no UK Core profile checked for Bundle; R4 base rules only"
        ]
    );
    // A declared profile this validator does not know is named in the notice.
    let got = issues(
        r#"{"resourceType":"RelatedPerson","patient":{"reference":"Patient/1"},"meta":{"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-RelatedPerson"]}}"#,
    );
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0]
            .contains("declared https://fhir.hl7.org.uk/StructureDefinition/UKCore-RelatedPerson")
    );
    // A known profile gives no notice.
    assert!(issues(&format!("{{{PAT}}}")).is_empty());
    // UKCore-Provenance and UKCore-ServiceRequest are checked (per-1, a required binding).
    assert_eq!(
        Profile::from_url("https://fhir.hl7.org.uk/StructureDefinition/UKCore-Provenance"),
        Some(Profile::UKCoreProvenance)
    );
    rule(
        r#"{"resourceType":"Provenance","target":[{"reference":"Patient/1"}],
          "occurredPeriod":{"start":"2024-03-02","end":"2024-03-01"},"recorded":"2024-03-02T10:00:00Z",
          "agent":[{"who":{"display":"x"}}]}"#,
        "error invariant Provenance.occurredPeriod",
        "per-1",
        r#"{"resourceType":"Provenance","target":[{"reference":"Patient/1"}],
          "occurredPeriod":{"start":"2024-03-01","end":"2024-03-02"},"recorded":"2024-03-02T10:00:00Z",
          "agent":[{"who":{"display":"x"}}]}"#,
    );
}

/// A ServiceRequest with `extra` members.
fn sr(extra: &str) -> String {
    format!(
        r#"{{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{{"reference":"Patient/1"}}{extra}}}"#
    )
}

#[test]
fn v1_v2_v3_coding_system_language_and_service_request() {
    let obs = |system: &str| {
        format!(
            r#"{{"resourceType":"Observation","status":"final","code":{{"coding":[{{"system":"{system}","code":"X"}}]}}}}"#
        )
    };
    rule(
        &obs("L"),
        "error value Observation.code.coding[0].system",
        "absolute",
        &obs("urn:oid:2.16.840.1.113883.6.238"),
    );
    rule(
        &obs("HOWARD%20H"),
        "error value Observation.code.coding[0].system",
        "not a local reference",
        &obs("http://loinc.org"),
    );
    // UK Core binds communication.language required to all-languages: text alone or a
    // non-BCP-47 code does not do.
    let lang = |concept: &str| format!(r#"{{{PAT},"communication":[{{"language":{concept}}}]}}"#);
    let en = lang(r#"{"coding":[{"system":"urn:ietf:bcp:47","code":"en-GB"}]}"#);
    rule(
        &lang(r#"{"text":"ENGLISH"}"#),
        "error code-invalid Patient.communication[0].language",
        "all-languages",
        &en,
    );
    rule(
        &lang(r#"{"coding":[{"system":"urn:ietf:bcp:47","code":"english"}]}"#),
        "error code-invalid Patient.communication[0].language",
        "all-languages",
        &en,
    );
    // prr-1 and the required bindings of status, intent, priority.
    let code = r#","code":{"text":"FBC"}"#;
    rule(
        &sr(r#","orderDetail":[{"text":"fasting"}]"#),
        "error invariant ServiceRequest.orderDetail",
        "prr-1",
        &sr(&format!(r#"{code},"orderDetail":[{{"text":"fasting"}}]"#)),
    );
    rule(
        &sr(r#","priority":"high""#),
        "error code-invalid ServiceRequest.priority",
        "request-priority",
        &sr(r#","priority":"urgent""#),
    );
    let with = |status: &str, intent: &str| {
        format!(
            r#"{{"resourceType":"ServiceRequest","status":"{status}","intent":"{intent}","subject":{{"reference":"Patient/1"}}}}"#
        )
    };
    rule(
        &with("in-progress", "order"),
        "error code-invalid ServiceRequest.status",
        "'in-progress'",
        &with("completed", "order"),
    );
    rule(
        &with("active", "request"),
        "error code-invalid ServiceRequest.intent",
        "'request'",
        &with("active", "original-order"),
    );
}

fn bundle(ty: &str, entries: &str, extra: &str) -> String {
    format!(r#"{{"resourceType":"Bundle","type":"{ty}"{extra},"entry":[{entries}]}}"#)
}

const PATIENT_ENTRY: &str = r#"{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient"}"#;
const POST: &str = r#","request":{"method":"POST","url":"Patient"}}"#;

#[test]
fn v5_bundle_invariants_and_codes() {
    let tx = |entry: &str, extra: &str| bundle("transaction", entry, extra);
    let good = tx(&format!("{PATIENT_ENTRY}{POST}"), "");
    rule(
        &tx(&format!("{PATIENT_ENTRY}{POST}"), r#","total":1"#),
        "error invariant Bundle.total",
        "bdl-1",
        &good,
    );
    rule(
        &tx(&format!("{PATIENT_ENTRY}}}"), ""),
        "error invariant Bundle.entry[0]",
        "bdl-3",
        &good,
    );
    rule(
        &bundle("collection", &format!("{PATIENT_ENTRY}{POST}"), ""),
        "error invariant Bundle.entry[0]",
        "bdl-3",
        &bundle("collection", &format!("{PATIENT_ENTRY}}}"), ""),
    );
    rule(
        &bundle("collection", r#"{"fullUrl":"urn:uuid:x"}"#, ""),
        "error invariant Bundle.entry[0]",
        "bdl-5",
        &good,
    );
    rule(
        &tx(&format!("{PATIENT_ENTRY}{POST},{PATIENT_ENTRY}{POST}"), ""),
        "error invariant Bundle.entry[1].fullUrl",
        "bdl-7",
        &good,
    );
    rule(
        &tx(
            r#"{"fullUrl":"http://example.org/fhir/Patient/1/_history/2","resource":{"resourceType":"Patient","id":"1"},"request":{"method":"PUT","url":"Patient/1"}}"#,
            "",
        ),
        "error invariant Bundle.entry[0].fullUrl",
        "bdl-8",
        &good,
    );
    let header = r#"{"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"MessageHeader","eventCoding":{"system":"http://example.org/events","code":"x"},"source":{"endpoint":"http://example.org"}}}"#;
    rule(
        &bundle("message", &format!("{PATIENT_ENTRY}}},{header}"), ""),
        "error invariant Bundle.entry[0]",
        "bdl-12",
        &bundle("message", &format!("{header},{PATIENT_ENTRY}}}"), ""),
    );
    rule(
        &bundle("bundle", &format!("{PATIENT_ENTRY}}}"), ""),
        "error code-invalid Bundle.type",
        "'bundle'",
        &good,
    );
    rule(
        &tx(
            &format!(r#"{PATIENT_ENTRY},"request":{{"method":"UPSERT","url":"Patient"}}}}"#),
            "",
        ),
        "error code-invalid Bundle.entry[0].request.method",
        "http-verb",
        &good,
    );
    // Entries are checked with their own profile, located in the Bundle.
    rule(
        &bundle(
            "collection",
            r#"{"fullUrl":"urn:uuid:x","resource":{"resourceType":"Patient","birthDate":"1970-13-01"}}"#,
            "",
        ),
        "error value Bundle.entry[0].resource.birthDate",
        "not a valid date",
        &bundle("collection", &format!("{PATIENT_ENTRY}}}"), ""),
    );
}

#[test]
fn v7_temporal_formats() {
    let pat = |extra: &str| format!("{{{PAT}{extra}}}");
    rule(
        &pat(r#","birthDate":"1970-13-01""#),
        "error value Patient.birthDate",
        "date",
        &pat(r#","birthDate":"1970-12-01""#),
    );
    rule(
        &pat(r#","birthDate":"2023-02-29""#),
        "error value Patient.birthDate",
        "date",
        &pat(r#","birthDate":"2024-02-29""#),
    );
    let obs = |effective: &str| {
        format!(
            r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"effectiveDateTime":"{effective}"}}"#
        )
    };
    rule(
        &obs("2024-01-01T10:00:00"),
        "error value Observation.effectiveDateTime",
        "offset",
        &obs("2024-01-01T10:00:00+01:00"),
    );
    rule(
        &obs("2024-01-01T10:00Z"),
        "error value Observation.effectiveDateTime",
        "dateTime",
        &obs("2024-01"),
    );
    rule(
        &pat(r#","meta":{"lastUpdated":"2024-01-01"}"#),
        "error value Patient.meta.lastUpdated",
        "instant",
        &pat(r#","meta":{"lastUpdated":"2024-01-01T00:00:00.000Z"}"#),
    );
    // Inside a primitive's extension too.
    rule(
        &pat(
            r#","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1970-01-01T25:00:00Z"}]}"#,
        ),
        "error value Patient.birthDate.extension[0].valueDateTime",
        "dateTime",
        &pat(
            r#","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1970-01-01T23:00:00Z"}]}"#,
        ),
    );
}

#[test]
fn v4_datatype_required_bindings() {
    let pat = |extra: &str| format!("{{{PAT},{extra}}}");
    for (bad, good, at) in [
        (
            r#""identifier":[{"use":"primary","value":"1"}]"#,
            r#""identifier":[{"use":"usual","value":"1"}]"#,
            "Patient.identifier[0].use",
        ),
        (
            r#""name":[{"use":"legal","family":"A"}]"#,
            r#""name":[{"use":"maiden","family":"A"}]"#,
            "Patient.name[0].use",
        ),
        (
            r#""address":[{"use":"current","city":"A"}]"#,
            r#""address":[{"use":"home","city":"A"}]"#,
            "Patient.address[0].use",
        ),
        (
            r#""address":[{"type":"mail","city":"A"}]"#,
            r#""address":[{"type":"postal","city":"A"}]"#,
            "Patient.address[0].type",
        ),
        (
            r#""telecom":[{"system":"mobile","value":"1"}]"#,
            r#""telecom":[{"system":"phone","value":"1"}]"#,
            "Patient.telecom[0].system",
        ),
        (
            r#""telecom":[{"system":"phone","use":"cell","value":"1"}]"#,
            r#""telecom":[{"system":"phone","use":"mobile","value":"1"}]"#,
            "Patient.telecom[0].use",
        ),
        (
            r#""link":[{"other":{"reference":"Patient/2"},"type":"sameas"}]"#,
            r#""link":[{"other":{"reference":"Patient/2"},"type":"seealso"}]"#,
            "Patient.link[0].type",
        ),
        (
            r#""text":{"status":"complete","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}"#,
            r#""text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}"#,
            "Patient.text.status",
        ),
    ] {
        rule(
            &pat(bad),
            &format!("error code-invalid {at}"),
            "required value set",
            &pat(good),
        );
    }
    let enc = |status: &str| {
        format!(
            r#"{{"resourceType":"Encounter","status":"finished","class":{{"code":"IMP"}},"location":[{{"location":{{"reference":"Location/1"}},"status":"{status}"}}]}}"#
        )
    };
    rule(
        &enc("done"),
        "error code-invalid Encounter.location[0].status",
        "encounter-location-status",
        &enc("completed"),
    );
    let obs = |comparator: &str| {
        format!(
            r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"valueQuantity":{{"value":1,"comparator":"{comparator}"}}}}"#
        )
    };
    rule(
        &obs("="),
        "error code-invalid Observation.valueQuantity.comparator",
        "quantity-comparator",
        &obs("<="),
    );
}

#[test]
fn v6_datatype_and_resource_invariants() {
    let pat = |extra: &str| format!("{{{PAT},{extra}}}");
    rule(
        &pat(r#""telecom":[{"value":"0123"}]"#),
        "error invariant Patient.telecom[0]",
        "cpt-2",
        &pat(r#""telecom":[{"system":"phone","value":"0123"}]"#),
    );
    let org = |extra: &str| format!(r#"{{"resourceType":"Organization"{extra}}}"#);
    rule(
        &org(r#","name":"A","telecom":[{"value":"0123"}]"#),
        "error invariant Organization.telecom[0]",
        "cpt-2",
        &org(r#","name":"A""#),
    );
    rule(
        &org(r#","active":true"#),
        "error invariant Organization",
        "org-1",
        &org(r#","name":"A""#),
    );
    rule(
        &org(r#","name":"A","address":[{"use":"home","city":"X"}]"#),
        "error invariant Organization.address[0].use",
        "org-2",
        &org(r#","name":"A","address":[{"use":"work","city":"X"}]"#),
    );
    rule(
        &org(r#","name":"A","telecom":[{"system":"phone","use":"home","value":"1"}]"#),
        "error invariant Organization.telecom[0].use",
        "org-3",
        &org(r#","name":"A","telecom":[{"system":"phone","use":"work","value":"1"}]"#),
    );
    let obs = |extra: &str| {
        format!(
            r#"{{"resourceType":"Observation","status":"final","code":{{"coding":[{{"system":"http://loinc.org","code":"1-8"}}]}}{extra}}}"#
        )
    };
    rule(
        &obs(r#","valueQuantity":{"value":1,"code":"mg"}"#),
        "error invariant Observation.valueQuantity",
        "qty-3",
        &obs(r#","valueQuantity":{"value":1,"system":"http://unitsofmeasure.org","code":"mg"}"#),
    );
    rule(
        &obs(r#","referenceRange":[{"type":{"text":"normal"}}]"#),
        "error invariant Observation.referenceRange[0]",
        "obs-3",
        &obs(r#","referenceRange":[{"text":"< 5"}]"#),
    );
    rule(
        &obs(
            r#","valueString":"x","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"1-8"}]},"valueString":"y"}]"#,
        ),
        "error invariant Observation.component[0].code",
        "obs-7",
        &obs(
            r#","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"1-8"}]},"valueString":"y"}]"#,
        ),
    );
    let dr = |form: &str| {
        format!(
            r#"{{"resourceType":"DiagnosticReport","status":"final","code":{{"text":"x"}},"presentedForm":[{form}]}}"#
        )
    };
    rule(
        &dr(r#"{"data":"aGVsbG8="}"#),
        "error invariant DiagnosticReport.presentedForm[0]",
        "att-1",
        &dr(r#"{"contentType":"text/plain","data":"aGVsbG8="}"#),
    );
    rule(
        &obs(r##","subject":{"reference":"#p1"}"##),
        "error invariant Observation.subject.reference",
        "ref-1",
        &obs(
            r##","contained":[{"resourceType":"Patient","id":"p1"}],"subject":{"reference":"#p1"}"##,
        ),
    );
    // per-1 inside an extension's valuePeriod and on a ServiceRequest.
    let ext = |start: &str, end: &str| {
        pat(&format!(
            r#""extension":[{{"url":"http://hl7.org/fhir/StructureDefinition/patient-citizenship","extension":[{{"url":"period","valuePeriod":{{"start":"{start}","end":"{end}"}}}}]}}]"#
        ))
    };
    rule(
        &ext("2024", "2023"),
        "error invariant Patient.extension[0].extension[0].valuePeriod",
        "per-1",
        &ext("2023", "2024"),
    );
    rule(
        &sr(r#","occurrencePeriod":{"start":"2024-03-02","end":"2024-03-01"}"#),
        "error invariant ServiceRequest.occurrencePeriod",
        "per-1",
        &sr(r#","occurrencePeriod":{"start":"2024-03-01","end":"2024-03-02"}"#),
    );
    // txt-1 (an XHTML div), txt-2 (some content).
    let text = |div: &str| pat(&format!(r#""text":{{"status":"generated","div":"{div}"}}"#));
    let good = text(r#"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Jo</p></div>"#);
    rule(
        &text("<p>Jo</p>"),
        "error invariant Patient.text.div",
        "txt-1",
        &good,
    );
    rule(
        &text(r#"<div xmlns=\"http://www.w3.org/1999/xhtml\"> <p/> </div>"#),
        "error invariant Patient.text.div",
        "txt-2",
        &good,
    );
}

#[test]
fn v8_reference_target_types() {
    let enc = |reference: &str| {
        format!(
            r#"{{"resourceType":"Encounter","status":"finished","class":{{"code":"IMP"}},"participant":[{{"individual":{{"reference":"{reference}"}}}}]}}"#
        )
    };
    // The literal reference names the type.
    rule(
        &enc("Organization/1"),
        "error structure Encounter.participant[0].individual.reference",
        "Practitioner | PractitionerRole | RelatedPerson",
        &enc("Practitioner/1"),
    );
    // Resolved by fullUrl inside the Bundle.
    let in_bundle = |target: &str| {
        bundle(
            "collection",
            &format!(
                r#"{{"fullUrl":"urn:uuid:a","resource":{}}},{{"fullUrl":"urn:uuid:b","resource":{{"resourceType":"{target}","name":[{{"text":"x"}}]}}}}"#,
                enc("urn:uuid:b")
            ),
            "",
        )
    };
    let bad = in_bundle("Organization").replace(r#""name":[{"text":"x"}]"#, r#""name":"x""#);
    rule(
        &bad,
        "error structure Bundle.entry[0].resource.participant[0].individual.reference",
        "points at a Organization",
        &in_bundle("Practitioner"),
    );
    // A reference this validator cannot type (a search, a malformed one) is left alone.
    assert!(issues(&enc("Practitioner?identifier=x")).is_empty());
    assert!(issues(&enc("Organization/https://example.org/x")).is_empty());
}

#[test]
fn v9_extension_definitions() {
    let enc = |exts: &str| {
        format!(
            r#"{{"resourceType":"Encounter","status":"finished","class":{{"code":"IMP"}},"extension":[{exts}]}}"#
        )
    };
    let dm = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DischargeMethod";
    let good_dm = format!(r#"{{"url":"{dm}","valueCodeableConcept":{{"text":"x"}}}}"#);
    rule(
        &enc(&format!(r#"{{"url":"{dm}","valueCoding":{{"code":"1"}}}}"#)),
        "error structure Encounter.extension[0].valueCoding",
        "valueCodeableConcept only",
        &enc(&good_dm),
    );
    rule(
        &enc(&format!("{good_dm},{good_dm}")),
        "error structure Encounter.extension",
        "2 Extension-UKCore-DischargeMethod extensions",
        &enc(&good_dm),
    );
    let pat = |exts: &str| format!(r#"{{{PAT},"extension":[{exts}]}}"#);
    let dns =
        "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeathNotificationStatus";
    rule(
        &pat(&format!(
            r#"{{"url":"{dns}","extension":[{{"url":"systemEffectiveDate","valueDateTime":"2024-01-01"}}]}}"#
        )),
        "error required Patient.extension[0]",
        "deathNotificationStatus",
        &pat(&format!(
            r#"{{"url":"{dns}","extension":[{{"url":"deathNotificationStatus","valueCodeableConcept":{{"text":"x"}}}}]}}"#
        )),
    );
    // The Patient's own extension checks are not repeated by the generic ones.
    let eth = r#"{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland","code":"A"}]}}"#;
    let got = issues(&pat(&format!("{eth},{eth}")));
    assert_eq!(got.len(), 1, "{got:#?}");
    let bp = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace";
    rule(
        &pat(&format!(r#"{{"url":"{bp}","valueString":"Leeds"}}"#)),
        "error structure Patient.extension[0].valueString",
        "valueAddress",
        &pat(&format!(
            r#"{{"url":"{bp}","valueAddress":{{"city":"Leeds"}}}}"#
        )),
    );
}

#[test]
fn v12_nhs_number_check_digit_is_a_carecodec_warning() {
    let pat = |n: &str| {
        format!(
            r#"{{{PAT},"identifier":[{{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"{n}"}}]}}"#
        )
    };
    let got = issues(&pat("9912003890"));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("warning value Patient.identifier[0].value"));
    assert!(got[0].contains("not a UK Core rule"));
    assert!(issues(&pat("943 476 5919"))[0].starts_with("warning"));
    assert!(issues(&pat("9434765919")).is_empty());
    let r: Resource = json::from_str(&pat("9912003890")).unwrap();
    assert!(
        validate_nested(&r)
            .iter()
            .all(|(_, i)| i.severity != Severity::Error)
    );
}
