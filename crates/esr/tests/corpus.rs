//! Conformance over the shared ESR corpus (`../shared/corpora/esr`): every
//! synthetic file gives the outcome its README states, and the public
//! consumer's fixtures read without panics with the counts they imply.
//! Skips, saying so, when the corpus is not beside the workspace.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use carecodec_esr::bi::BiReader;
use carecodec_esr::filename::{FileName, SequenceCheck, SequenceTracker};
use carecodec_esr::inbound;
use carecodec_esr::{FileSummary, GoOptions, GoReader, ProblemKind, Severity};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/esr");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/corpora not found ({})", dir.display());
        None
    }
}

/// Reads a GO file; returns (summaries, rejected lines with their problem kinds).
fn read_go(path: &Path, opts: GoOptions) -> (Vec<FileSummary>, Vec<(u64, Vec<ProblemKind>)>) {
    let bytes = std::fs::read(path).unwrap();
    // The corpus prefixes copied names with `<case>__`; the transport name is the rest.
    let name = path.file_name().unwrap().to_str().unwrap();
    let name = name.rsplit("__").next().unwrap();
    let mut r = GoReader::new(&bytes[..], Some(name), opts);
    let mut rows = Vec::new();
    while let Some(e) = r.next_record() {
        let _ = e.typed();
        rows.push((e.line, e.problems.iter().map(|p| p.kind.clone()).collect()));
    }
    (r.summaries(), rows)
}

fn counts(s: &FileSummary) -> (u64, u64, u64) {
    (s.read, s.accepted, s.rejected)
}

fn file_errors(s: &FileSummary) -> Vec<ProblemKind> {
    s.problems
        .iter()
        .filter(|p| p.severity == Severity::File)
        .map(|p| p.kind.clone())
        .collect()
}

#[test]
fn synthetic_valid_go_files() {
    let Some(dir) = corpus() else { return };
    let d = dir.join("synthetic");
    let (s, _) = read_go(
        &d.join("gdw/GO_999_GDW_GOF_20250301_00000101.DAT"),
        GoOptions::default(),
    );
    assert_eq!(counts(&s[0]), (28, 28, 0), "{:?}", s[0].problems);
    assert_eq!(s[0].trailer, Some(30));
    assert!(s[0].complete && file_errors(&s[0]).is_empty());
    let h = s[0].header.as_ref().unwrap();
    assert_eq!(
        (h.vpd.as_str(), s[0].name.as_ref().unwrap().sequence),
        ("999", 101)
    );

    let (s, _) = read_go(
        &d.join("gdw/GO_999_GDW_GOC_20250302_00000102.DAT"),
        GoOptions::default(),
    );
    assert_eq!(counts(&s[0]), (8, 8, 0), "{:?}", s[0].problems);
    assert!(s[0].complete);
    let mut t = SequenceTracker::new(Some(101));
    assert_eq!(t.check(102), SequenceCheck::Next);
    t.applied(102);

    let (s, _) = read_go(
        &d.join("gdw/request/GO_999_GDW_GDR_20250303_00000001.DAT"),
        GoOptions::default(),
    );
    assert_eq!(counts(&s[0]), (0, 0, 0));
    assert!(s[0].header.as_ref().unwrap().snapshot_request);
    assert!(file_errors(&s[0]).is_empty(), "{:?}", s[0].problems);

    let (s, _) = read_go(
        &d.join("exp/GO_999_EXP_GOF_20250301_00000001.DAT"),
        GoOptions::default(),
    );
    assert_eq!(counts(&s[0]), (12, 12, 0), "{:?}", s[0].problems);
    assert_eq!(s[0].trailer, Some(14));
    assert!(s[0].complete);

    let (s, _) = read_go(
        &d.join("exp/GO_999_EXP_GOC_20250302_00000002.DAT"),
        GoOptions::default(),
    );
    assert_eq!(counts(&s[0]), (4, 4, 0), "{:?}", s[0].problems);
    assert_eq!(s[0].trailer, Some(6));
    assert!(s[0].complete);
}

#[test]
fn synthetic_invalid_go_files() {
    let Some(dir) = corpus() else { return };
    let d = dir.join("synthetic/invalid");

    let (s, rows) = read_go(
        &d.join("missing_trailer__GO_999_GDW_GOC_20250304_00000103.DAT"),
        GoOptions::default(),
    );
    assert_eq!(counts(&s[0]), (6, 5, 1));
    assert!(rows.iter().any(|(l, k)| *l == 7
        && matches!(
            k[..],
            [ProblemKind::FieldCount {
                expected: 16,
                found: 3,
                ..
            }]
        )));
    assert_eq!(file_errors(&s[0]), [ProblemKind::MissingTrailer]);
    assert!(!s[0].complete);

    let (s, _) = read_go(
        &d.join("trailer_count_mismatch__GO_999_GDW_GOC_20250305_00000104.DAT"),
        GoOptions::default(),
    );
    assert_eq!(counts(&s[0]), (4, 4, 0));
    let p = s[0]
        .problems
        .iter()
        .find(|p| p.severity == Severity::File)
        .unwrap();
    assert_eq!(
        p.kind,
        ProblemKind::TrailerCountMismatch {
            declared: 99,
            actual: 6
        }
    );
    assert_eq!(p.line, 6);

    let (s, rows) = read_go(
        &d.join("bom_crlf_utf8__GO_999_GDW_GOC_20250306_00000105.DAT"),
        GoOptions::default(),
    );
    assert_eq!(counts(&s[0]), (3, 3, 0));
    assert!(
        s[0].problems
            .iter()
            .any(|p| p.kind == ProblemKind::ByteOrderMark && p.severity == Severity::Warning)
    );
    assert!(s[0].complete, "{:?}", s[0].problems);
    assert!(rows.iter().all(|(_, k)| k.is_empty()));

    let concat = d.join("duplicate_header_concatenated__GO_999_GDW_GOC_20250307_00000106.DAT");
    let (s, _) = read_go(&concat, GoOptions::default());
    assert_eq!(s.len(), 1);
    assert_eq!(counts(&s[0]), (2, 2, 0));
    assert_eq!(s[0].trailer, Some(4));
    let p = s[0]
        .problems
        .iter()
        .find(|p| p.severity == Severity::File)
        .unwrap();
    assert_eq!(
        (p.kind.clone(), p.line),
        (ProblemKind::ContentAfterTrailer, 5)
    );
    let split = GoOptions::default().split_concatenated(true);
    let (s, _) = read_go(&concat, split);
    assert_eq!(s.len(), 2);
    assert_eq!(counts(&s[1]), (2, 2, 0));
    assert_eq!(
        file_errors(&s[1]),
        [ProblemKind::TrailerCountMismatch {
            declared: 8,
            actual: 4
        }]
    );

    let (s, rows) = read_go(
        &d.join("row_errors__GO_999_GDW_GOC_20250309_00000108.DAT"),
        GoOptions::default(),
    );
    assert_eq!(counts(&s[0]), (7, 2, 5));
    assert_eq!(s[0].trailer, Some(9));
    assert!(file_errors(&s[0]).is_empty(), "{:?}", s[0].problems);
    assert_eq!(s[0].blank_lines, 1);
    let kinds = |line: u64| {
        rows.iter()
            .find(|(l, _)| *l == line)
            .map(|(_, k)| k.clone())
            .unwrap()
    };
    assert!(matches!(
        kinds(2)[..],
        [ProblemKind::FieldCount {
            expected: 22,
            found: 24,
            ..
        }]
    ));
    assert_eq!(kinds(3), [ProblemKind::InvalidNiNumber]);
    assert_eq!(kinds(4), [ProblemKind::InvalidDate]);
    assert_eq!(kinds(5), [ProblemKind::FteAboveOne]);
    assert_eq!(kinds(6).len(), 2);
    assert!(kinds(6).contains(&ProblemKind::InvalidFlag));
    assert_eq!(kinds(7), [ProblemKind::UnknownRecordType("XYZ".into())]);
    assert_eq!(kinds(9), [ProblemKind::MissingKey]);

    let gap = d.join("sequence_gap_bad_filename__GO_999_GDW_GOC_2025031_00000110.DAT");
    let (s, _) = read_go(&gap, GoOptions::default());
    assert_eq!(counts(&s[0]), (1, 1, 0));
    assert!(
        file_errors(&s[0])
            .iter()
            .any(|k| matches!(k, ProblemKind::BadFileName(_)))
    );
    assert!(s[0].problems.iter().any(|p| matches!(
        p.kind,
        ProblemKind::HeaderFileNameMismatch { .. }
    ) && p.severity == Severity::Warning));
    let name = FileName::parse(
        gap.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .rsplit("__")
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        SequenceTracker::new(Some(108)).check(name.sequence),
        SequenceCheck::Gap {
            expected: 109,
            found: 110
        }
    );
}

#[test]
fn synthetic_bi_and_inbound_files() {
    let Some(dir) = corpus() else { return };
    let d = dir.join("synthetic");
    let bytes = std::fs::read(d.join("bi/staff_in_post_20250301.csv")).unwrap();
    let r = BiReader::read(&bytes).unwrap();
    assert_eq!(
        (r.summary.read, r.summary.accepted, r.summary.rejected),
        (4, 4, 0)
    );
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::DuplicateHeaderRow && p.severity == Severity::Warning)
    );
    assert!(r.problems.iter().any(|p| matches!(
        p.kind,
        ProblemKind::ShortRow {
            expected: 31,
            found: 27
        }
    )));
    assert_eq!(r.rows[0].get("ni_number"), Some("JK000001A"));

    let bytes = std::fs::read(d.join("invalid/bi_unterminated_quote.csv")).unwrap();
    let r = BiReader::read(&bytes).unwrap();
    let p = r
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::UnterminatedQuote)
        .unwrap();
    assert_eq!(p.line, 2);
    assert!(p.offset > 0);
    assert_eq!(r.summary.read, r.summary.accepted + r.summary.rejected);

    let bytes = std::fs::read(d.join("inbound/TA_999_SEL_MN2511_00000001.DAT")).unwrap();
    let f = inbound::read(&bytes).unwrap();
    assert_eq!(f.header.period_type, "M");
    assert_eq!(f.header.tax_period, "11");
    assert_eq!(f.records.len(), 3);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(f.records[0].fields.len(), 40);
}

#[test]
fn public_consumer_fixtures_read_without_panics() {
    let Some(dir) = corpus() else { return };
    let mut files = 0;
    let (mut read, mut accepted, mut rejected) = (0, 0, 0);
    for entry in std::fs::read_dir(dir.join("esr_api/fixtures")).unwrap() {
        let path = entry.unwrap().path();
        let (s, _) = read_go(&path, GoOptions::default());
        for s in &s {
            assert_eq!(s.read, s.accepted + s.rejected, "{}", path.display());
            read += s.read;
            accepted += s.accepted;
            rejected += s.rejected;
        }
        files += 1;
    }
    println!(
        "esr_api fixtures: {files} files, {read} records read, {accepted} accepted, {rejected} rejected"
    );
    assert!(files >= 50);
    assert!(accepted > 0);
}
