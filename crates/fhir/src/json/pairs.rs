//! R4 JSON's `null` in a repeating primitive: "the `null` value is used to pad" one of the two
//! arrays (`given`, `_given`) where the other has an entry. An index that is `null` in both, or
//! `null` in one with no twin array at all (`"given": [null]`), is an element with neither a
//! value nor an extension (ele-1), which no writer can represent (`"name": [{}]`, `<name/>`).
//!
//! The typed reader cannot see this until the object ends (the twin array may come later), so
//! it only counts such entries ([`super::de::Cx::take_unpaired`]); when one is left after a read,
//! this module finds it in the text, with its place. Valid input, and input whose `null`s are
//! all paired, never comes here.

use super::error::{Error, ErrorKind, Issue};
use super::path;
use crate::xml::json::{Json, Value, parse};

/// One unpaired `null`: its offset in the input, and the message for it.
struct Unpaired {
    offset: usize,
    message: String,
}

/// Every unpaired `null` of `input`, in document order.
fn find(input: &[u8]) -> Vec<Unpaired> {
    // The typed reader has read `input`: it parses (an error here only means nothing found).
    let Ok(root) = parse(input) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.sort_by_key(|u| u.offset);
    out
}

fn walk(v: &Value<'_>, out: &mut Vec<Unpaired>) {
    match &v.json {
        Json::Arr(items) => items.iter().for_each(|i| walk(i, out)),
        Json::Obj(members) => {
            for m in members {
                walk(&m.value, out);
                let Json::Arr(items) = &m.value.json else {
                    continue;
                };
                if !items.iter().any(|i| matches!(i.json, Json::Null)) {
                    continue;
                }
                let (name, twin) = match m.key.strip_prefix('_') {
                    Some(name) => (name, name.to_owned()),
                    None => (&*m.key, format!("_{}", m.key)),
                };
                let twin = members
                    .iter()
                    .find(|t| t.key == twin.as_str())
                    .and_then(|t| match &t.value.json {
                        Json::Arr(items) => Some(items),
                        _ => None,
                    });
                // Null in both: reported once, at the value array's entry.
                if m.key.starts_with('_') && twin.is_some() {
                    continue;
                }
                for (i, item) in items.iter().enumerate() {
                    let paired = twin
                        .and_then(|t| t.get(i))
                        .is_some_and(|t| !matches!(t.json, Json::Null));
                    if matches!(item.json, Json::Null) && !paired {
                        out.push(Unpaired {
                            offset: item.offset,
                            message: format!(
                                "`{name}[{i}]` has neither a value nor an extension: R4 JSON puts `null` in `{name}` or `_{name}` only where the other has an entry"
                            ),
                        });
                    }
                }
            }
        }
        _ => {}
    }
}

/// The strict reader's error for the first unpaired `null` of `input`, placed at it.
#[cold]
pub(crate) fn error(input: &[u8]) -> Option<Error> {
    let first = find(input).into_iter().next()?;
    // The offset just after the null's first byte: `line_column` gives that byte's column.
    let offset = first.offset + 1;
    let (line, column) = path::line_column(input, offset);
    Some(Error::new(
        ErrorKind::InvalidValue,
        first.message,
        line,
        column,
        offset,
        path::path_at(input, offset),
    ))
}

/// The lenient reader's issues for the unpaired `null`s of `input`.
#[cold]
pub(crate) fn issues(input: &[u8]) -> Vec<Issue> {
    find(input)
        .into_iter()
        .map(|u| {
            let (line, column) = path::line_column(input, u.offset + 1);
            let location = path::path_at(input, u.offset + 1);
            Issue {
                kind: ErrorKind::InvalidValue,
                path: definition_path(&location),
                message: u.message,
                offset: Some(u.offset),
                line,
                column,
                location,
            }
        })
        .collect()
}

/// `Patient.name[0].given[1]` → `Patient.name.given`.
fn definition_path(location: &str) -> String {
    let mut out = String::with_capacity(location.len());
    let mut depth = 0usize;
    for c in location.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unpaired_nulls_only() {
        let offsets = |s: &str| {
            find(s.as_bytes())
                .iter()
                .map(|u| u.offset)
                .collect::<Vec<_>>()
        };
        assert!(offsets(r#"{"given":["a",null],"_given":[null,{"id":"x"}]}"#).is_empty());
        assert!(offsets(r#"{"_given":[{"id":"x"}],"given":[null]}"#).is_empty());
        assert_eq!(offsets(r#"{"given":[null]}"#), [10]);
        assert_eq!(
            offsets(r#"{"given":["a",null],"_given":[null,null]}"#),
            [14]
        );
        assert_eq!(offsets(r#"{"_given":[null]}"#), [11]);
        assert_eq!(
            offsets(r#"{"x":[{"given":[null]}],"y":[{"_a":[null]}]}"#),
            [16, 36]
        );
        assert_eq!(
            definition_path("Patient.name[0].given[1]"),
            "Patient.name.given"
        );
    }
}
