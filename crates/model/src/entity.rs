//! The canonical entities: patients, workers, practitioners, organisations,
//! locations, encounters, observations and reports, allergies, conditions,
//! and the ADT event that carries them.
//!
//! Identity-bearing and clinically significant values are [`Sourced`]: they
//! say where they came from. Collections of the same shape (names,
//! addresses) carry one source each.

use chrono::NaiveDate;
#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::identifier::Identifier;
use crate::provenance::Sourced;
use crate::value::{
    Address, Code, Concept, Gender, HumanName, PartialDate, PartialDateTime, Period, Quantity,
    Telecom,
};

/// A patient.
///
/// ```
/// use carecodec_model::{Identifier, NhsNumber, Patient, Source, Sourced};
///
/// let mut p = Patient::default();
/// p.identifiers.push(Sourced::new(
///     Identifier::Nhs { number: NhsNumber::parse("9434765919").unwrap(), verification: None },
///     Source::v2(carecodec_model::V2Path::parse("PID[1]-3[1].1.1").unwrap(), 80..90),
/// ));
/// assert_eq!(p.nhs_number().unwrap().as_str(), "9434765919");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Patient {
    /// Identifiers (NHS number, MRNs…).
    pub identifiers: Vec<Sourced<Identifier>>,
    /// Names.
    pub names: Vec<Sourced<HumanName>>,
    /// Birth date with its precision.
    pub birth_date: Option<Sourced<PartialDate>>,
    /// Time of birth, when the source sends one (PID-7 with a time; FHIR's
    /// `patient-birthTime` extension on `birthDate`).
    pub birth_time: Option<Sourced<PartialDateTime>>,
    /// Administrative gender.
    pub gender: Option<Sourced<Gender>>,
    /// Addresses.
    pub addresses: Vec<Sourced<Address>>,
    /// Phones and e-mail.
    pub telecom: Vec<Sourced<Telecom>>,
    /// Contacts and next of kin.
    pub contacts: Vec<Contact>,
    /// Registered GP practice (ODS code).
    pub gp_practice: Option<Sourced<Identifier>>,
    /// The registered practice's name as sent beside its ODS code (HL7 v2
    /// PD1-3 XON.1; FHIR `generalPractitioner.display`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub gp_practice_name: Option<Sourced<String>>,
    /// Registered GP (GMP/GMC code).
    pub gp: Option<Sourced<Identifier>>,
    /// The registered GP's name (HL7 v2 PD1-4's XCN name parts; FHIR: the
    /// name of the Practitioner `generalPractitioner` refers to).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub gp_name: Option<Sourced<HumanName>>,
    /// UK ethnic category (NHS Data Dictionary code).
    pub ethnic_category: Option<Sourced<Code>>,
    /// Deceased, and when.
    pub deceased: Option<Sourced<Deceased>>,
    /// Marital status (v2 table 0002 as sent, or the FHIR code read).
    pub marital_status: Option<Sourced<Code>>,
    /// Multiple birth.
    pub multiple_birth: Option<Sourced<MultipleBirth>>,
    /// Primary language (v2 PID-15 as sent, or the FHIR language read).
    pub language: Option<Sourced<Concept>>,
    /// Citizenships: v2 PID-26 repeats, then PID-39 (tribal citizenship),
    /// which the HL7 V2-to-FHIR IG writes to the same core
    /// `patient-citizenship` extension; FHIR: that extension's `code`. Country
    /// codes named ISO 3166 (`ISO3166_1`, table 0399) carry the system
    /// `urn:iso:std:iso:3166`.
    pub citizenship: Vec<Sourced<Concept>>,
    /// Mother's maiden name as text: v2 PID-6 (first repeat) assembled in its
    /// name assembly order (XPN.11); FHIR: the core
    /// `patient-mothersMaidenName` extension's `valueString`.
    pub mothers_maiden_name: Option<Sourced<String>>,
    /// Place of birth as text: v2 PID-23; FHIR: the core `patient-birthPlace`
    /// extension's `valueAddress.text` (UK Core's `birthPlace` slice).
    pub birth_place: Option<Sourced<String>>,
    /// Place of worship (congregation) as text: v2 PD1-14 (first repeat: XON.1,
    /// else XON.10); FHIR: the core `patient-congregation` extension.
    pub congregation: Option<Sourced<String>>,
    /// Religion: v2 PID-17 as sent (table 0006 codes); FHIR: the core
    /// `patient-religion` extension as read (v3 ReligiousAffiliation codes,
    /// to which the writer maps table 0006 through the IG's Religion map).
    pub religion: Option<Sourced<Concept>>,
    /// Nationality: v2 PID-28; FHIR: the core `patient-nationality`
    /// extension's `code` (country codes as for [`Patient::citizenship`]).
    pub nationality: Option<Sourced<Concept>>,
}

impl Patient {
    /// The NHS number, if one was sent.
    ///
    /// ```
    /// use carecodec_model::{Identifier, NhsNumber, Patient, Source, Sourced};
    ///
    /// let mut p = Patient::default();
    /// assert!(p.nhs_number().is_none());
    /// let mrn = Identifier::Mrn { value: "K1".into(), authority: Some("RX1".into()), system: None };
    /// p.identifiers.push(Sourced::new(mrn, Source::fhir("Patient.identifier[0]")));
    /// let nhs = Identifier::Nhs { number: NhsNumber::parse("9434765919").unwrap(), verification: None };
    /// p.identifiers.push(Sourced::new(nhs, Source::fhir("Patient.identifier[1]")));
    /// assert_eq!(p.nhs_number().map(|n| n.as_str()), Some("9434765919"));
    /// ```
    pub fn nhs_number(&self) -> Option<&crate::NhsNumber> {
        self.identifiers.iter().find_map(|i| match &i.value {
            Identifier::Nhs { number, .. } => Some(number),
            _ => None,
        })
    }
}

/// Deceased: a flag or a date.
///
/// ```
/// use carecodec_model::{Deceased, PartialDateTime, Precision};
///
/// let died = Deceased::At(PartialDateTime {
///     at: chrono::DateTime::parse_from_rfc3339("2024-03-12T09:15:00+00:00").unwrap(),
///     precision: Precision::Minute,
///     offset_inferred: false,
/// });
/// assert!(matches!(died, Deceased::At(t) if t.precision == Precision::Minute));
/// assert_ne!(died, Deceased::Yes);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Deceased {
    /// Known deceased, date unknown.
    Yes,
    /// Died at this time.
    At(PartialDateTime),
    /// Known not to be deceased (v2 PID-30 `N`).
    No,
}

/// Whether a patient was one of a multiple birth (v2 PID-24 / PID-25, FHIR
/// `multipleBirth[x]`).
///
/// ```
/// use carecodec_model::MultipleBirth;
/// let twin = MultipleBirth::Order(2);
/// assert_ne!(twin, MultipleBirth::No);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum MultipleBirth {
    /// One of a multiple birth, order not known.
    Yes,
    /// Not a multiple birth.
    No,
    /// One of a multiple birth, born in this order (1 = first).
    Order(u32),
}

/// A contact person or next of kin.
///
/// ```
/// use carecodec_model::{Code, CodeSystem, Contact, Source, Sourced};
///
/// let spouse = Code::new(CodeSystem::V2Table("0063".into()), "SPO", Some("Spouse"));
/// let nok = Contact {
///     relationship: Some(Sourced::new(spouse, Source::fhir("Patient.contact[0].relationship[0]"))),
///     ..Contact::default()
/// };
/// let system = &nok.relationship.as_ref().unwrap().value.system;
/// assert_eq!(system.uri(), "http://terminology.hl7.org/CodeSystem/v2-0063");
/// assert!(nok.organisation.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Contact {
    /// Name.
    pub name: Option<Sourced<HumanName>>,
    /// Relationship (v2 table 0063 or SNOMED).
    pub relationship: Option<Sourced<Code>>,
    /// Role (next of kin, emergency contact: v2 table 0131).
    pub role: Option<Sourced<Code>>,
    /// Address.
    pub address: Option<Sourced<Address>>,
    /// Phones.
    pub telecom: Vec<Sourced<Telecom>>,
    /// Administrative gender.
    pub gender: Option<Sourced<Gender>>,
    /// First day the person is a contact (NK1-8).
    pub from: Option<Sourced<PartialDate>>,
    /// Last day the person is a contact (NK1-9).
    pub until: Option<Sourced<PartialDate>>,
    /// The organisation the contact is (or acts for): v2 NK1-13 (XON: name
    /// XON.1, identifier XON.10, else XON.3, typed XON.7); FHIR:
    /// `Patient.contact.organization`, an Organization entry.
    pub organisation: Option<Organisation>,
    /// The person to contact at that organisation: v2 NK1-30 name, NK1-31
    /// phones, NK1-32 address (HL7 V2-to-FHIR IG NK1[Patient]); FHIR: the
    /// Organization's `contact`. Only kept with an [`Contact::organisation`].
    pub organisation_contact: Option<ContactPerson>,
}

/// A person to contact at an organisation (FHIR `Organization.contact`).
///
/// ```
/// use carecodec_model::{ContactPerson, Source, Sourced, Telecom};
///
/// let phone = Telecom { value: "0113 496 0000".into(), ..Telecom::default() };
/// let person = ContactPerson {
///     telecom: vec![Sourced::new(phone, Source::fhir("Organization.contact[0].telecom[0]"))],
///     ..ContactPerson::default()
/// };
/// assert_eq!(person.telecom[0].value.value, "0113 496 0000");
/// assert!(person.name.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ContactPerson {
    /// Name.
    pub name: Option<Sourced<HumanName>>,
    /// Phones and e-mail.
    pub telecom: Vec<Sourced<Telecom>>,
    /// Address.
    pub address: Option<Sourced<Address>>,
}

/// A member of staff from ESR.
///
/// ```
/// use carecodec_model::{Identifier, Source, Sourced, Worker};
///
/// let mut w = Worker::default();
/// w.identifiers.push(Sourced::new(
///     Identifier::EsrPerson { vpd: "999".into(), value: "7100001".into() },
///     Source::esr("GO_999_GDW_GOF_20250301_00000101.DAT", 2, "Person ID"),
/// ));
/// assert_eq!(w.identifiers[0].value.kind(), "esr-person");
/// assert!(w.assignments.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Worker {
    /// Identifiers (ESR person and employee numbers, NI number…).
    pub identifiers: Vec<Sourced<Identifier>>,
    /// Names.
    pub names: Vec<Sourced<HumanName>>,
    /// Gender.
    pub gender: Option<Sourced<Gender>>,
    /// Birth date.
    pub birth_date: Option<Sourced<PartialDate>>,
    /// Work e-mail and phones.
    pub telecom: Vec<Sourced<Telecom>>,
    /// Assignments (jobs) current at the view date.
    pub assignments: Vec<Assignment>,
    /// Professional registrations (GMC, NMC, HCPC, GPhC…).
    pub registrations: Vec<Registration>,
    /// Hire date.
    pub hire_date: Option<Sourced<NaiveDate>>,
    /// Termination date, for leavers.
    pub termination_date: Option<Sourced<NaiveDate>>,
}

/// One assignment (job) of a worker.
///
/// `start` and `end` are the assignment's life, not the date-track row's:
/// from ESR, `start` is the Earliest Assignment Start Date when sent, and
/// `end` the first of the assignment's end markers (see
/// `carecodec_map::esr`); `state` says whether it is in force.
///
/// ```
/// use carecodec_model::{Assignment, AssignmentState, Identifier, Source, Sourced};
/// use chrono::NaiveDate;
///
/// let number = Identifier::EsrAssignment { vpd: "999".into(), value: "80000001".into() };
/// let started = NaiveDate::from_ymd_opt(2023, 4, 1).unwrap();
/// let job = Assignment {
///     number: Some(Sourced::new(number, Source::esr("GO.DAT", 3, "Assignment Number"))),
///     primary: true,
///     start: Some(Sourced::new(started, Source::esr("GO.DAT", 3, "Earliest Assignment Start Date"))),
///     state: Some(Sourced::new(AssignmentState::Active, Source::esr("GO.DAT", 3, "System Assignment Status"))),
///     ..Assignment::default()
/// };
/// assert_eq!(job.number.unwrap().value.kind(), "esr-assignment");
/// assert!(job.end.is_none()); // open-ended
/// assert!(!job.state.unwrap().value.is_terminated());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Assignment {
    /// The assignment number.
    pub number: Option<Sourced<Identifier>>,
    /// Primary assignment.
    pub primary: bool,
    /// Status as sent (ESR User Assignment Status, else System Assignment
    /// Status: `ACTIVE_ASSIGN`, `TERM_ASSIGN`…).
    pub status: Option<Sourced<String>>,
    /// Whether the assignment is in force, as the source's status, employee
    /// status and termination dates say; `None`: nothing said.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub state: Option<Sourced<AssignmentState>>,
    /// Position.
    pub position: Option<Position>,
    /// Organisation (cost centre / department).
    pub organisation: Option<Organisation>,
    /// Work location.
    pub location: Option<Location>,
    /// Staff group (one of the NHS workforce staff groups).
    pub staff_group: Option<Sourced<String>>,
    /// Job role.
    pub job_role: Option<Sourced<String>>,
    /// Occupation code.
    pub occupation_code: Option<Sourced<String>>,
    /// Grade / pay scale.
    pub grade: Option<Sourced<String>>,
    /// Full-time equivalent, its decimal text kept.
    pub fte: Option<Sourced<String>>,
    /// The day the assignment began (not the day its current date-track row
    /// began).
    pub start: Option<Sourced<NaiveDate>>,
    /// The assignment's last day (`None` = open, or not known).
    pub end: Option<Sourced<NaiveDate>>,
}

/// Whether an assignment is in force.
///
/// ```
/// use carecodec_model::AssignmentState;
///
/// assert!(AssignmentState::Terminated.is_terminated());
/// assert!(!AssignmentState::Suspended.is_terminated());
/// # #[cfg(feature = "serde")]
/// assert_eq!(serde_json::to_string(&AssignmentState::Active).unwrap(), r#""active""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum AssignmentState {
    /// In force.
    Active,
    /// In force but suspended (ESR `SUSP_ASSIGN`): the assignment continues.
    Suspended,
    /// Ended: terminated, or its end date has passed.
    Terminated,
}

impl AssignmentState {
    /// True when the assignment has ended.
    ///
    /// ```
    /// use carecodec_model::AssignmentState;
    /// assert!(!AssignmentState::Active.is_terminated());
    /// ```
    pub fn is_terminated(self) -> bool {
        self == AssignmentState::Terminated
    }
}

/// A position (post) in the establishment.
///
/// ```
/// use carecodec_model::{Identifier, Position, Source, Sourced};
///
/// let number = Identifier::EsrPosition { vpd: "999".into(), value: "1234".into() };
/// let post = Position {
///     number: Some(Sourced::new(number, Source::esr("GO.DAT", 4, "Position Number"))),
///     title: Some(Sourced::new("Staff Nurse".into(), Source::esr("GO.DAT", 4, "Position Name"))),
/// };
/// assert_eq!(post.number.unwrap().value.value(), "1234");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Position {
    /// Position number.
    pub number: Option<Sourced<Identifier>>,
    /// Title.
    pub title: Option<Sourced<String>>,
}

/// A professional registration.
///
/// ```
/// use carecodec_model::{Identifier, Registration, Source, Sourced};
/// use chrono::NaiveDate;
///
/// let from = NaiveDate::from_ymd_opt(2010, 8, 4).unwrap();
/// let gmc = Registration {
///     identifier: Sourced::new(Identifier::Gmc("1234567".into()), Source::fhir("Practitioner.identifier[0]")),
///     from: Some(Sourced::new(from, Source::fhir("Practitioner.identifier[0].period.start"))),
///     until: None,
/// };
/// assert_eq!(gmc.identifier.value.kind(), "gmc");
/// assert_eq!(gmc.from.unwrap().value.to_string(), "2010-08-04");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Registration {
    /// The identifier (GMC, NMC, HCPC, GPhC, or Other with the body's name).
    pub identifier: Sourced<Identifier>,
    /// Valid from.
    pub from: Option<Sourced<NaiveDate>>,
    /// Expires.
    pub until: Option<Sourced<NaiveDate>>,
}

/// A practitioner (a clinician named in a message, or a worker seen clinically).
///
/// ```
/// use carecodec_model::{HumanName, Identifier, Practitioner, Source, Sourced};
///
/// let name = HumanName { family: Some("JONES".into()), given: vec!["ANN".into()], ..HumanName::default() };
/// let dr = Practitioner {
///     identifiers: vec![Sourced::new(Identifier::Gmc("1234567".into()), Source::fhir("Practitioner.identifier[0]"))],
///     name: Some(Sourced::new(name, Source::fhir("Practitioner.name[0]"))),
/// };
/// assert_eq!(dr.identifiers[0].value.kind(), "gmc");
/// assert_eq!(dr.name.unwrap().value.family.as_deref(), Some("JONES"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Practitioner {
    /// Identifiers (GMC, GMP, NMC, SDS…).
    pub identifiers: Vec<Sourced<Identifier>>,
    /// Name.
    pub name: Option<Sourced<HumanName>>,
}

/// An organisation (trust, GP practice, department).
///
/// ```
/// use carecodec_model::{Identifier, Organisation, Source, Sourced};
///
/// let ods = Identifier::OdsOrganisation("RX1".into());
/// let trust = Organisation {
///     identifiers: vec![Sourced::new(ods, Source::fhir("Organization.identifier[0]"))],
///     name: Some(Sourced::new("Nottingham University Hospitals NHS Trust".into(), Source::fhir("Organization.name"))),
///     ..Organisation::default()
/// };
/// assert_eq!(trust.identifiers[0].value.kind(), "ods-organisation");
/// assert!(trust.part_of.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Organisation {
    /// Identifiers (ODS code, ESR organisation id…).
    pub identifiers: Vec<Sourced<Identifier>>,
    /// Name.
    pub name: Option<Sourced<String>>,
    /// Parent organisation identifier.
    pub part_of: Option<Sourced<Identifier>>,
    /// Address (HL7 v2 OBX-24 performing organisation address).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub address: Option<Sourced<Address>>,
}

/// A location (ward, bed, site).
///
/// ```
/// use carecodec_model::{Location, Source, Sourced, V2Path};
///
/// let ward = Sourced::new("W1".to_owned(), Source::v2(V2Path::parse("PV1-3.1").unwrap(), 60..62));
/// let place = Location { ward: Some(ward), ..Location::default() };
/// let source = &place.ward.as_ref().unwrap().sources[0];
/// assert_eq!(source.to_string(), "HL7 v2 PV1[1]-3.1 (bytes 60..62)");
/// assert!(place.bed.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Location {
    /// Identifiers (ODS site code, ESR location id…).
    pub identifiers: Vec<Sourced<Identifier>>,
    /// Name or description.
    pub name: Option<Sourced<String>>,
    /// Point of care / ward, room, bed, facility (from a v2 PL).
    pub ward: Option<Sourced<String>>,
    /// Room.
    pub room: Option<Sourced<String>>,
    /// Bed.
    pub bed: Option<Sourced<String>>,
    /// Facility (site) code.
    pub facility: Option<Sourced<String>>,
    /// Address.
    pub address: Option<Sourced<Address>>,
}

/// What kind of encounter (v2 PV1-2 patient class / FHIR ActCode).
///
/// ```
/// use carecodec_model::{Encounter, EncounterClass, Source, Sourced};
///
/// let mut enc = Encounter::default();
/// enc.class = Some(Sourced::new(EncounterClass::Inpatient, Source::fhir("Encounter.class")));
/// assert_eq!(enc.class.map(|c| c.value), Some(EncounterClass::Inpatient));
/// # #[cfg(feature = "serde")]
/// assert_eq!(serde_json::to_string(&EncounterClass::PreAdmission).unwrap(), r#""pre-admission""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum EncounterClass {
    /// Inpatient.
    Inpatient,
    /// Outpatient / ambulatory.
    Outpatient,
    /// Emergency.
    Emergency,
    /// Pre-admission.
    PreAdmission,
    /// Recurring patient.
    Recurring,
    /// Obstetrics.
    Obstetrics,
    /// Commercial account (HL7 table 0004 `C`; no v3 ActCode: FHIR keeps the
    /// v2-0004 code, as the HL7 V2-to-FHIR IG's PatientClass map does).
    Commercial,
    /// Not applicable (HL7 table 0004 `N`; kept as the v2-0004 code, as
    /// [`EncounterClass::Commercial`]).
    NotApplicable,
    /// Other or unknown.
    Other,
}

/// A participant in an encounter.
///
/// ```
/// use carecodec_model::{Identifier, Participant, Practitioner, Source, Sourced};
///
/// let gmc = Sourced::new(Identifier::Gmc("1234567".into()), Source::fhir("Practitioner.identifier[0]"));
/// let consultant = Practitioner { identifiers: vec![gmc], name: None };
/// let attending = Participant { role: "ATND".into(), practitioner: consultant };
/// assert_eq!(attending.practitioner.identifiers[0].value.value(), "1234567");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Participant {
    /// Role (`ATND` attending, `REF` referring, `CON` consulting, `ADM` admitting).
    pub role: String,
    /// Who.
    pub practitioner: Practitioner,
}

/// An encounter (visit, admission).
///
/// ```
/// use carecodec_model::{Encounter, Identifier, Source, Sourced};
///
/// let visit = Identifier::VisitNumber { value: "V123".into(), authority: Some("RX1".into()), system: None };
/// let enc = Encounter {
///     identifiers: vec![Sourced::new(visit, Source::fhir("Encounter.identifier[0]"))],
///     status: Some("in-progress".into()),
///     ..Encounter::default()
/// };
/// assert_eq!(enc.identifiers[0].value.kind(), "visit-number");
/// assert!(enc.location.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Encounter {
    /// Visit number and other identifiers.
    pub identifiers: Vec<Sourced<Identifier>>,
    /// Class.
    pub class: Option<Sourced<EncounterClass>>,
    /// Status (`planned`, `in-progress`, `finished`, `cancelled`), FHIR codes.
    pub status: Option<String>,
    /// Current (or discharge) location.
    pub location: Option<Box<Location>>,
    /// Prior location (for transfers).
    pub prior_location: Option<Box<Location>>,
    /// Bed status (HL7 v2 PV1-40, table 0116: `O` occupied, `U` unoccupied…),
    /// kept when PV1-3 names a room or bed; FHIR: the `operationalStatus` of
    /// the current location's most granular Location.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub bed_status: Option<Sourced<Code>>,
    /// Pending location (HL7 v2 PV1-42: where the patient is to be moved;
    /// FHIR `Encounter.location` with status `reserved`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub pending_location: Option<Box<Location>>,
    /// Prior pending location (HL7 v2 PV2-1: the pending location before the
    /// current one; FHIR `Encounter.location` with status `planned`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub prior_pending_location: Option<Box<Location>>,
    /// Participants.
    pub participants: Vec<Participant>,
    /// Admission time.
    pub admitted: Option<Sourced<PartialDateTime>>,
    /// Discharge time.
    pub discharged: Option<Sourced<PartialDateTime>>,
    /// Admission method (NHS Data Dictionary code, or v2 table 0007 admission type, as sent).
    pub admission_method: Option<Sourced<Code>>,
    /// Source of admission (NHS Data Dictionary code, or v2 table 0023, as sent).
    pub admit_source: Option<Sourced<Code>>,
    /// Expected admission (v2 PV2-8).
    pub expected_admit: Option<Sourced<PartialDateTime>>,
    /// Expected discharge (v2 PV2-9; the NHS expected date of discharge).
    pub expected_discharge: Option<Sourced<PartialDateTime>>,
    /// Discharge method / disposition.
    pub discharge_method: Option<Sourced<Code>>,
    /// Discharge destination.
    pub discharge_destination: Option<Sourced<Code>>,
    /// Reason for admission (text or code).
    pub reason: Option<Sourced<Concept>>,
    /// Hospital service / specialty.
    pub service: Option<Sourced<Code>>,
    /// Preadmission number (HL7 v2 PV1-5; FHIR
    /// `Encounter.hospitalization.preAdmissionIdentifier`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub preadmission_id: Option<Sourced<Identifier>>,
    /// Re-admission indicator (HL7 v2 PV1-13, table 0092: `R` re-admission;
    /// FHIR `Encounter.hospitalization.reAdmission`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub readmission: Option<Sourced<Code>>,
    /// Diet type (HL7 v2 PV1-38, codes as sent; FHIR
    /// `Encounter.hospitalization.dietPreference`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub diet: Option<Sourced<Concept>>,
    /// VIP indicator (HL7 v2 PV1-16, codes as sent; FHIR
    /// `Encounter.hospitalization.specialCourtesy`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub special_courtesy: Option<Sourced<Concept>>,
    /// Ambulatory status (HL7 v2 PV1-15 repetitions, table 0009: `A2`
    /// wheelchair/stretcher bound, `B6` pregnant…; FHIR
    /// `Encounter.hospitalization.specialArrangement`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub ambulatory_status: Vec<Sourced<Code>>,
    /// Visit priority (HL7 v2 PV2-25, table 0217: `1` emergency, `2` urgent,
    /// `3` elective; FHIR `Encounter.priority`, in v3 ActPriority).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub priority: Option<Sourced<Code>>,
    /// Actual length of the inpatient stay in days, a decimal as sent (HL7 v2
    /// PV2-11; FHIR `Encounter.length` in UCUM `d`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub length_days: Option<Sourced<String>>,
    /// Mode of arrival (HL7 v2 PV2-38, table 0430: `A` ambulance, `C` car,
    /// `F` on foot…; FHIR core extension `encounter-modeOfArrival`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub arrival_mode: Option<Sourced<Code>>,
    /// Visit description, free text (HL7 v2 PV2-12; FHIR `Encounter.text`, a
    /// narrative with status `additional`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub description: Option<Sourced<String>>,
}

/// An observation's value.
///
/// ```
/// use carecodec_model::{ObservationValue, Quantity};
///
/// let k = Quantity { value: "3.5".into(), unit: Some("mmol/L".into()), ucum: Some("mmol/L".into()), comparator: None };
/// let v = ObservationValue::Range { low: Some(k), high: None };
/// assert!(matches!(&v, ObservationValue::Range { low: Some(q), high: None } if q.value == "3.5"));
/// assert_ne!(v, ObservationValue::Text("3.5".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(tag = "type", content = "value", rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum ObservationValue {
    /// A quantity with units.
    Quantity(Quantity),
    /// Text.
    Text(String),
    /// A coded value.
    Coded(Concept),
    /// A date or time.
    DateTime(PartialDateTime),
    /// A range (`low`..`high`).
    Range {
        /// Low.
        low: Option<Quantity>,
        /// High.
        high: Option<Quantity>,
    },
    /// Content of its own: a document or image sent inline, or a pointer to
    /// one (HL7 v2 OBX-5 of type ED or RP; in FHIR R4 the R5 cross-version
    /// extension `extension-Observation.value` with a `valueAttachment`).
    Attachment(Attachment),
}

/// Content sent with or pointed to by an observation (a FHIR `Attachment`):
/// a PDF report, an image, a document held elsewhere.
///
/// ```
/// use carecodec_model::{Attachment, ObservationValue};
///
/// // An HL7 v2 ED value `^application^pdf^Base64^JVBERi0xLjQ=`.
/// let pdf = Attachment {
///     content_type: Some("application/pdf".into()),
///     data: Some("JVBERi0xLjQ=".into()),
///     url: None,
/// };
/// let v = ObservationValue::Attachment(pdf);
/// assert!(matches!(&v, ObservationValue::Attachment(a) if a.data.as_deref() == Some("JVBERi0xLjQ=")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Attachment {
    /// The MIME type (`application/pdf`, `image/jpeg`), when known.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub content_type: Option<String>,
    /// The content itself, Base64-encoded (FHIR `base64Binary`: only
    /// `A`–`Z`, `a`–`z`, `0`–`9`, `+`, `/`, `=` padding, no whitespace).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub data: Option<String>,
    /// Where the content can be had (HL7 v2 RP.1 pointer).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub url: Option<String>,
}

/// An HL7 v2 Observation Sub-ID (OBX-4, the OG data type; a plain string
/// before v2.8): what groups an observation with others of its report, such
/// as a microbiology susceptibility with the organism (isolate) it was
/// tested on. FHIR: the complex extension `observation-v2-subid`.
///
/// ```
/// use carecodec_model::ObservationSubId;
///
/// // OBX-4 `1.2`, sent before v2.8: the original text only; nothing is
/// // guessed from it.
/// let s = ObservationSubId { original: Some("1.2".into()), ..ObservationSubId::default() };
/// assert_eq!(s.group, None);
/// // v2.8's OG `^1^2`: group 1, sequence 2.
/// let og = ObservationSubId { group: Some("1".into()), sequence: Some("2".into()), ..s };
/// assert_eq!(og.sequence.as_deref(), Some("2"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ObservationSubId {
    /// The sub-identifier as sent (OG.1, or a pre-v2.8 OBX-4 whole).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub original: Option<String>,
    /// The group (OG.2): a decimal, its text kept as sent.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub group: Option<String>,
    /// The sequence within the group (OG.3): a decimal, its text kept as sent.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub sequence: Option<String>,
    /// An identifier linking the observation to others (OG.4).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub identifier: Option<String>,
}

/// A result status (v2 table 0085 / FHIR observation-status).
///
/// ```
/// use carecodec_model::ResultStatus;
///
/// let s = ResultStatus::EnteredInError;
/// assert_ne!(s, ResultStatus::Cancelled);
/// // A corrected result is not merely amended.
/// assert_ne!(ResultStatus::Corrected, ResultStatus::Amended);
/// // With the `serde` feature, the JSON form is the FHIR code.
/// # #[cfg(feature = "serde")]
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#""entered-in-error""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum ResultStatus {
    /// Registered / pending.
    Registered,
    /// Preliminary.
    Preliminary,
    /// Final.
    Final,
    /// Amended (FHIR `amended`; HL7 v2 OBX-11 `A`, OBR-25 `M`).
    Amended,
    /// Corrected: a final result sent again with a correction (FHIR
    /// `corrected`; HL7 v2 OBX-11 and OBR-25 `C`, as the HL7 V2-to-FHIR IG
    /// maps them).
    Corrected,
    /// Appended: a final report with content added (FHIR DiagnosticReport
    /// `appended`; no HL7 v2 code, and no Observation status: an
    /// Observation's is written `amended`).
    Appended,
    /// Partial: some of a report's results are final (FHIR DiagnosticReport
    /// `partial`; HL7 v2 OBR-25 `R` and `A`; no Observation status: an
    /// Observation's is written `preliminary`).
    Partial,
    /// Cancelled / deleted.
    Cancelled,
    /// Entered in error.
    EnteredInError,
    /// Unknown.
    Unknown,
}

/// One observation (an OBX, a FHIR Observation).
///
/// ```
/// use carecodec_model::{Code, CodeSystem, Concept, Observation, ObservationValue, ResultStatus, Source, Sourced};
///
/// let code = Concept { codes: vec![Code::new(CodeSystem::Loinc, "8867-4", Some("Heart rate"))], text: None };
/// let hr = Observation {
///     code: Sourced::new(code, Source::fhir("Observation.code")),
///     value: Some(Sourced::new(ObservationValue::Text("72".into()), Source::fhir("Observation.valueString"))),
///     status: Some(Sourced::new(ResultStatus::Final, Source::fhir("Observation.status"))),
///     reference_range: None, interpretation: vec![], effective: None, notes: vec![],
///     performers: vec![], identifiers: vec![], method: None, body_site: None, device: vec![],
///     sub_id: None, no_encounter: false,
/// };
/// assert_eq!(hr.code.value.codes[0].system.uri(), "http://loinc.org");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Observation {
    /// What was observed (LOINC, SNOMED or local).
    pub code: Sourced<Concept>,
    /// The value, absent when not reported.
    pub value: Option<Sourced<ObservationValue>>,
    /// The reference range as sent (`130-180`) and parsed when it parses.
    pub reference_range: Option<Sourced<String>>,
    /// Interpretation (abnormal flags: `H`, `L`, `N`…).
    pub interpretation: Vec<Sourced<Code>>,
    /// Status.
    pub status: Option<Sourced<ResultStatus>>,
    /// When observed.
    pub effective: Option<Sourced<PartialDateTime>>,
    /// Notes (NTE segments).
    pub notes: Vec<Sourced<String>>,
    /// Who is responsible for the observation (HL7 v2 OBX-16 responsible
    /// observers; OBX-23/24/25 the performing organisation and its medical
    /// director).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub performers: Vec<Performer>,
    /// Identifiers (HL7 v2 OBX-21 observation instance identifier, a filler
    /// identifier).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub identifiers: Vec<Sourced<Identifier>>,
    /// How it was observed (HL7 v2 OBX-17).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub method: Option<Sourced<Concept>>,
    /// Where on the body (HL7 v2 OBX-20).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub body_site: Option<Sourced<Concept>>,
    /// The identifiers of the equipment used (HL7 v2 OBX-18; one FHIR Device).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub device: Vec<Sourced<Identifier>>,
    /// The sub-ID grouping it with other observations of its report (HL7 v2
    /// OBX-4; FHIR extension `observation-v2-subid`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub sub_id: Option<Sourced<ObservationSubId>>,
    /// True when its source says it belongs to no encounter (a FHIR
    /// Observation with no `encounter` in a Bundle with an Encounter): written
    /// without one. False (the default) links it to the event's encounter, as
    /// HL7 v2 results and ADT OBX belong to the message's visit (PV1).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "std::ops::Not::not")
    )]
    pub no_encounter: bool,
}

/// Who performed or is responsible for an observation: a practitioner in a
/// role, optionally on behalf of an organisation (a FHIR PractitionerRole).
///
/// ```
/// use carecodec_model::{Organisation, Performer, Sourced, Source};
///
/// let lab = Organisation {
///     name: Some(Sourced::new("Pathology".to_owned(), Source::fhir("Organization.name"))),
///     ..Organisation::default()
/// };
/// let p = Performer { organisation: Some(lab), ..Performer::default() };
/// assert!(p.practitioner.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Performer {
    /// The role, an HL7 table 0912 participation code (`RO` responsible
    /// observer, `MDIR` medical director of the performing organisation);
    /// `None` for an organisation alone.
    pub role: Option<String>,
    /// The practitioner.
    pub practitioner: Option<Practitioner>,
    /// The organisation.
    pub organisation: Option<Organisation>,
    /// When the practitioner held the role (HL7 v2 NDL.2 / NDL.3 of an
    /// OBR-32 … 35 interpreter or technician; FHIR `PractitionerRole.period`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub period: Option<Sourced<Period>>,
}

/// A result report (an OBR with its OBXs, a FHIR DiagnosticReport).
///
/// ```
/// use carecodec_model::{Concept, ResultReport, ResultStatus, Source, Sourced};
///
/// let fbc = Concept { codes: vec![], text: Some("Full blood count".into()) };
/// let report = ResultReport {
///     code: Sourced::new(fbc, Source::fhir("DiagnosticReport.code")),
///     status: Some(Sourced::new(ResultStatus::Preliminary, Source::fhir("DiagnosticReport.status"))),
///     identifiers: vec![], effective: None, issued: None, ordered_by: None,
///     observations: vec![], notes: vec![], category: None, effective_end: None,
///     interpreters: vec![], performers: vec![], reasons: vec![], priority: None,
///     order_details: vec![],
/// };
/// assert_eq!(report.status.map(|s| s.value), Some(ResultStatus::Preliminary));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ResultReport {
    /// Placer and filler order numbers.
    pub identifiers: Vec<Sourced<Identifier>>,
    /// The test or panel.
    pub code: Sourced<Concept>,
    /// Status.
    pub status: Option<Sourced<ResultStatus>>,
    /// When collected / observed.
    pub effective: Option<Sourced<PartialDateTime>>,
    /// When issued.
    pub issued: Option<Sourced<PartialDateTime>>,
    /// The ordering clinician.
    pub ordered_by: Option<Practitioner>,
    /// The observations.
    pub observations: Vec<Observation>,
    /// Notes on the order (HL7 v2 NTE segments after the OBR, before its
    /// first OBX; FHIR `ServiceRequest.note`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub notes: Vec<Sourced<String>>,
    /// The diagnostic service section that produced the report (HL7 v2
    /// OBR-24, table 0074: `CH` chemistry, `HM` haematology, `MB`
    /// microbiology …, the code as sent; FHIR `DiagnosticReport.category`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub category: Option<Sourced<Code>>,
    /// When the observation period ended (HL7 v2 OBR-8; with `effective`
    /// its start, FHIR `effectivePeriod`). Never before `effective`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub effective_end: Option<Sourced<PartialDateTime>>,
    /// Who interpreted the results (HL7 v2 OBR-32, the principal result
    /// interpreter: role `PRI`, table 0912; FHIR `resultsInterpreter`, a
    /// PractitionerRole, a Practitioner or an Organization).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub interpreters: Vec<Performer>,
    /// Who else took part (HL7 v2 OBR-34 technicians, role `TN`, and OBR-35
    /// transcriptionists, role `TR`, table 0912; FHIR `performer`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub performers: Vec<Performer>,
    /// Why the study was ordered (HL7 v2 OBR-31, every repetition; FHIR
    /// `ServiceRequest.reasonCode`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub reasons: Vec<Sourced<Concept>>,
    /// The order's priority as sent (HL7 v2 OBR-5, table 0485: `S` stat,
    /// `A` asap, `R` routine …; FHIR `ServiceRequest.priority`, whose
    /// `urgent` has no v2 code and is kept in `http://hl7.org/fhir/request-priority`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub priority: Option<Sourced<Code>>,
    /// Supplemental service information (HL7 v2 OBR-46 placer's, then
    /// OBR-47 filler's, every repetition; FHIR `ServiceRequest.orderDetail`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub order_details: Vec<Sourced<Concept>>,
}

/// An allergy or intolerance.
///
/// ```
/// use carecodec_model::{Allergy, Code, CodeSystem, Concept, Source, Sourced};
///
/// let penicillin = Code::new(CodeSystem::Snomed, "91936005", Some("Allergy to penicillin"));
/// let allergy = Allergy {
///     code: Sourced::new(Concept { codes: vec![penicillin], text: None }, Source::fhir("AllergyIntolerance.code")),
///     category: None, severity: None, reactions: vec![], identified: None,
///     clinical_status: None, verification: None,
/// };
/// assert_eq!(allergy.code.value.codes[0].code, "91936005");
/// assert!(allergy.clinical_status.is_none()); // active
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Allergy {
    /// The substance or allergy.
    pub code: Sourced<Concept>,
    /// Category (drug, food, environment…): v2 table 0127 as sent.
    pub category: Option<Sourced<Code>>,
    /// Severity (v2 table 0128: SV severe, MO moderate, MI mild).
    pub severity: Option<Sourced<Code>>,
    /// Reactions as text.
    pub reactions: Vec<Sourced<String>>,
    /// When identified.
    pub identified: Option<Sourced<PartialDate>>,
    /// Clinical status other than `active`, a FHIR
    /// allergyintolerance-clinical code (`inactive`, `resolved`); `None` is
    /// active. HL7 v2 AL1 carries none.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub clinical_status: Option<Sourced<String>>,
    /// Verification status, a FHIR allergyintolerance-verification code
    /// (`unconfirmed`, `confirmed`, `refuted`, `entered-in-error`). HL7 v2
    /// AL1 carries none.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub verification: Option<Sourced<String>>,
}

/// A condition or diagnosis.
///
/// ```
/// use carecodec_model::{Code, CodeSystem, Concept, Condition, Source, Sourced};
///
/// let mi = Code::new(CodeSystem::Icd10, "I21.9", Some("Acute myocardial infarction, unspecified"));
/// let dx = Condition {
///     code: Sourced::new(Concept { codes: vec![mi], text: None }, Source::fhir("Condition.code")),
///     clinical_status: Some(Sourced::new("active".into(), Source::fhir("Condition.clinicalStatus"))),
///     diagnosis_type: None, priority: None, verification: None, recorded: None,
///     identifiers: vec![], asserter: None, asserted: None, no_encounter: false,
/// };
/// assert_eq!(dx.code.value.codes[0].system.uri(), "http://hl7.org/fhir/sid/icd-10");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Condition {
    /// The diagnosis (ICD-10, SNOMED…).
    pub code: Sourced<Concept>,
    /// Diagnosis type (HL7 v2 DG1-6, table 0052: A admitting, W working, F
    /// final). FHIR: the `use` of the Encounter's `diagnosis` entry for this
    /// condition (the IG's DiagnosisType map: `A` is diagnosis-role `AD`).
    pub diagnosis_type: Option<Sourced<Code>>,
    /// Diagnosis priority (HL7 v2 DG1-15: 1 is the primary diagnosis). FHIR:
    /// the `rank` of the Encounter's `diagnosis` entry for this condition.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub priority: Option<Sourced<u32>>,
    /// Clinical status, a FHIR condition-clinical code (`active`,
    /// `recurrence`, `relapse`, `inactive`, `remission`, `resolved`). HL7 v2
    /// DG1 carries none.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub clinical_status: Option<Sourced<String>>,
    /// Verification status, a FHIR condition-ver-status code (`unconfirmed`,
    /// `provisional`, `differential`, `confirmed`, `refuted`,
    /// `entered-in-error`). HL7 v2 DG1-21 action code `D` (delete) is
    /// `entered-in-error` (the IG's only target for that field).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub verification: Option<Sourced<String>>,
    /// When diagnosed.
    pub recorded: Option<Sourced<PartialDateTime>>,
    /// Identifiers (HL7 v2 DG1-20 diagnosis identifier).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub identifiers: Vec<Sourced<Identifier>>,
    /// Who made the diagnosis (HL7 v2 DG1-16 diagnosing clinician).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub asserter: Option<Practitioner>,
    /// When the diagnosis was attested (HL7 v2 DG1-19; FHIR's
    /// `condition-assertedDate` extension).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub asserted: Option<Sourced<PartialDateTime>>,
    /// True when its source says it belongs to no encounter (a FHIR Condition
    /// with no `encounter`, which the Encounter's `diagnosis` does not list,
    /// in a Bundle with an Encounter): written without one and outside the
    /// Encounter's diagnoses. False (the default) makes it a diagnosis of the
    /// event's encounter, as an HL7 v2 DG1 is of the message's visit (PV1).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "std::ops::Not::not")
    )]
    pub no_encounter: bool,
}

/// The kind of ADT event.
///
/// ```
/// use carecodec_model::AdtKind;
///
/// // ADT^A34 and ADT^A40 are both merges.
/// let kind = AdtKind::Merge;
/// assert_ne!(kind, AdtKind::Update);
/// # #[cfg(feature = "serde")]
/// assert_eq!(serde_json::to_string(&AdtKind::CancelAdmit).unwrap(), r#""cancel-admit""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum AdtKind {
    /// A01 admit.
    Admit,
    /// A02 transfer.
    Transfer,
    /// A03 discharge.
    Discharge,
    /// A04 register an outpatient / emergency patient.
    Register,
    /// A05 pre-admit.
    PreAdmit,
    /// A08 update patient information.
    Update,
    /// A11 cancel admit.
    CancelAdmit,
    /// A12 cancel transfer.
    CancelTransfer,
    /// A13 cancel discharge.
    CancelDischarge,
    /// A28 add person.
    AddPerson,
    /// A31 update person.
    UpdatePerson,
    /// A34 / A40 merge (the prior identifier is merged into the current one).
    Merge,
    /// ORU R01 result.
    Result,
    /// Any other trigger.
    Other,
}

/// A messaging application (an HL7 v2 HD: namespace, universal id and its type).
///
/// ```
/// use carecodec_model::Application;
///
/// let app = Application::new(Some("PAS"), Some("2.16.840.1.113883.2.1.3.2"), Some("ISO"));
/// assert_eq!(app.endpoint().as_deref(), Some("urn:oid:2.16.840.1.113883.2.1.3.2"));
/// assert_eq!(Application::new(Some("PAS"), None, None).endpoint(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Application {
    /// Namespace id (`PAS`).
    pub name: Option<String>,
    /// Universal id (an OID, URI, …).
    pub universal_id: Option<String>,
    /// The universal id's type (`ISO`, `URI`, `DNS`, …).
    pub universal_id_type: Option<String>,
}

impl Application {
    /// An application from its HD parts.
    ///
    /// ```
    /// use carecodec_model::Application;
    ///
    /// let app = Application::new(Some("PAS"), None, None);
    /// assert_eq!(app.name.as_deref(), Some("PAS"));
    /// assert!(app.universal_id.is_none());
    /// ```
    pub fn new(
        name: Option<&str>,
        universal_id: Option<&str>,
        universal_id_type: Option<&str>,
    ) -> Application {
        Application {
            name: name.map(str::to_owned),
            universal_id: universal_id.map(str::to_owned),
            universal_id_type: universal_id_type.map(str::to_owned),
        }
    }

    /// Its address as a URI when the universal id is one: `urn:oid:` for an
    /// ISO OID, the URI itself for type `URI`; `None` otherwise, and `None`
    /// for an id that is not of the shape its type says (an `ISO` id that is
    /// no OID, a `URI` that is no absolute URI): never invented.
    ///
    /// ```
    /// use carecodec_model::Application;
    ///
    /// let oid = Application::new(Some("PAS"), Some("2.16.840.1.113883.2.1.3.2"), Some("ISO"));
    /// assert_eq!(oid.endpoint().as_deref(), Some("urn:oid:2.16.840.1.113883.2.1.3.2"));
    /// let uri = Application::new(None, Some("https://pas.example.nhs.uk/hl7"), Some("URI"));
    /// assert_eq!(uri.endpoint().as_deref(), Some("https://pas.example.nhs.uk/hl7"));
    /// // A DNS name is not made into a URI.
    /// assert_eq!(Application::new(None, Some("pas.example.nhs.uk"), Some("DNS")).endpoint(), None);
    /// // Nor is an id that does not have its type's shape.
    /// assert_eq!(Application::new(None, Some("RX1"), Some("ISO")).endpoint(), None);
    /// assert_eq!(Application::new(None, Some("not a uri"), Some("URI")).endpoint(), None);
    /// ```
    pub fn endpoint(&self) -> Option<String> {
        let id = self.universal_id.as_deref()?;
        match self.universal_id_type.as_deref() {
            Some("ISO") if crate::identifier::is_oid(id) => Some(format!("urn:oid:{id}")),
            Some("URI") if crate::identifier::is_uri(id) => Some(id.to_owned()),
            _ => None,
        }
    }
}

/// The event a message carries, with everything it mentioned.
///
/// ```
/// use carecodec_model::{AdtKind, Event};
///
/// // `carecodec_map::v2::map_message` and `carecodec_map::fhir::read_bundle`
/// // make events; with the `serde` feature they also read from JSON.
/// # #[cfg(feature = "serde")] {
/// let event: Event = serde_json::from_str(r#"{"kind": "admit", "message_type": "ADT^A01",
///     "merged_from": [], "allergies": [], "conditions": [], "reports": []}"#).unwrap();
/// assert_eq!(event.kind, AdtKind::Admit);
/// assert!(event.patient.is_none());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Event {
    /// What happened.
    pub kind: AdtKind,
    /// The message's type and trigger as sent (`ADT^A01`).
    pub message_type: String,
    /// The message control id.
    pub message_id: Option<String>,
    /// When the message was sent.
    pub sent: Option<Sourced<PartialDateTime>>,
    /// When the event happened (HL7 v2 EVN-6; FHIR
    /// `Provenance.occurredDateTime`).
    pub occurred: Option<Sourced<PartialDateTime>>,
    /// When the event was recorded (HL7 v2 EVN-2; FHIR `Provenance.recorded`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub recorded: Option<Sourced<PartialDateTime>>,
    /// Why the event happened (HL7 v2 EVN-4, table 0062 as sent; FHIR
    /// `Provenance.reason`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub reason: Option<Sourced<Code>>,
    /// Who recorded the event (HL7 v2 EVN-5; FHIR `Provenance.agent.who`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub operator: Option<Practitioner>,
    /// The sending facility (HL7 v2 MSH-4; MessageHeader.sender), ODS code where it is one.
    pub sender: Option<Sourced<String>>,
    /// The sending application (HL7 v2 MSH-3; a FHIR MessageHeader's source).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub source_application: Option<Sourced<Application>>,
    /// The receiving application (MSH-5; MessageHeader.destination).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub destination_application: Option<Sourced<Application>>,
    /// The receiving facility (MSH-6; MessageHeader.destination.receiver), ODS code where it is one.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub destination_facility: Option<Sourced<String>>,
    /// The processing id (HL7 v2 MSH-11.1, table 0103: `P` production, `T`
    /// training, `D` debugging): a training or debugging message is not
    /// production data. FHIR: a `meta.tag` in v2-0103 (HL7 V2-to-FHIR IG).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub processing: Option<Sourced<Code>>,
    /// The patient.
    pub patient: Option<Patient>,
    /// For merges: the prior identifier merged away.
    pub merged_from: Vec<Sourced<Identifier>>,
    /// The encounter.
    pub encounter: Option<Encounter>,
    /// Allergies.
    pub allergies: Vec<Allergy>,
    /// Diagnoses.
    pub conditions: Vec<Condition>,
    /// Result reports.
    pub reports: Vec<ResultReport>,
    /// Observations outside any result report: HL7 v2 OBX segments before any
    /// OBR (an ADT's height or weight), FHIR Observations no DiagnosticReport
    /// lists.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub observations: Vec<Observation>,
    /// For a message mapped one event per patient (an ORU^R01 or ADT^A40
    /// of several patients: `carecodec_map::v2::map_patient_groups`), the
    /// 1-based number of this event's patient group; `None` for a whole
    /// message. `message_id` stays the message's MSH-10.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub group: Option<u32>,
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;
    use crate::provenance::Source;
    use crate::value::{Code, CodeSystem};

    /// An observation with a sub-ID and an attachment value: its canonical
    /// JSON, and back to the same value.
    #[test]
    fn sub_id_and_attachment_round_trip_through_json() {
        let src = || Source::fhir("Observation");
        let ob = Observation {
            code: Sourced::new(
                Concept {
                    codes: vec![Code::new(CodeSystem::Loinc, "11502-2", None)],
                    text: None,
                },
                src(),
            ),
            value: Some(Sourced::new(
                ObservationValue::Attachment(Attachment {
                    content_type: Some("application/pdf".into()),
                    data: Some("JVBERi0xLjQK".into()),
                    url: None,
                }),
                src(),
            )),
            reference_range: None,
            interpretation: vec![],
            status: None,
            effective: None,
            notes: vec![],
            performers: vec![],
            identifiers: vec![],
            method: None,
            body_site: None,
            device: vec![],
            sub_id: Some(Sourced::new(
                ObservationSubId {
                    original: Some("1.2".into()),
                    group: Some("1".into()),
                    sequence: Some("2".into()),
                    identifier: None,
                },
                src(),
            )),
            no_encounter: false,
        };
        let json = serde_json::to_value(&ob).unwrap();
        assert_eq!(
            json["value"]["value"],
            serde_json::json!({"type": "attachment", "value": {
                "content_type": "application/pdf", "data": "JVBERi0xLjQK"
            }})
        );
        assert_eq!(
            json["sub_id"]["value"],
            serde_json::json!({"original": "1.2", "group": "1", "sequence": "2"})
        );
        let back: Observation = serde_json::from_value(json).unwrap();
        assert_eq!(back, ob);
        // Canonical JSON written before `sub_id` existed still reads.
        let mut old = serde_json::to_value(&ob).unwrap();
        old.as_object_mut().unwrap().remove("sub_id");
        let old: Observation = serde_json::from_value(old).unwrap();
        assert_eq!(old.sub_id, None);
    }
}
