//! `carecodec map` end to end: HL7 v2, ESR and FHIR input; canonical and UK
//! Core output; the report file; exit status 1 on quarantine.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

mod common;
use common::{bin, data};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("carecodec-cli-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// `carecodec map ARGS… FILES…`, run to its end.
fn run_map(args: &[&str], files: &[&Path]) -> std::process::Output {
    bin().arg("map").args(args).args(files).output().unwrap()
}

#[test]
fn hl7_to_canonical_with_report() {
    let report = tmp("report.ndjson");
    let out = run_map(&["--report"], &[&report, &data("hl7v2/adt_a01.hl7")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["message_type"], "ADT^A01");
    let r: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    let r = &r["report"];
    let unmapped = r["unmapped"].as_array().unwrap().len() as u64;
    assert_eq!(
        r["mapped"].as_u64().unwrap() + unmapped,
        r["source_leaves"].as_u64().unwrap()
    );
}

#[test]
fn hl7_to_fhir_and_back() {
    let out = run_map(&["--to", "fhir"], &[&data("hl7v2/oru_r01.hl7")]);
    assert!(out.status.success());
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    let file = tmp("bundle.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let back = bin().arg("map").arg(&file).output().unwrap();
    assert!(back.status.success());
    let event: serde_json::Value = serde_json::from_slice(&back.stdout).unwrap();
    assert!(event["patient"].is_object());
}

#[test]
fn esr_to_workers() {
    let out = run_map(
        &["--as-at", "2025-04-01"],
        &[&data("esr/GO_998_GDW_GOF_20250401_00000001.DAT")],
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[test]
fn esr_to_fhir_and_back_to_workers() {
    let esr = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let canonical = run_map(&["--as-at", "2025-04-01"], &[&esr]);
    assert!(canonical.status.success());
    let out = run_map(&["--to", "fhir", "--as-at", "2025-04-01"], &[&esr]);
    assert!(out.status.success());
    let bundles: Vec<&[u8]> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    // Two workers, then the file's PRD~7100099 as a DELETE.
    assert_eq!(bundles.len(), 3);
    let deletes: serde_json::Value = serde_json::from_slice(bundles[2]).unwrap();
    assert_eq!(deletes["entry"][0]["request"]["method"], "DELETE");
    let bundles = &bundles[..2];
    let strip = |v: &mut serde_json::Value| {
        fn go(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    m.remove("sources");
                    m.values_mut().for_each(go);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(go),
                _ => {}
            }
        }
        go(v);
    };
    for (i, b) in bundles.iter().enumerate() {
        let file = tmp(&format!("worker{i}.json"));
        std::fs::write(&file, b).unwrap();
        let back = bin().args(["map"]).arg(&file).output().unwrap();
        assert!(
            back.status.success(),
            "{}",
            String::from_utf8_lossy(&back.stderr)
        );
        let mut got: serde_json::Value = serde_json::from_slice(&back.stdout).unwrap();
        assert!(
            got["identifiers"].is_array(),
            "a worker, not an event: {got}"
        );
        let line = canonical.stdout.split(|&b| b == b'\n').nth(i).unwrap();
        let mut want: serde_json::Value = serde_json::from_slice(line).unwrap();
        strip(&mut got);
        strip(&mut want);
        // The Bundle carries identifiers, names and registrations as they were.
        for k in ["identifiers", "names", "registrations"] {
            assert_eq!(got[k], want[k], "{k}");
        }
    }
}

#[test]
fn message_bundle_option() {
    let out = run_map(
        &["--to", "fhir", "--bundle", "message"],
        &[&data("hl7v2/adt_a01.hl7")],
    );
    assert!(out.status.success());
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bundle["type"], "message");
    assert_eq!(
        bundle["entry"][0]["resource"]["resourceType"],
        "MessageHeader"
    );
}

#[test]
fn trust_ods_keys_the_locations_of_a_message_with_no_facility() {
    // No PL-4 facility, no MSH-4 sending facility: the trust's ODS code is
    // the namespace the ward's id is keyed in; without it, a create.
    let file = tmp("no-facility.hl7");
    std::fs::write(
        &file,
        b"MSH|^~\\&|PAS||EPR||20240312091500||ADT^A01|1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|W1\r",
    )
    .unwrap();
    let ward = |args: &[&str]| {
        let out = bin()
            .args(["map", "--to", "fhir"])
            .args(args)
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success());
        let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let entries = bundle["entry"].as_array().unwrap();
        let e = entries
            .iter()
            .find(|e| e["resource"]["resourceType"] == "Location")
            .unwrap();
        (e["request"]["method"].clone(), e["request"]["url"].clone())
    };
    let (method, url) = ward(&["--trust-ods", "RX1"]);
    assert_eq!(method, "PUT");
    assert!(url.as_str().unwrap().starts_with("Location/"), "{url}");
    assert_eq!(ward(&["--trust-ods", "RX1"]).1, url);
    assert_ne!(ward(&["--trust-ods", "RX2"]).1, url);
    assert_eq!(ward(&[]), ("POST".into(), "Location".into()));
}

#[test]
fn quarantine_exits_1() {
    let file = tmp("q.hl7");
    std::fs::write(
        &file,
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\rPID|1||123^^^^XX||SMITH^JOHN\r",
    )
    .unwrap();
    let out = run_map(&["--to", "fhir"], &[&file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("quarantined"));
}

/// Probe eleven F13: an HL7 batch whose BTS-1 / FTS-1 counts show messages
/// lost is mapped (the messages read are written) but exits 1, says why on
/// stderr and writes a file line with `"complete": false` to the report.
#[test]
fn a_batch_whose_trailer_counts_do_not_match_exits_1() {
    let msg = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|2|P|2.4\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN\r";
    let file = tmp("short-batch.hl7");
    let report = tmp("short-batch.ndjson");
    std::fs::write(
        &file,
        format!("FHS|^~\\&|PAS|RX1\rBHS|^~\\&|PAS|RX1\r{msg}{msg}BTS|5\rFTS|3\r"),
    )
    .unwrap();
    let out = run_map(&["--to", "fhir", "--report"], &[&report, &file]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("BTS-1 says \"5\""), "{stderr}");
    assert!(stderr.contains("FTS-1 says \"3\""), "{stderr}");
    assert!(stderr.contains("the file is incomplete"), "{stderr}");
    // Both messages read are still written.
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let file_line = &lines[2];
    assert_eq!(file_line["complete"], false);
    assert!(file_line.get("message").is_none());
    let notes = file_line["report"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("BTS-1"))
    );

    // A whole batch: exit 0 and no file line.
    std::fs::write(
        &file,
        format!("FHS|^~\\&|PAS|RX1\rBHS|^~\\&|PAS|RX1\r{msg}{msg}BTS|2\rFTS|1\r"),
    )
    .unwrap();
    let out = run_map(&["--to", "fhir", "--report"], &[&report, &file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&report).unwrap().lines().count(), 2);
}

#[test]
fn adt_without_pid_is_quarantined() {
    let file = tmp("nopid.hl7");
    std::fs::write(
        &file,
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|M1|P|2.4\rPV1|1|I|WARD1^^^RX1\r",
    )
    .unwrap();
    let out = run_map(&["--to", "fhir"], &[&file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no PID"));
}

/// A FHIR document the reader does not read (no resourceType, a Patient with
/// a modifier extension) is quarantined with its reason, and gets no Bundle.
#[test]
fn unreadable_fhir_is_quarantined_with_its_reason() {
    for (name, doc, why) in [
        (
            "nort.json",
            r#"{"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}"#,
            "no string resourceType",
        ),
        (
            "modext.json",
            r#"{"resourceType":"Patient","modifierExtension":[{"url":"http://example.org/x","valueBoolean":true}],
               "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}"#,
            "modifierExtension the reader does not understand (http://example.org/x)",
        ),
        // A Provenance alone used to give an empty transaction Bundle, exit 0.
        (
            "prov.json",
            r#"{"resourceType":"Provenance","recorded":"2024-03-12T09:15:00Z",
               "agent":[{"who":{"display":"PAS"}}],"target":[{"display":"nobody"}]}"#,
            "no Patient and nothing else to write",
        ),
        // A MessageHeader of an ADT event with no Patient, as HL7 v2 without PID.
        (
            "mh.json",
            r#"{"resourceType":"Bundle","type":"message","entry":[{"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000001",
               "resource":{"resourceType":"MessageHeader","eventCoding":{"system":"http://terminology.hl7.org/CodeSystem/v2-0003","code":"A01","display":"ADT^A01"},
               "source":{"endpoint":"urn:oid:1.2.3"}}}]}"#,
            "ADT^A01 has no PID segment",
        ),
    ] {
        let file = tmp(name);
        std::fs::write(&file, doc).unwrap();
        let out = run_map(&["--to", "fhir"], &[&file]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(out.stdout.is_empty(), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("quarantined") && err.contains(why),
            "{name}: {err}"
        );
    }
}

/// FHIR decimals keep their text through `carecodec map`: a `serde_json::Value`
/// alone would read `4.50` as `4.5` (issue 5: lossless).
#[test]
fn fhir_decimals_keep_their_text() {
    let file = tmp("decimals.json");
    std::fs::write(
        &file,
        br#"{"resourceType":"Bundle","type":"collection","entry":[
{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient",
 "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}},
{"resource":{"resourceType":"Observation","status":"final","code":{"text":"Potassium"},
 "subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"},
 "valueQuantity":{"value":4.50,"unit":"mmol/L"},
 "referenceRange":[{"low":{"value":3.50},"high":{"value":0.12345678901234567890}}]}}]}"#,
    )
    .unwrap();
    let report = tmp("decimals-report.ndjson");
    let out = run_map(&["--report"], &[&report, &file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        event["observations"][0]["value"]["value"]["value"]["value"],
        "4.50"
    );
    // The range is not read (the model's range is OBX-7 text): reported as sent.
    let r = std::fs::read_to_string(&report).unwrap();
    assert!(r.contains(r#""raw":"3.50""#), "{r}");
    assert!(r.contains(r#""raw":"0.12345678901234567890""#), "{r}");
    let out = run_map(&["--to", "fhir"], &[&file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r#""valueQuantity":{"value":4.50,"#), "{text}");
}

/// FHIR XML is mapped as the FHIR JSON it converts to: the same canonical
/// output and the same report, element paths included; a byte order mark
/// before JSON is allowed; bad XML is an error with its position.
#[test]
fn fhir_xml_maps_as_its_json() {
    let (mut compared, mut written) = (0, 0);
    for entry in std::fs::read_dir(data("fhir")).unwrap() {
        let json_file = entry.unwrap().path();
        if json_file.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let stem = json_file
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let json = std::fs::read(&json_file).unwrap();
        let xml_file = tmp(&format!("{stem}.xml"));
        std::fs::write(&xml_file, carecodec_fhir::xml::json_to_xml(&json).unwrap()).unwrap();
        let bom_file = tmp(&format!("{stem}-bom.json"));
        std::fs::write(&bom_file, [b"\xEF\xBB\xBF".as_slice(), &json].concat()).unwrap();
        let run = |file: &Path, to: &str| {
            let report = tmp(&format!("{stem}-{to}-report.ndjson"));
            let out = run_map(&["--to", to, "--report"], &[&report, file]);
            let report = std::fs::read_to_string(&report)
                .unwrap()
                .replace(&file.display().to_string(), "FILE");
            (out.status.code(), out.stdout, report)
        };
        for to in ["canonical", "fhir"] {
            let want = run(&json_file, to);
            written += usize::from(!want.1.is_empty());
            assert_eq!(run(&xml_file, to), want, "{stem} as XML, --to {to}");
            assert_eq!(run(&bom_file, to), want, "{stem} with a BOM, --to {to}");
        }
        compared += 1;
    }
    assert!(
        compared >= 4 && written >= 7,
        "{compared} samples, {written} with output"
    );
    let bad = tmp("bad.xml");
    std::fs::write(&bad, "<Patient xmlns=\"http://hl7.org/fhir\"><bad").unwrap();
    let out = bin().arg("map").arg(&bad).output().unwrap();
    // Malformed, not unreadable: reported, exit 1 (probe 13 P10).
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not FHIR XML") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn a_missing_input_file_is_named() {
    // Probe finding 17: `carecodec map does-not-exist.hl7` said only "No such
    // file or directory (os error 2)".
    let out = bin().args(["map", "does-not-exist.hl7"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does-not-exist.hl7"), "{err}");
}

/// The bundled GO file, changed by `f`, written under its own name in a
/// directory of its own (the name picks the profile and is checked).
fn go_file(dir: &str, f: impl FnOnce(String) -> String) -> PathBuf {
    let name = "GO_998_GDW_GOF_20250401_00000001.DAT";
    let path = tmp(dir).join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, latin1(f(go_text()))).unwrap();
    path
}

/// The bundled GO file's text (ISO-8859-1).
fn go_text() -> String {
    let bytes = std::fs::read(data("esr/GO_998_GDW_GOF_20250401_00000001.DAT")).unwrap();
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn latin1(text: String) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(c).unwrap()).collect()
}

#[test]
fn an_incomplete_esr_file_exits_1_and_says_so() {
    // No trailer: the file may be truncated and must not be applied as a
    // delta. It used to exit 0 with nothing on stderr.
    let file = go_file("no-trailer", |t| {
        t.lines()
            .filter(|l| !l.starts_with("TRL~"))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    let report = tmp("no-trailer.report.ndjson");
    for to in ["canonical", "fhir"] {
        let out = run_map(
            &["--as-at", "2025-04-01", "--to", to, "--report"],
            &[&report, &file],
        );
        assert_eq!(out.status.code(), Some(1), "--to {to}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("file incomplete (missing trailer: the file is incomplete)"),
            "{err}"
        );
        // The workers are still written (and to FHIR the file's PRD as a
        // DELETE).
        let lines = if to == "fhir" { 3 } else { 2 };
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), lines);
    }
    let r: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    assert_eq!(r["complete"], false);
    // A complete file's report says so.
    let out = run_map(
        &["--as-at", "2025-04-01", "--report"],
        &[&report, &data("esr/GO_998_GDW_GOF_20250401_00000001.DAT")],
    );
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    let r: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    assert_eq!(r["complete"], true);
}

#[test]
fn an_esr_file_with_a_rejected_row_exits_1() {
    // A primary flag that is neither Yes nor No: the assignment row is
    // rejected (and was left out of the worker with exit 0).
    let file = go_file("rejected", |t| t.replacen("~Yes~37.5~", "~Maybe~37.5~", 1));
    let report = tmp("rejected.report.ndjson");
    let out = run_map(&["--as-at", "2025-04-01", "--report"], &[&report, &file]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(": 1 row rejected by the reader"), "{err}");
    // The report line accounts for every record as `esr check` does
    // (read = accepted + rejected); it used to give no counts.
    let r: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    let check = bin().args(["esr", "check"]).arg(&file).output().unwrap();
    let said = String::from_utf8_lossy(&check.stdout).into_owned();
    let counts = &r["records"];
    let (read, accepted) = (
        counts["read"].as_u64().unwrap(),
        counts["accepted"].as_u64().unwrap(),
    );
    assert_eq!(counts["rejected"], 1);
    assert_eq!(read, accepted + 1);
    let totals = format!("read {read}, accepted {accepted}, rejected 1,");
    assert!(said.contains(&totals), "{said}");
}

#[test]
fn every_row_the_reader_rejects_exits_1_and_is_in_the_report() {
    // Probe finding (ESR long line): a row longer than the reader keeps
    // (1 MiB) was rejected by `esr check` but left out of `map`'s rejected
    // rows: exit 0, `invalid` empty, the person "not in this file". So were
    // a row of an unknown record code, and a row's fields after its
    // layout's last were counted nowhere.
    // The bundled file with line 7 (PRA 7100001) over the limit, a row of
    // record code ZZA, and PRA 7100002 with a field too many.
    let edit = |name: &str, t: String| match name {
        "long-line" => t.replacen("~Owen~", &format!("~{}~", "A".repeat(1_200_000)), 1),
        "unknown-code" => t
            .replacen("PRD~7100099\n", "PRD~7100099\nZZA~7100002~HELLO\n", 1)
            .replacen("TRL~15", "TRL~16", 1),
        _ => t.replacen(
            "~20200101 120000~~~~~\n",
            "~20200101 120000~~~~~~EXTRA1\n",
            1,
        ),
    };
    for name in ["long-line", "unknown-code", "extra-fields"] {
        let file = go_file(name, |t| edit(name, t));
        let report = tmp(&format!("{name}.report.ndjson"));
        let out = run_map(&["--as-at", "2025-04-01", "--report"], &[&report, &file]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(": 1 row rejected by the reader"),
            "{name}: {err}"
        );
        let r: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
        let invalid = r["report"]["invalid"].as_array().unwrap();
        assert_eq!(invalid.len(), 1, "{name}: {invalid:?}");
        assert_eq!(invalid[0]["action"], "dropped", "{name}");
        let unmapped = r["report"]["unmapped"].to_string();
        let marker = match name {
            "long-line" => "Person ID 7100001 rejected by the reader",
            "unknown-code" => "HELLO",
            _ => "EXTRA1",
        };
        let text = format!("{unmapped} {}", r["report"]["notes"]);
        assert!(text.contains(marker), "{name}: {marker} not in {text}");
    }
}

#[test]
fn a_go_file_without_its_header_is_esr() {
    // Empty, or its HDR line lost: an ESR file error (exit 1), not "not HL7
    // v2, FHIR or ESR" (exit 2).
    let empty = go_file("empty", |_| String::new());
    let headless = tmp("headless.txt");
    let text = go_text();
    std::fs::write(
        &headless,
        latin1(text.split_once('\n').unwrap().1.to_owned()),
    )
    .unwrap();
    for file in [empty, headless] {
        let out = bin().arg("map").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", file.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("missing header"), "{err}");
    }
}

#[test]
fn a_go_file_with_cr_line_ends_is_read() {
    // LFs turned into CRs by a transfer: read as line ends (it was one bad
    // header line, 0 source leaves and exit 0).
    let file = go_file("cr", |t| t.replace('\n', "\r"));
    let cr = run_map(&["--as-at", "2025-04-01"], &[&file]);
    assert!(
        cr.status.success(),
        "{}",
        String::from_utf8_lossy(&cr.stderr)
    );
    let bundled = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let lf = run_map(&["--as-at", "2025-04-01"], &[&bundled]);
    // The same workers, each source naming its own file's path.
    let named = |out: &[u8], path: &Path| {
        String::from_utf8_lossy(out).replace(&path.display().to_string(), "FILE")
    };
    assert_eq!(named(&cr.stdout, &file), named(&lf.stdout, &bundled));
}

/// A change file's workers are written, with one warning that each Bundle
/// holds only the change (its PUT would replace the server's Practitioner):
/// exit 1 (until 2026-12-07 exit 0), the output is not to be loaded as it
/// is; to canonical there is nothing to warn of: exit 0.
#[test]
fn a_change_file_to_fhir_is_warned_of() {
    let name = "GO_998_GDW_GOC_20250401_00000001.DAT";
    let path = tmp("change-file").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, latin1(go_text().replace("_GOF_", "_GOC_"))).unwrap();
    let out = run_map(&["--as-at", "2025-04-01", "--to", "fhir"], &[&path]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("warning: a change file"), "{err}");
    // Two workers and the file's PRD~7100099 as a DELETE.
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    let out = run_map(&["--as-at", "2025-04-01", "--to", "canonical"], &[&path]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A GO file of VPD 998 named `name`, its header dated as the name, with
/// `body` (ISO-8859-1 text) and its trailer, in directory `dir`.
fn go_named(dir: &str, name: &str, body: &str) -> PathBuf {
    let date = &name[15..23];
    let n = body.lines().count() + 2;
    let path = tmp(dir).join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text =
        format!("HDR~{name}~{date} 020000~998~00000000 000000~{date} 000000~01\n{body}TRL~{n}\n");
    std::fs::write(&path, latin1(text)).unwrap();
    path
}

/// The bundled full file and a change file after it: one Bundle per
/// worker, each the whole worker (the change file's new e-mail, and the
/// assignment and registration only the full file sent); a delete in the
/// change file takes out the full file's row. A file out of sequence is
/// not applied: exit 1, and the state before it is written.
#[test]
fn a_full_file_and_its_change_files_map_as_one_state() {
    let full = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let owen = go_text()
        .lines()
        .find(|l| l.starts_with("PRA~7100001~"))
        .unwrap()
        .replace("owen.dsample@", "owen.new@");
    let change = go_named(
        "merge",
        "GO_998_GDW_GOC_20250402_00000002.DAT",
        &format!("{owen}\nETD~7400002\n"),
    );
    let report = tmp("merge.report.ndjson");
    // Given change first: applied in sequence order.
    let out = run_map(&["--to", "fhir", "--report"], &[&report, &change, &full]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    let bundles: Vec<&str> = text.lines().collect();
    // Two workers, then the full file's PRD~7100099 as a DELETE.
    assert_eq!(bundles.len(), 3, "{text}");
    assert!(bundles[2].contains(r#""method":"DELETE""#), "{text}");
    let owen = bundles.iter().find(|b| b.contains("7100001")).unwrap();
    assert!(owen.contains("owen.new@example.invalid"), "{owen}");
    assert!(!owen.contains("owen.dsample@"), "{owen}");
    // Not in the change file, still in the Bundle: the NMC registration
    // and the assignment's role.
    assert!(owen.contains("01Z2345A"), "{owen}");
    assert!(owen.contains("PractitionerRole"), "{owen}");
    let priya = bundles.iter().find(|b| b.contains("7100002")).unwrap();
    assert!(
        !priya.contains("7654321"),
        "the deleted GMC registration: {priya}"
    );
    // One report line for the state, balanced over both files.
    let r: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    assert_eq!(r["complete"], true);
    let unmapped = r["report"]["unmapped"].as_array().unwrap().len() as u64;
    assert_eq!(
        r["report"]["mapped"].as_u64().unwrap() + unmapped,
        r["report"]["source_leaves"].as_u64().unwrap()
    );
    // A gap in the sequence: that file is not applied (exit 1, and why);
    // the state of the files before it is written.
    let gap = go_named(
        "merge",
        "GO_998_GDW_GOC_20250404_00000004.DAT",
        "ETD~7400001\n",
    );
    let out = run_map(&["--to", "fhir"], &[&full, &change, &gap]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "GO_998_GDW_GOC_20250404_00000004.DAT: not applied (sequence 4 after sequence 2: a gap"
        ),
        "{err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains("owen.new@example.invalid") && text.contains("01Z2345A"));
}

/// ESR deletes reach the server: after the state's worker Bundles, one
/// Bundle of DELETEs on the URLs the full file's Bundles PUT (the deleted
/// person's Practitioner, the deleted assignment's role); to canonical,
/// nothing more on stdout and the deletions in the report line.
#[test]
fn esr_deletes_are_a_bundle_of_deletes_after_the_workers() {
    let body: String = go_text()
        .lines()
        .filter(|l| !["HDR~", "TRL~", "PRD~"].iter().any(|c| l.starts_with(c)))
        .map(|l| format!("{l}\n"))
        .collect();
    let full = go_named("deletes", "GO_998_GDW_GOF_20250401_00000001.DAT", &body);
    let change = go_named(
        "deletes",
        "GO_998_GDW_GOC_20250402_00000002.DAT",
        "ASD~7200001\nPRD~7100002\n",
    );
    let fhir = |files: &[&PathBuf]| {
        let out = bin()
            .args(["map", "--to", "fhir"])
            .args(files)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.is_empty(), "{err}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    // What a run on the full file alone PUT: no deletions Bundle.
    let sent = fhir(&[&full]);
    assert_eq!(sent.len(), 2);
    let put = |person: &str, rtype: &str| -> String {
        let b = sent
            .iter()
            .find(|b| b.to_string().contains(person))
            .unwrap();
        let e = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["resourceType"] == rtype)
            .unwrap();
        assert_eq!(e["request"]["method"], "PUT");
        e["request"]["url"].as_str().unwrap().to_owned()
    };
    let role = put("7100001", "PractitionerRole");
    let priya = put("7100002", "Practitioner");
    // The change file on top: Owen's Bundle, then the DELETEs.
    let state = fhir(&[&full, &change]);
    assert_eq!(state.len(), 2, "{state:?}");
    assert!(state[0].to_string().contains("7100001"));
    assert!(!state[0].to_string().contains("PractitionerRole"));
    let deletes = &state[1];
    assert_eq!(deletes["type"], "transaction");
    let requests: Vec<(&str, &str)> = deletes["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["request"]["method"].as_str().unwrap(),
                e["request"]["url"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        requests,
        [("DELETE", role.as_str()), ("DELETE", priya.as_str())]
    );
    // To canonical: Owen only; the report line lists the deletions.
    let report = tmp("deletes.report.ndjson");
    let out = run_map(
        &["--to", "canonical", "--report"],
        &[&report, &full, &change],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let r: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    let deleted: Vec<(&str, &str, &str)> = r["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["what"].as_str().unwrap(),
                d["vpd"].as_str().unwrap(),
                d["key"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        deleted,
        [
            ("assignment", "998", "80000001"),
            ("person", "998", "7100002")
        ]
    );
}

/// Change files with no full file before them: the state holds only what
/// they hold, and that is warned of as for one change file (exit 1).
#[test]
fn change_files_without_a_full_file_are_warned_of() {
    let owen = go_text()
        .lines()
        .find(|l| l.starts_with("PRA~7100001~"))
        .unwrap()
        .to_owned();
    let c2 = go_named(
        "changes-only",
        "GO_998_GDW_GOC_20250402_00000002.DAT",
        &format!("{owen}\n"),
    );
    let c3 = go_named(
        "changes-only",
        "GO_998_GDW_GOC_20250403_00000003.DAT",
        "ETD~7400001\n",
    );
    let out = run_map(&["--to", "fhir"], &[&c2, &c3]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("warning: a change file"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    // A change file dated before the full file but with a later sequence:
    // the two orders disagree, not guessed (until 2026-12-07 the full file
    // re-based the change file away, exit 0).
    let full = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let c9 = go_named(
        "changes-only",
        "GO_998_GDW_GOC_20250331_00000009.DAT",
        &format!("{owen}\n"),
    );
    let out = run_map(&["--to", "fhir"], &[&full, &c9]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{}: not applied (dated 2025-04-01 with sequence 1, after {} dated 2025-03-31 with \
             sequence 9: the date order and the sequence order disagree",
            full.display(),
            c9.display()
        )),
        "{err}"
    );
}

/// The GDW and EXP sub-files of one VPD are two states whose Bundles PUT
/// the same Practitioner ids, each replacing the other's: said, exit 1 (to
/// canonical nothing is replaced: exit 0).
#[test]
fn two_sub_files_of_one_vpd_to_fhir_fail() {
    let owen = go_text()
        .lines()
        .find(|l| l.starts_with("PRA~7100001~"))
        .unwrap()
        .to_owned();
    let exp = go_named(
        "two-subs",
        "GO_998_EXP_GOF_20250401_00000001.DAT",
        &format!("{owen}\n"),
    );
    let full = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let out = run_map(&["--to", "fhir"], &[&full, &exp]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("VPD 998: sub-files GDW and EXP are mapped as separate states"),
        "{err}"
    );
    let out = bin().args(["map"]).arg(&full).arg(&exp).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// The GO files of two trusts (two VPDs) are two states, each mapped on its
/// own: neither stops the other.
#[test]
fn go_files_of_two_vpds_are_two_states() {
    let full = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let owen = go_text()
        .lines()
        .find(|l| l.starts_with("PRA~7100001~"))
        .unwrap()
        .replace("PRA~7100001~", "PRA~7900001~");
    let name = "GO_997_GDW_GOF_20250401_00000001.DAT";
    let path = tmp("two-vpds").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = format!(
        "HDR~{name}~20250401 020000~997~00000000 000000~20250401 000000~01\n{owen}\nTRL~3\n"
    );
    std::fs::write(&path, latin1(text)).unwrap();
    let report = tmp("two-vpds.report.ndjson");
    let out = run_map(&["--to", "canonical", "--report"], &[&report, &full, &path]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.contains("7900001") && text.contains("7100002"),
        "{text}"
    );
    let lines = std::fs::read_to_string(&report).unwrap();
    let files: Vec<String> = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["file"].to_string())
        .collect();
    assert_eq!(files.len(), 2, "{lines}");
    assert!(
        files[0].contains("GO_998") && files[1].contains("GO_997"),
        "{files:?}"
    );
}

/// A change file under another name (or on standard input) is known by its
/// header (HDR-1) and warned of as one.
#[test]
fn a_renamed_change_file_is_warned_of() {
    let path = tmp("renamed").join("todays-changes.dat");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, latin1(go_text().replace("_GOF_", "_GOC_"))).unwrap();
    let out = run_map(&["--as-at", "2025-04-01", "--to", "fhir"], &[&path]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("warning: a change file"), "{err}");
}

/// The README's command: the bundled full file and the next day's change
/// file, as at 1 May 2025: Owen's new e-mail and his hours from 1 May, and
/// Priya's assignment ended on 2 April (a leaver), each in a whole worker.
#[test]
fn bundled_full_and_change_file_as_one_state() {
    let out = run_map(
        &["--to", "fhir", "--as-at", "2025-05-01"],
        &[
            &data("esr/GO_998_GDW_GOF_20250401_00000001.DAT"),
            &data("esr/GO_998_GDW_GOC_20250402_00000002.DAT"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    let bundles: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Two workers, then the full file's PRD~7100099 as a DELETE.
    assert_eq!(bundles.len(), 3, "{text}");
    assert_eq!(bundles[2]["entry"][0]["request"]["method"], "DELETE");
    let role = |person: &str| {
        let b = bundles
            .iter()
            .find(|b| b.to_string().contains(person))
            .unwrap();
        let entries = b["entry"].as_array().unwrap();
        let of = |t: &str| {
            entries
                .iter()
                .map(|e| &e["resource"])
                .find(|r| r["resourceType"] == t)
                .unwrap()
                .clone()
        };
        (of("Practitioner"), of("PractitionerRole"))
    };
    let (owen, owen_role) = role("7100001");
    assert_eq!(owen["telecom"][0]["value"], "owen.d-sample@example.invalid");
    // The NMC registration only the full file sent is still there.
    assert!(owen.to_string().contains("01Z2345A"), "{owen}");
    assert_eq!(owen_role["active"], true);
    let (priya, priya_role) = role("7100002");
    assert!(priya.to_string().contains("7654321"), "{priya}");
    assert_eq!(priya_role["active"], false, "{priya_role}");
    assert_eq!(priya_role["period"]["end"], "2025-04-02");
}

/// Review finding 15: two copies of one change file in two folders are
/// named by their paths as given (in the report's sources and notes, on
/// stdout and stderr), so which was applied and which skipped is known;
/// their GO name (the last component) still sequences them.
#[test]
fn esr_files_of_one_name_in_two_folders_are_named_by_their_paths() {
    let full = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let owen = owen_line().replace("owen.dsample@", "owen.new@");
    let name = "GO_998_GDW_GOC_20250402_00000002.DAT";
    let a = go_named("same-name/a", name, &format!("{owen}\n"));
    let b = go_named("same-name/b", name, &format!("{owen}\n"));
    let report = tmp("same-name.report.ndjson");
    let out = run_map(&["--report"], &[&report, &full, &a, &b]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let (full, a, b) = (
        full.display().to_string(),
        a.display().to_string(),
        b.display().to_string(),
    );
    let r: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    assert_eq!(r["file"], format!("{full} + {a} + {b}"));
    let notes: Vec<&str> = r["report"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let skipped = format!("{b}: the same sequence again (a re-delivery): skipped");
    assert!(notes.iter().any(|n| n.starts_with(&skipped)), "{notes:#?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains(&format!("superseded by {a}:2"))),
        "{notes:#?}"
    );
    assert!(
        notes.iter().all(|n| !n.starts_with(name)),
        "a note names a file by its base name: {notes:#?}"
    );
    // Every unmapped field names its file by its path: b's skipped row.
    let files: std::collections::BTreeSet<&str> = r["report"]["unmapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["source"]["file"].as_str().unwrap())
        .collect();
    assert!(files.contains(b.as_str()), "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| [&full, &a, &b].contains(&&(*f).to_owned())),
        "{files:?}"
    );
    // The worker's new e-mail is from the copy applied.
    let text = String::from_utf8_lossy(&out.stdout);
    let owen: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|w| w.to_string().contains("owen.new@"))
        .unwrap();
    assert_eq!(owen["telecom"][0]["sources"][0]["file"], a.as_str());
    // Two different files under one name: the failure names both.
    let other = go_named(
        "same-name/b",
        name,
        &format!("{}\n", owen_line().replace("owen.dsample@", "owen.other@")),
    );
    let out = run_map(&[], &[Path::new(&full), Path::new(&a), &other]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{b}: not applied (sequence 2 again, as {a}, with other rows"
        )),
        "{err}"
    );
}

/// The bundled GO file's PRA row of person 7100001.
fn owen_line() -> String {
    go_text()
        .lines()
        .find(|l| l.starts_with("PRA~7100001~"))
        .unwrap()
        .to_owned()
}

/// An ESR state written `--to fhir` reports, in its report line, every
/// model value the workers' Bundles do not carry (`not_written`: the worker,
/// the model field, the value, its ESR file / line / field and why), and
/// still exits 0: they are documented losses. To canonical nothing is
/// dropped and there is no such key; nor for workers read back from their
/// own Bundles (a Bundle carries all they hold).
#[test]
fn esr_to_fhir_reports_what_the_bundles_do_not_carry() {
    let esr = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let report = tmp("not-written.ndjson");
    let args = ["--to", "fhir", "--as-at", "2025-04-01", "--report"];
    let out = run_map(&args, &[&report, &esr]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    let entries = line["not_written"].as_array().unwrap();
    let of = |person: &str, field: &str| -> &serde_json::Value {
        entries
            .iter()
            .find(|e| e["worker"]["id"]["value"] == person && e["field"] == field)
            .unwrap_or_else(|| panic!("{person} {field} not in {entries:#?}"))
    };
    // Named by the path given on the command line (review finding 15).
    let file = esr.to_str().unwrap();
    // (person, field, value, line, ESR field): the PRA of 7100001 is line
    // 7, its ASA line 8, its position row line 5.
    for (person, field, value, at, esr_field) in [
        ("7100001", "hire_date", "2023-04-01", 7, "Hire Date"),
        (
            "7100001",
            "assignments[0].status",
            "Active Assignment",
            8,
            "User Assignment Status",
        ),
        (
            "7100001",
            "assignments[0].position.number",
            "4000001",
            5,
            "Position Number",
        ),
        (
            "7100001",
            "assignments[0].grade",
            "NHS|XR05|Band 5",
            8,
            "Grade",
        ),
        ("7100001", "assignments[0].fte", "1", 8, "FTE"),
        ("7100002", "hire_date", "2020-01-01", 11, "Hire Date"),
        ("7100002", "assignments[0].fte", "1", 12, "FTE"),
    ] {
        let e = of(person, field);
        assert_eq!(e["worker"]["kind"], "esr-person", "{e}");
        assert_eq!(e["value"], value, "{e}");
        let sources = e["sources"].as_array().unwrap();
        assert_eq!(sources.len(), 1, "{e}");
        assert_eq!(sources[0]["format"], "esr", "{e}");
        assert_eq!(sources[0]["file"], file, "{e}");
        assert_eq!(sources[0]["line"], at, "{e}");
        assert_eq!(sources[0]["field"], esr_field, "{e}");
        assert!(e["reason"].as_str().unwrap().contains("UK Core"), "{e}");
    }
    // The primary flag: listed, with no source (the model keeps none).
    assert_eq!(of("7100001", "assignments[0].primary")["value"], "true");
    // Every entry names a field of a worker; 6 per worker here.
    assert_eq!(entries.len(), 12, "{entries:#?}");
    // Nothing listed is in the Bundles.
    let bundles = String::from_utf8_lossy(&out.stdout);
    for v in [
        "NHS|XR05|Band 5",
        "NHS|MC72|Consultant",
        "4000001",
        "4000002",
    ] {
        assert!(!bundles.contains(v), "{v}");
    }
    // The rest of the line is as before.
    assert_eq!(line["complete"], true);
    assert!(line["deleted"].is_array() && line["report"].is_object());

    // To canonical: no key.
    let canonical = tmp("not-written-canonical.ndjson");
    let args = ["--as-at", "2025-04-01", "--report"];
    let out = run_map(&args, &[&canonical, &esr]);
    assert_eq!(out.status.code(), Some(0));
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&canonical).unwrap().trim()).unwrap();
    assert!(line.get("not_written").is_none(), "{line}");

    // A worker read back from its Bundle and written again loses nothing.
    let first = bundles.lines().next().unwrap();
    let bundle = tmp("not-written-worker.json");
    std::fs::write(&bundle, first).unwrap();
    let again = tmp("not-written-again.ndjson");
    let out = run_map(&["--to", "fhir", "--report"], &[&again, &bundle]);
    assert_eq!(out.status.code(), Some(0));
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&again).unwrap().trim()).unwrap();
    assert!(line.get("not_written").is_none(), "{line}");
    assert_eq!(line["report"]["unmapped"], serde_json::json!([]));
}

/// An HL7 v2 message written `--to fhir` as a transaction reports what its
/// Bundle does not carry: the MSH applications and destination facility (a
/// transaction has no MessageHeader), and with no EVN (no Provenance) the
/// sender and message type; as a message Bundle its MessageHeader carries
/// them: no key. Exit 0 either way.
#[test]
fn hl7_to_fhir_reports_what_the_bundle_does_not_carry() {
    let oru = data("hl7v2/oru_r01.hl7");
    let report = tmp("not-written-oru.ndjson");
    let out = run_map(&["--to", "fhir", "--report"], &[&report, &oru]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    assert_eq!(line["message"], 1);
    let entries = line["not_written"].as_array().unwrap();
    let fields: Vec<&str> = entries
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "sender",
            "message_type",
            "source_application",
            "destination_application",
            "destination_facility"
        ],
        "{entries:#?}"
    );
    // No worker key on an event's entries; each value with its v2 source.
    assert!(entries.iter().all(|e| e.get("worker").is_none()));
    let sender = &entries[0];
    assert_eq!(sender["value"], "RX1");
    assert_eq!(sender["sources"][0]["format"], "v2");
    assert!(
        sender["sources"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("MSH[1]-4"),
        "{sender}"
    );
    assert_eq!(entries[1]["value"], "ORU^R01");
    assert_eq!(entries[2]["value"], "LAB");
    let message = tmp("not-written-oru-message.ndjson");
    let args = ["--to", "fhir", "--bundle", "message", "--report"];
    let out = run_map(&args, &[&message, &oru]);
    assert_eq!(out.status.code(), Some(0));
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&message).unwrap().trim()).unwrap();
    assert!(line.get("not_written").is_none(), "{line}");
}

/// Local coding systems (CWE.3 `L`, `99XYZ`) are legal HL7 v2: `--report`
/// lists no invalid value for them (until 2026-12-08 each was `invalid`,
/// `interpreted`), and, written `--to fhir`, each coding they leave without
/// a `Coding.system` is in `not_written` with its field and source; the
/// accounting still balances.
#[test]
fn local_coding_systems_are_listed_where_the_bundle_leaves_them_out() {
    let msg = tmp("local-systems.hl7");
    std::fs::write(
        &msg,
        "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312101500||ORU^R01|7|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
OBR|1|ORD1^EPR|LAB1^LAB|58410-2^FBC^LN|||20240312101500\r\
OBX|1|CWE|X1^Local test^L||POS^Positive^99XYZ||||||F\r",
    )
    .unwrap();
    let report = tmp("local-systems.ndjson");
    let out = run_map(&["--to", "fhir", "--report"], &[&report, &msg]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = bundle.to_string();
    assert!(
        text.contains(r#"{"code":"X1","display":"Local test"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"{"code":"POS","display":"Positive"}"#),
        "{text}"
    );
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    let r = &line["report"];
    assert_eq!(r["invalid"], serde_json::json!([]), "{r}");
    let unmapped = r["unmapped"].as_array().unwrap().len() as u64;
    assert_eq!(
        r["mapped"].as_u64().unwrap() + unmapped,
        r["source_leaves"].as_u64().unwrap()
    );
    let systems: Vec<(&str, &str, &str)> = line["not_written"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["field"].as_str().unwrap().ends_with(".system"))
        .map(|e| {
            (
                e["field"].as_str().unwrap(),
                e["value"].as_str().unwrap(),
                // The coding's sources, its system's (CWE.3) last.
                e["sources"].as_array().unwrap().last().unwrap()["path"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        systems,
        [
            (
                "reports[0].observations[0].code.codes[0].system",
                "L",
                "OBX[1]-3.3"
            ),
            (
                "reports[0].observations[0].value.codes[0].system",
                "99XYZ",
                "OBX[1]-5.3"
            ),
        ],
        "{line}"
    );
}

/// An ORU^R01 with two patients' groups (two PIDs) gives one Bundle per
/// patient, each with only its own patient's results, and a report line per
/// group; another message type with two PIDs (A17's swap) is quarantined:
/// nothing is written, the run exits 1 and stderr says why.
#[test]
fn each_patient_of_a_results_message_gets_its_own_bundle() {
    let file = tmp("twopatients.hl7");
    std::fs::write(
        &file,
        b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1|ORD1|LAB1|718-7^Hb^LN\rOBX|1|NM|718-7^Hb^LN||135|g/L|||||F\r\
PID|2||4010232137^^^NHS^NH||JONES^MARY\r\
OBR|1|ORD2|LAB2|2823-3^K^LN\rOBX|1|NM|2823-3^K^LN||6.9|mmol/L|||||F\r",
    )
    .unwrap();
    for bundle in ["transaction", "message"] {
        let report = tmp(&format!("twopatients-{bundle}.ndjson"));
        let out = run_map(
            &["--to", "fhir", "--bundle", bundle, "--report"],
            &[&report, &file],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let bundles: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(bundles.len(), 2);
        let (first, second) = (bundles[0].to_string(), bundles[1].to_string());
        assert!(
            first.contains("9434765919") && !first.contains("4010232137"),
            "{first}"
        );
        assert!(first.contains("135") && !first.contains("6.9"), "{first}");
        assert!(
            second.contains("4010232137") && !second.contains("9434765919"),
            "{second}"
        );
        assert!(
            second.contains("6.9") && !second.contains("\"value\":135"),
            "{second}"
        );
        assert_eq!(bundles[0]["identifier"]["value"], "M1/1");
        assert_eq!(bundles[1]["identifier"]["value"], "M1/2");
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&report)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        for (k, line) in lines.iter().enumerate() {
            assert_eq!(line["message"], 1);
            assert_eq!(line["group"], k + 1);
        }
    }
    let swap = tmp("swap.hl7");
    std::fs::write(
        &swap,
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A17|M2|P|2.4\r\
EVN|A17|20240312091500\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|W1^1^A\r\
PID|2||4010232137^^^NHS^NH||JONES^MARY\rPV1|1|I|W1^1^B\r",
    )
    .unwrap();
    for bundle in ["transaction", "message"] {
        let out = run_map(&["--to", "fhir", "--bundle", bundle], &[&swap]);
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ADT^A17 carries 2 patient groups"), "{err}");
    }
    // The canonical document (for review) holds the first patient's group
    // only; the run still exits 1.
    let out = run_map(&["--to", "canonical"], &[&swap]);
    assert_eq!(out.status.code(), Some(1));
    let doc = String::from_utf8_lossy(&out.stdout);
    assert!(
        doc.contains("9434765919") && !doc.contains("4010232137"),
        "{doc}"
    );
}

/// The lines of an NDJSON report.
fn report_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Probe 13 P10: a malformed FHIR file ended the whole run (exit 2): the
/// inputs after it and every ESR input were never mapped, and stderr did
/// not say so. It is reported and the run goes on, exit 1.
#[test]
fn a_malformed_fhir_input_is_reported_and_the_others_are_mapped() {
    let good = data("fhir/patient-uk-core.json");
    let truncated = tmp("truncated.json");
    let text = std::fs::read_to_string(&good).unwrap();
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let unknown = tmp("unknown.txt");
    std::fs::write(&unknown, "neither v2 nor FHIR nor ESR\n").unwrap();
    let adt = data("hl7v2/adt_a01.hl7");
    let esr = data("esr/GO_998_GDW_GOF_20250401_00000001.DAT");
    let report = tmp("p10.ndjson");
    let files: [&Path; 5] = [&good, &truncated, &unknown, &adt, &esr];
    let out = run_map(
        &["--report"],
        &[&report, files[0], files[1], files[2], files[3], files[4]],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("truncated.json: not mapped: not FHIR JSON"),
        "{err}"
    );
    assert!(
        err.contains("unknown.txt: not mapped: not HL7 v2, FHIR or ESR"),
        "{err}"
    );
    // Everything else is mapped as without the bad inputs.
    let without = run_map(&[], &[&good, &adt, &esr]);
    assert!(without.status.success());
    assert_eq!(out.stdout, without.stdout);
    let lines = report_lines(&report);
    let rejected: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l.get("rejected").is_some())
        .collect();
    assert_eq!(rejected.len(), 2, "{lines:?}");
    assert!(
        rejected[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("truncated.json")
    );
    assert!(
        rejected[0]["rejected"]
            .as_str()
            .unwrap()
            .starts_with("not FHIR JSON")
    );
    // The good FHIR file, the v2 message and the ESR state each have theirs.
    assert_eq!(lines.len(), 5, "{lines:?}");
}

/// Probe 13 P11: a v2 message the parser rejects, or one with no MSH-9, got
/// a line on stderr only, none in the report.
#[test]
fn a_rejected_hl7_message_gets_a_report_line() {
    let file = tmp("p11.hl7");
    let ok = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|3|P|2.4\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN\r";
    std::fs::write(
        &file,
        format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|1|P|2.4\rpid|1||9434765919\r\
             MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||||P|2.4\rPID|1||9434765919^^^NHS^NH\r{ok}"
        ),
    )
    .unwrap();
    let report = tmp("p11.ndjson");
    let out = run_map(&["--report"], &[&report, &file]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines = report_lines(&report);
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (k, line) in lines.iter().take(2).enumerate() {
        assert_eq!(line["message"], k + 1);
        let why = line["rejected"].as_str().unwrap();
        assert!(!why.is_empty());
        assert!(
            err.contains(&format!("message {} rejected: {why}", k + 1)),
            "{err}"
        );
        assert!(line["offset"].as_u64().is_some());
    }
    assert!(lines[1]["rejected"].as_str().unwrap().contains("MSH-9"));
    assert_eq!(lines[2]["message"], 3);
    assert!(lines[2].get("rejected").is_none());
}

/// Probe 13 P9: the spans of a batch file's messages counted from each
/// message's start, and a report line gave no offset: they count from the
/// file's start, and each line gives the message's offset.
#[test]
fn hl7_spans_in_the_report_count_from_the_file_start() {
    let batch = data("hl7v2/batch_adt.hl7");
    let bytes = std::fs::read(&batch).unwrap();
    let report = tmp("p9.ndjson");
    let out = run_map(&["--report"], &[&report, &batch]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = report_lines(&report);
    assert_eq!(lines.len(), 2);
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (line, event) in lines.iter().zip(&events) {
        let offset = line["offset"].as_u64().unwrap() as usize;
        assert!(bytes[offset..].starts_with(b"MSH|"));
        let id = &event["patient"]["identifiers"][0];
        let nhs = id["value"]["id"]["number"].as_str().unwrap();
        let span = &id["sources"][0]["span"];
        let (start, end) = (
            span["start"].as_u64().unwrap() as usize,
            span["end"].as_u64().unwrap() as usize,
        );
        assert!(start > offset);
        assert_eq!(&bytes[start..end], nhs.as_bytes());
    }
}

/// Probe 13 P7: an ADT delete (A23) was written as upserts with exit 0.
#[test]
fn an_adt_delete_is_quarantined_not_written_as_an_update() {
    let a01 = std::fs::read_to_string(data("hl7v2/adt_a01.hl7")).unwrap();
    let file = tmp("a23.hl7");
    std::fs::write(
        &file,
        a01.replace("ADT^A01^ADT_A01", "ADT^A23^ADT_A21")
            .replace("EVN|A01|", "EVN|A23|"),
    )
    .unwrap();
    let report = tmp("a23.ndjson");
    let out = run_map(&["--to", "fhir", "--report"], &[&report, &file]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("ADT^A23 (delete a patient record)"), "{err}");
    let lines = report_lines(&report);
    let identity = lines[0]["report"]["identity"].as_array().unwrap();
    assert!(
        identity.iter().any(|d| d["reason"]
            .as_str()
            .unwrap()
            .starts_with("quarantined: ADT^A23")),
        "{identity:?}"
    );
}
