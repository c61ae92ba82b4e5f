//! `carecodec fhir` and `carecodec esr` end to end: every resource type, UK Core checks of
//! nested resources, file-level problems, missing files and standard input.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{bin, data, run_stdin, text};

/// A file `name` holding `bytes` in this test's own directory.
fn file(test: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "carecodec-cli-codecs-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run(args: &[&str], paths: &[&Path]) -> Output {
    bin().args(args).args(paths).output().unwrap()
}

const IMMUNIZATION: &str = r#"{"resourceType":"Immunization","status":"completed",
  "vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"39114911000001105"}]},
  "patient":{"reference":"Patient/1"},"occurrenceDateTime":"2024-01-01"}"#;

#[test]
fn every_resource_type_is_checked_and_converted() {
    let imm = file("types", "imm.json", IMMUNIZATION.as_bytes());
    let cs = file(
        "types",
        "cs.json",
        br#"{"resourceType":"CodeSystem","status":"active","content":"complete","url":"http://x"}"#,
    );
    let out = run(&["fhir", "check", "--profile", "uk-core"], &[&imm, &cs]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Immunization read, 0 problem(s)"),
        "{stdout}"
    );
    // No UK Core profile for an Immunization: said so, not counted as a problem.
    assert!(
        stdout.contains(
            "note: Immunization: no UK Core profile checked for Immunization; R4 base rules only"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("resource(s) with no UK Core profile (R4 base rules only)"),
        "{stdout}"
    );
    assert!(stdout.contains("CodeSystem read"), "{stdout}");
    let out = run(&["fhir", "convert", "--to", "xml"], &[&cs]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("<CodeSystem"));
}

#[test]
fn uk_core_checks_contained_resources_and_nested_bundles() {
    let patient = r#"{"resourceType":"Patient","gender":"M","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number/","value":"9000000009"}]}"#;
    let contained = format!(
        r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"contained":[{patient}]}}"#
    );
    let nested = format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{patient}}}]}}}}]}}"#
    );
    let a = file("nested", "contained.json", contained.as_bytes());
    let b = file("nested", "nested.json", nested.as_bytes());
    let out = run(&["fhir", "check", "--profile", "uk-core"], &[&a, &b]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Observation.contained[0].gender"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Observation.contained[0].identifier[0].system"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Bundle.entry[0].resource.entry[0].resource.gender"),
        "{stdout}"
    );
}

const GO_HDR: &str = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\n";

/// A value the typed model rejects is reported with its line and column, in XML (probe
/// finding F21: `1e2` in `multipleBirthInteger` had only a path) as in JSON (an invalid code
/// as the last member had the position after the resource).
#[test]
fn typed_errors_have_line_and_column() {
    let xml = file(
        "typed",
        "i2.xml",
        b"<Patient xmlns=\"http://hl7.org/fhir\">\n  <gender value=\"female\"/>\n  <multipleBirthInteger value=\"1e2\"/>\n</Patient>\n",
    );
    let out = run(&["fhir", "convert", "--to", "json"], &[&xml]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("at Patient.multipleBirthInteger (line 3, column 3, byte 67)"),
        "{stderr}"
    );
    let out = run(&["fhir", "check"], &[&xml]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("(line 3, column 3, byte 67)"), "{stdout}");
    let json = file(
        "typed",
        "g.json",
        b"{\"resourceType\":\"Patient\",\n \"gender\":\"a  b\"}",
    );
    let out = run(&["fhir", "check"], &[&json]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("at Patient.gender (line 2, column 16)"),
        "{stdout}"
    );
    // The reading error is counted in the summary (until 2026-12-07: "0 problem(s) listed").
    assert!(
        stdout.contains("1 file(s) checked: 1 with errors, 1 problem(s) listed"),
        "{stdout}"
    );
}

#[test]
fn esr_json_reports_file_problems_on_stderr() {
    let bad_trailer = file(
        "json",
        "GO_999_GDW_GOC_20250302_00000102.DAT",
        format!("{GO_HDR}PRD~1\nTRL~9\n").as_bytes(),
    );
    let out = run(&["esr", "json"], &[&bad_trailer]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    assert!(stderr.contains("trailer says 9 lines"), "{stderr}");
    assert!(stderr.contains("INCOMPLETE"), "{stderr}");

    let dir = file("json-empty", "x", b"").with_file_name("GO_999_GDW_GOC_20250302_00000103.DAT");
    std::fs::write(&dir, b"").unwrap();
    let out = run(&["esr", "json"], &[&dir]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("missing"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn esr_missing_file_is_reported_and_the_rest_read() {
    let good = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let missing = Path::new("/nonexistent/GO_998_GDW_GOF_20250401_00000002.DAT");
    let out = run(&["esr", "check"], &[missing, &good]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(stdout.contains("00000002.DAT: error:"), "{stdout}");
    assert!(stdout.contains("00000001.DAT: profile GDW"), "{stdout}");
    let out = run(&["esr", "json"], &[missing, &good]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("00000002.DAT: error:"));
    assert_eq!(text(&out.stdout).lines().count(), 13);
}

#[test]
fn esr_stdin_kind_is_detected() {
    let csv = std::fs::read(data("esr/staff_in_post_20250401.csv")).unwrap();
    let out = run_stdin(&["esr", "check", "-"], &csv);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("-: BI CSV: read"), "{stdout}");
    let ta = std::fs::read(data("esr/TA_998_SEL_MN2512_00000001.DAT")).unwrap();
    let out = run_stdin(&["esr", "check", "-"], &ta);
    assert!(
        text(&out.stdout).contains("-: inbound"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn esr_inbound_malformed_row_is_rejected() {
    let ta = "HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\rATT,20250228,ADD,,90000001-2,,\"Expenses NR NP NHS,\"Claim Start Date\",31-Feb-2025,\"Claim End Date\",10-Feb-2025,\"Period Cash Amount\",12.30,,,,,,,,,,,,,,,,,,,,,,,,,,,\rFTR,1,0";
    let path = file("ta", "TA_999_SEL_MN2511_00000001.DAT", ta.as_bytes());
    let out = run(&["esr", "json"], &[&path]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(v["accepted"], false, "{stdout}");
    assert!(v["fields"].is_null() && v["raw"].is_array(), "{stdout}");
    assert!(
        v["problems"][0].as_str().unwrap().contains("ATT has"),
        "{stdout}"
    );
    let out = run(&["esr", "check"], &[&path]);
    assert!(
        text(&out.stdout).contains("ATT read 1, accepted 0, rejected 1"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn esr_bi_file_problems_go_to_stderr_and_fail() {
    let latin = file(
        "bi",
        "latin.csv",
        b"Employee Number,First Name\n1001,Ren\xe9e\n",
    );
    let out = run(&["esr", "json"], &[&latin]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fields"]["first_name"], "Ren\u{e9}e");
    assert!(v["problems"].is_null(), "{v}");
    assert!(text(&out.stderr).contains("not UTF-8"));
    assert_eq!(out.status.code(), Some(0));
    let dup = file("bi", "dup.csv", b"Employee Number,Employee Number\n1,2\n");
    let empty = file("bi", "empty.csv", b"");
    for f in [&dup, &empty] {
        let out = run(&["esr", "check"], &[f]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        assert!(text(&out.stdout).contains("file error"));
        let out = run(&["esr", "json"], &[f]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("file error"));
    }
}

#[test]
fn esr_json_keeps_column_order_and_writes_iso_dates() {
    let csv = file(
        "order",
        "sip.csv",
        b"Start Date,Employee Number,Area of Work,Date of Birth\n04/04/2022,1001,Wards,31/02/1990\n",
    );
    let out = run(&["esr", "json"], &[&csv]);
    let line = text(&out.stdout);
    // Fields in column order, not sorted; a valid date in ISO 8601, a bad one as sent.
    assert!(
        line.contains(r#""fields":{"start_date":"2022-04-04","employee_number":"1001","area_of_work":"Wards","date_of_birth":"31/02/1990"}"#),
        "{line}"
    );
    assert!(line.starts_with(r#"{"record":"BI","line":2,"#), "{line}");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["accepted"], false);
    assert!(v["problems"][0].as_str().unwrap().contains("date"), "{v}");
    // An ATT row has 40 fields.
    let att =
        "ATT,20250228,ADD,,90000001-2,,\"Expenses NR NP NHS\",\"Claim Start Date\",\"01-Feb-2025\"";
    let ta = format!(
        "HDR,TA_999_SEL_MN2511_00000001.DAT,20250228180000,SEL,999,M,N,11\r{att}{}\rFTR,1,0",
        ",".repeat(31)
    );
    let ta = file("order", "TA_999_SEL_MN2511_00000001.DAT", ta.as_bytes());
    let out = run(&["esr", "json"], &[&ta]);
    let line = text(&out.stdout);
    assert!(
        line.contains(r#""fields":{"Entry Date":"2025-02-28","Action":"ADD","Assignment Number":"90000001-2","Element Name":"Expenses NR NP NHS","Input Values":[{"name":"Claim Start Date","value":"01-Feb-2025"}]}"#),
        "{line}"
    );
    assert!(line.starts_with(r#"{"record":"ATT","line":2,"#), "{line}");
}

#[test]
fn esr_check_on_garbage_prints_no_control_characters() {
    let junk: Vec<u8> = (0u8..=255).cycle().skip(7).step_by(3).take(600).collect();
    let go = file("garbage", "GO_999_GDW_GOF_20250301_00000101.DAT", &junk);
    let out = run(&["esr", "check"], &[&go]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("unknown record type"), "{stdout}");
    for line in stdout.lines() {
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.starts_with(&go.display().to_string()), "{line:?}");
    }
}

/// An inbound `ATT` row of 40 fields for assignment `asg`.
fn att_row(asg: &str) -> String {
    format!("ATT,20250331,ADD,,{asg},,\"Business Miles NR NHS\",\"Claimed Mileage\",31")
        + &",".repeat(31)
}

const TA_HDR: &str = "HDR,TA_998_SEL_MN2512_00000001.DAT,20250331180000,SEL,998,M,N,12";

/// Probe F8: rows after the footer were read as accepted and `esr check` exited 0.
#[test]
fn esr_inbound_rows_after_the_footer_fail_the_check() {
    let ta = format!(
        "{TA_HDR}\r{}\rFTR,1,0\r{}\r{}",
        att_row("80000001"),
        att_row("80000002"),
        att_row("80000003")
    );
    let path = file("after", "TA_998_SEL_MN2512_00000003.DAT", ta.as_bytes());
    let out = run(&["esr", "check"], &[&path]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("line 4, byte "), "{stdout}");
    assert!(
        stdout.contains("file error: content after the footer"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ATT read 3, accepted 1, rejected 2, footer 1"),
        "{stdout}"
    );
}

/// Probe F9: one non-UTF-8 byte failed the whole file with no counts, "at line 1".
#[test]
fn esr_inbound_non_utf8_row_is_rejected_and_the_rest_counted() {
    let mut ta = format!("{TA_HDR}\r{}\r", att_row("80000001")).into_bytes();
    ta.extend_from_slice(att_row("80000002").replace("Miles", "Mil\u{1}s").as_bytes());
    let bad = ta.iter().position(|&b| b == 1).unwrap();
    ta[bad] = 0xE9;
    ta.extend_from_slice(format!("\r{}\rFTR,3,0", att_row("80000003")).as_bytes());
    let path = file("latin", "TA_998_SEL_MN2512_00000002.DAT", &ta);
    let out = run(&["esr", "check"], &[&path]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("line 3, byte {bad}: error: invalid text")),
        "{stdout}"
    );
    assert!(
        stdout.contains("ATT read 3, accepted 2, rejected 1, footer 3"),
        "{stdout}"
    );
}

/// Probe F10: an LF-terminated file was one "HDR" record and its summary line broke in two.
#[test]
fn esr_inbound_lf_file_is_read_line_by_line() {
    let ta = format!(
        "{TA_HDR}\n{}\n{}\nFTR,2,0\n",
        att_row("80000001"),
        att_row("80000002")
    );
    let path = file("lf", "TA_998_SEL_MN2512_00000004.DAT", ta.as_bytes());
    let out = run(&["esr", "check"], &[&path]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("warning: lines end with LF"), "{stdout}");
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(": inbound "))
        .collect();
    assert_eq!(summary.len(), 1, "{stdout}");
    assert!(
        summary[0].ends_with("period MN12: ATT read 2, accepted 2, rejected 0, footer 2"),
        "{stdout}"
    );
    // A header field holding a control character stays on the summary's line.
    let ta = "HDR,TA_1,2,SEL,998,M,N,1\u{b}2\rFTR,0,0";
    let path = file("lf", "TA_998_SEL_MN2512_00000005.DAT", ta.as_bytes());
    let out = run(&["esr", "check"], &[&path]);
    assert!(
        text(&out.stdout).contains("period MN1\\u{b}2: ATT read 0"),
        "{}",
        text(&out.stdout)
    );
}

/// Probe F16: a NUL in a GO text value was accepted with no word.
#[test]
fn esr_go_control_character_is_reported() {
    let go = b"HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\nPOA~800001~20240401~47121231~3000001~3000001|Staff Nurse|N0A|Elderly Care|~5.2~9901000~Nursing and Midwifery Registered~Staff Nurse~N0A~XR05~XR05|0~Not Applicable~600100~Active~SHARED~~~~~XX9~20240401 000000~Wa\0rd 7\nTRL~3\n";
    let path = file("nul", "GO_999_GDW_GOF_20250301_00000101.DAT", go);
    let out = run(&["esr", "check"], &[&path]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("warning: control character 0x00 in the value"),
        "{stdout}"
    );
    assert!(stdout.contains("with warnings 1"), "{stdout}");
    let out = run(&["esr", "json"], &[&path]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["problems"][0]
            .as_str()
            .unwrap()
            .contains("control character"),
        "{v}"
    );
}

/// A UTF-8 byte order mark before FHIR JSON is accepted by `check` and `convert` alike (as it
/// is before XML); a duplicate member is placed at the duplicate (probe twelve F14: the mark
/// was "expected value at Patient (line 1, column 1)", the duplicate at the object's end).
#[test]
fn fhir_json_byte_order_mark_and_duplicate_position() {
    let bom = file(
        "bom",
        "bom.json",
        b"\xEF\xBB\xBF{\"resourceType\":\"Patient\",\"gender\":\"male\"}",
    );
    let out = run(&["fhir", "check"], &[&bom]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("Patient read, 0 problem(s)"), "{stdout}");
    let out = run(&["fhir", "convert", "--to", "xml"], &[&bom]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim_end(),
        r#"<Patient xmlns="http://hl7.org/fhir"><gender value="male"/></Patient>"#
    );
    let dup = file(
        "bom",
        "dup.json",
        br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#,
    );
    let out = run(&["fhir", "check"], &[&dup]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("duplicate element `gender` at Patient.gender (line 1, column 43)"),
        "{stdout}"
    );
}

/// `fhir check` refuses a repeating primitive entry with neither value nor extension, at it
/// (probe twelve F12: it passed, and `convert` then wrote `"name":[{}]`, which check refused).
#[test]
fn fhir_check_refuses_an_unpaired_null_in_a_repeating_primitive() {
    let g = file(
        "nulls",
        "g1.json",
        br#"{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,null]}]}"#,
    );
    let out = run(&["fhir", "check", "--profile", "uk-core"], &[&g]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("at Patient.name[0].given[1] (line 1, column 49)"),
        "{stdout}"
    );
    let out = run(&["fhir", "convert", "--to", "xml"], &[&g]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("(line 1, column 49"), "{stderr}");
}

/// The inbound file name was not checked against `TA_<VPD>_<SUPPLIER>_<period>_<SEQ8>.DAT`.
#[test]
fn esr_inbound_file_name_is_checked() {
    let ta = format!("{TA_HDR}\r{}\rFTR,1,0", att_row("80000001"));
    let bad = file("taname", "TA_998_SEL_MX2512_00000001.DAT", ta.as_bytes());
    let out = run(&["esr", "check"], &[&bad]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("line 0, byte 0: file error: bad file name: period run is not N or S"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ATT read 1, accepted 1, rejected 0"),
        "{stdout}"
    );
    let out = run(&["esr", "json"], &[&bad]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("bad file name"));
    let good = file("taname", "TA_998_SEL_MN2512_00000001.DAT", ta.as_bytes());
    let out = run(&["esr", "check"], &[&good]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        !stdout.contains("warning") && !stdout.contains("error"),
        "{stdout}"
    );
}
