//! ESR → model → UK Core worker Bundle: the assignment's life (start, end,
//! active), the Practitioner's identity across full and change files, the
//! VPD scope, registration conflicts, shared Organizations and Locations,
//! and role codes. The rows are the GDW layout (the probe's reproducers of
//! 2026-12-07, `/work/probe-esr/repro`).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use carecodec_map::esr::{EsrMapping, EsrOptions, map_go, map_go_files};
use carecodec_map::fhir::{
    read_workers, worker_bundle, write_deletions_bundle, write_worker_bundle,
};
use carecodec_model::{Action, AssignmentState, Source};
use chrono::NaiveDate;
use serde_json::Value;

const PRA: &str = "PRA~7000001~20220404~47121231~90000001~Ms.~Testperson~Ada~Query~~~~F~19900101~JK000001A~1000001~20220404~~~E~~~Z Not Stated~~United Kingdom~~~~~990000000001~~~~EMP~Employee~ada@example.invalid~20220404~~20220404~N~~~~";
const ASA: &str = "ASA~7000001~7100001~20220404~47121231~20220404~E~90000001~ACTIVE_ASSIGN~Active Assignment~E~999 Monthly~Calendar Month~500001~N~~~~~Permanent~PT~Yes~30~Week~37.5~0.8~~600100~800001~3000001|Staff Nurse, Band 5|N0A|Elderly Care|~NHS|XR05|Review Body Band 5~2~20220404~~Nursing and Midwifery Registered|Staff Nurse~999 z 0100 Ward 7|Standard User||~GTA||~~~~~20250404~~Y~20240401 093000~~~N~~~";
const ETA: &str = "ETA~7000001~7300001~NHS Regs and Memships~NHS Regs and Memships~General Medical Council~ 7000002~ 01/04/2022 00:00:00~~~~~~~~~~~~~~~~~~~~~~~~~~~ General Medical Council~~~~~~~~~~~~~~~~~~~~~~20240401 093500";
const LCA: &str = "LCA~500001~999 z 0001 Example General Hospital~Example General Hospital~~1 Fictional Road~~~Exampletown~Testshire~ZZ99 9ZZ~GB~~~Y~XX9AA~~~~~~20240115 101500";
const ORA: &str = "ORA~600100~999 6 Ward 7 Elderly Care~NHS_TM~20150401~~70001~20240401~~999B171~600010~RX1~500001~20240401 000100~Ward 7 Nursing~";
const POA: &str = "POA~800001~20240401~47121231~3000001~3000001|Staff Nurse, Band 5|N0A|Elderly Care|~5.2~9901000~Nursing and Midwifery Registered~Staff Nurse~N0A~XR05~XR05|0~Not Applicable~600100~Active~SHARED~~~~~XX9~20240401 090000~Qualified Nursing";

/// A row with fields set (index → text).
fn row(template: &str, set: &[(usize, &str)]) -> String {
    let mut f: Vec<String> = template.split('~').map(str::to_owned).collect();
    for (i, v) in set {
        f[*i] = (*v).to_owned();
    }
    f.join("~")
}

/// A GO file of these rows; `vpd` is HDR-3.
fn go(name: &str, vpd: &str, rows: &[String]) -> String {
    let mut s = format!("HDR~{name}~20250301 021503~{vpd}~00000000 000000~20250301 000000~01\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.push_str(&format!("TRL~{}\n", rows.len() + 2));
    s
}

const NAME: &str = "GO_999_GDW_GOF_20250301_00000001.DAT";

fn map(rows: &[String], as_at: (i32, u32, u32)) -> EsrMapping {
    let opts = EsrOptions::new(NaiveDate::from_ymd_opt(as_at.0, as_at.1, as_at.2).unwrap());
    map_go(go(NAME, "999", rows).as_bytes(), Some(NAME), &opts)
}

fn entries<'a>(b: &'a Value, rtype: &str) -> Vec<&'a Value> {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == rtype)
        .collect()
}

fn role(out: &EsrMapping) -> Value {
    let b = worker_bundle(&out.workers[0]).unwrap();
    entries(&b, "PractitionerRole")[0]["resource"].clone()
}

#[test]
fn a_fixed_term_assignment_in_effect_is_active_with_its_end() {
    // Finding 6, repro 31: ASA 2022-04-04 → 2026-03-31, as at 2025-03-01.
    let out = map(&[PRA.into(), row(ASA, &[(4, "20260331")])], (2025, 3, 1));
    let r = role(&out);
    assert_eq!(r["active"], true);
    assert_eq!(r["period"]["start"], "2022-04-04");
    assert_eq!(r["period"]["end"], "2026-03-31");
}

#[test]
fn a_row_that_ends_because_a_later_row_follows_does_not_end_the_role() {
    // Finding 6, repro 39: the row in effect ends 2025-03-31 because the FTE
    // changes on 2025-04-01; the assignment goes on.
    let out = map(
        &[
            PRA.into(),
            row(ASA, &[(4, "20250331")]),
            row(ASA, &[(3, "20250401"), (25, "1")]),
        ],
        (2025, 3, 1),
    );
    let r = role(&out);
    assert_eq!(r["active"], true);
    assert_eq!(r["period"]["start"], "2022-04-04");
    assert!(r["period"].get("end").is_none(), "{r}");
    // A gap after the row ends the assignment at the row's end.
    let out = map(
        &[
            PRA.into(),
            row(ASA, &[(4, "20250331")]),
            row(ASA, &[(3, "20250601")]),
        ],
        (2025, 3, 1),
    );
    assert_eq!(role(&out)["period"]["end"], "2025-03-31");
}

#[test]
fn a_leap_day_row_on_its_day_is_active() {
    // Finding 6, repro 06.
    let out = map(
        &[
            PRA.into(),
            row(ASA, &[(3, "20240229"), (4, "20240229"), (5, "")]),
        ],
        (2024, 2, 29),
    );
    let r = role(&out);
    assert_eq!(r["active"], true);
    assert_eq!(r["period"]["start"], "2024-02-29");
    assert_eq!(r["period"]["end"], "2024-02-29");
}

#[test]
fn term_assign_and_status_x_are_terminated_in_any_case() {
    // Finding 7, repro 45: TERM_ASSIGN, no user status, employee status X.
    for (sys, user, flag) in [
        ("TERM_ASSIGN", "", "E"),
        ("term_assign", "", "E"),
        ("", "Terminate Assignment", "E"),
        ("ACTIVE_ASSIGN", "", "X"),
        ("ACTIVE_ASSIGN", "", "x"),
    ] {
        let out = map(
            &[PRA.into(), row(ASA, &[(8, sys), (9, user), (10, flag)])],
            (2025, 3, 1),
        );
        let a = &out.workers[0].assignments[0];
        assert_eq!(
            a.state.as_ref().map(|s| s.value),
            Some(AssignmentState::Terminated),
            "{sys} {user} {flag}"
        );
        assert_eq!(role(&out)["active"], false, "{sys} {user} {flag}");
        assert!(out.report.balanced());
    }
    // A trust's status that mentions a fixed term is no termination.
    let out = map(
        &[PRA.into(), row(ASA, &[(8, ""), (9, "Active - Fixed Term")])],
        (2025, 3, 1),
    );
    assert_eq!(role(&out)["active"], true);
    // Suspended goes on (active), and says so in the model.
    let out = map(&[PRA.into(), row(ASA, &[(8, "SUSP_ASSIGN")])], (2025, 3, 1));
    assert_eq!(
        out.workers[0].assignments[0]
            .state
            .as_ref()
            .map(|s| s.value),
        Some(AssignmentState::Suspended)
    );
    assert_eq!(role(&out)["active"], true);
}

#[test]
fn a_later_terminated_row_ends_the_assignment_the_day_before() {
    // esr.md §7: a leaver's assignment is date-tracked into a TERM_ASSIGN row.
    let rows = [
        PRA.into(),
        row(ASA, &[(4, "20250304")]),
        row(
            ASA,
            &[
                (3, "20250305"),
                (8, "TERM_ASSIGN"),
                (9, "Terminate Assignment"),
            ],
        ),
    ];
    let active_end = |r: &Value| (r["active"].clone(), r["period"]["end"].clone());
    // Before it: active, ending the day before the terminated row.
    let r = role(&map(&rows, (2025, 3, 1)));
    assert_eq!(active_end(&r), (true.into(), "2025-03-04".into()));
    // In it: terminated, the same end.
    let r = role(&map(&rows, (2025, 3, 10)));
    assert_eq!(active_end(&r), (false.into(), "2025-03-04".into()));
    assert_eq!(r["period"]["start"], "2022-04-04");
    // A change file with the terminated row alone: the day before it starts.
    let r = role(&map(&[PRA.into(), rows[2].clone()], (2025, 3, 10)));
    assert_eq!(active_end(&r), (false.into(), "2025-03-04".into()));
}

#[test]
fn the_persons_actual_termination_date_ends_every_role() {
    // Finding 7: Actual Termination Date 2025-03-04 (PRA field 17).
    let leaver = row(PRA, &[(17, "20250304")]);
    let out = map(&[leaver.clone(), ASA.into()], (2025, 3, 10));
    let r = role(&out);
    assert_eq!(r["active"], false);
    assert_eq!(r["period"]["end"], "2025-03-04");
    let a = &out.workers[0].assignments[0];
    assert!(matches!(
        &a.state.as_ref().unwrap().sources[0],
        Source::Esr { field, .. } if field == "Actual Termination Date"
    ));
    // Before the date: still active, ending then.
    let out = map(&[leaver, ASA.into()], (2025, 3, 1));
    let r = role(&out);
    assert_eq!(r["active"], true);
    assert_eq!(r["period"]["end"], "2025-03-04");
    // A termination before the assignment began is an earlier period of
    // service (a rehire): it ends nothing.
    let out = map(&[row(PRA, &[(17, "20190331")]), ASA.into()], (2025, 3, 1));
    let r = role(&out);
    assert_eq!(r["active"], true);
    assert!(r["period"].get("end").is_none(), "{r}");
    // The person's status X ends it too (PRA field 19).
    let out = map(&[row(PRA, &[(19, "X")]), ASA.into()], (2025, 3, 1));
    assert_eq!(role(&out)["active"], false);
}

#[test]
fn the_shipped_full_file_leaver_is_inactive_after_the_date() {
    // Finding 7: the corpus GOF, as at 2025-03-10.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/esr/synthetic/gdw");
    let name = "GO_999_GDW_GOF_20250301_00000101.DAT";
    let Ok(bytes) = std::fs::read(dir.join(name)) else {
        eprintln!("corpus not present: skipped");
        return;
    };
    let opts = EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 10).unwrap());
    let out = map_go(&bytes[..], Some(name), &opts);
    let leaver = out
        .workers
        .iter()
        .find(|w| w.termination_date.is_some())
        .unwrap();
    let b = worker_bundle(leaver).unwrap();
    for r in entries(&b, "PractitionerRole") {
        assert_eq!(r["resource"]["active"], false, "{r}");
        assert_eq!(r["resource"]["period"]["end"], "2025-03-04");
    }
}

#[test]
fn the_role_starts_when_the_assignment_did() {
    // Finding 8, repro 32: rows 2022-04-04 → 2025-02-28 and 2025-03-01 → open.
    let rows = [
        PRA.into(),
        row(ASA, &[(4, "20250228")]),
        row(ASA, &[(3, "20250301")]),
    ];
    let out = map(&rows, (2025, 3, 1));
    assert_eq!(role(&out)["period"]["start"], "2022-04-04");
    let a = &out.workers[0].assignments[0];
    assert!(matches!(
        &a.start.as_ref().unwrap().sources[0],
        Source::Esr { field, line: 4, .. } if field == "Earliest Assignment Start Date"
    ));
    // Without the earliest start: the first of the rows that run into it.
    let rows = [
        PRA.into(),
        row(ASA, &[(4, "20250228"), (5, "")]),
        row(ASA, &[(3, "20250301"), (5, "")]),
    ];
    let out = map(&rows, (2025, 3, 1));
    assert_eq!(role(&out)["period"]["start"], "2022-04-04");
    assert!(out.report.balanced());
}

#[test]
fn assignment_and_registration_dates_say_where_they_came_from() {
    // Finding 17.
    let out = map(
        &[PRA.into(), row(ASA, &[(4, "20260331")]), ETA.into()],
        (2025, 3, 1),
    );
    let w = &out.workers[0];
    let a = &w.assignments[0];
    for (d, field) in [
        (&a.start, "Earliest Assignment Start Date"),
        (&a.end, "Effective End Date"),
        (&w.registrations[0].from, "PEI_INFORMATION3"),
    ] {
        let d = d.as_ref().unwrap();
        assert!(
            matches!(&d.sources[0], Source::Esr { field: f, .. } if f == field),
            "{d:?}"
        );
    }
}

fn practitioner_request(out: &EsrMapping, i: usize) -> (String, String) {
    let b = worker_bundle(&out.workers[i]).unwrap();
    let p = entries(&b, "Practitioner")[0];
    (
        p["request"]["url"].as_str().unwrap().to_owned(),
        p["resource"]["id"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn the_esr_practitioner_has_one_identity_in_full_and_change_files() {
    // Findings 9 and 20: the full file has the registration, the change file
    // not; both PUT the same Practitioner, by the id in the URL.
    let full = map(&[PRA.into(), ASA.into(), ETA.into()], (2025, 3, 1));
    let change_name = "GO_999_GDW_GOC_20250302_00000002.DAT";
    let change = map_go(
        go(change_name, "999", &[row(PRA, &[(2, "20250301")])]).as_bytes(),
        Some(change_name),
        &EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 2).unwrap()),
    );
    let (url, id) = practitioner_request(&full, 0);
    assert_eq!(url, format!("Practitioner/{id}"));
    assert_eq!(practitioner_request(&change, 0), (url.clone(), id.clone()));
    let b = worker_bundle(&full.workers[0]).unwrap();
    assert_eq!(entries(&b, "Practitioner")[0]["request"]["method"], "PUT");
    // The body id is the URL's: never a conditional update on a
    // registration with another id.
    assert!(!url.contains('?'));
    // The role too: PUT on its id from the assignment.
    let r = entries(&b, "PractitionerRole")[0];
    assert_eq!(r["request"]["method"], "PUT");
    assert_eq!(
        r["request"]["url"],
        format!("PractitionerRole/{}", r["resource"]["id"].as_str().unwrap())
    );
}

#[test]
fn the_same_person_id_in_two_vpds_is_two_practitioners() {
    // Finding 13: the VPD is in every id seed.
    let a = map(&[PRA.into()], (2025, 3, 1));
    let name = "GO_998_GDW_GOF_20250301_00000001.DAT";
    let b = map_go(
        go(name, "998", &[PRA.into()]).as_bytes(),
        Some(name),
        &EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
    );
    assert_ne!(practitioner_request(&a, 0).1, practitioner_request(&b, 0).1);
}

#[test]
fn an_empty_header_vpd_takes_the_file_names_else_quarantines() {
    // Finding 13, repro 23.
    let out = map_go(
        go(NAME, "", &[PRA.into()]).as_bytes(),
        Some(NAME),
        &EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
    );
    let key = out.report.identity[0].key.as_ref().unwrap();
    assert!(matches!(key, carecodec_model::Identifier::EsrPerson { vpd, .. } if vpd == "999"));
    assert!(
        out.report
            .notes
            .iter()
            .any(|n| n.contains("file name's VPD 999"))
    );
    // No file name: no scope, quarantined, no Bundle.
    let out = map_go(
        go(NAME, "", &[PRA.into()]).as_bytes(),
        None,
        &EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
    );
    assert!(out.report.quarantined());
    assert!(out.report.identity[0].reason.contains("no VPD"));
    assert!(worker_bundle(&out.workers[0]).is_err());
}

#[test]
fn two_persons_with_one_registration_are_a_reported_conflict() {
    // Finding 9, repro 21: persons 7000001 and 7000005 both GMC 7000002.
    let rows = [
        PRA.into(),
        ETA.into(),
        row(PRA, &[(1, "7000005"), (4, "90000005")]),
        row(ETA, &[(1, "7000005"), (2, "7300005")]),
    ];
    let out = map(&rows, (2025, 3, 1));
    assert_eq!(out.workers.len(), 2);
    let reasons: Vec<&str> = out
        .report
        .identity
        .iter()
        .map(|d| d.reason.as_str())
        .collect();
    assert!(
        reasons[0].contains("conflict") && reasons[0].contains("7000005"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("conflict") && reasons[1].contains("7000001"),
        "{reasons:?}"
    );
    // Each keeps its own Practitioner.
    assert_ne!(practitioner_request(&out, 0), practitioner_request(&out, 1));
}

#[test]
fn shared_organisations_and_locations_are_written_once() {
    // Finding 15, repro 20/19: two assignments in org 600100 (ODS RX1) and
    // location 500001.
    let rows = [
        LCA.into(),
        ORA.into(),
        POA.into(),
        PRA.into(),
        ASA.into(),
        row(ASA, &[(2, "7100002"), (7, "90000001-2"), (21, "No")]),
    ];
    let out = map(&rows, (2025, 3, 1));
    assert_eq!(out.workers[0].assignments.len(), 2);
    let b = worker_bundle(&out.workers[0]).unwrap();
    let orgs = entries(&b, "Organization");
    let locs = entries(&b, "Location");
    assert_eq!((orgs.len(), locs.len()), (1, 1), "{b:#}");
    assert_eq!(orgs[0]["request"]["method"], "PUT");
    assert_eq!(
        orgs[0]["request"]["url"],
        "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|RX1"
    );
    assert_eq!(locs[0]["request"]["method"], "PUT");
    for r in entries(&b, "PractitionerRole") {
        assert_eq!(
            r["resource"]["organization"]["reference"],
            orgs[0]["fullUrl"]
        );
        assert_eq!(
            r["resource"]["location"][0]["reference"],
            locs[0]["fullUrl"]
        );
    }
}

#[test]
fn role_codes_are_text_not_labelled_codings() {
    // Findings 16 and 14: no Coding whose display is a field label; the
    // position's title is written; the occupation code is the specialty.
    let rows = [POA.into(), PRA.into(), ASA.into()];
    let out = map(&rows, (2025, 3, 1));
    let r = role(&out);
    let text = r.to_string();
    for label in ["job role", "staff group", "occupation code"] {
        assert!(!text.contains(label), "{text}");
    }
    let codes: Vec<&str> = r["code"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "Staff Nurse",
            "Nursing and Midwifery Registered",
            "Staff Nurse, Band 5"
        ]
    );
    assert_eq!(r["specialty"][0]["text"], "N0A");
    assert!(r["code"][0].get("coding").is_none());
}

#[test]
fn esr_deletes_are_delete_entries_on_the_urls_the_full_file_put() {
    // The full file's worker Bundle, as a run would have sent it.
    let full = go(NAME, "999", &[PRA.into(), ASA.into()]);
    let change_name = "GO_999_GDW_GOC_20250302_00000002.DAT";
    let change = go(
        change_name,
        "999",
        &["ASD~7100001".into(), "PRD~7000001".into()],
    );
    let opts = EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 2).unwrap());
    let sent = map_go(full.as_bytes(), Some(NAME), &opts);
    let mut written = Vec::new();
    write_worker_bundle(&sent.workers[0], &mut written).unwrap();
    let sent: Value = serde_json::from_slice(&written).unwrap();
    let put = |rtype: &str| {
        let e = entries(&sent, rtype)[0];
        assert_eq!(e["request"]["method"], "PUT");
        e["request"]["url"].as_str().unwrap().to_owned()
    };
    // The full file and the change file applied as one state.
    let out = map_go_files(
        [
            (Some(NAME), full.as_bytes()),
            (Some(change_name), change.as_bytes()),
        ],
        &opts,
    );
    assert_eq!(out.failure(), None);
    assert!(out.workers.is_empty());
    let mut written = Vec::new();
    write_deletions_bundle(&out.deleted, &mut written).unwrap();
    let text = String::from_utf8(written).unwrap();
    let bundle: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "transaction");
    let requests: Vec<(&str, &str)> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            // A request and nothing else.
            assert_eq!(e.as_object().unwrap().len(), 1, "{e}");
            (
                e["request"]["method"].as_str().unwrap(),
                e["request"]["url"].as_str().unwrap(),
            )
        })
        .collect();
    let (role, practitioner) = (put("PractitionerRole"), put("Practitioner"));
    assert_eq!(
        requests,
        [("DELETE", role.as_str()), ("DELETE", practitioner.as_str())]
    );
    // Strict R4, and UK Core valid (no resource to profile).
    assert_eq!(common::uk_core_errors(&bundle), Ok(Vec::new()));
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text).unwrap();
    // Read as workers: nothing to map, each DELETE reported as dropped.
    let (workers, report) = read_workers(&bundle);
    assert!(workers.is_empty());
    assert!(report.balanced());
    assert_eq!(report.invalid.len(), 2, "{:?}", report.invalid);
    assert!(report.invalid.iter().all(|i| i.action == Action::Dropped
        && i.raw.starts_with("DELETE ")
        && i.reason.contains("DELETE")));
    // No deletion: a Bundle with no entry (R4 JSON has no empty arrays).
    let mut empty = Vec::new();
    write_deletions_bundle(&[], &mut empty).unwrap();
    assert_eq!(empty, br#"{"resourceType":"Bundle","type":"transaction"}"#);
}

#[test]
fn a_deletion_with_no_vpd_is_quarantined() {
    // No VPD in the header, the options or the file name: nothing keys the
    // person's id, and nothing is written.
    let out = map_go(
        go("-", "", &["PRD~7000001".into()]).as_bytes(),
        None,
        &EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
    );
    assert_eq!(out.deleted.len(), 1);
    let mut written = Vec::new();
    assert!(write_deletions_bundle(&out.deleted, &mut written).is_err());
    assert!(written.is_empty());
}

/// The `invalid` entries of `out` at `field`.
fn invalid_at<'a>(out: &'a EsrMapping, field: &str) -> Vec<&'a carecodec_model::Invalid> {
    out.report
        .invalid
        .iter()
        .filter(|i| matches!(&i.source, Source::Esr { field: f, .. } if f == field))
        .collect()
}

#[test]
fn reader_warnings_on_accepted_rows_reach_the_report() {
    // Probe 13 P8: an e-mail with no `@` and FTE 1.8 are warnings of the
    // reader on rows it accepts; the report listed neither and the e-mail
    // was written as a FHIR e-mail.
    let pra = row(PRA, &[(35, "ada.testperson.example.invalid")]);
    let asa = row(ASA, &[(25, "1.8")]);
    let out = map(
        &[pra, asa, ETA.into(), LCA.into(), ORA.into(), POA.into()],
        (2025, 3, 1),
    );
    assert!(out.report.balanced());
    // The e-mail: invalid, dropped, and in no telecom (nor the Bundle).
    let email = invalid_at(&out, "Office E-mail Address");
    assert_eq!(email.len(), 1, "{:?}", out.report.invalid);
    assert_eq!(email[0].raw, "ada.testperson.example.invalid");
    assert_eq!(email[0].action, Action::Dropped);
    assert!(out.workers[0].telecom.is_empty());
    let bundle = worker_bundle(&out.workers[0]).unwrap().to_string();
    assert!(!bundle.contains("ada.testperson"), "{bundle}");
    // FTE above 1: kept as sent, and said so.
    let fte = invalid_at(&out, "FTE");
    assert_eq!(fte.len(), 1, "{:?}", out.report.invalid);
    assert_eq!(
        (fte[0].raw.as_str(), fte[0].action),
        ("1.8", Action::KeptAsText)
    );
    assert!(fte[0].reason.contains("FTE above 1"), "{}", fte[0].reason);
    assert_eq!(
        out.workers[0].assignments[0]
            .fte
            .as_ref()
            .map(|f| f.value.as_str()),
        Some("1.8")
    );
    // The NI number the mapper checks itself is listed once.
    let pra = row(PRA, &[(14, "XX123")]);
    let out = map(&[pra, ASA.into()], (2025, 3, 1));
    let ni = invalid_at(&out, "National Insurance Number");
    assert_eq!(ni.len(), 1, "{:?}", out.report.invalid);
    assert_eq!(ni[0].action, Action::NotUsedForMatching);
}

#[test]
fn a_warning_on_a_value_not_in_the_output_says_so() {
    // A warned value in a row set aside (not in effect): dropped, not "kept".
    let old = row(
        PRA,
        &[(2, "20200101"), (3, "20220403"), (35, "no-at-sign.example")],
    );
    let out = map(&[PRA.into(), old, ASA.into()], (2025, 3, 1));
    let email = invalid_at(&out, "Office E-mail Address");
    assert_eq!(email.len(), 1, "{:?}", out.report.invalid);
    assert_eq!(email[0].raw, "no-at-sign.example");
    assert_eq!(email[0].action, Action::Dropped);
    assert!(email[0].reason.contains("set aside"), "{}", email[0].reason);
    // The worker keeps the valid address of the row in effect.
    assert_eq!(out.workers[0].telecom[0].value.value, "ada@example.invalid");
}

#[test]
fn a_row_sent_again_changed_is_not_called_unchanged() {
    // Probe 13 P12: the change file's row of the same id and start adds a
    // termination date; the note said "the same row, sent again".
    let change_name = "GO_999_GDW_GOC_20250302_00000002.DAT";
    let full = go(NAME, "999", &[PRA.into(), ASA.into()]);
    let changed = row(PRA, &[(17, "20250304")]);
    let change = go(change_name, "999", std::slice::from_ref(&changed))
        .replace("20250301 021503", "20250302 021503");
    let opts = EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 2).unwrap());
    let out = map_go_files(
        [
            (Some(NAME), full.as_bytes()),
            (Some(change_name), change.as_bytes()),
        ],
        &opts,
    );
    assert_eq!(out.failure(), None);
    let note = out
        .report
        .notes
        .iter()
        .find(|n| n.contains("superseded by"))
        .unwrap();
    assert!(!note.contains("sent again unchanged"), "{note}");
    assert!(note.contains("changed: Actual Termination Date"), "{note}");
    // Sent again as it was: unchanged.
    let same = go(change_name, "999", &[PRA.into()]).replace("20250301 021503", "20250302 021503");
    let out = map_go_files(
        [
            (Some(NAME), full.as_bytes()),
            (Some(change_name), same.as_bytes()),
        ],
        &opts,
    );
    assert!(
        out.report
            .notes
            .iter()
            .any(|n| n.contains("(the same row, sent again unchanged)")),
        "{:?}",
        out.report.notes
    );
}
