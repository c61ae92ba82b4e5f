//! Input builders for the map benchmarks.

use std::ops::Range;

use crate::hl7v2::samples;

/// Bundled sample messages repeated into one buffer, split by kind.
#[derive(Debug)]
pub struct Messages {
    /// All messages, back to back.
    pub bytes: Vec<u8>,
    /// Each message's byte range in `bytes`.
    pub ranges: Vec<Range<usize>>,
}

/// The bundled single-message samples whose MSH-9 starts with `kind`
/// (`b"ADT"`, `b"ORU"`), repeated until there are at least `count` messages.
pub fn messages(kind: &[u8], count: usize) -> Messages {
    let picked: Vec<Vec<u8>> = samples()
        .into_iter()
        .filter(|m| message_type_starts_with(m, kind))
        .collect();
    let mut bytes = Vec::new();
    let mut ranges = Vec::with_capacity(count);
    if picked.is_empty() {
        return Messages { bytes, ranges };
    }
    while ranges.len() < count {
        for m in &picked {
            let start = bytes.len();
            bytes.extend_from_slice(m);
            ranges.push(start..bytes.len());
        }
    }
    Messages { bytes, ranges }
}

/// True when the first segment's ninth field starts with `kind`.
fn message_type_starts_with(msg: &[u8], kind: &[u8]) -> bool {
    let first = msg
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    // MSH|^~\&|f3|f4|f5|f6|f7|f8|f9 : MSH-9 is the tenth `|`-separated piece.
    first
        .split(|&b| b == b'|')
        .nth(8)
        .is_some_and(|f| f.starts_with(kind))
}
