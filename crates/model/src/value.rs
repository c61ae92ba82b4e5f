//! Shared value types: partial-precision dates, codes with their system,
//! quantities, names, addresses and telecoms.

use chrono::{DateTime, FixedOffset, NaiveDate};
#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// How much of a date or time was known.
///
/// ```
/// use carecodec_model::{PartialDate, Precision};
/// use chrono::NaiveDate;
///
/// let d = NaiveDate::from_ymd_opt(1970, 2, 14).unwrap();
/// assert_eq!(PartialDate::new(d, Precision::Year).to_string(), "1970");
/// assert_eq!(PartialDate::new(d, Precision::Day).to_string(), "1970-02-14");
/// assert!(Precision::Year < Precision::Second);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Precision {
    /// Year only.
    Year,
    /// Year and month.
    Month,
    /// A whole day.
    Day,
    /// To the hour.
    Hour,
    /// To the minute.
    Minute,
    /// To the second.
    Second,
    /// Below the second.
    Fraction,
}

/// A date known to some precision (birth dates are often only a year).
///
/// ```
/// use carecodec_model::{PartialDate, Precision};
/// use chrono::NaiveDate;
///
/// let d = PartialDate::new(NaiveDate::from_ymd_opt(1970, 2, 1).unwrap(), Precision::Month);
/// assert_eq!(d.to_string(), "1970-02");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct PartialDate {
    /// The date, unknown parts set to their first value.
    pub date: NaiveDate,
    /// What was known (`Year`, `Month` or `Day`).
    pub precision: Precision,
}

impl PartialDate {
    /// A date with its precision.
    ///
    /// ```
    /// use carecodec_model::{PartialDate, Precision};
    /// use chrono::NaiveDate;
    ///
    /// let born = PartialDate::new(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(), Precision::Year);
    /// assert_eq!(born.precision, Precision::Year);
    /// assert_eq!(born.to_string(), "1970");
    /// ```
    pub fn new(date: NaiveDate, precision: Precision) -> PartialDate {
        PartialDate { date, precision }
    }

    /// A whole-day date.
    ///
    /// ```
    /// use carecodec_model::{PartialDate, Precision};
    /// use chrono::NaiveDate;
    ///
    /// let d = PartialDate::day(NaiveDate::from_ymd_opt(1970, 2, 14).unwrap());
    /// assert_eq!(d.precision, Precision::Day);
    /// assert_eq!(d.to_string(), "1970-02-14");
    /// ```
    pub fn day(date: NaiveDate) -> PartialDate {
        PartialDate::new(date, Precision::Day)
    }
}

impl std::fmt::Display for PartialDate {
    /// ISO 8601 to the known precision (`1970`, `1970-02`, `1970-02-01`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.precision {
            Precision::Year => write!(f, "{}", self.date.format("%Y")),
            Precision::Month => write!(f, "{}", self.date.format("%Y-%m")),
            _ => write!(f, "{}", self.date.format("%Y-%m-%d")),
        }
    }
}

/// An instant known to some precision, with its offset made explicit by the
/// mapping layer's time-zone rule.
///
/// ```
/// use carecodec_model::{PartialDateTime, Precision};
///
/// // 09:15 on 12 March 2024, sent without an offset: the zone gave GMT.
/// let t = PartialDateTime {
///     at: chrono::DateTime::parse_from_rfc3339("2024-03-12T09:15:00+00:00").unwrap(),
///     precision: Precision::Minute,
///     offset_inferred: true,
/// };
/// assert_eq!(t.at.format("%H:%M %:z").to_string(), "09:15 +00:00");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct PartialDateTime {
    /// The instant, in the offset that applied locally.
    pub at: DateTime<FixedOffset>,
    /// What was known.
    pub precision: Precision,
    /// True when the source sent no offset and the configured zone supplied it.
    pub offset_inferred: bool,
}

/// A code system, kept with every code.
///
/// ```
/// use carecodec_model::CodeSystem;
///
/// assert_eq!(CodeSystem::Icd10.uri(), "http://hl7.org/fhir/sid/icd-10");
/// assert_eq!(
///     CodeSystem::V2Table("0001".into()).uri(),
///     "http://terminology.hl7.org/CodeSystem/v2-0001"
/// );
/// // A local system keeps its name as sent.
/// assert_eq!(CodeSystem::Local("RX1-LAB".into()).uri(), "RX1-LAB");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum CodeSystem {
    /// SNOMED CT.
    Snomed,
    /// dm+d (the NHS Dictionary of medicines and devices).
    Dmd,
    /// LOINC.
    Loinc,
    /// UCUM units.
    Ucum,
    /// ICD-10.
    Icd10,
    /// An HL7 v2 table, by number (`0001`).
    V2Table(String),
    /// An NHS Data Dictionary code list, by name.
    NhsDataDictionary(String),
    /// A FHIR code system or value set URI.
    Uri(String),
    /// A local or unrecognised system, as it was named.
    Local(String),
}

impl CodeSystem {
    /// The FHIR system URI.
    ///
    /// ```
    /// use carecodec_model::CodeSystem;
    ///
    /// assert_eq!(CodeSystem::Snomed.uri(), "http://snomed.info/sct");
    /// assert_eq!(
    ///     CodeSystem::V2Table("0203".into()).uri(),
    ///     "http://terminology.hl7.org/CodeSystem/v2-0203"
    /// );
    /// ```
    pub fn uri(&self) -> String {
        let (base, rest) = self.uri_parts();
        [base, rest].concat()
    }

    /// The FHIR system URI as [`CodeSystem::uri`] joins it: a constant start
    /// and the part that varies (empty for a fixed system, the whole URI for
    /// [`CodeSystem::Uri`] and [`CodeSystem::Local`]). For writers that copy
    /// the URI out without making a `String`.
    ///
    /// ```
    /// use carecodec_model::CodeSystem;
    ///
    /// assert_eq!(CodeSystem::Loinc.uri_parts(), ("http://loinc.org", ""));
    /// let ethnic = CodeSystem::NhsDataDictionary("EthnicCategoryEngland".into());
    /// assert_eq!(
    ///     ethnic.uri_parts(),
    ///     ("https://fhir.hl7.org.uk/CodeSystem/UKCore-", "EthnicCategoryEngland")
    /// );
    /// assert_eq!(CodeSystem::Local("RX1".into()).uri_parts(), ("", "RX1"));
    /// ```
    pub fn uri_parts(&self) -> (&'static str, &str) {
        match self {
            CodeSystem::Snomed => ("http://snomed.info/sct", ""),
            CodeSystem::Dmd => ("https://dmd.nhs.uk", ""),
            CodeSystem::Loinc => ("http://loinc.org", ""),
            CodeSystem::Ucum => ("http://unitsofmeasure.org", ""),
            CodeSystem::Icd10 => ("http://hl7.org/fhir/sid/icd-10", ""),
            CodeSystem::V2Table(t) => ("http://terminology.hl7.org/CodeSystem/v2-", t),
            CodeSystem::NhsDataDictionary(n) => ("https://fhir.hl7.org.uk/CodeSystem/UKCore-", n),
            CodeSystem::Uri(u) | CodeSystem::Local(u) => ("", u),
        }
    }
}

/// A code with its system and display text.
///
/// ```
/// use carecodec_model::{Code, CodeSystem};
///
/// let hr = Code::new(CodeSystem::Loinc, "8867-4", Some("Heart rate"));
/// assert_eq!(hr.system.uri(), "http://loinc.org");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Code {
    /// The system.
    pub system: CodeSystem,
    /// The code.
    pub code: String,
    /// Display text, as sent.
    pub display: Option<String>,
}

impl Code {
    /// A code.
    ///
    /// ```
    /// use carecodec_model::{Code, CodeSystem};
    ///
    /// let mi = Code::new(CodeSystem::Snomed, "22298006", Some("Myocardial infarction"));
    /// assert_eq!(mi.code, "22298006");
    /// assert_eq!(mi.display.as_deref(), Some("Myocardial infarction"));
    /// assert_eq!(Code::new(CodeSystem::Snomed, "22298006", None).display, None);
    /// ```
    pub fn new(system: CodeSystem, code: &str, display: Option<&str>) -> Code {
        Code {
            system,
            code: code.to_owned(),
            display: display.map(str::to_owned),
        }
    }
}

/// A coded concept: one or more codings and the original text.
///
/// ```
/// use carecodec_model::{Code, CodeSystem, Concept};
///
/// let allergy = Concept {
///     codes: vec![Code::new(CodeSystem::Snomed, "91936005", Some("Allergy to penicillin"))],
///     text: Some("Penicillin allergy".into()),
/// };
/// assert_eq!(allergy.codes[0].system.uri(), "http://snomed.info/sct");
/// assert!(Concept::default().codes.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Concept {
    /// The codes (the first is primary).
    pub codes: Vec<Code>,
    /// Free text.
    pub text: Option<String>,
}

/// A measured amount, its decimal text kept.
///
/// ```
/// use carecodec_model::Quantity;
///
/// let glucose = Quantity {
///     value: "11.80".into(),
///     unit: Some("mmol/L".into()),
///     ucum: Some("mmol/L".into()),
///     comparator: None,
/// };
/// // The decimal text is kept as sent, trailing zero and all.
/// assert_eq!(glucose.value, "11.80");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Quantity {
    /// The number as sent (`135`, `11.80`).
    pub value: String,
    /// The unit as sent.
    pub unit: Option<String>,
    /// The UCUM code, when known.
    pub ucum: Option<String>,
    /// A comparator (`<`, `<=`, `>=`, `>`).
    pub comparator: Option<String>,
}

/// Administrative gender (the FHIR value set, to which NHS Data Dictionary
/// person gender codes map through the UK Core ConceptMap).
///
/// ```
/// use carecodec_model::{Gender, Patient, Source, Sourced};
///
/// let mut p = Patient::default();
/// p.gender = Some(Sourced::new(Gender::Female, Source::fhir("Patient.gender")));
/// assert_eq!(p.gender.map(|g| g.value), Some(Gender::Female));
/// // With the `serde` feature, the FHIR code is the JSON form.
/// # #[cfg(feature = "serde")]
/// assert_eq!(serde_json::to_string(&Gender::Unknown).unwrap(), r#""unknown""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Gender {
    /// Male.
    Male,
    /// Female.
    Female,
    /// Other.
    Other,
    /// Unknown.
    Unknown,
}

/// When a name, an address or a phone number is valid (v2 XPN.10/12/13,
/// XAD.12/13/14, XTN.13/14; FHIR `period`). Either end may be open.
///
/// ```
/// use carecodec_model::{PartialDateTime, Period, Precision};
/// let start = PartialDateTime {
///     at: chrono::DateTime::parse_from_rfc3339("2024-03-01T00:00:00+00:00").unwrap(),
///     precision: Precision::Day,
///     offset_inferred: true,
/// };
/// let p = Period { start: Some(start), end: None };
/// assert!(p.end.is_none());
/// assert_eq!(p.start.unwrap().precision, Precision::Day);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Period {
    /// From.
    pub start: Option<PartialDateTime>,
    /// Until.
    pub end: Option<PartialDateTime>,
}

/// A person's name.
///
/// ```
/// use carecodec_model::HumanName;
///
/// let name = HumanName {
///     family: Some("SMITH".into()),
///     given: vec!["JOHN".into(), "PAUL".into()],
///     prefix: vec!["MR".into()],
///     usage: Some("official".into()),
///     ..HumanName::default()
/// };
/// assert_eq!(name.given.join(" "), "JOHN PAUL");
/// assert!(name.period.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct HumanName {
    /// Family name.
    pub family: Option<String>,
    /// Given names in order.
    pub given: Vec<String>,
    /// Prefixes (titles).
    pub prefix: Vec<String>,
    /// Suffixes.
    pub suffix: Vec<String>,
    /// Use (`official`, `usual`, `maiden`, `nickname`…), FHIR codes.
    pub usage: Option<String>,
    /// When the name is valid.
    pub period: Option<Period>,
}

/// A postal address.
///
/// ```
/// use carecodec_model::Address;
///
/// let home = Address {
///     lines: vec!["1 Station Road".into()],
///     city: Some("Leeds".into()),
///     postcode: Some("LS2 7UE".into()),
///     usage: Some("home".into()),
///     ..Address::default()
/// };
/// assert_eq!(home.postcode.as_deref(), Some("LS2 7UE"));
/// assert!(home.kind.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Address {
    /// Street lines.
    pub lines: Vec<String>,
    /// Town or city.
    pub city: Option<String>,
    /// County or district.
    pub district: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Use (`home`, `work`, `temp`, `old`), FHIR codes.
    pub usage: Option<String>,
    /// Kind (`postal`, `physical`, `both`), FHIR `Address.type` codes (HL7 v2
    /// XAD.7 `M` mailing and `SH` shipping are `postal`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub kind: Option<String>,
    /// When the address is valid.
    pub period: Option<Period>,
}

/// A phone number or e-mail address.
///
/// ```
/// use carecodec_model::Telecom;
///
/// let mobile = Telecom {
///     system: Some("phone".into()),
///     value: "07700 900123".into(),
///     usage: Some("mobile".into()),
///     rank: Some(1),
///     ..Telecom::default()
/// };
/// assert_eq!(mobile.value, "07700 900123");
/// assert!(mobile.period.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Telecom {
    /// `phone`, `email`, `fax`…, FHIR codes.
    pub system: Option<String>,
    /// The number or address.
    pub value: String,
    /// `home`, `work`, `mobile`…, FHIR codes; or an HL7 v2 XTN.2 use code
    /// FHIR has none for (`EMR`, `ASN`…), kept as sent (not written to FHIR).
    pub usage: Option<String>,
    /// When the number is valid.
    pub period: Option<Period>,
    /// Preference order (1 = highest; v2 XTN.18, FHIR `rank`).
    pub rank: Option<u32>,
}
