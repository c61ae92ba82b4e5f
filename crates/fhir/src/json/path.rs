//! Recovers the element path at a byte offset by re-scanning the input.
//!
//! The typed reader keeps no path while it runs (that would cost on every member); when an
//! error happens this scanner walks the input up to the error offset and rebuilds the path.

enum Frame {
    Object {
        key: Option<String>,
        expect_key: bool,
    },
    Array {
        index: usize,
    },
}

/// The FHIRPath-style location of `offset` in `input` (best effort on malformed input).
/// When the root's `resourceType` comes after `offset` (sorted keys), it is looked up in the
/// rest of the input, so the path still starts with the resource type.
pub(crate) fn path_at(input: &[u8], offset: usize) -> String {
    let (stack, root) = scan(input, offset);
    let root = root.or_else(|| scan(input, input.len()).1);
    let mut out = root
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "$".to_string());
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(k), .. } => {
                out.push('.');
                out.push_str(k);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Walks `input` up to `offset`: the open objects/arrays there, and the root's
/// `resourceType` if it was seen before.
fn scan(input: &[u8], offset: usize) -> (Vec<Frame>, Option<String>) {
    let end = offset.min(input.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<String> = None;
    let mut i = 0;
    let mut last_was_root_rt = false;
    while i < end {
        let Some(&b) = input.get(i) else { break };
        match b {
            b'{' => stack.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { expect_key, .. }) => *expect_key = true,
                None => {}
            },
            b':' => {
                if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < input.len() {
                    match input.get(j) {
                        Some(b'\\') => j += 2,
                        Some(b'"') => break,
                        _ => j += 1,
                    }
                }
                let text = input.get(start..j.min(input.len())).unwrap_or_default();
                let text = String::from_utf8_lossy(text).into_owned();
                let depth = stack.len();
                match stack.last_mut() {
                    Some(Frame::Object { key, expect_key }) if *expect_key => {
                        last_was_root_rt = depth == 1 && text == "resourceType";
                        *key = Some(text);
                    }
                    _ => {
                        if last_was_root_rt && depth == 1 && root.is_none() {
                            root = Some(text);
                        }
                    }
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    (stack, root)
}

/// Where the duplicate member named in `message` (``duplicate element `gender` ``) starts: the
/// offset just after the opening quote of the last member of that name before `offset` (so
/// that [`line_column`] gives the quote's column), if there is one. The reader raises a
/// duplicate once it has read the member, or its value (an object's end, when it came last).
pub(crate) fn duplicate_key(input: &[u8], offset: usize, message: &str) -> Option<usize> {
    let name = message
        .strip_prefix("duplicate element `")?
        .strip_suffix('`')?
        .as_bytes();
    let end = offset.min(input.len());
    let mut found = None;
    let mut i = 0;
    while i < end {
        if input.get(i) != Some(&b'"') {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + 1;
        while let Some(&b) = input.get(j) {
            match b {
                b'\\' => j += 2,
                b'"' => break,
                _ => j += 1,
            }
        }
        let text = input.get(start + 1..j).unwrap_or_default();
        let mut k = j + 1;
        while matches!(input.get(k), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            k += 1;
        }
        if text == name && input.get(k) == Some(&b':') {
            found = Some(start + 1);
        }
        i = j + 1;
    }
    found
}

/// The JSON number that ends at `offset` (where the reader stops after one), as written.
pub(crate) fn number_before(input: &[u8], offset: usize) -> Option<String> {
    let before = input.get(..offset)?;
    let start = before
        .iter()
        .rposition(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
        .map_or(0, |i| i + 1);
    let number = before.get(start..)?;
    (!number.is_empty()).then(|| String::from_utf8_lossy(number).into_owned())
}

/// The 1-based line and column (as serde_json counts them: the column of the byte just read)
/// of byte `offset`; the inverse of [`offset_of`].
pub(crate) fn line_column(input: &[u8], offset: usize) -> (usize, usize) {
    let before = input.get(..offset).unwrap_or(input);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    (line, offset - line_start.min(offset))
}

/// Byte offset of a 1-based line / column pair (as serde_json reports them).
pub(crate) fn offset_of(input: &[u8], line: usize, column: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let mut start = 0;
    if line > 1 {
        let mut seen = 1;
        for (i, &b) in input.iter().enumerate() {
            if b == b'\n' {
                seen += 1;
                if seen == line {
                    start = i + 1;
                    break;
                }
            }
        }
    }
    start.saturating_add(column).min(input.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let s = br#"{"resourceType":"Patient","name":[{"given":["a","b"]},{"family":"x"}]}"#;
        let at = |needle: &str| {
            let pos = s
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .unwrap();
            path_at(s, pos + needle.len())
        };
        assert_eq!(at("\"b\""), "Patient.name[0].given[1]");
        assert_eq!(at("\"family\""), "Patient.name[1].family");
        assert_eq!(path_at(b"[1,{\"a\"", 7), "$[1].a");
        // Sorted keys: the root's resourceType comes after the fault.
        let sorted = br#"{"id":"x","name":[{"colour":1}],"resourceType":"Patient"}"#;
        assert_eq!(path_at(sorted, 28), "Patient.name[0].colour");
        // Fuzz regression: an empty resourceType does not make an empty path.
        assert_eq!(path_at(br#"{"resourceType":""}]"#, 20), "$");
    }

    #[test]
    fn duplicate_keys() {
        let s = br#"{"a":"\"b\":","b":1,"b":{"b":2}}"#;
        let msg = "duplicate element `b`";
        // The second `b` member's quote is byte 20; the `"b":` inside a string is no member.
        assert_eq!(duplicate_key(s, 24, msg), Some(21));
        assert_eq!(duplicate_key(s, 12, msg), None);
        assert_eq!(duplicate_key(s, 24, "something else"), None);
    }
}
