//! Where a value came from, and what a mapping did with its source.

use std::ops::Range;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::identifier::Identifier;

/// The place in a source a value was read from.
///
/// ```
/// use carecodec_model::Source;
///
/// let s = Source::v2("PID[1]-5[1].1.1", 120..125);
/// assert_eq!(s.to_string(), "HL7 v2 PID[1]-5[1].1.1 (bytes 120..125)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "format", rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Source {
    /// An HL7 v2 leaf: fully indexed path and byte span in the message.
    V2 {
        /// `PID[1]-3[2].1.1`.
        path: String,
        /// Byte range in the original message.
        span: Range<usize>,
    },
    /// A FHIR element path (`Patient.name[0].given[1]`).
    Fhir {
        /// The element path.
        path: String,
    },
    /// An ESR field: file, line and field name.
    Esr {
        /// The file name.
        file: String,
        /// 1-based line.
        line: u64,
        /// Field name (`Last Name`).
        field: String,
    },
    /// Derived from other values by a rule (e.g. a default), named.
    Derived {
        /// What rule produced it.
        rule: String,
    },
}

impl Source {
    /// A v2 source.
    pub fn v2(path: impl Into<String>, span: Range<usize>) -> Source {
        Source::V2 {
            path: path.into(),
            span,
        }
    }

    /// A FHIR source.
    pub fn fhir(path: impl Into<String>) -> Source {
        Source::Fhir { path: path.into() }
    }

    /// An ESR source.
    pub fn esr(file: impl Into<String>, line: u64, field: impl Into<String>) -> Source {
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

/// A value with the sources it was read from.
///
/// ```
/// use carecodec_model::{Source, Sourced};
///
/// let family = Sourced::new("SMITH".to_owned(), Source::v2("PID[1]-5[1].1.1", 40..45));
/// assert_eq!(family.value, "SMITH");
/// assert_eq!(family.sources.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from (more than one when combined from several fields).
    pub sources: Vec<Source>,
}

impl<T> Sourced<T> {
    /// A value from one source.
    pub fn new(value: T, source: Source) -> Sourced<T> {
        Sourced {
            value,
            sources: vec![source],
        }
    }

    /// A value from several sources.
    pub fn from_many(value: T, sources: Vec<Source>) -> Sourced<T> {
        Sourced { value, sources }
    }

    /// The value mapped, sources kept.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sourced<U> {
        Sourced {
            value: f(self.value),
            sources: self.sources,
        }
    }
}

/// A non-empty source leaf the mapping did not use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Unmapped {
    /// Where.
    pub source: Source,
    /// The raw value, as text.
    pub raw: String,
}

/// What was done with an invalid value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Action {
    /// Left out of the model.
    Dropped,
    /// Kept as text (e.g. an unparseable date kept as a note).
    KeptAsText,
    /// Kept, but not used for identity.
    NotUsedForMatching,
    /// The whole record was quarantined.
    Quarantined,
}

/// A value that was present but invalid.
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
    pub fn quarantined(&self) -> bool {
        self.key.is_none()
    }
}

/// Everything a mapping reports beside its result.
///
/// The accounting invariant: `mapped + unmapped.len()` equals the number of
/// non-empty leaves in the source ([`MappingReport::balanced`]).
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
    pub fn balanced(&self) -> bool {
        self.mapped + self.unmapped.len() == self.source_leaves
    }

    /// True when any keyed record was quarantined.
    pub fn quarantined(&self) -> bool {
        self.identity.iter().any(IdentityDecision::quarantined)
    }
}
