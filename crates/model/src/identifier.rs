//! Typed identifiers: NHS number (Modulus 11 checked), local MRNs, ESR numbers,
//! professional registrations, ODS and SDS codes.

use std::fmt;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// Why a string is not a valid NHS number.
///
/// ```
/// use carecodec_model::{NhsNumber, NhsNumberError};
///
/// assert_eq!(NhsNumber::parse("943476591"), Err(NhsNumberError::Length));
/// assert_eq!(NhsNumber::parse("943-476-5919"), Err(NhsNumberError::NotDigits));
/// assert_eq!(NhsNumber::parse("1000000010"), Err(NhsNumberError::CheckDigitTen));
/// let wrong = NhsNumber::parse("9434765918").unwrap_err();
/// assert_eq!(wrong, NhsNumberError::CheckDigitMismatch);
/// assert_eq!(wrong.to_string(), "the check digit does not match");
/// assert_eq!(NhsNumber::parse("0000000000"), Err(NhsNumberError::AllZeros));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum NhsNumberError {
    /// Not ten digits (spaces are allowed between groups).
    #[error("an NHS number has ten digits")]
    Length,
    /// A character other than a digit or a space.
    #[error("an NHS number has only digits")]
    NotDigits,
    /// The Modulus 11 check gives 10: no valid number has these first nine digits.
    #[error("the Modulus 11 check digit would be 10")]
    CheckDigitTen,
    /// The tenth digit is not the Modulus 11 check digit.
    #[error("the check digit does not match")]
    CheckDigitMismatch,
    /// `0000000000`: it passes Modulus 11, but no NHS number (nor CHI or
    /// H&C number) is all zeros; systems send it as a placeholder for "no NHS
    /// number", and keying records on it would merge different patients.
    #[error("0000000000 is a placeholder, not an NHS number")]
    AllZeros,
}

/// A ten-digit NHS number whose Modulus 11 check digit is right (and not
/// `0000000000`, a placeholder that passes the check). Other numbers of one
/// repeated digit pass: the NHS ITK ADT examples use `3333333333`.
///
/// ```
/// use carecodec_model::NhsNumber;
///
/// let n = NhsNumber::parse("943 476 5919").unwrap();
/// assert_eq!(n.as_str(), "9434765919");
/// assert_eq!(n.to_string(), "943 476 5919");
/// assert!(NhsNumber::parse("9434765918").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub struct NhsNumber(String);

impl NhsNumber {
    /// Parses and checks an NHS number (spaces between digits are ignored).
    ///
    /// ```
    /// use carecodec_model::{NhsNumber, NhsNumberError};
    ///
    /// assert_eq!(NhsNumber::parse("943 476 5919").unwrap().as_str(), "9434765919");
    /// assert_eq!(NhsNumber::parse("9434765918"), Err(NhsNumberError::CheckDigitMismatch));
    /// ```
    pub fn parse(s: &str) -> Result<NhsNumber, NhsNumberError> {
        let mut digits = [0u8; 10];
        let mut n = 0usize;
        for c in s.chars() {
            if c == ' ' {
                continue;
            }
            let d = c.to_digit(10).ok_or(NhsNumberError::NotDigits)?;
            let slot = digits.get_mut(n).ok_or(NhsNumberError::Length)?;
            *slot = d as u8;
            n += 1;
        }
        if n != 10 {
            return Err(NhsNumberError::Length);
        }
        let sum: u32 = digits
            .iter()
            .take(9)
            .enumerate()
            .map(|(i, d)| u32::from(*d) * (10 - i as u32))
            .sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err(NhsNumberError::CheckDigitTen),
            c => c,
        };
        if digits.get(9).map(|d| u32::from(*d)) != Some(check) {
            return Err(NhsNumberError::CheckDigitMismatch);
        }
        if digits == [0; 10] {
            return Err(NhsNumberError::AllZeros);
        }
        Ok(NhsNumber(
            digits.iter().map(|d| char::from(b'0' + d)).collect(),
        ))
    }

    /// The ten digits.
    ///
    /// ```
    /// use carecodec_model::NhsNumber;
    ///
    /// let n = NhsNumber::parse("943 476 5919").unwrap();
    /// assert_eq!(n.as_str(), "9434765919");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NhsNumber {
    /// The 3-3-4 grouping used on screen and paper.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        write!(
            f,
            "{} {} {}",
            s.get(..3).unwrap_or(""),
            s.get(3..6).unwrap_or(""),
            s.get(6..).unwrap_or("")
        )
    }
}

impl TryFrom<String> for NhsNumber {
    type Error = NhsNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        NhsNumber::parse(&s)
    }
}

impl From<NhsNumber> for String {
    fn from(n: NhsNumber) -> String {
        n.0
    }
}

/// NHS number verification status (NHS Data Dictionary / UK Core
/// `NHSNumberVerificationStatus`, codes `01`–`08`).
///
/// ```
/// use carecodec_model::VerificationStatus;
///
/// let status = VerificationStatus::from_code("02").unwrap();
/// assert_eq!(status, VerificationStatus::NotTraced);
/// assert_eq!(status.display(), "Number present but not traced");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum VerificationStatus {
    /// `01` Number present and verified.
    Verified,
    /// `02` Number present but not traced.
    NotTraced,
    /// `03` Trace required.
    TraceRequired,
    /// `04` Trace attempted - no match or multiple match found.
    TraceNoMatch,
    /// `05` Trace needs to be resolved (NHS number or patient detail conflict).
    TraceToResolve,
    /// `06` Trace in progress.
    TraceInProgress,
    /// `07` Number not present and trace not required.
    NotPresent,
    /// `08` Trace postponed (baby under six weeks old).
    TracePostponed,
}

impl VerificationStatus {
    /// The two-digit code.
    ///
    /// ```
    /// use carecodec_model::VerificationStatus;
    ///
    /// assert_eq!(VerificationStatus::Verified.code(), "01");
    /// assert_eq!(VerificationStatus::TracePostponed.code(), "08");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            VerificationStatus::Verified => "01",
            VerificationStatus::NotTraced => "02",
            VerificationStatus::TraceRequired => "03",
            VerificationStatus::TraceNoMatch => "04",
            VerificationStatus::TraceToResolve => "05",
            VerificationStatus::TraceInProgress => "06",
            VerificationStatus::NotPresent => "07",
            VerificationStatus::TracePostponed => "08",
        }
    }

    /// The status for a code (`01`–`08`).
    ///
    /// ```
    /// use carecodec_model::VerificationStatus;
    /// assert_eq!(VerificationStatus::from_code("01"), Some(VerificationStatus::Verified));
    /// ```
    pub fn from_code(code: &str) -> Option<VerificationStatus> {
        Some(match code.trim() {
            "01" => VerificationStatus::Verified,
            "02" => VerificationStatus::NotTraced,
            "03" => VerificationStatus::TraceRequired,
            "04" => VerificationStatus::TraceNoMatch,
            "05" => VerificationStatus::TraceToResolve,
            "06" => VerificationStatus::TraceInProgress,
            "07" => VerificationStatus::NotPresent,
            "08" => VerificationStatus::TracePostponed,
            _ => return None,
        })
    }

    /// The display text.
    ///
    /// ```
    /// use carecodec_model::VerificationStatus;
    ///
    /// assert_eq!(VerificationStatus::Verified.display(), "Number present and verified");
    /// ```
    pub fn display(&self) -> &'static str {
        match self {
            VerificationStatus::Verified => "Number present and verified",
            VerificationStatus::NotTraced => "Number present but not traced",
            VerificationStatus::TraceRequired => "Trace required",
            VerificationStatus::TraceNoMatch => {
                "Trace attempted - No match or multiple match found"
            }
            VerificationStatus::TraceToResolve => {
                "Trace needs to be resolved - (NHS Number or patient detail conflict)"
            }
            VerificationStatus::TraceInProgress => "Trace in progress",
            VerificationStatus::NotPresent => "Number not present and trace not required",
            VerificationStatus::TracePostponed => "Trace postponed (baby under six weeks old)",
        }
    }
}

/// A typed identifier.
///
/// ```
/// use carecodec_model::{Identifier, NhsNumber};
///
/// let id = Identifier::Nhs { number: NhsNumber::parse("9434765919").unwrap(), verification: None };
/// assert_eq!(id.value(), "9434765919");
/// assert_eq!(id.kind(), "nhs-number");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(tag = "kind", content = "id", rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum Identifier {
    /// An NHS number (checked), with its verification status when known.
    #[cfg_attr(feature = "serde", serde(rename = "nhs-number"))]
    Nhs {
        /// The number.
        number: NhsNumber,
        /// Its verification status.
        verification: Option<VerificationStatus>,
    },
    /// A local hospital number, with the authority that assigned it (a trust's
    /// ODS code where known).
    Mrn {
        /// The number.
        value: String,
        /// Assigning authority, as sent (HL7 v2 CX.4.1, or the trust's ODS
        /// code given for an MRN sent without one). Trusts put their ODS code
        /// here: the FHIR writer writes an ODS-shaped one as an ODS
        /// organisation identifier, any other as the assigner's name.
        authority: Option<String>,
        /// The assigning authority's universal id as the identifier's system
        /// URI (an ISO OID as `urn:oid:…`, a UUID as `urn:uuid:…`, a URI as
        /// itself: HL7 v2 HD.2 typed by HD.3 in CX.4 / XCN.9, as the HL7
        /// V2-to-FHIR IG's `HD[uri]`), when the sender gave one. Never a
        /// placeholder; `None` for an authority known by its namespace alone.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        system: Option<String>,
    },
    /// ESR person number (VPD-scoped Person ID).
    EsrPerson {
        /// The ESR VPD.
        vpd: String,
        /// Person ID.
        value: String,
    },
    /// ESR assignment number.
    EsrAssignment {
        /// The ESR VPD.
        vpd: String,
        /// Assignment number.
        value: String,
    },
    /// ESR position number.
    EsrPosition {
        /// The ESR VPD.
        vpd: String,
        /// Position number.
        value: String,
    },
    /// ESR employee number.
    EsrEmployee {
        /// The ESR VPD.
        vpd: String,
        /// Employee number.
        value: String,
    },
    /// National Insurance number (normalised); `valid` false when it fails the format.
    NiNumber {
        /// The number.
        value: String,
        /// Whether it passes the HMRC format check.
        valid: bool,
    },
    /// General Medical Council reference number.
    Gmc(String),
    /// GP (GMP) national code.
    Gmp(String),
    /// Nursing and Midwifery Council PIN.
    Nmc(String),
    /// Health and Care Professions Council registration.
    Hcpc(String),
    /// General Pharmaceutical Council registration.
    Gphc(String),
    /// ODS organisation code.
    OdsOrganisation(String),
    /// ODS site code.
    OdsSite(String),
    /// Spine Directory Service user id.
    SdsUser(String),
    /// Spine Directory Service role profile id.
    SdsRoleProfile(String),
    /// An encounter's visit number.
    VisitNumber {
        /// The number.
        value: String,
        /// Assigning authority, as sent (a visit-number scheme such as
        /// `VISITID`): a name, never written as an ODS code.
        authority: Option<String>,
        /// The assigning authority's universal id as the identifier's system
        /// URI (an ISO OID as `urn:oid:…`, a UUID as `urn:uuid:…`, a URI as
        /// itself: HL7 v2 HD.2 typed by HD.3 in CX.4 / XCN.9, as the HL7
        /// V2-to-FHIR IG's `HD[uri]`), when the sender gave one. Never a
        /// placeholder; `None` for an authority known by its namespace alone.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        system: Option<String>,
    },
    /// An identifier of another HL7 table 0203 type (`AN` account number,
    /// `SS`, `DL`, `PPN`, …) with the authority that assigned it. It is kept,
    /// and never keys a record.
    Typed {
        /// The HL7 table 0203 identifier type code; empty for one no type
        /// fits (an HL7 v2 EI with a namespace: OBX-18, DG1-20; an XON with
        /// an XON.6 authority and no XON.7 type), written without a type.
        kind: String,
        /// The value.
        value: String,
        /// Assigning authority, as sent (CX.4.1, the XCN.9 namespace, XON.6,
        /// an EI.2 application namespace): a name, never written as an ODS
        /// code.
        authority: Option<String>,
        /// The assigning authority's universal id as the identifier's system
        /// URI (an ISO OID as `urn:oid:…`, a UUID as `urn:uuid:…`, a URI as
        /// itself: HL7 v2 HD.2 typed by HD.3 in CX.4 / XCN.9, as the HL7
        /// V2-to-FHIR IG's `HD[uri]`), when the sender gave one. Never a
        /// placeholder; `None` for an authority known by its namespace alone.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        system: Option<String>,
    },
    /// Anything else, with the system or type it came with.
    Other {
        /// System URI, v2 identifier type, or authority.
        system: Option<String>,
        /// The value.
        value: String,
    },
}

impl Identifier {
    /// The identifier's value.
    ///
    /// ```
    /// use carecodec_model::Identifier;
    ///
    /// let mrn = Identifier::Mrn { value: "K1".into(), authority: Some("RX1".into()), system: None };
    /// assert_eq!(mrn.value(), "K1");
    /// assert_eq!(Identifier::OdsOrganisation("RX1".into()).value(), "RX1");
    /// ```
    pub fn value(&self) -> &str {
        match self {
            Identifier::Nhs { number, .. } => number.as_str(),
            Identifier::Mrn { value, .. }
            | Identifier::EsrPerson { value, .. }
            | Identifier::EsrAssignment { value, .. }
            | Identifier::EsrPosition { value, .. }
            | Identifier::EsrEmployee { value, .. }
            | Identifier::NiNumber { value, .. }
            | Identifier::VisitNumber { value, .. }
            | Identifier::Typed { value, .. }
            | Identifier::Other { value, .. } => value,
            Identifier::Gmc(v)
            | Identifier::Gmp(v)
            | Identifier::Nmc(v)
            | Identifier::Hcpc(v)
            | Identifier::Gphc(v)
            | Identifier::OdsOrganisation(v)
            | Identifier::OdsSite(v)
            | Identifier::SdsUser(v)
            | Identifier::SdsRoleProfile(v) => v,
        }
    }

    /// The assigning authority's universal id as a system URI, for the
    /// identifiers that carry one (an MRN, a visit number, a typed
    /// identifier): the `system` field of [`Identifier::Typed`].
    ///
    /// ```
    /// use carecodec_model::Identifier;
    ///
    /// let mrn = Identifier::Mrn {
    ///     value: "K1".into(),
    ///     authority: Some("RX1".into()),
    ///     system: Some("urn:oid:2.16.840.1.113883.2.1.3.2".into()),
    /// };
    /// assert_eq!(mrn.authority_system(), Some("urn:oid:2.16.840.1.113883.2.1.3.2"));
    /// assert_eq!(Identifier::Gmc("1234567".into()).authority_system(), None);
    /// ```
    pub fn authority_system(&self) -> Option<&str> {
        match self {
            Identifier::Mrn { system, .. }
            | Identifier::VisitNumber { system, .. }
            | Identifier::Typed { system, .. } => system.as_deref(),
            _ => None,
        }
    }

    /// A short kebab-case name of the kind.
    ///
    /// ```
    /// use carecodec_model::Identifier;
    ///
    /// assert_eq!(Identifier::OdsOrganisation("RX1".into()).kind(), "ods-organisation");
    /// assert_eq!(Identifier::Gmc("1234567".into()).kind(), "gmc");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Identifier::Nhs { .. } => "nhs-number",
            Identifier::Mrn { .. } => "mrn",
            Identifier::EsrPerson { .. } => "esr-person",
            Identifier::EsrAssignment { .. } => "esr-assignment",
            Identifier::EsrPosition { .. } => "esr-position",
            Identifier::EsrEmployee { .. } => "esr-employee",
            Identifier::NiNumber { .. } => "ni-number",
            Identifier::Gmc(_) => "gmc",
            Identifier::Gmp(_) => "gmp",
            Identifier::Nmc(_) => "nmc",
            Identifier::Hcpc(_) => "hcpc",
            Identifier::Gphc(_) => "gphc",
            Identifier::OdsOrganisation(_) => "ods-organisation",
            Identifier::OdsSite(_) => "ods-site",
            Identifier::SdsUser(_) => "sds-user",
            Identifier::SdsRoleProfile(_) => "sds-role-profile",
            Identifier::VisitNumber { .. } => "visit-number",
            Identifier::Typed { .. } => "typed",
            Identifier::Other { .. } => "other",
        }
    }
}

impl Identifier {
    /// Why the number of a registration on a UK professional register is not
    /// of that register's shape; `None` when it is, and for every other
    /// identifier (a GP national code, GMP, is not checked). The shapes: GMC
    /// seven digits (or `L` and six); NMC two digits, a letter, four digits
    /// and a letter (`01Z2345A`); HCPC two letters and one to six digits
    /// (`PA12345`); GPhC seven digits starting `2` (a pharmacist) or `5` (a
    /// pharmacy technician). The ESR reader checks the same shapes
    /// (`carecodec_esr::value::valid_registration`).
    ///
    /// ```
    /// use carecodec_model::Identifier;
    ///
    /// assert_eq!(Identifier::Gmc("7654321".into()).registration_problem(), None);
    /// assert!(Identifier::Gmc("12AB".into()).registration_problem().is_some());
    /// assert_eq!(Identifier::Nmc("01Z2345A".into()).registration_problem(), None);
    /// assert!(Identifier::Hcpc("12345".into()).registration_problem().is_some());
    /// assert_eq!(Identifier::Gphc("2012345".into()).registration_problem(), None);
    /// assert_eq!(Identifier::OdsOrganisation("RX1".into()).registration_problem(), None);
    /// ```
    pub fn registration_problem(&self) -> Option<&'static str> {
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        let (ok, why) = match self {
            Identifier::Gmc(v) => {
                let b = v.as_bytes();
                (
                    (b.len() == 7 && digits(b))
                        || matches!(b, [b'L', rest @ ..] if rest.len() == 6 && digits(rest)),
                    "a GMC number is seven digits",
                )
            }
            Identifier::Nmc(v) => (
                matches!(v.as_bytes(), [d1, d2, l, rest @ .., last]
                    if d1.is_ascii_digit() && d2.is_ascii_digit() && l.is_ascii_uppercase()
                        && rest.len() == 4 && digits(rest) && last.is_ascii_uppercase()),
                "an NMC PIN is two digits, a letter, four digits and a letter",
            ),
            Identifier::Hcpc(v) => (
                matches!(v.as_bytes(), [a, c, rest @ ..]
                    if a.is_ascii_uppercase() && c.is_ascii_uppercase()
                        && (1..=6).contains(&rest.len()) && digits(rest)),
                "an HCPC registration number is two letters and one to six digits",
            ),
            Identifier::Gphc(v) => {
                let b = v.as_bytes();
                (
                    b.len() == 7 && digits(b) && matches!(b.first(), Some(b'2' | b'5')),
                    "a GPhC registration number is seven digits starting 2 or 5",
                )
            }
            _ => return None,
        };
        (!ok).then_some(why)
    }

    /// A registration whose number is not of its register's shape (see
    /// [`Identifier::registration_problem`]) as the identifier it is kept as:
    /// [`Identifier::Other`] with the register and ` (invalid)` as its system,
    /// as an invalid NHS number is kept as `NHS (invalid)`. It is written as
    /// text, under no register's system, and never keys a record. `None` for
    /// a well-formed registration and for any other identifier.
    ///
    /// ```
    /// use carecodec_model::Identifier;
    ///
    /// let kept = Identifier::Gmc("12AB".into()).invalid_registration().unwrap();
    /// assert_eq!(kept, Identifier::Other { system: Some("GMC (invalid)".into()), value: "12AB".into() });
    /// assert!(kept.is_registration());
    /// assert_eq!(Identifier::Gmc("7654321".into()).invalid_registration(), None);
    /// ```
    pub fn invalid_registration(&self) -> Option<Identifier> {
        self.registration_problem()?;
        let register = match self {
            Identifier::Gmc(_) => "GMC",
            Identifier::Nmc(_) => "NMC",
            Identifier::Hcpc(_) => "HCPC",
            _ => "GPhC",
        };
        Some(Identifier::Other {
            system: Some(format!("{register}{INVALID}")),
            value: self.value().to_owned(),
        })
    }

    /// True for a professional registration on a UK register (GMC, GMP, NMC,
    /// HCPC, GPhC), including one kept by [`Identifier::invalid_registration`].
    ///
    /// ```
    /// use carecodec_model::Identifier;
    ///
    /// assert!(Identifier::Gmp("G1234567".into()).is_registration());
    /// assert!(!Identifier::OdsOrganisation("RX1".into()).is_registration());
    /// ```
    pub fn is_registration(&self) -> bool {
        match self {
            Identifier::Gmc(_)
            | Identifier::Gmp(_)
            | Identifier::Nmc(_)
            | Identifier::Hcpc(_)
            | Identifier::Gphc(_) => true,
            Identifier::Other {
                system: Some(s), ..
            } => s
                .strip_suffix(INVALID)
                .is_some_and(|r| matches!(r, "GMC" | "NMC" | "HCPC" | "GPhC")),
            _ => false,
        }
    }
}

/// What an invalid registration's register is suffixed with as the system of
/// the `Other` identifier it is kept as.
const INVALID: &str = " (invalid)";

/// True for an ISO OID as FHIR's `oid` type has it (without `urn:oid:`):
/// `[0-2](\.(0|[1-9][0-9]*))+`.
///
/// ```
/// use carecodec_model::identifier::is_oid;
///
/// assert!(is_oid("2.16.840.1.113883.2.1.3.2"));
/// assert!(!is_oid("RX1"));
/// assert!(!is_oid("2.016.1")); // no leading zeros in an arc
/// assert!(!is_oid("3.1"));
/// ```
pub fn is_oid(s: &str) -> bool {
    let mut arcs = s.split('.');
    matches!(arcs.next(), Some("0" | "1" | "2"))
        && s.contains('.')
        && arcs.all(|a| {
            !a.is_empty()
                && a.bytes().all(|b| b.is_ascii_digit())
                && (a == "0" || !a.starts_with('0'))
        })
}

/// True for a UUID in its 8-4-4-4-12 hexadecimal form (without `urn:uuid:`).
///
/// ```
/// use carecodec_model::identifier::is_uuid;
///
/// assert!(is_uuid("64dcbd38-61ea-484b-8c1c-0a1b2c3d4e5f"));
/// assert!(!is_uuid("64dcbd3861ea484b8c1c0a1b2c3d4e5f"));
/// ```
pub fn is_uuid(s: &str) -> bool {
    let mut groups = s.split('-');
    [8, 4, 4, 4, 12].into_iter().all(|n| {
        groups
            .next()
            .is_some_and(|g| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
    }) && groups.next().is_none()
}

/// True for an absolute URI: a scheme (a letter, then letters, digits, `+`,
/// `-` or `.`), a colon, something after it, and no whitespace.
///
/// ```
/// use carecodec_model::identifier::is_uri;
///
/// assert!(is_uri("https://pas.example.nhs.uk/hl7"));
/// assert!(is_uri("urn:oid:2.16.840.1"));
/// assert!(!is_uri("pas.example.nhs.uk"));
/// assert!(!is_uri("not a uri"));
/// ```
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    !rest.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !s.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The check digit computed the long way, as the NHS Data Dictionary describes it.
    fn oracle(digits: &[u32]) -> Option<u32> {
        let total: u32 = digits.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        match 11 - (total % 11) {
            11 => Some(0),
            10 => None,
            c => Some(c),
        }
    }

    proptest! {
        #[test]
        fn modulus_11_matches_the_oracle(first in prop::collection::vec(0u32..10, 9), last in 0u32..10) {
            let s: String = first.iter().chain(std::iter::once(&last)).map(|d| char::from_digit(*d, 10).unwrap()).collect();
            let expected = oracle(&first);
            let got = NhsNumber::parse(&s);
            let zeros = last == 0 && first.iter().all(|d| *d == 0);
            match expected {
                None => prop_assert_eq!(got, Err(NhsNumberError::CheckDigitTen)),
                Some(_) if zeros => prop_assert_eq!(got, Err(NhsNumberError::AllZeros)),
                Some(c) if c == last => prop_assert!(got.is_ok()),
                Some(_) => prop_assert_eq!(got, Err(NhsNumberError::CheckDigitMismatch)),
            }
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn identifiers_serialise_with_their_kind() {
        let ods = serde_json::to_string(&Identifier::OdsOrganisation("B82001".into())).unwrap();
        assert_eq!(ods, r#"{"kind":"ods-organisation","id":"B82001"}"#);
        let nhs = Identifier::Nhs {
            number: NhsNumber::parse("9434765919").unwrap(),
            verification: Some(VerificationStatus::Verified),
        };
        let text = serde_json::to_string(&nhs).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"nhs-number","id":{"number":"9434765919","verification":"verified"}}"#
        );
        assert_eq!(serde_json::from_str::<Identifier>(&text).unwrap(), nhs);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn an_authority_system_is_optional_in_json() {
        // JSON written before the field existed still reads, with no system.
        let old = r#"{"kind":"mrn","id":{"value":"123","authority":"RX1"}}"#;
        let mrn: Identifier = serde_json::from_str(old).unwrap();
        assert_eq!(
            mrn,
            Identifier::Mrn {
                value: "123".into(),
                authority: Some("RX1".into()),
                system: None,
            }
        );
        assert_eq!(mrn.authority_system(), None);
        // No system: written as before.
        assert_eq!(serde_json::to_string(&mrn).unwrap(), old);
        let typed = Identifier::Typed {
            kind: "AN".into(),
            value: "9".into(),
            authority: None,
            system: Some("urn:oid:1.2.3".into()),
        };
        let text = serde_json::to_string(&typed).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"typed","id":{"kind":"AN","value":"9","authority":null,"system":"urn:oid:1.2.3"}}"#
        );
        assert_eq!(serde_json::from_str::<Identifier>(&text).unwrap(), typed);
        assert_eq!(typed.authority_system(), Some("urn:oid:1.2.3"));
    }

    #[test]
    fn shapes() {
        assert_eq!(NhsNumber::parse("943476591"), Err(NhsNumberError::Length));
        assert_eq!(NhsNumber::parse("94347659190"), Err(NhsNumberError::Length));
        assert_eq!(
            NhsNumber::parse("943476591x"),
            Err(NhsNumberError::NotDigits)
        );
        assert!(NhsNumber::parse("9000000009").is_ok());
    }

    #[test]
    fn all_zeros_passes_modulus_11_and_is_refused() {
        assert_eq!(oracle(&[0; 9]), Some(0));
        assert_eq!(
            NhsNumber::parse("0000000000"),
            Err(NhsNumberError::AllZeros)
        );
        assert_eq!(
            NhsNumber::parse("000 000 0000"),
            Err(NhsNumberError::AllZeros)
        );
        // Other repeated digits pass (the NHS ITK examples use 3333333333).
        assert!(NhsNumber::parse("3333333333").is_ok());
    }
}
