//! HL7 v2 → model over the bundled samples, hand-written edge cases and (when
//! present) the NHS ITK ADT examples: accounting, provenance and identity are
//! asserted on every message.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use carecodec_hl7v2::Message;
use carecodec_hl7v2::batch::BatchReader;
use carecodec_map::v2::{V2Options, map_message, map_patient_groups};
use carecodec_model::{
    Action, AdtKind, Event, Gender, Identifier, MappingReport, ObservationValue, Precision,
    Quantity, Source, Sourced, VerificationStatus,
};

fn check_invariants(bytes: &[u8], event: &Event, report: &MappingReport) {
    assert!(
        report.balanced(),
        "mapped {} + unmapped {} != {}",
        report.mapped,
        report.unmapped.len(),
        report.source_leaves
    );
    // Every source span points at bytes of the message.
    let mut check = |s: &Source| {
        if let Source::V2 { span, path } = s {
            assert!(
                span.end <= bytes.len() && span.start <= span.end,
                "{path} {span:?}"
            );
        }
    };
    let mut walk = |srcs: &[Source]| srcs.iter().for_each(&mut check);
    if let Some(p) = &event.patient {
        p.identifiers.iter().for_each(|i| walk(&i.sources));
        p.names.iter().for_each(|n| walk(&n.sources));
    }
    for u in &report.unmapped {
        if let Source::V2 { span, .. } = &u.source {
            assert_eq!(String::from_utf8_lossy(&bytes[span.clone()]), u.raw);
        }
    }
}

fn map(bytes: &[u8]) -> (Event, MappingReport) {
    let msg = Message::parse(bytes).unwrap();
    let (e, r) = map_message(&msg, &V2Options::default()).unwrap();
    check_invariants(bytes, &e, &r);
    (e, r)
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/hl7v2")
}

#[test]
fn adt_a01_maps_patient_encounter_allergy_diagnosis() {
    let bytes = std::fs::read(samples().join("adt_a01.hl7")).unwrap();
    let (e, r) = map(&bytes);
    assert_eq!(e.kind, AdtKind::Admit);
    let p = e.patient.as_ref().unwrap();
    assert_eq!(p.nhs_number().unwrap().as_str(), "9434765919");
    assert!(p.identifiers.iter().any(|i| matches!(&i.value, Identifier::Mrn { value, authority: Some(a), system: None } if value == "K100234" && a == "RX1")));
    assert_eq!(p.names[0].value.family.as_deref(), Some("SMITH"));
    assert_eq!(p.names[0].value.given, ["JOHN", "PAUL"]);
    assert_eq!(p.names[0].value.usage.as_deref(), Some("official"));
    assert_eq!(p.gender.as_ref().unwrap().value, Gender::Male);
    assert_eq!(
        p.birth_date.as_ref().unwrap().value.to_string(),
        "1970-02-14"
    );
    assert_eq!(p.addresses[0].value.postcode.as_deref(), Some("LS1 1AA"));
    assert!(
        matches!(&p.gp_practice.as_ref().unwrap().value, Identifier::OdsOrganisation(c) if c == "B82001")
    );
    assert!(matches!(&p.gp.as_ref().unwrap().value, Identifier::Gmp(c) if c == "G8612345"));
    assert_eq!(p.contacts.len(), 1);
    let enc = e.encounter.as_ref().unwrap();
    assert_eq!(
        enc.location.as_ref().unwrap().bed.as_ref().unwrap().value,
        "BED4"
    );
    assert!(enc.participants.iter().any(|x| x.role == "ATND"));
    assert_eq!(e.allergies.len(), 1);
    assert_eq!(e.conditions.len(), 1);
    // The NHS number's provenance is its PID-3 leaf.
    let nhs = p
        .identifiers
        .iter()
        .find(|i| matches!(i.value, Identifier::Nhs { .. }))
        .unwrap();
    match &nhs.sources[0] {
        Source::V2 { path, span } => {
            assert_eq!(path.to_string(), "PID[1]-3[1].1");
            assert_eq!(&bytes[span.clone()], b"9434765919");
        }
        other => panic!("{other:?}"),
    }
    assert!(!r.quarantined());
    assert!(r.identity[0].reason.contains("NHS number"));
}

#[test]
fn oru_maps_results_with_quantities_and_notes() {
    let bytes = std::fs::read(samples().join("oru_r01.hl7")).unwrap();
    let (e, r) = map(&bytes);
    assert_eq!(e.kind, AdtKind::Result);
    assert_eq!(e.reports.len(), 1);
    let obs = &e.reports[0].observations;
    assert_eq!(obs.len(), 4);
    match &obs[1].value.as_ref().unwrap().value {
        ObservationValue::Quantity(q) => {
            assert_eq!(q.value, "11.8");
            assert_eq!(q.ucum.as_deref(), Some("10*9/L"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(obs[2].notes.len(), 1);
    // OBX-5 `""` (null) is no value.
    assert!(obs[3].value.is_none());
    assert!(r.balanced());
}

/// OBX-5 of an NM observation is a quantity only when it is an NM number. A
/// comparator before the number (an SN's form sent as NM: eGFR `>90`) is read
/// as the quantity's comparator; any other text is kept as text with its
/// unit. Both are reported invalid with what was done; SN numbers likewise.
#[test]
fn nm_and_sn_values_that_are_not_numbers_are_reported() {
    let rows = [
        ("NM", "+3.50", None, None),
        ("NM", " .5 ", None, None),
        ("NM", "5.", None, None),
        ("NM", ">90", Some(Action::Interpreted), None),
        ("NM", "<= 0.5", Some(Action::Interpreted), None),
        ("NM", "1e3", Some(Action::KeptAsText), Some("1e3 mL")),
        ("NM", "1,000", Some(Action::KeptAsText), Some("1,000 mL")),
        ("NM", "-", Some(Action::KeptAsText), Some("- mL")),
        ("NM", "<>5", Some(Action::KeptAsText), Some("<>5 mL")),
        ("SN", "<^abc", Some(Action::KeptAsText), Some("<abc mL")),
        ("SN", "^1^-^x", Some(Action::KeptAsText), Some("1-x mL")),
        ("SN", ">^7.0", None, None),
    ];
    let mut msg = String::from(
        "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500||ORU^R01|nm1|P|2.4\r\
         PID|1||9434765919^^^NHS^NH||SMITH^ANN\rOBR|1||F1|X^X^L\r",
    );
    for (i, (ty, value, ..)) in rows.iter().enumerate() {
        msg.push_str(&format!("OBX|{}|{ty}|X^X^L||{value}|mL|||||F\r", i + 1));
    }
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    for (i, (ty, value, action, text)) in rows.iter().enumerate() {
        let got = &obs[i].value.as_ref().unwrap().value;
        let path = format!("OBX[{}]-5", i + 1);
        let invalid = r.invalid.iter().find(
            |x| matches!(&x.source, Source::V2 { path: p, .. } if p.to_string().starts_with(&path)),
        );
        assert_eq!(invalid.map(|x| x.action), *action, "{ty} {value:?}");
        match (text, got) {
            (Some(t), ObservationValue::Text(g)) => assert_eq!(g, t, "{value:?}"),
            (None, ObservationValue::Quantity(q)) => {
                let (c, n) = match value.trim().split_at(
                    value
                        .trim()
                        .find(|c: char| c.is_ascii_digit() || c == '+' || c == '.')
                        .unwrap(),
                ) {
                    ("", n) => (None, n),
                    (c, n) => (Some(c.trim_end_matches('^').trim()), n),
                };
                assert_eq!(
                    q,
                    &Quantity {
                        value: n.to_owned(),
                        unit: Some("mL".into()),
                        ucum: None,
                        comparator: c.map(str::to_owned)
                    },
                    "{value:?}"
                );
            }
            other => panic!("{value:?}: {other:?}"),
        }
        if let Some(x) = invalid {
            // The raw text is the sent value (SN: its offending number).
            assert!(value.contains(x.raw.as_str()), "{value:?} {:?}", x.raw);
        }
    }
    assert_eq!(r.invalid.len(), 8);
    // Repetitions (OBX-5 repeats: `60~120`) are numbers a line each, with the
    // unit; only a repetition that is not a number is reported.
    let (e, r) = map(
        b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500||ORU^R01|nm2|P|2.4\r\
        PID|1||9434765919^^^NHS^NH||SMITH^ANN\rOBR|1||F1|X^X^L\r\
        OBX|1|NM|X^X^L||60~120|mm[Hg]|||||F\rOBX|2|NM|X^X^L||60~x|mL|||||F\r",
    );
    let text = |i: usize| match &e.reports[0].observations[i].value.as_ref().unwrap().value {
        ObservationValue::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(0), "60 mm[Hg]\n120 mm[Hg]");
    assert_eq!(text(1), "60 mL\nx mL");
    let invalid = &r.invalid;
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0].raw, "x");
    let path = |s: &Source| match s {
        Source::V2 { path, .. } => path.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(path(&invalid[0].source), "OBX[2]-5[2]");
    let sources = &e.reports[0].observations[0].value.as_ref().unwrap().sources;
    let paths: Vec<String> = sources.iter().map(path).collect();
    assert_eq!(paths, ["OBX[1]-5[1]", "OBX[1]-5[2]", "OBX[1]-6.1"]);
}

#[test]
fn every_bundled_message_balances() {
    for entry in std::fs::read_dir(samples()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let mut reader = BatchReader::new(&bytes[..]);
        while let Some(m) = reader.next_message() {
            let msg = m.result.unwrap();
            let (e, r) = map_message(&msg, &V2Options::default()).unwrap();
            check_invariants(m.bytes, &e, &r);
        }
    }
}

#[test]
fn invalid_nhs_number_is_reported_and_not_used_as_key() {
    let (e, r) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||9434765918^^^NHS^NH~K9^^^RX1^MR||X^Y\r");
    assert!(e.patient.unwrap().nhs_number().is_none());
    assert_eq!(r.invalid.len(), 1);
    assert!(r.invalid[0].reason.contains("NHS number"));
    assert!(matches!(r.identity[0].key, Some(Identifier::Mrn { .. })));
    // 0000000000 passes Modulus 11 but is the "no NHS number" placeholder:
    // reported, never a key (alone, the record is quarantined).
    let (e, r) =
        map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||0000000000^^^NHS^NH||X^Y\r");
    assert!(e.patient.unwrap().nhs_number().is_none());
    assert_eq!(r.invalid[0].raw, "0000000000");
    assert!(
        r.invalid[0].reason.contains("placeholder"),
        "{}",
        r.invalid[0].reason
    );
    assert!(r.quarantined());
}

#[test]
fn an_nhs_number_sent_with_spaces_is_read_and_reported() {
    // `943 476 5919`, as the NHS displays it, is read as its ten digits; the
    // report says the value was normalised (it used to say nothing).
    let (e, r) = map(
        b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||943 476 5919^^^NHS^NH||X^Y\r",
    );
    assert_eq!(
        e.patient.as_ref().unwrap().nhs_number().unwrap().as_str(),
        "9434765919"
    );
    assert_eq!(r.invalid.len(), 1, "{:?}", r.invalid);
    assert_eq!(r.invalid[0].raw, "943 476 5919");
    assert_eq!(r.invalid[0].action, Action::Interpreted);
    assert_eq!(
        r.invalid[0].reason,
        "NHS number sent with spaces: read as 9434765919"
    );
    assert!(!r.quarantined());
    // The Bundle names the ten digits, as UK Core's NHS number has them.
    let b = carecodec_map::fhir::event_bundle(&e).unwrap();
    let ids = &b["entry"][0]["resource"]["identifier"];
    assert_eq!(ids[0]["value"], "9434765919", "{ids}");
    // Ten digits alone are not reported; other separators are not an NHS number.
    let (_, r) =
        map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||9434765919^^^NHS^NH||X^Y\r");
    assert!(r.invalid.is_empty(), "{:?}", r.invalid);
    let (e, r) = map(
        b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||943-476-5919^^^NHS^NH||X^Y\r",
    );
    assert!(e.patient.unwrap().nhs_number().is_none());
    assert_eq!(r.invalid[0].action, Action::NotUsedForMatching);
}

#[test]
fn other_identifier_types_are_kept_and_never_key_the_patient() {
    // An account number (AN) before the hospital number: it keeps its type and
    // authority, and the MRN keys the record.
    let (e, r) = map(
        b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||A55^^^RX1^AN~K9^^^RX1^MR||X^Y\r",
    );
    let ids: Vec<_> = e
        .patient
        .unwrap()
        .identifiers
        .into_iter()
        .map(|i| i.value)
        .collect();
    assert_eq!(
        ids[0],
        Identifier::Typed {
            kind: "AN".into(),
            value: "A55".into(),
            authority: Some("RX1".into()),
            system: None,
        }
    );
    assert!(matches!(&r.identity[0].key, Some(Identifier::Mrn { value, .. }) if value == "K9"));
    // Only an account number: quarantined, never guessed.
    let (_, r) =
        map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||A55^^^RX1^AN||X^Y\r");
    assert!(r.quarantined());
    // PI (patient internal identifier) is a hospital number like MR.
    let (_, r) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||K7^^^RX1^PI||X^Y\r");
    assert!(matches!(&r.identity[0].key, Some(Identifier::Mrn { value, .. }) if value == "K7"));
}

#[test]
fn nhs_data_dictionary_gender_codes_and_invalid_sex() {
    let (e, _) = map(
        b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||9434765919^^^NHS^NH||X^Y|||2\r",
    );
    assert_eq!(e.patient.unwrap().gender.unwrap().value, Gender::Female);
    let (e, r) = map(
        b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||9434765919^^^NHS^NH||X^Y|||Q\r",
    );
    assert!(e.patient.unwrap().gender.is_none());
    assert!(r.invalid.iter().any(|i| i.raw == "Q"));
}

#[test]
fn no_usable_identifier_is_quarantined() {
    let (_, r) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||12345||X^Y\r");
    assert!(r.quarantined());
}

#[test]
fn verified_status_from_pid_32_keys_the_record() {
    let (e, r) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A31|1|P|2.4\rPID|1||9434765919^^^NHS^NH||X^Y|||||||||||||||||||||||||||01\r");
    let p = e.patient.unwrap();
    assert!(matches!(
        p.identifiers[0].value,
        Identifier::Nhs {
            verification: Some(VerificationStatus::Verified),
            ..
        }
    ));
    assert!(r.identity[0].reason.starts_with("verified"));
}

/// Probe eleven F11: since v2.7 PID-32 is a CWE; the status is its component 1,
/// the display and coding system beside it are reported unmapped, and a code
/// that is no status is reported invalid (not only a note).
#[test]
fn pid_32_as_a_cwe_keeps_the_verified_status() {
    let (e, r) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.7\rPID|1||9434765919^^^NHS^NH||X^Y|||||||||||||||||||||||||||01^Number present and verified^NHSNVS\r");
    let p = e.patient.unwrap();
    assert!(matches!(
        p.identifiers[0].value,
        Identifier::Nhs {
            verification: Some(VerificationStatus::Verified),
            ..
        }
    ));
    assert!(r.identity[0].reason.starts_with("verified"));
    assert!(r.invalid.is_empty(), "{:?}", r.invalid);
    let unmapped: Vec<&str> = r.unmapped.iter().map(|u| u.raw.as_str()).collect();
    assert!(
        unmapped.contains(&"Number present and verified"),
        "{unmapped:?}"
    );
    assert!(unmapped.contains(&"NHSNVS"), "{unmapped:?}");

    let (e, r) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.7\rPID|1||9434765919^^^NHS^NH||X^Y|||||||||||||||||||||||||||99^Unheard of^NHSNVS\r");
    let p = e.patient.unwrap();
    assert!(matches!(
        p.identifiers[0].value,
        Identifier::Nhs {
            verification: None,
            ..
        }
    ));
    assert_eq!(r.invalid.len(), 1, "{:?}", r.invalid);
    assert_eq!(r.invalid[0].raw, "99");
    assert_eq!(r.invalid[0].action, Action::Dropped);
}

#[test]
fn time_zone_rule() {
    // No offset anywhere: Europe/London, summer time in July.
    let (e, _) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240701120000||ADT^A01|1|P|2.4\rPV1|1|I||||||||||||||||||||||||||||||||||||||||||20240701103000\r");
    let admitted = e.encounter.unwrap().admitted.unwrap().value;
    assert_eq!(admitted.at.to_rfc3339(), "2024-07-01T10:30:00+01:00");
    assert!(admitted.offset_inferred);
    assert_eq!(admitted.precision, Precision::Second);
    // MSH-7 carries an offset: times without one take it.
    let (e, _) =
        map(b"MSH|^~\\&|A|RX1|B|RX1|20240701120000-0500||ADT^A01|1|P|2.4\rEVN|A01|202407011030\r");
    assert_eq!(
        e.recorded.unwrap().value.at.to_rfc3339(),
        "2024-07-01T10:30:00-05:00"
    );
    // A configured zone.
    let opts = V2Options::default().zone(chrono_tz::America::New_York);
    let msg = Message::parse(b"MSH|^~\\&|A|RX1|B|RX1|20240101120000||ADT^A01|1|P|2.4\r").unwrap();
    let (e, _) = map_message(&msg, &opts).unwrap();
    assert_eq!(
        e.sent.unwrap().value.at.to_rfc3339(),
        "2024-01-01T12:00:00-05:00"
    );
}

#[test]
fn merge_keeps_the_prior_identifier() {
    let bytes = std::fs::read(samples().join("adt_a40_lf_bom.hl7")).unwrap();
    let (e, _) = map(&bytes);
    assert_eq!(e.kind, AdtKind::Merge);
    assert!(matches!(&e.merged_from[0].value, Identifier::Mrn { value, .. } if value == "K200999"));
}

#[test]
fn a_merge_of_two_different_nhs_numbers_is_quarantined() {
    // MRG-1 naming two people used to be merged as the first of them (the
    // replaced Patient written with 4010232137 alone).
    let (e, r) = map(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rMRG|4010232137^^^NHS^NH~9000000009^^^NHS^NH\r",
    );
    assert!(r.quarantined());
    // The survivor's own decision stands; the merge's is the quarantine.
    assert!(!r.identity[0].quarantined());
    let d = r.identity.iter().find(|d| d.quarantined()).unwrap();
    assert!(d.reason.contains("4010232137, 9000000009"), "{}", d.reason);
    assert!(d.reason.contains("merge is not applied"), "{}", d.reason);
    assert_eq!(d.seen.len(), 2);
    // Both are kept for review; no replaced Patient is written.
    assert_eq!(e.merged_from.len(), 2);
    let b = carecodec_map::fhir::event_bundle(&e).unwrap();
    assert!(!b.to_string().contains("replaced-by"), "{b}");
    assert!(!b.to_string().contains("4010232137"), "{b}");
    // One prior NHS number sent twice is one person: merged as before.
    let (e, r) = map(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rMRG|4010232137^^^NHS^NH~4010232137^^^NHS^NH\r",
    );
    assert!(!r.quarantined(), "{:?}", r.identity);
    let b = carecodec_map::fhir::event_bundle(&e).unwrap();
    assert!(b.to_string().contains("replaced-by"), "{b}");
}

#[test]
fn a_registration_number_not_of_its_registers_shape_is_kept_as_text() {
    // PV1-7 naming GMC `12AB`: it used to be a GMC number and key the
    // Practitioner's conditional update.
    let (e, r) = map(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|||||12AB^JONES^ANN^^^^^^GMC~7654321^SMITH^BOB^^^^^^GMC\r");
    let bad = r.invalid.iter().find(|i| i.raw == "12AB").unwrap();
    assert_eq!(bad.action, Action::NotUsedForMatching);
    assert!(bad.reason.contains("GMC"), "{}", bad.reason);
    let enc = e.encounter.as_ref().unwrap();
    assert_eq!(
        enc.participants[0].practitioner.identifiers[0].value,
        Identifier::Other {
            system: Some("GMC (invalid)".into()),
            value: "12AB".into()
        }
    );
    assert_eq!(
        enc.participants[1].practitioner.identifiers[0].value,
        Identifier::Gmc("7654321".into())
    );
    let b = carecodec_map::fhir::event_bundle(&e).unwrap().to_string();
    assert!(!b.contains("gmc-number|12AB"), "{b}");
    assert!(b.contains("gmc-number|7654321"), "{b}");
}

#[test]
fn nhs_itk_adt_corpus() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/hl7v2/nhs-itk-adt");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found ({})", dir.display());
        return;
    }
    let (mut n, mut unmapped, mut total) = (0, 0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let msg = Message::parse(&bytes).unwrap();
        let (e, r) = map_message(&msg, &V2Options::default()).unwrap();
        check_invariants(&bytes, &e, &r);
        assert!(e.patient.is_some(), "{}", path.display());
        assert!(!r.quarantined(), "{}: {:?}", path.display(), r.identity);
        n += 1;
        unmapped += r.unmapped.len();
        total += r.source_leaves;
        let _: Option<&Sourced<Identifier>> =
            e.patient.as_ref().and_then(|p| p.identifiers.first());
    }
    println!(
        "NHS ITK ADT: {n} messages, {total} leaves, {unmapped} unmapped ({:.1}% mapped)",
        100.0 * (total - unmapped) as f64 / total.max(1) as f64
    );
    assert_eq!(n, 8);
}

#[test]
fn golden_gaps_sn_xtn_nk1_dg1_birth_time_components() {
    let (e, r) = map(b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500+0000||ORU^R01|9|P|2.8\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN^^III^DR^MD||198808181126+0215|F^^HL70001|||||^^CP^5555^^^1111^^^^^2222~^^Internet^a@b.uk\r\
NK1|1|SMITH^JANE|SPO^Spouse|||01132 000000^WPN^PH|O|20210818|20211218||||||F^^HL70001\r\
PV1|1|I|W1&1.2&ISO^R2^B3|||||||||||||||||||||||||||||||||01^Home^L|22&Homes&FDK\r\
DG1|1||I10^^I10|Essential hypertension|20240312\r\
OBR|1|P1|F1|1234^FBC^LN|||20240312080000\r\
OBX|1|SN|1^A^LN||<^5|mmol/L^^UCUM||H^High^HL70078|||F\r\
OBX|2|SN|2^B^LN||^10^-^20|mmol/L\r\
OBX|3|SN|3^C^LN||^1^:^128\r");
    let p = e.patient.as_ref().unwrap();
    // XPN.6 degree is a suffix after XPN.4.
    assert_eq!(p.names[0].value.suffix, ["III", "MD"]);
    let bt = p.birth_time.as_ref().unwrap().value;
    assert_eq!(bt.at.to_rfc3339(), "1988-08-18T11:26:00+02:15");
    assert_eq!(
        p.birth_date.as_ref().unwrap().value.to_string(),
        "1988-08-18"
    );
    assert_eq!(p.gender.as_ref().unwrap().value, Gender::Female);
    // XTN: XTN.12 for a phone (XTN.4 is not an e-mail unless the equipment says so), CP mobile.
    let t: Vec<_> = p.telecom.iter().map(|t| &t.value).collect();
    assert_eq!(t[0].value, "2222");
    assert_eq!(t[0].usage.as_deref(), Some("mobile"));
    assert_eq!(
        (t[1].system.as_deref(), t[1].value.as_str()),
        (Some("email"), "a@b.uk")
    );
    // NK1-6 business phone, NK1-8/9 period, NK1-15 sex.
    let c = &p.contacts[0];
    assert_eq!(c.telecom[0].value.usage.as_deref(), Some("work"));
    assert_eq!(c.from.as_ref().unwrap().value.to_string(), "2021-08-18");
    assert_eq!(c.until.as_ref().unwrap().value.to_string(), "2021-12-18");
    assert_eq!(c.gender.as_ref().unwrap().value, Gender::Female);
    // PL.1 and DLD.1 / PV1-36 read as their first (sub)component.
    let enc = e.encounter.as_ref().unwrap();
    assert_eq!(
        enc.location.as_ref().unwrap().ward.as_ref().unwrap().value,
        "W1"
    );
    assert_eq!(enc.discharge_method.as_ref().unwrap().value.code, "01");
    assert_eq!(enc.discharge_destination.as_ref().unwrap().value.code, "22");
    // DG1-4 is the code's text.
    assert_eq!(
        e.conditions[0].code.value.text.as_deref(),
        Some("Essential hypertension")
    );
    // SN: comparator, range, ratio kept as text; OBX-8 code only.
    let obs = &e.reports[0].observations;
    match &obs[0].value.as_ref().unwrap().value {
        ObservationValue::Quantity(q) => {
            assert_eq!(
                (q.value.as_str(), q.comparator.as_deref()),
                ("5", Some("<"))
            );
            assert_eq!(q.ucum.as_deref(), Some("mmol/L"));
        }
        v => panic!("{v:?}"),
    }
    assert_eq!(obs[0].interpretation[0].value.code, "H");
    match &obs[1].value.as_ref().unwrap().value {
        ObservationValue::Range { low, high } => {
            assert_eq!(low.as_ref().unwrap().value, "10");
            assert_eq!(high.as_ref().unwrap().value, "20");
        }
        v => panic!("{v:?}"),
    }
    assert_eq!(
        obs[2].value.as_ref().unwrap().value,
        ObservationValue::Text("1:128".into())
    );
    // The components not used are reported, not lost.
    assert!(r.unmapped.iter().any(|u| u.raw == "1.2"));
    assert!(r.unmapped.iter().any(|u| u.raw == "Homes"));
}

#[test]
fn encounter_status_as_the_ig() {
    let status = |msg: &[u8]| {
        let (e, _) = map(msg);
        e.encounter.unwrap().status.unwrap()
    };
    let m = |trigger: &str, pv1: &str| {
        format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^{trigger}|1|P|2.4\rPID|1||9434765919^^^NHS^NH\r{pv1}\r"
        )
    };
    let mut pv1 = ["PV1", "1", "I"].map(str::to_owned).to_vec();
    pv1.resize(46, String::new());
    let admitted = {
        let mut p = pv1.clone();
        p[44] = "20240312090000".into();
        p.join("|")
    };
    let discharged = {
        let mut p = pv1.clone();
        p[44] = "20240312090000".into();
        p[45] = "20240313090000".into();
        p.join("|")
    };
    // IG: the event's status where Event[EncounterStatus] gives one (A01
    // in-progress even with PV1-2 P); else PV1-45 → finished, else by PV1-2
    // (I → in-progress, P → planned), as for A12 and A31.
    assert_eq!(status(m("A01", &admitted).as_bytes()), "in-progress");
    assert_eq!(status(m("A03", &discharged).as_bytes()), "finished");
    assert_eq!(status(m("A01", "PV1|1|P").as_bytes()), "in-progress");
    assert_eq!(status(m("A12", "PV1|1|P").as_bytes()), "planned");
    assert_eq!(status(m("A31", &discharged).as_bytes()), "finished");
    assert_eq!(
        status(m("A12", "PV1|1|I^Inpatient").as_bytes()),
        "in-progress"
    );
    // Events: A11 cancelled, A05 planned.
    assert_eq!(status(m("A11", &discharged).as_bytes()), "cancelled");
    assert_eq!(status(m("A05", "PV1|1|I").as_bytes()), "planned");
}

#[test]
fn billing_and_old_addresses_keep_their_use() {
    let (e, _) = map(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A28|1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M|||1 HIGH ST^^LEEDS^^LS1 1AA^GBR^BI~2 LOW ST^^LEEDS^^LS2 2AA^GBR^BA\r");
    let p = e.patient.as_ref().unwrap();
    assert_eq!(p.addresses[0].value.usage.as_deref(), Some("billing"));
    assert_eq!(p.addresses[1].value.usage.as_deref(), Some("old"));
    let b = carecodec_map::fhir::event_bundle(&e).unwrap();
    let a = &b["entry"][0]["resource"]["address"];
    assert_eq!(a[0]["use"], "billing");
    assert_eq!(a[1]["use"], "old");
}

#[test]
fn pid_40_telecom_pv1_50_identifier_and_pv1_52_participant() {
    let mut pid: Vec<String> = ["PID", "1", "", "9434765919^^^NHS^NH"]
        .map(str::to_owned)
        .to_vec();
    pid.resize(41, String::new());
    pid[40] = "j@x.uk^WPN^Internet~07700 900000^PRS^CP".into();
    let mut pv1: Vec<String> = ["PV1", "1", "I"].map(str::to_owned).to_vec();
    pv1.resize(53, String::new());
    pv1[52] = "C7654321^BROWN^BOB".into();
    pv1[50] = "ALT1^^^RX1".into();
    let msg = format!(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.8\r{}\r{}\r",
        pid.join("|"),
        pv1.join("|")
    );
    let (e, r) = map(msg.as_bytes());
    assert!(r.balanced());
    let t: Vec<_> = e
        .patient
        .as_ref()
        .unwrap()
        .telecom
        .iter()
        .map(|t| &t.value)
        .collect();
    // An e-mail in XTN.1 (XTN.4 empty) is still the e-mail.
    assert_eq!(
        (t[0].system.as_deref(), t[0].value.as_str()),
        (Some("email"), "j@x.uk")
    );
    assert_eq!(t[0].usage.as_deref(), Some("work"));
    assert_eq!(t[1].usage.as_deref(), Some("mobile"));
    let enc = e.encounter.unwrap();
    assert_eq!(enc.participants[0].role, "PART");
    // PV1-50 with no type: an alternate visit number.
    assert!(enc.identifiers.iter().any(|i| matches!(
        &i.value,
        Identifier::VisitNumber { value, authority: Some(a), system: None } if value == "ALT1" && a == "RX1"
    )));
}

/// A segment from `(field, value)` pairs, the other fields empty.
fn segment(id: &str, fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|(f, _)| *f).max().unwrap_or(0);
    let mut parts = vec![""; last + 1];
    parts[0] = id;
    for (f, v) in fields {
        parts[*f] = v;
    }
    parts.join("|")
}

/// The ADT message of the authority-system tests: CX.4 / XCN.9 universal ids
/// of each HD.3 type, one of a type that is not a system, one not an OID.
fn authority_system_adt() -> Vec<u8> {
    let pid = segment(
        "PID",
        &[
            (1, "1"),
            (
                3,
                "9434765919^^^NHS&2.16.840.1.113883.2.1.4.1&ISO^NH\
                 ~K9^^^RX1&1.2.826.0.1.99&ISO^MR\
                 ~A55^^^&0F8FAD5B-D9CB-469F-A165-70867728950E&UUID^AN\
                 ~Z1^^^RX1&https://pas.example.nhs.uk/Id/pas&URI^PI\
                 ~Q7^^^LOCAL&abc&L^MR\
                 ~R8^^^RX1&1.02&ISO^MR",
            ),
            (5, "SMITH^JOHN"),
        ],
    );
    let pv1 = segment(
        "PV1",
        &[
            (1, "1"),
            (2, "I"),
            (
                7,
                "C123^DOC^ANN^^^^^^&1.2.3.4&ISO^^^^DN~G1234567^GP^BOB^^^^^^GMC&1.2.3.5&ISO",
            ),
            (19, "V55^^^RX1&2.16.840.1.113883.19&ISO^VN"),
            (50, "ALT9^^^&2.16.840.1.113883.19.7&ISO"),
        ],
    );
    format!("MSH|^~\\&|PAS|RX1|EPR|RX1|20240101||ADT^A01|7|P|2.5\r{pid}\r{pv1}\r").into_bytes()
}

#[test]
fn assigning_authority_universal_ids_are_identifier_systems() {
    let bytes = authority_system_adt();
    let (e, r) = map(&bytes);
    let p = e.patient.as_ref().unwrap();
    let ids: Vec<&Identifier> = p.identifiers.iter().map(|i| &i.value).collect();
    // The NHS number keeps its UK Core system: the OID is not kept, and is
    // reported.
    assert!(matches!(ids[0], Identifier::Nhs { .. }));
    let unmapped = |raw: &str| r.unmapped.iter().any(|u| u.raw == raw);
    assert!(unmapped("2.16.840.1.113883.2.1.4.1"));
    // ISO: an OID system beside the namespace as authority.
    assert_eq!(
        ids[1],
        &Identifier::Mrn {
            value: "K9".into(),
            authority: Some("RX1".into()),
            system: Some("urn:oid:1.2.826.0.1.99".into()),
        }
    );
    // UUID: lower case, as urn:uuid; no namespace, no authority.
    assert_eq!(
        ids[2],
        &Identifier::Typed {
            kind: "AN".into(),
            value: "A55".into(),
            authority: None,
            system: Some("urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e".into()),
        }
    );
    // URI: as itself.
    assert_eq!(
        ids[3].authority_system(),
        Some("https://pas.example.nhs.uk/Id/pas")
    );
    // A type that names no system (L), and an ISO id that is no OID: no
    // system, both parts reported unmapped.
    assert_eq!(ids[4].authority_system(), None);
    assert_eq!(ids[5].authority_system(), None);
    for raw in ["abc", "L", "1.02"] {
        assert!(unmapped(raw), "{raw} not reported");
    }
    // The universal id and its type are sources of the identifier, and never
    // reported unmapped when kept.
    let paths: Vec<String> = p.identifiers[1]
        .sources
        .iter()
        .filter_map(|s| match s {
            Source::V2 { path, .. } => Some(path.to_string()),
            _ => None,
        })
        .collect();
    assert!(paths.iter().any(|p| p.ends_with(".4.2")), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with(".4.3")), "{paths:?}");
    for kept in [
        "1.2.826.0.1.99",
        "0F8FAD5B-D9CB-469F-A165-70867728950E",
        "https://pas.example.nhs.uk/Id/pas",
        "UUID",
        "URI",
        "2.16.840.1.113883.19",
        "2.16.840.1.113883.19.7",
        "1.2.3.4",
    ] {
        assert!(!unmapped(kept), "{kept} kept but reported unmapped");
    }
    // The NHS number still keys the patient.
    assert!(matches!(&r.identity[0].key, Some(Identifier::Nhs { .. })));
    // PV1-19 and PV1-50 visit numbers.
    let enc = e.encounter.as_ref().unwrap();
    let systems: Vec<Option<&str>> = enc
        .identifiers
        .iter()
        .map(|i| i.value.authority_system())
        .collect();
    assert_eq!(
        systems,
        [
            Some("urn:oid:2.16.840.1.113883.19"),
            Some("urn:oid:2.16.840.1.113883.19.7")
        ]
    );
    // XCN.9: typed by XCN.13 with an OID system; a GMC register keeps its UK
    // system and leaves the OID unread.
    assert_eq!(
        enc.participants[0].practitioner.identifiers[0].value,
        Identifier::Typed {
            kind: "DN".into(),
            value: "C123".into(),
            authority: None,
            system: Some("urn:oid:1.2.3.4".into()),
        }
    );
    assert_eq!(
        enc.participants[1].practitioner.identifiers[0].value,
        Identifier::Gmp("G1234567".into())
    );
    assert!(unmapped("1.2.3.5"));
}

#[test]
fn an_ei_universal_id_is_the_system_of_order_ids() {
    let (e, r) = map(
        b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500+0000||ORU^R01|9|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1|P1^LAB^2.16.840.1.113883.19.5^ISO|F1^LAB^x^L|1234^FBC^LN|||20240312080000\r\
OBX|1|NM|2^B^LN||7|mmol/L||||F\r",
    );
    let ids = &e.reports[0].identifiers;
    assert_eq!(
        ids[0].value,
        Identifier::Typed {
            kind: "PLAC".into(),
            value: "P1".into(),
            authority: Some("LAB".into()),
            system: Some("urn:oid:2.16.840.1.113883.19.5".into()),
        }
    );
    assert_eq!(ids[1].value.authority_system(), None);
    assert!(r.unmapped.iter().any(|u| u.raw == "x"));
    assert!(!r.unmapped.iter().any(|u| u.raw == "2.16.840.1.113883.19.5"));
}

/// Fields consumed for repeating what is kept (EVN-1 = MSH-9.2, PV1-39 =
/// PV1-3.4) are consumed only when they do repeat it; otherwise the report
/// lists them.
#[test]
fn repeated_fields_are_consumed_only_when_they_repeat() {
    let unmapped = |evn1: &str, pv1_39: &str| {
        let mut pv1 = vec![""; 40];
        pv1[0] = "PV1";
        pv1[1] = "1";
        pv1[2] = "I";
        pv1[3] = "W1^^^RX1";
        pv1[39] = pv1_39;
        let text = format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.5\r\
EVN|{evn1}|20240312091500\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r{}\r",
            pv1.join("|")
        );
        let msg = Message::parse(text.as_bytes()).unwrap();
        let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
        check_invariants(text.as_bytes(), &event, &report);
        report
            .unmapped
            .iter()
            .map(|u| (u.source.to_string(), u.raw.clone()))
            .filter(|(at, _)| at.contains("EVN[1]-1") || at.contains("PV1[1]-39"))
            .map(|(_, raw)| raw)
            .collect::<Vec<_>>()
    };
    assert!(unmapped("A01", "RX1").is_empty());
    assert_eq!(unmapped("A02", "RX1"), ["A02"]);
    assert_eq!(unmapped("A01", "RX9"), ["RX9"]);
}

/// Fields with no FHIR target in the IG (DG1-2 coding method, NTE-2 source
/// of comment) are reported, not silently consumed.
#[test]
fn fields_without_a_target_are_reported() {
    let text = "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500||ORU^R01|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
DG1|1|I10|J45^Asthma^I10\r\
OBR|1|||718-7^Haemoglobin^LN\r\
OBX|1|NM|718-7^Haemoglobin^LN||135|g/L\r\
NTE|1|L|Sample slightly haemolysed\r";
    let msg = Message::parse(text.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    check_invariants(text.as_bytes(), &event, &report);
    let reported = |at: &str| {
        report
            .unmapped
            .iter()
            .filter(|u| u.source.to_string().starts_with(at))
            .map(|u| u.raw.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(reported("HL7 v2 DG1[1]-2"), ["I10"]);
    assert_eq!(reported("HL7 v2 NTE[1]-2"), ["L"]);
    // The note itself is kept, on the observation.
    assert_eq!(
        event.reports[0].observations[0].notes[0].value,
        "Sample slightly haemolysed"
    );
}

/// A message without an MSH-9.1 message code (absent, empty or only a
/// trigger) cannot be mapped: it is refused, never mapped as an unknown kind.
#[test]
fn no_message_code_is_not_a_message() {
    for msh in [
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500",
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||",
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500|||42|P|2.4",
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||^A01|42|P|2.4",
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500|| ^A01|42|P|2.4",
    ] {
        let text = format!("{msh}\rPID|1||9434765919^^^NHS^NH||SMITH^ANN\r");
        let msg = Message::parse(text.as_bytes()).unwrap();
        let got = map_message(&msg, &V2Options::default());
        assert_eq!(
            got.err(),
            Some(carecodec_map::MapError::NotAMessage(
                "no MSH-9 message type"
            )),
            "{msh}"
        );
    }
}

/// MSH-3 / MSH-5 universal ids become MessageHeader endpoints only when they
/// have the shape their type says; others are kept and reported.
#[test]
fn an_endpoint_is_made_only_from_a_universal_id_of_its_type() {
    let (e, r) = map(
        b"MSH|^~\\&|PAS^RX1^ISO|RX1|EPR^not a uri^URI|RX1|20240312091500||ADT^A01|42|P|2.4\r\
        PID|1||9434765919^^^NHS^NH||SMITH^ANN\r",
    );
    let app = |a: &Option<Sourced<carecodec_model::Application>>| a.as_ref().unwrap().value.clone();
    let (source, destination) = (app(&e.source_application), app(&e.destination_application));
    assert_eq!(source.universal_id.as_deref(), Some("RX1"));
    assert_eq!(source.endpoint(), None);
    assert_eq!(destination.endpoint(), None);
    let reasons: Vec<(&str, &str)> = r
        .invalid
        .iter()
        .map(|i| (i.raw.as_str(), i.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "RX1",
                "typed ISO but not an OID: kept as the universal id, no endpoint made from it"
            ),
            (
                "not a uri",
                "typed URI but not an absolute URI: kept as the universal id, no endpoint made from it"
            ),
        ]
    );
    let (e, r) = map(b"MSH|^~\\&|PAS^2.16.840.1.113883.2.1.3.2^ISO|RX1|EPR^https://epr.example.nhs.uk^URI|RX1|20240312091500||ADT^A01|42|P|2.4\r\
        PID|1||9434765919^^^NHS^NH||SMITH^ANN\r");
    assert!(r.invalid.is_empty());
    assert_eq!(
        app(&e.source_application).endpoint().as_deref(),
        Some("urn:oid:2.16.840.1.113883.2.1.3.2")
    );
    assert_eq!(
        app(&e.destination_application).endpoint().as_deref(),
        Some("https://epr.example.nhs.uk")
    );
}

/// HL7's DTM syntax allows year 0000 and offsets to ±23:59; FHIR's dateTime
/// does not (0001–9999, within ±14:00). Such values are reported and
/// dropped, so no Bundle carries them; an MSH-7 offset out of range is not
/// used for other times (the zone rule applies).
#[test]
fn times_fhir_cannot_hold_are_reported() {
    let (e, r) = map(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500+2330||ADT^A01|t1|P|2.4\r\
        EVN|A01|20240312091500+1500||||20240312091500\r\
        PID|1||9434765919^^^NHS^NH||SMITH^ANN||00000101|F\r",
    );
    assert!(e.sent.is_none());
    assert!(e.recorded.is_none());
    assert!(e.patient.as_ref().unwrap().birth_date.is_none());
    let got: Vec<(&str, &str)> = r
        .invalid
        .iter()
        .map(|i| (i.raw.as_str(), i.reason.as_str()))
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    for (raw, reason) in &got {
        assert!(reason.contains("FHIR cannot hold"), "{raw}: {reason}");
    }
    // EVN-6 had no offset: Europe/London's (GMT in March), not MSH-7's +23:30.
    assert_eq!(
        e.occurred.unwrap().value.at.to_rfc3339(),
        "2024-03-12T09:15:00+00:00"
    );
    // The limits themselves are fine.
    let (e, r) = map(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500+1400||ADT^A01|t2|P|2.4\r\
        PID|1||9434765919^^^NHS^NH||SMITH^ANN||00010101|F\r",
    );
    assert!(r.invalid.is_empty(), "{:?}", r.invalid);
    assert_eq!(
        e.sent.unwrap().value.at.to_rfc3339(),
        "2024-03-12T09:15:00+14:00"
    );
}

/// AL1-6 and NK1-8/9 fill date-only model fields: a time sent with them is
/// not kept, and the report says so; a date alone gives no report.
#[test]
fn a_time_on_a_date_only_field_is_reported() {
    let (e, r) = map(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|d1|P|2.4\r\
        PID|1||9434765919^^^NHS^NH||SMITH^ANN\r\
        NK1|1|SMITH^JOHN|SPO|||||202001010930|20250101\r\
        AL1|1|DA|PEN^Penicillin^L|SV|Rash|202403120915\r",
    );
    let p = e.patient.as_ref().unwrap();
    let contact = &p.contacts[0];
    assert_eq!(
        contact.from.as_ref().unwrap().value.to_string(),
        "2020-01-01"
    );
    assert_eq!(
        e.allergies[0]
            .identified
            .as_ref()
            .unwrap()
            .value
            .to_string(),
        "2024-03-12"
    );
    let got: Vec<(&str, carecodec_model::Action)> = r
        .invalid
        .iter()
        .map(|i| (i.raw.as_str(), i.action))
        .collect();
    assert_eq!(
        got,
        [
            ("202001010930", Action::Interpreted),
            ("202403120915", Action::Interpreted)
        ]
    );
}

#[test]
fn two_different_nhs_numbers_quarantine_the_patient() {
    // PID-3 repeats with two valid NHS numbers: which is this patient's is
    // not the mapper's to guess.
    let (e, r) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1||9434765919^^^NHS^NH~4010232137^^^NHS^NH||X^Y\r");
    assert!(r.quarantined());
    let d = &r.identity[0];
    assert!(d.key.is_none());
    assert!(d.reason.contains("conflicting NHS numbers"), "{}", d.reason);
    assert!(d.reason.contains("9434765919") && d.reason.contains("4010232137"));
    assert_eq!(d.seen.len(), 2);
    assert_eq!(e.patient.unwrap().identifiers.len(), 2);
    // PID-2 against PID-3 likewise, even beside an MRN.
    let (_, r) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1|4010232137^^^NHS^NH|9434765919^^^NHS^NH~K9^^^RX1^MR||X^Y\r");
    assert!(r.quarantined(), "{:?}", r.identity);
    // The same number twice is one patient: keyed.
    let (_, r) = map(b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A28|1|P|2.4\rPID|1|9434765919^^^NHS^NH|9434765919^^^NHS^NH||X^Y\r");
    assert!(!r.quarantined());
    assert_eq!(r.identity[0].key.as_ref().unwrap().value(), "9434765919");
}

#[test]
fn adt_without_pid_is_quarantined_and_oru_without_pid_is_noted() {
    // Every ADT structure requires PID: an admission about no patient.
    let (e, r) =
        map(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|M1|P|2.4\rPV1|1|I|WARD1^^^RX1\r");
    assert!(e.patient.is_none());
    assert!(r.quarantined());
    assert!(
        r.identity[0].reason.contains("no PID"),
        "{}",
        r.identity[0].reason
    );
    // ORU^R01's PATIENT group is optional: mapped, with a note.
    let (_, r) = map(b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500||ORU^R01|M1|P|2.4\rOBR|1|P1|F1|UE^Renal^L\rOBX|1|NM|2160-0^Creatinine^LN||75|umol/L|||||F\r");
    assert!(!r.quarantined());
    assert!(
        r.notes.iter().any(|n| n.contains("no PID")),
        "{:?}",
        r.notes
    );
}

#[test]
fn obx_units_are_kept_with_text_values_and_left_unread_for_coded_ones() {
    let (e, r) = map(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ORU^R01|M1|P|2.4\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\rOBR|1|P1|F1|UE^Renal^L\rOBX|1|ST|2160-0^Creatinine^LN||<5|umol/L^umol/L^UCUM|||||F\rOBX|2|CWE|X^Y^L||POS^Positive^L|mmol/L|||||F\r");
    let obs = &e.reports[0].observations;
    assert_eq!(
        obs[0].value.as_ref().unwrap().value,
        ObservationValue::Text("<5 umol/L".into())
    );
    assert!(
        obs[0].value.as_ref().unwrap().sources.len() > 1,
        "the unit is a source of the value"
    );
    // A coded value has no place for a unit: reported, not swallowed.
    assert!(
        r.unmapped.iter().any(|u| u.raw == "mmol/L"),
        "{:?}",
        r.unmapped
    );
    assert!(!r.unmapped.iter().any(|u| u.raw == "umol/L"));
}

#[test]
fn encounter_status_follows_the_event() {
    let pid = "PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r";
    let status = |trigger: &str, pv1: &str| {
        let m = format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^{trigger}|M1|P|2.4\r{pid}{pv1}\r"
        );
        let (e, r) = map(m.as_bytes());
        (e.encounter.unwrap(), r)
    };
    let visit = "PV1|1|I|WARD1^^^RX1|||OLDWARD^^^RX1|||||||||||||V100^^^RX1^VN|||||||||||||||||||||||||20240312090000";
    let ended = format!("{visit}|20240315100000");
    // A03 is finished with or without PV1-45.
    assert_eq!(status("A03", visit).0.status.as_deref(), Some("finished"));
    assert_eq!(status("A03", &ended).0.status.as_deref(), Some("finished"));
    assert_eq!(
        status("A01", visit).0.status.as_deref(),
        Some("in-progress")
    );
    assert_eq!(status("A04", visit).0.status.as_deref(), Some("planned"));
    // A08: the IG's unknown, unless PV1 says where the visit stands (an
    // admit or discharge time): a keyed update replaces the Encounter a
    // server holds, so PV1's status is kept, with a note.
    let (e, r) = status("A08", &ended);
    assert_eq!(e.status.as_deref(), Some("finished"));
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("ADT^A08: Encounter status finished from PV1")),
        "{:?}",
        r.notes
    );
    assert_eq!(
        status("A08", visit).0.status.as_deref(),
        Some("in-progress")
    );
    let (e, r) = status("A08", "PV1|1|I|WARD1^^^RX1");
    assert_eq!(e.status.as_deref(), Some("unknown"));
    assert!(
        r.notes.iter().all(|n| !n.contains("from PV1")),
        "{:?}",
        r.notes
    );
    assert_eq!(status("A11", visit).0.status.as_deref(), Some("cancelled"));
    // A13 cancels the discharge: in progress, and PV1-45 is not its end.
    let (e, r) = status("A13", &ended);
    assert_eq!(e.status.as_deref(), Some("in-progress"));
    assert!(e.discharged.is_none());
    assert!(r.unmapped.iter().any(|u| u.raw == "20240315100000"));
    // A12 (no target in the IG map): PV1 decides; PV1-6, the cancelled
    // transfer's location, is no completed stay.
    let (e, r) = status("A12", visit);
    assert_eq!(e.status.as_deref(), Some("in-progress"));
    assert!(e.prior_location.is_none());
    assert!(r.unmapped.iter().any(|u| u.raw == "OLDWARD"));
    let (e, _) = status("A02", visit);
    assert!(e.prior_location.is_some());
}

#[test]
fn ethnicity_in_another_table_keeps_its_system() {
    let eth = |v: &str| {
        let m = format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A28|M1|P|2.4\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M||||||||||||||{v}\r"
        );
        map(m.as_bytes())
            .0
            .patient
            .unwrap()
            .ethnic_category
            .unwrap()
            .value
    };
    let n = eth("N^Not Hispanic or Latino^HL70189");
    assert_eq!(
        n.system,
        carecodec_model::CodeSystem::V2Table("0189".into())
    );
    let h = eth("H^Hispanic or Latino^HL70005");
    assert_eq!(
        h.system,
        carecodec_model::CodeSystem::V2Table("0005".into())
    );
    // No table named, or the NHS one: the NHS category.
    for v in ["N", "N^African^NHSEthnicCategory"] {
        assert_eq!(
            eth(v).system,
            carecodec_model::CodeSystem::NhsDataDictionary("EthnicCategory".into()),
            "{v}"
        );
    }
}

#[test]
fn allergy_severity_outside_table_0128_is_reported() {
    let (e, r) = map(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A28|M1|P|2.4\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\rAL1|1|DA|Z88.5^Penicillin allergy^I10|5\rAL1|2|DA|X^Y^L|SV\r");
    assert!(e.allergies[0].severity.is_none());
    assert_eq!(e.allergies[1].severity.as_ref().unwrap().value.code, "SV");
    assert!(
        r.invalid
            .iter()
            .any(|i| i.raw == "5" && i.action == Action::Dropped && i.reason.contains("0128")),
        "{:?}",
        r.invalid
    );
}

#[test]
fn merge_without_mrg_or_into_itself_is_reported() {
    let (e, r) = map(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\rEVN|A40|20240312091500\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r");
    assert!(e.merged_from.is_empty());
    assert!(
        r.notes.iter().any(|n| n.contains("no MRG-1")),
        "{:?}",
        r.notes
    );
    let (e, r) = map(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\rEVN|A40|20240312091500\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\rMRG|9434765919^^^NHS^NH~OLD1^^^RX1^MR\r");
    assert_eq!(e.merged_from.len(), 1);
    assert_eq!(e.merged_from[0].value.value(), "OLD1");
    assert!(
        r.invalid
            .iter()
            .any(|i| i.raw == "9434765919" && i.reason.contains("merged into itself")),
        "{:?}",
        r.invalid
    );
    // A real merge: no report entry but the note that the merged-away
    // Patient's copy is replaced (probe eleven F12).
    let (e, r) = map(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\rEVN|A40|20240312091500\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\rMRG|4010232137^^^NHS^NH\r");
    assert_eq!(e.merged_from.len(), 1);
    assert!(r.invalid.is_empty() && r.notes.len() == 1, "{r:?}");
    assert!(r.notes[0].contains("merged-away Patient"), "{r:?}");
}

#[test]
fn escapes_hl7_does_not_define_are_kept_as_sent_and_reported() {
    // Probe finding 18: `\Q\` (no such escape), `\XZZ\` (not hex) and an
    // unterminated `\F` decode as sent (hl7v2 passes on what it cannot
    // read); the report must say so.
    let msg = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ORU^R01|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH\\Q\\^JO\\XZZ\\^A\\F\\B||19700214|M\r\
OBR|1|P1|F1|FBC^FBC^L\r\
OBX|1|ST|718-7^Hb^LN||see \\F note|||||F\r";
    let (event, report) = map(msg);
    let name = &event.patient.unwrap().names[0].value;
    assert_eq!(name.family.as_deref(), Some("SMITH\\Q\\"));
    assert_eq!(name.given, ["JO\\XZZ\\", "A|B"]);
    let kept: Vec<(&str, &str)> = report
        .invalid
        .iter()
        .filter(|i| i.action == Action::KeptAsText && i.reason.starts_with("bad escape"))
        .map(|i| (i.raw.as_str(), i.reason.as_str()))
        .collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert!(
        kept[0].0 == "SMITH\\Q\\" && kept[0].1.contains("\\Q\\"),
        "{kept:?}"
    );
    assert!(
        kept[1].0 == "JO\\XZZ\\" && kept[1].1.contains("\\XZZ\\"),
        "{kept:?}"
    );
    assert!(kept[2].0 == "see \\F note", "{kept:?}");
}

#[test]
fn formatted_text_renders_its_formatting_commands() {
    // Probe finding 10: NTE-3 (FT) and OBX-5 typed FT/TX kept `\.br\`,
    // `\H\`, `\N\` verbatim in the note / value text. Rendered: a break is a
    // line break, highlighting is dropped; ST is not formatted text.
    let msg = b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500||ORU^R01|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
OBR|1|P1|F1|FBC^FBC^L\r\
OBX|1|FT|1^Report^L||Line one\\.br\\Line \\H\\two\\N\\\\.sp 2\\end||||||F\r\
NTE|1||Film reviewed.\\.br\\Suggest repeat \\H\\urgently\\N\\.\r\
OBX|2|TX|2^Comment^L||a\\.br\\b||||||F\r\
OBX|3|ST|3^Code^L||a\\.br\\b||||||F\r";
    let (event, report) = map(msg);
    let obs = &event.reports[0].observations;
    let text = |i: usize| match &obs[i].value.as_ref().unwrap().value {
        ObservationValue::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(0), "Line one\nLine two\n\nend");
    assert_eq!(text(1), "a\nb");
    assert_eq!(text(2), "a\\.br\\b");
    assert_eq!(
        obs[0].notes[0].value,
        "Film reviewed.\nSuggest repeat urgently."
    );
    // The ST's command is kept as sent, and said so (see
    // `formatting_escapes_in_text_that_is_not_formatted_are_reported`).
    let invalid = &report.invalid;
    assert_eq!(invalid.len(), 1, "{:?}", report.invalid);
    assert_eq!(invalid[0].raw, "a\\.br\\b");
    assert_eq!(invalid[0].action, Action::KeptAsText);
}

#[test]
fn invalid_value_reasons_give_the_value_line() {
    // Probe finding 17: a value the mapper could not read said `at line 0`,
    // where a parse error says the real line.
    let msg = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A28|M1|P|2.4\r\
EVN|A28|20240312091500\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||1970021X|M\r";
    let (_, report) = map(msg);
    let bad = report
        .invalid
        .iter()
        .find(|i| i.raw == "1970021X")
        .expect("PID-7 reported");
    let at = msg.windows(8).position(|w| w == b"1970021X").unwrap();
    assert!(
        bad.reason.contains(&format!("at line 3, byte {at}")),
        "{}",
        bad.reason
    );
}

/// An A40 whose MRG-1 holds only an invalid NHS number keeps it in the
/// model, but no Bundle can name the replaced record: the report says so.
#[test]
fn a_merge_of_only_invalid_nhs_numbers_is_noted() {
    let (e, r) = map(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\rEVN|A40|20240312091500\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\rMRG|4010232138^^^NHS^NH\r");
    assert_eq!(e.merged_from.len(), 1);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("only invalid NHS numbers")),
        "{:?}",
        r.notes
    );
}

/// The v2 path of a source (`OBX[2]-5[1]`).
fn v2_at(s: &Source) -> String {
    match s {
        Source::V2 { path, .. } => path.to_string(),
        other => panic!("{other:?}"),
    }
}

/// The paths of the unmapped leaves of `r`.
fn unmapped_paths(r: &MappingReport) -> Vec<String> {
    r.unmapped.iter().map(|u| v2_at(&u.source)).collect()
}

const ORU_HEAD: &str = "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120500+0000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r";

#[test]
fn an_obx_without_obx_3_is_reported_and_its_notes_go_to_no_other_result() {
    // Probe (ORU) finding 2: the NTE of an OBX with no OBX-3 became a note
    // on the observation before it, and the dropped OBX was not reported
    // though OBX-1/2 were consumed.
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR|LAB1^LAB|58410-2^FBC^LN|||20240312101500\r\
OBX|1|NM|718-7^Haemoglobin^LN||135|g/L|130-180|N|||F\r\
OBX|2|ST|||see comment||||||F\r\
NTE|1||Sample haemolysed: potassium result invalid\r\
OBX|3|NM|2823-3^Potassium^LN||4.1|mmol/L|||||F\r\
NTE|2||Repeat sample\r"
    );
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    assert_eq!(obs.len(), 2);
    assert!(obs[0].notes.is_empty(), "{:?}", obs[0].notes);
    assert_eq!(obs[1].notes.len(), 1);
    assert_eq!(obs[1].notes[0].value, "Repeat sample");
    // The dropped observation is reported, at its segment …
    let dropped: Vec<_> = r
        .invalid
        .iter()
        .filter(|i| v2_at(&i.source) == "OBX[2]")
        .collect();
    assert_eq!(dropped.len(), 1, "{:?}", r.invalid);
    assert_eq!(dropped[0].action, Action::Dropped);
    assert!(
        dropped[0].reason.contains("no OBX-3"),
        "{}",
        dropped[0].reason
    );
    assert_eq!(dropped[0].raw, "OBX|2|ST|||see comment||||||F");
    // … and nothing of it, nor its note, is consumed.
    let unmapped = unmapped_paths(&r);
    for at in [
        "OBX[2]-1",
        "OBX[2]-2",
        "OBX[2]-5",
        "OBX[2]-11",
        "NTE[1]-1",
        "NTE[1]-3",
    ] {
        assert!(
            unmapped.iter().any(|u| u.starts_with(at)),
            "{at}: {unmapped:?}"
        );
    }
    assert!(!unmapped.iter().any(|u| u.starts_with("NTE[2]")));
}

#[test]
fn sn_values_kept_as_text_keep_their_unit() {
    // Probe (ORU) finding 4: a ratio, `num+`, `<>` and a comparator with a
    // range were kept as text without the OBX-6 unit they were read with.
    let rows = [
        ("^1^:^128", "{titer}^titer^UCUM", "1:128 titer"),
        ("<>^5", "mmol/L^mmol/L^UCUM", "<>5 mmol/L"),
        ("^2^+", "g/L^g/L^UCUM", "2+ g/L"),
        (">^10^-^20", "a^years^UCUM", ">10-20 years"),
        ("^1^/^2", "", "1/2"),
    ];
    let mut msg = format!("{ORU_HEAD}OBR|1|ORD1^EPR||SERO^Serology^L\r");
    for (i, (value, unit, _)) in rows.iter().enumerate() {
        msg.push_str(&format!("OBX|{}|SN|X^X^L||{value}|{unit}|||||F\r", i + 1));
    }
    let (e, r) = map(msg.as_bytes());
    for (i, (.., text)) in rows.iter().enumerate() {
        let v = e.reports[0].observations[i].value.as_ref().unwrap();
        assert_eq!(v.value, ObservationValue::Text((*text).into()), "{text}");
        // The unit is a source only where the value holds it.
        let unit_source = v.sources.iter().any(|s| v2_at(s).contains("-6."));
        assert_eq!(unit_source, text.contains(' '), "{text}");
    }
    assert!(r.unmapped.is_empty(), "{:?}", r.unmapped);
}

#[test]
fn only_the_first_repetition_of_a_time_value_is_kept() {
    // Probe (ORU) finding 5: every repetition of a DT/TS OBX-5 was consumed,
    // the first kept and the source span covering them all.
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR||VAX^Vaccination^L\r\
OBX|1|DT|VAC^Dates of doses^L||20240101~20240301~20240601||||||F\r\
OBX|2|TS|SEIZ^Seizure times^L||202403011200~202403021400||||||F\r"
    );
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    let v = obs[0].value.as_ref().unwrap();
    assert!(
        matches!(&v.value, ObservationValue::DateTime(d) if d.at.date_naive().to_string() == "2024-01-01"),
        "{:?}",
        v.value
    );
    assert_eq!(v.sources.len(), 1);
    let Source::V2 { path, span } = &v.sources[0] else {
        panic!("{:?}", v.sources)
    };
    assert_eq!(path.to_string(), "OBX[1]-5[1]");
    assert_eq!(&msg.as_bytes()[span.clone()], b"20240101");
    assert!(obs[1].value.is_some());
    let unmapped: Vec<(String, &str)> = r
        .unmapped
        .iter()
        .map(|u| (v2_at(&u.source), u.raw.as_str()))
        .collect();
    assert_eq!(
        unmapped,
        [
            ("OBX[1]-5[2].1.1".to_owned(), "20240301"),
            ("OBX[1]-5[3].1.1".to_owned(), "20240601"),
            ("OBX[2]-5[2].1.1".to_owned(), "202403021400"),
        ]
    );
}

#[test]
fn an_alternate_text_without_its_code_is_left_unread() {
    // Probe (ORU) finding 6: CWE.5 beside a first triplet with a code was
    // consumed (and listed as a source of the concept) but kept nowhere.
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR||MICRO^Culture^L\r\
OBX|1|CWE|ORG^Organism^L||112283007^Escherichia coli^SCT^^ESBL-producing E. coli (local)||||||F\r\
OBX|2|NM|718-7^Haemoglobin^LN^^Hb (POCT, capillary)^L||135|g/L|||||F\r\
OBX|3|CWE|ORG^Organism^L||^^^1234^Alt only^L||||||F\r\
DG1|1||J18.9^Pneumonia^I10^^Aspiration pneumonia (local)\r"
    );
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    let coded = |i: usize| match &obs[i].value.as_ref().unwrap().value {
        ObservationValue::Coded(c) => c.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(coded(0).codes.len(), 1);
    assert_eq!(coded(0).text, None);
    // An alternate triplet with its code is kept as the concept's coding.
    assert_eq!(coded(2).codes.len(), 1);
    assert_eq!(coded(2).codes[0].code, "1234");
    assert_eq!(coded(2).codes[0].display.as_deref(), Some("Alt only"));
    // No source of a concept is a component it does not hold.
    let sources = obs[0]
        .value
        .as_ref()
        .unwrap()
        .sources
        .iter()
        .chain(&obs[1].code.sources);
    for s in sources.chain(&e.conditions[0].code.sources) {
        assert!(!v2_at(s).ends_with(".5"), "{s}");
        assert!(!v2_at(s).ends_with(".6"), "{s}");
    }
    let mut unmapped: Vec<(String, &str)> = r
        .unmapped
        .iter()
        .map(|u| (v2_at(&u.source), u.raw.as_str()))
        .collect();
    unmapped.sort();
    assert_eq!(
        unmapped,
        [
            ("DG1[1]-3[1].5.1".to_owned(), "Aspiration pneumonia (local)"),
            (
                "OBX[1]-5[1].5.1".to_owned(),
                "ESBL-producing E. coli (local)"
            ),
            ("OBX[2]-3[1].5.1".to_owned(), "Hb (POCT, capillary)"),
            ("OBX[2]-3[1].6.1".to_owned(), "L"),
        ]
    );
}

#[test]
fn an_obr_without_obr_4_is_noted() {
    // Probe (ORU) finding 12: the report had no code and nothing said so
    // (the FHIR writer invented the text "Result report").
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR|LAB1^LAB||||20240312101500\r\
OBX|1|NM|NA^Sodium^L||140|mmol/L|||||F\r"
    );
    let (e, r) = map(msg.as_bytes());
    assert!(e.reports[0].code.value.codes.is_empty());
    assert_eq!(e.reports[0].code.value.text, None);
    assert!(
        r.notes.iter().any(|n| n.starts_with("OBR[1]: no OBR-4")),
        "{:?}",
        r.notes
    );
}

#[test]
fn formatting_escapes_in_text_that_is_not_formatted_are_reported() {
    // Probe (ORU) finding 13: `\H\ \N\` (and `\.br\`) are formatting
    // commands HL7 defines for FT, TX and CF only (v2.5 §2.7.1); in an ST
    // value or a name they reached FHIR as sent, unreported.
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR||X1^Battery^L\r\
OBX|1|ST|C1^a^L||val \\H\\b\\N\\ x||||||F\r\
OBX|2|TX|C2^a^L||val \\H\\b\\N\\ x||||||F\r\
OBX|3|ST|C3^a^L||a \\F\\ b||||||F\r"
    );
    let (e, r) = map(msg.as_bytes());
    let text = |i: usize| match &e.reports[0].observations[i].value.as_ref().unwrap().value {
        ObservationValue::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(0), "val \\H\\b\\N\\ x");
    assert_eq!(text(1), "val b x");
    assert_eq!(text(2), "a | b");
    assert_eq!(r.invalid.len(), 1, "{:?}", r.invalid);
    let x = &r.invalid[0];
    assert_eq!(v2_at(&x.source), "OBX[1]-5[1]");
    assert_eq!(x.action, Action::KeptAsText);
    assert!(
        x.reason.contains("\\H\\") && x.reason.contains("FT"),
        "{}",
        x.reason
    );
}

#[test]
fn an_al1_or_dg1_without_its_code_is_reported_dropped_and_left_unread() {
    // As an OBX without OBX-3: AL1-1 / DG1-1 were consumed and the record
    // dropped with nothing in the report.
    let msg = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312120500+0000||ADT^A01|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
AL1|1|DA||SV|Rash\r\
AL1|2|DA|PEN^Penicillin^L|MO\r\
DG1|1||||20240312\r\
DG1|2||J18.9^Pneumonia^I10\r";
    let (e, r) = map(msg.as_bytes());
    assert_eq!(e.allergies.len(), 1);
    assert_eq!(e.conditions.len(), 1);
    for (at, why, raw) in [
        ("AL1[1]", "no AL1-3", "AL1|1|DA||SV|Rash"),
        ("DG1[1]", "no DG1-3", "DG1|1||||20240312"),
    ] {
        let dropped: Vec<_> = r
            .invalid
            .iter()
            .filter(|i| v2_at(&i.source) == at)
            .collect();
        assert_eq!(dropped.len(), 1, "{at}: {:?}", r.invalid);
        assert_eq!(dropped[0].action, Action::Dropped);
        assert!(dropped[0].reason.contains(why), "{}", dropped[0].reason);
        assert_eq!(dropped[0].raw, raw);
    }
    let unmapped = unmapped_paths(&r);
    for at in [
        "AL1[1]-1", "AL1[1]-2", "AL1[1]-4", "AL1[1]-5", "DG1[1]-1", "DG1[1]-5",
    ] {
        assert!(
            unmapped.iter().any(|u| u.starts_with(at)),
            "{at}: {unmapped:?}"
        );
    }
    assert!(
        !unmapped
            .iter()
            .any(|u| u.starts_with("AL1[2]") || u.starts_with("DG1[2]"))
    );
    assert!(r.balanced());
}

/// An ORU^R01 with two PATIENT_RESULT groups: the second patient's results
/// and notes are not filed against the first; they are left unread
/// (reported unmapped) and the message is quarantined.
#[test]
fn a_second_patient_group_is_not_read_and_quarantines_the_message() {
    let (e, r) = map(
        b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
OBR|1|ORD1|LAB1|58410-2^Full blood count^LN|||20240312100000\r\
OBX|1|NM|718-7^Haemoglobin^LN||135|g/L|||||F\r\
PID|2||4010232137^^^NHS^NH||JONES^MARY||19800101|F\r\
NTE|1||Patient on dialysis\r\
PV1|1|I|WARD2^^^RX1\r\
OBR|1|ORD2|LAB2|2823-3^Potassium^LN|||20240312101500\r\
OBX|1|NM|2823-3^Potassium^LN||6.9|mmol/L||HH|||F\r\
NTE|1||Repeat urgently\r",
    );
    let p = e.patient.as_ref().unwrap();
    assert_eq!(p.nhs_number().unwrap().as_str(), "9434765919");
    assert_eq!(e.reports.len(), 1);
    assert_eq!(e.reports[0].observations.len(), 1);
    assert!(e.reports[0].observations[0].notes.is_empty());
    assert!(e.observations.is_empty());
    // The second group's PV1 is not the first patient's visit.
    assert!(e.encounter.is_none());
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    // Every leaf of the second group is unmapped.
    for raw in [
        "4010232137",
        "JONES",
        "Patient on dialysis",
        "WARD2",
        "LAB2",
        "6.9",
        "HH",
        "Repeat urgently",
    ] {
        assert!(
            r.unmapped.iter().any(|u| u.raw == raw),
            "{raw}: {:?}",
            r.unmapped
        );
    }
    assert!(r.unmapped.iter().all(|u| match &u.source {
        Source::V2 { path, .. } => path.occurrence >= 2 || ["NTE", "PV1"].contains(&path.segment()),
        _ => false,
    }));
    // The first patient keeps its key; the message is quarantined.
    assert!(!r.identity[0].quarantined());
    assert!(r.quarantined());
    let d = r.identity.iter().find(|d| d.quarantined()).unwrap();
    assert_eq!(
        d.reason,
        "quarantined: ORU^R01 carries 2 patient groups (PID segments); carecodec maps one \
         patient per message: nothing from the second PID on was read"
    );
}

/// ADT^A40 (ADT_A39) with two `{PID, MRG}` groups: the second MRG belongs to
/// the second PID and is not merged into the first.
#[test]
fn a40_with_two_groups_merges_only_the_first_and_is_quarantined() {
    let (e, r) = map(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\r\
EVN|A40|20240312091500\r\
PID|1||9434765919^^^NHS^NH~K1^^^RX1^MR||SMITH^JOHN||19700214|M\r\
MRG|K2^^^RX1^MR\r\
PID|2||9000000009^^^NHS^NH||JONES^MARY\r\
MRG|K3^^^RX1^MR\r",
    );
    assert_eq!(e.merged_from.len(), 1);
    assert_eq!(e.merged_from[0].value.value(), "K2");
    assert!(r.unmapped.iter().any(|u| u.raw == "K3"));
    assert!(r.unmapped.iter().any(|u| u.raw == "9000000009"));
    assert!(r.quarantined());
    assert!(
        r.identity
            .iter()
            .any(|d| d.reason.contains("ADT^A40 carries 2 patient groups")),
        "{:?}",
        r.identity
    );
    // One group: no such decision.
    let (e, r) = map(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\r\
EVN|A40|20240312091500\r\
PID|1||9434765919^^^NHS^NH~K1^^^RX1^MR||SMITH^JOHN||19700214|M\r\
MRG|K2^^^RX1^MR\r",
    );
    assert_eq!(e.merged_from.len(), 1);
    assert!(!r.quarantined(), "{:?}", r.identity);
}

/// Maps each patient group with the invariants of [`check_invariants`].
fn map_groups(bytes: &[u8]) -> Vec<(Event, MappingReport)> {
    let msg = Message::parse(bytes).unwrap();
    let groups = map_patient_groups(&msg, &V2Options::default()).unwrap();
    for (e, r) in &groups {
        check_invariants(bytes, e, r);
    }
    groups
}

/// The ORU^R01 of two PATIENT_RESULT groups that `map_message` quarantines:
/// `map_patient_groups` maps each patient's results, notes and visit as
/// that patient's own event, with provenance naming the message's segments.
#[test]
fn each_patient_group_of_an_oru_is_its_own_event() {
    let bytes = b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01^ORU_R01|M1|P|2.5\r\
SFT|LabSys|1.0\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
OBR|1|ORD1|LAB1|58410-2^Full blood count^LN|||20240312100000\r\
OBX|1|NM|718-7^Haemoglobin^LN||135|g/L|||||F\r\
NTE|1||Haemolysed\r\
PID|2||4010232137^^^NHS^NH||JONES^MARY||19800101|F\r\
NTE|1||Patient on dialysis\r\
PV1|1|I|WARD2^^^RX1\r\
OBR|1|ORD2|LAB2|2823-3^Potassium^LN|||20240312101500\r\
OBX|1|NM|2823-3^Potassium^LN||6.9|mmol/L||HH|||F\r\
NTE|1||Repeat urgently\r";
    let groups = map_groups(bytes);
    assert_eq!(groups.len(), 2);
    let (first, r1) = &groups[0];
    let (second, r2) = &groups[1];
    // Neither group is quarantined; each is its own patient's.
    assert!(
        !r1.quarantined() && !r2.quarantined(),
        "{:?} {:?}",
        r1.identity,
        r2.identity
    );
    assert_eq!(
        first
            .patient
            .as_ref()
            .unwrap()
            .nhs_number()
            .unwrap()
            .as_str(),
        "9434765919"
    );
    assert_eq!(
        second
            .patient
            .as_ref()
            .unwrap()
            .nhs_number()
            .unwrap()
            .as_str(),
        "4010232137"
    );
    assert_eq!(
        (first.message_id.as_deref(), first.group),
        (Some("M1"), Some(1))
    );
    assert_eq!(
        (second.message_id.as_deref(), second.group),
        (Some("M1"), Some(2))
    );
    // The header is each group's.
    assert_eq!(first.sender, second.sender);
    assert_eq!(first.sent, second.sent);
    // The first patient's results carry only their own note; no visit.
    assert!(first.encounter.is_none());
    let hb = &first.reports[0].observations[0];
    assert_eq!(hb.notes.len(), 1);
    assert_eq!(hb.notes[0].value, "Haemolysed");
    // The second patient's potassium, notes and visit are theirs, and their
    // provenance names the message's second OBR, OBX and the PV1.
    let k = &second.reports[0].observations[0];
    assert!(
        matches!(&k.value.as_ref().unwrap().value, ObservationValue::Quantity(q) if q.value == "6.9")
    );
    assert_eq!(k.notes.len(), 1);
    assert_eq!(k.notes[0].value, "Repeat urgently");
    assert_eq!(v2_at(&k.value.as_ref().unwrap().sources[0]), "OBX[2]-5");
    assert_eq!(v2_at(&k.code.sources[0]), "OBX[2]-3.1");
    assert_eq!(v2_at(&second.reports[0].code.sources[0]), "OBR[2]-4.1");
    assert!(second.encounter.is_some());
    for (e, r) in &groups {
        assert!(
            r.notes.iter().any(|n| n.contains("patient group")),
            "{:?}",
            r.notes
        );
        // No leaf of the other group is in this group's report.
        let other = if std::ptr::eq(e, first) {
            "JONES"
        } else {
            "SMITH"
        };
        assert!(
            r.unmapped.iter().all(|u| u.raw != other),
            "{:?}",
            r.unmapped
        );
    }
    // The NTE right after the second PID, a note on the patient, is kept as
    // a report note of the second group only.
    assert!(
        r2.notes.iter().any(|n| n == "NTE: Patient on dialysis"),
        "{:?}",
        r2.notes
    );
    assert!(
        r1.notes.iter().all(|n| !n.contains("dialysis")),
        "{:?}",
        r1.notes
    );
    // SFT is the header's, unmapped in each group.
    for r in [r1, r2] {
        assert_eq!(unmapped_paths(r), ["SFT[1]-1[1].1.1", "SFT[1]-2[1].1.1"]);
    }
    // Each group accounts for the header and its own segments: together they
    // cover every leaf of the message, the header's once per group.
    let msg = Message::parse(bytes).unwrap();
    let (_, whole) = map_message(&msg, &V2Options::default()).unwrap();
    let header_only =
        Message::parse(&bytes[..bytes.windows(4).position(|w| w == b"PID|").unwrap()]).unwrap();
    let (_, header) = map_message(&header_only, &V2Options::default()).unwrap();
    assert_eq!(
        r1.source_leaves + r2.source_leaves,
        whole.source_leaves + header.source_leaves
    );
    assert_eq!(
        r1.mapped + r2.mapped + r1.unmapped.len() + r2.unmapped.len(),
        r1.source_leaves + r2.source_leaves
    );
}

/// ADT^A40 with two `{PID, MRG}` groups: each patient's merge is its own
/// event (`map_message` quarantines the message).
#[test]
fn each_merge_of_an_a40_is_its_own_event() {
    let groups = map_groups(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\r\
EVN|A40|20240312091500\r\
PID|1||9434765919^^^NHS^NH~K1^^^RX1^MR||SMITH^JOHN||19700214|M\r\
MRG|K2^^^RX1^MR\r\
PID|2||4010232137^^^NHS^NH~K4^^^RX1^MR||JONES^MARY\r\
MRG|K3^^^RX1^MR\r",
    );
    assert_eq!(groups.len(), 2);
    let merged: Vec<Vec<String>> = groups
        .iter()
        .map(|(e, _)| {
            e.merged_from
                .iter()
                .map(|m| m.value.value().to_string())
                .collect()
        })
        .collect();
    assert_eq!(merged, [vec!["K2".to_owned()], vec!["K3".to_owned()]]);
    for (e, r) in &groups {
        assert_eq!(e.kind, AdtKind::Merge);
        assert!(!r.quarantined(), "{:?}", r.identity);
        // EVN is the header's: each merge carries its time.
        assert!(e.recorded.is_some());
    }
    assert_eq!(
        v2_at(&groups[1].0.merged_from[0].sources[0]),
        "MRG[2]-1[1].1"
    );
}

/// Messages `map_patient_groups` does not split: one event, as
/// `map_message` maps it (quarantined when a second PID is in another
/// message structure, or when results of no patient come before the first
/// PID).
#[test]
fn groups_are_split_only_where_they_are_independent_events() {
    // One patient: the same as `map_message`.
    let one = b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1||LAB1|58410-2^FBC^LN\r\
OBX|1|NM|718-7^Hb^LN||135|g/L\r";
    let groups = map_groups(one);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0], map(one));
    assert_eq!(groups[0].0.message_id.as_deref(), Some("M1"));
    // A17 swaps two patients: one event, quarantined.
    let a17 = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A17|M2|P|2.4\r\
EVN|A17|20240312091500\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1^1^A\r\
PID|2||4010232137^^^NHS^NH||JONES^MARY\r\
PV1|1|I|W1^1^B\r";
    let groups = map_groups(a17);
    assert_eq!(groups.len(), 1);
    assert!(groups[0].1.quarantined());
    // Results of no patient before the first PID: not split.
    let lead = b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01|M3|P|2.5\r\
OBR|1||QC1|QC^Control\r\
OBX|1|NM|718-7^Hb^LN||135|g/L\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1||LAB1|58410-2^FBC^LN\r\
PID|2||4010232137^^^NHS^NH||JONES^MARY\r\
OBR|1||LAB2|58410-2^FBC^LN\r";
    let groups = map_groups(lead);
    assert_eq!(groups.len(), 1);
    assert!(groups[0].1.quarantined());
}

/// A microbiology culture: the organism (OBX-4 `1`) and its
/// susceptibilities (`1.1`, `1.2`), then a second isolate (`2`, `2.1`), as
/// sent before v2.8 (OBX-4 an ST).
const MICRO: &str = "OBR|1|ORD1^EPR|LAB1^LAB|600-7^Culture^LN|||20240312101500\r\
OBX|1|CWE|600-7^Bacteria identified^LN|1|112283007^Escherichia coli^SCT||||||F\r\
OBX|2|NM|18864-9^Ampicillin^LN|1.1|8|ug/mL||R|||F\r\
OBX|3|NM|18906-8^Ciprofloxacin^LN|1.2|0.25|ug/mL||S|||F\r\
OBX|4|CWE|600-7^Bacteria identified^LN|2|3092008^Staphylococcus aureus^SCT||||||F\r\
OBX|5|NM|18964-7^Penicillin^LN|2.1|0.5|ug/mL||R|||F\r";

#[test]
fn obx_4_sub_ids_tie_susceptibilities_to_their_organism() {
    // OBX-4 was consumed and written nowhere: which isolate a
    // susceptibility belongs to was lost.
    let msg = format!("{ORU_HEAD}{MICRO}");
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    let subs: Vec<_> = obs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let s = o.sub_id.as_ref().unwrap();
            let at = v2_at(&s.sources[0]);
            assert!(at.starts_with(&format!("OBX[{}]-4", i + 1)), "{at}");
            // Before v2.8 the sub-ID is the original text: no group or
            // sequence is guessed from `1.2`.
            assert_eq!(
                (s.value.group.as_ref(), s.value.sequence.as_ref()),
                (None, None)
            );
            s.value.original.clone().unwrap()
        })
        .collect();
    assert_eq!(subs, ["1", "1.1", "1.2", "2", "2.1"]);
    assert!(r.invalid.is_empty(), "{:?}", r.invalid);
    assert!(r.unmapped.is_empty(), "{:?}", r.unmapped);
}

#[test]
fn obx_4_as_v2_8_og_keeps_group_and_sequence_and_reports_what_is_no_number() {
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR|LAB1^LAB|600-7^Culture^LN\r\
OBX|1|CWE|600-7^Bacteria identified^LN|1^1^^ISO1|112283007^Escherichia coli^SCT||||||F\r\
OBX|2|NM|18864-9^Ampicillin^LN|^1^2|8|ug/mL||R|||F\r\
OBX|3|NM|18906-8^Ciprofloxacin^LN|1.x^A^3|0.25|ug/mL||S|||F\r"
    );
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    let s = |i: usize| obs[i].sub_id.as_ref().unwrap().value.clone();
    assert_eq!(s(0).original.as_deref(), Some("1"));
    assert_eq!(s(0).group.as_deref(), Some("1"));
    assert_eq!(s(0).sequence, None);
    assert_eq!(s(0).identifier.as_deref(), Some("ISO1"));
    assert_eq!(s(1).original, None);
    assert_eq!(
        (s(1).group.as_deref(), s(1).sequence.as_deref()),
        (Some("1"), Some("2"))
    );
    // OG.2 `A` is no NM number: reported and dropped, never guessed; the
    // original sub-identifier keeps what was sent.
    assert_eq!(s(2).original.as_deref(), Some("1.x"));
    assert_eq!(s(2).group, None);
    assert_eq!(s(2).sequence.as_deref(), Some("3"));
    let bad: Vec<_> = r
        .invalid
        .iter()
        .filter(|i| v2_at(&i.source).starts_with("OBX[3]-4"))
        .collect();
    assert_eq!(bad.len(), 1, "{:?}", r.invalid);
    assert_eq!(bad[0].raw, "A");
    assert_eq!(bad[0].action, Action::Dropped);
    assert!(bad[0].reason.contains("group"), "{}", bad[0].reason);
    assert!(r.unmapped.is_empty(), "{:?}", r.unmapped);
}

fn attachment(v: &Option<Sourced<ObservationValue>>) -> &carecodec_model::Attachment {
    match &v.as_ref().unwrap().value {
        ObservationValue::Attachment(a) => a,
        other => panic!("not an attachment: {other:?}"),
    }
}

#[test]
fn an_ed_base64_pdf_is_an_attachment_not_text() {
    // A Base64 PDF report became a huge valueString.
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR|LAB1^LAB|11502-2^Laboratory report^LN\r\
OBX|1|ED|PDF^Report^L||LAB^application^pdf^Base64^JVBERi0x LjQK||||||F\r\
OBX|2|ED|PDF^Report^L||^AP^PDF^base64^JVBERi0xLjQK~^AP^PDF^Base64^QUJD||||||F\r"
    );
    // (The first one's data has a space in it, as Base64 wrapped in lines
    // has: whitespace is no part of the data.)
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    for o in obs {
        let a = attachment(&o.value);
        assert_eq!(a.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(a.data.as_deref(), Some("JVBERi0xLjQK"));
        assert_eq!(a.url, None);
    }
    let sources: Vec<_> = obs[0]
        .value
        .as_ref()
        .unwrap()
        .sources
        .iter()
        .map(v2_at)
        .collect();
    for at in [
        "OBX[1]-5[1].2",
        "OBX[1]-5[1].3",
        "OBX[1]-5[1].4",
        "OBX[1]-5[1].5",
    ] {
        assert!(sources.iter().any(|s| s == at), "{at}: {sources:?}");
    }
    assert!(r.invalid.is_empty(), "{:?}", r.invalid);
    // ED.1 (the source application) has no place in an Attachment, and the
    // second repetition none in the model: left unread.
    let mut unmapped = unmapped_paths(&r);
    unmapped.sort();
    assert_eq!(
        unmapped,
        [
            "OBX[1]-5[1].1.1",
            "OBX[2]-5[2].2.1",
            "OBX[2]-5[2].3.1",
            "OBX[2]-5[2].4.1",
            "OBX[2]-5[2].5.1"
        ]
    );
}

#[test]
fn ed_data_that_is_not_base64_is_reported_and_kept_as_text() {
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR|LAB1^LAB|11502-2^Laboratory report^LN\r\
OBX|1|ED|PDF^Report^L||^application^pdf^Base64^JVBERi0xLjQ*||||||F\r\
OBX|2|ED|PDF^Report^L||^application^pdf^Base64^JVBERi0xLj||||||F\r\
OBX|3|ED|PDF^Report^L||^text^plain^B64^SGVsbG8=||||||F\r"
    );
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    let texts: Vec<_> = obs
        .iter()
        .map(|o| match &o.value.as_ref().unwrap().value {
            ObservationValue::Text(t) => t.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, ["JVBERi0xLjQ*", "JVBERi0xLj", "SGVsbG8="]);
    for (i, why) in [(1, "not Base64"), (2, "not Base64"), (3, "table 0299")] {
        let bad: Vec<_> = r
            .invalid
            .iter()
            .filter(|v| v2_at(&v.source) == format!("OBX[{i}]-5[1].5"))
            .collect();
        assert_eq!(bad.len(), 1, "{i}: {:?}", r.invalid);
        assert_eq!(bad[0].action, Action::KeptAsText);
        assert!(bad[0].reason.contains(why), "{}", bad[0].reason);
    }
    // The type and subtype of data kept as text are left unread.
    let unmapped = unmapped_paths(&r);
    assert!(
        unmapped.iter().any(|u| u == "OBX[1]-5[1].3.1"),
        "{unmapped:?}"
    );
    assert!(
        !unmapped
            .iter()
            .any(|u| u.ends_with(".4.1") || u.ends_with(".5.1")),
        "{unmapped:?}"
    );
}

#[test]
fn ed_text_and_hex_data_are_encoded_as_base64() {
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR|LAB1^LAB|11502-2^Laboratory report^LN\r\
OBX|1|ED|TXT^Report^L||^TEXT^^A^Hello||||||F\r\
OBX|2|ED|IMG^Image^L||^IM^JPEG^Hex^48656c 6C6F||||||F\r\
OBX|3|ED|BIN^Blob^L||^XX^YY^Base64^SGVs bG8=||||||F\r\
OBX|4|ED|BIN^Blob^L||^IM^JPEG^Hex^4865z6||||||F\r"
    );
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    let a = attachment(&obs[0].value);
    assert_eq!(
        (a.content_type.as_deref(), a.data.as_deref()),
        (Some("text/plain"), Some("SGVsbG8="))
    );
    let a = attachment(&obs[1].value);
    assert_eq!(
        (a.content_type.as_deref(), a.data.as_deref()),
        (Some("image/jpeg"), Some("SGVsbG8="))
    );
    // A type of data that makes no MIME type is left unread; the data is
    // typed as bytes (FHIR: data needs a content type).
    let a = attachment(&obs[2].value);
    assert_eq!(
        (a.content_type.as_deref(), a.data.as_deref()),
        (Some("application/octet-stream"), Some("SGVsbG8="))
    );
    let unmapped = unmapped_paths(&r);
    for at in ["OBX[3]-5[1].2.1", "OBX[3]-5[1].3.1"] {
        assert!(unmapped.iter().any(|u| u == at), "{at}: {unmapped:?}");
    }
    // Hex that is not hex: kept as text, reported.
    assert_eq!(
        obs[3].value.as_ref().unwrap().value,
        ObservationValue::Text("4865z6".into())
    );
    assert!(r.invalid.iter().any(|i| v2_at(&i.source) == "OBX[4]-5[1].5"
        && i.action == Action::KeptAsText
        && i.reason.contains("Hex")));
}

#[test]
fn an_rp_is_an_attachment_pointing_to_its_content() {
    let msg = format!(
        "{ORU_HEAD}OBR|1|ORD1^EPR|LAB1^LAB|18748-4^Diagnostic imaging study^LN\r\
OBX|1|RP|IMG^Image^L||https://pacs.example.nhs.uk/wado/1.2.3^PACS^image^jpeg||||||F\r\
OBX|2|RP|DOC^Document^L||/docs/42||||||F\r"
    );
    let (e, r) = map(msg.as_bytes());
    let obs = &e.reports[0].observations;
    let a = attachment(&obs[0].value);
    assert_eq!(
        a.url.as_deref(),
        Some("https://pacs.example.nhs.uk/wado/1.2.3")
    );
    assert_eq!(a.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(a.data, None);
    let a = attachment(&obs[1].value);
    assert_eq!(
        (a.url.as_deref(), a.content_type.as_deref()),
        (Some("/docs/42"), None)
    );
    // RP.2 (the application) has no place in an Attachment.
    assert_eq!(unmapped_paths(&r), ["OBX[1]-5[1].2.1"]);
}

/// Two patient groups of one message that share a filler number or a visit
/// number (a key the Bundle writer updates on) are both quarantined: one
/// patient's Bundle would otherwise replace the other's result or visit.
/// A group with keys of its own is written; the same key within one group
/// is no conflict.
#[test]
fn patient_groups_sharing_a_key_are_quarantined() {
    let head = "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01|M1|P|2.5\r";
    let group = |nhs: &str, filler: &str, visit: &str| {
        format!(
            "PID|1||{nhs}^^^NHS^NH||SMITH^JOHN\rPV1|1|I|||||||||||||||||{visit}^^^RX1\r\
             OBR|1||{filler}^LAB|718-7^Hb^LN\rOBX|1|NM|718-7^Hb^LN||135|g/L|||||F\r"
        )
    };
    let shared_filler = format!(
        "{head}{}{}{}",
        group("9434765919", "LAB456", "V1"),
        group("4010232137", "LAB456", "V2"),
        group("9449305552", "LAB789", "V3"),
    );
    let groups = map_groups(shared_filler.as_bytes());
    let quarantined: Vec<bool> = groups.iter().map(|(_, r)| r.quarantined()).collect();
    assert_eq!(quarantined, [true, true, false]);
    let reason = &groups[1].1.identity.last().unwrap().reason;
    assert_eq!(
        reason,
        "quarantined: ORU^R01 patient groups 1 and 2 share the filler number LAB456: one key \
         names two patients' records, so neither group is written"
    );
    let shared_visit = format!(
        "{head}{}{}",
        group("9434765919", "LAB1", "V9"),
        group("4010232137", "LAB2", "V9"),
    );
    let groups = map_groups(shared_visit.as_bytes());
    assert!(groups.iter().all(|(_, r)| r.quarantined()));
    assert!(
        groups[0]
            .1
            .identity
            .iter()
            .any(|d| d.reason.contains("visit number V9"))
    );
}

/// A later group's note names the message's own OBR, as its sources do.
#[test]
fn a_later_groups_notes_name_the_messages_segments() {
    let groups = map_groups(
        b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rOBR|1||LAB1^LAB|718-7^Hb^LN\r\
PID|2||4010232137^^^NHS^NH||JONES^MARY\rOBR|1||LAB2^LAB\rOBR|2||LAB3^LAB\r",
    );
    let notes: Vec<&String> = groups[1]
        .1
        .notes
        .iter()
        .filter(|n| n.contains("no OBR-4"))
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].starts_with("OBR[2]: ") && notes[1].starts_with("OBR[3]: "),
        "{notes:?}"
    );
}

/// Without MSH-10 a split message's events have no message id (none is
/// made up), and say so.
#[test]
fn patient_groups_without_a_message_id_make_none_up() {
    let groups = map_groups(
        b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01||P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPID|2||4010232137^^^NHS^NH||JONES^MARY\r",
    );
    for (k, (e, r)) in groups.iter().enumerate() {
        assert_eq!(
            (e.message_id.as_deref(), e.group),
            (None, Some(k as u32 + 1))
        );
        assert!(
            r.notes.iter().any(|n| n.contains("no MSH-10")),
            "{:?}",
            r.notes
        );
    }
}

/// An A08's PV1-45 dropped as before the admission says nothing about
/// where the visit stands: the IG's unknown, not finished.
#[test]
fn an_a08_with_a_dropped_discharge_stays_unknown() {
    let (e, r) = map(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1^^^RX1||||||||||||||||V1^^^RX1|||||||||||||||||||||||||20241201100000|20241201090000\r",
    );
    let e = e.encounter.unwrap();
    assert_eq!(e.status.as_deref(), Some("unknown"));
    assert!(e.discharged.is_none());
    assert!(
        r.invalid
            .iter()
            .any(|i| i.reason.contains("discharge before admission"))
    );
    assert!(
        r.notes.iter().all(|n| !n.contains("from PV1")),
        "{:?}",
        r.notes
    );
}

/// A PID-25 birth order, an XTN.18 preference order or a DG1-15 priority
/// above 2^31 - 1 is what FHIR's integer / positiveInt cannot hold: reported
/// and dropped (PID-24 `Y` still says it is a multiple birth).
#[test]
fn orders_beyond_a_fhir_integer_are_reported_and_dropped() {
    let msg = b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A01|1|P|2.5\r\
        PID|1||9434765919^^^NHS^NH||X^Y||||||||01234^PRN^PH^^^^^^^^^^^^^^^2147483648|||||||||||Y|2147483648\r\
        PV1|1|I\r\
        DG1|1||I10^Hypertension^I10||||||||||||2147483648\r";
    let (e, r) = map(msg);
    let p = e.patient.unwrap();
    assert_eq!(
        p.multiple_birth.map(|m| m.value),
        Some(carecodec_model::MultipleBirth::Yes)
    );
    assert_eq!(p.telecom[0].value.rank, None);
    assert_eq!(e.conditions[0].priority, None);
    let got: Vec<(String, &str, Action)> = r
        .invalid
        .iter()
        .map(|i| (i.source.to_string(), i.raw.as_str(), i.action))
        .collect();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(
        got.iter()
            .all(|(_, raw, a)| *raw == "2147483648" && *a == Action::Dropped)
    );
    // 2^31 - 1 is kept.
    let msg = b"MSH|^~\\&|A|RX1|B|RX1|20240101||ADT^A01|1|P|2.5\r\
        PID|1||9434765919^^^NHS^NH||X^Y|||||||||||||||||||Y|2147483647\r";
    let (e, r) = map(msg);
    assert_eq!(
        e.patient.unwrap().multiple_birth.map(|m| m.value),
        Some(carecodec_model::MultipleBirth::Order(2_147_483_647))
    );
    assert!(r.invalid.is_empty(), "{:?}", r.invalid);
}

/// Probe eleven F12: a keyed Encounter update replaces the whole Encounter a
/// server holds, and a merge writes the merged-away Patient with only its
/// identifiers: the report says what the message does not carry.
#[test]
fn what_a_keyed_update_replaces_is_noted() {
    let a02 = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240313100000||ADT^A02|3|P|2.4\rEVN|A02|20240313100000\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|WARD B^ROOM2^B7^RX1|||WARD A^ROOM1^B1^RX1|||||||||||||V123^^^RX1^VN\r";
    let (_, r) = map(a02);
    let note = r
        .notes
        .iter()
        .find(|n| n.contains("keyed Encounter update"))
        .unwrap_or_else(|| panic!("{:?}", r.notes));
    assert!(note.starts_with("ADT^A02:"), "{note}");
    assert!(note.contains("diagnosis (no DG1)"), "{note}");
    assert!(note.contains("period.start (no PV1-44"), "{note}");
    assert!(note.contains("transfer history"), "{note}");
    // With DG1, PV1-44 and a participant it lacks none of them: no note
    // (the transfer history every keyed update replaces is documented).
    let a01 = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|2|P|2.4\rEVN|A01|20240312091500\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|WARD A^ROOM1^B1^RX1||||C1234567^JONES^ANN||||||||||||V123^^^RX1^VN|||||||||||||||||||||||||20240312090000\rDG1|1||I10^Hypertension^I10||20240312|F\r";
    let (_, r) = map(a01);
    assert!(
        !r.notes.iter().any(|n| n.contains("keyed Encounter update")),
        "{:?}",
        r.notes
    );
    // Without the participant, only that.
    let a01 = String::from_utf8_lossy(a01).replace("C1234567^JONES^ANN", "");
    let (_, r) = map(a01.as_bytes());
    let note = r
        .notes
        .iter()
        .find(|n| n.contains("keyed Encounter update"))
        .unwrap_or_else(|| panic!("{:?}", r.notes));
    assert!(!note.contains("diagnosis"), "{note}");
    assert!(!note.contains("period.start"), "{note}");
    assert!(note.contains("participant (no PV1-7"), "{note}");
    assert!(note.contains("transfer history"), "{note}");
    // An Encounter that is not keyed (no scope) is created: nothing replaced.
    let unscoped = String::from_utf8_lossy(a02).replace("|PAS|RX1|EPR|", "|PAS||EPR|");
    let (_, r) = map(unscoped.as_bytes());
    assert!(
        !r.notes.iter().any(|n| n.contains("keyed Encounter update")),
        "{:?}",
        r.notes
    );
    // A merge: the merged-away Patient's copy loses its demographics.
    let a40 = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240314100000||ADT^A40|4|P|2.4\rEVN|A40|20240314100000\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN\rMRG|4010232137^^^NHS^NH\r";
    let (_, r) = map(a40);
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("ADT^A40: the merged-away Patient")
                && n.contains("replaces the server's copy")),
        "{:?}",
        r.notes
    );
}

/// An ADT message of trigger `ev` (MSH-9 and EVN-1) with a patient and a
/// visit, allergy and diagnosis.
fn adt(ev: &str) -> String {
    format!(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500+0000||ADT^{ev}|C{ev}|P|2.4\r\
         EVN|{ev}|20240312091500\r\
         PID|1||9434765919^^^NHS^NH~K100234^^^RX1^MR||SMITH^JOHN||19700214|M\r\
         PV1|1|I|WARD7^BAY2^BED4^RX1||||||||||||||||V0001234^^^RX1^VN|||||||||||||||||||||||||20240312091500\r\
         AL1|1|DA|91936005^Allergy to penicillin^SCT|SV|Rash\r\
         DG1|1||R07.4^Chest pain, unspecified^I10||20240312|W\r"
    )
}

#[test]
fn deletes_and_cancels_outside_the_supported_triggers_are_never_updates() {
    // Probe 13 P7: A23 (delete visit), A29 (delete person), A27 (cancel
    // pending admit) and A38 (cancel pre-admit) were mapped as `Other` with
    // the visit in progress, and written as upserts with nothing reported.
    for ev in [
        "A23", "A25", "A26", "A29", "A32", "A33", "A52", "A53", "A55", "A62",
    ] {
        let (e, r) = map(adt(ev).as_bytes());
        assert!(r.quarantined(), "{ev}: {r:?}");
        let d = r.identity.iter().find(|d| d.quarantined()).unwrap();
        assert!(
            d.reason.starts_with(&format!("quarantined: ADT^{ev} (")),
            "{}",
            d.reason
        );
        assert_eq!(e.kind, AdtKind::Other);
    }
    // A27 and A38 cancel a visit that has not begun: as A11 does.
    for ev in ["A27", "A38"] {
        let (e, r) = map(adt(ev).as_bytes());
        assert!(!r.quarantined(), "{ev}: {:?}", r.identity);
        let enc = e.encounter.as_ref().unwrap();
        assert_eq!(enc.status.as_deref(), Some("cancelled"), "{ev}");
        assert!(
            r.notes.iter().any(|n| n.contains("mapped as A11")),
            "{ev}: {:?}",
            r.notes
        );
        // With no PV1 there is nothing to cancel: quarantined.
        let no_visit: String = adt(ev)
            .split('\r')
            .filter(|s| !s.starts_with("PV1"))
            .map(|s| format!("{s}\r"))
            .collect();
        let (_, r) = map(no_visit.trim_end_matches('\r').as_bytes());
        assert!(r.quarantined(), "{ev} without PV1");
    }
    // A11 itself is unchanged.
    let (e, r) = map(adt("A11").as_bytes());
    assert!(!r.quarantined());
    assert_eq!(e.kind, AdtKind::CancelAdmit);
    assert_eq!(e.encounter.unwrap().status.as_deref(), Some("cancelled"));
}

#[test]
fn an_unsupported_trigger_mapped_as_an_update_says_so() {
    for ev in ["A06", "A14", "A16"] {
        let (e, r) = map(adt(ev).as_bytes());
        assert_eq!(e.kind, AdtKind::Other);
        assert!(!r.quarantined(), "{ev}: {:?}", r.identity);
        assert!(
            r.notes.iter().any(|n| n.starts_with(&format!(
                "ADT^{ev}: not a supported trigger event: treated as an update"
            ))),
            "{ev}: {:?}",
            r.notes
        );
    }
    // A supported trigger gets no such note.
    let (_, r) = map(adt("A01").as_bytes());
    assert!(
        r.notes.iter().all(|n| !n.contains("treated as an update")),
        "{:?}",
        r.notes
    );
}

#[test]
fn spans_of_a_batch_message_count_from_the_file_start() {
    // Probe 13 P9: in a batch file each message's spans counted from its
    // own start (both PID-3s at 99..109, where the file has `H0001\rMSH|`).
    let file = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/hl7v2/batch_adt.hl7"),
    )
    .unwrap();
    let mut reader = BatchReader::new(&file[..]);
    let mut seen = Vec::new();
    while let Some(entry) = reader.next_message() {
        let offset = entry.offset;
        assert!(offset > 0);
        let msg = entry.result.unwrap();
        let opts = V2Options::default().file_offset(offset);
        let (e, r) = map_message(&msg, &opts).unwrap();
        let nhs = &e.patient.as_ref().unwrap().identifiers[0];
        let Some(Source::V2 { span, .. }) = nhs.sources.first() else {
            panic!("{:?}", nhs.sources)
        };
        assert_eq!(&file[span.clone()], nhs.value.value().as_bytes());
        // The report's entries too.
        for u in &r.unmapped {
            if let Source::V2 { span, .. } = &u.source {
                assert_eq!(String::from_utf8_lossy(&file[span.clone()]), u.raw);
            }
        }
        seen.push(span.start);
    }
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0], seen[1]);
}

#[test]
fn a_delete_read_from_a_fhir_message_is_not_an_update_either() {
    use carecodec_map::fhir::{BundleType, event_bundle_with, read_bundle};
    // A38 written as a message Bundle reads back cancelled: kept.
    let (e, _) = map(adt("A38").as_bytes());
    let bundle = event_bundle_with(&e, BundleType::Message).unwrap();
    let (back, r) = read_bundle(&bundle);
    assert_eq!(back.message_type, "ADT^A38");
    assert!(!r.quarantined(), "{:?}", r.identity);
    // An A01's message Bundle named an A23 (delete a patient record), or an
    // A38 whose Encounter is not cancelled: quarantined.
    let (e, _) = map(adt("A01").as_bytes());
    let text = event_bundle_with(&e, BundleType::Message)
        .unwrap()
        .to_string();
    for ev in ["A23", "A38"] {
        let named: serde_json::Value = serde_json::from_str(&text.replace("A01", ev)).unwrap();
        let (back, r) = read_bundle(&named);
        assert_eq!(back.message_type, format!("ADT^{ev}"));
        assert!(
            r.identity
                .iter()
                .any(|d| d.quarantined()
                    && d.reason.starts_with(&format!("quarantined: ADT^{ev} ("))),
            "{ev}: {:?}",
            r.identity
        );
    }
}

/// An order message (ORM^O01) with order control `control` in ORC-1.
fn orm(control: &str) -> String {
    format!(
        "MSH|^~\\&|EPR|RX1|LAB|RX1|20240312091500||ORM^O01|ORD1|P|2.4\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
         ORC|{control}|PLAC-1|FILL-1||CM\r\
         OBR|1|PLAC-1|FILL-1|24317-0^Hemogram and platelet count^LN|||20240312090000"
    )
}

#[test]
fn an_order_message_cancelling_its_order_is_never_an_update() {
    // Probe 13 (left by its fix of P7): ORC-1 CA (cancel order request) was
    // mapped as any unsupported message, "treated as an update": its
    // ServiceRequest written as a create or update of the order it cancels.
    for control in ["CA", "OC", "CR", "DC", "OD", "DR"] {
        let (_, r) = map(orm(control).as_bytes());
        assert!(r.quarantined(), "{control}: {:?}", r.identity);
        let d = r.identity.iter().find(|d| d.quarantined()).unwrap();
        assert!(
            d.reason
                .starts_with(&format!("quarantined: ORM^O01 with ORC-1 {control} (")),
            "{}",
            d.reason
        );
        assert!(r.balanced());
    }
    // A new order is mapped, as an update (and says so).
    let (e, r) = map(orm("NW").as_bytes());
    assert!(!r.quarantined(), "{:?}", r.identity);
    assert_eq!(e.reports.len(), 1);
    assert!(r.notes.iter().any(|n| n.contains("treated as an update")));
    // An ORU^R01 whose ORC says the order was cancelled carries the
    // cancellation in its result statuses: mapped.
    let oru = orm("OC").replace("ORM^O01", "ORU^R01") + "||||||||||||||||||X";
    let (e, r) = map(oru.as_bytes());
    assert!(!r.quarantined(), "{:?}", r.identity);
    assert_eq!(e.reports.len(), 1);
}
