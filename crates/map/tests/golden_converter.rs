//! Golden comparison with Microsoft FHIR-Converter (issue 5, point 7).
//!
//! For every ADT and ORU message of `../shared/corpora/mapping/fhir-converter`
//! with an expected Bundle, map it with carecodec (v2 → model → UK Core
//! Bundle), flatten both Bundles into facts (`golden` module: resource type,
//! element path, value; ids, placeholder systems and time-zone expression
//! normalised; each fact attributed to its v2 segment) and count the
//! converter's facts carecodec also produces, per segment.
//!
//! `cargo test -p carecodec-map --test golden_converter -- --nocapture` prints
//! the table; `GOLDEN_DETAIL=1` (or a message-name filter such as
//! `GOLDEN_DETAIL=ADT-A01-01`) prints every unmatched converter fact, and
//! `GOLDEN_OURS=1` also carecodec's facts the converter does not have;
//! `GOLDEN_SUMMARY=1` counts the unmatched facts by field and path, and
//! `GOLDEN_CLASS=<class>` lists the facts of one class of difference.
//! docs/mapping.md ("Golden comparison with FHIR-Converter") explains every
//! class of difference.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
mod golden;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use carecodec_hl7v2::Message;
use carecodec_hl7v2::batch::BatchReader;
use carecodec_map::fhir::{BundleType, event_bundle_with};
use carecodec_map::v2::{V2Options, map_message};
use golden::{
    CLASSES, Fact, LeafIndex, classify, contacts_as_related_persons, facts, field_mapped,
};
use serde_json::Value;

/// The segments issue 5 sets the ≥ 95 % target for.
const TARGET: &[&str] = &["PID", "PV1", "NK1", "AL1", "DG1", "OBX", "OBR"];

/// Shares measured when the floor was set, less a margin: the test fails if
/// a change loses converter facts. Raise them when the mapping improves.
const FLOORS: &[(&str, f64)] = &[
    ("PID", 0.47),
    ("PV1", 0.375),
    ("NK1", 0.63),
    ("AL1", 0.785),
    ("DG1", 0.55),
    // OBX 0.635 -> 0.63 and OBR 0.45 -> 0.44 on 2026-12-07 (63.9 -> 63.5 %,
    // 45.2 -> 44.7 % measured): a coding system with no URI (`L`, `99zzz`,
    // `E5`…) is no longer written (a relative Coding.system is invalid), and
    // the converter's placeholder system for it is a placeholder, dropped:
    // the 36 OBX and 7 OBR facts that matched only because both sides wrote
    // such a system (carecodec the bare name) went with it.
    ("OBX", 0.63),
    // OBR 0.401 -> 0.397 on 2026-12-06: the OBX before any OBR in
    // ORU-R01-01 is a standalone Observation now (IG: an OBX without an
    // OBR), not a DiagnosticReport carecodec invented, so the converter's
    // DiagnosticReport status / subject for it (2 facts) are unmatched.
    // OBR 0.395 -> 0.45 on 2026-12-07 (45.2 % measured): OBR-5,
    // 8, 24, 31, 32, 34, 35, 46, 47 and NDL.2/3 mapped (see docs/mapping.md,
    // golden note 6).
    ("OBR", 0.44),
    // Not target segments: floors so the PD1 fields mapped (PD1-3, 4, 14)
    // and the PV2 fields mapped stay mapped.
    ("PD1", 0.755),
    ("PV2", 0.33),
];

/// Unmatched facts of the target segments in no difference class (measured: 9).
const UNEXPLAINED_CEILING: usize = 9;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/mapping/fhir-converter")
}

/// Strict R4 and the UK Core profile checks on every entry: no errors.
fn uk_core_valid(name: &str, bundle: &Value) {
    assert!(
        !bundle.to_string().contains("example.com"),
        "{name}: placeholder system"
    );
    match common::uk_core_errors(bundle) {
        Ok(errors) => assert!(errors.is_empty(), "{name}: {errors:#?}"),
        Err(e) => panic!("{name}: {e}"),
    }
}

#[derive(Default)]
struct Tally {
    converter: usize,
    matched: usize,
    placeholders: usize,
    /// Converter facts located in a field carecodec maps, and how many matched.
    in_mapped: usize,
    matched_in_mapped: usize,
    /// Unmatched facts per difference class.
    classes: BTreeMap<&'static str, usize>,
}

/// The pairs: `(message name, message path, expected path)`, ADT and ORU only.
fn pairs(dir: &Path) -> Vec<(String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir.join("expected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("ADT_") || n == "ORU_R01"
        })
        .collect();
    folders.sort();
    for f in folders {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&f)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for x in files {
            let n = x.file_name().unwrap().to_string_lossy().into_owned();
            let Some(stem) = n.strip_suffix("-expected.json") else {
                continue;
            };
            let m = dir.join("messages").join(format!("{stem}.hl7"));
            if m.is_file() {
                out.push((stem.to_owned(), m, x));
            }
        }
    }
    out
}

#[test]
fn fhir_converter_golden_shares() {
    let dir = corpus();
    if !dir.is_dir() {
        println!(
            "skipped: ../shared/corpora not found ({}); the golden comparison needs the FHIR-Converter corpus",
            dir.display()
        );
        return;
    }
    let detail = std::env::var("GOLDEN_DETAIL").ok();
    let ours_detail = std::env::var("GOLDEN_OURS").is_ok();
    let summary = std::env::var("GOLDEN_SUMMARY").is_ok();
    let class_detail = std::env::var("GOLDEN_CLASS").ok();
    let mut class_facts: HashMap<(String, String, String), usize> = HashMap::new();
    let mut by_path: HashMap<(String, String), usize> = HashMap::new();
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut messages, mut quarantined) = (0, Vec::new());
    for (name, msg_path, exp_path) in pairs(&dir) {
        let bytes = std::fs::read(&msg_path).unwrap();
        let mut reader = BatchReader::new(&bytes[..]);
        let msg: Message<'_> = reader.next_message().unwrap().result.unwrap();
        let expected: Value = serde_json::from_slice(&std::fs::read(&exp_path).unwrap()).unwrap();
        let index = LeafIndex::new(&msg);
        let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
        assert!(report.balanced(), "{name}");
        // The message Bundle: the converter's Bundles carry a MessageHeader too.
        let ours = match event_bundle_with(&event, BundleType::Message) {
            Ok(b) => {
                uk_core_valid(&name, &b);
                facts(&contacts_as_related_persons(&b), &index).facts
            }
            Err(_) => {
                quarantined.push(name.clone());
                Vec::new()
            }
        };
        let conv = facts(&expected, &index);
        messages += 1;
        for (seg, n) in &conv.placeholders {
            tally.entry(seg.clone()).or_default().placeholders += n;
        }
        // Multiset match on (segment, path, value).
        let mut have: HashMap<(&str, &str, &str), usize> = HashMap::new();
        for f in &ours {
            *have.entry(f.key()).or_default() += 1;
        }
        let is_quarantined = quarantined.last() == Some(&name);
        let mut missing: Vec<&Fact> = Vec::new();
        for f in &conv.facts {
            let t = tally.entry(f.segment.clone()).or_default();
            t.converter += 1;
            let in_mapped = field_mapped(&f.field) != Some(false);
            t.in_mapped += usize::from(in_mapped);
            match have.get_mut(&f.key()) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    t.matched += 1;
                    t.matched_in_mapped += usize::from(in_mapped);
                }
                _ => {
                    let class = classify(f, is_quarantined);
                    *t.classes.entry(class).or_default() += 1;
                    if class_detail.as_deref() == Some(class)
                        && TARGET.contains(&f.segment.as_str())
                    {
                        *class_facts
                            .entry((f.field.clone(), f.path.clone(), f.value.clone()))
                            .or_default() += 1;
                    }
                    missing.push(f);
                }
            }
        }
        for f in &missing {
            *by_path
                .entry((f.field.clone(), f.path.clone()))
                .or_default() += 1;
        }
        let show = detail
            .as_deref()
            .is_some_and(|d| d == "1" || name.contains(d));
        if show {
            println!(
                "== {name}: {} converter facts, {} unmatched",
                conv.facts.len(),
                missing.len()
            );
            missing.sort();
            for f in &missing {
                println!(
                    "  - {:<8} {} = {}   [{}]",
                    f.field,
                    f.path,
                    f.value,
                    classify(f, is_quarantined)
                );
            }
            if ours_detail {
                let mut theirs: HashMap<(&str, &str, &str), usize> = HashMap::new();
                for f in &conv.facts {
                    *theirs.entry(f.key()).or_default() += 1;
                }
                let mut extra: Vec<&Fact> = ours
                    .iter()
                    .filter(|f| match theirs.get_mut(&f.key()) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            false
                        }
                        _ => true,
                    })
                    .collect();
                extra.sort();
                for f in extra {
                    println!("  + {:<8} {} = {}", f.field, f.path, f.value);
                }
            }
        }
    }
    if summary {
        let mut v: Vec<_> = by_path.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for ((field, path), n) in v {
            let seg = field.split('-').next().unwrap_or_default();
            if TARGET.contains(&seg) {
                println!("{n:>6}  {field:<8} {path}");
            }
        }
    }
    println!(
        "FHIR-Converter golden: {messages} ADT/ORU messages, {} quarantined by the identity rule (no Bundle): {quarantined:?}",
        quarantined.len()
    );
    if class_detail.is_some() {
        let mut v: Vec<_> = class_facts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for ((field, path, value), n) in v {
            println!("{n:>5}  {field:<8} {path} = {value}");
        }
    }
    println!(
        "segment  converter  matched   share | in mapped fields: facts matched share | placeholders-dropped"
    );
    let mut rows: Vec<(&String, &Tally)> = tally.iter().collect();
    rows.sort_by_key(|(s, t)| {
        (
            !TARGET.contains(&s.as_str()),
            std::cmp::Reverse(t.converter),
        )
    });
    let (mut all_c, mut all_m) = (0, 0);
    for (seg, t) in &rows {
        let share = t.matched as f64 / t.converter.max(1) as f64;
        let mark = if TARGET.contains(&seg.as_str()) {
            "*"
        } else {
            " "
        };
        println!(
            "{mark}{seg:<7} {:>9} {:>8} {:>6.1}% | {:>6} {:>6} {:>6.1}% | {:>6}",
            t.converter,
            t.matched,
            share * 100.0,
            t.in_mapped,
            t.matched_in_mapped,
            t.matched_in_mapped as f64 * 100.0 / t.in_mapped.max(1) as f64,
            t.placeholders
        );
        if TARGET.contains(&seg.as_str()) {
            all_c += t.converter;
            all_m += t.matched;
        }
    }
    println!(
        "target segments (*): {all_m} of {all_c} converter facts = {:.1}%",
        all_m as f64 * 100.0 / all_c.max(1) as f64
    );
    // Every unmatched fact of the target segments, by class of difference.
    let names: Vec<&str> = CLASSES.iter().map(|(c, _)| *c).collect();
    print!("unmatched by class ");
    for seg in TARGET {
        print!("{seg:>8}");
    }
    println!();
    for class in &names {
        print!("{class:<22}");
        for seg in TARGET {
            let n = tally
                .get(*seg)
                .and_then(|t| t.classes.get(class))
                .copied()
                .unwrap_or(0);
            print!("{n:>8}");
        }
        println!();
    }
    for (seg, floor) in FLOORS {
        let t = tally.get(*seg).map_or((0, 0), |t| (t.matched, t.converter));
        let share = t.0 as f64 / t.1.max(1) as f64;
        assert!(
            share + 1e-9 >= *floor,
            "{seg}: share {:.3} fell below the floor {floor}",
            share
        );
    }
    // Differences of the target segments no class explains: the A45 message's
    // second PV1 (7 facts; carecodec maps one encounter per event) and a GT1
    // guarantor contact placed in NK1, whose NK1-2 holds the same name (2).
    let unexplained: usize = TARGET
        .iter()
        .filter_map(|s| tally.get(*s))
        .map(|t| t.classes.get("unclassified").copied().unwrap_or(0))
        .sum();
    assert!(
        unexplained <= UNEXPLAINED_CEILING,
        "{unexplained} unexplained differences (GOLDEN_CLASS=unclassified lists them)"
    );
    assert!(messages >= 60, "{messages} pairs");
}

/// The flattening and its normalisations on a small hand-made pair (runs
/// without the corpus).
#[test]
fn facts_normalise_ids_systems_zones_and_references() {
    let msg = Message::parse(
        b"MSH|^~\\&|A|B|C|D|20240312091500+0100||ADT^A01|1|P|2.8\r\
PID|1||K1^^^RX1^MR||SMITH^JOHN||19700214\r\
PV1|1|I|||||C1^JONES^ANN\r",
    )
    .unwrap();
    let index = LeafIndex::new(&msg);
    let converter = serde_json::json!({"resourceType": "Bundle", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p",
            "identifier": [{"value": "K1", "system": "http://example.com/v2-to-fhir-converter/Identifier/RX1"}],
            "name": [{"family": "SMITH", "given": ["JOHN"]}],
            "maritalStatus": {"coding": [{"code": "X", "system": "http://example.com/v2-to-fhir-converter/CodeSystem/L"}]},
            "extension": [{"url": "http://example.com/v2-to-fhir-converter/StructureDefinition/x", "valueString": "y"}],
            "generalPractitioner": [{"reference": "Practitioner/d"}]}},
        {"fullUrl": "urn:uuid:d", "resource": {"resourceType": "Practitioner", "id": "d",
            "identifier": [{"value": "G1"}]}},
        {"fullUrl": "urn:uuid:e", "resource": {"resourceType": "Encounter", "id": "e",
            "subject": {"reference": "Patient/p"},
            "period": {"start": "2024-03-12T13:45:00+05:30"},
            "participant": [{"individual": {"reference": "Practitioner/q"}}]}},
        {"fullUrl": "urn:uuid:q", "resource": {"resourceType": "Practitioner", "id": "q",
            "name": [{"family": "JONES"}]}}
    ]});
    let f = facts(&converter, &index);
    let has = |path: &str, value: &str, segment: &str| {
        f.facts
            .iter()
            .any(|x| x.path == path && x.value == value && x.segment == segment)
    };
    // The placeholder identifier system is the assigning authority.
    assert!(has("Patient.identifier.authority", "RX1", "PID"));
    // A placeholder code system is a placeholder: dropped, never compared
    // (carecodec writes no system for a local name).
    assert!(
        !f.facts
            .iter()
            .any(|x| x.path == "Patient.maritalStatus.coding.system")
    );
    assert!(has("Patient.maritalStatus.coding.code", "X", "PID"));
    // An extension's URL is in the path; ids and fullUrls are gone.
    assert!(has(
        "Patient.extension{http://example.com/v2-to-fhir-converter/StructureDefinition/x}.valueString",
        "y",
        "PID"
    ));
    assert!(
        !f.facts
            .iter()
            .any(|x| x.value == "p" || x.value == "urn:uuid:p")
    );
    // References: supporting resources inlined, others as their type.
    assert!(has(
        "Patient.generalPractitioner->Practitioner.identifier.value",
        "G1",
        "PID"
    ));
    assert!(has("Encounter.subject.reference", "ref:Patient", "PV1"));
    // Attribution by value: JONES is PV1-7's.
    assert!(f.facts.iter().any(|x| x.path
        == "Encounter.participant.individual->Practitioner.name.family"
        && x.field == "PV1-7"));
    // Times compare as instants, whatever zone they are written in.
    assert!(has("Encounter.period.start", "2024-03-12T08:15:00Z", "PV1"));
    // carecodec's way of saying the same things gives the same facts.
    let ours = serde_json::json!({"resourceType": "Bundle", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "1",
            "identifier": [{"value": "K1", "assigner": {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RX1"}}}],
            "maritalStatus": {"coding": [{"code": "X", "system": "L"}]},
            "generalPractitioner": [{"type": "Practitioner", "identifier": {"value": "G1"}}],
            "contact": [{"name": {"family": "SMITH"}}]}},
        {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Encounter", "id": "2",
            "period": {"start": "2024-03-12T09:15:00+01:00"}}}
    ]});
    let o = facts(&contacts_as_related_persons(&ours), &index);
    let ours_has =
        |path: &str, value: &str| o.facts.iter().any(|x| x.path == path && x.value == value);
    assert!(ours_has("Patient.identifier.authority", "RX1"));
    assert!(ours_has("Patient.maritalStatus.coding.system", "local:L"));
    assert!(ours_has(
        "Patient.generalPractitioner->Practitioner.identifier.value",
        "G1"
    ));
    assert!(ours_has("Encounter.period.start", "2024-03-12T08:15:00Z"));
    // A contact is also a RelatedPerson.
    assert!(ours_has("RelatedPerson.name.family", "SMITH"));
    assert!(ours_has("Patient.contact.name.family", "SMITH"));
    assert!(ours_has("RelatedPerson.patient.reference", "ref:Patient"));
}
