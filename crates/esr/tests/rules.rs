//! One hand-written case per rule of docs/esr.md §6 ("The policy"): each
//! asserts the severity, line, byte offset, record, field name and raw value
//! of the problem it raises. Needs no shared corpus.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_esr::value::{EndDate, FieldValue};
use carecodec_esr::{FileSummary, GoOptions, GoReader, Problem, ProblemKind, Severity};

const NAME: &str = "GO_999_GDW_GOC_20250302_00000102.DAT";
const HDR: &str = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01";

const PRA: &str = "PRA~7000001~20220404~47121231~7000001~Ms.~Testperson~Ada~Query~~~~F~19900101~JK000001A~1000001~20220404~~~E~~~Z Not Stated~~United Kingdom~~~~~990000000001~~~~EMP~Employee~ada.testperson@example.invalid~20220404~~20220404 101000~N~~~~";
const ASA: &str = "ASA~7000001~7000001~20220404~47121231~20220404~E~7000001~ACTIVE_ASSIGN~Active Assignment~E~999 Monthly~Calendar Month~500001~N~7000003~7100004~90000003~~Permanent~PT~Yes~30~Week~37.5~0.8~~600100~800001~3000001|Staff Nurse, Band 5|N0A|Elderly Care|~NHS|XR05|Band 5~2~20220404~28407.00~Nursing and Midwifery Registered|Staff Nurse~999 z 0850 Nursing|||~~N~~~~20250401~N~Y~20220404 101000~~~N~~~";
const POA: &str = "POA~800001~20240401~47121231~3000001~3000001|Staff Nurse, Band 5|N0A|Elderly Care|~5.2~9901000~Nursing and Midwifery Registered~Staff Nurse~N0A~XR05~XR05|0~Not Applicable~600100~Active~SHARED~~~~~XX9~20240401 000100~Ward Nursing";

/// `base` with field `i` set to `v`.
fn set(base: &str, edits: &[(usize, &str)]) -> String {
    let mut f: Vec<&str> = base.split('~').collect();
    for &(i, v) in edits {
        f[i] = v;
    }
    f.join("~")
}

/// A file: HDR, the rows, TRL with the right count.
fn file(rows: &[&str]) -> String {
    let mut s = format!("{HDR}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.push_str(&format!("TRL~{}\n", rows.len() + 2));
    s
}

struct Read {
    rows: Vec<(u64, u64, bool, Vec<Problem>)>,
    summary: FileSummary,
}

fn read(bytes: &[u8], name: Option<&str>) -> Read {
    let mut r = GoReader::new(bytes, name, GoOptions::default());
    let mut rows = Vec::new();
    while let Some(e) = r.next_record() {
        rows.push((e.line, e.offset, e.accepted, e.problems.to_vec()));
    }
    let summary = r.summary().clone();
    assert_eq!(summary.read, summary.accepted + summary.rejected);
    Read { rows, summary }
}

/// Byte offset of line `n` (1-based) of `text`.
fn line_offset(text: &str, n: u64) -> u64 {
    text.split_inclusive('\n')
        .take(n as usize - 1)
        .map(|l| l.len() as u64)
        .sum()
}

/// Byte offset of field `i` within `row`.
fn field_offset(row: &str, i: usize) -> u64 {
    row.split('~').take(i).map(|f| f.len() as u64 + 1).sum()
}

/// The only problem of the only row (line 2), checked in full.
#[allow(clippy::too_many_arguments)]
fn one_row_problem(
    row: &str,
    severity: Severity,
    kind: ProblemKind,
    field: Option<(usize, &str)>,
    raw: &str,
) -> Problem {
    let text = file(&[row]);
    let r = read(text.as_bytes(), Some(NAME));
    assert_eq!(r.rows.len(), 1);
    let (line, offset, accepted, problems) = &r.rows[0];
    assert_eq!((*line, *offset), (2, line_offset(&text, 2)));
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = problems[0].clone();
    assert_eq!(p.severity, severity);
    assert_eq!(p.kind, kind);
    assert_eq!(*accepted, severity == Severity::Warning);
    assert_eq!(p.line, 2);
    assert_eq!(p.record.as_deref(), Some(&row[..3]));
    match field {
        Some((i, name)) => {
            assert_eq!(p.offset, offset + field_offset(row, i));
            assert_eq!((p.field_index, p.field), (Some(i), Some(name)));
        }
        None => {
            assert_eq!(p.offset, *offset);
            assert_eq!((p.field_index, p.field), (None, None));
        }
    }
    assert_eq!(p.raw.as_deref(), Some(raw));
    assert!(r.summary.complete, "{:?}", r.summary.problems);
    p
}

#[test]
fn valid_rows_have_no_problems() {
    let text = file(&[PRA, ASA, POA, "PRD~7000001"]);
    let r = read(text.as_bytes(), Some(NAME));
    assert!(
        r.rows.iter().all(|(_, _, ok, p)| *ok && p.is_empty()),
        "{:?}",
        r.rows
    );
    assert!(r.summary.complete && r.summary.problems.is_empty());
    assert_eq!((r.summary.read, r.summary.accepted), (4, 4));
}

#[test]
fn unknown_record_code() {
    one_row_problem(
        "XYZ~1~2",
        Severity::Error,
        ProblemKind::UnknownRecordType("XYZ".into()),
        None,
        "XYZ~1~2",
    );
}

#[test]
fn wrong_field_count() {
    let kind = ProblemKind::FieldCount {
        code: "ORA".into(),
        expected: 16,
        found: 3,
    };
    one_row_problem("ORA~1~x", Severity::Error, kind, None, "ORA~1~x");
}

#[test]
fn delete_without_key() {
    one_row_problem(
        "PRD~",
        Severity::Error,
        ProblemKind::MissingKey,
        Some((1, "Person ID")),
        "",
    );
}

#[test]
fn invalid_date() {
    let row = set(PRA, &[(13, "19901341")]);
    one_row_problem(
        &row,
        Severity::Error,
        ProblemKind::InvalidDate,
        Some((13, "Date of Birth")),
        "19901341",
    );
}

#[test]
fn open_end_dates_are_open_not_far_future() {
    for end in ["47121231", ""] {
        let row = set(PRA, &[(3, end)]);
        let text = file(&[&row]);
        let mut r = GoReader::new(text.as_bytes(), Some(NAME), GoOptions::default());
        let e = r.next_record().unwrap();
        assert!(e.accepted && e.problems.is_empty(), "{:?}", e.problems);
        let t = e.typed().unwrap();
        assert_eq!(
            t.get("Effective End Date"),
            Some(&FieldValue::End(EndDate::Open))
        );
    }
}

#[test]
fn start_after_end() {
    let row = set(PRA, &[(2, "20240101"), (3, "20230101")]);
    one_row_problem(
        &row,
        Severity::Error,
        ProblemKind::StartAfterEnd,
        Some((3, "Effective End Date")),
        "20230101",
    );
}

#[test]
fn required_field_empty() {
    let row = set(PRA, &[(6, "")]);
    one_row_problem(
        &row,
        Severity::Error,
        ProblemKind::MissingRequired,
        Some((6, "Last Name")),
        "",
    );
}

#[test]
fn bad_decimal() {
    let row = set(ASA, &[(22, "3O")]);
    let kind = ProblemKind::InvalidNumber("not a decimal");
    one_row_problem(
        &row,
        Severity::Error,
        kind,
        Some((22, "Normal Hours / Sessions")),
        "3O",
    );
}

#[test]
fn negative_decimal() {
    let row = set(ASA, &[(24, "-4")]);
    let kind = ProblemKind::InvalidNumber("negative");
    one_row_problem(
        &row,
        Severity::Error,
        kind,
        Some((24, "Grade Contract Hours")),
        "-4",
    );
}

#[test]
fn fte_above_one() {
    let row = set(ASA, &[(25, "1.5")]);
    one_row_problem(
        &row,
        Severity::Warning,
        ProblemKind::FteAboveOne,
        Some((25, "FTE")),
        "1.5",
    );
}

#[test]
fn hours_above_contract() {
    let row = set(ASA, &[(22, "40")]);
    let p = one_row_problem(
        &row,
        Severity::Warning,
        ProblemKind::HoursAboveContract,
        Some((22, "Normal Hours / Sessions")),
        "40",
    );
    assert!(p.to_string().contains("Normal Hours"));
}

#[test]
fn ni_number() {
    let row = set(PRA, &[(14, "QQ123456C")]);
    one_row_problem(
        &row,
        Severity::Warning,
        ProblemKind::InvalidNiNumber,
        Some((14, "National Insurance Number")),
        "QQ123456C",
    );
}

#[test]
fn assignment_number() {
    let row = set(ASA, &[(7, "12-x")]);
    one_row_problem(
        &row,
        Severity::Warning,
        ProblemKind::InvalidAssignmentNumber,
        Some((7, "Assignment Number")),
        "12-x",
    );
}

#[test]
fn occupation_code() {
    let row = set(POA, &[(10, "N0")]);
    one_row_problem(
        &row,
        Severity::Warning,
        ProblemKind::InvalidOccupationCode,
        Some((10, "Occupation Code")),
        "N0",
    );
}

#[test]
fn email() {
    let row = set(PRA, &[(35, "ada.example.invalid")]);
    one_row_problem(
        &row,
        Severity::Warning,
        ProblemKind::InvalidEmail,
        Some((35, "Office E-mail Address")),
        "ada.example.invalid",
    );
}

#[test]
fn unused_field_holds_a_value() {
    let row = set(PRA, &[(23, "x")]);
    one_row_problem(
        &row,
        Severity::Warning,
        ProblemKind::UnusedFieldNotEmpty,
        Some((23, "Unused 23")),
        "x",
    );
}

#[test]
fn eta_registration_not_a_number() {
    let mut f = vec![""; 57];
    f[0] = "ETA";
    f[1] = "7000001";
    f[2] = "9000001";
    f[3] = "NHS Regs and Memships";
    f[5] = "Nursing and Midwifery Council";
    f[6] = "Retired";
    let row = f.join("~");
    let kind = ProblemKind::RegistrationNotANumber("Retired".into());
    one_row_problem(
        &row,
        Severity::Warning,
        kind,
        Some((6, "PEI_INFORMATION2")),
        "Retired",
    );
}

/// The file-level problem of `kind`, checked for severity, line and offset.
fn file_problem(
    s: &FileSummary,
    kind: &ProblemKind,
    severity: Severity,
    line: u64,
    offset: u64,
) -> Problem {
    let p = s
        .problems
        .iter()
        .find(|p| &p.kind == kind)
        .unwrap_or_else(|| panic!("{kind:?} not in {:?}", s.problems))
        .clone();
    assert_eq!(
        (p.severity, p.line, p.offset),
        (severity, line, offset),
        "{p:?}"
    );
    assert_eq!(
        s.complete,
        !s.problems.iter().any(|p| p.severity == Severity::File)
    );
    p
}

#[test]
fn blank_line() {
    let text = format!("{HDR}\nPRD~1\n  \nTRL~3\n");
    let r = read(text.as_bytes(), Some(NAME));
    let p = file_problem(
        &r.summary,
        &ProblemKind::BlankLine,
        Severity::Warning,
        3,
        line_offset(&text, 3),
    );
    assert_eq!((p.record, p.raw.as_deref()), (None, Some("  ")));
    assert_eq!((r.summary.read, r.summary.blank_lines), (1, 1));
    assert!(r.summary.complete);
}

#[test]
fn byte_order_mark() {
    let text = format!("\u{feff}{HDR}\nPRD~1\nTRL~3\n");
    let r = read(text.as_bytes(), Some(NAME));
    let p = file_problem(
        &r.summary,
        &ProblemKind::ByteOrderMark,
        Severity::Warning,
        1,
        0,
    );
    assert_eq!((p.record, p.raw), (None, None));
    assert_eq!(r.rows[0].1, line_offset(&text, 2));
    assert!(r.summary.complete);
}

#[test]
fn missing_header() {
    let text = "PRD~1\nTRL~2\n";
    let r = read(text.as_bytes(), Some(NAME));
    let p = file_problem(
        &r.summary,
        &ProblemKind::MissingHeader,
        Severity::File,
        1,
        0,
    );
    assert_eq!(
        (p.record.as_deref(), p.raw.as_deref()),
        (Some("PRD"), Some("PRD~1"))
    );
    assert_eq!(r.summary.read, 1);
}

#[test]
fn missing_trailer() {
    let text = format!("{HDR}\nPRD~1\n");
    let r = read(text.as_bytes(), Some(NAME));
    let p = file_problem(
        &r.summary,
        &ProblemKind::MissingTrailer,
        Severity::File,
        2,
        text.len() as u64,
    );
    assert_eq!(p.raw, None);
    assert!(!r.summary.complete);
}

#[test]
fn trailer_count_mismatch() {
    let text = format!("{HDR}\nPRD~1\nTRL~9\n");
    let r = read(text.as_bytes(), Some(NAME));
    let kind = ProblemKind::TrailerCountMismatch {
        declared: 9,
        actual: 3,
    };
    let p = file_problem(&r.summary, &kind, Severity::File, 3, line_offset(&text, 3));
    assert_eq!(
        (p.record.as_deref(), p.raw.as_deref()),
        (Some("TRL"), Some("TRL~9"))
    );
    assert_eq!(r.summary.trailer, Some(9));
}

#[test]
fn content_after_trailer() {
    let text = format!("{HDR}\nPRD~1\nTRL~3\nPRD~2\n");
    let r = read(text.as_bytes(), Some(NAME));
    let p = file_problem(
        &r.summary,
        &ProblemKind::ContentAfterTrailer,
        Severity::File,
        4,
        line_offset(&text, 4),
    );
    assert_eq!(
        (p.record.as_deref(), p.raw.as_deref()),
        (Some("PRD"), Some("PRD~2"))
    );
    assert_eq!(r.summary.read, 1);
}

#[test]
fn duplicate_header() {
    let text = format!("{HDR}\nPRD~1\n{HDR}\nTRL~4\n");
    let r = read(text.as_bytes(), Some(NAME));
    let p = file_problem(
        &r.summary,
        &ProblemKind::DuplicateHeader,
        Severity::File,
        3,
        line_offset(&text, 3),
    );
    assert_eq!(
        (p.record.as_deref(), p.raw.as_deref()),
        (Some("HDR"), Some(HDR))
    );
}

#[test]
fn bad_file_name() {
    let text = file(&["PRD~1"]);
    let name = "GO_999_GDW_GOC_2025031_00000102.DAT";
    let r = read(text.as_bytes(), Some(name));
    let kind = ProblemKind::BadFileName("extract date is not YYYYMMDD".into());
    let p = file_problem(&r.summary, &kind, Severity::File, 0, 0);
    assert_eq!(p.raw.as_deref(), Some(name));
    let r = read(text.as_bytes(), Some("staff.txt"));
    let kind = ProblemKind::BadFileName("no .DAT extension".into());
    file_problem(&r.summary, &kind, Severity::File, 0, 0);
}

#[test]
fn header_name_mismatch() {
    let text = file(&["PRD~1"]);
    let name = "GO_999_GDW_GOC_20250302_00000103.DAT";
    let r = read(text.as_bytes(), Some(name));
    let kind = ProblemKind::HeaderFileNameMismatch {
        header: NAME.into(),
        actual: name.into(),
    };
    let p = file_problem(&r.summary, &kind, Severity::Warning, 1, 4);
    assert_eq!(
        (p.record.as_deref(), p.field, p.raw.as_deref()),
        (Some("HDR"), Some("File Name"), Some(NAME))
    );
    assert!(r.summary.complete);
}

#[test]
fn vpd_mismatch() {
    let hdr = HDR.replace("~999~", "~998~");
    let text = format!("{hdr}\nPRD~1\nTRL~3\n");
    let r = read(text.as_bytes(), Some(NAME));
    let kind = ProblemKind::VpdMismatch {
        header: "998".into(),
        name: "999".into(),
    };
    let at = field_offset(&hdr, 3);
    let p = file_problem(&r.summary, &kind, Severity::File, 1, at);
    assert_eq!(
        (p.record.as_deref(), p.field, p.raw.as_deref()),
        (Some("HDR"), Some("VPD"), Some("998"))
    );
    assert!(!r.summary.complete);
}

#[test]
fn snapshot_request() {
    let name = "GO_999_GDW_GDR_20250303_00000001.DAT";
    let text = format!("HDR~{name}~20250303 101500\n");
    let r = read(text.as_bytes(), Some(name));
    let h = r.summary.header.as_ref().unwrap();
    assert!(h.snapshot_request && h.vpd.is_empty());
    assert!(r.summary.problems.is_empty(), "{:?}", r.summary.problems);
    assert!(r.summary.complete);
    assert_eq!(r.summary.read, 0);
}

#[test]
fn a_problem_read_from_garbage_is_one_line() {
    // A "record code" of control characters and a CR-only line break inside
    // it (the rest of the line is the raw value).
    let garbage = "\u{7}(L\u{1a}\rX\u{1f}~1";
    let mut p = Problem::new(
        Severity::Error,
        ProblemKind::UnknownRecordType(garbage.into()),
        2,
        40,
    );
    p.record = Some(garbage.into());
    p.raw = Some(garbage.into());
    let shown = p.to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.contains(r"[\u{7}(L\u{1a}\rX\u{1f}~1]"), "{shown}");
}

#[test]
fn a_malformed_or_blank_creation_timestamp_is_a_file_error() {
    // HDR-2 dates the extract; an impossible date, a short one or none
    // leaves the file in doubt (a consumer's default as-at date).
    for bad in ["20250231 021500", "2025030 021500", ""] {
        let hdr = HDR.replace("20250302 021500", bad);
        let text = format!("{hdr}\nPRD~1\nTRL~3\n");
        let r = read(text.as_bytes(), Some(NAME));
        let kind =
            ProblemKind::BadHeader("HDR-2 (file creation) is not a YYYYMMDD HHMMSS timestamp");
        file_problem(&r.summary, &kind, Severity::File, 1, 0);
        assert!(!r.summary.complete, "{bad:?}");
        assert_eq!(r.summary.header.as_ref().unwrap().created, None);
    }
    // A valid one: no problem.
    let text = format!("{HDR}\nPRD~1\nTRL~3\n");
    assert!(read(text.as_bytes(), Some(NAME)).summary.complete);
}
