//! Input builders for the map benchmarks.

use std::borrow::Cow;
use std::ops::Range;

use carecodec_hl7v2::Message;
use carecodec_model::{Source, Sourced, V2Path};

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

/// Every non-empty leaf of `msg` decoded and kept as `keep` makes it, with
/// its path and span: the least a mapping into the canonical model with
/// provenance does (the floors `parse_copy_every_leaf` and
/// `parse_borrow_every_leaf` of the map bench, the `copy` and `borrow`
/// stages of `map_stages`). A leaf that does not decode is left out.
///
/// ```
/// use carecodec_benches::map::keep_every_leaf;
/// use carecodec_hl7v2::Message;
///
/// let msg = Message::parse(b"MSH|^~\\&|A\rPID|1||K1\r").unwrap();
/// let kept = keep_every_leaf(&msg, |text| text.into_owned());
/// assert_eq!(kept.last().unwrap().value, "K1");
/// ```
pub fn keep_every_leaf<'a, T>(
    msg: &Message<'a>,
    mut keep: impl FnMut(Cow<'a, str>) -> T,
) -> Vec<Sourced<T>> {
    let mut kept = Vec::new();
    msg.for_each_leaf(|p, v| {
        let (Ok(text), Some(mut path)) = (v.decoded(), V2Path::new(p.segment_id(), p.occurrence))
        else {
            return;
        };
        path.field = p.field;
        path.repetition = p.repetition;
        path.component = p.component;
        path.subcomponent = p.subcomponent;
        kept.push(Sourced::new(keep(text), Source::v2(path, v.span())));
    });
    kept
}
