//! Path notation: `PID-3[2].1.1`, `OBX[3]-5`, and the dotted `PID.3.1`.
//!
//! A path names a segment (with an optional 1-based occurrence in brackets),
//! then optionally a field (with an optional 1-based repetition in brackets),
//! a component and a subcomponent. Omitted occurrences and repetitions mean
//! the first. [`Path`]'s `Display` writes every index out, as in
//! `PID[1]-5[1].1.1`; [`Path::parse`] reads that form back.

use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// A parsed path to a segment, field, repetition, component or subcomponent.
///
/// ```
/// use carecodec_hl7v2::Path;
///
/// let p = Path::parse("PID-3[2].1").unwrap();
/// assert_eq!(p.segment(), "PID");
/// assert_eq!((p.field, p.repetition, p.component), (Some(3), Some(2), Some(1)));
/// assert_eq!(p.to_string(), "PID[1]-3[2].1");
/// assert_eq!(Path::parse("PID.3.1").unwrap(), Path::parse("PID-3.1").unwrap());
/// assert_eq!(Path::parse("OBX[3]-5").unwrap().occurrence, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Path {
    id: [u8; 3],
    /// 1-based occurrence of the segment in the message.
    pub occurrence: u32,
    /// 1-based field number (`MSH-1` is the field separator itself).
    pub field: Option<u32>,
    /// 1-based repetition of the field; `None` means the whole field, all
    /// repetitions, in lookups that return a field, and the first otherwise.
    pub repetition: Option<u32>,
    /// 1-based component.
    pub component: Option<u32>,
    /// 1-based subcomponent.
    pub subcomponent: Option<u32>,
}

impl Path {
    /// A path to the `occurrence`th segment `id` (three upper-case letters or digits).
    ///
    /// ```
    /// use carecodec_hl7v2::Path;
    ///
    /// let p = Path::segment_path("OBX", 2).unwrap().field(5).component(1);
    /// assert_eq!(p.to_string(), "OBX[2]-5.1");
    /// ```
    pub fn segment_path(id: &str, occurrence: u32) -> Result<Path> {
        let id = parse_id(id.as_bytes(), id)?;
        Ok(Path {
            id,
            occurrence: occurrence.max(1),
            field: None,
            repetition: None,
            component: None,
            subcomponent: None,
        })
    }

    /// A path to the `occurrence`th segment `id`, for an id the parser has
    /// already checked (no validation).
    pub(crate) const fn from_checked_id(id: [u8; 3], occurrence: u32) -> Path {
        Path {
            id,
            occurrence: if occurrence == 0 { 1 } else { occurrence },
            field: None,
            repetition: None,
            component: None,
            subcomponent: None,
        }
    }

    /// A path to field `field` of the `occurrence`th segment `id`, built
    /// with no parsing and usable in a `const`: a mapper's fixed paths can
    /// be constants rather than text parsed on every message. Narrow it
    /// further with [`Path::repetition`], [`Path::component`] and
    /// [`Path::subcomponent`] (all `const` too).
    ///
    /// `None` when `id` is not a segment id (an upper-case letter, then two
    /// upper-case letters or digits) or an index is zero, as
    /// [`Path::parse`] would reject them.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, Path};
    ///
    /// /// PV1-19.4.1, the visit number's assigning authority.
    /// const VISIT_AUTHORITY: Path = match Path::field_of(*b"PV1", 1, 19) {
    ///     Some(p) => p.component(4).subcomponent(1),
    ///     None => panic!("not a segment id"), // a compile-time error
    /// };
    /// assert_eq!(Path::parse("PV1-19.4.1").ok(), Some(VISIT_AUTHORITY));
    /// assert_eq!(VISIT_AUTHORITY.to_string(), "PV1[1]-19.4.1");
    ///
    /// assert_eq!(Path::field_of(*b"pv1", 1, 19), None);
    /// assert_eq!(Path::field_of(*b"PV1", 1, 0), None);
    ///
    /// let input = format!("MSH|^~\\&\rPV1|1|I{}|V123^^^RX1&1.2.3&ISO\r", "|".repeat(16));
    /// let msg = Message::parse(input.as_bytes()).unwrap();
    /// assert_eq!(msg.query(&VISIT_AUTHORITY).unwrap().raw(), b"RX1");
    /// ```
    pub const fn field_of(id: [u8; 3], occurrence: u32, field: u32) -> Option<Path> {
        let [a, b, c] = id;
        let valid_id = a.is_ascii_uppercase()
            && (b.is_ascii_uppercase() || b.is_ascii_digit())
            && (c.is_ascii_uppercase() || c.is_ascii_digit());
        if !valid_id || occurrence == 0 || field == 0 {
            return None;
        }
        Some(Path {
            id,
            occurrence,
            field: Some(field),
            repetition: None,
            component: None,
            subcomponent: None,
        })
    }

    /// The segment identifier, e.g. `PID`.
    ///
    /// ```
    /// use carecodec_hl7v2::Path;
    ///
    /// assert_eq!(Path::parse("OBX[2]-5")?.segment(), "OBX");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn segment(&self) -> &str {
        std::str::from_utf8(&self.id).unwrap_or("???")
    }

    /// The segment identifier as bytes.
    ///
    /// ```
    /// use carecodec_hl7v2::Path;
    ///
    /// assert_eq!(Path::parse("PV1-19")?.segment_id(), *b"PV1");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub const fn segment_id(&self) -> [u8; 3] {
        self.id
    }

    /// This path narrowed to field `n`.
    ///
    /// ```
    /// use carecodec_hl7v2::Path;
    ///
    /// let p = Path::segment_path("PID", 1)?.field(5);
    /// assert_eq!(p, Path::parse("PID-5")?);
    /// assert_eq!(p.field, Some(5));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    #[must_use]
    pub const fn field(mut self, n: u32) -> Path {
        self.field = Some(n);
        self
    }

    /// This path narrowed to repetition `n`.
    ///
    /// ```
    /// use carecodec_hl7v2::Path;
    ///
    /// let p = Path::segment_path("PID", 1)?.field(3).repetition(2);
    /// assert_eq!(p.to_string(), "PID[1]-3[2]");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    #[must_use]
    pub const fn repetition(mut self, n: u32) -> Path {
        self.repetition = Some(n);
        self
    }

    /// This path narrowed to component `n`.
    ///
    /// ```
    /// use carecodec_hl7v2::Path;
    ///
    /// let p = Path::segment_path("PID", 1)?.field(5).component(2);
    /// assert_eq!(p, Path::parse("PID-5.2")?);
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    #[must_use]
    pub const fn component(mut self, n: u32) -> Path {
        self.component = Some(n);
        self
    }

    /// This path narrowed to subcomponent `n`.
    ///
    /// ```
    /// use carecodec_hl7v2::Path;
    ///
    /// let p = Path::segment_path("PID", 1)?.field(3).component(4).subcomponent(2);
    /// assert_eq!(p.to_string(), "PID[1]-3.4.2");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    #[must_use]
    pub const fn subcomponent(mut self, n: u32) -> Path {
        self.subcomponent = Some(n);
        self
    }

    /// Parses a path. Accepts `SEG`, `SEG[n]`, `-` or `.` before the field,
    /// `[n]` after the field for the repetition, then `.component` and
    /// `.subcomponent`. Indices are 1-based; zero is rejected.
    ///
    /// ```
    /// use carecodec_hl7v2::Path;
    ///
    /// assert!(Path::parse("PID-0").is_err());
    /// assert!(Path::parse("pid-3").is_err());
    /// assert!(Path::parse("PID-3.1.2.3").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Path> {
        match Path::parse_plain(s.as_bytes()) {
            Some(p) => Ok(p),
            None => Path::parse_general(s),
        }
    }

    /// Every form, with the reason when it is not a path.
    fn parse_general(s: &str) -> Result<Path> {
        let b = s.as_bytes();
        let id = parse_id(b.get(..3).unwrap_or(b), s)?;
        let mut p = Path {
            id,
            occurrence: 1,
            field: None,
            repetition: None,
            component: None,
            subcomponent: None,
        };
        let mut rest = b.get(3..).unwrap_or_default();
        if let Some((n, r)) = bracket(rest, s)? {
            p.occurrence = n;
            rest = r;
        }
        if rest.is_empty() {
            return Ok(p);
        }
        let (sep, r) = rest.split_first().unwrap_or((&0, rest));
        if *sep != b'-' && *sep != b'.' {
            return Err(bad(s, "expected '-' or '.' after the segment"));
        }
        let (n, r) = number(r, s)?;
        p.field = Some(n);
        rest = r;
        if let Some((n, r)) = bracket(rest, s)? {
            p.repetition = Some(n);
            rest = r;
        }
        let mut deeper = [None, None];
        for slot in &mut deeper {
            if rest.is_empty() {
                break;
            }
            let Some((b'.', r)) = rest.split_first() else {
                return Err(bad(s, "expected '.' before a component"));
            };
            let (n, r) = number(r, s)?;
            *slot = Some(n);
            rest = r;
        }
        let [component, subcomponent] = deeper;
        p.component = component;
        p.subcomponent = subcomponent;
        if rest.is_empty() {
            Ok(p)
        } else {
            Err(bad(s, "unexpected text after the subcomponent"))
        }
    }
}

impl Path {
    /// The common form, `SEG-F`, `SEG-F.C` or `SEG-F.C.S` (no brackets), in
    /// one pass; `None` for anything else, which [`Path::parse`] then reads
    /// (and reports) the general way. Mappers name most of their fields so,
    /// and parse them on every message.
    fn parse_plain(b: &[u8]) -> Option<Path> {
        let ([a, b1, c], rest) = b.split_first_chunk::<3>()?;
        let upper_or_digit = |x: &u8| x.is_ascii_uppercase() || x.is_ascii_digit();
        if !(a.is_ascii_uppercase() && upper_or_digit(b1) && upper_or_digit(c)) {
            return None;
        }
        let (b'-', mut rest) = rest.split_first()? else {
            return None;
        };
        let mut nums = [None; 3];
        // The text must end right after a number: a '.' after the third
        // ("PID-1.2.3.") is for the general reader to reject.
        let mut ended = false;
        for slot in &mut nums {
            let mut n = 0u32;
            let mut digits = 0;
            while let Some((d @ b'0'..=b'9', r)) = rest.split_first() {
                if digits == 9 {
                    return None; // too large: the general reader says so
                }
                n = n * 10 + u32::from(d - b'0');
                digits += 1;
                rest = r;
            }
            if n == 0 {
                return None;
            }
            *slot = Some(n);
            match rest.split_first() {
                None => {
                    ended = true;
                    break;
                }
                Some((b'.', r)) => rest = r,
                Some(_) => return None,
            }
        }
        if !ended {
            return None;
        }
        let [field, component, subcomponent] = nums;
        Some(Path {
            id: [*a, *b1, *c],
            occurrence: 1,
            field,
            repetition: None,
            component,
            subcomponent,
        })
    }
}

impl std::str::FromStr for Path {
    type Err = Error;
    fn from_str(s: &str) -> Result<Path> {
        Path::parse(s)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.segment(), self.occurrence)?;
        if let Some(field) = self.field {
            write!(f, "-{field}")?;
            if let Some(r) = self.repetition {
                write!(f, "[{r}]")?;
            }
            if let Some(c) = self.component {
                write!(f, ".{c}")?;
                if let Some(s) = self.subcomponent {
                    write!(f, ".{s}")?;
                }
            }
        }
        Ok(())
    }
}

#[cold]
fn bad(path: &str, reason: &'static str) -> Error {
    Error::new(
        ErrorKind::InvalidPath {
            path: path.to_owned(),
            reason,
        },
        0,
        0,
    )
}

fn parse_id(id: &[u8], path: &str) -> Result<[u8; 3]> {
    match id {
        [a, b, c]
            if a.is_ascii_uppercase()
                && (b.is_ascii_uppercase() || b.is_ascii_digit())
                && (c.is_ascii_uppercase() || c.is_ascii_digit()) =>
        {
            Ok([*a, *b, *c])
        }
        _ => Err(bad(
            path,
            "a segment id is three upper-case letters or digits",
        )),
    }
}

fn number<'b>(b: &'b [u8], path: &str) -> Result<(u32, &'b [u8])> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return Err(bad(path, "expected a number"));
    }
    if digits > 9 {
        return Err(bad(path, "number too large"));
    }
    let (num, rest) = b.split_at(digits);
    let n = num
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    if n == 0 {
        return Err(bad(path, "indices are 1-based"));
    }
    Ok((n, rest))
}

fn bracket<'b>(b: &'b [u8], path: &str) -> Result<Option<(u32, &'b [u8])>> {
    let Some((b'[', r)) = b.split_first() else {
        return Ok(None);
    };
    let (n, r) = number(r, path)?;
    match r.split_first() {
        Some((b']', r)) => Ok(Some((n, r))),
        _ => Err(bad(path, "expected ']'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-pass reader of the plain form agrees with the general
        /// reader wherever it answers, and answers for every plain path.
        #[test]
        fn plain_form_agrees_with_the_general_reader(s in "[A-Z0-9a]{2,4}[-.]?[0-9]{0,11}(\\.[0-9]{0,3}){0,4}\\]?") {
            if let Some(p) = Path::parse_plain(s.as_bytes()) {
                proptest::prop_assert_eq!(Ok(p), Path::parse_general(&s));
            }
        }

        #[test]
        fn every_plain_path_takes_the_fast_way(seg in "[A-Z][A-Z0-9]{2}", f in 1u32..1_000_000_000, c in proptest::option::of(1u32..100), sub in proptest::option::of(1u32..100)) {
            let mut text = format!("{seg}-{f}");
            if let Some(c) = c {
                text.push_str(&format!(".{c}"));
                if let Some(sub) = sub {
                    text.push_str(&format!(".{sub}"));
                }
            }
            let general = Path::parse_general(&text).unwrap();
            proptest::prop_assert_eq!(Path::parse_plain(text.as_bytes()), Some(general));
        }
    }

    proptest::proptest! {
        /// `field_of` builds what `parse` reads, and refuses what it refuses.
        #[test]
        fn field_of_agrees_with_parse(
            id in proptest::prop_oneof![
                proptest::array::uniform3(proptest::sample::select(b"AZ09".to_vec())),
                proptest::array::uniform3(proptest::prelude::any::<u8>()),
            ],
            occurrence in 0u32..4,
            field in 0u32..1_000,
            component in proptest::option::of(1u32..30),
        ) {
            let text = format!(
                "{}[{occurrence}]-{field}",
                String::from_utf8_lossy(&id),
            );
            let parsed = Path::parse(&text).ok();
            let built = Path::field_of(id, occurrence, field);
            proptest::prop_assert_eq!(built, parsed);
            if let (Some(b), Some(c)) = (built, component) {
                proptest::prop_assert_eq!(Some(b.component(c)), Path::parse(&format!("{text}.{c}")).ok());
            }
        }
    }

    #[test]
    fn forms() {
        let p = Path::parse("PID-3[2].1.1").unwrap();
        assert_eq!(p.to_string(), "PID[1]-3[2].1.1");
        assert_eq!(Path::parse(&p.to_string()).unwrap(), p);
        assert_eq!(Path::parse("MSH").unwrap().to_string(), "MSH[1]");
        assert_eq!(Path::parse("ZU1[2]").unwrap().occurrence, 2);
        for bad in [
            "",
            "PI",
            "PID-",
            "PID-3[",
            "PID-3[0]",
            "PID-3.x",
            "PID-3]",
            "PID 3",
            "PID-3.1.1.1",
            "PID-3.1.1.",
            "PID-3.1.",
            "PID-3.",
            "PID-99999999999",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }
}
