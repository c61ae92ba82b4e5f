//! Fuzz bodies for `carecodec-hl7v2`.

use carecodec_hl7v2::batch::{BatchOptions, BatchReader};
use carecodec_hl7v2::escape::{self, DecodeOptions};
use carecodec_hl7v2::mllp::{Decoder, encode};
use carecodec_hl7v2::{Charset, Delimiters, Message, MessageBuf, Path, WriteOptions};

/// The hl7v2 fuzz targets: name (file stem under `fuzz_targets/`) and body.
pub const TARGETS: &[crate::Target] = &[
    ("hl7_parse", parse),
    ("hl7_batch", batch),
    ("hl7_mllp", mllp),
    ("hl7_escape", escape_roundtrip),
    ("hl7_path", path),
];

/// Parse, walk and decode every leaf, write back exactly and normalised.
pub fn parse(data: &[u8]) {
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    let mut leaves = 0usize;
    msg.for_each_leaf(|p, v| {
        leaves += 1;
        assert_eq!(data.get(v.span()), Some(v.raw()));
        let _ = v.decoded();
        // The printed path reads back to the same value.
        let again = msg.get(&p.to_string()).ok().flatten();
        assert_eq!(again.map(|a| a.raw()), Some(v.raw()), "{p}");
    });
    let mut out = Vec::new();
    msg.write_to(&mut out).ok();
    assert_eq!(out, data);
    assert_eq!(MessageBuf::from(&msg).to_bytes(), data);
    let mut norm = Vec::new();
    if msg
        .write_with(&mut norm, &WriteOptions::normalised())
        .is_ok()
    {
        // Normalised output parses again with the same segment count.
        let again = Message::parse(&norm).ok();
        assert_eq!(again.map(|m| m.segment_count()), Some(msg.segment_count()));
    }
}

/// Stream the input as a batch file; the accounting must balance, every
/// message's bytes are the input's at its offset, and neither depends on how
/// the input arrives: read through a buffer of 1 to 16 bytes (the first
/// byte picks it) and with a 64-byte message limit, the messages and the
/// summary are those of reading it whole.
pub fn batch(data: &[u8]) {
    let mut r = BatchReader::new(data);
    let mut n = 0usize;
    while let Some(e) = r.next_message() {
        n += 1;
        if let Err(err) = &e.result {
            assert!(err.offset() <= data.len());
        }
    }
    let s = r.summary();
    assert_eq!(s.read, n);
    assert_eq!(s.read, s.accepted + s.rejected);

    let run = |cap: usize| {
        let mut opts = BatchOptions::default();
        opts.max_message_bytes = 64;
        let mut r = BatchReader::with_options(std::io::BufReader::with_capacity(cap, data), opts);
        let mut out = Vec::new();
        while let Some(e) = r.next_message() {
            out.push((e.offset, e.line, e.bytes.to_vec(), e.result.is_ok()));
        }
        (out, r.summary().clone())
    };
    let (whole, summary) = run(1 << 16);
    assert_eq!(summary.read, whole.len());
    assert_eq!(summary.read, summary.accepted + summary.rejected);
    for (offset, _, bytes, _) in &whole {
        assert_eq!(
            data.get(*offset..offset + bytes.len()),
            Some(bytes.as_slice())
        );
    }
    let cap = data.first().map_or(1, |b| usize::from(*b % 16) + 1);
    assert_eq!(run(cap), (whole, summary), "buffer of {cap} bytes");
}

/// Decode arbitrary bytes in arbitrary chunks; framing what was decoded decodes the same.
pub fn mllp(data: &[u8]) {
    let split = data.first().map_or(1, |b| usize::from(*b % 16) + 1);
    let mut d = Decoder::with_max_frame(4096);
    let mut frames = Vec::new();
    for chunk in data.chunks(split) {
        d.feed(chunk);
        while let Some(f) = d.next_frame() {
            if let Ok(f) = f {
                frames.push(f);
            }
        }
    }
    let _ = d.finish();
    let mut wire = Vec::new();
    for f in &frames {
        encode(f, &mut wire);
    }
    let mut d = Decoder::new();
    d.feed(&wire);
    for f in &frames {
        assert_eq!(d.next_frame(), Some(Ok(f.clone())));
    }
}

/// Decoding never panics; encoding any text decodes back to it.
pub fn escape_roundtrip(data: &[u8]) {
    let d = Delimiters::new(b'|', b"^~\\&#").unwrap_or_default();
    for cs in [Charset::Ascii, Charset::Latin1, Charset::Utf8] {
        let _ = escape::decode(data, &d, cs, &DecodeOptions::default());
        let _ = escape::decode(data, &d, cs, &DecodeOptions::render());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        // With an escape character, UTF-8 can write any text.
        let raw = escape::encode(text, &d, Charset::Utf8);
        assert!(raw.is_ok(), "{raw:?}");
        let raw = raw.unwrap_or_default();
        let back = escape::decode(&raw, &d, Charset::Utf8, &DecodeOptions::default());
        assert_eq!(back.ok().as_deref(), Some(text));
    }
}

/// Paths parse or fail cleanly; a parsed path prints and reparses to itself.
pub fn path(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Path::parse(s) {
        let printed = p.to_string();
        let again = Path::parse(&printed).ok();
        assert_eq!(again.map(|a| a.to_string()), Some(printed));
        let msg = Message::parse(b"MSH|^~\\&|A\rPID|1||X^Y&Z~W\r").ok();
        if let Some(m) = msg {
            let _ = m.query(&p);
        }
    }
}
