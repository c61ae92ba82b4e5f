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
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use carecodec_map::fhir::{
    BundleType, JsonDocument, event_bundle, read_bundle, write_event_bundle,
};
use carecodec_model::{
    Address, AdtKind, Allergy, Code, CodeSystem, Concept, Condition, Encounter, EncounterClass,
    Event, HumanName, Identifier, Location, NhsNumber, Observation, ObservationValue, Organisation,
    PartialDate, PartialDateTime, Participant, Patient, Performer, Period, Practitioner, Precision,
    Quantity, ResultReport, ResultStatus, Source, Sourced,
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

fn observation() -> impl Strategy<Value = Observation> {
    (
        concept(),
        proptest::option::of(prop_oneof![
            quantity().prop_map(ObservationValue::Quantity),
            text().prop_map(ObservationValue::Text),
            concept().prop_map(ObservationValue::Coded),
            date_time().prop_map(ObservationValue::DateTime),
            (
                proptest::option::of(quantity()),
                proptest::option::of(quantity())
            )
                .prop_filter("a range has a bound", |(l, h)| l.is_some() || h.is_some())
                .prop_map(|(low, high)| ObservationValue::Range { low, high }),
        ]),
        prop_oneof![
            Just(ResultStatus::Final),
            Just(ResultStatus::Preliminary),
            Just(ResultStatus::Amended),
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
                ),
                0..3,
            ),
        ),
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
                (performers, id, method, body_site, device),
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
                    .map(|(value, system)| s(Identifier::Other { system, value }))
                    .collect(),
            },
        )
}

/// A performing organisation (HL7 v2 OBX-23/24): a typed identifier, a name
/// and an address.
fn organisation() -> impl Strategy<Value = Organisation> {
    (
        proptest::option::of((
            "[0-9]{3,6}",
            proptest::option::of("[A-Z]{2}-[0-9]"),
            common::authority_system(),
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
                .map(|(value, authority, system)| {
                    s(Identifier::Typed {
                        kind: "XX".into(),
                        value,
                        authority,
                        system,
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

/// An observation performer: a responsible observer (RO), a medical
/// director (MDIR) of an organisation, or an organisation alone.
fn performer() -> impl Strategy<Value = Performer> {
    prop_oneof![
        practitioner().prop_map(|p| Performer {
            role: Some("RO".into()),
            practitioner: Some(p),
            organisation: None,
        }),
        (practitioner(), proptest::option::of(organisation())).prop_map(|(p, o)| Performer {
            role: Some("MDIR".into()),
            practitioner: Some(p),
            organisation: o,
        }),
        organisation().prop_map(|o| Performer {
            role: None,
            practitioner: None,
            organisation: Some(o),
        }),
    ]
}

fn report() -> impl Strategy<Value = ResultReport> {
    (
        concept(),
        prop_oneof![
            Just(ResultStatus::Final),
            Just(ResultStatus::Preliminary),
            Just(ResultStatus::Amended),
            Just(ResultStatus::Unknown),
        ],
        proptest::option::of(date_time()),
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
    )
        .prop_map(
            |(code, status, effective, issued, observations, ids, ordered_by, notes)| {
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
        // DG1-20 identifiers: an OID system, or none.
        proptest::collection::vec(
            (
                "[A-Z0-9]{2,6}",
                proptest::option::of("urn:oid:1\\.3\\.6\\.[0-9]{1,4}"),
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
                        .map(|(value, system)| s(Identifier::Other { system, value }))
                        .collect(),
                    asserter,
                    asserted: asserted.map(s),
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
        prop_oneof![Just("planned"), Just("in-progress"), Just("finished")],
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
    )
        .prop_map(
            |(
                encounter,
                allergies,
                mut conditions,
                reports,
                observations,
                evn,
                merged_from,
                msh,
            )| {
                let ((kind, message_type), message_id) = msh;
                let (mut recorded, mut occurred, mut reason, mut operator, mut sender) = evn;
                // R4 Provenance needs `recorded` and an agent (the operator,
                // else the sender): without them there is none, and a
                // transaction Bundle has no other place for these.
                if recorded.is_none() || (operator.is_none() && sender.is_none()) {
                    (recorded, occurred, reason, operator, sender) = (None, None, None, None, None);
                }
                // A diagnosis's type and priority live on the Encounter: without
                // one, FHIR has no place for them.
                if encounter.is_none() {
                    for c in &mut conditions {
                        c.diagnosis_type = None;
                        c.priority = None;
                    }
                }
                let mut patient = Patient::default();
                patient.identifiers.push(s(Identifier::Nhs {
                    number: NhsNumber::parse("9434765919").unwrap(),
                    verification: None,
                }));
                Event {
                    kind,
                    message_type: message_type.into(),
                    message_id,
                    sent: None,
                    occurred: occurred.map(s),
                    recorded: recorded.map(s),
                    reason: reason
                        .map(|c| s(Code::new(CodeSystem::V2Table("0062".into()), c, None))),
                    operator,
                    sender: sender.map(s),
                    source_application: None,
                    destination_application: None,
                    destination_facility: None,
                    processing: None,
                    patient: Some(patient),
                    merged_from,
                    encounter,
                    allergies,
                    conditions,
                    reports,
                    observations,
                }
            },
        )
}

/// The identifiers of a merged record (MRG-1): another NHS number (UK Core
/// allows one a Patient), then MRNs with their authority, with or without the
/// authority's system.
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
