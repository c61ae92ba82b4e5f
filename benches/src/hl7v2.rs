//! Input builders for the HL7 v2 benchmarks.

use std::ops::Range;
use std::path::PathBuf;

/// A large input made by repeating the project's bundled sample messages.
#[derive(Debug)]
pub struct Corpus {
    /// All messages, back to back.
    pub bytes: Vec<u8>,
    /// Each message's byte range in `bytes`.
    pub messages: Vec<Range<usize>>,
}

/// The bundled single-message samples (`examples/data/hl7v2/*.hl7`, batch files excluded).
pub fn samples() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data/hl7v2");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hl7"))
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.starts_with(b"MSH") || b.starts_with(b"\xEF\xBB\xBFMSH"))
        .collect()
}

/// Repeats the samples until the input holds at least `target` bytes.
pub fn corpus(target: usize) -> Corpus {
    let samples = samples();
    let mut bytes = Vec::with_capacity(target + 4096);
    let mut messages = Vec::new();
    if samples.is_empty() {
        return Corpus { bytes, messages };
    }
    while bytes.len() < target {
        for s in &samples {
            let start = bytes.len();
            bytes.extend_from_slice(s);
            messages.push(start..bytes.len());
        }
    }
    Corpus { bytes, messages }
}

/// Counts delimiter bytes with a 256-entry table: the memory-speed ceiling a
/// parser that looks at every byte cannot beat.
pub fn table_scan(bytes: &[u8]) -> usize {
    let mut table = [0u8; 256];
    for b in [b'|', b'^', b'~', b'\\', b'&', b'\r'] {
        if let Some(t) = table.get_mut(usize::from(b)) {
            *t = 1;
        }
    }
    bytes
        .iter()
        .map(|&b| usize::from(table.get(usize::from(b)).copied().unwrap_or(0)))
        .sum()
}
