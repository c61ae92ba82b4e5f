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
use carecodec_map::esr::{EsrOptions, map_go};
use carecodec_map::fhir::worker_bundle;
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
