//! HL7 v2 → UK Core Bundle: output a validator holding the R4 and UK Core
//! packages refuses, found by the validator probe of 2026-12-07 (its V1,
//! V2, V3 and V13), is not written, and what is left out is reported.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use carecodec_hl7v2::Message;
use carecodec_map::v2::{V2Options, map_message};
use carecodec_model::{Event, MappingReport};
use serde_json::Value;

const MSH_ORU: &str = "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120500+0000||ORU^R01^ORU_R01|L1|P|2.5\r\
PID|1||9434765919^^^NHS^NH~K100234^^^RX1^MR||SMITH^JOHN||19700214|M\r";
const MSH_ADT: &str = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500+0000||ADT^A01^ADT_A01|P1|P|2.4\r\
EVN|A01|20240312091500\r";

fn mapped(text: &str) -> (Event, MappingReport) {
    let msg = Message::parse(text.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    (event, report)
}

use common::write_valid as write;

/// The resources of type `rtype` in `bundle`.
fn resources<'b>(bundle: &'b Value, rtype: &str) -> Vec<&'b Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == rtype)
        .collect()
}

/// Every Coding in `v` (an object with a `code` inside a `coding` array).
fn codings<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "coding" {
                    out.extend(x.as_array().into_iter().flatten());
                }
                codings(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| codings(x, out)),
        _ => {}
    }
}

/// The system written for code `code` (None: a coding with no system).
fn system_of<'v>(all: &[&'v Value], code: &str) -> Option<&'v str> {
    let c = all
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("no coding {code}"));
    c.get("system").map(|s| s.as_str().unwrap())
}

/// V1: a CWE.3 coding-system name is written as its FHIR URI (HL7 table
/// 0396, any case), and one with no URI (local `L`, `99zzz`, unknown) as a
/// coding without a system, its code and display kept and the name listed in
/// the writer's `not_written`. Until 2026-12-07 every name but
/// LN/SCT/I10/UCUM/DMD/HL7nnnn was written as a relative `Coding.system`
/// (`L`, `sct`, `CVX`), which validators refuse; until 2026-12-08 the v2
/// mapper reported each name with no URI `invalid` (a local system is legal
/// HL7 v2: nothing is lost there) and the writer listed nothing.
#[test]
fn coding_systems_are_absolute_uris_or_left_out() {
    let text = format!(
        "{MSH_ORU}OBR|1|ORD1^EPR|LAB1^LAB|58410-2^FBC^ln|||20240312101500\r\
OBX|1|CWE|X1^Local test^L||POS^Positive^99LAB||||||F\r\
OBX|2|CWE|271649006^Systolic^sct||208^Pfizer^CVX||||||F\r\
OBX|3|CWE|250.00^Diabetes^I9C||2106-3^White^CDCREC||||||F\r\
OBX|4|CWE|121071^Finding^DCM||E1^Euclid^E5||||||F\r\
OBX|5|NM|718-7^Haemoglobin^LN||135|g/L^g/L^UCUM|||||F\r"
    );
    let (event, report) = mapped(&text);
    let (bundle, lost) = write(&event);
    let mut all = Vec::new();
    codings(&bundle, &mut all);
    for c in &all {
        if let Some(s) = c.get("system") {
            let s = s.as_str().unwrap();
            assert!(
                s.contains(':') && !s.starts_with(':'),
                "relative Coding.system {s}"
            );
        }
    }
    assert_eq!(system_of(&all, "58410-2"), Some("http://loinc.org"));
    assert_eq!(system_of(&all, "271649006"), Some("http://snomed.info/sct"));
    assert_eq!(system_of(&all, "208"), Some("http://hl7.org/fhir/sid/cvx"));
    assert_eq!(
        system_of(&all, "250.00"),
        Some("http://hl7.org/fhir/sid/icd-9-cm")
    );
    assert_eq!(
        system_of(&all, "2106-3"),
        Some("urn:oid:2.16.840.1.113883.6.238")
    );
    assert_eq!(
        system_of(&all, "121071"),
        Some("http://dicom.nema.org/resources/ontology/DCM")
    );
    // No URI: code and display kept, no system.
    for code in ["X1", "POS", "E1"] {
        assert_eq!(system_of(&all, code), None, "{code}");
    }
    let x1 = all.iter().find(|c| c["code"] == "X1").unwrap();
    assert_eq!(x1["display"], "Local test");
    // The mapping loses nothing: no name is invalid; the unknown `E5` is
    // noted once.
    assert!(report.invalid.is_empty(), "{:?}", report.invalid);
    let e5: Vec<&String> = report.notes.iter().filter(|n| n.contains("`E5`")).collect();
    assert_eq!(e5.len(), 1, "{:?}", report.notes);
    assert!(
        e5[0].starts_with("coding system `E5` (first at HL7 v2 OBX[4]-5.3): "),
        "{}",
        e5[0]
    );
    assert!(
        !report
            .notes
            .iter()
            .any(|n| n.contains("`L`") || n.contains("`99LAB`"))
    );
    // The writer lists each name it leaves out, at its coding, with its
    // source and why.
    let listed: Vec<(&str, &str)> = lost
        .iter()
        .filter(|n| n.field.ends_with(".system"))
        .map(|n| (n.field.as_str(), n.value.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("reports[0].observations[0].code.codes[0].system", "L"),
            ("reports[0].observations[0].value.codes[0].system", "99LAB"),
            ("reports[0].observations[3].value.codes[0].system", "E5"),
        ],
        "{lost:#?}"
    );
    let reasons: Vec<&str> = lost
        .iter()
        .filter(|n| n.field.ends_with(".system"))
        .map(|n| n.reason.as_ref())
        .collect();
    assert!(
        reasons[0].starts_with("a local coding system"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1].starts_with("a local coding system"),
        "{}",
        reasons[1]
    );
    assert!(reasons[2].starts_with("a coding system name with no known"));
    let l = &lost[lost.iter().position(|n| n.value == "L").unwrap()];
    assert!(
        l.sources
            .iter()
            .any(|s| s.to_string().starts_with("HL7 v2 OBX[1]-3.3")),
        "{:?}",
        l.sources
    );
}

/// The NHS systems: SNOMED CT (`SCT`), ICD-10 (`I10`), dm+d and the v2
/// tables map to their UK Core URIs; `HL7nnnn` in any case.
#[test]
fn nhs_coding_systems() {
    let text = format!(
        "{MSH_ADT}PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
PV1|1|I|WARD7^BAY2^BED4^RX1\r\
AL1|1|DA^Drug allergy^hl70127|39720311000001101^Paracetamol^DMD\r\
AL1|2|DA|91936005^Penicillin allergy^SCT\r\
DG1|1||J45.9^Asthma^I10\r"
    );
    let (event, report) = mapped(&text);
    let (bundle, _) = write(&event);
    let mut all = Vec::new();
    codings(&bundle, &mut all);
    assert_eq!(
        system_of(&all, "39720311000001101"),
        Some("https://dmd.nhs.uk")
    );
    assert_eq!(system_of(&all, "91936005"), Some("http://snomed.info/sct"));
    assert_eq!(
        system_of(&all, "J45.9"),
        Some("http://hl7.org/fhir/sid/icd-10")
    );
    assert!(report.invalid.is_empty(), "{:?}", report.invalid);
}

/// V2: UK Core binds `Patient.communication.language` required to
/// all-languages (BCP-47). A PID-15 that is no language tag (`ENGLISH`, `1`)
/// is not written (until 2026-12-07 it was written as text only, which a
/// validator refuses) and is listed in `not_written`; a tag is written.
#[test]
fn language_written_only_as_a_language_tag() {
    for (pid15, written) in [
        ("ENGLISH", None),
        ("1", None),
        ("en^English^ISO639", Some("en")),
        ("en-GB", Some("en-GB")),
    ] {
        let text = format!(
            "{MSH_ADT}PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M|||||||{pid15}\r\
PV1|1|I|WARD7^BAY2^BED4^RX1\r"
        );
        let (event, _) = mapped(&text);
        let (bundle, lost) = write(&event);
        let patient = resources(&bundle, "Patient")[0];
        let noted = lost.iter().find(|n| n.field == "patient.language");
        match written {
            Some(tag) => {
                let lang = &patient["communication"][0]["language"]["coding"][0];
                assert_eq!(lang["system"], "urn:ietf:bcp:47", "{pid15}");
                assert_eq!(lang["code"], tag, "{pid15}");
                assert!(noted.is_none(), "{pid15}: {lost:?}");
            }
            None => {
                assert!(patient.get("communication").is_none(), "{pid15}: {patient}");
                let n = noted.unwrap_or_else(|| panic!("{pid15}: {lost:?}"));
                assert_eq!(n.value, pid15);
                assert!(n.reason.contains("all-languages"));
                assert!(n.sources[0].to_string().starts_with("HL7 v2 PID[1]-15"));
            }
        }
    }
}

/// V3: R4 prr-1 — `orderDetail` only beside a `code`. An OBR with no OBR-4
/// and an OBR-46 order detail wrote a ServiceRequest with `orderDetail` and
/// no `code` until 2026-12-07; now the detail is listed in `not_written`.
/// The request's status, intent and priority are always in R4's required
/// value sets.
#[test]
fn order_detail_only_beside_a_code() {
    let obr = |obr4: &str, obr5: &str| {
        format!(
            "{MSH_ORU}OBR|1|ORD123^EPR|LAB456^LAB|{obr4}|{obr5}||20240312101500||||||||||||||||||F|||||||||||||||||||||FAST^Fasting^L\r\
OBX|1|NM|718-7^Haemoglobin^LN||135|g/L^g/L^UCUM|130-180|N|||F\r"
        )
    };
    // No code: no orderDetail, the detail listed.
    let (event, _) = mapped(&obr("", ""));
    let (bundle, lost) = write(&event);
    for sr in resources(&bundle, "ServiceRequest") {
        assert!(
            sr.get("orderDetail").is_none() || sr.get("code").is_some(),
            "{sr}"
        );
    }
    let n = lost
        .iter()
        .find(|n| n.field == "reports[0].order_details[0]")
        .unwrap_or_else(|| panic!("{lost:?}"));
    assert!(n.value.starts_with("FAST (Fasting)"), "{}", n.value);
    assert!(n.reason.contains("prr-1"));
    assert!(n.sources[0].to_string().starts_with("HL7 v2 OBR[1]-46"));
    // With a code: written beside it, nothing listed.
    let (event, _) = mapped(&obr("58410-2^FBC^LN", "S"));
    let (bundle, lost) = write(&event);
    let sr = resources(&bundle, "ServiceRequest");
    assert_eq!(sr.len(), 1);
    assert_eq!(sr[0]["orderDetail"][0]["coding"][0]["code"], "FAST");
    assert_eq!(sr[0]["code"]["coding"][0]["code"], "58410-2");
    // (Only its local system `L`, which no Coding.system holds.)
    let details: Vec<(&str, &str)> = lost
        .iter()
        .filter(|n| n.field.contains("order_details"))
        .map(|n| (n.field.as_str(), n.value.as_str()))
        .collect();
    assert_eq!(
        details,
        [("reports[0].order_details[0].codes[0].system", "L")]
    );
    assert_eq!(sr[0]["status"], "unknown");
    assert_eq!(sr[0]["intent"], "order");
    assert_eq!(sr[0]["priority"], "stat");
    // Every priority code OBR-5 may send is written from request-priority
    // or not at all.
    for p in ["S", "A", "R", "P", "C", "T", "PRN", "X"] {
        let (event, _) = mapped(&obr("58410-2^FBC^LN", p));
        let (bundle, _) = write(&event);
        for sr in resources(&bundle, "ServiceRequest") {
            if let Some(pr) = sr.get("priority") {
                assert!(
                    ["routine", "urgent", "asap", "stat"].contains(&pr.as_str().unwrap()),
                    "{p}: {pr}"
                );
            }
        }
    }
}

/// V13: a period end known to the hour or minute is written as the last
/// second it stands for (R4 `Period.end` includes any matching time), so a
/// PV1-45 in the hour of a later PV1-44 keeps per-1. Until 2026-12-07
/// `2024031209` was written `09:00:00`, before a `09:15` start.
#[test]
fn reduced_precision_ends_are_their_last_second() {
    let text = format!(
        "{MSH_ADT}PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
PV1|1|I|WARD7^BAY2^BED4^RX1||||||||||||||||V1^^^RX1^VN|||||||||||||||||||||||||202403120915|2024031209\r"
    );
    let (event, _) = mapped(&text);
    let (bundle, lost) = write(&event);
    let enc = resources(&bundle, "Encounter")[0];
    assert_eq!(enc["period"]["start"], "2024-03-12T09:15:00+00:00");
    assert_eq!(enc["period"]["end"], "2024-03-12T09:59:59+00:00");
    assert!(
        !lost.iter().any(|n| n.field.contains("discharged")),
        "{lost:?}"
    );
    // A minute: its last second; a start keeps its first.
    let text = format!(
        "{MSH_ADT}PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
PV1|1|I|WARD7^BAY2^BED4^RX1||||||||||||||||V1^^^RX1^VN|||||||||||||||||||||||||2024031209|202403120930\r"
    );
    let (event, _) = mapped(&text);
    let (bundle, _) = write(&event);
    let enc = resources(&bundle, "Encounter")[0];
    assert_eq!(enc["period"]["start"], "2024-03-12T09:00:00+00:00");
    assert_eq!(enc["period"]["end"], "2024-03-12T09:30:59+00:00");
    // OBR-7 / OBR-8: the report's effectivePeriod, the same rule.
    let text = format!(
        "{MSH_ORU}OBR|1|ORD1^EPR|LAB1^LAB|58410-2^FBC^LN|||202403121015|2024031210\r\
OBX|1|NM|718-7^Haemoglobin^LN||135|g/L^g/L^UCUM|||||F\r"
    );
    let (event, _) = mapped(&text);
    let (bundle, _) = write(&event);
    let dr = resources(&bundle, "DiagnosticReport")[0];
    assert_eq!(dr["effectivePeriod"]["start"], "2024-03-12T10:15:00+00:00");
    assert_eq!(dr["effectivePeriod"]["end"], "2024-03-12T10:59:59+00:00");
}
