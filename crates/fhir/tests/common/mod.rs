//! Test helpers: compare two JSON texts as trees, numbers by their literal text.
#![allow(dead_code, reason = "each test binary uses a subset")]

use serde_json::Value;
use serde_json::value::RawValue;

/// A JSON tree whose numbers keep their literal text.
#[derive(Debug, PartialEq)]
pub enum Tree {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

fn tree(raw: &RawValue) -> Result<Tree, String> {
    let text = raw.get().trim();
    let first = text.as_bytes().first().copied().unwrap_or(b' ');
    Ok(match first {
        b'{' => {
            let m: std::collections::BTreeMap<String, &RawValue> =
                serde_json::from_str(text).map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for (k, v) in m {
                out.push((k, tree(v)?));
            }
            Tree::Object(out)
        }
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| e.to_string())?;
            Tree::Array(items.into_iter().map(tree).collect::<Result<_, _>>()?)
        }
        b'"' => Tree::String(serde_json::from_str(text).map_err(|e| e.to_string())?),
        b'n' => Tree::Null,
        b't' => Tree::Bool(true),
        b'f' => Tree::Bool(false),
        _ => Tree::Number(text.to_string()),
    })
}

/// Parses `bytes` into a [`Tree`].
pub fn parse(bytes: &[u8]) -> Result<Tree, String> {
    let raw: &RawValue = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    tree(raw)
}

/// `Ok` if `a` and `b` are the same JSON (key order ignored, numbers compared as text).
pub fn same_json(a: &[u8], b: &[u8]) -> Result<(), String> {
    let (ta, tb) = (parse(a)?, parse(b)?);
    if ta == tb {
        return Ok(());
    }
    Err(first_diff(&ta, &tb, "$"))
}

fn first_diff(a: &Tree, b: &Tree, path: &str) -> String {
    match (a, b) {
        (Tree::Object(x), Tree::Object(y)) => {
            for (k, v) in x {
                match y.iter().find(|(k2, _)| k2 == k) {
                    None => return format!("{path}.{k} missing in output"),
                    Some((_, v2)) if v != v2 => return first_diff(v, v2, &format!("{path}.{k}")),
                    _ => {}
                }
            }
            for (k, _) in y {
                if !x.iter().any(|(k2, _)| k2 == k) {
                    return format!("{path}.{k} added in output");
                }
            }
            format!("{path}: differs")
        }
        (Tree::Array(x), Tree::Array(y)) if x.len() == y.len() => {
            for (i, (v, v2)) in x.iter().zip(y).enumerate() {
                if v != v2 {
                    return first_diff(v, v2, &format!("{path}[{i}]"));
                }
            }
            format!("{path}: differs")
        }
        _ => format!("{path}: {a:?} != {b:?}")
            .chars()
            .take(300)
            .collect(),
    }
}

/// Converts a `serde_json::Value` for tests that build JSON with `json!`.
pub fn value_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}
