//! Proptest: an event's clinical content (encounter, allergies, conditions,
//! result reports with their observations) → UK Core Bundle → model is the
//! identity on everything the Bundle carries, compared with sources removed
//! (they differ by design: FHIR element paths instead of the v2 ones). Every
//! Bundle reads strictly as R4, passes the UK Core checks and reads back with
//! nothing unmapped.
//!
//! The generator keeps to what FHIR has a slot for (docs/mapping.md, "Round
//! trips"): times at day, second or millisecond precision with their offset
//! sent, encounter status one of FHIR's, codes with a system FHIR names,
//! quantities in FHIR's decimal form (trailing zeros and 18 significant
//! digits included: the Bundle is read back from its JSON text as a
//! [`JsonDocument`], which keeps each number as written), a
//! status on every observation and report and a class on every encounter
//! (FHIR requires them: a missing one is written `unknown` / `other`).
//!
//! A second proptest keeps what the first leaves out of the event's own
//! values (the EVN values with no Provenance to hold them, a diagnosis's
//! type and priority with no Encounter, the MSH applications and
//! destination facility in a transaction, an application id that makes no
//! endpoint), adds values the Patient, the AllergyIntolerances, the
//! Encounter, Conditions, Observations and DiagnosticReports and the
//! resources they refer to have no place for (see `lose`, `lose_clinical`)
//! and checks that [`event_not_written`] lists exactly those that do not
//! come back.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use carecodec_map::fhir::{
    BundleType, JsonDocument, event_bundle, event_not_written, read_bundle, write_event_bundle,
    write_event_bundle_for, write_event_bundle_noting,
};
use carecodec_model::{
    Address, AdtKind, Allergy, Application, Attachment, Code, CodeSystem, Concept, Condition,
    Encounter, EncounterClass, Event, HumanName, Identifier, Location, NhsNumber, Observation,
    ObservationSubId, ObservationValue, Organisation, PartialDate, PartialDateTime, Participant,
    Patient, Performer, Period, Practitioner, Precision, Quantity, ResultReport, ResultStatus,
    Source, Sourced,
};
use chrono::{FixedOffset, NaiveDate, TimeZone};
use proptest::prelude::*;
use serde_json::Value;

fn src() -> Source {
    Source::Derived {
        rule: "proptest".into(),
    }
}

fn s<T>(v: T) -> Sourced<T> {
    Sourced::new(v, src())
}

fn text() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{2,8}( [a-z]{2,8})?"
}

/// A time for an `instant` element (`DiagnosticReport.issued`): FHIR has no
/// instant coarser than the second.
fn instant() -> impl Strategy<Value = PartialDateTime> {
    date_time().prop_filter("an instant has a time", |t| t.precision != Precision::Day)
}

fn date_time() -> impl Strategy<Value = PartialDateTime> {
    (
        2000i32..2030,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1000,
        prop_oneof![Just(0i32), Just(3600)],
        0usize..3,
    )
        .prop_map(|(y, mo, d, h, mi, se, ms, off, p)| {
            // A date alone carries no offset: it reads back as midnight UTC with
            // the offset marked inferred, the form generated here.
            let offset = FixedOffset::east_opt(if p == 0 { 0 } else { off }).unwrap();
            let (precision, h, mi, se, ms) = match p {
                0 => (Precision::Day, 0, 0, 0, 0),
                1 => (Precision::Second, h, mi, se, 0),
                _ => (Precision::Fraction, h, mi, se, ms),
            };
            let local = NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_milli_opt(h, mi, se, ms)
                .unwrap();
            PartialDateTime {
                at: offset.from_local_datetime(&local).unwrap(),
                precision,
                offset_inferred: p == 0,
            }
        })
}

fn code(systems: &'static [CodeSystem]) -> impl Strategy<Value = Code> {
    (
        proptest::sample::select(systems),
        "[A-Z0-9]{2,8}",
        proptest::option::of(text()),
    )
        .prop_map(|(system, code, display)| Code {
            system,
            code,
            display,
        })
}

const CLINICAL: &[CodeSystem] = &[CodeSystem::Snomed, CodeSystem::Loinc, CodeSystem::Icd10];

fn concept() -> impl Strategy<Value = Concept> {
    (
        proptest::collection::vec(code(CLINICAL), 1..3),
        proptest::option::of(text()),
    )
        .prop_map(|(codes, text)| Concept { codes, text })
}

/// True when `a` is below `b` (two quantities of the same unit).
fn in_order(a: &Quantity, b: &Quantity) -> bool {
    let n = |q: &Quantity| q.value.parse::<f64>().unwrap();
    a.unit == b.unit && n(a) < n(b)
}

fn quantity() -> impl Strategy<Value = Quantity> {
    (
        // FHIR decimals: precision is in the text (`4.50`), which must survive.
        "-?(0|[1-9][0-9]{0,8})(\\.[0-9]{1,9})?",
        proptest::option::of(prop_oneof![Just("mmol/L"), Just("g/L"), Just("%")]),
    )
        .prop_map(|(value, unit)| Quantity {
            value,
            unit: unit.map(str::to_owned),
            ucum: unit.map(str::to_owned),
            comparator: None,
        })
}

/// Boxed (with its value and last group): with the sub-ID and attachment
/// generators the event's strategy tree overflows a test thread's stack
/// otherwise.
fn observation() -> BoxedStrategy<Observation> {
    (
        concept(),
        proptest::option::of(
            prop_oneof![
                quantity().prop_map(ObservationValue::Quantity),
                text().prop_map(ObservationValue::Text),
                concept().prop_map(ObservationValue::Coded),
                date_time().prop_map(ObservationValue::DateTime),
                (
                    proptest::option::of(quantity()),
                    proptest::option::of(quantity())
                )
                    .prop_filter("a range has a bound", |(l, h)| l.is_some() || h.is_some())
                    // R4 rng-2: the low is not above the high (an inverted
                    // range loses its high: `lose_clinical`).
                    .prop_map(|(low, high)| match (low, high) {
                        (Some(l), Some(h)) if in_order(&h, &l) => ObservationValue::Range {
                            low: Some(h),
                            high: Some(l),
                        },
                        (low, high) => ObservationValue::Range { low, high },
                    }),
                attachment().prop_map(ObservationValue::Attachment),
            ]
            .boxed(),
        ),
        prop_oneof![
            Just(ResultStatus::Final),
            Just(ResultStatus::Preliminary),
            Just(ResultStatus::Amended),
            Just(ResultStatus::Corrected),
            Just(ResultStatus::Cancelled),
            Just(ResultStatus::EnteredInError),
            Just(ResultStatus::Registered),
            Just(ResultStatus::Unknown),
        ],
        proptest::option::of(date_time()),
        proptest::collection::vec(text(), 0..2),
        proptest::option::of("[0-9]{1,2}-[0-9]{2,3}"),
        proptest::collection::vec(
            // Flags with the display the IG's table gives them (the writer adds it).
            proptest::sample::select(
                &[
                    ("H", "High"),
                    ("L", "Low"),
                    ("N", "Normal"),
                    ("A", "Abnormal"),
                    ("HH", "Critical high"),
                    ("LL", "Critical low"),
                ][..],
            ),
            0..2,
        ),
        (
            proptest::collection::vec(performer(), 0..3),
            proptest::option::of((
                "[A-Z0-9]{3,8}",
                proptest::option::of("[A-Z]{2,5}"),
                common::authority_system(),
            )),
            proptest::option::of(concept()),
            proptest::option::of(concept()),
            proptest::collection::vec(
                (
                    "[A-Z0-9.]{2,8}",
                    proptest::option::of(prop_oneof![
                        "urn:oid:1\\.2\\.[0-9]{1,4}",
                        "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                    ]),
                    // An OBX-18 EI.2 namespace (an untyped identifier with
                    // its authority), or none.
                    proptest::option::of("[A-Z]{2,6}"),
                ),
                0..3,
            ),
            sub_id(),
        )
            .boxed(),
    )
        .prop_map(
            |(
                code,
                value,
                status,
                effective,
                notes,
                range,
                flags,
                (performers, id, method, body_site, device, sub_id),
            )| Observation {
                code: s(code),
                value: value.map(s),
                reference_range: range.map(s),
                interpretation: flags
                    .into_iter()
                    .map(|(f, d)| s(Code::new(CodeSystem::V2Table("0078".into()), f, Some(d))))
                    .collect(),
                status: Some(s(status)),
                effective: effective.map(s),
                notes: notes.into_iter().map(s).collect(),
                performers,
                // OBX-21: a filler identifier with its namespace.
                identifiers: id
                    .map(|(value, authority, system)| {
                        s(Identifier::Typed {
                            kind: "FILL".into(),
                            value,
                            authority,
                            system,
                        })
                    })
                    .into_iter()
                    .collect(),
                method: method.map(s),
                body_site: body_site.map(s),
                device: device
                    .into_iter()
                    .map(|(value, system, namespace)| match namespace {
                        Some(ns) => s(Identifier::Typed {
                            kind: String::new(),
                            value,
                            authority: Some(ns),
                            system,
                        }),
                        None => s(Identifier::Other { system, value }),
                    })
                    .collect(),
                sub_id: sub_id.map(s),
                no_encounter: false,
            },
        )
        .boxed()
}

/// An attachment (HL7 v2 ED / RP): Base64 data, a url, a content type,
/// something of them; inline data always with its type (R4 att-1: the
/// writer types untyped data `application/octet-stream`).
fn attachment() -> impl Strategy<Value = Attachment> {
    (
        proptest::option::of(prop_oneof![
            Just("application/pdf"),
            Just("image/jpeg"),
            Just("text/plain")
        ]),
        proptest::option::of(
            "([A-Za-z0-9+/]{4}){0,5}([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)",
        ),
        proptest::option::of("https://pacs\\.nhs\\.uk/[a-z0-9]{1,8}"),
    )
        .prop_filter(
            "data has a type; an attachment has something",
            |(t, d, u)| (d.is_none() || t.is_some()) && (t.is_some() || d.is_some() || u.is_some()),
        )
        .prop_map(|(t, data, url)| Attachment {
            content_type: t.map(str::to_owned),
            data,
            url,
        })
}

/// An HL7 v2 OBX-4 sub-ID: none, or some of its parts (group and sequence
/// FHIR decimals).
fn sub_id() -> impl Strategy<Value = Option<ObservationSubId>> {
    let decimal = "(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?";
    (
        proptest::option::of("[0-9]{1,2}(\\.[0-9]{1,2}){0,2}"),
        proptest::option::of(decimal),
        proptest::option::of(decimal),
        // Lower case: the not-written proptest looks for `R…` codes.
        proptest::option::of("[a-z][a-z0-9]{0,7}"),
    )
        .prop_map(|(original, group, sequence, identifier)| {
            let id = ObservationSubId {
                original,
                group,
                sequence,
                identifier,
            };
            (id != ObservationSubId::default()).then_some(id)
        })
}

/// A performing organisation (HL7 v2 OBX-23/24): a typed identifier, a name
/// and an address.
fn organisation() -> impl Strategy<Value = Organisation> {
    (
        proptest::option::of((
            "[0-9]{3,6}",
            proptest::option::of("[A-Z]{2}-[0-9]"),
            common::authority_system(),
            // XON.7 `XX`, or none (an untyped identifier).
            proptest::bool::ANY,
        )),
        proptest::option::of(text()),
        proptest::option::of((
            proptest::collection::vec(text(), 1..3),
            proptest::option::of(text()),
            proptest::option::of("[A-Z]{2}[0-9] [0-9][A-Z]{2}"),
        )),
    )
        // R4 org-1: an Organization has a name or an identifier.
        .prop_filter("a name or an identifier", |(id, name, _)| {
            id.is_some() || name.is_some()
        })
        .prop_map(|(id, name, addr)| Organisation {
            identifiers: id
                .map(|(value, authority, system, typed)| {
                    s(match (typed, authority) {
                        (true, authority) => Identifier::Typed {
                            kind: "XX".into(),
                            value,
                            authority,
                            system,
                        },
                        // No XON.7: untyped with its XON.6 authority, else
                        // in its system alone.
                        (false, Some(a)) => Identifier::Typed {
                            kind: String::new(),
                            value,
                            authority: Some(a),
                            system,
                        },
                        (false, None) => Identifier::Other { system, value },
                    })
                })
                .into_iter()
                .collect(),
            name: name.map(s),
            address: addr.map(|(lines, city, postcode)| {
                s(Address {
                    lines,
                    city,
                    postcode,
                    usage: Some("work".into()),
                    ..Address::default()
                })
            }),
            ..Organisation::default()
        })
}

/// The period of a PractitionerRole (HL7 v2 NDL.2 / 3; from FHIR any
/// role's), when it has one: a start, an end or both, never ending before
/// it starts.
fn role_period() -> impl Strategy<Value = Option<Sourced<Period>>> {
    proptest::option::of(
        (
            proptest::option::of(date_time()),
            proptest::option::of(date_time()),
        )
            .prop_filter_map("a period has a start or an end", |(start, end)| {
                let (start, end) = match (start, end) {
                    (None, None) => return None,
                    (Some(s), Some(e)) if carecodec_map::fhir::ends_before(&e, &s) => {
                        (Some(e), Some(s))
                    }
                    other => other,
                };
                Some(s(Period { start, end }))
            }),
    )
}

/// An observation performer: a responsible observer (RO), a medical
/// director (MDIR) of an organisation, or an organisation alone.
fn performer() -> impl Strategy<Value = Performer> {
    prop_oneof![
        (practitioner(), role_period()).prop_map(|(p, period)| Performer {
            role: Some("RO".into()),
            practitioner: Some(p),
            organisation: None,
            period,
        }),
        (practitioner(), proptest::option::of(organisation())).prop_map(|(p, o)| Performer {
            role: Some("MDIR".into()),
            practitioner: Some(p),
            organisation: o,
            period: None,
        }),
        organisation().prop_map(|o| Performer {
            organisation: Some(o),
            ..Performer::default()
        }),
    ]
}

/// A report's interpreter or performer: a PractitionerRole in one of
/// `roles` (with its NDL.2 / 3 period, or none); from FHIR also a
/// Practitioner or an Organization alone.
fn report_performer(roles: &'static [&'static str]) -> impl Strategy<Value = Performer> {
    prop_oneof![
        3 => (proptest::sample::select(roles), practitioner(), role_period()).prop_map(
            |(role, p, period)| Performer {
                role: Some(role.into()),
                practitioner: Some(p),
                organisation: None,
                period,
            }
        ),
        1 => practitioner().prop_map(|p| Performer {
            practitioner: Some(p),
            ..Performer::default()
        }),
        1 => organisation().prop_map(|o| Performer {
            organisation: Some(o),
            ..Performer::default()
        }),
    ]
}

fn report() -> impl Strategy<Value = ResultReport> {
    (
        // An OBR with no OBR-4: no code (written as data-absent-reason).
        prop_oneof![4 => concept(), 1 => Just(Concept::default())],
        prop_oneof![
            Just(ResultStatus::Final),
            Just(ResultStatus::Preliminary),
            Just(ResultStatus::Amended),
            // A report's statuses an Observation has not (R4).
            Just(ResultStatus::Corrected),
            Just(ResultStatus::Appended),
            Just(ResultStatus::Partial),
            Just(ResultStatus::Unknown),
        ],
        // OBR-7 and OBR-8: when observed (a period with an end; never
        // ending before it starts, see `lose_clinical`).
        (
            proptest::option::of(date_time()),
            proptest::option::of(date_time()),
        )
            .prop_map(|(start, end)| match (start, end) {
                (Some(s), Some(e)) if carecodec_map::fhir::ends_before(&e, &s) => {
                    (Some(e), Some(s))
                }
                other => other,
            }),
        proptest::option::of(instant()),
        proptest::collection::vec(observation(), 1..4),
        // OBR-2 / OBR-3 placer and filler numbers (typed PLAC / FILL).
        proptest::collection::vec(
            (
                proptest::sample::select(&["PLAC", "FILL"][..]),
                "[A-Z0-9]{3,8}",
                proptest::option::of("[A-Z]{2,5}|[a-z]{3,6} lab"),
                common::authority_system(),
            ),
            0..3,
        ),
        // OBR-16 the orderer (the ServiceRequest's requester).
        proptest::option::of(practitioner()),
        // NTE after the OBR: notes on the order.
        proptest::collection::vec(text(), 0..2),
        // OBR-24 the diagnostic service section (table 0074, the code as
        // sent; a display from a FHIR source).
        proptest::option::of((
            proptest::sample::select(&["CH", "HM", "MB", "LAB", "BLB"][..]),
            proptest::option::of(text()),
        )),
        // OBR-32 the principal result interpreter (a PractitionerRole PRI).
        proptest::collection::vec(report_performer(&["PRI"]), 0..2),
        // OBR-34 / 35 technicians and transcriptionists (PractitionerRoles
        // TN / TR, their function on the reference).
        proptest::collection::vec(report_performer(&["TN", "TR"]), 0..3),
        // The order: OBR-31 reasons, OBR-5 priority (table 0485 codes with
        // a FHIR code; `urgent` from FHIR), OBR-46 / 47 order details.
        (
            proptest::collection::vec(concept(), 0..3),
            proptest::option::of(prop_oneof![
                proptest::sample::select(&["S", "A", "R"][..]).prop_map(|c| Code::new(
                    CodeSystem::V2Table("0485".into()),
                    c,
                    None
                )),
                Just(Code::new(
                    CodeSystem::Uri("http://hl7.org/fhir/request-priority".into()),
                    "urgent",
                    None
                )),
            ]),
            proptest::collection::vec(concept(), 0..3),
        ),
    )
        .prop_map(
            |(
                code,
                status,
                (effective, effective_end),
                issued,
                observations,
                ids,
                ordered_by,
                notes,
                category,
                interpreters,
                performers,
                (reasons, priority, order_details),
            )| {
                // A report with a corrected or withdrawn result is a report
                // corrected as a whole (OBR-25 C): one that corrects only
                // some results is not written when keyed (see fhir.rs
                // a_correction_of_one_result_leaves_the_keyed_report_alone).
                let corrects = observations.iter().any(|o| {
                    matches!(
                        o.status.as_ref().map(|s| s.value),
                        Some(
                            ResultStatus::Amended
                                | ResultStatus::Corrected
                                | ResultStatus::EnteredInError
                        )
                    )
                });
                let status = if corrects {
                    ResultStatus::Amended
                } else {
                    status
                };
                // R4 prr-1: order details are written only beside a code
                // (without one `not_written` lists them: see
                // v2_writer_validity.rs order_detail_only_beside_a_code).
                let coded = !code.codes.is_empty() || code.text.is_some();
                let order_details = if coded { order_details } else { Vec::new() };
                ResultReport {
                    identifiers: ids
                        .into_iter()
                        .map(|(kind, value, authority, system)| {
                            s(Identifier::Typed {
                                kind: kind.into(),
                                value,
                                authority,
                                system,
                            })
                        })
                        .collect(),
                    code: s(code),
                    status: Some(s(status)),
                    effective: effective.map(s),
                    issued: issued.map(s),
                    ordered_by,
                    observations,
                    notes: notes.into_iter().map(s).collect(),
                    effective_end: effective_end.map(s),
                    interpreters,
                    performers,
                    reasons: reasons.into_iter().map(s).collect(),
                    priority: priority.map(s),
                    order_details: order_details.into_iter().map(s).collect(),
                    category: category.map(|(c, display)| {
                        s(Code::new(
                            CodeSystem::V2Table("0074".into()),
                            c,
                            display.as_deref(),
                        ))
                    }),
                }
            },
        )
}

fn allergy() -> impl Strategy<Value = Allergy> {
    (
        concept(),
        proptest::collection::vec(text(), 0..3),
        proptest::option::of((2000i32..2030, 1u32..13, 1u32..29)),
        // The codes FHIR's category and criticality give back (DA and MA are
        // both `medication`, read back as DA; MI and MO both `low`, read as MI).
        proptest::option::of(proptest::sample::select(&["DA", "FA", "EA"][..])),
        proptest::option::of(proptest::sample::select(&["SV", "MI", "U"][..])),
        // Clinical status other than `active` (none is active) and
        // verification status, FHIR codes.
        proptest::option::of(proptest::sample::select(&["inactive", "resolved"][..])),
        proptest::option::of(proptest::sample::select(
            &["unconfirmed", "confirmed", "refuted", "entered-in-error"][..],
        )),
    )
        .prop_map(
            |(code, reactions, identified, category, severity, clinical, verification)| Allergy {
                code: s(code),
                category: category
                    .map(|c| s(Code::new(CodeSystem::V2Table("0127".into()), c, None))),
                severity: severity
                    .map(|c| s(Code::new(CodeSystem::V2Table("0128".into()), c, None))),
                reactions: reactions.into_iter().map(s).collect(),
                identified: identified.map(|(y, m, d)| {
                    s(PartialDate::day(NaiveDate::from_ymd_opt(y, m, d).unwrap()))
                }),
                // R4 ait-2: no clinical status when entered in error.
                clinical_status: clinical
                    .filter(|_| verification != Some("entered-in-error"))
                    .map(|c| s(c.to_owned())),
                verification: verification.map(|v| s(v.to_owned())),
            },
        )
}

fn condition() -> impl Strategy<Value = Condition> {
    (
        concept(),
        proptest::option::of(date_time()),
        // DG1-20 identifiers: an OID system, or none; with an EI.2
        // namespace (an untyped identifier with its authority), or none.
        proptest::collection::vec(
            (
                "[A-Z0-9]{2,6}",
                proptest::option::of("urn:oid:1\\.3\\.6\\.[0-9]{1,4}"),
                proptest::option::of("[A-Z][a-z]{2,9}"),
            ),
            0..2,
        ),
        proptest::option::of(practitioner()),
        proptest::option::of(date_time()),
        // DG1-6 diagnosis type (table 0052, with a display as sent or none)
        // and DG1-15 priority: written on the Encounter's diagnosis entry.
        proptest::option::of((
            proptest::sample::select(&["A", "W", "F"][..]),
            proptest::option::of("[A-Z][a-z]{3,9}"),
        )),
        proptest::option::of(1u32..20),
        // Clinical and verification status (FHIR codes; DG1-21 `D` is
        // `entered-in-error`).
        proptest::option::of(proptest::sample::select(
            &[
                "active",
                "recurrence",
                "relapse",
                "inactive",
                "remission",
                "resolved",
            ][..],
        )),
        proptest::option::of(proptest::sample::select(
            &[
                "unconfirmed",
                "provisional",
                "differential",
                "confirmed",
                "refuted",
                "entered-in-error",
            ][..],
        )),
    )
        .prop_map(
            |(code, recorded, ids, asserter, asserted, kind, priority, clinical, verification)| {
                Condition {
                    code: s(code),
                    diagnosis_type: kind.map(|(c, d)| {
                        s(Code::new(
                            CodeSystem::V2Table("0052".into()),
                            c,
                            d.as_deref(),
                        ))
                    }),
                    priority: priority.map(s),
                    // R4 con-5: no clinical status when entered in error.
                    clinical_status: clinical
                        .filter(|_| verification != Some("entered-in-error"))
                        .map(|c| s(c.to_owned())),
                    verification: verification.map(|v| s(v.to_owned())),
                    recorded: recorded.map(s),
                    identifiers: ids
                        .into_iter()
                        .map(|(value, system, namespace)| match namespace {
                            Some(ns) => s(Identifier::Typed {
                                kind: String::new(),
                                value,
                                authority: Some(ns),
                                system,
                            }),
                            None => s(Identifier::Other { system, value }),
                        })
                        .collect(),
                    asserter,
                    asserted: asserted.map(s),
                    no_encounter: false,
                }
            },
        )
}

/// A clinician as an XCN gives one (IG XCN[Practitioner]): a register
/// number, an id typed by its XCN.13 code with its XCN.9 authority, or an id
/// in an OID system; the name with its use, professional suffix and validity.
fn practitioner() -> impl Strategy<Value = Practitioner> {
    let identifier = prop_oneof![
        "[0-9]{7}".prop_map(Identifier::Gmc),
        (
            proptest::sample::select(&["DN", "BR", "NPI", "CI"][..]),
            "[A-Z0-9]{3,8}",
            proptest::option::of("[A-Z]{7,10}"),
            common::authority_system(),
        )
            .prop_map(|(kind, value, authority, system)| Identifier::Typed {
                kind: kind.into(),
                value,
                authority,
                system,
            }),
        ("[0-9]\\.[0-9]{1,4}\\.[0-9]{1,4}", "[A-Z0-9]{3,8}").prop_map(|(oid, value)| {
            Identifier::Other {
                system: Some(format!("urn:oid:{oid}")),
                value,
            }
        }),
    ];
    (
        identifier,
        text(),
        proptest::collection::vec(text(), 0..2),
        proptest::collection::vec("[A-Z]{2,4}", 0..3),
        proptest::option::of(proptest::sample::select(
            &["official", "usual", "anonymous", "temp", "old"][..],
        )),
        proptest::option::of((
            proptest::option::of(date_time()),
            proptest::option::of(date_time()),
        )),
    )
        .prop_map(|(id, family, given, suffix, usage, period)| Practitioner {
            identifiers: vec![s(id)],
            name: Some(s(HumanName {
                family: Some(family),
                given,
                suffix,
                usage: usage.map(str::to_owned),
                // R4 per-1, as the Encounter's period below.
                period: period.filter(|(a, b)| a.is_some() || b.is_some()).map(
                    |(start, end)| match (start, end) {
                        (Some(a), Some(b)) if carecodec_map::fhir::ends_before(&b, &a) => Period {
                            start: Some(b),
                            end: Some(a),
                        },
                        (start, end) => Period { start, end },
                    },
                ),
                ..HumanName::default()
            })),
        })
}

fn location() -> impl Strategy<Value = Location> {
    ("R[A-Z0-9]{2}[0-9]{2}", text()).prop_map(|(site, name)| Location {
        identifiers: vec![s(Identifier::OdsSite(site))],
        name: Some(s(name)),
        ..Location::default()
    })
}

fn encounter() -> impl Strategy<Value = Encounter> {
    (
        ("V[0-9]{4,8}", common::authority_system()),
        prop_oneof![
            Just(EncounterClass::Inpatient),
            Just(EncounterClass::Outpatient),
            Just(EncounterClass::Emergency),
            Just(EncounterClass::Commercial),
            Just(EncounterClass::NotApplicable),
            Just(EncounterClass::Other),
        ],
        // R4's statuses (a FHIR Encounter's: the v2 mapper gives four).
        proptest::sample::select(&carecodec_fhir::uk_core::codes::ENCOUNTER_STATUS[..]),
        proptest::option::of(date_time()),
        proptest::option::of(date_time()),
        proptest::option::of(concept()),
        proptest::collection::vec(
            (
                proptest::sample::select(&["ATND", "REF", "CON", "ADM"][..]),
                practitioner(),
            ),
            0..3,
        ),
        proptest::option::of(location()),
        proptest::option::of(location()),
        // PV1-5 preadmit number, PV1-13 re-admission, PV1-38 diet.
        (
            proptest::option::of(prop_oneof![
                "P[0-9]{4,8}".prop_map(|value| Identifier::Other {
                    system: None,
                    value
                }),
                (
                    "P[0-9]{4,8}",
                    proptest::option::of(Just("RX1".to_owned())),
                    common::authority_system()
                )
                    .prop_map(|(value, authority, system)| Identifier::Typed {
                        kind: "ANON".into(),
                        value,
                        authority,
                        system,
                    }),
            ]),
            proptest::option::of(("[A-Z]", proptest::option::of(text())).prop_map(
                |(code, display)| Code {
                    system: CodeSystem::V2Table("0092".into()),
                    code,
                    display,
                },
            )),
            proptest::option::of(concept()),
            // PV2-25 priority (table 0217; 1-3 written as v3 ActPriority), PV2-11 length.
            proptest::option::of("[1-9]".prop_map(|code| Code {
                system: CodeSystem::V2Table("0217".into()),
                code,
                display: None,
            })),
            proptest::option::of("[1-9][0-9]{0,2}(\\.[0-9]?[1-9])?"),
            // PV1-42 pending and PV2-1 prior pending locations.
            proptest::option::of(location()),
            proptest::option::of(location()),
            // PV1-16 VIP indicator, PV1-15 ambulatory statuses (A2 without a
            // display: it is written as `wheel`, whose display is FHIR's).
            proptest::option::of(concept()),
            proptest::collection::vec(
                prop_oneof![
                    Just(Code::new(CodeSystem::V2Table("0009".into()), "A2", None)),
                    ("A[3-9]|B[1-6]", proptest::option::of(text())).prop_map(|(code, display)| {
                        Code {
                            system: CodeSystem::V2Table("0009".into()),
                            code,
                            display,
                        }
                    }),
                ],
                0..3,
            ),
            // PV2-12 visit description (markup characters escaped in the narrative).
            proptest::option::of("[A-Za-z][A-Za-z0-9&<>'\" ]{0,30}[A-Za-z0-9]"),
            // PV1-40 bed status (table 0116), kept with a current location.
            proptest::option::of(("[A-Z]", proptest::option::of(text())).prop_map(
                |(code, display)| Code {
                    system: CodeSystem::V2Table("0116".into()),
                    code,
                    display,
                },
            )),
            // PV2-38 mode of arrival (table 0430).
            proptest::option::of(("[A-Z]", proptest::option::of(text())).prop_map(
                |(code, display)| Code {
                    system: CodeSystem::V2Table("0430".into()),
                    code,
                    display,
                },
            )),
        ),
    )
        .prop_map(
            |(
                visit,
                class,
                status,
                admitted,
                discharged,
                reason,
                parts,
                loc,
                prior,
                (
                    preadmit,
                    readmission,
                    diet,
                    priority,
                    length,
                    pending,
                    prior_pending,
                    vip,
                    ambulatory,
                    description,
                    bed,
                    arrival,
                ),
            )| {
                let mut e = Encounter::default();
                let (visit, system) = visit;
                e.identifiers.push(s(Identifier::VisitNumber {
                    value: visit,
                    authority: Some("RX1".into()),
                    system,
                }));
                e.class = Some(s(class));
                e.status = Some(status.to_owned());
                // R4 per-1: a period ends after it starts (the writer leaves
                // out an end before the start).
                let (admitted, discharged) = match (admitted, discharged) {
                    (Some(a), Some(d)) if carecodec_map::fhir::ends_before(&d, &a) => {
                        (Some(d), Some(a))
                    }
                    other => other,
                };
                e.admitted = admitted.map(s);
                e.discharged = discharged.map(s);
                e.reason = reason.map(s);
                e.participants = parts
                    .into_iter()
                    .map(|(role, practitioner)| Participant {
                        role: role.into(),
                        practitioner,
                    })
                    .collect();
                e.location = loc.map(Box::new);
                e.prior_location = prior.map(Box::new);
                e.preadmission_id = preadmit.map(s);
                e.readmission = readmission.map(s);
                e.diet = diet.map(s);
                e.priority = priority.map(s);
                e.length_days = length.map(s);
                e.pending_location = pending.map(Box::new);
                e.prior_pending_location = prior_pending.map(Box::new);
                e.arrival_mode = arrival.map(s);
                e.special_courtesy = vip.map(s);
                e.description = description.map(s);
                e.bed_status = bed.filter(|_| e.location.is_some()).map(s);
                e.ambulatory_status = ambulatory.into_iter().map(s).collect();
                e
            },
        )
}

fn event() -> impl Strategy<Value = Event> {
    event_of(false)
}

/// Events; `lossy`: with the values of the event's own a Bundle may have no
/// place for (EVN values without a Provenance, a diagnosis's type and
/// priority without an Encounter, MSH-3 / MSH-5 / MSH-6), and those of
/// [`lose`] and [`lose_clinical`].
fn event_of(lossy: bool) -> BoxedStrategy<Event> {
    // Names and a facility no other generated text is (the marker check
    // below looks for them in the Bundle's text).
    let application = proptest::option::of(prop_oneof![
        ("Zq[A-Z]{3,6}", "1\\.2\\.[0-9]{1,4}").prop_map(|(n, id)| Application::new(
            Some(&n),
            Some(&id),
            Some("ISO")
        )),
        "Zq[A-Z]{3,6}".prop_map(|n| Application::new(Some(&n), None, None)),
    ]);
    let msh = (
        application.clone(),
        application,
        proptest::option::of("RZ[0-9]{2}"),
    )
        .prop_map(move |m| if lossy { m } else { (None, None, None) })
        .boxed();
    (
        proptest::option::of(encounter()),
        proptest::collection::vec(allergy(), 0..3),
        proptest::collection::vec(condition(), 0..3),
        proptest::collection::vec(report(), 0..3),
        // Observations of no report (an ADT's OBX).
        proptest::collection::vec(observation(), 0..3),
        // EVN as a Provenance: recorded (an instant), occurred, reason
        // (table 0062), operator; MSH-4 the sender.
        (
            proptest::option::of(instant()),
            proptest::option::of(date_time()),
            proptest::option::of(proptest::sample::select(&["01", "02", "03"][..])),
            proptest::option::of(practitioner()),
            proptest::option::of("R[A-Z0-9]{2}"),
        )
            // Boxed: the whole event's strategy tree is deep enough to
            // overflow a test thread's stack otherwise.
            .boxed(),
        // A34 / A40: the merged (non-surviving) record's MRG-1 identifiers.
        merged(),
        // MSH-9 and MSH-10: kept by a transaction Bundle too (the Provenance's
        // activity, the Bundle's identifier).
        (
            proptest::sample::select(
                &[
                    (AdtKind::Other, "FHIR"),
                    (AdtKind::Admit, "ADT^A01"),
                    (AdtKind::Update, "ADT^A08"),
                    (AdtKind::Result, "ORU^R01"),
                ][..],
            ),
            proptest::option::of("[A-Za-z0-9.-]{1,12}"),
        ),
        msh,
        // What the Patient, its merged record and the AllergyIntolerances
        // leave out, then what the Encounter, Conditions, Observations,
        // DiagnosticReports and the resources they refer to leave out
        // (lossy only): which of them the event carries.
        proptest::collection::vec(proptest::bool::ANY, PATIENT_LOSSES + CLINICAL_LOSSES + 1),
    )
        .prop_map(
            move |(
                mut encounter,
                mut allergies,
                mut conditions,
                mut reports,
                mut observations,
                evn,
                mut merged_from,
                msh,
                (source_application, destination_application, destination_facility),
                losses,
            )| {
                let ((kind, message_type), message_id) = msh;
                let (mut recorded, mut occurred, mut reason, mut operator, mut sender) = evn;
                // MSH-7 and EVN-2 of a date alone: no FHIR instant (lossy only).
                let mut sent = None;
                if lossy && losses.last() == Some(&true) {
                    let day = |t: PartialDateTime| PartialDateTime {
                        precision: Precision::Day,
                        ..t
                    };
                    recorded = recorded.map(day);
                    sent = recorded.or(occurred).map(day);
                }
                // R4 Provenance needs `recorded` and an agent (the operator,
                // else the sender): without them there is none, and a
                // transaction Bundle has no other place for these.
                if !lossy && (recorded.is_none() || (operator.is_none() && sender.is_none())) {
                    (recorded, occurred, reason, operator, sender) = (None, None, None, None, None);
                }
                // A diagnosis's type and priority live on the Encounter: without
                // one, FHIR has no place for them.
                if !lossy && encounter.is_none() {
                    for c in &mut conditions {
                        c.diagnosis_type = None;
                        c.priority = None;
                    }
                }
                // With an Encounter, every second result and diagnosis is of
                // none (read from FHIR with no `encounter`): written without
                // one, a diagnosis outside the Encounter's `diagnosis`, so
                // its type and priority have no place either.
                if encounter.is_some() {
                    let results = reports.iter_mut().flat_map(|r| &mut r.observations);
                    for (i, o) in observations.iter_mut().chain(results).enumerate() {
                        o.no_encounter = i % 2 == 1;
                    }
                    for (i, c) in conditions.iter_mut().enumerate() {
                        c.no_encounter = i % 2 == 1;
                        if c.no_encounter && !lossy {
                            c.diagnosis_type = None;
                            c.priority = None;
                        }
                    }
                }
                let mut patient = Patient::default();
                patient.identifiers.push(s(Identifier::Nhs {
                    number: NhsNumber::parse("9434765919").unwrap(),
                    verification: None,
                }));
                if lossy {
                    let (on, clinical) = losses.split_at(PATIENT_LOSSES);
                    lose(on, &mut patient, &mut allergies, &mut merged_from);
                    lose_clinical(
                        clinical,
                        &mut encounter,
                        &mut conditions,
                        &mut reports,
                        &mut observations,
                    );
                }
                Event {
                    kind,
                    message_type: message_type.into(),
                    message_id,
                    sent: sent.map(s),
                    occurred: occurred.map(s),
                    recorded: recorded.map(s),
                    reason: reason
                        .map(|c| s(Code::new(CodeSystem::V2Table("0062".into()), c, None))),
                    operator,
                    sender: sender.map(s),
                    source_application: source_application.map(s),
                    destination_application: destination_application.map(s),
                    destination_facility: destination_facility.map(s),
                    processing: None,
                    patient: Some(patient),
                    merged_from,
                    encounter,
                    allergies,
                    conditions,
                    reports,
                    observations,
                    group: None,
                }
            },
        )
        .boxed()
}

/// The identifiers of a merged record (MRG-1): another NHS number (UK Core
/// allows one a Patient), then MRNs with their authority, with or without the
/// authority's system.
/// Adds to an event the values its Patient, merged record and
/// AllergyIntolerances leave out, each where `on` says: an invalid NHS number
/// (the patient's and the merged record's), a name, telecom and address use
/// of no FHIR code, an address kind of none, a telecom period ending before
/// it starts, a contact of only a relationship, allergy codes FHIR does
/// not tell apart or has none for, a telecom rank that is no positiveInt, a
/// birth order above 2^31 - 1, a birth time with no birth date, and empty
/// values (a contact of only an empty name, an empty name, an empty allergy
/// code).
fn lose(
    on: &[bool],
    patient: &mut Patient,
    allergies: &mut [Allergy],
    merged_from: &mut Vec<Sourced<Identifier>>,
) {
    let on = |i: usize| on.get(i).copied().unwrap_or(false);
    let invalid = || Identifier::Other {
        system: Some("NHS (invalid)".into()),
        value: "1234567890".into(),
    };
    if on(0) {
        patient.identifiers.push(s(invalid()));
    }
    if on(1) {
        merged_from.push(s(invalid()));
    }
    if on(2) {
        patient.names.push(s(HumanName {
            family: Some("Zqbirth".into()),
            usage: Some("B".into()),
            ..HumanName::default()
        }));
    }
    if on(3) {
        patient.telecom.push(s(carecodec_model::Telecom {
            system: Some("phone".into()),
            value: "01632 960001".into(),
            usage: Some("EMR".into()),
            ..carecodec_model::Telecom::default()
        }));
    }
    if on(4) {
        let at = |y| PartialDateTime {
            at: FixedOffset::east_opt(0)
                .unwrap()
                .with_ymd_and_hms(y, 1, 1, 0, 0, 0)
                .unwrap(),
            precision: Precision::Day,
            offset_inferred: true,
        };
        patient.telecom.push(s(carecodec_model::Telecom {
            system: Some("phone".into()),
            value: "01632 960002".into(),
            period: Some(Period {
                start: Some(at(2020)),
                end: Some(at(2010)),
            }),
            ..carecodec_model::Telecom::default()
        }));
    }
    if on(5) {
        patient.addresses.push(s(Address {
            lines: vec!["1 Zqmail Street".into()],
            usage: Some("M".into()),
            kind: Some("mailing".into()),
            ..Address::default()
        }));
    }
    if on(6) {
        patient.contacts.push(carecodec_model::Contact {
            relationship: Some(s(Code::new(
                CodeSystem::V2Table("0063".into()),
                "MTH",
                None,
            ))),
            ..carecodec_model::Contact::default()
        });
    }
    if let Some(a) = allergies.first_mut().filter(|_| on(7)) {
        a.category = Some(s(Code::new(CodeSystem::V2Table("0127".into()), "MA", None)));
        a.severity = Some(s(Code::new(CodeSystem::V2Table("0128".into()), "MO", None)));
        // R4 ait-2: no clinical status beside entered-in-error.
        a.clinical_status = Some(s("inactive".into()));
        a.verification = Some(s("entered-in-error".into()));
    }
    if let Some(a) = allergies.last_mut().filter(|_| on(8)) {
        a.category = Some(s(Code::new(CodeSystem::V2Table("0127".into()), "MC", None)));
        a.severity = Some(s(Code::new(CodeSystem::V2Table("0128".into()), "5", None)));
    }
    // positiveInt is 1 to 2^31 - 1.
    if on(9) {
        patient.telecom.push(s(carecodec_model::Telecom {
            system: Some("phone".into()),
            value: "01632 960003".into(),
            rank: Some(if on(10) { 0 } else { 2_147_483_648 }),
            ..carecodec_model::Telecom::default()
        }));
    }
    // An R4 integer is 32-bit signed: written as the boolean.
    if on(10) {
        patient.multiple_birth = Some(s(carecodec_model::MultipleBirth::Order(u32::MAX)));
    }
    // patient-birthTime extends birthDate: none here.
    if on(11) {
        let at = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(1970, 1, 1, 10, 15, 0)
            .unwrap();
        patient.birth_time = Some(s(PartialDateTime {
            at,
            precision: Precision::Second,
            offset_inferred: false,
        }));
    }
    // Text no FHIR string holds (a vendor's model): a control character
    // (written without it), blank parts (not written: an address of only
    // those is none) and an MRN of blank value (no identifier, no key).
    if on(13) {
        patient.names.push(s(HumanName {
            family: Some("Zq\u{7}ctl".into()),
            given: vec!["  ".into()],
            ..HumanName::default()
        }));
        patient.identifiers.push(s(Identifier::Mrn {
            value: " ".into(),
            authority: Some("RX9".into()),
            system: None,
        }));
    }
    // Empty values (a text-only name, display-only codings, which the FHIR
    // reader leaves unmapped): a contact of only an empty name and a name
    // use of no FHIR code, which is not written (pat-1), and an empty
    // allergy code, written as none.
    if on(12) {
        patient.contacts.push(carecodec_model::Contact {
            name: Some(s(HumanName {
                usage: Some("B".into()),
                ..HumanName::default()
            })),
            gender: Some(s(carecodec_model::Gender::Female)),
            ..carecodec_model::Contact::default()
        });
        patient.names.push(s(HumanName::default()));
        if let Some(a) = allergies.first_mut() {
            a.code.value = Concept::default();
        }
    }
    if on(13) {
        patient.addresses.push(s(Address {
            lines: vec![" ".into()],
            city: Some("\u{1}".into()),
            ..Address::default()
        }));
    }
}

/// How many switches [`lose`] takes.
const PATIENT_LOSSES: usize = 14;

/// How many switches [`lose_clinical`] takes.
const CLINICAL_LOSSES: usize = 12;

/// Adds to an event the values its Encounter, Conditions, Observations and
/// DiagnosticReports, and the Practitioners, Locations and Organizations
/// they refer to, leave out, each where `on` says: an encounter status
/// that is not R4's, an obstetrics class, a discharge before the admission,
/// a length of no decimal, a bed status with no current location, a
/// priority and an ambulatory status written as v3 codes with a display
/// sent, a name use and an address kind of no FHIR code; two practitioners
/// with one key and different names; a diagnosis's clinical status beside
/// entered-in-error and a priority 0 or 2^31; a quantity, a range bound and a
/// comparator FHIR has no decimal or code for, an interpretation flag with
/// its own display, an issued date with no time, an observation end before
/// its start, an order priority of no FHIR code, and a performing
/// organisation's address kind of none and period (an organisation alone has
/// no role to hold it).
fn lose_clinical(
    on: &[bool],
    encounter: &mut Option<Encounter>,
    conditions: &mut [Condition],
    reports: &mut [ResultReport],
    observations: &mut [Observation],
) {
    let on = |i: usize| on.get(i).copied().unwrap_or(false);
    let year = |y| PartialDateTime {
        at: FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(y, 1, 1, 0, 0, 0)
            .unwrap(),
        precision: Precision::Day,
        offset_inferred: true,
    };
    let shared = |family: &str| Practitioner {
        identifiers: vec![s(Identifier::Gmc("7777777".into()))],
        name: Some(s(HumanName {
            family: Some(family.into()),
            ..HumanName::default()
        })),
    };
    if let Some(e) = encounter.as_mut() {
        if on(0) {
            e.status = Some("zqadmitted".into());
            e.class = Some(s(EncounterClass::Obstetrics));
        }
        if on(1) {
            e.admitted = Some(s(year(2020)));
            e.discharged = Some(s(year(2010)));
            e.length_days = Some(s("3 days".into()));
        }
        if on(2) {
            e.location = None;
            e.bed_status = Some(s(Code::new(CodeSystem::V2Table("0116".into()), "O", None)));
        }
        if on(3) {
            e.priority = Some(s(Code::new(
                CodeSystem::V2Table("0217".into()),
                "1",
                Some("Emergency"),
            )));
            e.ambulatory_status.push(s(Code::new(
                CodeSystem::V2Table("0009".into()),
                "A2",
                Some("Wheelchair bound"),
            )));
        }
        // A location with nothing in it (a blank ward): no Location, no
        // reference.
        if on(11) {
            e.prior_location = Some(Box::new(Location {
                ward: Some(s(" ".into())),
                ..Location::default()
            }));
        }
        if on(4) {
            let mut p = shared("Zqfirst");
            if let Some(n) = p.name.as_mut() {
                n.value.usage = Some("B".into());
            }
            e.participants.push(Participant {
                role: "ATND".into(),
                practitioner: p,
            });
            if let Some(l) = e.prior_location.as_mut() {
                l.address = Some(s(Address {
                    lines: vec!["1 Zqward Street".into()],
                    usage: Some("M".into()),
                    kind: Some("mailing".into()),
                    ..Address::default()
                }));
            }
        }
    }
    if let Some(c) = conditions.first_mut() {
        if on(5) {
            // The same GMC number as the participant above, another name.
            c.asserter = Some(shared("Zqsecond"));
        }
        if on(6) {
            c.clinical_status = Some(s("active".into()));
            c.verification = Some(s("entered-in-error".into()));
            // positiveInt is 1 to 2^31 - 1: 0 and 2^31 are neither.
            c.priority = Some(s(if on(5) { 2_147_483_648 } else { 0 }));
        }
    }
    // An empty code (display-only codings the FHIR reader left unmapped):
    // written as data-absent-reason, read back as no code.
    if let Some(c) = conditions.last_mut().filter(|_| on(10)) {
        c.code.value = Concept::default();
    }
    let first = observations
        .first_mut()
        .or_else(|| reports.first_mut().and_then(|r| r.observations.first_mut()));
    if let Some(ob) = first {
        if on(7) {
            ob.value = Some(s(ObservationValue::Quantity(Quantity {
                value: "1e".into(),
                unit: Some("mg".into()),
                ucum: Some("mg".into()),
                comparator: None,
            })));
            ob.interpretation = vec![s(Code::new(
                CodeSystem::V2Table("0078".into()),
                "H",
                Some("Above high normal"),
            ))];
        }
        // A blank note and a coding of nothing (not written), and a range
        // whose low is above its high (R4 rng-2: the high is not written).
        if on(11) {
            ob.notes.push(s(" ".into()));
            ob.interpretation
                .push(s(Code::new(CodeSystem::V2Table("0078".into()), " ", None)));
            if !on(7) && !on(8) {
                let q = |value: &str| Quantity {
                    value: value.into(),
                    unit: Some("mg".into()),
                    ucum: Some("mg".into()),
                    comparator: None,
                };
                ob.value = Some(s(ObservationValue::Range {
                    low: Some(q("10")),
                    high: Some(q("5")),
                }));
            }
        }
        if on(8) {
            let q = |value: &str, comparator: Option<&str>| Quantity {
                value: value.into(),
                unit: None,
                ucum: None,
                comparator: comparator.map(str::to_owned),
            };
            ob.value = Some(s(ObservationValue::Range {
                low: Some(q("abc", None)),
                high: Some(q("5", Some("=="))),
            }));
        }
    }
    if let Some(r) = reports.last_mut().filter(|_| on(9)) {
        r.issued = Some(s(year(2024)));
        // An observation end (OBR-8) before its start: no R4 period.
        r.effective = Some(s(year(2024)));
        r.effective_end = Some(s(year(2020)));
        // A priority FHIR's request-priority has no code for (P, preop).
        r.priority = Some(s(Code::new(CodeSystem::V2Table("0485".into()), "P", None)));
        if let Some(ob) = r.observations.last_mut() {
            ob.performers.push(Performer {
                role: None,
                practitioner: None,
                organisation: Some(Organisation {
                    name: Some(s("Zqlab".into())),
                    address: Some(s(Address {
                        lines: vec!["2 Zqlab Street".into()],
                        kind: Some("mailing".into()),
                        ..Address::default()
                    })),
                    ..Organisation::default()
                }),
                // A period, which only a PractitionerRole holds.
                period: Some(s(Period {
                    start: Some(year(2020)),
                    end: None,
                })),
            });
        }
    }
}

fn merged() -> impl Strategy<Value = Vec<Sourced<Identifier>>> {
    let mrn = ("K[0-9]{1,6}", "R[A-Z0-9]{2}", common::authority_system()).prop_map(
        |(value, authority, system)| Identifier::Mrn {
            value,
            authority: Some(authority),
            system,
        },
    );
    (proptest::bool::ANY, proptest::collection::vec(mrn, 0..3)).prop_map(|(nhs, mrns)| {
        let nhs = nhs.then(|| Identifier::Nhs {
            number: NhsNumber::parse("4010232137").unwrap(),
            verification: None,
        });
        nhs.into_iter().chain(mrns).map(s).collect()
    })
}

/// `v` as JSON with every `sources` list removed.
fn without_sources<T: serde_json_ser::Ser>(v: &T) -> Value {
    common::without_sources(v.json())
}

/// The model types serialise through serde; this keeps the test free of a
/// direct serde dependency.
mod serde_json_ser {
    pub trait Ser {
        fn json(&self) -> serde_json::Value;
    }
    macro_rules! ser {
        ($($t:ty),*) => {$(
            impl Ser for $t {
                fn json(&self) -> serde_json::Value {
                    serde_json::to_value(self).unwrap()
                }
            }
        )*};
    }
    ser!(
        Option<carecodec_model::Encounter>,
        Vec<carecodec_model::Allergy>,
        Vec<carecodec_model::Condition>,
        Vec<carecodec_model::ResultReport>,
        Vec<carecodec_model::Observation>,
        Option<carecodec_model::Practitioner>,
        Vec<carecodec_model::Sourced<carecodec_model::Identifier>>
    );
}

/// R4 ele-1 (and FHIR JSON): no empty object, array or string anywhere.
fn no_empty(v: &Value) -> Result<(), TestCaseError> {
    match v {
        Value::Object(m) => {
            prop_assert!(!m.is_empty(), "an empty object");
            m.values().try_for_each(no_empty)
        }
        Value::Array(a) => {
            prop_assert!(!a.is_empty(), "an empty array");
            a.iter().try_for_each(no_empty)
        }
        Value::String(t) => {
            prop_assert!(!t.trim().is_empty(), "an empty string");
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Strict R4, then the UK Core checks on every entry: no errors.
fn uk_core_valid(bundle: &Value) -> Result<(), TestCaseError> {
    let errors = common::uk_core_errors(bundle).map_err(TestCaseError::fail)?;
    prop_assert!(errors.is_empty(), "{errors:#?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn clinical_content_round_trips(event in event()) {
        let bundle = event_bundle(&event).unwrap();
        uk_core_valid(&bundle)?;
        no_empty(&bundle)?;
        let mut written = Vec::new();
        write_event_bundle(&event, BundleType::Transaction, &mut written).unwrap();
        prop_assert_eq!(&serde_json::from_slice::<serde_json::Value>(&written).unwrap(), &bundle);
        let (back, report) = read_bundle(&JsonDocument::from_slice(&written).unwrap());
        prop_assert!(report.balanced());
        prop_assert!(report.unmapped.is_empty(), "{:#?}", report.unmapped);
        prop_assert_eq!(without_sources(&back.encounter), without_sources(&event.encounter));
        prop_assert_eq!(without_sources(&back.allergies), without_sources(&event.allergies));
        prop_assert_eq!(without_sources(&back.conditions), without_sources(&event.conditions));
        prop_assert_eq!(without_sources(&back.reports), without_sources(&event.reports));
        prop_assert_eq!(without_sources(&back.observations), without_sources(&event.observations));
        prop_assert_eq!(without_sources(&back.operator), without_sources(&event.operator));
        prop_assert_eq!(without_sources(&back.merged_from), without_sources(&event.merged_from));
        let value = |e: &Event| (
            e.recorded.as_ref().map(|t| t.value),
            e.occurred.as_ref().map(|t| t.value),
            e.reason.as_ref().map(|c| c.value.clone()),
            e.sender.as_ref().map(|c| c.value.clone()),
        );
        prop_assert_eq!(value(&back), value(&event));
        // The control id is the Bundle's identifier; the event type is the
        // Provenance's activity, so it comes back when there is a Provenance.
        prop_assert_eq!(&back.message_id, &event.message_id);
        if event.recorded.is_some() {
            prop_assert_eq!((back.kind, &back.message_type), (event.kind, &event.message_type));
        } else {
            prop_assert_eq!((back.kind, back.message_type.as_str()), (AdtKind::Other, "FHIR"));
        }
    }
}

/// `v` without its members of nothing (null, or an object or array left
/// empty; an array keeps its items, so that their indexes hold); true when
/// `v` is nothing itself.
fn tidy(v: &mut Value) -> bool {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !tidy(x));
            m.is_empty()
        }
        Value::Array(a) => {
            a.iter_mut().for_each(|x| {
                tidy(x);
            });
            a.is_empty()
        }
        Value::Null => true,
        _ => false,
    }
}

/// `v` without the array items [`tidy`] left empty (their indices no longer
/// matter once the listed values are taken).
fn drop_empty_items(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.values_mut().for_each(drop_empty_items);
            m.retain(|_, x| !matches!(x, Value::Array(a) if a.is_empty()));
        }
        Value::Array(a) => {
            a.iter_mut().for_each(drop_empty_items);
            a.retain(|x| !matches!(x, Value::Object(m) if m.is_empty()));
        }
        _ => {}
    }
}

/// The event's values [`event_not_written`] answers for, as JSON with sources
/// removed, a field of nothing left out: the EVN values, the sender, the
/// message type (`FHIR` of kind `other` is none: what `read_bundle` gives an
/// event of no type), the applications, the destination facility, the
/// patient, merged record, allergies, encounter, conditions, reports and
/// observations (an observation's value as its content).
fn answered(e: &Event) -> Value {
    /// A `Sourced` value (`{"value": …}` once its sources are gone) as its
    /// value: the model's field paths go through it.
    fn unwrap_values(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.values_mut().for_each(unwrap_values);
                if let (1, Some(inner)) = (m.len(), m.get("value")) {
                    *v = inner.clone();
                }
            }
            Value::Array(a) => a.iter_mut().for_each(unwrap_values),
            _ => {}
        }
    }
    let mut v = common::without_sources(serde_json::json!({
        "sent": e.sent.as_ref().map(|t| carecodec_map::fhir::date_time(&t.value)),
        "recorded": e.recorded.as_ref().map(|t| carecodec_map::fhir::date_time(&t.value)),
        "occurred": e.occurred.as_ref().map(|t| carecodec_map::fhir::date_time(&t.value)),
        "reason": serde_json::to_value(&e.reason).unwrap(),
        "operator": serde_json::to_value(&e.operator).unwrap(),
        "sender": serde_json::to_value(&e.sender).unwrap(),
        "message_type": (e.kind != AdtKind::Other || e.message_type != "FHIR")
            .then_some(&e.message_type),
        "source_application": serde_json::to_value(&e.source_application).unwrap(),
        "destination_application": serde_json::to_value(&e.destination_application).unwrap(),
        "destination_facility": serde_json::to_value(&e.destination_facility).unwrap(),
        "conditions": serde_json::to_value(&e.conditions).unwrap(),
        "patient": serde_json::to_value(&e.patient).unwrap(),
        "merged_from": serde_json::to_value(&e.merged_from).unwrap(),
        "allergies": serde_json::to_value(&e.allergies).unwrap(),
        "encounter": serde_json::to_value(&e.encounter).unwrap(),
        "observations": serde_json::to_value(&e.observations).unwrap(),
        "reports": serde_json::to_value(&e.reports).unwrap(),
    }));
    // An observation's value as its content (`value.data`, `value.low`):
    // the model's field paths name no `{"type", "value"}` tag.
    let mut observations: Vec<&mut Value> = Vec::new();
    let Value::Object(m) = &mut v else {
        unreachable!()
    };
    for (k, x) in m.iter_mut() {
        match (k.as_str(), x) {
            ("observations", Value::Array(a)) => observations.extend(a.iter_mut()),
            ("reports", Value::Array(a)) => {
                for r in a {
                    if let Some(Value::Array(o)) = r.get_mut("observations") {
                        observations.extend(o.iter_mut());
                    }
                }
            }
            _ => {}
        }
    }
    for o in observations {
        if let Some(inner) = o.pointer("/value/value/value").cloned() {
            o["value"] = inner;
        }
    }
    unwrap_values(&mut v);
    tidy(&mut v);
    v
}

/// `operator.identifiers[0]` as a JSON pointer into [`answered`]'s value
/// (a value held as `{"value": …}` is the object).
fn pointer(field: &str) -> String {
    let mut p = String::new();
    for part in field.split('.') {
        let (name, index) = part.split_once('[').unwrap_or((part, ""));
        p.push('/');
        p.push_str(name);
        if !index.is_empty() {
            p.push('/');
            p.push_str(index.trim_end_matches(']'));
        }
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// What `event_not_written` lists of the event's own values is exactly
    /// what does not come back: a listed value reads back otherwise and is
    /// nowhere in the Bundle's text; given the values read back at the listed
    /// fields, the answered values are those read back. Transaction and
    /// message Bundles.
    #[test]
    fn event_not_written_is_what_does_not_come_back(
        event in event_of(true),
        message in proptest::bool::ANY,
    ) {
        let kind = if message { BundleType::Message } else { BundleType::Transaction };
        let listed = event_not_written(&event, kind).unwrap();
        let (mut noted, mut plain, mut again) = (Vec::new(), Vec::new(), Vec::new());
        write_event_bundle_noting(&event, kind, None, &mut noted, &mut again).unwrap();
        write_event_bundle_for(&event, kind, None, &mut plain).unwrap();
        prop_assert_eq!(&noted, &plain);
        prop_assert_eq!(&again, &listed);
        let bundle: Value = serde_json::from_slice(&plain).unwrap();
        uk_core_valid(&bundle)?;
        no_empty(&bundle)?;
        let (back, report) = read_bundle(&JsonDocument::from_slice(&plain).unwrap());
        prop_assert!(report.unmapped.is_empty(), "{:#?}", report.unmapped);
        let back = answered(&back);
        let mut sent = answered(&event);
        // Last first: an array's later items keep their index.
        for n in listed.iter().rev() {
            let p = pointer(&n.field);
            let was = sent.pointer(&p).cloned();
            prop_assert!(was.is_some(), "{} is not a value of the event: {}", n.field, sent);
            prop_assert_ne!(was.as_ref(), back.pointer(&p), "{} is written", n.field);
            // The model keeps no source for these.
            let unsourced = ["message_type", "encounter.status"].contains(&n.field.as_str());
            prop_assert!(!n.sources.is_empty() || unsourced, "{:?}", n);
            match back.pointer(&p) {
                Some(v) => *sent.pointer_mut(&p).unwrap() = v.clone(),
                None => {
                    let (parent, key) = p.rsplit_once('/').unwrap();
                    match sent.pointer_mut(parent).unwrap() {
                        Value::Object(m) => { m.remove(key); }
                        Value::Array(a) => { a.remove(key.parse::<usize>().unwrap()); }
                        _ => unreachable!(),
                    }
                }
            }
        }
        // What is left of an operator whose parts were all taken is none,
        // and so is a contact's.
        tidy(&mut sent);
        let (mut sent, mut back) = (sent, back);
        drop_empty_items(&mut sent);
        drop_empty_items(&mut back);
        prop_assert_eq!(sent, back);
        // A marker of what is listed is nowhere in the Bundle: the
        // applications' names, the destination facility (`R…` codes are
        // also the sender's: compared only without a sender).
        let text = bundle.to_string();
        for n in &listed {
            let app = n.field.ends_with("_application");
            let facility = n.field == "destination_facility" && event.sender.is_none();
            if app || facility {
                let marker = n.value.split(' ').next().unwrap();
                prop_assert!(!text.contains(&format!("\"{marker}\"")), "{} in {}", marker, text);
            }
        }
    }
}

/// An HL7 v2 message mapped, and what a Bundle of `kind` of it does not
/// carry: (field, value, first source) each.
fn v2_not_written(msg: &str, kind: BundleType) -> Vec<(String, String, String)> {
    let msg = carecodec_hl7v2::Message::parse(msg.as_bytes()).unwrap();
    let (event, _) =
        carecodec_map::v2::map_message(&msg, &carecodec_map::v2::V2Options::default()).unwrap();
    let listed = event_not_written(&event, kind).unwrap();
    // What is listed is not in the Bundle (its values are markers here).
    let mut out = Vec::new();
    write_event_bundle_for(&event, kind, None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for n in &listed {
        if n.value.starts_with("Zq") {
            assert!(!text.contains(&n.value), "{} in {text}", n.value);
        }
    }
    listed
        .into_iter()
        .map(|n| {
            let at = n.sources.first().map(ToString::to_string);
            (n.field, n.value, at.unwrap_or_default())
        })
        .collect()
}

const MSH: &str = "MSH|^~\\&|ZqPAS|ZqSEND|ZqEPR|ZqRECV|20240312091500||ADT^A01|42|P|2.4\r";

/// EVN-4, EVN-5 and EVN-6 with no EVN-2: R4's Provenance needs `recorded`,
/// so there is none. A transaction loses them, and (no MessageHeader either)
/// the sender, the message type, the applications and the destination
/// facility; a message Bundle's MessageHeader holds the latter.
#[test]
fn evn_values_without_a_provenance_are_listed_with_their_v2_source() {
    let msg = format!(
        "{MSH}EVN|A01|||03|C1234567^ZqJONES^ZqANN|20240312090000\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I\r"
    );
    let got = v2_not_written(&msg, BundleType::Transaction);
    let fields: Vec<&str> = got.iter().map(|(f, ..)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "occurred",
            "reason",
            "operator.identifiers[0]",
            "operator.name",
            "sender",
            "message_type",
            "source_application",
            "destination_application",
            "destination_facility",
        ],
        "{got:#?}"
    );
    let of = |f: &str| got.iter().find(|(g, ..)| g == f).unwrap();
    assert_eq!(of("reason").1, "03");
    assert!(of("reason").2.starts_with("HL7 v2 EVN[1]-4"), "{got:#?}");
    assert_eq!(of("operator.name").1, "ZqANN ZqJONES");
    assert!(
        of("operator.name").2.starts_with("HL7 v2 EVN[1]-5"),
        "{got:#?}"
    );
    assert!(of("occurred").2.starts_with("HL7 v2 EVN[1]-6"), "{got:#?}");
    assert_eq!(of("sender").1, "ZqSEND");
    assert!(of("sender").2.starts_with("HL7 v2 MSH[1]-4"), "{got:#?}");
    assert_eq!(of("message_type").1, "ADT^A01");
    assert_eq!(of("message_type").2, "", "the model keeps no source for it");
    assert_eq!(of("source_application").1, "ZqPAS");
    assert!(
        of("source_application").2.starts_with("HL7 v2 MSH[1]-3"),
        "{got:#?}"
    );
    assert_eq!(of("destination_facility").1, "ZqRECV");
    // A message Bundle: its MessageHeader holds the MSH values.
    let got = v2_not_written(&msg, BundleType::Message);
    let fields: Vec<&str> = got.iter().map(|(f, ..)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "occurred",
            "reason",
            "operator.identifiers[0]",
            "operator.name"
        ]
    );
}

/// With EVN-2 and an operator there is a Provenance: nothing of the EVN is
/// listed, and a transaction loses only the applications and the
/// destination facility; a message Bundle nothing.
#[test]
fn with_a_provenance_only_the_header_values_of_a_transaction_are_listed() {
    let msg = format!(
        "{MSH}EVN|A01|20240312091500||03|C1234567^ZqJONES^ZqANN|20240312090000\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I\r"
    );
    let got = v2_not_written(&msg, BundleType::Transaction);
    let fields: Vec<&str> = got.iter().map(|(f, ..)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "source_application",
            "destination_application",
            "destination_facility"
        ]
    );
    assert_eq!(v2_not_written(&msg, BundleType::Message), []);
}

/// A DG1's type (DG1-6) and priority (DG1-15) are the Encounter's
/// `diagnosis` `use` and `rank`: with no PV1 (no Encounter) both are listed,
/// with one neither.
#[test]
fn a_diagnosis_type_and_priority_without_an_encounter_are_listed() {
    let pid =
        "EVN|A08|20240312091500|||C1234567^JONES^ANN\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN\r";
    let dg1 = "DG1|1||I10^Hypertension^I10||20240312|F|||||||||1\r";
    for kind in [BundleType::Transaction, BundleType::Message] {
        let without = v2_not_written(&format!("{MSH}{pid}{dg1}"), kind);
        let conditions: Vec<_> = without
            .iter()
            .filter(|(f, ..)| f.starts_with("conditions"))
            .collect();
        assert_eq!(conditions.len(), 2, "{without:#?}");
        assert_eq!(conditions[0].0, "conditions[0].diagnosis_type");
        assert_eq!(conditions[0].1, "F");
        assert!(
            conditions[0].2.starts_with("HL7 v2 DG1[1]-6"),
            "{without:#?}"
        );
        assert_eq!(conditions[1].0, "conditions[0].priority");
        assert_eq!(conditions[1].1, "1");
        assert!(
            conditions[1].2.starts_with("HL7 v2 DG1[1]-15"),
            "{without:#?}"
        );
        let with = v2_not_written(&format!("{MSH}{pid}PV1|1|I\r{dg1}"), kind);
        assert!(
            with.iter().all(|(f, ..)| !f.starts_with("conditions")),
            "{with:#?}"
        );
    }
}

/// A MessageHeader endpoint is a `urn:oid:` or a URI: an application's
/// universal id of another type (DNS) and that type are not written.
#[test]
fn a_message_header_application_id_of_no_endpoint_is_listed() {
    let msg = "MSH|^~\\&|PAS^Zqpas.example.nhs.uk^DNS|RX1|EPR^1.2.826.0.1^ISO|RX1|20240312091500||ADT^A01|42|P|2.4\r\
               EVN|A01|20240312091500|||C1234567^JONES^ANN\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN\r";
    let got = v2_not_written(msg, BundleType::Message);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].0, "source_application.universal_id");
    assert_eq!(got[0].1, "Zqpas.example.nhs.uk");
    assert!(got[0].2.starts_with("HL7 v2 MSH[1]-3"), "{got:#?}");
    assert_eq!(got[1].0, "source_application.universal_id_type");
    assert_eq!(got[1].1, "DNS");
}

/// The noting writer writes what the plain one does (both Bundle types),
/// appends to the list it is given, and appends nothing when it refuses the
/// event (a patient with no key).
#[test]
fn the_noting_event_writer_appends_and_leaves_the_list_on_an_error() {
    let msg = format!("{MSH}PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r");
    let msg = carecodec_hl7v2::Message::parse(msg.as_bytes()).unwrap();
    let (mut event, _) =
        carecodec_map::v2::map_message(&msg, &carecodec_map::v2::V2Options::default()).unwrap();
    for kind in [BundleType::Transaction, BundleType::Message] {
        let (mut noted, mut plain, mut list) = (b"x".to_vec(), b"x".to_vec(), Vec::new());
        write_event_bundle_noting(&event, kind, Some("RX1"), &mut noted, &mut list).unwrap();
        write_event_bundle_for(&event, kind, Some("RX1"), &mut plain).unwrap();
        assert_eq!(noted, plain);
        assert_eq!(list, event_not_written(&event, kind).unwrap());
    }
    event.patient.as_mut().unwrap().identifiers.clear();
    assert!(event_not_written(&event, BundleType::Message).is_err());
    let earlier = carecodec_model::NotWritten::new(
        "reason",
        "03",
        carecodec_model::Sources::new(),
        "earlier",
    );
    let (mut out, mut list) = (Vec::new(), vec![earlier.clone()]);
    let refused =
        write_event_bundle_noting(&event, BundleType::Transaction, None, &mut out, &mut list);
    assert!(refused.is_err());
    assert!(out.is_empty());
    assert_eq!(list, [earlier]);
}

/// What the Patient and AllergyIntolerances leave out of an HL7 v2 ADT is
/// listed with its v2 source: an invalid NHS number, a next of kin of only a
/// relationship, and allergy type MA and severity MO (FHIR's medication and
/// low, which DA and MI read back as).
#[test]
fn patient_and_allergy_values_a_bundle_leaves_out_are_listed() {
    let msg = format!(
        "{MSH}EVN|A01|20240312091500\r\
         PID|1||1234567890^^^NHS^NH~K1^^^RX1^MR||SMITH^JOHN||19700214|M\r\
         NK1|1||MTH^Mother^HL70063\r\
         PV1|1|I\r\
         AL1|1|MA|Z1^Zqlatex|MO\r"
    );
    for kind in [BundleType::Transaction, BundleType::Message] {
        let got = v2_not_written(&msg, kind);
        // The MSH values a transaction leaves out are listed after them.
        let fields: Vec<(&str, &str, &str)> = got
            .iter()
            .filter(|(f, ..)| f.starts_with("patient") || f.starts_with("allergies"))
            .map(|(f, v, at)| (f.as_str(), v.as_str(), at.split(" (").next().unwrap()))
            .collect();
        assert_eq!(
            fields,
            [
                (
                    "patient.identifiers[0]",
                    "1234567890",
                    "HL7 v2 PID[1]-3[1].1"
                ),
                (
                    "patient.contacts[0].relationship",
                    "MTH (Mother)",
                    "HL7 v2 NK1[1]-3.1"
                ),
                ("allergies[0].category", "MA", "HL7 v2 AL1[1]-2.1"),
                ("allergies[0].severity", "MO", "HL7 v2 AL1[1]-4.1"),
            ],
            "{got:#?}"
        );
    }
}

/// A sub-ID group or sequence that is no decimal and attachment data that
/// is not Base64 (a model made elsewhere: the v2 mapper makes neither) are
/// not written, and listed; the Bundle still reads strictly as R4.
#[test]
fn a_sub_id_number_and_attachment_data_fhir_cannot_hold_are_listed() {
    let msg = format!(
        "{MSH}PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
         OBR|1|ORD1^EPR|LAB1^LAB|11502-2^Report^LN\r\
         OBX|1|ED|11502-2^Report^LN|^1^2|^application^pdf^Base64^QUJD||||||F\r"
    );
    let msg = carecodec_hl7v2::Message::parse(msg.as_bytes()).unwrap();
    let (mut event, _) =
        carecodec_map::v2::map_message(&msg, &carecodec_map::v2::V2Options::default()).unwrap();
    assert!(
        event_not_written(&event, BundleType::Transaction)
            .unwrap()
            .iter()
            .all(|n| !n.field.starts_with("reports"))
    );
    let ob = &mut event.reports[0].observations[0];
    ob.sub_id.as_mut().unwrap().value.group = Some("1.x".into());
    let Some(ObservationValue::Attachment(a)) = ob.value.as_mut().map(|v| &mut v.value) else {
        panic!("{:?}", ob.value);
    };
    a.data = Some("not Base64!".into());
    let listed = event_not_written(&event, BundleType::Transaction).unwrap();
    let got: Vec<_> = listed
        .iter()
        .filter(|n| n.field.starts_with("reports"))
        .map(|n| (n.field.as_str(), n.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("reports[0].observations[0].sub_id.group", "1.x"),
            ("reports[0].observations[0].value.data", "not Base64!")
        ]
    );
    let mut out = Vec::new();
    write_event_bundle(&event, BundleType::Transaction, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("1.x") && !text.contains("not Base64!"),
        "{text}"
    );
    // The type is still written, and the sequence.
    assert!(
        text.contains(r#""valueAttachment":{"contentType":"application/pdf"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"{"url":"sequence","valueDecimal":2}"#),
        "{text}"
    );
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text).unwrap();
}

/// What the Encounter leaves out of an HL7 v2 ADT is listed with its v2
/// source: a PV1-2 class `B` (obstetrics, written `IMP` as inpatient is), a
/// PV1-15 `A2` with its display (written as the IG's `wheel`, whose display
/// is FHIR's), and a PV1-8 clinician with the PV1-7 clinician's GMC number
/// and another name (one Practitioner entry per key: the PV1-7 one).
#[test]
fn encounter_values_a_bundle_leaves_out_are_listed() {
    let msg = format!(
        "{MSH}EVN|A01|20240312091500\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
         PV1|1|B|||||C1234567^JONES^ANN|C1234567^ZqBROWN^ZqBOB|||||||A2^Zqwheelchair bound^HL70009\r"
    );
    for kind in [BundleType::Transaction, BundleType::Message] {
        let got = v2_not_written(&msg, kind);
        let fields: Vec<(&str, &str, &str)> = got
            .iter()
            .filter(|(f, ..)| f.starts_with("encounter"))
            .map(|(f, v, at)| (f.as_str(), v.as_str(), at.split(" (").next().unwrap()))
            .collect();
        assert_eq!(
            fields,
            [
                ("encounter.class", "obstetrics", "HL7 v2 PV1[1]-2.1"),
                (
                    "encounter.participants[1].practitioner",
                    "1234567 ZqBOB ZqBROWN",
                    "HL7 v2 PV1[1]-8[1].1"
                ),
                (
                    "encounter.ambulatory_status[0]",
                    "A2 (Zqwheelchair bound)",
                    "HL7 v2 PV1[1]-15[1].1"
                ),
            ],
            "{got:#?}"
        );
    }
}

/// An OBR-22 results time of a date alone is no FHIR instant: written as
/// its midnight to the second, and listed.
#[test]
fn a_report_issued_date_with_no_time_is_listed() {
    let msg = format!(
        "{MSH}PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
         OBR|1|ORD1^EPR|LAB1^LAB|11502-2^Report^LN||||||||||||||||||20240312|||F\r\
         OBX|1|NM|2345-7^Glucose^LN||7.5|mmol/L|||||F\r"
    );
    let got = v2_not_written(&msg, BundleType::Message);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].0, "reports[0].issued");
    assert_eq!(got[0].1, "2024-03-12");
    assert!(got[0].2.starts_with("HL7 v2 OBR[1]-22"), "{got:#?}");
    // With a time to the second, nothing.
    let timed = msg.replace("|20240312|", "|20240312101500|");
    assert_eq!(v2_not_written(&timed, BundleType::Message), []);
}

/// What the Encounter, Conditions, Observations and the resources they
/// refer to leave out of a model made elsewhere (the v2 mapper makes none
/// of these) is listed, and the Bundle still reads strictly as R4: an
/// encounter status that is not R4's, a discharge before the admission, a
/// length of no decimal, a bed status with no current location, a table
/// 0217 priority with a display, a participant's name use of no FHIR code,
/// a location's address kind of none; a diagnosis's clinical status beside
/// entered-in-error and a priority 0 or 2^31; a quantity of no decimal, a range
/// bound of none and a comparator that is not R4's, a flag with a display
/// of its own, a performing organisation's address use of no FHIR code;
/// an allergy's clinical status beside entered-in-error.
#[test]
fn clinical_values_of_a_model_a_bundle_leaves_out_are_listed() {
    let msg = format!(
        "{MSH}EVN|A01|20240312091500\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
         PV1|1|I|W1^R1^B1|||||C1234567^JONES^ANN|||||||||||V1^^^RX1|||||||||||||||||||||||||20240312091500\r\
         AL1|1|DA|Z1^Penicillin\r\
         DG1|1||I10^Hypertension^I10||20240312|F|||||||||1\r\
         OBX|1|NM|2345-7^Glucose^LN||7.5|mmol/L||H|||F\r\
         OBX|2|NM|2345-7^Glucose^LN||7.5|mmol/L|||||F||||||||||||ZqLAB^^^^^ODS^XX^^^RX1|1 Lab Road^^Leeds^^LS1\r"
    );
    let msg = carecodec_hl7v2::Message::parse(msg.as_bytes()).unwrap();
    let (mut event, _) =
        carecodec_map::v2::map_message(&msg, &carecodec_map::v2::V2Options::default()).unwrap();
    let before = event_not_written(&event, BundleType::Message).unwrap();
    assert_eq!(before, [], "{before:#?}");
    let day = |y| PartialDateTime {
        at: FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(y, 1, 1, 0, 0, 0)
            .unwrap(),
        precision: Precision::Day,
        offset_inferred: true,
    };
    let e = event.encounter.as_mut().unwrap();
    e.status = Some("admitted".into());
    e.discharged = Some(s(day(2010)));
    e.length_days = Some(s("3 days".into()));
    e.priority = Some(s(Code::new(
        CodeSystem::V2Table("0217".into()),
        "1",
        Some("Emergency"),
    )));
    e.participants[0]
        .practitioner
        .name
        .as_mut()
        .unwrap()
        .value
        .usage = Some("B".into());
    let mut ward = e.location.take().unwrap();
    ward.address = Some(s(Address {
        lines: vec!["1 Ward Road".into()],
        kind: Some("mailing".into()),
        ..Address::default()
    }));
    e.prior_location = Some(ward);
    e.bed_status = Some(s(Code::new(CodeSystem::V2Table("0116".into()), "O", None)));
    let c = &mut event.conditions[0];
    c.clinical_status = Some(s("active".into()));
    c.verification = Some(s("entered-in-error".into()));
    c.priority = Some(s(0));
    let a = &mut event.allergies[0];
    a.clinical_status = Some(s("inactive".into()));
    a.verification = Some(s("entered-in-error".into()));
    let ob = &mut event.observations[0];
    ob.value = Some(s(ObservationValue::Quantity(Quantity {
        value: "7,5".into(),
        unit: Some("mmol/L".into()),
        ucum: None,
        comparator: None,
    })));
    ob.interpretation[0].value.display = Some("Above high normal".into());
    let ob = &mut event.observations[1];
    let q = |value: &str, comparator: Option<&str>| Quantity {
        value: value.into(),
        unit: None,
        ucum: None,
        comparator: comparator.map(str::to_owned),
    };
    ob.value = Some(s(ObservationValue::Range {
        low: Some(q("low", None)),
        high: Some(q("5", Some("=="))),
    }));
    let org = ob.performers[0].organisation.as_mut().unwrap();
    org.address.as_mut().unwrap().value.usage = Some("M".into());
    let listed = event_not_written(&event, BundleType::Message).unwrap();
    let got: Vec<(&str, &str)> = listed
        .iter()
        .map(|n| (n.field.as_str(), n.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("observations[0].value", "7,5 mmol/L"),
            ("observations[0].interpretation[0]", "H (Above high normal)"),
            ("observations[1].value.low", "low"),
            ("observations[1].value.high.comparator", "=="),
            ("allergies[0].clinical_status", "inactive"),
            ("encounter.status", "admitted"),
            ("encounter.participants[0].practitioner.name.usage", "B"),
            ("encounter.discharged", "2010-01-01"),
            ("encounter.priority", "1 (Emergency)"),
            ("encounter.length_days", "3 days"),
            ("encounter.prior_location.address.kind", "mailing"),
            ("encounter.bed_status", "O"),
            ("conditions[0].clinical_status", "active"),
            ("conditions[0].priority", "0"),
            (
                "observations[1].performers[0].organisation.address.usage",
                "M"
            ),
        ],
        "{listed:#?}"
    );
    let mut out = Vec::new();
    write_event_bundle_for(&event, BundleType::Message, None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text).unwrap();
    // The quantity's number is written as text, without its unit.
    assert!(text.contains(r#""valueString":"7,5""#), "{text}");
    for lost in [
        "mmol/L",
        "Above high normal",
        "3 days",
        "\"==\"",
        "mailing",
        "\"rank\"",
    ] {
        assert!(!text.contains(lost), "{lost} in {text}");
    }
}

/// An NHS Data Dictionary admission method, source of admission, discharge
/// method and destination (PV1-4 / 14 / 36 / 37, held in their v2 tables)
/// are written in UK Core's England code systems with their display (until
/// 2026-12-07 it was left out, unlisted).
#[test]
fn nhs_coded_admission_and_discharge_keep_their_display() {
    let pv1 = segment(
        "PV1",
        &[
            (1, "1"),
            (2, "I"),
            (4, "11"),
            (14, "19"),
            (36, "1"),
            (37, "19"),
        ],
    );
    let msg = format!("{MSH}EVN|A03|20240312091500\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN\r{pv1}");
    let msg = carecodec_hl7v2::Message::parse(msg.as_bytes()).unwrap();
    let (mut event, _) =
        carecodec_map::v2::map_message(&msg, &carecodec_map::v2::V2Options::default()).unwrap();
    // The v2 mapper reads these fields' code alone: a model made elsewhere
    // may hold a display.
    let e = event.encounter.as_mut().unwrap();
    for (code, display) in [
        (&mut e.admission_method, "Zqwaiting list"),
        (&mut e.admit_source, "Zqusual residence"),
        (&mut e.discharge_method, "Zqdischarged"),
        (&mut e.discharge_destination, "Zqhome"),
    ] {
        code.as_mut().unwrap().value.display = Some(display.into());
    }
    assert_eq!(event_not_written(&event, BundleType::Message).unwrap(), []);
    let mut out = Vec::new();
    write_event_bundle(&event, BundleType::Transaction, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for (system, code, display) in [
        ("AdmissionMethodEngland", "11", "Zqwaiting list"),
        ("SourceOfAdmissionEngland", "19", "Zqusual residence"),
        ("DischargeMethodEngland", "1", "Zqdischarged"),
        ("DischargeDestinationEngland", "19", "Zqhome"),
    ] {
        let coding = format!(
            r#"{{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-{system}","code":"{code}","display":"{display}"}}"#
        );
        assert!(text.contains(&coding), "{coding} not in {text}");
    }
}

/// An HL7 v2 segment `name` with `fields` (number, text) at their numbers.
fn segment(name: &str, fields: &[(usize, &str)]) -> String {
    let n = fields.iter().map(|f| f.0).max().unwrap_or(0);
    let mut v = vec![String::new(); n + 1];
    v[0] = name.into();
    for (i, f) in fields {
        v[*i] = (*f).into();
    }
    v.join("|") + "\r"
}

/// An MSH-7 and an EVN-2 of a date alone are no FHIR instant (the
/// Bundle's `timestamp`, the Provenance's `recorded`): written as their
/// midnight to the second, and listed.
#[test]
fn a_sent_and_recorded_date_with_no_time_are_listed() {
    let msg = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312||ADT^A01|42|P|2.4\r\
               EVN|A01|20240311|||C1234567^JONES^ANN\r\
               PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I\r";
    for kind in [BundleType::Transaction, BundleType::Message] {
        let got = v2_not_written(msg, kind);
        let fields: Vec<(&str, &str, &str)> = got
            .iter()
            .filter(|(f, ..)| f == "sent" || f == "recorded")
            .map(|(f, v, at)| (f.as_str(), v.as_str(), at.split(" (").next().unwrap()))
            .collect();
        assert_eq!(
            fields,
            [
                ("sent", "2024-03-12", "HL7 v2 MSH[1]-7"),
                ("recorded", "2024-03-11", "HL7 v2 EVN[1]-2"),
            ],
            "{got:#?}"
        );
    }
    let timed = msg
        .replace("|20240312|", "|20240312091500|")
        .replace("|20240311|", "|20240311091500|");
    let got = v2_not_written(&timed, BundleType::Message);
    assert!(
        got.iter().all(|(f, ..)| f != "sent" && f != "recorded"),
        "{got:#?}"
    );
}
