//! Facts of a FHIR Bundle, for golden comparisons of v2 → FHIR mappings.
//!
//! A *fact* is one primitive value of a resource with its element path, no
//! array indices: `Patient.name.family = EVERYMAN`. Normalisations, applied
//! the same way to both sides:
//!
//! - ids, `fullUrl`s, `meta.profile` and `request` are dropped; a reference
//!   to a supporting resource (Practitioner, PractitionerRole, Organization,
//!   Location, Device) is replaced by that resource's facts under
//!   `…reference->Type.`; any other reference becomes the value `ref:Type`;
//! - an extension's `url` becomes part of the path:
//!   `Patient.extension{http://…/patient-birthTime}.valueDateTime`;
//! - a date-time with a time is compared as its UTC instant (the sender's
//!   offset and the converter's re-expression in its host zone both vanish);
//! - a code system the converter invents for a v2 coding-system name
//!   (`http://example.com/v2-to-fhir-converter/CodeSystem/X`) is a
//!   placeholder (below): carecodec writes the system of a name with no
//!   known URI (`L`, `99zzz`, `E5`…) not at all, since `Coding.system` must
//!   be an absolute URI (until 2026-12-07 it wrote the bare name `X`, and
//!   both read `local:X`; a bare name still reads `local:X`);
//! - an identifier's assigning authority reads `identifier.authority = X`
//!   whether it was written as the converter's placeholder system
//!   (`…/v2-to-fhir-converter/Identifier/X`) or as carecodec's
//!   `assigner.display` / `assigner.identifier.value`;
//! - any other `http://example.com/…` value is a placeholder: dropped and
//!   counted, never compared.
//!
//! Each fact is attributed to the v2 segment and field it came from: the
//! resource's facts are grouped by top-level element (one array item, or one
//! single element), and the group is found in the message by its text values
//! (each value weighted by how many fields contain it); a group with no
//! value found in the message (a code the mapping computed, such as
//! `gender = male`) takes the resource's home segment ([`HOME`]).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code
)]

use std::collections::HashMap;

use carecodec_hl7v2::Message;
use serde_json::Value;

/// Resources inlined where they are referenced (they have no home segment of
/// their own: a Practitioner is PV1-7's or OBR-16's).
pub const INLINE: &[&str] = &[
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Device",
];

/// Home segments by resource type, in preference order: where the HL7
/// V2-to-FHIR IG and FHIR-Converter's templates make the resource from.
pub const HOME: &[(&str, &[&str])] = &[
    ("Patient", &["PID", "PD1"]),
    ("RelatedPerson", &["NK1", "IN1", "IN2", "GT1", "PID"]),
    ("Encounter", &["PV1", "PV2"]),
    ("EpisodeOfCare", &["PV1"]),
    ("AllergyIntolerance", &["AL1", "IAM"]),
    ("Condition", &["DG1", "PRB", "PDA"]),
    ("Observation", &["OBX", "PDA", "ACC", "DB1"]),
    ("DiagnosticReport", &["OBR"]),
    ("ServiceRequest", &["OBR", "ORC", "RF1"]),
    ("Specimen", &["SPM", "OBR"]),
    ("MessageHeader", &["MSH"]),
    ("Provenance", &["EVN", "MSH"]),
    ("Procedure", &["PR1"]),
    ("Coverage", &["IN1", "IN2"]),
    ("Account", &["PID", "PV1"]),
    ("Immunization", &["RXA"]),
];

/// One fact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fact {
    /// The v2 segment id it is attributed to (`PID`), or `?`.
    pub segment: String,
    /// The field it is attributed to (`PID-5`), or the segment id alone.
    pub field: String,
    /// Element path without indices (`Patient.name.family`).
    pub path: String,
    /// The normalised value.
    pub value: String,
}

impl Fact {
    /// The matching key: segment, path and value.
    pub fn key(&self) -> (&str, &str, &str) {
        (&self.segment, &self.path, &self.value)
    }
}

/// Where each text value of a message occurs: `text → [(segment id, field)]`.
pub struct LeafIndex {
    at: HashMap<String, Vec<(String, String)>>,
}

impl LeafIndex {
    /// Every non-empty subcomponent of the message, decoded.
    pub fn new(msg: &Message<'_>) -> LeafIndex {
        let mut at: HashMap<String, Vec<(String, String)>> = HashMap::new();
        msg.for_each_leaf(|path, v| {
            let Ok(text) = v.decoded() else { return };
            let text = text.trim().to_owned();
            if text.is_empty() {
                return;
            }
            let seg = path.segment().to_owned();
            let field = format!("{seg}-{}", path.field.unwrap_or(0));
            // A v2 timestamp is also found by its date (a FHIR date's search form).
            let date = text
                .get(..8)
                .filter(|d| text.len() > 8 && d.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned);
            for t in std::iter::once(text).chain(date) {
                let e = at.entry(t).or_default();
                if !e.contains(&(seg.clone(), field.clone())) {
                    e.push((seg.clone(), field.clone()));
                }
            }
        });
        LeafIndex { at }
    }

    fn places(&self, text: &str) -> Option<&Vec<(String, String)>> {
        self.at.get(text)
    }
}

/// The facts of a Bundle, and how many placeholder values were dropped.
pub struct Facts {
    /// The compared facts.
    pub facts: Vec<Fact>,
    /// Placeholder values dropped (`http://example.com/…`), per segment.
    pub placeholders: HashMap<String, usize>,
}

/// Flattens `bundle` into attributed, normalised facts.
pub fn facts(bundle: &Value, index: &LeafIndex) -> Facts {
    let entries: Vec<&Value> = bundle["entry"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut by_ref: HashMap<String, &Value> = HashMap::new();
    for e in &entries {
        let r = &e["resource"];
        if let Some(u) = e["fullUrl"].as_str() {
            by_ref.insert(u.to_owned(), r);
        }
        if let (Some(t), Some(id)) = (r["resourceType"].as_str(), r["id"].as_str()) {
            by_ref.insert(format!("{t}/{id}"), r);
        }
    }
    // Supporting resources someone refers to are inlined there, not roots.
    let mut referenced: Vec<*const Value> = Vec::new();
    for e in &entries {
        collect_refs(&e["resource"], &by_ref, &mut referenced);
    }
    let mut out = Facts {
        facts: Vec::new(),
        placeholders: HashMap::new(),
    };
    for e in &entries {
        let r = &e["resource"];
        let ty = r["resourceType"].as_str().unwrap_or("?");
        if INLINE.contains(&ty) && referenced.contains(&std::ptr::from_ref(r)) {
            continue;
        }
        resource_facts(r, ty, &by_ref, index, &mut out);
    }
    out
}

fn collect_refs(v: &Value, by_ref: &HashMap<String, &Value>, out: &mut Vec<*const Value>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "reference" {
                    if let Some(r) = x.as_str().and_then(|s| by_ref.get(s)) {
                        out.push(std::ptr::from_ref(*r));
                    }
                } else {
                    collect_refs(x, by_ref, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, by_ref, out)),
        _ => {}
    }
}

/// Raw `(path, value)` leaves of one element, references inlined.
fn walk(
    v: &Value,
    path: &str,
    by_ref: &HashMap<String, &Value>,
    depth: u32,
    out: &mut Vec<(String, String)>,
) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match k.as_str() {
                    "id" | "resourceType" | "fullUrl" | "request" => {}
                    "profile" if path.ends_with(".meta") => {}
                    "text" if x.get("div").is_some() => {}
                    "extension" | "modifierExtension" => {
                        for ext in x.as_array().into_iter().flatten() {
                            let url = ext["url"].as_str().unwrap_or("?");
                            let p = format!("{path}.{k}{{{url}}}");
                            if let Value::Object(eo) = ext {
                                for (ek, ex) in eo {
                                    if ek != "url" {
                                        walk(ex, &format!("{p}.{ek}"), by_ref, depth, out);
                                    }
                                }
                            }
                        }
                    }
                    // A logical reference (by identifier) stands for the
                    // resource it names: `generalPractitioner->Organization.identifier`.
                    "identifier"
                        if o.get("type").and_then(Value::as_str).is_some()
                            && !o.contains_key("reference")
                            && !path.ends_with("assigner") =>
                    {
                        let ty = o.get("type").and_then(Value::as_str).unwrap_or("?");
                        walk(x, &format!("{path}->{ty}.identifier"), by_ref, depth, out);
                    }
                    "type"
                        if x.is_string()
                            && o.contains_key("identifier")
                            && !o.contains_key("reference") => {}
                    "reference" => {
                        let s = x.as_str().unwrap_or_default();
                        match by_ref.get(s) {
                            Some(r) => {
                                let ty = r["resourceType"].as_str().unwrap_or("?");
                                if INLINE.contains(&ty) && depth < 3 {
                                    walk(r, &format!("{path}->{ty}"), by_ref, depth + 1, out);
                                } else {
                                    out.push((format!("{path}.reference"), format!("ref:{ty}")));
                                }
                            }
                            None => {
                                let ty = s.split('/').next().unwrap_or("?");
                                out.push((format!("{path}.reference"), format!("ref:{ty}")));
                            }
                        }
                    }
                    _ => walk(x, &format!("{path}.{k}"), by_ref, depth, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, path, by_ref, depth, out)),
        Value::String(s) => out.push((path.to_owned(), s.trim().to_owned())),
        Value::Number(n) => out.push((path.to_owned(), n.to_string())),
        Value::Bool(b) => out.push((path.to_owned(), b.to_string())),
        Value::Null => {}
    }
}

const PLACEHOLDER: &str = "http://example.com/";
const CONVERTER_ID: &str = "http://example.com/v2-to-fhir-converter/Identifier/";

/// The normalised form of one raw leaf, or `None` for a dropped placeholder.
fn normalise(path: &str, value: &str) -> Option<(String, String)> {
    if let Some(parent) = path.strip_suffix(".system") {
        if let Some(name) = value.strip_prefix(CONVERTER_ID) {
            return Some((format!("{parent}.authority"), name.to_owned()));
        }
        let coded = parent.ends_with("coding") || parent.ends_with("identifier");
        if coded && !value.contains(':') {
            return Some((path.to_owned(), format!("local:{value}")));
        }
    }
    if value.starts_with(PLACEHOLDER) {
        return None;
    }
    for tail in [
        ".assigner.display",
        ".assigner.identifier.value",
        ".assigner->Organization.identifier.value",
    ] {
        if let Some(parent) = path.strip_suffix(tail) {
            return Some((format!("{parent}.authority"), value.to_owned()));
        }
    }
    if path.ends_with(".assigner.identifier.system") {
        // The authority's own identifier system (ODS): part of the authority fact.
        return Some((path.to_owned(), value.to_owned()));
    }
    Some((
        path.to_owned(),
        instant(value).unwrap_or_else(|| value.to_owned()),
    ))
}

/// A FHIR dateTime with a time, as its UTC instant.
fn instant(v: &str) -> Option<String> {
    if v.len() < 16 || v.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let t = chrono::DateTime::parse_from_rfc3339(v).ok()?;
    Some(
        t.with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

/// The search forms of a value: itself, and a FHIR date's v2 digits (not a
/// date-time's: its date depends on the zone it is expressed in).
fn search_forms(v: &str) -> Vec<String> {
    let mut f = vec![v.to_owned()];
    let b = v.as_bytes();
    if b.len() == 10 && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-') {
        f.push(v.get(..10).unwrap_or(v).replace('-', ""));
    } else if b.len() == 7 && b.get(4) == Some(&b'-') {
        f.push(v.replace('-', ""));
    }
    f
}

/// The (segment, field) places a group of raw values is found in, with a
/// score (each value one vote, shared by every field holding it) and how
/// many of the values each holds; best first, ties to `prefer`.
fn locate(
    values: &[&str],
    index: &LeafIndex,
    prefer: &[&str],
    only: Option<&[&str]>,
) -> Vec<(String, String, f64, usize, usize)> {
    let mut score: Vec<(String, String, f64, usize, usize)> = Vec::new();
    for v in values {
        let mut places: Vec<&(String, String)> = Vec::new();
        for f in search_forms(v) {
            if let Some(p) = index.places(&f) {
                for x in p {
                    if only.is_some_and(|o| !o.contains(&x.0.as_str())) {
                        continue;
                    }
                    if !places.contains(&x) {
                        places.push(x);
                    }
                }
            }
        }
        if places.is_empty() {
            continue;
        }
        let w = 1.0 / places.len() as f64;
        for (s, f) in places {
            match score.iter_mut().find(|(a, b, _, _, _)| a == s && b == f) {
                Some((_, _, x, n, l)) => {
                    *x += w;
                    *n += 1;
                    *l = (*l).max(v.len());
                }
                None => score.push((s.clone(), f.clone(), w, 1, v.len())),
            }
        }
    }
    let rank = |seg: &str| {
        prefer
            .iter()
            .position(|p| *p == seg)
            .unwrap_or(prefer.len())
    };
    score.sort_by(|a, b| {
        b.2.partial_cmp(&a.2)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| rank(&a.0).cmp(&rank(&b.0)))
    });
    score
}

fn resource_facts(
    r: &Value,
    ty: &str,
    by_ref: &HashMap<String, &Value>,
    index: &LeafIndex,
    out: &mut Facts,
) {
    let prefer: &[&str] = HOME.iter().find(|(t, _)| *t == ty).map_or(&[], |(_, h)| *h);
    let Some(o) = r.as_object() else { return };
    // Top-level groups: one per array item, one per single element.
    let mut groups: Vec<Vec<(String, String)>> = Vec::new();
    for (k, v) in o {
        let items: Vec<&Value> = match v {
            Value::Array(a) if k != "extension" => a.iter().collect(),
            _ => vec![v],
        };
        for item in items {
            let mut leaves = Vec::new();
            // Extensions: one group per extension.
            if k == "extension" || k == "modifierExtension" {
                for ext in item.as_array().into_iter().flatten() {
                    let mut one = serde_json::Map::new();
                    one.insert(k.clone(), Value::Array(vec![ext.clone()]));
                    let mut l = Vec::new();
                    walk(&Value::Object(one), ty, by_ref, 0, &mut l);
                    groups.push(l);
                }
                continue;
            }
            // A contact's organization is located on its own: the converter
            // writes it as a contact item of its own, carecodec (IG
            // NK1[Patient]: one contact per NK1) in the contact it belongs to.
            if let Some(co) = item
                .as_object()
                .filter(|co| k == "contact" && co.contains_key("organization") && co.len() > 1)
            {
                let mut rest = co.clone();
                let org = rest.remove("organization").unwrap_or_default();
                for part in [
                    Value::Object(rest),
                    serde_json::json!({ "organization": org }),
                ] {
                    let mut one = serde_json::Map::new();
                    one.insert(k.clone(), part);
                    let mut l = Vec::new();
                    walk(&Value::Object(one), ty, by_ref, 0, &mut l);
                    if !l.is_empty() {
                        groups.push(l);
                    }
                }
                continue;
            }
            let mut one = serde_json::Map::new();
            one.insert(k.clone(), item.clone());
            walk(&Value::Object(one), ty, by_ref, 0, &mut leaves);
            if !leaves.is_empty() {
                groups.push(leaves);
            }
        }
    }
    // The resource's home: the preferred segment its values are found in most.
    let all: Vec<&str> = groups.iter().flatten().map(|(_, v)| v.as_str()).collect();
    let home = locate(&all, index, prefer, Some(prefer))
        .first()
        .map(|(s, _, _, _, _)| s.clone())
        .or_else(|| prefer.first().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "?".to_owned());
    for g in groups {
        let values: Vec<&str> = g.iter().map(|(_, v)| v.as_str()).collect();
        let places = locate(&values, index, &[home.as_str()], None);
        // Another segment than the home needs two of the group's values or one
        // long one (a short value alone, such as a table display, can
        // coincide with any text).
        let pick = places.iter().find(|(s, _, _, n, longest)| {
            *s == home || prefer.contains(&s.as_str()) || home == "?" || *n >= 2 || *longest >= 5
        });
        let (segment, field) = match pick {
            Some((s, f, _, _, _)) => (s.clone(), f.clone()),
            None => (home.clone(), home.clone()),
        };
        for (p, v) in &g {
            match normalise(p, v) {
                Some((path, value)) => out.facts.push(Fact {
                    segment: segment.clone(),
                    field: field.clone(),
                    path,
                    value,
                }),
                None => *out.placeholders.entry(segment.clone()).or_default() += 1,
            }
        }
    }
}

/// carecodec writes next of kin as `Patient.contact` (UK Core); the IG makes
/// a RelatedPerson, and the converter both (a RelatedPerson per NK1, and a
/// `Patient.contact` for some). The same NK1 facts, so each contact is also
/// compared as a RelatedPerson with the same elements (name, relationship,
/// telecom, address, gender, period) and a patient reference.
pub fn contacts_as_related_persons(bundle: &Value) -> Value {
    let mut b = bundle.clone();
    let mut extra = Vec::new();
    if let Some(entries) = b["entry"].as_array_mut() {
        for e in entries.iter_mut() {
            let r = &mut e["resource"];
            if r["resourceType"] != "Patient" {
                continue;
            }
            let Some(contacts) = r.get("contact").cloned() else {
                continue;
            };
            let patient_url = e["fullUrl"].clone();
            for c in contacts.as_array().into_iter().flatten() {
                let mut rp = serde_json::Map::new();
                rp.insert("resourceType".into(), "RelatedPerson".into());
                if let Some(o) = c.as_object() {
                    // RelatedPerson has no organization (NK1-13 stays on the contact).
                    for (k, v) in o.iter().filter(|(k, _)| *k != "organization") {
                        let v = if k == "name" {
                            Value::Array(vec![v.clone()])
                        } else {
                            v.clone()
                        };
                        rp.insert(k.clone(), v);
                    }
                }
                rp.insert(
                    "patient".into(),
                    serde_json::json!({ "reference": patient_url }),
                );
                extra.push(serde_json::json!({ "resource": Value::Object(rp) }));
            }
        }
        entries.extend(extra);
    }
    b
}

/// The v2 fields carecodec maps, per segment (docs/mapping.md field tables).
pub const MAPPED: &[(&str, &[u32])] = &[
    (
        "PID",
        &[
            2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 14, 15, 16, 17, 22, 23, 24, 25, 26, 28, 29, 30, 32, 39,
            40,
        ],
    ),
    ("PD1", &[3, 4, 14]),
    (
        "NK1",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 15, 30, 31, 32, 40, 41],
    ),
    (
        "PV1",
        &[
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 19, 36, 37, 38, 39, 40, 42, 44, 45,
            50, 52,
        ],
    ),
    ("PV2", &[1, 3, 8, 9, 11, 12, 13, 25, 38]),
    ("AL1", &[1, 2, 3, 4, 5, 6]),
    ("DG1", &[1, 2, 3, 4, 5, 6, 16, 20]),
    (
        "OBR",
        &[1, 2, 3, 4, 5, 7, 8, 16, 22, 24, 25, 31, 32, 34, 35, 46, 47],
    ),
    (
        "OBX",
        &[
            1, 2, 3, 4, 5, 6, 7, 8, 11, 14, 16, 17, 18, 20, 21, 23, 24, 25,
        ],
    ),
    ("NTE", &[1, 2, 3]),
    ("MSH", &[3, 4, 5, 6, 7, 9, 10, 11, 12]),
    ("EVN", &[1, 2, 6]),
    ("MRG", &[1]),
];

/// Whether a fact's field is one carecodec maps (`None`: the fact could not
/// be located in one field).
pub fn field_mapped(field: &str) -> Option<bool> {
    let (seg, n) = field.split_once('-')?;
    let n: u32 = n.parse().ok()?;
    Some(
        MAPPED
            .iter()
            .find(|(s, _)| *s == seg)
            .is_some_and(|(_, f)| f.contains(&n)),
    )
}

/// Resources carecodec does not make (the model has no place for them, or
/// the Bundle is a transaction of the clinical record, not a message).
const NOT_MADE: &[&str] = &[
    "Account",
    "EpisodeOfCare",
    "Specimen",
    "Linkage",
    "DocumentReference",
    "Provenance",
    "Coverage",
    "Procedure",
    "Immunization",
];

/// Classes of difference: every converter fact carecodec does not produce
/// falls in the first class whose rule holds. docs/mapping.md explains each.
pub const CLASSES: &[(&str, &str)] = &[
    (
        "quarantined",
        "no Bundle: the identity rule quarantines a patient with no NHS number and no MRN with an assigning authority",
    ),
    (
        "field-not-mapped",
        "the v2 field is not mapped by carecodec (docs field tables), or the element only such fields feed",
    ),
    (
        "resource-not-made",
        "a resource carecodec does not make (Account, EpisodeOfCare, Specimen, Linkage, Provenance…) or a reference to one",
    ),
    (
        "converter-extension",
        "an extension only the converter (http://example.com/…) or US Core defines, or a core extension for an unmapped field",
    ),
    (
        "location-hierarchy",
        "both write the IG's PL hierarchy, but the converter's Encounter refers to the point of care (IG and carecodec: the bed), it adds floor and building, types the point of care `lvl` (carecodec `wa`) and joins every component into a description",
    ),
    (
        "assigner-organisation",
        "an Organization per CX.4 / XCN.9 authority and MSH-4 / MSH-6 facility (namespace, universal id, id type) in the converter; the namespace as the identifier's assigner (or the facility's ODS code / name) in carecodec",
    ),
    (
        "practitioner-detail",
        "XCN parts carecodec does not keep on a clinician (the v2-0203 display of XCN.13, XCN.9 universal ids of a type that names no system, such as `HCD`, written by the converter as a placeholder system and an assigner Organization) and PractitionerRole wrappers: the converter codes OBX-16 / OBX-25 roles in v2-0443 (IG: v2-0912 RO / MDIR), writes OBX-25's id as an identifier type, and wraps the OBR-16 requester in a PractitionerRole (IG: a Practitioner)",
    ),
    (
        "validity-period",
        "identifier validity (CX.7/8): a typed identifier has no period in the model (names, addresses and phones keep theirs)",
    ),
    (
        "identifier-detail",
        "identifier parts written differently: CX.4.2/4.3 universal ids of a type that names no system (`HCD`: the converter's placeholder system and assigner; carecodec keeps ISO / UUID / URI ones as the identifier's system), the universal id as the converter's assigner Organization identifier, type codes on ids carecodec types itself, visit-number type text",
    ),
    (
        "uk-core-choice",
        "NHS / UK Core convention: XAD.4 is the county (district, not state); DG1-5 is when the diagnosis was recorded (recordedDate, not onset); PID-15 as a BCP-47 tag (UK Core's required binding; the converter keeps table 0296 codes); hospitalization.dischargeDisposition holds the PV1-37 destination UK Core binds it to, not PV1-36",
    ),
    (
        "part-not-mapped",
        "a component of a mapped field the model does not keep: XAD address type, second NK1-4 address, second coding of NK1-3/7, AL1-2 as AllergyIntolerance.type",
    ),
    (
        "converter-choice",
        "the converter departs from the IG: XTN.1 written beside XTN.12, XTN CP as use home (IG: mobile), CWE.2 copied into the citizenship / nationality `text` (IG: CWE.9), PID-17 `AME` as v3 ReligiousAffiliation 1002 (IG Religion map: no target), PID-6 parts joined by `--` (IG: in the XPN.11 order), AL1-6 as reaction.onset (IG: onset), OBX-6 units as `urn:iso:std:iso:3986`, Encounter.status from the trigger event (IG: PV1-45, else PV1-2), an OBR's ServiceRequest as intent filler-order with status active (IG: intent order; an OBR has no order status) and OBR-24 as its locationCode (IG OBR[ServiceRequest]: no target)",
    ),
    (
        "code-translation",
        "displays, versions and code-system URIs the converter adds from its own tables (CWE.7/8 versions, icd-o, v3 displays) where carecodec keeps the sent code",
    ),
    (
        "value-shape",
        "the same content in another shape: the NK1-30…32 contact person as the RelatedPerson's second name / telecom / address (carecodec: the contact's Organization.contact), OBX-5 repeats as components, OBX-11 status and OBX-21 identifier, DiagnosticReport facts from OBX, Encounter.diagnosis (carecodec links Condition.encounter), references, defaults (active, deceasedBoolean false)",
    ),
    ("unclassified", "not yet explained"),
];

/// Elements only unmapped v2 fields feed.
const UNMAPPED_ELEMENTS: &[&str] = &[
    "RelatedPerson.communication",
    "Patient.meta.",
    "Encounter.meta.",
    "RelatedPerson.birthDate",
    "RelatedPerson.identifier",
    "Organization.",
];

/// The class of an unmatched converter fact (the first rule that holds).
pub fn classify(f: &Fact, quarantined: bool) -> &'static str {
    let p = f.path.as_str();
    let ty = p.split('.').next().unwrap_or_default();
    let ends = |xs: &[&str]| xs.iter().any(|x| p.ends_with(x));
    let has = |xs: &[&str]| xs.iter().any(|x| p.contains(x));
    let starts = |xs: &[&str]| xs.iter().any(|x| p.starts_with(x));
    if quarantined {
        "quarantined"
    } else if field_mapped(&f.field) == Some(false)
        || starts(UNMAPPED_ELEMENTS)
        // The converter's RelatedPerson for PID-21 (mother's identifier).
        || (ty == "RelatedPerson" && f.segment == "PID")
    {
        "field-not-mapped"
    } else if ty == "RelatedPerson" && ["NK1-30", "NK1-31", "NK1-32"].contains(&f.field.as_str()) {
        // The converter's RelatedPerson takes the contact person as a second
        // name, telecom and address (IG NK1[RelatedPerson]); carecodec's
        // Patient.contact has them as its Organization's contact (IG
        // NK1[Patient]), compared there.
        "value-shape"
    } else if f.value.trim().is_empty() {
        // A value of only whitespace (a trailing `| ` field): FHIR strings
        // need content; carecodec reports it and leaves it out.
        "value-shape"
    } else if NOT_MADE.contains(&ty)
        || NOT_MADE
            .iter()
            .any(|t| f.value == format!("ref:{t}") || p.contains(&format!("->{t}")))
    {
        "resource-not-made"
    } else if has(&[
        ".extension{http://example.com/",
        "us-core-",
        "patient-disabilityIndicator",
        "condition-assertedDate",
        "condition-dueTo",
        "temporary-location",
    ]) {
        "converter-extension"
    } else if ty == "Location"
        || starts(&[
            "Encounter.location.",
            "Encounter.hospitalization.destination",
        ])
    {
        "location-hierarchy"
    } else if has(&[
        "assigner->Organization",
        "MessageHeader.sender->Organization",
        "receiver->Organization",
    ]) {
        "assigner-organisation"
    } else if has(&["->PractitionerRole", "asserter->", "participant.type.text"])
        || (has(&["->Practitioner."])
            && !ends(&[
                "->Practitioner.name.family",
                "->Practitioner.name.given",
                "->Practitioner.name.prefix",
                "->Practitioner.identifier.value",
            ]))
        || p.ends_with("participant.type.coding.display")
    {
        "practitioner-detail"
    } else if (has(&[".period."]) && !p.starts_with("Encounter.period"))
        || p.ends_with("telecom.rank")
    {
        "validity-period"
    } else if ends(&[
        "identifier.authority",
        "identifier.system",
        "identifier.type.text",
        "preAdmissionIdentifier.authority",
        "preAdmissionIdentifier.system",
    ]) || has(&["identifier.type.", "preAdmissionIdentifier.type."])
    {
        "identifier-detail"
    } else if starts(&[
        "Patient.communication",
        // The IG puts PV1-36 here; UK Core binds it to discharge destinations
        // (PV1-37), and carecodec writes PV1-36 as the DischargeMethod extension.
        "Encounter.hospitalization.dischargeDisposition",
    ]) || ends(&[
        "address.state",
        "address.district",
        "Condition.onsetDateTime",
    ]) {
        "uk-core-choice"
    } else if ends(&[
        "address.line",
        "address.type",
        "address.use",
        "address.city",
        "address.country",
        "address.postalCode",
        "Patient.name.given",
        "Patient.name.suffix",
        "AllergyIntolerance.type",
    ]) || (p.contains("relationship.coding") && f.field.starts_with("NK1"))
    {
        "part-not-mapped"
    } else if ends(&[
        "telecom.use",
        "telecom.value",
        "telecom.system",
        "reaction.onset",
        "valueQuantity.system",
    ]) || (has(&["patient-citizenship}", "patient-nationality}"])
        && p.ends_with("valueCodeableConcept.text"))
        // Table 0006 `AME` as v3 1002 African Religions: the IG's Religion
        // map has no target for it (a Christian denomination), carecodec
        // writes it as sent in v2-0006.
        || has(&["patient-religion}"])
        // PID-6 joined by `--` (`SMITH--Angela--L`); IG XPN[string]: in the
        // XPN.11 order, which carecodec writes space-separated.
        || has(&["patient-mothersMaidenName}"])
        || starts(&[
            "Encounter.status",
            "ServiceRequest.intent",
            "ServiceRequest.status",
            // OBR-24 also as the order's locationCode (IG OBR[ServiceRequest]:
            // OBR-24 has no target; carecodec writes the IG's
            // DiagnosticReport.category).
            "ServiceRequest.locationCode",
        ])
    {
        "converter-choice"
    } else if ends(&[".display", ".version", "code.text", "coding.system"])
        && !p.contains("patient-importance")
    {
        "code-translation"
    } else if starts(&[
        // A Device the converter makes without referring to it.
        "Device.",
        "Observation.component",
        "Observation.status",
        "Observation.identifier",
        "DiagnosticReport.",
        "Encounter.diagnosis",
        "Encounter.period",
        "Encounter.participant.type.coding.code",
        "Patient.active",
        "Patient.deceasedBoolean",
        // PV1-16 by the IG's PV1[Patient] map; carecodec writes the IG's
        // PV1[Encounter] target, hospitalization.specialCourtesy.
        "Patient.extension{http://hl7.org/fhir/StructureDefinition/patient-importance}",
    ]) || ends(&[".reference", "valueQuantity.unit", "valueQuantity.code"])
    {
        "value-shape"
    } else {
        "unclassified"
    }
}
