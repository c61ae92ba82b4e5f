//! OBR fields the HL7 V2-to-FHIR IG maps onto the DiagnosticReport, end to
//! end: HL7 v2 → model (with the mapping report's accounting), model → UK
//! Core Bundle (strict R4, UK Core valid), and the Bundle read back to the
//! same model values.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use carecodec_hl7v2::Message;
use carecodec_map::fhir::{BundleType, event_bundle, read_bundle};
use carecodec_map::v2::{V2Options, map_message};
use carecodec_model::{Action, CodeSystem, Event, MappingReport, Precision, Source};
use serde_json::Value;

const HEAD: &str = "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120500+0000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r";

/// `OBR|1|P1|F1|58410-2^Full blood count^LN` with `fields` (number, text) set.
fn obr(fields: &[(usize, &str)]) -> String {
    let mut f = vec![""; fields.iter().map(|(n, _)| *n).max().unwrap_or(0).max(4) + 1];
    f[0] = "OBR";
    f[1] = "1";
    f[2] = "P1";
    f[3] = "F1";
    f[4] = "58410-2^Full blood count^LN";
    for (n, v) in fields {
        f[*n] = v;
    }
    format!(
        "{HEAD}{}\rOBX|1|NM|718-7^Haemoglobin^LN||135|g/L|||||F\r",
        f.join("|")
    )
}

/// The message mapped, its accounting checked.
fn mapped(text: &str) -> (Event, MappingReport) {
    let msg = Message::parse(text.as_bytes()).unwrap();
    let (e, r) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(r.balanced(), "{r:?}");
    (e, r)
}

/// The v2 paths (`OBR[1]-24[1].2.1`) of the report's unmapped leaves.
fn unmapped(r: &MappingReport) -> Vec<String> {
    r.unmapped
        .iter()
        .filter_map(|u| match &u.source {
            Source::V2 { path, .. } => Some(path.to_string()),
            _ => None,
        })
        .collect()
}

/// The event's Bundle, checked as strict R4 and UK Core, and the event read
/// back from it (everything written is read: nothing unmapped).
fn round_trip(e: &Event) -> (Value, Event) {
    let b = event_bundle(e).unwrap();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&b.to_string()).unwrap();
    let errors = common::uk_core_errors(&b).unwrap();
    assert!(errors.is_empty(), "{errors:#?}");
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    assert!(report.unmapped.is_empty(), "{:?}", report.unmapped);
    (b, back)
}

/// The Bundle's DiagnosticReport.
fn diagnostic_report(b: &Value) -> &Value {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "DiagnosticReport")
        .unwrap()
}

#[test]
fn obr_24_is_the_category_in_v2_0074() {
    let (e, r) = mapped(&obr(&[(24, "HM")]));
    let c = e.reports[0].category.as_ref().unwrap();
    assert_eq!(c.value.system, CodeSystem::V2Table("0074".into()));
    assert_eq!(c.value.code, "HM");
    assert_eq!(c.value.display, None);
    assert!(
        !unmapped(&r).iter().any(|u| u.starts_with("OBR[1]-24")),
        "{:?}",
        r.unmapped
    );
    let (b, back) = round_trip(&e);
    assert_eq!(
        diagnostic_report(&b)["category"],
        serde_json::json!([{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
            "code": "HM"
        }]}])
    );
    assert_eq!(
        back.reports[0].category.as_ref().map(|c| &c.value),
        Some(&c.value)
    );
    // A local code is kept as sent; a second component (an ID has none) is
    // left unread, reported unmapped.
    let (e, r) = mapped(&obr(&[(24, "PATH^Pathology")]));
    assert_eq!(e.reports[0].category.as_ref().unwrap().value.code, "PATH");
    assert_eq!(
        unmapped(&r)
            .iter()
            .filter(|u| u.starts_with("OBR[1]-24"))
            .collect::<Vec<_>>(),
        ["OBR[1]-24[1].2.1"]
    );
    // None sent, none written.
    let (e, _) = mapped(&obr(&[]));
    assert!(e.reports[0].category.is_none());
    let (b, _) = round_trip(&e);
    assert!(diagnostic_report(&b).get("category").is_none());
}

#[test]
fn obr_8_ends_the_effective_period_that_obr_7_starts() {
    // OBR-7 with OBR-8: effectivePeriod (IG), both under the time-zone rule
    // (no offset sent: MSH-7's +0000).
    let text = obr(&[(7, "20240312080000"), (8, "20240312083000")]);
    let (e, r) = mapped(&text);
    let report = &e.reports[0];
    assert_eq!(
        report.effective_end.as_ref().unwrap().value.at.to_rfc3339(),
        "2024-03-12T08:30:00+00:00"
    );
    assert!(r.invalid.is_empty(), "{:?}", r.invalid);
    assert!(!unmapped(&r).iter().any(|u| u.starts_with("OBR[1]-8")));
    let (b, back) = round_trip(&e);
    let dr = diagnostic_report(&b);
    assert!(dr.get("effectiveDateTime").is_none());
    assert_eq!(
        dr["effectivePeriod"],
        serde_json::json!({"start": "2024-03-12T08:00:00+00:00",
                           "end": "2024-03-12T08:30:00+00:00"})
    );
    let at = |t: &Option<carecodec_model::Sourced<carecodec_model::PartialDateTime>>| {
        // (An offset inferred in v2 is written, so read back as sent.)
        t.as_ref().map(|t| (t.value.at, t.value.precision))
    };
    assert_eq!(at(&back.reports[0].effective), at(&report.effective));
    assert_eq!(
        at(&back.reports[0].effective_end),
        at(&report.effective_end)
    );
    // OBR-7 alone stays effectiveDateTime.
    let (e, _) = mapped(&obr(&[(7, "20240312080000")]));
    assert!(e.reports[0].effective_end.is_none());
    let (b, back) = round_trip(&e);
    assert_eq!(
        diagnostic_report(&b)["effectiveDateTime"],
        "2024-03-12T08:00:00+00:00"
    );
    assert!(back.reports[0].effective_end.is_none());
    // OBR-8 alone: a period with an end only.
    let (e, _) = mapped(&obr(&[(8, "20240312083000")]));
    let (b, back) = round_trip(&e);
    assert_eq!(
        diagnostic_report(&b)["effectivePeriod"],
        serde_json::json!({"end": "2024-03-12T08:30:00+00:00"})
    );
    assert!(back.reports[0].effective.is_none());
    assert_eq!(
        at(&back.reports[0].effective_end),
        at(&e.reports[0].effective_end)
    );
}

#[test]
fn an_obr_8_before_obr_7_is_reported_and_dropped() {
    let text = obr(&[(7, "20240312080000"), (8, "20240311083000")]);
    let (e, r) = mapped(&text);
    assert!(e.reports[0].effective.is_some());
    assert!(e.reports[0].effective_end.is_none());
    let bad: Vec<_> = r
        .invalid
        .iter()
        .filter(|i| matches!(&i.source, Source::V2 { path, .. } if path.to_string().starts_with("OBR[1]-8")))
        .collect();
    assert_eq!(bad.len(), 1, "{:?}", r.invalid);
    assert_eq!(bad[0].action, Action::Dropped);
    assert_eq!(bad[0].raw, "20240311083000");
    assert!(
        bad[0].reason.contains("before its start"),
        "{}",
        bad[0].reason
    );
    let (b, _) = round_trip(&e);
    let dr = diagnostic_report(&b);
    assert_eq!(dr["effectiveDateTime"], "2024-03-12T08:00:00+00:00");
    assert!(dr.get("effectivePeriod").is_none());
    // The same day to the day only is not before.
    let (e, r) = mapped(&obr(&[(7, "20240312080000"), (8, "20240312")]));
    assert!(e.reports[0].effective_end.is_some(), "{:?}", r.invalid);
}

/// The Bundle's resource `reference` (a `urn:uuid:` full URL) points at.
fn resolve<'b>(b: &'b Value, reference: &Value) -> &'b Value {
    let url = reference["reference"].as_str().unwrap();
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fullUrl"] == url)
        .map(|e| &e["resource"])
        .unwrap()
}

#[test]
fn obr_32_is_the_results_interpreter_as_a_practitioner_role() {
    // NDL.1 a CNN (its parts subcomponents): a GMC number, the name; NDL.2/3
    // the role's period; NDL.4 on its location, which the model has no
    // place for.
    let text = obr(&[(32, "1234567&JONES&ANN&B&&DR&&&GMC^20240312^^LAB1^R1")]);
    let (e, r) = mapped(&text);
    let interpreters = &e.reports[0].interpreters;
    assert_eq!(interpreters.len(), 1);
    assert_eq!(interpreters[0].role.as_deref(), Some("PRI"));
    let p = interpreters[0].practitioner.as_ref().unwrap();
    assert_eq!(
        p.identifiers[0].value,
        carecodec_model::Identifier::Gmc("1234567".into())
    );
    let n = &p.name.as_ref().unwrap().value;
    assert_eq!(n.family.as_deref(), Some("JONES"));
    assert_eq!(n.given, ["ANN", "B"]);
    assert_eq!(n.prefix, ["DR"]);
    let left: Vec<String> = unmapped(&r)
        .into_iter()
        .filter(|u| u.starts_with("OBR[1]-32"))
        .collect();
    assert_eq!(left, ["OBR[1]-32[1].4.1", "OBR[1]-32[1].5.1"]);
    let period = &interpreters[0].period.as_ref().unwrap().value;
    assert_eq!(period.start.as_ref().unwrap().precision, Precision::Day);
    assert!(period.end.is_none());
    let (b, back) = round_trip(&e);
    let dr = diagnostic_report(&b);
    let role = resolve(&b, &dr["resultsInterpreter"][0]);
    assert_eq!(role["resourceType"], "PractitionerRole");
    assert_eq!(role["period"], serde_json::json!({"start": "2024-03-12"}));
    assert_eq!(
        role["code"][0]["coding"][0],
        serde_json::json!({"system": "http://terminology.hl7.org/CodeSystem/v2-0912",
                           "code": "PRI", "display": "Principal Result Interpreter"})
    );
    let prac = resolve(&b, &role["practitioner"]);
    assert_eq!(prac["name"][0]["family"], "JONES");
    assert_eq!(
        prac["identifier"][0]["system"],
        "https://fhir.hl7.org.uk/Id/gmc-number"
    );
    assert_eq!(
        common::without_sources(serde_json::to_value(&back.reports[0].interpreters).unwrap()),
        common::without_sources(serde_json::to_value(interpreters).unwrap())
    );
}

#[test]
fn an_ndl_of_the_corpus_keeps_its_name_and_universal_id() {
    // FHIR-Converter's ORU-R01 OBR-32: CNN.1 an id of no UK register with
    // an ISO universal id (CNN.10/11), CNN.5 a suffix, CNN.6 a prefix.
    let text = obr(&[(
        32,
        "Harry&Raud&Geny&&Mr.&Dr.&MD&&&1.2.3&ISO^^^Poc-32^Room-4^Bed3^Facility-3&1.2&ISO",
    )]);
    let (e, r) = mapped(&text);
    let p = e.reports[0].interpreters[0].practitioner.as_ref().unwrap();
    assert_eq!(
        p.identifiers[0].value,
        carecodec_model::Identifier::Other {
            system: Some("urn:oid:1.2.3".into()),
            value: "Harry".into()
        }
    );
    let n = &p.name.as_ref().unwrap().value;
    assert_eq!(n.suffix, ["Mr.", "MD"]);
    assert_eq!(n.prefix, ["Dr."]);
    assert!(
        !unmapped(&r).iter().any(|u| u.starts_with("OBR[1]-32[1].1")),
        "{:?}",
        unmapped(&r)
    );
    round_trip(&e);
    // An XCN sent as an NDL (a v2.3 sender's `^` between id and name puts
    // the family name in NDL.2, a time: reported invalid and dropped; the
    // given name in NDL.3, likewise).
    let (e, r) = mapped(&obr(&[(32, "202300^BAKER^MARK")]));
    let i = &e.reports[0].interpreters[0];
    let p = i.practitioner.as_ref().unwrap();
    assert_eq!(p.identifiers[0].value.value(), "202300");
    assert!(p.name.is_none());
    assert!(i.period.is_none());
    let bad: Vec<(&str, Action)> = r
        .invalid
        .iter()
        .map(|i| (i.raw.as_str(), i.action))
        .collect();
    assert_eq!(bad, [("BAKER", Action::Dropped), ("MARK", Action::Dropped)]);
    round_trip(&e);
    // An end before the start is reported and dropped (R4 per-1).
    let (e, r) = mapped(&obr(&[(32, "1234567&JONES^20240312^20240311")]));
    let period = &e.reports[0].interpreters[0].period.as_ref().unwrap().value;
    assert!(period.start.is_some() && period.end.is_none());
    assert_eq!(r.invalid.len(), 1, "{:?}", r.invalid);
    assert_eq!(r.invalid[0].raw, "20240311");
    assert!(r.invalid[0].reason.contains("before its start"));
}

#[test]
fn obr_34_and_35_are_performers_with_their_function() {
    // Two technicians (OBR-34 repeats) and a transcriptionist (a corpus
    // OBR-35: a name, no id).
    let text = obr(&[
        (34, "T100&SMITH&TOM^20240312~T200&JONES&AMY"),
        (35, "&Trautman&Jennifer&L&"),
    ]);
    let (e, r) = mapped(&text);
    let performers = &e.reports[0].performers;
    let roles: Vec<_> = performers.iter().map(|p| p.role.as_deref()).collect();
    assert_eq!(roles, [Some("TN"), Some("TN"), Some("TR")]);
    let family = |i: usize| {
        performers[i]
            .practitioner
            .as_ref()
            .unwrap()
            .name
            .as_ref()
            .unwrap()
            .value
            .family
            .clone()
    };
    assert_eq!(family(1).as_deref(), Some("JONES"));
    assert_eq!(family(2).as_deref(), Some("Trautman"));
    let left: Vec<String> = unmapped(&r)
        .into_iter()
        .filter(|u| u.starts_with("OBR[1]-3"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(performers[0].period.is_some());
    let (b, back) = round_trip(&e);
    let dr = diagnostic_report(&b);
    let functions: Vec<&Value> = dr["performer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["extension"][0])
        .collect();
    assert_eq!(
        functions[0],
        &serde_json::json!({
            "url": "http://hl7.org/fhir/StructureDefinition/event-performerFunction",
            "valueCodeableConcept": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                "code": "SPRF"
            }]}
        })
    );
    assert_eq!(
        functions[2]["valueCodeableConcept"]["coding"][0]["code"],
        "TRANS"
    );
    let role = resolve(&b, &dr["performer"][2]);
    assert_eq!(role["code"][0]["coding"][0]["code"], "TR");
    assert_eq!(
        common::without_sources(serde_json::to_value(&back.reports[0].performers).unwrap()),
        common::without_sources(serde_json::to_value(performers).unwrap())
    );
}

#[test]
fn a_performer_function_other_than_its_roles_is_reported() {
    let (e, _) = mapped(&obr(&[(34, "T100&SMITH&TOM")]));
    let mut b = event_bundle(&e).unwrap();
    let entries = b["entry"].as_array_mut().unwrap();
    let dr = entries
        .iter_mut()
        .map(|e| &mut e["resource"])
        .find(|r| r["resourceType"] == "DiagnosticReport")
        .unwrap();
    dr["performer"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] =
        "TRANS".into();
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    assert_eq!(back.reports[0].performers[0].role.as_deref(), Some("TN"));
    let left: Vec<String> = report
        .unmapped
        .iter()
        .map(|u| u.source.to_string())
        .collect();
    assert!(
        left.iter().any(|u| u.contains("performer[0].extension[0]")),
        "{left:?}"
    );
}

/// The Bundle's ServiceRequest.
fn service_request(b: &Value) -> &Value {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "ServiceRequest")
        .unwrap()
}

#[test]
fn obr_5_31_46_47_are_the_orders_priority_reasons_and_details() {
    // Corpus values: OBR-5 `S`, OBR-31 ICD-9 reasons, OBR-46 / 47.
    let text = obr(&[
        (5, "S"),
        (31, "796.4^^I9M~786.09^^I9M"),
        (46, "PSS-46^Placer service^L"),
        (47, "FSS-47^Filler service^L"),
    ]);
    let (e, r) = mapped(&text);
    let report = &e.reports[0];
    let p = report.priority.as_ref().unwrap();
    assert_eq!(
        (&p.value.system, p.value.code.as_str()),
        (&CodeSystem::V2Table("0485".into()), "S")
    );
    let first = |cs: &[carecodec_model::Sourced<carecodec_model::Concept>]| {
        cs.iter()
            .map(|c| c.value.codes[0].code.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(first(&report.reasons), ["796.4", "786.09"]);
    assert_eq!(first(&report.order_details), ["PSS-46", "FSS-47"]);
    for f in ["OBR[1]-5", "OBR[1]-31", "OBR[1]-46", "OBR[1]-47"] {
        assert!(
            !unmapped(&r).iter().any(|u| u.starts_with(f)),
            "{f}: {:?}",
            unmapped(&r)
        );
    }
    let (b, back) = round_trip(&e);
    let sr = service_request(&b);
    assert_eq!(sr["priority"], "stat");
    assert_eq!(sr["reasonCode"].as_array().unwrap().len(), 2);
    assert_eq!(sr["orderDetail"][1]["coding"][0]["code"], "FSS-47");
    // (A local coding system's name, `I9M`, comes back as the system URI it
    // is written as: compared by code and display.)
    let codes = |cs: &[carecodec_model::Sourced<carecodec_model::Concept>]| {
        cs.iter()
            .map(|c| {
                (
                    c.value.codes[0].code.clone(),
                    c.value.codes[0].display.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let back = &back.reports[0];
    assert_eq!(codes(&back.reasons), codes(&report.reasons));
    assert_eq!(codes(&back.order_details), codes(&report.order_details));
    assert_eq!(back.priority.as_ref().map(|p| &p.value), Some(&p.value));
    // Only the coding systems with no FHIR URI are listed: `I9M` (a name
    // carecodec does not know) and the local `L`.
    let listed = carecodec_map::fhir::event_not_written(&e, BundleType::Message).unwrap();
    let listed: Vec<(&str, &str)> = listed
        .iter()
        .map(|n| (n.field.as_str(), n.value.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("reports[0].reasons[0].codes[0].system", "I9M"),
            ("reports[0].reasons[1].codes[0].system", "I9M"),
            ("reports[0].order_details[0].codes[0].system", "L"),
            ("reports[0].order_details[1].codes[0].system", "L"),
        ]
    );
}

#[test]
fn an_order_priority_of_no_fhir_code_is_kept_and_listed() {
    // OBR-5 `P` (preop): IG ExtendedPriorityCodes has no FHIR code for it.
    let (e, r) = mapped(&obr(&[(5, "P")]));
    assert_eq!(e.reports[0].priority.as_ref().unwrap().value.code, "P");
    assert!(!unmapped(&r).iter().any(|u| u.starts_with("OBR[1]-5")));
    let (b, back) = round_trip(&e);
    assert!(service_request(&b).get("priority").is_none());
    assert!(back.reports[0].priority.is_none());
    let listed = carecodec_map::fhir::event_not_written(&e, BundleType::Message).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].field, "reports[0].priority");
    assert_eq!(listed[0].value, "P");
    assert_eq!(
        listed[0].sources[0].to_string().split(' ').nth(2),
        Some("OBR[1]-5.1")
    );
}
