//! Proptest: canonical model → UK Core Bundle → canonical model keeps every
//! value the Bundle carries (sources differ by design: FHIR paths instead of
//! the original ones).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_map::fhir::{event_bundle, read_bundle};
use carecodec_model::{
    Address, AdtKind, Code, CodeSystem, Concept, Contact, ContactPerson, Event, Gender, HumanName,
    Identifier, NhsNumber, Organisation, PartialDate, Patient, Precision, Source, Sourced, Telecom,
    VerificationStatus,
};
use chrono::NaiveDate;
use proptest::prelude::*;

mod common;

fn src() -> Source {
    Source::Derived {
        rule: "proptest".into(),
    }
}

fn nhs() -> impl Strategy<Value = NhsNumber> {
    proptest::collection::vec(0u32..10, 9).prop_filter_map("check digit 10", |d| {
        let sum: u32 = d.iter().enumerate().map(|(i, x)| x * (10 - i as u32)).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return None,
            c => c,
        };
        let s: String = d
            .iter()
            .chain(std::iter::once(&check))
            .map(u32::to_string)
            .collect();
        NhsNumber::parse(&s).ok()
    })
}

fn word() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{1,10}(-[A-Z][a-z]{1,6})?"
}

/// A country as PID-26 / PID-28 give it: an ISO 3166 code with its name,
/// and sometimes original text.
fn country() -> impl Strategy<Value = Concept> {
    (
        "[A-Z]{2,3}",
        proptest::option::of(word()),
        proptest::option::of(word()),
    )
        .prop_map(|(code, display, text)| Concept {
            codes: vec![Code {
                system: CodeSystem::Uri("urn:iso:std:iso:3166".into()),
                code,
                display,
            }],
            text,
        })
}

/// A religion as the Bundle gives it back: a v3 ReligiousAffiliation code
/// (what the writer maps table 0006 to), or a table 0006 code the IG's map
/// leaves as it is.
fn religion() -> impl Strategy<Value = Concept> {
    (
        prop_oneof![
            (
                "10[0-8][0-9]",
                Just("http://terminology.hl7.org/CodeSystem/v3-ReligiousAffiliation")
            )
                .prop_map(|(c, s)| Code::new(CodeSystem::Uri(s.into()), &c, None)),
            prop_oneof![Just("AME"), Just("BUD"), Just("JEW"), Just("OTH")]
                .prop_map(|c| Code::new(CodeSystem::V2Table("0006".into()), c, Some("as sent"))),
        ],
        proptest::option::of(word()),
    )
        .prop_map(|(code, text)| Concept {
            codes: vec![code],
            text,
        })
}

/// A next of kin acting for an organisation (NK1-2 with NK1-13 and the
/// NK1-30 / 31 / 32 contact person).
fn contact() -> impl Strategy<Value = Contact> {
    (
        (word(), word()),
        proptest::option::of("[A-Z]{3}-[0-9]{1,4}"),
        proptest::option::of((word(), "0[0-9]{10}", "[0-9]{1,3} [A-Z][a-z]+ Road")),
        word(),
    )
        .prop_map(|((family, given), org_id, person, org_name)| {
            let name = |family: String, given: Vec<String>| {
                Sourced::new(
                    HumanName {
                        family: Some(family),
                        given,
                        ..HumanName::default()
                    },
                    src(),
                )
            };
            Contact {
                name: Some(name(family, vec![given])),
                organisation: Some(Organisation {
                    identifiers: org_id
                        .map(|value| {
                            Sourced::new(
                                Identifier::Typed {
                                    kind: "XX".into(),
                                    value,
                                    authority: None,
                                    system: None,
                                },
                                src(),
                            )
                        })
                        .into_iter()
                        .collect(),
                    name: Some(Sourced::new(org_name, src())),
                    ..Organisation::default()
                }),
                organisation_contact: person.map(|(family, phone, line)| ContactPerson {
                    name: Some(name(family, Vec::new())),
                    telecom: vec![Sourced::new(
                        Telecom {
                            system: Some("phone".into()),
                            value: phone,
                            usage: Some("work".into()),
                            period: None,
                            rank: None,
                        },
                        src(),
                    )],
                    address: Some(Sourced::new(
                        Address {
                            lines: vec![line],
                            ..Address::default()
                        },
                        src(),
                    )),
                }),
                ..Contact::default()
            }
        })
}

fn patient() -> impl Strategy<Value = Patient> {
    (
        nhs(),
        proptest::option::of(prop_oneof![
            Just(VerificationStatus::Verified),
            Just(VerificationStatus::from_code("02").unwrap()),
        ]),
        proptest::option::of((
            "[A-Z][0-9]{5,7}",
            "R[A-Z0-9]{2}",
            common::authority_system(),
            common::authority_system(),
        )),
        proptest::collection::vec(
            (
                word(),
                proptest::collection::vec(word(), 0..3),
                prop_oneof![Just("official"), Just("usual"), Just("nickname")],
            ),
            1..3,
        ),
        proptest::option::of(prop_oneof![
            Just(Gender::Male),
            Just(Gender::Female),
            Just(Gender::Other),
            Just(Gender::Unknown)
        ]),
        proptest::option::of((1900i32..2024, 1u32..13, 1u32..29, 0usize..3)),
        proptest::collection::vec(
            (
                "[0-9]{1,3} [A-Z][a-z]+ (Road|Street)",
                word(),
                "[A-Z]{2}[0-9] [0-9][A-Z]{2}",
                proptest::option::of(proptest::sample::select(
                    &["postal", "physical", "both"][..],
                )),
            ),
            0..2,
        ),
        proptest::collection::vec("0[0-9]{10}", 0..2),
        (
            proptest::collection::vec(country(), 0..3),
            proptest::option::of(country()),
            proptest::option::of(religion()),
            proptest::option::of("[A-Z][a-z]{2,9}( [A-Z][a-z]{2,9}){0,3}"),
            proptest::option::of("[A-Z][a-z]{1,9}( [A-Z][a-z]{0,9}){0,2}"),
            proptest::option::of("(St [A-Z][a-z]{2,8}'s|[A-Z][a-z]{2,9}) (Church|Mosque|Temple)"),
            proptest::collection::vec(contact(), 0..3),
            // The registered GP: a GMP code, a name, or both (PD1-4).
            proptest::option::of((
                proptest::option::of("G[0-9]{7}"),
                proptest::option::of((word(), word(), proptest::option::of(Just("Dr")))),
            )),
        ),
    )
        .prop_map(
            |(number, verification, mrn, names, gender, birth, addresses, phones, ext)| {
                let (
                    citizenship,
                    nationality,
                    religion,
                    birth_place,
                    maiden,
                    worship,
                    contacts,
                    gp,
                ) = ext;
                let mut p = Patient::default();
                p.identifiers.push(Sourced::new(
                    Identifier::Nhs {
                        number,
                        verification,
                    },
                    src(),
                ));
                if let Some((value, authority, system, an_system)) = mrn {
                    p.identifiers.push(Sourced::new(
                        Identifier::Mrn {
                            value: value.clone(),
                            authority: Some(authority.clone()),
                            system,
                        },
                        src(),
                    ));
                    // The same number as an account number: kept with its type.
                    p.identifiers.push(Sourced::new(
                        Identifier::Typed {
                            kind: "AN".into(),
                            value: format!("A{value}"),
                            authority: Some(authority),
                            system: an_system,
                        },
                        src(),
                    ));
                }
                for (family, given, usage) in names {
                    p.names.push(Sourced::new(
                        HumanName {
                            family: Some(family),
                            given,
                            prefix: Vec::new(),
                            suffix: Vec::new(),
                            usage: Some(usage.to_owned()),
                            period: None,
                        },
                        src(),
                    ));
                }
                p.gender = gender.map(|g| Sourced::new(g, src()));
                p.birth_date = birth.map(|(y, m, d, prec)| {
                    let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
                    let (date, precision) = match prec {
                        0 => (NaiveDate::from_ymd_opt(y, 1, 1).unwrap(), Precision::Year),
                        1 => (NaiveDate::from_ymd_opt(y, m, 1).unwrap(), Precision::Month),
                        _ => (date, Precision::Day),
                    };
                    Sourced::new(PartialDate::new(date, precision), src())
                });
                for (line, city, postcode, kind) in addresses {
                    p.addresses.push(Sourced::new(
                        Address {
                            lines: vec![line],
                            city: Some(city),
                            district: None,
                            postcode: Some(postcode),
                            country: None,
                            usage: Some("home".into()),
                            kind: kind.map(str::to_owned),
                            period: None,
                        },
                        src(),
                    ));
                }
                for value in phones {
                    p.telecom.push(Sourced::new(
                        Telecom {
                            system: Some("phone".into()),
                            value,
                            usage: Some("home".into()),
                            period: None,
                            rank: None,
                        },
                        src(),
                    ));
                }
                p.citizenship = citizenship
                    .into_iter()
                    .map(|c| Sourced::new(c, src()))
                    .collect();
                p.nationality = nationality.map(|c| Sourced::new(c, src()));
                p.religion = religion.map(|c| Sourced::new(c, src()));
                p.birth_place = birth_place.map(|b| Sourced::new(b, src()));
                p.mothers_maiden_name = maiden.map(|m| Sourced::new(m, src()));
                p.congregation = worship.map(|w| Sourced::new(w, src()));
                if let Some((code, name)) = gp {
                    p.gp = code.map(|c| Sourced::new(Identifier::Gmp(c), src()));
                    p.gp_name = name.map(|(family, given, prefix)| {
                        Sourced::new(
                            HumanName {
                                family: Some(family),
                                given: vec![given],
                                prefix: prefix.map(str::to_owned).into_iter().collect(),
                                ..HumanName::default()
                            },
                            src(),
                        )
                    });
                }
                p.contacts = contacts;
                p
            },
        )
}

fn values<T: Clone>(v: &[Sourced<T>]) -> Vec<T> {
    v.iter().map(|s| s.value.clone()).collect()
}

proptest! {
    #[test]
    fn patient_round_trips(p in patient()) {
        let event = Event {
            kind: AdtKind::Other,
            message_type: "FHIR".into(),
            message_id: Some("m1".into()),
            sent: None,
            occurred: None,
            recorded: None,
            reason: None,
            operator: None,
            sender: None,
            source_application: None,
            destination_application: None,
            destination_facility: None,
            processing: None,
            patient: Some(p.clone()),
            merged_from: Vec::new(),
            encounter: None,
            allergies: Vec::new(),
            conditions: Vec::new(),
            reports: Vec::new(),
            observations: Vec::new(),
            group: None,
        };
        let bundle = event_bundle(&event).unwrap();
        let (back, report) = read_bundle(&bundle);
        prop_assert!(report.balanced());
        prop_assert!(report.unmapped.is_empty(), "{:?}", report.unmapped);
        let q = back.patient.unwrap();
        prop_assert_eq!(values(&p.identifiers), values(&q.identifiers));
        prop_assert_eq!(values(&p.names), values(&q.names));
        prop_assert_eq!(p.gender.map(|g| g.value), q.gender.map(|g| g.value));
        prop_assert_eq!(p.birth_date.map(|d| d.value), q.birth_date.map(|d| d.value));
        prop_assert_eq!(values(&p.addresses), values(&q.addresses));
        prop_assert_eq!(values(&p.telecom), values(&q.telecom));
        prop_assert_eq!(values(&p.citizenship), values(&q.citizenship));
        prop_assert_eq!(p.nationality.map(|n| n.value), q.nationality.map(|n| n.value));
        prop_assert_eq!(p.religion.map(|r| r.value), q.religion.map(|r| r.value));
        prop_assert_eq!(p.birth_place.map(|b| b.value), q.birth_place.map(|b| b.value));
        prop_assert_eq!(
            p.mothers_maiden_name.map(|m| m.value),
            q.mothers_maiden_name.map(|m| m.value)
        );
        prop_assert_eq!(p.congregation.map(|c| c.value), q.congregation.map(|c| c.value));
        prop_assert_eq!(p.gp.map(|g| g.value), q.gp.map(|g| g.value));
        prop_assert_eq!(p.gp_name.map(|g| g.value), q.gp_name.map(|g| g.value));
        // Contacts, sources aside: the NK1-13 organisation and its contact person.
        let contact = |c: &Contact| {
            let o = c.organisation.as_ref();
            let person = c.organisation_contact.as_ref();
            (
                c.name.as_ref().map(|n| n.value.clone()),
                o.and_then(|o| o.name.as_ref().map(|n| n.value.clone())),
                o.map(|o| values(&o.identifiers)),
                person.and_then(|p| p.name.as_ref().map(|n| n.value.clone())),
                person.map(|p| values(&p.telecom)),
                person.and_then(|p| p.address.as_ref().map(|a| a.value.clone())),
            )
        };
        prop_assert_eq!(
            p.contacts.iter().map(contact).collect::<Vec<_>>(),
            q.contacts.iter().map(contact).collect::<Vec<_>>()
        );
    }
}
