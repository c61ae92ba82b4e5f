//! The model's text no FHIR string holds, listed in `not_written` by one walk
//! over the record (its serde form), whatever the field.
//!
//! The Bundle tree never writes such text ([`super::tree`]: a blank string is
//! left out, with any object or array it leaves empty, and control characters
//! other than tab, LF and CR are not written). This walk finds the same text
//! in the model, so the writers list it: each blank (white space only)
//! string, each string with control characters, each identifier with a
//! blank value (never written, never a key: [`super::keyable`]) and each
//! coding of neither code nor display (R4 ele-1), at its model field path.

use carecodec_model::{Code, Identifier, NotWritten, Sources};
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

/// The notes of `record`'s text (see the module), to be added by
/// [`merge`] once the writer has noted its own; none unless notes are kept.
pub(super) fn text_notes<T: serde::Serialize>(record: &T, losses: &Losses<'_>) -> Vec<NotWritten> {
    let mut notes = Vec::new();
    if !losses.kept() {
        return notes;
    }
    if let Ok(v) = serde_json::to_value(record) {
        walk(&v, &mut String::new(), &Sources::new(), &mut notes);
    }
    notes
}

/// Adds `notes` to the list of `losses` after what the writer noted from
/// index `from` on, each but one at or under a field noted already (the
/// writer's reason is the more precise).
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

fn walk(v: &Value, path: &mut String, sources: &Sources, notes: &mut Vec<NotWritten>) {
    match v {
        Value::String(s) => string(s, path, sources, notes),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = path.len();
                path.push('[');
                path.push_str(itoa::Buffer::new().format(i));
                path.push(']');
                walk(item, path, sources, notes);
                path.truncate(at);
            }
        }
        Value::Object(m) => {
            // A `Sourced` value: its field path goes through it, with its sources.
            if let (2, Some(inner), Some(src)) = (m.len(), m.get("value"), m.get("sources")) {
                let own = serde_json::from_value::<Sources>(src.clone()).ok();
                return walk(inner, path, own.as_ref().unwrap_or(sources), notes);
            }
            // An enum's content (an observation's value): the model's field
            // paths name no `{"type", "value"}` tag.
            if let (2, Some(Value::String(_)), Some(inner)) =
                (m.len(), m.get("type"), m.get("value"))
            {
                return walk(inner, path, sources, notes);
            }
            if m.contains_key("kind") && m.contains_key("id") && m.len() == 2 {
                if let Ok(id) = serde_json::from_value::<Identifier>(v.clone()) {
                    return identifier(&id, v, path, sources, notes);
                }
            }
            if m.contains_key("system") && m.contains_key("code") {
                if let Ok(c) = serde_json::from_value::<Code>(v.clone()) {
                    if blank_text(&c.code) && c.display.as_deref().is_none_or(blank_text) {
                        let text = format!("{} {}", c.system.uri(), c.code);
                        note(notes, path, text, sources, EMPTY_CODING);
                        return;
                    }
                }
            }
            for (k, x) in m {
                if k == "sources" {
                    continue;
                }
                let at = push_key(path, k);
                walk(x, path, sources, notes);
                path.truncate(at);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
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

/// An identifier: noted whole when its value is blank (it is not written),
/// or when any of its text is blank or has control characters.
fn identifier(
    id: &Identifier,
    v: &Value,
    path: &str,
    sources: &Sources,
    notes: &mut Vec<NotWritten>,
) {
    let text = format!("{} {}", id.kind(), id.value());
    if blank_text(id.value()) {
        // An identifier with nothing at all (no value, no system) loses nothing.
        if !(id.value().is_empty() && texts(v).all(str::is_empty)) {
            note(notes, path, text, sources, BLANK_IDENTIFIER);
        }
        return;
    }
    let odd = |s: &str| !s.is_empty() && (blank_text(s) || s.bytes().any(is_control));
    if texts(v).any(odd) {
        note(notes, path, text, sources, IDENTIFIER_TEXT);
    }
}

/// Every string in `v` (its tag too).
fn texts(v: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match v {
        Value::String(s) => Box::new(std::iter::once(s.as_str())),
        Value::Array(a) => Box::new(a.iter().flat_map(texts)),
        Value::Object(m) => Box::new(m.values().flat_map(texts)),
        _ => Box::new(std::iter::empty()),
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
