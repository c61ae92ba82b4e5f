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

mod r4;
mod r4_tables;
pub mod validate;
pub use validate::{Issue, Profile, validate};

/// NHS number identifier system (NHS England).
///
/// ```
/// use carecodec_fhir::{json, Patient};
///
/// let p: Patient = json::from_str(r#"{"resourceType":"Patient","identifier":[
///   {"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}"#)?;
/// assert_eq!(p.nhs_number(), Some("9434765919"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// ODS organisation code identifier system (note the American "z").
///
/// ```
/// use carecodec_fhir::uk_core::{ods_organization_identifier, ODS_ORGANIZATION_CODE_SYSTEM};
///
/// let id = ods_organization_identifier("RX1");
/// assert_eq!(id.system.and_then(|s| s.value).as_deref(), Some(ODS_ORGANIZATION_CODE_SYSTEM));
/// ```
pub const ODS_ORGANIZATION_CODE_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// ODS site code identifier system.
///
/// ```
/// use carecodec_fhir::{json, Location};
///
/// let l: Location = json::from_str(r#"{"resourceType":"Location","identifier":[
///   {"system":"https://fhir.nhs.uk/Id/ods-site-code","value":"RX101"}]}"#)?;
/// assert_eq!(l.ods_site_code(), Some("RX101"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub const ODS_SITE_CODE_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-site-code";
/// SDS user id identifier system.
///
/// ```
/// use carecodec_fhir::uk_core::{identifier_value, SDS_USER_ID_SYSTEM};
/// use carecodec_fhir::{json, Practitioner};
///
/// let p: Practitioner = json::from_str(&format!(
///     r#"{{"resourceType":"Practitioner","identifier":[{{"system":"{SDS_USER_ID_SYSTEM}","value":"123456789012"}}]}}"#))?;
/// assert_eq!(identifier_value(&p.identifier, SDS_USER_ID_SYSTEM), Some("123456789012"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub const SDS_USER_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-user-id";
/// SDS role profile id identifier system.
///
/// ```
/// use carecodec_fhir::uk_core::{identifier_value, SDS_ROLE_PROFILE_ID_SYSTEM};
/// use carecodec_fhir::{json, Practitioner};
///
/// let p: Practitioner = json::from_str(&format!(
///     r#"{{"resourceType":"Practitioner","identifier":[{{"system":"{SDS_ROLE_PROFILE_ID_SYSTEM}","value":"555021935107"}}]}}"#))?;
/// assert_eq!(identifier_value(&p.identifier, SDS_ROLE_PROFILE_ID_SYSTEM), Some("555021935107"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub const SDS_ROLE_PROFILE_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-role-profile-id";
/// General Medical Council number (HL7 UK host).
///
/// ```
/// use carecodec_fhir::uk_core::{identifier_value, GMC_NUMBER_SYSTEM};
/// use carecodec_fhir::{json, Practitioner};
///
/// let p: Practitioner = json::from_str(&format!(
///     r#"{{"resourceType":"Practitioner","identifier":[{{"system":"{GMC_NUMBER_SYSTEM}","value":"7000002"}}]}}"#))?;
/// assert_eq!(identifier_value(&p.identifier, GMC_NUMBER_SYSTEM), Some("7000002"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub const GMC_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/gmc-number";
/// General medical practitioner (GP) number.
///
/// ```
/// use carecodec_fhir::uk_core::{identifier_value, GMP_NUMBER_SYSTEM};
/// use carecodec_fhir::{json, Practitioner};
///
/// let p: Practitioner = json::from_str(&format!(
///     r#"{{"resourceType":"Practitioner","identifier":[{{"system":"{GMP_NUMBER_SYSTEM}","value":"G1234567"}}]}}"#))?;
/// assert_eq!(identifier_value(&p.identifier, GMP_NUMBER_SYSTEM), Some("G1234567"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub const GMP_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/gmp-number";
/// Nursing and Midwifery Council number.
///
/// ```
/// use carecodec_fhir::uk_core::{identifier_value, NMC_NUMBER_SYSTEM};
/// use carecodec_fhir::{json, Practitioner};
///
/// let p: Practitioner = json::from_str(&format!(
///     r#"{{"resourceType":"Practitioner","identifier":[{{"system":"{NMC_NUMBER_SYSTEM}","value":"01Z2345A"}}]}}"#))?;
/// assert_eq!(identifier_value(&p.identifier, NMC_NUMBER_SYSTEM), Some("01Z2345A"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub const NMC_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/nmc-number";
/// General Pharmaceutical Council number.
///
/// ```
/// use carecodec_fhir::uk_core::{identifier_value, GPHC_NUMBER_SYSTEM};
/// use carecodec_fhir::{json, Practitioner};
///
/// let p: Practitioner = json::from_str(&format!(
///     r#"{{"resourceType":"Practitioner","identifier":[{{"system":"{GPHC_NUMBER_SYSTEM}","value":"2012345"}}]}}"#))?;
/// assert_eq!(identifier_value(&p.identifier, GPHC_NUMBER_SYSTEM), Some("2012345"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub const GPHC_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/gphc-number";
/// Health and Care Professions Council number.
///
/// ```
/// use carecodec_fhir::uk_core::{identifier_value, HCPC_NUMBER_SYSTEM};
/// use carecodec_fhir::{json, Practitioner};
///
/// let p: Practitioner = json::from_str(&format!(
///     r#"{{"resourceType":"Practitioner","identifier":[{{"system":"{HCPC_NUMBER_SYSTEM}","value":"PA123456"}}]}}"#))?;
/// assert_eq!(identifier_value(&p.identifier, HCPC_NUMBER_SYSTEM), Some("PA123456"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub const HCPC_NUMBER_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/hcpc-number";

/// Code system of the NHS number verification status codes used in England (`01`–`08`).
///
/// ```
/// use carecodec_fhir::uk_core::{nhs_number_identifier, NHS_NUMBER_VERIFICATION_STATUS_ENGLAND};
/// use carecodec_fhir::{json, Patient};
///
/// let id = nhs_number_identifier("9434765919", Some("01")).ok_or("invalid NHS number")?;
/// let mut p = Patient::default();
/// p.identifier.push(id);
/// let status = p.nhs_number_verification_status().ok_or("no status")?;
/// assert_eq!(status.system.as_ref().and_then(|s| s.value.as_deref()), Some(NHS_NUMBER_VERIFICATION_STATUS_ENGLAND));
/// assert!(json::to_string(&p).contains(NHS_NUMBER_VERIFICATION_STATUS_ENGLAND));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const NHS_NUMBER_VERIFICATION_STATUS_ENGLAND: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
/// Code system of the ethnic categories used in England (NHS Data Dictionary letters).
///
/// ```
/// use carecodec_fhir::uk_core::{ethnic_category_extension, ETHNIC_CATEGORY_ENGLAND};
/// use carecodec_fhir::Patient;
///
/// let mut p = Patient::default();
/// p.extension.push(ethnic_category_extension("A", Some("White - British")));
/// let coding = p.ethnic_category().ok_or("no ethnic category")?;
/// assert_eq!(coding.system.as_ref().and_then(|s| s.value.as_deref()), Some(ETHNIC_CATEGORY_ENGLAND));
/// assert_eq!(coding.code.as_ref().and_then(|c| c.value.as_deref()), Some("A"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    ///
    /// ```
    /// use carecodec_fhir::uk_core::codes::ENCOUNTER_STATUS;
    ///
    /// assert!(ENCOUNTER_STATUS.contains(&"finished"));
    /// assert!(!ENCOUNTER_STATUS.contains(&"completed"));
    /// ```
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
    ///
    /// ```
    /// use carecodec_fhir::uk_core::codes::ALLERGY_CLINICAL_STATUS;
    ///
    /// assert!(ALLERGY_CLINICAL_STATUS.contains(&"resolved"));
    /// assert!(!ALLERGY_CLINICAL_STATUS.contains(&"remission"));
    /// ```
    pub const ALLERGY_CLINICAL_STATUS: [&str; 3] = ["active", "inactive", "resolved"];
    /// `AllergyIntolerance.verificationStatus`
    /// (allergyintolerance-verification).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::codes::ALLERGY_VERIFICATION_STATUS;
    ///
    /// assert!(ALLERGY_VERIFICATION_STATUS.contains(&"confirmed"));
    /// assert!(!ALLERGY_VERIFICATION_STATUS.contains(&"provisional"));
    /// ```
    pub const ALLERGY_VERIFICATION_STATUS: [&str; 4] =
        ["unconfirmed", "confirmed", "refuted", "entered-in-error"];
    /// `Condition.clinicalStatus` (condition-clinical).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::codes::CONDITION_CLINICAL_STATUS;
    ///
    /// assert!(CONDITION_CLINICAL_STATUS.contains(&"remission"));
    /// assert!(!CONDITION_CLINICAL_STATUS.contains(&"Remission"));
    /// ```
    pub const CONDITION_CLINICAL_STATUS: [&str; 6] = [
        "active",
        "recurrence",
        "relapse",
        "inactive",
        "remission",
        "resolved",
    ];
    /// `Condition.verificationStatus` (condition-ver-status).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::codes::CONDITION_VERIFICATION_STATUS;
    ///
    /// assert!(CONDITION_VERIFICATION_STATUS.contains(&"provisional"));
    /// assert!(!CONDITION_VERIFICATION_STATUS.contains(&"suspected"));
    /// ```
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
            ///
            #[doc = concat!(
                "```\n",
                "use carecodec_fhir::uk_core::{ext, extension};\n",
                "use carecodec_fhir::Extension;\n",
                "\n",
                "let mut e = Extension::default();\n",
                "e.url = Some(ext::", stringify!($name), ".to_owned());\n",
                "let exts = [e];\n",
                "assert!(extension(&exts, ext::", stringify!($name), ").is_some());\n",
                "assert_eq!(ext::", stringify!($name),
                ", \"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-", $suffix, "\");\n",
                "```",
            )]
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
///
/// ```
/// use carecodec_fhir::uk_core::{identifier_with_system, NHS_NUMBER_SYSTEM};
/// use carecodec_fhir::{json, Patient};
///
/// let p: Patient = json::from_str(r#"{"resourceType":"Patient","identifier":[
///   {"system":"https://example.org/mrn","value":"K123"},
///   {"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919","use":"official"}]}"#)?;
/// let id = identifier_with_system(&p.identifier, NHS_NUMBER_SYSTEM).ok_or("no NHS number")?;
/// assert_eq!(id.use_.as_ref().and_then(|u| u.value.as_deref()), Some("official"));
/// assert!(identifier_with_system(&p.identifier, "https://example.org/other").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn identifier_with_system<'a>(ids: &'a [Identifier], system: &str) -> Option<&'a Identifier> {
    ids.iter().find(|i| {
        i.system
            .as_ref()
            .and_then(|s| s.value.as_deref())
            .is_some_and(|s| s == system)
    })
}

/// The value of the identifier with `system`, if any.
///
/// ```
/// use carecodec_fhir::uk_core::identifier_value;
/// use carecodec_fhir::{json, Patient};
///
/// let p: Patient = json::from_str(r#"{"resourceType":"Patient","identifier":[
///   {"system":"https://example.org/mrn","value":"K123"}]}"#)?;
/// assert_eq!(identifier_value(&p.identifier, "https://example.org/mrn"), Some("K123"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn identifier_value<'a>(ids: &'a [Identifier], system: &str) -> Option<&'a str> {
    identifier_with_system(ids, system)
        .and_then(|i| i.value.as_ref())
        .and_then(|v| v.value.as_deref())
}

/// The first extension with `url`.
///
/// ```
/// use carecodec_fhir::uk_core::{ethnic_category_extension, ext, extension};
///
/// let exts = [ethnic_category_extension("A", None)];
/// assert!(extension(&exts, ext::ETHNIC_CATEGORY).is_some());
/// assert!(extension(&exts, ext::BIRTH_SEX).is_none());
/// ```
pub fn extension<'a>(exts: &'a [Extension], url: &str) -> Option<&'a Extension> {
    exts.iter().find(|e| e.url.as_deref() == Some(url))
}

/// The CodeableConcept value of the first extension with `url`.
///
/// ```
/// use carecodec_fhir::uk_core::{ethnic_category_extension, ext, extension_concept};
///
/// let exts = [ethnic_category_extension("A", Some("White - British"))];
/// let concept = extension_concept(&exts, ext::ETHNIC_CATEGORY).ok_or("no concept")?;
/// assert_eq!(concept.coding[0].display.as_ref().and_then(|d| d.value.as_deref()), Some("White - British"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    ///
    /// ```
    /// use carecodec_fhir::{json, Patient};
    ///
    /// let p: Patient = json::from_str(r#"{"resourceType":"Patient","identifier":[
    ///   {"system":"https://fhir.nhs.uk/Id/nhs-number","value":"943 476 5919"}]}"#)?;
    /// assert_eq!(p.nhs_number(), Some("943 476 5919")); // as written
    /// assert_eq!(Patient::default().nhs_number(), None);
    /// # Ok::<(), carecodec_fhir::json::Error>(())
    /// ```
    pub fn nhs_number(&self) -> Option<&str> {
        identifier_value(&self.identifier, NHS_NUMBER_SYSTEM)
    }

    /// The verification status coding on the NHS number identifier
    /// ([`ext::NHS_NUMBER_VERIFICATION_STATUS`]).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::nhs_number_identifier;
    /// use carecodec_fhir::Patient;
    ///
    /// let mut p = Patient::default();
    /// p.identifier.extend(nhs_number_identifier("9434765919", Some("02")));
    /// let status = p.nhs_number_verification_status().ok_or("no status")?;
    /// assert_eq!(status.code.as_ref().and_then(|c| c.value.as_deref()), Some("02"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn nhs_number_verification_status(&self) -> Option<&Coding> {
        let id = identifier_with_system(&self.identifier, NHS_NUMBER_SYSTEM)?;
        first_coding(extension_concept(
            &id.extension,
            ext::NHS_NUMBER_VERIFICATION_STATUS,
        )?)
    }

    /// The ethnic category coding ([`ext::ETHNIC_CATEGORY`]).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::ethnic_category_extension;
    /// use carecodec_fhir::Patient;
    ///
    /// let mut p = Patient::default();
    /// assert!(p.ethnic_category().is_none());
    /// p.extension.push(ethnic_category_extension("J", None));
    /// assert_eq!(p.ethnic_category().and_then(|c| c.code.as_ref()).and_then(|c| c.value.as_deref()), Some("J"));
    /// ```
    pub fn ethnic_category(&self) -> Option<&Coding> {
        first_coding(extension_concept(&self.extension, ext::ETHNIC_CATEGORY)?)
    }

    /// The birth sex coding ([`ext::BIRTH_SEX`]).
    ///
    /// ```
    /// use carecodec_fhir::{json, Patient};
    ///
    /// let p: Patient = json::from_str(r#"{"resourceType":"Patient","extension":[{
    ///   "url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BirthSex",
    ///   "valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender","code":"F"}]}}]}"#)?;
    /// assert_eq!(p.birth_sex().and_then(|c| c.code.as_ref()).and_then(|c| c.value.as_deref()), Some("F"));
    /// # Ok::<(), carecodec_fhir::json::Error>(())
    /// ```
    pub fn birth_sex(&self) -> Option<&Coding> {
        first_coding(extension_concept(&self.extension, ext::BIRTH_SEX)?)
    }
}

#[cfg(feature = "organization")]
impl crate::model::Organization {
    /// The ODS organisation code ([`ODS_ORGANIZATION_CODE_SYSTEM`]).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::ods_organization_identifier;
    /// use carecodec_fhir::Organization;
    ///
    /// let mut org = Organization::default();
    /// org.identifier.push(ods_organization_identifier("RX1"));
    /// assert_eq!(org.ods_code(), Some("RX1"));
    /// ```
    pub fn ods_code(&self) -> Option<&str> {
        identifier_value(&self.identifier, ODS_ORGANIZATION_CODE_SYSTEM)
    }

    /// The ODS site code ([`ODS_SITE_CODE_SYSTEM`]).
    ///
    /// ```
    /// use carecodec_fhir::{json, Organization};
    ///
    /// let org: Organization = json::from_str(r#"{"resourceType":"Organization","identifier":[
    ///   {"system":"https://fhir.nhs.uk/Id/ods-site-code","value":"RX101"}]}"#)?;
    /// assert_eq!(org.ods_site_code(), Some("RX101"));
    /// assert_eq!(org.ods_code(), None);
    /// # Ok::<(), carecodec_fhir::json::Error>(())
    /// ```
    pub fn ods_site_code(&self) -> Option<&str> {
        identifier_value(&self.identifier, ODS_SITE_CODE_SYSTEM)
    }
}

#[cfg(feature = "location")]
impl crate::model::Location {
    /// The ODS site code ([`ODS_SITE_CODE_SYSTEM`]).
    ///
    /// ```
    /// use carecodec_fhir::{json, Location};
    ///
    /// let loc: Location = json::from_str(r#"{"resourceType":"Location","identifier":[
    ///   {"system":"https://fhir.nhs.uk/Id/ods-site-code","value":"RX1CC"}]}"#)?;
    /// assert_eq!(loc.ods_site_code(), Some("RX1CC"));
    /// # Ok::<(), carecodec_fhir::json::Error>(())
    /// ```
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
