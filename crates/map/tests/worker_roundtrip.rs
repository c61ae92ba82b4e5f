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
//!
//! Those the writer lists ([`worker_not_written`]): a second proptest adds
//! them to the same workers and checks that the list is exactly what does not
//! come back, and the tests after it check the list on hand-built workers.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use carecodec_map::fhir::STAFF_GROUPS;
use carecodec_map::fhir::{
    read_workers, worker_bundle, worker_not_written, write_worker_bundle,
    write_worker_bundle_noting,
};
use carecodec_model::{
    Address, Assignment, AssignmentState, Gender, HumanName, Identifier, Location, NotWritten,
    Organisation, PartialDate, Position, Precision, Registration, Source, Sourced, Sources,
    Telecom, Worker,
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
        // One with nothing in it is not written (nor referred to): listed.
        // R4 org-1: a name or an identifier (one with only a parent is
        // not written: see `not_written_is_what_does_not_come_back`).
        .prop_filter("an organisation has a name or an identifier", |o| {
            !o.identifiers.is_empty() || o.name.is_some()
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
            any::<bool>(),
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
                (state, title, same),
            )| {
                // A job role that is a staff group's name would read back as
                // the staff group; a title is written beside a job role. A
                // title may be the job role's text (ESR positions are often
                // named after their job: `Specialty Registrar` both).
                let job = job.filter(|j| !STAFF_GROUPS.contains(&j.as_str()));
                let title = match (&job, title) {
                    (Some(j), Some(_)) if same => Some(j.clone()),
                    (Some(_), t) => t,
                    (None, _) => None,
                };
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

/// The values a Bundle does not carry, for [`worker`]'s workers: a hire and
/// termination date, and per assignment (by index, cycled) a primary flag,
/// a status text, a suspended state, a position number, a grade, an FTE and,
/// on a named Location, a ward, room, bed or facility. Marker text (`Zq…`)
/// that nothing else in a Bundle spells.
#[derive(Debug, Clone)]
struct Lossy {
    hire: Option<NaiveDate>,
    termination: Option<NaiveDate>,
    per_assignment: Vec<LossyAssignment>,
}

#[derive(Debug, Clone)]
struct LossyAssignment {
    primary: bool,
    status: Option<String>,
    suspended: bool,
    position_number: Option<String>,
    grade: Option<String>,
    fte: Option<String>,
    /// 0 facility, 1 ward, 2 room, 3 bed.
    part: Option<(usize, String)>,
    /// A control character in the job role (written without it), and an
    /// end the day before the start (R4 per-1: not written).
    odd: bool,
}

fn lossy() -> impl Strategy<Value = Lossy> {
    let one = (
        any::<bool>(),
        proptest::option::of("Zq(ACTIVE|SUSP|TERM)_ASSIGN"),
        any::<bool>(),
        proptest::option::of("Zq[0-9]{7}"),
        proptest::option::of("Zq[A-Z]{2}[0-9]{2}"),
        proptest::option::of("0\\.[0-9]{3}7"),
        proptest::option::of((0usize..4, "Zq[A-Z][a-z]{3}")),
        any::<bool>(),
    )
        .prop_map(
            |(primary, status, suspended, position_number, grade, fte, part, odd)| {
                LossyAssignment {
                    primary,
                    status,
                    suspended,
                    position_number,
                    grade,
                    fte,
                    part,
                    odd,
                }
            },
        );
    (
        proptest::option::of(day()),
        proptest::option::of(day()),
        proptest::collection::vec(one, 1..4),
    )
        .prop_map(|(hire, termination, per_assignment)| Lossy {
            hire,
            termination,
            per_assignment,
        })
}

/// `w` with `lossy`'s values added.
fn with_lossy(mut w: Worker, lossy: &Lossy) -> Worker {
    w.hire_date = lossy.hire.map(s);
    w.termination_date = lossy.termination.map(s);
    for (i, a) in w.assignments.iter_mut().enumerate() {
        let l = &lossy.per_assignment[i % lossy.per_assignment.len()];
        a.primary = l.primary;
        a.status = l.status.clone().map(s);
        if l.suspended {
            a.state = Some(s(AssignmentState::Suspended));
        }
        if let Some(n) = &l.position_number {
            let number = s(Identifier::EsrPosition {
                vpd: "999".into(),
                value: n.clone(),
            });
            a.position.get_or_insert_with(Position::default).number = Some(number);
        }
        a.grade = l.grade.clone().map(s);
        a.fte = l.fte.clone().map(s);
        if l.odd {
            if let Some(r) = a.job_role.as_mut() {
                r.value.insert(0, '\u{1}');
            }
            if let Some(start) = &a.start {
                a.end = start.value.pred_opt().map(s);
            }
        }
        if let (Some((k, text)), Some(loc)) = (&l.part, a.location.as_mut()) {
            // Only on a named Location: an unnamed one is written with its
            // parts as its name (and reads back so), which is written.
            if loc.name.is_some() {
                let part = match k {
                    0 => &mut loc.facility,
                    1 => &mut loc.ward,
                    2 => &mut loc.room,
                    _ => &mut loc.bed,
                };
                *part = Some(s(text.clone()));
            }
        }
    }
    w
}

/// `assignments[0].position.number` as a JSON pointer.
fn pointer(field: &str) -> String {
    let mut p = String::new();
    for part in field.split('.') {
        match part.split_once('[') {
            Some((name, index)) => {
                p.push('/');
                p.push_str(name);
                p.push('/');
                p.push_str(index.trim_end_matches(']'));
            }
            None => {
                p.push('/');
                p.push_str(part);
            }
        }
    }
    p
}

/// The model's `Option` fields as JSON: a field no value is either absent
/// (`state` is skipped when `None`) or `null`; and a position of nothing is
/// no position.
fn normalised(mut v: Value) -> Value {
    fn go(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|_, x| !x.is_null());
                m.values_mut().for_each(go);
                if let Some(Value::Object(p)) = m.get("position") {
                    if p.is_empty() {
                        m.remove("position");
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(go),
            _ => {}
        }
    }
    go(&mut v);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// What `worker_not_written` lists is exactly what the Bundle does not
    /// bring back: each listed field reads back otherwise (the writer does
    /// not write it), and once the listed fields are given the values read
    /// back, the worker is what was read (the writer writes everything else).
    /// A writer that starts writing a listed value, or stops writing an
    /// unlisted one, fails it.
    #[test]
    fn not_written_is_what_does_not_come_back(w in worker(), lossy in lossy()) {
        let w = with_lossy(w, &lossy);
        let listed = worker_not_written(&w).unwrap();
        let bundle = worker_bundle(&w).unwrap();
        uk_core_valid(&bundle)?;
        let (back, report) = read_workers(&bundle);
        prop_assert!(report.unmapped.is_empty(), "{:?}", report.unmapped);
        prop_assert_eq!(back.len(), 1);
        let back = normalised(without_sources(&back[0]));
        let mut sent = normalised(without_sources(&w));
        let text = bundle.to_string();
        for n in &listed {
            let p = pointer(&n.field);
            let was = sent.pointer(&p).cloned();
            prop_assert!(was.is_some(), "{} is not a field of the worker", n.field);
            prop_assert_ne!(was.as_ref(), back.pointer(&p), "{} is written", n.field);
            // A marker value is nowhere in the Bundle.
            if n.value.starts_with("Zq") || n.value.ends_with('7') && n.value.starts_with("0.") {
                prop_assert!(!text.contains(&n.value), "{} in {}", n.value, text);
            }
            // An organisation or location with nothing in it (not written)
            // has no value, and no source.
            let nothing = n.value.is_empty();
            prop_assert!(!n.sources.is_empty() || n.field.ends_with(".primary") || nothing, "{:?}", n);
            match back.pointer(&p) {
                Some(v) => *sent.pointer_mut(&p).unwrap() = v.clone(),
                None => {
                    let (parent, key) = p.rsplit_once('/').unwrap();
                    sent.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(key);
                }
            }
        }
        prop_assert_eq!(normalised(sent), back);
        // The writer that notes is the plain writer.
        let (mut noted, mut plain, mut again) = (Vec::new(), Vec::new(), Vec::new());
        write_worker_bundle_noting(&w, &mut noted, &mut again).unwrap();
        write_worker_bundle(&w, &mut plain).unwrap();
        prop_assert_eq!(noted, plain);
        prop_assert_eq!(again, listed);
    }
}

/// A source on line `line` of an ESR file, field `field`.
fn esr(line: u64, field: &'static str) -> Source {
    Source::esr("GO_999_GDW_GOF_20250301_00000101.DAT", line, field)
}

fn at<T>(v: T, line: u64, field: &'static str) -> Sourced<T> {
    Sourced::new(v, esr(line, field))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A worker with every field set, each from its own ESR line and field.
fn every_field() -> Worker {
    let mut w = Worker::default();
    w.identifiers.push(at(
        Identifier::EsrPerson {
            vpd: "999".into(),
            value: "7100001".into(),
        },
        2,
        "Person ID",
    ));
    w.identifiers.push(at(
        Identifier::NiNumber {
            value: "JK000011A".into(),
            valid: true,
        },
        2,
        "NI Number",
    ));
    w.names.push(at(
        HumanName {
            family: Some("Smith".into()),
            given: vec!["John".into()],
            usage: Some("official".into()),
            ..HumanName::default()
        },
        2,
        "Last Name",
    ));
    w.gender = Some(at(Gender::Male, 2, "Gender"));
    w.birth_date = Some(at(
        PartialDate::new(date(1988, 5, 12), Precision::Day),
        2,
        "Date of Birth",
    ));
    w.telecom.push(at(
        Telecom {
            system: Some("email".into()),
            value: "john.smith@example.invalid".into(),
            usage: Some("work".into()),
            period: None,
            rank: None,
        },
        2,
        "Office E-mail Address",
    ));
    w.hire_date = Some(at(date(2023, 4, 1), 2, "Hire Date"));
    w.termination_date = Some(at(date(2025, 3, 31), 2, "Actual Termination Date"));
    w.registrations.push(Registration {
        identifier: at(Identifier::Gmc("7000002".into()), 9, "Registration Number"),
        from: Some(at(date(2022, 4, 1), 9, "Registration Date")),
        until: Some(at(date(2027, 4, 1), 9, "Registration Expiry Date")),
    });
    w.assignments.push(Assignment {
        number: Some(at(
            Identifier::EsrAssignment {
                vpd: "999".into(),
                value: "80000001".into(),
            },
            3,
            "Assignment Number",
        )),
        primary: true,
        status: Some(at("SUSP_ASSIGN".into(), 3, "User Assignment Status")),
        state: Some(at(
            AssignmentState::Suspended,
            3,
            "System Assignment Status",
        )),
        position: Some(Position {
            number: Some(at(
                Identifier::EsrPosition {
                    vpd: "999".into(),
                    value: "9901000".into(),
                },
                5,
                "Position Number",
            )),
            title: Some(at("Staff Nurse, Band 5".into(), 5, "Position Name")),
        }),
        organisation: Some(Organisation {
            identifiers: vec![
                at(
                    Identifier::Other {
                        system: Some("ESR organisation ID".into()),
                        value: "600100".into(),
                    },
                    6,
                    "Organisation ID",
                ),
                at(Identifier::OdsOrganisation("RX1".into()), 6, "NACS Code"),
            ],
            name: Some(at("Ward 7 Elderly Care".into(), 6, "Organisation Name")),
            part_of: Some(at(
                Identifier::Other {
                    system: Some("ESR organisation ID".into()),
                    value: "600010".into(),
                },
                6,
                "Parent Organisation ID",
            )),
            address: None,
        }),
        location: Some(Location {
            identifiers: vec![at(
                Identifier::Other {
                    system: Some("ESR location ID".into()),
                    value: "500001".into(),
                },
                7,
                "Location ID",
            )],
            name: Some(at(
                "Example General Hospital".into(),
                7,
                "Location Description",
            )),
            address: Some(at(
                Address {
                    lines: vec!["1 Fictional Road".into()],
                    city: Some("Exampletown".into()),
                    postcode: Some("ZZ99 9ZZ".into()),
                    usage: Some("work".into()),
                    ..Address::default()
                },
                7,
                "Postcode",
            )),
            ..Location::default()
        }),
        staff_group: Some(at(
            "Nursing and Midwifery Registered".into(),
            5,
            "Job Staff Group",
        )),
        job_role: Some(at("Staff Nurse".into(), 5, "Job Role")),
        occupation_code: Some(at("N0A".into(), 5, "Occupation Code")),
        grade: Some(at("XR05".into(), 3, "Grade")),
        fte: Some(at("0.8".into(), 3, "FTE")),
        start: Some(at(date(2022, 4, 4), 3, "Earliest Assignment Start Date")),
        end: Some(at(date(2025, 3, 31), 3, "Effective To Date")),
    });
    w
}

fn triple(n: &NotWritten) -> (&str, &str, &[Source]) {
    (n.field.as_str(), n.value.as_str(), n.sources.as_slice())
}

/// Every value the Bundle has no place for is listed, with its value and
/// where it came from; nothing the Bundle writes is.
#[test]
fn every_unwritten_worker_value_is_listed_with_its_source() {
    let w = every_field();
    let listed = worker_not_written(&w).unwrap();
    let got: Vec<_> = listed.iter().map(triple).collect();
    assert_eq!(
        got,
        [
            ("hire_date", "2023-04-01", &[esr(2, "Hire Date")][..]),
            (
                "termination_date",
                "2025-03-31",
                &[esr(2, "Actual Termination Date")][..]
            ),
            (
                "assignments[0].state",
                "suspended",
                &[esr(3, "System Assignment Status")][..]
            ),
            ("assignments[0].primary", "true", &[][..]),
            (
                "assignments[0].status",
                "SUSP_ASSIGN",
                &[esr(3, "User Assignment Status")][..]
            ),
            (
                "assignments[0].position.number",
                "9901000",
                &[esr(5, "Position Number")][..]
            ),
            ("assignments[0].grade", "XR05", &[esr(3, "Grade")][..]),
            ("assignments[0].fte", "0.8", &[esr(3, "FTE")][..]),
        ]
    );
    assert!(
        listed
            .iter()
            .all(|n| n.reason.contains("UK Core") || n.reason.contains("active"))
    );
    // Nothing listed is in the Bundle; everything else the worker holds is.
    let bundle = worker_bundle(&w).unwrap().to_string();
    for v in ["SUSP_ASSIGN", "9901000", "XR05", "0.8", "2023-04-01"] {
        assert!(!bundle.contains(v), "{v} in {bundle}");
    }
    for v in [
        "7100001",
        "JK000011A",
        "Smith",
        "1988-05-12",
        "john.smith@example.invalid",
        "7000002",
        "2027-04-01",
        "80000001",
        "Staff Nurse, Band 5",
        "600100",
        "RX1",
        "Ward 7 Elderly Care",
        "600010",
        "500001",
        "Example General Hospital",
        "ZZ99 9ZZ",
        "Nursing and Midwifery Registered",
        "N0A",
        "2022-04-04",
    ] {
        assert!(bundle.contains(v), "{v} not in {bundle}");
    }
    // The termination date is only the role's end here: the same day, its
    // own source (not the worker's) says so.
    assert!(bundle.contains("2025-03-31"));
}

/// A value that reads as "nothing to write" is not listed: a primary flag
/// not set, an active or terminated state (both are `active`), no value.
#[test]
fn written_or_absent_values_are_not_listed() {
    let mut w = every_field();
    w.hire_date = None;
    w.termination_date = None;
    for state in [AssignmentState::Active, AssignmentState::Terminated] {
        let a = &mut w.assignments[0];
        a.primary = false;
        a.status = None;
        a.state = Some(at(state, 3, "System Assignment Status"));
        a.grade = None;
        a.fte = None;
        a.position.as_mut().unwrap().number = None;
        assert_eq!(worker_not_written(&w).unwrap(), []);
    }
    // A worker read back from its own Bundle has nothing to lose.
    let (back, _) = read_workers(&worker_bundle(&every_field()).unwrap());
    assert_eq!(worker_not_written(&back[0]).unwrap(), []);
}

/// A position title that is the job role's text (the synthetic GDW full file's
/// `Specialty Registrar`) is written beside it and comes back as the title:
/// until 2026-12-07 it was left out as a duplicate, not listed, and read
/// back as no position.
#[test]
fn a_position_title_equal_to_the_job_role_is_written() {
    let mut w = every_field();
    let a = &mut w.assignments[0];
    a.position.as_mut().unwrap().title = Some(at("Staff Nurse".into(), 5, "Position Name"));
    a.position.as_mut().unwrap().number = None;
    let bundle = worker_bundle(&w).unwrap();
    let role = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "PractitionerRole")
        .unwrap();
    let texts: Vec<&str> = role["resource"]["code"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts.iter().filter(|t| **t == "Staff Nurse").count(),
        2,
        "{texts:?}"
    );
    let (back, report) = read_workers(&bundle);
    assert!(report.unmapped.is_empty(), "{:?}", report.unmapped);
    let title = back[0].assignments[0]
        .position
        .as_ref()
        .and_then(|p| p.title.as_ref());
    assert_eq!(title.map(|t| t.value.as_str()), Some("Staff Nurse"));
    assert_eq!(
        back[0].assignments[0]
            .job_role
            .as_ref()
            .map(|j| j.value.as_str()),
        Some("Staff Nurse")
    );
    assert!(
        worker_not_written(&w)
            .unwrap()
            .iter()
            .all(|n| !n.field.contains("title"))
    );
}

/// A named Location is written with its name: its ward (and facility, room,
/// bed) are listed. An unnamed one is written with its parts as its name:
/// nothing listed.
#[test]
fn a_named_locations_parts_are_listed() {
    let mut w = every_field();
    w.hire_date = None;
    w.termination_date = None;
    let a = &mut w.assignments[0];
    (a.primary, a.status, a.state, a.grade, a.fte) = (false, None, None, None, None);
    a.position = None;
    let l = a.location.as_mut().unwrap();
    l.ward = Some(at("Ward 7".into(), 7, "Location Code"));
    l.bed = Some(at("Bed 3".into(), 7, "Bed"));
    let listed = worker_not_written(&w).unwrap();
    let got: Vec<_> = listed.iter().map(triple).collect();
    assert_eq!(
        got,
        [
            (
                "assignments[0].location.ward",
                "Ward 7",
                &[esr(7, "Location Code")][..]
            ),
            ("assignments[0].location.bed", "Bed 3", &[esr(7, "Bed")][..]),
        ]
    );
    w.assignments[0].location.as_mut().unwrap().name = None;
    assert_eq!(worker_not_written(&w).unwrap(), []);
    let bundle = worker_bundle(&w).unwrap().to_string();
    assert!(bundle.contains(r#""name":"Ward 7 Bed 3""#), "{bundle}");
}

/// An organisation known only by its parent has neither a name nor an
/// identifier: R4 org-1 refuses such an Organization, so it is not written
/// nor referred to, and is listed with its parent and where that came from
/// (until the twelfth session it was written, and UK Core refused the Bundle).
#[test]
fn an_organisation_of_only_a_parent_is_listed_not_written() {
    let mut w = every_field();
    let o = w.assignments[0].organisation.as_mut().unwrap();
    o.identifiers.clear();
    o.name = None;
    let listed = worker_not_written(&w).unwrap();
    let got: Vec<_> = listed
        .iter()
        .map(triple)
        .filter(|t| t.0 == "assignments[0].organisation")
        .collect();
    assert_eq!(
        got,
        [(
            "assignments[0].organisation",
            "part of 600010",
            &[esr(6, "Parent Organisation ID")][..]
        )]
    );
    let bundle = worker_bundle(&w).unwrap();
    let text = bundle.to_string();
    assert!(!text.contains(r#""resourceType":"Organization""#), "{text}");
    assert!(!text.contains(r#""organization""#), "{text}");
    uk_core_valid(&bundle).unwrap();
}

/// Two assignments whose organisations share an ODS code are one
/// Organization entry, the first's: what the second's says otherwise (its
/// ESR id, its name) is listed under the second. The same organisation
/// twice: nothing.
#[test]
fn a_shared_organisation_lists_what_the_entry_written_does_not_say() {
    let mut w = every_field();
    w.hire_date = None;
    w.termination_date = None;
    let mut second = w.assignments[0].clone();
    for a in [&mut w.assignments[0], &mut second] {
        (a.primary, a.status, a.state, a.grade, a.fte) = (false, None, None, None, None);
        a.position = None;
        a.location = None;
    }
    second.number = Some(at(
        Identifier::EsrAssignment {
            vpd: "999".into(),
            value: "80000002".into(),
        },
        4,
        "Assignment Number",
    ));
    w.assignments.push(second.clone());
    assert_eq!(worker_not_written(&w).unwrap(), []);
    // A department of the same trust: the same NACS code, its own id and name.
    let org = second.organisation.as_mut().unwrap();
    org.identifiers[0] = at(
        Identifier::Other {
            system: Some("ESR organisation ID".into()),
            value: "600200".into(),
        },
        8,
        "Organisation ID",
    );
    org.identifiers[1] = at(Identifier::OdsOrganisation("RX1".into()), 8, "NACS Code");
    org.name = Some(at("Ward 9 Surgery".into(), 8, "Organisation Name"));
    w.assignments[1] = second;
    let listed = worker_not_written(&w).unwrap();
    let got: Vec<_> = listed.iter().map(triple).collect();
    assert_eq!(
        got,
        [
            (
                "assignments[1].organisation.identifiers[0]",
                "600200",
                &[esr(8, "Organisation ID")][..]
            ),
            (
                "assignments[1].organisation.name",
                "Ward 9 Surgery",
                &[esr(8, "Organisation Name")][..]
            ),
        ]
    );
    assert!(listed[0].reason.contains("one Organization entry per id"));
    let bundle = worker_bundle(&w).unwrap().to_string();
    assert!(!bundle.contains("Ward 9 Surgery") && !bundle.contains("600200"));
}

/// The noting writer writes what the plain one does, appends to the list it
/// is given, and on a quarantined worker appends nothing.
#[test]
fn the_noting_writer_appends_and_leaves_the_list_on_an_error() {
    let w = every_field();
    let earlier = NotWritten::new("hire_date", "2020-01-01", Sources::new(), "earlier");
    let (mut out, mut list) = (b"x".to_vec(), vec![earlier.clone()]);
    write_worker_bundle_noting(&w, &mut out, &mut list).unwrap();
    let mut plain = b"x".to_vec();
    write_worker_bundle(&w, &mut plain).unwrap();
    assert_eq!(out, plain);
    assert_eq!(list[0], earlier);
    assert_eq!(list[1..], worker_not_written(&w).unwrap()[..]);
    let (mut out, mut list) = (Vec::new(), vec![earlier.clone()]);
    assert!(write_worker_bundle_noting(&Worker::default(), &mut out, &mut list).is_err());
    assert!(out.is_empty());
    assert_eq!(list, [earlier]);
}
