//! Where a value came from, and what a mapping did with its source.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::identifier::Identifier;

/// A fully indexed HL7 v2 location: segment and its occurrence, then field,
/// repetition, component and subcomponent as deep as the value lies.
///
/// It is a small `Copy` value (no allocation per mapped value); it prints and
/// serialises as `SEG[occurrence]-field[repetition].component.subcomponent`.
///
/// ```
/// use carecodec_model::V2Path;
///
/// let p = V2Path::new(*b"PID", 1).unwrap().field(3).repetition(2).component(1);
/// assert_eq!(p.to_string(), "PID[1]-3[2].1");
/// assert_eq!(V2Path::parse("PID[1]-3[2].1"), Some(p));
/// // Shorthand reads with the first occurrence.
/// assert_eq!(V2Path::parse("PID-3[2].1"), Some(p));
/// assert_eq!(V2Path::parse("pid-3"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct V2Path {
    segment: [u8; 3],
    /// 1-based occurrence of the segment in the message.
    pub occurrence: u32,
    /// 1-based field.
    pub field: Option<u32>,
    /// 1-based repetition.
    pub repetition: Option<u32>,
    /// 1-based component.
    pub component: Option<u32>,
    /// 1-based subcomponent.
    pub subcomponent: Option<u32>,
}

impl V2Path {
    /// The `occurrence`th segment `segment` (an upper-case letter, then upper-case
    /// letters or digits); `None` for anything else or occurrence 0.
    ///
    /// ```
    /// use carecodec_model::V2Path;
    ///
    /// assert_eq!(V2Path::new(*b"PID", 1).unwrap().to_string(), "PID[1]");
    /// assert_eq!(V2Path::new(*b"ZU1", 2).unwrap().segment(), "ZU1");
    /// assert_eq!(V2Path::new(*b"pid", 1), None);
    /// assert_eq!(V2Path::new(*b"PID", 0), None);
    /// ```
    pub fn new(segment: [u8; 3], occurrence: u32) -> Option<V2Path> {
        let [a, b, c] = segment;
        let ok = |x: u8| x.is_ascii_uppercase() || x.is_ascii_digit();
        (a.is_ascii_uppercase() && ok(b) && ok(c) && occurrence > 0).then_some(V2Path {
            segment,
            occurrence,
            field: None,
            repetition: None,
            component: None,
            subcomponent: None,
        })
    }

    /// The segment identifier, e.g. `PID`.
    ///
    /// ```
    /// assert_eq!(carecodec_model::V2Path::parse("OBX[2]-5").unwrap().segment(), "OBX");
    /// ```
    pub fn segment(&self) -> &str {
        std::str::from_utf8(&self.segment).unwrap_or("???")
    }

    /// This path narrowed to field `n`.
    ///
    /// ```
    /// let p = carecodec_model::V2Path::new(*b"PV1", 1).unwrap().field(3);
    /// assert_eq!(p.to_string(), "PV1[1]-3");
    /// ```
    #[must_use]
    pub fn field(mut self, n: u32) -> V2Path {
        self.field = Some(n);
        self
    }

    /// This path narrowed to repetition `n`.
    ///
    /// ```
    /// let p = carecodec_model::V2Path::new(*b"PID", 1).unwrap().field(3).repetition(2);
    /// assert_eq!(p.to_string(), "PID[1]-3[2]");
    /// ```
    #[must_use]
    pub fn repetition(mut self, n: u32) -> V2Path {
        self.repetition = Some(n);
        self
    }

    /// This path narrowed to component `n`.
    ///
    /// ```
    /// let p = carecodec_model::V2Path::new(*b"PID", 1).unwrap().field(5).component(2);
    /// assert_eq!(p.to_string(), "PID[1]-5.2");
    /// ```
    #[must_use]
    pub fn component(mut self, n: u32) -> V2Path {
        self.component = Some(n);
        self
    }

    /// This path narrowed to subcomponent `n`.
    ///
    /// ```
    /// let p = carecodec_model::V2Path::new(*b"PID", 1).unwrap().field(5).component(1).subcomponent(1);
    /// assert_eq!(p.to_string(), "PID[1]-5.1.1");
    /// ```
    #[must_use]
    pub fn subcomponent(mut self, n: u32) -> V2Path {
        self.subcomponent = Some(n);
        self
    }

    /// Reads the form [`Display`](std::fmt::Display) writes (`PID[1]-3[2].1.1`);
    /// the occurrence and repetition brackets may be left out. `None` for
    /// anything else, or an index of 0.
    ///
    /// ```
    /// use carecodec_model::V2Path;
    ///
    /// let p = V2Path::parse("OBX[3]-5.1.2").unwrap();
    /// assert_eq!((p.occurrence, p.field, p.component, p.subcomponent), (3, Some(5), Some(1), Some(2)));
    /// assert_eq!(V2Path::parse("OBX-0"), None);
    /// ```
    pub fn parse(s: &str) -> Option<V2Path> {
        let b = s.as_bytes();
        let id: [u8; 3] = b.get(..3)?.try_into().ok()?;
        let mut rest = b.get(3..)?;
        let mut p = V2Path::new(id, 1)?;
        if let Some((n, r)) = bracketed(rest)? {
            p.occurrence = n;
            rest = r;
        }
        let Some(r) = rest.strip_prefix(b"-") else {
            return rest.is_empty().then_some(p);
        };
        let (f, mut rest) = number(r)?;
        p.field = Some(f);
        if let Some((n, r)) = bracketed(rest)? {
            p.repetition = Some(n);
            rest = r;
        }
        for slot in [&mut p.component, &mut p.subcomponent] {
            let Some(r) = rest.strip_prefix(b".") else {
                break;
            };
            let (n, r) = number(r)?;
            *slot = Some(n);
            rest = r;
        }
        rest.is_empty().then_some(p)
    }
}

/// A positive decimal number at the start of `b`, and what follows it.
fn number(b: &[u8]) -> Option<(u32, &[u8])> {
    let end = b
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(b.len());
    let (digits, rest) = b.split_at(end);
    let n: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (n > 0).then_some((n, rest))
}

/// `[n]` at the start of `b`: `Some(None)` when `b` does not start with `[`,
/// `None` when the bracket is malformed.
fn bracketed(b: &[u8]) -> Option<Option<(u32, &[u8])>> {
    let Some(r) = b.strip_prefix(b"[") else {
        return Some(None);
    };
    let (n, r) = number(r)?;
    Some(Some((n, r.strip_prefix(b"]")?)))
}

impl std::fmt::Display for V2Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

impl std::str::FromStr for V2Path {
    type Err = String;

    fn from_str(s: &str) -> Result<V2Path, String> {
        V2Path::parse(s).ok_or_else(|| format!("not an HL7 v2 path: {s:?}"))
    }
}

#[cfg(feature = "serde")]
impl Serialize for V2Path {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for V2Path {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<V2Path, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The place in a source a value was read from.
///
/// ```
/// use carecodec_model::{Source, V2Path};
///
/// let s = Source::v2(V2Path::parse("PID[1]-5[1].1.1").unwrap(), 120..125);
/// assert_eq!(s.to_string(), "HL7 v2 PID[1]-5[1].1.1 (bytes 120..125)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "format", rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Source {
    /// An HL7 v2 leaf: fully indexed path and byte span in the message.
    V2 {
        /// `PID[1]-3[2].1.1` (serialised as that text).
        path: V2Path,
        /// Byte range in the original message.
        span: Range<usize>,
    },
    /// A FHIR element path (`Patient.name[0].given[1]`).
    Fhir {
        /// The element path.
        path: String,
    },
    /// An ESR field: file, line and field name.
    ///
    /// The file name is shared by every value read from the file (cloning
    /// it counts a reference), and a field name from the layout tables is
    /// borrowed: an ESR value's source allocates nothing.
    Esr {
        /// The file, as the mapping was given it: `carecodec map` passes
        /// the path as given on the command line, so two files of one name
        /// in two folders are told apart.
        file: Arc<str>,
        /// 1-based line.
        line: u64,
        /// Field name (`Last Name`).
        field: Cow<'static, str>,
    },
    /// Derived from other values by a rule (e.g. a default), named.
    Derived {
        /// What rule produced it.
        rule: String,
    },
}

impl Source {
    /// A v2 source.
    ///
    /// ```
    /// use carecodec_model::{Source, V2Path};
    ///
    /// let s = Source::v2(V2Path::parse("PID-3[1].1").unwrap(), 62..72);
    /// assert_eq!(s.to_string(), "HL7 v2 PID[1]-3[1].1 (bytes 62..72)");
    /// ```
    pub fn v2(path: V2Path, span: Range<usize>) -> Source {
        Source::V2 { path, span }
    }

    /// A FHIR source.
    ///
    /// ```
    /// use carecodec_model::Source;
    ///
    /// let s = Source::fhir("Patient.name[0].given[1]");
    /// assert_eq!(s.to_string(), "FHIR Patient.name[0].given[1]");
    /// ```
    pub fn fhir(path: impl Into<String>) -> Source {
        Source::Fhir { path: path.into() }
    }

    /// An ESR source. Pass an `Arc<str>` already made for the file to share
    /// it, and a `&'static str` field name to borrow it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use carecodec_model::Source;
    ///
    /// let file: Arc<str> = Arc::from("GO_998_GDW_GOF_20250401_00000001.DAT");
    /// let s = Source::esr(Arc::clone(&file), 5, "Last Name");
    /// assert_eq!(s.to_string(), "ESR GO_998_GDW_GOF_20250401_00000001.DAT:5 Last Name");
    /// assert!(matches!(&s, Source::Esr { field, .. } if field == "Last Name"));
    /// ```
    pub fn esr(
        file: impl Into<Arc<str>>,
        line: u64,
        field: impl Into<Cow<'static, str>>,
    ) -> Source {
        Source::Esr {
            file: file.into(),
            line,
            field: field.into(),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::V2 { path, span } => {
                write!(f, "HL7 v2 {path} (bytes {}..{})", span.start, span.end)
            }
            Source::Fhir { path } => write!(f, "FHIR {path}"),
            Source::Esr { file, line, field } => write!(f, "ESR {file}:{line} {field}"),
            Source::Derived { rule } => write!(f, "derived: {rule}"),
        }
    }
}

/// The sources of one value: usually exactly one, kept inline so that a
/// mapped value costs no allocation for its provenance; more than one (a value
/// combined from several fields) spill to the heap.
///
/// It reads as a slice of [`Source`]s, compares and serialises as one (a
/// JSON array), and grows like a `Vec`.
///
/// ```
/// use carecodec_model::{Source, Sources, V2Path};
///
/// let at = |f| Source::v2(V2Path::new(*b"PID", 1).unwrap().field(f), 0..1);
/// let mut s = Sources::one(at(5));
/// assert_eq!(s.len(), 1);
/// s.push(at(7));
/// s.extend([at(8)]);
/// assert_eq!(s.len(), 3);
/// assert_eq!(s[1], at(7));
/// assert_eq!(s, Sources::from(vec![at(5), at(7), at(8)]));
/// assert!(Sources::new().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Sources(SourcesRepr);

#[derive(Clone)]
enum SourcesRepr {
    One([Source; 1]),
    Many(Vec<Source>),
}

impl Default for SourcesRepr {
    fn default() -> SourcesRepr {
        SourcesRepr::Many(Vec::new())
    }
}

impl Sources {
    /// No source (allocates nothing).
    ///
    /// ```
    /// use carecodec_model::Sources;
    ///
    /// let s = Sources::new();
    /// assert!(s.is_empty());
    /// assert_eq!(s, Sources::default());
    /// ```
    pub fn new() -> Sources {
        Sources::default()
    }

    /// One source, held inline.
    ///
    /// ```
    /// use carecodec_model::{Source, Sources};
    ///
    /// let s = Sources::one(Source::fhir("Patient.gender"));
    /// assert_eq!(s.len(), 1);
    /// assert_eq!(s[0].to_string(), "FHIR Patient.gender");
    /// ```
    pub fn one(source: Source) -> Sources {
        Sources(SourcesRepr::One([source]))
    }

    /// The sources as a slice.
    ///
    /// ```
    /// use carecodec_model::{Source, Sources};
    ///
    /// let family = Source::fhir("Patient.name[0].family");
    /// let given = Source::fhir("Patient.name[0].given[0]");
    /// let s = Sources::from(vec![family.clone(), given.clone()]);
    /// assert_eq!(s.as_slice(), [family, given]);
    /// ```
    pub fn as_slice(&self) -> &[Source] {
        match &self.0 {
            SourcesRepr::One(one) => one,
            SourcesRepr::Many(many) => many,
        }
    }

    /// Adds a source.
    ///
    /// ```
    /// use carecodec_model::{Source, Sources};
    ///
    /// let mut s = Sources::new();
    /// s.push(Source::fhir("Patient.name[0].family"));
    /// s.push(Source::fhir("Patient.name[0].given[0]"));
    /// assert_eq!(s.len(), 2);
    /// assert_eq!(s[1], Source::fhir("Patient.name[0].given[0]"));
    /// ```
    pub fn push(&mut self, source: Source) {
        match &mut self.0 {
            SourcesRepr::Many(many) if many.is_empty() && many.capacity() == 0 => {
                self.0 = SourcesRepr::One([source]);
            }
            SourcesRepr::Many(many) => many.push(source),
            SourcesRepr::One(_) => {
                let SourcesRepr::One([first]) = std::mem::take(&mut self.0) else {
                    return;
                };
                // A value combined from several fields usually has a few.
                let mut many = Vec::with_capacity(4);
                many.push(first);
                many.push(source);
                self.0 = SourcesRepr::Many(many);
            }
        }
    }

    /// Moves `other`'s sources to the end: what `extend(other)` does, with
    /// no iterator over `other` (a reader combining values' sources calls
    /// this for each value, most with one source).
    ///
    /// ```
    /// use carecodec_model::{Source, Sources};
    ///
    /// let mut s = Sources::one(Source::fhir("Patient.name[0].family"));
    /// s.append(Sources::one(Source::fhir("Patient.name[0].given[0]")));
    /// s.append(Sources::new());
    /// assert_eq!(s.len(), 2);
    /// assert_eq!(s[1], Source::fhir("Patient.name[0].given[0]"));
    /// ```
    pub fn append(&mut self, other: Sources) {
        match other.0 {
            SourcesRepr::One([one]) => self.push(one),
            SourcesRepr::Many(many) => {
                for s in many {
                    self.push(s);
                }
            }
        }
    }

    /// The sources as a `Vec` (allocates when there is one).
    ///
    /// ```
    /// use carecodec_model::{Source, Sources};
    ///
    /// let v = Sources::one(Source::fhir("Patient.gender")).into_vec();
    /// assert_eq!(v, vec![Source::fhir("Patient.gender")]);
    /// ```
    pub fn into_vec(self) -> Vec<Source> {
        match self.0 {
            SourcesRepr::One([one]) => vec![one],
            SourcesRepr::Many(many) => many,
        }
    }
}

impl std::ops::Deref for Sources {
    type Target = [Source];
    fn deref(&self) -> &[Source] {
        self.as_slice()
    }
}

impl PartialEq for Sources {
    fn eq(&self, other: &Sources) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Sources {}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl From<Source> for Sources {
    fn from(source: Source) -> Sources {
        Sources::one(source)
    }
}

impl From<Vec<Source>> for Sources {
    fn from(sources: Vec<Source>) -> Sources {
        Sources(SourcesRepr::Many(sources))
    }
}

impl Extend<Source> for Sources {
    fn extend<I: IntoIterator<Item = Source>>(&mut self, iter: I) {
        for s in iter {
            self.push(s);
        }
    }
}

impl<'s> Extend<&'s Source> for Sources {
    fn extend<I: IntoIterator<Item = &'s Source>>(&mut self, iter: I) {
        self.extend(iter.into_iter().cloned());
    }
}

impl FromIterator<Source> for Sources {
    fn from_iter<I: IntoIterator<Item = Source>>(iter: I) -> Sources {
        let mut out = Sources::new();
        out.extend(iter);
        out
    }
}

/// The owning iterator of [`Sources`].
///
/// ```
/// use carecodec_model::{Source, Sources};
///
/// let s = Sources::from(vec![Source::fhir("Patient.name[0].family"), Source::fhir("Patient.gender")]);
/// let mut it = s.into_iter();
/// assert_eq!(it.len(), 2);
/// assert_eq!(it.next(), Some(Source::fhir("Patient.name[0].family")));
/// assert_eq!(it.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct SourcesIntoIter(SourcesIntoIterRepr);

#[derive(Debug, Clone)]
enum SourcesIntoIterRepr {
    One(std::array::IntoIter<Source, 1>),
    Many(std::vec::IntoIter<Source>),
}

impl Iterator for SourcesIntoIter {
    type Item = Source;
    fn next(&mut self) -> Option<Source> {
        match &mut self.0 {
            SourcesIntoIterRepr::One(it) => it.next(),
            SourcesIntoIterRepr::Many(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            SourcesIntoIterRepr::One(it) => it.size_hint(),
            SourcesIntoIterRepr::Many(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for SourcesIntoIter {}

impl IntoIterator for Sources {
    type Item = Source;
    type IntoIter = SourcesIntoIter;
    fn into_iter(self) -> SourcesIntoIter {
        SourcesIntoIter(match self.0 {
            SourcesRepr::One(one) => SourcesIntoIterRepr::One(one.into_iter()),
            SourcesRepr::Many(many) => SourcesIntoIterRepr::Many(many.into_iter()),
        })
    }
}

impl<'s> IntoIterator for &'s Sources {
    type Item = &'s Source;
    type IntoIter = std::slice::Iter<'s, Source>;
    fn into_iter(self) -> std::slice::Iter<'s, Source> {
        self.as_slice().iter()
    }
}

#[cfg(feature = "serde")]
impl Serialize for Sources {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Sources, D::Error> {
        let mut v = Vec::<Source>::deserialize(deserializer)?;
        Ok(if v.len() == 1 {
            v.pop().map_or_else(Sources::new, Sources::one)
        } else {
            Sources::from(v)
        })
    }
}

/// A value with the sources it was read from.
///
/// ```
/// use carecodec_model::{Source, Sourced};
///
/// let path = carecodec_model::V2Path::parse("PID[1]-5[1].1.1").unwrap();
/// let family = Sourced::new("SMITH".to_owned(), Source::v2(path, 40..45));
/// assert_eq!(family.value, "SMITH");
/// assert_eq!(family.sources.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from (more than one when combined from several fields).
    pub sources: Sources,
}

impl<T> Sourced<T> {
    /// A value from one source (no allocation for the source list).
    ///
    /// ```
    /// use carecodec_model::{Source, Sourced};
    ///
    /// let g = Sourced::new("female".to_owned(), Source::fhir("Patient.gender"));
    /// assert_eq!(g.value, "female");
    /// assert_eq!(g.sources.len(), 1);
    /// ```
    pub fn new(value: T, source: Source) -> Sourced<T> {
        Sourced {
            value,
            sources: Sources::one(source),
        }
    }

    /// A value from several sources.
    ///
    /// ```
    /// use carecodec_model::{Source, Sourced, Sources};
    ///
    /// let low = Source::fhir("Observation.referenceRange[0].low.value");
    /// let high = Source::fhir("Observation.referenceRange[0].high.value");
    /// let range = Sourced::from_many("3.5-5.3".to_owned(), Sources::from(vec![low, high]));
    /// assert_eq!(range.sources.len(), 2);
    /// ```
    pub fn from_many(value: T, sources: Sources) -> Sourced<T> {
        Sourced { value, sources }
    }

    /// The value mapped, sources kept.
    ///
    /// ```
    /// use carecodec_model::{Source, Sourced};
    ///
    /// let text = Sourced::new("72".to_owned(), Source::fhir("Observation.valueString"));
    /// let n = text.map(|s| s.parse::<u32>().unwrap());
    /// assert_eq!(n.value, 72);
    /// assert_eq!(n.sources[0].to_string(), "FHIR Observation.valueString");
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sourced<U> {
        Sourced {
            value: f(self.value),
            sources: self.sources,
        }
    }
}

/// A non-empty source leaf the mapping did not use.
///
/// ```
/// use carecodec_model::{Source, Unmapped, V2Path};
///
/// let u = Unmapped { source: Source::v2(V2Path::parse("ZU1-2").unwrap(), 90..95), raw: "HELLO".into() };
/// assert_eq!(u.source.to_string(), "HL7 v2 ZU1[1]-2 (bytes 90..95)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Unmapped {
    /// Where.
    pub source: Source,
    /// The raw value, as text.
    pub raw: String,
}

/// A model value a writer left out of what it wrote: it reached the model
/// (the mapping report counts its source leaf as mapped) but the output has
/// no place for it, so it is not in the output either. The writers that can
/// leave values out list them (`carecodec_map::fhir::worker_not_written`), so
/// a value is never lost without a word.
///
/// ```
/// use carecodec_model::{NotWritten, Source, Sources};
///
/// let fte = NotWritten::new(
///     "assignments[0].fte",
///     "0.6",
///     Sources::one(Source::esr("GO_998_GDW_GOF_20250401_00000001.DAT", 3, "FTE")),
///     "UK Core PractitionerRole has no working-time element",
/// );
/// assert_eq!(fte.field, "assignments[0].fte");
/// assert_eq!(
///     fte.to_string(),
///     "assignments[0].fte = 0.6 (ESR GO_998_GDW_GOF_20250401_00000001.DAT:3 FTE): \
///      not written: UK Core PractitionerRole has no working-time element"
/// );
/// # #[cfg(feature = "serde")]
/// # {
/// let json = serde_json::to_value(&fte).unwrap();
/// assert_eq!(json["sources"][0]["line"], 3);
/// assert_eq!(serde_json::from_value::<NotWritten>(json).unwrap(), fte);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[non_exhaustive]
pub struct NotWritten {
    /// The model field, as a path from the record written (a worker's
    /// `assignments[0].fte`, `hire_date`).
    pub field: String,
    /// The value, as text (an identifier's value, a date as `YYYY-MM-DD`).
    pub value: String,
    /// Where the value came from (none when the model keeps no source for
    /// it, as for an assignment's primary flag).
    pub sources: Sources,
    /// Why the output does not carry it.
    pub reason: Cow<'static, str>,
}

impl NotWritten {
    /// A value not written, with where it came from and why.
    ///
    /// ```
    /// use carecodec_model::{NotWritten, Sources};
    ///
    /// let primary = NotWritten::new("assignments[1].primary", "true", Sources::new(), "no element");
    /// assert!(primary.sources.is_empty());
    /// assert_eq!(primary.value, "true");
    /// ```
    pub fn new(
        field: impl Into<String>,
        value: impl Into<String>,
        sources: Sources,
        reason: impl Into<Cow<'static, str>>,
    ) -> NotWritten {
        NotWritten {
            field: field.into(),
            value: value.into(),
            sources,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for NotWritten {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {}", self.field, self.value)?;
        for (i, s) in self.sources.iter().enumerate() {
            f.write_str(if i == 0 { " (" } else { ", " })?;
            write!(f, "{s}")?;
        }
        if !self.sources.is_empty() {
            f.write_str(")")?;
        }
        write!(f, ": not written: {}", self.reason)
    }
}

/// What was done with an invalid value.
///
/// ```
/// use carecodec_model::{Action, Invalid, Source};
///
/// let bad = Invalid {
///     source: Source::fhir("Patient.birthDate"),
///     raw: "1970-02-30".into(),
///     reason: "not a date".into(),
///     action: Action::Dropped,
/// };
/// assert_ne!(bad.action, Action::KeptAsText);
/// # #[cfg(feature = "serde")]
/// assert_eq!(serde_json::to_string(&Action::NotUsedForMatching).unwrap(), r#""not-used-for-matching""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Action {
    /// Left out of the model.
    Dropped,
    /// Kept as text (e.g. an NM result that is not a number kept as the
    /// observation's text).
    KeptAsText,
    /// Kept in the reading the reason states (e.g. an NM result `>90` read
    /// as the quantity 90 with comparator `>`).
    Interpreted,
    /// Kept, but not used for identity.
    NotUsedForMatching,
    /// The whole record was quarantined.
    Quarantined,
}

/// A value that was present but invalid.
///
/// ```
/// use carecodec_model::{Action, Invalid, NhsNumber, Source, V2Path};
///
/// let raw = "9434765918";
/// let bad = Invalid {
///     source: Source::v2(V2Path::parse("PID-3[1].1").unwrap(), 62..72),
///     raw: raw.into(),
///     reason: NhsNumber::parse(raw).unwrap_err().to_string(),
///     action: Action::NotUsedForMatching,
/// };
/// assert_eq!(bad.reason, "the check digit does not match");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Invalid {
    /// Where.
    pub source: Source,
    /// The raw value.
    pub raw: String,
    /// Why it is invalid.
    pub reason: String,
    /// What was done.
    pub action: Action,
}

/// Which identifier keys a record, and why.
///
/// ```
/// use carecodec_model::{IdentityDecision, Identifier, Source, Sourced};
///
/// let mrn = Identifier::Mrn { value: "K1".into(), authority: Some("RX1".into()), system: None };
/// let d = IdentityDecision {
///     seen: vec![Sourced::new(mrn.clone(), Source::fhir("Patient.identifier[0]"))],
///     key: Some(mrn),
///     reason: "local MRN with its assigning authority".into(),
/// };
/// assert!(!d.quarantined());
/// assert_eq!(d.key.unwrap().kind(), "mrn");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct IdentityDecision {
    /// Every identifier seen, with where.
    pub seen: Vec<Sourced<Identifier>>,
    /// The identifier that keys the record; `None` means quarantined.
    pub key: Option<Identifier>,
    /// Why that one (or why none).
    pub reason: String,
}

impl IdentityDecision {
    /// True when no identifier could key the record: it must not be applied.
    ///
    /// ```
    /// use carecodec_model::IdentityDecision;
    ///
    /// let none = IdentityDecision { reason: "no key identifier".into(), ..IdentityDecision::default() };
    /// assert!(none.quarantined());
    /// ```
    pub fn quarantined(&self) -> bool {
        self.key.is_none()
    }
}

/// Everything a mapping reports beside its result.
///
/// The accounting invariant: `mapped + unmapped.len()` equals the number of
/// non-empty leaves in the source ([`MappingReport::balanced`]).
///
/// ```
/// use carecodec_model::{MappingReport, Source, Unmapped};
///
/// let report = MappingReport {
///     source_leaves: 3,
///     mapped: 2,
///     unmapped: vec![Unmapped { source: Source::fhir("Patient.language"), raw: "cy".into() }],
///     ..MappingReport::default()
/// };
/// assert!(report.balanced());
/// assert!(!report.quarantined());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct MappingReport {
    /// Non-empty source leaves in the input.
    pub source_leaves: usize,
    /// Leaves the mapping used.
    pub mapped: usize,
    /// Leaves it did not use, each with its place and value.
    pub unmapped: Vec<Unmapped>,
    /// Invalid values and what was done with them.
    pub invalid: Vec<Invalid>,
    /// The identity decision for each keyed record (patient, worker…).
    pub identity: Vec<IdentityDecision>,
    /// Free-text notes on choices the mapping made.
    pub notes: Vec<String>,
}

impl MappingReport {
    /// True when mapped + unmapped accounts for every source leaf.
    ///
    /// ```
    /// use carecodec_model::MappingReport;
    ///
    /// let mut report = MappingReport { source_leaves: 10, mapped: 10, ..MappingReport::default() };
    /// assert!(report.balanced());
    /// report.mapped = 9; // a leaf neither mapped nor listed as unmapped
    /// assert!(!report.balanced());
    /// ```
    pub fn balanced(&self) -> bool {
        self.mapped + self.unmapped.len() == self.source_leaves
    }

    /// True when any keyed record was quarantined.
    ///
    /// ```
    /// use carecodec_model::{IdentityDecision, MappingReport};
    ///
    /// let mut report = MappingReport::default();
    /// assert!(!report.quarantined());
    /// report.identity.push(IdentityDecision::default()); // no key
    /// assert!(report.quarantined());
    /// ```
    pub fn quarantined(&self) -> bool {
        self.identity.iter().any(IdentityDecision::quarantined)
    }
}
