//! The JSON reader's error: what went wrong, where (line, column, byte offset, element path).

use std::fmt;

/// What kind of problem a JSON read hit.
///
/// ```
/// use carecodec_fhir::json::{self, ErrorKind};
/// use carecodec_fhir::Resource;
///
/// let kind = |s: &str| json::from_str::<Resource>(s).map(|_| ()).map_err(|e| e.kind());
/// assert_eq!(kind(r#"{"resourceType":"Patient""#), Err(ErrorKind::Eof));
/// assert_eq!(kind(r#"{"resourceType":"Pateint"}"#), Err(ErrorKind::UnknownResourceType));
/// assert_eq!(kind(r#"{"resourceType":"Patient","active":true,"active":false}"#), Err(ErrorKind::DuplicateElement));
/// assert_eq!(kind(r#"{"resourceType":"Observation","code":{"text":"x"}}"#), Err(ErrorKind::MissingElement));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not well-formed JSON (includes invalid UTF-8 and trailing data).
    #[error("malformed JSON")]
    Syntax,
    /// The input ended inside a value.
    #[error("unexpected end of input")]
    Eof,
    /// Nesting deeper than the reader's limit (128 arrays/objects).
    #[error("nesting too deep")]
    DepthLimit,
    /// A member that the FHIR definition does not have (strict mode).
    #[error("unknown element")]
    UnknownElement,
    /// The same member twice in one object.
    #[error("duplicate element")]
    DuplicateElement,
    /// Two members for one choice element (`valueString` and `valueQuantity`).
    #[error("more than one value for a choice element")]
    MultipleChoice,
    /// A required element (min 1) is absent (strict mode).
    #[error("required element missing")]
    MissingElement,
    /// A value of the wrong JSON type or not valid for its FHIR type.
    #[error("invalid value")]
    InvalidValue,
    /// `resourceType` names no FHIR R4 resource, or is missing.
    #[error("unknown resource type")]
    UnknownResourceType,
    /// `resourceType` names a resource whose Cargo feature is not enabled.
    #[error("resource type not enabled")]
    DisabledResourceType,
    /// Reading the input failed.
    #[error("I/O error")]
    Io,
}

/// A FHIR JSON read error with its position.
///
/// ```
/// use carecodec_fhir::json::{self, ErrorKind};
/// use carecodec_fhir::Resource;
/// let err = json::from_str::<Resource>("{\"resourceType\":\"Patient\",\n \"gender\": 1}").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidValue);
/// assert_eq!(err.line(), 2);
/// assert_eq!(err.path(), "Patient.gender");
/// ```
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    line: usize,
    column: usize,
    offset: usize,
    path: String,
}

impl Error {
    #[cold]
    pub(crate) fn new(
        kind: ErrorKind,
        message: String,
        line: usize,
        column: usize,
        offset: usize,
        path: String,
    ) -> Self {
        Self(Box::new(Inner {
            kind,
            message,
            line,
            column,
            offset,
            path,
        }))
    }

    /// The kind of problem.
    ///
    /// ```
    /// use carecodec_fhir::json::{self, ErrorKind};
    /// use carecodec_fhir::Resource;
    ///
    /// let err = json::from_str::<Resource>(r#"{"resourceType":"Patient","active":"yes"}"#).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidValue);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message without the position.
    ///
    /// ```
    /// use carecodec_fhir::json;
    /// use carecodec_fhir::Resource;
    ///
    /// let err = json::from_str::<Resource>(r#"{"resourceType":"Patient","colour":"blue"}"#).unwrap_err();
    /// assert!(err.message().contains("colour"));
    /// assert!(!err.message().contains("line")); // the position is not part of the message
    /// ```
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// 1-based line of the position where the problem was seen (0 when unknown).
    ///
    /// ```
    /// use carecodec_fhir::json;
    /// use carecodec_fhir::Resource;
    ///
    /// let err = json::from_str::<Resource>("{\"resourceType\":\"Patient\",\n\n  \"active\": \"yes\"}").unwrap_err();
    /// assert_eq!(err.line(), 3);
    /// ```
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// 1-based column (in bytes) of that position.
    ///
    /// ```
    /// use carecodec_fhir::json;
    /// use carecodec_fhir::Resource;
    ///
    /// let err = json::from_str::<Resource>("{\"resourceType\":\"Patient\",\n  \"active\": \"yes\"}").unwrap_err();
    /// assert_eq!((err.line(), err.column()), (2, 17));
    /// ```
    pub fn column(&self) -> usize {
        self.0.column
    }

    /// Byte offset of that position in the input.
    ///
    /// ```
    /// use carecodec_fhir::json;
    /// use carecodec_fhir::Resource;
    ///
    /// let input = "{\"resourceType\":\"Patient\",\n  \"active\": \"yes\"}";
    /// let err = json::from_str::<Resource>(input).unwrap_err();
    /// assert_eq!(err.offset(), 44); // just after the offending value
    /// assert_eq!(&input[err.offset() - 5..err.offset()], "\"yes\"");
    /// ```
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// Element path of the position, FHIRPath style: `Bundle.entry[3].resource.name[0].given`
    /// (`$` for the root when the root has no `resourceType` before the fault).
    ///
    /// ```
    /// use carecodec_fhir::json;
    /// use carecodec_fhir::Resource;
    ///
    /// let input = r#"{"resourceType":"Patient","name":[{"given":["Ann"]},{"given":[1]}]}"#;
    /// let err = json::from_str::<Resource>(input).unwrap_err();
    /// assert_eq!(err.path(), "Patient.name[1].given[0]");
    /// ```
    pub fn path(&self) -> &str {
        &self.0.path
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {} (line {}, column {})",
            self.0.message, self.0.path, self.0.line, self.0.column
        )
    }
}

impl std::error::Error for Error {}

/// A problem the lenient reader tolerated (an unknown element, a missing required element,
/// an invalid code, a control character in a string), with the definition path of the element it concerns and, for an unknown
/// element, where it is: offset, line, column and instance path.
///
/// ```
/// use carecodec_fhir::json::{self, ErrorKind};
/// use carecodec_fhir::Resource;
///
/// let input = r#"{"resourceType":"Observation","code":{"text":"x"},"colour":"red"}"#;
/// let (_, issues) = json::from_slice_lenient::<Resource>(input.as_bytes())?;
/// let kinds: Vec<(ErrorKind, &str)> = issues.iter().map(|i| (i.kind, i.path.as_str())).collect();
/// assert!(kinds.contains(&(ErrorKind::UnknownElement, "Observation.colour")));
/// assert!(kinds.contains(&(ErrorKind::MissingElement, "Observation.status")));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// What kind of problem it is.
    pub kind: ErrorKind,
    /// Definition path of the element, e.g. `Patient.contact.foo`.
    pub path: String,
    /// One-line description.
    pub message: String,
    /// Byte offset in the input of the value concerned, when known (unknown elements).
    pub offset: Option<usize>,
    /// 1-based line of that offset (0 when unknown).
    pub line: usize,
    /// 1-based column of that offset (0 when unknown).
    pub column: usize,
    /// Instance path of that offset, FHIRPath style (`Patient.name[1].colour`); empty when
    /// unknown.
    pub location: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "{} at {}", self.message, self.path)
        } else {
            write!(
                f,
                "{} at {} (line {}, column {})",
                self.message, self.location, self.line, self.column
            )
        }
    }
}
