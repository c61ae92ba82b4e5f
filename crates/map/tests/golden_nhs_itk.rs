//! Golden facts for the NHS ITK ADT examples (`../shared/corpora/hl7v2/nhs-itk-adt`).
//!
//! No third party publishes the FHIR for these messages, so the expected
//! facts here were written by hand from the messages and the NHS ITK / UK Core
//! conventions (docs/mapping.md): NHS number system and value, the NHS Data
//! Dictionary sex code `2` as female, PD1-3 practice ODS code and PD1-4 GMP
//! code, ethnic category `A`, times without an offset in Europe/London (BST in
//! October), consultant GMC codes without their `C` prefix. Each Bundle must
//! also pass the strict R4 read and the UK Core checks, and carry every
//! expected fact (facts as in `golden`: path without indices, UTC instants).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod golden;

use std::path::Path;

use carecodec_fhir::Resource;
use carecodec_fhir::uk_core::validate::{Profile, Severity, validate};
use carecodec_hl7v2::Message;
use carecodec_hl7v2::batch::BatchReader;
use carecodec_map::fhir::event_bundle;
use carecodec_map::v2::{V2Options, map_message};
use golden::{LeafIndex, facts};

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const ETHNIC: &str = "Patient.extension{https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory}.valueCodeableConcept.coding.code";
const BIRTH_TIME: &str = "Patient._birthDate.extension{http://hl7.org/fhir/StructureDefinition/patient-birthTime}.valueDateTime";

/// The patient every example describes.
const PATIENT: &[(&str, &str)] = &[
    ("Patient.identifier.system", NHS),
    ("Patient.identifier.value", "3333333333"),
    ("Patient.name.family", "SMITH"),
    ("Patient.name.given", "FREDRICA"),
    ("Patient.name.given", "J"),
    ("Patient.name.prefix", "MRS"),
    ("Patient.name.use", "official"),
    ("Patient.gender", "female"),
    ("Patient.address.line", "29 WEST AVENUE"),
    ("Patient.address.line", "BURYTHORPE"),
    ("Patient.address.city", "MALTON"),
    ("Patient.address.district", "NORTH YORKSHIRE"),
    ("Patient.address.postalCode", "YO32 5TT"),
    ("Patient.address.country", "GBR"),
    ("Patient.address.use", "home"),
    ("Patient.telecom.value", "+441234567890"),
    ("Patient.telecom.system", "phone"),
    (ETHNIC, "A"),
    // PID-15 `EN` / `en`: English as a BCP-47 tag, the preferred language.
    ("Patient.communication.language.coding.code", "en"),
    (
        "Patient.communication.language.coding.system",
        "urn:ietf:bcp:47",
    ),
    ("Patient.communication.preferred", "true"),
    // PID-16 `M`: married (v3 MaritalStatus, as UK Core's value set holds).
    ("Patient.maritalStatus.coding.code", "M"),
    (
        "Patient.maritalStatus.coding.system",
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
    ),
    (
        "Patient.generalPractitioner->Organization.identifier.system",
        "https://fhir.nhs.uk/Id/ods-organization-code",
    ),
    (
        "Patient.generalPractitioner->Organization.identifier.value",
        "Y06601",
    ),
    (
        "Patient.generalPractitioner->Practitioner.identifier.system",
        "https://fhir.hl7.org.uk/Id/gmp-number",
    ),
    (
        "Patient.generalPractitioner->Practitioner.identifier.value",
        "G5612908",
    ),
];

/// Per example: the facts beyond [`PATIENT`].
const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "A01_example.txt",
        &[
            ("Patient.birthDate", "1965-12-13"),
            // 15:15 in December: GMT.
            (BIRTH_TIME, "1965-12-13T15:15:00Z"),
            ("RelatedPerson.name.family", "SMITH"),
            ("RelatedPerson.name.given", "ALBERT"),
            ("RelatedPerson.gender", "male"),
            ("RelatedPerson.telecom.value", "+441234567890"),
            ("RelatedPerson.address.postalCode", "YO32 5TT"),
            ("Encounter.class.code", "IMP"),
            ("Encounter.identifier.value", "2139"),
            // PV1-3 RCB^OBS1^BAY2-6^RCB55: bed, partOf room, partOf ward (partOf site).
            ("Encounter.location.location->Location.name", "BAY2-6"),
            (
                "Encounter.location.location->Location.physicalType.coding.code",
                "bd",
            ),
            (
                "Encounter.location.location->Location.partOf->Location.name",
                "OBS1",
            ),
            (
                "Encounter.location.location->Location.partOf->Location.partOf->Location.name",
                "RCB",
            ),
            (
                "Encounter.location.location->Location.partOf->Location.partOf->Location.physicalType.coding.code",
                "wa",
            ),
            // PV1-4 `13` and PV1-14 `19` are NHS Data Dictionary codes.
            (
                "Encounter.hospitalization.extension{https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod}.valueCodeableConcept.coding.code",
                "13",
            ),
            (
                "Encounter.hospitalization.extension{https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod}.valueCodeableConcept.coding.system",
                "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland",
            ),
            ("Encounter.hospitalization.admitSource.coding.code", "19"),
            (
                "Encounter.hospitalization.admitSource.coding.system",
                "https://fhir.hl7.org.uk/CodeSystem/UKCore-SourceOfAdmissionEngland",
            ),
            // 17:16 on 20 October 2010: BST, 16:16 UTC.
            ("Encounter.period.start", "2010-10-20T16:16:00Z"),
            ("Encounter.status", "in-progress"),
            (
                "Encounter.participant.individual->Practitioner.identifier.system",
                "https://fhir.hl7.org.uk/Id/gmc-number",
            ),
            (
                "Encounter.participant.individual->Practitioner.identifier.value",
                "3456789",
            ),
            (
                "Encounter.participant.individual->Practitioner.name.family",
                "Darwin",
            ),
            ("Encounter.participant.type.coding.code", "ATND"),
            ("Encounter.participant.type.coding.display", "attender"),
            ("Encounter.participant.type.coding.code", "REF"),
            ("Encounter.participant.type.coding.code", "CON"),
            ("AllergyIntolerance.code.coding.code", "Z88.5"),
            ("AllergyIntolerance.category", "medication"),
            ("AllergyIntolerance.onsetDateTime", "1998-07-01"),
            ("Condition.code.coding.code", "N39.3"),
            (
                "Condition.code.coding.system",
                "http://hl7.org/fhir/sid/icd-10",
            ),
            ("Condition.code.coding.display", "Stress Incontinence"),
            ("Condition.recordedDate", "2010-10-09T08:00:00Z"),
        ],
    ),
    (
        "A03_example.txt",
        &[
            ("Encounter.identifier.value", "YOR123456"),
            ("Encounter.period.start", "2010-10-20T16:16:00Z"),
            // PV1-45 `201010211606` (minute precision): a period end is the
            // last second it stands for (docs/mapping.md, "Reduced-precision
            // ends"; until 2026-12-07 16:06:00).
            ("Encounter.period.end", "2010-10-21T16:06:59Z"),
            ("Encounter.status", "finished"),
            (
                "Encounter.extension{https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DischargeMethod}.valueCodeableConcept.coding.code",
                "3",
            ),
            (
                "Encounter.hospitalization.dischargeDisposition.coding.code",
                "19",
            ),
            (
                "Encounter.hospitalization.dischargeDisposition.coding.system",
                "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeDestinationEngland",
            ),
            (
                "Encounter.extension{https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DischargeMethod}.valueCodeableConcept.coding.system",
                "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeMethodEngland",
            ),
        ],
    ),
    (
        "A04_example.txt",
        &[
            ("Encounter.class.code", "AMB"),
            ("Encounter.identifier.value", "2141"),
            ("Encounter.participant.type.coding.code", "ADM"),
            ("RelatedPerson.name.given", "FRANCESCA"),
            ("AllergyIntolerance.code.coding.code", "Z88.5"),
        ],
    ),
    (
        "A05_Example.txt",
        &[
            ("Encounter.class.code", "AMB"),
            ("Encounter.identifier.value", "4532"),
            ("Encounter.status", "planned"),
            ("Encounter.reasonCode.coding.code", "Labour"),
            // PID-24 `N`.
            ("Patient.multipleBirthBoolean", "false"),
            // PV2-8/9 expected admission and discharge: midnight BST.
            (
                "Encounter.extension{http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedStartDate}.valueDateTime",
                "2010-09-29T23:00:00Z",
            ),
            (
                "Encounter.extension{http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedEndDate}.valueDateTime",
                "2010-09-30T23:00:00Z",
            ),
        ],
    ),
    (
        "A08_example.txt",
        &[
            ("Patient.birthDate", "1965-12-27"),
            (BIRTH_TIME, "1965-12-27T21:12:00Z"),
            ("Encounter.identifier.value", "2140"),
            ("Condition.code.coding.code", "J03.0"),
            ("Condition.code.coding.display", "Streptococcal tonsillitis"),
        ],
    ),
    (
        "A28_Example.txt",
        &[("AllergyIntolerance.code.coding.code", "Z88.5")],
    ),
    (
        "A31_example.txt",
        &[
            ("AllergyIntolerance.code.coding.code", "Z88.5"),
            ("AllergyIntolerance.code.coding.code", "T63.0"),
        ],
    ),
    ("A40_Example.txt", &[("Patient.birthDate", "1965-12-13")]),
];

#[test]
fn nhs_itk_adt_golden_facts() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/hl7v2/nhs-itk-adt");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found ({})", dir.display());
        return;
    }
    let mut checked = 0;
    for (file, extra) in EXAMPLES {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let mut reader = BatchReader::new(&bytes[..]);
        let msg: Message<'_> = reader.next_message().unwrap().result.unwrap();
        let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
        assert!(report.balanced(), "{file}");
        let bundle = event_bundle(&event).unwrap();
        let r: Resource = carecodec_fhir::json::from_str(&bundle.to_string()).unwrap();
        let Resource::Bundle(b) = &r else {
            panic!("{file}: not a Bundle")
        };
        for e in &b.entry {
            let Some(inner) = e.resource.as_ref() else {
                continue;
            };
            if let Some(profile) = Profile::for_resource(inner) {
                let errors: Vec<_> = validate(inner, profile)
                    .into_iter()
                    .filter(|i| i.severity == Severity::Error)
                    .collect();
                assert!(errors.is_empty(), "{file}: {errors:?}");
            }
        }
        let ours = facts(
            &golden::contacts_as_related_persons(&bundle),
            &LeafIndex::new(&msg),
        )
        .facts;
        for (path, value) in PATIENT.iter().chain(extra.iter()) {
            assert!(
                ours.iter().any(|f| f.path == *path && f.value == *value),
                "{file}: no fact {path} = {value}; facts: {:#?}",
                ours.iter()
                    .filter(|f| f
                        .path
                        .starts_with(path.split('.').next().unwrap_or_default()))
                    .map(|f| format!("{} = {}", f.path, f.value))
                    .collect::<Vec<_>>()
            );
            checked += 1;
        }
    }
    println!(
        "NHS ITK ADT golden: {} examples, {checked} hand-checked facts present",
        EXAMPLES.len()
    );
    assert!(checked > 200, "{checked}");
}
