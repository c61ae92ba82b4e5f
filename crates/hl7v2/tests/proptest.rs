//! Property tests: values written through `MessageBuf` parse back unchanged,
//! for any delimiter set and any text; and any input that parses writes back
//! byte for byte.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use carecodec_hl7v2::{Charset, Delimiters, Level, Message, MessageBuf, Path, escape};
use proptest::prelude::*;

/// Five or six distinct delimiter characters drawn from HL7-legal punctuation.
fn delimiters() -> impl Strategy<Value = Delimiters> {
    let pool: Vec<u8> = b"|^~\\&#!$%*+/:;=?@{}".to_vec();
    (Just(pool).prop_shuffle(), any::<bool>()).prop_map(|(p, trunc)| {
        let enc: Vec<u8> = if trunc {
            p[1..6].to_vec()
        } else {
            p[1..5].to_vec()
        };
        Delimiters::new(p[0], &enc).unwrap()
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9 ]{0,12}",
        "[|^~\\\\&#!$%*+/:;=?@{}\r\n A-Z]{0,12}",
        "\\PC{0,8}",
        "[\x00-\x1f\x7f A-Z]{0,12}",
        Just("\"\"".to_owned()),
    ]
}

type Leaf = (u8, u32, u32, u32, u32, u32);

fn leaves() -> impl Strategy<Value = Vec<(Leaf, String)>> {
    prop::collection::vec(
        (
            (0u8..3, 1u32..3, 1u32..6, 1u32..3, 1u32..4, 1u32..3),
            text(),
        ),
        1..20,
    )
}

const IDS: [&str; 3] = ["PID", "OBX", "ZZ1"];

/// A leaf as the walk reports it: segment ordinal's id, field, repetition,
/// component, subcomponent, and span.
type Walked = (
    String,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    std::ops::Range<usize>,
);

fn walked(msg: &Message<'_>) -> Vec<Walked> {
    let mut out = Vec::new();
    msg.for_each_leaf(|p, v| {
        out.push((
            p.segment().to_owned(),
            p.field,
            p.repetition,
            p.component,
            p.subcomponent,
            v.span(),
        ));
    });
    out
}

/// The same walk done the slow, obvious way: split field → repetitions →
/// components → subcomponents with `Value::parts`, keeping the non-empty
/// leaves.
fn nested_walk(msg: &Message<'_>) -> Vec<Walked> {
    let mut out = Vec::new();
    for seg in msg.segments() {
        let id = seg.id().to_owned();
        for (n, field) in seg.fields() {
            if field.is_empty() {
                continue;
            }
            if field.level() == Level::Literal {
                out.push((id.clone(), Some(n), None, None, None, field.span()));
                continue;
            }
            for (r, rep) in field.parts().enumerate() {
                for (c, comp) in rep.parts().enumerate() {
                    for (s, sub) in comp.parts().enumerate() {
                        if !sub.is_empty() {
                            let at = |i: usize| Some(i as u32 + 1);
                            out.push((id.clone(), Some(n), at(r), at(c), at(s), sub.span()));
                        }
                    }
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn written_values_parse_back(d in delimiters(), leaves in leaves()) {
        let mut buf = MessageBuf::new(d);
        let mut expected = BTreeMap::new();
        for ((seg, occ, field, rep, comp, sub), value) in leaves {
            let path = format!("{}[{occ}]-{field}[{rep}].{comp}.{sub}", IDS[seg as usize]);
            buf.set(&path, &value).unwrap();
            expected.insert(path, value);
        }
        let bytes = buf.to_bytes();
        let msg = Message::parse(&bytes).unwrap();
        prop_assert_eq!(msg.delimiters(), d);
        for (path, value) in &expected {
            let got = msg.get(path).unwrap();
            match got {
                Some(v) => prop_assert_eq!(&v.decoded().unwrap(), value, "{}", path),
                None => prop_assert!(value.is_empty(), "{} absent, expected {:?}", path, value),
            }
        }
        // And the walk sees exactly the non-empty values.
        let mut walked = BTreeMap::new();
        msg.for_each_leaf(|p, v| {
            if p.segment() != "MSH" {
                walked.insert(p.to_string(), v.decoded().unwrap().into_owned());
            }
        });
        let nonempty: BTreeMap<_, _> = expected
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (carecodec_hl7v2::Path::parse(k).unwrap().to_string(), v.clone()))
            .collect();
        prop_assert_eq!(walked, nonempty);
    }

    #[test]
    fn parse_then_write_is_byte_identical(
        bom in any::<bool>(),
        body in prop::collection::vec(prop::sample::select(b"|^~\\&AZ09 \r\n\"".to_vec()), 0..200),
        segs in prop::collection::vec(prop::sample::select(vec![&b"\rPID|"[..], b"\nOBX|", b"\r\nNTE|", b"\r\r", b"\n"]), 0..6),
    ) {
        let mut input = Vec::new();
        if bom {
            input.extend_from_slice(b"\xEF\xBB\xBF");
        }
        input.extend_from_slice(b"MSH|^~\\&|");
        let mut chunks = body.chunks(25);
        for s in &segs {
            if let Some(c) = chunks.next() {
                input.extend_from_slice(c);
            }
            input.extend_from_slice(s);
        }
        if let Ok(msg) = Message::parse(&input) {
            let mut out = Vec::new();
            msg.write_to(&mut out).unwrap();
            prop_assert_eq!(&out, &input);
            prop_assert_eq!(MessageBuf::from(&msg).to_bytes(), input.clone());
            // Every leaf's span points at its raw bytes.
            msg.for_each_leaf(|_, v| assert_eq!(&input[v.span()], v.raw()));
            prop_assert_eq!(walked(&msg), nested_walk(&msg));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut with_header = b"MSH|^~\\&|".to_vec();
        with_header.extend_from_slice(&input);
        for bytes in [&input, &with_header] {
            if let Ok(msg) = Message::parse(bytes) {
                msg.for_each_leaf(|_, v| {
                    let _ = v.decoded();
                });
                let _ = msg.message_type();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Framed messages split at arbitrary points decode to the same messages.
    #[test]
    fn mllp_any_chunking_yields_the_same_frames(
        bodies in prop::collection::vec("[A-Z0-9|^~&\r]{0,40}", 1..6),
        cuts in prop::collection::vec(1usize..17, 1..40),
    ) {
        use carecodec_hl7v2::mllp::{Decoder, encode};
        let mut wire = Vec::new();
        for b in &bodies {
            encode(b.as_bytes(), &mut wire);
        }
        let mut d = Decoder::new();
        let mut got = Vec::new();
        let mut rest = &wire[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts[i % cuts.len()].min(rest.len());
            d.feed(&rest[..n]);
            rest = &rest[n..];
            i += 1;
            while let Some(f) = d.next_frame() {
                got.push(String::from_utf8(f.unwrap()).unwrap());
            }
        }
        prop_assert_eq!(got, bodies);
        prop_assert!(d.finish().is_none());
    }

    /// Any sequence of messages in a batch envelope is read back with the
    /// right counts, and BTS/FTS agree.
    #[test]
    fn batch_reader_accounts_for_every_message(
        ids in prop::collection::vec("[A-Z0-9]{1,8}", 0..12),
        bad in prop::collection::vec(any::<bool>(), 12),
        lf in any::<bool>(),
    ) {
        use carecodec_hl7v2::batch::BatchReader;
        let t = if lf { "\n" } else { "\r" };
        let mut file = format!("FHS|^~\\&{t}BHS|^~\\&{t}");
        for (i, id) in ids.iter().enumerate() {
            file.push_str(&format!("MSH|^~\\&|A||||||ADT^A01|{id}|P|2.4{t}"));
            // Some messages carry an invalid segment and must be rejected, not dropped.
            file.push_str(if bad[i] { "P!D|1" } else { "PID|1" });
            file.push_str(t);
        }
        file.push_str(&format!("BTS|{}{t}FTS|1{t}", ids.len()));
        let mut r = BatchReader::new(file.as_bytes());
        let mut seen = Vec::new();
        while let Some(e) = r.next_message() {
            if let Ok(m) = &e.result {
                seen.push(m.control_id().unwrap().to_owned());
            }
        }
        let s = r.summary();
        let rejected = ids.iter().zip(&bad).filter(|(_, b)| **b).count();
        prop_assert_eq!(s.read, ids.len());
        prop_assert_eq!(s.rejected, rejected);
        prop_assert_eq!(s.accepted + s.rejected, s.read);
        prop_assert!(s.problems.is_empty(), "{:?}", s.problems);
        let expected: Vec<String> = ids.iter().zip(&bad).filter(|(_, b)| !**b).map(|(i, _)| i.clone()).collect();
        prop_assert_eq!(seen, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any value set on any path, zero indices included (the public `Path`
    /// builders and fields can hold them), never panics: it is refused with
    /// an error, leaving the buffer unchanged, or it reads back as set.
    #[test]
    fn any_set_on_any_path_never_panics_and_reads_back(
        d in delimiters(),
        seg in 0usize..4,
        occ in 0u32..3,
        field in 0u32..6,
        rep in prop::option::of(0u32..3),
        comp in prop::option::of(0u32..3),
        sub in prop::option::of(0u32..3),
        value in text(),
    ) {
        let id = ["PID", "OBX", "ZZ1", "MSH"][seg];
        let mut path = Path::segment_path(id, 1).unwrap().field(field);
        // A second MSH would start a second message.
        path.occurrence = if id == "MSH" { occ.min(1) } else { occ };
        path.repetition = rep;
        path.component = comp;
        path.subcomponent = sub;
        let mut buf = MessageBuf::new(d);
        buf.set("PID-3", "X").unwrap();
        let before = buf.to_bytes();
        let raw = escape::encode(&value, &d, Charset::Utf8).unwrap();
        let zero = [Some(path.occurrence), path.field, rep, comp, sub].contains(&Some(0));
        let refused = zero || (sub.is_some() && comp.is_none()) || (id == "MSH" && field <= 2);
        match buf.set_raw_path(&path, &raw) {
            Err(e) => {
                prop_assert!(refused, "{} refused: {}", path, e);
                prop_assert_eq!(buf.to_bytes(), before);
            }
            Ok(()) => {
                prop_assert!(!refused, "{} accepted", path);
                let bytes = buf.to_bytes();
                let msg = Message::parse(&bytes).unwrap();
                let got = msg.query(&path).map(|v| v.decoded().unwrap().into_owned());
                prop_assert_eq!(got.unwrap_or_default(), value, "{}", path);
            }
        }
    }
}
