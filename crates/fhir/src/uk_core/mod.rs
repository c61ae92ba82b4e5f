//! UK Core (FHIR R4 profiled by HL7 UK and NHS England): identifier systems, extension URLs,
//! the NHS number check and typed accessors over the base R4 types.
//!
//! UK Core adds very little structure of its own, so there is no struct per profile: the base
//! types are used, and these helpers read the UK Core slices and extensions.
//!
//! ```
//! use carecodec_fhir::{json, uk_core, Resource};
//! let r: Resource = json::from_str(r#"{"resourceType":"Patient","identifier":[
//!   {"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}]}"#)?;
//! let Resource::Patient(p) = &r else { panic!("a Patient") };
//! assert_eq!(p.nhs_number(), Some("9000000009"));
//! assert!(uk_core::is_valid_nhs_number("9000000009"));
//! # Ok::<(), carecodec_fhir::json::Error>(())
//! ```

use crate::model::{AnyValue, CodeableConcept, Coding, Extension, Identifier};

pub mod validate;
pub use validate::{Issue, Profile, validate};

/// NHS number identifier system (NHS England).
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// ODS organisation code identifier system (note the American "z").
pub const ODS_ORGANIZATION_CODE_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// ODS site code identifier system.
pub const ODS_SITE_CODE_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-site-code";
/// SDS user id identifier system.
pub const SDS_USER_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-user-id";
/// SDS role profile id identifier system.
pub const SDS_ROLE_PROFILE_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-role-profile-id";
/// General Medical Council number (HL7 UK host).
pub const GMC_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/gmc-number";
/// General medical practitioner (GP) number.
pub const GMP_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/gmp-number";
/// Nursing and Midwifery Council number.
pub const NMC_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/nmc-number";
/// General Pharmaceutical Council number.
pub const GPHC_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/gphc-number";
/// Health and Care Professions Council number.
pub const HCPC_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/hcpc-number";

/// Code system of the NHS number verification status codes used in England (`01`–`08`).
pub const NHS_NUMBER_VERIFICATION_STATUS_ENGLAND: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
/// Code system of the ethnic categories used in England (NHS Data Dictionary letters).
pub const ETHNIC_CATEGORY_ENGLAND: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland";

/// The codes of the R4 value sets UK Core binds statuses to (required
/// bindings): a status outside its list makes a resource invalid, so a writer
/// checks against the same list the validator does.
///
/// ```
/// use carecodec_fhir::uk_core::codes;
///
/// assert!(codes::ENCOUNTER_STATUS.contains(&"in-progress"));
/// assert!(!codes::CONDITION_CLINICAL_STATUS.contains(&"Active"));
/// ```
pub mod codes {
    /// `Encounter.status` (EncounterStatus).
    pub const ENCOUNTER_STATUS: [&str; 9] = [
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    ];
    /// `AllergyIntolerance.clinicalStatus` (allergyintolerance-clinical).
    pub const ALLERGY_CLINICAL_STATUS: [&str; 3] = ["active", "inactive", "resolved"];
    /// `AllergyIntolerance.verificationStatus`
    /// (allergyintolerance-verification).
    pub const ALLERGY_VERIFICATION_STATUS: [&str; 4] =
        ["unconfirmed", "confirmed", "refuted", "entered-in-error"];
    /// `Condition.clinicalStatus` (condition-clinical).
    pub const CONDITION_CLINICAL_STATUS: [&str; 6] = [
        "active",
        "recurrence",
        "relapse",
        "inactive",
        "remission",
        "resolved",
    ];
    /// `Condition.verificationStatus` (condition-ver-status).
    pub const CONDITION_VERIFICATION_STATUS: [&str; 6] = [
        "unconfirmed",
        "provisional",
        "differential",
        "confirmed",
        "refuted",
        "entered-in-error",
    ];
}

/// UK Core extension URLs (`https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-<Name>`).
pub mod ext {
    macro_rules! ukcore_ext {
        ($($(#[$doc:meta])* $name:ident = $suffix:literal;)*) => {$(
            $(#[$doc])*
            pub const $name: &str = concat!(
                "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-",
                $suffix
            );
        )*};
    }
    ukcore_ext! {
        /// On `Patient.identifier[nhsNumber]`: verification status (CodeableConcept, required binding).
        NHS_NUMBER_VERIFICATION_STATUS = "NHSNumberVerificationStatus";
        /// Patient: why no NHS number is given.
        NHS_NUMBER_UNAVAILABLE_REASON = "NHSNumberUnavailableReason";
        /// Patient: ethnic category (max 1).
        ETHNIC_CATEGORY = "EthnicCategory";
        /// Patient: birth sex.
        BIRTH_SEX = "BirthSex";
        /// Patient: residential status.
        RESIDENTIAL_STATUS = "ResidentialStatus";
        /// Patient: religious affiliation.
        RELIGIOUS_AFFILIATION = "ReligiousAffiliation";
        /// Patient: treatment category.
        TREATMENT_CATEGORY = "TreatmentCategory";
        /// Patient: overseas visitor charging category.
        OVERSEAS_VISITOR_CHARGING_CATEGORY = "OverseasVisitorChargingCategory";
        /// Patient, RelatedPerson: contact preference (complex).
        CONTACT_PREFERENCE = "ContactPreference";
        /// Patient: death notification status (complex).
        DEATH_NOTIFICATION_STATUS = "DeathNotificationStatus";
        /// Patient, Practitioner, RelatedPerson: communication (complex).
        NHS_COMMUNICATION = "NHSCommunication";
        /// Address: address key such as a UPRN (complex).
        ADDRESS_KEY = "AddressKey";
        /// ContactPoint.system: a channel FHIR does not list.
        OTHER_CONTACT_SYSTEM = "OtherContactSystem";
        /// Patient.contact: contact rank.
        CONTACT_RANK = "ContactRank";
        /// Patient.contact: copy correspondence indicator.
        COPY_CORRESPONDENCE_INDICATOR = "CopyCorrespondenceIndicator";
        /// Encounter.hospitalization: admission method.
        ADMISSION_METHOD = "AdmissionMethod";
        /// Encounter: discharge method.
        DISCHARGE_METHOD = "DischargeMethod";
        /// Encounter: legal status.
        LEGAL_STATUS = "LegalStatus";
        /// Encounter: outcome of attendance.
        OUTCOME_OF_ATTENDANCE = "OutcomeOfAttendance";
        /// Encounter: emergency care discharge status.
        EMERGENCY_CARE_DISCHARGE_STATUS = "EmergencyCareDischargeStatus";
        /// Encounter: transport.
        ENCOUNTER_TRANSPORT = "EncounterTransport";
        /// Organization: main location.
        MAIN_LOCATION = "MainLocation";
        /// A typed period.
        TYPED_PERIOD = "TypedPeriod";
        /// A typed date-time.
        TYPED_DATE_TIME = "TypedDateTime";
        /// MedicationRequest: repeat information (complex).
        MEDICATION_REPEAT_INFORMATION = "MedicationRepeatInformation";
        /// MedicationRequest: prescription type.
        PRESCRIPTION_TYPE = "PrescriptionType";
        /// MedicationRequest/Dispense: quantity as text.
        MEDICATION_QUANTITY_TEXT = "MedicationQuantityText";
        /// Medication: trade family.
        MEDICATION_TRADE_FAMILY = "MedicationTradeFamily";
        /// AllergyIntolerance: evidence.
        EVIDENCE = "Evidence";
        /// AllergyIntolerance.clinicalStatus: end (complex).
        ALLERGY_INTOLERANCE_END = "AllergyIntoleranceEnd";
        /// Condition: episode.
        CONDITION_EPISODE = "ConditionEpisode";
        /// Condition: problem significance.
        PROBLEM_SIGNIFICANCE = "ProblemSignificance";
        /// Condition: related problem header (complex).
        RELATED_PROBLEM_HEADER = "RelatedProblemHeader";
        /// Condition/List: actual problem.
        ACTUAL_PROBLEM = "ActualProblem";
        /// Condition: related clinical content.
        RELATED_CLINICAL_CONTENT = "RelatedClinicalContent";
        /// Coding: SNOMED CT description id (complex).
        CODING_SCT_DESC_ID = "CodingSCTDescId";
        /// Coding: SNOMED CT description display.
        CODING_SCT_DESC_DISPLAY = "CodingSCTDescDisplay";
    }
}

/// Checks an NHS number: ten digits (spaces allowed between groups) whose tenth digit is the
/// Modulus 11 check digit of the first nine (weights 10 down to 2; 11 → 0; 10 is never valid).
///
/// ```
/// use carecodec_fhir::uk_core::is_valid_nhs_number;
/// assert!(is_valid_nhs_number("943 476 5919"));
/// assert!(!is_valid_nhs_number("9434765918"));
/// assert!(!is_valid_nhs_number("94347659"));
/// ```
pub fn is_valid_nhs_number(text: &str) -> bool {
    let digits: Vec<u32> = text
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| c.to_digit(10))
        .collect::<Option<Vec<u32>>>()
        .unwrap_or_default();
    let [d @ .., check] = digits.as_slice() else {
        return false;
    };
    if d.len() != 9 {
        return false;
    }
    let sum: u32 = d.iter().zip((2..=10).rev()).map(|(x, w)| x * w).sum();
    match 11 - sum % 11 {
        11 => *check == 0,
        10 => false,
        c => *check == c,
    }
}

/// Builds the UK Core NHS number identifier (system [`NHS_NUMBER_SYSTEM`],
/// digits without spaces), with the verification status extension when a
/// code (`01`–`08`) is given. `None` when the number fails Modulus 11.
///
/// ```
/// use carecodec_fhir::uk_core::{nhs_number_identifier, ext};
///
/// let id = nhs_number_identifier("943 476 5919", Some("01")).unwrap();
/// assert_eq!(id.value.as_ref().and_then(|v| v.value.as_deref()), Some("9434765919"));
/// assert_eq!(id.extension[0].url.as_deref(), Some(ext::NHS_NUMBER_VERIFICATION_STATUS));
/// assert!(nhs_number_identifier("9434765918", None).is_none());
/// ```
pub fn nhs_number_identifier(number: &str, verification_code: Option<&str>) -> Option<Identifier> {
    if !is_valid_nhs_number(number) {
        return None;
    }
    let digits: String = number.chars().filter(|c| *c != ' ').collect();
    let mut id = Identifier {
        system: Some(NHS_NUMBER_SYSTEM.into()),
        value: Some(digits.as_str().into()),
        ..Identifier::default()
    };
    if let Some(code) = verification_code {
        id.extension.push(coded_extension(
            ext::NHS_NUMBER_VERIFICATION_STATUS,
            NHS_NUMBER_VERIFICATION_STATUS_ENGLAND,
            code,
            None,
        ));
    }
    Some(id)
}

/// Builds the UK Core ethnic category extension (England's code system, e.g.
/// `A` White - British).
///
/// ```
/// use carecodec_fhir::uk_core::{ethnic_category_extension, ext};
///
/// let e = ethnic_category_extension("A", Some("White - British"));
/// assert_eq!(e.url.as_deref(), Some(ext::ETHNIC_CATEGORY));
/// ```
pub fn ethnic_category_extension(code: &str, display: Option<&str>) -> Extension {
    coded_extension(ext::ETHNIC_CATEGORY, ETHNIC_CATEGORY_ENGLAND, code, display)
}

/// Builds an ODS organisation code identifier.
///
/// ```
/// use carecodec_fhir::uk_core::{ods_organization_identifier, ODS_ORGANIZATION_CODE_SYSTEM};
///
/// let id = ods_organization_identifier("RX1");
/// assert_eq!(id.system.as_ref().and_then(|s| s.value.as_deref()), Some(ODS_ORGANIZATION_CODE_SYSTEM));
/// ```
pub fn ods_organization_identifier(code: &str) -> Identifier {
    Identifier {
        system: Some(ODS_ORGANIZATION_CODE_SYSTEM.into()),
        value: Some(code.into()),
        ..Identifier::default()
    }
}

/// An extension whose value is a CodeableConcept with one coding.
fn coded_extension(url: &str, system: &str, code: &str, display: Option<&str>) -> Extension {
    let coding = Coding {
        system: Some(system.into()),
        code: Some(code.into()),
        display: display.map(Into::into),
        ..Coding::default()
    };
    let concept = CodeableConcept {
        coding: vec![coding],
        ..CodeableConcept::default()
    };
    Extension {
        url: Some(url.to_owned()),
        value: Some(AnyValue::CodeableConcept(Box::new(concept))),
        ..Extension::default()
    }
}

/// The identifier with `system`, if any.
pub fn identifier_with_system<'a>(ids: &'a [Identifier], system: &str) -> Option<&'a Identifier> {
    ids.iter().find(|i| {
        i.system
            .as_ref()
            .and_then(|s| s.value.as_deref())
            .is_some_and(|s| s == system)
    })
}

/// The value of the identifier with `system`, if any.
pub fn identifier_value<'a>(ids: &'a [Identifier], system: &str) -> Option<&'a str> {
    identifier_with_system(ids, system)
        .and_then(|i| i.value.as_ref())
        .and_then(|v| v.value.as_deref())
}

/// The first extension with `url`.
pub fn extension<'a>(exts: &'a [Extension], url: &str) -> Option<&'a Extension> {
    exts.iter().find(|e| e.url.as_deref() == Some(url))
}

/// The CodeableConcept value of the first extension with `url`.
pub fn extension_concept<'a>(exts: &'a [Extension], url: &str) -> Option<&'a CodeableConcept> {
    match extension(exts, url)?.value.as_ref()? {
        crate::model::AnyValue::CodeableConcept(c) => Some(c),
        _ => None,
    }
}

/// The first coding of a concept.
fn first_coding(c: &CodeableConcept) -> Option<&Coding> {
    c.coding.first()
}

#[cfg(feature = "patient")]
impl crate::model::Patient {
    /// The NHS number (`identifier` with system [`NHS_NUMBER_SYSTEM`]), as written.
    pub fn nhs_number(&self) -> Option<&str> {
        identifier_value(&self.identifier, NHS_NUMBER_SYSTEM)
    }

    /// The verification status coding on the NHS number identifier
    /// ([`ext::NHS_NUMBER_VERIFICATION_STATUS`]).
    pub fn nhs_number_verification_status(&self) -> Option<&Coding> {
        let id = identifier_with_system(&self.identifier, NHS_NUMBER_SYSTEM)?;
        first_coding(extension_concept(
            &id.extension,
            ext::NHS_NUMBER_VERIFICATION_STATUS,
        )?)
    }

    /// The ethnic category coding ([`ext::ETHNIC_CATEGORY`]).
    pub fn ethnic_category(&self) -> Option<&Coding> {
        first_coding(extension_concept(&self.extension, ext::ETHNIC_CATEGORY)?)
    }

    /// The birth sex coding ([`ext::BIRTH_SEX`]).
    pub fn birth_sex(&self) -> Option<&Coding> {
        first_coding(extension_concept(&self.extension, ext::BIRTH_SEX)?)
    }
}

#[cfg(feature = "organization")]
impl crate::model::Organization {
    /// The ODS organisation code ([`ODS_ORGANIZATION_CODE_SYSTEM`]).
    pub fn ods_code(&self) -> Option<&str> {
        identifier_value(&self.identifier, ODS_ORGANIZATION_CODE_SYSTEM)
    }

    /// The ODS site code ([`ODS_SITE_CODE_SYSTEM`]).
    pub fn ods_site_code(&self) -> Option<&str> {
        identifier_value(&self.identifier, ODS_SITE_CODE_SYSTEM)
    }
}

#[cfg(feature = "location")]
impl crate::model::Location {
    /// The ODS site code ([`ODS_SITE_CODE_SYSTEM`]).
    pub fn ods_site_code(&self) -> Option<&str> {
        identifier_value(&self.identifier, ODS_SITE_CODE_SYSTEM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers() {
        for ok in ["9000000009", "943 476 5919", "4010232137"] {
            assert!(is_valid_nhs_number(ok), "{ok}");
        }
        for bad in [
            "9000000008",
            "",
            "900000000",
            "90000000091",
            "900000000a",
            "1000000010",
        ] {
            assert!(!is_valid_nhs_number(bad), "{bad}");
        }
    }

    #[cfg(feature = "patient")]
    #[test]
    fn patient_accessors() {
        let text = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/patient-uk-core.json"
        ))
        .unwrap();
        let p: crate::model::Patient = crate::json::from_slice(&text).unwrap();
        assert_eq!(p.nhs_number(), Some("9000000009"));
        assert_eq!(
            p.nhs_number_verification_status()
                .and_then(|c| c.code.as_ref())
                .and_then(|c| c.value.as_deref()),
            Some("01")
        );
        assert_eq!(
            p.ethnic_category()
                .and_then(|c| c.code.as_ref())
                .and_then(|c| c.value.as_deref()),
            Some("A")
        );
        assert!(p.birth_sex().is_none());
    }
}
