//! ESR → model → UK Core over every Generic Outbound file of the shared ESR
//! corpus (`../shared/corpora/esr`: the esr_api fixtures and the synthetic
//! GDW, EXP and invalid files; skipped, with a message, when absent).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::HashMap;
use std::path::Path;

use carecodec_esr::reader::{GoOptions, GoReader};
use carecodec_map::esr::{EsrOptions, FileUse, map_go, map_go_files};
use carecodec_map::fhir::worker_bundle;
use carecodec_model::AssignmentState;
use chrono::NaiveDate;
use serde_json::Value;

/// Each named field of each record, by line, as the reader gives it (read
/// independently of the mapper): `(line, field name)` → decoded text.
fn fields_by_line(bytes: &[u8], name: &str) -> HashMap<(u64, String), String> {
    let mut out = HashMap::new();
    let mut reader = GoReader::new(bytes, Some(name), GoOptions::default());
    while let Some(e) = reader.next_record() {
        let Some(typed) = e.typed_fields() else {
            if let Some(t) = e.text(0) {
                out.entry((e.line, "Record Type".to_owned()))
                    .or_insert_with(|| t.into_owned());
            }
            continue;
        };
        for (i, (field, _)) in typed.enumerate() {
            let text = e.text(i).map(|t| t.into_owned()).unwrap_or_default();
            out.entry((e.line, field.to_owned())).or_insert(text);
        }
    }
    out
}

/// Checks every ESR source in `v` names this file and a field the record on
/// its line has, with a value; returns how many it checked.
fn check_sources(
    name: &str,
    fields: &HashMap<(u64, String), String>,
    v: &Value,
    what: &str,
) -> usize {
    let mut n = 0;
    match v {
        Value::Object(o) => {
            if let (Some(_), Some(srcs)) = (o.get("value"), o.get("sources")) {
                assert!(
                    !srcs.as_array().unwrap().is_empty(),
                    "{name}: a value without a source in {what}: {o:?}"
                );
            }
            if o.get("format").and_then(Value::as_str) == Some("esr") {
                assert_eq!(o["file"], name, "{name}: source file");
                let line = o["line"].as_u64().unwrap();
                let field = o["field"].as_str().unwrap();
                if field != "field" {
                    let text = fields.get(&(line, field.to_owned())).unwrap_or_else(|| {
                        panic!("{name}: {what}: no field {field:?} on line {line}")
                    });
                    assert!(
                        !text.trim().is_empty(),
                        "{name}: {what}: {field:?} on line {line} is empty"
                    );
                }
                n += 1;
            }
            for x in o.values() {
                n += check_sources(name, fields, x, what);
            }
        }
        Value::Array(a) => {
            for x in a {
                n += check_sources(name, fields, x, what);
            }
        }
        _ => {}
    }
    n
}

/// Every GO file of the corpus, mapped as at its own date and as at
/// 2025-04-01: no panic; the accounting balances; every value has a source
/// naming the file, a line and a non-empty field the record on that line
/// has; every unmapped field's text is that field's text; every worker's
/// Bundle has no UK Core error.
#[test]
fn every_esr_corpus_go_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/esr");
    if !root.is_dir() {
        println!("skipped: ../shared/corpora not found ({})", root.display());
        return;
    }
    let (mut files, mut workers, mut sources, mut unmapped) = (0, 0, 0, 0);
    let later = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
    for path in common::files_under(&root) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".DAT") {
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&path).unwrap();
        let fields = fields_by_line(&bytes, &name);
        // The esr_api fixtures have no header and no GO file name, so no VPD:
        // their workers are quarantined (an ESR id is never keyed without its
        // scope). Mapped a third time with a caller's VPD, they get Bundles.
        let mut with_vpd = EsrOptions::new(later);
        with_vpd.vpd = Some("000".into());
        for opts in [
            EsrOptions::at_extract_date(),
            EsrOptions::new(later),
            with_vpd,
        ] {
            let out = map_go(&bytes[..], Some(&name), &opts);
            let r = &out.report;
            assert!(
                r.balanced(),
                "{name}: mapped {} + unmapped {} != {}",
                r.mapped,
                r.unmapped.len(),
                r.source_leaves
            );
            for u in &r.unmapped {
                if let carecodec_model::Source::Esr { line, field, .. } = &u.source {
                    if field != "field" {
                        assert_eq!(
                            fields.get(&(*line, field.to_string())),
                            Some(&u.raw),
                            "{name}: unmapped {field:?} on line {line}"
                        );
                    }
                }
            }
            unmapped += r.unmapped.len();
            for (w, decision) in out.workers.iter().zip(&r.identity) {
                let v = serde_json::to_value(w).unwrap();
                sources += check_sources(&name, &fields, &v, "worker");
                if decision.quarantined() {
                    assert!(decision.reason.contains("no VPD"), "{name}: {decision:?}");
                    assert!(opts.vpd.is_none() && !name.starts_with("GO_"), "{name}");
                    assert!(worker_bundle(w).is_err(), "{name}");
                    continue;
                }
                let bundle =
                    worker_bundle(w).unwrap_or_else(|e| panic!("{name}: no worker Bundle: {e}"));
                match common::uk_core_errors(&bundle) {
                    Ok(errors) => assert!(errors.is_empty(), "{name}: {errors:#?}"),
                    Err(e) => panic!("{name}: {e}"),
                }
            }
            let v = serde_json::to_value(r).unwrap();
            sources += check_sources(&name, &fields, &v, "report");
            workers += out.workers.len();
        }
    }
    println!(
        "ESR corpora: {files} GO files, each mapped three times: {workers} workers, {sources} ESR \
         sources checked, {unmapped} unmapped fields checked against the file"
    );
    assert!(files >= 60, "{files} files");
    assert!(workers > 0);
}

/// The synthetic GDW pair (a full file and the change file after it),
/// applied as one state: each worker's values are those after the change.
#[test]
fn synthetic_gdw_full_then_change_file() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/esr/synthetic/gdw");
    let full = "GO_999_GDW_GOF_20250301_00000101.DAT";
    let change = "GO_999_GDW_GOC_20250302_00000102.DAT";
    let (Ok(f), Ok(c)) = (
        std::fs::read(dir.join(full)),
        std::fs::read(dir.join(change)),
    ) else {
        println!(
            "skipped: the synthetic GDW pair is not in {}",
            dir.display()
        );
        return;
    };
    let out = map_go_files(
        [(Some(change), &c[..]), (Some(full), &f[..])],
        &EsrOptions::at_extract_date(),
    );
    let r = &out.report;
    assert!(
        r.balanced(),
        "mapped {} + unmapped {} != {}",
        r.mapped,
        r.unmapped.len(),
        r.source_leaves
    );
    assert_eq!(out.failure(), None);
    assert_eq!(
        out.files
            .iter()
            .map(|f| (f.name.as_str(), f.applied))
            .collect::<Vec<_>>(),
        [(full, FileUse::Base), (change, FileUse::Changes)]
    );
    // As at the change file's date (HDR-2).
    assert_eq!(out.as_at, NaiveDate::from_ymd_opt(2025, 3, 2));
    let worker = |o: &carecodec_map::esr::EsrMapping, id: &str| {
        o.workers
            .iter()
            .find(|w| {
                w.identifiers
                    .iter()
                    .any(|i| i.value.kind() == "esr-person" && i.value.value() == id)
            })
            .cloned()
    };
    let ada = worker(&out, "7000001").unwrap();
    // The change file's new row (from 1 March 2025) with the new e-mail,
    // from the change file's line 2.
    assert_eq!(ada.telecom.len(), 1);
    assert_eq!(ada.telecom[0].value.value, "ada.oexample@example.invalid");
    assert_eq!(
        ada.telecom[0].sources[0].to_string(),
        format!("ESR {change}:2 Office E-mail Address")
    );
    // The split: the full file's open row re-sent end-dated (replaced), its
    // fields unmapped with a note.
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with(&format!("{full}:14 PRA: superseded by {change}:3")))
    );
    assert!(
        r.unmapped
            .iter()
            .any(|u| u.raw == "ada.testperson@example.invalid"
                && u.source.to_string() == format!("ESR {full}:14 Office E-mail Address"))
    );
    // The full file's rows the change file does not repeat: the primary
    // assignment (its organisation and location) and the NMC registration.
    let numbers: Vec<&str> = ada
        .assignments
        .iter()
        .filter_map(|a| a.number.as_ref())
        .map(|n| n.value.value())
        .collect();
    assert_eq!(numbers, ["90000001"]);
    assert!(ada.assignments[0].organisation.is_some() && ada.assignments[0].location.is_some());
    assert_eq!(ada.registrations.len(), 1);
    assert_eq!(ada.registrations[0].identifier.value.value(), "99X0001A");
    assert!(
        ada.registrations[0].identifier.sources[0]
            .to_string()
            .contains(full)
    );
    // ASD~7100002: the bank assignment (90000001-2) is gone.
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with(&format!("{full}:16 ASA: deleted by {change}:4")))
    );
    assert!(!numbers.contains(&"90000001-2"));
    // PRD~7000099: no such worker, and the delete is noted.
    assert!(worker(&out, "7000099").is_none());
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with(&format!("{change}:8 PRD: Person ID 7000099 deleted")))
    );
    // The TERM_ASSIGN row from 5 March 2025: the assignment ends on 4 March,
    // and is terminated as at 5 March.
    let bart = worker(&out, "7000002").unwrap();
    let a = &bart.assignments[0];
    assert_eq!(
        a.end.as_ref().map(|d| d.value),
        NaiveDate::from_ymd_opt(2025, 3, 4)
    );
    let later = map_go_files(
        [(Some(full), &f[..]), (Some(change), &c[..])],
        &EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 5).unwrap()),
    );
    assert!(later.report.balanced());
    let a = &worker(&later, "7000002").unwrap().assignments[0];
    assert_eq!(
        a.state.as_ref().map(|s| s.value),
        Some(AssignmentState::Terminated)
    );
    assert_eq!(
        a.status.as_ref().map(|s| s.value.as_str()),
        Some("Terminate Assignment")
    );
    assert!(
        a.status.as_ref().unwrap().sources[0]
            .to_string()
            .contains(change)
    );
    // Every worker still makes a UK Core Bundle.
    for w in &out.workers {
        worker_bundle(w).unwrap();
    }
    // Each value's source names its own file, and a field with a value on
    // that file's line; each unmapped field's text is that field's text.
    let by_file: HashMap<&str, HashMap<(u64, String), String>> = [
        (full, fields_by_line(&f, full)),
        (change, fields_by_line(&c, change)),
    ]
    .into_iter()
    .collect();
    let mut seen = HashMap::new();
    for w in &out.workers {
        esr_sources(
            &serde_json::to_value(w).unwrap(),
            &mut |file, line, field| {
                let text = by_file[file].get(&(line, field.to_owned()));
                assert!(
                    text.is_some_and(|t| !t.trim().is_empty()),
                    "{file}:{line} {field}"
                );
                *seen.entry(file.to_owned()).or_insert(0) += 1;
            },
        );
    }
    assert!(seen[full] > 0 && seen[change] > 0, "{seen:?}");
    for u in &r.unmapped {
        if let carecodec_model::Source::Esr { file, line, field } = &u.source {
            if field != "field" {
                assert_eq!(
                    by_file[&**file].get(&(*line, field.to_string())),
                    Some(&u.raw)
                );
            }
        }
    }
}

/// Calls `f` with (file, line, field) of every ESR source in `v`.
fn esr_sources(v: &Value, f: &mut impl FnMut(&str, u64, &str)) {
    match v {
        Value::Object(o) => {
            if o.get("format").and_then(Value::as_str) == Some("esr") {
                f(
                    o["file"].as_str().unwrap(),
                    o["line"].as_u64().unwrap(),
                    o["field"].as_str().unwrap(),
                );
            }
            o.values().for_each(|x| esr_sources(x, f));
        }
        Value::Array(a) => a.iter().for_each(|x| esr_sources(x, f)),
        _ => {}
    }
}
