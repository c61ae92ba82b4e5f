//! FHIR XML, both ways, lossless.
//!
//! FHIR XML and FHIR JSON carry the same content; this module converts between the
//! two with a table generated from the R4 StructureDefinitions (for every type and
//! backbone element: each element's JSON name, representation, cardinality and
//! definition order), and reaches the typed model through [`crate::json`]:
//!
//! - [`from_slice`] / [`from_str`]: FHIR XML → [`Resource`];
//! - [`to_string`] / [`to_vec`] (and `_pretty`): [`Resource`] → FHIR XML;
//! - [`xml_to_json`] / [`json_to_xml`]: the text-level conversions underneath.
//!
//! ```
//! use carecodec_fhir::{xml, Resource};
//! let input = r#"<Observation xmlns="http://hl7.org/fhir">
//!   <status value="final"/>
//!   <code><text value="weight"/></code>
//!   <valueQuantity><value value="72.50"/><unit value="kg"/></valueQuantity>
//! </Observation>"#;
//! let json = xml::xml_to_json(input.as_bytes())?;
//! assert_eq!(json, r#"{"resourceType":"Observation","status":"final","code":{"text":"weight"},"valueQuantity":{"value":72.50,"unit":"kg"}}"#);
//! let back = xml::json_to_xml(json.as_bytes())?;
//! assert_eq!(back, r#"<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="weight"/></code><valueQuantity><value value="72.50"/><unit value="kg"/></valueQuantity></Observation>"#);
//! # Ok::<(), xml::Error>(())
//! ```
//!
//! # The rules applied
//! - The root element is the resource, in the namespace `http://hl7.org/fhir` (declared
//!   with `xmlns`; namespace prefixes on FHIR elements are not supported; prefixed
//!   attributes such as `xsi:schemaLocation` are ignored).
//! - Primitives are `<name value=".."/>`; an `id` attribute and `extension` children
//!   become the JSON `_name` object, repeats padded with `null`. Numbers keep their
//!   literal text (`1.50` stays `1.50`), booleans must be `true`/`false`.
//! - `Element.id` and `Extension.url` are attributes; nested resources (`contained`,
//!   `Bundle.entry.resource`, `Parameters.parameter.resource`, …) are wrapped in an
//!   element named by their type; `Narrative.div` is kept verbatim as text (the XHTML
//!   namespace declaration is added to the `div` if the source left it to an ancestor).
//! - Writing puts elements in definition order. Comments and processing
//!   instructions are dropped (FHIR JSON has no place for them).
//! - Unknown elements, two alternatives of one choice element (`valueCode` and
//!   `valueString`), a repeated element split by others, text content and stray
//!   attributes are errors.
//!
//! # Security and limits
//! Nothing is ever loaded or expanded: a `<!DOCTYPE` (and so any DTD, external or
//! custom entity) is an error; attribute values know only the five predefined
//! entities and character references. A character XML 1.0 forbids (the C0 controls but
//! tab, LF and CR, which FHIR strings forbid too), raw or as a reference (`&#1;`), is
//! [`ErrorKind::InvalidChar`]. Nesting is limited to [`MAX_DEPTH`] levels in
//! both directions; the input must be UTF-8. Errors carry the byte offset, line,
//! column and FHIR element path ([`Error`]).

mod error;
pub(crate) mod json;
mod meta;
mod read;
pub(crate) mod table;
mod text;
mod write;
pub(crate) mod xhtml;

pub use error::{Error, ErrorKind, Result};

use crate::Resource;

/// The FHIR XML namespace.
///
/// ```
/// use carecodec_fhir::xml::{self, FHIR_NS};
///
/// let input = format!(r#"<Patient xmlns="{FHIR_NS}"><active value="true"/></Patient>"#);
/// assert!(xml::from_str(&input).is_ok());
/// assert!(xml::from_str(r#"<Patient xmlns="urn:other"><active value="true"/></Patient>"#).is_err());
/// ```
pub const FHIR_NS: &str = "http://hl7.org/fhir";
/// The XHTML namespace (of `Narrative.div`).
///
/// ```
/// use carecodec_fhir::xml::{self, XHTML_NS};
///
/// let json = format!(r#"{{"resourceType":"Patient","text":{{"status":"generated","div":"<div xmlns=\"{XHTML_NS}\">Ann</div>"}}}}"#);
/// let out = xml::json_to_xml(json.as_bytes())?;
/// assert!(out.contains(&format!(r#"<div xmlns="{XHTML_NS}">Ann</div>"#)));
/// # Ok::<(), carecodec_fhir::xml::Error>(())
/// ```
pub const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";
/// Maximum nesting of elements (XML) or arrays/objects (JSON) accepted.
///
/// ```
/// use carecodec_fhir::xml::{self, ErrorKind, MAX_DEPTH};
///
/// let deep = format!(r#"<Patient xmlns="http://hl7.org/fhir">{}{}</Patient>"#,
///     "<extension url=\"u\">".repeat(MAX_DEPTH + 1), "</extension>".repeat(MAX_DEPTH + 1));
/// let err = xml::xml_to_json(deep.as_bytes()).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::TooDeep(_)));
/// ```
pub const MAX_DEPTH: usize = 128;

/// Converts a FHIR XML resource to FHIR JSON text (compact, members in document order).
///
/// Numbers keep their literal text; the result reads back with [`crate::json`].
///
/// # Errors
/// Malformed XML, invalid UTF-8, a DOCTYPE or unknown entity, an element the FHIR
/// type does not define, text content, two alternatives of a choice element,
/// invalid number or boolean values (an integer, positiveInt or unsignedInt in R4's
/// integer form), nesting deeper than [`MAX_DEPTH`]: see [`ErrorKind`].
///
/// ```
/// let json = carecodec_fhir::xml::xml_to_json(
///     br#"<Patient xmlns="http://hl7.org/fhir"><name><given value="Ann"/><given id="g2" value="Bo"/></name></Patient>"#,
/// )?;
/// assert_eq!(json, r#"{"resourceType":"Patient","name":[{"given":["Ann","Bo"],"_given":[null,{"id":"g2"}]}]}"#);
/// # Ok::<(), carecodec_fhir::xml::Error>(())
/// ```
pub fn xml_to_json(input: &[u8]) -> Result<String> {
    read::xml_to_json(input)
}

/// Converts a FHIR JSON resource to FHIR XML (compact, elements in definition order).
///
/// # Errors
/// Malformed JSON (including duplicate keys), invalid UTF-8, unknown members, values
/// of the wrong JSON type, integers not in R4's integer form (`1e2`, `2.0`), a repeating
/// primitive's entry with neither value nor extension, two alternatives of a choice element,
/// a narrative that is not one well-formed `div`, characters XML cannot carry, nesting deeper
/// than [`MAX_DEPTH`]: see [`ErrorKind`].
///
/// ```
/// use carecodec_fhir::xml::{self, ErrorKind};
/// let xml = xml::json_to_xml(
///     br#"{"resourceType":"Patient","birthDate":"1970-01-01","active":true}"#,
/// )?;
/// assert_eq!(xml, r#"<Patient xmlns="http://hl7.org/fhir"><active value="true"/><birthDate value="1970-01-01"/></Patient>"#);
/// let err = xml::json_to_xml(br#"{"resourceType":"Patient","multipleBirthInteger":1e2}"#).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::InvalidValue { expected: "integer", .. }));
/// assert_eq!(err.column(), Some(50)); // at the number
/// # Ok::<(), carecodec_fhir::xml::Error>(())
/// ```
pub fn json_to_xml(input: &[u8]) -> Result<String> {
    write::json_to_xml(input, None)
}

/// [`json_to_xml`], indented by two spaces per level (narratives stay verbatim).
///
/// # Errors
/// As [`json_to_xml`].
///
/// ```
/// let xml = carecodec_fhir::xml::json_to_xml_pretty(br#"{"resourceType":"Patient","name":[{"family":"Smith"}]}"#)?;
/// assert_eq!(xml, "<Patient xmlns=\"http://hl7.org/fhir\">\n  <name>\n    <family value=\"Smith\"/>\n  </name>\n</Patient>\n");
/// # Ok::<(), carecodec_fhir::xml::Error>(())
/// ```
pub fn json_to_xml_pretty(input: &[u8]) -> Result<String> {
    write::json_to_xml(input, Some(2))
}

/// Reads a FHIR XML resource into the typed model.
///
/// # Errors
/// Everything [`xml_to_json`] rejects, and what the strict JSON reader rejects
/// ([`ErrorKind::Model`]: missing required elements, invalid codes, a resource type
/// whose feature is off, …).
///
/// ```
/// use carecodec_fhir::{xml, Resource};
/// let resource = xml::from_str(r#"<Patient xmlns="http://hl7.org/fhir"><gender value="female"/></Patient>"#)?;
/// assert!(matches!(resource, Resource::Patient(_)));
/// # Ok::<(), xml::Error>(())
/// ```
pub fn from_slice(input: &[u8]) -> Result<Resource> {
    let json = read::xml_to_json(input)?;
    crate::json::from_str(&json).map_err(|e| model_error(input, e))
}

/// [`from_slice`] over a `str`.
///
/// # Errors
/// As [`from_slice`].
///
/// ```
/// use carecodec_fhir::{xml, Resource};
///
/// let r = xml::from_str(r#"<Patient xmlns="http://hl7.org/fhir"><birthDate value="1970-01-01"/></Patient>"#)?;
/// let Resource::Patient(p) = r else { unreachable!("a Patient") };
/// assert_eq!(p.birth_date.and_then(|d| d.value).as_deref(), Some("1970-01-01"));
/// let err = xml::from_str("<Patient xmlns=\"http://hl7.org/fhir\">\n<colour value=\"red\"/></Patient>").unwrap_err();
/// assert_eq!(err.line(), Some(2));
/// # Ok::<(), carecodec_fhir::xml::Error>(())
/// ```
pub fn from_str(input: &str) -> Result<Resource> {
    from_slice(input.as_bytes())
}

/// Writes a resource as FHIR XML (compact).
///
/// # Errors
/// Only for content XML cannot carry: characters outside XML 1.0 (such as U+0001)
/// or a narrative that is not one well-formed `div`.
///
/// ```
/// use carecodec_fhir::{json, xml};
/// let resource: carecodec_fhir::Resource =
///     json::from_str(r#"{"resourceType":"Patient","gender":"female"}"#)?;
/// assert_eq!(xml::to_string(&resource)?, r#"<Patient xmlns="http://hl7.org/fhir"><gender value="female"/></Patient>"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_string(resource: &Resource) -> Result<String> {
    write::json_to_xml(crate::json::to_string(resource).as_bytes(), None)
}

/// [`to_string`], indented by two spaces per level.
///
/// # Errors
/// As [`to_string`].
///
/// ```
/// use carecodec_fhir::{json, xml, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Patient","gender":"female"}"#)?;
/// assert_eq!(xml::to_string_pretty(&r)?, "<Patient xmlns=\"http://hl7.org/fhir\">\n  <gender value=\"female\"/>\n</Patient>\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_string_pretty(resource: &Resource) -> Result<String> {
    write::json_to_xml(crate::json::to_string(resource).as_bytes(), Some(2))
}

/// [`to_string`] as bytes.
///
/// # Errors
/// As [`to_string`].
///
/// ```
/// use carecodec_fhir::{json, xml, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Patient","active":true}"#)?;
/// assert_eq!(xml::to_vec(&r)?, br#"<Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patient>"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_vec(resource: &Resource) -> Result<Vec<u8>> {
    to_string(resource).map(String::into_bytes)
}

/// The typed reader's error on the JSON converted from `input`, placed at the XML element
/// its path names (or the nearest enclosing one).
#[cold]
fn model_error(input: &[u8], e: crate::json::Error) -> Error {
    let path = e.path().to_owned();
    let at = read::locate(input, &path);
    let error = Error::new(ErrorKind::Model(e)).with_path(|| path);
    match at {
        Some(at) => error.at(input, at),
        None => error,
    }
}
