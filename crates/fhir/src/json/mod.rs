//! FHIR JSON, both ways, lossless.
//!
//! Reading is strict by default: an unknown member, a duplicate member, two values for one
//! choice element, a missing required element, a malformed `code` or a string holding a
//! control character (below U+0020 other than tab, LF, CR) is an [`Error`] carrying
//! the line, column, byte offset and element path. [`from_slice_lenient`] instead collects
//! those problems as [`Issue`]s and returns what it could read. Syntax errors, wrong JSON types
//! and nesting deeper than 128 arrays/objects are errors in both modes. Each read keeps its
//! state (its mode, its issues) to itself: nothing is kept between reads or shared by two of
//! them (see [`FromJson`]). One UTF-8 byte order mark before the JSON is skipped (positions
//! still count its bytes).
//!
//! Writing puts `resourceType` first, members in definition order, omits empty elements, writes
//! primitive extensions as `_name` (arrays padded with `null`) and decimals as their literal text.
//!
//! ```
//! use carecodec_fhir::{json, Resource};
//! let text = r#"{"resourceType":"Patient","birthDate":"1970-01-01",
//!   "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime",
//!   "valueDateTime":"1970-01-01T08:30:00+00:00"}]}}"#;
//! let resource: Resource = json::from_str(text)?;
//! let Resource::Patient(patient) = &resource else { panic!("a Patient") };
//! assert_eq!(patient.birth_date.as_ref().and_then(|d| d.value.as_deref()), Some("1970-01-01"));
//! assert_eq!(patient.birth_date.as_ref().map(|d| d.extension().len()), Some(1));
//! let back = json::to_string(&resource);
//! assert!(back.starts_with(r#"{"resourceType":"Patient","#));
//! # Ok::<(), json::Error>(())
//! ```

pub(crate) mod de;
mod error;
mod pairs;
mod path;
pub(crate) mod ser;

pub use de::MAX_RESOURCE_DEPTH;
pub use error::{Error, ErrorKind, Issue};
pub use ser::{ToJson, Writer};

/// A UTF-8 byte order mark, accepted (once) before the JSON text, as the XML reader does.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The JSON text of `input`: after a leading byte order mark, if there is one.
fn body(input: &[u8]) -> &[u8] {
    input.strip_prefix(BOM).unwrap_or(input)
}

/// The error `e` raised reading `body`, the JSON text of `input` (see [`body`]): positions
/// are counted in `input`, byte order mark included.
fn convert(cx: &de::Cx, input: &[u8], body: &[u8], e: &serde_json::Error) -> Error {
    let custom = cx.take_kind();
    let text = e.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m)
        .to_string();
    let kind = match e.classify() {
        serde_json::error::Category::Io => ErrorKind::Io,
        serde_json::error::Category::Eof => ErrorKind::Eof,
        serde_json::error::Category::Syntax => {
            if message.contains("recursion limit") {
                ErrorKind::DepthLimit
            } else {
                ErrorKind::Syntax
            }
        }
        serde_json::error::Category::Data => custom.unwrap_or(ErrorKind::InvalidValue),
    };
    let mut offset = cx.error_offset(body, e);
    let mut message = message;
    if let Some(rest) = message.strip_prefix(de::THIS_NUMBER) {
        // A number refused as not an integer: the error is at it; show it as written.
        if let Some(number) = path::number_before(body, offset) {
            message = format!("{number}{rest}");
        }
    }
    if kind == ErrorKind::DuplicateElement {
        // Raised once the member (or its value) is read: placed at the duplicate's name.
        if let Some(at) = path::duplicate_key(body, offset, &message) {
            offset = at;
        }
    }
    let path = path::path_at(body, offset);
    let offset = offset + (input.len() - body.len());
    let (line, column) = path::line_column(input, offset);
    Error::new(kind, message, line, column, offset, path)
}

fn read<T: FromJson>(input: &[u8], cx: &de::Cx) -> Result<T, Error> {
    let body = body(input);
    de::read_slice(body, cx).map_err(|e| convert(cx, input, body, &e))
}

/// What the readers ([`from_slice`], [`from_slice_lenient`], …) read: every type of the model
/// (each resource, backbone element and datatype, e.g. [`Patient`](crate::Patient),
/// [`HumanName`](crate::HumanName)), [`Resource`](crate::Resource), and plain
/// `serde_json::Value` (read as serde_json reads it, with this module's [`Error`]s).
///
/// Sealed: it is implemented by the crate only. Each read carries its own state (strict or
/// lenient, the issues it finds) down to every value it reads, so no state is kept between
/// reads or shared by two of them, even on one thread.
///
/// The model types also implement `serde::Deserialize` for use with other deserializers
/// (`serde_json::from_value`, …): that reads as [`from_slice`] does, strictly.
///
/// ```
/// use carecodec_fhir::{json, HumanName};
/// fn read<T: json::FromJson>(text: &str) -> Result<T, json::Error> {
///     json::from_str(text)
/// }
/// let name: HumanName = read(r#"{"family":"Smith"}"#)?;
/// assert_eq!(name.family.and_then(|f| f.value).as_deref(), Some("Smith"));
/// # Ok::<(), json::Error>(())
/// ```
pub trait FromJson: de::ReadJson {}

impl<T: de::ReadJson> FromJson for T {}

/// Reads a FHIR JSON document strictly (any type of the model, usually
/// [`Resource`](crate::Resource): see [`FromJson`]).
///
/// # Errors
/// Malformed JSON, invalid UTF-8, nesting deeper than 128, trailing data, unknown, duplicate or
/// missing required elements, two values for a choice, invalid codes, strings holding a
/// control character, a repeating primitive's entry with neither value nor extension (`null`
/// in `given` and `_given` at one index, or `"given": [null]` alone), unknown or disabled
/// `resourceType`: see [`ErrorKind`].
///
/// ```
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_slice(br#"{"resourceType":"Patient","gender":"female"}"#)?;
/// assert_eq!(r.resource_type(), "Patient");
/// let err = json::from_slice::<Resource>(br#"{"resourceType":"Patient","colour":"blue"}"#).unwrap_err();
/// assert_eq!(err.kind(), json::ErrorKind::UnknownElement);
/// assert_eq!(err.path(), "Patient.colour");
/// // A leading byte order mark is skipped; a duplicate member is placed at its name.
/// let r: Resource = json::from_slice(b"\xEF\xBB\xBF{\"resourceType\":\"Patient\"}")?;
/// assert_eq!(r.resource_type(), "Patient");
/// let err = json::from_slice::<Resource>(br#"{"resourceType":"Patient","active":true,"active":false}"#).unwrap_err();
/// assert_eq!((err.kind(), err.column()), (json::ErrorKind::DuplicateElement, 41));
/// // `null` pads `given` where `_given` has an entry, and nowhere else.
/// let err = json::from_slice::<Resource>(br#"{"resourceType":"Patient","name":[{"given":[null]}]}"#).unwrap_err();
/// assert_eq!((err.path(), err.column()), ("Patient.name[0].given[0]", 45));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn from_slice<T: FromJson>(input: &[u8]) -> Result<T, Error> {
    let cx = de::Cx::from_text(false);
    let value = read(input, &cx)?;
    if cx.take_unpaired() {
        if let Some(e) = pairs::error(input) {
            return Err(e);
        }
    }
    Ok(value)
}

/// [`from_slice`] over a `str`.
///
/// # Errors
/// As [`from_slice`].
///
/// ```
/// use carecodec_fhir::{json, Patient};
///
/// let p: Patient = json::from_str(r#"{"resourceType":"Patient","birthDate":"1970-01-01"}"#)?;
/// assert_eq!(p.birth_date.and_then(|d| d.value).as_deref(), Some("1970-01-01"));
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn from_str<T: FromJson>(input: &str) -> Result<T, Error> {
    from_slice(input.as_bytes())
}

/// Reads the whole of `reader`, then [`from_slice`].
///
/// # Errors
/// As [`from_slice`], plus [`ErrorKind::Io`].
///
/// ```
/// use carecodec_fhir::{json, Resource};
///
/// let bytes: &[u8] = br#"{"resourceType":"Patient","active":true}"#;
/// let r: Resource = json::from_reader(bytes)?;
/// assert_eq!(json::to_vec(&r), bytes);
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn from_reader<T: FromJson, R: std::io::Read>(mut reader: R) -> Result<T, Error> {
    let mut buf = Vec::new();
    reader
        .read_to_end(&mut buf)
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string(), 0, 0, 0, "$".to_string()))?;
    from_slice(&buf)
}

/// Reads leniently: unknown elements are skipped, missing required elements, invalid codes and
/// control characters in strings tolerated; each is returned as an [`Issue`] with the definition path it concerns (and, for
/// an unknown element, its offset, line, column and instance path).
///
/// ```
/// use carecodec_fhir::{json, Resource};
/// let (r, issues) = json::from_slice_lenient::<Resource>(br#"{"resourceType":"Patient","colour":"blue"}"#)?;
/// assert_eq!(r.resource_type(), "Patient");
/// assert_eq!(issues[0].path, "Patient.colour");
/// assert_eq!((issues[0].location.as_str(), issues[0].column), ("Patient.colour", 36));
/// # Ok::<(), json::Error>(())
/// ```
///
/// # Errors
/// Malformed JSON, wrong JSON types, duplicates, nesting limit, unknown `resourceType`.
pub fn from_slice_lenient<T: FromJson>(input: &[u8]) -> Result<(T, Vec<Issue>), Error> {
    let cx = de::Cx::from_text(true);
    let value = read(input, &cx)?;
    let mut issues = cx.take_issues();
    let unpaired = cx.take_unpaired();
    let body = body(input);
    let bom = input.len() - body.len();
    de::locate_issues(&mut issues, body, None);
    for issue in &mut issues {
        if let Some(offset) = issue.offset {
            // The column of the value's first byte (line_column gives the one before it).
            let (line, column) = path::line_column(input, offset + bom);
            (issue.line, issue.column) = (line, column + 1);
            issue.location = path::path_at(body, offset);
            issue.offset = Some(offset + bom);
        }
    }
    if unpaired {
        issues.extend(pairs::issues(input));
    }
    Ok((value, issues))
}

/// Writes compact FHIR JSON.
///
/// ```
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"gender":"male","resourceType":"Patient"}"#)?;
/// assert_eq!(json::to_vec(&r), br#"{"resourceType":"Patient","gender":"male"}"#); // resourceType first
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn to_vec<T: ToJson + ?Sized>(value: &T) -> Vec<u8> {
    let mut w = Writer::new(false);
    value.write_json(&mut w);
    w.into_bytes()
}

/// Appends compact FHIR JSON to `out` (reusing its allocation).
///
/// ```
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Patient","active":false}"#)?;
/// let mut out = b"[".to_vec();
/// json::write_into(&r, &mut out);
/// out.push(b']');
/// assert_eq!(out, br#"[{"resourceType":"Patient","active":false}]"#);
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn write_into<T: ToJson + ?Sized>(value: &T, out: &mut Vec<u8>) {
    let mut w = Writer::from_vec(false, std::mem::take(out));
    value.write_json(&mut w);
    *out = w.into_bytes();
}

/// Writes compact FHIR JSON as a `String`.
///
/// ```
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"valueInteger":72}"#)?;
/// assert_eq!(json::to_string(&r), r#"{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"valueInteger":72}"#);
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn to_string<T: ToJson + ?Sized>(value: &T) -> String {
    bytes_to_string(to_vec(value))
}

/// The writer only ever emits UTF-8 (it copies `String`s and ASCII), so this never copies.
fn bytes_to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes FHIR JSON indented by two spaces.
///
/// ```
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Patient","name":[{"family":"Smith"}]}"#)?;
/// assert_eq!(json::to_string_pretty(&r), "{\n  \"resourceType\": \"Patient\",\n  \"name\": [\n    {\n      \"family\": \"Smith\"\n    }\n  ]\n}");
/// # Ok::<(), carecodec_fhir::json::Error>(())
/// ```
pub fn to_string_pretty<T: ToJson + ?Sized>(value: &T) -> String {
    let mut w = Writer::new(true);
    value.write_json(&mut w);
    bytes_to_string(w.into_bytes())
}

/// Writes compact FHIR JSON to `writer`.
///
/// # Errors
/// Any I/O error of `writer`.
///
/// ```
/// use carecodec_fhir::{json, Resource};
///
/// let r: Resource = json::from_str(r#"{"resourceType":"Patient","active":true}"#)?;
/// let mut out = Vec::new();
/// json::to_writer(&mut out, &r)?;
/// assert_eq!(out, br#"{"resourceType":"Patient","active":true}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_writer<T: ToJson + ?Sized, W: std::io::Write>(
    mut writer: W,
    value: &T,
) -> std::io::Result<()> {
    writer.write_all(&to_vec(value))
}
