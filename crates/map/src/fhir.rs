//! Canonical model → FHIR UK Core JSON (transaction Bundles).
//!
//! - [`event_bundle`]: an ADT or result [`Event`] → a `transaction` Bundle of
//!   Patient (conditional update on its key identifier when that has a
//!   system), Encounter, its Locations (`PUT Location/{id}`, the id from the
//!   location's scope — the sending facility, else the trust's ODS code
//!   given to [`event_bundle_for`], else a facility's universal id — and its
//!   parts), Practitioners, AllergyIntolerances, Conditions,
//!   DiagnosticReports and Observations (conditional updates on an
//!   identifier with a system: the OBX-21 instance id, the OBR-3 filler
//!   number) and the Devices, Organizations and PractitionerRoles they refer
//!   to, all referencing each other by `urn:uuid:` full URLs. A key with no
//!   system known by its namespace — a PV1-19 visit number `V123^^^RX1`, an
//!   OBR-3 / OBX-21 / OBX-18 EI `LAB456^LAB`, an OBX-23 organisation id —
//!   is `PUT {type}/{id}` with an id scoped as the Locations' (the sender,
//!   else the trust's ODS code), so a cancel, update or correction names the
//!   resource the first message created; with no scope, a create.
//! - [`worker_bundle`]: an ESR [`Worker`] → Practitioner, one
//!   PractitionerRole per assignment, and their Organizations and Locations;
//!   [`worker_not_written`] lists the worker's values the Bundle has no place
//!   for (a hire date, an assignment's grade and FTE…), each with its field
//!   and sources, and [`write_worker_bundle_noting`] writes and lists in one
//!   pass.
//!
//! Identifier systems are the UK ones (`https://fhir.nhs.uk/Id/nhs-number`,
//! `…/ods-organization-code`, `…/ods-site-code`, `https://fhir.hl7.org.uk/Id/gmc-number`,
//! `gmp-number`, `nmc-number`, `hcpc-number`, `gphc-number`); an identifier
//! with no agreed system (a trust MRN, an ESR id, an NI number) is written
//! with its v2-0203 type and its assigner, never with an invented system.
//! Resource ids are deterministic (a hash of the record key and position), so
//! mapping the same input twice gives the same Bundle.
//!
//! The other way, [`read_bundle`] reads a UK Core Bundle (or one resource)
//! back into an [`Event`] with FHIR-path provenance and the same accounting.
//! Read the JSON text as a [`JsonDocument`] to keep decimals as sent
//! (`4.50` stays `4.50` in the model); a plain `serde_json::Value` holds
//! them as `f64`, unless serde_json's `arbitrary_precision` is on (this
//! crate's `arbitrary-precision` feature).
//!
//! Each Bundle comes two ways: [`event_bundle_with`] / [`worker_bundle`] give
//! a `serde_json::Value` to inspect or edit; [`write_event_bundle`] /
//! [`write_worker_bundle`] append compact JSON straight from the builders'
//! borrowed tree (no `Value` in between: about twice as fast, members in the
//! order FHIR's own examples use, `resourceType` first, and decimals with
//! their text kept: `7.50` stays `7.50`, where `Value`'s `f64` numbers give
//! `7.5`; with the `arbitrary-precision` feature the `Value` keeps the text
//! too). Read either with `carecodec-fhir` to get typed resources or to run
//! the UK Core checks.
//!
//! ```
//! use carecodec_hl7v2::Message;
//! use carecodec_map::{fhir::event_bundle, v2::{map_message, V2Options}};
//!
//! let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
//! PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
//! PV1|1|I|W1^B2^3||||C1234567^JONES^ANN\r").unwrap();
//! let (event, _report) = map_message(&msg, &V2Options::default()).unwrap();
//! let bundle = event_bundle(&event).unwrap();
//! assert_eq!(bundle["type"], "transaction");
//! let patient = &bundle["entry"][0]["resource"];
//! assert_eq!(patient["identifier"][0]["system"], "https://fhir.nhs.uk/Id/nhs-number");
//! assert_eq!(bundle["entry"][0]["request"]["url"],
//!            "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919");
//! ```

use std::borrow::Cow;

use carecodec_model::{
    Address, Allergy, Application, Assignment, Attachment, Code, Concept, Condition, Contact,
    Deceased, Encounter, EncounterClass, Event, Gender, HumanName, Identifier, Location,
    MultipleBirth, NotWritten, Observation, ObservationValue, Organisation, PartialDateTime,
    Patient, Performer, Position, Practitioner, Precision, Quantity, Registration, ResultReport,
    ResultStatus, Sources, Telecom, Worker,
};
mod document;
mod read;
mod text;
mod tree;
pub use document::{JsonDocument, JsonInput};
pub use read::{parse_date, parse_date_time, read_bundle, read_workers};
use tree::{KeyedType, Map, Obj, Prefix, Uuid, Value, json, raw};

const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
const ODS_ORG: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const ODS_SITE: &str = "https://fhir.nhs.uk/Id/ods-site-code";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// An identifier `type` of one v2-0203 code, around the code (a
/// [`Value::Hole`]).
const TYPE_0203: [&str; 2] = [
    r#"{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"#,
    "}]}",
];
/// A UK Core StructureDefinition URL as a static string.
macro_rules! ukcore_sd {
    ($name:literal) => {
        concat!("https://fhir.hl7.org.uk/StructureDefinition/", $name)
    };
}

/// A resource's first members: `resourceType`, `id` and `meta` naming the
/// UK Core profile of the same name (room for the rest).
macro_rules! resource {
    ($type:literal, $id:expr) => {{
        let mut o = Map::with_capacity(16);
        o.insert("resourceType", json!($type));
        o.insert("id", Value::from(*$id));
        o.insert("meta", profile!($type));
        o
    }};
}

/// A `meta` naming the UK Core profile.
macro_rules! profile {
    ($name:literal) => {
        tree::Value::Raw(concat!(
            r#"{"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-"#,
            $name,
            r#""]}"#
        ))
    };
}

/// HL7 table 0912 (participation): the IG's PractitionerRole.code system for
/// OBX-16 / OBX-25.
const V2_0912: &str = "http://terminology.hl7.org/CodeSystem/v2-0912";
/// Core R4 extension on a performer reference for what the performer did
/// (its context: `DiagnosticReport.performer`, `Observation.performer`;
/// IG: OBR-34 technician `SPRF`, OBR-35 transcriptionist `TRANS`).
pub(crate) const PERFORMER_FUNCTION: &str =
    "http://hl7.org/fhir/StructureDefinition/event-performerFunction";
/// v3 ParticipationType, the system of [`PERFORMER_FUNCTION`]'s codes.
pub(crate) const V3_PARTICIPATION_TYPE: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

/// The v3 ParticipationType function (the IG's `event-performerFunction`
/// code) of a report performer in `role` (table 0912): technician `TN`
/// secondary performer `SPRF`, transcriptionist `TR` `TRANS`.
pub(crate) fn performer_function(role: Option<&str>) -> Option<&'static str> {
    match role {
        Some("TN") => Some("SPRF"),
        Some("TR") => Some("TRANS"),
        _ => None,
    }
}
/// R5 backports for an encounter's expected start and end (IG: PV2-8, PV2-9).
/// Core extension for when a condition was asserted (HL7 v2 DG1-19, IG).
pub(crate) const ASSERTED_DATE: &str =
    "http://hl7.org/fhir/StructureDefinition/condition-assertedDate";
const PLANNED_START: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedStartDate";
const PLANNED_END: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedEndDate";
/// Extensions Pack extension for an HL7 v2 OBX-4 Observation Sub-ID (IG
/// OG[Extension-Subidentifier]); its sub-extensions `original-sub-identifier`
/// (string), `group`, `sequence` (decimal), `identifier` (string).
pub(crate) const OBS_SUB_ID: &str = "http://hl7.org/fhir/StructureDefinition/observation-v2-subid";
/// The R5 cross-version extension for `Observation.value[x]` in R4, for
/// the types R4 lacks: carecodec writes its `valueAttachment` (HL7 v2 OBX-5
/// ED / RP). The IG's OBX sheet names
/// `https://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.valueAttachment`,
/// which no package defines; the cross-version package (xver-r5.r4) names
/// this one.
pub(crate) const OBS_VALUE_R5: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.value";
/// Core extension for a time of birth on `Patient.birthDate` (UK Core slice `birthTime`).
const BIRTH_TIME: &str = "http://hl7.org/fhir/StructureDefinition/patient-birthTime";

/// Why no Bundle was written.
///
/// ```
/// use carecodec_map::fhir::{worker_bundle, FhirError};
/// use carecodec_model::Worker;
///
/// // A worker with no ESR person id and no professional registration has
/// // no key: no Bundle is written.
/// let err = worker_bundle(&Worker::default()).unwrap_err();
/// assert_eq!(err, FhirError::Quarantined("worker"));
/// assert_eq!(err.to_string(), "quarantined: worker has no key identifier");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FhirError {
    /// The record has no identifier that can key it: quarantined, not sent.
    #[error("quarantined: {0} has no key identifier")]
    Quarantined(&'static str),
}

/// FNV-1a in two 64-bit lanes with different offset bases.
#[derive(Clone, Copy)]
struct Fnv([u64; 2]);

impl Fnv {
    fn feed(&mut self, s: &str) {
        for b in s.bytes() {
            for h in &mut self.0 {
                *h = (*h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
}

/// Deterministic UUID (version 4 layout) from a seed given in parts: the
/// FNV-1a hash of their concatenation (no string is built to hash it),
/// 128 bits from two lanes.
fn uuid(parts: &[&str]) -> Uuid {
    Seed::new(parts).uuid(&[])
}

/// A seed prefix as its hash state: FNV-1a reads its input in order, so
/// the ids of a resource's parts (`{seed}/device`, `{seed}/performer/0/role`)
/// hash on from it, with no `String` made for the prefix.
#[derive(Clone, Copy)]
struct Seed(Fnv);

impl Seed {
    fn new(parts: &[&str]) -> Self {
        Seed(Fnv([0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4])).with(parts)
    }

    /// The seed followed by `parts`.
    fn with(mut self, parts: &[&str]) -> Self {
        parts.iter().for_each(|p| self.0.feed(p));
        self
    }

    /// The id of the seed followed by `parts`.
    fn uuid(self, parts: &[&str]) -> Uuid {
        Uuid::new(self.with(parts).0.0)
    }
}

/// `urn:uuid:` and the id: the full URL of the resource with that id.
fn urn(id: &Uuid) -> Uuid {
    id.urn()
}

/// FHIR dateTime text at the value's precision (times always carry their offset).
///
/// ```
/// use carecodec_map::fhir::date_time;
/// use carecodec_model::{PartialDateTime, Precision};
///
/// let at = chrono::DateTime::parse_from_rfc3339("2024-03-12T09:15:00+00:00").unwrap();
/// let t = PartialDateTime { at, precision: Precision::Minute, offset_inferred: true };
/// // A FHIR time has its seconds and its offset.
/// assert_eq!(date_time(&t), "2024-03-12T09:15:00+00:00");
/// assert_eq!(date_time(&PartialDateTime { precision: Precision::Day, ..t }), "2024-03-12");
/// // A fraction keeps its digits below the millisecond.
/// let at = chrono::DateTime::parse_from_rfc3339("2024-03-12T09:15:00.123456789Z").unwrap();
/// let t = PartialDateTime { at, precision: Precision::Fraction, offset_inferred: false };
/// assert_eq!(date_time(&t), "2024-03-12T09:15:00.123456789+00:00");
/// ```
pub fn date_time(t: &PartialDateTime) -> String {
    String::from_utf8_lossy(date_time_text(t).as_bytes()).into_owned()
}

/// [`date_time`] as a tree value (inline: no allocation).
fn date_time_value(t: &PartialDateTime) -> Value<'static> {
    date_time_text(t).value()
}

fn date_time_text(t: &PartialDateTime) -> Text {
    let upto = match t.precision {
        Precision::Year => Upto::Year,
        Precision::Month => Upto::Month,
        Precision::Day => Upto::Day,
        Precision::Hour | Precision::Minute | Precision::Second => Upto::Second,
        _ => Upto::Millis,
    };
    iso(&t.at, upto)
}

/// A period's `end` as FHIR dateTime text: [`date_time`], except that an
/// end known only to the hour or the minute is written as the last second
/// of that hour or minute (`2024031209` as `09:59:59`), where [`date_time`]
/// zero-fills it (`09:00:00`). R4's `Period.end` "includes any matching
/// date/time" and a dateTime with a time needs its seconds: the last second
/// is the end that covers every time the value stands for, as a date end
/// covers its day, so the period written is never shorter than the one sent
/// and per-1 holds whenever the model's end is not before its start
/// ([`ends_before`]). A start keeps the zero-filled first second, the
/// earliest time it stands for. The model keeps the precision sent.
fn date_time_end_value(t: &PartialDateTime) -> Value<'static> {
    use chrono::Timelike;
    let first = match t.precision {
        Precision::Hour => t.at.with_minute(0),
        Precision::Minute => Some(t.at),
        _ => None,
    };
    let span = match t.precision {
        Precision::Hour => chrono::Duration::seconds(3599),
        _ => chrono::Duration::seconds(59),
    };
    match first
        .and_then(|f| f.with_second(0))
        .and_then(|f| f.with_nanosecond(0))
        .and_then(|f| f.checked_add_signed(span))
    {
        Some(last) => iso(&last, Upto::Second).value(),
        None => date_time_value(t),
    }
}

/// FHIR instant text: to the second, or to the millisecond when the value has
/// a fraction (an instant has no coarser form: a date reads as midnight).
fn instant_value(t: &PartialDateTime) -> Value<'static> {
    let upto = if t.precision == Precision::Fraction {
        Upto::Millis
    } else {
        Upto::Second
    };
    iso(&t.at, upto).value()
}

/// A date at its precision (`1970`, `1970-02`, `1970-02-01`), as
/// `PartialDate`'s `Display` writes it, without a format string.
fn date_value(d: &carecodec_model::PartialDate) -> Value<'static> {
    use chrono::Datelike;
    let upto = match d.precision {
        Precision::Year => Upto::Year,
        Precision::Month => Upto::Month,
        _ => Upto::Day,
    };
    match u32::try_from(d.date.year()) {
        Ok(y) if y <= 9999 => {
            let mut s = Text::default();
            s.digits(y, 4);
            if upto >= Upto::Month {
                s.push(b"-");
                s.digits(d.date.month(), 2);
            }
            if upto >= Upto::Day {
                s.push(b"-");
                s.digits(d.date.day(), 2);
            }
            s.value()
        }
        // Outside 0..=9999 (never from HL7 v2 or FHIR input): chrono's form.
        _ => Value::from(d.to_string()),
    }
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Upto {
    Year,
    Month,
    Day,
    Second,
    Millis,
}

/// Date or time text in a stack buffer (longer text is cut, which ISO
/// dates never are: 38 bytes hold a six-digit signed year with nanoseconds
/// and offset).
struct Text {
    buf: [u8; 40],
    len: usize,
}

impl Default for Text {
    fn default() -> Self {
        Text {
            buf: [0; 40],
            len: 0,
        }
    }
}

impl Text {
    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len().saturating_sub(self.len));
        if let (Some(to), Some(from)) = (self.buf.get_mut(self.len..self.len + n), bytes.get(..n)) {
            to.copy_from_slice(from);
        }
        self.len += n;
    }

    /// `n` in decimal, zero-padded to `width` digits (the low `width` digits).
    fn digits(&mut self, n: u32, width: u32) {
        let end = self.len + width as usize;
        if let Some(slots) = self.buf.get_mut(self.len..end) {
            let mut n = n;
            for d in slots.iter_mut().rev() {
                // n % 10 < 10: the cast cannot truncate.
                *d = b'0' + (n % 10) as u8;
                n /= 10;
            }
            self.len = end;
        }
    }

    /// The text as a string value: dates and times are plain ASCII.
    fn value(&self) -> Value<'static> {
        Value::ascii(self.as_bytes())
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// ISO 8601 text of `at` down to `upto`, with its offset when there is a
/// time (`2024-03-12T09:15:00+00:00`): what chrono's `%Y-%m-%dT%H:%M:%S%:z`
/// writes, without parsing a format string on every call.
fn iso(at: &chrono::DateTime<chrono::FixedOffset>, upto: Upto) -> Text {
    use chrono::{Datelike, Timelike};
    // The local date and time once (each accessor of a `DateTime` would
    // add the offset again).
    let local = at.naive_local();
    let mut s = Text::default();
    match u32::try_from(local.year()) {
        Ok(y) if y <= 9999 => s.digits(y, 4),
        // Outside 0..=9999 (never from HL7 v2 or FHIR input): chrono's form.
        _ => s.push(format!("{:+05}", local.year()).as_bytes()),
    }
    if upto >= Upto::Month {
        s.push(b"-");
        s.digits(local.month(), 2);
    }
    if upto >= Upto::Day {
        s.push(b"-");
        s.digits(local.day(), 2);
    }
    if upto >= Upto::Second {
        s.push(b"T");
        s.digits(local.hour(), 2);
        s.push(b":");
        s.digits(local.minute(), 2);
        s.push(b":");
        // A leap second (chrono: second 59, nanoseconds past a billion) is
        // `60`, which R4's dateTime and instant allow.
        let leap = local.nanosecond() >= 1_000_000_000;
        s.digits(if leap { 60 } else { local.second().min(59) }, 2);
        if upto == Upto::Millis {
            // The millisecond, and the finer digits the value has (a FHIR
            // fraction may have any number: `.123456789` is not cut).
            let (mut n, mut width) = (local.nanosecond() % 1_000_000_000, 9);
            while width > 3 && n % 10 == 0 {
                n /= 10;
                width -= 1;
            }
            s.push(b".");
            s.digits(n, width);
        }
        let off = at.offset().local_minus_utc();
        s.push(if off < 0 { b"-" } else { b"+" });
        let off = off.unsigned_abs() / 60;
        s.digits(off / 60, 2);
        s.push(b":");
        s.digits(off % 60, 2);
    }
    s
}

// Inlined: called ~150 times, each a test and an insert.
#[inline(always)]
fn put<'a>(o: &mut Map<'a>, k: &'static str, v: Value<'a>) {
    if !v.is_empty() {
        o.insert(k, v);
    }
}

/// A v2-0203 identifier type as a constant `CodeableConcept`.
macro_rules! type_cc {
    ($code:literal, $display:literal) => {
        raw!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": $code, "display": $display}]})
    };
}

/// An identifier's assigner, or an organisation named by a facility field.
///
/// Only an authority read from a field NHS usage fills with an ODS
/// organisation code may claim the ODS system ([`ods_assigner`]); every
/// other authority is a name ([`named_assigner`]): an application's
/// namespace (OBR-2/3 EI.2 `EPR`, `LAB`), a register or provider table
/// (XCN.9 `PROVID`), a visit-number scheme (`VISITID`), an XON.6 authority
/// or a typed identifier's CX.4. [`identifier_map`] decides by the kind of
/// identifier: an MRN's authority (PID-3 / MRG-1 CX.4, or the trust's ODS
/// code given with `--trust-ods`: where trusts put their ODS code) may be an
/// ODS code; a visit number's and a typed identifier's are names. The
/// MessageHeader's sender and receiver (MSH-4, MSH-6) and the Provenance's
/// sending facility ([`who_assigner`]) are facility fields: ODS codes too.
fn ods_assigner(authority: &str) -> Value<'_> {
    // Written around the authority: no object nodes.
    static ODS: [&str; 2] = [
        r#"{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"#,
        "}}",
    ];
    debug_assert!(ODS[0].contains(ODS_ORG));
    if is_ods(authority) {
        Value::Hole(&ODS, authority)
    } else {
        named_assigner(authority)
    }
}

/// An authority known by its name: `{"display": authority}`, never an
/// identifier in a system it was not sent with.
fn named_assigner(authority: &str) -> Value<'_> {
    static DISPLAY: [&str; 2] = [r#"{"display":"#, "}"];
    Value::Hole(&DISPLAY, authority)
}

/// An ODS-looking value (3–6 upper-case letters and digits), in a field that
/// holds an organisation (see [`ods_assigner`]), is taken as its ODS code.
fn is_ods(authority: &str) -> bool {
    (3..=6).contains(&authority.len())
        && authority
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A Provenance agent for a sending facility (MSH-4, an organisation field):
/// `{"who": ods_assigner(authority)}`.
fn who_assigner(authority: &str) -> Value<'_> {
    static ODS: [&str; 2] = [
        r#"{"who":{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"#,
        "}}}",
    ];
    static DISPLAY: [&str; 2] = [r#"{"who":{"display":"#, "}}"];
    Value::Hole(if is_ods(authority) { &ODS } else { &DISPLAY }, authority)
}

/// One identifier as FHIR JSON.
///
/// ```
/// use carecodec_map::fhir::identifier;
/// use carecodec_model::{Identifier, NhsNumber};
///
/// let nhs = Identifier::Nhs { number: NhsNumber::parse("9434765919").unwrap(), verification: None };
/// assert_eq!(identifier(&nhs), serde_json::json!({
///     "system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}));
/// // An MRN has no agreed system: it is written with its type and assigner.
/// let mrn = identifier(&Identifier::Mrn { value: "K1".into(), authority: Some("RX1".into()), system: None });
/// assert!(mrn.get("system").is_none());
/// assert_eq!(mrn["type"]["coding"][0]["code"], "MR");
/// assert_eq!(mrn["assigner"]["identifier"]["value"], "RX1");
/// ```
pub fn identifier(id: &Identifier) -> serde_json::Value {
    identifier_tree(id).into_serde()
}

/// The identifier system an identifier is written with, if it has an agreed
/// one (the NHS number, the registers, ODS, SDS, or a URI it came with).
fn system_of(id: &Identifier) -> Option<&str> {
    Some(match id {
        Identifier::Nhs { .. } => NHS_NUMBER,
        Identifier::Gmc(_) => "https://fhir.hl7.org.uk/Id/gmc-number",
        Identifier::Gmp(_) => "https://fhir.hl7.org.uk/Id/gmp-number",
        Identifier::Nmc(_) => "https://fhir.hl7.org.uk/Id/nmc-number",
        Identifier::Hcpc(_) => "https://fhir.hl7.org.uk/Id/hcpc-number",
        Identifier::Gphc(_) => "https://fhir.hl7.org.uk/Id/gphc-number",
        Identifier::OdsOrganisation(_) => ODS_ORG,
        Identifier::OdsSite(_) => ODS_SITE,
        Identifier::SdsUser(_) => "https://fhir.nhs.uk/Id/sds-user-id",
        Identifier::SdsRoleProfile(_) => "https://fhir.nhs.uk/Id/sds-role-profile-id",
        // A URI: R4's `uri` holds no white space (`\S*`), so a system with
        // some (`http://x y`, from FHIR input) is text, as any other
        // non-URI system is (`type.text`).
        Identifier::Other {
            system: Some(s), ..
        } if (s.starts_with("http") || s.starts_with("urn:")) && !s.bytes().any(|b| b <= b' ') => s,
        _ => return None,
    })
}

/// `{"system": <url>, "value": …}` as the constant text around the value.
macro_rules! system_value {
    ($url:literal) => {
        &[concat!(r#"{"system":""#, $url, r#"","value":"#), "}"]
    };
}

/// An NHS number with its verification status: the constant extension,
/// the system, then the number.
macro_rules! nhs_verified {
    ($code:literal, $display:literal) => {
        &[
            concat!(
                r#"{"extension":[{"url":""#,
                ukcore_sd!("Extension-UKCore-NHSNumberVerificationStatus"),
                r#"","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland","code":""#,
                $code,
                r#"","display":""#,
                $display,
                r#""}]}}],"system":"https://fhir.nhs.uk/Id/nhs-number","value":"#
            ),
            "}",
        ]
    };
}

/// One identifier: the common kinds (the registers, ODS, SDS, NHS numbers)
/// as constant text around the value (no nodes, no allocation); the others
/// as [`identifier_map`] builds them.
fn identifier_tree<'a>(id: &'a Identifier) -> Value<'a> {
    use carecodec_model::VerificationStatus as V;
    let around: Option<&'static [&'static str; 2]> = match id {
        Identifier::Gmc(_) => Some(system_value!("https://fhir.hl7.org.uk/Id/gmc-number")),
        Identifier::Gmp(_) => Some(system_value!("https://fhir.hl7.org.uk/Id/gmp-number")),
        Identifier::Nmc(_) => Some(system_value!("https://fhir.hl7.org.uk/Id/nmc-number")),
        Identifier::Hcpc(_) => Some(system_value!("https://fhir.hl7.org.uk/Id/hcpc-number")),
        Identifier::Gphc(_) => Some(system_value!("https://fhir.hl7.org.uk/Id/gphc-number")),
        Identifier::OdsOrganisation(_) => Some(system_value!(
            "https://fhir.nhs.uk/Id/ods-organization-code"
        )),
        Identifier::OdsSite(_) => Some(system_value!("https://fhir.nhs.uk/Id/ods-site-code")),
        Identifier::SdsUser(_) => Some(system_value!("https://fhir.nhs.uk/Id/sds-user-id")),
        Identifier::SdsRoleProfile(_) => {
            Some(system_value!("https://fhir.nhs.uk/Id/sds-role-profile-id"))
        }
        Identifier::Nhs { verification, .. } => match verification {
            None => Some(system_value!("https://fhir.nhs.uk/Id/nhs-number")),
            Some(V::Verified) => Some(nhs_verified!("01", "Number present and verified")),
            Some(V::NotTraced) => Some(nhs_verified!("02", "Number present but not traced")),
            Some(V::TraceRequired) => Some(nhs_verified!("03", "Trace required")),
            Some(V::TraceNoMatch) => Some(nhs_verified!(
                "04",
                "Trace attempted - No match or multiple match found"
            )),
            Some(V::TraceToResolve) => Some(nhs_verified!(
                "05",
                "Trace needs to be resolved - (NHS Number or patient detail conflict)"
            )),
            Some(V::TraceInProgress) => Some(nhs_verified!("06", "Trace in progress")),
            Some(V::NotPresent) => Some(nhs_verified!(
                "07",
                "Number not present and trace not required"
            )),
            Some(V::TracePostponed) => Some(nhs_verified!(
                "08",
                "Trace postponed (baby under six weeks old)"
            )),
            #[allow(unreachable_patterns)]
            Some(_) => None,
        },
        _ => None,
    };
    match around {
        Some(a) => Value::Hole(a, id.value().trim()),
        None => identifier_map(id),
    }
}

/// One identifier as an object the caller may add to (a registration's
/// `period`).
fn identifier_map<'a>(id: &'a Identifier) -> Value<'a> {
    if !keyable(id) {
        // No value: no identifier (the writers list it in `not_written`).
        return Value::Object(Map::default());
    }
    if let (Some(system), false) = (system_of(id), matches!(id, Identifier::Nhs { .. })) {
        return json!({"system": system, "value": id.value().trim()});
    }
    match id {
        Identifier::Nhs {
            number,
            verification,
        } => {
            let mut o = Map::with_capacity(4);
            if let Some(vs) = verification {
                o.insert(
                    "extension",
                    json!([{
                        "url": ukcore_sd!("Extension-UKCore-NHSNumberVerificationStatus"),
                        "valueCodeableConcept": {"coding": [{
                            "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
                            "code": vs.code(),
                            "display": vs.display(),
                        }]}
                    }]),
                );
            }
            o.insert("system", json!(NHS_NUMBER));
            o.insert("value", json!(number.as_str()));
            Value::Object(o)
        }
        Identifier::Mrn {
            value,
            authority,
            system,
        } => {
            let mut o = Map::with_capacity(5);
            o.insert("use", json!("usual"));
            o.insert("type", type_cc!("MR", "Medical record number"));
            if let Some(s) = system {
                // White space percent-encoded: R4's `uri` holds none.
                o.insert("system", Value::from(uri_escape_whitespace(s)));
            }
            o.insert("value", json!(value.trim()));
            if let Some(a) = nonblank(authority.as_deref()) {
                // CX.4 of a hospital number: the trust, by its ODS code in NHS
                // usage (or `--trust-ods`).
                o.insert("assigner", ods_assigner(a));
            }
            Value::Object(o)
        }
        Identifier::VisitNumber {
            value,
            authority,
            system,
        } => {
            let mut o = Map::with_capacity(4);
            o.insert("type", type_cc!("VN", "Visit number"));
            if let Some(s) = system {
                // White space percent-encoded: R4's `uri` holds none.
                o.insert("system", Value::from(uri_escape_whitespace(s)));
            }
            o.insert("value", json!(value.trim()));
            if let Some(a) = nonblank(authority.as_deref()) {
                // A visit-number scheme (`VISITID`): a name.
                o.insert("assigner", named_assigner(a));
            }
            Value::Object(o)
        }
        Identifier::EsrPerson { vpd, value }
        | Identifier::EsrAssignment { vpd, value }
        | Identifier::EsrPosition { vpd, value }
        | Identifier::EsrEmployee { vpd, value } => {
            let what = match id {
                Identifier::EsrPerson { .. } => "ESR person id",
                Identifier::EsrAssignment { .. } => "ESR assignment number",
                Identifier::EsrPosition { .. } => "ESR position number",
                _ => "ESR employee number",
            };
            json!({"type": {"text": what}, "value": value, "assigner": {"display": format!("ESR VPD {vpd}")}})
        }
        Identifier::NiNumber { value, .. } => {
            json!({"type": {"text": "National Insurance number"}, "value": value})
        }
        Identifier::Typed {
            kind,
            value,
            authority,
            system,
        } => {
            let mut o = Map::with_capacity(4);
            // A type of nothing but whitespace (an XCN.13 of tabs) has no
            // FHIR code: the identifier goes without a type.
            let code = fhir_code(kind);
            // A code as sent (most): constant text around it, no allocation.
            match code {
                Value::String(Cow::Borrowed(c)) if !c.is_empty() => {
                    o.insert("type", Value::Hole(&TYPE_0203, c));
                }
                code if !code.is_empty() => {
                    o.insert("type", one_coding(Value::from(V2_0203), code, None));
                }
                _ => {}
            }
            if let Some(s) = system {
                // White space percent-encoded: R4's `uri` holds none.
                o.insert("system", Value::from(uri_escape_whitespace(s)));
            }
            o.insert("value", json!(value.trim()));
            if let Some(a) = nonblank(authority.as_deref()) {
                // An account number's, an XCN.9 provider table's, an
                // application's EI.2 namespace: a name, never an ODS code.
                o.insert("assigner", named_assigner(a));
            }
            Value::Object(o)
        }
        Identifier::Other { system, value } => match system {
            Some(s) => json!({"type": {"text": s}, "value": value.trim()}),
            None => json!({"value": value.trim()}),
        },
        _ => json!({"value": id.value().trim()}),
    }
}

/// Text as a FHIR `code` (no leading, trailing or repeated whitespace, no
/// line breaks: `[^\s]+( [^\s]+)*`); empty when nothing is left, which
/// [`put`] leaves out. Source codes can carry such whitespace (a v2 field read
/// across a stray line break); R4 rejects it.
fn fhir_code(text: &str) -> Value<'_> {
    // Most codes are clean already: borrow them.
    let clean = text
        .split(' ')
        .all(|w| !w.is_empty() && !w.contains(char::is_whitespace));
    if clean {
        return Value::from(text);
    }
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Value::from(out)
}

/// Text as a FHIR `uri` (no whitespace: each run becomes `%20`).
fn fhir_uri(text: String) -> Value<'static> {
    if !text.contains(char::is_whitespace) {
        return Value::from(text);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    Value::from(words.join("%20"))
}

/// Text as a FHIR `uri` / `url` (R4 regex `\S*`) with each whitespace
/// character percent-encoded as its UTF-8 bytes (a space `%20`, a tab `%09`),
/// so that no character is lost (`http://x/doc 1.pdf` →
/// `http://x/doc%201.pdf`); borrowed when it has none.
pub(crate) fn uri_escape_whitespace(text: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write as _;
    if !text.contains(char::is_whitespace) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if c.is_whitespace() {
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A code system's URL as a FHIR `uri` ([`fhir_uri`]), borrowed or put
/// together as it is written rather than formatted into a `String`.
fn system_uri(system: &carecodec_model::CodeSystem) -> Value<'_> {
    match system.uri_parts() {
        (_, rest) if rest.contains(char::is_whitespace) => fhir_uri(system.uri()),
        (base, "") => Value::from(base),
        ("", rest) => Value::from(rest),
        // The model's start of the URI, written from the tree's copy of it
        // (any other start: the model's text, joined).
        (base, rest) => match Prefix::of(base) {
            Some(p) => Value::Prefixed(p, rest),
            None => fhir_uri(system.uri()),
        },
    }
}

/// Text as a FHIR `string`: without surrounding whitespace (HL7 v2
/// trailing blanks mean nothing); empty, which [`put`] leaves out, when
/// nothing else is left (FHIR strings must have content).
fn fhir_string(text: &str) -> Value<'_> {
    Value::from(text.trim())
}

/// True when a coding's system is written: one kept by name
/// ([`carecodec_model::CodeSystem::Local`]: a v2 `L`, `LB`, `99zzz` or
/// unknown CWE.3 name) is not, as `Coding.system` must be an absolute URI;
/// the coding keeps its code and display, and the name is listed in
/// `not_written` (`text::text_notes`).
fn system_written(system: &carecodec_model::CodeSystem) -> bool {
    !matches!(system, carecodec_model::CodeSystem::Local(_))
}

/// A Coding: its system only with a code (a system alone names no
/// concept) and only when it is a URI ([`system_written`]), a blank
/// display left out; empty when nothing is left.
fn coding(c: &Code) -> Value<'_> {
    let mut o = Map::with_capacity(4);
    let code = fhir_code(&c.code);
    if !code.is_empty() && system_written(&c.system) {
        put(&mut o, "system", system_uri(&c.system));
    }
    put(&mut o, "code", code);
    if let Some(d) = &c.display {
        put(&mut o, "display", fhir_string(d));
    }
    Value::Object(o)
}

/// A CodeableConcept, written as it is built (nothing edits one after): one
/// allocation, where a tree took one for the object, one for the `coding`
/// array and one for each coding.
fn concept(c: &Concept) -> Value<'static> {
    let text = c.text.as_ref().map_or(0, |t| t.len() + 10);
    let mut o = Obj::with_capacity(codings_len(&c.codes) + text);
    coding_member(&mut o, &c.codes);
    if let Some(t) = &c.text {
        o.str("text", t);
    }
    o.finish()
}

/// A required CodeableConcept: the concept, or the data-absent-reason
/// extension (`unknown`) when nothing of it can be written (R4 has no empty
/// objects).
fn concept_or_absent(c: &Concept) -> Value<'_> {
    match concept(c) {
        v if v.is_empty() => absent(),
        v => v,
    }
}

/// A CodeableConcept of one code; empty when the coding is.
fn code_cc(c: &Code) -> Value<'static> {
    let codes = std::slice::from_ref(c);
    let mut o = Obj::with_capacity(codings_len(codes));
    coding_member(&mut o, codes);
    o.finish()
}

/// `{"coding": [{"system": system, "code": code, "display": display}]}` from
/// a table's constants, written into one buffer (a tree takes three
/// allocations); every member written, as `json!` writes them.
fn one_coding(system: Value<'_>, code: Value<'_>, display: Option<&str>) -> Value<'static> {
    let mut o = Obj::with_capacity(112 + display.map_or(0, str::len));
    o.open_array("coding");
    o.open_element();
    o.always("system", system);
    o.always("code", code);
    if let Some(d) = display {
        o.always("display", Value::from(d));
    }
    o.close_object();
    o.close_array();
    o.finish()
}

/// About how long a CodeableConcept of `codes` is as JSON (its `coding`
/// member, the braces, and room for the brackets of an array around it), so
/// that its buffer is made once.
fn codings_len(codes: &[Code]) -> usize {
    let coding = |c: &Code| {
        let (base, rest) = c.system.uri_parts();
        let display = c.display.as_ref().map_or(0, |d| d.len() + 13);
        // `{"system":"…","code":"…"}` and a comma.
        28 + base.len() + rest.len() + c.code.len() + display
    };
    16 + codes.iter().map(coding).sum::<usize>()
}

/// The `coding` member of a CodeableConcept being written: each code as
/// [`coding`] makes it, those left empty left out, the member left out when
/// none is left.
fn coding_member(o: &mut Obj, codes: &[Code]) {
    let start = o.mark();
    o.open_array("coding");
    let mut any = false;
    for c in codes {
        let at = o.mark();
        o.open_element();
        let code = fhir_code(&c.code);
        if !code.is_empty() && system_written(&c.system) {
            o.value("system", system_uri(&c.system));
        }
        o.value("code", code);
        if let Some(d) = &c.display {
            o.str("display", d);
        }
        if o.opened_only(at) {
            o.undo(at);
        } else {
            o.close_object();
            any = true;
        }
    }
    if any {
        o.close_array();
    } else {
        o.undo(start);
    }
}

/// Written as it is built (nothing edits a name after): one allocation.
/// A name's `use` as FHIR's name-use code: the model's use is FHIR's code or
/// a v2 XPN.7 name type the IG maps; "" for one of no FHIR code (not
/// written, see [`subject_losses`]).
fn name_use(u: &str) -> &'static str {
    match u {
        "L" | "official" => "official",
        "usual" | "D" => "usual",
        "maiden" | "M" => "maiden",
        "old" => "old",
        "nickname" | "N" => "nickname",
        "anonymous" | "A" => "anonymous",
        "temp" => "temp",
        _ => "",
    }
}

fn name(n: &HumanName) -> Value<'_> {
    let mut o = Obj::with_capacity(96);
    if let Some(u) = &n.usage {
        o.str("use", name_use(u));
    }
    if let Some(f) = &n.family {
        o.str("family", f);
    }
    o.strs("given", &n.given);
    o.strs("prefix", &n.prefix);
    o.strs("suffix", &n.suffix);
    if let Some(p) = &n.period {
        o.value("period", period(p));
    }
    o.finish()
}

/// Whether `end` is before `start` whatever the precisions (R4 `per-1`):
/// the last instant `end` can stand for (its day, month, year…) is before
/// the first `start` can (a start's unknown parts are their first values).
///
/// ```
/// use carecodec_map::fhir::ends_before;
/// use carecodec_model::{PartialDateTime, Precision};
///
/// let at = |s: &str, precision| PartialDateTime {
///     at: chrono::DateTime::parse_from_rfc3339(s).unwrap(),
///     precision,
///     offset_inferred: false,
/// };
/// let admitted = at("2024-03-15T10:00:00+00:00", Precision::Second);
/// assert!(ends_before(&at("2024-03-12T10:00:00+00:00", Precision::Second), &admitted));
/// // The same day, to the day only: not before.
/// assert!(!ends_before(&at("2024-03-15T00:00:00+00:00", Precision::Day), &admitted));
/// // February (a month) ends before 1 March, 2023 (a year) before 2024.
/// let march = at("2024-03-01T00:00:00+00:00", Precision::Day);
/// assert!(ends_before(&at("2024-02-01T00:00:00+00:00", Precision::Month), &march));
/// assert!(ends_before(&at("2023-01-01T00:00:00+00:00", Precision::Year), &march));
/// ```
pub fn ends_before(end: &PartialDateTime, start: &PartialDateTime) -> bool {
    let months = |n| end.at.checked_add_months(chrono::Months::new(n));
    let span = |d| end.at.checked_add_signed(d);
    let after = match end.precision {
        Precision::Year => months(12),
        Precision::Month => months(1),
        Precision::Day => span(chrono::Duration::days(1)),
        Precision::Hour => span(chrono::Duration::hours(1)),
        Precision::Minute => span(chrono::Duration::minutes(1)),
        _ => span(chrono::Duration::seconds(1)),
    };
    after.is_some_and(|last| last <= start.at)
}

/// [`ends_before`] for dates (a contact's NK1-8 / 9 period): the last day
/// `end` can stand for (its month or year when only those are known) is
/// before `start`'s first.
///
/// ```
/// use carecodec_map::fhir::date_ends_before;
/// use carecodec_model::{PartialDate, Precision};
/// use chrono::NaiveDate;
///
/// let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
/// let start = PartialDate::day(day(2024, 1, 1));
/// assert!(date_ends_before(&PartialDate::day(day(2023, 12, 31)), &start));
/// assert!(!date_ends_before(&PartialDate::day(day(2024, 1, 1)), &start));
/// // 2024 (a year) may be any day of it: not before 1 January 2024.
/// assert!(!date_ends_before(&PartialDate::new(day(2024, 1, 1), Precision::Year), &start));
/// ```
pub fn date_ends_before(
    end: &carecodec_model::PartialDate,
    start: &carecodec_model::PartialDate,
) -> bool {
    use chrono::Datelike;
    let first = end.date.with_day(1);
    let after = match end.precision {
        Precision::Year => first
            .and_then(|d| d.with_month(1))
            .and_then(|d| d.checked_add_months(chrono::Months::new(12))),
        Precision::Month => first.and_then(|d| d.checked_add_months(chrono::Months::new(1))),
        _ => end.date.succ_opt(),
    };
    after.is_some_and(|next| next <= start.date)
}

/// A validity period as FHIR `period` (each end at its own precision). R4
/// per-1: never an end before the start (the v2 mapper and the FHIR reader
/// report and drop such an end; a model made elsewhere may still hold one).
fn period(p: &carecodec_model::Period) -> Value<'_> {
    let mut o = Map::with_capacity(4);
    if let Some(s) = &p.start {
        put(&mut o, "start", date_time_value(s));
    }
    if let Some(e) = p
        .end
        .as_ref()
        .filter(|e| !p.start.as_ref().is_some_and(|s| ends_before(e, s)))
    {
        put(&mut o, "end", date_time_end_value(e));
    }
    Value::Object(o)
}

/// An address's `use` as FHIR's address-use code (from FHIR's own or a v2
/// XAD.7 type); "" for one of no FHIR code (not written).
fn address_use(u: &str) -> &'static str {
    match u {
        "H" | "home" => "home",
        "B" | "O" | "work" => "work",
        "C" | "temp" => "temp",
        "BA" | "old" => "old",
        "BI" | "billing" => "billing",
        _ => "",
    }
}

/// True for an address kind FHIR's address-type has: postal | physical |
/// both (any other is not written).
fn address_type(k: &str) -> bool {
    matches!(k, "postal" | "physical" | "both")
}

/// Written as it is built (nothing edits an address after): one allocation.
fn address(a: &Address) -> Value<'_> {
    let mut o = Obj::with_capacity(160);
    if let Some(u) = &a.usage {
        o.str("use", address_use(u));
    }
    if let Some(k) = a.kind.as_deref().filter(|k| address_type(k)) {
        o.str("type", k);
    }
    o.strs("line", &a.lines);
    for (k, v) in [
        ("city", &a.city),
        ("district", &a.district),
        ("postalCode", &a.postcode),
        ("country", &a.country),
    ] {
        if let Some(v) = v {
            o.str(k, v);
        }
    }
    if let Some(p) = &a.period {
        o.value("period", period(p));
    }
    o.finish()
}

/// A telecom's `use` as FHIR's contact-point-use code (from FHIR's own or a
/// v2 XTN.2 use code); "" for one of no FHIR code (not written).
fn telecom_use(u: &str) -> &'static str {
    match u {
        "home" | "PRN" => "home",
        "work" | "WPN" => "work",
        "mobile" | "PRS" => "mobile",
        "temp" => "temp",
        "old" => "old",
        _ => "",
    }
}

/// Written as it is built (nothing edits a telecom after): one allocation.
fn telecom(t: &Telecom) -> Value<'_> {
    let mut o = Obj::with_capacity(80);
    let system = match t.system.as_deref() {
        Some("email" | "Internet" | "X.400") => "email",
        Some("fax" | "FX") => "fax",
        Some("pager" | "BP") => "pager",
        Some("other" | "MD" | "SAT" | "TDD" | "TTY") => "other",
        Some("url") => "url",
        Some("sms") => "sms",
        _ if t.value.contains('@') => "email",
        _ => "phone",
    };
    o.str("system", system);
    o.str("value", &t.value);
    if let Some(u) = &t.usage {
        o.str("use", telecom_use(u));
    }
    if let Some(r) = t.rank.filter(|r| positive_int(*r)) {
        o.value("rank", Value::from(r));
    }
    if let Some(p) = &t.period {
        o.value("period", period(p));
    }
    o.finish()
}

/// True for a value R4's `positiveInt` holds: 1 to 2,147,483,647 (any
/// other is not written: a telecom's rank, a diagnosis's priority).
fn positive_int(n: u32) -> bool {
    (1..=2_147_483_647).contains(&n)
}

fn gender(g: Gender) -> &'static str {
    match g {
        Gender::Male => "male",
        Gender::Female => "female",
        Gender::Other => "other",
        _ => "unknown",
    }
}

/// A Bundle entry: the resource, its full URL and its transaction request
/// (kept apart until written, so a message Bundle leaves the request out
/// and a transaction is written without an object per entry and request).
struct Entry<'a> {
    full_url: Uuid,
    resource: Value<'a>,
    method: &'static str,
    url: Value<'a>,
}

impl<'a> Entry<'a> {
    /// The entry as a JSON object, with its `request` or without.
    fn into_value(self, with_request: bool) -> Value<'a> {
        let mut o = Map::with_capacity(3);
        o.insert("fullUrl", Value::from(&self.full_url));
        o.insert("resource", self.resource);
        if with_request {
            o.insert(
                "request",
                obj([("method", self.method.into()), ("url", self.url)]),
            );
        }
        Value::Object(o)
    }

    /// Appends what `into_value(true)` would write, without building it.
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"fullUrl\":");
        Value::from(&self.full_url).write(out);
        out.extend_from_slice(b",\"resource\":");
        self.resource.write(out);
        out.extend_from_slice(b",\"request\":{\"method\":");
        Value::from(self.method).write(out);
        out.extend_from_slice(b",\"url\":");
        self.url.write(out);
        out.extend_from_slice(b"}}");
    }
}

fn entry<'a>(
    full_url: &Uuid,
    resource: Value<'a>,
    method: &'static str,
    url: impl Into<Value<'a>>,
) -> Entry<'a> {
    Entry {
        full_url: *full_url,
        resource,
        method,
        url: url.into(),
    }
}

/// A JSON object from its members, moving the values in: `json!` passes a
/// `Value` member through serde, copying it whole (a Bundle's resources were
/// each copied once more that way).
fn obj<'a, const N: usize>(members: [(&'static str, Value<'a>); N]) -> Value<'a> {
    Value::Object(
        members
            .into_iter()
            .fold(Map::with_capacity(N), |mut m, (k, v)| {
                m.insert(k, v);
                m
            }),
    )
}

/// A FHIR `Reference` to a full URL.
fn reference<'a>(url: impl FullUrl) -> Value<'a> {
    url.reference()
}

/// What a reference can point at: a full URL given as text (copied), or a
/// [`Uuid`] (kept as its bits).
trait FullUrl: Sized {
    fn value<'a>(self) -> Value<'a>;

    /// `{"reference": url}`.
    fn reference<'a>(self) -> Value<'a> {
        obj([("reference", self.value())])
    }
}

impl FullUrl for &str {
    fn value<'a>(self) -> Value<'a> {
        Value::from(self.to_owned())
    }
}

impl FullUrl for &String {
    fn value<'a>(self) -> Value<'a> {
        Value::from(self.clone())
    }
}

impl FullUrl for &Uuid {
    fn value<'a>(self) -> Value<'a> {
        Value::from(self)
    }

    /// Written as the object, without a node for it.
    fn reference<'a>(self) -> Value<'a> {
        Uuid::reference(self)
    }
}

/// The conditional-update URL for a keyed resource: `Patient?identifier=
/// system|value`. `None` for an identifier without a system (an MRN known
/// only by its assigner's name): a token search cannot name an assigner, and
/// the value alone would match other organisations' numbers, so such a
/// resource is created, never matched.
fn conditional(resource: &str, id: &Identifier) -> Option<String> {
    let system = system_of(id).or_else(|| match id {
        Identifier::Mrn { .. } | Identifier::VisitNumber { .. } | Identifier::Typed { .. } => {
            id.authority_system()
        }
        _ => None,
    })?;
    // Trimmed, as the identifier is written: HL7 v2 blanks around a value
    // mean nothing, and a key on them would name another resource. A blank
    // value keys nothing: `system|` matches every resource with an
    // identifier in that system.
    let value = id.value().trim();
    if !keyable(id) || tree::blank_text(system) {
        return None;
    }
    let mut url = String::with_capacity(resource.len() + 13 + system.len() + value.len());
    url.push_str(resource);
    url.push_str("?identifier=");
    search_token_part(system, &mut url);
    url.push('|');
    search_token_part(value, &mut url);
    Some(url)
}

/// The key of a result (`Observation`, `DiagnosticReport`, and the
/// `ServiceRequest` a report answers) on its identifiers
/// ([`identifier_key`]): the first with a system (an HL7 v2 OBX-21 or OBR-3
/// filler number whose EI.3 universal id gave one, or an identifier read
/// from FHIR with its system) as a conditional update; else, in a `scope`,
/// the first known by its namespace alone (`LAB456^LAB`) as `PUT
/// {type}/{id}` with a scoped id ([`scoped_id`]). So a corrected (OBX-11
/// `C`), deleted (`D`) or withdrawn (`W`) result sent again replaces the one
/// it corrects. A placer number (`PLAC`, OBR-2) never keys one. `None`:
/// the result is created (`POST`).
fn result_key(
    rtype: KeyedType,
    ids: &[carecodec_model::Sourced<Identifier>],
    scope: Option<&str>,
) -> Option<Key> {
    identifier_key(rtype, ids, scope)
}

/// The keys ([`result_key`]) of the results of `event` in the order
/// [`event_entries`] writes them — the observations of no report, then for
/// each report its ServiceRequest, its observations and the
/// DiagnosticReport —, each made once. A key two of them share (two OBX-21
/// with the same instance id, two OBR with the same filler number) would
/// make them one resource, the second overwriting the first in the same
/// transaction, so those results are created instead (`None`).
fn result_keys(event: &Event, scope: Option<&str>) -> Vec<Option<Key>> {
    let n = event.observations.len()
        + event
            .reports
            .iter()
            .map(|r| r.observations.len() + 2)
            .sum::<usize>();
    if n == 0 {
        return Vec::new();
    }
    let obs = |o: &Observation| result_key(KeyedType::Observation, &o.identifiers, scope);
    let mut keys = Vec::with_capacity(n);
    keys.extend(event.observations.iter().map(obs));
    for r in &event.reports {
        keys.push(result_key(KeyedType::ServiceRequest, &r.identifiers, scope));
        keys.extend(r.observations.iter().map(obs));
        keys.push(result_key(
            KeyedType::DiagnosticReport,
            &r.identifiers,
            scope,
        ));
    }
    unshared(&mut keys);
    keys
}

/// Drops (to `None`) every key two or more of `keys` share: they would make
/// two resources one, the second overwriting the first in the same
/// transaction, so those are created instead.
fn unshared(keys: &mut [Option<Key>]) {
    let bits = |k: &Option<Key>| k.as_ref().map(|(id, _)| id.bits());
    if keys.len() <= 64 {
        // The usual message: compared pairwise, no allocation.
        let mut shared = 0u64;
        for (i, a) in keys.iter().enumerate() {
            let Some(a) = bits(a) else { continue };
            for (j, b) in keys.iter().enumerate().skip(i + 1) {
                if bits(b) == Some(a) {
                    shared |= (1 << i) | (1 << j);
                }
            }
        }
        for (i, k) in keys.iter_mut().enumerate() {
            if (shared >> i) & 1 == 1 {
                *k = None;
            }
        }
    } else {
        let mut sorted: Vec<[u64; 2]> = keys.iter().filter_map(bits).collect();
        sorted.sort_unstable();
        for k in keys.iter_mut() {
            if let Some(b) = bits(k) {
                let times =
                    sorted.partition_point(|x| *x <= b) - sorted.partition_point(|x| *x < b);
                if times > 1 {
                    *k = None;
                }
            }
        }
    }
}

/// The keys of the event's Conditions, in order ([`condition_key`]), each
/// with the index of the first Condition with its key ([`mark_firsts`]):
/// two DG1 with one DG1-20, or one code twice on one keyed visit, are the
/// same diagnosis, one Condition (written at the first), which the
/// Encounter's `diagnosis` lists once per type and priority.
fn condition_keys(
    event: &Event,
    encounter: Option<&Uuid>,
    scope: Option<&str>,
) -> Vec<(Option<Key>, usize)> {
    let mut keys: Vec<(Option<Key>, usize)> = event
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| (condition_key(c, encounter, scope), i))
        .collect();
    mark_firsts(&mut keys);
    keys
}

/// Sets the second member of each keyed item of `keys` (its own index on
/// entry) to the index of the first item with the same key: items of one
/// message with one key (the same allergen of the same patient twice, one
/// DG1-20 twice) describe the same thing, one resource, written at the
/// first with their values merged ([`event_entries`]). An R4 transaction
/// may not hold two entries with one conditional or keyed URL, and created
/// copies would add one more on the server with every message re-sending
/// the list. Items with no key keep their own index.
fn mark_firsts(keys: &mut [(Option<Key>, usize)]) {
    let bits = |k: &Option<Key>| k.as_ref().map(|(id, _)| id.bits());
    if keys.len() <= 64 {
        // The usual message: compared pairwise, no allocation.
        for i in 1..keys.len() {
            let (before, rest) = keys.split_at_mut(i);
            let Some(item) = rest.first_mut() else { break };
            let Some(b) = bits(&item.0) else { continue };
            // The earliest with the key is a first: its own index.
            if let Some((_, f)) = before.iter().find(|(k, _)| bits(k) == Some(b)) {
                item.1 = *f;
            }
        }
    } else {
        let mut sorted: Vec<([u64; 2], usize)> = keys
            .iter()
            .enumerate()
            .filter_map(|(i, (k, _))| Some((bits(k)?, i)))
            .collect();
        sorted.sort_unstable();
        let mut group: Option<([u64; 2], usize)> = None;
        for (b, i) in sorted {
            let first = match group {
                Some((g, f)) if g == b => f,
                _ => {
                    group = Some((b, i));
                    i
                }
            };
            if let Some(k) = keys.get_mut(i) {
                k.1 = first;
            }
        }
    }
}

/// The key of a Condition: its identifier (DG1-20) as a result's
/// ([`identifier_key`]: a conditional update on one with a system, else a
/// scoped id on one known by its namespace); else, when its Encounter is
/// keyed (`encounter`, its id), `PUT Condition/{id}` with the id from the
/// Encounter's id and the diagnosis's first code (system and code), so an
/// A08 or A03 sending the visit's DG1 list again, or a DG1-21 `D`, updates
/// the Condition the A01 created; else none (a create).
fn condition_key(c: &Condition, encounter: Option<&Uuid>, scope: Option<&str>) -> Option<Key> {
    if let Some(k) = identifier_key(KeyedType::Condition, &c.identifiers, scope) {
        return Some(k);
    }
    let code = c
        .code
        .value
        .codes
        .first()
        .filter(|k| !k.code.trim().is_empty())?;
    // The Encounter's id as text (its key is in it).
    let key = key_part(
        Seed::new(&[KeyedType::Condition.key_tag()]),
        "/encounter=",
        encounter?,
    );
    let id = code_key(key, code).uuid(&[]);
    Some((id, id.keyed(KeyedType::Condition)))
}

/// `key` followed by a code's system URI and its code (trimmed), each a
/// part ([`key_part`]), the URI fed in its two parts (no `String` made).
/// The system as written: none for one kept by name ([`system_written`]),
/// so a resource read back from the Bundle keeps its key.
fn code_key(key: Seed, code: &Code) -> Seed {
    let (base, rest) = if system_written(&code.system) {
        code.system.uri_parts()
    } else {
        ("", "")
    };
    let mut len = itoa::Buffer::new();
    let key = key.with(&[
        "system=",
        len.format(base.len() + rest.len()),
        ":",
        base,
        rest,
    ]);
    key_part(key, "code=", code.code.trim())
}

/// The keys of the event's AllergyIntolerances, in order: `PUT
/// AllergyIntolerance/{id}` with the id from the scope (the sender, else
/// the trust's ODS code), the Patient's id (`patient`: a Patient keyed by a
/// conditional update on an identifier with a system) and the allergen's first
/// code (system and code), so an A08 sending the patient's AL1 list again
/// updates the allergies it sent before. None (a create) with no scope, no
/// keyed Patient or an allergen with no code. Each with the index of the
/// first allergy with its key ([`mark_firsts`]): an allergen sent twice in
/// one message is one AllergyIntolerance, written at the first.
fn allergy_keys(
    event: &Event,
    patient: Option<&Uuid>,
    scope: Option<&str>,
) -> Vec<(Option<Key>, usize)> {
    let mut keys: Vec<(Option<Key>, usize)> = event
        .allergies
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let key = (|| {
                let (scope, patient) = (scope?, patient?);
                let code = a
                    .code
                    .value
                    .codes
                    .first()
                    .filter(|k| !k.code.trim().is_empty())?;
                let key = key_part(
                    scope_key(KeyedType::AllergyIntolerance, scope),
                    "patient=",
                    patient,
                );
                let id = code_key(key, code).uuid(&[]);
                Some((id, id.keyed(KeyedType::AllergyIntolerance)))
            })();
            (key, i)
        })
        .collect();
    mark_firsts(&mut keys);
    keys
}

/// `part` of a token search value appended to `url`: FHIR's search escapes
/// (`\`, `|`, `,`, `$` after a backslash), then percent-encoding of every
/// byte a query may not hold as it is. Registration numbers, NHS numbers and
/// system URLs come out unchanged.
fn search_token_part(part: &str, url: &mut String) {
    use std::fmt::Write as _;
    let safe = |b: &u8| b.is_ascii_alphanumeric() || b"-._~:/".contains(b);
    // The usual part (a system URL, an NHS or GMC number) is all safe: one copy.
    let plain = part.bytes().position(|b| !safe(&b)).unwrap_or(part.len());
    let (head, rest) = part.split_at(plain);
    url.push_str(head);
    for &b in rest.as_bytes() {
        let pair = [b'\\', b];
        let escaped = matches!(b, b'\\' | b'|' | b',' | b'$');
        for byte in if escaped { &pair[..] } else { &pair[1..] } {
            if safe(byte) {
                url.push(char::from(*byte));
            } else {
                // Writing to a String cannot fail.
                let _ = write!(url, "%{byte:02X}");
            }
        }
    }
}

/// The key identifier of a patient, in the v2 identity order; none when two
/// different NHS numbers conflict (the record is quarantined).
fn patient_key(p: &Patient) -> Option<&Identifier> {
    if crate::v2::conflicting_nhs(&p.identifiers).is_some() {
        return None;
    }
    key_of(p.identifiers.iter().map(|s| &s.value))
}

/// True when `id` may key a resource: its value is not blank (no FHIR
/// string; a blank value is never written, and as a key it would name every
/// resource of its system, or every blank one of its sender).
fn keyable(id: &Identifier) -> bool {
    !tree::blank_text(id.value())
}

/// The key among `ids`, in the v2 identity order: a verified NHS number,
/// any NHS number, an MRN with an assigning authority; an identifier of
/// blank value is none ([`keyable`]).
fn key_of<'a>(ids: impl Iterator<Item = &'a Identifier> + Clone) -> Option<&'a Identifier> {
    let ids = || ids.clone().filter(|i| keyable(i));
    ids()
        .find(|i| {
            matches!(
                i,
                Identifier::Nhs {
                    verification: Some(carecodec_model::VerificationStatus::Verified),
                    ..
                }
            )
        })
        .or_else(|| ids().find(|i| matches!(i, Identifier::Nhs { .. })))
        .or_else(|| {
            ids().find(|i| {
                matches!(
                    i,
                    Identifier::Mrn {
                        authority: Some(_),
                        ..
                    }
                )
            })
        })
}

/// Core extensions on Patient (HL7 V2-to-FHIR IG PID map).
pub(crate) const CITIZENSHIP: &str = "http://hl7.org/fhir/StructureDefinition/patient-citizenship";
pub(crate) const NATIONALITY: &str = "http://hl7.org/fhir/StructureDefinition/patient-nationality";

pub(crate) const MOTHERS_MAIDEN_NAME: &str =
    "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName";
pub(crate) const BIRTH_PLACE: &str = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace";
pub(crate) const CONGREGATION: &str =
    "http://hl7.org/fhir/StructureDefinition/patient-congregation";
pub(crate) const RELIGION: &str = "http://hl7.org/fhir/StructureDefinition/patient-religion";

/// The IG's Religion ConceptMap: HL7 table 0006 → v3 ReligiousAffiliation
/// (code, display); table 0006 codes it leaves unmapped (`C`, `BUD`, `AME`,
/// `JEW`, `OTH`…) are written as sent, in v2-0006.
const RELIGIONS: &[(&str, &str, &str)] = &[
    ("A", "1007", "Atheism"),
    ("B", "1009", "Baptist"),
    ("E", "1069", "Episcopalian"),
    ("J", "1026", "Judaism"),
    ("L", "1028", "Lutheran"),
    ("M", "1027", "Latter Day Saints"),
    ("N", "1020", "Hinduism"),
    ("P", "1077", "Protestant"),
    ("AGN", "1004", "Agnosticism"),
    ("ATH", "1007", "Atheism"),
    ("BAH", "1008", "Babi & Baha'I faiths"),
    ("BRE", "1062", "Brethren"),
    ("BMA", "1029", "Mahayana"),
    ("BTH", "1051", "Theravada"),
    ("CHR", "1013", "Christian (non-Catholic, non-specific)"),
    ("ANG", "1005", "Anglican"),
    ("AOG", "1061", "Assembly of God"),
    ("BAP", "1009", "Baptist"),
    ("CRR", "1079", "Reformed"),
    ("CHS", "1063", "Christian Scientist"),
    ("COC", "1064", "Church of Christ"),
    ("COG", "1065", "Church of God"),
    ("COL", "1066", "Congregational"),
    ("EOT", "1068", "Eastern Orthodox"),
    ("EPI", "1069", "Episcopalian"),
    ("FRQ", "1071", "Friends"),
    ("FUL", "1072", "Full Gospel"),
    ("JWN", "1025", "Jehovah's Witnesses"),
    ("MOM", "1027", "Latter Day Saints"),
    ("LUT", "1028", "Lutheran"),
    ("MET", "1073", "Methodist"),
    ("NAZ", "1075", "Nazarene"),
    ("ORT", "1036", "Orthodox"),
    ("PEN", "1038", "Pentecostal"),
    ("PRE", "1076", "Presbyterian"),
    ("PRO", "1077", "Protestant"),
    ("PRC", "1078", "Protestant, No Denomination"),
    ("QUA", "1071", "Friends"),
    ("REC", "1079", "Reformed"),
    ("CAT", "1041", "Roman Catholic Church"),
    ("SAA", "1080", "Salvation Army"),
    ("SEV", "1001", "Adventist"),
    ("UCC", "1082", "United Church of Christ"),
    ("UNI", "1052", "Unitarian-Universalism"),
    ("UNU", "1081", "Unitarian Universalist"),
    ("CNF", "1014", "Confucianism"),
    ("DOC", "1067", "Disciples of Christ"),
    ("HSH", "1020", "Hinduism"),
    ("HVA", "1020", "Hinduism"),
    ("HOT", "1020", "Hinduism"),
    ("JAI", "1024", "Jainism"),
    ("MOS", "1023", "Islam"),
    ("MSH", "1045", "Shiite (Islam)"),
    ("MSU", "1049", "Sunni (Islam)"),
    ("NAM", "1074", "Native American"),
    ("SHN", "1046", "Shinto"),
    ("SIK", "1047", "Sikism"),
    ("SPI", "1048", "Spiritualism"),
];

/// PID-17 as `patient-religion`: a table 0006 code through [`RELIGIONS`];
/// other codings and the original text as they are.
fn religion(c: &Concept) -> Value<'_> {
    let mut o = Map::with_capacity(4);
    let codings = c.codes.iter().map(|code| {
        let mapped = matches!(&code.system, carecodec_model::CodeSystem::V2Table(t) if t == "0006")
            .then(|| RELIGIONS.iter().find(|(k, ..)| *k == code.code))
            .flatten();
        match mapped {
            Some((_, v3, display)) => json!({
                "system": "http://terminology.hl7.org/CodeSystem/v3-ReligiousAffiliation",
                "code": v3,
                "display": display,
            }),
            None => coding(code),
        }
    });
    let codings = codings.filter(|c| !c.is_empty());
    put(&mut o, "coding", Value::Array(codings.collect()));
    if let Some(t) = &c.text {
        put(&mut o, "text", json!(t));
    }
    Value::Object(o)
}

fn patient<'a>(p: &'a Patient, id: &Uuid) -> Value<'a> {
    let mut o = resource!("Patient", &id);
    let mut ext = Vec::new();
    if let Some(e) = p
        .ethnic_category
        .as_ref()
        .filter(|e| !coding(&e.value).is_empty())
    {
        // An NHS Data Dictionary code in UK Core's England code system; any
        // other code with the system it came with (the binding is extensible).
        let code = match &e.value.system {
            carecodec_model::CodeSystem::NhsDataDictionary(n) if n == "EthnicCategory" => Code {
                system: carecodec_model::CodeSystem::Uri(
                    "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland".into(),
                ),
                ..e.value.clone()
            },
            _ => e.value.clone(),
        };
        ext.push(json!({
            "url": ukcore_sd!("Extension-UKCore-EthnicCategory"),
            "valueCodeableConcept": {"coding": [coding(&code).into_static()]}
        }));
    }
    // IG: PID-26 / PID-39 and PID-28 as the core citizenship and nationality
    // extensions, the country in their `code` sub-extension.
    // An empty concept (nothing of it read) is no extension: R4 ext-1.
    for c in p
        .citizenship
        .iter()
        .filter(|c| !concept(&c.value).is_empty())
    {
        ext.push(json!({
            "url": CITIZENSHIP,
            "extension": [{"url": "code", "valueCodeableConcept": concept(&c.value)}]
        }));
    }
    if let Some(m) = &p.mothers_maiden_name {
        ext.push(json!({"url": MOTHERS_MAIDEN_NAME, "valueString": &m.value}));
    }
    if let Some(b) = &p.birth_place {
        ext.push(json!({"url": BIRTH_PLACE, "valueAddress": {"text": &b.value}}));
    }
    if let Some(c) = &p.congregation {
        ext.push(json!({"url": CONGREGATION, "valueString": &c.value}));
    }
    if let Some(r) = &p.religion {
        let cc = religion(&r.value);
        if !cc.is_empty() {
            ext.push(json!({"url": RELIGION, "valueCodeableConcept": cc}));
        }
    }
    if let Some(n) = p
        .nationality
        .as_ref()
        .filter(|n| !concept(&n.value).is_empty())
    {
        ext.push(json!({
            "url": NATIONALITY,
            "extension": [{"url": "code", "valueCodeableConcept": concept(&n.value)}]
        }));
    }
    put(&mut o, "extension", Value::Array(ext));
    put(&mut o, "identifier", Value::Array(patient_identifiers(p)));
    put(
        &mut o,
        "name",
        Value::Array(
            p.names
                .iter()
                .map(|n| name(&n.value))
                .filter(|n| !n.is_empty())
                .collect(),
        ),
    );
    put(
        &mut o,
        "telecom",
        Value::Array(p.telecom.iter().map(|t| telecom(&t.value)).collect()),
    );
    if let Some(g) = &p.gender {
        put(&mut o, "gender", json!(gender(g.value)));
    }
    if let Some(b) = &p.birth_date {
        put(&mut o, "birthDate", date_value(&b.value));
        if let Some(t) = &p.birth_time {
            put(
                &mut o,
                "_birthDate",
                json!({"extension": [{"url": BIRTH_TIME, "valueDateTime": date_time_value(&t.value)}]}),
            );
        }
    }
    if let Some(m) = &p.marital_status {
        put(&mut o, "maritalStatus", marital_status(&m.value));
    }
    match p.multiple_birth.as_ref().map(|m| m.value) {
        // R4's integer is 32-bit signed: an order beyond it (the readers
        // refuse one; a model made elsewhere may hold it) is written as the
        // multiple birth it says, and listed by `subject_losses`.
        Some(MultipleBirth::Order(n)) if i32::try_from(n).is_err() => {
            put(&mut o, "multipleBirthBoolean", json!(true));
        }
        Some(MultipleBirth::Order(n)) => put(&mut o, "multipleBirthInteger", json!(n)),
        Some(MultipleBirth::Yes) => put(&mut o, "multipleBirthBoolean", json!(true)),
        Some(MultipleBirth::No) => put(&mut o, "multipleBirthBoolean", json!(false)),
        _ => {}
    }
    // UK Core binds the language required to all-languages (BCP-47): a
    // concept with no coding from it (text only, a code of another system)
    // is not written, and `subject_losses` lists it.
    if let Some(l) = p.language.as_ref().filter(|l| language_coded(&l.value)) {
        let cc = language(&l.value);
        if cc.as_object().is_some_and(|c| !c.is_empty()) {
            put(
                &mut o,
                "communication",
                json!([{"language": cc, "preferred": true}]),
            );
        }
    }
    match p.deceased.as_ref().map(|d| &d.value) {
        Some(Deceased::At(t)) => put(&mut o, "deceasedDateTime", date_time_value(t)),
        Some(Deceased::Yes) => put(&mut o, "deceasedBoolean", json!(true)),
        Some(Deceased::No) => put(&mut o, "deceasedBoolean", json!(false)),
        _ => {}
    }
    put(
        &mut o,
        "address",
        Value::Array(p.addresses.iter().map(|a| address(&a.value)).collect()),
    );
    // R4 pat-1: a contact needs a name, telecom, address or organization; one
    // with only a relationship (an NK1 with NK1-3 alone) is not written.
    // An NK1-13 organisation is an Organization entry (contact_organisations)
    // the contact refers to; it satisfies pat-1 too.
    put(
        &mut o,
        "contact",
        Value::Array(
            p.contacts
                .iter()
                .enumerate()
                .filter(|(_, c)| contact_written(c))
                .map(|(i, c)| {
                    let mut v = contact(c);
                    if let (Some(_), Some(m)) = (&c.organisation, v.as_object_mut()) {
                        m.insert("organization", reference(&urn(&contact_org_id(id, i))));
                    }
                    v
                })
                .collect(),
        ),
    );
    let mut gp = Vec::new();
    let (practice, doctor) = practice_and_gp(p);
    if let Some(org) = practice {
        let mut r = Map::with_capacity(3);
        r.insert("type", "Organization".into());
        r.insert("identifier", identifier_tree(&org.value));
        if let Some(n) = &p.gp_practice_name {
            put(&mut r, "display", json!(&n.value));
        }
        gp.push(Value::Object(r));
    }
    // The GP: a logical reference by identifier, and a reference to the
    // Practitioner entry that carries the name when there is one.
    if doctor.is_some() || p.gp_name.is_some() {
        let mut r = Map::with_capacity(3);
        if p.gp_name.is_some() {
            r.insert("reference", FullUrl::value(&urn(&gp_id(p, id))));
        }
        r.insert("type", "Practitioner".into());
        if let Some(doc) = doctor {
            r.insert("identifier", identifier_tree(&doc.value));
        }
        gp.push(Value::Object(r));
    }
    put(&mut o, "generalPractitioner", Value::Array(gp));
    Value::Object(o)
}

/// The registered practice and GP codes to write: an ODS organisation code
/// held as the GP's (an organisation is no Practitioner) is the practice's
/// when the practice has none.
fn practice_and_gp<'p>(
    p: &'p Patient,
) -> (
    Option<&'p carecodec_model::Sourced<Identifier>>,
    Option<&'p carecodec_model::Sourced<Identifier>>,
) {
    // A code of blank value is none (it is not written: listed).
    let some = |i: &'p Option<carecodec_model::Sourced<Identifier>>| {
        i.as_ref().filter(|i| keyable(&i.value))
    };
    match (some(&p.gp_practice), some(&p.gp)) {
        (None, Some(g)) if matches!(g.value, Identifier::OdsOrganisation(_)) => (Some(g), None),
        (practice, g) => (practice, g),
    }
}

/// A patient's identifiers as written. Invalid NHS numbers are kept only in
/// the report, never sent as identifiers. UK Core allows one identifier with
/// the NHS number system: the key's number is written once (the key's own
/// identifier, with its verification status, where the number first
/// appears); a different NHS number (an identity conflict) is written
/// without the system, typed `NH` in v2-0203 as HL7 v2 types an NHS number.
fn patient_identifiers(p: &Patient) -> Vec<Value<'_>> {
    let key = patient_key(p).and_then(|k| match k {
        Identifier::Nhs { number, .. } => Some((k, number)),
        _ => None,
    });
    let mut key_written = false;
    p.identifiers
        .iter()
        .filter_map(|i| match &i.value {
            Identifier::Other {
                system: Some(s), ..
            } if s.starts_with("NHS") => None,
            Identifier::Nhs { number, .. } => match key {
                Some((k, n)) if n == number => {
                    (!std::mem::replace(&mut key_written, true)).then(|| identifier_tree(k))
                }
                _ => Some(obj([
                    ("type", type_cc!("NH", "National Health Plan Identifier")),
                    ("value", Value::from(number.as_str())),
                ])),
            },
            other => Some(identifier_tree(other)),
        })
        .collect()
}

/// The conditional-update URL of a patient's GP, when its identifier has a
/// system (a GMP or GMC number).
fn gp_key(p: &Patient) -> Option<String> {
    practice_and_gp(p)
        .1
        .and_then(|g| conditional("Practitioner", &g.value))
}

/// The id of the Practitioner entry of a patient's GP: the id any
/// Practitioner with its key has ([`practitioner_id`]), so the GP named again
/// in the Bundle (PV1-8) is the same entry; else the patient's `/gp`.
fn gp_id(p: &Patient, patient_id: &Uuid) -> Uuid {
    if let Some(url) = gp_key(p) {
        return practitioner_id(&url);
    }
    let id: &str = patient_id;
    uuid(&[id, "/gp"])
}

/// The Practitioner entry of a patient's GP, when the GP's name is known
/// (PD1-4; IG generalPractitioner(Practitioner)): identifier and name; a
/// conditional update on a GMP / GMC number.
fn gp_entry<'a>(p: &'a Patient, patient_id: &Uuid) -> Option<Entry<'a>> {
    let name = p.gp_name.as_ref()?;
    let gid = gp_id(p, patient_id);
    let mut o = resource!("Practitioner", &gid);
    if let Some(g) = practice_and_gp(p).1 {
        o.insert("identifier", Value::Array(vec![identifier_tree(&g.value)]));
    }
    put(&mut o, "name", self::name(&name.value).in_array());
    let o = Value::Object(o);
    Some(match gp_key(p) {
        Some(url) => entry(&urn(&gid), o, "PUT", url),
        None => entry(&urn(&gid), o, "POST", "Practitioner"),
    })
}

/// The id of the Organization of a patient's contact `i` (NK1-13).
fn contact_org_id(patient_id: &str, i: usize) -> Uuid {
    uuid(&[
        patient_id,
        "/contact/",
        itoa::Buffer::new().format(i),
        "/organisation",
    ])
}

/// IG NK1[Patient]: each contact's NK1-13 organisation as an Organization
/// entry, its `contact` the NK1-30 / 31 / 32 contact person.
fn contact_organisations<'a>(p: &'a Patient, patient_id: &str) -> Vec<Entry<'a>> {
    p.contacts
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let org = c.organisation.as_ref()?;
            let oid = contact_org_id(patient_id, i);
            let mut res = organisation(org, &oid);
            if let (Some(person), Some(o)) = (&c.organisation_contact, res.as_object_mut()) {
                let mut pc = Map::with_capacity(4);
                if let Some(n) = &person.name {
                    put(&mut pc, "name", name(&n.value));
                }
                put(
                    &mut pc,
                    "telecom",
                    Value::Array(person.telecom.iter().map(|t| telecom(&t.value)).collect()),
                );
                if let Some(a) = &person.address {
                    put(&mut pc, "address", address(&a.value));
                }
                o.insert("contact", json!([Value::Object(pc)]));
            }
            Some(entry(&urn(&oid), res, "POST", "Organization"))
        })
        .collect()
}

/// The IG's Relationship ConceptMap (v2 table 0063 → v3 RoleCode, or v2-0131
/// for the contact-role-like codes): UK Core's PersonRelationshipType value
/// set holds v3 RoleCode and v2-0131 codes, not v2-0063. Codes the map sends
/// to v2-0063 itself (DEP, WRD, CGV, GRD, OAD, EME, ASC, OWN, TRA, MGR, NON)
/// and unknown codes stay v2-0063.
const RELATIONSHIP: &[(&str, &str, &str, &str)] = &[
    ("SEL", "v3-RoleCode", "ONESELF", "self"),
    ("SPO", "v3-RoleCode", "SPS", "spouse"),
    ("DOM", "v3-RoleCode", "SIGOTHR", "significant other"),
    ("CHD", "v3-RoleCode", "CHILD", "child"),
    ("GCH", "v3-RoleCode", "GRNDCHILD", "grandchild"),
    ("NCH", "v3-RoleCode", "NCHILD", "natural child"),
    ("SCH", "v3-RoleCode", "STPCHLD", "step child"),
    ("FCH", "v3-RoleCode", "CHLDFOST", "foster child"),
    ("PAR", "v3-RoleCode", "PRN", "parent"),
    ("MTH", "v3-RoleCode", "MTH", "mother"),
    ("FTH", "v3-RoleCode", "FTH", "father"),
    ("GRP", "v3-RoleCode", "GRPRN", "grandparent"),
    ("EXF", "v3-RoleCode", "EXT", "extended family member"),
    ("SIB", "v3-RoleCode", "SIB", "sibling"),
    ("BRO", "v3-RoleCode", "BRO", "brother"),
    ("SIS", "v3-RoleCode", "SIS", "sister"),
    ("FND", "v3-RoleCode", "FRND", "unrelated friend"),
    ("EMR", "v2-0131", "E", "Employer"),
    ("EMC", "v2-0131", "C", "Emergency Contact"),
    ("UNK", "v2-0131", "U", "Unknown"),
    ("OTH", "v2-0131", "O", "Other"),
];

fn relationship(c: &Code) -> Value<'_> {
    let mapped = matches!(&c.system, carecodec_model::CodeSystem::V2Table(t) if t == "0063")
        .then(|| RELATIONSHIP.iter().find(|(k, ..)| *k == c.code))
        .flatten();
    match mapped {
        Some((_, system, code, display)) => one_coding(
            Value::Prefixed(Prefix::Terminology, system),
            Value::from(*code),
            Some(display),
        ),
        None => code_cc(c),
    }
}

/// ISO 639-2 (bibliographic and terminology) codes of languages spoken in
/// the UK, their ISO 639-1 code (the BCP-47 tag) and English name.
const LANGUAGES: &[(&str, &str, &str)] = &[
    ("ara", "ar", "Arabic"),
    ("amh", "am", "Amharic"),
    ("ben", "bn", "Bengali"),
    ("bul", "bg", "Bulgarian"),
    ("ces", "cs", "Czech"),
    ("cze", "cs", "Czech"),
    ("cym", "cy", "Welsh"),
    ("wel", "cy", "Welsh"),
    ("dan", "da", "Danish"),
    ("deu", "de", "German"),
    ("ger", "de", "German"),
    ("ell", "el", "Greek"),
    ("gre", "el", "Greek"),
    ("eng", "en", "English"),
    ("spa", "es", "Spanish"),
    ("est", "et", "Estonian"),
    ("fas", "fa", "Persian"),
    ("per", "fa", "Persian"),
    ("fin", "fi", "Finnish"),
    ("fra", "fr", "French"),
    ("fre", "fr", "French"),
    ("gle", "ga", "Irish"),
    ("gla", "gd", "Scottish Gaelic"),
    ("guj", "gu", "Gujarati"),
    ("heb", "he", "Hebrew"),
    ("hin", "hi", "Hindi"),
    ("hrv", "hr", "Croatian"),
    ("hun", "hu", "Hungarian"),
    ("ibo", "ig", "Igbo"),
    ("ita", "it", "Italian"),
    ("jpn", "ja", "Japanese"),
    ("kor", "ko", "Korean"),
    ("kur", "ku", "Kurdish"),
    ("lav", "lv", "Latvian"),
    ("lit", "lt", "Lithuanian"),
    ("mal", "ml", "Malayalam"),
    ("mar", "mr", "Marathi"),
    ("nep", "ne", "Nepali"),
    ("nld", "nl", "Dutch"),
    ("dut", "nl", "Dutch"),
    ("nor", "no", "Norwegian"),
    ("pan", "pa", "Punjabi"),
    ("pol", "pl", "Polish"),
    ("por", "pt", "Portuguese"),
    ("pus", "ps", "Pashto"),
    ("ron", "ro", "Romanian"),
    ("rum", "ro", "Romanian"),
    ("rus", "ru", "Russian"),
    ("sin", "si", "Sinhala"),
    ("slk", "sk", "Slovak"),
    ("slo", "sk", "Slovak"),
    ("slv", "sl", "Slovenian"),
    ("som", "so", "Somali"),
    ("sqi", "sq", "Albanian"),
    ("alb", "sq", "Albanian"),
    ("srp", "sr", "Serbian"),
    ("swa", "sw", "Swahili"),
    ("swe", "sv", "Swedish"),
    ("tam", "ta", "Tamil"),
    ("tel", "te", "Telugu"),
    ("tha", "th", "Thai"),
    ("tir", "ti", "Tigrinya"),
    ("tur", "tr", "Turkish"),
    ("twi", "tw", "Twi"),
    ("ukr", "uk", "Ukrainian"),
    ("urd", "ur", "Urdu"),
    ("vie", "vi", "Vietnamese"),
    ("yid", "yi", "Yiddish"),
    ("yor", "yo", "Yoruba"),
    ("zho", "zh", "Chinese"),
    ("chi", "zh", "Chinese"),
];

/// A language code as a BCP-47 tag with its English name: a two-letter ISO
/// 639-1 code (optionally with a region, `en-GB`) as it is, a three-letter
/// ISO 639-2 code through [`LANGUAGES`]; anything else `None`.
fn bcp47(code: &str) -> Option<(String, Option<&'static str>)> {
    let code = code.trim();
    let (lang, region) = code.split_once('-').unwrap_or((code, ""));
    let alpha = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic());
    let lang = lang.to_ascii_lowercase();
    let two = match lang.len() {
        2 if alpha(&lang) => lang,
        3 => LANGUAGES.iter().find(|(t, ..)| *t == lang)?.1.to_owned(),
        _ => return None,
    };
    let display = LANGUAGES.iter().find(|(_, o, _)| *o == two).map(|l| l.2);
    match region.len() {
        0 => Some((two, display)),
        2 if alpha(region) => Some((format!("{two}-{}", region.to_ascii_uppercase()), display)),
        _ => None,
    }
}

/// True when a code of a language concept is a v2 code (a table 0296,
/// local or ISO 639 OID code), which [`language`] writes as BCP-47 when it
/// is a language tag.
fn language_from_v2(code: &Code) -> bool {
    use carecodec_model::CodeSystem as S;
    match &code.system {
        S::V2Table(_) | S::Local(_) => true,
        // An ISO OID from a v2 CWE.3 names an ISO 639 list, not BCP-47.
        S::Uri(u) => u.starts_with("urn:oid:"),
        _ => false,
    }
}

/// True when `tag` has the shape of a BCP-47 language tag (RFC 5646): a
/// primary language subtag of 2 to 8 letters, then subtags of 1 to 8
/// letters or digits, joined by hyphens.
fn bcp47_shaped(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=8).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// True when [`language`] writes at least one coding from UK Core's
/// required binding (all-languages, BCP-47): a v2 code that is a language
/// tag, or a coding read from FHIR in `urn:ietf:bcp:47` with a tag's shape.
/// Only then is `communication` written: text alone, or only codes of other
/// systems, do not meet a required binding.
fn language_coded(c: &Concept) -> bool {
    c.codes.iter().any(|code| {
        if language_from_v2(code) {
            bcp47(&code.code).is_some()
        } else {
            code.system.uri() == "urn:ietf:bcp:47" && bcp47_shaped(code.code.trim())
        }
    })
}

/// PID-15 as `communication.language` (required binding: BCP-47): each v2
/// code (a table 0296 or local code) that is a language tag becomes a
/// coding; the rest stays as text only. A coding read from FHIR (BCP-47, or
/// another system beside it: UK Core's examples add SNOMED CT) is written as
/// it was read. Written only when [`language_coded`].
fn language(c: &Concept) -> Value<'_> {
    let mut codings = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for code in &c.codes {
        if !language_from_v2(code) {
            codings.push(coding(code));
            continue;
        }
        match bcp47(&code.code) {
            Some((tag, name)) => {
                let mut o = Map::with_capacity(4);
                o.insert("system", json!("urn:ietf:bcp:47"));
                o.insert("code", json!(tag));
                if let Some(d) = name.or(code.display.as_deref()) {
                    put(&mut o, "display", json!(d));
                }
                codings.push(Value::Object(o));
            }
            None => texts.push(code.display.clone().unwrap_or_else(|| code.code.clone())),
        }
    }
    let mut o = Map::with_capacity(4);
    put(&mut o, "coding", Value::Array(codings));
    let text = c
        .text
        .clone()
        .or_else(|| (!texts.is_empty()).then(|| texts.join(", ")));
    if let Some(t) = text {
        put(&mut o, "text", json!(t));
    }
    Value::Object(o)
}

/// PID-16 codes: the IG's MaritalStatus ConceptMap (v2 table 0002 → v3
/// MaritalStatus or NullFlavor), except the NHS Data Dictionary codes NHS
/// feeds send in PID-16 — `P` separated and `N` not disclosed (in table 0002
/// domestic partner and annulled), `8` not applicable, `9` not known — which
/// go to UK Core's PersonMaritalStatusEngland. All are systems UK Core's
/// PersonMaritalStatusCode value set holds.
const MARITAL: &[(&str, &str, &str, &str)] = &[
    ("P", "UKCore-PersonMaritalStatusEngland", "P", "Separated"),
    (
        "N",
        "UKCore-PersonMaritalStatusEngland",
        "N",
        "Not disclosed",
    ),
    (
        "8",
        "UKCore-PersonMaritalStatusEngland",
        "8",
        "Not applicable",
    ),
    ("9", "UKCore-PersonMaritalStatusEngland", "9", "Not known"),
    ("A", "v3-MaritalStatus", "L", "Legally Separated"),
    ("D", "v3-MaritalStatus", "D", "Divorced"),
    ("M", "v3-MaritalStatus", "M", "Married"),
    ("S", "v3-MaritalStatus", "S", "Never Married"),
    ("W", "v3-MaritalStatus", "W", "Widowed"),
    ("C", "v3-MaritalStatus", "C", "Common Law"),
    ("G", "v3-MaritalStatus", "T", "Domestic partner"),
    ("R", "v3-MaritalStatus", "T", "Domestic partner"),
    ("E", "v3-MaritalStatus", "L", "Legally Separated"),
    ("I", "v3-MaritalStatus", "I", "Interlocutory"),
    ("B", "v3-MaritalStatus", "U", "unmarried"),
    ("U", "v3-NullFlavor", "UNK", "Unknown"),
    ("O", "v3-NullFlavor", "OTH", "Other"),
    ("T", "v3-NullFlavor", "NAVU", "Not available"),
];

fn marital_status(c: &Code) -> Value<'_> {
    let mapped = matches!(&c.system, carecodec_model::CodeSystem::V2Table(t) if t == "0002")
        .then(|| MARITAL.iter().find(|(k, ..)| *k == c.code))
        .flatten();
    match mapped {
        Some((_, system, code, display)) => {
            let base = if system.starts_with("UKCore") {
                Prefix::UkCore
            } else {
                Prefix::Terminology
            };
            one_coding(
                Value::Prefixed(base, system),
                Value::from(*code),
                Some(display),
            )
        }
        None => code_cc(c),
    }
}

/// True when the contact is written: R4 pat-1, it has a name, telecom,
/// address or organization (a name or address with nothing FHIR can hold,
/// a name of only a text the reader left unmapped, counts as none).
fn contact_written(c: &Contact) -> bool {
    c.name.as_ref().is_some_and(|n| !name_is_empty(&n.value))
        || !c.telecom.is_empty()
        || c.address
            .as_ref()
            .is_some_and(|a| !address_is_empty(&a.value))
        || c.organisation.is_some()
}

/// True when [`name`] writes nothing of `n` (without writing it).
fn name_is_empty(n: &HumanName) -> bool {
    n.family.as_deref().is_none_or(blank)
        && [&n.given, &n.prefix, &n.suffix]
            .iter()
            .all(|v| v.iter().all(|s| blank(s)))
        && n.usage.as_deref().is_none_or(|u| name_use(u).is_empty())
        && n.period.as_ref().is_none_or(|p| period(p).is_empty())
}

/// True when [`address`] writes nothing of `a` (without writing it).
fn address_is_empty(a: &Address) -> bool {
    a.usage.as_deref().is_none_or(|u| address_use(u).is_empty())
        && a.kind.as_deref().is_none_or(|k| !address_type(k))
        && a.lines.iter().all(|s| blank(s))
        && [&a.city, &a.district, &a.postcode, &a.country]
            .iter()
            .all(|v| v.as_deref().is_none_or(blank))
        && a.period.as_ref().is_none_or(|p| period(p).is_empty())
}

/// True when [`location`] (or [`location_hierarchy`]) would write nothing
/// of `l` but its type, id and profile: no identifier with a value
/// ([`keyable`]), no name or part that is not blank, no address written.
fn location_void(l: &Location) -> bool {
    l.identifiers.iter().all(|i| !keyable(&i.value))
        && [&l.name, &l.facility, &l.ward, &l.room, &l.bed]
            .into_iter()
            .all(|v| v.as_ref().is_none_or(|v| blank(&v.value)))
        && l.address
            .as_ref()
            .is_none_or(|a| address_is_empty(&a.value))
}

/// [`location_void`] for an Organization.
fn organisation_void(o: &Organisation) -> bool {
    o.identifiers.iter().all(|i| !keyable(&i.value))
        && o.name.as_ref().is_none_or(|n| blank(&n.value))
        && o.part_of.as_ref().is_none_or(|p| !keyable(&p.value))
        && o.address
            .as_ref()
            .is_none_or(|a| address_is_empty(&a.value))
}

/// An Organization R4 refuses (org-1: "at least a name or an identifier"):
/// no identifier with a value and no name, whatever else it has (an
/// organisation known only by the one it is part of, or by its address).
fn organisation_nameless(o: &Organisation) -> bool {
    o.identifiers.iter().all(|i| !keyable(&i.value))
        && o.name.as_ref().is_none_or(|n| blank(&n.value))
}

/// A location's parts as one line of text (a [`NotWritten::value`]).
fn location_text(l: &Location) -> String {
    [&l.name, &l.facility, &l.ward, &l.room, &l.bed]
        .into_iter()
        .flatten()
        .map(|v| v.value.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sources of a location's parts (it has none of its own).
fn location_sources(l: &Location) -> Sources {
    [&l.name, &l.facility, &l.ward, &l.room, &l.bed]
        .into_iter()
        .flatten()
        .flat_map(|v| v.sources.iter().cloned())
        .chain(l.identifiers.iter().flat_map(|i| i.sources.iter().cloned()))
        .collect()
}

/// True for text a FHIR string leaves out (blank, or control characters:
/// [`tree::blank_text`]).
fn blank(s: &str) -> bool {
    tree::blank_text(s)
}

fn contact(c: &Contact) -> Value<'_> {
    let mut o = Map::with_capacity(4);
    let rel: Vec<Value> = c
        .relationship
        .iter()
        .map(|r| relationship(&r.value))
        .chain(c.role.iter().map(|r| code_cc(&r.value)))
        .collect();
    put(&mut o, "relationship", Value::Array(rel));
    if let Some(n) = &c.name {
        put(&mut o, "name", name(&n.value));
    }
    put(
        &mut o,
        "telecom",
        Value::Array(c.telecom.iter().map(|t| telecom(&t.value)).collect()),
    );
    if let Some(a) = &c.address {
        put(&mut o, "address", address(&a.value));
    }
    if let Some(g) = &c.gender {
        put(&mut o, "gender", json!(gender(g.value)));
    }
    let mut period = Map::with_capacity(4);
    if let Some(d) = &c.from {
        put(&mut period, "start", date_value(&d.value));
    }
    // R4 per-1, as `period` above.
    let from = c.from.as_ref().map(|d| &d.value);
    if let Some(d) = c
        .until
        .as_ref()
        .filter(|d| !from.is_some_and(|f| date_ends_before(&d.value, f)))
    {
        put(&mut period, "end", date_value(&d.value));
    }
    put(&mut o, "period", Value::Object(period));
    Value::Object(o)
}

/// A Practitioner entry, its full URL the entry's: keyed on its first
/// identifier with a system (a GMC, GMP… number, an id in an OID system) —
/// a conditional update on it, with an id from the key alone, so the same
/// practitioner named in several places of a Bundle is one entry (the
/// Bundle writes an entry once: see [`event_entries`]) —, else a create
/// with the id `fallback`.
fn practitioner_entry<'a>(p: &'a Practitioner, fallback: Uuid) -> Entry<'a> {
    let cond = p
        .identifiers
        .iter()
        .find_map(|i| conditional("Practitioner", &i.value));
    match cond {
        Some(url) => {
            let pid = practitioner_id(&url);
            entry(&urn(&pid), practitioner(p, &pid), "PUT", url)
        }
        None => entry(
            &urn(&fallback),
            practitioner(p, &fallback),
            "POST",
            "Practitioner",
        ),
    }
}

/// True when `a` and `b` say the same of a practitioner (identifiers and
/// name; where each was read aside).
fn same_practitioner(a: &Practitioner, b: &Practitioner) -> bool {
    a.identifiers.len() == b.identifiers.len()
        && a.identifiers
            .iter()
            .zip(&b.identifiers)
            .all(|(x, y)| x.value == y.value)
        && a.name.as_ref().map(|n| &n.value) == b.name.as_ref().map(|n| &n.value)
}

/// The id of a keyed Practitioner: from its conditional-update URL alone.
fn practitioner_id(url: &str) -> Uuid {
    uuid(&["practitioner ", url])
}

/// The id of a resource written as a conditional update (`url` holds a
/// search, `Patient?identifier=…`): from its key alone, so every message
/// about the same patient or visit sends the same id. R4 refuses (400) an
/// update whose body id differs from the resource it matches, so an id that
/// changed with the message would fail the second message on a conforming
/// server. `None` for a create (`url` without a search).
fn keyed_id(url: &str) -> Option<Uuid> {
    url.contains('?').then(|| uuid(&["keyed ", url]))
}

fn practitioner<'a>(p: &'a Practitioner, id: &Uuid) -> Value<'a> {
    let mut o = resource!("Practitioner", &id);
    put(
        &mut o,
        "identifier",
        Value::Array(
            p.identifiers
                .iter()
                .map(|i| identifier_tree(&i.value))
                .collect(),
        ),
    );
    if let Some(n) = &p.name {
        put(&mut o, "name", name(&n.value).in_array());
    }
    Value::Object(o)
}

fn location<'a>(l: &'a Location, id: &Uuid) -> Value<'a> {
    let mut o = resource!("Location", &id);
    put(
        &mut o,
        "identifier",
        Value::Array(
            l.identifiers
                .iter()
                .map(|i| identifier_tree(&i.value))
                .collect(),
        ),
    );
    let parts: Vec<&str> = [&l.facility, &l.ward, &l.room, &l.bed]
        .into_iter()
        .flatten()
        .map(|s| s.value.trim())
        .collect();
    let label = l
        .name
        .as_ref()
        .map(|n| n.value.clone())
        .unwrap_or_else(|| parts.join(" "));
    put(&mut o, "name", json!(label));
    if l.bed.as_ref().is_some_and(|b| !blank(&b.value)) {
        put(
            &mut o,
            "physicalType",
            raw!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "bd", "display": "Bed"}]}),
        );
    }
    if let Some(a) = &l.address {
        put(&mut o, "address", address(&a.value));
    }
    Value::Object(o)
}

fn organisation<'a>(org: &'a Organisation, id: &Uuid) -> Value<'a> {
    let mut o = resource!("Organization", &id);
    put(
        &mut o,
        "identifier",
        Value::Array(
            org.identifiers
                .iter()
                .map(|i| identifier_tree(&i.value))
                .collect(),
        ),
    );
    if let Some(n) = &org.name {
        put(&mut o, "name", json!(&n.value));
    }
    if let Some(p) = &org.part_of {
        put(
            &mut o,
            "partOf",
            obj([("identifier", identifier_tree(&p.value))]),
        );
    }
    if let Some(a) = &org.address {
        put(&mut o, "address", address(&a.value).in_array());
    }
    Value::Object(o)
}

/// An observation's performer as the IG writes OBX-16 / OBX-23..25: a
/// PractitionerRole (its table 0912 code, the Practitioner, the
/// Organization), or the Organization alone when there is neither role nor
/// practitioner. The resources go to `entries`; returns the reference.
///
/// The Organization is keyed as [`result_org_key`] says; the Practitioner as
/// everywhere ([`practitioner_entry`]); the role, when both are keyed, is
/// `PUT PractitionerRole/{id}` with the id from their ids and the role code
/// ([`role_id`]: it holds nothing else, so every message naming the same
/// observer of the same laboratory sends the same role), else created.
fn performer<'a>(
    p: &'a Performer,
    seed: Seed,
    sides: &mut SideKeys<'_>,
    entries: &mut Vec<Entry<'a>>,
) -> Option<Uuid> {
    let mut org_key = None;
    let org_url = p.organisation.as_ref().map(|org| {
        let key = result_org_key(org, sides.scope);
        let key = sides.admit(key, organisation_held(org));
        let oid = key
            .as_ref()
            .map_or_else(|| seed.uuid(&["/organisation"]), |(id, _)| *id);
        let url = urn(&oid);
        let res = organisation(org, &oid);
        entries.push(match key {
            Some((_, k)) => {
                org_key = Some(url);
                entry(&url, res, "PUT", k)
            }
            None => entry(&url, res, "POST", "Organization"),
        });
        url
    });
    // A blank role (a model made elsewhere) is none (noted by
    // `performer_losses`).
    let role = p.role.as_deref().filter(|r| !blank(r));
    if role.is_none() && p.practitioner.is_none() {
        return org_url;
    }
    let practitioner = p
        .practitioner
        .as_ref()
        .map(|prac| practitioner_entry(prac, seed.uuid(&["/practitioner"])));
    let keyed_practitioner = practitioner
        .as_ref()
        .filter(|e| e.method == "PUT")
        .map(|e| e.full_url);
    // A role with a period holds more than its parts: created, never keyed.
    let role_key = match (keyed_practitioner, org_key, &p.period) {
        (Some(prac), Some(org), None) => Some(role_id(&prac, &org, role)),
        _ => None,
    };
    let rid = role_key.unwrap_or_else(|| seed.uuid(&["/role"]));
    let mut o = resource!("PractitionerRole", &rid);
    if let Some(e) = practitioner {
        o.insert("practitioner", reference(&e.full_url));
        entries.push(e);
    }
    if let Some(url) = org_url {
        o.insert("organization", reference(&url));
    }
    if let Some(role) = role {
        let display = match role {
            "RO" => "Responsible Observer",
            "MDIR" => "Medical Director",
            "PRI" => "Principal Result Interpreter",
            "TN" => "Technician",
            "TR" => "Transcriptionist",
            _ => "",
        };
        let mut c = Map::with_capacity(4);
        c.insert("system", json!(V2_0912));
        put(&mut c, "code", fhir_code(role));
        put(&mut c, "display", json!(display));
        put(&mut o, "code", json!([{"coding": [Value::Object(c)]}]));
    }
    if let Some(per) = &p.period {
        put(&mut o, "period", period(&per.value));
    }
    let url = urn(&rid);
    entries.push(match role_key {
        Some(id) => entry(
            &url,
            Value::Object(o),
            "PUT",
            id.keyed(KeyedType::PractitionerRole),
        ),
        None => entry(&url, Value::Object(o), "POST", "PractitionerRole"),
    });
    Some(url)
}

/// A reference to a report's performer at `url`, with its function (the
/// core `event-performerFunction` extension, as the IG writes OBR-34 / 35)
/// when its `role` has one ([`performer_function`]).
fn performer_reference<'a>(url: &Uuid, role: Option<&str>) -> Value<'a> {
    let Some(function) = performer_function(role) else {
        return reference(url);
    };
    let concept = one_coding(
        Value::from(V3_PARTICIPATION_TYPE),
        Value::from(function),
        None,
    );
    let extension = obj([
        ("url", Value::from(PERFORMER_FUNCTION)),
        ("valueCodeableConcept", concept),
    ]);
    obj([
        ("extension", Value::Array(vec![extension])),
        ("reference", Value::from(url)),
    ])
}

/// The id of a PractitionerRole of the keyed Practitioner and Organization
/// with the full URLs `practitioner` and `organisation` in `role` (table
/// 0912): from those alone, each a part as in [`key_part`]. Their ids are
/// keyed already (a registration, an ODS code, a scoped id), so the role
/// needs no scope of its own.
fn role_id(practitioner: &str, organisation: &str, role: Option<&str>) -> Uuid {
    let key = Seed::new(&[KeyedType::PractitionerRole.key_tag()]);
    let mut key = key_part(key, "/practitioner=", practitioner);
    key = key_part(key, "organization=", organisation);
    if let Some(r) = role {
        key = key_part(key, "role=", r);
    }
    key.uuid(&[])
}

/// What keys the Devices, Organizations and PractitionerRoles the results
/// of an event refer to: the event's scope ([`event_scope`]) and the ones
/// keyed so far, each with what it holds. A Bundle writes one entry per id
/// (see [`event_entries`]), so a Device or Organization keyed again holding
/// something else (another OBX-23 with the same identifier and another
/// name) is created rather than silently written as the first.
struct SideKeys<'s> {
    scope: Option<&'s str>,
    held: KeyedHolds<32>,
}

impl SideKeys<'_> {
    /// `key`, unless the resource it keys was keyed before holding other
    /// than `holds` (or too many were keyed to tell).
    fn admit(&mut self, key: Option<Key>, holds: Seed) -> Option<Key> {
        key.filter(|(id, _)| self.held.admit(id, (holds.0).0))
    }
}

/// The assigning authority of an identifier as sent (a CX.4 / XON.6 /
/// EI.2 namespace), when it has one apart from its system.
fn authority_of(id: &Identifier) -> Option<&str> {
    match id {
        Identifier::Mrn { authority, .. }
        | Identifier::VisitNumber { authority, .. }
        | Identifier::Typed { authority, .. } => authority.as_deref(),
        Identifier::Other { system, .. } => system.as_deref(),
        _ => None,
    }
}

/// `at` followed by what `ids` say: each identifier's kind (and type),
/// authority, system and value as parts ([`key_part`]).
fn identifiers_held(ids: &[carecodec_model::Sourced<Identifier>], mut at: Seed) -> Seed {
    for i in ids {
        let i = &i.value;
        at = key_part(at, "id=", i.kind());
        if let Identifier::Typed { kind, .. } = i {
            at = key_part(at, "type=", kind);
        }
        if let Some(a) = authority_of(i) {
            at = key_part(at, "authority=", a);
        }
        if let Some(s) = i.authority_system() {
            at = key_part(at, "system=", s);
        }
        at = key_part(at, "value=", i.value());
    }
    at
}

/// What an Organization a result refers to holds: its identifiers, name,
/// parent and address.
fn organisation_held(org: &Organisation) -> Seed {
    let mut at = identifiers_held(&org.identifiers, Seed::new(&["organization"]));
    if let Some(n) = &org.name {
        at = key_part(at, "name=", &n.value);
    }
    if let Some(p) = &org.part_of {
        at = identifiers_held(std::slice::from_ref(p), key_part(at, "part-of=", ""));
    }
    if let Some(a) = &org.address {
        at = key_part(at, "address=", &format!("{:?}", a.value));
    }
    at
}

/// The conditional update of an Organization on its ODS code
/// (`Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|…`),
/// with the id from that key alone: an ESR worker's Organization and a
/// result's performing laboratory with the same code are one resource.
fn ods_org_key(org: &Organisation) -> Option<(Uuid, String)> {
    let url = org
        .identifiers
        .iter()
        .filter(|i| matches!(i.value, Identifier::OdsOrganisation(_)))
        .find_map(|i| conditional("Organization", &i.value))?;
    Some((keyed_id(&url)?, url))
}

/// The key of an Organization a result refers to (OBX-23, a performer's):
/// a conditional update on its ODS code ([`ods_org_key`]); else, in a
/// scope, `PUT Organization/{id}` with a scoped id ([`scoped_id`]) from its
/// first identifier (the namespace it was assigned by, XON.6, else its
/// system, and its value); else none: an Organization known by its name
/// alone is created by every message.
fn result_org_key(org: &Organisation, scope: Option<&str>) -> Option<Key> {
    if let Some((id, url)) = ods_org_key(org) {
        return Some((id, Value::from(url)));
    }
    let first = &org.identifiers.iter().find(|i| keyable(&i.value))?.value;
    let ns = authority_of(first)
        .or(first.authority_system())
        .or(system_of(first));
    let id = scoped_id(KeyedType::Organization, scope?, nonblank(ns), first.value());
    Some((id, id.keyed(KeyedType::Organization)))
}

/// The key of an encounter on its (first) visit number, PV1-19: a
/// conditional update when it has a system (`Encounter?identifier=…`, the
/// id from that alone, as the Patient's key); else, in a scope (the sender,
/// else the trust's ODS code: [`event_scope`]), `PUT Encounter/{id}` with a
/// scoped id ([`scoped_id`]) from its assigning authority as sent (a
/// namespace such as `RX1`, or none) and its value, so an A11 / A12 / A13
/// cancel or an A08 update names the Encounter the A01 created; else none:
/// the Encounter is created by every message (the HL7 v2 mapping notes it).
fn encounter_key(e: &Encounter, scope: Option<&str>) -> Option<Key> {
    let visit = e
        .identifiers
        .iter()
        .map(|i| &i.value)
        .find(|i| matches!(i, Identifier::VisitNumber { .. }) && keyable(i))?;
    if let Some(url) = conditional("Encounter", visit) {
        return keyed_id(&url).map(|id| (id, Value::from(url)));
    }
    let Identifier::VisitNumber {
        value, authority, ..
    } = visit
    else {
        return None;
    };
    let id = scoped_id(
        KeyedType::Encounter,
        scope?,
        nonblank(authority.as_deref()),
        value,
    );
    Some((id, id.keyed(KeyedType::Encounter)))
}

fn class_coding(c: EncounterClass) -> Value<'static> {
    // Constants (no nodes, no allocation).
    macro_rules! class {
        ($system:literal, $code:literal, $display:literal) => {
            raw!({"system": $system, "code": $code, "display": $display})
        };
    }
    match c {
        EncounterClass::Inpatient | EncounterClass::Obstetrics => class!(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "IMP",
            "inpatient encounter"
        ),
        EncounterClass::Outpatient | EncounterClass::Recurring => class!(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "AMB",
            "ambulatory"
        ),
        EncounterClass::Emergency => class!(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "EMER",
            "emergency"
        ),
        EncounterClass::PreAdmission => class!(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "PRENC",
            "pre-admission"
        ),
        // IG PatientClass[EncounterClass]: no v3 ActCode, the v2-0004 code
        // (the R4 binding is extensible; UK Core does not constrain it).
        EncounterClass::Commercial => class!(
            "http://terminology.hl7.org/CodeSystem/v2-0004",
            "C",
            "Commercial Account"
        ),
        EncounterClass::NotApplicable => class!(
            "http://terminology.hl7.org/CodeSystem/v2-0004",
            "N",
            "Not Applicable"
        ),
        _ => class!(
            "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
            "UNK",
            "unknown"
        ),
    }
}

/// `{"text": text}` (an Annotation, a CodeableConcept of text only): no
/// object node.
fn text_object(text: &str) -> Value<'_> {
    Value::Hole(&[r#"{"text":"#, "}"], text)
}

/// An Observation's status (R4 observation-status): a report's `partial`
/// and `appended`, which it lacks, are `preliminary` and `amended`.
fn obs_status(s: Option<ResultStatus>) -> &'static str {
    match s {
        Some(ResultStatus::Registered) => "registered",
        Some(ResultStatus::Preliminary | ResultStatus::Partial) => "preliminary",
        Some(ResultStatus::Final) => "final",
        Some(ResultStatus::Amended | ResultStatus::Appended) => "amended",
        Some(ResultStatus::Corrected) => "corrected",
        Some(ResultStatus::Cancelled) => "cancelled",
        Some(ResultStatus::EnteredInError) => "entered-in-error",
        _ => "unknown",
    }
}

/// A decimal as sent (`007.25`, `+3`, `.5`, `5.`) in FHIR's decimal form
/// (`7.25`, `3`, `0.5`, `5`), with the exponent FHIR's decimal allows kept as
/// sent (`1e3`, `1.5E-2`: a value read from FHIR). `None` for anything else,
/// and for a number beyond what an `f64` holds, in an exponent (`1e400`) or
/// in digits (`1` and 400 zeros): the `serde_json::Value` form could not
/// hold it, and `serde_json` refuses it. The text is kept as the
/// number's literal: [`write_event_bundle`] writes `7.50` as `7.50`; the
/// `serde_json::Value` form has `f64` numbers and gives `7.5`.
fn fhir_decimal(text: &str) -> Option<Value<'static>> {
    let t = text.trim();
    let (t, exponent) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(decimal_exponent(text.trim(), e)?)),
        None => (t, None),
    };
    let (sign, digits) = match t.as_bytes().first() {
        Some(b'-') => ("-", t.get(1..)?),
        Some(b'+') => ("", t.get(1..)?),
        _ => ("", t),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int)
        || !frac.is_none_or(all_digits)
        || (int.is_empty() && frac.is_none_or(str::is_empty))
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.filter(|f| !f.is_empty());
    let exponent = exponent.unwrap_or_default();
    if sign.len() + int.len() + frac.map_or(0, |f| f.len() + 1) + exponent.len() <= 30 {
        // Short (every real measurement): put together on the stack.
        let mut t = Text::default();
        for part in [sign, int] {
            t.push(part.as_bytes());
        }
        if let Some(f) = frac {
            t.push(b".");
            t.push(f.as_bytes());
        }
        t.push(exponent.as_bytes());
        return Value::number_text(t.as_bytes());
    }
    let out = match frac {
        Some(f) => format!("{sign}{int}.{f}{exponent}"),
        None => format!("{sign}{int}{exponent}"),
    };
    // Written out in digits, too, a number beyond an `f64` (`1` and 400
    // zeros) is refused by `serde_json` (and null in the `Value` form).
    if !out.parse::<f64>().is_ok_and(f64::is_finite) {
        return None;
    }
    Value::number(out)
}

/// The exponent of the decimal `text` as written after its mantissa
/// (`e3`, `E-2`, `e+03`), when `digits` (what follows the `e`) is FHIR's
/// `[+-]?[0-9]+` and the number is a finite `f64`; else `None`.
fn decimal_exponent<'t>(text: &'t str, digits: &str) -> Option<&'t str> {
    let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
    let well_formed = !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit());
    let finite = text.parse::<f64>().is_ok_and(f64::is_finite);
    let at = text.len().checked_sub(digits.len() + 1)?;
    (well_formed && finite).then(|| text.get(at..)).flatten()
}

/// True when a Range's `low` is above its `high` (R4 rng-2: low SHALL be
/// lower): both FHIR decimals ([`fhir_decimal`]) in the same unit.
fn range_inverted(low: &Quantity, high: &Quantity) -> bool {
    let number = |q: &Quantity| {
        fhir_decimal(&q.value)?;
        q.value.trim().parse::<f64>().ok()
    };
    let same_unit = (&low.unit, &low.ucum) == (&high.unit, &high.ucum);
    match (number(low), number(high)) {
        (Some(l), Some(h)) => same_unit && l > h,
        _ => false,
    }
}

/// R4's quantity comparators (`Quantity.comparator`, a required binding).
const COMPARATORS: [&str; 4] = ["<", "<=", ">=", ">"];

fn quantity(q: &Quantity) -> Value<'_> {
    let mut o = Map::with_capacity(4);
    // Not a number: the caller writes the text instead (never dropped).
    let Some(n) = fhir_decimal(&q.value) else {
        return Value::Null;
    };
    o.insert("value", n);
    // R4's comparators (a required binding): another is not written (listed
    // by `observation_losses`).
    if let Some(c) = q.comparator.as_deref().filter(|c| COMPARATORS.contains(c)) {
        put(&mut o, "comparator", json!(c));
    }
    if let Some(u) = &q.unit {
        put(&mut o, "unit", json!(u));
    }
    if let Some(u) = &q.ucum {
        put(&mut o, "system", json!("http://unitsofmeasure.org"));
        put(&mut o, "code", fhir_code(u));
    }
    Value::Object(o)
}

/// v2 table 0078 codes and their v3 ObservationInterpretation displays: the
/// IG's InterpretationCodes ConceptMap (the codes are the same; `AC`, `HM`,
/// `QCF`, `TOX` have no v3 code and stay in v2-0078).
/// `(v2 code, v3 display, v3 ObservationInterpretation CodeableConcept)`:
/// the concept as constant compact JSON, made at compile time from the code
/// and display.
macro_rules! interpretations {
    ($(($code:literal, $display:literal)),* $(,)?) => {
        &[$((
            $code,
            $display,
            concat!(
                r#"{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":""#,
                $code,
                r#"","display":""#,
                $display,
                r#""}]}"#
            ),
        )),*]
    };
}

const INTERPRETATION: &[(&str, &str, &str)] = interpretations![
    ("<", "Off scale low"),
    (">", "Off scale high"),
    ("A", "Abnormal"),
    ("AA", "Critical abnormal"),
    ("B", "Better"),
    ("CAR", "Carrier"),
    ("D", "Significant change down"),
    ("DET", "Detected"),
    ("E", "Equivocal"),
    ("EX", "outside threshold"),
    ("EXP", "Expected"),
    ("H", "High"),
    ("HH", "Critical high"),
    ("HU", "Significantly high"),
    ("I", "Intermediate"),
    ("IE", "Insufficient evidence"),
    ("IND", "Indeterminate"),
    ("L", "Low"),
    ("LL", "Critical low"),
    ("LU", "Significantly low"),
    ("MS", "moderately susceptible"),
    ("N", "Normal"),
    ("NCL", "No CLSI defined breakpoint"),
    ("ND", "Not detected"),
    ("NEG", "Negative"),
    ("NR", "Non-reactive"),
    ("NS", "Non-susceptible"),
    ("POS", "Positive"),
    ("R", "Resistant"),
    ("RR", "Reactive"),
    ("S", "Susceptible"),
    ("SDD", "Susceptible-dose dependent"),
    ("SYN-R", "Synergy - resistant"),
    ("SYN-S", "Synergy - susceptible"),
    ("U", "Significant change up"),
    ("UNE", "Unexpected"),
    ("VS", "very susceptible"),
    ("W", "Worse"),
    ("WR", "Weakly reactive"),
];

/// An OBX-8 code: v2-0078 codes as their v3 ObservationInterpretation
/// equivalents (what R4's `Observation.interpretation` binding expects).
fn interpretation(c: &Code) -> Value<'_> {
    let v3 = matches!(&c.system, carecodec_model::CodeSystem::V2Table(t) if t == "0078")
        .then(|| INTERPRETATION.iter().find(|(k, ..)| *k == c.code))
        .flatten();
    match v3 {
        Some((.., json)) => Value::Raw(json),
        None => code_cc(c),
    }
}

fn observation<'a>(
    ob: &'a Observation,
    id: &Uuid,
    subject: Option<&Uuid>,
    seed: Seed,
    sides: &mut SideKeys<'_>,
    entries: &mut Vec<Entry<'a>>,
) -> Value<'a> {
    let mut o = resource!("Observation", &id);
    o.insert(
        "status",
        json!(obs_status(ob.status.as_ref().map(|s| s.value))),
    );
    // R4 requires `code`: an empty one (a display-only coding the reader
    // left unmapped) says it is unknown, as a report's does.
    o.insert("code", concept_or_absent(&ob.code.value));
    if let Some(s) = subject {
        o.insert("subject", reference(s));
    }
    if let Some(e) = &ob.effective {
        put(&mut o, "effectiveDateTime", date_time_value(&e.value));
    }
    match ob.value.as_ref().map(|v| &v.value) {
        Some(ObservationValue::Quantity(q)) => match quantity(q) {
            Value::Null => put(&mut o, "valueString", json!(&q.value)),
            v => put(&mut o, "valueQuantity", v),
        },
        // A text over R4's string limit: an attachment (below).
        Some(ObservationValue::Text(t)) if tree::too_long(t) => {}
        Some(ObservationValue::Text(t)) => put(&mut o, "valueString", json!(t)),
        Some(ObservationValue::Coded(c)) => put(&mut o, "valueCodeableConcept", concept(c)),
        Some(ObservationValue::DateTime(t)) => put(&mut o, "valueDateTime", date_time_value(t)),
        Some(ObservationValue::Range { low, high }) => {
            let mut r = Map::with_capacity(4);
            if let Some(l) = low {
                put(&mut r, "low", quantity(l));
            }
            // R4 rng-2: a high below the low is not written (listed).
            if let Some(h) = high
                .as_ref()
                .filter(|h| !low.as_ref().is_some_and(|l| range_inverted(l, h)))
            {
                put(&mut r, "high", quantity(h));
            }
            put(&mut o, "valueRange", Value::Object(r));
        }
        _ => {}
    }
    // An attachment with nothing in it (a model made elsewhere) is no value.
    let attached = match ob.value.as_ref().map(|v| &v.value) {
        Some(ObservationValue::Attachment(a)) => Some(attachment(a)).filter(|v| !v.is_empty()),
        Some(ObservationValue::Text(t)) if tree::too_long(t) => Some(long_text(t)),
        _ => None,
    };
    let empty_attachment = attached.is_none()
        && matches!(
            ob.value.as_ref().map(|v| &v.value),
            Some(ObservationValue::Attachment(_))
        );
    let mut ext = Vec::new();
    if let Some(s) = &ob.sub_id {
        let s = &s.value;
        let mut parts = Vec::with_capacity(4);
        if let Some(t) = &s.original {
            parts.push(json!({"url": "original-sub-identifier", "valueString": t}));
        }
        // A group or sequence that is no decimal is not written (noted by
        // `observation_losses`).
        for (name, n) in [("group", &s.group), ("sequence", &s.sequence)] {
            if let Some(d) = n.as_deref().and_then(fhir_decimal) {
                parts.push(json!({"url": name, "valueDecimal": d}));
            }
        }
        if let Some(t) = &s.identifier {
            parts.push(json!({"url": "identifier", "valueString": t}));
        }
        if !parts.is_empty() {
            ext.push(json!({"url": OBS_SUB_ID, "extension": Value::Array(parts)}));
        }
    }
    if let Some(a) = attached {
        ext.push(json!({"url": OBS_VALUE_R5, "valueAttachment": a}));
    }
    put(&mut o, "extension", Value::Array(ext));
    if ob.value.is_none() || empty_attachment {
        o.insert(
            "dataAbsentReason",
            raw!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}]}),
        );
    }
    put(
        &mut o,
        "interpretation",
        Value::Array(
            ob.interpretation
                .iter()
                .map(|c| interpretation(&c.value))
                .collect(),
        ),
    );
    put(
        &mut o,
        "note",
        Value::Array(ob.notes.iter().map(|n| text_object(&n.value)).collect()),
    );
    if let Some(r) = &ob.reference_range {
        put(
            &mut o,
            "referenceRange",
            Value::Hole(&[r#"[{"text":"#, "}]"], &r.value),
        );
    }
    let performers: Vec<Value> = ob
        .performers
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            performer(
                p,
                seed.with(&["/performer/", itoa::Buffer::new().format(i)]),
                sides,
                entries,
            )
        })
        .map(|u| reference(&u))
        .collect();
    put(&mut o, "performer", Value::Array(performers));
    put(
        &mut o,
        "identifier",
        Value::Array(
            ob.identifiers
                .iter()
                .map(|i| identifier_tree(&i.value))
                .collect(),
        ),
    );
    if let Some(m) = &ob.method {
        put(&mut o, "method", concept(&m.value));
    }
    if let Some(b) = &ob.body_site {
        put(&mut o, "bodySite", concept(&b.value));
    }
    if !ob.device.is_empty() {
        // OBX-18: one Device with the equipment's identifiers (IG), keyed
        // as a result's EI: a conditional update on one with a system, else
        // a scoped id on one known by its namespace, else created.
        let key = identifier_key(KeyedType::Device, &ob.device, sides.scope);
        let key = sides.admit(key, identifiers_held(&ob.device, Seed::new(&["device"])));
        let did = key
            .as_ref()
            .map_or_else(|| seed.uuid(&["/device"]), |(id, _)| *id);
        let url = urn(&did);
        let mut d = resource!("Device", &did);
        put(
            &mut d,
            "identifier",
            Value::Array(
                ob.device
                    .iter()
                    .map(|i| identifier_tree(&i.value))
                    .collect(),
            ),
        );
        entries.push(match key {
            Some((_, k)) => entry(&url, Value::Object(d), "PUT", k),
            None => entry(&url, Value::Object(d), "POST", "Device"),
        });
        o.insert("device", reference(&url));
    }
    Value::Object(o)
}

/// An allergy type (v2 table 0127) as FHIR's AllergyIntolerance category:
/// DA and MA are both `medication`; "" for a code with none (MC, a
/// contraindication, and codes outside the table: not written).
fn allergy_category(code: Option<&str>) -> &'static str {
    match code {
        Some("DA" | "MA") => "medication",
        Some("FA") => "food",
        Some("EA" | "AA" | "PA" | "LA") => "environment",
        _ => "",
    }
}

/// An allergy severity (v2 table 0128) as FHIR's criticality: MI and MO are
/// both `low`; U is FHIR's "unable to assess" (read back as U); "" for a code
/// outside the table (not written).
fn allergy_criticality(code: Option<&str>) -> &'static str {
    match code {
        Some("SV") => "high",
        Some("MI" | "MO") => "low",
        Some("U") => "unable-to-assess",
        Some(_) | None => "",
    }
}

/// An Observation's text over R4's string limit as an Attachment: plain
/// UTF-8 text ([`LONG_TEXT_TYPE`]), Base64 in `data`; `read_bundle` reads
/// it back as the text.
fn long_text(text: &str) -> Value<'static> {
    obj([
        ("contentType", Value::from(LONG_TEXT_TYPE)),
        ("data", Value::from(base64(text.trim().as_bytes()))),
    ])
}

/// An Attachment: its content type, its data when it is Base64 (else noted
/// by `observation_losses`), its url. Inline data with no content type is
/// typed `application/octet-stream` (R4 att-1: data needs a type).
fn attachment(a: &Attachment) -> Value<'_> {
    let mut o = Map::with_capacity(3);
    let data = a.data.as_deref().filter(|d| is_base64(d));
    // A blank content type (a model made elsewhere) is none (noted by
    // `observation_losses`).
    match a.content_type.as_deref().filter(|t| !blank(t)) {
        Some(t) => put(&mut o, "contentType", fhir_code(t)),
        None if data.is_some() => put(&mut o, "contentType", json!("application/octet-stream")),
        None => {}
    }
    if let Some(d) = data {
        o.insert("data", json!(d));
    }
    if let Some(u) = &a.url {
        // The v2 mapper encodes an RP.1's whitespace (reported); any other
        // model's url is made a valid `url` the same way.
        put(&mut o, "url", json!(uri_escape_whitespace(u).into_owned()));
    }
    Value::Object(o)
}

/// `bytes` as Base64 (RFC 4648, padded).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            let c = if i <= chunk.len() {
                ALPHABET.get((n >> (18 - 6 * i) & 63) as usize).copied()
            } else {
                None
            };
            out.push(c.map_or('=', char::from));
        }
    }
    out
}

/// The bytes Base64 text `t` ([`is_base64`]) stands for; `None` when it is
/// not Base64.
pub(crate) fn base64_decode(t: &str) -> Option<Vec<u8>> {
    if !is_base64(t) {
        return None;
    }
    let sextet = |c: u8| -> u32 {
        u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        })
    };
    let body = t.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    for chunk in body.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | sextet(c) << (18 - 6 * i));
        let [_, a, b, c] = n.to_be_bytes();
        // Four characters are three bytes, three two, two one.
        let take = chunk.len().saturating_sub(1);
        out.extend([a, b, c].into_iter().take(take));
    }
    Some(out)
}

/// The content type of an Observation's text value written as an
/// attachment: a text over R4's string limit ([`tree::too_long`]), which no
/// `valueString` may hold.
pub(crate) const LONG_TEXT_TYPE: &str = "text/plain; charset=utf-8";

/// True for Base64 as FHIR's `base64Binary` takes it (RFC 4648's alphabet
/// in groups of four, at most two `=` of padding at the end; not empty, no
/// whitespace).
///
/// The R4 specification's regex for base64Binary,
/// `(\s*([0-9a-zA-Z\+\=]){4}\s*)+`, leaves out `/` by mistake; RFC 4648's
/// alphabet is meant.
pub(crate) fn is_base64(t: &str) -> bool {
    let b = t.as_bytes();
    if b.is_empty() || b.len() % 4 != 0 {
        return false;
    }
    let body = t.trim_end_matches('=');
    b.len() - body.len() <= 2
        && body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// Notes the values of observation `ob` (at model field `at`) its
/// Observation does not carry: a sub-ID group or sequence that is no
/// decimal, attachment data that is not Base64.
fn observation_losses(ob: &Observation, at: std::fmt::Arguments<'_>, losses: &mut Losses<'_>) {
    if !losses.kept() {
        return;
    }
    // A report's statuses R4's observation-status lacks (see `obs_status`).
    if let Some(s) = &ob.status {
        let text = match s.value {
            ResultStatus::Partial => Some("partial"),
            ResultStatus::Appended => Some("appended"),
            _ => None,
        };
        if let Some(text) = text {
            let field = format_args!("{at}.status");
            losses.note(field, &text, &s.sources, unwritten::OBSERVATION_STATUS);
        }
    }
    if let Some(s) = &ob.sub_id {
        for (name, n) in [("group", &s.value.group), ("sequence", &s.value.sequence)] {
            if let Some(n) = n.as_deref().filter(|n| fhir_decimal(n).is_none()) {
                let field = format_args!("{at}.sub_id.{name}");
                losses.note(field, &n, &s.sources, unwritten::NOT_DECIMAL);
            }
        }
    }
    if let Some(v) = &ob.value {
        match &v.value {
            ObservationValue::Attachment(a) => {
                if let Some(d) = a.data.as_deref().filter(|d| !is_base64(d)) {
                    let field = format_args!("{at}.value.data");
                    losses.note(field, &d, &v.sources, unwritten::NOT_BASE64);
                }
                if let Some(t) = a.content_type.as_deref().filter(|t| blank(t)) {
                    let field = format_args!("{at}.value.content_type");
                    losses.note(field, &t, &v.sources, unwritten::BLANK_CONTENT_TYPE);
                }
            }
            ObservationValue::Quantity(q) if fhir_decimal(&q.value).is_none() => {
                let text = [
                    q.comparator.as_deref(),
                    Some(q.value.as_str()),
                    q.unit.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
                let field = format_args!("{at}.value");
                losses.note(field, &text, &v.sources, unwritten::QUANTITY_TEXT);
            }
            ObservationValue::Quantity(q) => {
                comparator_losses(losses, format_args!("{at}.value"), q, &v.sources);
            }
            ObservationValue::Range { low, high } => {
                if let (Some(l), Some(h)) = (low, high)
                    && range_inverted(l, h)
                {
                    let field = format_args!("{at}.value.high");
                    losses.note(field, &h.value, &v.sources, unwritten::RANGE_INVERTED);
                }
                let high = high
                    .as_ref()
                    .filter(|h| !low.as_ref().is_some_and(|l| range_inverted(l, h)));
                for (name, q) in [("low", low.as_ref()), ("high", high)] {
                    let Some(q) = q else { continue };
                    if fhir_decimal(&q.value).is_none() {
                        let field = format_args!("{at}.value.{name}");
                        losses.note(field, &q.value, &v.sources, unwritten::NOT_DECIMAL_BOUND);
                    } else {
                        comparator_losses(losses, format_args!("{at}.value.{name}"), q, &v.sources);
                    }
                }
            }
            _ => {}
        }
    }
    // A table 0078 flag is written as its v3 code with v3's display.
    for (j, c) in ob.interpretation.iter().enumerate() {
        let is_0078 =
            matches!(&c.value.system, carecodec_model::CodeSystem::V2Table(t) if t == "0078");
        let v3 = INTERPRETATION
            .iter()
            .find(|(k, ..)| *k == c.value.code)
            .map(|(_, display, _)| display);
        let sent = c
            .value
            .display
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if let (true, Some(display), Some(sent)) = (is_0078, v3, sent) {
            if sent != *display {
                let field = format_args!("{at}.interpretation[{j}]");
                losses.note(
                    field,
                    &code_text(&c.value),
                    &c.sources,
                    unwritten::V3_DISPLAY,
                );
            }
        }
    }
}

/// Notes a quantity's comparator (at `at`, a quantity's field) that is none
/// of R4's: not written.
fn comparator_losses(
    losses: &mut Losses<'_>,
    at: std::fmt::Arguments<'_>,
    q: &Quantity,
    sources: &Sources,
) {
    if let Some(c) = q.comparator.as_deref().filter(|c| !COMPARATORS.contains(c)) {
        let field = format_args!("{at}.comparator");
        losses.note(field, &c, sources, unwritten::NO_COMPARATOR);
    }
}

/// The reactions of the allergies sent again (each with the key of an
/// earlier one: `keys`, each allergy's key and the index of the first with
/// it) that the first with their key, or an earlier one sent again, does not
/// list, each with the index of that first, in the order sent and sorted by
/// it: the one AllergyIntolerance lists them after the first's own. Empty
/// (no allocation) when no allergen is sent twice.
fn repeated_reactions<'a>(
    allergies: &'a [Allergy],
    keys: &[(Option<Key>, usize)],
) -> Vec<(usize, &'a carecodec_model::Sourced<String>)> {
    let mut more = Vec::new();
    if keys.iter().enumerate().all(|(i, (_, f))| *f == i) {
        return more;
    }
    // (first, reaction) listed so far, and the firsts whose own are in.
    let mut listed = std::collections::HashSet::new();
    let mut seeded = std::collections::HashSet::new();
    for (i, (a, (_, f))) in allergies.iter().zip(keys).enumerate() {
        if *f == i {
            continue;
        }
        if seeded.insert(*f) {
            let own = allergies.get(*f).map(|a| a.reactions.as_slice());
            listed.extend(
                own.unwrap_or_default()
                    .iter()
                    .map(|r| (*f, r.value.as_str())),
            );
        }
        for r in &a.reactions {
            if listed.insert((*f, r.value.as_str())) {
                more.push((*f, r));
            }
        }
    }
    // Stable: each first's in the order sent.
    more.sort_by_key(|(f, _)| *f);
    more
}

/// An AllergyIntolerance of allergy `a`, listing the reactions `more` (of
/// the same allergen sent again: [`repeated_reactions`]) after its own.
fn allergy<'a>(
    a: &'a Allergy,
    more: &[(usize, &'a carecodec_model::Sourced<String>)],
    id: &Uuid,
    subject: Option<&Uuid>,
) -> Value<'a> {
    let mut o = resource!("AllergyIntolerance", &id);
    // A blank verification status (a model made elsewhere) is no code: not
    // written (noted by `in_error_losses`).
    // So is one outside the required value set (noted the same way).
    let verification = a
        .verification
        .as_ref()
        .map(|v| v.value.as_str())
        .filter(|v| ALLERGY_VERIFICATION_CODES.contains(v));
    // R4 ait-1 / ait-2: a clinical status unless entered in error (active
    // when the source gave none, as v2 AL1 does, or a blank one or one
    // outside the required value set: it has no `unknown`, and UK Core
    // requires one of its codes).
    if verification != Some("entered-in-error") {
        match a
            .clinical_status
            .as_ref()
            .filter(|c| ALLERGY_CLINICAL_CODES.contains(&c.value.as_str()))
        {
            Some(c) => o.insert(
                "clinicalStatus",
                status_cc(ALLERGY_CLINICAL, &c.value),
            ),
            None => o.insert(
                "clinicalStatus",
                raw!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]}),
            ),
        };
    }
    if let Some(v) = verification {
        o.insert("verificationStatus", status_cc(ALLERGY_VERIFICATION, v));
    }
    let category = allergy_category(a.category.as_ref().map(|c| c.value.code.as_str()));
    if !category.is_empty() {
        put(&mut o, "category", json!([category]));
    }
    // The IG's AllergyType map: every table 0127 allergy code is an `allergy`
    // (MC, a contraindication, and unknown codes have no type).
    if matches!(
        a.category.as_ref().map(|c| c.value.code.as_str()),
        Some("DA" | "FA" | "MA" | "EA" | "AA" | "PA" | "LA")
    ) {
        put(&mut o, "type", json!("allergy"));
    }
    let criticality = allergy_criticality(a.severity.as_ref().map(|c| c.value.code.as_str()));
    put(&mut o, "criticality", json!(criticality));
    // UK Core requires `code`: an empty one (a display-only coding the
    // reader left unmapped) says it is unknown (R4 has no empty objects).
    o.insert("code", concept_or_absent(&a.code.value));
    // R4 requires the patient: with none known (a message without PID) the
    // reference says why it is missing (data-absent-reason `unknown`).
    o.insert("patient", subject.map_or_else(absent, reference));
    if let Some(d) = &a.identified {
        put(&mut o, "onsetDateTime", date_value(&d.value));
    }
    if !a.reactions.is_empty() || !more.is_empty() {
        let m: Vec<Value> = (a.reactions.iter())
            .chain(more.iter().map(|(_, r)| *r))
            .map(|r| text_object(&r.value))
            .collect();
        put(&mut o, "reaction", json!([{"manifestation": m}]));
    }
    Value::Object(o)
}

/// An event's Conditions and their keys ([`condition_keys`], in order):
/// each one's id is its key's, else one from the message ([`condition_id`]).
struct Diagnoses<'e, 's> {
    conditions: &'e [Condition],
    /// Each Condition's key and the index of the first with it.
    keys: Vec<(Option<Key>, usize)>,
    /// What the unkeyed ids are made from ([`id_seed`]).
    seed: &'s str,
}

impl Diagnoses<'_, '_> {
    /// The id of the `i`th Condition.
    fn id(&self, i: usize) -> Uuid {
        match self.keys.get(i) {
            Some((Some((id, _)), _)) => *id,
            _ => condition_id(self.seed, i),
        }
    }

    /// The index of the first Condition with the `i`th's key: the one its
    /// resource is written at (its own but for a diagnosis sent again).
    fn first(&self, i: usize) -> usize {
        self.keys.get(i).map_or(i, |(_, f)| *f)
    }

    /// True when a Condition has the key of an earlier one.
    fn any_repeated(&self) -> bool {
        self.keys.iter().enumerate().any(|(i, (_, f))| *f != i)
    }
}

/// The id of the event's `i`th Condition when it is not keyed.
fn condition_id(seed: &str, i: usize) -> Uuid {
    uuid(&[seed, "/condition/", itoa::Buffer::new().format(i)])
}

/// The verification status written for the Condition of diagnosis `i` of
/// `conditions` (the first with its key; `first(j)` is the index of the
/// first with the `j`th's key): its own, unless a later diagnosis with its
/// key is a deletion (`entered-in-error`: HL7 v2 DG1-21 `D`). HL7 v2 action
/// codes (table 0206) are applied in segment order to the record they name,
/// so a later segment deleting the record the first one sent leaves it
/// deleted; written as the first says, the server would keep a diagnosis
/// its sender deleted. Any other status of a later one is not written
/// (first wins, listed by [`repeated_condition_losses`]).
fn written_verification(
    conditions: &[Condition],
    i: usize,
    first: impl Fn(usize) -> usize,
) -> Option<&carecodec_model::Sourced<String>> {
    let own = conditions.get(i)?.verification.as_ref();
    let deleted = |v: &&carecodec_model::Sourced<String>| v.value == "entered-in-error";
    if own.is_some_and(|v| deleted(&v)) {
        return own;
    }
    conditions
        .iter()
        .enumerate()
        .skip(i + 1)
        .filter(|(j, _)| first(*j) == i)
        .find_map(|(_, c)| c.verification.as_ref().filter(deleted))
        .or(own)
}

/// FHIR's diagnosis-role code system (Encounter.diagnosis.use).
pub(crate) const DIAGNOSIS_ROLE: &str = "http://terminology.hl7.org/CodeSystem/diagnosis-role";

/// A DG1-6 diagnosis type as an Encounter.diagnosis `use`: the IG's
/// DiagnosisType map sends table 0052 `A` (admitting) to diagnosis-role `AD`;
/// the v2 coding is kept beside it (with its display as sent), and is the
/// only coding for the codes the map leaves open (`W` working, `F` final).
fn diagnosis_use(c: &Code) -> Value<'_> {
    let admitting = matches!(&c.system, carecodec_model::CodeSystem::V2Table(t) if t == "0052")
        && c.code == "A";
    let mut codings = Vec::with_capacity(2);
    if admitting {
        codings.push(raw!({"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": "AD", "display": "Admission diagnosis"}));
    }
    codings.push(coding(c));
    obj([("coding", Value::Array(codings))])
}

/// FHIR's condition-ver-status code system (Condition.verificationStatus).
pub(crate) const CONDITION_VER_STATUS: &str =
    "http://terminology.hl7.org/CodeSystem/condition-ver-status";

/// FHIR's condition-clinical code system (Condition.clinicalStatus).
pub(crate) const CONDITION_CLINICAL: &str =
    "http://terminology.hl7.org/CodeSystem/condition-clinical";
/// FHIR's allergyintolerance-clinical code system.
pub(crate) const ALLERGY_CLINICAL: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
/// FHIR's allergyintolerance-verification code system.
pub(crate) const ALLERGY_VERIFICATION: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";

/// The codes of R4's allergyintolerance-clinical code system, the whole of
/// the value set `AllergyIntolerance.clinicalStatus` is bound to (required).
const ALLERGY_CLINICAL_CODES: [&str; 3] = ["active", "inactive", "resolved"];
/// The codes of R4's allergyintolerance-verification code system (its
/// required value set).
const ALLERGY_VERIFICATION_CODES: [&str; 4] =
    ["unconfirmed", "confirmed", "refuted", "entered-in-error"];
/// The codes of R4's condition-clinical code system (its required value set).
const CONDITION_CLINICAL_CODES: [&str; 6] = [
    "active",
    "recurrence",
    "relapse",
    "inactive",
    "remission",
    "resolved",
];
/// The codes of R4's condition-ver-status code system (its required value
/// set).
const CONDITION_VER_CODES: [&str; 6] = [
    "unconfirmed",
    "provisional",
    "differential",
    "confirmed",
    "refuted",
    "entered-in-error",
];

/// A clinical or verification status: one coding in its FHIR code system.
fn status_cc<'a>(system: &'static str, code: &'a str) -> Value<'a> {
    let mut coding = Map::with_capacity(2);
    coding.insert("system", Value::from(system));
    put(&mut coding, "code", fhir_code(code));
    obj([("coding", Value::Array(vec![Value::Object(coding)]))])
}

/// The Condition of diagnosis `c`, its verification status `verification`
/// ([`written_verification`]).
fn condition<'a>(
    c: &'a Condition,
    verification: Option<&'a carecodec_model::Sourced<String>>,
    id: &Uuid,
    subject: Option<&Uuid>,
    encounter: Option<&Uuid>,
    entries: &mut Vec<Entry<'a>>,
) -> Value<'a> {
    let mut o = resource!("Condition", &id);
    put(
        &mut o,
        "identifier",
        Value::Array(
            c.identifiers
                .iter()
                .map(|i| identifier_tree(&i.value))
                .collect(),
        ),
    );
    o.insert(
        "category",
        json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}]),
    );
    // A blank status (a model made elsewhere) is no code: neither is
    // written (optional in R4; noted by `in_error_losses`).
    // Nor is one outside the required value set.
    let verification = verification
        .map(|v| v.value.as_str())
        .filter(|v| CONDITION_VER_CODES.contains(v));
    let clinical = c
        .clinical_status
        .as_ref()
        .filter(|s| CONDITION_CLINICAL_CODES.contains(&s.value.as_str()));
    // R4 con-5: no clinical status on a condition entered in error.
    if let (Some(cs), false) = (clinical, verification == Some("entered-in-error")) {
        o.insert("clinicalStatus", status_cc(CONDITION_CLINICAL, &cs.value));
    }
    if let Some(v) = verification {
        o.insert("verificationStatus", status_cc(CONDITION_VER_STATUS, v));
    }
    // An empty concept (a display-only coding the reader left unmapped) says
    // it is unknown, as an allergy's does: R4 has no empty objects, and a
    // Condition with no code at all would read back as none.
    o.insert("code", concept_or_absent(&c.code.value));
    // R4 requires the subject: see `allergy`.
    o.insert("subject", subject.map_or_else(absent, reference));
    if let Some(e) = encounter {
        o.insert("encounter", reference(e));
    }
    if let Some(r) = &c.recorded {
        put(&mut o, "recordedDate", date_time_value(&r.value));
    }
    if let Some(a) = &c.asserted {
        put(
            &mut o,
            "extension",
            json!([{"url": ASSERTED_DATE, "valueDateTime": date_time_value(&a.value)}]),
        );
    }
    if let Some(p) = &c.asserter {
        let e = practitioner_entry(p, uuid(&[id, "/asserter"]));
        o.insert("asserter", reference(&e.full_url));
        entries.push(e);
    }
    Value::Object(o)
}

/// NHS Data Dictionary codes of UK Core's England code systems, by the v2
/// table the mapper reads the same field with (PV1-4 admission method, PV1-14
/// source of admission, PV1-36 discharge method, PV1-37 discharge
/// destination). NHS ITK feeds send these codes; other feeds send the v2
/// table's (letters for 0007, two-digit codes for 0112), which do not collide.
const NHS_CODES: &[(&str, &str, &[&str])] = &[
    (
        "0007",
        "UKCore-AdmissionMethodEngland",
        &[
            "11", "12", "13", "21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28", "31",
            "32", "81", "82", "83", "98", "99",
        ],
    ),
    (
        "0023",
        "UKCore-SourceOfAdmissionEngland",
        &[
            "19", "29", "39", "49", "51", "52", "53", "54", "65", "66", "79", "85", "87", "88",
            "98", "99",
        ],
    ),
    (
        "0112",
        "UKCore-DischargeMethodEngland",
        &["1", "3", "4", "5", "6", "7", "8", "9"],
    ),
    (
        "0113",
        "UKCore-DischargeDestinationEngland",
        &[
            "19", "29", "30", "37", "38", "48", "49", "50", "51", "52", "53", "54", "65", "66",
            "79", "84", "85", "87", "88", "98", "99",
        ],
    ),
];

/// The code in UK Core's England code system, when it is an NHS code there.
fn nhs_code(c: &Code) -> Option<Value<'_>> {
    let carecodec_model::CodeSystem::V2Table(t) = &c.system else {
        return None;
    };
    let (_, system, codes) = NHS_CODES.iter().find(|(table, ..)| table == t)?;
    codes.contains(&c.code.as_str()).then(|| {
        let mut o = Obj::with_capacity(96);
        o.open_array("coding");
        o.open_element();
        o.always("system", Value::Prefixed(Prefix::UkCore, system));
        o.always("code", fhir_code(&c.code));
        // The display as sent (until 2026-12-07 it was not written).
        if let Some(d) = &c.display {
            o.value("display", fhir_string(d));
        }
        o.close_object();
        o.close_array();
        o.finish()
    })
}

fn uk_or_v2(c: &Code) -> Value<'_> {
    nhs_code(c).unwrap_or_else(|| code_cc(c))
}

/// A v2 table 0007 admission type with its display.
fn admission_type(c: &Code) -> Value<'_> {
    let display = match c.code.as_str() {
        "A" => "Accident",
        "C" => "Elective",
        "E" => "Emergency",
        "L" => "Labor and Delivery",
        "N" => "Newborn (Birth in healthcare facility)",
        "R" => "Routine",
        "U" => "Urgent",
        _ => "",
    };
    let mut coding = coding(c);
    if let Some(o) = coding.as_object_mut() {
        if !display.is_empty() && !o.contains_key("display") {
            o.insert("display", json!(display));
        }
    }
    json!({"coding": [coding]})
}

/// A participant's `type`: `[{"coding": [participation(role)]}]`, as a
/// constant for the roles PV1 gives (no nodes), else around the code.
fn participation_type(role: &str) -> Value<'_> {
    macro_rules! known {
        ($code:literal, $display:literal) => {
            raw!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": $code, "display": $display}]}])
        };
    }
    match role {
        "ATND" => known!("ATND", "attender"),
        "REF" => known!("REF", "referrer"),
        "CON" => known!("CON", "consultant"),
        "ADM" => known!("ADM", "admitter"),
        "PART" => known!("PART", "Participation"),
        // No coded type (a FHIR participant with none, or with only text):
        // none written, never an empty code.
        _ if role.trim().is_empty() => Value::Null,
        _ if fhir_code(role).as_str() != Some(role) => {
            json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": fhir_code(role)}]}])
        }
        _ => {
            static OTHER: [&str; 2] = [
                r#"[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"#,
                "}]}]",
            ];
            Value::Hole(&OTHER, role)
        }
    }
}

/// A v3 ParticipationType coding with its display for the roles PV1 gives.
#[cfg(test)]
fn participation(role: &str) -> Value<'_> {
    let display = match role {
        "ATND" => "attender",
        "REF" => "referrer",
        "CON" => "consultant",
        "ADM" => "admitter",
        "PART" => "Participation",
        _ => "",
    };
    let mut o = Map::with_capacity(4);
    o.insert(
        "system",
        json!("http://terminology.hl7.org/CodeSystem/v3-ParticipationType"),
    );
    o.insert("code", fhir_code(role));
    put(&mut o, "display", json!(display));
    Value::Object(o)
}

/// PV1-40 bed status (IG: the operationalStatus of the Location PV1-3 names):
/// set on the Location entry at `url`, the most granular of the hierarchy.
fn set_operational_status<'a>(entries: &mut [Entry<'a>], url: &Uuid, status: Value<'a>) {
    let entry = entries.iter_mut().rev().find(|x| x.full_url == *url);
    if let Some(r) = entry.and_then(|e| e.resource.as_object_mut()) {
        r.insert("operationalStatus", status);
    }
}

/// The IG's EncounterPriority map: table 0217 `1`/`2`/`3` → v3 ActPriority
/// `EM`/`UR`/`EL`; any other code as sent.
pub(crate) const ENCOUNTER_PRIORITY: [(&str, &str, &str); 3] = [
    ("1", "EM", "emergency"),
    ("2", "UR", "urgent"),
    ("3", "EL", "elective"),
];

/// FHIR's encounter-special-arrangements code system: the IG's AmbulatoryStatus
/// map sends table 0009 `A2` (wheelchair/stretcher bound) to its `wheel`.
pub(crate) const SPECIAL_ARRANGEMENTS: &str =
    "http://terminology.hl7.org/CodeSystem/encounter-special-arrangements";

/// A table 0009 ambulatory status as the IG's AmbulatoryStatus map writes it:
/// `A2` → `wheel` (Wheelchair), other codes in v2-0009 as sent.
fn special_arrangement(c: &Code) -> Value<'_> {
    let a2 = matches!(&c.system, carecodec_model::CodeSystem::V2Table(t) if t == "0009")
        && c.code == "A2";
    if a2 {
        json!({"coding": [{"system": SPECIAL_ARRANGEMENTS, "code": "wheel", "display": "Wheelchair"}]})
    } else {
        code_cc(c)
    }
}

/// The opening and closing of the narrative a visit description is written as.
const DESCRIPTION_DIV: (&str, &str) = (
    "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>",
    "</p></div>",
);

/// A visit description (PV2-12) as an XHTML narrative: one paragraph, the
/// text escaped.
fn visit_description_div(text: &str) -> String {
    let mut div = String::with_capacity(text.len() + 64);
    div.push_str(DESCRIPTION_DIV.0);
    for ch in text.chars() {
        match ch {
            '&' => div.push_str("&amp;"),
            '<' => div.push_str("&lt;"),
            '>' => div.push_str("&gt;"),
            c => div.push(c),
        }
    }
    div.push_str(DESCRIPTION_DIV.1);
    div
}

/// The core extension for the mode of arrival (HL7 v2 PV2-38).
pub(crate) const MODE_OF_ARRIVAL: &str =
    "http://hl7.org/fhir/StructureDefinition/encounter-modeOfArrival";

/// v3 ActPriority, the system of `Encounter.priority`.
pub(crate) const ACT_PRIORITY: &str = "http://terminology.hl7.org/CodeSystem/v3-ActPriority";

fn encounter_priority(c: &Code) -> Value<'_> {
    let v3 = matches!(&c.system, carecodec_model::CodeSystem::V2Table(t) if t == "0217")
        .then(|| ENCOUNTER_PRIORITY.iter().find(|(v2, ..)| *v2 == c.code))
        .flatten();
    match v3 {
        Some((_, code, display)) => {
            one_coding(Value::from(ACT_PRIORITY), Value::from(*code), Some(display))
        }
        None => code_cc(c),
    }
}

/// R4's Encounter statuses (a required binding): any other text is written
/// `unknown` (listed by [`clinical_losses`]). The same list as the UK Core
/// validator's (`carecodec_fhir::uk_core::codes`, which this crate does not
/// depend on: a test holds the two equal), as are the four below.
const ENCOUNTER_STATUS: [&str; 9] = [
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

fn encounter<'a>(
    e: &'a Encounter,
    conditions: &Diagnoses<'a, '_>,
    id: &Uuid,
    subject: Option<&Uuid>,
    entries: &mut Vec<Entry<'a>>,
    seed: &str,
    ns: Option<&str>,
) -> Value<'a> {
    let mut o = resource!("Encounter", &id);
    put(
        &mut o,
        "identifier",
        Value::Array(
            e.identifiers
                .iter()
                .map(|i| identifier_tree(&i.value))
                .collect(),
        ),
    );
    let status = e
        .status
        .as_deref()
        .filter(|s| ENCOUNTER_STATUS.contains(s))
        .unwrap_or("unknown");
    o.insert("status", json!(status));
    o.insert(
        "class",
        class_coding(e.class.as_ref().map_or(EncounterClass::Other, |c| c.value)),
    );
    if let Some(s) = &e.service {
        put(&mut o, "serviceType", code_cc(&s.value));
    }
    if let Some(s) = subject {
        o.insert("subject", reference(s));
    }
    let mut parts = Vec::with_capacity(e.participants.len());
    for (i, p) in e.participants.iter().enumerate() {
        // The same practitioner sent again (PV1-7 and PV1-17 alike) is the
        // earlier participant's entry, keyed or not: the Bundle writes an
        // entry once.
        let first = e
            .participants
            .iter()
            .take(i)
            .position(|q| same_practitioner(&q.practitioner, &p.practitioner))
            .unwrap_or(i);
        let pid = uuid(&[seed, "/participant/", itoa::Buffer::new().format(first)]);
        let e = practitioner_entry(&p.practitioner, pid);
        let mut part = Map::with_capacity(2);
        put(&mut part, "type", participation_type(&p.role));
        part.insert("individual", reference(&e.full_url));
        parts.push(Value::Object(part));
        entries.push(e);
    }
    put(&mut o, "participant", Value::Array(parts));
    let mut period = Map::with_capacity(4);
    if let Some(a) = &e.admitted {
        put(&mut period, "start", date_time_value(&a.value));
    }
    // R4 per-1: never an end before the start (the v2 mapper reports and
    // drops such a PV1-45; a model made elsewhere may still hold one).
    let start = e.admitted.as_ref().map(|a| &a.value);
    if let Some(d) = e
        .discharged
        .as_ref()
        .filter(|d| !start.is_some_and(|s| ends_before(&d.value, s)))
    {
        put(&mut period, "end", date_time_end_value(&d.value));
    }
    put(&mut o, "period", Value::Object(period));
    if let Some(r) = &e.reason {
        put(&mut o, "reasonCode", concept(&r.value).in_array());
    }
    // IG DG1[Encounter]: every diagnosis of the event, its DG1-6 type as the
    // `use` and its DG1-15 priority as the `rank` (the Condition refers back
    // through its `encounter`).
    // A diagnosis sent again (its Condition's key an earlier one's) with
    // another type or priority is a second entry for the one Condition (an
    // admitting and a final diagnosis); with the same, none.
    let mut listed = std::collections::HashSet::new();
    let repeated = conditions.any_repeated();
    let rank = |c: &Condition| {
        c.priority
            .as_ref()
            .map(|r| r.value)
            .filter(|r| positive_int(*r))
    };
    let diagnoses = conditions
        .conditions
        .iter()
        .enumerate()
        // One of no encounter (read from FHIR) is not this one's.
        .filter(|(_, c)| !c.no_encounter)
        .filter(|(i, c)| {
            !repeated
                || listed.insert((
                    conditions.first(*i),
                    c.diagnosis_type.as_ref().map(|t| &t.value),
                    rank(c),
                ))
        })
        .map(|(i, c)| {
            let mut d = Map::with_capacity(3);
            d.insert("condition", reference(&urn(&conditions.id(i))));
            if let Some(t) = &c.diagnosis_type {
                d.insert("use", diagnosis_use(&t.value));
            }
            // R4's rank is a positiveInt: a priority 0, or one above
            // 2^31 - 1, is not written.
            if let Some(r) = c.priority.as_ref().filter(|r| positive_int(r.value)) {
                d.insert("rank", Value::from(r.value));
            }
            Value::Object(d)
        })
        .collect();
    put(&mut o, "diagnosis", Value::Array(diagnoses));
    if let Some(p) = &e.priority {
        put(&mut o, "priority", encounter_priority(&p.value));
    }
    // PV2-12 (IG: text.div): text the structured elements do not carry, so
    // the narrative's status is `additional`.
    if let Some(d) = &e.description {
        o.insert(
            "text",
            json!({"status": "additional", "div": visit_description_div(&d.value)}),
        );
    }
    if let Some(n) = e.length_days.as_ref().and_then(|l| fhir_decimal(&l.value)) {
        o.insert(
            "length",
            obj([
                ("value", n),
                ("unit", json!("d")),
                ("system", json!("http://unitsofmeasure.org")),
                ("code", json!("d")),
            ]),
        );
    }
    let mut hosp = Map::with_capacity(8);
    if let Some(id) = &e.preadmission_id {
        put(
            &mut hosp,
            "preAdmissionIdentifier",
            identifier_tree(&id.value),
        );
    }
    if let Some(m) = &e.admission_method {
        match nhs_code(&m.value) {
            // An NHS admission method: UK Core's AdmissionMethod extension.
            Some(cc) => put(
                &mut hosp,
                "extension",
                json!([{"url": ukcore_sd!("Extension-UKCore-AdmissionMethod"), "valueCodeableConcept": cc}]),
            ),
            // A v2 admission type (table 0007): Encounter.type, as the IG maps PV1-4.
            None => put(&mut o, "type", Value::Array(vec![admission_type(&m.value)])),
        }
    }
    if let Some(s) = &e.admit_source {
        put(&mut hosp, "admitSource", uk_or_v2(&s.value));
    }
    if let Some(d) = &e.discharge_destination {
        put(&mut hosp, "dischargeDisposition", uk_or_v2(&d.value));
    }
    if let Some(r) = &e.readmission {
        put(&mut hosp, "reAdmission", code_cc(&r.value));
    }
    put(
        &mut hosp,
        "specialArrangement",
        Value::Array(
            e.ambulatory_status
                .iter()
                .map(|a| special_arrangement(&a.value))
                .collect(),
        ),
    );
    if let Some(v) = &e.special_courtesy {
        put(&mut hosp, "specialCourtesy", concept(&v.value).in_array());
    }
    if let Some(d) = &e.diet {
        put(&mut hosp, "dietPreference", concept(&d.value).in_array());
    }
    put(&mut o, "hospitalization", Value::Object(hosp));
    let mut ext = Vec::new();
    if let Some(m) = &e.discharge_method {
        ext.push(json!({"url": ukcore_sd!("Extension-UKCore-DischargeMethod"), "valueCodeableConcept": uk_or_v2(&m.value)}));
    }
    if let Some(m) = &e.arrival_mode {
        ext.push(json!({"url": MODE_OF_ARRIVAL, "valueCoding": coding(&m.value)}));
    }
    for (url, t) in [
        (PLANNED_START, &e.expected_admit),
        (PLANNED_END, &e.expected_discharge),
    ] {
        if let Some(t) = t {
            ext.push(json!({"url": url, "valueDateTime": date_time_value(&t.value)}));
        }
    }
    put(&mut o, "extension", Value::Array(ext));
    let mut locs = Vec::new();
    let mut keyed = LocationKeys::default();
    for (tag, l, st) in [
        ("location", &e.location, "active"),
        ("prior", &e.prior_location, "completed"),
        ("pending", &e.pending_location, "reserved"),
        ("prior-pending", &e.prior_pending_location, "planned"),
    ] {
        // A Location with nothing in it is no entry, and no reference (listed).
        if let Some(l) = l.as_ref().filter(|l| !location_void(l)) {
            let url =
                location_hierarchy(l, Seed::new(&[seed, "/location"]), ns, &mut keyed, entries);
            if let Some(bs) = e.bed_status.as_ref().filter(|_| tag == "location") {
                set_operational_status(entries, &url, coding(&bs.value));
            }
            locs.push(json!({"location": reference(&url), "status": st}));
        }
    }
    put(&mut o, "location", Value::Array(locs));
    Value::Object(o)
}

/// A patient location (PV1-3, PV1-6, PV1-42, PV2-1) as the IG's PL[Location] hierarchy: one
/// Location per part sent — facility (`si`), ward / point of care (`wa`),
/// room (`ro`), bed (`bd`) — each `partOf` the next broader one, with
/// `mode = instance`; the description (PL.9), identifiers and address go on
/// the most granular one (identifiers on the facility when there is one).
/// Returns the most granular Location's URL, which the Encounter refers to.
/// A location with none of the parts is one Location, as [`location`] writes it.
///
/// Each level is keyed ([`LocationKey`]) when the location has a scope: `ns`
/// (the sending facility, else the trust's ODS code), else a facility that
/// is a universal id: `PUT Location/{id}`, the id from the scope, the level's
/// part and its parents' parts alone (R4 update as create, as an ESR
/// worker's Location), so every message naming the same ward, room or bed
/// sends the same resource, its content the latest's. Without a scope (or
/// with no part to key) each level is a create whose id is `seed` followed by
/// the parts and what they hold; so is a level keyed earlier in the Bundle
/// (`keyed`) that would hold something else here (another location of the
/// message describes the same ward otherwise: one resource cannot say both),
/// and every level below it, while the levels above it that agree stay keyed.
/// Either way the same location sent twice (PV1-3 and PV1-6) is the same
/// entries, written once (see [`event_entries`]). Parts are keyed and named
/// without surrounding whitespace.
fn location_hierarchy<'a>(
    l: &'a Location,
    seed: Seed,
    ns: Option<&str>,
    keyed: &mut LocationKeys,
    entries: &mut Vec<Entry<'a>>,
) -> Uuid {
    macro_rules! physical {
        ($code:literal, $display:literal) => {
            raw!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": $code, "display": $display}]})
        };
    }
    let levels = [
        (&l.facility, physical!("si", "Site"), LevelTag::Facility),
        (&l.ward, physical!("wa", "Ward"), LevelTag::Ward),
        (&l.room, physical!("ro", "Room"), LevelTag::Room),
        (&l.bed, physical!("bd", "Bed"), LevelTag::Bed),
    ];
    // The levels sent (a blank part is none), walked twice rather than
    // collected.
    let present = || {
        levels
            .iter()
            .filter(|(v, ..)| v.as_ref().is_some_and(|v| !blank(&v.value)))
    };
    let count = present().count();
    if count == 0 {
        let lid = location_held(l, seed, true, true).uuid(&[]);
        let url = urn(&lid);
        entries.push(entry(&url, location(l, &lid), "POST", "Location"));
        return url;
    }
    let last = count - 1;
    // The identifiers go on the facility, else on the most granular level.
    let ids_at = |n: usize, tag: LevelTag| {
        if l.facility.is_some() {
            tag == LevelTag::Facility
        } else {
            n == last
        }
    };
    let mut key = LocationKey::new(l, ns);
    // Keyed until a level keyed before holds something else here.
    let mut keying = key.is_some();
    let mut parent: Option<Uuid> = None;
    // The levels so far, each with what it holds (a create).
    let mut chain = seed;
    for (n, (value, physical_type, tag)) in present().enumerate() {
        let Some(value) = value else { continue };
        let name = value.value.trim();
        let ids_here = ids_at(n, *tag);
        let held = location_held(l, Seed::new(&[]), ids_here, n == last);
        chain = location_held(l, key_part(chain, tag.tag(), name), ids_here, n == last);
        let own = key.as_mut().map(|k| k.level(*tag, name));
        let keyed_id = own
            .filter(|_| keying)
            .filter(|id| keyed.admit(id, held.uuid(&[]).bits()));
        keying = keyed_id.is_some();
        let (lid, method, request) = match keyed_id {
            Some(id) => (id, "PUT", id.keyed(KeyedType::Location)),
            None => (chain.uuid(&[]), "POST", Value::from("Location")),
        };
        let url = urn(&lid);
        let mut o = resource!("Location", &lid);
        if ids_here {
            put(
                &mut o,
                "identifier",
                Value::Array(
                    l.identifiers
                        .iter()
                        .map(|i| identifier_tree(&i.value))
                        .collect(),
                ),
            );
        }
        put(&mut o, "name", json!(name));
        if n == last {
            if let Some(d) = &l.name {
                put(&mut o, "description", json!(&d.value));
            }
        }
        o.insert("mode", json!("instance"));
        o.insert("physicalType", physical_type.clone());
        if n == last {
            if let Some(a) = &l.address {
                put(&mut o, "address", address(&a.value));
            }
        }
        if let Some(p) = &parent {
            o.insert("partOf", reference(p));
        }
        entries.push(entry(&url, Value::Object(o), method, request));
        parent = Some(url);
    }
    // `present` was not empty, so there is a parent: the last part made.
    parent.unwrap_or_else(|| urn(&seed.uuid(&[])))
}

/// A level of a PL's Location hierarchy, as its key names it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LevelTag {
    Facility,
    Ward,
    Room,
    Bed,
}

impl LevelTag {
    /// The level's tag in a key: no tag is the start of another.
    fn tag(self) -> &'static str {
        match self {
            LevelTag::Facility => "facility=",
            LevelTag::Ward => "ward=",
            LevelTag::Room => "room=",
            LevelTag::Bed => "bed=",
        }
    }
}

/// `key` followed by one part: `tag`, `value`'s length in bytes, `:` and
/// `value`. Tags are fixed and none starts another, so a key reads back as
/// one sequence of parts: no text of a part can forge another key (a ward
/// named `X\u{1f}room Y` is not room `Y` of ward `X`).
fn key_part(key: Seed, tag: &str, value: &str) -> Seed {
    key.with(&[tag, itoa::Buffer::new().format(value.len()), ":", value])
}

/// The start of a scoped key ([`scoped_id`], [`LocationKey`]): the type's
/// tag ([`KeyedType::key_tag`]), then the scope, length-prefixed as a part
/// ([`key_part`]). The scope is the sender (MSH-4), else the trust's ODS
/// code: see [`event_scope`]; an ODS-shaped one in any case is keyed in
/// upper case ([`scope_case`]).
fn scope_key(rtype: KeyedType, scope: &str) -> Seed {
    key_part(Seed::new(&[rtype.key_tag()]), "/scope=", &scope_case(scope))
}

/// A scope's text as keyed: one of ODS shape but for its case (3–6 ASCII
/// letters and digits: `rx1`) in upper case, as ODS codes are (so MSH-4
/// `rx1` and `RX1`, or `--trust-ods rx1`, are one scope); any other as
/// sent (an upper-case one borrowed, its keys unchanged).
fn scope_case(scope: &str) -> Cow<'_, str> {
    let shaped = (3..=6).contains(&scope.len()) && scope.bytes().all(|b| b.is_ascii_alphanumeric());
    if shaped && scope.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(scope.to_ascii_uppercase())
    } else {
        Cow::Borrowed(scope)
    }
}

/// The client id of a `rtype` resource known by an identifier with no
/// system (`value`, assigned by `authority` as sent: a namespace such as
/// `LAB`, or none) from `scope`: the id its `PUT {rtype}/{id}` (R4 update
/// as create) names, the same in every message of the scope, as a PL's
/// Locations are keyed. Two senders' `LAB456^LAB` are two resources. The
/// value is trimmed, as the authority (by its callers) and the identifier
/// written: `V123 ` is `V123`.
fn scoped_id(rtype: KeyedType, scope: &str, authority: Option<&str>, value: &str) -> Uuid {
    let mut key = scope_key(rtype, scope);
    if let Some(a) = authority {
        key = key_part(key, "authority=", a);
    }
    key_part(key, "value=", value.trim()).uuid(&[])
}

/// The scope of an event's scoped keys ([`scoped_id`], a PL's Locations):
/// the sending facility (MSH-4), else the trust's ODS code given to the
/// writer (a blank one is none).
fn event_scope<'e>(event: &'e Event, trust_ods: Option<&'e str>) -> Option<&'e str> {
    nonblank(event.sender.as_ref().map(|s| s.value.as_str())).or(nonblank(trust_ods))
}

/// The namespace and value of an identifier known by its assigning
/// authority alone (no system): an EI with EI.2 and no EI.3 (`LAB456^LAB`),
/// an XON / CX with a namespace and no universal id. `None` for one with a
/// system (keyed by a conditional update) or with neither.
fn namespaced(id: &Identifier) -> Option<(&str, &str)> {
    if id.authority_system().is_some() || system_of(id).is_some() {
        return None;
    }
    match id {
        Identifier::Typed {
            authority: Some(a),
            value,
            ..
        }
        | Identifier::VisitNumber {
            authority: Some(a),
            value,
            ..
        }
        | Identifier::Other {
            system: Some(a),
            value,
        } if keyable(id) => Some((nonblank(Some(a))?, value)),
        _ => None,
    }
}

/// A resource's id and request URL when it is keyed: a conditional update
/// on an identifier with a system (`Type?identifier=…`, the id from that
/// alone, [`keyed_id`]), or an update by a scoped client id (`Type/{id}`,
/// [`scoped_id`]).
type Key = (Uuid, Value<'static>);

/// The key of a `rtype` resource (a result, a Device) on its identifiers:
/// the first with a system as a conditional update; else, with a scope,
/// the first known by its namespace alone ([`namespaced`]) as a scoped id;
/// else none (a create). A placer number (`PLAC`, OBR-2) names the order,
/// which the filler may split into several reports: it never keys one.
fn identifier_key(
    rtype: KeyedType,
    ids: &[carecodec_model::Sourced<Identifier>],
    scope: Option<&str>,
) -> Option<Key> {
    let ids = || {
        ids.iter()
            .map(|i| &i.value)
            .filter(|i| !matches!(i, Identifier::Typed { kind, .. } if kind == "PLAC"))
    };
    if let Some(url) = ids().find_map(|i| conditional(rtype.as_str(), i)) {
        return keyed_id(&url).map(|id| (id, Value::from(url)));
    }
    let scope = scope?;
    ids().find_map(namespaced).map(|(ns, value)| {
        let id = scoped_id(rtype, scope, Some(ns), value);
        (id, id.keyed(rtype))
    })
}

/// `at` followed by what a level of `l` holds beside its name: the
/// identifiers (when `ids`), the description and address (on the most
/// granular level, `last`).
fn location_held(l: &Location, mut at: Seed, ids: bool, last: bool) -> Seed {
    if ids {
        for i in &l.identifiers {
            at = at.with(&["\u{1f}id ", i.value.kind(), " ", i.value.value()]);
        }
    }
    if last {
        if let Some(d) = &l.name {
            at = at.with(&["\u{1f}description ", &d.value]);
        }
        if let Some(a) = &l.address {
            at = at.with(&["\u{1f}address ", &format!("{:?}", a.value)]);
        }
    }
    at
}

/// The keyed Location levels of an encounter's locations so far, each as
/// its id's bits and the hash of what it holds ([`location_held`]): a Bundle
/// writes one entry per id, so a level that would hold something else than
/// the one already keyed (PV1-3's ward with a description, PV1-6's without)
/// is not keyed. At most four locations of four levels: no allocation.
type LocationKeys = KeyedHolds<16>;

/// Keyed resources of a Bundle so far, each as its id's bits and the hash
/// of what it holds, up to `N` of them (no allocation): one entry is
/// written per id, so a resource keyed again holding something else is not
/// keyed (see [`LocationKeys`], [`SideKeys`]).
struct KeyedHolds<const N: usize> {
    made: [([u64; 2], [u64; 2]); N],
    len: usize,
}

impl<const N: usize> Default for KeyedHolds<N> {
    fn default() -> Self {
        KeyedHolds {
            made: [([0; 2], [0; 2]); N],
            len: 0,
        }
    }
}

impl<const N: usize> KeyedHolds<N> {
    /// True, and the level recorded, when the level `id` holding `holds` was
    /// not keyed before holding something else (and there is room to
    /// record it).
    fn admit(&mut self, id: &Uuid, holds: [u64; 2]) -> bool {
        match self.holds(id) {
            Some(h) => h == holds,
            None => match self.made.get_mut(self.len) {
                Some(slot) => {
                    *slot = (id.bits(), holds);
                    self.len += 1;
                    true
                }
                None => false,
            },
        }
    }

    /// What the level keyed `id` holds, when it was keyed before.
    fn holds(&self, id: &Uuid) -> Option<[u64; 2]> {
        let made = self.made.get(..self.len).unwrap_or_default();
        made.iter().find(|(m, _)| *m == id.bits()).map(|(_, h)| *h)
    }
}

/// The key of a PL's Location hierarchy, level by level. It starts with
/// the scope the PL's parts are unique in: the sender (`ns`: the sending
/// facility, MSH-4, else the trust's ODS code), else — no sender — a
/// facility (PL-4) that is a universal id ([`universal_namespace`]). The
/// facility is a level under the scope (its own part), and the levels below
/// it follow it, except that a facility that is the scope itself is left
/// out of their key: `W1^^^RX1` from RX1 is the ward `W1` from RX1 with no
/// PL-4. Each part is trimmed and length-prefixed ([`key_part`]). The ids
/// are FNV hashes of the key, as an ESR worker's (see `esr_keyed`), so the
/// same ward of the same sender and facility is the same id in every
/// message, and the same ward name from two senders is two. `None` with no
/// scope: a ward named by no sender, or in a facility known by a local
/// code alone, cannot be told from another trust's.
struct LocationKey<'l> {
    /// The key so far: the scope and the levels keyed.
    key: Seed,
    /// The scope's text as keyed ([`scope_case`]), to tell a facility that
    /// is the scope.
    scope: Cow<'l, str>,
}

impl<'l> LocationKey<'l> {
    /// The key of `l`'s hierarchy from its scope, if it has one.
    fn new(l: &'l Location, ns: Option<&'l str>) -> Option<Self> {
        let facility = l.facility.as_ref().map(|f| f.value.trim());
        let scope = nonblank(ns).or(facility.filter(|f| universal_namespace(f)))?;
        let key = scope_key(KeyedType::Location, scope);
        Some(LocationKey {
            key,
            scope: scope_case(scope),
        })
    }

    /// The id of the level `tag` named `name` (trimmed), under the levels
    /// given before it. A facility that is the scope but for its case (PL-4
    /// `rx1` from `RX1`) is the scope, keyed as the scope is.
    fn level(&mut self, tag: LevelTag, name: &str) -> Uuid {
        let facility = tag == LevelTag::Facility;
        let is_scope = facility && scope_case(name) == self.scope;
        let name = if is_scope { &*self.scope } else { name };
        let here = key_part(self.key, tag.tag(), name);
        if !is_scope {
            self.key = here;
        }
        here.uuid(&[])
    }
}

/// True when the writer cannot key `l`'s Locations without a sender or trust
/// ODS code: it has a part to key (facility, ward, room or bed) and no
/// facility (PL-4) known by a universal id ([`LocationKey`]).
pub(crate) fn unkeyable_without_sender(l: &Location) -> bool {
    let universal = l
        .facility
        .as_ref()
        .is_some_and(|f| universal_namespace(f.value.trim()));
    let parts = [&l.facility, &l.ward, &l.room, &l.bed];
    !universal && parts.iter().any(|p| p.is_some())
}

/// `s` trimmed, if anything is left.
fn nonblank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// True when a facility or sender text is a universal id — `urn:oid:…`,
/// `urn:uuid:…` or a URL, as the HL7 v2 mapper writes an HD known by its
/// universal id (HD.2 typed by HD.3) alone —, which names one place
/// wherever it is sent from: a PL-4 of that kind keys a PL's Locations when
/// nothing names the sender.
///
/// ```
/// use carecodec_map::fhir::universal_namespace;
///
/// assert!(universal_namespace("urn:oid:2.16.840.1.113883.19.1"));
/// assert!(!universal_namespace("MAIN"));
/// ```
pub fn universal_namespace(f: &str) -> bool {
    f.starts_with("urn:oid:") || f.starts_with("urn:uuid:") || f.contains("://")
}

fn report<'a>(
    r: &'a ResultReport,
    id: &Uuid,
    subject: Option<&Uuid>,
    observations: &[Uuid],
) -> Value<'a> {
    let mut o = resource!("DiagnosticReport", &id);
    put(
        &mut o,
        "identifier",
        Value::Array(
            r.identifiers
                .iter()
                .map(|i| identifier_tree(&i.value))
                .collect(),
        ),
    );
    // OBR-24 the diagnostic service section (IG: `category`, v2-0074).
    if let Some(c) = &r.category {
        put(&mut o, "category", code_cc(&c.value).in_array());
    }
    let status = match r.status.as_ref().map(|s| s.value) {
        Some(ResultStatus::Preliminary) => "preliminary",
        Some(ResultStatus::Partial) => "partial",
        Some(ResultStatus::Final) => "final",
        Some(ResultStatus::Amended) => "amended",
        Some(ResultStatus::Corrected) => "corrected",
        Some(ResultStatus::Appended) => "appended",
        Some(ResultStatus::Cancelled) => "cancelled",
        Some(ResultStatus::EnteredInError) => "entered-in-error",
        Some(ResultStatus::Registered) => "registered",
        _ => "unknown",
    };
    o.insert("status", json!(status));
    // R4 requires `code`: a report sent with none (no OBR-4) says it is
    // unknown (data-absent-reason) rather than carry a text no sender wrote.
    o.insert("code", concept_or_absent(&r.code.value));
    if let Some(s) = subject {
        o.insert("subject", reference(s));
    }
    effective(&mut o, r);
    if let Some(i) = &r.issued {
        put(&mut o, "issued", instant_value(&i.value));
    }
    put(
        &mut o,
        "result",
        Value::Array(observations.iter().map(reference).collect()),
    );
    Value::Object(o)
}

/// When report `r` was observed: OBR-7 alone as `effectiveDateTime`; with
/// an OBR-8 end, `effectivePeriod` (IG: OBR-7 its start when OBR-8 is
/// valued). R4 per-1: an end before the start is left out (the v2 mapper
/// reports and drops such an OBR-8; a model made elsewhere may still hold
/// one, which [`clinical_losses`] lists).
fn effective<'a>(o: &mut Map<'a>, r: &'a ResultReport) {
    let start = r.effective.as_ref();
    let end = r
        .effective_end
        .as_ref()
        .filter(|e| !start.is_some_and(|s| ends_before(&e.value, &s.value)));
    match (start, end) {
        (Some(s), None) => put(o, "effectiveDateTime", date_time_value(&s.value)),
        (start, Some(e)) => {
            let mut period = Map::with_capacity(2);
            if let Some(s) = start {
                put(&mut period, "start", date_time_value(&s.value));
            }
            put(&mut period, "end", date_time_end_value(&e.value));
            put(o, "effectivePeriod", Value::Object(period));
        }
        (None, None) => {}
    }
}

/// The order a result report answers, as the IG's OBR[ServiceRequest]: the
/// placer / filler identifiers (OBR-2/3), the code (OBR-4), `intent` order,
/// the requester (OBR-16, a Practitioner), subject and encounter. `status`
/// is `unknown`: an OBR carries no order status (ORC-5 does); the order's
/// notes (NTE after the OBR) as `note`. Written when the report has
/// identifiers, an orderer or notes; returns its URL. An update on `key`
/// (its id and URL: the report's, see [`result_key`]) when given, else a
/// create.
fn service_request<'a>(
    r: &'a ResultReport,
    seed: Seed,
    key: Option<Key>,
    subject: Option<&Uuid>,
    encounter: Option<&Uuid>,
    entries: &mut Vec<Entry<'a>>,
) -> Option<Uuid> {
    if r.identifiers.is_empty()
        && r.ordered_by.is_none()
        && r.notes.is_empty()
        && r.reasons.is_empty()
        && r.priority.is_none()
        && !order_details_written(r)
    {
        return None;
    }
    let id = key.as_ref().map_or_else(|| seed.uuid(&[]), |(id, _)| *id);
    let url = urn(&id);
    let mut o = resource!("ServiceRequest", &id);
    put(
        &mut o,
        "identifier",
        Value::Array(
            r.identifiers
                .iter()
                .map(|i| identifier_tree(&i.value))
                .collect(),
        ),
    );
    // Fixed codes of R4's required request-status and request-intent value
    // sets; the priority only from request-priority ([`request_priority`]).
    o.insert("status", json!("unknown"));
    o.insert("intent", json!("order"));
    let code = concept(&r.code.value);
    let coded = !code.is_empty();
    put(&mut o, "code", code);
    if let Some(p) = r.priority.as_ref().and_then(|p| request_priority(&p.value)) {
        o.insert("priority", json!(p));
    }
    // R4 prr-1: orderDetail only beside a code (else listed by
    // `event_not_written`).
    if coded {
        put(&mut o, "orderDetail", concepts(&r.order_details));
    }
    // R4 requires the subject: see `allergy`.
    o.insert("subject", subject.map_or_else(absent, reference));
    if let Some(e) = encounter {
        o.insert("encounter", reference(e));
    }
    if let Some(p) = &r.ordered_by {
        let e = practitioner_entry(p, seed.uuid(&["/requester"]));
        o.insert("requester", reference(&e.full_url));
        entries.push(e);
    }
    put(&mut o, "reasonCode", concepts(&r.reasons));
    put(
        &mut o,
        "note",
        Value::Array(r.notes.iter().map(|n| text_object(&n.value)).collect()),
    );
    entries.push(match key {
        Some((_, k)) => entry(&url, Value::Object(o), "PUT", k),
        None => entry(&url, Value::Object(o), "POST", "ServiceRequest"),
    });
    Some(url)
}

/// True when the ServiceRequest of `r` carries its order details
/// (OBR-46/47): R4 prr-1 allows `orderDetail` only when `code` is present,
/// so an order with no code (OBR-4) that FHIR can hold writes none.
fn order_details_written(r: &ResultReport) -> bool {
    !r.order_details.is_empty() && !concept(&r.code.value).is_empty()
}

/// The CodeableConcepts of `cs` (any of nothing FHIR can hold left out).
fn concepts<'a>(cs: &'a [carecodec_model::Sourced<Concept>]) -> Value<'a> {
    Value::Array(
        cs.iter()
            .map(|c| concept(&c.value))
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

/// FHIR's request-priority codes, the system of a `ServiceRequest.priority`
/// read from FHIR that has no table 0485 code (`urgent`).
pub(crate) const REQUEST_PRIORITY: &str = "http://hl7.org/fhir/request-priority";

/// Table 0485 codes with a FHIR request-priority code (IG
/// ExtendedPriorityCodes); P, C, T, the timing-critical codes and PRN have
/// none.
pub(crate) const ORDER_PRIORITY: [(&str, &str); 3] =
    [("S", "stat"), ("A", "asap"), ("R", "routine")];

/// The FHIR `ServiceRequest.priority` of an order's priority `c`: a table
/// 0485 code the IG maps ([`ORDER_PRIORITY`]), or a request-priority code
/// as it is; `None` for any other (not written, listed by
/// [`event_not_written`]).
fn request_priority(c: &Code) -> Option<&str> {
    match &c.system {
        carecodec_model::CodeSystem::V2Table(t) if t == "0485" => ORDER_PRIORITY
            .iter()
            .find(|(v2, _)| *v2 == c.code)
            .map(|(_, f)| *f),
        carecodec_model::CodeSystem::Uri(u)
            if u == REQUEST_PRIORITY
                && matches!(c.code.as_str(), "routine" | "urgent" | "asap" | "stat") =>
        {
            Some(c.code.as_str())
        }
        _ => None,
    }
}

/// Which kind of Bundle [`event_bundle_with`] writes.
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::fhir::{event_bundle_with, BundleType};
/// use carecodec_map::v2::{map_message, V2Options};
///
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|42|P|2.4\r\
/// PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r").unwrap();
/// let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
/// assert_eq!(BundleType::default(), BundleType::Transaction);
/// assert_eq!(event_bundle_with(&event, BundleType::Transaction).unwrap()["type"], "transaction");
/// assert_eq!(event_bundle_with(&event, BundleType::Message).unwrap()["type"], "message");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BundleType {
    /// A `transaction`: every entry with its `request` (the Patient a
    /// conditional update on its key identifier, or a create when that is an
    /// MRN with no system). The default.
    #[default]
    Transaction,
    /// A `message`: a UK Core MessageHeader first (event code, source,
    /// destination, sender and focus from the HL7 v2 MSH), then the resources;
    /// `Bundle.identifier` is the message control id.
    Message,
}

/// An event as a UK Core `transaction` Bundle ([`event_bundle_with`] with
/// [`BundleType::Transaction`]).
///
/// The Patient entry is keyed by its key identifier (verified NHS number,
/// else NHS number, else MRN with its authority): a conditional update
/// (`PUT Patient?identifier=system|value`, the value escaped for a URL) when
/// the key has a system, as an NHS number always has and an MRN has when its
/// authority's universal id gave one; else a create (`POST Patient`), since a
/// search cannot name an assigner. An event whose patient has no key is
/// [`FhirError::Quarantined`]. An event without a patient gives a Bundle of
/// what it has.
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::fhir::{event_bundle, FhirError};
/// use carecodec_map::v2::{map_message, V2Options};
///
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
/// PID|1||9434765919^^^NHS^NH~K1^^^^MR||SMITH^JOHN\r").unwrap();
/// let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
/// let bundle = event_bundle(&event).unwrap();
/// assert_eq!(bundle["entry"][0]["request"]["method"], "PUT");
/// // Without the NHS number, an MRN with no authority cannot key the patient.
/// let mut anonymous = event.clone();
/// anonymous.patient.as_mut().unwrap().identifiers.remove(0);
/// assert_eq!(event_bundle(&anonymous), Err(FhirError::Quarantined("patient")));
/// ```
pub fn event_bundle(event: &Event) -> Result<serde_json::Value, FhirError> {
    event_bundle_with(event, BundleType::Transaction)
}

/// An event as a UK Core Bundle of the given type.
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::fhir::{event_bundle_with, BundleType};
/// use carecodec_map::v2::{map_message, V2Options};
///
/// let msg = Message::parse(b"MSH|^~\\&|PAS^2.16.840.1.113883.2.1.3.2^ISO|RX1|EPR|RX1|20240312091500||ADT^A01|42|P|2.4\r\
/// PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r").unwrap();
/// let (event, _report) = map_message(&msg, &V2Options::default()).unwrap();
/// let bundle = event_bundle_with(&event, BundleType::Message).unwrap();
/// assert_eq!(bundle["type"], "message");
/// assert_eq!(bundle["identifier"]["value"], "42");
/// let header = &bundle["entry"][0]["resource"];
/// assert_eq!(header["resourceType"], "MessageHeader");
/// assert_eq!(header["eventCoding"]["code"], "A01");
/// assert_eq!(header["source"]["endpoint"], "urn:oid:2.16.840.1.113883.2.1.3.2");
/// assert_eq!(header["sender"]["identifier"]["value"], "RX1");
/// assert_eq!(header["focus"][0]["reference"], bundle["entry"][1]["fullUrl"]);
/// assert!(bundle["entry"][1].get("request").is_none());
/// ```
pub fn event_bundle_with(event: &Event, kind: BundleType) -> Result<serde_json::Value, FhirError> {
    event_bundle_for(event, kind, None)
}

/// [`event_bundle_with`] for a trust: `trust_ods` (the trust's ODS code, as
/// given to [`crate::v2::V2Options::trust_ods`]) is the scope of a message
/// with no sending facility (MSH-4): it keys the Locations of a location
/// that names no facility (PL-4), and the Encounter of a visit number with
/// no system, the results of a filler number or OBX-21 known by its
/// namespace, and the Devices and Organizations results refer to, which are
/// otherwise created (`POST`) by every message.
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::fhir::{event_bundle_for, BundleType};
/// use carecodec_map::v2::{map_message, V2Options};
///
/// // No facility in PV1-3, no sending facility in MSH-4.
/// let msg = Message::parse(b"MSH|^~\\&|PAS||EPR||20240312091500||ADT^A01|42|P|2.4\r\
/// PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|WARD A^^B1\r").unwrap();
/// let (event, _report) = map_message(&msg, &V2Options::default()).unwrap();
/// let method = |b: &serde_json::Value| b["entry"][2]["request"]["method"].clone();
/// let keyed = event_bundle_for(&event, BundleType::Transaction, Some("RX1")).unwrap();
/// assert_eq!(keyed["entry"][2]["resource"]["name"], "WARD A");
/// assert_eq!(method(&keyed), "PUT");
/// let unkeyed = event_bundle_for(&event, BundleType::Transaction, None).unwrap();
/// assert_eq!(method(&unkeyed), "POST");
///
/// // A visit number with no system (`V123^^^RX1`): keyed in the trust's scope.
/// let msg = Message::parse(b"MSH|^~\\&|PAS||EPR||20240312091500||ADT^A11|43|P|2.4\r\
/// PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|||||||||||||||||V123^^^RX1\r").unwrap();
/// let (event, _report) = map_message(&msg, &V2Options::default()).unwrap();
/// let keyed = event_bundle_for(&event, BundleType::Transaction, Some("RX1")).unwrap();
/// assert!(keyed["entry"][1]["request"]["url"].as_str().unwrap().starts_with("Encounter/"));
/// let unkeyed = event_bundle_for(&event, BundleType::Transaction, None).unwrap();
/// assert_eq!(unkeyed["entry"][1]["request"]["method"], "POST");
/// ```
pub fn event_bundle_for(
    event: &Event,
    kind: BundleType,
    trust_ods: Option<&str>,
) -> Result<serde_json::Value, FhirError> {
    event_tree(event, kind, trust_ods, &mut Losses(None, Vec::new())).map(Value::into_serde)
}

/// [`event_bundle_with`] appended to `out` as compact JSON (no
/// `serde_json::Value` in between: the fast path for writing many). A
/// transaction is written entry by entry; on an error nothing is appended.
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::fhir::{event_bundle_with, write_event_bundle, BundleType};
/// use carecodec_map::v2::{map_message, V2Options};
///
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|42|P|2.4\r\
/// PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r").unwrap();
/// let (event, _report) = map_message(&msg, &V2Options::default()).unwrap();
/// let mut out = Vec::new();
/// write_event_bundle(&event, BundleType::Transaction, &mut out).unwrap();
/// // MSH-11 `P` (production) tags the Bundle (IG: v2-0103).
/// assert!(out.starts_with(br#"{"resourceType":"Bundle","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0103","code":"P"}]},"type":"transaction""#));
/// let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(back, event_bundle_with(&event, BundleType::Transaction).unwrap());
/// ```
pub fn write_event_bundle(
    event: &Event,
    kind: BundleType,
    out: &mut Vec<u8>,
) -> Result<(), FhirError> {
    write_event_bundle_for(event, kind, None, out)
}

/// [`write_event_bundle`] for a trust: [`event_bundle_for`] appended to `out`.
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::fhir::{event_bundle_for, write_event_bundle_for, BundleType};
/// use carecodec_map::v2::{map_message, V2Options};
///
/// let msg = Message::parse(b"MSH|^~\\&|PAS||EPR||20240312091500||ADT^A01|42|P|2.4\r\
/// PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|WARD A\r").unwrap();
/// let (event, _report) = map_message(&msg, &V2Options::default()).unwrap();
/// let mut out = Vec::new();
/// write_event_bundle_for(&event, BundleType::Transaction, Some("RX1"), &mut out).unwrap();
/// let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(back, event_bundle_for(&event, BundleType::Transaction, Some("RX1")).unwrap());
/// assert!(back["entry"][2]["request"]["url"].as_str().unwrap().starts_with("Location/"));
/// ```
pub fn write_event_bundle_for(
    event: &Event,
    kind: BundleType,
    trust_ods: Option<&str>,
    out: &mut Vec<u8>,
) -> Result<(), FhirError> {
    write_event(event, kind, trust_ods, out, &mut Losses(None, Vec::new()))
}

/// [`write_event_bundle_for`], and the event's values the Bundle does not
/// carry appended to `not_written` (what [`event_not_written`] lists), from
/// the one pass that writes it. On an error nothing is appended to either.
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::fhir::{write_event_bundle_for, write_event_bundle_noting, BundleType};
/// use carecodec_map::v2::{map_message, V2Options};
///
/// // EVN-4 and EVN-5, but no EVN-2: R4's Provenance needs `recorded`.
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|42|P|2.4\r\
/// EVN|A01||||C1234567^JONES^ANN\r\
/// PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r").unwrap();
/// let (event, _report) = map_message(&msg, &V2Options::default()).unwrap();
/// let (mut out, mut not_written) = (Vec::new(), Vec::new());
/// write_event_bundle_noting(&event, BundleType::Transaction, None, &mut out, &mut not_written)
///     .unwrap();
/// let mut plain = Vec::new();
/// write_event_bundle_for(&event, BundleType::Transaction, None, &mut plain).unwrap();
/// assert_eq!(out, plain);
/// let fields: Vec<&str> = not_written.iter().map(|n| n.field.as_str()).collect();
/// assert!(fields.contains(&"operator.name"), "{fields:?}");
/// assert!(fields.contains(&"source_application"), "{fields:?}");
/// let name = not_written.iter().find(|n| n.field == "operator.name").unwrap();
/// assert_eq!(name.value, "ANN JONES");
/// assert_eq!(name.sources[0].to_string(), "HL7 v2 EVN[1]-5[1].2.1 (bytes 78..83)");
/// ```
pub fn write_event_bundle_noting(
    event: &Event,
    kind: BundleType,
    trust_ods: Option<&str>,
    out: &mut Vec<u8>,
    not_written: &mut Vec<NotWritten>,
) -> Result<(), FhirError> {
    let before = not_written.len();
    let written = write_event(
        event,
        kind,
        trust_ods,
        out,
        &mut Losses(Some(not_written), Vec::new()),
    );
    if written.is_err() {
        not_written.truncate(before);
    }
    written
}

/// The values of `event` that its UK Core Bundle of type `kind` does not
/// carry, each with its model field (`reason`, `conditions[0].priority`),
/// its value as text and its sources, as the writer notes them while it
/// writes: the EVN values (`recorded`, `occurred`, `reason`, the
/// `operator`) when there is no Provenance to hold them (R4 requires its
/// `recorded`, a target and an agent); in a transaction Bundle, which has
/// no MessageHeader, the source and destination applications and the
/// destination facility, and the sender and message type when there is no
/// Provenance either; in a message Bundle an application's universal id and
/// its type when they make no endpoint (an ISO OID or a URI); and a diagnosis's type and priority when
/// there is no Encounter (they are its `diagnosis` entry's `use` and
/// `rank`). It lists too what the Patient, its merged record and the
/// AllergyIntolerances leave out (`subject_losses`), and what the
/// Encounter, Conditions, Observations and DiagnosticReports and the
/// Practitioners, Locations and Organizations they refer to leave out
/// (`clinical_losses`, `observation_losses`): values outside a required
/// binding, codes FHIR does not tell apart, numbers that are no decimal,
/// an end before its start, a practitioner keyed as an earlier one that
/// says something else, a Range's high below its low, a Location with
/// nothing in it; and in any field, text no FHIR string holds (blank, or
/// with control characters), an identifier of blank value and a coding of
/// nothing (`text::text_notes`; docs/mapping.md, "Round trips").
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::fhir::{event_not_written, BundleType};
/// use carecodec_map::v2::{map_message, V2Options};
///
/// // A diagnosis with its type and priority, and no PV1 (no Encounter).
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|42|P|2.4\r\
/// EVN|A08|20240312091500\r\
/// PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
/// DG1|1||I10^Hypertension^I10||20240312|F|||||||||1\r").unwrap();
/// let (event, _report) = map_message(&msg, &V2Options::default()).unwrap();
/// let lost = event_not_written(&event, BundleType::Message).unwrap();
/// let fields: Vec<&str> = lost.iter().map(|n| n.field.as_str()).collect();
/// assert_eq!(fields, ["conditions[0].diagnosis_type", "conditions[0].priority"]);
/// assert_eq!(lost[1].value, "1");
/// assert_eq!(lost[1].sources[0].to_string(), "HL7 v2 DG1[1]-15 (bytes 168..169)");
/// ```
pub fn event_not_written(event: &Event, kind: BundleType) -> Result<Vec<NotWritten>, FhirError> {
    let mut not_written = Vec::new();
    event_tree(
        event,
        kind,
        None,
        &mut Losses(Some(&mut not_written), Vec::new()),
    )?;
    Ok(not_written)
}

/// [`write_event_bundle_for`], noting what is not written in `losses`.
fn write_event(
    event: &Event,
    kind: BundleType,
    trust_ods: Option<&str>,
    out: &mut Vec<u8>,
    losses: &mut Losses<'_>,
) -> Result<(), FhirError> {
    if kind != BundleType::Transaction {
        // A message Bundle's header names the entries it focuses on: built whole.
        return event_tree(event, kind, trust_ods, losses).map(|b| b.write(out));
    }
    // A transaction is written entry by entry, each entry's tree freed before
    // the next is built (so the allocator hands the same blocks back), after
    // the Bundle's opening members.
    let at = out.len();
    write_transaction_head(event, out, &mut losses.1);
    // `entry` is opened at the first entry: FHIR JSON has no empty arrays,
    // so a Bundle with no entries (a message of only an MSH) leaves it out.
    let mut first = true;
    let written = event_entries(event, trust_ods, kind, losses, |e| {
        out.extend_from_slice(if first { b",\"entry\":[" } else { b"," });
        first = false;
        e.write(out);
    });
    match written {
        Ok(()) => {
            if !first {
                out.push(b']');
            }
            out.push(b'}');
            long_text_losses(event, losses);
            Ok(())
        }
        Err(e) => {
            out.truncate(at);
            Err(e)
        }
    }
}

/// What `bundle_head(event, BundleType::Transaction)` writes, without its
/// closing brace and without building it.
fn write_transaction_head(event: &Event, out: &mut Vec<u8>, dropped: &mut Vec<u64>) {
    out.extend_from_slice(br#"{"resourceType":"Bundle""#);
    if let Some(p) = &event.processing {
        // As `bundle_head` and the prune of `event_tree` write it.
        let mut tag = coding(&p.value);
        if !tag.prune_long("", dropped) {
            out.extend_from_slice(br#","meta":{"tag":["#);
            tag.write(out);
            out.extend_from_slice(b"]}");
        }
    }
    out.extend_from_slice(br#","type":"transaction""#);
    if let Some(id) = bundle_identifier(event, dropped) {
        out.extend_from_slice(br#","identifier":{"value":"#);
        json!(id).write(out);
        out.push(b'}');
    }
    if let Some(s) = &event.sent {
        out.extend_from_slice(br#","timestamp":"#);
        instant_value(&s.value).write(out);
    }
}

/// The Bundle's identifier: MSH-10, and for one patient group of a message
/// ([`Event::group`]) MSH-10, a slash and the group's number, so the
/// Bundles of a message's groups never share one; none without MSH-10.
fn bundle_identifier<'e>(
    event: &'e Event,
    dropped: &mut Vec<u64>,
) -> Option<std::borrow::Cow<'e, str>> {
    let id = event.message_id.as_deref()?;
    let id: std::borrow::Cow<'_, str> = match event.group {
        Some(k) => format!("{id}/{k}").into(),
        None => id.into(),
    };
    // One over R4's string limit is none (noted).
    (!Value::from(&*id).long_text("", dropped)).then_some(id)
}

/// What every id the writer makes without a key is made from: the message
/// id, and for one patient group of a message its number after a control
/// character (which no message id holds: the readers refuse them), so no
/// two groups' ids, and no group's and another message's, are the same.
fn id_seed(event: &Event) -> std::borrow::Cow<'_, str> {
    let id = event.message_id.as_deref().unwrap_or_default();
    match event.group {
        Some(k) => format!("{id}\u{1f}{k}").into(),
        None => id.into(),
    }
}

/// The Bundle's members before `entry`: its type, the message id of a
/// message Bundle, and the event's time.
fn bundle_head<'e>(event: &'e Event, kind: BundleType, dropped: &mut Vec<u64>) -> Map<'e> {
    let mut b = Map::with_capacity(6);
    b.insert("resourceType", json!("Bundle"));
    // The processing id tags the Bundle of a transaction; a message Bundle's
    // MessageHeader carries it (IG MSH-11 → MessageHeader.meta.tag).
    if let (BundleType::Transaction, Some(p)) = (kind, &event.processing) {
        b.insert("meta", obj([("tag", json!([coding(&p.value)]))]));
    }
    b.insert(
        "type",
        json!(match kind {
            BundleType::Transaction => "transaction",
            BundleType::Message => "message",
        }),
    );
    // IG MSH[Bundle]: MSH-10 → Bundle.identifier, whatever the Bundle's type.
    if let Some(id) = bundle_identifier(event, dropped) {
        b.insert("identifier", json!({"value": id}));
    }
    if let Some(s) = &event.sent {
        b.insert("timestamp", instant_value(&s.value));
    }
    b
}

/// The Bundle's entries, in order, each handed to `emit` as it is made
/// (a transaction entry, with its `request`); the event's text no FHIR
/// string holds noted after what the entries note ([`text::text_notes`]).
fn event_entries<'a>(
    event: &'a Event,
    trust_ods: Option<&str>,
    kind: BundleType,
    losses: &mut Losses<'_>,
    mut emit_once: impl FnMut(Entry<'a>),
) -> Result<(), FhirError> {
    let (from, texts) = (text::mark(losses), text::text_notes(event, losses));
    let mut dropped = Vec::new();
    event_entries_of(event, trust_ods, kind, losses, |mut e| {
        // No string over R4's limit (listed by `long_text_losses`).
        e.resource.prune_long("", &mut dropped);
        emit_once(e);
    })?;
    losses.1.append(&mut dropped);
    text::merge(losses, from, texts);
    Ok(())
}

/// [`event_entries`], but the text notes.
fn event_entries_of<'a>(
    event: &'a Event,
    trust_ods: Option<&str>,
    kind: BundleType,
    losses: &mut Losses<'_>,
    mut emit_once: impl FnMut(Entry<'a>),
) -> Result<(), FhirError> {
    // An entry is written once: a Practitioner or Location named in several
    // places has one full URL (its key's), and the later copies are left out.
    // A Bundle has tens of entries: a list searched in order is cheaper than
    // hashing each 70-byte id.
    let mut written: Vec<[u64; 2]> = Vec::with_capacity(32);
    let mut emit = |e: Entry<'a>| {
        let id = e.full_url.bits();
        if !written.contains(&id) {
            written.push(id);
            emit_once(e);
        }
    };
    let seed = &*id_seed(event);
    let scope = event_scope(event, trust_ods);
    // No patient (a message without PID): the resources leave their subject
    // out rather than refer to nothing.
    let mut subject = None;
    // The Patient's id when it is keyed by a conditional update (allergies
    // are keyed under it).
    let mut patient_keyed = None;
    if let Some(p) = &event.patient {
        let key = patient_key(p).ok_or(FhirError::Quarantined("patient"))?;
        let cond = conditional("Patient", key).unwrap_or_else(|| "Patient".into());
        let method = if cond.contains('?') { "PUT" } else { "POST" };
        let pid = keyed_id(&cond).unwrap_or_else(|| uuid(&[seed, "/patient/", key.value()]));
        if method == "PUT" {
            patient_keyed = Some(pid);
        }
        let url = urn(&pid);
        subject = Some(url);
        let mut res = patient(p, &pid);
        let merged = merged_patient(event, p, &url, seed);
        if let (Some((old, _)), Some(o)) = (&merged, res.as_object_mut()) {
            o.insert(
                "link",
                json!([{"other": reference(old), "type": "replaces"}]),
            );
        }
        emit(entry(&url, res, method, cond));
        if let Some((_, e)) = merged {
            emit(e);
        }
        contact_organisations(p, &pid)
            .into_iter()
            .for_each(&mut emit);
        if let Some(e) = gp_entry(p, &pid) {
            emit(e);
        }
    }
    let mut encounter_url = None;
    let encounter_key = event
        .encounter
        .as_ref()
        .and_then(|e| encounter_key(e, scope));
    // Conditions keyed on their identifier, or on their keyed Encounter and
    // code, are updates (a visit's DG1 list sent again, a DG1-21 `D`,
    // replaces what it re-sends); the others are created.
    let mut diagnoses = Diagnoses {
        conditions: &event.conditions,
        keys: condition_keys(event, encounter_key.as_ref().map(|(id, _)| id), scope),
        seed,
    };
    if let Some(e) = &event.encounter {
        let key = encounter_key;
        let eid = key
            .as_ref()
            .map_or_else(|| uuid(&[seed, "/encounter"]), |(id, _)| *id);
        let url = urn(&eid);
        // Its Practitioners and Locations (up to four levels per location).
        let mut extra = Vec::with_capacity(e.participants.len() + 4);
        let res = encounter(
            e,
            &diagnoses,
            &eid,
            subject.as_ref(),
            &mut extra,
            seed,
            // The scope of a location's key: the sender, else the trust.
            scope,
        );
        match key {
            Some((_, k)) => emit(entry(&url, res, "PUT", k)),
            None => emit(entry(&url, res, "POST", "Encounter")),
        }
        extra.into_iter().for_each(&mut emit);
        encounter_url = Some(url);
        // Nor for a diagnosis of no encounter (not in its `diagnosis`).
        condition_losses(&event.conditions, |c| c.no_encounter, losses);
    } else {
        // A diagnosis's type and priority are its Encounter `diagnosis`
        // entry's `use` and `rank`: no Encounter, nowhere to write them.
        condition_losses(&event.conditions, |_| true, losses);
    }
    // Allergies keyed under the Patient and their allergen are updates (an
    // A08 sending the AL1 list again replaces what it re-sends); the others
    // are created.
    // An allergen sent twice is one AllergyIntolerance, written at the
    // first with the reactions of all (`subject_losses` notes the other
    // values of the later ones).
    let mut allergy_keys = allergy_keys(event, patient_keyed.as_ref(), scope);
    let more = repeated_reactions(&event.allergies, &allergy_keys);
    for (i, (a, (key, first))) in event.allergies.iter().zip(&mut allergy_keys).enumerate() {
        if *first != i {
            continue;
        }
        let extra = more
            .get(more.partition_point(|(f, _)| *f < i)..more.partition_point(|(f, _)| *f <= i))
            .unwrap_or_default();
        let entry_of = |aid: Uuid, method, url| {
            entry(
                &urn(&aid),
                allergy(a, extra, &aid, subject.as_ref()),
                method,
                url,
            )
        };
        emit(match key.take() {
            Some((aid, k)) => entry_of(aid, "PUT", k),
            None => {
                let aid = uuid(&[seed, "/allergy/", itoa::Buffer::new().format(i)]);
                entry_of(aid, "POST", Value::from("AllergyIntolerance"))
            }
        });
    }
    // A diagnosis sent again is the one Condition written at the first
    // (`clinical_losses` notes what the later ones say otherwise), deleted
    // when a later one deletes it (`written_verification`).
    let firsts: Vec<usize> = if diagnoses.any_repeated() {
        diagnoses.keys.iter().map(|(_, f)| *f).collect()
    } else {
        Vec::new()
    };
    let first_of = |j: usize| firsts.get(j).copied().unwrap_or(j);
    for (i, (c, (key, first))) in event.conditions.iter().zip(&mut diagnoses.keys).enumerate() {
        if *first != i {
            continue;
        }
        let key = key.take();
        let cid = key
            .as_ref()
            .map_or_else(|| condition_id(seed, i), |(id, _)| *id);
        let mut extra = Vec::new();
        let res = condition(
            c,
            written_verification(&event.conditions, i, first_of),
            &cid,
            subject.as_ref(),
            encounter_url.as_ref().filter(|_| !c.no_encounter),
            &mut extra,
        );
        emit(match key {
            Some((_, k)) => entry(&urn(&cid), res, "PUT", k),
            None => entry(&urn(&cid), res, "POST", "Condition"),
        });
        extra.into_iter().for_each(&mut emit);
    }
    // Results keyed on an identifier with a system are conditional updates
    // (a correction replaces what it corrects), the id from the key alone as
    // the Patient's; on one known by its namespace, updates by a scoped id;
    // the others are created.
    let mut keys = result_keys(event, scope).into_iter();
    let mut keyed = || keys.next().flatten();
    // The Devices, Organizations and PractitionerRoles results refer to.
    let mut sides = SideKeys {
        scope,
        held: KeyedHolds::default(),
    };
    // Observations of no report (an ADT's OBX; IG: ADT OBX → Observation).
    for (i, ob) in event.observations.iter().enumerate() {
        let oseed = Seed::new(&[seed, "/obs/", itoa::Buffer::new().format(i)]);
        let key = keyed();
        let oid = key.as_ref().map_or_else(|| oseed.uuid(&[]), |(id, _)| *id);
        let mut extra = Vec::new();
        let mut res = observation(ob, &oid, subject.as_ref(), oseed, &mut sides, &mut extra);
        observation_losses(ob, format_args!("observations[{i}]"), losses);
        let encounter = encounter_url.as_ref().filter(|_| !ob.no_encounter);
        if let (Some(o), Some(e)) = (res.as_object_mut(), encounter) {
            o.insert("encounter", reference(e));
        }
        emit(match key {
            Some((_, k)) => entry(&urn(&oid), res, "PUT", k),
            None => entry(&urn(&oid), res, "POST", "Observation"),
        });
        extra.into_iter().for_each(&mut emit);
    }
    // The entries service_request makes (the order and its requester).
    let mut on_side = Vec::new();
    // The reports not written (partial corrections: listed whole).
    let mut unwritten_reports = Vec::new();
    for (ri, r) in event.reports.iter().enumerate() {
        // The keys of the order, the observations and the report, in that order.
        let order_key = keyed();
        let mut obs_keys: Vec<Option<Key>> = r.observations.iter().map(|_| keyed()).collect();
        let key = keyed();
        // A keyed report re-sent to correct some of its results: its update
        // would replace the server's report with one listing only these
        // (F5, probe nine). When each of them is keyed (updated under the id
        // the server's report lists), it and its order are left as the
        // server holds them and only the results are written; else (a
        // corrected result with no key is created anew, and only the
        // report's update can list it) it is written, and that is noted.
        let partial = key.is_some() && corrects_some_results(r);
        let all_keyed = obs_keys.iter().all(Option::is_some);
        if partial && !all_keyed {
            partial_report_losses(r, ri, unwritten::PARTIAL_REPLACED, losses);
        }
        let partial = partial && all_keyed;
        // The order first: the report and each observation are `basedOn` it (IG).
        let order = if partial {
            partial_report_losses(r, ri, unwritten::PARTIAL_CORRECTION, losses);
            None
        } else {
            service_request(
                r,
                Seed::new(&[seed, "/report/", itoa::Buffer::new().format(ri), "/order"]),
                order_key,
                subject.as_ref(),
                encounter_url.as_ref(),
                &mut on_side,
            )
        };
        on_side.drain(..).for_each(&mut emit);
        let mut obs_urls = Vec::new();
        for (oi, ob) in r.observations.iter().enumerate() {
            let oseed = Seed::new(&[
                seed,
                "/report/",
                itoa::Buffer::new().format(ri),
                "/obs/",
                itoa::Buffer::new().format(oi),
            ]);
            let key = obs_keys.get_mut(oi).and_then(Option::take);
            let oid = key.as_ref().map_or_else(|| oseed.uuid(&[]), |(id, _)| *id);
            let url = urn(&oid);
            let mut extra = Vec::new();
            let mut res = observation(ob, &oid, subject.as_ref(), oseed, &mut sides, &mut extra);
            observation_losses(ob, format_args!("reports[{ri}].observations[{oi}]"), losses);
            if let Some(o) = res.as_object_mut() {
                if let Some(u) = &order {
                    o.insert("basedOn", json!([reference(u)]));
                }
                // The encounter the result belongs to (IG: Observation.encounter from PV1).
                if let Some(e) = encounter_url.as_ref().filter(|_| !ob.no_encounter) {
                    o.insert("encounter", reference(e));
                }
            }
            emit(match key {
                Some((_, k)) => entry(&url, res, "PUT", k),
                None => entry(&url, res, "POST", "Observation"),
            });
            extra.into_iter().for_each(&mut emit);
            obs_urls.push(url);
        }
        if partial {
            unwritten_reports.push(ri);
            continue;
        }
        let rid = key.as_ref().map_or_else(
            || uuid(&[seed, "/report/", itoa::Buffer::new().format(ri)]),
            |(id, _)| *id,
        );
        // OBR-32 the interpreters: PractitionerRoles (PRI) as the
        // observations' performers are written.
        let mut extra = Vec::new();
        let rseed = Seed::new(&[seed, "/report/", itoa::Buffer::new().format(ri)]);
        let interpreters: Vec<Value> = r
            .interpreters
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let at = rseed.with(&["/interpreter/", itoa::Buffer::new().format(i)]);
                performer(p, at, &mut sides, &mut extra)
            })
            .map(|u| reference(&u))
            .collect();
        // OBR-34 / 35 the technicians and transcriptionists: `performer`,
        // each with its function (IG: `event-performerFunction`).
        let performers: Vec<Value> = r
            .performers
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let at = rseed.with(&["/performer/", itoa::Buffer::new().format(i)]);
                let url = performer(p, at, &mut sides, &mut extra)?;
                Some(performer_reference(&url, p.role.as_deref()))
            })
            .collect();
        let mut res = report(r, &rid, subject.as_ref(), &obs_urls);
        if let Some(o) = res.as_object_mut() {
            if let Some(url) = order {
                o.insert("basedOn", json!([reference(&url)]));
            }
            put(o, "performer", Value::Array(performers));
            put(o, "resultsInterpreter", Value::Array(interpreters));
        }
        emit(match key {
            Some((_, k)) => entry(&urn(&rid), res, "PUT", k),
            None => entry(&urn(&rid), res, "POST", "DiagnosticReport"),
        });
        extra.into_iter().for_each(&mut emit);
    }
    let prov = provenance(event, seed, [subject.as_ref(), encounter_url.as_ref()]);
    subject_losses(event, &allergy_keys, losses);
    clinical_losses(
        event,
        &diagnoses.keys,
        prov.is_some(),
        &unwritten_reports,
        losses,
    );
    header_losses(event, kind, prov.is_some(), losses);
    prov.into_iter().flatten().for_each(&mut emit);
    Ok(())
}

/// True when report `r` is sent to correct some of its results rather than
/// as the whole report: one of its results is amended, corrected or
/// entered in error (HL7 v2 OBX-11 `A`, `C`, `D`, `W`) while the report
/// itself is not amended, corrected, appended or cancelled (OBR-25 not `C`, `M` or `X`: HL7 v2 re-sends the whole report,
/// OBR-25 `C`, when it corrects the report). Such a message may carry only
/// the results it corrects, so a keyed report of it whose results are all
/// keyed is not written: the report the server holds keeps its other
/// results, and its link to the corrected ones (their keyed ids are the
/// same). OBR-25 empty with one OBX-11 `C`: true; OBR-25 `C`: false.
fn corrects_some_results(r: &ResultReport) -> bool {
    let status = |s: &Option<carecodec_model::Sourced<ResultStatus>>| s.as_ref().map(|s| s.value);
    !matches!(
        status(&r.status),
        Some(
            ResultStatus::Amended
                | ResultStatus::Corrected
                | ResultStatus::Appended
                | ResultStatus::Cancelled
        )
    ) && r.observations.iter().any(|o| {
        matches!(
            status(&o.status),
            Some(
                ResultStatus::Amended
                    | ResultStatus::Corrected
                    | ResultStatus::Appended
                    | ResultStatus::EnteredInError
            )
        )
    })
}

/// Notes report `ri`, a keyed report of [`corrects_some_results`], not
/// written or written listing only the results sent (`why`): its filler
/// number and code as its value, with the sources of its own values.
fn partial_report_losses(r: &ResultReport, ri: usize, why: &'static str, losses: &mut Losses<'_>) {
    if !losses.kept() {
        return;
    }
    let mut sources = r.code.sources.clone();
    for id in &r.identifiers {
        sources.extend(id.sources.iter().cloned());
    }
    if let Some(s) = &r.status {
        sources.extend(s.sources.iter().cloned());
    }
    // Its identifiers (the filler number), then its code.
    let code = r.code.value.codes.first().map(code_text);
    let value = r
        .identifiers
        .iter()
        .map(|i| i.value.value().to_string())
        .chain(code.or_else(|| r.code.value.text.clone()))
        .collect::<Vec<_>>()
        .join(" ");
    losses.note(format_args!("reports[{ri}]"), &value, &sources, why);
}

/// Notes what the Patient, its merged record and the AllergyIntolerances
/// leave out of the event's patient, `merged_from` and allergies:
/// - identifiers: an invalid NHS number (never written, on the patient or
///   on the record it replaces), and every `merged_from` identifier of a
///   merge of two people (their NHS numbers differ: no replaced record);
/// - a name, telecom or address `use` (and an address kind) FHIR has no
///   code for, a telecom rank that is no positiveInt (0, or above
///   2^31 - 1), and a validity period's end before its start (R4 per-1):
///   the patient's, its contacts' and their organisations' contact persons';
/// - a birth time with no birth date (`patient-birthTime` extends
///   `birthDate`), and a birth order above 2^31 - 1 (no R4 integer:
///   written `multipleBirthBoolean` true);
/// - a contact with nothing written but a relationship or role (R4 pat-1:
///   not written at all; a name or address of nothing FHIR can hold is
///   none);
/// - an allergy type FHIR's category does not tell apart (MA, written
///   `medication` as DA is) or has none for (MC, codes outside table 0127),
///   and a severity likewise (MO, written `low` as MI is; codes outside
///   table 0128).
fn subject_losses(event: &Event, allergy_keys: &[(Option<Key>, usize)], losses: &mut Losses<'_>) {
    if !losses.kept() {
        return;
    }
    let invalid_nhs = |i: &Identifier| matches!(i, Identifier::Other { system: Some(s), .. } if s.starts_with("NHS"));
    if let Some(p) = &event.patient {
        for (i, id) in p.identifiers.iter().enumerate() {
            if invalid_nhs(&id.value) {
                let field = format_args!("patient.identifiers[{i}]");
                losses.note(
                    field,
                    &id.value.value(),
                    &id.sources,
                    unwritten::INVALID_NHS,
                );
            }
        }
        for (i, n) in p.names.iter().enumerate() {
            name_losses(losses, &format!("patient.names[{i}]"), n);
        }
        // patient-birthTime is an extension of birthDate: none without one.
        if let (Some(t), None) = (&p.birth_time, &p.birth_date) {
            let field = format_args!("patient.birth_time");
            losses.note(
                field,
                &date_time(&t.value),
                &t.sources,
                unwritten::NO_BIRTH_DATE,
            );
        }
        if let Some(l) = p.language.as_ref().filter(|l| !language_coded(&l.value)) {
            let field = format_args!("patient.language");
            losses.note(
                field,
                &concept_text(&l.value),
                &l.sources,
                unwritten::LANGUAGE,
            );
        }
        if let Some(m) = &p.multiple_birth
            && let MultipleBirth::Order(n) = m.value
            && i32::try_from(n).is_err()
        {
            let field = format_args!("patient.multiple_birth");
            losses.note(field, &n, &m.sources, unwritten::BIRTH_ORDER);
        }
        for (i, t) in p.telecom.iter().enumerate() {
            telecom_losses(losses, &format!("patient.telecom[{i}]"), t);
        }
        for (i, a) in p.addresses.iter().enumerate() {
            address_losses(losses, &format!("patient.addresses[{i}]"), a);
        }
        for (i, c) in p.contacts.iter().enumerate() {
            let at = format!("patient.contacts[{i}]");
            if !contact_written(c) {
                use unwritten::BARE_CONTACT as WHY;
                // A name's or address's use and kind of no FHIR code, all
                // there was of it.
                if let Some(n) = &c.name {
                    name_losses(losses, &format!("{at}.name"), n);
                }
                if let Some(a) = &c.address {
                    address_losses(losses, &format!("{at}.address"), a);
                }
                for (part, code) in [("relationship", &c.relationship), ("role", &c.role)] {
                    if let Some(r) = code {
                        let field = format_args!("{at}.{part}");
                        losses.note(field, &code_text(&r.value), &r.sources, WHY);
                    }
                }
                if let Some(g) = &c.gender {
                    let field = format_args!("{at}.gender");
                    losses.note(field, &gender(g.value), &g.sources, WHY);
                }
                for (part, d) in [("from", &c.from), ("until", &c.until)] {
                    if let Some(d) = d {
                        let field = format_args!("{at}.{part}");
                        losses.note(field, &d.value, &d.sources, WHY);
                    }
                }
                continue;
            }
            if let Some(n) = &c.name {
                name_losses(losses, &format!("{at}.name"), n);
            }
            for (j, t) in c.telecom.iter().enumerate() {
                telecom_losses(losses, &format!("{at}.telecom[{j}]"), t);
            }
            if let Some(a) = &c.address {
                address_losses(losses, &format!("{at}.address"), a);
            }
            // The contact person at its organisation (written only beside
            // one: `Organization.contact`).
            if let (Some(person), Some(_)) = (&c.organisation_contact, &c.organisation) {
                let at = format!("{at}.organisation_contact");
                if let Some(n) = &person.name {
                    name_losses(losses, &format!("{at}.name"), n);
                }
                for (j, t) in person.telecom.iter().enumerate() {
                    telecom_losses(losses, &format!("{at}.telecom[{j}]"), t);
                }
                if let Some(a) = &person.address {
                    address_losses(losses, &format!("{at}.address"), a);
                }
            }
        }
    }
    let conflict = crate::v2::merge_conflict(&event.merged_from).is_some();
    for (i, m) in event.merged_from.iter().enumerate() {
        let why = match () {
            () if conflict => unwritten::MERGE_CONFLICT,
            () if invalid_nhs(&m.value) => unwritten::INVALID_NHS,
            () => continue,
        };
        losses.note(
            format_args!("merged_from[{i}]"),
            &m.value.value(),
            &m.sources,
            why,
        );
    }
    for (i, a) in event.allergies.iter().enumerate() {
        // One sent again: what it says otherwise than the first is not written.
        let first = allergy_keys.get(i).map_or(i, |(_, f)| *f);
        if let Some(written) = event.allergies.get(first).filter(|_| first != i) {
            repeated_allergy_losses(losses, i, a, written);
            continue;
        }
        in_error_losses(
            losses,
            format_args!("allergies[{i}]"),
            (a.clinical_status.as_ref(), &ALLERGY_CLINICAL_CODES),
            (a.verification.as_ref(), &ALLERGY_VERIFICATION_CODES),
        );
        if let Some(c) = &a.category {
            let why = match (c.value.code.as_str(), allergy_category(Some(&c.value.code))) {
                ("MA", _) => Some(unwritten::ALLERGY_MA),
                (_, "") => Some(unwritten::NO_CATEGORY),
                _ => None,
            };
            if let Some(why) = why {
                let field = format_args!("allergies[{i}].category");
                losses.note(field, &code_text(&c.value), &c.sources, why);
            }
        }
        if let Some(c) = &a.severity {
            let why = match (
                c.value.code.as_str(),
                allergy_criticality(Some(&c.value.code)),
            ) {
                ("MO", _) => Some(unwritten::SEVERITY_MO),
                (_, "") => Some(unwritten::NO_CRITICALITY),
                _ => None,
            };
            if let Some(why) = why {
                let field = format_args!("allergies[{i}].severity");
                losses.note(field, &code_text(&c.value), &c.sources, why);
            }
        }
    }
}

/// Notes a name's use of no FHIR code and a period end before its start.
fn name_losses(losses: &mut Losses<'_>, at: &str, n: &carecodec_model::Sourced<HumanName>) {
    if let Some(u) = n.value.usage.as_deref().filter(|u| name_use(u).is_empty()) {
        losses.note(
            format_args!("{at}.usage"),
            &u,
            &n.sources,
            unwritten::NO_USE,
        );
    }
    period_losses(losses, at, n.value.period.as_ref(), &n.sources);
}

/// Notes a telecom's use of no FHIR code, a rank no positiveInt and a
/// period end before its start.
fn telecom_losses(losses: &mut Losses<'_>, at: &str, t: &carecodec_model::Sourced<Telecom>) {
    if let Some(u) = t
        .value
        .usage
        .as_deref()
        .filter(|u| telecom_use(u).is_empty())
    {
        losses.note(
            format_args!("{at}.usage"),
            &u,
            &t.sources,
            unwritten::NO_USE,
        );
    }
    if let Some(r) = t.value.rank.filter(|r| !positive_int(*r)) {
        let field = format_args!("{at}.rank");
        losses.note(field, &r, &t.sources, unwritten::NO_TELECOM_RANK);
    }
    period_losses(losses, at, t.value.period.as_ref(), &t.sources);
}

/// Notes an address's use and kind of no FHIR code and a period end before
/// its start.
fn address_losses(losses: &mut Losses<'_>, at: &str, a: &carecodec_model::Sourced<Address>) {
    if let Some(u) = a
        .value
        .usage
        .as_deref()
        .filter(|u| address_use(u).is_empty())
    {
        losses.note(
            format_args!("{at}.usage"),
            &u,
            &a.sources,
            unwritten::NO_USE,
        );
    }
    if let Some(k) = a.value.kind.as_deref().filter(|k| !address_type(k)) {
        losses.note(
            format_args!("{at}.kind"),
            &k,
            &a.sources,
            unwritten::NO_ADDRESS_TYPE,
        );
    }
    period_losses(losses, at, a.value.period.as_ref(), &a.sources);
}

/// Notes a validity period's end before its start, which [`period`] leaves
/// out (R4 per-1).
fn period_losses(
    losses: &mut Losses<'_>,
    at: &str,
    p: Option<&carecodec_model::Period>,
    sources: &Sources,
) {
    if let Some(p) = p {
        if let (Some(s), Some(e)) = (&p.start, &p.end) {
            if ends_before(e, s) {
                let field = format_args!("{at}.period.end");
                losses.note(field, &date_time(e), sources, unwritten::END_BEFORE_START);
            }
        }
    }
}

/// Notes each diagnosis type and priority of the `conditions` that are
/// `outside` the Encounter's `diagnosis` (written only there) as not
/// written.
fn condition_losses(
    conditions: &[Condition],
    outside: impl Fn(&Condition) -> bool,
    losses: &mut Losses<'_>,
) {
    if !losses.kept() {
        return;
    }
    for (i, c) in conditions.iter().enumerate().filter(|(_, c)| outside(c)) {
        if let Some(t) = &c.diagnosis_type {
            let field = format_args!("conditions[{i}].diagnosis_type");
            losses.note(
                field,
                &code_text(&t.value),
                &t.sources,
                unwritten::NO_ENCOUNTER,
            );
        }
        if let Some(p) = &c.priority {
            let field = format_args!("conditions[{i}].priority");
            losses.note(field, &p.value, &p.sources, unwritten::NO_ENCOUNTER);
        }
    }
}

/// Notes the display sent with code `c` (at model field `field`), when it
/// has one, as replaced by the display of the v3 code it is written as.
fn sent_display_loss(
    losses: &mut Losses<'_>,
    field: std::fmt::Arguments<'_>,
    c: &carecodec_model::Sourced<Code>,
) {
    if c.value
        .display
        .as_deref()
        .is_some_and(|d| !d.trim().is_empty())
    {
        losses.note(
            field,
            &code_text(&c.value),
            &c.sources,
            unwritten::V3_DISPLAY,
        );
    }
}

/// Notes a clinical status (of the record at `at`) beside a verification
/// status `entered-in-error`, which R4 con-5 / ait-2 leave out, and a blank
/// status or one that is none of its required value set's `codes`, which
/// the writer does not write.
fn in_error_losses(
    losses: &mut Losses<'_>,
    at: std::fmt::Arguments<'_>,
    (clinical, clinical_codes): (Option<&carecodec_model::Sourced<String>>, &[&str]),
    (verification, verification_codes): (Option<&carecodec_model::Sourced<String>>, &[&str]),
) {
    let in_error = verification.is_some_and(|v| v.value == "entered-in-error");
    if let (Some(c), true) = (clinical, in_error) {
        let field = format_args!("{at}.clinical_status");
        losses.note(
            field,
            &c.value,
            &c.sources,
            unwritten::CLINICAL_STATUS_IN_ERROR,
        );
    } else if let Some(c) = clinical.filter(|c| blank(&c.value)) {
        let field = format_args!("{at}.clinical_status");
        losses.note(field, &c.value, &c.sources, unwritten::BLANK_STATUS);
    } else if let Some(c) = clinical.filter(|c| !clinical_codes.contains(&c.value.as_str())) {
        let field = format_args!("{at}.clinical_status");
        losses.note(field, &c.value, &c.sources, unwritten::NO_STATUS_CODE);
    }
    if let Some(v) = verification.filter(|v| blank(&v.value)) {
        let field = format_args!("{at}.verification");
        losses.note(field, &v.value, &v.sources, unwritten::BLANK_STATUS);
    } else if let Some(v) = verification.filter(|v| !verification_codes.contains(&v.value.as_str()))
    {
        let field = format_args!("{at}.verification");
        losses.note(field, &v.value, &v.sources, unwritten::NO_STATUS_CODE);
    }
}

/// The Practitioners keyed so far in a Bundle (by their conditional-update
/// URL), each with what its entry holds: [`event_entries`] writes an entry
/// once, so a later one with the same key is not written.
#[derive(Default)]
struct PractitionersWritten<'e>(Vec<(String, Vec<&'e Identifier>, Option<&'e HumanName>)>);

impl<'e> PractitionersWritten<'e> {
    /// True when a practitioner keyed `key` holding `ids` and `name` is what
    /// its entry says: the first with its key, one holding the same, or one
    /// with no key (created where it is named).
    fn admit(
        &mut self,
        key: Option<String>,
        ids: Vec<&'e Identifier>,
        name: Option<&'e HumanName>,
    ) -> bool {
        let Some(key) = key else { return true };
        match self.0.iter().find(|(k, ..)| *k == key) {
            Some((_, i, n)) => *i == ids && *n == name,
            None => {
                self.0.push((key, ids, name));
                true
            }
        }
    }
}

/// Notes what practitioner `p` (at model field `at`) loses: the whole of it
/// when an earlier entry with its key says something else, else its name's
/// use of no FHIR code and a name period ending before it starts.
fn practitioner_losses<'e>(
    losses: &mut Losses<'_>,
    written: &mut PractitionersWritten<'e>,
    at: &str,
    p: &'e Practitioner,
) {
    let key = p
        .identifiers
        .iter()
        .find_map(|i| conditional("Practitioner", &i.value));
    let ids = p.identifiers.iter().map(|i| &i.value).collect();
    if !written.admit(key, ids, p.name.as_ref().map(|n| &n.value)) {
        let (value, sources) = practitioner_text(p);
        let why = unwritten::SHARED_PRACTITIONER;
        losses.note(format_args!("{at}"), &value, &sources, why);
        return;
    }
    if let Some(n) = &p.name {
        name_losses(losses, &format!("{at}.name"), n);
    }
}

/// A practitioner as one line of text (its identifiers' values, then its
/// name) and the sources of those.
fn practitioner_text(p: &Practitioner) -> (String, Sources) {
    let mut sources = Sources::new();
    for id in &p.identifiers {
        sources.extend(id.sources.iter());
    }
    let name = p.name.as_ref().map(|n| {
        sources.extend(n.sources.iter());
        name_text(&n.value)
    });
    let value = (p.identifiers.iter())
        .map(|i| i.value.value().to_owned())
        .chain(name)
        .collect::<Vec<_>>()
        .join(" ");
    (value, sources)
}

/// Notes a Location's or Organization's address use and kind of no FHIR
/// code and its period's end before its start.
fn place_losses(losses: &mut Losses<'_>, at: &str, a: Option<&carecodec_model::Sourced<Address>>) {
    if let Some(a) = a {
        address_losses(losses, &format!("{at}.address"), a);
    }
}

/// Notes what `performers` (an observation's, or a report's interpreters;
/// at `at`) lose: their practitioners' and organisations'
/// ([`practitioner_losses`], [`place_losses`]), and a role's period ending
/// before it starts or held by an organisation alone.
fn performer_losses<'e>(
    losses: &mut Losses<'_>,
    written: &mut PractitionersWritten<'e>,
    at: &str,
    performers: &'e [Performer],
) {
    for (j, p) in performers.iter().enumerate() {
        // A blank role (a model made elsewhere) is no code: not written.
        if let Some(r) = p.role.as_deref().filter(|r| blank(r)) {
            let field = format_args!("{at}[{j}].role");
            losses.note(field, &r, &Sources::new(), unwritten::BLANK_STATUS);
        }
        // An organisation is written before its practitioner.
        if let Some(o) = &p.organisation {
            let at = format!("{at}[{j}].organisation");
            place_losses(losses, &at, o.address.as_ref());
        }
        if let Some(prac) = &p.practitioner {
            let at = format!("{at}[{j}].practitioner");
            practitioner_losses(losses, written, &at, prac);
        }
        // The period is the PractitionerRole's: an organisation alone has
        // none to hold it.
        if let Some(per) = &p.period {
            let at = format!("{at}[{j}]");
            if p.role.is_none() && p.practitioner.is_none() {
                // `start/end` (ISO 8601's interval form), either side empty
                // when not known.
                let end =
                    |t: &Option<PartialDateTime>| t.as_ref().map(date_time).unwrap_or_default();
                let value = format!("{}/{}", end(&per.value.start), end(&per.value.end));
                losses.note(
                    format_args!("{at}.period"),
                    &value,
                    &per.sources,
                    unwritten::NO_ROLE,
                );
            } else {
                period_losses(losses, &at, Some(&per.value), &per.sources);
            }
        }
    }
}

/// Notes what the Encounter, the Conditions and the DiagnosticReports, and
/// the Practitioners, Locations and Organizations they and the results
/// refer to, leave out of the event (the Observations' own values:
/// [`observation_losses`]), in the order the entries are written:
/// - the encounter: a status not R4's (written `unknown`; the model keeps
///   no source for it), a class FHIR does not tell apart (obstetrics,
///   written `IMP` as inpatient is; recurring, `AMB` as outpatient), a
///   discharge before the admission (R4 per-1), a length that is no
///   decimal, a bed status with no current location, and a priority (table
///   0217 `1`-`3`) or ambulatory status `A2` with a display (written as the
///   IG's v3 code, whose display is FHIR's);
/// - a diagnosis's clinical status beside verification `entered-in-error`
///   (R4 con-5) and a priority 0 or above 2^31 - 1 (`rank` is a
///   positiveInt);
/// - a written report's issued time that is no instant (coarser than the
///   second, or finer than the millisecond), its observation end before
///   its start (R4 per-1), and its order's priority of no request-priority
///   code (or its display);
/// - each Practitioner (the GP's name, the encounter's participants, the
///   asserters, the performers, the orderers, the interpreters, the
///   operator when there is a Provenance) as [`practitioner_losses`] says;
///   each Location's and performing (or interpreting) Organization's
///   address as [`place_losses`] says.
///
/// `unwritten_reports`: the reports [`event_entries`] does not write (a
/// partial correction, listed whole).
fn clinical_losses(
    event: &Event,
    condition_keys: &[(Option<Key>, usize)],
    provenance: bool,
    unwritten_reports: &[usize],
    losses: &mut Losses<'_>,
) {
    if !losses.kept() {
        return;
    }
    let mut written = PractitionersWritten::default();
    // The GP's Practitioner, first written (with the patient).
    if let Some(p) = &event.patient
        && let Some(n) = &p.gp_name
    {
        let gp = practice_and_gp(p).1;
        let ids = gp.map(|g| &g.value).into_iter().collect();
        written.admit(gp_key(p), ids, Some(&n.value));
        name_losses(losses, "patient.gp_name", n);
    }
    if let Some(e) = &event.encounter {
        encounter_losses(losses, &mut written, e);
    }
    for (i, c) in event.conditions.iter().enumerate() {
        // With no Encounter, or of none, `condition_losses` lists the priority.
        let rank_loss = |losses: &mut Losses<'_>| {
            if let (Some(p), Some(_)) = (
                c.priority.as_ref().filter(|p| !positive_int(p.value)),
                event.encounter.as_ref().filter(|_| !c.no_encounter),
            ) {
                let field = format_args!("conditions[{i}].priority");
                losses.note(field, &p.value, &p.sources, unwritten::NO_RANK);
            }
        };
        // One sent again: its type and priority are its own entry of the
        // Encounter's `diagnosis`; what else it says otherwise than the
        // first is not written.
        let first_of = |j: usize| condition_keys.get(j).map_or(j, |(_, f)| *f);
        let first = first_of(i);
        // The verification written for the first (a later one's deletion).
        let verification = written_verification(&event.conditions, first, first_of);
        if let Some(written) = event.conditions.get(first).filter(|_| first != i) {
            repeated_condition_losses(losses, i, c, (written, verification));
            rank_loss(losses);
            continue;
        }
        if let Some(v) = c
            .verification
            .as_ref()
            .filter(|v| verification.is_some_and(|w| !std::ptr::eq(*v, w) && v.value != w.value))
        {
            let field = format_args!("conditions[{i}].verification");
            losses.note(field, &v.value, &v.sources, unwritten::DELETED_LATER);
        }
        let at = format_args!("conditions[{i}]");
        in_error_losses(
            losses,
            at,
            (c.clinical_status.as_ref(), &CONDITION_CLINICAL_CODES),
            (verification, &CONDITION_VER_CODES),
        );
        rank_loss(losses);
        if let Some(p) = &c.asserter {
            practitioner_losses(
                losses,
                &mut written,
                &format!("conditions[{i}].asserter"),
                p,
            );
        }
    }
    for (i, ob) in event.observations.iter().enumerate() {
        let at = format!("observations[{i}].performers");
        performer_losses(losses, &mut written, &at, &ob.performers);
    }
    for (ri, r) in event.reports.iter().enumerate() {
        let shown = !unwritten_reports.contains(&ri);
        if let (Some(p), true) = (&r.ordered_by, shown) {
            practitioner_losses(
                losses,
                &mut written,
                &format!("reports[{ri}].ordered_by"),
                p,
            );
        }
        for (oi, ob) in r.observations.iter().enumerate() {
            let at = format!("reports[{ri}].observations[{oi}].performers");
            performer_losses(losses, &mut written, &at, &ob.performers);
        }
        if shown {
            let at = format!("reports[{ri}].performers");
            performer_losses(losses, &mut written, &at, &r.performers);
            let at = format!("reports[{ri}].interpreters");
            performer_losses(losses, &mut written, &at, &r.interpreters);
        }
        if shown && !r.order_details.is_empty() && !order_details_written(r) {
            for (di, d) in r.order_details.iter().enumerate() {
                let field = format_args!("reports[{ri}].order_details[{di}]");
                let why = unwritten::ORDER_DETAIL_NO_CODE;
                losses.note(field, &concept_text(&d.value), &d.sources, why);
            }
        }
        if let Some(p) = r.priority.as_ref().filter(|_| shown) {
            let field = format_args!("reports[{ri}].priority");
            if request_priority(&p.value).is_none() {
                let why = unwritten::NO_REQUEST_PRIORITY;
                losses.note(field, &p.value.code, &p.sources, why);
            } else if let Some(d) = &p.value.display {
                losses.note(field, d, &p.sources, unwritten::PRIORITY_DISPLAY);
            }
        }
        if let (Some(s), Some(e), true) = (&r.effective, &r.effective_end, shown) {
            if ends_before(&e.value, &s.value) {
                let field = format_args!("reports[{ri}].effective_end");
                let why = unwritten::END_BEFORE_START;
                losses.note(field, &date_time(&e.value), &e.sources, why);
            }
        }
        if let Some(t) = r.issued.as_ref().filter(|t| shown && !is_instant(&t.value)) {
            let field = format_args!("reports[{ri}].issued");
            losses.note(field, &date_time(&t.value), &t.sources, unwritten::INSTANT);
        }
    }
    if let (Some(op), true) = (&event.operator, provenance) {
        practitioner_losses(losses, &mut written, "operator", op);
    }
}

/// Notes `value` of `field` of a record sent again (the later of two
/// items of one message with one key), when it is there and the record
/// written (the first with the key) does not say the same (`written`).
fn repeated_loss<T: PartialEq>(
    losses: &mut Losses<'_>,
    field: std::fmt::Arguments<'_>,
    value: Option<&carecodec_model::Sourced<T>>,
    written: Option<&carecodec_model::Sourced<T>>,
    text: impl Fn(&T) -> String,
    why: &'static str,
) {
    if let Some(v) = value.filter(|v| written.map(|w| &w.value) != Some(&v.value)) {
        losses.note(field, &text(&v.value), &v.sources, why);
    }
}

/// Notes what allergy `i` (`a`), the allergen of an earlier one of the
/// message (`written`, the AllergyIntolerance written for both) sent again,
/// says otherwise than it: the first's values are written, the reactions
/// of both ([`repeated_reactions`]).
fn repeated_allergy_losses(losses: &mut Losses<'_>, i: usize, a: &Allergy, written: &Allergy) {
    use unwritten::REPEATED_ALLERGY as WHY;
    let at = |f: &str| format!("allergies[{i}].{f}");
    let code = (a.code.value != written.code.value).then_some(&a.code);
    repeated_loss(
        losses,
        format_args!("{}", at("code")),
        code,
        None,
        concept_text,
        WHY,
    );
    let (c, wc) = (a.category.as_ref(), written.category.as_ref());
    repeated_loss(
        losses,
        format_args!("{}", at("category")),
        c,
        wc,
        code_text,
        WHY,
    );
    let (c, wc) = (a.severity.as_ref(), written.severity.as_ref());
    repeated_loss(
        losses,
        format_args!("{}", at("severity")),
        c,
        wc,
        code_text,
        WHY,
    );
    let (d, wd) = (a.identified.as_ref(), written.identified.as_ref());
    repeated_loss(
        losses,
        format_args!("{}", at("identified")),
        d,
        wd,
        ToString::to_string,
        WHY,
    );
    for (f, v, w) in [
        (
            "clinical_status",
            &a.clinical_status,
            &written.clinical_status,
        ),
        ("verification", &a.verification, &written.verification),
    ] {
        let field = format_args!("allergies[{i}].{f}");
        repeated_loss(losses, field, v.as_ref(), w.as_ref(), String::clone, WHY);
    }
}

/// Notes what condition `i` (`c`), a diagnosis of an earlier one's key
/// (`written`, the Condition written for both, with the verification status
/// written, [`written_verification`]) sent again, says otherwise than it:
/// its code, identifiers, statuses, dates and asserter. Its type and
/// priority are its own entry of the Encounter's `diagnosis`.
fn repeated_condition_losses(
    losses: &mut Losses<'_>,
    i: usize,
    c: &Condition,
    (written, verification): (&Condition, Option<&carecodec_model::Sourced<String>>),
) {
    use unwritten::REPEATED_CONDITION as WHY;
    let code = (c.code.value != written.code.value).then_some(&c.code);
    let field = format_args!("conditions[{i}].code");
    repeated_loss(losses, field, code, None, concept_text, WHY);
    for (k, id) in c.identifiers.iter().enumerate() {
        if !written.identifiers.iter().any(|w| w.value == id.value) {
            let field = format_args!("conditions[{i}].identifiers[{k}]");
            losses.note(field, &id.value.value(), &id.sources, WHY);
        }
    }
    for (f, v, w) in [
        (
            "clinical_status",
            c.clinical_status.as_ref(),
            written.clinical_status.as_ref(),
        ),
        ("verification", c.verification.as_ref(), verification),
    ] {
        let field = format_args!("conditions[{i}].{f}");
        repeated_loss(losses, field, v, w, String::clone, WHY);
    }
    for (f, v, w) in [
        ("recorded", &c.recorded, &written.recorded),
        ("asserted", &c.asserted, &written.asserted),
    ] {
        let field = format_args!("conditions[{i}].{f}");
        repeated_loss(losses, field, v.as_ref(), w.as_ref(), date_time, WHY);
    }
    if let Some(p) = &c.asserter {
        if !written
            .asserter
            .as_ref()
            .is_some_and(|w| same_practitioner(w, p))
        {
            let (value, sources) = practitioner_text(p);
            losses.note(
                format_args!("conditions[{i}].asserter"),
                &value,
                &sources,
                WHY,
            );
        }
    }
}

/// True when `t` is written as it is as a FHIR instant ([`instant_value`]):
/// to the second, or to a whole millisecond.
fn is_instant(t: &PartialDateTime) -> bool {
    match t.precision {
        Precision::Second => true,
        Precision::Fraction => t.at.timestamp_subsec_nanos() % 1_000_000 == 0,
        _ => false,
    }
}

/// Notes what the Encounter leaves out of `e` (see [`clinical_losses`]),
/// with its participants and locations.
fn encounter_losses<'e>(
    losses: &mut Losses<'_>,
    written: &mut PractitionersWritten<'e>,
    e: &'e Encounter,
) {
    if let Some(s) = e
        .status
        .as_deref()
        .filter(|s| !ENCOUNTER_STATUS.contains(s))
    {
        // The model keeps no source for it.
        let why = unwritten::NO_ENCOUNTER_STATUS;
        losses.note(format_args!("encounter.status"), &s, &Sources::new(), why);
    }
    if let Some(c) = e.class.as_ref().filter(|c| {
        matches!(
            c.value,
            EncounterClass::Obstetrics | EncounterClass::Recurring
        )
    }) {
        let text = if c.value == EncounterClass::Obstetrics {
            "obstetrics"
        } else {
            "recurring"
        };
        let why = unwritten::ENCOUNTER_CLASS;
        losses.note(format_args!("encounter.class"), &text, &c.sources, why);
    }
    for (i, p) in e.participants.iter().enumerate() {
        let at = format!("encounter.participants[{i}].practitioner");
        practitioner_losses(losses, written, &at, &p.practitioner);
    }
    if let (Some(a), Some(d)) = (&e.admitted, &e.discharged) {
        if ends_before(&d.value, &a.value) {
            let field = format_args!("encounter.discharged");
            losses.note(
                field,
                &date_time(&d.value),
                &d.sources,
                unwritten::END_BEFORE_START,
            );
        }
    }
    if let Some(p) = &e.priority {
        let v3 = matches!(&p.value.system, carecodec_model::CodeSystem::V2Table(t) if t == "0217")
            && ENCOUNTER_PRIORITY
                .iter()
                .any(|(v2, ..)| *v2 == p.value.code);
        if v3 {
            sent_display_loss(losses, format_args!("encounter.priority"), p);
        }
    }
    if let Some(l) = e
        .length_days
        .as_ref()
        .filter(|l| fhir_decimal(&l.value).is_none())
    {
        let field = format_args!("encounter.length_days");
        losses.note(field, &l.value, &l.sources, unwritten::NOT_DECIMAL_LENGTH);
    }
    for (j, a) in e.ambulatory_status.iter().enumerate() {
        let a2 = matches!(&a.value.system, carecodec_model::CodeSystem::V2Table(t) if t == "0009")
            && a.value.code == "A2";
        if a2 {
            let field = format_args!("encounter.ambulatory_status[{j}]");
            sent_display_loss(losses, field, a);
        }
    }
    for (name, l) in [
        ("location", &e.location),
        ("prior_location", &e.prior_location),
        ("pending_location", &e.pending_location),
        ("prior_pending_location", &e.prior_pending_location),
    ] {
        match l {
            Some(l) if location_void(l) => {
                let field = format_args!("encounter.{name}");
                losses.note(
                    field,
                    &location_text(l),
                    &location_sources(l),
                    unwritten::VOID_LOCATION,
                );
            }
            Some(l) => place_losses(losses, &format!("encounter.{name}"), l.address.as_ref()),
            None => {}
        }
    }
    if let (Some(b), None) = (
        &e.bed_status,
        e.location.as_ref().filter(|l| !location_void(l)),
    ) {
        let field = format_args!("encounter.bed_status");
        losses.note(
            field,
            &code_text(&b.value),
            &b.sources,
            unwritten::NO_LOCATION,
        );
    }
}

/// Notes the event's own values (MSH, EVN) a Bundle of `kind` does not
/// carry: a sent time (MSH-7) or recorded time (EVN-2, in the Provenance)
/// that is no instant, with no Provenance (`provenance` false) the EVN
/// values, and in a transaction (no MessageHeader) the applications, the
/// destination facility, and without a Provenance the sender and message
/// type.
fn header_losses(event: &Event, kind: BundleType, provenance: bool, losses: &mut Losses<'_>) {
    if !losses.kept() {
        return;
    }
    // Every field is named: one added to the model does not build until it
    // is placed here.
    let Event {
        kind: _,       // derived from the message type
        message_type,  // eventCoding, else the Provenance's activity
        message_id: _, // Bundle.identifier
        sent,          // Bundle.timestamp (an instant)
        occurred,      // Provenance
        recorded,      // Provenance
        reason,        // Provenance
        operator,      // Provenance agent
        sender,        // MessageHeader.sender, else a Provenance agent
        source_application,
        destination_application,
        destination_facility,
        processing: _, // meta.tag
        patient: _,
        merged_from: _,
        encounter: _,
        allergies: _,
        conditions: _, // condition_losses
        reports: _,
        observations: _,
        group: _, // the seed of every id, Bundle.identifier
    } = event;
    let transaction = kind == BundleType::Transaction;
    // Instants, written to the second or the millisecond.
    for (field, t) in [
        ("sent", sent.as_ref()),
        ("recorded", recorded.as_ref().filter(|_| provenance)),
    ] {
        if let Some(t) = t.filter(|t| !is_instant(&t.value)) {
            let at = format_args!("{field}");
            losses.note(at, &date_time(&t.value), &t.sources, unwritten::INSTANT);
        }
    }
    if !provenance {
        use unwritten::NO_PROVENANCE as WHY;
        if let Some(r) = recorded {
            losses.note(
                format_args!("recorded"),
                &date_time(&r.value),
                &r.sources,
                WHY,
            );
        }
        if let Some(o) = occurred {
            losses.note(
                format_args!("occurred"),
                &date_time(&o.value),
                &o.sources,
                WHY,
            );
        }
        if let Some(r) = reason {
            losses.note(
                format_args!("reason"),
                &code_text(&r.value),
                &r.sources,
                WHY,
            );
        }
        if let Some(op) = operator {
            let Practitioner { identifiers, name } = op;
            for (k, id) in identifiers.iter().enumerate() {
                let field = format_args!("operator.identifiers[{k}]");
                losses.note(field, &id.value.value(), &id.sources, WHY);
            }
            if let Some(n) = name {
                let field = format_args!("operator.name");
                losses.note(field, &name_text(&n.value), &n.sources, WHY);
            }
        }
        if let Some(s) = sender.as_ref().filter(|_| transaction) {
            let why = unwritten::NO_HEADER_OR_PROVENANCE;
            losses.note(format_args!("sender"), &s.value, &s.sources, why);
        }
    }
    // A transaction keeps the message type in its Provenance's activity,
    // made when there is a trigger event.
    let typed = !transaction || (provenance && trigger(event).is_some());
    // `FHIR` of kind `other` is what `read_bundle` gives an event of no type.
    let untyped = event.kind == carecodec_model::AdtKind::Other && message_type == "FHIR";
    if !typed && !untyped && !message_type.trim().is_empty() {
        // The model keeps no source for it (MSH-9 as read).
        let field = format_args!("message_type");
        let why = unwritten::NO_HEADER_OR_PROVENANCE;
        losses.note(field, message_type, &Sources::new(), why);
    }
    for (field, app) in [
        ("source_application", source_application),
        ("destination_application", destination_application),
    ] {
        let Some(a) = app else { continue };
        if transaction {
            let text = application_text(&a.value);
            losses.note(
                format_args!("{field}"),
                &text,
                &a.sources,
                unwritten::NO_HEADER,
            );
        } else if a.value.endpoint().is_none() {
            // The id and its type are written only as an endpoint.
            let Application {
                name: _,
                universal_id,
                universal_id_type,
            } = &a.value;
            for (part, v) in [
                ("universal_id", universal_id),
                ("universal_id_type", universal_id_type),
            ] {
                if let Some(v) = v {
                    let field = format_args!("{field}.{part}");
                    losses.note(field, v, &a.sources, unwritten::NO_ENDPOINT);
                }
            }
        }
    }
    if let Some(f) = destination_facility.as_ref().filter(|_| transaction) {
        let field = format_args!("destination_facility");
        losses.note(field, &f.value, &f.sources, unwritten::NO_HEADER);
    }
}

/// A code as text: `code (display)`.
fn code_text(c: &Code) -> String {
    match c.display.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => format!("{} ({d})", c.code),
        None => c.code.clone(),
    }
}

/// A concept as text: its codes ([`code_text`]) and its text, `; `
/// between them.
fn concept_text(c: &Concept) -> String {
    let mut parts: Vec<String> = c.codes.iter().map(code_text).collect();
    parts.extend(c.text.iter().filter(|t| !t.trim().is_empty()).cloned());
    parts.join("; ")
}

/// A name as text: prefixes, given names, family, suffixes.
fn name_text(n: &HumanName) -> String {
    n.prefix
        .iter()
        .chain(&n.given)
        .chain(&n.family)
        .chain(&n.suffix)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// An application as text: its name, then its universal id and type.
fn application_text(a: &Application) -> String {
    let id: Vec<&str> = [&a.universal_id, &a.universal_id_type]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    match (a.name.as_deref(), id.is_empty()) {
        (Some(n), true) => n.to_owned(),
        (Some(n), false) => format!("{n} ({})", id.join(", ")),
        (None, _) => id.join(", "),
    }
}

/// The non-surviving Patient of a merge (A34 / A40), with its full URL:
/// the MRG-1 identifiers (`Event::merged_from`) the survivor does not carry
/// itself, `active: false` and `link` `replaced-by` the survivor (R4
/// Patient.link; the IG's only MRG map, MRG[Account], covers MRG-3 alone). A
/// conditional update on its key identifier when that has a system, else a
/// create. `None` when no merge is sent, when every MRG-1 identifier is
/// one of the survivor's own (nothing else to link), or when they hold two
/// different NHS numbers (a merge of two people: quarantined, see
/// [`crate::v2::merge_conflict`]).
fn merged_patient<'a>(
    event: &'a Event,
    survivor: &Patient,
    survivor_url: &Uuid,
    seed: &str,
) -> Option<(Uuid, Entry<'a>)> {
    if crate::v2::merge_conflict(&event.merged_from).is_some() {
        return None;
    }
    let same = |a: &Identifier, b: &Identifier| {
        a == b || (system_of(a).is_some() && system_of(a) == system_of(b) && a.value() == b.value())
    };
    let mut ids: Vec<&'a Identifier> = Vec::with_capacity(event.merged_from.len());
    for m in event.merged_from.iter().map(|m| &m.value) {
        let nhs = |i: &Identifier| matches!(i, Identifier::Nhs { .. });
        // Invalid NHS numbers are never written (as on the survivor); an
        // identifier is written once, and one NHS number (UK Core's slice).
        // Nor is an identifier of blank value (listed).
        let skip = matches!(m, Identifier::Other { system: Some(s), .. } if s.starts_with("NHS"))
            || !keyable(m)
            || survivor.identifiers.iter().any(|s| same(&s.value, m))
            || ids.iter().any(|i| same(i, m) || (nhs(i) && nhs(m)));
        if !skip {
            ids.push(m);
        }
    }
    let first = ids.first()?;
    let key = key_of(ids.iter().copied());
    let cond = key
        .and_then(|k| conditional("Patient", k))
        .unwrap_or_else(|| "Patient".into());
    let method = if cond.contains('?') { "PUT" } else { "POST" };
    let mid =
        keyed_id(&cond).unwrap_or_else(|| uuid(&[seed, "/merged/", key.unwrap_or(first).value()]));
    let url = urn(&mid);
    let mut o = resource!("Patient", &mid);
    let written = ids.into_iter().map(identifier_tree).collect();
    o.insert("identifier", Value::Array(written));
    o.insert("active", json!(false));
    o.insert(
        "link",
        json!([{"other": reference(survivor_url), "type": "replaced-by"}]),
    );
    Some((url, entry(&url, Value::Object(o), method, cond)))
}

/// The event's Provenance (IG EVN[Provenance]): the Patient and Encounter it
/// is about as its targets, EVN-2 `recorded`, EVN-6 `occurredDateTime`,
/// EVN-4 `reason`, and as its agents the EVN-5 operator (a Practitioner
/// entry, before it) and the sending facility (MSH-4, which a transaction
/// Bundle has no other place for). Made only when R4's required parts are
/// there: a target, `recorded` and an agent.
fn provenance<'a>(
    event: &'a Event,
    seed: &str,
    targets: [Option<&Uuid>; 2],
) -> Option<Vec<Entry<'a>>> {
    let recorded = event.recorded.as_ref()?;
    let count = targets.iter().flatten().count();
    if count == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(2);
    let mut agents = Vec::with_capacity(2);
    if let Some(op) = &event.operator {
        let e = practitioner_entry(op, uuid(&[seed, "/operator"]));
        agents.push(obj([("who", reference(&e.full_url))]));
        out.push(e);
    }
    // A blank sender is no agent (R4 requires a `who`).
    if let Some(s) = event.sender.as_ref().filter(|s| !blank(&s.value)) {
        agents.push(who_assigner(&s.value));
    }
    if agents.is_empty() {
        return None;
    }
    let pid = uuid(&[seed, "/provenance"]);
    let mut o = resource!("Provenance", &pid);
    o.insert(
        "target",
        Value::Array({
            let mut refs = Vec::with_capacity(count);
            refs.extend(targets.iter().flatten().map(|t| reference(*t)));
            refs
        }),
    );
    if let Some(t) = &event.occurred {
        o.insert("occurredDateTime", date_time_value(&t.value));
    }
    o.insert("recorded", instant_value(&recorded.value));
    if let Some(r) = &event.reason {
        o.insert("reason", code_cc(&r.value).in_array());
    }
    // IG EVN[Provenance] / MSH[Provenance-Source]: MSH-9 → activity, coded
    // as the MessageHeader's eventCoding (a transaction has no MessageHeader:
    // this is where its event type is kept).
    if trigger(event).is_some() {
        o.insert("activity", obj([("coding", json!([event_coding(event)]))]));
    }
    o.insert("agent", Value::Array(agents));
    out.push(entry(&urn(&pid), Value::Object(o), "POST", "Provenance"));
    Some(out)
}

/// The whole Bundle as one tree (for `serde_json::Value`, and for message
/// Bundles, whose header lists the entries it focuses on).
fn event_tree<'a>(
    event: &'a Event,
    kind: BundleType,
    trust_ods: Option<&str>,
    losses: &mut Losses<'_>,
) -> Result<Value<'a>, FhirError> {
    let mut entries = Vec::new();
    event_entries(event, trust_ods, kind, losses, |e| entries.push(e))?;
    let mut b = bundle_head(event, kind, &mut losses.1);
    if kind == BundleType::Message {
        // The focus: the resources the event is about (not the ones they reference).
        let focus: Vec<Value> = entries
            .iter()
            .filter(|e| {
                let rt = e.resource.get("resourceType").and_then(Value::as_str);
                matches!(rt, Some("Patient" | "Encounter" | "DiagnosticReport"))
            })
            .map(|e| reference(&e.full_url))
            .collect();
        let seed = &*id_seed(event);
        let hid = uuid(&[seed, "/message-header"]);
        let header = message_header(event, &hid, focus);
        let mut all = Vec::with_capacity(entries.len() + 1);
        all.push(obj([("fullUrl", urn(&hid).into()), ("resource", header)]));
        all.extend(entries.into_iter().map(|e| e.into_value(false)));
        b.insert("entry", Value::Array(all));
    } else {
        let all = entries.into_iter().map(|e| e.into_value(true)).collect();
        // No entries (a message of only an MSH): no empty `entry` array.
        put(&mut b, "entry", Value::Array(all));
    }
    // The header and the head (its entries are done as they are made).
    let mut b = Value::Object(b);
    b.prune_long("", &mut losses.1);
    long_text_losses(event, losses);
    Ok(b)
}

/// A primitive with no value: the data-absent-reason extension (`unknown`).
fn absent() -> Value<'static> {
    raw!({"extension": [{
        "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
        "valueCode": "unknown"
    }]})
}

/// A MessageHeader `source` or `destination`: the application's name and its
/// endpoint (`urn:oid:` of an ISO universal id, or a URI) — never invented:
/// without one, `endpoint` (required) carries the data-absent-reason extension.
fn endpoint_of(app: Option<&Application>) -> Map<'_> {
    let mut o = Map::with_capacity(4);
    if let Some(name) = app.and_then(|a| a.name.as_deref()) {
        o.insert("name", json!(name));
    }
    match app.and_then(Application::endpoint) {
        Some(url) => o.insert("endpoint", json!(url)),
        None => o.insert("_endpoint", absent()),
    };
    o
}

/// The HL7 v2 trigger event of `event` (MSH-9.2), if it has one.
fn trigger(event: &Event) -> Option<&str> {
    let t = event.message_type.split('^').nth(1)?.trim();
    (!t.is_empty()).then_some(t)
}

/// MSH-9 as a Coding: the trigger event in HL7 table 0003, the message type
/// as sent as display; with no message type at all, the data-absent-reason
/// extension (FHIR has no empty strings).
fn event_coding(event: &Event) -> Value<'_> {
    if event.message_type.trim().is_empty() {
        return absent();
    }
    let mut coding = Map::with_capacity(3);
    if let Some(t) = trigger(event) {
        coding.insert(
            "system",
            json!("http://terminology.hl7.org/CodeSystem/v2-0003"),
        );
        put(&mut coding, "code", fhir_code(t));
    }
    coding.insert("display", json!(&event.message_type));
    Value::Object(coding)
}

/// The MessageHeader of a message Bundle (HL7 V2-to-FHIR IG MSH → MessageHeader).
fn message_header<'a>(event: &'a Event, id: &Uuid, focus: Vec<Value<'a>>) -> Value<'a> {
    let mut o = resource!("MessageHeader", &id);
    if let Some(p) = &event.processing {
        o.insert(
            "meta",
            obj([
                ("profile", json!([ukcore_sd!("UKCore-MessageHeader")])),
                ("tag", json!([coding(&p.value)])),
            ]),
        );
    }
    o.insert("eventCoding", event_coding(event));
    let app = |a: &'a Option<carecodec_model::Sourced<Application>>| a.as_ref().map(|a| &a.value);
    let mut destination = endpoint_of(app(&event.destination_application));
    if let Some(f) = &event.destination_facility {
        destination.insert("receiver", ods_assigner(&f.value));
    }
    if event.destination_application.is_some() || event.destination_facility.is_some() {
        o.insert("destination", json!([destination]));
    }
    if let Some(s) = &event.sender {
        o.insert("sender", ods_assigner(&s.value));
    }
    o.insert(
        "source",
        Value::Object(endpoint_of(app(&event.source_application))),
    );
    put(&mut o, "focus", Value::Array(focus));
    Value::Object(o)
}

/// A worker as a UK Core `transaction` Bundle: the Practitioner
/// (conditional update on the ESR person id is not possible without a
/// system, so it is keyed by its first professional registration — GMC,
/// GMP, NMC, HCPC, GPhC — when there is one), and per assignment a
/// PractitionerRole with its Organization and Location. The worker's key is
/// its ESR person id, else that registration (a Practitioner read from FHIR
/// has no ESR id); a worker with neither is quarantined
/// ([`FhirError::Quarantined`]).
///
/// ```
/// use carecodec_map::esr::{map_go, EsrOptions};
/// use carecodec_map::fhir::worker_bundle;
///
/// let file = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
/// PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n\
/// TRL~3\n";
/// let out = map_go(file.as_bytes(), None, &EsrOptions::at_extract_date());
/// let bundle = worker_bundle(&out.workers[0]).unwrap();
/// assert_eq!(bundle["type"], "transaction");
/// let practitioner = &bundle["entry"][0]["resource"];
/// assert_eq!(practitioner["resourceType"], "Practitioner");
/// assert_eq!(practitioner["name"][0]["family"], "Smith");
/// ```
pub fn worker_bundle(w: &Worker) -> Result<serde_json::Value, FhirError> {
    worker_tree(w, &mut Losses(None, Vec::new())).map(Value::into_serde)
}

/// [`worker_bundle`] appended to `out` as compact JSON (no `serde_json::Value`
/// in between: the fast path for writing many).
///
/// ```
/// # use carecodec_map::fhir::{worker_bundle, write_worker_bundle};
/// # use carecodec_model::{Identifier, Source, Sourced, Worker};
/// let mut w = Worker::default();
/// w.identifiers.push(Sourced::new(
///     Identifier::EsrPerson { vpd: "999".into(), value: "1234".into() },
///     Source::Derived { rule: "example".into() },
/// ));
/// let mut out = Vec::new();
/// write_worker_bundle(&w, &mut out).unwrap();
/// let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(back, worker_bundle(&w).unwrap());
/// ```
pub fn write_worker_bundle(w: &Worker, out: &mut Vec<u8>) -> Result<(), FhirError> {
    worker_tree(w, &mut Losses(None, Vec::new())).map(|b| b.write(out))
}

/// [`write_worker_bundle`], and the worker's values the Bundle does not
/// carry appended to `not_written` (what [`worker_not_written`] lists), from
/// the one pass that writes it. On an error nothing is appended to either.
///
/// ```
/// use carecodec_map::esr::{map_go, EsrOptions};
/// use carecodec_map::fhir::{write_worker_bundle, write_worker_bundle_noting};
///
/// let file = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
/// PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n\
/// TRL~3\n";
/// let name = Some("GO_999_GDW_GOF_20250301_00000101.DAT");
/// let w = &map_go(file.as_bytes(), name, &EsrOptions::at_extract_date()).workers[0];
/// let (mut out, mut not_written) = (Vec::new(), Vec::new());
/// write_worker_bundle_noting(w, &mut out, &mut not_written).unwrap();
/// // The same Bundle as the plain writer's.
/// let mut plain = Vec::new();
/// write_worker_bundle(w, &mut plain).unwrap();
/// assert_eq!(out, plain);
/// // The PRA's Hire Date has no place in it.
/// assert_eq!(not_written.len(), 1);
/// assert_eq!(not_written[0].field, "hire_date");
/// assert_eq!(not_written[0].value, "2023-04-01");
/// assert_eq!(
///     not_written[0].sources[0].to_string(),
///     "ESR GO_999_GDW_GOF_20250301_00000101.DAT:2 Hire Date"
/// );
/// ```
pub fn write_worker_bundle_noting(
    w: &Worker,
    out: &mut Vec<u8>,
    not_written: &mut Vec<NotWritten>,
) -> Result<(), FhirError> {
    let before = not_written.len();
    match worker_tree(w, &mut Losses(Some(not_written), Vec::new())) {
        Ok(b) => {
            b.write(out);
            Ok(())
        }
        Err(e) => {
            not_written.truncate(before);
            Err(e)
        }
    }
}

/// The values of `w` that its UK Core Bundle ([`worker_bundle`]) does not
/// carry, each with its model field, its value as text and its sources, in
/// the order the writer meets them: the hire and termination dates (a
/// PractitionerRole's period and `active` are its assignment's own), and per
/// assignment a suspended state (written `active: true`), the primary flag
/// (listed when set; the model keeps no source for it), the status text,
/// the position number, the grade and the FTE; a named Location's facility,
/// ward, room and bed; and what an Organization or Location says that the
/// entry an earlier assignment wrote under the same id (one ODS code, one ESR
/// id) does not; a role or registration period's end before its start, an
/// Organization or Location with nothing in it, and in any field text no
/// FHIR string holds or an identifier of blank value. The writer itself
/// notes them as it writes, so the list
/// cannot drift from what it writes. A worker with no Bundle (quarantined)
/// is the writer's error.
///
/// ```
/// use carecodec_map::fhir::worker_not_written;
/// use carecodec_model::{Assignment, Identifier, Source, Sourced, Worker};
///
/// let esr = |line, field| Source::esr("GO_999_GDW_GOF_20250301_00000101.DAT", line, field);
/// let mut w = Worker::default();
/// w.identifiers.push(Sourced::new(
///     Identifier::EsrPerson { vpd: "999".into(), value: "7100001".into() },
///     esr(2, "Person ID"),
/// ));
/// w.assignments.push(Assignment {
///     grade: Some(Sourced::new("Band 5".to_owned(), esr(3, "Grade"))),
///     fte: Some(Sourced::new("0.6".to_owned(), esr(3, "FTE"))),
///     job_role: Some(Sourced::new("Staff Nurse".to_owned(), esr(4, "Job Role"))),
///     ..Assignment::default()
/// });
/// let lost = worker_not_written(&w).unwrap();
/// let fields: Vec<&str> = lost.iter().map(|n| n.field.as_str()).collect();
/// assert_eq!(fields, ["assignments[0].grade", "assignments[0].fte"]);
/// assert_eq!(lost[1].value, "0.6");
/// assert_eq!(lost[1].sources[0], esr(3, "FTE"));
/// // The job role is written (the role's code): not listed.
/// assert!(worker_not_written(&Worker::default()).is_err());
/// ```
pub fn worker_not_written(w: &Worker) -> Result<Vec<NotWritten>, FhirError> {
    let mut not_written = Vec::new();
    worker_tree(w, &mut Losses(Some(&mut not_written), Vec::new()))?;
    Ok(not_written)
}

/// The persons and assignments ESR deleted ([`EsrMapping::deleted`]) as one
/// UK Core `transaction` Bundle of `DELETE` entries, appended to `out` as
/// compact JSON: `DELETE Practitioner/{id}` per person and `DELETE
/// PractitionerRole/{id}` per assignment, each id the one
/// [`write_worker_bundle`] gives it (from the VPD and the person id or
/// Assignment Number), so they remove what earlier runs sent; the roles
/// first. A deletion with no VPD keys nothing: [`FhirError::Quarantined`],
/// and nothing is written.
///
/// [`EsrMapping::deleted`]: crate::esr::EsrMapping::deleted
///
/// ```
/// use carecodec_map::esr::{map_go, EsrOptions};
/// use carecodec_map::fhir::{worker_bundle, write_deletions_bundle};
///
/// let person = "PRA~7100002~20230401~47121231~80000002~Ms.~Jones~Ann~~~~~F~19900101~JK000012A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n";
/// let full = format!("HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n{person}TRL~3\n");
/// let sent = worker_bundle(&map_go(full.as_bytes(), None, &EsrOptions::at_extract_date()).workers[0]).unwrap();
/// // A change file deletes the person.
/// let change = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021503~999~20250301 000000~20250302 000000~01\nPRD~7100002\nTRL~3\n";
/// let out = map_go(change.as_bytes(), None, &EsrOptions::at_extract_date());
/// let mut written = Vec::new();
/// write_deletions_bundle(&out.deleted, &mut written).unwrap();
/// let bundle: serde_json::Value = serde_json::from_slice(&written).unwrap();
/// assert_eq!(bundle["type"], "transaction");
/// assert_eq!(bundle["entry"][0]["request"]["method"], "DELETE");
/// // The URL the full file's Bundle PUT the Practitioner to.
/// assert_eq!(bundle["entry"][0]["request"]["url"], sent["entry"][0]["request"]["url"]);
/// ```
pub fn write_deletions_bundle(
    deleted: &[crate::esr::EsrDeletion],
    out: &mut Vec<u8>,
) -> Result<(), FhirError> {
    use crate::esr::DeletedRecord;
    let mut entries = Vec::with_capacity(deleted.len());
    for kind in [DeletedRecord::Assignment, DeletedRecord::Person] {
        for d in deleted.iter().filter(|d| d.what == kind) {
            if d.vpd.trim().is_empty() {
                return Err(FhirError::Quarantined("a deleted record with no VPD"));
            }
            let scope = WorkerScope::Esr {
                vpd: &d.vpd,
                person: "",
            };
            let (rtype, what) = match kind {
                DeletedRecord::Person => ("Practitioner", "person"),
                DeletedRecord::Assignment => ("PractitionerRole", "assignment"),
            };
            let Some((_, url)) = esr_keyed(&scope, rtype, what, &d.key) else {
                continue;
            };
            let request = obj([("method", "DELETE".into()), ("url", Value::from(url))]);
            entries.push(obj([("request", request)]));
        }
    }
    let mut bundle = Map::with_capacity(3);
    bundle.insert("resourceType", "Bundle".into());
    bundle.insert("type", "transaction".into());
    // None: no `entry` (R4 JSON has no empty arrays).
    put(&mut bundle, "entry", Value::Array(entries));
    Value::Object(bundle).write(out);
    Ok(())
}

/// The identifier that keys a worker: its ESR person id, else its first
/// professional registration ([`worker_registration`]); `None` (quarantined)
/// without either. [`read_workers`]' identity decision is this one.
pub(crate) fn worker_key(w: &Worker) -> Option<&carecodec_model::Sourced<Identifier>> {
    w.identifiers
        .iter()
        .find(|i| matches!(i.value, Identifier::EsrPerson { .. }) && keyable(&i.value))
        .or_else(|| worker_registration(w))
}

/// A worker's first professional registration on a UK register (GMC, GMP,
/// NMC, HCPC, GPhC) whose number is of its register's shape: the
/// Practitioner's conditional update names it. A registration with another
/// body (ESR's `Other`) has no agreed system; a number not of its register's
/// shape ([`Identifier::registration_problem`]) keys nothing.
fn worker_registration(w: &Worker) -> Option<&carecodec_model::Sourced<Identifier>> {
    w.registrations.iter().map(|r| &r.identifier).find(|i| {
        matches!(
            i.value,
            Identifier::Gmc(_)
                | Identifier::Gmp(_)
                | Identifier::Nmc(_)
                | Identifier::Hcpc(_)
                | Identifier::Gphc(_)
        ) && i.value.registration_problem().is_none()
            && keyable(&i.value)
    })
}

/// How a worker's resources are keyed: an ESR worker by its VPD (every
/// ESR id is VPD-scoped), a worker read from FHIR by its registration.
enum WorkerScope<'w> {
    Esr { vpd: &'w str, person: &'w str },
    Registration,
}

/// The id and request of an ESR-keyed resource: `PUT {type}/{id}` with the
/// id from the VPD and the ESR id alone (R4 update as create: a server that
/// allows client ids creates it the first time and updates it after), so
/// every file that names it, full or change, sends the same id.
fn esr_keyed(
    scope: &WorkerScope<'_>,
    rtype: &str,
    what: &str,
    value: &str,
) -> Option<(Uuid, String)> {
    let WorkerScope::Esr { vpd, .. } = scope else {
        return None;
    };
    let id = uuid(&["esr/", vpd, "/", what, "/", value]);
    Some((id, format!("{rtype}/{id}")))
}

/// The ESR id of `what` among `ids` (`Identifier::Other` with that system).
fn esr_other<'a>(ids: &'a [carecodec_model::Sourced<Identifier>], system: &str) -> Option<&'a str> {
    ids.iter().find_map(|i| match &i.value {
        Identifier::Other {
            system: Some(s),
            value,
        } if s == system && keyable(&i.value) => Some(value.as_str()),
        _ => None,
    })
}

/// The id, method and URL of an assignment's Organization: a conditional
/// update on its ODS code (id from that key alone, as Patients are keyed),
/// else `PUT Organization/{id}` on its VPD-scoped ESR organisation id, else
/// a create with an id from what it says.
fn worker_org_request(scope: &WorkerScope<'_>, org: &Organisation) -> (Uuid, &'static str, String) {
    if let Some((id, url)) = ods_org_key(org) {
        return (id, "PUT", url);
    }
    let esr = esr_other(&org.identifiers, "ESR organisation ID")
        .and_then(|v| esr_keyed(scope, "Organization", "organisation", v));
    if let Some((id, url)) = esr {
        return (id, "PUT", url);
    }
    let rest = format!("{:?} {:?}", values(&org.part_of), values(&org.address));
    (
        content_id("organisation", &org.identifiers, org.name.as_ref(), &rest),
        "POST",
        "Organization".into(),
    )
}

/// The id, method and URL of an assignment's Location: `PUT Location/{id}`
/// on its VPD-scoped ESR location id, else a create with an id from what it
/// says. An ODS site code does not key it: one site holds many ESR
/// locations.
fn worker_location_request(scope: &WorkerScope<'_>, l: &Location) -> (Uuid, &'static str, String) {
    let esr = esr_other(&l.identifiers, "ESR location ID")
        .and_then(|v| esr_keyed(scope, "Location", "location", v));
    match esr {
        Some((id, url)) => (id, "PUT", url),
        None => {
            let rest = format!(
                "{:?} {:?} {:?} {:?} {:?}",
                values(&l.ward),
                values(&l.room),
                values(&l.bed),
                values(&l.facility),
                values(&l.address)
            );
            (
                content_id("location", &l.identifiers, l.name.as_ref(), &rest),
                "POST",
                "Location".into(),
            )
        }
    }
}

/// The ESR id that alone names an organisation (a `system` ESR id, here
/// `ESR organisation ID`) when it says nothing else: an ESR worker's
/// assignment refers to an organisation its files do not describe (no row
/// in effect, deleted, or sent in an earlier file). A `PUT` of it under its
/// keyed id would wipe the full copy on the server, so it is referred to by
/// identifier alone, with no entry.
fn bare_esr_org<'o>(scope: &WorkerScope<'_>, org: &'o Organisation) -> Option<&'o Identifier> {
    let only_id = Organisation {
        identifiers: org.identifiers.clone(),
        ..Organisation::default()
    };
    bare_esr_id(scope, &org.identifiers, "ESR organisation ID").filter(|_| *org == only_id)
}

/// [`bare_esr_org`] for a Location (system `ESR location ID`).
fn bare_esr_location<'l>(scope: &WorkerScope<'_>, l: &'l Location) -> Option<&'l Identifier> {
    let only_id = Location {
        identifiers: l.identifiers.clone(),
        ..Location::default()
    };
    bare_esr_id(scope, &l.identifiers, "ESR location ID").filter(|_| *l == only_id)
}

/// The one identifier of `ids` when it is an ESR id of `system` and the
/// worker is an ESR worker (its ids are keyed).
fn bare_esr_id<'i>(
    scope: &WorkerScope<'_>,
    ids: &'i [carecodec_model::Sourced<Identifier>],
    system: &str,
) -> Option<&'i Identifier> {
    let WorkerScope::Esr { .. } = scope else {
        return None;
    };
    match ids {
        [one] => match &one.value {
            Identifier::Other {
                system: Some(s), ..
            } if s == system && keyable(&one.value) => Some(&one.value),
            _ => None,
        },
        _ => None,
    }
}

/// An id from all a resource says (its identifiers, name, and `rest`: the
/// other values it is written with, sources aside): the same organisation
/// or location named by two assignments is one entry, and two that differ in
/// anything written are two.
fn content_id(
    what: &str,
    ids: &[carecodec_model::Sourced<Identifier>],
    name: Option<&carecodec_model::Sourced<String>>,
    rest: &str,
) -> Uuid {
    let mut seed = Seed::new(&["worker ", what]);
    for i in ids {
        seed = seed.with(&["\u{1f}id ", i.value.kind(), " ", i.value.value()]);
    }
    if let Some(n) = name {
        seed = seed.with(&["\u{1f}name ", &n.value]);
    }
    seed.uuid(&["\u{1f}", rest])
}

/// The values of `v`, sources aside, as text for [`content_id`].
fn values<T: std::fmt::Debug>(v: &Option<carecodec_model::Sourced<T>>) -> Option<&T> {
    v.as_ref().map(|s| &s.value)
}

/// The NWD staff groups (the NHS workforce staff groups 01 to 10), by the
/// names ESR files carry: a worker's PractitionerRole writes its staff group
/// as a `code` text, and [`read_workers`] knows a code whose text is one of
/// these as the staff group.
///
/// ```
/// use carecodec_map::fhir::STAFF_GROUPS;
/// assert!(STAFF_GROUPS.contains(&"Nursing and Midwifery Registered"));
/// assert_eq!(STAFF_GROUPS.len(), 10);
/// ```
pub const STAFF_GROUPS: [&str; 10] = [
    "Medical and Dental",
    "Students",
    "Nursing and Midwifery Registered",
    "Allied Health Professionals",
    "Additional Professional Scientific and Technical",
    "Healthcare Scientists",
    "Additional Clinical Services",
    "Administrative and Clerical",
    "Estates and Ancillary",
    "Supplementary Roles",
];

/// Where a writer notes the model values it leaves out ([`NotWritten`]):
/// nowhere for the plain writers, or a list. The field path and the value's
/// text are formatted only into a list: with none, a note costs a branch.
///
/// The second field holds the hashes ([`tree::text_hash`]) of the texts the
/// Bundle being built left out for their length, for [`long_text_losses`].
struct Losses<'s>(Option<&'s mut Vec<NotWritten>>, Vec<u64>);

impl Losses<'_> {
    /// True when notes are kept (worth comparing values for).
    fn kept(&self) -> bool {
        self.0.is_some()
    }

    /// Notes that `value` (from `sources`), at model field `field`, is not
    /// written, and why.
    fn note(
        &mut self,
        field: std::fmt::Arguments<'_>,
        value: &dyn std::fmt::Display,
        sources: &Sources,
        reason: &'static str,
    ) {
        if let Some(list) = self.0.as_deref_mut() {
            list.push(NotWritten::new(
                field.to_string(),
                value.to_string(),
                sources.clone(),
                reason,
            ));
        }
    }
}

/// Notes the texts of `record` (an event or a worker) the Bundle just built
/// left out for their length (their hashes in `losses`: strings over R4's
/// limit), each at its model field with its sources. The record is walked
/// as its serde form, only when something was left out.
fn long_text_losses<T: serde::Serialize>(record: &T, losses: &mut Losses<'_>) {
    let dropped = std::mem::take(&mut losses.1);
    if dropped.is_empty() || !losses.kept() {
        return;
    }
    if let Ok(v) = serde_json::to_value(record) {
        let mut path = String::new();
        long_texts(&v, &mut path, &Sources::new(), &dropped, losses);
    }
}

/// [`long_text_losses`] for serde value `v` at model field `path`, from
/// `sources` (those of the nearest `Sourced` around it).
fn long_texts(
    v: &serde_json::Value,
    path: &mut String,
    sources: &Sources,
    dropped: &[u64],
    losses: &mut Losses<'_>,
) {
    use serde_json::Value as V;
    match v {
        V::String(s) if tree::too_long(s) && dropped.contains(&tree::text_hash(s)) => {
            losses.note(format_args!("{path}"), s, sources, unwritten::TOO_LONG);
        }
        V::Array(items) => {
            let at = path.len();
            for (i, item) in items.iter().enumerate() {
                path.push('[');
                path.push_str(itoa::Buffer::new().format(i));
                path.push(']');
                long_texts(item, path, sources, dropped, losses);
                path.truncate(at);
            }
        }
        V::Object(m) => {
            let sourced = m.len() == 2 && m.contains_key("sources");
            let tagged = m.len() == 2 && m.contains_key("type");
            match (m.get("value"), sourced || tagged) {
                // A `Sourced` value, or an enum's variant (`{"type", "value"}`):
                // the field is the value's.
                (Some(inner), true) => {
                    let own = m
                        .get("sources")
                        .and_then(|s| serde_json::from_value::<Sources>(s.clone()).ok());
                    long_texts(
                        inner,
                        path,
                        own.as_ref().unwrap_or(sources),
                        dropped,
                        losses,
                    );
                }
                _ => {
                    let at = path.len();
                    for (k, item) in m {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(k);
                        long_texts(item, path, sources, dropped, losses);
                        path.truncate(at);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Why a worker's value is not written (each a [`NotWritten::reason`]).
mod unwritten {
    pub(super) const TOO_LONG: &str = "over R4's string limit (1,048,576 characters): a \
        string or markdown element cannot hold it (an Observation's text value is written as \
        a text/plain attachment instead)";
    pub(super) const HIRE: &str = "UK Core Practitioner has no element for a hire date";
    pub(super) const TERMINATION: &str = "UK Core Practitioner has no element for a termination \
        date (each PractitionerRole's period end and active are its assignment's own)";
    pub(super) const PRIMARY: &str =
        "UK Core PractitionerRole has no element for a primary assignment";
    pub(super) const STATUS: &str = "UK Core PractitionerRole has no element for the status \
        text (its active says whether the assignment is in force)";
    pub(super) const SUSPENDED: &str =
        "PractitionerRole.active has no suspended: written active true";
    pub(super) const POSITION_NUMBER: &str =
        "UK Core PractitionerRole has no element for a position number";
    pub(super) const GRADE: &str = "UK Core PractitionerRole has no element for a grade";
    pub(super) const FTE: &str =
        "UK Core PractitionerRole has no element for a full-time equivalent";
    pub(super) const LOCATION_PART: &str = "a Location with a name is written with that name: \
        its facility, ward, room and bed text are not (a bed only as physicalType bd)";
    pub(super) const SHARED_ORGANISATION: &str = "one Organization entry per id: the one \
        written for an earlier assignment with the same key (ODS code or ESR organisation ID) \
        does not say this";
    pub(super) const SHARED_LOCATION: &str = "one Location entry per id: the one written for \
        an earlier assignment with the same key (ESR location ID) does not say this";
    pub(super) const NO_ENCOUNTER: &str = "a diagnosis's type and priority are written as its \
        Encounter diagnosis use and rank: the event has no Encounter, or the diagnosis belongs \
        to none";
    pub(super) const NO_PROVENANCE: &str = "no Provenance is written (R4 requires its recorded \
        time, a target and an agent)";
    pub(super) const NO_HEADER: &str = "a transaction Bundle has no MessageHeader";
    pub(super) const NOT_DECIMAL: &str =
        "not a FHIR decimal: the observation-v2-subid extension's group and sequence are decimals";
    pub(super) const NOT_BASE64: &str = "not Base64: an Attachment's data is a FHIR base64Binary";
    pub(super) const OBSERVATION_STATUS: &str = "a report's status R4's observation-status has \
        no code for: an Observation's partial is written preliminary, appended amended";
    pub(super) const NO_HEADER_OR_PROVENANCE: &str =
        "a transaction Bundle has no MessageHeader, and no Provenance is written";
    pub(super) const NO_ENDPOINT: &str = "a MessageHeader endpoint is a urn:oid: (an ISO OID) \
        or a URI: a universal id of another type, or not of its type's form, has none";
    pub(super) const INVALID_NHS: &str = "an invalid NHS number (it fails the Modulus 11 check) \
        is never written as an identifier";
    pub(super) const MERGE_CONFLICT: &str = "the merged identifiers hold different NHS numbers \
        (a merge of two people): no replaced record is written";
    pub(super) const NO_USE: &str = "FHIR's use codes have none for it: the use is not written";
    pub(super) const NO_ADDRESS_TYPE: &str =
        "FHIR address type is postal, physical or both: the kind is not written";
    pub(super) const END_BEFORE_START: &str =
        "a period cannot end before it starts (R4 per-1): the end is not written";
    pub(super) const BARE_CONTACT: &str = "a Patient contact needs a name, telecom, address or \
        organization (R4 pat-1): a contact of only a relationship or role is not written";
    pub(super) const ALLERGY_MA: &str = "AllergyIntolerance.category has one code, medication, \
        for drug (DA) and miscellaneous (MA) allergies: written medication, read back as DA";
    pub(super) const NO_CATEGORY: &str =
        "AllergyIntolerance.category has no code for it: no category or type is written";
    pub(super) const SEVERITY_MO: &str = "AllergyIntolerance.criticality has one code, low, for \
        mild (MI) and moderate (MO): written low, read back as MI";
    pub(super) const NO_CRITICALITY: &str =
        "AllergyIntolerance.criticality has no code for it: no criticality is written";
    pub(super) const CLINICAL_STATUS_IN_ERROR: &str = "no clinical status is written beside a \
        verification status entered-in-error (R4 con-5, ait-2)";
    pub(super) const BLANK_STATUS: &str = "a blank status or role is no FHIR code: not \
        written (an AllergyIntolerance's clinical status, which R4 requires and whose value set \
        has no unknown, is written active, as for none)";
    pub(super) const NO_STATUS_CODE: &str = "not a code of the status's required R4 value \
        set: not written (an AllergyIntolerance's clinical status, which R4 requires, is \
        written active, as for none)";
    pub(super) const BLANK_CONTENT_TYPE: &str = "a blank content type is no FHIR code: not \
        written (inline data is typed application/octet-stream, R4 att-1)";
    pub(super) const NO_ENCOUNTER_STATUS: &str =
        "not an R4 Encounter status (a required binding): written unknown";
    pub(super) const ENCOUNTER_CLASS: &str = "FHIR's v3 ActCode class does not tell it apart: \
        obstetrics is written IMP as inpatient is, recurring AMB as outpatient is, and read \
        back as those";
    pub(super) const NOT_DECIMAL_LENGTH: &str =
        "not a FHIR decimal: Encounter.length's value is a decimal";
    pub(super) const NO_LOCATION: &str = "a bed status is its current Location's \
        operationalStatus: the encounter has no current location";
    pub(super) const NO_ROLE: &str = "a period is a PractitionerRole's: an organisation \
        alone (no role, no practitioner) is written as the Organization, which has none";
    pub(super) const NO_REQUEST_PRIORITY: &str = "FHIR's request-priority has no code for it \
        (IG ExtendedPriorityCodes: only S, A and R have one): the priority is not written";
    pub(super) const PRIORITY_DISPLAY: &str =
        "ServiceRequest.priority is a code: the display is not written";
    pub(super) const V3_DISPLAY: &str = "written as the IG's v3 code with FHIR's display: the \
        display sent is not written";
    pub(super) const NO_RANK: &str = "Encounter.diagnosis.rank is a positiveInt (1 to 2147483647): a priority 0 or above \
        2147483647 is not written";
    pub(super) const NO_BIRTH_DATE: &str = "a birth time is the patient-birthTime extension \
        of Patient.birthDate: with no birth date it is not written";
    pub(super) const ORDER_DETAIL_NO_CODE: &str = "R4 prr-1: ServiceRequest.orderDetail only \
        beside a code, and the order has none (OBR-4 empty or nothing FHIR can hold): the order \
        detail is not written";
    pub(super) const LANGUAGE: &str = "UK Core binds Patient.communication.language \
        required to all-languages (BCP-47): a language that is not a language tag (text only, \
        or a code of another system) has no coding from it, so communication is not written";
    pub(super) const BIRTH_ORDER: &str = "multipleBirthInteger is an R4 integer (at most \
        2147483647): a birth order above it is written as multipleBirthBoolean true";
    pub(super) const NO_TELECOM_RANK: &str = "ContactPoint.rank is a positiveInt (1 to 2147483647): a rank 0 or above 2147483647 is \
        not written";
    pub(super) const QUANTITY_TEXT: &str = "not a FHIR decimal: the number is written as \
        valueString (read back as text), its unit and comparator are not written";
    pub(super) const NOT_DECIMAL_BOUND: &str =
        "not a FHIR decimal: a Range's bound is a Quantity, whose value is a decimal";
    pub(super) const RANGE_INVERTED: &str = "a Range's low cannot be above its high (R4 \
        rng-2): the high is not written";
    pub(super) const VOID_LOCATION: &str = "a Location with nothing in it (no identifier \
        value, no name or part, no address) is not written, nor the reference to it";
    pub(super) const VOID_ORGANISATION: &str = "an Organization with nothing in it (no \
        identifier value, no name, no address) is not written, nor the reference to it";
    pub(super) const NAMELESS_ORGANISATION: &str = "an Organization with neither a name nor \
        an identifier value is not valid R4 (org-1): not written, nor the reference to it";
    pub(super) const NO_COMPARATOR: &str =
        "Quantity.comparator is <, <=, >= or > (a required binding): not written";
    pub(super) const INSTANT: &str = "an instant (DiagnosticReport.issued, Provenance.recorded, \
        Bundle.timestamp) is to the second or the millisecond: written at that precision";
    pub(super) const REPEATED_ALLERGY: &str = "the allergen of an earlier allergy of the \
        message (the same AllergyIntolerance key: sender, Patient and first code): one \
        AllergyIntolerance is written, with the first one's values and the reactions of both";
    pub(super) const REPEATED_CONDITION: &str = "the key of an earlier diagnosis of the \
        message (the same DG1-20 identifier, or the same first code on the same keyed visit): \
        one Condition is written, with the first one's values (each diagnosis's type and \
        priority are its own Encounter.diagnosis entry; a later one's deletion, DG1-21 `D`, \
        is applied)";
    pub(super) const DELETED_LATER: &str = "a later diagnosis of the message with the same \
        key deletes it (HL7 v2 DG1-21 `D`, applied in segment order): the Condition is written \
        entered-in-error";
    pub(super) const SHARED_PRACTITIONER: &str = "one Practitioner entry per id: the one \
        written earlier in the Bundle with the same key (an identifier with a system) does not \
        say this";
    pub(super) const PARTIAL_CORRECTION: &str = "a keyed report sent to correct some of its \
        results (one amended or entered in error, the report itself not amended): its \
        DiagnosticReport and ServiceRequest are not written, so the report the server holds \
        keeps its other results; only the results are updated";
    pub(super) const PARTIAL_REPLACED: &str = "a keyed report sent to correct some of its \
        results, one of them with no key (no OBX-21): its DiagnosticReport lists only the \
        results sent and replaces the one the server holds, whose other results it no longer \
        lists";
}

/// An address as one line of text (a [`NotWritten::value`]).
fn address_text(a: &Address) -> String {
    a.lines
        .iter()
        .map(String::as_str)
        .chain(
            [&a.city, &a.district, &a.postcode, &a.country]
                .into_iter()
                .flatten()
                .map(String::as_str),
        )
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Notes what of assignment `i`'s organisation `org` is not in the
/// Organization `kept` written for it: `org` itself (all is written), or
/// the one an earlier assignment wrote under the same id (only what the two
/// share is written).
fn organisation_losses(losses: &mut Losses<'_>, i: usize, org: &Organisation, kept: &Organisation) {
    use unwritten::SHARED_ORGANISATION as WHY;
    if !losses.kept() || std::ptr::eq(org, kept) {
        return;
    }
    let Organisation {
        identifiers,
        name,
        part_of,
        address,
    } = org;
    for (k, id) in identifiers.iter().enumerate() {
        if !kept.identifiers.iter().any(|x| x.value == id.value) {
            let field = format_args!("assignments[{i}].organisation.identifiers[{k}]");
            losses.note(field, &id.value.value(), &id.sources, WHY);
        }
    }
    if let Some(n) = name
        .as_ref()
        .filter(|n| values(&kept.name) != Some(&n.value))
    {
        let field = format_args!("assignments[{i}].organisation.name");
        losses.note(field, &n.value, &n.sources, WHY);
    }
    if let Some(p) = part_of
        .as_ref()
        .filter(|p| values(&kept.part_of) != Some(&p.value))
    {
        let field = format_args!("assignments[{i}].organisation.part_of");
        losses.note(field, &p.value.value(), &p.sources, WHY);
    }
    if let Some(a) = address
        .as_ref()
        .filter(|a| values(&kept.address) != Some(&a.value))
    {
        let field = format_args!("assignments[{i}].organisation.address");
        losses.note(field, &address_text(&a.value), &a.sources, WHY);
    }
}

/// Notes what of assignment `i`'s location `l` is not in the Location
/// `kept` written for it (`l` itself, or an earlier assignment's under the
/// same id): a part (facility, ward, room, bed) is written only as the name
/// of a Location that has none.
fn location_losses(losses: &mut Losses<'_>, i: usize, l: &Location, kept: &Location) {
    if !losses.kept() {
        return;
    }
    let shared = !std::ptr::eq(l, kept);
    let why = if shared {
        unwritten::SHARED_LOCATION
    } else {
        unwritten::LOCATION_PART
    };
    let Location {
        identifiers,
        name,
        ward,
        room,
        bed,
        facility,
        address,
    } = l;
    if shared {
        for (k, id) in identifiers.iter().enumerate() {
            if !kept.identifiers.iter().any(|x| x.value == id.value) {
                let field = format_args!("assignments[{i}].location.identifiers[{k}]");
                losses.note(field, &id.value.value(), &id.sources, why);
            }
        }
        if let Some(n) = name
            .as_ref()
            .filter(|n| values(&kept.name) != Some(&n.value))
        {
            let field = format_args!("assignments[{i}].location.name");
            losses.note(field, &n.value, &n.sources, why);
        }
        if let Some(a) = address
            .as_ref()
            .filter(|a| values(&kept.address) != Some(&a.value))
        {
            let field = format_args!("assignments[{i}].location.address");
            losses.note(field, &address_text(&a.value), &a.sources, why);
        }
    }
    let parts = [
        ("facility", facility, &kept.facility),
        ("ward", ward, &kept.ward),
        ("room", room, &kept.room),
        ("bed", bed, &kept.bed),
    ];
    for (part, v, k) in parts {
        // A part is written (in the name) only when the Location written has
        // no name and the same part.
        let Some(v) = v.as_ref() else { continue };
        if kept.name.is_none() && values(k) == Some(&v.value) {
            continue;
        }
        let why = if kept.name.is_some() {
            unwritten::LOCATION_PART
        } else {
            why
        };
        losses.note(
            format_args!("assignments[{i}].location.{part}"),
            &v.value,
            &v.sources,
            why,
        );
    }
}

/// An assignment state's name as the model's JSON spells it.
fn state_text(s: carecodec_model::AssignmentState) -> &'static str {
    use carecodec_model::AssignmentState as S;
    match s {
        S::Active => "active",
        S::Suspended => "suspended",
        S::Terminated => "terminated",
        _ => "other",
    }
}

/// The entries a worker's Bundle has written so far, by id, and which
/// assignment wrote each (`None`: the Practitioner): an entry is written
/// once (as `event_entries` does), so an Organization or Location two
/// assignments share is one entry both refer to.
struct WorkerEntries<'a> {
    entries: Vec<Entry<'a>>,
    written: Vec<([u64; 2], Option<usize>)>,
}

impl<'a> WorkerEntries<'a> {
    /// Adds `e`, written for assignment `i`, unless an entry with its id is
    /// written already: then the assignment that wrote that one.
    fn emit(&mut self, i: usize, e: Entry<'a>) -> Option<usize> {
        let id = e.full_url.bits();
        match self.written.iter().find(|(w, _)| *w == id) {
            Some((_, by)) => *by,
            None => {
                self.written.push((id, Some(i)));
                self.entries.push(e);
                None
            }
        }
    }
}

fn worker_tree<'a>(w: &'a Worker, losses: &mut Losses<'_>) -> Result<Value<'a>, FhirError> {
    // Every field is named here: a field added to the model does not build
    // until the writer writes it or notes it unwritten.
    let Worker {
        identifiers,
        names,
        gender: sex,
        birth_date,
        telecom: telecoms,
        assignments,
        registrations,
        hire_date,
        termination_date,
    } = w;
    let key = worker_key(w).ok_or(FhirError::Quarantined("worker"))?;
    let (from, texts) = (text::mark(losses), text::text_notes(w, losses));
    // An ESR worker: `PUT Practitioner/{id}`, the id from (VPD, person id):
    // the same in a full file and every change file, whatever registrations
    // the file repeats. A worker read from FHIR: a conditional update on its
    // first registration, the id from that key alone (as a v2 practitioner
    // keyed on it).
    let (scope, pid, method, url) = match &key.value {
        Identifier::EsrPerson { vpd, value } => {
            if vpd.trim().is_empty() {
                return Err(FhirError::Quarantined("worker"));
            }
            let scope = WorkerScope::Esr { vpd, person: value };
            let (pid, url) = esr_keyed(&scope, "Practitioner", "person", value)
                .ok_or(FhirError::Quarantined("worker"))?;
            (scope, pid, "PUT", url)
        }
        k => match conditional("Practitioner", k) {
            Some(u) => (WorkerScope::Registration, practitioner_id(&u), "PUT", u),
            None => (
                WorkerScope::Registration,
                uuid(&[k.kind(), "/", k.value()]),
                "POST",
                "Practitioner".to_owned(),
            ),
        },
    };
    let purl = urn(&pid);
    let prac = Practitioner {
        identifiers: identifiers.clone(),
        name: names.first().cloned(),
    };
    let mut pres = practitioner(&prac, &pid).into_static();
    if let Some(o) = pres.as_object_mut() {
        // Professional registrations are identifiers too, valid for their period.
        let mut ids: Vec<Value> = identifiers
            .iter()
            .map(|i| identifier_tree(&i.value))
            .collect();
        for (i, r) in registrations.iter().enumerate() {
            let Registration {
                identifier,
                from,
                until,
            } = r;
            if !keyable(&identifier.value) {
                // No value: no identifier, nor its period.
                let field = format_args!("registrations[{i}]");
                let text = format!("{} {:?}", identifier.value.kind(), identifier.value.value());
                losses.note(field, &text, &identifier.sources, text::BLANK_IDENTIFIER);
                continue;
            }
            let mut id = identifier_map(&identifier.value);
            let mut period = Map::with_capacity(4);
            if let Some(f) = from {
                period.insert("start", json!(f.value.to_string()));
            }
            let until = until.as_ref().filter(|u| {
                let before = from.as_ref().is_some_and(|f| u.value < f.value);
                if before {
                    let field = format_args!("registrations[{i}].until");
                    losses.note(field, &u.value, &u.sources, unwritten::END_BEFORE_START);
                }
                !before
            });
            if let Some(u) = until {
                period.insert("end", json!(u.value.to_string()));
            }
            if let (Some(m), false) = (id.as_object_mut(), period.is_empty()) {
                m.insert("period", Value::Object(period));
            }
            ids.push(id);
        }
        put(o, "identifier", Value::Array(ids));
        put(
            o,
            "name",
            Value::Array(
                names
                    .iter()
                    .map(|n| name(&n.value))
                    .filter(|n| !n.is_empty())
                    .collect(),
            ),
        );
        put(
            o,
            "telecom",
            Value::Array(telecoms.iter().map(|t| telecom(&t.value)).collect()),
        );
        for (i, t) in telecoms.iter().enumerate() {
            if let Some(r) = t.value.rank.filter(|r| !positive_int(*r)) {
                let field = format_args!("telecom[{i}].rank");
                losses.note(field, &r, &t.sources, unwritten::NO_TELECOM_RANK);
            }
        }
        if let Some(g) = sex {
            put(o, "gender", json!(gender(g.value)));
        }
        if let Some(b) = birth_date {
            put(o, "birthDate", json!(b.value.to_string()));
        }
    }
    if let Some(h) = hire_date {
        losses.note(
            format_args!("hire_date"),
            &h.value,
            &h.sources,
            unwritten::HIRE,
        );
    }
    if let Some(t) = termination_date {
        losses.note(
            format_args!("termination_date"),
            &t.value,
            &t.sources,
            unwritten::TERMINATION,
        );
    }
    let mut out = WorkerEntries {
        entries: vec![entry(&purl, pres, method, url)],
        written: vec![(pid.bits(), None)],
    };
    // Role ids given so far: an assignment number sent twice (bad data)
    // keys only the first role; a transaction holds a resource once.
    let mut role_ids: Vec<[u64; 2]> = Vec::with_capacity(assignments.len());
    for (i, a) in assignments.iter().enumerate() {
        let Assignment {
            number,
            primary,
            status,
            state,
            position,
            organisation: org,
            location: loc,
            staff_group,
            job_role,
            occupation_code,
            grade,
            fte,
            start,
            end,
        } = a;
        let keyed = number
            .as_ref()
            .filter(|n| keyable(&n.value))
            .map(|n| n.value.value())
            .and_then(|n| esr_keyed(&scope, "PractitionerRole", "assignment", n))
            .filter(|(id, _)| !role_ids.contains(&id.bits()));
        let (rid, rmethod, rurl) = match keyed {
            Some((id, url)) => (id, "PUT", url),
            None => {
                // No assignment number to key it: created, its id from
                // the worker's key (VPD included) and its place.
                let (vpd, person) = match &scope {
                    WorkerScope::Esr { vpd, person } => (*vpd, *person),
                    WorkerScope::Registration => ("", key.value.value()),
                };
                (
                    uuid(&[
                        key.value.kind(),
                        "/",
                        vpd,
                        "/",
                        person,
                        "/role/",
                        itoa::Buffer::new().format(i),
                    ]),
                    "POST",
                    "PractitionerRole".to_owned(),
                )
            }
        };
        role_ids.push(rid.bits());
        let mut role = resource!("PractitionerRole", &rid);
        if let Some(n) = number {
            put(
                &mut role,
                "identifier",
                Value::Array(vec![identifier_tree(&n.value)]),
            );
        }
        // Active unless the assignment has ended (its state says so); a
        // suspended assignment continues. No state said: left out.
        if let Some(st) = state {
            role.insert("active", json!(!st.value.is_terminated()));
            if !matches!(
                st.value,
                carecodec_model::AssignmentState::Active
                    | carecodec_model::AssignmentState::Terminated
            ) {
                let field = format_args!("assignments[{i}].state");
                losses.note(
                    field,
                    &state_text(st.value),
                    &st.sources,
                    unwritten::SUSPENDED,
                );
            }
        }
        let mut period = Map::with_capacity(4);
        if let Some(s) = start {
            put(&mut period, "start", json!(s.value.to_string()));
        }
        // R4 per-1: an end before the start is not written (listed).
        let end = end.as_ref().filter(|e| {
            let before = start.as_ref().is_some_and(|s| e.value < s.value);
            if before {
                let field = format_args!("assignments[{i}].end");
                losses.note(field, &e.value, &e.sources, unwritten::END_BEFORE_START);
            }
            !before
        });
        if let Some(e) = end {
            put(&mut period, "end", json!(e.value.to_string()));
        }
        put(&mut role, "period", Value::Object(period));
        role.insert("practitioner", reference(&purl));
        // An organisation or location with nothing in it is no entry, and
        // no reference (listed).
        let org = match org {
            Some(o) if organisation_void(o) => {
                let field = format_args!("assignments[{i}].organisation");
                let sources = o
                    .name
                    .as_ref()
                    .map(|n| n.sources.clone())
                    .unwrap_or_default();
                losses.note(field, &"", &sources, unwritten::VOID_ORGANISATION);
                &None
            }
            Some(o) if organisation_nameless(o) => {
                let field = format_args!("assignments[{i}].organisation");
                let (value, sources) = match &o.part_of {
                    Some(p) => (format!("part of {}", p.value.value()), p.sources.clone()),
                    None => (String::new(), Sources::new()),
                };
                losses.note(field, &value, &sources, unwritten::NAMELESS_ORGANISATION);
                &None
            }
            _ => org,
        };
        let loc = match loc {
            Some(l) if location_void(l) => {
                let field = format_args!("assignments[{i}].location");
                losses.note(
                    field,
                    &location_text(l),
                    &location_sources(l),
                    unwritten::VOID_LOCATION,
                );
                &None
            }
            _ => loc,
        };
        if let Some(id) = org.as_ref().and_then(|o| bare_esr_org(&scope, o)) {
            role.insert("organization", obj([("identifier", identifier_tree(id))]));
        } else if let Some(o) = org {
            let (oid, om, ou) = worker_org_request(&scope, o);
            let ourl = urn(&oid);
            let by = out.emit(i, entry(&ourl, organisation(o, &oid), om, ou));
            let kept = by
                .and_then(|j| assignments.get(j))
                .and_then(|k| k.organisation.as_ref());
            organisation_losses(losses, i, o, kept.unwrap_or(o));
            role.insert("organization", reference(&ourl));
        }
        // Role codes as text: UK Core binds no code system ESR's names are
        // in, and a Coding is a code, not a label. Job role, staff group,
        // then the position's title, even when it is the job role's text
        // (left out, it would read back as no title).
        let (position_number, title) = match position {
            Some(Position { number, title }) => (number.as_ref(), title.as_ref()),
            None => (None, None),
        };
        let mut codes = Vec::new();
        for v in [job_role, staff_group].into_iter().flatten() {
            codes.push(json!({"text": &v.value}));
        }
        if let Some(t) = title {
            codes.push(json!({"text": &t.value}));
        }
        put(&mut role, "code", Value::Array(codes));
        // The NHS occupation code says the specialty or area of work.
        if let Some(o) = occupation_code {
            put(&mut role, "specialty", json!([{"text": &o.value}]));
        }
        if let Some(id) = loc.as_ref().and_then(|l| bare_esr_location(&scope, l)) {
            role.insert(
                "location",
                json!([obj([("identifier", identifier_tree(id))])]),
            );
        } else if let Some(l) = loc {
            let (lid, lm, lu) = worker_location_request(&scope, l);
            let lurl = urn(&lid);
            let by = out.emit(i, entry(&lurl, location(l, &lid), lm, lu));
            let kept = by
                .and_then(|j| assignments.get(j))
                .and_then(|k| k.location.as_ref());
            location_losses(losses, i, l, kept.unwrap_or(l));
            role.insert("location", json!([reference(&lurl)]));
        }
        // No element of a UK Core PractitionerRole holds these.
        if *primary {
            let field = format_args!("assignments[{i}].primary");
            losses.note(field, &true, &Sources::new(), unwritten::PRIMARY);
        }
        if let Some(s) = status {
            let field = format_args!("assignments[{i}].status");
            losses.note(field, &s.value, &s.sources, unwritten::STATUS);
        }
        if let Some(n) = position_number {
            let field = format_args!("assignments[{i}].position.number");
            losses.note(
                field,
                &n.value.value(),
                &n.sources,
                unwritten::POSITION_NUMBER,
            );
        }
        if let Some(g) = grade {
            let field = format_args!("assignments[{i}].grade");
            losses.note(field, &g.value, &g.sources, unwritten::GRADE);
        }
        if let Some(f) = fte {
            let field = format_args!("assignments[{i}].fte");
            losses.note(field, &f.value, &f.sources, unwritten::FTE);
        }
        out.entries
            .push(entry(&urn(&rid), Value::Object(role), rmethod, rurl));
    }
    text::merge(losses, from, texts);
    let mut bundle = obj([
        ("resourceType", "Bundle".into()),
        ("type", "transaction".into()),
        (
            "entry",
            Value::Array(
                out.entries
                    .into_iter()
                    .map(|e| e.into_value(true))
                    .collect(),
            ),
        ),
    ]);
    bundle.prune_long("", &mut losses.1);
    long_text_losses(w, losses);
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The status lists the writer checks against are the UK Core
    /// validator's, so a status the writer writes is one it accepts.
    #[test]
    fn status_lists_are_the_validators() {
        use carecodec_fhir::uk_core::codes;
        assert_eq!(ENCOUNTER_STATUS, codes::ENCOUNTER_STATUS);
        assert_eq!(ALLERGY_CLINICAL_CODES, codes::ALLERGY_CLINICAL_STATUS);
        assert_eq!(
            ALLERGY_VERIFICATION_CODES,
            codes::ALLERGY_VERIFICATION_STATUS
        );
        assert_eq!(CONDITION_CLINICAL_CODES, codes::CONDITION_CLINICAL_STATUS);
        assert_eq!(CONDITION_VER_CODES, codes::CONDITION_VERIFICATION_STATUS);
    }

    /// Base64 read back is the bytes written, for every padding; text that
    /// is not Base64 reads as nothing.
    #[test]
    fn base64_decodes_what_it_encodes() {
        for raw in ["", "a", "ab", "abc", "abcd", "\u{e9}t\u{e9} \u{1f600}"] {
            let b64 = base64(raw.as_bytes());
            let back = base64_decode(&b64);
            assert_eq!(back.as_deref(), (!raw.is_empty()).then_some(raw.as_bytes()));
        }
        assert_eq!(base64_decode("+/8=").as_deref(), Some(&[0xfb, 0xff][..]));
        for bad in ["abc", "ab=c", "a b=", "ab==="] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    /// The written system of every kind of code system is the model's URI
    /// (the tree only borrows or prefixes it).
    #[test]
    fn system_uris_are_the_models() {
        use carecodec_model::CodeSystem as S;
        for s in [
            S::Snomed,
            S::Dmd,
            S::Loinc,
            S::Ucum,
            S::Icd10,
            S::V2Table("0203".into()),
            S::NhsDataDictionary("EthnicCategoryEngland".into()),
            S::Uri("https://example.org/fhir/CodeSystem/a b".into()),
            S::Local("RX1".into()),
        ] {
            assert_eq!(
                system_uri(&s).to_string(),
                fhir_uri(s.uri()).to_string(),
                "{s:?}"
            );
        }
        assert_eq!(
            system_uri(&S::V2Table("0203".into())).to_string(),
            "\"http://terminology.hl7.org/CodeSystem/v2-0203\""
        );
    }

    /// A CodeableConcept written as it is built is what the tree of maps it
    /// replaced wrote: empty codings and a blank text left out, the whole
    /// `{}` when nothing is left (in an array: no item), in an array when
    /// asked.
    #[test]
    fn concepts_written_as_built_are_the_trees_they_replace() {
        use carecodec_model::CodeSystem as S;
        fn tree(c: &Concept) -> tree::Value<'_> {
            let mut o = Map::with_capacity(4);
            let codings = c.codes.iter().map(coding).filter(|c| !c.is_empty());
            put(&mut o, "coding", tree::Value::Array(codings.collect()));
            if let Some(t) = &c.text {
                put(&mut o, "text", fhir_string(t));
            }
            tree::Value::Object(o)
        }
        let code = |system: S, code: &str, display: Option<&str>| Code {
            system,
            code: code.into(),
            display: display.map(str::to_owned),
        };
        let concepts = [
            Concept::default(),
            Concept {
                codes: vec![],
                text: Some(" Rash \"itchy\" ".into()),
            },
            Concept {
                codes: vec![code(S::Snomed, "271807003", Some("Eruption"))],
                text: None,
            },
            Concept {
                codes: vec![
                    code(S::Local("99X".into()), " ", Some("  ")),
                    code(S::V2Table("0078".into()), "H", None),
                    code(S::Uri("urn:oid:1.2.3".into()), "a  b", Some("x")),
                ],
                text: Some("  ".into()),
            },
            Concept {
                codes: vec![code(S::Loinc, "", None)],
                text: None,
            },
        ];
        for c in &concepts {
            let written = |v: tree::Value<'_>| {
                let mut out = Vec::new();
                v.write(&mut out);
                String::from_utf8(out).unwrap()
            };
            assert_eq!(written(concept(c)), written(tree(c)), "{c:?}");
            assert_eq!(concept(c).is_empty(), tree(c).is_empty(), "{c:?}");
            // An empty concept in an array is no item (R4 has no empty
            // objects).
            let items = if tree(c).is_empty() {
                vec![]
            } else {
                vec![tree(c)]
            };
            assert_eq!(
                written(concept(c).in_array()),
                written(tree::Value::Array(items)),
                "{c:?}"
            );
            if let Some(one) = c.codes.first() {
                let single = Concept {
                    codes: vec![one.clone()],
                    text: None,
                };
                assert_eq!(written(code_cc(one)), written(tree(&single)), "{one:?}");
            }
        }
    }

    /// The interpretation table's constant JSON is the CodeableConcept a
    /// v3 ObservationInterpretation code and its display make.
    #[test]
    fn interpretation_constants_are_their_codings() {
        for (code, display, json) in INTERPRETATION {
            let built = one_coding(
                tree::Value::from(
                    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                ),
                tree::Value::from(*code),
                Some(*display),
            );
            let mut out = Vec::new();
            built.write(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), *json);
        }
    }

    #[test]
    fn uuids_are_the_fnv_hash_of_the_seed() {
        // Pinned: ids must not change between releases for the same input.
        let id = uuid(&[
            "42",
            "/patient/",
            itoa::Buffer::new().format(9_434_765_919_u64),
        ]);
        assert_eq!(&*id, "42fcf7c3-af20-4bb5-81a5-b29843e704be");
        assert_eq!(&*urn(&id), "urn:uuid:42fcf7c3-af20-4bb5-81a5-b29843e704be");
        assert_eq!(id.to_string(), &*id);
        // In a tree: the same text, written or as a `serde_json::Value`.
        for u in [id, urn(&id)] {
            let mut out = Vec::new();
            tree::Value::from(u).write(&mut out);
            assert_eq!(out, format!("\"{}\"", &*u).into_bytes());
            assert_eq!(
                tree::Value::from(&u).into_serde(),
                Value::String(u.to_string())
            );
        }
        assert_eq!(
            ukcore_sd!("UKCore-Patient"),
            "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
        );
    }

    #[test]
    fn iso_text_matches_chrono_formats() {
        use chrono::{FixedOffset, TimeZone};
        let zones = [0, 3600, -5 * 3600 - 1800, 14 * 3600];
        for (secs, nanos, off) in [
            (1_710_234_900i64, 0u32, 0usize),
            (1_710_234_900, 123_456_789, 1),
            (-2_208_988_800, 5_000_000, 2),
            (253_402_300_799, 999_999_999, 3),
            (59, 1_500_000_000, 1), // a leap second
            (1_710_234_900, 123_400_000, 2),
        ] {
            let z = FixedOffset::east_opt(zones[off]).unwrap();
            let at = z.timestamp_opt(secs, nanos).unwrap();
            for (upto, fmt) in [
                (Upto::Year, "%Y"),
                (Upto::Month, "%Y-%m"),
                (Upto::Day, "%Y-%m-%d"),
                (Upto::Second, "%Y-%m-%dT%H:%M:%S%:z"),
                (Upto::Millis, "%Y-%m-%dT%H:%M:%S%.9f%:z"),
            ] {
                let mut chrono = at.format(fmt).to_string();
                if upto == Upto::Millis {
                    // The millisecond, then the digits up to the last not zero.
                    let frac = at.format("%.9f").to_string();
                    let kept = frac.trim_end_matches('0').len().max(4);
                    chrono = chrono.replace(&frac, &frac[..kept]);
                }
                let ours = String::from_utf8(iso(&at, upto).as_bytes().to_vec()).unwrap();
                // A leap second too: `:60`, as chrono writes it (and R4's
                // dateTime and instant allow).
                assert_eq!(ours, chrono, "{secs} {nanos} {fmt}");
            }
        }
    }

    #[test]
    fn names_and_addresses_are_empty_when_nothing_is_written() {
        use carecodec_model::{Address, HumanName, Period};
        let names = [
            HumanName::default(),
            HumanName {
                family: Some(" ".into()),
                given: vec![String::new()],
                usage: Some("B".into()),
                period: Some(Period::default()),
                ..HumanName::default()
            },
            HumanName {
                usage: Some("official".into()),
                ..HumanName::default()
            },
            HumanName {
                suffix: vec!["Jr".into()],
                ..HumanName::default()
            },
        ];
        for n in &names {
            assert_eq!(super::name_is_empty(n), super::name(n).is_empty(), "{n:?}");
        }
        let addresses = [
            Address::default(),
            Address {
                usage: Some("M".into()),
                kind: Some("mailing".into()),
                lines: vec![" ".into()],
                ..Address::default()
            },
            Address {
                kind: Some("postal".into()),
                ..Address::default()
            },
            Address {
                country: Some("GB".into()),
                ..Address::default()
            },
        ];
        for a in &addresses {
            assert_eq!(
                super::address_is_empty(a),
                super::address(a).is_empty(),
                "{a:?}"
            );
        }
    }

    #[test]
    fn participation_types_are_the_codings_they_replace() {
        // No coded type: nothing (never an empty code).
        for role in ["", " "] {
            assert!(super::participation_type(role).is_empty());
        }
        for role in ["ATND", "REF", "CON", "ADM", "PART", "XYZ", "a\"b", " A  B "] {
            let (mut ours, mut tree) = (Vec::new(), Vec::new());
            super::participation_type(role).write(&mut ours);
            let coding = super::Value::Array(vec![super::participation(role)]);
            super::Value::Array(vec![super::obj([("coding", coding)])]).write(&mut tree);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(tree).unwrap()
            );
        }
    }

    #[test]
    fn identifiers_around_their_value_are_the_objects_they_replace() {
        use carecodec_model::{NhsNumber, VerificationStatus};
        let v = String::from("X\"1");
        let mut ids = vec![
            Identifier::Gmc(v.clone()),
            Identifier::Gmp(v.clone()),
            Identifier::Nmc(v.clone()),
            Identifier::Hcpc(v.clone()),
            Identifier::Gphc(v.clone()),
            Identifier::OdsOrganisation(v.clone()),
            Identifier::OdsSite(v.clone()),
            Identifier::SdsUser(v.clone()),
            Identifier::SdsRoleProfile(v.clone()),
        ];
        let number = NhsNumber::parse("9434765919").unwrap();
        ids.push(Identifier::Nhs {
            number: number.clone(),
            verification: None,
        });
        for code in 1..=8 {
            let vs = VerificationStatus::from_code(&format!("0{code}")).unwrap();
            ids.push(Identifier::Nhs {
                number: number.clone(),
                verification: Some(vs),
            });
        }
        for id in &ids {
            let tree = super::identifier_tree(id);
            assert!(matches!(tree, super::Value::Hole(..)), "{id:?}");
            let (mut ours, mut map) = (Vec::new(), Vec::new());
            tree.clone().write(&mut ours);
            super::identifier_map(id).write(&mut map);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(map).unwrap()
            );
            assert_eq!(tree.into_serde(), super::identifier_map(id).into_serde());
        }
    }

    #[test]
    fn provenance_agents_are_the_objects_they_replace() {
        // A blank one is no agent: neither is written.
        assert!(super::who_assigner(" ").is_empty());
        assert!(super::obj([("who", super::ods_assigner(" "))]).to_string() == "{}");
        for authority in ["RX1", "Some Trust", "a\"b"] {
            let (mut ours, mut tree) = (Vec::new(), Vec::new());
            super::who_assigner(authority).write(&mut ours);
            super::obj([("who", super::ods_assigner(authority))]).write(&mut tree);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(tree).unwrap()
            );
        }
    }

    #[test]
    fn dates_are_written_as_partial_date_displays_them() {
        use carecodec_model::PartialDate;
        use chrono::NaiveDate;
        for (y, m, d) in [
            (1970, 2, 1),
            (5, 12, 31),
            (9999, 1, 9),
            (0, 6, 6),
            (-1, 1, 1),
            (12345, 3, 4),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            for p in [Precision::Year, Precision::Month, Precision::Day] {
                let pd = PartialDate::new(date, p);
                let mut out = Vec::new();
                super::date_value(&pd).write(&mut out);
                assert_eq!(out, format!("\"{pd}\"").into_bytes(), "{pd}");
            }
        }
    }

    #[test]
    fn decimals_as_fhir_writes_them() {
        let d = |t: &str| fhir_decimal(t).map(|n| n.to_string());
        assert_eq!(d("007.25").as_deref(), Some("7.25"));
        assert_eq!(d(" +3 ").as_deref(), Some("3"));
        assert_eq!(d(".5").as_deref(), Some("0.5"));
        assert_eq!(d("5.").as_deref(), Some("5"));
        assert_eq!(d("-0.001").as_deref(), Some("-0.001"));
        assert_eq!(d("00").as_deref(), Some("0"));
        // FHIR's exponent (a value read from FHIR), kept as written.
        assert_eq!(d("1e3").as_deref(), Some("1e3"));
        assert_eq!(d("1.5E-2").as_deref(), Some("1.5E-2"));
        assert_eq!(d("-007.50e+03").as_deref(), Some("-7.50e+03"));
        for bad in [
            "", ".", "-", "1,5", "inf", "NaN", "1.2.3", ">5", "e3", "1e", "1e+", "1e3.5", "1e400",
            "1E-", "1ee3", "1e3e3",
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }
    use crate::v2::{V2Options, map_message};
    use carecodec_hl7v2::Message;
    use carecodec_model::Source;

    /// Every Bundle must read strictly as R4 (unknown elements, bad codes and
    /// missing required elements are errors there).
    fn strict(b: &Value) {
        let text = b.to_string();
        if let Err(e) = carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text) {
            panic!("not valid R4: {e}\n{text}");
        }
    }

    const ADT: &[u8] = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240712091500||ADT^A01|42|P|2.4\r\
EVN|A01|20240712091500\r\
PID|1||9434765919^^^NHS^NH~K123^^^RX1^MR||SMITH^JOHN^P^^MR||19700214|M|||1 HIGH ST^^LEEDS^^LS1 1AA^GBR^H||01132 123456^PRN^PH|||||||||A^White British||||||||||01\r\
PD1|||^^Y12345|G1234567^WHO^DR\r\
NK1|1|SMITH^JANE|SPO^Spouse|1 HIGH ST^^LEEDS^^LS1 1AA\r\
PV1|1|I|WARD1^B2^3^RX1||||C1234567^JONES^ANN||||||||||||V999^^^RX1^VN|||||||||||||||||||||||||20240712090000\r\
AL1|1|DA|^PENICILLIN|SV|RASH\r\
DG1|1||I10^Essential hypertension^I10||20240712\r";

    /// The written Bundle and the `serde_json::Value` one are the same
    /// JSON for every sample message, both Bundle types (the written one
    /// keeps decimal text, which reads back as the same number).
    #[test]
    fn written_and_value_bundles_agree_on_the_samples() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/hl7v2");
        let mut checked = 0;
        for file in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            let Ok(msg) = Message::parse(&bytes) else {
                continue;
            };
            let Ok((event, _)) = map_message(&msg, &V2Options::default()) else {
                continue;
            };
            for kind in [BundleType::Transaction, BundleType::Message] {
                let mut out = Vec::new();
                if write_event_bundle(&event, kind, &mut out).is_err() {
                    continue;
                }
                let written: Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(written, event_bundle_with(&event, kind).unwrap());
                checked += 1;
            }
        }
        assert!(checked >= 4, "{checked}");
    }

    #[test]
    fn adt_bundle_has_uk_core_shapes() {
        let msg = Message::parse(ADT).unwrap();
        let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
        assert!(report.balanced());
        let b = event_bundle(&event).unwrap();
        let entries = b["entry"].as_array().unwrap();
        let types: Vec<&str> = entries
            .iter()
            .map(|e| e["resource"]["resourceType"].as_str().unwrap())
            .collect();
        for t in [
            "Patient",
            "Encounter",
            "Practitioner",
            "Location",
            "AllergyIntolerance",
            "Condition",
        ] {
            assert!(types.contains(&t), "{t} missing from {types:?}");
        }
        let p = &entries[0]["resource"];
        assert_eq!(p["identifier"][0]["system"], NHS_NUMBER);
        assert_eq!(
            p["identifier"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"],
            "01"
        );
        assert_eq!(p["identifier"][1]["assigner"]["identifier"]["value"], "RX1");
        assert_eq!(p["gender"], "male");
        assert_eq!(p["birthDate"], "1970-02-14");
        assert_eq!(p["generalPractitioner"][0]["identifier"]["value"], "Y12345");
        assert_eq!(
            p["extension"][0]["valueCodeableConcept"]["coding"][0]["code"],
            "A"
        );
        // July: BST, from the Europe/London default.
        let enc = entries
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == "Encounter")
            .unwrap();
        assert_eq!(enc["period"]["start"], "2024-07-12T09:00:00+01:00");
        assert_eq!(enc["class"]["code"], "IMP");
        // No placeholder systems anywhere.
        let text = b.to_string();
        assert!(!text.contains("example.com"));
        // Every reference resolves to an entry in the Bundle.
        let urls: Vec<&str> = entries
            .iter()
            .map(|e| e["fullUrl"].as_str().unwrap())
            .collect();
        for r in text.split("\"reference\":\"").skip(1) {
            let target = r.split('"').next().unwrap();
            assert!(urls.contains(&target), "dangling {target}");
        }
        // Deterministic.
        assert_eq!(event_bundle(&event).unwrap(), b);
        strict(&b);
    }

    #[test]
    fn v2_to_fhir_to_model_keeps_the_facts() {
        let msg = Message::parse(ADT).unwrap();
        let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
        let b = event_bundle(&event).unwrap();
        let (back, report) = read_bundle(&b);
        assert!(report.balanced());
        assert!(
            report.unmapped.len() * 10 < report.source_leaves,
            "{:#?}",
            report.unmapped
        );
        assert_eq!(
            report.identity[0].key,
            crate::v2::identity(&event.patient.as_ref().unwrap().identifiers).key
        );
        let (p0, p1) = (
            event.patient.as_ref().unwrap(),
            back.patient.as_ref().unwrap(),
        );
        let ids = |p: &Patient| {
            p.identifiers
                .iter()
                .map(|i| i.value.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(p0), ids(p1));
        assert_eq!(p0.names[0].value.family, p1.names[0].value.family);
        assert_eq!(p0.names[0].value.given, p1.names[0].value.given);
        assert_eq!(
            p0.gender.as_ref().map(|g| g.value),
            p1.gender.as_ref().map(|g| g.value)
        );
        assert_eq!(
            p0.birth_date.as_ref().map(|d| d.value),
            p1.birth_date.as_ref().map(|d| d.value)
        );
        assert_eq!(
            p0.ethnic_category.as_ref().map(|c| &c.value.code),
            p1.ethnic_category.as_ref().map(|c| &c.value.code)
        );
        assert_eq!(
            p0.gp_practice.as_ref().map(|c| &c.value),
            p1.gp_practice.as_ref().map(|c| &c.value)
        );
        let (e0, e1) = (
            event.encounter.as_ref().unwrap(),
            back.encounter.as_ref().unwrap(),
        );
        assert_eq!(
            e0.class.as_ref().map(|c| c.value),
            e1.class.as_ref().map(|c| c.value)
        );
        assert_eq!(
            e0.admitted.as_ref().map(|t| t.value.at),
            e1.admitted.as_ref().map(|t| t.value.at)
        );
        assert_eq!(e0.participants.len(), e1.participants.len());
        assert_eq!(
            e0.participants[0].practitioner.identifiers[0].value,
            e1.participants[0].practitioner.identifiers[0].value
        );
        assert_eq!(event.allergies.len(), back.allergies.len());
        assert_eq!(
            event.conditions[0].code.value.codes,
            back.conditions[0].code.value.codes
        );
        // Sources are FHIR element paths.
        assert!(
            matches!(&p1.names[0].sources[0], Source::Fhir { path } if path == "Bundle.entry[0].resource.name[0]")
        );
    }

    #[test]
    fn oru_round_trip_keeps_values() {
        let msg = Message::parse(
            b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500+0000||ORU^R01|7|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1|P1|F1|1234^FBC^LN|||20240312080000|||||||||||||||20240312090000|||F\r\
OBX|1|NM|718-7^Haemoglobin^LN||135|g/L^^UCUM|130-170|N|||F\r",
        )
        .unwrap();
        let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
        let (back, report) = read_bundle(&event_bundle(&event).unwrap());
        assert!(report.balanced());
        let (o0, o1) = (
            &event.reports[0].observations[0],
            &back.reports[0].observations[0],
        );
        assert_eq!(
            o0.value.as_ref().map(|v| &v.value),
            o1.value.as_ref().map(|v| &v.value)
        );
        assert_eq!(o0.code.value.codes, o1.code.value.codes);
        assert_eq!(
            o0.status.as_ref().map(|s| s.value),
            o1.status.as_ref().map(|s| s.value)
        );
        assert_eq!(
            event.reports[0].issued.as_ref().map(|t| t.value.at),
            back.reports[0].issued.as_ref().map(|t| t.value.at)
        );
    }

    #[test]
    fn an_entry_written_directly_is_its_object_written() {
        let url = urn(&uuid(&["1"]));
        let make = || {
            entry(
                &url,
                obj([
                    ("resourceType", "Patient".into()),
                    ("family", "O\"Neil".into()),
                ]),
                "PUT",
                String::from("Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919"),
            )
        };
        let (mut direct, mut via) = (Vec::new(), Vec::new());
        make().write(&mut direct);
        make().into_value(true).write(&mut via);
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            String::from_utf8(via).unwrap()
        );
        let bare = make().into_value(false).into_serde();
        assert!(bare.get("request").is_none());
        assert_eq!(bare["fullUrl"], url.to_string());
        assert!(url.starts_with("urn:uuid:"));
    }

    #[test]
    fn quarantined_patient_gives_no_bundle() {
        let msg = Message::parse(
            b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\rPID|1||123^^^^XX||SMITH^JOHN\r",
        )
        .unwrap();
        let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
        assert_eq!(event_bundle(&event), Err(FhirError::Quarantined("patient")));
        // Written as JSON: an error, and what the buffer held is left as it was.
        for kind in [BundleType::Transaction, BundleType::Message] {
            let mut out = b"[previous]".to_vec();
            let r = write_event_bundle(&event, kind, &mut out);
            assert_eq!(r, Err(FhirError::Quarantined("patient")));
            assert_eq!(out, b"[previous]");
        }
        // The strict reader used by these tests does reject unknown elements.
        let junk = json!({"resourceType": "Bundle", "type": "transaction", "bogus": 1});
        assert!(
            carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&junk.to_string()).is_err()
        );
    }

    #[test]
    fn oru_bundle_links_observations() {
        let msg = Message::parse(
            b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500+0000||ORU^R01|7|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1|P1|F1|1234^FBC^LN|||20240312080000|||||||||||||||20240312090000|||F\r\
OBX|1|NM|718-7^Haemoglobin^LN||135|g/L^^UCUM|130-170|N|||F\r",
        )
        .unwrap();
        let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
        let b = event_bundle(&event).unwrap();
        let entries = b["entry"].as_array().unwrap();
        let obs = entries
            .iter()
            .find(|e| e["resource"]["resourceType"] == "Observation")
            .unwrap();
        assert_eq!(obs["resource"]["valueQuantity"]["value"], 135);
        assert_eq!(obs["resource"]["valueQuantity"]["code"], "g/L");
        assert_eq!(obs["resource"]["status"], "final");
        let dr = entries
            .iter()
            .find(|e| e["resource"]["resourceType"] == "DiagnosticReport")
            .unwrap();
        assert_eq!(dr["resource"]["result"][0]["reference"], obs["fullUrl"]);
        assert_eq!(dr["resource"]["issued"], "2024-03-12T09:00:00+00:00");
        strict(&b);
    }

    #[test]
    fn written_bundles_keep_decimal_text() {
        let msg = Message::parse(
            b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500+0000||ORU^R01|7|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1|P1|F1|1234^FBC^LN\r\
OBX|1|NM|2345-7^Glucose^LN||007.50|mmol/L^^UCUM||N|||F\r",
        )
        .unwrap();
        let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
        let mut out = Vec::new();
        write_event_bundle(&event, BundleType::Transaction, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#""valueQuantity":{"value":7.50,"#), "{text}");
        assert!(text.starts_with(
            r#"{"resourceType":"Bundle","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0103","code":"P"}]},"type":"transaction""#
        ));
        // The Value form has f64 numbers (the same number, its text lost)
        // unless the `arbitrary-precision` feature keeps the text.
        let b = event_bundle(&event).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), b);
        assert_eq!(
            b.to_string().contains(r#""value":7.50"#),
            cfg!(feature = "arbitrary-precision")
        );
        carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text).unwrap();
    }

    #[test]
    fn worker_bundle_has_roles() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/data/esr/GO_998_GDW_GOF_20250401_00000001.DAT");
        let bytes = std::fs::read(file).unwrap();
        let out = crate::esr::map_go(
            &bytes[..],
            Some("GO_998_GDW_GOF_20250401_00000001.DAT"),
            &crate::esr::EsrOptions::at_extract_date(),
        );
        for w in &out.workers {
            let b = worker_bundle(w).unwrap();
            strict(&b);
            let text = b.to_string();
            assert!(text.contains("PractitionerRole"));
            assert!(
                text.contains("https://fhir.hl7.org.uk/Id/nmc-number")
                    || text.contains("https://fhir.hl7.org.uk/Id/gmc-number")
            );
        }
    }
}
