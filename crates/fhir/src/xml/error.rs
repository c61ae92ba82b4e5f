//! The error of the XML layer: what went wrong, and where.

use std::fmt;

/// What went wrong while reading or writing FHIR XML (or the JSON it converts to and from).
///
/// ```
/// use carecodec_fhir::xml::{self, ErrorKind};
///
/// let kind = |s: &str| xml::xml_to_json(s.as_bytes()).map_err(|e| e.to_string());
/// assert!(kind(r#"<!DOCTYPE x><Patient xmlns="http://hl7.org/fhir"/>"#).is_err());
/// let err = xml::xml_to_json(br#"<Patient xmlns="http://hl7.org/fhir"><colour value="red"/></Patient>"#).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::UnknownElement(name) if name == "colour"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not UTF-8 (FHIR XML and JSON are UTF-8 only).
    #[error("the input is not valid UTF-8")]
    InvalidUtf8,
    /// The XML is not well-formed (as reported by the XML tokenizer).
    #[error("malformed XML: {0}")]
    Syntax(String),
    /// A `<!DOCTYPE>` (and with it any DTD or entity declaration): never accepted.
    #[error("a DOCTYPE is not allowed in FHIR XML (DTDs and entities are never resolved)")]
    Doctype,
    /// A reference to an entity other than the five predefined ones, or a bad character reference.
    #[error("unknown or invalid entity or character reference `{0}`")]
    Entity(String),
    /// A character that XML 1.0 cannot carry (e.g. U+0001), as a byte of the input, a
    /// character reference (`&#1;`) or in a value to write.
    #[error("character U+{0:04X} is not allowed in XML")]
    InvalidChar(u32),
    /// An element or JSON property that the FHIR type does not define.
    #[error("unknown element `{0}`")]
    UnknownElement(String),
    /// A resource type name that FHIR R4 does not define.
    #[error("unknown resource type `{0}`")]
    UnknownResource(String),
    /// An attribute that FHIR XML does not allow here.
    #[error("unexpected attribute `{0}`")]
    UnexpectedAttribute(String),
    /// Text content where FHIR XML allows only elements.
    #[error("unexpected text content")]
    UnexpectedText,
    /// An element or namespace that is not in the FHIR namespace `http://hl7.org/fhir`.
    #[error("not in the FHIR namespace: {0}")]
    Namespace(String),
    /// A repeated element whose occurrences are not next to each other.
    #[error("element `{0}` repeats out of sequence")]
    NotContiguous(String),
    /// Two elements appear where FHIR allows at most one (e.g. `valueCode` and `valueString`).
    #[error("`{0}` and `{1}` are alternatives of one choice element; only one is allowed")]
    ChoiceConflict(String, String),
    /// A non-repeating element given several times (or as a JSON array).
    #[error("element `{0}` does not repeat")]
    NotRepeating(String),
    /// A primitive value that its type does not allow (`<valueDecimal value="x"/>`).
    #[error("invalid {expected} value `{value}`")]
    InvalidValue {
        /// What the type needs: a number, a boolean, a string.
        expected: &'static str,
        /// The offending value, truncated.
        value: String,
    },
    /// A primitive element with neither a value nor an id or extension.
    #[error("element `{0}` has no value and no extension")]
    EmptyPrimitive(String),
    /// A resource wrapper (`contained`, `resource`, ...) that does not hold exactly one resource.
    #[error("`{0}` must contain exactly one resource")]
    ResourceWrapper(String),
    /// The XHTML of `Narrative.div` is not a single well-formed `div` element.
    #[error("invalid narrative XHTML: {0}")]
    Xhtml(String),
    /// Nesting deeper than the limit: hostile or broken input.
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    /// The JSON is not well-formed.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// A JSON value of the wrong kind (an object where a string belongs, ...).
    #[error("expected {expected}, found {found}")]
    JsonType {
        /// What the FHIR type needs here.
        expected: &'static str,
        /// What the JSON has.
        found: &'static str,
    },
    /// A JSON property given twice in one object.
    #[error("duplicate property `{0}`")]
    DuplicateKey(String),
    /// A resource without a `resourceType` (or the input has no root element).
    #[error("missing resource type")]
    MissingResourceType,
    /// The typed model rejected the converted content (its JSON reader's error; the
    /// line and column in it refer to the intermediate JSON, the path to the resource).
    /// The [`Error`]'s own offset, line and column are those of the XML element at
    /// fault (or, when the fault is a missing element, of the element lacking it).
    ///
    /// ```
    /// use carecodec_fhir::xml::{self, ErrorKind};
    /// // 2147483648 is in the integer form XML checks, but beyond what an R4 integer holds.
    /// let input = "<Patient xmlns=\"http://hl7.org/fhir\">\n  <multipleBirthInteger value=\"2147483648\"/>\n</Patient>";
    /// let e = xml::from_str(input).unwrap_err();
    /// assert!(matches!(e.kind(), ErrorKind::Model(_)));
    /// assert_eq!((e.line(), e.column(), e.offset()), (Some(2), Some(3), Some(40)));
    /// assert_eq!(e.path(), "Patient.multipleBirthInteger");
    /// ```
    #[error("invalid resource: {}", .0.message())]
    Model(#[source] crate::json::Error),
}

/// An error of the XML layer, with the position of the fault.
///
/// The position is the byte offset into the input (with line and column derived
/// from it) and the FHIR element path (`Patient.name[1].given[0]`) where known.
///
/// ```
/// use carecodec_fhir::xml;
///
/// let input = "<Patient xmlns=\"http://hl7.org/fhir\">\n  <name><given value=\"Ann\">text</given></name>\n</Patient>";
/// let err = xml::xml_to_json(input.as_bytes()).unwrap_err();
/// assert_eq!(err.line(), Some(2));
/// assert!(err.path().starts_with("Patient.name"));
/// ```
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    offset: Option<usize>,
    line: Option<usize>,
    column: Option<usize>,
    path: String,
}

impl Error {
    #[cold]
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                offset: None,
                line: None,
                column: None,
                path: String::new(),
            }),
        }
    }

    /// Sets the byte offset (and line/column computed from `input`) unless already set.
    #[cold]
    pub(crate) fn at(mut self, input: &[u8], offset: usize) -> Self {
        if self.inner.offset.is_none() {
            let offset = offset.min(input.len());
            let before = input.get(..offset).unwrap_or_default();
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let column = before
                .get(line_start..)
                .map_or(0, |s| String::from_utf8_lossy(s).chars().count())
                + 1;
            self.inner.offset = Some(offset);
            self.inner.line = Some(line);
            self.inner.column = Some(column);
        }
        self
    }

    /// Sets the element path unless already set.
    #[cold]
    pub(crate) fn with_path(mut self, path: impl FnOnce() -> String) -> Self {
        if self.inner.path.is_empty() {
            self.inner.path = path();
        }
        self
    }

    /// What went wrong.
    ///
    /// ```
    /// use carecodec_fhir::xml::{self, ErrorKind};
    ///
    /// let err = xml::xml_to_json(br#"<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>"#).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::InvalidValue { .. }));
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// Byte offset into the input of the element (or token) at fault, when known.
    ///
    /// ```
    /// use carecodec_fhir::xml;
    ///
    /// let input = br#"<Patient xmlns="http://hl7.org/fhir"><colour value="red"/></Patient>"#;
    /// let err = xml::xml_to_json(input).unwrap_err();
    /// assert_eq!(err.offset(), Some(37));
    /// assert!(input[37..].starts_with(b"<colour"));
    /// ```
    pub fn offset(&self) -> Option<usize> {
        self.inner.offset
    }

    /// 1-based line of [`offset`](Self::offset).
    ///
    /// ```
    /// use carecodec_fhir::xml;
    ///
    /// let err = xml::xml_to_json(b"<Patient xmlns=\"http://hl7.org/fhir\">\n\n<colour/></Patient>").unwrap_err();
    /// assert_eq!(err.line(), Some(3));
    /// ```
    pub fn line(&self) -> Option<usize> {
        self.inner.line
    }

    /// 1-based column (in characters) of [`offset`](Self::offset).
    ///
    /// ```
    /// use carecodec_fhir::xml;
    ///
    /// let err = xml::xml_to_json(b"<Patient xmlns=\"http://hl7.org/fhir\">\n    <colour/></Patient>").unwrap_err();
    /// assert_eq!((err.line(), err.column()), (Some(2), Some(5)));
    /// ```
    pub fn column(&self) -> Option<usize> {
        self.inner.column
    }

    /// FHIR element path of the fault (`Bundle.entry[2].resource.name[0]`), or `""`.
    ///
    /// ```
    /// use carecodec_fhir::xml;
    ///
    /// let input = br#"<Patient xmlns="http://hl7.org/fhir"><name><family value="A"/></name><name><colour/></name></Patient>"#;
    /// let err = xml::xml_to_json(input).unwrap_err();
    /// assert_eq!(err.path(), "Patient.name[1]"); // the element holding the unknown one
    /// ```
    pub fn path(&self) -> &str {
        &self.inner.path
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner.kind)?;
        if !self.inner.path.is_empty() {
            write!(f, " at {}", self.inner.path)?;
        }
        if let (Some(line), Some(column), Some(offset)) =
            (self.inner.line, self.inner.column, self.inner.offset)
        {
            write!(f, " (line {line}, column {column}, byte {offset})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.kind.source()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

/// The result type of the XML layer.
///
/// ```
/// use carecodec_fhir::xml::{self, Result};
///
/// fn patient_json(xml_text: &str) -> Result<String> {
///     xml::xml_to_json(xml_text.as_bytes())
/// }
/// assert_eq!(patient_json(r#"<Patient xmlns="http://hl7.org/fhir"/>"#)?, r#"{"resourceType":"Patient"}"#);
/// # Ok::<(), carecodec_fhir::xml::Error>(())
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Cuts a value for an error message (messages never echo whole records).
pub(crate) fn excerpt(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(MAX).collect();
        s.push('…');
        s
    }
}
