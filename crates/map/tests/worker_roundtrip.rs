//! Proptest: canonical Worker → UK Core Bundle (Practitioner, PractitionerRoles,
//! Organizations, Locations) → Worker is the identity on everything the Bundle
//! carries; sources differ by design (FHIR paths instead of ESR positions), so
//! both sides are compared with their sources removed.
//!
//! What a Bundle does not carry, and the generator therefore leaves out (see
//! docs/mapping.md, "Round trips"): an assignment's primary flag, ESR status
//! text, position number, grade and FTE, a suspended state (written
//! `active: true`, read back active), and the worker's hire and termination
//! dates (the termination is in each role's end and `active`).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use carecodec_map::fhir::STAFF_GROUPS;
use carecodec_map::fhir::{read_workers, worker_bundle, write_worker_bundle};
use carecodec_model::{
    Assignment, AssignmentState, Gender, HumanName, Identifier, Location, Organisation,
    PartialDate, Position, Precision, Registration, Source, Sourced, Telecom, Worker,
};
use chrono::NaiveDate;
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

fn word() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{1,10}"
}

fn day() -> impl Strategy<Value = NaiveDate> {
    (1950i32..2030, 1u32..13, 1u32..29)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn registration() -> impl Strategy<Value = Registration> {
    (
        0usize..5,
        "[0-9]{7}",
        proptest::option::of(day()),
        proptest::option::of(day()),
    )
        .prop_map(|(kind, number, from, until)| {
            // R4 per-1: a registration expires after it starts (the ESR
            // mapper reports and drops an expiry before the registration).
            let (from, until) = match (from, until) {
                (Some(f), Some(u)) if u < f => (Some(u), Some(f)),
                other => other,
            };
            let identifier = match kind {
                0 => Identifier::Gmc(number),
                // An NMC PIN ends in a letter (`12A3456B`): without it, it is
                // not one, and is read back as text.
                1 => Identifier::Nmc(format!("{}A{}B", &number[..2], &number[2..6])),
                2 => Identifier::Hcpc(format!("PH{}", &number[..6])),
                3 => Identifier::Gphc(format!("2{}", &number[1..])),
                _ => Identifier::Gmp(format!("G{number}")),
            };
            Registration {
                identifier: s(identifier),
                from: from.map(s),
                until: until.map(s),
            }
        })
}

fn organisation() -> impl Strategy<Value = Organisation> {
    (
        proptest::option::of("[0-9]{6}"),
        proptest::option::of("R[A-Z0-9]{2}"),
        proptest::option::of("[A-Z][a-z]+ (Ward|Department|Trust)"),
        proptest::option::of("R[A-Z0-9]{2}"),
    )
        .prop_map(|(esr, ods, name, parent)| {
            // An ESR organisation id (PUT on it), an ODS code (a conditional
            // update on it), both, or neither (created).
            let mut identifiers = Vec::new();
            if let Some(value) = esr {
                identifiers.push(s(Identifier::Other {
                    system: Some("ESR organisation ID".into()),
                    value,
                }));
            }
            if let Some(code) = ods {
                identifiers.push(s(Identifier::OdsOrganisation(code)));
            }
            Organisation {
                identifiers,
                name: name.map(s),
                part_of: parent.map(|p| s(Identifier::OdsOrganisation(p))),
                address: None,
            }
        })
}

fn location() -> impl Strategy<Value = Location> {
    prop_oneof![
        3 => (
            "R[A-Z0-9]{2}[0-9]{2}",
            "[A-Z][a-z]+ (House|Hospital|Clinic)",
        )
            .prop_map(|(site, name)| Location {
                identifiers: vec![s(Identifier::OdsSite(site))],
                name: Some(s(name)),
                ..Location::default()
            }),
        // An ESR location its files did not describe: the bare ESR id
        // (referred to by identifier alone).
        1 => "[0-9]{6}".prop_map(|value| Location {
            identifiers: vec![s(Identifier::Other {
                system: Some("ESR location ID".into()),
                value,
            })],
            ..Location::default()
        }),
    ]
}

fn assignment() -> impl Strategy<Value = Assignment> {
    (
        "[0-9]{8}(-[0-9])?",
        proptest::option::of(day()),
        proptest::option::of(day()),
        proptest::option::of(organisation()),
        proptest::option::of(location()),
        proptest::option::of("[A-Z][a-z]+( [A-Z][a-z]+)?"),
        proptest::option::of(proptest::sample::select(&STAFF_GROUPS[..])),
        proptest::option::of("[A-Z][0-9][A-Z]"),
        (
            proptest::option::of(prop_oneof![
                Just(AssignmentState::Active),
                Just(AssignmentState::Terminated)
            ]),
            proptest::option::of("[A-Z][a-z]+, Band [1-9]"),
        ),
    )
        .prop_map(
            |(
                number,
                start,
                end,
                organisation,
                location,
                job,
                group,
                occupation,
                (state, title),
            )| {
                // A job role that is a staff group's name would read back as
                // the staff group; a title is written beside a job role.
                let job = job.filter(|j| !STAFF_GROUPS.contains(&j.as_str()));
                let title = title.filter(|_| job.is_some());
                // R4 per-1, as a registration's period.
                let (start, end) = match (start, end) {
                    (Some(a), Some(b)) if b < a => (Some(b), Some(a)),
                    other => other,
                };
                Assignment {
                    number: Some(s(Identifier::EsrAssignment {
                        vpd: "999".into(),
                        value: number,
                    })),
                    start: start.map(s),
                    end: end.map(s),
                    state: state.map(s),
                    organisation,
                    location,
                    position: title.map(|t| Position {
                        number: None,
                        title: Some(s(t)),
                    }),
                    job_role: job.map(s),
                    staff_group: group.map(|g| s(g.to_owned())),
                    occupation_code: occupation.map(s),
                    ..Assignment::default()
                }
            },
        )
}

fn worker() -> impl Strategy<Value = Worker> {
    (
        "[0-9]{6,8}",
        proptest::option::of("[A-CEGHJ-PR-TW-Z]{2}[0-9]{6}[A-D]"),
        proptest::collection::vec(
            (
                word(),
                proptest::collection::vec(word(), 0..3),
                proptest::option::of(prop_oneof![Just("Dr"), Just("Mr"), Just("Ms")]),
                prop_oneof![Just("official"), Just("usual")],
            ),
            1..3,
        ),
        proptest::option::of(prop_oneof![
            Just(Gender::Male),
            Just(Gender::Female),
            Just(Gender::Other),
            Just(Gender::Unknown)
        ]),
        proptest::option::of(day()),
        proptest::collection::vec(("0[0-9]{10}", any::<bool>()), 0..3),
        proptest::collection::vec(assignment(), 0..3),
        proptest::collection::vec(registration(), 0..3),
    )
        .prop_map(
            |(person, ni, names, gender, birth, phones, assignments, registrations)| {
                let mut w = Worker::default();
                w.identifiers.push(s(Identifier::EsrPerson {
                    vpd: "999".into(),
                    value: person,
                }));
                if let Some(value) = ni {
                    w.identifiers
                        .push(s(Identifier::NiNumber { valid: true, value }));
                }
                for (family, given, prefix, usage) in names {
                    w.names.push(s(HumanName {
                        family: Some(family),
                        given,
                        prefix: prefix.map(str::to_owned).into_iter().collect(),
                        suffix: Vec::new(),
                        usage: Some(usage.to_owned()),
                        period: None,
                    }));
                }
                w.gender = gender.map(s);
                w.birth_date = birth.map(|d| s(PartialDate::new(d, Precision::Day)));
                for (value, email) in phones {
                    let (system, value) = if email {
                        ("email", format!("{value}@nhs.net"))
                    } else {
                        ("phone", value)
                    };
                    w.telecom.push(s(Telecom {
                        system: Some(system.into()),
                        value,
                        usage: Some("work".into()),
                        period: None,
                        rank: None,
                    }));
                }
                // One ODS code or ESR organisation id is one organisation
                // (the Bundle writes it once): two assignments that share a
                // key share what it says.
                w.assignments = assignments;
                for i in 0..w.assignments.len() {
                    let same = (0..i).find(|&j| {
                        let keys = |k: usize| -> Vec<Identifier> {
                            w.assignments[k]
                                .organisation
                                .iter()
                                .flat_map(|o| o.identifiers.iter().map(|x| x.value.clone()))
                                .collect()
                        };
                        let (a, b) = (keys(i), keys(j));
                        a.iter().any(|x| b.contains(x))
                    });
                    if let Some(j) = same {
                        w.assignments[i].organisation = w.assignments[j].organisation.clone();
                    }
                }
                w.registrations = registrations;
                w
            },
        )
}

/// The worker as JSON with every `sources` list removed.
fn without_sources(w: &Worker) -> Value {
    common::without_sources(serde_json::to_value(w).unwrap())
}

/// Strict R4, then the UK Core checks on every entry: no errors.
fn uk_core_valid(bundle: &Value) -> Result<(), TestCaseError> {
    let errors = common::uk_core_errors(bundle).map_err(TestCaseError::fail)?;
    prop_assert!(errors.is_empty(), "{errors:#?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn worker_round_trips(w in worker()) {
        let bundle = worker_bundle(&w).unwrap();
        uk_core_valid(&bundle)?;
        let mut written = Vec::new();
        write_worker_bundle(&w, &mut written).unwrap();
        prop_assert_eq!(&serde_json::from_slice::<serde_json::Value>(&written).unwrap(), &bundle);
        let (back, report) = read_workers(&bundle);
        prop_assert!(report.balanced());
        prop_assert!(report.unmapped.is_empty(), "{:?}", report.unmapped);
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(without_sources(&back[0]), without_sources(&w));
        // Every value read back says where in the Bundle it came from.
        let json = serde_json::to_value(&back[0]).unwrap().to_string();
        prop_assert!(!json.contains("\"derived\""), "{}", json);
    }
}

/// An ESR organisation or location the files did not describe (no row in
/// effect, deleted, or sent earlier: the bare ESR id) is referred to by
/// identifier alone, with no entry: a `PUT` of an Organization or Location
/// holding only the id, under the id the full copy is keyed on, would wipe
/// that copy on the server.
#[test]
fn a_bare_esr_organisation_or_location_is_referred_to_by_identifier() {
    let esr = |system: &str, value: &str| {
        s(Identifier::Other {
            system: Some(system.into()),
            value: value.into(),
        })
    };
    let mut w = Worker::default();
    w.identifiers.push(s(Identifier::EsrPerson {
        vpd: "999".into(),
        value: "7000001".into(),
    }));
    w.assignments.push(Assignment {
        number: Some(s(Identifier::EsrAssignment {
            vpd: "999".into(),
            value: "90000001".into(),
        })),
        organisation: Some(Organisation {
            identifiers: vec![esr("ESR organisation ID", "600100")],
            ..Organisation::default()
        }),
        location: Some(Location {
            identifiers: vec![esr("ESR location ID", "500001")],
            ..Location::default()
        }),
        ..Assignment::default()
    });
    let bundle = worker_bundle(&w).unwrap();
    let entries = bundle["entry"].as_array().unwrap();
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Practitioner", "PractitionerRole"], "{bundle:#}");
    let role = &entries[1]["resource"];
    assert_eq!(role["organization"]["identifier"]["value"], "600100");
    assert!(role["organization"].get("reference").is_none());
    assert_eq!(role["location"][0]["identifier"]["value"], "500001");
    let errors = common::uk_core_errors(&bundle).unwrap();
    assert!(errors.is_empty(), "{errors:#?}");
    let (back, report) = read_workers(&bundle);
    assert!(
        report.balanced() && report.unmapped.is_empty(),
        "{:?}",
        report.unmapped
    );
    assert_eq!(without_sources(&back[0]), without_sources(&w));
}
