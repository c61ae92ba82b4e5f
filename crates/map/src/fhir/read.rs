//! FHIR (UK Core) JSON → canonical model, with provenance and accounting.

use std::collections::{HashMap, HashSet};

use carecodec_model::{
    Action, Address, AdtKind, Allergy, Application, Assignment, AssignmentState, Attachment, Code,
    CodeSystem, Concept, Condition, Contact, ContactPerson, Deceased, Encounter, EncounterClass,
    Event, Gender, HumanName, Identifier, IdentityDecision, Invalid, Location, MappingReport,
    MultipleBirth, NhsNumber, Observation, ObservationSubId, ObservationValue, Organisation,
    PartialDate, PartialDateTime, Participant, Patient, Performer, Period, Position, Practitioner,
    Precision, Quantity, Registration, ResultReport, ResultStatus, Source, Sourced, Sources,
    Telecom, Unmapped, VerificationStatus, Worker,
};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde_json::Value;

use super::JsonInput;

/// The UK Core NHS number verification status extension and its code system.
const NHS_VERIFICATION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
const NHS_VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
use super::{
    BIRTH_PLACE, BIRTH_TIME, CITIZENSHIP, CONGREGATION, MOTHERS_MAIDEN_NAME, NATIONALITY,
    NHS_NUMBER, ODS_ORG, ODS_SITE, RELIGION, V2_0203,
};

struct Ctx<'v> {
    /// The document, with its number literals when it kept them.
    input: JsonInput<'v>,
    used: HashSet<String>,
    report: MappingReport,
    by_url: HashMap<&'v str, (String, &'v Value)>,
    /// The fullUrl of each entry's resource, by the resource's path (relative
    /// references are resolved against it).
    url_at: HashMap<String, &'v str>,
    /// Resources not read (another patient's, a DELETE's, one with a
    /// modifier extension): a reference to one does not resolve.
    skip: HashSet<String>,
}

impl<'v> Ctx<'v> {
    /// A reader's context over `input`, nothing consumed yet.
    fn new(input: JsonInput<'v>) -> Ctx<'v> {
        Ctx {
            input,
            used: HashSet::new(),
            report: MappingReport::default(),
            by_url: HashMap::new(),
            url_at: HashMap::new(),
            skip: HashSet::new(),
        }
    }

    /// Marks every leaf under `v` (at `path`) as consumed.
    fn take(&mut self, path: &str, v: &Value) {
        leaves(path, v, &mut |p, _| {
            self.used.insert(p);
        });
    }

    /// Marks the members `keys` of `obj` (at `path`) consumed: the ones a
    /// reader keeps. Members it does not read stay unconsumed, so they are
    /// reported.
    fn take_keys(&mut self, path: &str, obj: &Value, keys: &[&str]) {
        for k in keys {
            if let Some(v) = obj.get(*k) {
                self.take(&format!("{path}.{k}"), v);
            }
        }
    }

    fn str(&mut self, base: &str, obj: &Value, key: &str) -> Option<Sourced<String>> {
        let v = obj.get(key)?;
        let path = format!("{base}.{key}");
        let s = v.as_str()?.to_owned();
        self.take(&path, v);
        Some(Sourced::new(s, Source::fhir(path)))
    }

    /// The string at `base.key`, consumed; a value of another JSON type
    /// (`"family": 123`) is consumed too and reported invalid (dropped), with
    /// its text as sent.
    fn text_at(&mut self, base: &str, obj: &Value, key: &str) -> Option<String> {
        let v = obj.get(key).filter(|v| !v.is_null())?;
        self.text_of(&format!("{base}.{key}"), v)
    }

    /// The string `v` at `path`, consumed, as [`Ctx::text_at`] reads one.
    fn text_of(&mut self, path: &str, v: &Value) -> Option<String> {
        self.take(path, v);
        if let Some(s) = v.as_str() {
            return Some(s.to_owned());
        }
        let raw = self.input.text(path, v);
        self.invalid(path, &raw, "not a JSON string", Action::Dropped);
        None
    }

    /// The strings of the array at `base.key`, each consumed; an element that
    /// is not a string, or a value that is not an array (`"given": "John"`),
    /// is consumed and reported invalid (dropped), as [`Ctx::text_at`] does.
    fn texts_at(&mut self, base: &str, obj: &Value, key: &str) -> Vec<String> {
        let Some(v) = obj.get(key).filter(|v| !v.is_null()) else {
            return Vec::new();
        };
        let path = format!("{base}.{key}");
        let Some(a) = v.as_array() else {
            self.take(&path, v);
            let raw = self.input.text(&path, v);
            self.invalid(&path, &raw, "not a JSON array", Action::Dropped);
            return Vec::new();
        };
        a.iter()
            .enumerate()
            .filter(|(_, x)| !x.is_null())
            .filter_map(|(i, x)| self.text_of(&format!("{path}[{i}]"), x))
            .collect()
    }

    fn invalid(&mut self, path: &str, raw: &str, reason: &str, action: Action) {
        self.report.invalid.push(Invalid {
            source: Source::fhir(path),
            raw: raw.to_owned(),
            reason: reason.to_owned(),
            action,
        });
    }
}

/// Calls `f(path, leaf)` for every string, number and boolean under `v`.
fn leaves(path: &str, v: &Value, f: &mut dyn FnMut(String, &Value)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                leaves(&format!("{path}.{k}"), x, f);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(&format!("{path}[{i}]"), x, f);
            }
        }
        Value::Null => {}
        _ => f(path.to_owned(), v),
    }
}

fn items<'v>(obj: &'v Value, key: &str) -> impl Iterator<Item = (usize, &'v Value)> {
    obj.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

/// A FHIR date / dateTime / instant with its precision; date-only values
/// get UTC midnight with `offset_inferred` (FHIR dates carry no zone).
///
/// Exactly what FHIR R4's `dateTime` regex accepts, and a real calendar
/// date: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or a day with a time to the
/// second, an optional fraction and a zone (`Z` or `+hh:mm` / `-hh:mm`, at
/// most 14:00). The year is four digits, not `0000`; the separators are
/// `T` and `Z` (not `t`, `z` or a space). A leap second (`:60`) reads as
/// chrono reads it (the writer gives it back as `:60`).
///
/// ```
/// use carecodec_map::fhir::parse_date_time;
/// use carecodec_model::Precision;
///
/// let t = parse_date_time("2024-03-12T09:15:00+01:00").unwrap();
/// assert_eq!((t.precision, t.offset_inferred), (Precision::Second, false));
/// let d = parse_date_time("2024-03").unwrap();
/// assert_eq!((d.precision, d.offset_inferred), (Precision::Month, true));
/// assert_eq!(d.at.to_rfc3339(), "2024-03-01T00:00:00+00:00");
/// assert!(parse_date_time("12/03/2024").is_none());
/// // RFC 3339 allows these; FHIR does not.
/// assert!(parse_date_time("2024-03-12 09:15:00Z").is_none());
/// assert!(parse_date_time("2024-03-12T09:15:00+15:00").is_none());
/// ```
pub fn parse_date_time(s: &str) -> Option<PartialDateTime> {
    let (date, precision, time) = date_prefix(s.as_bytes())?;
    if !time.is_empty() {
        if precision != Precision::Day || !time_syntax(time) {
            return None;
        }
        // FHIR's syntax, checked: what chrono reads of it is the value.
        let at = DateTime::parse_from_rfc3339(s).ok()?;
        let precision = if time.contains(&b'.') {
            Precision::Fraction
        } else {
            Precision::Second
        };
        return Some(PartialDateTime {
            at,
            precision,
            offset_inferred: false,
        });
    }
    let at: DateTime<FixedOffset> = Utc
        .from_utc_datetime(&date.and_hms_opt(0, 0, 0)?)
        .fixed_offset();
    Some(PartialDateTime {
        at,
        precision,
        offset_inferred: true,
    })
}

/// A FHIR date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`) with its precision.
///
/// Exactly what FHIR R4's `date` regex accepts, and a real calendar date:
/// a four-digit year other than `0000`, a two-digit month and day.
///
/// ```
/// use carecodec_map::fhir::parse_date;
/// use carecodec_model::Precision;
///
/// assert_eq!(parse_date("1970-02").unwrap().to_string(), "1970-02");
/// assert_eq!(parse_date("1970").unwrap().precision, Precision::Year);
/// assert!(parse_date("1970-02-30").is_none());
/// // No sign, no year 0, no padding with spaces.
/// assert!(parse_date("+970").is_none());
/// assert!(parse_date("0000").is_none());
/// assert!(parse_date("1970- 2").is_none());
/// ```
pub fn parse_date(s: &str) -> Option<PartialDate> {
    match date_prefix(s.as_bytes())? {
        (date, precision, []) => Some(PartialDate::new(date, precision)),
        _ => None,
    }
}

/// The date `s` starts with as FHIR R4 writes one, with its precision and
/// the bytes after it: `YYYY` (four digits, not `0000`), then `-MM`, then
/// `-DD`, each in turn optional, making a real date.
///
/// After the year or the month, `-` and two bytes must be a month or a
/// day: FHIR has no other reading of them.
fn date_prefix(s: &[u8]) -> Option<(NaiveDate, Precision, &[u8])> {
    let [y0, y1, y2, y3, rest @ ..] = s else {
        return None;
    };
    let year = digits(&[*y0, *y1, *y2, *y3])?;
    if year == 0 {
        return None;
    }
    let (month, day, precision, rest) = match rest {
        [b'-', m0, m1, b'-', d0, d1, rest @ ..] => (
            digits(&[*m0, *m1])?,
            digits(&[*d0, *d1])?,
            Precision::Day,
            rest,
        ),
        [b'-', m0, m1, rest @ ..] => (digits(&[*m0, *m1])?, 1, Precision::Month, rest),
        _ => (1, 1, Precision::Year, rest),
    };
    // Month 00 or 13, day 00 or 32, 30 February: none is a date.
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some((date, precision, rest))
}

/// Whether `t` is the time FHIR R4's `dateTime` regex allows after a day:
/// `Thh:mm:ss` (hour to 23, second to 60), an optional `.` and digits,
/// and `Z` or an offset from `-14:00` to `+14:00` (hours to 13 with any
/// minutes, or 14:00).
fn time_syntax(t: &[u8]) -> bool {
    let [b'T', h0, h1, b':', m0, m1, b':', s0, s1, rest @ ..] = t else {
        return false;
    };
    let upto = |a: u8, b: u8, max: u32| digits(&[a, b]).is_some_and(|n| n <= max);
    if !(upto(*h0, *h1, 23) && upto(*m0, *m1, 59) && upto(*s0, *s1, 60)) {
        return false;
    }
    let zone = match rest {
        [b'.', fraction @ ..] => {
            let n = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            match fraction.get(n..) {
                Some(zone) if n > 0 => zone,
                _ => return false,
            }
        }
        _ => rest,
    };
    match zone {
        [b'Z'] => true,
        [b'+' | b'-', h0, h1, b':', m0, m1] => {
            (upto(*h0, *h1, 13) && upto(*m0, *m1, 59)) || [*h0, *h1, *m0, *m1] == *b"1400"
        }
        _ => false,
    }
}

/// The number ASCII digits `d` write, or `None` when one is not a digit.
fn digits(d: &[u8]) -> Option<u32> {
    d.iter().try_fold(0, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

fn system_of(uri: &str) -> CodeSystem {
    match uri {
        "http://snomed.info/sct" => CodeSystem::Snomed,
        "https://dmd.nhs.uk" => CodeSystem::Dmd,
        "http://loinc.org" => CodeSystem::Loinc,
        "http://unitsofmeasure.org" => CodeSystem::Ucum,
        "http://hl7.org/fhir/sid/icd-10" => CodeSystem::Icd10,
        // OBX-8 codes are written as their (identical) v3 equivalents.
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation" => {
            CodeSystem::V2Table("0078".into())
        }
        u => match u.strip_prefix("http://terminology.hl7.org/CodeSystem/v2-") {
            Some(t) => CodeSystem::V2Table(t.to_owned()),
            None => match u.strip_prefix("https://fhir.hl7.org.uk/CodeSystem/UKCore-") {
                Some(n) => CodeSystem::NhsDataDictionary(n.to_owned()),
                None => CodeSystem::Uri(u.to_owned()),
            },
        },
    }
}

fn coding(ctx: &mut Ctx<'_>, path: &str, c: &Value) -> Option<Code> {
    // A coding's `version`, `userSelected` and extensions have no place in
    // the model: reported.
    c.get("code")?.as_str()?;
    ctx.take_keys(path, c, &["system", "code", "display"]);
    Some(Code {
        system: system_of(c.get("system").and_then(Value::as_str).unwrap_or_default()),
        code: c.get("code")?.as_str()?.to_owned(),
        display: c.get("display").and_then(Value::as_str).map(str::to_owned),
    })
}

fn concept(ctx: &mut Ctx<'_>, path: &str, cc: &Value) -> Sourced<Concept> {
    ctx.take_keys(path, cc, &["text"]);
    let codes = items(cc, "coding")
        .filter_map(|(i, c)| coding(ctx, &format!("{path}.coding[{i}]"), c))
        .collect();
    Sourced::new(
        Concept {
            codes,
            text: cc.get("text").and_then(Value::as_str).map(str::to_owned),
        },
        Source::fhir(path),
    )
}

/// The first coding (with a code) of the CodeableConcept `cc` at `path`, for
/// a model field that holds one code: only that coding's system, code and
/// display are consumed, so the concept's `text` and its other codings are
/// reported unmapped.
fn first_code(ctx: &mut Ctx<'_>, path: &str, cc: &Value) -> Option<Sourced<Code>> {
    let (i, c) = items(cc, "coding").find(|(_, c)| c.get("code").is_some_and(Value::is_string))?;
    let code = coding(ctx, &format!("{path}.coding[{i}]"), c)?;
    Some(Sourced::new(code, Source::fhir(path)))
}

/// The NHS number's OID (HL7 UK's; HL7 v2 senders give it as CX.4.2): the
/// same identifier namespace as UK Core's system.
const NHS_NUMBER_OID: &str = "urn:oid:2.16.840.1.113883.2.1.4.1";

/// Why `system`, which is not UK Core's NHS number system as spelled, is
/// read as it: the NHS number OID, or a near miss of either (`http` for
/// `https`, another case, a trailing slash, spaces around). `None` for the
/// exact system and for any other.
fn nhs_spelling(system: &str) -> Option<String> {
    if system == NHS_NUMBER {
        return None;
    }
    let s = system.trim().to_ascii_lowercase();
    let s = s.trim_end_matches('/');
    let why = if system == NHS_NUMBER_OID {
        "the NHS number OID"
    } else if s == NHS_NUMBER_OID {
        "the NHS number OID, not as spelled"
    } else if s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .is_some_and(|rest| rest == "fhir.nhs.uk/id/nhs-number")
    {
        "UK Core's NHS number system, not as spelled"
    } else {
        return None;
    };
    Some(format!(
        "{why}: read as the NHS number (system {NHS_NUMBER}), as the identity rules see it and the writer gives it"
    ))
}

fn identifier(ctx: &mut Ctx<'_>, path: &str, id: &Value) -> Option<Sourced<Identifier>> {
    let value = id.get("value")?.as_str()?.to_owned();
    let sent = id.get("system").and_then(Value::as_str);
    // The NHS number under another spelling of its system is the NHS number
    // (so a second, different one is a conflict), and the spelling reported.
    let spelled = sent.and_then(nhs_spelling);
    let system = if spelled.is_some() {
        Some(NHS_NUMBER)
    } else {
        sent
    };
    if let (Some(why), Some(raw)) = (&spelled, sent) {
        ctx.invalid(&format!("{path}.system"), raw, why, Action::Interpreted);
    }
    let type_code = id.pointer("/type/coding/0/code").and_then(Value::as_str);
    let type_text = id.pointer("/type/text").and_then(Value::as_str);
    // An assigner identifier is the authority when it is an ODS code (the
    // writer's form) or has no system; one in another system is not an
    // authority the model can hold (it would be written back as an ODS code
    // or a name): left unread, so the report lists it, and the display, if
    // any, is the authority.
    let ods_or_bare = id.pointer("/assigner/identifier").filter(|a| {
        a.get("system")
            .and_then(Value::as_str)
            .is_none_or(|s| s == ODS_ORG)
    });
    let (authority_at, authority) = match ods_or_bare.and_then(|a| a.get("value")) {
        Some(a) => ("identifier", a.as_str()),
        None => (
            "display",
            id.pointer("/assigner/display").and_then(Value::as_str),
        ),
    };
    let authority = authority.map(str::to_owned);
    let has_authority = authority.is_some();
    let vpd = || {
        authority
            .as_deref()
            .and_then(|a| a.strip_prefix("ESR VPD "))
            .unwrap_or_default()
            .to_owned()
    };
    let mut system_read = false;
    let mut kept = |s: Option<&str>| {
        system_read = s.is_some();
        s.map(str::to_owned)
    };
    let ident = match (system, type_code, type_text) {
        (Some(NHS_NUMBER), _, _) => match NhsNumber::parse(&value) {
            Ok(number) => {
                if let Some(reason) = crate::v2::nhs_normalised(&value, &number) {
                    let at = format!("{path}.value");
                    ctx.invalid(&at, &value, &reason, Action::Interpreted);
                }
                let verification = nhs_verification(id)
                    .and_then(|(.., c)| c.get("code"))
                    .and_then(Value::as_str)
                    .and_then(VerificationStatus::from_code);
                Identifier::Nhs {
                    number,
                    verification,
                }
            }
            Err(e) => {
                ctx.invalid(
                    &format!("{path}.value"),
                    &value,
                    &format!("invalid NHS number: {e}"),
                    Action::NotUsedForMatching,
                );
                Identifier::Other {
                    system: Some("NHS (invalid)".into()),
                    value,
                }
            }
        },
        (Some(ODS_ORG), _, _) => Identifier::OdsOrganisation(value),
        (Some(ODS_SITE), _, _) => Identifier::OdsSite(value),
        (Some("https://fhir.hl7.org.uk/Id/gmc-number"), _, _) => Identifier::Gmc(value),
        (Some("https://fhir.hl7.org.uk/Id/gmp-number"), _, _) => Identifier::Gmp(value),
        (Some("https://fhir.hl7.org.uk/Id/nmc-number"), _, _) => Identifier::Nmc(value),
        (Some("https://fhir.hl7.org.uk/Id/hcpc-number"), _, _) => Identifier::Hcpc(value),
        (Some("https://fhir.hl7.org.uk/Id/gphc-number"), _, _) => Identifier::Gphc(value),
        (Some("https://fhir.nhs.uk/Id/sds-user-id"), _, _) => Identifier::SdsUser(value),
        (Some("https://fhir.nhs.uk/Id/sds-role-profile-id"), _, _) => {
            Identifier::SdsRoleProfile(value)
        }
        // The UK systems are matched above: any other system of an MRN, a
        // visit number or a typed identifier is its authority's universal id.
        (s, Some("MR"), _) => Identifier::Mrn {
            value,
            authority,
            system: kept(s),
        },
        (s, Some("VN"), _) => Identifier::VisitNumber {
            value,
            authority,
            system: kept(s),
        },
        (s, Some(kind), _)
            if id.pointer("/type/coding/0/system").and_then(Value::as_str) == Some(V2_0203) =>
        {
            Identifier::Typed {
                kind: kind.to_owned(),
                value,
                authority,
                system: kept(s),
            }
        }
        // No type, and an assigner known by its name (an HL7 v2 EI's
        // namespace, OBX-18's): an untyped identifier with its authority.
        (s, None, None)
            if authority_at == "display" && has_authority && id.get("type").is_none() =>
        {
            Identifier::Typed {
                kind: String::new(),
                value,
                authority,
                system: kept(s),
            }
        }
        (_, _, Some("ESR person id")) => Identifier::EsrPerson { vpd: vpd(), value },
        (_, _, Some("ESR assignment number")) => Identifier::EsrAssignment { vpd: vpd(), value },
        (_, _, Some("ESR position number")) => Identifier::EsrPosition { vpd: vpd(), value },
        (_, _, Some("ESR employee number")) => Identifier::EsrEmployee { vpd: vpd(), value },
        (_, _, Some("National Insurance number")) => Identifier::NiNumber { valid: true, value },
        (s, _, t) => Identifier::Other {
            system: s.or(t).map(str::to_owned),
            value,
        },
    };
    // A registration number not of its register's shape is kept as text
    // (`GMC (invalid)`), never a key: reported, as the ESR reader does.
    let ident = match (ident.registration_problem(), ident.invalid_registration()) {
        (Some(why), Some(kept)) => {
            let reason = format!(
                "not a registration number of its register's shape ({why}): kept as text, never a key"
            );
            let raw = kept.value().to_owned();
            ctx.invalid(
                &format!("{path}.value"),
                &raw,
                &reason,
                Action::NotUsedForMatching,
            );
            kept
        }
        _ => ident,
    };
    // Consume what the identifier was read from, and nothing else (a `use`
    // other than an MRN's `usual`, a `period`, other codings, extensions are
    // reported).
    let mut keys = vec!["value"];
    let by_type = matches!(
        ident,
        Identifier::Mrn { .. } | Identifier::VisitNumber { .. } | Identifier::Typed { .. }
    );
    let by_text = matches!(
        ident,
        Identifier::EsrPerson { .. }
            | Identifier::EsrAssignment { .. }
            | Identifier::EsrPosition { .. }
            | Identifier::EsrEmployee { .. }
            | Identifier::NiNumber { .. }
    ) || matches!(&ident, Identifier::Other { system: Some(_), .. } if system.is_none());
    if system.is_some() && (system_read || !by_type) {
        keys.push("system");
    }
    if matches!(ident, Identifier::Mrn { .. })
        && id.get("use").and_then(Value::as_str) == Some("usual")
    {
        keys.push("use");
    }
    ctx.take_keys(path, id, &keys);
    if by_type {
        if let Some(c) = id.pointer("/type/coding/0") {
            ctx.take(&format!("{path}.type.coding[0]"), c);
        }
    }
    if by_text {
        if let Some(t) = id.pointer("/type/text") {
            ctx.take(&format!("{path}.type.text"), t);
        }
    }
    let esr = matches!(
        ident,
        Identifier::EsrPerson { .. }
            | Identifier::EsrAssignment { .. }
            | Identifier::EsrPosition { .. }
            | Identifier::EsrEmployee { .. }
    );
    if has_authority && (by_type || esr) {
        match authority_at {
            // The writer's ODS assigner: its system and value.
            "identifier" => {
                if let Some(a) = id.pointer("/assigner/identifier") {
                    ctx.take_keys(
                        &format!("{path}.assigner.identifier"),
                        a,
                        &["system", "value"],
                    );
                }
            }
            _ => {
                if let Some(d) = id.pointer("/assigner/display") {
                    ctx.take(&format!("{path}.assigner.display"), d);
                }
            }
        }
    }
    if let Identifier::Nhs {
        verification: Some(_),
        ..
    } = &ident
    {
        // The UK Core extension's url and the coding read (its text and
        // other codings are reported).
        if let Some((i, j, x, c)) = nhs_verification(id) {
            let xp = format!("{path}.extension[{i}]");
            ctx.take_keys(&xp, x, &["url"]);
            let cp = format!("{xp}.valueCodeableConcept.coding[{j}]");
            ctx.take_keys(&cp, c, &["system", "code", "display"]);
        }
    }
    let mut sources = Sources::one(Source::fhir(format!("{path}.value")));
    if system_read {
        sources.push(Source::fhir(format!("{path}.system")));
    }
    Some(Sourced::from_many(ident, sources))
}

/// The NHS number verification status of the NHS number identifier `id`:
/// the UK Core extension (by its url, wherever it sits) and its coding in
/// the UK Core verification status code system, with their indexes.
fn nhs_verification(id: &Value) -> Option<(usize, usize, &Value, &Value)> {
    items(id, "extension")
        .filter(|(_, x)| x.get("url").and_then(Value::as_str) == Some(NHS_VERIFICATION))
        .find_map(|(i, x)| {
            let cc = x.get("valueCodeableConcept")?;
            let (j, c) = items(cc, "coding").find(|(_, c)| {
                c.get("system").and_then(Value::as_str) == Some(NHS_VERIFICATION_SYSTEM)
            })?;
            Some((i, j, x, c))
        })
}

fn name(ctx: &mut Ctx<'_>, path: &str, n: &Value) -> Sourced<HumanName> {
    // `text`, extensions and anything else the model has no place for are
    // reported; a part of the wrong JSON type is reported invalid.
    Sourced::new(
        HumanName {
            family: ctx.text_at(path, n, "family"),
            given: ctx.texts_at(path, n, "given"),
            prefix: ctx.texts_at(path, n, "prefix"),
            suffix: ctx.texts_at(path, n, "suffix"),
            usage: ctx.text_at(path, n, "use"),
            period: period(ctx, path, n),
        },
        Source::fhir(path),
    )
}

fn address(ctx: &mut Ctx<'_>, path: &str, a: &Value) -> Sourced<Address> {
    // `text`, `state`, extensions and anything else the model has no place
    // for are reported; a part of the wrong JSON type is reported invalid.
    Sourced::new(
        Address {
            lines: ctx.texts_at(path, a, "line"),
            city: ctx.text_at(path, a, "city"),
            district: ctx.text_at(path, a, "district"),
            postcode: ctx.text_at(path, a, "postalCode"),
            country: ctx.text_at(path, a, "country"),
            usage: ctx.text_at(path, a, "use"),
            kind: ctx.text_at(path, a, "type"),
            period: period(ctx, path, a),
        },
        Source::fhir(path),
    )
}

/// Why a value is not read as a `positiveInt`.
const POSITIVE_INT: &str = "not a positiveInt (an integer from 1 to 2147483647)";

/// `n` when R4's `positiveInt` holds it: 1 to 2^31 - 1.
fn positive_int(n: u64) -> Option<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n > 0 && i32::try_from(*n).is_ok())
}

fn telecom(ctx: &mut Ctx<'_>, path: &str, t: &Value) -> Option<Sourced<Telecom>> {
    t.get("value")?.as_str()?;
    let rank = t.get("rank").filter(|r| !r.is_null()).and_then(|r| {
        let at = format!("{path}.rank");
        ctx.take(&at, r);
        let n = r.as_u64().and_then(positive_int);
        if n.is_none() {
            let raw = ctx.input.text(&at, r);
            ctx.invalid(&at, &raw, POSITIVE_INT, Action::Dropped);
        }
        n
    });
    Some(Sourced::new(
        Telecom {
            system: ctx.text_at(path, t, "system"),
            value: ctx.text_at(path, t, "value")?,
            usage: ctx.text_at(path, t, "use"),
            period: period(ctx, path, t),
            rank,
        },
        Source::fhir(path),
    ))
}

/// The `period` of the element at `path`: its start and end are consumed,
/// and one that is not a FHIR dateTime is reported invalid and dropped.
fn period(ctx: &mut Ctx<'_>, path: &str, v: &Value) -> Option<Period> {
    let p = v.get("period")?;
    let mut at = |k: &str| {
        let x = p.get(k)?;
        let at = format!("{path}.period.{k}");
        ctx.take(&at, x);
        let t = x.as_str().and_then(parse_date_time);
        if t.is_none() {
            let raw = ctx.input.text(&at, x);
            ctx.invalid(&at, &raw, "not a FHIR dateTime", Action::Dropped);
        }
        t
    };
    let mut period = Period {
        start: at("start"),
        end: at("end"),
    };
    // R4 per-1, as the v2 mapper: an end before the start is reported and
    // dropped (the writer would leave it out).
    if let (Some(s), Some(e)) = (&period.start, &period.end) {
        if super::ends_before(e, s) {
            end_before_start(ctx, &format!("{path}.period"), p, "end before start");
            period.end = None;
        }
    }
    (period.start.is_some() || period.end.is_some()).then_some(period)
}

/// Reports the `end` of the period `p` at `base` as dropped because it is
/// before its start (R4 per-1; `why` says which dates).
#[cold]
fn end_before_start(ctx: &mut Ctx<'_>, base: &str, p: &Value, why: &str) {
    let at = format!("{base}.end");
    let raw = p
        .get("end")
        .map(|x| ctx.input.text(&at, x))
        .unwrap_or_default();
    ctx.invalid(&at, &raw, why, Action::Dropped);
}

/// How many digits the fraction of a second of FHIR dateTime `s` has (0
/// with none).
fn fraction_digits(s: &str) -> usize {
    s.split_once('.')
        .map_or(0, |(_, f)| f.bytes().take_while(u8::is_ascii_digit).count())
}

fn date_time_at(
    ctx: &mut Ctx<'_>,
    base: &str,
    obj: &Value,
    key: &str,
) -> Option<Sourced<PartialDateTime>> {
    let s = ctx.str(base, obj, key)?;
    match parse_date_time(&s.value) {
        Some(t) => {
            // The model holds a time to the nanosecond: finer digits (R4
            // allows any number) are reported, the value kept without them.
            if fraction_digits(&s.value) > 9 {
                let path = format!("{base}.{key}");
                let why = "a fraction of a second finer than the nanosecond: kept to the \
                    nanosecond (its first nine digits)";
                ctx.invalid(&path, &s.value, why, Action::Interpreted);
            }
            Some(s.map(|_| t))
        }
        None => {
            let path = format!("{base}.{key}");
            ctx.invalid(&path, &s.value, "not a FHIR dateTime", Action::Dropped);
            None
        }
    }
}

/// The FHIR `date` at `base.key` (a `birthDate`): consumed; one that is not
/// a FHIR date is reported invalid and dropped.
fn date_at(ctx: &mut Ctx<'_>, base: &str, obj: &Value, key: &str) -> Option<Sourced<PartialDate>> {
    let x = obj.get(key).filter(|x| !x.is_null())?;
    let at = format!("{base}.{key}");
    ctx.take(&at, x);
    let d = x.as_str().and_then(parse_date);
    if d.is_none() {
        let raw = ctx.input.text(&at, x);
        ctx.invalid(&at, &raw, "not a FHIR date", Action::Dropped);
    }
    d.map(|d| Sourced::new(d, Source::fhir(at)))
}

/// The FHIR `dateTime` at `base.key` read into a model field that holds a
/// date (`PartialDate`, as HL7 v2's DT fields do): consumed, the whole value
/// checked, and its date kept at its precision (year, month or day). A time
/// is not kept: the date is, as written (in the value's own offset), and the
/// report says the time was not (an `invalid` entry, `Interpreted`). One
/// that is not a FHIR dateTime is reported invalid and dropped.
fn date_of_date_time(
    ctx: &mut Ctx<'_>,
    base: &str,
    obj: &Value,
    key: &str,
) -> Option<Sourced<PartialDate>> {
    let x = obj.get(key).filter(|x| !x.is_null())?;
    let at = format!("{base}.{key}");
    ctx.take(&at, x);
    let Some(t) = x.as_str().and_then(parse_date_time) else {
        let raw = ctx.input.text(&at, x);
        ctx.invalid(&at, &raw, "not a FHIR dateTime", Action::Dropped);
        return None;
    };
    let precision = match t.precision {
        p @ (Precision::Year | Precision::Month | Precision::Day) => p,
        _ => {
            let raw = ctx.input.text(&at, x);
            ctx.invalid(
                &at,
                &raw,
                "a FHIR dateTime with a time: the date is kept, the time is not (the model holds a date)",
                Action::Interpreted,
            );
            Precision::Day
        }
    };
    let date = PartialDate::new(t.at.date_naive(), precision);
    Some(Sourced::new(date, Source::fhir(at)))
}

/// A `period` date (`start` / `end`, a FHIR `dateTime`) at `base.key` read
/// into a model field that holds a whole day (`NaiveDate`: an assignment's
/// and a registration's dates, which ESR always gives to the day): read as
/// [`date_of_date_time`] (a time is not kept, and reported); a year or a
/// month alone is no day, and is reported invalid and dropped.
fn day_at(ctx: &mut Ctx<'_>, base: &str, obj: &Value, key: &str) -> Option<Sourced<NaiveDate>> {
    let d = date_of_date_time(ctx, base, obj, key)?;
    if d.value.precision == Precision::Day {
        return Some(d.map(|p| p.date));
    }
    let at = format!("{base}.{key}");
    let raw = obj
        .get(key)
        .map(|x| ctx.input.text(&at, x))
        .unwrap_or_default();
    ctx.invalid(
        &at,
        &raw,
        "a FHIR dateTime but not a whole day: the model holds this date to the day",
        Action::Dropped,
    );
    None
}

/// A FHIR `instant` the model does not keep (`meta.lastUpdated`, a worker
/// Bundle's `timestamp`): consumed as structural; one that is not an
/// instant (a dateTime to the second, with its zone) is reported invalid.
fn check_instant(ctx: &mut Ctx<'_>, at: &str, x: &Value) {
    ctx.take(at, x);
    let instant = x
        .as_str()
        .and_then(parse_date_time)
        .is_some_and(|t| matches!(t.precision, Precision::Second | Precision::Fraction));
    // A resource reached twice (an Organization two roles refer to) is
    // reported once.
    let source = Source::fhir(at);
    let seen = ctx.report.invalid.iter().any(|i| i.source == source);
    if !instant && !x.is_null() && !seen {
        let raw = ctx.input.text(at, x);
        ctx.invalid(at, &raw, "not a FHIR instant", Action::Dropped);
    }
}

/// An administrative gender; a value that is not one of its codes (`Male`,
/// `M`, a number) is consumed and reported invalid (dropped).
fn gender(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Option<Sourced<Gender>> {
    let g = r.get("gender").filter(|g| !g.is_null())?;
    let at = format!("{base}.gender");
    ctx.take(&at, g);
    let v = match g.as_str() {
        Some("male") => Gender::Male,
        Some("female") => Gender::Female,
        Some("other") => Gender::Other,
        Some("unknown") => Gender::Unknown,
        _ => {
            let raw = ctx.input.text(&at, g);
            let reason = "not a FHIR administrative-gender code (male, female, other, unknown)";
            ctx.invalid(&at, &raw, reason, Action::Dropped);
            return None;
        }
    };
    Some(Sourced::new(v, Source::fhir(at)))
}

fn patient(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Patient {
    let mut p = Patient::default();
    p.identifiers.extend(identifiers(ctx, base, r));
    for (i, n) in items(r, "name") {
        p.names.push(name(ctx, &format!("{base}.name[{i}]"), n));
    }
    p.gender = gender(ctx, base, r);
    p.birth_date = date_at(ctx, base, r, "birthDate");
    for (i, e) in r
        .get("_birthDate")
        .map(|b| items(b, "extension"))
        .into_iter()
        .flatten()
    {
        let path = format!("{base}._birthDate.extension[{i}]");
        if e.get("url").and_then(Value::as_str) == Some(BIRTH_TIME) && p.birth_time.is_none() {
            let _ = ctx.str(&path, e, "url");
            p.birth_time = date_time_at(ctx, &path, e, "valueDateTime");
        }
    }
    if let Some(cc) = r.get("maritalStatus") {
        p.marital_status = first_code(ctx, &format!("{base}.maritalStatus"), cc);
    }
    if let Some(d) = date_time_at(ctx, base, r, "deceasedDateTime") {
        p.deceased = Some(d.map(Deceased::At));
    } else if let Some(b) = r.get("deceasedBoolean").and_then(Value::as_bool) {
        let path = format!("{base}.deceasedBoolean");
        ctx.used.insert(path.clone());
        let d = if b { Deceased::Yes } else { Deceased::No };
        p.deceased = Some(Sourced::new(d, Source::fhir(path)));
    }
    if let Some(n) = r.get("multipleBirthInteger").filter(|n| n.is_number()) {
        let path = format!("{base}.multipleBirthInteger");
        ctx.used.insert(path.clone());
        // An R4 integer is 32-bit signed: the order is at most 2^31 - 1.
        match n
            .as_u64()
            .and_then(|n| i32::try_from(n).ok())
            .and_then(|n| u32::try_from(n).ok())
        {
            Some(n) => {
                p.multiple_birth = Some(Sourced::new(MultipleBirth::Order(n), Source::fhir(path)));
            }
            None => {
                let raw = ctx.input.text(&path, n);
                let reason = "not a birth order (an integer from 0 to 2147483647)";
                ctx.invalid(&path, &raw, reason, Action::Dropped);
            }
        }
    } else if let Some(b) = r.get("multipleBirthBoolean").and_then(Value::as_bool) {
        let path = format!("{base}.multipleBirthBoolean");
        ctx.used.insert(path.clone());
        let m = if b {
            MultipleBirth::Yes
        } else {
            MultipleBirth::No
        };
        p.multiple_birth = Some(Sourced::new(m, Source::fhir(path)));
    }
    // The model's language is the primary one, which the writer sends as
    // `preferred: true`: the preferred communication, else the first not
    // marked `preferred: false`. The others are left unread (reported).
    let preferred = |c: &Value| c.get("preferred").and_then(Value::as_bool);
    let primary = items(r, "communication")
        .find(|(_, c)| preferred(c) == Some(true))
        .or_else(|| items(r, "communication").find(|(_, c)| preferred(c) != Some(false)));
    if let Some((i, c)) = primary {
        let path = format!("{base}.communication[{i}]");
        if let Some(l) = c.get("language") {
            p.language = Some(concept(ctx, &format!("{path}.language"), l));
        }
        if preferred(c) == Some(true) {
            ctx.used.insert(format!("{path}.preferred"));
        }
    }
    for (i, a) in items(r, "address") {
        p.addresses
            .push(address(ctx, &format!("{base}.address[{i}]"), a));
    }
    for (i, t) in items(r, "telecom") {
        if let Some(x) = telecom(ctx, &format!("{base}.telecom[{i}]"), t) {
            p.telecom.push(x);
        }
    }
    // The model holds one of each of these extensions but citizenship (HL7
    // v2 sends one): the first; another is left unread, so it is reported
    // unmapped. (Until 2026-12-08 each replaced the one before.)
    for (i, e) in items(r, "extension") {
        let url = e.get("url").and_then(Value::as_str).unwrap_or_default();
        let held = match url {
            NATIONALITY => p.nationality.is_some(),
            MOTHERS_MAIDEN_NAME => p.mothers_maiden_name.is_some(),
            CONGREGATION => p.congregation.is_some(),
            BIRTH_PLACE => p.birth_place.is_some(),
            RELIGION => p.religion.is_some(),
            u if u.ends_with("Extension-UKCore-EthnicCategory") => p.ethnic_category.is_some(),
            _ => false,
        };
        if held {
            continue;
        }
        if url == CITIZENSHIP || url == NATIONALITY {
            let path = format!("{base}.extension[{i}]");
            let _ = ctx.str(&path, e, "url");
            // The country is the `code` sub-extension (the core extensions'
            // `period` is not kept: reported unmapped).
            for (j, x) in items(e, "extension") {
                let xp = format!("{path}.extension[{j}]");
                let cc = x.get("valueCodeableConcept");
                if let (Some("code"), Some(cc)) = (x.get("url").and_then(Value::as_str), cc) {
                    let _ = ctx.str(&xp, x, "url");
                    let c = concept(ctx, &format!("{xp}.valueCodeableConcept"), cc);
                    if url == CITIZENSHIP {
                        p.citizenship.push(c);
                    } else {
                        p.nationality = Some(c);
                    }
                }
            }
        }
        if url == MOTHERS_MAIDEN_NAME && e.get("valueString").is_some() {
            let path = format!("{base}.extension[{i}]");
            let _ = ctx.str(&path, e, "url");
            p.mothers_maiden_name = ctx.str(&path, e, "valueString");
        }
        if url == CONGREGATION && e.get("valueString").is_some() {
            let path = format!("{base}.extension[{i}]");
            let _ = ctx.str(&path, e, "url");
            p.congregation = ctx.str(&path, e, "valueString");
        }
        if url == BIRTH_PLACE {
            if let Some(a) = e.get("valueAddress") {
                let path = format!("{base}.extension[{i}]");
                let _ = ctx.str(&path, e, "url");
                // The text only: an address in parts is reported unmapped.
                p.birth_place = ctx.str(&format!("{path}.valueAddress"), a, "text");
            }
        }
        if url == RELIGION {
            if let Some(cc) = e.get("valueCodeableConcept") {
                let path = format!("{base}.extension[{i}]");
                let _ = ctx.str(&path, e, "url");
                p.religion = Some(concept(ctx, &format!("{path}.valueCodeableConcept"), cc));
            }
        }
        if url.ends_with("Extension-UKCore-EthnicCategory") {
            if let Some(cc) = e.get("valueCodeableConcept") {
                let path = format!("{base}.extension[{i}]");
                let _ = ctx.str(&path, e, "url");
                p.ethnic_category = first_code(ctx, &format!("{path}.valueCodeableConcept"), cc)
                    .map(|c| {
                        c.map(|mut code| {
                            // The England code system is the NHS Data Dictionary's.
                            let england =
                                "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland";
                            if code.system.uri() == england {
                                code.system =
                                    CodeSystem::NhsDataDictionary("EthnicCategory".into());
                            }
                            code
                        })
                    });
            }
        }
    }
    for (i, c) in items(r, "contact") {
        let path = format!("{base}.contact[{i}]");
        let mut rels = items(c, "relationship")
            .filter_map(|(j, cc)| first_code(ctx, &format!("{path}.relationship[{j}]"), cc));
        let relationship = rels.next();
        let role = rels.next();
        drop(rels);
        let contact = Contact {
            name: c.get("name").map(|n| name(ctx, &format!("{path}.name"), n)),
            relationship,
            role,
            address: c
                .get("address")
                .map(|a| address(ctx, &format!("{path}.address"), a)),
            telecom: items(c, "telecom")
                .filter_map(|(j, t)| telecom(ctx, &format!("{path}.telecom[{j}]"), t))
                .collect(),
            gender: gender(ctx, &path, c),
            from: None,
            until: None,
            organisation: None,
            organisation_contact: None,
        };
        let mut contact = contact;
        // The contact's period is dateTimes; the model keeps dates (NK1-8 / 9
        // are DT): a time is not kept, and reported.
        if let Some(period) = c.get("period") {
            let pp = format!("{path}.period");
            contact.from = date_of_date_time(ctx, &pp, period, "start");
            contact.until = date_of_date_time(ctx, &pp, period, "end");
            if let (Some(f), Some(u)) = (&contact.from, &contact.until) {
                if super::date_ends_before(&u.value, &f.value) {
                    end_before_start(ctx, &pp, period, "contact end before its start");
                    contact.until = None;
                }
            }
        }
        // NK1-13: the Organization the contact refers to, with its contact person.
        if let Some((ob, org)) = c
            .get("organization")
            .and_then(|o| resolve(ctx, &format!("{path}.organization"), o))
        {
            contact.organisation = Some(organisation(ctx, &ob, org));
            contact.organisation_contact = items(org, "contact").next().map(|(j, pc)| {
                let pp = format!("{ob}.contact[{j}]");
                ContactPerson {
                    name: pc.get("name").map(|n| name(ctx, &format!("{pp}.name"), n)),
                    telecom: items(pc, "telecom")
                        .filter_map(|(k, t)| telecom(ctx, &format!("{pp}.telecom[{k}]"), t))
                        .collect(),
                    address: pc
                        .get("address")
                        .map(|a| address(ctx, &format!("{pp}.address"), a)),
                }
            });
        }
        p.contacts.push(contact);
    }
    // The model holds one practice and one GP (HL7 v2 PD1-3, PD1-4): the
    // first of each; another is left unread, so it is reported unmapped. Of
    // the GP's Practitioner, the name and one identifier (the reference's
    // own, else the Practitioner's first) are kept: its other identifiers
    // are left unread too. (Until 2026-12-08 each practice replaced the one
    // before, and every identifier of the GP's Practitioner was consumed.)
    for (i, g) in items(r, "generalPractitioner") {
        let path = format!("{base}.generalPractitioner[{i}]");
        let organisation = g.get("type").and_then(Value::as_str) == Some("Organization");
        let to_practice = g
            .get("reference")
            .and_then(Value::as_str)
            .and_then(|t| lookup(ctx, &path, t))
            .is_some_and(|(_, t)| kind_of(t) == Some("Organization"));
        let read = if organisation || to_practice {
            p.gp_practice.is_some()
        } else {
            p.gp.is_some() || p.gp_name.is_some()
        };
        if read {
            continue;
        }
        let x = g
            .get("identifier")
            .and_then(|id| identifier(ctx, &format!("{path}.identifier"), id));
        if organisation {
            // The practice: its ODS code and name.
            let Some(x) = x else { continue };
            ctx.take(&format!("{path}.type"), &g["type"]);
            p.gp_practice = Some(x);
            p.gp_practice_name = ctx.str(&path, g, "display");
            continue;
        }
        let practice = resolve_as(ctx, &path, g, &["Organization"]);
        if let Some((ob, or)) = practice.as_ref() {
            // A reference to the practice's Organization: its identifier (the
            // reference's own first) and its name, else the reference's display.
            let own = |ctx: &mut Ctx<'_>| {
                let (j, id) = items(or, "identifier").next()?;
                identifier(ctx, &format!("{ob}.identifier[{j}]"), id)
            };
            let Some(x) = x.or_else(|| own(ctx)) else {
                continue;
            };
            if let Some(t) = g.get("type") {
                ctx.take(&format!("{path}.type"), t);
            }
            p.gp_practice = Some(x);
            p.gp_practice_name = ctx
                .str(ob, or, "name")
                .or_else(|| ctx.str(&path, g, "display"));
            continue;
        }
        // The GP: by identifier, and the Practitioner the reference resolves
        // to (its name, and its identifier when the reference has none); a
        // reference to anything else is reported (see `practitioner_at`).
        let target = practitioner_at(ctx, &path, g);
        if x.is_none() && target.is_none() {
            continue;
        }
        if let Some(t) = g.get("type") {
            ctx.take(&format!("{path}.type"), t);
        }
        let mut gp = x;
        if let Some((pb, pr)) = target {
            for (j, id) in items(pr, "identifier") {
                let at = format!("{pb}.identifier[{j}]");
                match &gp {
                    // The writer's form: the reference's identifier again.
                    Some(_) if g.get("identifier") == Some(id) => ctx.take(&at, id),
                    Some(_) => {}
                    None => gp = identifier(ctx, &at, id),
                }
            }
            p.gp_name = items(pr, "name")
                .next()
                .map(|(j, n)| name(ctx, &format!("{pb}.name[{j}]"), n));
        }
        p.gp = gp;
    }
    p
}

fn practitioner(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Practitioner {
    let mut p = Practitioner::default();
    p.identifiers.extend(identifiers(ctx, base, r));
    p.name = items(r, "name")
        .next()
        .map(|(i, n)| name(ctx, &format!("{base}.name[{i}]"), n));
    p
}

fn location(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Location {
    let mut l = Location::default();
    l.identifiers.extend(identifiers(ctx, base, r));
    l.name = ctx.str(base, r, "name");
    if let Some(t) = r.get("physicalType") {
        // Derived from the bed (PL.3) when written; nothing more to read.
        ctx.take(&format!("{base}.physicalType"), t);
    }
    if let Some(a) = r.get("address") {
        l.address = Some(address(ctx, &format!("{base}.address"), a));
    }
    l
}

/// A Location and the ones it is `partOf` (the IG's PL hierarchy the writer
/// makes): each level's name goes to the part its physical type says (`bd`
/// bed, `ro` room, `wa` ward, `si` facility), a Location without one is the
/// name; descriptions, identifiers and the address are collected.
fn location_hierarchy(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Location {
    let mut l = Location::default();
    let mut current = Some((base.to_owned(), r));
    // Bounded: a partOf cycle cannot loop.
    for _ in 0..8 {
        let Some((b, r)) = current.take() else { break };
        l.identifiers.extend(identifiers(ctx, &b, r));
        let kind = r
            .pointer("/physicalType/coding/0/code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(t) = r.get("physicalType") {
            ctx.take(&format!("{b}.physicalType"), t);
        }
        if let Some(m) = r.get("mode") {
            ctx.take(&format!("{b}.mode"), m);
        }
        let name = ctx.str(&b, r, "name");
        match kind.as_str() {
            "bd" => l.bed = name,
            "ro" => l.room = name,
            "wa" => l.ward = name,
            "si" => l.facility = name,
            _ => l.name = name.or(l.name.take()),
        }
        if let Some(d) = ctx.str(&b, r, "description") {
            l.name = Some(d);
        }
        if let Some(a) = r.get("address") {
            l.address = Some(address(ctx, &format!("{b}.address"), a));
        }
        current = r
            .get("partOf")
            .and_then(|p| resolve(ctx, &format!("{b}.partOf"), p));
    }
    l
}

/// Follows a reference (at `path`) to a resource in the Bundle that is read,
/// consuming the reference (but for its extensions, which the caller reads
/// if it understands them: else they are reported) and the target's
/// `resourceType`, `id` and `meta`. A reference whose target is not in the
/// Bundle (or is not read) is left unconsumed, so it is reported. (Until
/// 2026-12-07 a reference's extensions were consumed unread.)
fn resolve<'v>(ctx: &mut Ctx<'v>, path: &str, reference: &Value) -> Option<(String, &'v Value)> {
    let target = reference.get("reference")?.as_str()?;
    let (base, r) = lookup(ctx, path, target)?;
    // The reference's members, but its extensions: what one says (a
    // performer's function) is read where it is understood, else reported.
    if let Some(m) = reference.as_object() {
        for (k, v) in m.iter().filter(|(k, _)| *k != "extension") {
            ctx.take(&format!("{path}.{k}"), v);
        }
    }
    take_resource_head(ctx, &base, r);
    Some((base, r))
}

/// Follows a reference (at `path`), as [`resolve`] does, only when its target
/// is one of `kinds` (its `resourceType`): a reference to anything else (a
/// Patient where a Practitioner is expected) is left unconsumed, display
/// included, so it is reported.
fn resolve_as<'v>(
    ctx: &mut Ctx<'v>,
    path: &str,
    reference: &Value,
    kinds: &[&str],
) -> Option<(String, &'v Value)> {
    let target = reference.get("reference")?.as_str()?;
    let (_, r) = lookup(ctx, path, target)?;
    if !kind_of(r).is_some_and(|k| kinds.contains(&k)) {
        return None;
    }
    resolve(ctx, path, reference)
}

/// The Practitioner a reference (at `path`: a participant, an asserter, a
/// requester, a Provenance agent) names: its target when that is a
/// Practitioner, or, for a PractitionerRole, the Practitioner the role
/// refers to (the role's other elements, which the model has no place for
/// there, are reported). Nothing is read, and the reference is reported
/// unmapped, when the target is anything else (a Patient, a RelatedPerson,
/// a Device), a PractitionerRole with no Practitioner in the Bundle, or a
/// Practitioner with neither identifier nor name (it would be written as an
/// empty Practitioner).
fn practitioner_ref(ctx: &mut Ctx<'_>, path: &str, reference: &Value) -> Option<Practitioner> {
    let (pb, pr) = practitioner_at(ctx, path, reference)?;
    Some(practitioner(ctx, &pb, pr))
}

/// The Practitioner resource (its path and value) a reference at `path`
/// names, as [`practitioner_ref`] finds it, the references followed
/// consumed but nothing of the Practitioner read.
fn practitioner_at<'v>(
    ctx: &mut Ctx<'v>,
    path: &str,
    reference: &Value,
) -> Option<(String, &'v Value)> {
    let (rb, r) = reference
        .get("reference")
        .and_then(Value::as_str)
        .and_then(|t| lookup(ctx, path, t))?;
    match kind_of(r)? {
        "Practitioner" if someone(r) => resolve(ctx, path, reference),
        "PractitionerRole" => {
            let to = r.get("practitioner")?;
            let at = format!("{rb}.practitioner");
            let (_, pr) = lookup(ctx, &at, to.get("reference")?.as_str()?)?;
            if kind_of(pr) != Some("Practitioner") || !someone(pr) {
                return None;
            }
            resolve(ctx, path, reference)?;
            resolve(ctx, &at, to)
        }
        _ => None,
    }
}

/// Whether a Practitioner says who it is in what the model keeps: an
/// identifier, or a name with a part (a name of only `text`, which the model
/// has no place for, would make a blank Practitioner).
fn someone(r: &Value) -> bool {
    r.get("identifier").is_some()
        || items(r, "name").any(|(_, n)| {
            ["family", "given", "prefix", "suffix"]
                .iter()
                .any(|k| n.get(k).is_some())
        })
}

/// The identifier of a logical reference at `path` (`{"identifier": …}`
/// with no `reference`), consumed; `None` for any other reference.
fn logical(ctx: &mut Ctx<'_>, path: &str, reference: &Value) -> Option<Sourced<Identifier>> {
    if reference.get("reference").is_some() {
        return None;
    }
    let id = reference.get("identifier")?;
    identifier(ctx, &format!("{path}.identifier"), id)
}

/// The resource in the Bundle `target` (a reference at `from`) refers to,
/// when it is read (see [`find`]).
fn lookup<'v>(ctx: &Ctx<'v>, from: &str, target: &str) -> Option<(String, &'v Value)> {
    find(ctx, from, target).filter(|(base, _)| !ctx.skip.contains(base))
}

/// The resource in the Bundle `target` (a reference at `from`) refers to, by
/// R4's Bundle rules: the entry whose fullUrl is `target`; for a relative
/// `Type/id` (a version `/_history/…` aside), the entry whose fullUrl is it
/// appended to the RESTful base of the referring entry's fullUrl
/// (`Observation/1` from `http://srv/fhir/X/2` is `http://srv/fhir/Observation/1`).
fn find<'v>(ctx: &Ctx<'v>, from: &str, target: &str) -> Option<(String, &'v Value)> {
    if let Some(found) = ctx.by_url.get(target) {
        return Some(found.clone());
    }
    let relative = relative_ref(target)?;
    let url = ctx.url_at.get(entry_of(from)?)?;
    let absolute = format!("{}/{relative}", restful_root(url)?);
    ctx.by_url.get(absolute.as_str()).cloned()
}

/// The `Type/id` of a relative reference (`Patient/1`,
/// `Patient/1/_history/2`), or `None` for an absolute or local one.
fn relative_ref(target: &str) -> Option<&str> {
    let t = target.split("/_history/").next().unwrap_or(target);
    let (kind, id) = t.split_once('/')?;
    let plain = kind.starts_with(|c: char| c.is_ascii_uppercase())
        && kind.chars().all(|c| c.is_ascii_alphanumeric())
        && !id.is_empty()
        && !id.contains(['/', ':', '#']);
    plain.then_some(t)
}

/// The path of the entry resource a path inside it (`Bundle.entry[3].resource.result[0]`)
/// lies in (`Bundle.entry[3].resource`).
fn entry_of(path: &str) -> Option<&str> {
    let end = path.find("].resource")? + "].resource".len();
    path.get(..end)
}

/// The RESTful base of an absolute fullUrl (`http://srv/fhir/Observation/1`
/// → `http://srv/fhir`), or `None` when it is not one (a `urn:uuid:`).
fn restful_root(url: &str) -> Option<&str> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return None;
    }
    let url = url.split("/_history/").next().unwrap_or(url);
    let (rest, _id) = url.rsplit_once('/')?;
    let (root, kind) = rest.rsplit_once('/')?;
    let typed = kind.starts_with(|c: char| c.is_ascii_uppercase());
    (typed && root.contains("://") && !root.ends_with('/')).then_some(root)
}

fn encounter(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Encounter {
    let mut e = Encounter::default();
    e.identifiers.extend(identifiers(ctx, base, r));
    e.status = ctx.str(base, r, "status").map(|s| s.value);
    if let Some(c) = r.get("class") {
        e.class = encounter_class(ctx, &format!("{base}.class"), c);
    }
    if let Some(s) = r.get("serviceType") {
        e.service = first_code(ctx, &format!("{base}.serviceType"), s);
    }
    if let Some(p) = r.get("period") {
        let pb = format!("{base}.period");
        e.admitted = date_time_at(ctx, &pb, p, "start");
        e.discharged = date_time_at(ctx, &pb, p, "end");
        if let (Some(a), Some(d)) = (&e.admitted, &e.discharged) {
            if super::ends_before(&d.value, &a.value) {
                end_before_start(ctx, &pb, p, "discharge before admission");
                e.discharged = None;
            }
        }
    }
    for (i, part) in items(r, "participant") {
        let path = format!("{base}.participant[{i}]");
        // A participant who is no Practitioner (a RelatedPerson, a Patient)
        // is not read: the model's participants are practitioners.
        let Some(practitioner) = part
            .get("individual")
            .and_then(|ind| practitioner_ref(ctx, &format!("{path}.individual"), ind))
        else {
            continue;
        };
        let role = part
            .pointer("/type/0/coding/0/code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        // The role is the first type's first code: its text and other
        // codings are reported.
        if let Some(c) = part.pointer("/type/0/coding/0") {
            let at = format!("{path}.type[0].coding[0]");
            ctx.take_keys(&at, c, &["system", "code", "display"]);
        }
        e.participants.push(Participant { role, practitioner });
    }
    // One location of each status (the model's current, prior, pending and
    // prior pending locations): the first; a later one of a status already
    // read is left unread, status included, so it is reported, as is the
    // status of a location whose reference does not resolve. (Until
    // 2026-12-08 a later one replaced the first, both counted mapped, and
    // the status was consumed even when the location was not read.)
    for (i, l) in items(r, "location") {
        let path = format!("{base}.location[{i}]");
        let status = l.get("status").and_then(Value::as_str).unwrap_or("active");
        // The statuses the writer gives PV1-6, PV1-42 and PV2-1 (the IG's).
        let slot = match status {
            "completed" => &mut e.prior_location,
            "reserved" => &mut e.pending_location,
            "planned" => &mut e.prior_pending_location,
            _ => &mut e.location,
        };
        if slot.is_some() {
            continue;
        }
        let Some((lb, lr)) = l
            .get("location")
            .and_then(|x| resolve(ctx, &format!("{path}.location"), x))
        else {
            continue;
        };
        if let Some(s) = l.get("status") {
            ctx.take(&format!("{path}.status"), s);
        }
        *slot = Some(Box::new(location_hierarchy(ctx, &lb, lr)));
        // The bed status is written on the current location's Location.
        if status == "active" {
            if let Some(c) = lr.get("operationalStatus") {
                let p = format!("{lb}.operationalStatus");
                e.bed_status = coding(ctx, &p, c).map(|c| Sourced::new(c, Source::fhir(p)));
            }
        }
    }
    if let Some(p) = r.get("priority") {
        // v3 ActPriority EM / UR / EL are the IG's map of table 0217 1 / 2 / 3.
        e.priority = first_code(ctx, &format!("{base}.priority"), p).map(|c| {
            c.map(|code| {
                let v2 = (code.system == CodeSystem::Uri(super::ACT_PRIORITY.into()))
                    .then(|| {
                        super::ENCOUNTER_PRIORITY
                            .iter()
                            .find(|(_, v3, _)| *v3 == code.code)
                    })
                    .flatten();
                match v2 {
                    Some((v2, ..)) => Code::new(CodeSystem::V2Table("0217".into()), v2, None),
                    None => code,
                }
            })
        });
    }
    if let Some(l) = r.get("length") {
        e.length_days = length_days(ctx, &format!("{base}.length"), l);
    }
    if let Some(t) = r.get("text") {
        let path = format!("{base}.text");
        ctx.take(&path, t);
        // A `generated` narrative only restates the structured elements (read
        // above); any other is text of its own: the visit description.
        if t.get("status").and_then(Value::as_str) != Some("generated") {
            e.description = t
                .get("div")
                .and_then(Value::as_str)
                .map(narrative_text)
                .filter(|d| !d.is_empty())
                .map(|d| Sourced::new(d, Source::fhir(format!("{path}.div"))));
        }
    }
    if let Some(rc) = r.pointer("/reasonCode/0") {
        e.reason = Some(concept(ctx, &format!("{base}.reasonCode[0]"), rc));
    }
    for (i, x) in items(r, "extension") {
        let url = x.get("url").and_then(Value::as_str).unwrap_or_default();
        if url == super::PLANNED_START || url == super::PLANNED_END {
            let path = format!("{base}.extension[{i}]");
            let _ = ctx.str(&path, x, "url");
            let t = date_time_at(ctx, &path, x, "valueDateTime");
            if url == super::PLANNED_START {
                e.expected_admit = t;
            } else {
                e.expected_discharge = t;
            }
        }
        if url == super::MODE_OF_ARRIVAL {
            let path = format!("{base}.extension[{i}]");
            ctx.take(&format!("{path}.url"), x.get("url").unwrap_or(&Value::Null));
            if let Some(c) = x.get("valueCoding") {
                let vp = format!("{path}.valueCoding");
                e.arrival_mode = coding(ctx, &vp, c).map(|c| Sourced::new(c, Source::fhir(vp)));
            }
        }
        if url.ends_with("Extension-UKCore-DischargeMethod") {
            let path = format!("{base}.extension[{i}]");
            ctx.take(&format!("{path}.url"), x.get("url").unwrap_or(&Value::Null));
            if let Some(cc) = x.get("valueCodeableConcept") {
                e.discharge_method = first_code(ctx, &format!("{path}.valueCodeableConcept"), cc);
            }
        }
    }
    if let Some(h) = r.get("hospitalization") {
        let hb = format!("{base}.hospitalization");
        for (i, x) in items(h, "extension") {
            let url = x.get("url").and_then(Value::as_str).unwrap_or_default();
            if url.ends_with("Extension-UKCore-AdmissionMethod") {
                let path = format!("{hb}.extension[{i}]");
                ctx.take(&format!("{path}.url"), x.get("url").unwrap_or(&Value::Null));
                if let Some(cc) = x.get("valueCodeableConcept") {
                    e.admission_method =
                        first_code(ctx, &format!("{path}.valueCodeableConcept"), cc);
                }
            }
        }
        if let Some(d) = h.get("dischargeDisposition") {
            e.discharge_destination = first_code(ctx, &format!("{hb}.dischargeDisposition"), d);
        }
        if let Some(s) = h.get("admitSource") {
            e.admit_source = first_code(ctx, &format!("{hb}.admitSource"), s);
        }
        if let Some(id) = h.get("preAdmissionIdentifier") {
            e.preadmission_id = identifier(ctx, &format!("{hb}.preAdmissionIdentifier"), id);
        }
        if let Some(r) = h.get("reAdmission") {
            e.readmission = first_code(ctx, &format!("{hb}.reAdmission"), r);
        }
        for (i, a) in items(h, "specialArrangement") {
            let c = first_code(ctx, &format!("{hb}.specialArrangement[{i}]"), a);
            // `wheel` is the IG's AmbulatoryStatus map of table 0009 A2.
            e.ambulatory_status.extend(c.map(|c| {
                c.map(|code| {
                    if code.system == CodeSystem::Uri(super::SPECIAL_ARRANGEMENTS.into())
                        && code.code == "wheel"
                    {
                        Code::new(CodeSystem::V2Table("0009".into()), "A2", None)
                    } else {
                        code
                    }
                })
            }));
        }
        if let Some(v) = r.pointer("/hospitalization/specialCourtesy/0") {
            e.special_courtesy = Some(concept(ctx, &format!("{hb}.specialCourtesy[0]"), v));
        }
        if let Some(d) = r.pointer("/hospitalization/dietPreference/0") {
            e.diet = Some(concept(ctx, &format!("{hb}.dietPreference[0]"), d));
        }
    }
    // A v2 admission type is written as Encounter.type (an NHS one as the extension).
    if e.admission_method.is_none() {
        if let Some(t) = r.pointer("/type/0") {
            e.admission_method = first_code(ctx, &format!("{base}.type[0]"), t);
        }
    }
    e
}

/// An Encounter's `length` (a Duration) in days, the decimal as sent: UCUM
/// `d`, or no code and the unit `d`, `day` or `days`. Another unit (`min`,
/// `h`, `wk`…) is not days: the length is left unconsumed (reported
/// unmapped) and listed in `invalid` (`Dropped`), as is a value that is not
/// a number; a comparator, which the model cannot hold, stays unconsumed.
fn length_days(ctx: &mut Ctx<'_>, path: &str, l: &Value) -> Option<Sourced<String>> {
    let s = |k: &str| l.get(k).and_then(Value::as_str);
    let days = match (s("system"), s("code")) {
        (Some("http://unitsofmeasure.org"), Some("d")) => true,
        (None, None) => matches!(s("unit"), Some("d" | "day" | "days")),
        _ => false,
    };
    let at = format!("{path}.value");
    let value = match l.get("value") {
        Some(Value::Number(n)) if days => ctx.input.number(&at, n),
        _ => {
            let raw = ctx.input.text(path, l);
            let reason = if days {
                "an Encounter.length value that is not a number"
            } else {
                "an Encounter.length not in days (UCUM d): the model holds the length of stay in days"
            };
            ctx.invalid(path, &raw, reason, Action::Dropped);
            return None;
        }
    };
    ctx.take_keys(path, l, &["value", "unit", "system", "code"]);
    Some(Sourced::new(value, Source::fhir(path)))
}

/// An Encounter's `class` (a v3 ActCode coding) as the model's class, its
/// system, code and display consumed; the writer's v3 NullFlavor `UNK` is
/// `Other`, its v2-0004 `C` / `N` (no ActCode: the IG's PatientClass map)
/// `Commercial` / `NotApplicable`. A class the model has none for (`VR`
/// virtual, `HH` home health, another system) is not read: it stays
/// unconsumed, so it is reported.
fn encounter_class(ctx: &mut Ctx<'_>, path: &str, c: &Value) -> Option<Sourced<EncounterClass>> {
    const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    const NULL_FLAVOR: &str = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor";
    const V2_0004: &str = "http://terminology.hl7.org/CodeSystem/v2-0004";
    let system = c.get("system").and_then(Value::as_str);
    let class = match (system, c.get("code").and_then(Value::as_str)?) {
        (Some(ACT_CODE) | None, "IMP" | "ACUTE" | "NONAC") => EncounterClass::Inpatient,
        (Some(ACT_CODE) | None, "AMB") => EncounterClass::Outpatient,
        (Some(ACT_CODE) | None, "EMER") => EncounterClass::Emergency,
        (Some(ACT_CODE) | None, "PRENC") => EncounterClass::PreAdmission,
        (Some(NULL_FLAVOR), "UNK") => EncounterClass::Other,
        (Some(V2_0004), "C") => EncounterClass::Commercial,
        (Some(V2_0004), "N") => EncounterClass::NotApplicable,
        _ => return None,
    };
    ctx.take_keys(path, c, &["system", "code", "display"]);
    Some(Sourced::new(class, Source::fhir(path)))
}

/// The text of an Encounter narrative (the paragraph carecodec writes for a
/// visit description, or another sender's XHTML): tags dropped, entities
/// decoded.
fn narrative_text(div: &str) -> String {
    let mut out = String::with_capacity(div.len());
    let mut in_tag = false;
    for ch in div.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The `status` of an Observation or, `report` true, a DiagnosticReport `r`
/// (at `base`), each R4 code as itself: observation-status, and for a
/// report diagnostic-report-status, which adds `partial` and `appended`. A
/// code of neither (`Final`, a report's code on an Observation) is reported
/// invalid and dropped (the writer gives `unknown` for none). (Until
/// 2026-12-08 `corrected` and `appended` were read as `amended`, `partial`
/// as `preliminary`, and any other text as `unknown`, unreported.)
fn result_status(
    ctx: &mut Ctx<'_>,
    base: &str,
    r: &Value,
    report: bool,
) -> Option<Sourced<ResultStatus>> {
    let s = ctx.str(base, r, "status")?;
    let status = match s.value.as_str() {
        "registered" => ResultStatus::Registered,
        "preliminary" => ResultStatus::Preliminary,
        "final" => ResultStatus::Final,
        "amended" => ResultStatus::Amended,
        "corrected" => ResultStatus::Corrected,
        "cancelled" => ResultStatus::Cancelled,
        "entered-in-error" => ResultStatus::EnteredInError,
        "unknown" => ResultStatus::Unknown,
        "partial" if report => ResultStatus::Partial,
        "appended" if report => ResultStatus::Appended,
        other => {
            let why = if report {
                "not a diagnostic-report-status code"
            } else {
                "not an observation-status code"
            };
            ctx.invalid(&format!("{base}.status"), other, why, Action::Dropped);
            return None;
        }
    };
    Some(s.map(|_| status))
}

fn quantity(ctx: &mut Ctx<'_>, path: &str, q: &Value) -> Option<Quantity> {
    let value = match q.get("value")? {
        Value::Number(n) => ctx.input.number(&format!("{path}.value"), n),
        _ => return None,
    };
    let s = |k: &str| q.get(k).and_then(Value::as_str).map(str::to_owned);
    let ucum = (s("system").as_deref() == Some("http://unitsofmeasure.org"))
        .then(|| s("code"))
        .flatten();
    // The unit's code is kept when it is UCUM; another system's code is
    // reported.
    let keys: &[&str] = if ucum.is_some() {
        &["value", "unit", "comparator", "system", "code"]
    } else {
        &["value", "unit", "comparator"]
    };
    ctx.take_keys(path, q, keys);
    Some(Quantity {
        value,
        unit: s("unit").or_else(|| ucum.clone()),
        ucum,
        comparator: s("comparator"),
    })
}

/// The Observation `r` at `base`; `orders` are the paths of the
/// ServiceRequests its report is `basedOn` (read with the report), none for
/// an Observation no report lists.
fn observation(ctx: &mut Ctx<'_>, base: &str, r: &Value, orders: &[String]) -> Option<Observation> {
    let code = required_concept(ctx, &format!("{base}.code"), r.get("code")?);
    let status = result_status(ctx, base, r, false);
    let value = if let Some(q) = r.get("valueQuantity") {
        let path = format!("{base}.valueQuantity");
        quantity(ctx, &path, q)
            .map(|q| Sourced::new(ObservationValue::Quantity(q), Source::fhir(path)))
    } else if let Some(rg) = r.get("valueRange") {
        let path = format!("{base}.valueRange");
        let low = rg
            .get("low")
            .and_then(|q| quantity(ctx, &format!("{path}.low"), q));
        let high = rg
            .get("high")
            .and_then(|q| quantity(ctx, &format!("{path}.high"), q));
        (low.is_some() || high.is_some())
            .then(|| Sourced::new(ObservationValue::Range { low, high }, Source::fhir(path)))
    } else if let Some(s) = ctx.str(base, r, "valueString") {
        Some(s.map(ObservationValue::Text))
    } else if let Some(cc) = r.get("valueCodeableConcept") {
        Some(concept(ctx, &format!("{base}.valueCodeableConcept"), cc).map(ObservationValue::Coded))
    } else if let Some(d) = date_time_at(ctx, base, r, "valueDateTime") {
        Some(d.map(ObservationValue::DateTime))
    } else {
        value_attachment(ctx, base, r)
    };
    let sub_id = sub_id(ctx, base, r);
    // A `basedOn` its report's order (as the writer gives it) is read with
    // the report; any other (an order of its own, a CarePlan, a logical
    // identifier) has no place in the model and is reported. (Until
    // 2026-12-08 every `basedOn` was consumed unread.)
    for (i, b) in items(r, "basedOn") {
        let at = format!("{base}.basedOn[{i}]");
        let target = b
            .get("reference")
            .and_then(Value::as_str)
            .and_then(|t| lookup(ctx, &at, t));
        if target.is_some_and(|(tb, _)| orders.contains(&tb)) {
            resolve(ctx, &at, b);
        }
    }
    // The writer's `unknown` for a missing value is what the model's `None`
    // says; any other reason (`asked-declined`, `masked`…) has no place in
    // the model and is reported.
    if let (None, Some(d)) = (&value, r.get("dataAbsentReason")) {
        let path = format!("{base}.dataAbsentReason");
        let system = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
        coded_as(ctx, &path, d, system, "unknown");
    }
    let interpretation = items(r, "interpretation")
        .filter_map(|(i, c)| first_code(ctx, &format!("{base}.interpretation[{i}]"), c))
        .collect();
    let notes = items(r, "note")
        .filter_map(|(i, n)| ctx.str(&format!("{base}.note[{i}]"), n, "text"))
        .collect();
    let reference_range = r
        .pointer("/referenceRange/0")
        .and_then(|rr| ctx.str(&format!("{base}.referenceRange[0]"), rr, "text"));
    let mut performers = Vec::new();
    for (i, p) in items(r, "performer") {
        // A performer that is the patient (a patient-reported reading), a
        // RelatedPerson or a CareTeam has no place in the model: reported.
        let at = format!("{base}.performer[{i}]");
        let kinds = ["PractitionerRole", "Organization", "Practitioner"];
        // Nor does one that says nothing of who it is (it would be written
        // as an empty Practitioner): the reference is reported.
        if !says_who(ctx, &at, p) {
            continue;
        }
        if let Some((pb, pr)) = resolve_as(ctx, &at, p, &kinds) {
            performers.extend(performer(ctx, &pb, pr));
        }
    }
    Some(Observation {
        code,
        value,
        reference_range,
        interpretation,
        status,
        effective: date_time_at(ctx, base, r, "effectiveDateTime"),
        notes,
        performers,
        identifiers: identifiers(ctx, base, r),
        method: r
            .get("method")
            .map(|c| concept(ctx, &format!("{base}.method"), c)),
        body_site: r
            .get("bodySite")
            .map(|c| concept(ctx, &format!("{base}.bodySite"), c)),
        device: r
            .get("device")
            .and_then(|d| resolve(ctx, &format!("{base}.device"), d))
            .map(|(db, dr)| identifiers(ctx, &db, dr))
            .unwrap_or_default(),
        sub_id,
        no_encounter: no_encounter(r),
    })
}

/// Whether resource `r` names no encounter (none, or one only said to be
/// unknown): kept on the model ([`Observation::no_encounter`]) when the
/// event has an Encounter, so the writer does not link it to that one.
fn no_encounter(r: &Value) -> bool {
    r.get("encounter").is_none_or(absent)
}

/// The first R5 cross-version `Observation.value` extension of Observation
/// `r` with a `valueAttachment` (its `contentType`, `data`, `url`; other
/// members are reported), for the value R4 has no type for.
fn value_attachment(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Option<Sourced<ObservationValue>> {
    let (i, x) = items(r, "extension").find(|(_, x)| {
        x.get("url").and_then(Value::as_str) == Some(super::OBS_VALUE_R5)
            && x.get("valueAttachment").is_some()
    })?;
    let path = format!("{base}.extension[{i}]");
    let _ = ctx.str(&path, x, "url");
    let vp = format!("{path}.valueAttachment");
    let v = x.get("valueAttachment")?;
    let a = Attachment {
        content_type: ctx.str(&vp, v, "contentType").map(|s| s.value),
        data: ctx.str(&vp, v, "data").map(|s| s.value),
        url: ctx.str(&vp, v, "url").map(|s| s.value),
    };
    Some(Sourced::new(long_text(a), Source::fhir(vp)))
}

/// The value of attachment `a`: the text the writer writes as an attachment
/// (plain UTF-8 text, Base64 in `data`, no url, over R4's string limit: no
/// `valueString` can hold it), else the attachment. A real attachment of
/// such text reads as text too: nothing tells the two apart.
fn long_text(a: Attachment) -> ObservationValue {
    let text = match (&a.content_type, &a.data, &a.url) {
        (Some(t), Some(d), None) if t == super::LONG_TEXT_TYPE => super::base64_decode(d)
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|t| super::tree::too_long(t)),
        _ => None,
    };
    match text {
        Some(t) => ObservationValue::Text(t),
        None => ObservationValue::Attachment(a),
    }
}

/// The first `observation-v2-subid` extension of Observation `r`: its
/// `original-sub-identifier` and `identifier` strings, its `group` and
/// `sequence` decimals (as written); other sub-extensions are reported.
fn sub_id(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Option<Sourced<ObservationSubId>> {
    let (i, x) = items(r, "extension")
        .find(|(_, x)| x.get("url").and_then(Value::as_str) == Some(super::OBS_SUB_ID))?;
    let path = format!("{base}.extension[{i}]");
    let _ = ctx.str(&path, x, "url");
    let mut id = ObservationSubId::default();
    for (j, part) in items(x, "extension") {
        let pp = format!("{path}.extension[{j}]");
        let name = part.get("url").and_then(Value::as_str).unwrap_or_default();
        let text = match name {
            "original-sub-identifier" | "identifier" => {
                ctx.str(&pp, part, "valueString").map(|s| s.value)
            }
            "group" | "sequence" => match part.get("valueDecimal") {
                Some(v @ Value::Number(n)) => {
                    let vp = format!("{pp}.valueDecimal");
                    let t = ctx.input.number(&vp, n);
                    ctx.take(&vp, v);
                    Some(t)
                }
                _ => None,
            },
            _ => None,
        };
        if text.is_none() {
            continue;
        }
        let _ = ctx.str(&pp, part, "url");
        let slot = match name {
            "original-sub-identifier" => &mut id.original,
            "group" => &mut id.group,
            "sequence" => &mut id.sequence,
            _ => &mut id.identifier,
        };
        *slot = text;
    }
    (id != ObservationSubId::default()).then(|| Sourced::new(id, Source::fhir(path)))
}

/// Whether the target of a performer reference `p` (at `at`) says who
/// performed: a Practitioner with an identifier or a name part
/// ([`someone`]), a PractitionerRole with a code, an Organization, or a
/// Practitioner that does; true for a target not in the Bundle (left to
/// the reader's other checks).
fn says_who(ctx: &Ctx<'_>, at: &str, p: &Value) -> bool {
    let Some((rb, r)) = p
        .get("reference")
        .and_then(Value::as_str)
        .and_then(|t| lookup(ctx, at, t))
    else {
        return true;
    };
    match kind_of(r) {
        Some("Practitioner") => someone(r),
        Some("PractitionerRole") => {
            r.pointer("/code/0/coding/0/code").is_some()
                || r.get("organization").is_some()
                || role_practitioner(ctx, &rb, r).is_some()
        }
        _ => true,
    }
}

/// The Practitioner of PractitionerRole `r` (at `base`) in the Bundle, when
/// it says who it is ([`someone`]).
fn role_practitioner<'v>(ctx: &Ctx<'v>, base: &str, r: &Value) -> Option<&'v Value> {
    let to = r.get("practitioner")?.get("reference")?.as_str()?;
    let (_, pr) = lookup(ctx, &format!("{base}.practitioner"), to)?;
    (kind_of(pr) == Some("Practitioner") && someone(pr)).then_some(pr)
}

/// A ServiceRequest `sr` (at `sb`) the report `r` (read into `report`) is
/// `basedOn`, as the writer derives it from the report (the IG's
/// OBR[ServiceRequest]): its identifiers are the report's (placer and filler
/// numbers; one the report lacks is added to them), its `code` the report's,
/// `status` `unknown` and `intent` `order`; its requester the orderer.
/// Anything else the model has no place for and is left unread, so it is
/// reported unmapped: a `code` other than the report's, another status or
/// intent (the model has no order status), and a requester other than the
/// first order's (the model holds one orderer: `orderer_at` is the first's
/// target). (Until 2026-12-08 identifiers, code, status and intent were
/// consumed unread, and a second order's requester replaced the first's.)
fn order(
    ctx: &mut Ctx<'_>,
    (sb, sr): (&str, &Value),
    r: &Value,
    orderer_at: &mut Option<String>,
    report: &mut ResultReport,
) {
    for id in identifiers(ctx, sb, sr) {
        if !report.identifiers.iter().any(|x| x.value == id.value) {
            report.identifiers.push(id);
        }
    }
    if let Some(c) = sr.get("code").filter(|&c| r.get("code") == Some(c)) {
        ctx.take(&format!("{sb}.code"), c);
    }
    for (k, fixed) in [("status", "unknown"), ("intent", "order")] {
        if let Some(v) = sr.get(k).filter(|v| v.as_str() == Some(fixed)) {
            ctx.take(&format!("{sb}.{k}"), v);
        }
    }
    if let Some(q) = sr.get("requester") {
        let at = format!("{sb}.requester");
        let target = q
            .get("reference")
            .and_then(Value::as_str)
            .and_then(|t| lookup(ctx, &at, t))
            .map(|(b, _)| b);
        // A second order's requester is read only when it is the same one.
        let same = orderer_at.is_none() || (target.is_some() && *orderer_at == target);
        if same {
            if let Some(p) = practitioner_ref(ctx, &at, q) {
                report.ordered_by = Some(p);
                *orderer_at = target;
            }
        }
    }
    for (j, n) in items(sr, "note") {
        if let Some(t) = ctx.str(&format!("{sb}.note[{j}]"), n, "text") {
            report.notes.push(t);
        }
    }
    order_fields(ctx, sb, sr, report);
}

/// The order fields of the ServiceRequest `sr` (at `sb`) a report is based
/// on: `reasonCode` (HL7 v2 OBR-31), `orderDetail` (OBR-46 / 47) and
/// `priority` (OBR-5: `stat`, `asap`, `routine` back to table 0485 S, A,
/// R; `urgent`, which has no v2 code, kept in request-priority; another
/// text is reported invalid and dropped).
fn order_fields(ctx: &mut Ctx<'_>, sb: &str, sr: &Value, report: &mut ResultReport) {
    for (j, c) in items(sr, "reasonCode") {
        report
            .reasons
            .push(concept(ctx, &format!("{sb}.reasonCode[{j}]"), c));
    }
    for (j, c) in items(sr, "orderDetail") {
        let at = format!("{sb}.orderDetail[{j}]");
        report.order_details.push(concept(ctx, &at, c));
    }
    // One priority: a second order's is left unread (reported).
    let priority = match report.priority {
        None => ctx.str(sb, sr, "priority"),
        Some(_) => None,
    };
    if let Some(p) = priority {
        let v2 = super::ORDER_PRIORITY.iter().find(|(_, f)| *f == p.value);
        let code = match (v2, p.value.as_str()) {
            (Some((v2, _)), _) => Code::new(CodeSystem::V2Table("0485".into()), v2, None),
            (None, "urgent") => Code::new(
                CodeSystem::Uri(super::REQUEST_PRIORITY.into()),
                "urgent",
                None,
            ),
            _ => {
                let at = format!("{sb}.priority");
                ctx.invalid(
                    &at,
                    &p.value,
                    "not a request-priority code",
                    Action::Dropped,
                );
                return;
            }
        };
        report.priority = Some(p.map(|_| code));
    }
}

/// Consumes the `event-performerFunction` extension of the performer
/// reference `p` (at `at`) when it gives the function the performer's `role`
/// implies (technician `TN` `SPRF`, transcriptionist `TR` `TRANS`, v3
/// ParticipationType), as the writer gives it; any other extension is left
/// unread (reported unmapped).
fn performer_function(ctx: &mut Ctx<'_>, at: &str, p: &Value, role: Option<&str>) {
    let Some(function) = super::performer_function(role) else {
        return;
    };
    for (i, x) in items(p, "extension") {
        let coding = x.pointer("/valueCodeableConcept/coding/0");
        let is =
            |k: &str, v: &str| coding.and_then(|c| c.get(k)).and_then(Value::as_str) == Some(v);
        let single = x
            .pointer("/valueCodeableConcept/coding")
            .and_then(Value::as_array)
            .is_some_and(|c| c.len() == 1);
        if x.get("url").and_then(Value::as_str) == Some(super::PERFORMER_FUNCTION)
            && single
            && is("system", super::V3_PARTICIPATION_TYPE)
            && is("code", function)
        {
            let xp = format!("{at}.extension[{i}]");
            let _ = ctx.str(&xp, x, "url");
            if let Some(c) = coding {
                let cp = format!("{xp}.valueCodeableConcept.coding[0]");
                // A display (the writer gives none) has no place: reported.
                ctx.take_keys(&cp, c, &["system", "code"]);
            }
        }
    }
}

/// An Observation.performer target: a PractitionerRole (its code, the
/// Practitioner, the Organization), an Organization or a Practitioner. A
/// role's Practitioner with neither identifier nor name ([`someone`]) is
/// not read: its reference is reported.
fn performer(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Option<Performer> {
    match r.get("resourceType").and_then(Value::as_str)? {
        "PractitionerRole" => {
            let role = r
                .pointer("/code/0/coding/0/code")
                .and_then(Value::as_str)
                .map(str::to_owned);
            // The role is the first code's first coding: the rest is reported.
            if let Some(c) = r.pointer("/code/0/coding/0") {
                let at = format!("{base}.code[0].coding[0]");
                ctx.take_keys(&at, c, &["system", "code", "display"]);
            }
            let practitioner = r
                .get("practitioner")
                .filter(|_| role_practitioner(ctx, base, r).is_some())
                .and_then(|p| {
                    resolve_as(ctx, &format!("{base}.practitioner"), p, &["Practitioner"])
                })
                .map(|(pb, pr)| practitioner(ctx, &pb, pr));
            let organisation = r
                .get("organization")
                .and_then(|o| {
                    resolve_as(ctx, &format!("{base}.organization"), o, &["Organization"])
                })
                .map(|(ob, or)| organisation(ctx, &ob, or));
            // When the practitioner held the role (HL7 v2 NDL.2 / 3).
            let period = period(ctx, base, r)
                .map(|p| Sourced::new(p, Source::fhir(format!("{base}.period"))));
            Some(Performer {
                role,
                practitioner,
                organisation,
                period,
            })
        }
        "Organization" => Some(Performer {
            organisation: Some(organisation(ctx, base, r)),
            ..Performer::default()
        }),
        "Practitioner" if someone(r) => Some(Performer {
            practitioner: Some(practitioner(ctx, base, r)),
            ..Performer::default()
        }),
        _ => None,
    }
}

/// Why a string read without its control characters is reported.
const CONTROLS: &str =
    "control characters (FHIR strings forbid them below U+0020 but tab, CR, LF): removed";

/// A control character FHIR strings may not hold: below U+0020 other than
/// tab, LF and CR (R4 `string`).
fn is_control(c: char) -> bool {
    c < ' ' && !matches!(c, '\t' | '\n' | '\r')
}

/// `doc` with every string holding a control character ([`is_control`])
/// copied without them, and each such string's element path (named as the
/// readers name it: from the resource type) and text; `None`, and nothing
/// copied, when no string holds one.
fn without_controls(doc: &Value) -> Option<(Value, Vec<(String, String)>)> {
    fn holds(v: &Value) -> bool {
        match v {
            Value::String(s) => s.chars().any(is_control),
            Value::Array(a) => a.iter().any(holds),
            Value::Object(m) => m.values().any(holds),
            _ => false,
        }
    }
    fn strip(v: &Value, path: &mut String, found: &mut Vec<(String, String)>) -> Value {
        let at = path.len();
        let out = match v {
            Value::String(s) if s.chars().any(is_control) => {
                found.push((path.clone(), s.clone()));
                Value::String(s.chars().filter(|&c| !is_control(c)).collect())
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| {
                        path.truncate(at);
                        path.push_str(&format!("[{i}]"));
                        strip(x, path, found)
                    })
                    .collect(),
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        path.truncate(at);
                        path.push('.');
                        path.push_str(k);
                        (k.clone(), strip(x, path, found))
                    })
                    .collect(),
            ),
            other => other.clone(),
        };
        path.truncate(at);
        out
    }
    if !holds(doc) {
        return None;
    }
    let mut path = doc
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut found = Vec::new();
    let cleaned = strip(doc, &mut path, &mut found);
    Some((cleaned, found))
}

/// Reads a FHIR Bundle (or one Patient / Encounter / … resource) into an
/// [`Event`] and its [`MappingReport`].
///
/// Sources are FHIR element paths (`Bundle.entry[0].resource.name[0]`);
/// every JSON leaf not read is listed as unmapped, so `mapped + unmapped`
/// is the number of leaves. The patient's identity follows the same rules
/// as HL7 v2 input (verified NHS number, NHS number, MRN with authority,
/// else quarantined).
///
/// `doc` is a `&`[`JsonDocument`](super::JsonDocument), which keeps numbers
/// as sent, or a `&serde_json::Value`, whose numbers are `f64` (`4.50` reads
/// as `4.5`).
///
/// ```
/// use carecodec_map::fhir::{read_bundle, JsonDocument};
///
/// let doc = JsonDocument::from_slice(br#"{"resourceType": "Patient",
///   "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
///   "name": [{"family": "Smith", "given": ["Ann"]}], "multipleBirthInteger": 2}"#)?;
/// let (event, report) = read_bundle(&doc);
/// let patient = event.patient.unwrap();
/// assert_eq!(patient.names[0].value.family.as_deref(), Some("Smith"));
/// assert!(report.balanced() && report.unmapped.is_empty());
/// assert_eq!(report.identity[0].key.as_ref().unwrap().value(), "9434765919");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn read_bundle<'d>(doc: impl Into<JsonInput<'d>>) -> (Event, MappingReport) {
    let input = doc.into();
    // Strings holding control characters (which FHIR forbids, and the
    // Bundles written from the model must not carry) are read without them.
    let cleaned = without_controls(input.value());
    let input = match &cleaned {
        Some((v, _)) => input.with_value(v),
        None => input,
    };
    let doc = input.value();
    let mut ctx = Ctx::new(input);
    for (path, raw) in cleaned.iter().flat_map(|(_, found)| found) {
        ctx.invalid(path, raw, CONTROLS, Action::KeptAsText);
    }
    let rt = resource_type(&mut ctx, doc);
    let mut resources: Vec<(String, &Value)> = Vec::new();
    let mut processing = None;
    if rt == "Bundle" {
        for k in ["resourceType", "type", "timestamp", "id"] {
            if let Some(v) = doc.get(k) {
                ctx.take(&format!("Bundle.{k}"), v);
            }
        }
        processing = processing_tag(&mut ctx, "Bundle", doc);
        resources.extend(
            bundle_entries(&mut ctx, doc)
                .into_iter()
                .map(|(b, _, r)| (b, r)),
        );
    } else if rt != UNTYPED {
        resources.push((rt.to_owned(), doc));
    }
    let chosen = choose_patient(&mut ctx, &resources);
    let read_encounter = resources
        .iter()
        .find(|(b, r)| kind_of(r) == Some("Encounter") && !ctx.skip.contains(b))
        .map(|(base, r)| Subject {
            base: base.clone(),
            url: ctx.url_at.get(base).copied(),
            id: r.get("id").and_then(Value::as_str),
        });
    if let Some(e) = &read_encounter {
        other_encounters(&mut ctx, &resources, e);
    }
    let encounter_base = read_encounter.as_ref().map(|e| e.base.clone());
    let mut event = Event {
        kind: AdtKind::Other,
        message_type: "FHIR".into(),
        message_id: None,
        sent: None,
        occurred: None,
        recorded: None,
        reason: None,
        operator: None,
        sender: None,
        source_application: None,
        destination_application: None,
        destination_facility: None,
        processing,
        patient: None,
        merged_from: Vec::new(),
        encounter: None,
        allergies: Vec::new(),
        conditions: Vec::new(),
        reports: Vec::new(),
        observations: Vec::new(),
        group: None,
    };
    if rt == "Bundle" {
        event.sent = date_time_at(&mut ctx, "Bundle", doc, "timestamp");
        // A message Bundle's identifier is the message control id.
        event.message_id = match doc.get("identifier") {
            Some(id) => ctx.str("Bundle.identifier", id, "value").map(|s| s.value),
            None => doc.get("id").and_then(Value::as_str).map(str::to_owned),
        };
    }
    // Where the Encounter and each Condition were read (for Encounter.diagnosis).
    let mut encounter_at = None;
    let mut condition_at = Vec::new();
    // Every Observation, and those a DiagnosticReport lists (read with it).
    let mut observation_at = Vec::new();
    let mut in_report = HashSet::new();
    for (base, r) in &resources {
        // Resources of the types read from their own entries: anything else
        // (and a resource not read, see `choose_patient`) is left whole, so
        // every leaf of it is reported.
        let kind = kind_of(r);
        let reads = match kind {
            Some("Patient") => event.patient.is_none() || has_link(r, "replaced-by"),
            Some("Encounter") => encounter_base.as_ref() == Some(base),
            Some("AllergyIntolerance" | "Condition") => r.get("code").is_some(),
            Some("DiagnosticReport" | "Observation" | "MessageHeader" | "Provenance") => true,
            _ => false,
        };
        if !reads || ctx.skip.contains(base) {
            continue;
        }
        take_resource_head(&mut ctx, base, r);
        match kind {
            // The non-surviving Patient of a merge (what the writer makes
            // of A34 / A40): its identifiers are the event's `merged_from`.
            Some("Patient") if has_link(r, "replaced-by") => {
                let merged = merged_from(&mut ctx, base, r);
                event.merged_from.extend(merged);
            }
            Some("Patient") if event.patient.is_none() => {
                event.patient = Some(patient(&mut ctx, base, r));
                take_links(&mut ctx, base, r, "replaces");
            }
            Some("Encounter") if event.encounter.is_none() => {
                event.encounter = Some(encounter(&mut ctx, base, r));
                encounter_at = Some((base.as_str(), *r));
            }
            Some("AllergyIntolerance") => {
                let Some(code) = r.get("code") else { continue };
                let code = required_concept(&mut ctx, &format!("{base}.code"), code);
                let reactions = items(r, "reaction")
                    .flat_map(|(i, rx)| {
                        items(rx, "manifestation")
                            .map(move |(j, m)| {
                                (format!("{base}.reaction[{i}].manifestation[{j}]"), m)
                            })
                            .collect::<Vec<_>>()
                    })
                    .filter_map(|(p, m)| {
                        // The model keeps a reaction as text: a manifestation's
                        // codings are reported.
                        ctx.str(&p, m, "text")
                    })
                    .collect();
                // The whole dateTime is checked; the model's `identified` is a
                // date (as AL1-6, a DT, gives it), so a time is not kept: the
                // date is, and the report says the time was not.
                let identified = date_of_date_time(&mut ctx, base, r, "onsetDateTime");
                // `active` (what the writer gives an allergy with no status)
                // reads as none.
                let clinical_status =
                    status(&mut ctx, base, r, "clinicalStatus", super::ALLERGY_CLINICAL);
                let verification = status(
                    &mut ctx,
                    base,
                    r,
                    "verificationStatus",
                    super::ALLERGY_VERIFICATION,
                );
                let clinical_status =
                    beside_in_error(&mut ctx, clinical_status, verification.as_ref())
                        .filter(|c| c.value != "active");
                let category = allergy_category(&mut ctx, base, r);
                let severity = ctx.str(base, r, "criticality").map(|c| {
                    let code = match c.value.as_str() {
                        "high" => "SV",
                        "low" => "MI",
                        _ => "U",
                    };
                    c.map(|_| Code::new(CodeSystem::V2Table("0128".into()), code, None))
                });
                event.allergies.push(Allergy {
                    code,
                    category,
                    severity,
                    reactions,
                    identified,
                    clinical_status,
                    verification,
                });
            }
            Some("Condition") => {
                let Some(code) = r.get("code") else { continue };
                let code = required_concept(&mut ctx, &format!("{base}.code"), code);
                let recorded = date_time_at(&mut ctx, base, r, "recordedDate");
                condition_category(&mut ctx, base, r);
                let identifiers = identifiers(&mut ctx, base, r);
                let clinical_status = status(
                    &mut ctx,
                    base,
                    r,
                    "clinicalStatus",
                    super::CONDITION_CLINICAL,
                );
                let verification = status(
                    &mut ctx,
                    base,
                    r,
                    "verificationStatus",
                    super::CONDITION_VER_STATUS,
                );
                let clinical_status =
                    beside_in_error(&mut ctx, clinical_status, verification.as_ref());
                let asserter = r
                    .get("asserter")
                    .and_then(|a| practitioner_ref(&mut ctx, &format!("{base}.asserter"), a));
                let mut asserted = None;
                for (i, x) in items(r, "extension") {
                    if x.get("url").and_then(Value::as_str) == Some(super::ASSERTED_DATE) {
                        let path = format!("{base}.extension[{i}]");
                        let _ = ctx.str(&path, x, "url");
                        asserted = date_time_at(&mut ctx, &path, x, "valueDateTime");
                    }
                }
                condition_at.push(base.as_str());
                event.conditions.push(Condition {
                    code,
                    diagnosis_type: None,
                    priority: None,
                    clinical_status,
                    verification,
                    recorded,
                    identifiers,
                    asserter,
                    asserted,
                    no_encounter: no_encounter(r),
                });
            }
            Some("DiagnosticReport") => {
                // A code that only says it is unknown (data-absent-reason, as
                // the writer gives a report sent with no OBR-4) is no code.
                let code = match r.get("code") {
                    Some(c) => required_concept(&mut ctx, &format!("{base}.code"), c),
                    None => Sourced::from_many(Concept::default(), Sources::new()),
                };
                let mut report = ResultReport {
                    identifiers: Vec::new(),
                    code,
                    status: result_status(&mut ctx, base, r, true),
                    effective: date_time_at(&mut ctx, base, r, "effectiveDateTime"),
                    issued: date_time_at(&mut ctx, base, r, "issued"),
                    ordered_by: None,
                    observations: Vec::new(),
                    notes: Vec::new(),
                    category: None,
                    effective_end: None,
                    interpreters: Vec::new(),
                    performers: Vec::new(),
                    reasons: Vec::new(),
                    priority: None,
                    order_details: Vec::new(),
                };
                if let Some(p) = r.get("effectivePeriod") {
                    report_period(&mut ctx, base, p, &mut report);
                }
                report.identifiers.extend(identifiers(&mut ctx, base, r));
                // The first category's first code (HL7 v2 OBR-24, one
                // section); any other is reported unmapped.
                if let Some((i, c)) = items(r, "category").next() {
                    report.category = first_code(&mut ctx, &format!("{base}.category[{i}]"), c);
                }
                // The orders (ServiceRequests) the report is based on: read
                // by `order`; their observations' `basedOn` them is read too.
                let mut orders = Vec::new();
                let mut orderer_at = None;
                for (i, b) in items(r, "basedOn") {
                    let Some((sb, sr)) = resolve(&mut ctx, &format!("{base}.basedOn[{i}]"), b)
                    else {
                        continue;
                    };
                    context_refs(&mut ctx, &sb, sr, chosen.as_ref(), read_encounter.as_ref());
                    order(&mut ctx, (&sb, sr), r, &mut orderer_at, &mut report);
                    orders.push(sb);
                }
                // The interpreters (HL7 v2 OBR-32): PractitionerRoles as the
                // writer gives them, Practitioners or Organizations; a CareTeam
                // has no place in the model (reported).
                // The performers (HL7 v2 OBR-34 / 35) likewise, each
                // reference's function (`event-performerFunction`) read when
                // it is the one its role implies.
                for (i, p) in items(r, "performer") {
                    let at = format!("{base}.performer[{i}]");
                    let kinds = ["PractitionerRole", "Organization", "Practitioner"];
                    // One that says nothing of who it is: reported, as an
                    // Observation's.
                    if !says_who(&ctx, &at, p) {
                        continue;
                    }
                    if let Some((pb, pr)) = resolve_as(&mut ctx, &at, p, &kinds) {
                        if let Some(who) = performer(&mut ctx, &pb, pr) {
                            performer_function(&mut ctx, &at, p, who.role.as_deref());
                            report.performers.push(who);
                        }
                    }
                }
                for (i, p) in items(r, "resultsInterpreter") {
                    let at = format!("{base}.resultsInterpreter[{i}]");
                    let kinds = ["PractitionerRole", "Organization", "Practitioner"];
                    if !says_who(&ctx, &at, p) {
                        continue;
                    }
                    if let Some((pb, pr)) = resolve_as(&mut ctx, &at, p, &kinds) {
                        report.interpreters.extend(performer(&mut ctx, &pb, pr));
                    }
                }
                for (i, res) in items(r, "result") {
                    let at = format!("{base}.result[{i}]");
                    let observed = res
                        .get("reference")
                        .and_then(Value::as_str)
                        .and_then(|t| lookup(&ctx, &at, t))
                        .is_some_and(|(_, t)| kind_of(t) == Some("Observation"));
                    if !observed {
                        // Not an Observation of the Bundle: reported.
                        continue;
                    }
                    if let Some((ob, or)) = resolve(&mut ctx, &at, res) {
                        // An Observation listed twice (here or by another
                        // report) is read once.
                        if in_report.contains(&ob) {
                            continue;
                        }
                        if let Some(o) = observation(&mut ctx, &ob, or, &orders) {
                            report.observations.push(o);
                        }
                        in_report.insert(ob);
                    }
                }
                event.reports.push(report);
            }
            Some("Observation") => observation_at.push((base.as_str(), *r)),
            Some("MessageHeader") => message_header(&mut ctx, base, r, &mut event),
            Some("Provenance") => provenance(&mut ctx, base, r, &mut event),
            _ => {}
        }
        context_refs(&mut ctx, base, r, chosen.as_ref(), read_encounter.as_ref());
    }
    if let Some((base, r)) = encounter_at {
        diagnoses(&mut ctx, base, r, &condition_at, &mut event.conditions);
    }
    if rt == "Bundle" {
        lost_location_keys(&mut ctx.report, doc, &event);
    }
    // Observations no report lists stand alone.
    for (base, r) in observation_at {
        if !in_report.contains(base) {
            if let Some(o) = observation(&mut ctx, base, r, &[]) {
                event.observations.push(o);
            }
        }
    }
    if event.encounter.is_none() {
        // No Encounter to be linked to: nothing to say (`no_encounter` is
        // the default of a resource with none, as a v2 result without PV1).
        let conditions = event.conditions.iter_mut().map(|c| &mut c.no_encounter);
        let results = event.reports.iter_mut().flat_map(|r| &mut r.observations);
        let observations = event.observations.iter_mut().chain(results);
        for flag in conditions.chain(observations.map(|o| &mut o.no_encounter)) {
            *flag = false;
        }
    }
    if rt == "Bundle" {
        lost_scoped_keys(&mut ctx.report, doc, &event);
    }
    if let Some(p) = &event.patient {
        let d = crate::v2::identity(&p.identifiers);
        ctx.report.identity.push(d);
    } else if let Some(reason) = no_patient(&event).filter(|_| !ctx.report.quarantined()) {
        // (A document quarantined already, e.g. a Patient with a modifier
        // extension, needs no second decision.)
        ctx.report.identity.push(IdentityDecision {
            reason,
            ..IdentityDecision::default()
        });
    }
    // Replaced Patients naming two people: the merge is not applied.
    if let Some(d) = crate::v2::merge_conflict(&event.merged_from) {
        ctx.report.identity.push(d);
    }
    // An HL7 v2 delete or cancel event is never an update (probe 13 P7).
    crate::v2::fhir_delete_or_cancel(&mut ctx.report, &event);
    account(&mut ctx, rt, doc);
    (event, ctx.report)
}

/// A DiagnosticReport's `effectivePeriod` (`p`, of the report at `base`):
/// its start the report's `effective` (HL7 v2 OBR-7), its end
/// `effective_end` (OBR-8). R4 per-1, as the v2 mapper: an end before the
/// start is reported and dropped.
fn report_period(ctx: &mut Ctx<'_>, base: &str, p: &Value, report: &mut ResultReport) {
    let pb = format!("{base}.effectivePeriod");
    report.effective = date_time_at(ctx, &pb, p, "start");
    report.effective_end = date_time_at(ctx, &pb, p, "end");
    if let (Some(s), Some(e)) = (&report.effective, &report.effective_end) {
        if super::ends_before(&e.value, &s.value) {
            end_before_start(ctx, &pb, p, "observation end before its start");
            report.effective_end = None;
        }
    }
}

/// Why an event read with no Patient is quarantined (its decision has no key
/// and nothing in `seen`): an ADT event by its MessageHeader, as an HL7 v2
/// ADT message without PID; or an event with nothing else to write (no
/// Encounter, allergy, condition or result: a Provenance or MessageHeader
/// alone, or only resources the reader does not read), whose transaction
/// Bundle would be empty. Results about no patient are read as sent.
fn no_patient(event: &Event) -> Option<String> {
    crate::v2::no_patient(event).or_else(|| {
        let nothing = event.encounter.is_none()
            && event.allergies.is_empty()
            && event.conditions.is_empty()
            && event.reports.is_empty()
            && event.observations.is_empty();
        nothing.then(|| {
            "quarantined: no Patient and nothing else to write (no Encounter, allergy, \
             condition or result): an event about no patient"
                .to_owned()
        })
    })
}

/// Consumes the codings of the CodeableConcept `cc` at `path` that are
/// `code` in `system` (with their display), and nothing else: its text and
/// other codings are reported.
fn coded_as(ctx: &mut Ctx<'_>, path: &str, cc: &Value, system: &str, code: &str) {
    for (i, c) in items(cc, "coding") {
        let (s, k) = (c.get("system"), c.get("code"));
        if s.and_then(Value::as_str) == Some(system) && k.and_then(Value::as_str) == Some(code) {
            ctx.take_keys(
                &format!("{path}.coding[{i}]"),
                c,
                &["system", "code", "display"],
            );
        }
    }
}

/// A Condition's `category`: the writer's `encounter-diagnosis` is consumed
/// (every Condition the model holds is one); another category
/// (`problem-list-item`…) has no place in the model and is reported.
fn condition_category(ctx: &mut Ctx<'_>, base: &str, r: &Value) {
    const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
    for (i, cc) in items(r, "category") {
        let path = format!("{base}.category[{i}]");
        coded_as(ctx, &path, cc, CATEGORY, "encounter-diagnosis");
    }
}

/// An AllergyIntolerance's first `category` as its table 0127 code
/// (`medication` DA, `food` FA, `environment` EA); `biologic`, which table
/// 0127 has no code for, is not read (reported unmapped). Its `type`:
/// `allergy` is what a table 0127 category says (every one is an allergy
/// code), consumed with it; an `intolerance`, which the model cannot hold,
/// is reported unmapped and, when a category was read, in `invalid`
/// (`Interpreted`: the category's code says allergy).
fn allergy_category(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Option<Sourced<Code>> {
    let path = format!("{base}.category[0]");
    let code = match r.pointer("/category/0").and_then(Value::as_str)? {
        "medication" => "DA",
        "food" => "FA",
        "environment" => "EA",
        _ => return None,
    };
    ctx.used.insert(path.clone());
    let kind = format!("{base}.type");
    match r.get("type").and_then(Value::as_str) {
        Some("allergy") => {
            ctx.used.insert(kind);
        }
        Some(t) => {
            let reason = format!(
                "AllergyIntolerance.type {t} not kept: the category is read as table 0127 {code}, an allergy code"
            );
            ctx.invalid(&kind, t, &reason, Action::Interpreted);
        }
        None => {}
    }
    Some(Sourced::new(
        Code::new(CodeSystem::V2Table("0127".into()), code, None),
        Source::fhir(path),
    ))
}

/// A clinical or verification status (`key` of `r` at `base`): the code of
/// its coding in `system`, consumed with that coding's system and display;
/// anything else in it (text, codings in other systems) is reported.
fn status(
    ctx: &mut Ctx<'_>,
    base: &str,
    r: &Value,
    key: &str,
    system: &str,
) -> Option<Sourced<String>> {
    let cc = r.get(key)?;
    let (i, c) = items(cc, "coding")
        .find(|(_, c)| c.get("system").and_then(Value::as_str) == Some(system))?;
    let at = format!("{base}.{key}.coding[{i}]");
    let code = c.get("code")?.as_str()?.to_owned();
    ctx.take_keys(&at, c, &["system", "code", "display"]);
    Some(Sourced::new(code, Source::fhir(format!("{at}.code"))))
}

/// R4 ait-2 / con-5: no clinical status beside verification
/// `entered-in-error`. One sent there breaks the invariant: it is reported
/// (`invalid`, dropped) and not kept (the writers leave it out too).
fn beside_in_error(
    ctx: &mut Ctx<'_>,
    clinical: Option<Sourced<String>>,
    verification: Option<&Sourced<String>>,
) -> Option<Sourced<String>> {
    let in_error = verification.is_some_and(|v| v.value == "entered-in-error");
    match clinical {
        Some(c) if in_error => {
            for source in c.sources.as_slice().iter().take(1) {
                ctx.report.invalid.push(Invalid {
                    source: source.clone(),
                    raw: c.value.clone(),
                    reason: "a clinical status beside verification status entered-in-error \
                        (R4 ait-2, con-5)"
                        .to_owned(),
                    action: Action::Dropped,
                });
            }
            None
        }
        c => c,
    }
}

/// Encounter.diagnosis: each entry's `use` and `rank` go back on the
/// Condition it refers to (`conditions`, read at the paths `condition_at`),
/// as its diagnosis type (DG1-6) and priority (DG1-15). A Condition listed
/// again (one diagnosis sent as admitting and as final: the writer makes
/// it one Condition) is read once more for each later entry, with that
/// entry's type and priority, after the first. An entry for a Condition not
/// in the Bundle is left unread, so it is reported.
fn diagnoses(
    ctx: &mut Ctx<'_>,
    base: &str,
    r: &Value,
    condition_at: &[&str],
    conditions: &mut Vec<Condition>,
) {
    // The Conditions given an entry so far, and the copies of those listed
    // again (by the index of the Condition copied).
    let mut listed = HashSet::new();
    let mut again: Vec<(usize, Condition)> = Vec::new();
    for (i, d) in items(r, "diagnosis") {
        let path = format!("{base}.diagnosis[{i}]");
        let Some(target) = d
            .get("condition")
            .and_then(|c| c.get("reference"))
            .and_then(Value::as_str)
            .and_then(|u| lookup(ctx, &path, u))
            .map(|(p, _)| p)
        else {
            continue;
        };
        let Some((k, first)) = condition_at
            .iter()
            .position(|p| *p == target)
            .and_then(|k| Some((k, conditions.get_mut(k)?)))
        else {
            continue;
        };
        let c = if listed.insert(k) {
            first
        } else {
            let mut copy = first.clone();
            copy.diagnosis_type = None;
            copy.priority = None;
            again.push((k, copy));
            match again.last_mut() {
                Some((_, c)) => c,
                None => continue,
            }
        };
        if let Some(x) = d.get("condition") {
            ctx.take(&format!("{path}.condition"), x);
        }
        // The Encounter lists it as its diagnosis: it is the encounter's.
        c.no_encounter = false;
        if let Some(u) = d.get("use") {
            c.diagnosis_type = diagnosis_use(ctx, &format!("{path}.use"), u);
        }
        if let Some(rank) = d.get("rank") {
            let p = format!("{path}.rank");
            ctx.take(&p, rank);
            match rank.as_u64().and_then(positive_int) {
                Some(n) => c.priority = Some(Sourced::new(n, Source::fhir(p))),
                None => {
                    let raw = ctx.input.text(&p, rank);
                    ctx.invalid(&p, &raw, POSITIVE_INT, Action::Dropped);
                }
            }
        }
    }
    if again.is_empty() {
        return;
    }
    // Each copy after the Condition it copies (and its earlier copies).
    again.sort_by_key(|(k, _)| *k);
    let mut copies = again.into_iter().peekable();
    let read = std::mem::take(conditions);
    for (k, c) in read.into_iter().enumerate() {
        conditions.push(c);
        while let Some((_, copy)) = copies.next_if(|(at, _)| *at == k) {
            conditions.push(copy);
        }
    }
}

/// A diagnosis `use` as a table 0052 diagnosis type: the v2-0052 coding the
/// writer keeps, else diagnosis-role `AD` as `A` (the IG's DiagnosisType map
/// read backwards), else the first coding as it is.
fn diagnosis_use(ctx: &mut Ctx<'_>, path: &str, u: &Value) -> Option<Sourced<Code>> {
    let codings: Vec<(String, &Value)> = items(u, "coding")
        .map(|(j, c)| (format!("{path}.coding[{j}]"), c))
        .collect();
    fn system(c: &Value) -> &str {
        c.get("system").and_then(Value::as_str).unwrap_or_default()
    }
    let v2 = codings
        .iter()
        .find(|(_, c)| system(c) == "http://terminology.hl7.org/CodeSystem/v2-0052");
    let role = codings.iter().find(|(_, c)| {
        system(c) == super::DIAGNOSIS_ROLE && c.get("code").and_then(Value::as_str) == Some("AD")
    });
    let (at, code) = match (v2, role) {
        (Some((p, c)), _) => (p, coding(ctx, p, c)?),
        (None, Some((p, _))) => (p, Code::new(CodeSystem::V2Table("0052".into()), "A", None)),
        (None, None) => {
            let (p, c) = codings.first()?;
            (p, coding(ctx, p, c)?)
        }
    };
    // The translation beside the v2 coding is the same fact.
    if let Some((p, c)) = role {
        ctx.take(p, c);
    }
    Some(Sourced::new(code, Source::fhir(format!("{at}.code"))))
}

/// Accounting over every JSON leaf of `doc` (a `root` resource).
fn account(ctx: &mut Ctx<'_>, root: &str, doc: &Value) {
    let (mut total, mut mapped) = (0usize, 0usize);
    let mut unmapped = Vec::new();
    leaves(root, doc, &mut |p, v| {
        total += 1;
        if ctx.used.contains(&p) {
            mapped += 1;
        } else {
            let raw = ctx.input.text(&p, v);
            unmapped.push(Unmapped {
                source: Source::fhir(p),
                raw,
            });
        }
    });
    ctx.report.source_leaves = total;
    ctx.report.mapped = mapped;
    ctx.report.unmapped = unmapped;
}

/// A MessageHeader's source / destination application: its name and endpoint
/// (`urn:oid:` back to an ISO universal id, another URI as type `URI`).
fn application(ctx: &mut Ctx<'_>, path: &str, v: &Value) -> Option<Sourced<Application>> {
    let name = ctx.str(path, v, "name");
    let endpoint = ctx.str(path, v, "endpoint");
    if let Some(absent) = v.get("_endpoint") {
        ctx.take(&format!("{path}._endpoint"), absent);
    }
    let mut sources = Sources::new();
    for s in name.iter().chain(endpoint.iter()) {
        sources.extend(s.sources.iter().cloned());
    }
    if sources.is_empty() {
        return None;
    }
    let (universal_id, universal_id_type) = match endpoint.map(|e| e.value) {
        Some(e) => match e.strip_prefix("urn:oid:") {
            Some(oid) => (Some(oid.to_owned()), Some("ISO".to_owned())),
            None => (Some(e), Some("URI".to_owned())),
        },
        None => (None, None),
    };
    let app = Application {
        name: name.map(|n| n.value),
        universal_id,
        universal_id_type,
    };
    Some(Sourced::from_many(app, sources))
}

/// An organisation reference as the ODS code or display it carries.
fn organisation_ref(ctx: &mut Ctx<'_>, path: &str, v: &Value) -> Option<Sourced<String>> {
    match v.get("identifier") {
        Some(id) => ctx
            .str(&format!("{path}.identifier"), id, "value")
            .inspect(|_| {
                if let Some(sys) = id.get("system") {
                    ctx.take(&format!("{path}.identifier.system"), sys);
                }
            }),
        None => ctx.str(path, v, "display"),
    }
}

/// Provenance (the writer's EVN[Provenance]) → when the event was recorded
/// and happened, why, and who recorded it (a Practitioner agent: the
/// operator; an organisation agent: the sender, when the event has no other
/// or the same one).
fn provenance(ctx: &mut Ctx<'_>, base: &str, r: &Value, event: &mut Event) {
    if let Some(t) = r.get("target") {
        ctx.take(&format!("{base}.target"), t);
    }
    event.recorded = date_time_at(ctx, base, r, "recorded");
    event.occurred = date_time_at(ctx, base, r, "occurredDateTime");
    event.reason = items(r, "reason")
        .next()
        .and_then(|(i, c)| first_code(ctx, &format!("{base}.reason[{i}]"), c));
    activity(ctx, base, r, event);
    for (i, a) in items(r, "agent") {
        let Some(who) = a.get("who") else { continue };
        let path = format!("{base}.agent[{i}].who");
        if who.get("reference").is_some() {
            if event.operator.is_none() {
                event.operator = practitioner_ref(ctx, &path, who);
            }
            continue;
        }
        let named = who
            .pointer("/identifier/value")
            .or_else(|| who.get("display"))
            .and_then(Value::as_str);
        let same = match (&event.sender, named) {
            (None, Some(_)) => true,
            (Some(s), Some(n)) => s.value == n,
            _ => false,
        };
        if same {
            let sender = organisation_ref(ctx, &path, who);
            if event.sender.is_none() {
                event.sender = sender;
            }
        }
    }
}

/// Provenance.activity coded in HL7 table 0003 (what the writer puts there,
/// IG MSH-9 → activity) → the event's type, when no MessageHeader gave one:
/// a transaction Bundle keeps its event type there. A coding that agrees with
/// the MessageHeader's is consumed too; one that does not is left unmapped
/// (reported), never taken over the header.
fn activity(ctx: &mut Ctx<'_>, base: &str, r: &Value, event: &mut Event) {
    const V2_0003: &str = "http://terminology.hl7.org/CodeSystem/v2-0003";
    let Some(act) = r.get("activity") else { return };
    let Some((i, c)) = items(act, "coding")
        .find(|(_, c)| c.get("system").and_then(Value::as_str) == Some(V2_0003))
    else {
        return;
    };
    let (Some(code), display) = (
        c.get("code").and_then(Value::as_str),
        c.get("display").and_then(Value::as_str),
    ) else {
        return;
    };
    // The type as sent when the display names it (`ADT^A01`), else the code.
    let message_type = display
        .filter(|d| d.split('^').nth(1) == Some(code))
        .unwrap_or(code);
    let unset = event.kind == AdtKind::Other && event.message_type == "FHIR";
    if !unset && event.message_type != message_type {
        return;
    }
    let path = format!("{base}.activity.coding[{i}]");
    for k in ["system", "code", "display"] {
        if let Some(v) = c.get(k) {
            ctx.take(&format!("{path}.{k}"), v);
        }
    }
    if unset {
        event.kind = crate::v2::kind_of_type(message_type);
        event.message_type = message_type.to_owned();
    }
}

/// MessageHeader → the event's type, routing and sender.
fn message_header(ctx: &mut Ctx<'_>, base: &str, r: &Value, event: &mut Event) {
    if let Some(c) = r.get("eventCoding") {
        let path = format!("{base}.eventCoding");
        let display = ctx.str(&path, c, "display");
        let code = ctx.str(&path, c, "code");
        if let Some(sys) = c.get("system") {
            ctx.take(&format!("{path}.system"), sys);
        }
        if let Some(t) = display.or(code) {
            event.kind = crate::v2::kind_of_type(&t.value);
            event.message_type = t.value;
        }
    }
    if let Some(src) = r.get("source") {
        event.source_application = application(ctx, &format!("{base}.source"), src);
    }
    if let Some((i, d)) = items(r, "destination").next() {
        let path = format!("{base}.destination[{i}]");
        event.destination_application = application(ctx, &path, d);
        if let Some(rc) = d.get("receiver") {
            event.destination_facility = organisation_ref(ctx, &format!("{path}.receiver"), rc);
        }
    }
    if let Some(s) = r.get("sender") {
        event.sender = organisation_ref(ctx, &format!("{base}.sender"), s);
    }
    if let Some(p) = processing_tag(ctx, base, r) {
        event.processing = Some(p);
    }
    // The focus references resources read from their own entries.
    if let Some(f) = r.get("focus") {
        ctx.take(&format!("{base}.focus"), f);
    }
}

/// The HL7 v2 processing id: a `meta.tag` of `r` in v2-0103 (IG: MSH-11 →
/// MessageHeader.meta.tag; a transaction Bundle carries it in its own meta).
fn processing_tag(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Option<Sourced<Code>> {
    const V2_0103: &str = "http://terminology.hl7.org/CodeSystem/v2-0103";
    let meta = r.get("meta")?;
    let (i, tag) = items(meta, "tag")
        .find(|(_, t)| t.get("system").and_then(Value::as_str) == Some(V2_0103))?;
    let path = format!("{base}.meta.tag[{i}]");
    let code = ctx.str(&path, tag, "code")?;
    if let Some(s) = tag.get("system") {
        ctx.take(&format!("{path}.system"), s);
    }
    let display = ctx.str(&path, tag, "display").map(|d| d.value);
    Some(code.map(|code| Code {
        system: CodeSystem::V2Table("0103".into()),
        code,
        display,
    }))
}

/// Every identifier of resource `r` at `base`.
fn identifiers(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Vec<Sourced<Identifier>> {
    items(r, "identifier")
        .filter_map(|(i, id)| identifier(ctx, &format!("{base}.identifier[{i}]"), id))
        .collect()
}

/// Whether a Patient has a `link` of type `kind` (`replaced-by`, `replaces`).
fn has_link(r: &Value, kind: &str) -> bool {
    items(r, "link").any(|(_, l)| l.get("type").and_then(Value::as_str) == Some(kind))
}

/// Consumes the `link`s of type `kind` whose `other` is a Patient in the
/// Bundle (the merge the writer makes: the fact is the replaced Patient's
/// identifiers); a link to anything else is left reported.
fn take_links(ctx: &mut Ctx<'_>, base: &str, r: &Value, kind: &str) {
    for (i, l) in items(r, "link") {
        let target = l.pointer("/other/reference").and_then(Value::as_str);
        let is_patient = target
            .and_then(|t| ctx.by_url.get(t))
            .and_then(|(_, t)| t.get("resourceType"))
            .and_then(Value::as_str)
            == Some("Patient");
        if is_patient && l.get("type").and_then(Value::as_str) == Some(kind) {
            ctx.take(&format!("{base}.link[{i}]"), l);
        }
    }
}

/// A merged (non-surviving) Patient: its identifiers become the event's
/// `merged_from`; `active: false` and the `replaced-by` link to a Patient of
/// the Bundle are consumed; anything else it carries is reported.
fn merged_from(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Vec<Sourced<Identifier>> {
    if r.get("active").and_then(Value::as_bool) == Some(false) {
        ctx.used.insert(format!("{base}.active"));
    }
    take_links(ctx, base, r, "replaced-by");
    identifiers(ctx, base, r)
}

/// A resource's `resourceType`, `id` and the structural parts of its `meta`
/// (profiles, version, last update, source): consumed. Security labels and
/// tags say something about the data and are reported (the v2-0103
/// processing tag is read where the writer puts it).
fn take_resource_head(ctx: &mut Ctx<'_>, base: &str, r: &Value) {
    ctx.take_keys(base, r, &["resourceType", "id"]);
    if let Some(m) = r.get("meta") {
        let mb = format!("{base}.meta");
        ctx.take_keys(&mb, m, &["profile", "versionId", "source"]);
        if let Some(t) = m.get("lastUpdated") {
            check_instant(ctx, &format!("{mb}.lastUpdated"), t);
        }
    }
}

/// The root of the paths of a document with no string `resourceType`.
const UNTYPED: &str = "Resource";

/// The `resourceType` of a resource.
fn kind_of(r: &Value) -> Option<&str> {
    r.get("resourceType").and_then(Value::as_str)
}

/// The document's `resourceType`; a document without a string one is no
/// FHIR resource: reported (see [`unreadable`]), and its paths are rooted at
/// [`UNTYPED`].
fn resource_type<'v>(ctx: &mut Ctx<'v>, doc: &'v Value) -> &'v str {
    if let Some(rt) = kind_of(doc) {
        return rt;
    }
    let (at, raw) = match doc.get("resourceType") {
        Some(v) => (format!("{UNTYPED}.resourceType"), ctx.input.text("", v)),
        None => (UNTYPED.to_owned(), String::new()),
    };
    unreadable(
        ctx,
        &at,
        &raw,
        "not a FHIR resource: no string resourceType; nothing was read",
    );
    UNTYPED
}

/// A document (or a part of it) the reader could not read at all: reported
/// invalid at `at`, and the record quarantined (an identity decision with no
/// key saying why), since what it holds was not looked at.
fn unreadable(ctx: &mut Ctx<'_>, at: &str, raw: &str, reason: &str) {
    ctx.invalid(at, raw, reason, Action::Quarantined);
    ctx.report.identity.push(IdentityDecision {
        seen: Vec::new(),
        key: None,
        reason: format!("quarantined: {reason}"),
    });
}

/// Notes each resource type the Bundle `doc` updated by a scoped client id
/// (`PUT Encounter/{id}`, `PUT DiagnosticReport/{id}`… — a visit number,
/// filler number, OBX-21, equipment or organisation id known by its
/// namespace alone, keyed in the scope of its sender) when the Bundle names
/// no sender: written again, those are keyed only by a trust ODS code given
/// to the writer, else created (`POST`) by every message, as
/// [`lost_location_keys`] says of Locations. Only what the event holds
/// is said of: the Encounter when it has one, the rest when it has results
/// (an ESR worker's `PUT Organization/{id}`, keyed by its VPD, is not).
fn lost_scoped_keys(report: &mut MappingReport, doc: &Value, event: &Event) {
    if event
        .sender
        .as_ref()
        .is_some_and(|s| !s.value.trim().is_empty())
    {
        return;
    }
    let results = !event.reports.is_empty() || !event.observations.is_empty();
    const SCOPED: [&str; 6] = [
        "Encounter/",
        "Observation/",
        "DiagnosticReport/",
        "ServiceRequest/",
        "Device/",
        "Organization/",
    ];
    let mut seen = [false; SCOPED.len()];
    for (_, e) in items(doc, "entry") {
        if e.pointer("/request/method").and_then(Value::as_str) != Some("PUT") {
            continue;
        }
        let Some(url) = e.pointer("/request/url").and_then(Value::as_str) else {
            continue;
        };
        for (t, seen) in SCOPED.iter().zip(seen.iter_mut()) {
            let held = if *t == "Encounter/" {
                event.encounter.is_some()
            } else {
                results
            };
            if held && url.starts_with(t) && !*seen {
                *seen = true;
                let t = t.trim_end_matches('/');
                report.notes.push(format!(
                    "{t}: updated in the Bundle by a scoped id (PUT {t}/{{id}}), but the \
                     Bundle names no sender (MessageHeader.sender, a Provenance agent): \
                     written again, it is keyed only by a trust ODS code, else created \
                     (POST) by every message"
                ));
            }
        }
    }
}

/// Notes each location of `event` whose Locations the Bundle `doc` keyed
/// (`PUT Location/{id}`) but the FHIR writer cannot key again: the Bundle
/// names no sender (a transaction Bundle without a Provenance, say), and
/// the location no facility known by a universal id. Written again, its
/// Locations are keyed only by a trust ODS code given to the writer, else
/// created (`POST`) by every message: said here, not lost unseen.
fn lost_location_keys(report: &mut MappingReport, doc: &Value, event: &Event) {
    let blank = event
        .sender
        .as_ref()
        .is_none_or(|s| s.value.trim().is_empty());
    let keyed = items(doc, "entry").any(|(_, e)| {
        e.pointer("/request/method").and_then(Value::as_str) == Some("PUT")
            && e.pointer("/request/url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.starts_with("Location/"))
    });
    let Some(e) = event.encounter.as_ref().filter(|_| blank && keyed) else {
        return;
    };
    for (what, l) in [
        ("current", &e.location),
        ("prior", &e.prior_location),
        ("pending", &e.pending_location),
        ("prior pending", &e.prior_pending_location),
    ] {
        if l.as_deref()
            .is_some_and(crate::fhir::unkeyable_without_sender)
        {
            report.notes.push(format!(
                "Encounter.location ({what}): its Locations were keyed in the Bundle \
                 (PUT Location/{{id}}), but the Bundle names no sender (MessageHeader.sender, \
                 a Provenance agent) and no facility known by a universal id: written again, \
                 they are keyed only by a trust ODS code, else created (POST) by every message"
            ));
        }
    }
}

/// The entries of the Bundle `doc` with a resource: its path, fullUrl and
/// the resource, each fullUrl indexed for references. Each entry's
/// `fullUrl` and its request's `method` and `url` are consumed; conditional
/// headers (`ifMatch`, `ifNoneExist`…) are not, so they are reported. A
/// fullUrl given twice (R4 bdl-7; a history Bundle aside) is reported at
/// each repetition, and references to it resolve to neither entry. A DELETE
/// entry is reported and its resource not read. An `entry` that is not an
/// array is reported (see [`unreadable`]).
fn bundle_entries<'v>(
    ctx: &mut Ctx<'v>,
    doc: &'v Value,
) -> Vec<(String, Option<&'v str>, &'v Value)> {
    if let Some(e) = doc.get("entry").filter(|e| !e.is_array()) {
        let raw = ctx.input.text("Bundle.entry", e);
        unreadable(
            ctx,
            "Bundle.entry",
            &raw,
            "Bundle.entry is not an array: no entry was read",
        );
    }
    let history = doc.get("type").and_then(Value::as_str) == Some("history");
    let mut out = Vec::new();
    let mut twice = HashSet::new();
    for (i, e) in items(doc, "entry") {
        let base = format!("Bundle.entry[{i}]");
        let request = e.get("request");
        if let Some(q) =
            request.filter(|q| q.get("method").and_then(Value::as_str) == Some("DELETE"))
        {
            let raw = match q.get("url").and_then(Value::as_str) {
                Some(u) => format!("DELETE {u}"),
                None => "DELETE".to_owned(),
            };
            let at = format!("{base}.request");
            ctx.invalid(
                &at,
                &raw,
                "a DELETE is not a record to map",
                Action::Dropped,
            );
            continue;
        }
        if let Some(q) = request {
            ctx.take_keys(&format!("{base}.request"), q, &["method", "url"]);
        }
        let url = e.get("fullUrl").and_then(Value::as_str);
        if let Some(u) = e.get("fullUrl") {
            ctx.take(&format!("{base}.fullUrl"), u);
        }
        let Some(r) = e.get("resource") else { continue };
        let rb = format!("{base}.resource");
        if let Some(u) = url {
            if !history && ctx.by_url.contains_key(u) {
                let at = format!("{base}.fullUrl");
                ctx.invalid(&at, u, "duplicate fullUrl (R4 bdl-7)", Action::Dropped);
                twice.insert(u);
            } else {
                ctx.by_url.insert(u, (rb.clone(), r));
            }
            ctx.url_at.insert(rb.clone(), u);
        }
        out.push((rb, url, r));
    }
    for u in twice {
        ctx.by_url.remove(u);
    }
    out
}

/// The Patient a Bundle is about (or the Encounter an event holds), as
/// references to it are resolved: where it is, its fullUrl and its `id`.
struct Subject<'v> {
    base: String,
    url: Option<&'v str>,
    id: Option<&'v str>,
}

/// The resources read from their own entries that belong to a patient.
const CLINICAL: [&str; 5] = [
    "Encounter",
    "AllergyIntolerance",
    "Condition",
    "DiagnosticReport",
    "Observation",
];

/// Chooses the Patient of `resources` (the first) and sets aside (in
/// `ctx.skip`, each reported invalid, its leaves left unconsumed) what is not
/// read: a resource with a modifier extension (see [`modifiers`]); another
/// Patient; a clinical resource whose `subject` / `patient` does not refer to
/// the chosen Patient (see [`refers_to`]). When the chosen Patient has a
/// modifier extension it is not read and the record is quarantined. With
/// no Patient, resources are read and their `subject` is left unconsumed
/// (reported).
fn choose_patient<'v>(ctx: &mut Ctx<'v>, resources: &[(String, &'v Value)]) -> Option<Subject<'v>> {
    // The record: the first Patient that is not the replaced one of a merge
    // (a Patient `replaced-by` another is read as the event's `merged_from`).
    let merged = |r: &Value| has_link(r, "replaced-by");
    let chosen = resources
        .iter()
        .find(|(_, r)| kind_of(r) == Some("Patient") && !merged(r))
        .map(|(base, r)| Subject {
            base: base.clone(),
            url: ctx.url_at.get(base).copied(),
            id: r.get("id").and_then(Value::as_str),
        });
    for (base, r) in resources {
        let kind = kind_of(r).unwrap_or_default();
        if let Some(urls) = modifiers(ctx, base, r) {
            if chosen.as_ref().is_some_and(|p| p.base == *base) {
                ctx.report.identity.push(IdentityDecision {
                    seen: Vec::new(),
                    key: None,
                    reason: format!(
                        "quarantined: the Patient has a modifierExtension the reader does not understand ({urls})"
                    ),
                });
            }
        }
        let Some(p) = &chosen else { continue };
        if kind == "Patient" && p.base != *base && !merged(r) {
            ctx.invalid(
                base,
                r.get("id").and_then(Value::as_str).unwrap_or_default(),
                "a second Patient: only the first Patient of the Bundle is read, and resources of this one are not",
                Action::Dropped,
            );
            ctx.skip.insert(base.clone());
        }
        if !CLINICAL.contains(&kind) {
            continue;
        }
        for k in ["subject", "patient"] {
            let Some(v) = r.get(k).filter(|v| !absent(v)) else {
                continue;
            };
            if refers_to(ctx, base, v, p) {
                continue;
            }
            let target = v.get("reference").and_then(Value::as_str);
            let other = target
                .and_then(|t| find(ctx, base, t))
                .is_some_and(|(_, t)| kind_of(t) == Some("Patient"));
            let reason = if other {
                "refers to another patient than the Bundle's (its first Patient): the resource is not read"
            } else {
                "refers to a patient that is not the Bundle's (unknown, or not in the Bundle): the resource is not read"
            };
            let at = match target {
                Some(_) => format!("{base}.{k}.reference"),
                None => format!("{base}.{k}"),
            };
            let raw = target.map_or_else(|| v.to_string(), str::to_owned);
            ctx.invalid(&at, &raw, reason, Action::Dropped);
            ctx.skip.insert(base.clone());
        }
    }
    chosen
}

/// Whether the reference `v` (in the resource at `from`) refers to the Patient
/// `p` by R4's Bundle rules: it resolves to `p`'s entry (see [`find`]), or
/// it is a relative `Patient/<id>` and `p` has that `id` or a fullUrl ending
/// `…/Patient/<id>`.
fn refers_to(ctx: &Ctx<'_>, from: &str, v: &Value, p: &Subject<'_>) -> bool {
    refers_as(ctx, from, v, p, "Patient")
}

/// Whether the reference `v` (in the resource at `from`) refers to the
/// resource `p` of type `kind`, as [`refers_to`] says of the Patient.
fn refers_as(ctx: &Ctx<'_>, from: &str, v: &Value, p: &Subject<'_>, kind: &str) -> bool {
    let Some(target) = v.get("reference").and_then(Value::as_str) else {
        return false;
    };
    if find(ctx, from, target).is_some_and(|(b, _)| b == p.base) {
        return true;
    }
    let Some(id) = relative_ref(target)
        .and_then(|t| t.strip_prefix(kind))
        .and_then(|t| t.strip_prefix('/'))
    else {
        return false;
    };
    let tail = format!("/{kind}/{id}");
    p.id == Some(id)
        || p.url.is_some_and(|u| {
            u.split("/_history/")
                .next()
                .is_some_and(|u| u.ends_with(&tail))
        })
}

/// A required CodeableConcept at `path`: one that only says it is unknown
/// (data-absent-reason, as the writer gives an empty one, or a report's with
/// no OBR-4) is consumed as an empty concept.
fn required_concept(ctx: &mut Ctx<'_>, path: &str, c: &Value) -> Sourced<Concept> {
    if absent(c) {
        ctx.take(path, c);
        return Sourced::from_many(Concept::default(), Sources::new());
    }
    concept(ctx, path, c)
}

/// Sets aside (in `ctx.skip`, each reported invalid, its leaves left
/// unconsumed) what belongs to another encounter than the event's (the
/// Encounter read, at `read`): a second Encounter, and a clinical resource
/// whose `encounter` does not refer to the one read (another Encounter of
/// the Bundle, or one not in it). The event holds one encounter and the
/// writer links every condition and result to it, so such a resource, read,
/// would be written as belonging to a visit its source says it does not.
fn other_encounters(ctx: &mut Ctx<'_>, resources: &[(String, &Value)], read: &Subject<'_>) {
    for (base, r) in resources {
        if ctx.skip.contains(base) || *base == read.base {
            continue;
        }
        let kind = kind_of(r).unwrap_or_default();
        if kind == "Encounter" {
            ctx.invalid(
                base,
                r.get("id").and_then(Value::as_str).unwrap_or_default(),
                "a second Encounter: the event holds one (the Bundle's first), and resources of this one are not read",
                Action::Dropped,
            );
            ctx.skip.insert(base.clone());
            continue;
        }
        if !CLINICAL.contains(&kind) {
            continue;
        }
        let Some(v) = r.get("encounter").filter(|v| !absent(v)) else {
            continue;
        };
        if refers_as(ctx, base, v, read, "Encounter") {
            continue;
        }
        let target = v.get("reference").and_then(Value::as_str);
        let at = match target {
            Some(_) => format!("{base}.encounter.reference"),
            None => format!("{base}.encounter"),
        };
        let raw = target.map_or_else(|| v.to_string(), str::to_owned);
        ctx.invalid(
            &at,
            &raw,
            "refers to another encounter than the event's (the Bundle's first Encounter): the resource is not read, so as not to be linked to that one",
            Action::Dropped,
        );
        ctx.skip.insert(base.clone());
    }
}

/// Whether the reference `v` only says its target is unknown (the
/// data-absent-reason extension the writer gives a resource of an event
/// without a patient): no reference at all. Likewise a required element
/// written that way (a DiagnosticReport's `code` with no OBR-4).
fn absent(v: &Value) -> bool {
    const ABSENT: &str = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
    v.as_object().is_some_and(|m| {
        m.keys().all(|k| k == "extension")
            && items(v, "extension")
                .all(|(_, x)| x.get("url").and_then(Value::as_str) == Some(ABSENT))
    })
}

/// The references of a resource read (at `base`) to the event's patient and
/// encounter: consumed when they refer to the chosen Patient `p` and to the
/// Encounter read (`encounter`, as [`refers_as`] says); any other is left
/// unconsumed, so it is reported.
fn context_refs(
    ctx: &mut Ctx<'_>,
    base: &str,
    r: &Value,
    p: Option<&Subject<'_>>,
    encounter: Option<&Subject<'_>>,
) {
    for k in ["subject", "patient"] {
        let Some(v) = r.get(k) else { continue };
        if absent(v) || p.is_some_and(|p| refers_to(ctx, base, v, p)) {
            ctx.take(&format!("{base}.{k}"), v);
        }
    }
    if let Some(v) = r.get("encounter") {
        if encounter.is_some_and(|e| refers_as(ctx, base, v, e, "Encounter")) {
            ctx.take(&format!("{base}.encounter"), v);
        }
    }
}

/// A resource (at `base`) with a `modifierExtension` anywhere in it: FHIR
/// forbids reading it as if the extension were absent, and the reader
/// understands none. Each is reported invalid (the resource is dropped), the
/// resource set aside (`ctx.skip`), and the extensions' urls returned.
fn modifiers(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Option<String> {
    let mut found = Vec::new();
    modifier_extensions(base, r, &mut found);
    if found.is_empty() {
        return None;
    }
    for (at, url) in &found {
        let reason = format!(
            "a modifierExtension the reader does not understand ({url}): the resource is not read"
        );
        ctx.invalid(at, url, &reason, Action::Dropped);
    }
    ctx.skip.insert(base.to_owned());
    let urls: Vec<&str> = found.iter().map(|(_, u)| u.as_str()).collect();
    Some(urls.join(", "))
}

/// Every `modifierExtension` under `v` (at `path`): its path and url.
fn modifier_extensions(path: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if k == "modifierExtension" {
                    for (i, e) in items(v, k) {
                        let url = e.get("url").and_then(Value::as_str).unwrap_or_default();
                        out.push((format!("{p}[{i}]"), url.to_owned()));
                    }
                } else {
                    modifier_extensions(&p, x, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                modifier_extensions(&format!("{path}[{i}]"), x, out);
            }
        }
        _ => {}
    }
}

/// Organization → an organisation (identifiers, name, the parent's identifier).
fn organisation(ctx: &mut Ctx<'_>, base: &str, r: &Value) -> Organisation {
    let mut o = Organisation::default();
    o.identifiers.extend(identifiers(ctx, base, r));
    o.name = ctx.str(base, r, "name");
    if let Some(id) = r.pointer("/partOf/identifier") {
        o.part_of = identifier(ctx, &format!("{base}.partOf.identifier"), id);
    }
    o.address = items(r, "address")
        .next()
        .map(|(i, a)| address(ctx, &format!("{base}.address[{i}]"), a));
    o
}

/// A PractitionerRole's codes into `a`: `code` texts (one of the NWD staff
/// group names is the staff group; of the others the first is the job role
/// and the next the position's title) and `specialty`'s text (the
/// occupation code). A code labelled as carecodec wrote them before 2026-12
/// (a Coding whose display is `job role`, `staff group` or `occupation
/// code`) goes to that slot. Codings are consumed with their code's text;
/// anything else is left unconsumed, so reported unmapped.
fn role_codes(ctx: &mut Ctx<'_>, base: &str, r: &Value, a: &mut Assignment) {
    for (i, c) in items(r, "code") {
        let path = format!("{base}.code[{i}]");
        let label = c.pointer("/coding/0/display").and_then(Value::as_str);
        let text = c.get("text").and_then(Value::as_str);
        let slot = match (label, text) {
            (Some("job role"), _) => &mut a.job_role,
            (Some("staff group"), _) => &mut a.staff_group,
            (Some("occupation code"), _) => &mut a.occupation_code,
            (Some(_), _) | (None, None) => continue,
            (None, Some(t)) if super::STAFF_GROUPS.contains(&t) && a.staff_group.is_none() => {
                &mut a.staff_group
            }
            (None, Some(_)) if a.job_role.is_none() => &mut a.job_role,
            (None, Some(_)) if a.position.is_none() => {
                a.position = Some(Position {
                    number: None,
                    title: ctx.str(&path, c, "text"),
                });
                continue;
            }
            (None, Some(_)) => continue,
        };
        *slot = ctx.str(&path, c, "text");
        if let Some(coding) = c.get("coding") {
            ctx.take(&format!("{path}.coding"), coding);
        }
    }
    if let Some((i, c)) = items(r, "specialty").next() {
        if c.get("coding").is_none() && a.occupation_code.is_none() {
            a.occupation_code = ctx.str(&format!("{base}.specialty[{i}]"), c, "text");
        }
    }
}

/// Reads the UK Core Practitioners of a Bundle (or one Practitioner) back into
/// [`Worker`]s: identifiers, names, telecom, gender and birth date from the
/// Practitioner (GMC, GMP, NMC, HCPC and GPhC identifiers become
/// registrations, their `period` the registration's dates), and one
/// assignment per PractitionerRole that references it (assignment number,
/// period, organisation, location, job role / staff group / occupation code).
/// The report accounts for every leaf as [`read_bundle`]'s does. A worker is
/// keyed as [`worker_bundle`](super::worker_bundle) keys it (its ESR person
/// id, else its first GMC / GMP / NMC / HCPC / GPhC registration); one with
/// neither is quarantined (its identity decision has no key).
///
/// ```
/// use carecodec_map::fhir::read_workers;
///
/// let bundle = serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": [
///   {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Practitioner",
///     "identifier": [{"system": "https://fhir.hl7.org.uk/Id/gmc-number", "value": "1234567",
///                     "period": {"start": "2010-08-04"}}],
///     "name": [{"family": "Jones", "given": ["Ann"]}]}},
///   {"fullUrl": "urn:uuid:r1", "resource": {"resourceType": "PractitionerRole",
///     "practitioner": {"reference": "urn:uuid:p1"}, "period": {"start": "2020-01-01"},
///     "code": [{"text": "Consultant"}, {"text": "Medical and Dental"}]}}]});
/// let (workers, report) = read_workers(&bundle);
/// assert!(report.balanced() && report.unmapped.is_empty());
/// let w = &workers[0];
/// assert_eq!(w.registrations[0].identifier.value.value(), "1234567");
/// assert_eq!(w.registrations[0].from.as_ref().unwrap().value.to_string(), "2010-08-04");
/// assert_eq!(w.assignments[0].job_role.as_ref().unwrap().value, "Consultant");
/// assert_eq!(w.assignments[0].staff_group.as_ref().unwrap().value, "Medical and Dental");
/// ```
pub fn read_workers<'d>(doc: impl Into<JsonInput<'d>>) -> (Vec<Worker>, MappingReport) {
    let input = doc.into();
    // Strings holding control characters (which FHIR forbids, and the
    // Bundles written from the model must not carry) are read without them.
    let cleaned = without_controls(input.value());
    let input = match &cleaned {
        Some((v, _)) => input.with_value(v),
        None => input,
    };
    let doc = input.value();
    let mut ctx = Ctx::new(input);
    for (path, raw) in cleaned.iter().flat_map(|(_, found)| found) {
        ctx.invalid(path, raw, CONTROLS, Action::KeptAsText);
    }
    let rt = resource_type(&mut ctx, doc);
    let mut resources: Vec<(String, &Value)> = Vec::new();
    if rt == "Bundle" {
        for k in ["resourceType", "type", "id", "identifier"] {
            if let Some(v) = doc.get(k) {
                ctx.take(&format!("Bundle.{k}"), v);
            }
        }
        // A worker has no place for the Bundle's time: checked, not kept.
        if let Some(t) = doc.get("timestamp") {
            check_instant(&mut ctx, "Bundle.timestamp", t);
        }
        resources.extend(
            bundle_entries(&mut ctx, doc)
                .into_iter()
                .map(|(b, _, r)| (b, r)),
        );
    } else if rt != UNTYPED {
        resources.push((rt.to_owned(), doc));
    }
    // A Practitioner or PractitionerRole with a modifier extension is not
    // read; the worker is quarantined.
    for (base, r) in &resources {
        if let Some(urls) = modifiers(&mut ctx, base, r) {
            if kind_of(r) == Some("Practitioner") {
                ctx.report.identity.push(IdentityDecision {
                    seen: Vec::new(),
                    key: None,
                    reason: format!(
                        "quarantined: the Practitioner has a modifierExtension the reader does not understand ({urls})"
                    ),
                });
            }
        }
    }
    let kind = |r: &Value| {
        r.get("resourceType")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut workers: Vec<(&str, Worker)> = Vec::new();
    for (base, r) in &resources {
        if kind(r).as_deref() != Some("Practitioner") || ctx.skip.contains(base) {
            continue;
        }
        take_resource_head(&mut ctx, base, r);
        let mut w = Worker::default();
        for (i, id) in items(r, "identifier") {
            let path = format!("{base}.identifier[{i}]");
            let Some(x) = identifier(&mut ctx, &path, id) else {
                continue;
            };
            // A registration, valid or kept as text (`GMC (invalid)`).
            let registration = x.value.is_registration();
            if registration {
                // The registration's dates: whole days, kept; anything else
                // reported (see `day_at`).
                let pp = format!("{path}.period");
                let (from, until) = match id.get("period") {
                    Some(p) => (
                        day_at(&mut ctx, &pp, p, "start"),
                        day_at(&mut ctx, &pp, p, "end"),
                    ),
                    None => (None, None),
                };
                w.registrations.push(Registration {
                    identifier: x,
                    from,
                    until,
                });
            } else {
                w.identifiers.push(x);
            }
        }
        for (i, n) in items(r, "name") {
            w.names
                .push(name(&mut ctx, &format!("{base}.name[{i}]"), n));
        }
        for (i, t) in items(r, "telecom") {
            if let Some(t) = telecom(&mut ctx, &format!("{base}.telecom[{i}]"), t) {
                w.telecom.push(t);
            }
        }
        w.gender = gender(&mut ctx, base, r);
        w.birth_date = date_at(&mut ctx, base, r, "birthDate");
        workers.push((base, w));
    }
    for (base, r) in &resources {
        if kind(r).as_deref() != Some("PractitionerRole") || ctx.skip.contains(base) {
            continue;
        }
        // The Practitioner, found by R4's Bundle rules (see `find`); a role
        // of none read is reported whole.
        let target = r
            .pointer("/practitioner/reference")
            .and_then(Value::as_str)
            .and_then(|t| lookup(&ctx, base, t));
        let Some(w) = workers
            .iter_mut()
            .find(|(b, _)| target.as_ref().is_some_and(|(t, _)| t == b))
            .map(|(_, w)| w)
        else {
            continue;
        };
        for k in ["resourceType", "id", "meta"] {
            if let Some(v) = r.get(k) {
                ctx.take(&format!("{base}.{k}"), v);
            }
        }
        if let Some(p) = r.get("practitioner") {
            ctx.take(&format!("{base}.practitioner"), p);
        }
        let mut a = Assignment::default();
        // `active`: false is an assignment that has ended.
        if let Some(v) = r.get("active").filter(|v| !v.is_null()) {
            let at = format!("{base}.active");
            ctx.take(&at, v);
            match v.as_bool() {
                Some(true) => {
                    a.state = Some(Sourced::new(AssignmentState::Active, Source::fhir(at)))
                }
                Some(false) => {
                    a.state = Some(Sourced::new(AssignmentState::Terminated, Source::fhir(at)));
                }
                None => {
                    let raw = ctx.input.text(&at, v);
                    ctx.invalid(&at, &raw, "not a FHIR boolean", Action::Dropped);
                }
            }
        }
        if let Some((i, id)) = items(r, "identifier").next() {
            a.number = identifier(&mut ctx, &format!("{base}.identifier[{i}]"), id);
        }
        // The assignment's dates: whole days, kept; anything else reported
        // (see `day_at`). Other members of the period are left unconsumed,
        // so they are reported unmapped.
        if let Some(p) = r.get("period") {
            let pp = format!("{base}.period");
            a.start = day_at(&mut ctx, &pp, p, "start");
            a.end = day_at(&mut ctx, &pp, p, "end");
        }
        if let Some(o) = r.get("organization") {
            let at = format!("{base}.organization");
            if let Some((ob, or)) = resolve(&mut ctx, &at, o) {
                take_resource_head(&mut ctx, &ob, or);
                a.organisation = Some(organisation(&mut ctx, &ob, or));
            } else if let Some(id) = logical(&mut ctx, &at, o) {
                // Referred to by identifier alone (an ESR organisation the
                // files did not describe): the organisation is that id.
                a.organisation = Some(Organisation {
                    identifiers: vec![id],
                    ..Organisation::default()
                });
            }
        }
        if let Some((i, l)) = items(r, "location").next() {
            let at = format!("{base}.location[{i}]");
            if let Some((lb, lr)) = resolve(&mut ctx, &at, l) {
                take_resource_head(&mut ctx, &lb, lr);
                a.location = Some(location(&mut ctx, &lb, lr));
            } else if let Some(id) = logical(&mut ctx, &at, l) {
                a.location = Some(Location {
                    identifiers: vec![id],
                    ..Location::default()
                });
            }
        }
        role_codes(&mut ctx, base, r, &mut a);
        w.assignments.push(a);
    }
    let workers: Vec<Worker> = workers.into_iter().map(|(_, w)| w).collect();
    for w in &workers {
        // The writer's key (`worker_bundle`): the ESR person id, else the
        // first registration of its register's shape; every identifier is seen.
        let key = super::worker_key(w);
        let seen = w.identifiers.iter();
        ctx.report.identity.push(IdentityDecision {
            seen: seen
                .chain(w.registrations.iter().map(|r| &r.identifier))
                .cloned()
                .collect(),
            key: key.map(|k| k.value.clone()),
            reason: match key.map(|k| &k.value) {
                Some(Identifier::EsrPerson { .. }) => "ESR person id of the Practitioner".into(),
                Some(_) => "first valid professional registration of the Practitioner".into(),
                None => "quarantined: a Practitioner without an ESR person id or a valid professional registration".into(),
            },
        });
    }
    account(&mut ctx, rt, doc);
    (workers, ctx.report)
}
