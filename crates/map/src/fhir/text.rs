//! The model's text no FHIR string holds, listed in `not_written` by one walk
//! over the record (its serde form), whatever the field.
//!
//! The Bundle tree never writes such text ([`super::tree`]: a blank string is
//! left out, with any object or array it leaves empty, and control characters
//! other than tab, LF and CR are not written). This walk finds the same text
//! in the model, so the writers list it: each blank (white space only)
//! string, each string with control characters, each identifier with a
//! blank value (never written, never a key: [`super::keyable`]), each
//! coding of neither code nor display (R4 ele-1) and each coding system
//! kept by name ([`carecodec_model::CodeSystem::Local`]: never a
//! `Coding.system`, which must be an absolute URI), at its model field path.

use carecodec_model::{NotWritten, Sources};
use serde::Serialize;
use serde::ser;
use serde_json::Value;

use super::Losses;
use super::tree::{blank_text, is_control};

/// Why text is not written as it is (each a [`NotWritten::reason`]).
pub(super) const BLANK: &str = "a FHIR string has content (R4: never empty or only white space): \
    a blank value is not written";
pub(super) const CONTROL: &str = "a FHIR string holds no control character but tab, LF and CR \
    (R4 string): written without them, as the HL7 v2 reader does";
pub(super) const BLANK_IDENTIFIER: &str = "an identifier of blank value is not written, and \
    keys nothing (a search on system| names every resource of its system)";
pub(super) const IDENTIFIER_TEXT: &str = "an identifier's text no FHIR string holds (blank, or \
    with control characters): written without it";
pub(super) const EMPTY_CODING: &str =
    "a coding of no code and no display says nothing (R4 ele-1): not written";
pub(super) const LOCAL_SYSTEM: &str = "a local coding system (HL7 v2 table 0396 `L`, `LB` or \
    `99zzz`) has no FHIR system URI, and Coding.system must be an absolute URI: the coding is \
    written without it";
pub(super) const UNKNOWN_SYSTEM: &str = "a coding system name with no known FHIR system URI \
    (not in carecodec's HL7 v2 table 0396 map), and Coding.system must be an absolute URI: the \
    coding is written without it";

/// Why the coding system kept by name `name` is not written.
fn local_reason(name: &str) -> &'static str {
    if crate::v2::local_system(name) {
        LOCAL_SYSTEM
    } else {
        UNKNOWN_SYSTEM
    }
}

/// The notes of `record`'s text (see the module), to be added by
/// [`merge`] once the writer has noted its own; none unless notes are kept.
/// The record is walked by serialising it into [`Walker`] (no JSON tree is
/// built).
pub(super) fn text_notes<T: Serialize>(record: &T, losses: &Losses<'_>) -> Vec<NotWritten> {
    let mut w = Walker::default();
    if losses.kept() {
        w.path.reserve(64);
        // The walk itself cannot fail; a model serde refuses has no notes.
        if record.serialize(&mut w).is_err() {
            w.notes.clear();
        }
    }
    w.notes
}

/// Adds `notes` to the list of `losses`, after what the writer noted (from
/// index `from` on), but for those at or under a field the writer noted
/// already (its reason is the more precise).
pub(super) fn merge(losses: &mut Losses<'_>, from: usize, notes: Vec<NotWritten>) {
    let Some(list) = losses.0.as_deref_mut() else {
        return;
    };
    let noted: Vec<String> = list
        .get(from..)
        .unwrap_or_default()
        .iter()
        .map(|n| n.field.clone())
        .collect();
    let under = |field: &str, at: &str| {
        field
            .strip_prefix(at)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    };
    list.extend(
        notes
            .into_iter()
            .filter(|n| !noted.iter().any(|at| under(&n.field, at))),
    );
}

/// How long the list of `losses` is (where [`merge`] starts).
pub(super) fn mark(losses: &Losses<'_>) -> usize {
    losses.0.as_deref().map_or(0, Vec::len)
}

/// Appends `.key` (or `key` at the root) to `path`; returns where it was.
fn push_key(path: &mut String, key: &str) -> usize {
    let at = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
    at
}

/// A string leaf: noted when blank (but not empty: nothing is lost) or
/// when it holds control characters.
fn string(s: &str, path: &str, sources: &Sources, notes: &mut Vec<NotWritten>) {
    if s.is_empty() {
        return;
    }
    if blank_text(s) {
        note(notes, path, s.to_owned(), sources, BLANK);
    } else if s.bytes().any(is_control) {
        note(notes, path, s.to_owned(), sources, CONTROL);
    }
}

fn note(
    notes: &mut Vec<NotWritten>,
    path: &str,
    value: String,
    sources: &Sources,
    why: &'static str,
) {
    notes.push(NotWritten::new(path, value, sources.clone(), why));
}

/// A `serde::Serializer` that walks a record for [`text_notes`]: each
/// string at its model field path (a `Sourced` value's path goes through
/// it, an observation value's `{"type", "value"}` tag is no part of it),
/// the notes' sources filled from the nearest `Sourced` around them.
#[derive(Default)]
struct Walker {
    path: String,
    notes: Vec<NotWritten>,
    /// The name of the field being walked (kept through a `Sourced`).
    key: &'static str,
    /// Inside an `Identifier`: what is seen of it.
    identifier: Option<IdentifierSeen>,
    /// Inside a `Code`: what is seen of it.
    code: Option<CodeSeen>,
    /// The last identifier's and coding's buffers, reused by the next (no
    /// allocation an identifier or a coding once they have grown).
    spare_identifier: IdentifierSeen,
    spare_code: CodeSeen,
}

/// An identifier's kind (its tag), value (the content's `value` or
/// `number`, or the content itself: the first seen of each) and whether any
/// of its text is not empty.
#[derive(Default)]
struct IdentifierSeen {
    kind: String,
    has_kind: bool,
    value: String,
    has_value: bool,
    any: bool,
}

impl IdentifierSeen {
    /// Nothing seen yet, keeping the buffers.
    fn reset(&mut self) {
        self.kind.clear();
        self.value.clear();
        (self.has_kind, self.has_value, self.any) = (false, false, false);
    }

    fn kind(&mut self, s: &str) {
        if !self.has_kind {
            self.kind.push_str(s);
            self.has_kind = true;
        }
    }
}

/// A coding's system (as its serde text: the variant's name, then a
/// space and its text, `local L`), and whether its code and display are
/// blank.
#[derive(Default)]
struct CodeSeen {
    system: String,
    code_blank: bool,
    display_blank: bool,
}

impl Walker {
    /// What an identifier or a coding being walked makes of string `s`.
    fn seen(&mut self, s: &str) {
        if let Some(id) = self.identifier.as_mut() {
            id.any |= !s.is_empty();
            match self.key {
                "kind" => id.kind(s),
                "id" | "value" | "number" if !id.has_value => {
                    id.value.push_str(s);
                    id.has_value = true;
                }
                _ => {}
            }
        }
        if let Some(c) = self.code.as_mut() {
            match self.key {
                "code" => c.code_blank = blank_text(s),
                "display" => c.display_blank = blank_text(s),
                _ => {
                    if !c.system.is_empty() {
                        c.system.push(' ');
                    }
                    c.system.push_str(s);
                }
            }
        }
    }
}

/// The walk's error: never raised by the walk itself (a model type's own
/// `Serialize` may raise one).
#[derive(Debug)]
struct WalkError(String);

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WalkError {}

impl ser::Error for WalkError {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        WalkError(msg.to_string())
    }
}

impl From<serde_json::Error> for WalkError {
    fn from(e: serde_json::Error) -> Self {
        WalkError(e.to_string())
    }
}

type Done = Result<(), WalkError>;

impl<'w> ser::Serializer for &'w mut Walker {
    type Ok = ();
    type Error = WalkError;
    type SerializeSeq = Seq<'w>;
    type SerializeTuple = Seq<'w>;
    type SerializeTupleStruct = Seq<'w>;
    type SerializeTupleVariant = Seq<'w>;
    type SerializeMap = Map<'w>;
    type SerializeStruct = Struct<'w>;
    type SerializeStructVariant = Struct<'w>;

    fn serialize_bool(self, _: bool) -> Done {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Done {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Done {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Done {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Done {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Done {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Done {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Done {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Done {
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Done {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Done {
        Ok(())
    }
    fn serialize_char(self, c: char) -> Done {
        self.serialize_str(c.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Done {
        self.seen(v);
        string(v, &self.path, &Sources::new(), &mut self.notes);
        Ok(())
    }
    // A value serialised through its `Display` (chrono's dates and times,
    // the model's V2 paths in sources) is written by the writer from its
    // typed form, never as text a FHIR string would refuse: not formatted
    // (serde's default makes a `String` of each), not looked at.
    fn collect_str<T: ?Sized + std::fmt::Display>(self, _: &T) -> Done {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Done {
        Ok(())
    }
    fn serialize_none(self) -> Done {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Ok(())
    }
    // An enum's variant name: never blank (a code system's is its text, an
    // identifier's tag its kind).
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Done {
        if self.code.is_some() {
            self.seen(variant);
        }
        if let (Some(id), "kind") = (self.identifier.as_mut(), self.key) {
            id.kind(variant);
        }
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Done {
        if self.code.is_some() {
            self.seen(variant);
        }
        let at = push_key(&mut self.path, variant);
        v.serialize(&mut *self)?;
        self.path.truncate(at);
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'w>, WalkError> {
        Ok(Seq::new(self, None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Seq<'w>, WalkError> {
        Ok(Seq::new(self, None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Seq<'w>, WalkError> {
        Ok(Seq::new(self, None))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq<'w>, WalkError> {
        let at = push_key(&mut self.path, variant);
        Ok(Seq::new(self, Some(at)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'w>, WalkError> {
        Ok(Map { w: self, at: None })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Struct<'w>, WalkError> {
        Struct::new(self, name, len, None)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Struct<'w>, WalkError> {
        let at = push_key(&mut self.path, variant);
        Struct::new(self, name, len, Some(at))
    }
}

/// A sequence being walked: each element at `[i]`.
struct Seq<'w> {
    w: &'w mut Walker,
    i: usize,
    /// Where the path was before a variant's name was added.
    at: Option<usize>,
}

impl<'w> Seq<'w> {
    fn new(w: &'w mut Walker, at: Option<usize>) -> Self {
        Seq { w, i: 0, at }
    }

    fn element<T: ?Sized + Serialize>(&mut self, v: &T) -> Done {
        let at = self.w.path.len();
        self.w.path.push('[');
        self.w.path.push_str(itoa::Buffer::new().format(self.i));
        self.w.path.push(']');
        v.serialize(&mut *self.w)?;
        self.w.path.truncate(at);
        self.i += 1;
        Ok(())
    }

    fn done(self) -> Done {
        if let Some(at) = self.at {
            self.w.path.truncate(at);
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = WalkError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Done {
        self.element(v)
    }
    fn end(self) -> Done {
        self.done()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = WalkError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Done {
        self.element(v)
    }
    fn end(self) -> Done {
        self.done()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = WalkError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Done {
        self.element(v)
    }
    fn end(self) -> Done {
        self.done()
    }
}

impl ser::SerializeTupleVariant for Seq<'_> {
    type Ok = ();
    type Error = WalkError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Done {
        self.element(v)
    }
    fn end(self) -> Done {
        self.done()
    }
}

/// A map being walked: each value at its key (as text).
struct Map<'w> {
    w: &'w mut Walker,
    /// Where the path was before the current key was added.
    at: Option<usize>,
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = WalkError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Done {
        let key = match serde_json::to_value(key)? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        self.at = Some(push_key(&mut self.w.path, &key));
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Done {
        v.serialize(&mut *self.w)?;
        if let Some(at) = self.at.take() {
            self.w.path.truncate(at);
        }
        Ok(())
    }
    fn end(self) -> Done {
        Ok(())
    }
}

/// What a struct being walked is.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A `Sourced` value: its value at the path, its sources given to the
    /// notes made inside it.
    Sourced,
    /// An identifier: noted whole ([`BLANK_IDENTIFIER`], [`IDENTIFIER_TEXT`])
    /// instead of its parts.
    Identifier,
    /// A coding: noted whole when it has neither code nor display.
    Code,
    /// Any other struct: each field at its name; an adjacently tagged
    /// enum's `type` tag is no part of the path, nor its `value`.
    Fields,
}

/// A struct being walked.
struct Struct<'w> {
    w: &'w mut Walker,
    kind: Kind,
    /// The notes before it (those from here on are its own).
    from: usize,
    /// Where the path was before a variant's name was added.
    at: Option<usize>,
    /// The field name around it, given back at its end.
    key: &'static str,
    tagged: bool,
    first: bool,
}

impl<'w> Struct<'w> {
    fn new(
        w: &'w mut Walker,
        name: &'static str,
        _len: usize,
        at: Option<usize>,
    ) -> Result<Self, WalkError> {
        let kind = match name {
            "Sourced" => Kind::Sourced,
            "Identifier" if w.identifier.is_none() => {
                let mut seen = std::mem::take(&mut w.spare_identifier);
                seen.reset();
                w.identifier = Some(seen);
                Kind::Identifier
            }
            "Code" if w.code.is_none() => {
                let mut seen = std::mem::take(&mut w.spare_code);
                seen.system.clear();
                (seen.code_blank, seen.display_blank) = (true, true);
                w.code = Some(seen);
                Kind::Code
            }
            _ => Kind::Fields,
        };
        let (from, key) = (w.notes.len(), w.key);
        Ok(Struct {
            w,
            kind,
            from,
            at,
            key,
            tagged: false,
            first: true,
        })
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Done {
        let w = &mut *self.w;
        if self.kind == Kind::Sourced {
            if key != "sources" {
                return v.serialize(w);
            }
            let pending = w.notes.get_mut(self.from..).unwrap_or_default();
            if pending.iter().any(|n| n.sources.is_empty()) {
                let sources: Sources = serde_json::from_value(serde_json::to_value(v)?)?;
                for n in pending.iter_mut().filter(|n| n.sources.is_empty()) {
                    n.sources = sources.clone();
                }
            }
            return Ok(());
        }
        let first = std::mem::replace(&mut self.first, false);
        w.key = key;
        if first && key == "type" {
            self.tagged = true;
            return Ok(());
        }
        if self.tagged && key == "value" {
            return v.serialize(w);
        }
        let at = push_key(&mut w.path, key);
        v.serialize(&mut *w)?;
        w.path.truncate(at);
        Ok(())
    }

    fn done(self) -> Done {
        let w = self.w;
        w.key = self.key;
        match self.kind {
            Kind::Identifier => {
                if let Some(id) = w.identifier.take() {
                    let own = w.notes.len() > self.from;
                    // An identifier with nothing at all loses nothing.
                    let why = if blank_text(&id.value) {
                        id.any.then_some(BLANK_IDENTIFIER)
                    } else {
                        own.then_some(IDENTIFIER_TEXT)
                    };
                    if let Some(why) = why {
                        let text = format!("{} {}", id.kind, id.value);
                        w.notes.truncate(self.from);
                        note(&mut w.notes, &w.path, text, &Sources::new(), why);
                    }
                    w.spare_identifier = id;
                }
            }
            Kind::Code => {
                if let Some(c) = w.code.take() {
                    if c.code_blank && c.display_blank {
                        w.notes.truncate(self.from);
                        let system = c.system.clone();
                        note(&mut w.notes, &w.path, system, &Sources::new(), EMPTY_CODING);
                    } else if let Some(name) =
                        c.system.strip_prefix("local ").filter(|n| !blank_text(n))
                    {
                        // A system kept by name (a blank one is noted as
                        // blank text): the coding is written without it,
                        // which says more than a note on its text.
                        let at = push_key(&mut w.path, "system");
                        let mut i = self.from;
                        while let Some(n) = w.notes.get(i) {
                            let under = n.field.strip_prefix(w.path.as_str());
                            if under.is_some_and(|r| r.starts_with('.')) {
                                w.notes.remove(i);
                            } else {
                                i += 1;
                            }
                        }
                        let why = local_reason(name);
                        note(&mut w.notes, &w.path, name.to_owned(), &Sources::new(), why);
                        w.path.truncate(at);
                    }
                    w.spare_code = c;
                }
            }
            Kind::Sourced | Kind::Fields => {}
        }
        if let Some(at) = self.at {
            w.path.truncate(at);
        }
        Ok(())
    }
}

impl ser::SerializeStruct for Struct<'_> {
    type Ok = ();
    type Error = WalkError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Done {
        self.field(key, v)
    }
    fn end(self) -> Done {
        self.done()
    }
}

impl ser::SerializeStructVariant for Struct<'_> {
    type Ok = ();
    type Error = WalkError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Done {
        self.field(key, v)
    }
    fn end(self) -> Done {
        self.done()
    }
}
