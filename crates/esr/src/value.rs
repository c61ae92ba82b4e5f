//! Field values: decoding text, parsing dates and numbers, and the checks of
//! docs/esr.md §6.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::layout::FieldType;
use crate::problem::{ProblemKind, Severity};

/// How the file's bytes become text.
///
/// ```
/// use carecodec_esr::reader::{GoOptions, GoReader};
/// use carecodec_esr::value::Encoding;
///
/// let file = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~Café\nTRL~3\n";
/// let mut utf8 = GoReader::new(file.as_bytes(), None, GoOptions::default().encoding(Encoding::Utf8));
/// assert_eq!(utf8.next_record().and_then(|e| e.text(1).map(|t| t.into_owned())).as_deref(), Some("Café"));
/// let mut latin1 = GoReader::new(file.as_bytes(), None, GoOptions::default().encoding(Encoding::Latin1));
/// assert_eq!(latin1.next_record().and_then(|e| e.text(1).map(|t| t.into_owned())).as_deref(), Some("CafÃ©"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Encoding {
    /// ISO-8859-1 unless the file starts with a UTF-8 byte order mark (the default).
    #[default]
    Auto,
    /// ISO-8859-1 (Latin-1), whatever the file says.
    Latin1,
    /// UTF-8, whatever the file says.
    Utf8,
}

/// Decodes field bytes. Latin-1 maps each byte to one character; UTF-8 that
/// is invalid is decoded lossily (the reader reports it). Borrows for ASCII.
///
/// ```
/// use carecodec_esr::value::decode;
///
/// assert_eq!(decode(b"Caf\xe9", false), "Café");
/// assert_eq!(decode("Café".as_bytes(), true), "Café");
/// ```
pub fn decode(raw: &[u8], utf8: bool) -> Cow<'_, str> {
    if raw.is_ascii() {
        return Cow::Borrowed(std::str::from_utf8(raw).unwrap_or_default());
    }
    if utf8 {
        String::from_utf8_lossy(raw)
    } else {
        Cow::Owned(raw.iter().map(|&b| char::from(b)).collect())
    }
}

/// Appends the decoded text of `raw` to `out` (the same text as [`decode`]).
///
/// ```
/// use carecodec_esr::value::decode_into;
///
/// let mut s = String::from("x");
/// decode_into(b"Caf\xe9", false, &mut s);
/// assert_eq!(s, "xCafé");
/// ```
pub fn decode_into(raw: &[u8], utf8: bool, out: &mut String) {
    match std::str::from_utf8(raw) {
        Ok(s) if utf8 || s.is_ascii() => out.push_str(s),
        _ if utf8 => out.push_str(&String::from_utf8_lossy(raw)),
        _ => out.extend(raw.iter().map(|&b| char::from(b))),
    }
}

/// Spare strings and lists recycled from a previous [`crate::TypedRecord`],
/// so that re-typing into the same record allocates nothing once warm.
#[derive(Default)]
pub(crate) struct Pool {
    strings: Vec<String>,
    lists: Vec<Vec<String>>,
}

impl Pool {
    /// An empty string with room for `len` bytes (recycled when possible).
    pub(crate) fn string(&mut self, len: usize) -> String {
        match self.strings.pop() {
            Some(mut s) => {
                s.clear();
                s
            }
            None => String::with_capacity(len),
        }
    }

    /// An empty list with room for `len` strings (recycled when possible).
    pub(crate) fn list(&mut self, len: usize) -> Vec<String> {
        match self.lists.pop() {
            Some(mut l) => {
                l.clear();
                l
            }
            None => Vec::with_capacity(len),
        }
    }

    /// Keeps the buffers of a value that is being replaced.
    pub(crate) fn recycle(&mut self, v: FieldValue) {
        match v {
            FieldValue::Text(s) | FieldValue::Decimal(s) => self.strings.push(s),
            FieldValue::Segments(mut l) => {
                self.strings.append(&mut l);
                self.lists.push(l);
            }
            _ => {}
        }
    }
}

// A pool is a cache, not part of a record's value: every pool equals every
// other, a clone starts empty and debug output shows only its size.
impl Clone for Pool {
    fn clone(&self) -> Pool {
        Pool::default()
    }
}

impl PartialEq for Pool {
    fn eq(&self, _: &Pool) -> bool {
        true
    }
}

impl Eq for Pool {}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({})", self.strings.len())
    }
}

/// The open end date ESR writes for "no end".
///
/// ```
/// use carecodec_esr::layout::FieldType;
/// use carecodec_esr::value::{typed, EndDate, FieldValue, OPEN_END};
///
/// assert_eq!(typed(FieldType::End, OPEN_END, false), FieldValue::End(EndDate::Open));
/// ```
pub const OPEN_END: &[u8] = b"47121231";

/// An effective end date: a day, or open-ended.
///
/// ```
/// use carecodec_esr::layout::FieldType;
/// use carecodec_esr::value::{typed, EndDate, FieldValue};
/// use chrono::NaiveDate;
///
/// let end = NaiveDate::from_ymd_opt(2025, 3, 31).ok_or("date")?;
/// assert_eq!(typed(FieldType::End, b"20250331", false), FieldValue::End(EndDate::On(end)));
/// assert_eq!(typed(FieldType::End, b"", false), FieldValue::End(EndDate::Open));
/// assert!(EndDate::On(end) < EndDate::Open);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EndDate {
    /// Ends on this day (inclusive).
    On(NaiveDate),
    /// Open-ended (`47121231` or blank).
    Open,
}

impl EndDate {
    /// True when `date` is on or before the end.
    ///
    /// ```
    /// use carecodec_esr::value::EndDate;
    /// use chrono::NaiveDate;
    ///
    /// let day = |d| NaiveDate::from_ymd_opt(2025, 3, d).ok_or("date");
    /// assert!(EndDate::On(day(31)?).covers(day(31)?)); // inclusive
    /// assert!(!EndDate::On(day(30)?).covers(day(31)?));
    /// assert!(EndDate::Open.covers(day(1)?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn covers(&self, date: NaiveDate) -> bool {
        match self {
            EndDate::On(d) => date <= *d,
            EndDate::Open => true,
        }
    }
}

/// A typed field value.
///
/// ```
/// use carecodec_esr::layout::FieldType;
/// use carecodec_esr::value::{typed, FieldValue};
///
/// assert_eq!(typed(FieldType::Dec, b"37.50", false), FieldValue::Decimal("37.50".into()));
/// assert_eq!(typed(FieldType::Yn, b"No", false), FieldValue::Flag(false));
/// assert_eq!(typed(FieldType::Text, b"", false), FieldValue::Empty);
/// assert_eq!(typed(FieldType::Kff, b"N0A|Nurse|", false),
///     FieldValue::Segments(vec!["N0A".into(), "Nurse".into()]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldValue {
    /// Empty field.
    Empty,
    /// Text (decoded; leading spaces kept).
    Text(String),
    /// A `YYYYMMDD` date.
    Date(NaiveDate),
    /// An end date (open or a day).
    End(EndDate),
    /// A timestamp (a bare date reads as midnight).
    Timestamp(NaiveDateTime),
    /// A decimal, kept as its text so no precision is lost.
    Decimal(String),
    /// A Yes/No flag.
    Flag(bool),
    /// Key-flexfield segments split on `|` (a trailing empty segment dropped).
    Segments(Vec<String>),
}

/// Parses `YYYYMMDD`.
///
/// ```
/// use carecodec_esr::value::parse_date;
///
/// assert!(parse_date(b"20240229").is_some());
/// assert!(parse_date(b"20230229").is_none());
/// assert!(parse_date(b"2024022").is_none());
/// ```
pub fn parse_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| {
        b.get(r)
            .map(|d| d.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0')))
            .unwrap_or(0)
    };
    NaiveDate::from_ymd_opt(n(0..4) as i32, n(4..6), n(6..8))
}

/// True when `b` is a `YYYYMMDD` date [`parse_date`] accepts (checked
/// without building the date: the proleptic Gregorian calendar, years 0–9999).
fn valid_date(b: &[u8]) -> bool {
    let [y1, y2, y3, y4, m1, m2, d1, d2] = b else {
        return false;
    };
    let digits = [*y1, *y2, *y3, *y4, *m1, *m2, *d1, *d2];
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |d: &[u8]| d.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
    let (y, m, d) = (n(&[*y1, *y2, *y3, *y4]), n(&[*m1, *m2]), n(&[*d1, *d2]));
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// True when `b` is a timestamp [`parse_timestamp`] accepts.
fn valid_timestamp(b: &[u8]) -> bool {
    let two = |t: &[u8]| t.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
    match (b.get(..8), b.get(8..)) {
        (Some(date), Some([])) => valid_date(date),
        (Some(date), Some([b' ', h1, h2, m1, m2, s1, s2])) => {
            let t = [*h1, *h2, *m1, *m2, *s1, *s2];
            valid_date(date)
                && t.iter().all(u8::is_ascii_digit)
                && two(&[*h1, *h2]) < 24
                && two(&[*m1, *m2]) < 60
                && two(&[*s1, *s2]) < 60
        }
        _ => false,
    }
}

/// Parses `YYYYMMDD HHMMSS` or a bare `YYYYMMDD`.
///
/// ```
/// use carecodec_esr::value::parse_timestamp;
///
/// assert_eq!(parse_timestamp(b"20250302 021503").map(|t| t.to_string()).as_deref(), Some("2025-03-02 02:15:03"));
/// assert_eq!(parse_timestamp(b"20250302").map(|t| t.to_string()).as_deref(), Some("2025-03-02 00:00:00"));
/// assert_eq!(parse_timestamp(b"20250302 0215"), None);
/// ```
pub fn parse_timestamp(b: &[u8]) -> Option<NaiveDateTime> {
    let date = parse_date(b.get(..8)?)?;
    match b.get(8..) {
        Some([]) => Some(date.and_time(NaiveTime::MIN)),
        Some([b' ', t @ ..]) if t.len() == 6 && t.iter().all(u8::is_ascii_digit) => {
            let n = |i: usize| {
                t.get(i..i + 2).map_or(0, |d| {
                    d.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'))
                })
            };
            Some(date.and_time(NaiveTime::from_hms_opt(n(0), n(2), n(4))?))
        }
        _ => None,
    }
}

/// Parses `DD/MM/YYYY` (BI CSV dates), optionally followed by a time.
///
/// ```
/// use carecodec_esr::value::parse_dmy;
///
/// assert_eq!(parse_dmy(b"04/04/2022").map(|d| d.to_string()).as_deref(), Some("2022-04-04"));
/// assert_eq!(parse_dmy(b"04/04/2022 00:00").map(|d| d.to_string()).as_deref(), Some("2022-04-04"));
/// assert_eq!(parse_dmy(b"31/02/2022"), None);
/// ```
pub fn parse_dmy(b: &[u8]) -> Option<NaiveDate> {
    let b = b.trim_ascii();
    let date = b.get(..10)?;
    let (d, m, y) = match date {
        [d1, d2, b'/', m1, m2, b'/', y1, y2, y3, y4] => {
            ([*d1, *d2], [*m1, *m2], [*y1, *y2, *y3, *y4])
        }
        _ => return None,
    };
    let num = |s: &[u8]| -> Option<u32> {
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0')))
    };
    NaiveDate::from_ymd_opt(num(&y)? as i32, num(&m)?, num(&d)?)
}

fn is_decimal(b: &[u8]) -> bool {
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (
            b.get(..p).unwrap_or_default(),
            Some(b.get(p + 1..).unwrap_or_default()),
        ),
        None => (b, None),
    };
    !int.is_empty()
        && int.iter().all(u8::is_ascii_digit)
        && frac.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))
}

/// For a valid decimal (see `is_decimal`): is it below zero, and is it above
/// `limit`? Exact on the text (no float rounding).
fn decimal_sign_and_above(b: &[u8], limit: u64) -> (bool, bool) {
    let (neg, b) = match b.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, b),
    };
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(p) => (
            b.get(..p).unwrap_or_default(),
            b.get(p + 1..).unwrap_or_default(),
        ),
        None => (b, &b""[..]),
    };
    let int = match int.iter().position(|&c| c != b'0') {
        Some(p) => int.get(p..).unwrap_or_default(),
        None => &b""[..],
    };
    let frac_nonzero = frac.iter().any(|&c| c != b'0');
    let nonzero = !int.is_empty() || frac_nonzero;
    if neg {
        return (nonzero, false);
    }
    let above = if int.len() > 18 {
        true
    } else {
        let v = int.iter().fold(0u64, |a, c| a * 10 + u64::from(c - b'0'));
        v > limit || (v == limit && frac_nonzero)
    };
    (false, above)
}

/// [`valid_ni`] of [`normalise_ni`] of the decoded text, without allocating
/// for ASCII input.
fn valid_ni_raw(raw: &[u8], utf8: bool) -> bool {
    if !raw.is_ascii() {
        return valid_ni(&normalise_ni(&decode(raw, utf8)));
    }
    let mut buf = [0u8; 9];
    let mut n = 0usize;
    for &b in raw {
        // The ASCII characters `char::is_whitespace` accepts.
        if matches!(b, b' ' | b'\t'..=b'\r') {
            continue;
        }
        match buf.get_mut(n) {
            Some(slot) => *slot = b.to_ascii_uppercase(),
            None => return false,
        }
        n += 1;
    }
    buf.get(..n)
        .and_then(|b| std::str::from_utf8(b).ok())
        .is_some_and(valid_ni)
}

/// Normalises a National Insurance number: spaces removed, upper-cased.
///
/// ```
/// use carecodec_esr::value::{normalise_ni, valid_ni};
///
/// assert_eq!(normalise_ni(" jk 00 00 01 a"), "JK000001A");
/// assert!(valid_ni(&normalise_ni("jk 00 00 01 a")));
/// ```
pub fn normalise_ni(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Checks a normalised NI number against the HMRC format (docs/esr.md §6).
///
/// ```
/// use carecodec_esr::value::valid_ni;
///
/// assert!(valid_ni("JK000001A"));
/// assert!(!valid_ni("QQ123456C")); // Q never starts a valid prefix
/// assert!(!valid_ni("GB123456A")); // reserved prefix
/// ```
pub fn valid_ni(ni: &str) -> bool {
    let b = ni.as_bytes();
    let [p1, p2, d @ .., s] = b else { return false };
    if d.len() != 6 || !d.iter().all(u8::is_ascii_digit) || !matches!(s, b'A'..=b'D') {
        return false;
    }
    let first_ok =
        p1.is_ascii_uppercase() && !matches!(p1, b'D' | b'F' | b'I' | b'Q' | b'U' | b'V');
    let second_ok =
        p2.is_ascii_uppercase() && !matches!(p2, b'D' | b'F' | b'I' | b'O' | b'Q' | b'U' | b'V');
    let reserved = matches!(
        &[*p1, *p2],
        b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
    );
    first_ok && second_ok && !reserved
}

fn valid_occupation(b: &[u8]) -> bool {
    match b {
        [a, b2, c] => {
            (a.is_ascii_digit() && b2.is_ascii_digit() && c.is_ascii_digit())
                || (a.is_ascii_uppercase()
                    && (b2.is_ascii_uppercase() || b2.is_ascii_digit())
                    && (c.is_ascii_uppercase() || c.is_ascii_digit()))
        }
        _ => false,
    }
}

fn valid_assignment_number(b: &[u8]) -> bool {
    let mut parts = b.splitn(2, |&c| c == b'-');
    let all_digits = |p: &[u8]| !p.is_empty() && p.iter().all(u8::is_ascii_digit);
    parts.next().is_some_and(all_digits) && parts.next().is_none_or(all_digits)
}

/// Checks one field's raw bytes against its type. Returns the problems
/// (kind and severity); an empty list means the value is fine.
///
/// ```
/// use carecodec_esr::layout::FieldType;
/// use carecodec_esr::value::check;
/// use carecodec_esr::{ProblemKind, Severity};
///
/// let mut problems = Vec::new();
/// check(FieldType::Date, true, b"20250230", false, &mut problems);
/// assert_eq!(problems, [(Severity::Error, ProblemKind::InvalidDate)]);
/// problems.clear();
/// check(FieldType::Dec01, false, b"1.2", false, &mut problems);
/// assert_eq!(problems, [(Severity::Warning, ProblemKind::FteAboveOne)]);
/// problems.clear();
/// check(FieldType::Date, false, b"20250228", false, &mut problems);
/// assert!(problems.is_empty());
/// ```
pub fn check(
    ty: FieldType,
    required: bool,
    raw: &[u8],
    utf8: bool,
    out: &mut Vec<(Severity, ProblemKind)>,
) {
    if raw.is_empty() {
        if required {
            out.push((Severity::Error, ProblemKind::MissingRequired));
        }
        return;
    }
    use FieldType::*;
    match ty {
        Lit | Text | Kff | Flex => {}
        Id => {
            if !raw.iter().all(u8::is_ascii_digit) {
                out.push((Severity::Warning, ProblemKind::NonNumericId));
            }
        }
        Date => {
            if !valid_date(raw) {
                out.push((Severity::Error, ProblemKind::InvalidDate));
            }
        }
        End => {
            if raw != OPEN_END && !valid_date(raw) {
                out.push((Severity::Error, ProblemKind::InvalidDate));
            }
        }
        Ts => {
            if !valid_timestamp(raw) {
                out.push((Severity::Error, ProblemKind::InvalidTimestamp));
            }
        }
        Dec | DecPos | Dec01 | Pct => {
            if !is_decimal(raw) {
                out.push((Severity::Error, ProblemKind::InvalidNumber("not a decimal")));
            } else if ty != Dec {
                let limit = if ty == Pct { 100 } else { 1 };
                let (negative, above) = decimal_sign_and_above(raw, limit);
                if negative {
                    out.push((Severity::Error, ProblemKind::InvalidNumber("negative")));
                } else if ty == Pct && above {
                    out.push((Severity::Error, ProblemKind::InvalidNumber("above 100")));
                } else if ty == Dec01 && above {
                    out.push((Severity::Warning, ProblemKind::FteAboveOne));
                }
            }
        }
        Yn => {
            let ok = [&b"yes"[..], b"no", b"y", b"n"]
                .iter()
                .any(|f| raw.eq_ignore_ascii_case(f));
            if !ok {
                out.push((Severity::Error, ProblemKind::InvalidFlag));
            }
        }
        Hhmm => {
            let ok = matches!(raw, [h1, h2, b':', m1, m2] if h1.is_ascii_digit() && h2.is_ascii_digit() && m1.is_ascii_digit() && m2.is_ascii_digit());
            if !ok {
                out.push((Severity::Warning, ProblemKind::InvalidTime));
            }
        }
        Nino => {
            if !valid_ni_raw(raw, utf8) {
                out.push((Severity::Warning, ProblemKind::InvalidNiNumber));
            }
        }
        Occ => {
            if !valid_occupation(raw) {
                out.push((Severity::Warning, ProblemKind::InvalidOccupationCode));
            }
        }
        AsgNo => {
            if !valid_assignment_number(raw) {
                out.push((Severity::Warning, ProblemKind::InvalidAssignmentNumber));
            }
        }
        Email => {
            if raw.iter().filter(|&&c| c == b'@').count() != 1 {
                out.push((Severity::Warning, ProblemKind::InvalidEmail));
            }
        }
        Unused => out.push((Severity::Warning, ProblemKind::UnusedFieldNotEmpty)),
    }
}

/// A typed field value that borrows its text from the record line: the
/// no-copy counterpart of [`FieldValue`]. Text is borrowed unless it must be
/// decoded (ISO-8859-1 bytes above 0x7F, or invalid UTF-8 in a UTF-8 file).
///
/// ```
/// use carecodec_esr::layout::FieldType;
/// use carecodec_esr::value::{typed_ref, FieldRef, FieldValue};
///
/// let v = typed_ref(FieldType::Text, b" Smith", false);
/// assert!(matches!(&v, FieldRef::Text(std::borrow::Cow::Borrowed(" Smith"))));
/// assert_eq!(v.into_owned(), FieldValue::Text(" Smith".into()));
/// let kff = typed_ref(FieldType::Kff, b"N0A|Staff Nurse|", false);
/// assert_eq!(kff.into_owned(), FieldValue::Segments(vec!["N0A".into(), "Staff Nurse".into()]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldRef<'a> {
    /// Empty field.
    Empty,
    /// Text (decoded; leading spaces kept).
    Text(Cow<'a, str>),
    /// A `YYYYMMDD` date.
    Date(NaiveDate),
    /// An end date (open or a day).
    End(EndDate),
    /// A timestamp (a bare date reads as midnight).
    Timestamp(NaiveDateTime),
    /// A decimal, kept as its text so no precision is lost.
    Decimal(Cow<'a, str>),
    /// A Yes/No flag.
    Flag(bool),
    /// Key-flexfield segments split on `|`.
    Segments(Segments<'a>),
}

impl FieldRef<'_> {
    /// The owned value (the same as [`typed`] gives for the same field).
    ///
    /// ```
    /// use carecodec_esr::layout::FieldType;
    /// use carecodec_esr::value::{typed, typed_ref};
    ///
    /// let raw = b"20240229";
    /// assert_eq!(typed_ref(FieldType::Date, raw, false).into_owned(), typed(FieldType::Date, raw, false));
    /// ```
    pub fn into_owned(self) -> FieldValue {
        self.into_pooled(&mut Pool::default())
    }

    /// [`FieldRef::into_owned`], taking string buffers from `pool`.
    pub(crate) fn into_pooled(self, pool: &mut Pool) -> FieldValue {
        let own = |pool: &mut Pool, t: Cow<'_, str>| {
            let mut s = pool.string(t.len());
            s.push_str(&t);
            s
        };
        match self {
            FieldRef::Empty => FieldValue::Empty,
            FieldRef::Text(t) => FieldValue::Text(own(pool, t)),
            FieldRef::Date(d) => FieldValue::Date(d),
            FieldRef::End(e) => FieldValue::End(e),
            FieldRef::Timestamp(t) => FieldValue::Timestamp(t),
            FieldRef::Decimal(t) => FieldValue::Decimal(own(pool, t)),
            FieldRef::Flag(f) => FieldValue::Flag(f),
            FieldRef::Segments(k) => {
                let mut list = pool.list(k.len());
                list.extend(k.iter().map(|t| own(pool, t)));
                FieldValue::Segments(list)
            }
        }
    }
}

/// Key-flexfield segments (`N0A|Staff Nurse`), borrowed: iterate to split on
/// `|` (a trailing empty segment is dropped, as in [`FieldValue::Segments`]).
///
/// ```
/// use carecodec_esr::layout::FieldType;
/// use carecodec_esr::value::{typed_ref, FieldRef};
///
/// let FieldRef::Segments(k) = typed_ref(FieldType::Kff, b"a||b|", false) else { panic!() };
/// assert_eq!(k.iter().collect::<Vec<_>>(), ["a", "", "b"]);
/// assert_eq!(k.len(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments<'a> {
    /// The field without the dropped trailing `|`.
    body: &'a [u8],
    utf8: bool,
}

impl<'a> Segments<'a> {
    fn new(raw: &'a [u8], utf8: bool) -> Segments<'a> {
        let body = raw.strip_suffix(b"|").unwrap_or(raw);
        Segments { body, utf8 }
    }

    /// The segments, decoded.
    ///
    /// ```
    /// use carecodec_esr::layout::FieldType;
    /// use carecodec_esr::value::{typed_ref, FieldRef};
    ///
    /// let FieldRef::Segments(k) = typed_ref(FieldType::Kff, b"N0A|Staff Nurse|", false) else { unreachable!() };
    /// assert_eq!(k.iter().collect::<Vec<_>>(), ["N0A", "Staff Nurse"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        let utf8 = self.utf8;
        // `|` is ASCII, so splitting the bytes splits the decoded text the same
        // way in both encodings.
        self.body
            .split(|&b| b == b'|')
            .map(move |p| decode(p, utf8))
    }

    /// How many segments.
    ///
    /// ```
    /// use carecodec_esr::layout::FieldType;
    /// use carecodec_esr::value::{typed_ref, FieldRef};
    ///
    /// let FieldRef::Segments(k) = typed_ref(FieldType::Kff, b"a|b|c", false) else { unreachable!() };
    /// assert_eq!(k.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        memchr::memchr_iter(b'|', self.body).count() + 1
    }

    /// Never true: an empty field is [`FieldRef::Empty`], and `|` alone is one empty segment.
    ///
    /// ```
    /// use carecodec_esr::layout::FieldType;
    /// use carecodec_esr::value::{typed_ref, FieldRef};
    ///
    /// let FieldRef::Segments(k) = typed_ref(FieldType::Kff, b"|", false) else { unreachable!() };
    /// assert!(!k.is_empty());
    /// assert_eq!(k.iter().collect::<Vec<_>>(), [""]);
    /// assert_eq!(typed_ref(FieldType::Kff, b"", false), FieldRef::Empty);
    /// ```
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The raw bytes (trailing `|` dropped).
    ///
    /// ```
    /// use carecodec_esr::layout::FieldType;
    /// use carecodec_esr::value::{typed_ref, FieldRef};
    ///
    /// let FieldRef::Segments(k) = typed_ref(FieldType::Kff, b"N0A|Nurse|", false) else { unreachable!() };
    /// assert_eq!(k.raw(), b"N0A|Nurse");
    /// ```
    pub fn raw(&self) -> &'a [u8] {
        self.body
    }
}

/// Reads a raw field as a typed value (after [`check`] found it valid; an
/// invalid value reads as text).
///
/// ```
/// use carecodec_esr::layout::FieldType;
/// use carecodec_esr::value::{typed, FieldValue};
///
/// assert_eq!(typed(FieldType::Text, b" Caf\xe9", false), FieldValue::Text(" Café".into()));
/// assert_eq!(typed(FieldType::Date, b"20240229", false).to_owned(),
///     FieldValue::Date(chrono::NaiveDate::from_ymd_opt(2024, 2, 29).ok_or("date")?));
/// assert_eq!(typed(FieldType::Date, b"2024-02-29", false), FieldValue::Text("2024-02-29".into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn typed(ty: FieldType, raw: &[u8], utf8: bool) -> FieldValue {
    typed_ref(ty, raw, utf8).into_owned()
}

/// Reads a raw field as a typed value borrowing its text from `raw` (after
/// [`check`] found it valid; an invalid value reads as text).
///
/// ```
/// use carecodec_esr::layout::FieldType;
/// use carecodec_esr::value::{typed_ref, EndDate, FieldRef};
///
/// assert_eq!(typed_ref(FieldType::End, b"47121231", false), FieldRef::End(EndDate::Open));
/// assert_eq!(typed_ref(FieldType::Yn, b"Y", false), FieldRef::Flag(true));
/// assert_eq!(typed_ref(FieldType::Dec, b"37.50", false), FieldRef::Decimal("37.50".into()));
/// ```
pub fn typed_ref(ty: FieldType, raw: &[u8], utf8: bool) -> FieldRef<'_> {
    match read(ty, raw) {
        Read::Empty => FieldRef::Empty,
        Read::Text => FieldRef::Text(decode(raw, utf8)),
        Read::Date(d) => FieldRef::Date(d),
        Read::End(e) => FieldRef::End(e),
        Read::Timestamp(t) => FieldRef::Timestamp(t),
        Read::Decimal => FieldRef::Decimal(decode(raw, utf8)),
        Read::Flag(f) => FieldRef::Flag(f),
        Read::Segments => FieldRef::Segments(Segments::new(raw, utf8)),
    }
}

/// [`typed`], decoding text straight into string buffers from `pool`.
pub(crate) fn typed_pooled(ty: FieldType, raw: &[u8], utf8: bool, pool: &mut Pool) -> FieldValue {
    let text = |pool: &mut Pool, raw: &[u8]| {
        let mut s = pool.string(raw.len());
        decode_into(raw, utf8, &mut s);
        s
    };
    match read(ty, raw) {
        Read::Empty => FieldValue::Empty,
        Read::Text => FieldValue::Text(text(pool, raw)),
        Read::Date(d) => FieldValue::Date(d),
        Read::End(e) => FieldValue::End(e),
        Read::Timestamp(t) => FieldValue::Timestamp(t),
        Read::Decimal => FieldValue::Decimal(text(pool, raw)),
        Read::Flag(f) => FieldValue::Flag(f),
        Read::Segments => {
            let k = Segments::new(raw, utf8);
            let mut list = pool.list(k.len());
            list.extend(k.body.split(|&b| b == b'|').map(|p| text(pool, p)));
            FieldValue::Segments(list)
        }
    }
}

/// What a field reads as, before any text is decoded.
enum Read {
    Empty,
    Text,
    Date(NaiveDate),
    End(EndDate),
    Timestamp(NaiveDateTime),
    Decimal,
    Flag(bool),
    Segments,
}

fn read(ty: FieldType, raw: &[u8]) -> Read {
    use FieldType::*;
    if raw.is_empty() {
        return if ty == End {
            Read::End(EndDate::Open)
        } else {
            Read::Empty
        };
    }
    let parsed = match ty {
        Date => parse_date(raw).map(Read::Date),
        End if raw == OPEN_END => Some(Read::End(EndDate::Open)),
        End => parse_date(raw).map(|d| Read::End(EndDate::On(d))),
        Ts => parse_timestamp(raw).map(Read::Timestamp),
        Dec | DecPos | Dec01 | Pct if is_decimal(raw) => Some(Read::Decimal),
        Yn if raw.eq_ignore_ascii_case(b"yes") || raw.eq_ignore_ascii_case(b"y") => {
            Some(Read::Flag(true))
        }
        Yn if raw.eq_ignore_ascii_case(b"no") || raw.eq_ignore_ascii_case(b"n") => {
            Some(Read::Flag(false))
        }
        Kff => Some(Read::Segments),
        _ => None,
    };
    parsed.unwrap_or(Read::Text)
}

/// A regulator whose register UK Core has an identifier system for, as an
/// ETA "NHS Regs and Memships" row names it.
///
/// ```
/// use carecodec_esr::value::Regulator;
///
/// assert_eq!(Regulator::from_body("General Medical Council"), Some(Regulator::Gmc));
/// assert_eq!(Regulator::from_body(" health & care  professions council"), Some(Regulator::Hcpc));
/// // Other registers and membership bodies are none of these.
/// assert_eq!(Regulator::from_body("Pharmaceutical Society of Northern Ireland"), None);
/// assert_eq!(Regulator::from_body("Royal Pharmaceutical Society"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Regulator {
    /// The General Medical Council.
    Gmc,
    /// The Nursing and Midwifery Council.
    Nmc,
    /// The Health and Care Professions Council.
    Hcpc,
    /// The General Pharmaceutical Council.
    Gphc,
}

impl Regulator {
    /// The regulator a body names, by its exact name or initials (case,
    /// spacing and `&` for `and` aside; HCPC also by its former name, the
    /// Health Professions Council). Other bodies (the Pharmaceutical Society
    /// of Northern Ireland, the Royal Pharmaceutical Society, the General
    /// Dental Council…) are none of these: their numbers are on other
    /// registers, or are memberships.
    ///
    /// ```
    /// use carecodec_esr::value::Regulator;
    ///
    /// assert_eq!(Regulator::from_body("NMC"), Some(Regulator::Nmc));
    /// assert_eq!(Regulator::from_body("General Dental Council"), None);
    /// ```
    pub fn from_body(body: &str) -> Option<Regulator> {
        let mut name = String::with_capacity(body.len());
        for w in body.split_whitespace() {
            if !name.is_empty() {
                name.push(' ');
            }
            if w == "&" {
                name.push_str("and");
            } else {
                name.extend(w.chars().map(|c| c.to_ascii_lowercase()));
            }
        }
        match name.as_str() {
            "general medical council" | "gmc" => Some(Regulator::Gmc),
            "nursing and midwifery council" | "nmc" => Some(Regulator::Nmc),
            "health and care professions council"
            | "hcpc"
            | "health professions council"
            | "hpc" => Some(Regulator::Hcpc),
            "general pharmaceutical council" | "gphc" => Some(Regulator::Gphc),
            _ => None,
        }
    }

    /// True when `number` has the shape of a number on this register: GMC
    /// seven digits (or `L` and six, a locum's temporary number), NMC
    /// `01Z2345A`, HCPC two letters and one to six digits, GPhC seven digits
    /// starting 2 (a pharmacist) or 5 (a pharmacy technician). The same
    /// shapes as `carecodec_model::Identifier::registration_problem`, which
    /// the mapping uses.
    ///
    /// ```
    /// use carecodec_esr::value::Regulator;
    ///
    /// assert!(Regulator::Gmc.valid_number(" 7000002"));
    /// assert!(!Regulator::Nmc.valid_number("Retired"));
    /// ```
    pub fn valid_number(self, number: &str) -> bool {
        let b = number.trim().as_bytes();
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        match self {
            Regulator::Gmc => {
                (b.len() == 7 && digits(b))
                    || matches!(b, [b'L', rest @ ..] if rest.len() == 6 && digits(rest))
            }
            Regulator::Nmc => matches!(b,
                [d1, d2, l, rest @ .., last]
                    if d1.is_ascii_digit() && d2.is_ascii_digit() && l.is_ascii_uppercase()
                        && rest.len() == 4 && digits(rest) && last.is_ascii_uppercase()),
            Regulator::Hcpc => matches!(b,
                [a, c, rest @ ..]
                    if a.is_ascii_uppercase() && c.is_ascii_uppercase()
                        && (1..=6).contains(&rest.len()) && digits(rest)),
            Regulator::Gphc => b.len() == 7 && matches!(b.first(), Some(b'2' | b'5')) && digits(b),
        }
    }
}

/// Checks a professional registration number for its body (ETA rows): `None`
/// when the body is not one of the [`Regulator`]s (its numbers are not
/// checked), else whether the number has its register's shape.
///
/// ```
/// use carecodec_esr::value::valid_registration;
///
/// assert_eq!(valid_registration("General Medical Council", "7000002"), Some(true));
/// assert_eq!(valid_registration("GMC", "12AB"), Some(false));
/// assert_eq!(valid_registration("Pharmaceutical Society of Northern Ireland", "1234"), None);
/// ```
pub fn valid_registration(body: &str, number: &str) -> Option<bool> {
    Regulator::from_body(body).map(|r| r.valid_number(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        let run = |ty, req, raw: &[u8]| {
            let mut v = Vec::new();
            check(ty, req, raw, false, &mut v);
            v.into_iter().map(|(_, k)| k).collect::<Vec<_>>()
        };
        assert!(run(FieldType::End, false, b"47121231").is_empty());
        assert_eq!(
            run(FieldType::Date, false, b"19901341"),
            [ProblemKind::InvalidDate]
        );
        assert_eq!(
            run(FieldType::Dec01, false, b"1.5"),
            [ProblemKind::FteAboveOne]
        );
        assert_eq!(
            run(FieldType::DecPos, false, b"-4"),
            [ProblemKind::InvalidNumber("negative")]
        );
        assert_eq!(
            run(FieldType::Yn, false, b"Maybe"),
            [ProblemKind::InvalidFlag]
        );
        assert!(run(FieldType::Yn, false, b"yes").is_empty());
        assert_eq!(
            run(FieldType::Text, true, b""),
            [ProblemKind::MissingRequired]
        );
        assert!(run(FieldType::Ts, false, b"20240101").is_empty());
        assert!(run(FieldType::Ts, false, b"20240101 235959").is_empty());
        assert_eq!(
            run(FieldType::Ts, false, b"20240101 2359"),
            [ProblemKind::InvalidTimestamp]
        );
        assert!(run(FieldType::Nino, false, b"JK 00 00 01 A").is_empty());
        assert_eq!(
            run(FieldType::AsgNo, false, b"12-x"),
            [ProblemKind::InvalidAssignmentNumber]
        );
        assert!(run(FieldType::Occ, false, b"N0A").is_empty());
    }

    #[test]
    fn fast_checks_agree_with_the_parsers() {
        let mut dates = vec![
            &b"20240229"[..],
            b"20230229",
            b"19000229",
            b"20000229",
            b"00000101",
            b"99991231",
            b"20241301",
            b"20240001",
            b"20240100",
            b"20240431",
            b"2024043",
            b"2024-4-1",
            b"",
        ];
        let many: Vec<String> = (0..2500)
            .map(|i| format!("{:04}{:02}{:02}", 1896 + i % 9, i % 14, i % 33))
            .collect();
        dates.extend(many.iter().map(|s| s.as_bytes()));
        for d in &dates {
            assert_eq!(valid_date(d), parse_date(d).is_some(), "{:?}", d);
        }
        for t in [
            &b"20240101 235959"[..],
            b"20240101 240000",
            b"20240101 236000",
            b"20240101 235960",
            b"20240101",
            b"20240101 ",
            b"20240101 2359",
            b"20240101x235959",
            b"20240230 000000",
        ] {
            assert_eq!(valid_timestamp(t), parse_timestamp(t).is_some(), "{:?}", t);
        }
        for (raw, limit, want) in [
            (&b"1"[..], 1, (false, false)),
            (b"1.0000", 1, (false, false)),
            (b"1.0001", 1, (false, true)),
            (b"0001.5", 1, (false, true)),
            (b"-0", 1, (false, false)),
            (b"-0.00", 1, (false, false)),
            (b"-0.01", 1, (true, false)),
            (b"100", 100, (false, false)),
            (b"100.1", 100, (false, true)),
            (b"99.99", 100, (false, false)),
            (b"12345678901234567890", 100, (false, true)),
        ] {
            assert_eq!(decimal_sign_and_above(raw, limit), want, "{:?}", raw);
        }
        for ni in [
            &b"JK000001A"[..],
            b"jk 00 00 01 a",
            b"JK\t000001A",
            b"JK000001A ",
            b"JK0000011A",
            b"QQ123456C",
            b"JK\x0b000001A",
        ] {
            let slow = valid_ni(&normalise_ni(&decode(ni, false)));
            assert_eq!(valid_ni_raw(ni, false), slow, "{:?}", ni);
        }
    }

    #[test]
    fn registrations() {
        assert_eq!(
            valid_registration("General Medical Council", " 7000002"),
            Some(true)
        );
        assert_eq!(
            valid_registration("Nursing and Midwifery Council", " 99X0001A"),
            Some(true)
        );
        assert_eq!(
            valid_registration("Nursing and Midwifery Council", "Retired"),
            Some(false)
        );
        assert_eq!(
            valid_registration("Health and Care Professions Council", "PA12345"),
            Some(true)
        );
        assert_eq!(
            valid_registration("General Pharmaceutical Council", "2012345"),
            Some(true)
        );
        // A pharmacy technician's number starts 5; premises (1…) are no person.
        assert_eq!(
            valid_registration("General Pharmaceutical Council", "5012345"),
            Some(true)
        );
        assert_eq!(
            valid_registration("General Pharmaceutical Council", "1012345"),
            Some(false)
        );
        assert_eq!(valid_registration("Royal College", "x"), None);
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            typed(FieldType::End, b"", false),
            FieldValue::End(EndDate::Open)
        );
        assert_eq!(
            typed(FieldType::End, b"47121231", false),
            FieldValue::End(EndDate::Open)
        );
        assert_eq!(
            typed(
                FieldType::Kff,
                b"3000001|Staff Nurse, Band 5|N0A|Elderly Care|",
                false
            ),
            FieldValue::Segments(vec![
                "3000001".into(),
                "Staff Nurse, Band 5".into(),
                "N0A".into(),
                "Elderly Care".into()
            ])
        );
        assert_eq!(
            typed(FieldType::Dec01, b"0.80", false),
            FieldValue::Decimal("0.80".into())
        );
        assert_eq!(
            parse_dmy(b"01/04/2022 00:00:00"),
            NaiveDate::from_ymd_opt(2022, 4, 1)
        );
    }
}
