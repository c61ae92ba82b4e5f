//! Property tests: rows generated from the layout tables are written, read
//! back and typed to the same values; arbitrary bytes never panic.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_esr::bi::BiReader;
use carecodec_esr::layout::{FieldType, Profile, layouts};
use carecodec_esr::value::{self, FieldValue};
use carecodec_esr::{GoOptions, GoReader, TypedRecord, inbound};
use proptest::prelude::*;

/// A valid raw value for a field type.
fn value_for(ty: FieldType, required: bool) -> BoxedStrategy<String> {
    let date =
        (1950i32..2040, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y:04}{m:02}{d:02}"));
    let v: BoxedStrategy<String> = match ty {
        FieldType::Lit => Just(String::new()).boxed(),
        FieldType::Id => "[1-9][0-9]{0,8}".boxed(),
        FieldType::Date => date.boxed(),
        FieldType::End => {
            prop_oneof![Just("47121231".to_owned()), Just("20991231".to_owned())].boxed()
        }
        FieldType::Ts => (date, 0u32..24, 0u32..60)
            .prop_map(|(d, h, m)| format!("{d} {h:02}{m:02}00"))
            .boxed(),
        FieldType::Dec | FieldType::DecPos => "[0-9]{1,5}(\\.[0-9]{1,2})?".boxed(),
        FieldType::Dec01 => prop_oneof![Just("1".to_owned()), "0\\.[0-9]{1,4}"].boxed(),
        FieldType::Pct => "[0-9]{1,2}(\\.[0-9])?".boxed(),
        FieldType::Yn => prop_oneof![
            Just("Yes".to_owned()),
            Just("No".to_owned()),
            Just("Y".to_owned()),
            Just("n".to_owned())
        ]
        .boxed(),
        FieldType::Hhmm => (0u32..24, 0u32..60)
            .prop_map(|(h, m)| format!("{h:02}:{m:02}"))
            .boxed(),
        FieldType::Nino => "[ABCEGHJ][ABCEGHJ][0-9]{6}[A-D]".boxed(),
        FieldType::Occ => "[0-9]{3}".boxed(),
        FieldType::AsgNo => "[0-9]{8}(-[0-9])?".boxed(),
        FieldType::Email => "[a-z]{1,8}@[a-z]{1,8}\\.invalid".boxed(),
        FieldType::Unused => Just(String::new()).boxed(),
        FieldType::Kff => "[A-Za-z0-9 ]{1,6}(\\|[A-Za-z0-9 ]{1,6}){0,3}".boxed(),
        _ => "[A-Za-z0-9 '\"&.,()\\-/é]{1,12}".boxed(),
    };
    if required || matches!(ty, FieldType::Lit | FieldType::Unused | FieldType::End) {
        v
    } else {
        prop_oneof![1 => Just(String::new()), 3 => v].boxed()
    }
}

fn rows() -> impl Strategy<Value = (Profile, Vec<(usize, Vec<String>)>)> {
    prop_oneof![Just(Profile::Gdw), Just(Profile::Exp)].prop_flat_map(|p| {
        let all = layouts(p, "01").unwrap();
        let row = (0..all.len()).prop_flat_map(move |i| {
            let l = &all[i];
            let fields: Vec<BoxedStrategy<String>> = l
                .fields
                .iter()
                .map(|f| value_for(f.ty, f.required))
                .collect();
            (Just(i), fields)
        });
        (Just(p), prop::collection::vec(row, 1..12))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_rows_read_back_equal((profile, rows) in rows()) {
        let all = layouts(profile, "01").unwrap();
        let name = format!("GO_999_{}_GOF_20250301_00000001.DAT", profile.code());
        let mut file = format!("HDR~{name}~20250301 021503~999~00000000 000000~20250301 000000~01\n").into_bytes();
        let mut expected = Vec::new();
        for (i, fields) in &rows {
            let l = &all[*i];
            let mut f = fields.clone();
            f[0] = l.code.to_owned();
            // Keep date-tracked ranges ordered: start before the (far) end.
            file.extend(value_latin1(&f.join("~")));
            file.push(b'\n');
            expected.push((l.code, f));
        }
        file.extend(format!("TRL~{}\n", rows.len() + 2).into_bytes());
        let mut r = GoReader::new(&file[..], Some(&name), GoOptions::default());
        let mut got = 0;
        let mut kept = TypedRecord::default();
        while let Some(e) = r.next_record() {
            let (code, fields) = &expected[got];
            prop_assert!(e.accepted, "{} {:?} {:?}", code, fields, e.problems);
            let t = e.typed().unwrap();
            prop_assert_eq!(&t.code, code);
            // The borrowed view gives the same names and values, and so does
            // refilling a kept record that held the previous row.
            let borrowed: Vec<_> = e.typed_fields().unwrap().map(|(n, v)| (n, v.into_owned())).collect();
            prop_assert_eq!(&borrowed, &t.fields);
            prop_assert!(e.typed_into(&mut kept));
            prop_assert_eq!(&kept, &t);
            for ((name, v), raw) in t.fields.iter().zip(fields) {
                let spec = all.iter().find(|l| l.code == *code).unwrap().fields.iter().find(|s| s.name == *name).unwrap();
                let want = value::typed(spec.ty, &value_latin1(raw), false);
                if spec.ty != FieldType::Lit {
                    prop_assert_eq!(v, &want, "{}", name);
                }
                if let (FieldValue::Text(s), false) = (v, raw.is_empty()) {
                    prop_assert_eq!(s, raw);
                }
            }
            got += 1;
        }
        prop_assert_eq!(got, rows.len());
        let s = r.summary();
        prop_assert!(s.complete, "{:?}", s.problems);
        prop_assert_eq!(s.read, s.accepted);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut r = GoReader::new(&data[..], None, GoOptions::default().split_concatenated(true));
        while let Some(e) = r.next_record() {
            let owned = e.typed();
            let borrowed = e.typed_fields().map(|f| f.map(|(n, v)| (n, v.into_owned())).collect::<Vec<_>>());
            prop_assert_eq!(owned.map(|t| t.fields), borrowed);
        }
        let _ = BiReader::read(&data);
        let _ = inbound::read(&data);
        let mut with_hdr = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~x~999~~~01\n".to_vec();
        with_hdr.extend_from_slice(&data);
        let mut r = GoReader::new(&with_hdr[..], None, GoOptions::default());
        while r.next_record().is_some() {}
        prop_assert_eq!(r.summary().read, r.summary().accepted + r.summary().rejected);
    }
}

/// The file's encoding is ISO-8859-1: write text that way.
fn value_latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Field text for the inbound writer: mostly plain, sometimes the characters that break the
/// format (comma, quote, CR, LF), date look-alikes, non-ASCII and controls.
fn inbound_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[A-Za-z0-9 .&()/-]{0,12}",
        1 => "[A-Za-z0-9 ,\"\r\n\t\u{0}é€-]{0,10}",
        1 => Just("23 - Mar - 2012".to_owned()),
        1 => Just("03-Feb-2025".to_owned()),
        1 => any::<String>(),
    ]
    .boxed()
}

fn inbound_entry() -> impl Strategy<Value = inbound::Attendance> {
    (
        (1900i32..2100, 1u32..13, 1u32..29),
        inbound_text(),
        inbound_text(),
        inbound_text(),
        prop::collection::vec((inbound_text(), inbound_text()), 0..17),
    )
        .prop_map(|((y, m, d), action, asg, element, values)| {
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let mut a = inbound::Attendance::new(date, &asg, &element);
            a.action = action;
            a.values = values;
            a
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever `inbound::write` accepts, `inbound::read` reads back as written: the same
    /// header, every entry accepted and equal, no problem. Text that would break the format is
    /// refused by the writer, never written.
    #[test]
    fn inbound_writer_output_reads_back_equal(
        h in prop::collection::vec(inbound_text(), 7),
        entries in prop::collection::vec(inbound_entry(), 0..4),
    ) {
        let header = inbound::InboundHeader::new(&h[0], &h[1], &h[2], &h[3], &h[4], &h[5], &h[6]);
        let Ok(bytes) = inbound::write(&header, &entries) else { return Ok(()) };
        let back = inbound::read(&bytes).unwrap();
        prop_assert!(back.problems.is_empty(), "{:?}", back.problems);
        prop_assert_eq!(&back.header, &header);
        prop_assert_eq!(back.footer, Some(entries.len() as u64));
        prop_assert_eq!(back.summary.read, entries.len() as u64);
        prop_assert_eq!(back.summary.accepted, entries.len() as u64);
        let got: Vec<_> = back.records.iter().map(|r| r.to_attendance()).collect();
        let want: Vec<_> = entries.into_iter().map(Some).collect();
        prop_assert_eq!(got, want);
    }

    /// Every inbound file, however broken, accounts for its ATT rows.
    #[test]
    fn inbound_reader_counts_hold(data in prop::collection::vec(prop_oneof![
        Just(b"HDR,TA_999_SEL_MN2511_00000001.DAT,1,SEL,999,M,N,11".to_vec()),
        Just(b"ATT,20250228,ADD,,90000001,,\"E\",\"N\",1,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,".to_vec()),
        Just(b"FTR,1,0".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ], 0..12)) {
        let bytes = data.concat();
        let f = inbound::read(&bytes).unwrap();
        prop_assert_eq!(f.summary.read, f.summary.accepted + f.summary.rejected);
        prop_assert_eq!(f.summary.read, f.records.len() as u64);
        prop_assert_eq!(f.summary.accepted, f.records.iter().filter(|r| r.accepted).count() as u64);
    }
}
