//! UK Core profile checks: [`validate`] a resource against a [`Profile`] and get every issue
//! with its severity, issue type code and FHIRPath-style location.
//!
//! The checks are the UK Core constraints that matter for interchange: the identifier slices
//! (NHS number with its Modulus 11 check digit and verification status, ODS codes), fixed
//! systems, cardinalities UK Core or base R4 make mandatory, required bindings checked against
//! small tables of codes, extensible bindings (warnings), and the profile invariants. Full
//! terminology validation (SNOMED CT, dm+d) and FHIRPath evaluation are left to HAPI's
//! validator.
//!
//! # Rules
//! | profile | checks |
//! |---|---|
//! | every resource (R4 base rules, whatever its profile) | `date` / `dateTime` / `instant` / `time` forms (R4 regexes, real days; a time needs an offset); required bindings of every `code` element bound to a closed R4 value set (338 elements: `Identifier.use`, `HumanName.use`, `Address.use`/`type`, `ContactPoint.system`/`use`, `Quantity.comparator`, `Narrative.status`, `Bundle.type`, `request.method`, the resources' statuses…); `Coding.system` absolute; per-1, rng-2, cpt-2, qty-3, att-1, ref-1, ext-1, txt-1 (root `div` in the XHTML namespace), txt-2 — wherever the datatype occurs (backbone elements, extensions, primitives' extensions); reference target types where the target's type is known (a literal `Type/id`, or a Bundle entry's fullUrl); the UK Core extensions' value\[x\] type, max 1 and required sub-extensions, and those of the core extensions the mapping layer writes |
//! | every profile | resource type matches; identifier systems that nearly match a known NHS / HL7 UK system (wrong scheme, host, case or spelling) are errors; ODS identifiers have a value; an NHS number that is not 10 digits with a valid Modulus 11 check digit is a **warning** (carecodec's check: UK Core has no such rule) |
//! | Patient | `identifier:nhsNumber` max 1, value 1..1; NHSNumberVerificationStatus max 1, CodeableConcept, required binding; EthnicCategory max 1, extensible binding (warning); BirthSex max 1, required binding; pat-1; communication.language 1..1 and required binding to all-languages (a `urn:ietf:bcp:47` coding with a well-formed tag); link.other/type 1..1 |
//! | Practitioner / PractitionerRole | the identifier rules above; Practitioner.communication required binding to all-languages |
//! | Organization / Location | `odsOrganisationCode` / `odsSiteCode` slices max 1; org-1, org-2, org-3 |
//! | Encounter | status, class 1..1 |
//! | Observation | status 1..1, code 1..1, obs-3, obs-6, obs-7, component.code |
//! | Observation-VitalSigns (+ BMI, BloodPressure, …) | category `vital-signs` 1..1, subject and effective\[x\] 1..1, a LOINC code (ukcore-obs-vs-001), the fixed UCUM unit of each [`VITAL_SIGNS`] code, vs-2 |
//! | Observation-Lab / Observation-Group-Lab | ukcore-obs-lab-001, ukcore-obs-grplab-001 (warnings) |
//! | DiagnosticReport(-Lab) | status, code; Lab: `laboratory` category (v2-0074 LAB) 1..1, subject 1..1, ukcore-diag-lab-001 (warning), ukcore-diag-lab-002 |
//! | AllergyIntolerance | code, patient 1..1; clinicalStatus, verificationStatus bindings; reaction.manifestation 1..*; ait-1, ait-2 |
//! | Condition | subject 1..1; clinicalStatus, verificationStatus bindings; con-1, con-2, con-3 (warning), con-4, con-5 |
//! | ServiceRequest | prr-1 (status, intent, priority: the base bindings) |
//! | Provenance, Device, MessageHeader | the R4 base rules |
//! | [`Profile::R4Base`]: any other type (Bundle, …) or declared profile | the R4 base rules; Bundle: bdl-1 … bdl-5, bdl-7, bdl-8, bdl-9 … bdl-12; [`validate_nested`] adds an `information` issue saying no UK Core profile was checked |
//!
//! Not checked: SNOMED CT / dm+d / LOINC code validity, whether a BCP-47 language is
//! registered, extensible bindings other than EthnicCategory, the individual vital-sign
//! profiles' fixed values, the other UK Core profiles' differentials, slices beyond those
//! listed, extension contexts, sqty-1 and FHIRPath invariants other than those named.
//!
//! ```
//! use carecodec_fhir::{json, Resource};
//! use carecodec_fhir::uk_core::validate::{validate, Profile, Severity};
//! let r: Resource = json::from_str(r#"{"resourceType":"Patient","identifier":[
//!   {"system":"https://fhir.nhs.uk/Id/nhs-number"}]}"#)?;
//! let issues = validate(&r, Profile::UKCorePatient);
//! let first = issues.first().expect("an issue");
//! assert_eq!(first.severity, Severity::Error);
//! assert_eq!(first.location, "Patient.identifier[0].value");
//! # Ok::<(), carecodec_fhir::json::Error>(())
//! ```

use std::fmt;

use super::r4;

#[cfg(any(feature = "allergy_intolerance", feature = "condition"))]
use super::codes;
#[cfg(feature = "patient")]
use super::{ETHNIC_CATEGORY_ENGLAND, ext};
use super::{
    GMC_NUMBER_SYSTEM, GMP_NUMBER_SYSTEM, GPHC_NUMBER_SYSTEM, HCPC_NUMBER_SYSTEM,
    NHS_NUMBER_SYSTEM, NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, NMC_NUMBER_SYSTEM,
    ODS_ORGANIZATION_CODE_SYSTEM, ODS_SITE_CODE_SYSTEM, is_valid_nhs_number,
};
#[allow(
    unused_imports,
    reason = "some are only used with some resource features"
)]
use crate::model::{
    AnyValue, CodeableConcept, Coding, Extension, Identifier, Meta, Primitive, Reference, Resource,
};

/// Canonical URL prefix of the UK Core profiles.
const PROFILE_BASE: &str = "https://fhir.hl7.org.uk/StructureDefinition/";

/// A UK Core profile that [`validate`] knows.
///
/// ```
/// use carecodec_fhir::uk_core::validate::{validate, Profile};
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Encounter","status":"finished",
///   "class":{"code":"IMP"}}"#)?;
/// assert!(validate(&r, Profile::UKCoreEncounter).is_empty());
/// assert_eq!(Profile::UKCoreEncounter.to_string(), "UKCore-Encounter");
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// `UKCore-Patient`.
    UKCorePatient,
    /// `UKCore-Practitioner`.
    UKCorePractitioner,
    /// `UKCore-PractitionerRole`.
    UKCorePractitionerRole,
    /// `UKCore-Organization`.
    UKCoreOrganization,
    /// `UKCore-Location`.
    UKCoreLocation,
    /// `UKCore-Encounter`.
    UKCoreEncounter,
    /// `UKCore-Observation`.
    UKCoreObservation,
    /// `UKCore-Observation-VitalSigns` (and the individual vital-sign profiles built on it).
    UKCoreObservationVitalSigns,
    /// `UKCore-Observation-Lab`.
    UKCoreObservationLab,
    /// `UKCore-Observation-Group-Lab`.
    UKCoreObservationGroupLab,
    /// `UKCore-DiagnosticReport`.
    UKCoreDiagnosticReport,
    /// `UKCore-DiagnosticReport-Lab`.
    UKCoreDiagnosticReportLab,
    /// `UKCore-AllergyIntolerance`.
    UKCoreAllergyIntolerance,
    /// `UKCore-Condition`.
    UKCoreCondition,
    /// `UKCore-ServiceRequest`: the R4 base rules, prr-1 and the required bindings (the UK
    /// Core differential adds nothing else checked here).
    UKCoreServiceRequest,
    /// `UKCore-Provenance`: the R4 base rules.
    UKCoreProvenance,
    /// `UKCore-Device`: the R4 base rules.
    UKCoreDevice,
    /// `UKCore-MessageHeader`: the R4 base rules.
    UKCoreMessageHeader,
    /// No UK Core profile: a resource of a type (Bundle, …) or with a declared profile that
    /// this module does not know, checked against the R4 base rules only
    /// ([`validate_nested`] says so with an `information` issue). Not in [`Profile::ALL`].
    R4Base,
}

impl Profile {
    /// Every profile, in declaration order.
    ///
    /// ```
    /// use carecodec_fhir::uk_core::validate::Profile;
    ///
    /// assert_eq!(Profile::ALL[0], Profile::UKCorePatient);
    /// assert!(Profile::ALL.iter().all(|p| Profile::from_url(&p.url()) == Some(*p)));
    /// ```
    pub const ALL: [Profile; 18] = [
        Profile::UKCorePatient,
        Profile::UKCorePractitioner,
        Profile::UKCorePractitionerRole,
        Profile::UKCoreOrganization,
        Profile::UKCoreLocation,
        Profile::UKCoreEncounter,
        Profile::UKCoreObservation,
        Profile::UKCoreObservationVitalSigns,
        Profile::UKCoreObservationLab,
        Profile::UKCoreObservationGroupLab,
        Profile::UKCoreDiagnosticReport,
        Profile::UKCoreDiagnosticReportLab,
        Profile::UKCoreAllergyIntolerance,
        Profile::UKCoreCondition,
        Profile::UKCoreServiceRequest,
        Profile::UKCoreProvenance,
        Profile::UKCoreDevice,
        Profile::UKCoreMessageHeader,
    ];

    /// The profile's name (`UKCore-Patient`).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::validate::Profile;
    ///
    /// assert_eq!(Profile::UKCoreObservationVitalSigns.name(), "UKCore-Observation-VitalSigns");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Profile::UKCorePatient => "UKCore-Patient",
            Profile::UKCorePractitioner => "UKCore-Practitioner",
            Profile::UKCorePractitionerRole => "UKCore-PractitionerRole",
            Profile::UKCoreOrganization => "UKCore-Organization",
            Profile::UKCoreLocation => "UKCore-Location",
            Profile::UKCoreEncounter => "UKCore-Encounter",
            Profile::UKCoreObservation => "UKCore-Observation",
            Profile::UKCoreObservationVitalSigns => "UKCore-Observation-VitalSigns",
            Profile::UKCoreObservationLab => "UKCore-Observation-Lab",
            Profile::UKCoreObservationGroupLab => "UKCore-Observation-Group-Lab",
            Profile::UKCoreDiagnosticReport => "UKCore-DiagnosticReport",
            Profile::UKCoreDiagnosticReportLab => "UKCore-DiagnosticReport-Lab",
            Profile::UKCoreAllergyIntolerance => "UKCore-AllergyIntolerance",
            Profile::UKCoreCondition => "UKCore-Condition",
            Profile::UKCoreServiceRequest => "UKCore-ServiceRequest",
            Profile::UKCoreProvenance => "UKCore-Provenance",
            Profile::UKCoreDevice => "UKCore-Device",
            Profile::UKCoreMessageHeader => "UKCore-MessageHeader",
            Profile::R4Base => "R4-base",
        }
    }

    /// The canonical URL (`https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient`).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::validate::Profile;
    /// let p = Profile::UKCorePatient;
    /// assert_eq!(Profile::from_url(&p.url()), Some(p));
    /// ```
    pub fn url(self) -> String {
        match self {
            Profile::R4Base => "http://hl7.org/fhir/StructureDefinition/Resource".into(),
            p => format!("{PROFILE_BASE}{}", p.name()),
        }
    }

    /// The profile with this canonical URL (a `|version` suffix is ignored). The individual
    /// vital-sign profiles (`UKCore-Observation-VitalSigns-BMI`, …) map to
    /// [`Profile::UKCoreObservationVitalSigns`].
    ///
    /// ```
    /// use carecodec_fhir::uk_core::validate::Profile;
    ///
    /// let base = "https://fhir.hl7.org.uk/StructureDefinition/";
    /// assert_eq!(Profile::from_url(&format!("{base}UKCore-Patient|2.0.1")), Some(Profile::UKCorePatient));
    /// assert_eq!(Profile::from_url(&format!("{base}UKCore-Observation-VitalSigns-BMI")),
    ///     Some(Profile::UKCoreObservationVitalSigns));
    /// assert_eq!(Profile::from_url("http://hl7.org/fhir/StructureDefinition/Patient"), None);
    /// ```
    pub fn from_url(url: &str) -> Option<Profile> {
        let url = url.split('|').next().unwrap_or(url);
        let name = url.strip_prefix(PROFILE_BASE)?;
        if let Some(rest) = name.strip_prefix("UKCore-Observation-VitalSigns") {
            return (rest.is_empty() || rest.starts_with('-'))
                .then_some(Profile::UKCoreObservationVitalSigns);
        }
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The resource type the profile constrains.
    ///
    /// ```
    /// use carecodec_fhir::uk_core::validate::Profile;
    ///
    /// assert_eq!(Profile::UKCoreDiagnosticReportLab.resource_type(), "DiagnosticReport");
    /// assert_eq!(Profile::UKCoreObservationLab.resource_type(), "Observation");
    /// ```
    pub fn resource_type(self) -> &'static str {
        match self {
            Profile::UKCorePatient => "Patient",
            Profile::UKCorePractitioner => "Practitioner",
            Profile::UKCorePractitionerRole => "PractitionerRole",
            Profile::UKCoreOrganization => "Organization",
            Profile::UKCoreLocation => "Location",
            Profile::UKCoreEncounter => "Encounter",
            Profile::UKCoreObservation
            | Profile::UKCoreObservationVitalSigns
            | Profile::UKCoreObservationLab
            | Profile::UKCoreObservationGroupLab => "Observation",
            Profile::UKCoreDiagnosticReport | Profile::UKCoreDiagnosticReportLab => {
                "DiagnosticReport"
            }
            Profile::UKCoreAllergyIntolerance => "AllergyIntolerance",
            Profile::UKCoreCondition => "Condition",
            Profile::UKCoreServiceRequest => "ServiceRequest",
            Profile::UKCoreProvenance => "Provenance",
            Profile::UKCoreDevice => "Device",
            Profile::UKCoreMessageHeader => "MessageHeader",
            Profile::R4Base => "Resource",
        }
    }

    /// The profile for a resource: the first known UK Core profile in `meta.profile`, else the
    /// generic profile of its resource type; `None` for a type without one here.
    ///
    /// ```
    /// use carecodec_fhir::uk_core::validate::Profile;
    /// use carecodec_fhir::{json, Resource};
    ///
    /// let plain: Resource = json::from_str(r#"{"resourceType":"Observation","status":"final","code":{"text":"x"}}"#)?;
    /// assert_eq!(Profile::for_resource(&plain), Some(Profile::UKCoreObservation));
    /// let lab: Resource = json::from_str(r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},
    ///   "meta":{"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-Lab"]}}"#)?;
    /// assert_eq!(Profile::for_resource(&lab), Some(Profile::UKCoreObservationLab));
    /// # Ok::<(), carecodec_fhir::json::Error>(())
    /// ```
    pub fn for_resource(resource: &Resource) -> Option<Profile> {
        let declared = meta_of(resource)
            .into_iter()
            .flat_map(|m| m.profile.iter())
            .filter_map(|p| p.value.as_deref())
            .find_map(Profile::from_url);
        if declared.is_some() {
            return declared;
        }
        let ty = resource.resource_type();
        Profile::ALL
            .into_iter()
            .find(|p| p.resource_type() == ty && p.name().ends_with(ty))
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How bad an [`Issue`] is (FHIR `IssueSeverity`).
///
/// ```
/// use carecodec_fhir::uk_core::validate::{validate, Profile, Severity};
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Patient","gender":"M","identifier":[
///   {"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765918"}]}"#)?;
/// let issues = validate(&r, Profile::UKCorePatient);
/// assert!(issues.iter().any(|i| i.severity == Severity::Error)); // gender not in its value set
/// assert!(issues.iter().any(|i| i.severity == Severity::Warning)); // bad check digit
/// assert!(Severity::Error < Severity::Warning);
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The resource does not conform.
    Error,
    /// Conforms, but breaks a SHOULD or an extensible binding.
    Warning,
    /// Not a problem: a notice (e.g. that no UK Core profile was checked).
    Information,
}

impl Severity {
    /// The FHIR code (`error`, `warning`).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::validate::Severity;
    ///
    /// assert_eq!(Severity::Error.code(), "error");
    /// assert_eq!(Severity::Warning.code(), "warning");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// What kind of problem an [`Issue`] is (a subset of FHIR `IssueType`).
///
/// ```
/// use carecodec_fhir::uk_core::validate::{validate, IssueCode, Profile};
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Observation","status":"done","code":{"text":"x"}}"#)?;
/// let issues = validate(&r, Profile::UKCoreObservation);
/// assert!(issues.iter().any(|i| i.code == IssueCode::CodeInvalid && i.location == "Observation.status"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueCode {
    /// A mandatory element is missing (`required`).
    Required,
    /// Too many repetitions, or the wrong resource type (`structure`).
    Structure,
    /// An element has a wrong value, e.g. a bad NHS number or wrong fixed system (`value`).
    Value,
    /// A code is not in the bound value set (`code-invalid`).
    CodeInvalid,
    /// A profile invariant fails (`invariant`).
    Invariant,
    /// A reference that does not resolve where it must, e.g. a `urn:uuid:` reference
    /// inside a Bundle that no entry's fullUrl matches (`not-found`).
    NotFound,
    /// A notice, not a problem (`informational`).
    Informational,
}

impl IssueCode {
    /// The FHIR code (`required`, `structure`, `value`, `code-invalid`, `invariant`,
    /// `not-found`, `informational`).
    ///
    /// ```
    /// use carecodec_fhir::uk_core::validate::IssueCode;
    ///
    /// assert_eq!(IssueCode::CodeInvalid.code(), "code-invalid");
    /// assert_eq!(IssueCode::Required.code(), "required");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            IssueCode::Required => "required",
            IssueCode::Structure => "structure",
            IssueCode::Value => "value",
            IssueCode::CodeInvalid => "code-invalid",
            IssueCode::Invariant => "invariant",
            IssueCode::NotFound => "not-found",
            IssueCode::Informational => "informational",
        }
    }
}

/// One finding of [`validate`].
///
/// ```
/// use carecodec_fhir::uk_core::validate::{validate, IssueCode, Profile, Severity};
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Patient"}"#)?;
/// let issues = validate(&r, Profile::UKCoreEncounter); // the wrong profile for a Patient
/// assert_eq!(issues.len(), 1);
/// assert_eq!((issues[0].severity, issues[0].code), (Severity::Error, IssueCode::Structure));
/// assert!(issues[0].to_string().starts_with("error [structure] Patient: "));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// The kind of problem.
    pub code: IssueCode,
    /// FHIRPath-style location, e.g. `Patient.identifier[0].value`.
    pub location: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity.code(),
            self.code.code(),
            self.location,
            self.message
        )
    }
}

/// Whether any issue is an error.
///
/// ```
/// use carecodec_fhir::uk_core::validate::{has_errors, validate, Profile};
/// use carecodec_fhir::{json, Resource};
///
/// let good: Resource = json::from_str(r#"{"resourceType":"Patient","identifier":[
///   {"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}"#)?;
/// assert!(!has_errors(&validate(&good, Profile::UKCorePatient)));
/// let bad: Resource = json::from_str(r#"{"resourceType":"Patient","birthDate":"1970-13-01"}"#)?;
/// assert!(has_errors(&validate(&bad, Profile::UKCorePatient)));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn has_errors(issues: &[Issue]) -> bool {
    issues.iter().any(|i| i.severity == Severity::Error)
}

/// The issues as a FHIR `OperationOutcome` (location and expression both carry the path; an
/// empty list gives one `information` issue, as FHIR requires at least one).
///
/// ```
/// use carecodec_fhir::uk_core::validate::{to_operation_outcome, validate, Profile};
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Observation","status":"done","code":{"text":"x"}}"#)?;
/// let outcome = to_operation_outcome(&validate(&r, Profile::UKCoreObservation));
/// let first = &outcome.issue[0];
/// assert_eq!(first.severity.as_ref().and_then(|s| s.value.as_deref()), Some("error"));
/// assert_eq!(first.code.as_ref().and_then(|c| c.value.as_deref()), Some("code-invalid"));
/// assert_eq!(first.expression.first().and_then(|e| e.value.as_deref()), Some("Observation.status"));
/// let clean = to_operation_outcome(&[]);
/// assert_eq!(clean.issue[0].severity.as_ref().and_then(|s| s.value.as_deref()), Some("information"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
#[cfg(feature = "operation_outcome")]
pub fn to_operation_outcome(issues: &[Issue]) -> crate::model::OperationOutcome {
    use crate::model::{OperationOutcome, OperationOutcomeIssue};
    let mut out = OperationOutcome::default();
    for i in issues {
        out.issue.push(OperationOutcomeIssue {
            severity: Some(Primitive::from(i.severity.code())),
            code: Some(Primitive::from(i.code.code())),
            diagnostics: Some(Primitive::new(i.message.clone())),
            location: vec![Primitive::new(i.location.clone())],
            expression: vec![Primitive::new(i.location.clone())],
            ..OperationOutcomeIssue::default()
        });
    }
    if out.issue.is_empty() {
        out.issue.push(OperationOutcomeIssue {
            severity: Some(Primitive::from("information")),
            code: Some(Primitive::from("informational")),
            diagnostics: Some(Primitive::from("no issues")),
            ..OperationOutcomeIssue::default()
        });
    }
    out
}

/// Checks `resource` against `profile` and returns every issue found (empty when clean).
///
/// A resource of another type than the profile's gives one `structure` error and no further
/// checks.
///
/// ```
/// use carecodec_fhir::uk_core::validate::{validate, Profile, Severity};
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Patient","identifier":[
///   {"system":"http://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}"#)?;
/// let issues = validate(&r, Profile::UKCorePatient);
/// // `http` instead of `https`: a near miss of the NHS number system.
/// assert!(issues.iter().any(|i| i.severity == Severity::Error && i.location == "Patient.identifier[0].system"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn validate(resource: &Resource, profile: Profile) -> Vec<Issue> {
    validate_in(resource, profile, &r4::Targets::new())
}

/// [`validate`] with the resource types of the enclosing Bundle's entries by fullUrl.
fn validate_in(resource: &Resource, profile: Profile, targets: &r4::Targets) -> Vec<Issue> {
    let mut c = Checker::default();
    let ty = resource.resource_type();
    if profile != Profile::R4Base && ty != profile.resource_type() {
        c.error(
            IssueCode::Structure,
            ty.to_string(),
            format!(
                "profile {profile} constrains {}, not {ty}",
                profile.resource_type()
            ),
        );
        return c.issues;
    }
    check_resource(&mut c, resource, profile);
    if let Ok(json) = serde_json::from_str(&crate::json::to_string(resource)) {
        r4::check(&json, targets, profile != Profile::R4Base, &mut c.issues);
    }
    c.issues
}

/// How deeply [`validate_nested`] follows contained resources and Bundle entries.
const MAX_NESTING: usize = 32;

/// Checks `resource`, its `contained` resources and each Bundle entry's resource (nested
/// Bundles included), each against its own profile ([`Profile::for_resource`]; a resource
/// without one is not checked). Each issue comes with the profile it was checked against and
/// its location rewritten to its place in `resource`.
///
/// ```
/// use carecodec_fhir::{json, Resource};
/// use carecodec_fhir::uk_core::validate::{validate_nested, Profile};
/// let r: Resource = json::from_str(r#"{"resourceType":"Observation","status":"final",
///   "code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p","gender":"M"}]}"#)?;
/// let issues = validate_nested(&r);
/// assert_eq!(issues[0].0, Profile::UKCorePatient);
/// assert_eq!(issues[0].1.location, "Observation.contained[0].gender");
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn validate_nested(resource: &Resource) -> Vec<(Profile, Issue)> {
    let mut out = Vec::new();
    nested(
        resource,
        resource.resource_type(),
        0,
        &r4::Targets::new(),
        &mut out,
    );
    out
}

fn nested(
    resource: &Resource,
    at: &str,
    depth: usize,
    targets: &r4::Targets,
    out: &mut Vec<(Profile, Issue)>,
) {
    if depth > MAX_NESTING {
        return;
    }
    let ty = resource.resource_type();
    let profile = Profile::for_resource(resource).unwrap_or(Profile::R4Base);
    if profile == Profile::R4Base {
        let declared: Vec<String> = match meta_of(resource) {
            Some(m) => m.profile.iter().filter_map(|p| p.value.clone()).collect(),
            // A type `meta_of` does not list: read its JSON form.
            None => serde_json::from_str::<serde_json::Value>(&crate::json::to_string(resource))
                .ok()
                .and_then(|v| {
                    let list = v.get("meta")?.get("profile")?.as_array()?.clone();
                    Some(
                        list.iter()
                            .filter_map(|p| p.as_str().map(str::to_owned))
                            .collect(),
                    )
                })
                .unwrap_or_default(),
        };
        let what = if declared.is_empty() {
            ty.to_owned()
        } else {
            format!("{ty} (declared {})", declared.join(", "))
        };
        out.push((
            profile,
            Issue {
                severity: Severity::Information,
                code: IssueCode::Informational,
                location: at.to_owned(),
                message: format!("no UK Core profile checked for {what}; R4 base rules only"),
            },
        ));
    }
    for mut issue in validate_in(resource, profile, targets) {
        let tail = issue.location.strip_prefix(ty).unwrap_or("");
        issue.location = format!("{at}{tail}");
        out.push((profile, issue));
    }
    for (n, inner) in resource.contained().iter().enumerate() {
        nested(
            inner,
            &format!("{at}.contained[{n}]"),
            depth + 1,
            targets,
            out,
        );
    }
    #[cfg(feature = "bundle")]
    #[allow(
        irrefutable_let_patterns,
        reason = "Bundle is the only variant when it is the only resource feature"
    )]
    if let Resource::Bundle(b) = resource {
        let inner_targets: r4::Targets = b
            .entry
            .iter()
            .filter_map(|e| {
                let full = e.full_url.as_ref()?.value.clone()?;
                Some((full, e.resource.as_ref()?.resource_type().to_owned()))
            })
            .collect();
        for (n, e) in b.entry.iter().enumerate() {
            if let Some(inner) = e.resource.as_ref() {
                nested(
                    inner,
                    &format!("{at}.entry[{n}].resource"),
                    depth + 1,
                    &inner_targets,
                    out,
                );
            }
        }
    }
}

#[derive(Default)]
struct Checker {
    issues: Vec<Issue>,
}

impl Checker {
    fn push(&mut self, severity: Severity, code: IssueCode, location: String, message: String) {
        self.issues.push(Issue {
            severity,
            code,
            location,
            message,
        });
    }
    fn error(&mut self, code: IssueCode, location: String, message: String) {
        self.push(Severity::Error, code, location, message);
    }
    fn warning(&mut self, code: IssueCode, location: String, message: String) {
        self.push(Severity::Warning, code, location, message);
    }
    #[cfg_attr(
        not(any(
            feature = "patient",
            feature = "encounter",
            feature = "observation",
            feature = "diagnostic_report",
            feature = "allergy_intolerance",
            feature = "condition"
        )),
        allow(dead_code, reason = "used by the checks of these resources only")
    )]
    fn required<T>(&mut self, value: &Option<T>, location: String, what: &str) {
        if value.is_none() {
            self.error(
                IssueCode::Required,
                location,
                format!("{what} is mandatory (min 1)"),
            );
        }
    }
}

fn text(p: &Option<Primitive<String>>) -> Option<&str> {
    p.as_ref().and_then(|p| p.value.as_deref())
}

#[allow(dead_code, reason = "unused when no resource feature is enabled")]
fn meta_of(resource: &Resource) -> Option<&Meta> {
    match resource {
        #[cfg(feature = "patient")]
        Resource::Patient(r) => r.meta.as_ref(),
        #[cfg(feature = "practitioner")]
        Resource::Practitioner(r) => r.meta.as_ref(),
        #[cfg(feature = "practitioner_role")]
        Resource::PractitionerRole(r) => r.meta.as_ref(),
        #[cfg(feature = "organization")]
        Resource::Organization(r) => r.meta.as_ref(),
        #[cfg(feature = "location")]
        Resource::Location(r) => r.meta.as_ref(),
        #[cfg(feature = "encounter")]
        Resource::Encounter(r) => r.meta.as_ref(),
        #[cfg(feature = "observation")]
        Resource::Observation(r) => r.meta.as_ref(),
        #[cfg(feature = "diagnostic_report")]
        Resource::DiagnosticReport(r) => r.meta.as_ref(),
        #[cfg(feature = "allergy_intolerance")]
        Resource::AllergyIntolerance(r) => r.meta.as_ref(),
        #[cfg(feature = "condition")]
        Resource::Condition(r) => r.meta.as_ref(),
        #[cfg(feature = "service_request")]
        Resource::ServiceRequest(r) => r.meta.as_ref(),
        #[cfg(feature = "provenance")]
        Resource::Provenance(r) => r.meta.as_ref(),
        #[cfg(feature = "device")]
        Resource::Device(r) => r.meta.as_ref(),
        #[cfg(feature = "message_header")]
        Resource::MessageHeader(r) => r.meta.as_ref(),
        #[cfg(feature = "bundle")]
        Resource::Bundle(r) => r.meta.as_ref(),
        #[allow(unreachable_patterns, reason = "depends on the enabled features")]
        _ => None,
    }
}

#[allow(unused_variables, reason = "depends on the enabled features")]
fn check_resource(c: &mut Checker, resource: &Resource, profile: Profile) {
    match resource {
        #[cfg(feature = "patient")]
        Resource::Patient(r) => patient(c, r),
        #[cfg(feature = "practitioner")]
        Resource::Practitioner(r) => {
            identifiers(c, &r.identifier, "Practitioner");
            for (i, q) in r.communication.iter().enumerate() {
                language(c, q, &format!("Practitioner.communication[{i}]"));
            }
        }
        #[cfg(feature = "practitioner_role")]
        Resource::PractitionerRole(r) => {
            identifiers(c, &r.identifier, "PractitionerRole");
        }
        #[cfg(feature = "organization")]
        Resource::Organization(r) => {
            identifiers(c, &r.identifier, "Organization");
            if r.identifier.is_empty() && r.name.is_none() {
                c.error(
                    IssueCode::Invariant,
                    "Organization".into(),
                    "org-1: the organization SHALL at least have a name or an identifier".into(),
                );
            }
            for (i, a) in r.address.iter().enumerate() {
                if text(&a.use_) == Some("home") {
                    c.error(
                        IssueCode::Invariant,
                        format!("Organization.address[{i}].use"),
                        "org-2: an address of an organization can never be of use 'home'".into(),
                    );
                }
            }
            for (i, t) in r.telecom.iter().enumerate() {
                if text(&t.use_) == Some("home") {
                    c.error(
                        IssueCode::Invariant,
                        format!("Organization.telecom[{i}].use"),
                        "org-3: the telecom of an organization can never be of use 'home'".into(),
                    );
                }
            }
            for system in [ODS_ORGANIZATION_CODE_SYSTEM, ODS_SITE_CODE_SYSTEM] {
                slice_max_one(c, &r.identifier, system, "Organization");
            }
        }
        #[cfg(feature = "location")]
        Resource::Location(r) => {
            identifiers(c, &r.identifier, "Location");
            slice_max_one(c, &r.identifier, ODS_SITE_CODE_SYSTEM, "Location");
        }
        #[cfg(feature = "encounter")]
        Resource::Encounter(r) => encounter(c, r),
        #[cfg(feature = "observation")]
        Resource::Observation(r) => observation(c, r, profile),
        #[cfg(feature = "diagnostic_report")]
        Resource::DiagnosticReport(r) => diagnostic_report(c, r, profile),
        #[cfg(feature = "allergy_intolerance")]
        Resource::AllergyIntolerance(r) => allergy(c, r),
        #[cfg(feature = "condition")]
        Resource::Condition(r) => condition(c, r),
        #[cfg(feature = "service_request")]
        Resource::ServiceRequest(r) => {
            identifiers(c, &r.identifier, "ServiceRequest");
            if !r.order_detail.is_empty() && r.code.is_none() {
                c.error(
                    IssueCode::Invariant,
                    "ServiceRequest.orderDetail".into(),
                    "prr-1: orderDetail SHALL only be present if code is present".into(),
                );
            }
        }
        #[cfg(feature = "device")]
        Resource::Device(r) => identifiers(c, &r.identifier, "Device"),
        #[allow(unreachable_patterns, reason = "depends on the enabled features")]
        _ => {}
    }
}

/// Whether the FHIR `date` / `dateTime` `end` is before `start` whatever
/// their precisions: every instant `end` can stand for is before every
/// instant `start` can. A value without an offset (a date, or a year or
/// month) compared with one with an offset may be in any zone (±14:00).
/// Values that are not FHIR dates or dateTimes are not compared.
pub(crate) fn ends_before(end: &str, start: &str) -> bool {
    let (Some(e), Some(s)) = (instants(end), instants(start)) else {
        return false;
    };
    // Fourteen hours, in milliseconds: how far a value without an offset
    // may be from its local reading, beside one with an offset.
    const ZONES: i64 = 14 * 3_600_000;
    let shift = |v: &Instants, other: &Instants| {
        if !v.zoned && other.zoned { ZONES } else { 0 }
    };
    e.until + shift(&e, &s) <= s.from - shift(&s, &e)
}

/// The instants a FHIR date / dateTime stands for, in milliseconds from
/// 1970-01-01 (local time when it has no offset, else UTC): `from`
/// inclusive, `until` exclusive.
#[allow(dead_code, reason = "unused when no resource feature is enabled")]
struct Instants {
    from: i64,
    until: i64,
    zoned: bool,
}

/// The [`Instants`] of a FHIR `date` / `dateTime` / `instant` value
/// (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss[.f…](Z|±hh:mm)`),
/// `None` for anything else.
#[allow(dead_code, reason = "unused when no resource feature is enabled")]
fn instants(v: &str) -> Option<Instants> {
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (date, time) = match v.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (v, None),
    };
    let mut parts = date.split('-');
    let year = parts.next().filter(|y| y.len() == 4).and_then(num)?;
    // Two digits in `range`, if there (`Some(None)` when not, `None` when wrong).
    let two = |p: Option<&str>, range: std::ops::RangeInclusive<i64>| match p {
        None => Some(None),
        Some(p) => num(p)
            .filter(|n| p.len() == 2 && range.contains(n))
            .map(Some),
    };
    let month = two(parts.next(), 1..=12)?;
    let day = two(parts.next(), 1..=31)?;
    if parts.next().is_some() || (day.is_some() && month.is_none()) {
        return None;
    }
    const DAY: i64 = 86_400_000;
    let first = |y: i64, m: i64| days_from_civil(y, m, 1) * DAY;
    let Some(time) = time else {
        // A date to the year, month or day: local, no offset.
        let (from, until) = match (month, day) {
            (None, _) => (first(year, 1), first(year + 1, 1)),
            (Some(m), None) => (
                first(year, m),
                if m == 12 {
                    first(year + 1, 1)
                } else {
                    first(year, m + 1)
                },
            ),
            (Some(m), Some(d)) => {
                let at = days_from_civil(year, m, d) * DAY;
                (at, at + DAY)
            }
        };
        return Some(Instants {
            from,
            until,
            zoned: false,
        });
    };
    // A time needs the whole date and an offset (R4 dateTime).
    let (month, day) = (month?, day?);
    let (clock, offset) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, o) = time.split_at_checked(at)?;
        let (sign, hm) = o.split_at_checked(1)?;
        let (h, m) = hm.split_once(':')?;
        let minutes = num(h)? * 60 + num(m)?;
        (c, if sign == "-" { -minutes } else { minutes })
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    let mut hms = hms.split(':').map(num);
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let (millis, span) = match fraction {
        // To the millisecond (FHIRPath's finest); finer digits are inside it.
        Some(f) => {
            num(f)?;
            let digit = |i: usize| f.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
            (digit(0) * 100 + digit(1) * 10 + digit(2), 1)
        }
        None => (0, 1000),
    };
    let from = days_from_civil(year, month, day) * DAY + ((h * 60 + m) * 60 + sec) * 1000 + millis
        - offset * 60_000;
    Some(Instants {
        from,
        until: from + span,
        zoned: true,
    })
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y`-`m`-`d`
/// (H. Hinnant's `days_from_civil`).
#[allow(dead_code, reason = "unused when no resource feature is enabled")]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Identifier systems that must be spelt exactly: (canonical, lower-cased fragments that mark
/// an attempt at it).
#[cfg_attr(
    not(any(
        feature = "patient",
        feature = "practitioner",
        feature = "practitioner_role",
        feature = "organization",
        feature = "location",
        feature = "encounter",
        feature = "observation",
        feature = "diagnostic_report",
        feature = "allergy_intolerance",
        feature = "condition",
        feature = "service_request",
        feature = "device"
    )),
    allow(
        dead_code,
        reason = "used by the checks of resources with identifiers only"
    )
)]
const KNOWN_SYSTEMS: &[(&str, &[&str])] = &[
    (NHS_NUMBER_SYSTEM, &["nhs-number", "nhsnumber"]),
    (
        ODS_ORGANIZATION_CODE_SYSTEM,
        &["ods-organization-code", "ods-organisation-code"],
    ),
    (ODS_SITE_CODE_SYSTEM, &["ods-site-code"]),
    (super::SDS_USER_ID_SYSTEM, &["sds-user-id"]),
    (super::SDS_ROLE_PROFILE_ID_SYSTEM, &["sds-role-profile-id"]),
    (GMC_NUMBER_SYSTEM, &["gmc-number"]),
    (GMP_NUMBER_SYSTEM, &["gmp-number"]),
    (NMC_NUMBER_SYSTEM, &["nmc-number"]),
    (GPHC_NUMBER_SYSTEM, &["gphc-number"]),
    (HCPC_NUMBER_SYSTEM, &["hcpc-number"]),
];

/// Checks that apply to every identifier: a near-miss of a known system is an error (the
/// slice would not match), an NHS number is ten digits with a valid check digit, a slice with
/// a system has a value.
#[cfg_attr(
    not(any(
        feature = "patient",
        feature = "practitioner",
        feature = "practitioner_role",
        feature = "organization",
        feature = "location",
        feature = "encounter",
        feature = "observation",
        feature = "diagnostic_report",
        feature = "allergy_intolerance",
        feature = "condition",
        feature = "service_request",
        feature = "device"
    )),
    allow(
        dead_code,
        reason = "used by the checks of resources with identifiers only"
    )
)]
fn identifiers(c: &mut Checker, ids: &[Identifier], base: &str) {
    for (i, id) in ids.iter().enumerate() {
        let at = format!("{base}.identifier[{i}]");
        let Some(system) = text(&id.system) else {
            continue;
        };
        if let Some((canonical, _)) = KNOWN_SYSTEMS.iter().find(|(canonical, marks)| {
            system != *canonical && {
                // A trailing `/` or space is a near miss too.
                let lower = system.to_ascii_lowercase();
                let lower = lower.trim().trim_end_matches('/');
                marks.iter().any(|m| lower.ends_with(m))
            }
        }) {
            c.error(
                IssueCode::Value,
                format!("{at}.system"),
                format!("identifier system '{system}' should be exactly '{canonical}'"),
            );
            continue;
        }
        if system == NHS_NUMBER_SYSTEM {
            match text(&id.value) {
                None => c.error(
                    IssueCode::Required,
                    format!("{at}.value"),
                    "the NHS number identifier has no value (min 1)".into(),
                ),
                // Not a UK Core rule (its nhsNumber slice has no pattern and no check-digit
                // invariant; its own BabyPatient example fails Modulus 11): carecodec's
                // NHS-number hygiene, so a warning.
                Some(v) if !(v.len() == 10 && is_valid_nhs_number(v)) => c.warning(
                    IssueCode::Value,
                    format!("{at}.value"),
                    format!(
                        "'{v}' is not a valid NHS number (10 digits, Modulus 11 check digit; a carecodec check, not a UK Core rule)"
                    ),
                ),
                Some(_) => {}
            }
        } else if (system == ODS_ORGANIZATION_CODE_SYSTEM || system == ODS_SITE_CODE_SYSTEM)
            && text(&id.value).is_none()
        {
            c.error(
                IssueCode::Required,
                format!("{at}.value"),
                "an ODS code identifier needs a value (min 1)".into(),
            );
        }
    }
}

/// A slice (identifiers with `system`) that may occur at most once.
#[cfg_attr(
    not(any(feature = "patient", feature = "organization", feature = "location")),
    allow(dead_code, reason = "used by the checks of these resources only")
)]
fn slice_max_one(c: &mut Checker, ids: &[Identifier], system: &str, base: &str) {
    let hits: Vec<usize> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| text(&id.system) == Some(system))
        .map(|(i, _)| i)
        .collect();
    if let [_, second, ..] = hits.as_slice() {
        c.error(
            IssueCode::Structure,
            format!("{base}.identifier[{second}]"),
            format!(
                "{} identifiers with system {system}; the slice allows at most 1",
                hits.len()
            ),
        );
    }
}

/// The extensions with `url`, with their indexes.
#[cfg(feature = "patient")]
fn with_url<'a>(
    exts: &'a [Extension],
    url: &'a str,
) -> impl Iterator<Item = (usize, &'a Extension)> {
    exts.iter()
        .enumerate()
        .filter(move |(_, e)| e.url.as_deref() == Some(url))
}

/// A CodeableConcept-valued extension: at most `max` occurrences, and each value's codings
/// checked with `ok`; `required` makes a miss an error, otherwise a warning.
#[allow(clippy::too_many_arguments, reason = "small internal helper")]
#[cfg(feature = "patient")]
fn concept_extension(
    c: &mut Checker,
    exts: &[Extension],
    base: &str,
    url: &str,
    name: &str,
    max: Option<usize>,
    required: bool,
    ok: fn(&str, &str) -> bool,
) {
    let found: Vec<(usize, &Extension)> = with_url(exts, url).collect();
    if let Some(max) = max
        && found.len() > max
        && let Some((i, _)) = found.get(max)
    {
        c.error(
            IssueCode::Structure,
            format!("{base}.extension[{i}]"),
            format!("{} {name} extensions; at most {max} allowed", found.len()),
        );
    }
    for (i, e) in found {
        let at = format!("{base}.extension[{i}].value");
        let concept = match e.value.as_ref() {
            Some(AnyValue::CodeableConcept(cc)) => cc,
            Some(_) => {
                c.error(
                    IssueCode::Structure,
                    at,
                    format!("{name} takes a valueCodeableConcept"),
                );
                continue;
            }
            None => {
                c.error(IssueCode::Required, at, format!("{name} has no value"));
                continue;
            }
        };
        binding(c, concept, &at, name, required, ok);
    }
}

/// A binding on a CodeableConcept: some coding must satisfy `ok`. A concept with only text is
/// allowed for an extensible binding.
fn binding(
    c: &mut Checker,
    concept: &CodeableConcept,
    at: &str,
    name: &str,
    required: bool,
    ok: fn(&str, &str) -> bool,
) {
    let good = concept
        .coding
        .iter()
        .any(|cd| matches!((text(&cd.system), text(&cd.code)), (Some(s), Some(k)) if ok(s, k)));
    if good || (!required && concept.coding.is_empty()) {
        return;
    }
    let given: Vec<String> = concept
        .coding
        .iter()
        .map(|cd| {
            format!(
                "{}#{}",
                text(&cd.system).unwrap_or("?"),
                text(&cd.code).unwrap_or("?")
            )
        })
        .collect();
    let kind = if required { "required" } else { "extensible" };
    let msg = format!(
        "{name}: no coding from the {kind} value set (given {})",
        if given.is_empty() {
            "none".to_string()
        } else {
            given.join(", ")
        }
    );
    if required {
        c.error(IssueCode::CodeInvalid, at.to_string(), msg);
    } else {
        c.warning(IssueCode::CodeInvalid, at.to_string(), msg);
    }
}

/// Code system of the NHS number verification status codes used in Wales (`nn`, `01`–`08`).
///
/// ```
/// use carecodec_fhir::uk_core::validate::{NHS_NUMBER_VERIFICATION_STATUS_CODES, NHS_NUMBER_VERIFICATION_STATUS_WALES};
///
/// assert!(NHS_NUMBER_VERIFICATION_STATUS_CODES.contains(&(NHS_NUMBER_VERIFICATION_STATUS_WALES, "nn")));
/// ```
pub const NHS_NUMBER_VERIFICATION_STATUS_WALES: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusWales";
const NULL_FLAVOR: &str = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor";
const V3_GENDER: &str = "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender";

/// ValueSet UKCore-NHSNumberVerificationStatus: (code system, code) pairs — England `01`–`08`,
/// Wales `nn` and `01`–`08`, v3 NullFlavor `NI`. A required binding.
///
/// ```
/// use carecodec_fhir::uk_core::validate::NHS_NUMBER_VERIFICATION_STATUS_CODES;
/// use carecodec_fhir::uk_core::NHS_NUMBER_VERIFICATION_STATUS_ENGLAND;
///
/// assert!(NHS_NUMBER_VERIFICATION_STATUS_CODES.contains(&(NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "01")));
/// assert!(!NHS_NUMBER_VERIFICATION_STATUS_CODES.contains(&(NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "nn")));
/// ```
pub const NHS_NUMBER_VERIFICATION_STATUS_CODES: &[(&str, &str)] = &[
    (NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "01"),
    (NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "02"),
    (NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "03"),
    (NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "04"),
    (NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "05"),
    (NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "06"),
    (NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "07"),
    (NHS_NUMBER_VERIFICATION_STATUS_ENGLAND, "08"),
    (NHS_NUMBER_VERIFICATION_STATUS_WALES, "nn"),
    (NHS_NUMBER_VERIFICATION_STATUS_WALES, "01"),
    (NHS_NUMBER_VERIFICATION_STATUS_WALES, "02"),
    (NHS_NUMBER_VERIFICATION_STATUS_WALES, "03"),
    (NHS_NUMBER_VERIFICATION_STATUS_WALES, "04"),
    (NHS_NUMBER_VERIFICATION_STATUS_WALES, "05"),
    (NHS_NUMBER_VERIFICATION_STATUS_WALES, "06"),
    (NHS_NUMBER_VERIFICATION_STATUS_WALES, "07"),
    (NHS_NUMBER_VERIFICATION_STATUS_WALES, "08"),
    (NULL_FLAVOR, "NI"),
];

/// CodeSystem UKCore-EthnicCategoryEngland: the NHS Data Dictionary letters and `99`.
///
/// ```
/// use carecodec_fhir::uk_core::validate::ETHNIC_CATEGORY_ENGLAND_CODES;
///
/// assert!(ETHNIC_CATEGORY_ENGLAND_CODES.contains(&"Z"));
/// assert!(!ETHNIC_CATEGORY_ENGLAND_CODES.contains(&"I")); // the letters skip I, O, Q
/// ```
pub const ETHNIC_CATEGORY_ENGLAND_CODES: &[&str] = &[
    "A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99",
];

/// ValueSet UKCore-BirthSex: (code system, code) pairs. A required binding.
///
/// ```
/// use carecodec_fhir::uk_core::validate::BIRTH_SEX_CODES;
///
/// assert!(BIRTH_SEX_CODES.iter().any(|(_, code)| *code == "UN"));
/// assert!(!BIRTH_SEX_CODES.iter().any(|(_, code)| *code == "U"));
/// ```
pub const BIRTH_SEX_CODES: &[(&str, &str)] = &[
    (V3_GENDER, "F"),
    (V3_GENDER, "M"),
    (V3_GENDER, "UN"),
    (NULL_FLAVOR, "UNK"),
];

#[cfg(feature = "patient")]
fn verification_status_ok(system: &str, code: &str) -> bool {
    NHS_NUMBER_VERIFICATION_STATUS_CODES.contains(&(system, code))
}

/// The England part of UKCore-EthnicCategory is checked code by code; the Wales, Scotland and
/// generic code systems are accepted with any code.
#[cfg(feature = "patient")]
fn ethnic_category_ok(system: &str, code: &str) -> bool {
    match system {
        ETHNIC_CATEGORY_ENGLAND => ETHNIC_CATEGORY_ENGLAND_CODES.contains(&code),
        "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryWales"
        | "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryScotland"
        | "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory" => true,
        _ => false,
    }
}

#[cfg(feature = "patient")]
fn birth_sex_ok(system: &str, code: &str) -> bool {
    BIRTH_SEX_CODES.contains(&(system, code))
}

#[cfg(feature = "patient")]
fn patient(c: &mut Checker, p: &crate::model::Patient) {
    identifiers(c, &p.identifier, "Patient");
    slice_max_one(c, &p.identifier, NHS_NUMBER_SYSTEM, "Patient");
    // The extension's context is any Patient.identifier (not only the NHS number slice),
    // and its required binding holds wherever it is used.
    for (i, id) in p.identifier.iter().enumerate() {
        concept_extension(
            c,
            &id.extension,
            &format!("Patient.identifier[{i}]"),
            ext::NHS_NUMBER_VERIFICATION_STATUS,
            "NHSNumberVerificationStatus",
            Some(1),
            true,
            verification_status_ok,
        );
    }
    concept_extension(
        c,
        &p.extension,
        "Patient",
        ext::ETHNIC_CATEGORY,
        "EthnicCategory",
        Some(1),
        false,
        ethnic_category_ok,
    );
    concept_extension(
        c,
        &p.extension,
        "Patient",
        ext::BIRTH_SEX,
        "BirthSex",
        Some(1),
        true,
        birth_sex_ok,
    );
    for (i, ct) in p.contact.iter().enumerate() {
        // pat-1: a contact has a name, telecom, address or organization.
        if ct.name.is_none()
            && ct.telecom.is_empty()
            && ct.address.is_none()
            && ct.organization.is_none()
        {
            c.error(
                IssueCode::Invariant,
                format!("Patient.contact[{i}]"),
                "pat-1: a contact needs a name, telecom, address or organization".into(),
            );
        }
    }
    for (i, l) in p.link.iter().enumerate() {
        c.required(&l.other, format!("Patient.link[{i}].other"), "link.other");
        c.required(&l.type_, format!("Patient.link[{i}].type"), "link.type");
    }
    for (i, cm) in p.communication.iter().enumerate() {
        c.required(
            &cm.language,
            format!("Patient.communication[{i}].language"),
            "communication.language",
        );
        if let Some(l) = &cm.language {
            language(c, l, &format!("Patient.communication[{i}].language"));
        }
    }
}

/// BCP-47 language code system.
const BCP_47: &str = "urn:ietf:bcp:47";

/// The shape of a BCP-47 tag: a 2–3 letter primary language (ISO 639; or `x` / `i`) and
/// subtags of 1–8 letters or digits. Whether the language is registered is not checked.
fn is_bcp47(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or("");
    let primary_ok = (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        || matches!(primary, "x" | "X" | "i" | "I");
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// UK Core binds `communication.language` (Patient, Practitioner) *required* to
/// all-languages: a coding from `urn:ietf:bcp:47` with a well-formed tag is needed; text
/// alone does not conform.
#[allow(dead_code, reason = "unused when no resource feature is enabled")]
fn language(c: &mut Checker, concept: &CodeableConcept, at: &str) {
    binding(
        c,
        concept,
        at,
        "communication.language (all-languages)",
        true,
        |s, k| s == BCP_47 && is_bcp47(k),
    );
}

#[cfg(feature = "encounter")]
fn encounter(c: &mut Checker, e: &crate::model::Encounter) {
    identifiers(c, &e.identifier, "Encounter");
    c.required(&e.status, "Encounter.status".into(), "status");
    c.required(&e.class, "Encounter.class".into(), "class");
}

/// Vital-sign LOINC "magic codes" with a name and the UCUM codes their `valueQuantity` may
/// use (the fixed unit of each UK Core vital-sign profile; body height binds to all distance
/// units, of which the usual ones are listed; empty: no Quantity value, e.g. a panel).
///
/// ```
/// use carecodec_fhir::uk_core::validate::VITAL_SIGNS;
///
/// let weight = VITAL_SIGNS.iter().find(|(loinc, _, _)| *loinc == "29463-7");
/// assert_eq!(weight.map(|(_, name, units)| (*name, units.to_vec())), Some(("body weight", vec!["kg"])));
/// ```
#[cfg(feature = "observation")]
pub const VITAL_SIGNS: &[(&str, &str, &[&str])] = &[
    ("39156-5", "BMI", &["kg/m2"]),
    ("85354-9", "blood pressure panel", &[]),
    (
        "8302-2",
        "body height",
        &["cm", "m", "mm", "[in_i]", "[ft_i]"],
    ),
    ("8310-5", "body temperature", &["Cel"]),
    ("29463-7", "body weight", &["kg"]),
    ("9843-4", "head circumference", &["cm"]),
    ("8867-4", "heart rate", &["/min"]),
    ("2708-6", "oxygen saturation", &["%"]),
    ("59408-5", "oxygen saturation (pulse oximetry)", &["%"]),
    ("9279-1", "respiratory rate", &["/min"]),
    ("8480-6", "systolic blood pressure", &["mm[Hg]"]),
    ("8462-4", "diastolic blood pressure", &["mm[Hg]"]),
];

#[cfg(feature = "observation")]
const LOINC: &str = "http://loinc.org";
#[cfg(feature = "observation")]
const UCUM: &str = "http://unitsofmeasure.org";

#[cfg(feature = "observation")]
fn observation(c: &mut Checker, o: &crate::model::Observation, profile: Profile) {
    use crate::model::{ObservationComponentValue, ObservationValue};
    identifiers(c, &o.identifier, "Observation");
    c.required(&o.status, "Observation.status".into(), "status");
    c.required(&o.code, "Observation.code".into(), "code");
    // obs-6: dataAbsentReason only when there is no value.
    if o.value.is_some() && o.data_absent_reason.is_some() {
        c.error(
            IssueCode::Invariant,
            "Observation.dataAbsentReason".into(),
            "obs-6: dataAbsentReason SHALL only be present if value[x] is not".into(),
        );
    }
    // obs-3: a reference range has low, high or text.
    for (i, rr) in o.reference_range.iter().enumerate() {
        if rr.low.is_none() && rr.high.is_none() && rr.text.is_none() {
            c.error(
                IssueCode::Invariant,
                format!("Observation.referenceRange[{i}]"),
                "obs-3: a reference range SHALL have at least a low, a high or a text".into(),
            );
        }
    }
    // obs-7: with a value, no component has the Observation's own code.
    let own: Vec<(Option<&str>, Option<&str>)> = o
        .code
        .iter()
        .flat_map(|cc| cc.coding.iter())
        .map(|cd| (text(&cd.system), text(&cd.code)))
        .collect();
    if o.value.is_some() {
        for (i, comp) in o.component.iter().enumerate() {
            let same = comp
                .code
                .iter()
                .flat_map(|cc| cc.coding.iter())
                .any(|cd| own.contains(&(text(&cd.system), text(&cd.code))));
            if same {
                c.error(
                    IssueCode::Invariant,
                    format!("Observation.component[{i}].code"),
                    "obs-7: if a component has the Observation's code, the Observation SHALL have no value".into(),
                );
            }
        }
    }
    for (i, comp) in o.component.iter().enumerate() {
        c.required(
            &comp.code,
            format!("Observation.component[{i}].code"),
            "component.code",
        );
        if comp.value.is_some() && comp.data_absent_reason.is_some() {
            c.error(
                IssueCode::Invariant,
                format!("Observation.component[{i}].dataAbsentReason"),
                "obs-6: dataAbsentReason SHALL only be present if value[x] is not".into(),
            );
        }
    }
    if profile == Profile::UKCoreObservationLab
        && o.value.is_none()
        && o.data_absent_reason.is_none()
        && o.note.is_empty()
    {
        c.warning(
            IssueCode::Invariant,
            "Observation".into(),
            "ukcore-obs-lab-001: value[x], dataAbsentReason or note SHOULD be populated".into(),
        );
    }
    if profile == Profile::UKCoreObservationGroupLab && o.value.is_some() {
        c.warning(
            IssueCode::Invariant,
            "Observation.value[x]".into(),
            "ukcore-obs-grplab-001: value[x] SHOULD NOT be used in a group".into(),
        );
    }
    if profile != Profile::UKCoreObservationVitalSigns {
        return;
    }
    // Vital signs: category vital-signs, subject and effective[x] 1..1, a LOINC code
    // (ukcore-obs-vs-001), the fixed UCUM unit, value or dataAbsentReason (vs-2).
    let vs_category = o.category.iter().filter(|cc| {
        cc.coding.iter().any(|cd| {
            text(&cd.system) == Some("http://terminology.hl7.org/CodeSystem/observation-category")
                && text(&cd.code) == Some("vital-signs")
        })
    });
    match vs_category.count() {
        0 => c.error(
            IssueCode::Required,
            "Observation.category".into(),
            "a vital-signs Observation needs the category observation-category#vital-signs".into(),
        ),
        1 => {}
        n => c.error(
            IssueCode::Structure,
            "Observation.category".into(),
            format!("{n} vital-signs categories; the slice allows at most 1"),
        ),
    }
    c.required(&o.subject, "Observation.subject".into(), "subject");
    c.required(
        &o.effective,
        "Observation.effective[x]".into(),
        "effective[x]",
    );
    let loinc: Vec<&str> = o
        .code
        .iter()
        .flat_map(|cc| cc.coding.iter())
        .filter(|cd| text(&cd.system) == Some(LOINC))
        .filter_map(|cd| text(&cd.code))
        .collect();
    if o.code.is_some() && loinc.is_empty() {
        c.error(
            IssueCode::Invariant,
            "Observation.code.coding".into(),
            "ukcore-obs-vs-001: code.coding SHALL include a LOINC \"magic code\"".into(),
        );
    }
    let unit_for = |codes: &[&str]| {
        VITAL_SIGNS
            .iter()
            .find(|(k, _, _)| codes.contains(k))
            .filter(|(_, _, units)| !units.is_empty())
            .map(|(_, name, units)| (*name, *units))
    };
    if let (Some(ObservationValue::Quantity(q)), Some((name, unit))) = (&o.value, unit_for(&loinc))
    {
        quantity_unit(c, q, name, unit, "Observation.valueQuantity");
    }
    for (i, comp) in o.component.iter().enumerate() {
        let codes: Vec<&str> = comp
            .code
            .iter()
            .flat_map(|cc| cc.coding.iter())
            .filter(|cd| text(&cd.system) == Some(LOINC))
            .filter_map(|cd| text(&cd.code))
            .collect();
        if let (Some(ObservationComponentValue::Quantity(q)), Some((name, unit))) =
            (&comp.value, unit_for(&codes))
        {
            quantity_unit(
                c,
                q,
                name,
                unit,
                &format!("Observation.component[{i}].valueQuantity"),
            );
        }
    }
    if o.component.is_empty()
        && o.has_member.is_empty()
        && o.value.is_none()
        && o.data_absent_reason.is_none()
    {
        c.error(
            IssueCode::Invariant,
            "Observation".into(),
            "vs-2: without component or hasMember, a vital sign needs value[x] or dataAbsentReason"
                .into(),
        );
    }
    let declared = o
        .meta
        .iter()
        .flat_map(|m| m.profile.iter())
        .filter_map(|p| p.value.as_deref())
        .filter_map(|u| u.split('|').next()?.strip_prefix(PROFILE_BASE));
    for name in declared {
        if let Some(vs) = VITAL_SIGN_PROFILES.iter().find(|v| v.name == name) {
            vital_sign_profile(c, o, vs, &loinc);
        }
    }
}

/// One specific UK Core vital-sign profile (its differential over
/// UKCore-Observation-VitalSigns).
#[cfg(feature = "observation")]
struct VitalSignProfile {
    /// Profile name (`UKCore-Observation-VitalSigns-HeartRate`).
    name: &'static str,
    /// The fixed LOINC code of `code.coding:loinc`.
    loinc: &'static str,
    /// `value[x]` 1..1 (`Some(true)`), 0..0 (`Some(false)`) or as in the parent (`None`).
    value: Option<bool>,
    /// `valueQuantity.value` 1..1.
    number: bool,
    /// The fixed `valueQuantity.unit` text, and whether the unit is 1..1.
    unit: Option<&'static str>,
    /// `valueQuantity.unit` 1..1.
    unit_required: bool,
}

/// The UK Core vital-sign profiles, applied when an Observation declares them in
/// `meta.profile` (UK Core STU3 package, `UKCore-Observation-VitalSigns-*` differentials).
#[cfg(feature = "observation")]
const VITAL_SIGN_PROFILES: &[VitalSignProfile] = &[
    VitalSignProfile {
        name: "UKCore-Observation-VitalSigns-BMI",
        loinc: "39156-5",
        value: Some(true),
        number: true,
        unit: None,
        unit_required: false,
    },
    VitalSignProfile {
        name: "UKCore-Observation-VitalSigns-BloodPressure",
        loinc: "85354-9",
        value: Some(false),
        number: false,
        unit: None,
        unit_required: false,
    },
    VitalSignProfile {
        name: "UKCore-Observation-VitalSigns-BodyHeight",
        loinc: "8302-2",
        value: Some(true),
        number: false,
        unit: None,
        unit_required: false,
    },
    VitalSignProfile {
        name: "UKCore-Observation-VitalSigns-BodyTemperature",
        loinc: "8310-5",
        value: Some(true),
        number: false,
        unit: Some("degree Celsius"),
        unit_required: true,
    },
    VitalSignProfile {
        name: "UKCore-Observation-VitalSigns-BodyWeight",
        loinc: "29463-7",
        value: Some(true),
        number: false,
        unit: Some("kilogram"),
        unit_required: false,
    },
    VitalSignProfile {
        name: "UKCore-Observation-VitalSigns-HeadCircumference",
        loinc: "9843-4",
        value: Some(true),
        number: false,
        unit: Some("centimeter"),
        unit_required: false,
    },
    VitalSignProfile {
        name: "UKCore-Observation-VitalSigns-HeartRate",
        loinc: "8867-4",
        value: Some(true),
        number: false,
        unit: Some("per minute"),
        unit_required: true,
    },
    VitalSignProfile {
        name: "UKCore-Observation-VitalSigns-OxygenSaturation",
        loinc: "2708-6",
        value: Some(true),
        number: true,
        unit: Some("percent"),
        unit_required: true,
    },
    VitalSignProfile {
        name: "UKCore-Observation-VitalSigns-RespirationRate",
        loinc: "9279-1",
        value: Some(true),
        number: true,
        unit: Some("per minute"),
        unit_required: true,
    },
];

/// Blood pressure components: (LOINC code, slice name, min); each at most once, with a
/// value whose unit text is fixed.
#[cfg(feature = "observation")]
const BP_COMPONENTS: &[(&str, &str, usize)] =
    &[("8480-6", "SystolicBP", 1), ("8462-4", "DiastolicBP", 0)];

/// The differential of one specific vital-sign profile: the fixed LOINC code, value[x]
/// cardinality, the fixed unit text and the blood-pressure component slices.
#[cfg(feature = "observation")]
fn vital_sign_profile(
    c: &mut Checker,
    o: &crate::model::Observation,
    vs: &VitalSignProfile,
    loinc: &[&str],
) {
    use crate::model::{ObservationComponentValue, ObservationValue};
    let short = vs.name.trim_start_matches("UKCore-Observation-VitalSigns-");
    if !loinc.is_empty() && !loinc.contains(&vs.loinc) {
        c.error(
            IssueCode::Value,
            "Observation.code.coding".into(),
            format!(
                "{}: the LOINC code SHALL be {} (given {})",
                vs.name,
                vs.loinc,
                loinc.join(", ")
            ),
        );
    }
    match (vs.value, &o.value) {
        (Some(true), None) => c.error(
            IssueCode::Required,
            "Observation.value[x]".into(),
            format!("{}: value[x] is mandatory (1..1)", vs.name),
        ),
        (Some(false), Some(_)) => c.error(
            IssueCode::Structure,
            "Observation.value[x]".into(),
            format!("{}: value[x] is not allowed (0..0)", vs.name),
        ),
        _ => {}
    }
    let fixed_unit =
        |c: &mut Checker, q: &crate::model::Quantity, unit: &str, at: &str, required| match text(
            &q.unit,
        ) {
            Some(u) if u != unit => c.error(
                IssueCode::Value,
                format!("{at}.unit"),
                format!("{short}: the unit SHALL be '{unit}' (given '{u}')"),
            ),
            None if required => c.error(
                IssueCode::Required,
                format!("{at}.unit"),
                format!("{short}: the unit ('{unit}') is mandatory"),
            ),
            _ => {}
        };
    if let Some(ObservationValue::Quantity(q)) = &o.value {
        if let Some(unit) = vs.unit {
            fixed_unit(c, q, unit, "Observation.valueQuantity", vs.unit_required);
        }
        if vs.number && q.value.is_none() {
            c.error(
                IssueCode::Required,
                "Observation.valueQuantity.value".into(),
                format!("{short}: the quantity's value is mandatory"),
            );
        }
    }
    if vs.name != "UKCore-Observation-VitalSigns-BloodPressure" {
        return;
    }
    if !(1..=2).contains(&o.component.len()) {
        c.error(
            IssueCode::Structure,
            "Observation.component".into(),
            format!("{short}: 1 or 2 components (given {})", o.component.len()),
        );
    }
    for (code, slice, min) in BP_COMPONENTS {
        let hits: Vec<(usize, &crate::model::ObservationComponent)> = o
            .component
            .iter()
            .enumerate()
            .filter(|(_, comp)| {
                comp.code
                    .iter()
                    .flat_map(|cc| cc.coding.iter())
                    .any(|cd| text(&cd.system) == Some(LOINC) && text(&cd.code) == Some(*code))
            })
            .collect();
        if hits.len() < *min {
            c.error(
                IssueCode::Required,
                "Observation.component".into(),
                format!("{short}: the {slice} component ({code}) is mandatory"),
            );
        }
        if hits.len() > 1 {
            c.error(
                IssueCode::Structure,
                "Observation.component".into(),
                format!("{short}: {} {slice} components; at most 1", hits.len()),
            );
        }
        for (i, comp) in hits {
            let at = format!("Observation.component[{i}].valueQuantity");
            match &comp.value {
                None => c.error(
                    IssueCode::Required,
                    format!("Observation.component[{i}].value[x]"),
                    format!("{short}: the {slice} component's value[x] is mandatory"),
                ),
                Some(ObservationComponentValue::Quantity(q)) => {
                    fixed_unit(c, q, "millimeter of mercury", &at, false);
                }
                Some(_) => {}
            }
        }
    }
}

#[cfg(feature = "observation")]
fn quantity_unit(
    c: &mut Checker,
    q: &crate::model::Quantity,
    name: &str,
    units: &[&str],
    at: &str,
) {
    if text(&q.system) != Some(UCUM) {
        c.error(
            IssueCode::Value,
            format!("{at}.system"),
            format!("{name}: the quantity system SHALL be {UCUM}"),
        );
    }
    match text(&q.code) {
        Some(code) if units.contains(&code) => {}
        Some(code) => c.error(
            IssueCode::Value,
            format!("{at}.code"),
            format!("{name}: UCUM code '{code}', expected {}", units.join(" | ")),
        ),
        None => c.error(
            IssueCode::Required,
            format!("{at}.code"),
            format!("{name}: the UCUM code ({}) is mandatory", units.join(" | ")),
        ),
    }
}

#[cfg(feature = "allergy_intolerance")]
const CLINICAL_STATUS_ALLERGY: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
#[cfg(feature = "allergy_intolerance")]
const VERIFICATION_ALLERGY: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";
#[cfg(feature = "condition")]
const CLINICAL_STATUS_CONDITION: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
#[cfg(feature = "condition")]
const VERIFICATION_CONDITION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";

/// The code of the first coding of `concept` in `system`.
#[cfg(any(feature = "allergy_intolerance", feature = "condition"))]
fn code_of<'a>(concept: &'a Option<CodeableConcept>, system: &str) -> Option<&'a str> {
    concept
        .iter()
        .flat_map(|cc| cc.coding.iter())
        .find(|cd| text(&cd.system) == Some(system))
        .and_then(|cd| text(&cd.code))
}

#[cfg(feature = "diagnostic_report")]
fn diagnostic_report(c: &mut Checker, r: &crate::model::DiagnosticReport, profile: Profile) {
    identifiers(c, &r.identifier, "DiagnosticReport");
    c.required(&r.status, "DiagnosticReport.status".into(), "status");
    c.required(&r.code, "DiagnosticReport.code".into(), "code");
    if profile != Profile::UKCoreDiagnosticReportLab {
        return;
    }
    // Lab: category slice `laboratory` (v2-0074 LAB) 1..1, subject 1..1, invariants.
    let lab = r
        .category
        .iter()
        .filter(|cc| {
            cc.coding.iter().any(|cd| {
                text(&cd.system) == Some("http://terminology.hl7.org/CodeSystem/v2-0074")
                    && text(&cd.code) == Some("LAB")
            })
        })
        .count();
    match lab {
        0 => c.error(
            IssueCode::Required,
            "DiagnosticReport.category".into(),
            "a laboratory report needs the category v2-0074#LAB (slice laboratory, min 1)".into(),
        ),
        1 => {}
        n => c.error(
            IssueCode::Structure,
            "DiagnosticReport.category".into(),
            format!("{n} laboratory categories; the slice allows at most 1"),
        ),
    }
    c.required(&r.subject, "DiagnosticReport.subject".into(), "subject");
    let reported = [
        "partial",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "appended",
    ];
    if r.issued.is_none() && text(&r.status).is_some_and(|s| reported.contains(&s)) {
        c.warning(
            IssueCode::Invariant,
            "DiagnosticReport.issued".into(),
            "ukcore-diag-lab-001: an issued time SHOULD be present once results are reported"
                .into(),
        );
    }
    for (i, m) in r.media.iter().enumerate() {
        let backport = m.extension.iter().any(|e| {
            e.url.as_deref()
                == Some("http://hl7.org/fhir/5.0/StructureDefinition/extension-DiagnosticReport.media.link")
        });
        let linked = m
            .link
            .as_ref()
            .is_some_and(|l| l.reference.as_ref().is_some_and(|p| p.value.is_some()));
        if backport && linked {
            c.error(
                IssueCode::Invariant,
                format!("DiagnosticReport.media[{i}].link"),
                "ukcore-diag-lab-002: with the R5 media.link backport, media.link.reference SHALL be empty".into(),
            );
        }
    }
}

#[cfg(feature = "allergy_intolerance")]
fn allergy(c: &mut Checker, a: &crate::model::AllergyIntolerance) {
    identifiers(c, &a.identifier, "AllergyIntolerance");
    c.required(&a.code, "AllergyIntolerance.code".into(), "code");
    c.required(&a.patient, "AllergyIntolerance.patient".into(), "patient");
    if let Some(cs) = &a.clinical_status {
        binding(
            c,
            cs,
            "AllergyIntolerance.clinicalStatus",
            "clinicalStatus",
            true,
            |s, k| s == CLINICAL_STATUS_ALLERGY && codes::ALLERGY_CLINICAL_STATUS.contains(&k),
        );
    }
    if let Some(vs) = &a.verification_status {
        binding(
            c,
            vs,
            "AllergyIntolerance.verificationStatus",
            "verificationStatus",
            true,
            |s, k| s == VERIFICATION_ALLERGY && codes::ALLERGY_VERIFICATION_STATUS.contains(&k),
        );
    }
    let eie = code_of(&a.verification_status, VERIFICATION_ALLERGY) == Some("entered-in-error");
    if eie && a.clinical_status.is_some() {
        c.error(
            IssueCode::Invariant,
            "AllergyIntolerance.clinicalStatus".into(),
            "ait-2: clinicalStatus SHALL NOT be present if verificationStatus is entered-in-error"
                .into(),
        );
    }
    if !eie && a.clinical_status.is_none() {
        c.error(
            IssueCode::Invariant,
            "AllergyIntolerance.clinicalStatus".into(),
            "ait-1: clinicalStatus SHALL be present if verificationStatus is not entered-in-error"
                .into(),
        );
    }
    for (i, r) in a.reaction.iter().enumerate() {
        if r.manifestation.is_empty() {
            c.error(
                IssueCode::Required,
                format!("AllergyIntolerance.reaction[{i}].manifestation"),
                "reaction.manifestation is mandatory (min 1)".into(),
            );
        }
    }
}

#[cfg(feature = "condition")]
fn condition(c: &mut Checker, k: &crate::model::Condition) {
    identifiers(c, &k.identifier, "Condition");
    c.required(&k.subject, "Condition.subject".into(), "subject");
    if let Some(cs) = &k.clinical_status {
        binding(
            c,
            cs,
            "Condition.clinicalStatus",
            "clinicalStatus",
            true,
            |s, code| {
                s == CLINICAL_STATUS_CONDITION && codes::CONDITION_CLINICAL_STATUS.contains(&code)
            },
        );
    }
    if let Some(vs) = &k.verification_status {
        binding(
            c,
            vs,
            "Condition.verificationStatus",
            "verificationStatus",
            true,
            |s, code| {
                s == VERIFICATION_CONDITION && codes::CONDITION_VERIFICATION_STATUS.contains(&code)
            },
        );
    }
    let eie = code_of(&k.verification_status, VERIFICATION_CONDITION) == Some("entered-in-error");
    if eie && k.clinical_status.is_some() {
        c.error(
            IssueCode::Invariant,
            "Condition.clinicalStatus".into(),
            "con-5: clinicalStatus SHALL NOT be present if verificationStatus is entered-in-error"
                .into(),
        );
    }
    // con-4: an abated condition is inactive, resolved or in remission.
    if k.abatement.is_some()
        && let Some(status) = code_of(&k.clinical_status, CLINICAL_STATUS_CONDITION)
        && !matches!(status, "inactive" | "resolved" | "remission")
    {
        c.error(
            IssueCode::Invariant,
            "Condition.clinicalStatus".into(),
            format!(
                "con-4: with abatement[x], clinicalStatus SHALL be inactive, resolved or remission (is '{status}')"
            ),
        );
    }
    // con-3 (warning): problem-list items should carry a clinical status.
    let problem = k.category.iter().any(|cc| {
        cc.coding
            .iter()
            .any(|cd| text(&cd.code) == Some("problem-list-item"))
    });
    if problem && !eie && k.clinical_status.is_none() {
        c.warning(
            IssueCode::Invariant,
            "Condition.clinicalStatus".into(),
            "con-3: a problem-list item SHOULD have a clinicalStatus".into(),
        );
    }
    for (i, e) in k.evidence.iter().enumerate() {
        if e.code.is_empty() && e.detail.is_empty() {
            c.error(
                IssueCode::Invariant,
                format!("Condition.evidence[{i}]"),
                "con-2: evidence needs a code or a detail".into(),
            );
        }
    }
    for (i, s) in k.stage.iter().enumerate() {
        if s.summary.is_none() && s.assessment.is_empty() {
            c.error(
                IssueCode::Invariant,
                format!("Condition.stage[{i}]"),
                "con-1: a stage needs a summary or an assessment".into(),
            );
        }
    }
}
