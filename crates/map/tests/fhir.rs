//! HL7 v2 → model → UK Core Bundle → model on every bundled sample and, when
//! present, the NHS ITK ADT corpus: each Bundle reads strictly as R4, every
//! reference resolves inside it, and it reads back balanced with the same
//! patient key; the same for the message Bundle with its MessageHeader.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};

use carecodec_hl7v2::Message;
use carecodec_hl7v2::batch::BatchReader;
use carecodec_map::fhir::{
    BundleType, JsonDocument, event_bundle, event_bundle_with, read_bundle, write_event_bundle,
};
use carecodec_map::v2::{V2Options, identity, map_message, map_patient_groups};

fn check(name: &str, bytes: &[u8]) -> usize {
    let mut n = 0;
    let mut reader = BatchReader::new(bytes);
    while let Some(entry) = reader.next_message() {
        let msg: Message<'_> = entry.result.unwrap();
        let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
        assert!(report.balanced(), "{name}");
        let Ok(bundle) = event_bundle(&event) else {
            assert!(
                report.quarantined(),
                "{name}: no Bundle but not quarantined"
            );
            continue;
        };
        // The fast path (compact JSON straight from the tree) writes the same
        // Bundle; it is the text checked as strict R4 here.
        let mut written = Vec::new();
        write_event_bundle(&event, BundleType::Transaction, &mut written).unwrap();
        let text = String::from_utf8(written).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            bundle,
            "{name}: written JSON differs from the Value"
        );
        if let Err(e) = carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text) {
            panic!("{name}: Bundle is not valid R4: {e}");
        }
        assert!(!text.contains("example.com"), "{name}: placeholder system");
        let urls: Vec<&str> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["fullUrl"].as_str().unwrap())
            .collect();
        for r in text.split("\"reference\":\"").skip(1) {
            let target = r.split('"').next().unwrap();
            assert!(
                urls.contains(&target),
                "{name}: dangling reference {target}"
            );
        }
        let (back, back_report) = read_bundle(&bundle);
        assert!(back_report.balanced(), "{name}");
        // Everything carecodec writes, it reads.
        assert!(
            back_report.unmapped.is_empty(),
            "{name}: {:?}",
            back_report.unmapped
        );
        let key = |e: &carecodec_model::Event| {
            e.patient
                .as_ref()
                .and_then(|p| identity(&p.identifiers).key)
        };
        assert_eq!(key(&event), key(&back), "{name}: patient key changed");
        uk_core_valid(name, &bundle);
        check_message_bundle(name, &event);
        n += 1;
    }
    n
}

/// Strict R4, then the UK Core profile checks on every entry: no errors.
fn uk_core_valid(name: &str, bundle: &serde_json::Value) {
    match common::uk_core_errors(bundle) {
        Ok(errors) => assert!(errors.is_empty(), "{name}: {errors:#?}"),
        Err(e) => panic!("{name}: {e}"),
    }
}

/// The same event as a message Bundle: MessageHeader first with the MSH
/// routing, no requests, valid, and read back to the same routing.
fn check_message_bundle(name: &str, event: &carecodec_model::Event) {
    let bundle = event_bundle_with(event, BundleType::Message).unwrap();
    assert_eq!(bundle["type"], "message", "{name}");
    uk_core_valid(name, &bundle);
    let entries = bundle["entry"].as_array().unwrap();
    let header = &entries[0]["resource"];
    assert_eq!(header["resourceType"], "MessageHeader", "{name}");
    assert!(
        header["source"].get("endpoint").is_some() || header["source"].get("_endpoint").is_some(),
        "{name}: MessageHeader.source.endpoint is required"
    );
    assert!(entries.iter().all(|e| e.get("request").is_none()), "{name}");
    let urls: Vec<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    for f in header["focus"].as_array().into_iter().flatten() {
        assert!(
            urls.contains(&f["reference"].as_str().unwrap()),
            "{name}: focus"
        );
    }
    // A patient group's Bundle is identified by MSH-10 and its number, which
    // is what reads back as the message id (nothing in FHIR says the rest).
    let identifier = match event.group {
        Some(k) => event.message_id.as_ref().map(|id| format!("{id}/{k}")),
        None => event.message_id.clone(),
    };
    if let Some(id) = &identifier {
        assert_eq!(bundle["identifier"]["value"], id.as_str(), "{name}");
    }
    let (back, report) = read_bundle(&bundle);
    assert!(report.balanced(), "{name}");
    assert_eq!(back.message_id, identifier, "{name}");
    assert_eq!(back.message_type, event.message_type, "{name}");
    assert_eq!(back.kind, event.kind, "{name}");
    let value = |s: &Option<carecodec_model::Sourced<String>>| s.as_ref().map(|s| s.value.clone());
    assert_eq!(value(&back.sender), value(&event.sender), "{name}: sender");
    assert_eq!(
        value(&back.destination_facility),
        value(&event.destination_facility),
        "{name}: receiving facility"
    );
    // Application names always come back; the universal id when FHIR has a
    // slot for it (an ISO OID or a URI as the endpoint).
    for (a, b) in [
        (&event.source_application, &back.source_application),
        (
            &event.destination_application,
            &back.destination_application,
        ),
    ] {
        let a = a.as_ref().map(|a| &a.value);
        let b = b.as_ref().map(|b| &b.value);
        assert_eq!(
            a.and_then(|a| a.name.clone()),
            b.and_then(|b| b.name.clone()),
            "{name}"
        );
        assert_eq!(
            a.and_then(|a| a.endpoint()),
            b.and_then(|b| b.endpoint()),
            "{name}"
        );
    }
}

#[test]
fn bundled_samples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/hl7v2");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        n += check(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
    assert!(n >= 6, "{n}");
}

#[test]
fn nhs_itk_adt_corpus() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/hl7v2/nhs-itk-adt");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found ({})", dir.display());
        return;
    }
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        n += check(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
    assert_eq!(n, 8);
}

#[test]
fn fhir_converter_adt_oru_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/mapping/fhir-converter/messages");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found ({})", dir.display());
        return;
    }
    let (mut files, mut bundles) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("ADT") || name.starts_with("ORU")) {
            continue;
        }
        files += 1;
        bundles += check(&name, &std::fs::read(&path).unwrap());
    }
    println!("FHIR-Converter ADT/ORU: {files} files, {bundles} Bundles (the rest quarantined)");
    assert!(
        files > 50 && bundles + 5 >= files,
        "{files} files, {bundles} Bundles"
    );
}

#[test]
fn birth_time_contact_period_relationship_interpretation_range() {
    let bytes = b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500+0000||ORU^R01|9|P|2.8\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||198808181126+0215|M\r\
NK1|1|SMITH^JANE|SPO^Spouse||||O|20210818|20211218||||||F\r\
OBR|1|P1|F1|1234^FBC^LN|||20240312080000\r\
OBX|1|SN|2^B^LN||^10^-^20|mmol/L^^UCUM||H|||F\r";
    let msg = Message::parse(bytes).unwrap();
    let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    let b = event_bundle(&event).unwrap();
    let text = b.to_string();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text).unwrap();
    let p = &b["entry"][0]["resource"];
    assert_eq!(p["birthDate"], "1988-08-18");
    assert_eq!(
        p["_birthDate"]["extension"][0]["url"],
        "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
    );
    assert_eq!(
        p["_birthDate"]["extension"][0]["valueDateTime"],
        "1988-08-18T11:26:00+02:15"
    );
    let c = &p["contact"][0];
    assert_eq!(c["relationship"][0]["coding"][0]["code"], "SPS");
    assert_eq!(
        c["relationship"][0]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
    );
    assert_eq!(c["relationship"][1]["coding"][0]["code"], "O");
    assert_eq!(c["period"]["start"], "2021-08-18");
    assert_eq!(c["gender"], "female");
    let obs = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Observation")
        .unwrap();
    assert_eq!(obs["resource"]["valueRange"]["high"]["value"], 20);
    assert_eq!(
        obs["resource"]["interpretation"][0]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    );
    // And back: the time of birth, the contact's period and sex.
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    let bp = back.patient.unwrap();
    assert_eq!(
        bp.birth_time.unwrap().value.at,
        event
            .patient
            .as_ref()
            .unwrap()
            .birth_time
            .as_ref()
            .unwrap()
            .value
            .at
    );
    assert_eq!(
        bp.contacts[0].from.as_ref().unwrap().value.to_string(),
        "2021-08-18"
    );
    assert_eq!(
        bp.contacts[0].gender.as_ref().unwrap().value,
        carecodec_model::Gender::Female
    );
}

#[test]
fn marital_status_alias_and_participant_display() {
    let bundle = |pid16: &str| {
        let text = format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M|JONES^JACK^^^^^A|||||||{pid16}\r\
PV1|1|I|W1||||C1234567^JONES^ANN^^^^^^GMC^L\r"
        );
        let (event, report) = mapped(&text);
        // PID-9's type A (alias / assigned) has no target in the IG's
        // NameType map: reported, not written as `anonymous` (until
        // 2026-12-07).
        let a: Vec<_> = report
            .unmapped
            .iter()
            .filter(|u| u.source.to_string().contains("PID[1]-9[1].7"))
            .collect();
        assert_eq!(a.len(), 1, "{:?}", report.unmapped);
        assert_eq!(a[0].raw, "A");
        let b = event_bundle(&event).unwrap();
        carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&b.to_string()).unwrap();
        b
    };
    let b = bundle("M");
    let p = &b["entry"][0]["resource"];
    assert_eq!(p["maritalStatus"]["coding"][0]["code"], "M");
    assert_eq!(
        p["maritalStatus"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
    );
    // PID-9 alias as a further name, without a `use`.
    assert_eq!(p["name"][1]["family"], "JONES");
    assert!(p["name"][1].get("use").is_none(), "{}", p["name"][1]);
    // An NHS Data Dictionary code that table 0002 reads otherwise.
    let b = bundle("P");
    assert_eq!(
        b["entry"][0]["resource"]["maritalStatus"]["coding"][0]["system"],
        "https://fhir.hl7.org.uk/CodeSystem/UKCore-PersonMaritalStatusEngland"
    );
    let enc = &b["entry"][1]["resource"];
    assert_eq!(
        enc["participant"][0]["type"][0]["coding"][0]["display"],
        "attender"
    );
    // XCN.10 name type.
    assert_eq!(b["entry"][2]["resource"]["name"][0]["use"], "official");
    // And back.
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    assert_eq!(
        back.patient.unwrap().marital_status.unwrap().value.code,
        "P"
    );
}

#[test]
fn validity_periods_and_rank() {
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A28|1|P|2.8\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN^^^^^L^^^20200101&20231231||19700214|M|||1 HIGH ST^^LEEDS^^LS1 1AA^GBR^H^^^^^^20240101^20240630||01132 123456^PRN^PH^^^^^^^^^^20230101^20250101^^^^2\r",
    )
    .unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    let b = event_bundle(&event).unwrap();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&b.to_string()).unwrap();
    let p = &b["entry"][0]["resource"];
    // XPN.10 validity range, XAD.13/14, XTN.13/14 and XTN.18.
    assert_eq!(p["name"][0]["period"]["start"], "2020-01-01");
    assert_eq!(p["name"][0]["period"]["end"], "2023-12-31");
    assert_eq!(p["address"][0]["period"]["start"], "2024-01-01");
    assert_eq!(p["address"][0]["period"]["end"], "2024-06-30");
    assert_eq!(p["telecom"][0]["period"]["end"], "2025-01-01");
    assert_eq!(p["telecom"][0]["rank"], 2);
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    let bp = back.patient.unwrap();
    assert_eq!(bp.telecom[0].value.rank, Some(2));
    assert_eq!(
        bp.addresses[0]
            .value
            .period
            .unwrap()
            .end
            .unwrap()
            .at
            .date_naive()
            .to_string(),
        "2024-06-30"
    );
}

#[test]
fn language_multiple_birth_not_deceased() {
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A28|1|P|2.8\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M|||||||ara^^HL70296^eng^English-us^HL70296^^^Arabic first|||||||||Y|2|||||N\r",
    )
    .unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    let b = event_bundle(&event).unwrap();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&b.to_string()).unwrap();
    let p = &b["entry"][0]["resource"];
    let lang = &p["communication"][0]["language"];
    assert_eq!(lang["coding"][0]["code"], "ar");
    assert_eq!(lang["coding"][0]["display"], "Arabic");
    assert_eq!(lang["coding"][1]["code"], "en");
    assert_eq!(lang["coding"][0]["system"], "urn:ietf:bcp:47");
    assert_eq!(lang["text"], "Arabic first");
    assert_eq!(p["communication"][0]["preferred"], true);
    assert_eq!(p["multipleBirthInteger"], 2);
    assert_eq!(p["deceasedBoolean"], false);
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    let bp = back.patient.unwrap();
    assert_eq!(
        bp.multiple_birth.unwrap().value,
        carecodec_model::MultipleBirth::Order(2)
    );
    assert_eq!(bp.deceased.unwrap().value, carecodec_model::Deceased::No);
    assert_eq!(bp.language.unwrap().value.codes[0].code, "ar");
}

#[test]
fn death_and_multiple_birth_indicators_other_than_y_and_n_are_reported() {
    // 8 of the 2026-12-07 ORU probe: PID-30 / PID-24 other than exactly Y
    // or N were consumed and dropped, and a contradicting or overridden
    // indicator vanished, with nothing reported.
    use carecodec_model::{Action, Deceased, MultipleBirth};
    let map = |fields: &[(usize, &str)]| {
        let text = pid_with(fields);
        let (event, report) = mapped(&text);
        assert_eq!(check("yes-no", text.as_bytes()), 1);
        let p = event.patient.unwrap();
        let invalid: Vec<_> = report
            .invalid
            .into_iter()
            .map(|i| (path_of(&i.source), i.raw, i.action))
            .collect();
        (
            p.deceased.map(|d| d.value),
            p.multiple_birth.map(|m| m.value),
            invalid,
        )
    };
    let at = |f: &str, raw: &str, action| (format!("PID[1]-{f}"), raw.to_owned(), action);
    // Lower case (HL7 table 0136 has Y and N only): read, and reported.
    let (d, _, bad) = map(&[(30, "y")]);
    assert_eq!(d, Some(Deceased::Yes));
    assert_eq!(bad, [at("30", "y", Action::Interpreted)]);
    let (_, m, bad) = map(&[(24, "n")]);
    assert_eq!(m, Some(MultipleBirth::No));
    assert_eq!(bad, [at("24", "n", Action::Interpreted)]);
    // Not a table 0136 code: reported and dropped.
    let (d, m, bad) = map(&[(24, "X"), (30, "X")]);
    assert_eq!((d, m), (None, None));
    assert_eq!(
        bad,
        [
            at("30", "X", Action::Dropped),
            at("24", "X", Action::Dropped)
        ]
    );
    // A date of death with N: the date is kept, the contradiction reported.
    let (d, _, bad) = map(&[(29, "20240301"), (30, "N")]);
    assert!(matches!(d, Some(Deceased::At(_))));
    assert_eq!(bad, [at("30", "N", Action::Dropped)]);
    // … with Y: nothing to report.
    let (d, _, bad) = map(&[(29, "20240301"), (30, "Y")]);
    assert!(matches!(d, Some(Deceased::At(_))));
    assert!(bad.is_empty(), "{bad:?}");
    // PID-24 Y with a PID-25 that is no birth order: the indicator is kept.
    let (_, m, bad) = map(&[(24, "Y"), (25, "abc")]);
    assert_eq!(m, Some(MultipleBirth::Yes));
    assert_eq!(bad, [at("25", "abc", Action::Dropped)]);
    // PID-24 N with a birth order: the order is kept, N reported.
    let (_, m, bad) = map(&[(24, "N"), (25, "2")]);
    assert_eq!(m, Some(MultipleBirth::Order(2)));
    assert_eq!(bad, [at("24", "N", Action::Dropped)]);
}

#[test]
fn name_types_without_an_ig_target_are_reported_not_guessed() {
    // 10 of the 2026-12-07 ORU probe: XPN.7 codes outside carecodec's list
    // were consumed and dropped unreported; and C (adopted name) was written
    // `old`, so a consumer took another name for the current one (A was
    // `anonymous`, B `maiden`). The IG's NameType map gives none of them a
    // target: no `use`, and the code reported unmapped.
    let text = pid_with(&[(
        5,
        "BLOGGS^JANE^^^^^C~SMITH^JANE^^^^^B~JJ^^^^^^A~DOE^J^^^^^U~SMITH^JANE^^^^^P\
~SMITH^JANE^^^^^L~SMITH^J^^^^^D~JONES^JANE^^^^^M~JJ^^^^^^MSK~OLD^J^^^^^BAD~T^J^^^^^TEMP",
    )]);
    let (event, report) = mapped(&text);
    let uses: Vec<_> = event
        .patient
        .as_ref()
        .unwrap()
        .names
        .iter()
        .map(|n| n.value.usage.as_deref())
        .collect();
    assert_eq!(
        uses,
        [
            None,
            None,
            None,
            None,
            None,
            Some("official"),
            Some("usual"),
            Some("maiden"),
            Some("anonymous"),
            Some("old"),
            Some("temp")
        ]
    );
    let unmapped: Vec<_> = report
        .unmapped
        .iter()
        .map(|u| (path_of(&u.source), u.raw.as_str()))
        .collect();
    let expected: Vec<_> = ["C", "B", "A", "U", "P"]
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("PID[1]-5[{}].7.1", i + 1), *c))
        .collect();
    assert_eq!(unmapped, expected);
    assert_eq!(check("xpn-7", text.as_bytes()), 1);
    let b = event_bundle(&event).unwrap();
    let names = b["entry"][0]["resource"]["name"].as_array().unwrap();
    assert!(
        names[..5].iter().all(|n| n.get("use").is_none()),
        "{names:?}"
    );
    // The same for an XCN.10 name type (a practitioner's name).
    let (_, report) = mapped(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1||||C1234567^JONES^ANN^^^^^^GMC^C\r",
    );
    let unmapped: Vec<_> = report.unmapped.iter().map(|u| u.raw.as_str()).collect();
    assert_eq!(unmapped, ["C"]);
}

#[test]
fn patient_classes_outside_table_0004_are_reported_c_and_n_kept() {
    // 11 of the 2026-12-07 ORU probe: PV1-2 `X` (not in table 0004) became
    // class UNK unreported; C and N (in the table, no v3 ActCode) became UNK
    // too, where the IG's PatientClass map keeps them as v2-0004 codes.
    let class = |pv1_2: &str| {
        let text = format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A03|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|{pv1_2}|W1\r"
        );
        let (event, report) = mapped(&text);
        assert_eq!(check("pv1-2", text.as_bytes()), 1);
        let b = event_bundle(&event).unwrap();
        let enc = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["resource"]["resourceType"] == "Encounter")
            .unwrap()["resource"]
            .clone();
        // Read back as written (a dropped class is written UNK, 1..1).
        let back = read_back(&b).encounter.unwrap().class.map(|c| c.value);
        let sent = event.encounter.unwrap().class.map(|c| c.value);
        assert_eq!(back, sent.or(Some(carecodec_model::EncounterClass::Other)));
        (enc["class"].clone(), report.invalid)
    };
    let (c, bad) = class("X");
    assert_eq!(c["code"], "UNK");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].raw, "X");
    assert_eq!(path_of(&bad[0].source), "PV1[1]-2.1");
    assert_eq!(bad[0].action, carecodec_model::Action::Dropped);
    for (code, display) in [("C", "Commercial Account"), ("N", "Not Applicable")] {
        let (c, bad) = class(code);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(c["system"], "http://terminology.hl7.org/CodeSystem/v2-0004");
        assert_eq!(c["code"], code);
        assert_eq!(c["display"], display);
    }
    let (c, bad) = class("U");
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(c["code"], "UNK");
}

#[test]
fn admission_type_is_encounter_type_nhs_method_the_extension() {
    let bundle = |pv1_4: &str| {
        let text = format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|W1|{pv1_4}||||||||||19\r"
        );
        let msg = Message::parse(text.as_bytes()).unwrap();
        let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
        let b = event_bundle(&event).unwrap();
        carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&b.to_string()).unwrap();
        b["entry"][1]["resource"].clone()
    };
    // A v2 table 0007 admission type: Encounter.type (IG).
    let e = bundle("E");
    assert_eq!(e["type"][0]["coding"][0]["code"], "E");
    assert_eq!(e["type"][0]["coding"][0]["display"], "Emergency");
    assert!(e["hospitalization"].get("extension").is_none());
    // An NHS admission method: the UK Core extension in the England code system.
    let e = bundle("21");
    assert!(e.get("type").is_none());
    let ext = &e["hospitalization"]["extension"][0];
    assert_eq!(
        ext["valueCodeableConcept"]["coding"][0]["system"],
        "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland"
    );
    // PV1-14 is the source of admission, kept beside the method.
    assert_eq!(
        e["hospitalization"]["admitSource"]["coding"][0]["code"],
        "19"
    );
}

#[test]
fn us_ethnicity_is_not_an_nhs_category_and_bare_contacts_are_not_written() {
    let msg = Message::parse(
        b"MSH|^~\\&|LAB|X|Y|Z|20240312091500||ORU^R01|1|P|2.5.1\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN|||||||||||||||||2186-5^Not Hispanic^CDCREC\r\
NK1|1||MTH^Mother^HL70063\r",
    )
    .unwrap();
    let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    let b = event_bundle(&event).unwrap();
    let p = &b["entry"][0]["resource"];
    let coding = &p["extension"][0]["valueCodeableConcept"]["coding"][0];
    assert_eq!(coding["code"], "2186-5");
    assert_ne!(
        coding["system"],
        "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
    );
    // NK1 with a relationship only: no Patient.contact (pat-1).
    assert!(p.get("contact").is_none());
    let r: carecodec_fhir::Resource = carecodec_fhir::json::from_str(&b.to_string()).unwrap();
    let carecodec_fhir::Resource::Bundle(bundle) = &r else {
        panic!()
    };
    let patient = bundle.entry[0].resource.as_ref().unwrap();
    let profile = carecodec_fhir::uk_core::validate::Profile::for_resource(patient).unwrap();
    assert!(
        carecodec_fhir::uk_core::validate::validate(patient, profile)
            .iter()
            .all(|i| i.severity != carecodec_fhir::uk_core::validate::Severity::Error)
    );
}

#[test]
fn locations_as_the_ig_hierarchy_and_back() {
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|WARD1^ROOM2^BED3^RX1||||||||||||||||||||||||||||||||||||||||||20240312090000\r",
    )
    .unwrap();
    let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    let b = event_bundle(&event).unwrap();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&b.to_string()).unwrap();
    let entries = b["entry"].as_array().unwrap();
    let by_url = |u: &serde_json::Value| {
        entries
            .iter()
            .find(|e| &e["fullUrl"] == u)
            .map(|e| e["resource"].clone())
            .unwrap()
    };
    let enc = &entries[1]["resource"];
    let bed = by_url(&enc["location"][0]["location"]["reference"]);
    assert_eq!(bed["name"], "BED3");
    assert_eq!(bed["physicalType"]["coding"][0]["code"], "bd");
    let room = by_url(&bed["partOf"]["reference"]);
    assert_eq!(
        (
            room["name"].as_str(),
            room["physicalType"]["coding"][0]["code"].as_str()
        ),
        (Some("ROOM2"), Some("ro"))
    );
    let ward = by_url(&room["partOf"]["reference"]);
    assert_eq!(ward["name"], "WARD1");
    let site = by_url(&ward["partOf"]["reference"]);
    assert_eq!(
        (
            site["name"].as_str(),
            site["physicalType"]["coding"][0]["code"].as_str()
        ),
        (Some("RX1"), Some("si"))
    );
    assert!(site.get("partOf").is_none());
    // Read back: the parts again.
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    assert_eq!(
        report
            .unmapped
            .iter()
            .filter(|u| u.raw.contains("WARD1"))
            .count(),
        0
    );
    let l = back.encounter.unwrap().location.unwrap();
    let v = |s: &Option<carecodec_model::Sourced<String>>| s.as_ref().map(|x| x.value.clone());
    assert_eq!(v(&l.bed).as_deref(), Some("BED3"));
    assert_eq!(v(&l.room).as_deref(), Some("ROOM2"));
    assert_eq!(v(&l.ward).as_deref(), Some("WARD1"));
    assert_eq!(v(&l.facility).as_deref(), Some("RX1"));
}

/// The Location entries of a transaction Bundle, by name: (method, url, id, partOf).
fn location_requests(b: &serde_json::Value) -> Vec<(String, String, String, String, String)> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Location")
        .map(|e| {
            (
                s(&e["resource"]["name"]),
                s(&e["request"]["method"]),
                s(&e["request"]["url"]),
                s(&e["resource"]["id"]),
                s(&e["resource"]["partOf"]["reference"]),
            )
        })
        .collect()
}

/// The Bundle of HL7 v2 `text` mapped with `opts` and written for `trust`,
/// with the mapping report; checked as every Bundle is (strict R4, UK Core,
/// references, read back, the message form) and read back to the same
/// locations.
fn keyed_bundle(
    text: &str,
    trust: Option<&str>,
) -> (serde_json::Value, carecodec_model::MappingReport) {
    assert_eq!(check("keyed locations", text.as_bytes()), 1);
    let msg = Message::parse(text.as_bytes()).unwrap();
    let mut opts = V2Options::default();
    if let Some(t) = trust {
        opts = opts.trust_ods(t);
    }
    let (event, report) = map_message(&msg, &opts).unwrap();
    assert!(report.balanced());
    let b = carecodec_map::fhir::event_bundle_for(&event, BundleType::Transaction, trust).unwrap();
    uk_core_valid("keyed locations", &b);
    let back = read_back(&b);
    let parts = |e: &carecodec_model::Event| {
        let e = e.encounter.as_ref().unwrap();
        [&e.location, &e.prior_location].map(|l| {
            l.as_ref().map(|l| {
                [&l.facility, &l.ward, &l.room, &l.bed, &l.name]
                    .map(|p| p.as_ref().map(|p| p.value.clone()))
            })
        })
    };
    assert_eq!(parts(&back), parts(&event), "{text}");
    (b, report)
}

#[test]
fn pl_locations_are_updated_by_an_id_from_their_parts_and_namespace() {
    let note = |r: &carecodec_model::MappingReport| {
        r.notes
            .iter()
            .any(|n| n.contains("PV1-3") && n.contains("POST"))
    };
    // Two messages (an admission and a transfer of two patients, hours apart,
    // one with a description) naming the same bed of the same facility: the
    // same `PUT Location/{id}` for each level, the id the resource's.
    let a01 = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1^R2^B3^RX101\r";
    let a02 = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240313170000||ADT^A02|977|P|2.5\r\
PID|1||9434765870^^^NHS^NH||JONES^ANN\r\
PV1|1|I|W1^R2^B3^RX101^^^^^Bay 2 bed 3|||||||||||||||||||||||||||||||||||||O\r";
    let (first, report) = keyed_bundle(a01, None);
    assert!(!note(&report), "{:?}", report.notes);
    let (second, _) = keyed_bundle(a02, None);
    let (l1, l2) = (location_requests(&first), location_requests(&second));
    assert_eq!(l1.len(), 4, "{l1:?}");
    for ((name, method, url, id, _), l) in l1.iter().zip(&l2) {
        assert_eq!(method, "PUT", "{name}");
        assert_eq!(url, &format!("Location/{id}"), "{name}");
        assert_eq!((name, method, url, id), (&l.0, &l.1, &l.2, &l.3));
    }
    // The hierarchy: each level its own id, partOf the one above.
    let ids: std::collections::BTreeSet<&str> = l1.iter().map(|l| l.3.as_str()).collect();
    assert_eq!(ids.len(), 4, "{l1:?}");
    for pair in l1.windows(2) {
        assert_eq!(pair[1].4, format!("urn:uuid:{}", pair[0].3), "{l1:?}");
    }
    let id_of = |b: &serde_json::Value, name: &str| {
        location_requests(b)
            .into_iter()
            .find(|l| l.0 == name)
            .map(|l| (l.1, l.3))
            .unwrap()
    };
    // Another facility's W1: other ids, at every level.
    let (other, _) = keyed_bundle(&a01.replace("RX101", "RX102"), None);
    for l in location_requests(&other) {
        assert!(!ids.contains(l.3.as_str()), "{l:?}");
    }
    // The same room and bed names in another ward are other Locations.
    let (ward, _) = keyed_bundle(&a01.replace("W1^", "W9^"), None);
    assert_eq!(id_of(&ward, "RX101"), id_of(&first, "RX101"));
    for level in ["R2", "B3"] {
        assert_ne!(id_of(&ward, level), id_of(&first, level), "{level}");
    }
    // A ward named as a bed is not the bed.
    let (b3, _) = keyed_bundle(&a01.replace("W1^R2^B3", "B3"), None);
    assert_ne!(id_of(&b3, "B3"), id_of(&first, "B3"));
    // No PL-4: the sending facility (MSH-4) keys the ward, and another
    // sender's W1 is another ward.
    let no_pl4 = a01.replace("^RX101", "");
    let (by_sender, report) = keyed_bundle(&no_pl4, None);
    assert!(!note(&report), "{:?}", report.notes);
    let w1 = id_of(&by_sender, "W1");
    assert_eq!(w1.0, "PUT");
    assert_ne!(w1, id_of(&first, "W1"));
    let (other_sender, _) = keyed_bundle(&no_pl4.replace("PAS|RX1|", "PAS|RX2|"), None);
    assert_ne!(id_of(&other_sender, "W1"), w1);
    // Two locations of one message whose shared ward would hold different
    // things (one has a description): one resource cannot say both, so the
    // first is keyed and the second created, each read back as sent.
    for (pv1_3, pv1_6) in [
        ("W1^R2^B3^RX101", "W1^^^RX101^^^^^Ward one"),
        ("W1^^^RX101^^^^^Ward one", "W1^R2^B3^RX101"),
    ] {
        let text = format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A02|3|P|2.5\r\
             PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|{pv1_3}|||{pv1_6}\r"
        );
        let (b, _) = keyed_bundle(&text, None);
        let methods: Vec<String> = location_requests(&b).into_iter().map(|l| l.1).collect();
        assert_eq!(methods[0], "PUT", "{pv1_3} {methods:?}");
        assert!(methods.contains(&"POST".to_owned()), "{pv1_3} {methods:?}");
    }
    // Neither: the trust's ODS code, when given; else a create, noted.
    let anonymous = no_pl4.replace("PAS|RX1|", "PAS||");
    let (by_trust, report) = keyed_bundle(&anonymous, Some("RX1"));
    assert!(!note(&report), "{:?}", report.notes);
    assert_eq!(id_of(&by_trust, "W1").0, "PUT");
    let (unkeyed, report) = keyed_bundle(&anonymous, None);
    assert!(note(&report), "{:?}", report.notes);
    for (name, method, url, ..) in location_requests(&unkeyed) {
        assert_eq!(
            (method.as_str(), url.as_str()),
            ("POST", "Location"),
            "{name}"
        );
    }
}

#[test]
fn expected_admission_and_discharge() {
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A05|1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1\r\
PV2|||Labour|||||202407010900|202407051200\r",
    )
    .unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    let b = event_bundle(&event).unwrap();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&b.to_string()).unwrap();
    let enc = &b["entry"][1]["resource"];
    let ext = enc["extension"].as_array().unwrap();
    let at = |suffix: &str| {
        ext.iter()
            .find(|x| x["url"].as_str().unwrap().ends_with(suffix))
            .map(|x| x["valueDateTime"].clone())
            .unwrap()
    };
    assert_eq!(at("plannedStartDate"), "2024-07-01T09:00:00+01:00");
    assert_eq!(at("plannedEndDate"), "2024-07-05T12:00:00+01:00");
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    let e = back.encounter.unwrap();
    assert_eq!(
        e.expected_discharge.unwrap().value.at,
        event
            .encounter
            .unwrap()
            .expected_discharge
            .unwrap()
            .value
            .at
    );
}

/// Reads a written Bundle back, checking that the accounting balances and
/// that every leaf was read.
fn read_back(bundle: &serde_json::Value) -> carecodec_model::Event {
    let (back, report) = read_bundle(bundle);
    assert!(report.balanced());
    assert!(report.unmapped.is_empty(), "{:#?}", report.unmapped);
    back
}

/// Parses HL7 v2 `text` and maps it, checking that the accounting balances.
fn mapped(text: &str) -> (carecodec_model::Event, carecodec_model::MappingReport) {
    let msg = Message::parse(text.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    (event, report)
}

/// Asserts that no unmapped leaf of `report` is at a path containing `at`.
fn none_unmapped(report: &carecodec_model::MappingReport, at: &str) {
    assert!(
        report
            .unmapped
            .iter()
            .all(|u| !u.source.to_string().contains(at)),
        "{:?}",
        report.unmapped
    );
}

/// The path of a v2 source, without its byte span.
fn path_of(s: &carecodec_model::Source) -> String {
    match s {
        carecodec_model::Source::V2 { path, .. } => path.to_string(),
        other => other.to_string(),
    }
}

/// A PID with the given fields (index = field number) and the rest empty.
fn pid_with(fields: &[(usize, &str)]) -> String {
    let mut f = vec![""; 41];
    f[0] = "PID";
    f[1] = "1";
    f[3] = "9434765919^^^NHS^NH";
    f[5] = "SMITH^JOHN";
    for (n, v) in fields {
        f[*n] = v;
    }
    format!(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A28|1|P|2.8\r{}\r",
        f.join("|").trim_end_matches('|')
    )
}

#[test]
fn citizenship_and_nationality_as_the_core_extensions() {
    let text = pid_with(&[
        (26, "GB^United Kingdom^ISO3166_1~IE^Ireland^ISO3166_1"),
        (28, "FRA^France^HL70399"),
        (39, "X1^Tribe^L"),
    ]);
    let (event, report) = mapped(&text);
    assert!(
        report.unmapped.iter().all(|u| !["-26", "-28", "-39"]
            .iter()
            .any(|f| u.source.to_string().contains(&format!("HL7 v2 PID[1]{f}")))),
        "{:?}",
        report.unmapped
    );
    let p = event.patient.as_ref().unwrap();
    let iso = carecodec_model::CodeSystem::Uri("urn:iso:std:iso:3166".into());
    // PID-26 repeats, then PID-39; ISO3166_1 and table 0399 named by the ISO URI.
    let codes: Vec<(&str, &carecodec_model::CodeSystem)> = p
        .citizenship
        .iter()
        .map(|c| (c.value.codes[0].code.as_str(), &c.value.codes[0].system))
        .collect();
    let local = carecodec_model::CodeSystem::Local("L".into());
    assert_eq!(codes, vec![("GB", &iso), ("IE", &iso), ("X1", &local)]);
    assert_eq!(
        p.citizenship[0].value.codes[0].display.as_deref(),
        Some("United Kingdom")
    );
    assert!(
        p.citizenship[0]
            .sources
            .iter()
            .all(|s| s.to_string().starts_with("HL7 v2 PID[1]-26[1].")),
        "{:?}",
        p.citizenship[0].sources
    );
    let nat = &p.nationality.as_ref().unwrap().value.codes[0];
    assert_eq!((nat.code.as_str(), &nat.system), ("FRA", &iso));

    let b = event_bundle(&event).unwrap();
    uk_core_valid("citizenship", &b);
    let ext = b["entry"][0]["resource"]["extension"].as_array().unwrap();
    let of =
        |url: &str| -> Vec<&serde_json::Value> { ext.iter().filter(|e| e["url"] == url).collect() };
    let cit = of("http://hl7.org/fhir/StructureDefinition/patient-citizenship");
    assert_eq!(cit.len(), 3);
    assert_eq!(
        cit[0]["extension"],
        serde_json::json!([{"url": "code", "valueCodeableConcept": {"coding": [
            {"system": "urn:iso:std:iso:3166", "code": "GB", "display": "United Kingdom"}
        ]}}])
    );
    let nat = of("http://hl7.org/fhir/StructureDefinition/patient-nationality");
    assert_eq!(
        nat[0]["extension"][0]["valueCodeableConcept"]["coding"][0],
        serde_json::json!({"system": "urn:iso:std:iso:3166", "code": "FRA", "display": "France"})
    );

    let back = read_back(&b);
    let q = back.patient.unwrap();
    // A local system (`L`) is not written (a Coding.system must be an
    // absolute URI): it reads back with none; the others as written.
    let flat = |c: &carecodec_model::Concept| {
        c.codes
            .iter()
            .map(|x| {
                let uri = match &x.system {
                    carecodec_model::CodeSystem::Local(_) => String::new(),
                    s => s.uri(),
                };
                (uri, x.code.clone(), x.display.clone())
            })
            .collect::<Vec<_>>()
    };
    let all = |v: &[carecodec_model::Sourced<carecodec_model::Concept>]| {
        v.iter().map(|c| flat(&c.value)).collect::<Vec<_>>()
    };
    assert_eq!(all(&q.citizenship), all(&p.citizenship));
    assert_eq!(
        q.nationality.map(|n| flat(&n.value)),
        p.nationality.as_ref().map(|n| flat(&n.value))
    );
}

#[test]
fn religion_through_the_ig_religion_map() {
    let religion_of = |pid_17: &str| {
        let text = pid_with(&[(17, pid_17)]);
        let (event, report) = mapped(&text);
        none_unmapped(&report, "HL7 v2 PID[1]-17");
        let b = event_bundle(&event).unwrap();
        uk_core_valid(pid_17, &b);
        let ext: Vec<serde_json::Value> = b["entry"][0]["resource"]["extension"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["url"] == "http://hl7.org/fhir/StructureDefinition/patient-religion")
            .cloned()
            .collect();
        let back = read_back(&b);
        (
            event.patient.unwrap().religion.unwrap(),
            ext,
            back.patient.unwrap().religion,
        )
    };
    // Table 0006 kept as sent in the model, written as the IG maps it.
    let (r, ext, back) = religion_of("BAP^Christian: Baptist^HL70006");
    let code = &r.value.codes[0];
    assert_eq!(
        code.system,
        carecodec_model::CodeSystem::V2Table("0006".into())
    );
    assert_eq!(code.code, "BAP");
    assert_eq!(code.display.as_deref(), Some("Christian: Baptist"));
    assert_eq!(
        ext,
        vec![serde_json::json!({
            "url": "http://hl7.org/fhir/StructureDefinition/patient-religion",
            "valueCodeableConcept": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ReligiousAffiliation",
                "code": "1009",
                "display": "Baptist"
            }]}
        })]
    );
    // Read back: the FHIR code, with its FHIR path.
    let back = back.unwrap();
    assert_eq!(back.value.codes[0].code, "1009");
    assert!(
        back.sources[0]
            .to_string()
            .contains("extension[0].valueCodeableConcept")
    );
    // A code the IG's map has no target for stays in v2-0006.
    let (_, ext, back) = religion_of("AME");
    assert_eq!(
        ext[0]["valueCodeableConcept"],
        serde_json::json!({"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0006",
            "code": "AME"
        }]})
    );
    assert_eq!(
        back.unwrap().value.codes[0].system,
        carecodec_model::CodeSystem::V2Table("0006".into())
    );
}

#[test]
fn birth_place_as_the_uk_core_birth_place_slice() {
    let text = pid_with(&[(23, "St Thomas' Hospital, London")]);
    let (event, report) = mapped(&text);
    let p = event.patient.as_ref().unwrap();
    let place = p.birth_place.as_ref().unwrap();
    assert_eq!(place.value, "St Thomas' Hospital, London");
    assert!(place.sources[0].to_string().starts_with("HL7 v2 PID[1]-23"));
    none_unmapped(&report, "HL7 v2 PID[1]-23");
    let b = event_bundle(&event).unwrap();
    uk_core_valid("birth place", &b);
    assert_eq!(
        b["entry"][0]["resource"]["extension"][0],
        serde_json::json!({
            "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
            "valueAddress": {"text": "St Thomas' Hospital, London"}
        })
    );
    let back = read_back(&b);
    let back = back.patient.unwrap().birth_place.unwrap();
    assert_eq!(back.value, place.value);
    assert_eq!(
        back.sources[0].to_string(),
        "FHIR Bundle.entry[0].resource.extension[0].valueAddress.text"
    );
}

#[test]
fn mothers_maiden_name_in_its_assembly_order() {
    let maiden = |pid_6: &str| {
        let text = pid_with(&[(6, pid_6)]);
        let (event, report) = mapped(&text);
        let b = event_bundle(&event).unwrap();
        uk_core_valid(pid_6, &b);
        let ext = b["entry"][0]["resource"]["extension"][0].clone();
        let (back, back_report) = read_bundle(&b);
        assert!(back_report.balanced());
        assert!(
            back_report.unmapped.is_empty(),
            "{:?}",
            back_report.unmapped
        );
        let m = event.patient.unwrap().mothers_maiden_name.unwrap();
        assert_eq!(
            back.patient.unwrap().mothers_maiden_name.unwrap().value,
            m.value
        );
        (m, ext, report)
    };
    // Given-first unless XPN.11 is `F`.
    let (m, ext, report) = maiden("SMITH^Angela^L");
    assert_eq!(m.value, "Angela L SMITH");
    assert_eq!(m.sources.len(), 3);
    none_unmapped(&report, "HL7 v2 PID[1]-6");
    assert_eq!(
        ext,
        serde_json::json!({
            "url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
            "valueString": "Angela L SMITH"
        })
    );
    let (m, _, _) = maiden("Davis");
    assert_eq!(m.value, "Davis");
    let (m, _, report) = maiden("Lam^Morgan^^^Mrs^^M^^^^F");
    assert_eq!(m.value, "Mrs Lam Morgan");
    // The name type (XPN.7) is not part of the text: reported unmapped.
    assert!(
        report
            .unmapped
            .iter()
            .any(|u| u.source.to_string().starts_with("HL7 v2 PID[1]-6[1].7") && u.raw == "M"),
        "{:?}",
        report.unmapped
    );
}

#[test]
fn place_of_worship_as_the_congregation_extension() {
    let text = format!(
        "{}PD1|||GP PRACTICE^^^^^^^^^A81001|||||||||||Methodist Church~St Mary's\r",
        pid_with(&[])
    );
    let (event, report) = mapped(&text);
    let p = event.patient.as_ref().unwrap();
    let c = p.congregation.as_ref().unwrap();
    assert_eq!(c.value, "Methodist Church");
    assert!(
        c.sources[0]
            .to_string()
            .starts_with("HL7 v2 PD1[1]-14[1].1")
    );
    // The second repeat has no place in the extension: reported.
    assert!(
        report.unmapped.iter().any(
            |u| u.source.to_string().starts_with("HL7 v2 PD1[1]-14[2]") && u.raw == "St Mary's"
        ),
        "{:?}",
        report.unmapped
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("congregation", &b);
    assert_eq!(
        b["entry"][0]["resource"]["extension"][0],
        serde_json::json!({
            "url": "http://hl7.org/fhir/StructureDefinition/patient-congregation",
            "valueString": "Methodist Church"
        })
    );
    let back = read_back(&b);
    assert_eq!(back.patient.unwrap().congregation.unwrap().value, c.value);
    // XON.10 when XON.1 is empty.
    let text = format!("{}PD1||||||||||||||^^^^^^^^^WORSHIP-9\r", pid_with(&[]));
    let msg = Message::parse(text.as_bytes()).unwrap();
    let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    assert_eq!(
        event.patient.unwrap().congregation.unwrap().value,
        "WORSHIP-9"
    );
}

#[test]
fn address_lines_from_street_parts_and_addressee() {
    let mut xad = vec![""; 20];
    xad[0] = "1000&Hospital Lane&7";
    xad[1] = "Ste. 123";
    xad[2] = "Leeds";
    xad[4] = "LS1 4AP";
    xad[6] = "H";
    xad[18] = "Near Highway";
    let xad = xad.join("^");
    let text = pid_with(&[(11, &xad)]);
    let (event, report) = mapped(&text);
    none_unmapped(&report, "HL7 v2 PID[1]-11");
    let a = &event.patient.as_ref().unwrap().addresses[0];
    // IG SAD / XAD order: SAD.1, SAD.2, SAD.3, XAD.2, XAD.19.
    assert_eq!(
        a.value.lines,
        ["1000", "Hospital Lane", "7", "Ste. 123", "Near Highway"]
    );
    assert!(
        a.sources
            .iter()
            .any(|s| s.to_string().starts_with("HL7 v2 PID[1]-11[1].1.2"))
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("address lines", &b);
    assert_eq!(
        b["entry"][0]["resource"]["address"][0]["line"],
        serde_json::json!(["1000", "Hospital Lane", "7", "Ste. 123", "Near Highway"])
    );
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    assert_eq!(
        back.patient.unwrap().addresses[0].value.lines,
        a.value.lines
    );
}

#[test]
fn called_by_name_as_a_nickname() {
    let mut xpn = vec![""; 15];
    xpn[0] = "SMITH";
    xpn[1] = "John";
    xpn[6] = "L";
    xpn[14] = "Jack";
    let xpn = xpn.join("^");
    let text = pid_with(&[(5, &xpn)]);
    let (event, report) = mapped(&text);
    none_unmapped(&report, "HL7 v2 PID[1]-5");
    let names = &event.patient.as_ref().unwrap().names;
    assert_eq!(names.len(), 2);
    assert_eq!(names[1].value.given, ["Jack"]);
    assert_eq!(names[1].value.family, None);
    assert_eq!(names[1].value.usage.as_deref(), Some("nickname"));
    assert!(
        names[1].sources[0]
            .to_string()
            .starts_with("HL7 v2 PID[1]-5[1].15")
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("nickname", &b);
    assert_eq!(
        b["entry"][0]["resource"]["name"][1],
        serde_json::json!({"use": "nickname", "given": ["Jack"]})
    );
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    assert_eq!(back.patient.unwrap().names[1].value, names[1].value);
}

#[test]
fn nk1_organisation_and_its_contact_person() {
    let mut f = vec![""; 34];
    f[0] = "NK1";
    f[1] = "1";
    f[2] = "DOE^MARY";
    f[3] = "MTH^MOTHER^HL70063";
    f[13] = "Bull Run Family Practice^^^^^^XX^^^ORG-7";
    f[30] = "Smith^John^L";
    f[31] = "01632960001^^PH~^NET^Internet^john@example.org";
    f[32] = "1 High Street^^Leeds^^LS1 1AA^GBR";
    let text = format!("{}{}\r", pid_with(&[]), f.join("|"));
    let (event, report) = mapped(&text);
    none_unmapped(&report, "HL7 v2 NK1[1]-");
    let c = &event.patient.as_ref().unwrap().contacts[0];
    let org = c.organisation.as_ref().unwrap();
    assert_eq!(org.name.as_ref().unwrap().value, "Bull Run Family Practice");
    assert_eq!(
        org.identifiers[0].value,
        carecodec_model::Identifier::Typed {
            kind: "XX".into(),
            value: "ORG-7".into(),
            authority: None,
            system: None,
        }
    );
    let person = c.organisation_contact.as_ref().unwrap();
    let pname = &person.name.as_ref().unwrap().value;
    assert_eq!(pname.family.as_deref(), Some("Smith"));
    assert_eq!(pname.given, ["John", "L"]);
    assert!(
        person.name.as_ref().unwrap().sources[0]
            .to_string()
            .starts_with("HL7 v2 NK1[1]-30[1]")
    );
    let phones: Vec<&str> = person
        .telecom
        .iter()
        .map(|t| t.value.value.as_str())
        .collect();
    assert_eq!(phones, ["01632960001", "john@example.org"]);
    assert_eq!(
        person.address.as_ref().unwrap().value.lines,
        ["1 High Street"]
    );

    let b = event_bundle(&event).unwrap();
    uk_core_valid("nk1 organisation", &b);
    let entries = b["entry"].as_array().unwrap();
    let contact = &entries[0]["resource"]["contact"][0];
    assert_eq!(contact["name"]["family"], "DOE");
    let url = contact["organization"]["reference"].as_str().unwrap();
    let o = entries
        .iter()
        .find(|e| e["fullUrl"] == url)
        .map(|e| &e["resource"])
        .unwrap();
    assert_eq!(o["resourceType"], "Organization");
    assert_eq!(o["name"], "Bull Run Family Practice");
    assert_eq!(o["identifier"][0]["value"], "ORG-7");
    assert_eq!(o["identifier"][0]["type"]["coding"][0]["code"], "XX");
    assert_eq!(
        o["contact"][0]["name"],
        serde_json::json!({"family": "Smith", "given": ["John", "L"]})
    );
    assert_eq!(o["contact"][0]["telecom"][1]["system"], "email");
    assert_eq!(o["contact"][0]["address"]["city"], "Leeds");

    let back = read_back(&b);
    let bc = &back.patient.unwrap().contacts[0];
    let value = |c: &carecodec_model::Contact| {
        let o = c.organisation.as_ref().unwrap();
        let p = c.organisation_contact.as_ref().unwrap();
        (
            o.name.as_ref().map(|n| n.value.clone()),
            o.identifiers
                .iter()
                .map(|i| i.value.clone())
                .collect::<Vec<_>>(),
            p.name.as_ref().map(|n| n.value.clone()),
            p.telecom
                .iter()
                .map(|t| t.value.clone())
                .collect::<Vec<_>>(),
            p.address.as_ref().map(|a| a.value.clone()),
        )
    };
    // XTN.2 `NET` (IG TelecommunicationUseCode: no target) is kept as sent,
    // written with no `use` and listed as not written (F4, probe nine).
    assert_eq!(person.telecom[1].value.usage.as_deref(), Some("NET"));
    assert!(o["contact"][0]["telecom"][1].get("use").is_none());
    let listed: Vec<(String, String)> =
        carecodec_map::fhir::event_not_written(&event, BundleType::Transaction)
            .unwrap()
            .into_iter()
            .map(|n| (n.field, n.value))
            .collect();
    assert!(
        listed.contains(&(
            "patient.contacts[0].organisation_contact.telecom[1].usage".to_owned(),
            "NET".to_owned()
        )),
        "{listed:?}"
    );
    let mut c = c.clone();
    if let Some(p) = c.organisation_contact.as_mut() {
        p.telecom[1].value.usage = None;
    }
    assert_eq!(value(bc), value(&c));

    // Without an NK1-13 name or identifier there is no Organization (R4
    // org-1): the contact person is reported unmapped.
    f[13] = "";
    let text = format!("{}{}\r", pid_with(&[]), f.join("|"));
    let (event, report) = mapped(&text);
    let c = &event.patient.as_ref().unwrap().contacts[0];
    assert!(c.organisation.is_none() && c.organisation_contact.is_none());
    assert!(
        report
            .unmapped
            .iter()
            .any(|u| u.source.to_string().starts_with("HL7 v2 NK1[1]-30[1].1") && u.raw == "Smith"),
        "{:?}",
        report.unmapped
    );
}

#[test]
fn nk1_41_telecom_on_the_contact() {
    let mut f = vec![""; 42];
    f[0] = "NK1";
    f[1] = "1";
    f[2] = "DOE^MARY";
    f[40] = "01632960002^PRN^PH";
    f[41] = "07700900003^^CP";
    let text = format!("{}{}\r", pid_with(&[]), f.join("|"));
    let (event, report) = mapped(&text);
    none_unmapped(&report, "HL7 v2 NK1[1]-41");
    let c = &event.patient.as_ref().unwrap().contacts[0];
    let phones: Vec<(&str, Option<&str>)> = c
        .telecom
        .iter()
        .map(|t| (t.value.value.as_str(), t.value.usage.as_deref()))
        .collect();
    assert_eq!(
        phones,
        [
            ("01632960002", Some("home")),
            ("07700900003", Some("mobile"))
        ]
    );
    assert!(
        c.telecom[1].sources[0]
            .to_string()
            .starts_with("HL7 v2 NK1[1]-41[1]")
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("nk1-41", &b);
    assert_eq!(
        b["entry"][0]["resource"]["contact"][0]["telecom"][1],
        serde_json::json!({"system": "phone", "value": "07700900003", "use": "mobile"})
    );
}

/// F4 (probe nine): every XTN.2 use code FHIR has no code for had been
/// written `home` (PID-13's default) and reported nowhere. Now as the IG's
/// TelecommunicationUseCode map: PRN / WPN / PRS give home / work / mobile;
/// the other table 0201 codes are kept as sent, written with no `use` and
/// listed as not written (`NET` and `BPN` with no XTN.3 give the system);
/// a code not in table 0201 is reported invalid and dropped; only an empty
/// XTN.2 takes the field's default.
#[test]
fn telecom_use_codes_without_a_fhir_code_are_not_written_home() {
    let phones = [
        "^PRN^PH^^^^^^^^^0113 000000",
        "^ORN^PH^^^^^^^^^0113 000001",
        "^WPN^PH^^^^^^^^^0113 000002",
        "^VHN^PH^^^^^^^^^0113 000003",
        "^ASN^PH^^^^^^^^^0113 000004",
        "^EMR^PH^^^^^^^^^0113 000005",
        "0113 000006^BPN",
        "^PRS^PH^^^^^^^^^0113 000007",
        "^ZZZ^PH^^^^^^^^^0113 000008",
        "jo@x.nhs.uk^NET",
        "0113 000009^^PH",
    ]
    .join("~");
    let (event, report) = mapped(&pid_with(&[(13, &phones)]));
    none_unmapped(&report, "PID[1]-13");
    let p = event.patient.as_ref().unwrap();
    let usages: Vec<Option<&str>> = p.telecom.iter().map(|t| t.value.usage.as_deref()).collect();
    assert_eq!(
        usages,
        [
            Some("home"),
            Some("ORN"),
            Some("work"),
            Some("VHN"),
            Some("ASN"),
            Some("EMR"),
            Some("BPN"),
            Some("mobile"),
            None,
            Some("NET"),
            Some("home")
        ]
    );
    let bad: Vec<(String, &str, &str)> = report
        .invalid
        .iter()
        .map(|i| (path_of(&i.source), i.raw.as_str(), i.reason.as_str()))
        .collect();
    assert_eq!(
        bad,
        [(
            "PID[1]-13[9].2".to_owned(),
            "ZZZ",
            "not a telecommunication use code (HL7 table 0201)"
        )]
    );
    assert_eq!(report.invalid[0].action, carecodec_model::Action::Dropped);
    let b = event_bundle(&event).unwrap();
    uk_core_valid("telecom use", &b);
    let written: Vec<(&str, &str, Option<&str>)> = b["entry"][0]["resource"]["telecom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["system"].as_str().unwrap(),
                t["value"].as_str().unwrap(),
                t["use"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        written,
        [
            ("phone", "0113 000000", Some("home")),
            ("phone", "0113 000001", None),
            ("phone", "0113 000002", Some("work")),
            ("phone", "0113 000003", None),
            ("phone", "0113 000004", None),
            ("phone", "0113 000005", None),
            ("pager", "0113 000006", None),
            ("phone", "0113 000007", Some("mobile")),
            ("phone", "0113 000008", None),
            ("email", "jo@x.nhs.uk", None),
            ("phone", "0113 000009", Some("home")),
        ]
    );
    let listed: Vec<(String, String)> =
        carecodec_map::fhir::event_not_written(&event, BundleType::Transaction)
            .unwrap()
            .into_iter()
            .filter(|n| n.field.starts_with("patient.telecom"))
            .map(|n| (n.field, n.value))
            .collect();
    let want: Vec<(String, String)> = [
        (1, "ORN"),
        (3, "VHN"),
        (4, "ASN"),
        (5, "EMR"),
        (6, "BPN"),
        (9, "NET"),
    ]
    .iter()
    .map(|(i, u)| (format!("patient.telecom[{i}].usage"), (*u).to_owned()))
    .collect();
    assert_eq!(listed, want);
}

#[test]
fn preadmit_number_readmission_and_diet() {
    let mut pv1: Vec<String> = ["PV1", "1", "I", "W1"].map(str::to_owned).to_vec();
    pv1.resize(39, String::new());
    pv1[5] = "PA123^^^RX1^ANON".into();
    pv1[13] = "R".into();
    pv1[38] = "VEG^Vegetarian^L".into();
    let msg = format!(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.8\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r{}\r",
        pv1.join("|")
    );
    let msg = Message::parse(msg.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    // Nothing of PV1-5, 13 or 38 is left unmapped.
    assert!(
        !report.unmapped.iter().any(|u| {
            let p = u.source.to_string();
            p.contains("PV1[1]-5") || p.contains("PV1[1]-13") || p.contains("PV1[1]-38")
        }),
        "{:#?}",
        report.unmapped
    );
    let enc = event.encounter.as_ref().unwrap();
    assert_eq!(
        enc.preadmission_id.as_ref().unwrap().value,
        carecodec_model::Identifier::Typed {
            kind: "ANON".into(),
            value: "PA123".into(),
            authority: Some("RX1".into()),
            system: None,
        }
    );
    let re = &enc.readmission.as_ref().unwrap().value;
    assert_eq!(
        (re.system.uri(), re.code.as_str(), re.display.as_deref()),
        (
            "http://terminology.hl7.org/CodeSystem/v2-0092".into(),
            "R",
            Some("Re-admission")
        )
    );
    let diet = &enc.diet.as_ref().unwrap().value;
    assert_eq!(diet.codes[0].code, "VEG");
    assert_eq!(diet.codes[0].display.as_deref(), Some("Vegetarian"));
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pv1-5-13-38", &b);
    let h = &b["entry"][1]["resource"]["hospitalization"];
    assert_eq!(
        h["preAdmissionIdentifier"],
        serde_json::json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ANON"}]},
            "value": "PA123",
            // Only an MRN's authority claims ODS: a typed identifier's is a name.
            "assigner": {"display": "RX1"}
        })
    );
    assert_eq!(
        h["reAdmission"],
        serde_json::json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0092", "code": "R", "display": "Re-admission"}]})
    );
    assert_eq!(
        h["dietPreference"],
        // The local system `L` has no URI: no `system` (the v2 mapper reports it).
        serde_json::json!([{"coding": [{"code": "VEG", "display": "Vegetarian"}]}])
    );
    let back = read_back(&b);
    let e = back.encounter.unwrap();
    assert_eq!(
        e.preadmission_id.unwrap().value,
        enc.preadmission_id.as_ref().unwrap().value
    );
    assert_eq!(e.readmission.unwrap().value.code, "R");
    assert_eq!(e.diet.unwrap().value.codes[0].code, "VEG");
}

#[test]
fn pv2_13_referral_source_is_a_referrer() {
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1\r\
PV2|||||||||||||G1234567^JONES^ANN^^^DR^^^GMP~C7654321^BROWN^BOB^^^^^^GMC\r",
    )
    .unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    // Every leaf of PV2-13 (ids, names, prefixes, authorities) is read.
    assert!(
        !report
            .unmapped
            .iter()
            .any(|u| u.source.to_string().contains("PV2")),
        "{:#?}",
        report.unmapped
    );
    let enc = event.encounter.as_ref().unwrap();
    let refs: Vec<_> = enc
        .participants
        .iter()
        .filter(|p| p.role == "REF")
        .collect();
    assert_eq!(refs.len(), 2);
    assert_eq!(
        refs[0].practitioner.identifiers[0].value,
        carecodec_model::Identifier::Gmp("G1234567".into())
    );
    assert_eq!(
        refs[1].practitioner.identifiers[0].value,
        carecodec_model::Identifier::Gmc("7654321".into())
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pv2-13", &b);
    let e = &b["entry"][1]["resource"];
    assert_eq!(
        e["participant"][0]["type"],
        serde_json::json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "REF", "display": "referrer"}]}])
    );
    let url = e["participant"][0]["individual"]["reference"]
        .as_str()
        .unwrap();
    let pr = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["fullUrl"] == url)
        .unwrap();
    assert_eq!(
        pr["resource"]["identifier"],
        serde_json::json!([{"system": "https://fhir.hl7.org.uk/Id/gmp-number", "value": "G1234567"}])
    );
    assert_eq!(pr["resource"]["name"][0]["family"], "JONES");
    let (back, report) = read_bundle(&b);
    assert!(report.balanced());
    let back = back.encounter.unwrap();
    assert_eq!(back.participants.len(), 2);
    assert!(back.participants.iter().all(|p| p.role == "REF"));
}

#[test]
fn pv2_11_length_of_stay_and_pv2_25_priority() {
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A03|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1\r\
PV2|||||||||||3.5||||||||||||||2^Urgent^HL70217\r",
    )
    .unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    let enc = event.encounter.as_ref().unwrap();
    assert_eq!(enc.length_days.as_ref().unwrap().value, "3.5");
    let p = &enc.priority.as_ref().unwrap().value;
    assert_eq!(
        (p.system.uri().as_str(), p.code.as_str()),
        ("http://terminology.hl7.org/CodeSystem/v2-0217", "2")
    );
    // Only PV2-25.1 is read: the text and coding system are left in the report.
    let pv2: Vec<String> = report
        .unmapped
        .iter()
        .map(|u| u.source.to_string())
        .filter(|p| p.contains("PV2"))
        .collect();
    assert_eq!(pv2.len(), 2, "{pv2:?}");
    assert!(
        pv2.iter()
            .all(|p| p.contains("PV2[1]-25[1].2") || p.contains("PV2[1]-25[1].3"))
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pv2-11-25", &b);
    let e = &b["entry"][1]["resource"];
    assert_eq!(
        e["length"],
        serde_json::json!({"value": 3.5, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"})
    );
    assert_eq!(
        e["priority"],
        serde_json::json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActPriority", "code": "UR", "display": "urgent"}]})
    );
    let back = read_back(&b);
    let back = back.encounter.unwrap();
    assert_eq!(back.length_days.unwrap().value, "3.5");
    assert_eq!(back.priority.unwrap().value, *p);
    // A length that is not a number is reported and dropped.
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A03|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1\r\
PV2|||||||||||two\r",
    )
    .unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    assert!(event.encounter.unwrap().length_days.is_none());
    assert!(report.invalid.iter().any(|i| i.raw == "two"));
}

#[test]
fn pending_and_prior_pending_locations() {
    let mut pv1: Vec<String> = ["PV1", "1", "I", "WARD1^^^RX1"].map(str::to_owned).to_vec();
    pv1.resize(43, String::new());
    pv1[42] = "WARD9^R4^B2^RX1".into();
    let msg = format!(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A15|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r{}\r\
PV2|WARD7^^^RX1^^^^^Old pending\r",
        pv1.join("|")
    );
    let msg = Message::parse(msg.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    let v = |s: &Option<carecodec_model::Sourced<String>>| s.as_ref().map(|x| x.value.clone());
    let enc = event.encounter.as_ref().unwrap();
    let pending = enc.pending_location.as_ref().unwrap();
    assert_eq!(
        (
            v(&pending.ward),
            v(&pending.room),
            v(&pending.bed),
            v(&pending.facility)
        ),
        (
            Some("WARD9".into()),
            Some("R4".into()),
            Some("B2".into()),
            Some("RX1".into())
        )
    );
    let pp = enc.prior_pending_location.as_ref().unwrap();
    assert_eq!(
        (v(&pp.ward), v(&pp.name)),
        (Some("WARD7".into()), Some("Old pending".into()))
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pv1-42-pv2-1", &b);
    let entries = b["entry"].as_array().unwrap();
    let by_url = |u: &serde_json::Value| {
        entries
            .iter()
            .find(|e| &e["fullUrl"] == u)
            .map(|e| e["resource"].clone())
            .unwrap()
    };
    let locs = entries[1]["resource"]["location"].as_array().unwrap();
    let statuses: Vec<&str> = locs.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["active", "reserved", "planned"]);
    // The pending location is the IG's hierarchy: bed partOf room partOf ward partOf site.
    let bed = by_url(&locs[1]["location"]["reference"]);
    assert_eq!(
        (
            bed["name"].as_str(),
            bed["physicalType"]["coding"][0]["code"].as_str()
        ),
        (Some("B2"), Some("bd"))
    );
    let room = by_url(&bed["partOf"]["reference"]);
    assert_eq!(room["name"], "R4");
    let ward = by_url(&locs[2]["location"]["reference"]);
    assert_eq!(
        (ward["name"].as_str(), ward["description"].as_str()),
        (Some("WARD7"), Some("Old pending"))
    );
    let back = read_back(&b);
    let back = back.encounter.unwrap();
    assert_eq!(
        v(&back.pending_location.unwrap().bed).as_deref(),
        Some("B2")
    );
    assert_eq!(
        v(&back.prior_pending_location.unwrap().ward).as_deref(),
        Some("WARD7")
    );
    assert_eq!(v(&back.location.unwrap().ward).as_deref(), Some("WARD1"));
}

#[test]
fn pv2_38_mode_of_arrival() {
    let mut pv2: Vec<String> = vec!["PV2".into()];
    pv2.resize(39, String::new());
    pv2[38] = "A".into();
    let msg = format!(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A04|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|E|AE1\r{}\r",
        pv2.join("|")
    );
    let msg = Message::parse(msg.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    assert!(
        !report
            .unmapped
            .iter()
            .any(|u| u.source.to_string().contains("PV2")),
        "{:#?}",
        report.unmapped
    );
    let m = &event
        .encounter
        .as_ref()
        .unwrap()
        .arrival_mode
        .as_ref()
        .unwrap()
        .value;
    // The display is the IG's ModeOfArrivalCode map's when none is sent.
    assert_eq!(
        (
            m.system.uri().as_str(),
            m.code.as_str(),
            m.display.as_deref()
        ),
        (
            "http://terminology.hl7.org/CodeSystem/v2-0430",
            "A",
            Some("Ambulance")
        )
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pv2-38", &b);
    let ext = b["entry"][1]["resource"]["extension"].as_array().unwrap();
    assert_eq!(
        ext[0],
        serde_json::json!({
            "url": "http://hl7.org/fhir/StructureDefinition/encounter-modeOfArrival",
            "valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0430", "code": "A", "display": "Ambulance"}
        })
    );
    let back = read_back(&b);
    assert_eq!(back.encounter.unwrap().arrival_mode.unwrap().value, *m);
}

#[test]
fn pv1_16_vip_indicator_is_special_courtesy() {
    let mut pv1: Vec<String> = ["PV1", "1", "I", "W1"].map(str::to_owned).to_vec();
    pv1.resize(17, String::new());
    pv1[16] = "VIP^Very important person^L^^^^v1".into();
    let msg = format!(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.8\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r{}\r",
        pv1.join("|")
    );
    let msg = Message::parse(msg.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    // CWE.7 (the coding system version) has no place in the model: unmapped.
    let pv1_left: Vec<String> = report
        .unmapped
        .iter()
        .map(|u| u.source.to_string())
        .filter(|p| p.contains("PV1"))
        .collect();
    assert_eq!(pv1_left.len(), 1, "{pv1_left:?}");
    assert!(pv1_left[0].contains("PV1[1]-16[1].7"), "{pv1_left:?}");
    let vip = &event
        .encounter
        .as_ref()
        .unwrap()
        .special_courtesy
        .as_ref()
        .unwrap()
        .value;
    assert_eq!(
        (vip.codes[0].code.as_str(), vip.codes[0].display.as_deref()),
        ("VIP", Some("Very important person"))
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pv1-16", &b);
    assert_eq!(
        b["entry"][1]["resource"]["hospitalization"]["specialCourtesy"],
        // The local system `L` has no URI: no `system` (the v2 mapper reports it).
        serde_json::json!([{"coding": [{"code": "VIP", "display": "Very important person"}]}])
    );
    let back = read_back(&b);
    // A local system is not written, so it reads back with none
    // (docs/mapping.md, "Round trips").
    let back = back.encounter.unwrap().special_courtesy.unwrap().value;
    assert_eq!(
        (back.codes[0].code.as_str(), back.codes[0].system.uri()),
        ("VIP", String::new())
    );
}

#[test]
fn pv1_15_ambulatory_status_is_special_arrangement() {
    let mut pv1: Vec<String> = ["PV1", "1", "I", "W1"].map(str::to_owned).to_vec();
    pv1.resize(16, String::new());
    pv1[15] = "A2~B6^Pregnant^HL70009".into();
    let msg = format!(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.8\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r{}\r",
        pv1.join("|")
    );
    let msg = Message::parse(msg.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    let codes: Vec<(String, Option<String>)> = event
        .encounter
        .as_ref()
        .unwrap()
        .ambulatory_status
        .iter()
        .map(|c| (c.value.code.clone(), c.value.display.clone()))
        .collect();
    assert_eq!(
        codes,
        [("A2".into(), None), ("B6".into(), Some("Pregnant".into()))]
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pv1-15", &b);
    // A2 through the IG's AmbulatoryStatus map; B6 stays in v2-0009.
    assert_eq!(
        b["entry"][1]["resource"]["hospitalization"]["specialArrangement"],
        serde_json::json!([
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/encounter-special-arrangements", "code": "wheel", "display": "Wheelchair"}]},
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0009", "code": "B6", "display": "Pregnant"}]}
        ])
    );
    let back = read_back(&b);
    let back: Vec<_> = back
        .encounter
        .unwrap()
        .ambulatory_status
        .into_iter()
        .map(|c| c.value)
        .collect();
    let sent: Vec<_> = event
        .encounter
        .unwrap()
        .ambulatory_status
        .into_iter()
        .map(|c| c.value)
        .collect();
    assert_eq!(back, sent);
}

#[test]
fn pv2_12_visit_description_is_the_narrative() {
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1\r\
PV2||||||||||||Check-up \\T\\ bloods <fasting>\r",
    )
    .unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    assert!(
        !report
            .unmapped
            .iter()
            .any(|u| u.source.to_string().contains("PV2")),
        "{:#?}",
        report.unmapped
    );
    let d = &event
        .encounter
        .as_ref()
        .unwrap()
        .description
        .as_ref()
        .unwrap()
        .value;
    assert_eq!(d, "Check-up & bloods <fasting>");
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pv2-12", &b);
    assert_eq!(
        b["entry"][1]["resource"]["text"],
        serde_json::json!({
            "status": "additional",
            "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Check-up &amp; bloods &lt;fasting&gt;</p></div>"
        })
    );
    let back = read_back(&b);
    assert_eq!(back.encounter.unwrap().description.unwrap().value, *d);
    // Another sender's narrative: its text, tags dropped.
    let mut other = b.clone();
    other["entry"][1]["resource"]["text"]["div"] = serde_json::json!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>Day case</b> &amp; review</p></div>"
    );
    let (back, _) = read_bundle(&other);
    assert_eq!(
        back.encounter.unwrap().description.unwrap().value,
        "Day case & review"
    );
    // A generated narrative restates the structured elements: not a description.
    other["entry"][1]["resource"]["text"]["status"] = serde_json::json!("generated");
    let (back, report) = read_bundle(&other);
    assert!(report.balanced());
    assert!(back.encounter.unwrap().description.is_none());
}

#[test]
fn pv1_40_bed_status_on_the_bed_location() {
    let pv1 = |pl: &str| {
        let mut f: Vec<String> = ["PV1", "1", "I", pl].map(str::to_owned).to_vec();
        f.resize(41, String::new());
        f[40] = "O".into();
        format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r{}\r",
            f.join("|")
        )
    };
    let msg = pv1("WARD1^ROOM2^BED3^RX1");
    let msg = Message::parse(msg.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    let bs = &event
        .encounter
        .as_ref()
        .unwrap()
        .bed_status
        .as_ref()
        .unwrap()
        .value;
    assert_eq!(
        (
            bs.system.uri().as_str(),
            bs.code.as_str(),
            bs.display.as_deref()
        ),
        (
            "http://terminology.hl7.org/CodeSystem/v2-0116",
            "O",
            Some("Occupied")
        )
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pv1-40", &b);
    let entries = b["entry"].as_array().unwrap();
    let url = &b["entry"][1]["resource"]["location"][0]["location"]["reference"];
    let bed = entries.iter().find(|x| &x["fullUrl"] == url).unwrap();
    assert_eq!(bed["resource"]["name"], "BED3");
    assert_eq!(
        bed["resource"]["operationalStatus"],
        serde_json::json!({"system": "http://terminology.hl7.org/CodeSystem/v2-0116", "code": "O", "display": "Occupied"})
    );
    // Only the most granular Location carries it.
    let with_status = entries
        .iter()
        .filter(|x| x["resource"].get("operationalStatus").is_some())
        .count();
    assert_eq!(with_status, 1);
    let back = read_back(&b);
    assert_eq!(back.encounter.unwrap().bed_status.unwrap().value, *bs);
    // A ward alone has no bed to give a status: PV1-40 stays in the report.
    let msg = pv1("WARD1^^^RX1");
    let msg = Message::parse(msg.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    assert!(event.encounter.unwrap().bed_status.is_none());
    assert!(
        report
            .unmapped
            .iter()
            .any(|u| u.source.to_string().contains("PV1[1]-40") && u.raw == "O")
    );
}

/// IG XCN[Practitioner]: a clinician whose id is not on a UK register keeps
/// its XCN.13 type (v2-0203) and XCN.9 namespace (assigner); the name keeps
/// its XCN.19/20 validity, the XCN.21 professional suffix and an IG name
/// type (NAV: temp). A register id keeps its UK system; its XCN.13 and an
/// id's unused authority parts are reported unmapped, not dropped silently.
#[test]
fn xcn_identifier_type_assigner_and_name_validity() {
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PD1|||Y12345^^^^^^^^^Y12345|88^HIPPO^ROLD^^^^^^TE^^^^DN\r\
PV1|1|I|W1||||D123^ALAZ^MO^^JR^DR^MD^^PERSONNEL&1.23&HCD^NAV^^^DN^^^^^^20240101^20241231^FRCP|C7654321^BROWN^BOB^^^^^^GMC^^^^DN|C008^CONDOC^LEE^^^^^^&1.3.6.1.4.1.44750&ISO||||||||G1234567^JONES\r",
    )
    .unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    let unmapped: Vec<String> = report
        .unmapped
        .iter()
        .map(|u| u.source.to_string())
        .collect();
    let left = |at: &str| unmapped.iter().any(|s| s.contains(&format!("PV1[1]-{at}")));
    // PV1-7: the universal id and its type are not kept on a typed id.
    assert!(left("7[1].9.2 "), "{unmapped:?}");
    assert!(left("7[1].9.3 "), "{unmapped:?}");
    assert!(!left("7[1].13"), "{unmapped:?}");
    // PV1-8: a GMC number's XCN.13 is not kept.
    assert!(left("8[1].13.1 "), "{unmapped:?}");
    // PV1-17: with no XCN.9 / XCN.13, a GMP code by its shape.
    assert!(!left("17[1]"), "{unmapped:?}");
    // PD1-4: the GP's identifier and name (the Practitioner the
    // generalPractitioner reference resolves to).
    assert!(
        !unmapped.iter().any(|s| s.contains("PD1[1]-4")),
        "{unmapped:?}"
    );
    let gp_name = &event
        .patient
        .as_ref()
        .unwrap()
        .gp_name
        .as_ref()
        .unwrap()
        .value;
    assert_eq!(
        (gp_name.family.as_deref(), gp_name.given.as_slice()),
        (Some("HIPPO"), &["ROLD".to_owned()][..])
    );
    assert_eq!(
        event.patient.as_ref().unwrap().gp.as_ref().unwrap().value,
        carecodec_model::Identifier::Typed {
            kind: "DN".into(),
            value: "88".into(),
            authority: Some("TE".into()),
            system: None,
        }
    );
    // PV1-9: the OID is the system.
    assert!(!left("9[1]"), "{unmapped:?}");
    let enc = event.encounter.as_ref().unwrap();
    let by_role = |r: &str| {
        &enc.participants
            .iter()
            .find(|p| p.role == r)
            .unwrap()
            .practitioner
    };
    let attender = by_role("ATND");
    assert_eq!(
        attender.identifiers[0].value,
        carecodec_model::Identifier::Typed {
            kind: "DN".into(),
            value: "D123".into(),
            authority: Some("PERSONNEL".into()),
            system: None,
        }
    );
    let n = &attender.name.as_ref().unwrap().value;
    assert_eq!(n.suffix, ["JR", "MD", "FRCP"]);
    assert_eq!(n.usage.as_deref(), Some("temp"));
    let p = n.period.as_ref().unwrap();
    assert_eq!(
        p.start.as_ref().unwrap().at.date_naive().to_string(),
        "2024-01-01"
    );
    assert_eq!(
        p.end.as_ref().unwrap().at.date_naive().to_string(),
        "2024-12-31"
    );
    assert_eq!(
        by_role("REF").identifiers[0].value,
        carecodec_model::Identifier::Gmc("7654321".into())
    );
    assert_eq!(
        by_role("ADM").identifiers[0].value,
        carecodec_model::Identifier::Gmp("G1234567".into())
    );
    assert_eq!(
        by_role("CON").identifiers[0].value,
        carecodec_model::Identifier::Other {
            system: Some("urn:oid:1.3.6.1.4.1.44750".into()),
            value: "C008".into(),
        }
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("xcn", &b);
    let practitioner = |family: &str| {
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| &x["resource"])
            .find(|r| r["resourceType"] == "Practitioner" && r["name"][0]["family"] == family)
            .unwrap()
            .clone()
    };
    let alaz = practitioner("ALAZ");
    assert_eq!(
        alaz["identifier"],
        serde_json::json!([{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "DN"}]},
            "value": "D123",
            "assigner": {"display": "PERSONNEL"},
        }])
    );
    assert_eq!(alaz["name"][0]["use"], "temp");
    assert_eq!(
        alaz["name"][0]["suffix"],
        serde_json::json!(["JR", "MD", "FRCP"])
    );
    assert_eq!(alaz["name"][0]["period"]["start"], "2024-01-01");
    assert_eq!(alaz["name"][0]["period"]["end"], "2024-12-31");
    assert_eq!(
        practitioner("BROWN")["identifier"],
        serde_json::json!([{"system": "https://fhir.hl7.org.uk/Id/gmc-number", "value": "7654321"}])
    );
    assert_eq!(
        practitioner("CONDOC")["identifier"],
        serde_json::json!([{"system": "urn:oid:1.3.6.1.4.1.44750", "value": "C008"}])
    );
    let back = read_back(&b);
    assert_eq!(
        back.patient.as_ref().unwrap().gp.as_ref().unwrap().value,
        event.patient.as_ref().unwrap().gp.as_ref().unwrap().value
    );
    let back = back.encounter.unwrap();
    for role in ["ATND", "REF", "CON", "ADM"] {
        let orig = by_role(role);
        let read = &back
            .participants
            .iter()
            .find(|p| p.role == role)
            .unwrap()
            .practitioner;
        assert_eq!(
            read.identifiers[0].value, orig.identifiers[0].value,
            "{role}"
        );
        assert_eq!(
            read.name.as_ref().map(|n| &n.value),
            orig.name.as_ref().map(|n| &n.value),
            "{role}"
        );
    }
}

/// A GP national code under the `GMC` authority (as the NHS ITK examples send
/// PD1-4 and PV1-8) is a GMP code; a GMC number (`C` + 7) under `GMC` stays one.
#[test]
fn xcn_gp_code_under_gmc_authority_is_gmp() {
    let msg = Message::parse(
        b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PD1||||G5612908^TOWNLEY^GREGORY^^^DR^^^GMC\r\
PV1|1|I|W1||||C3456789^DARWIN^SAMUEL^^^DR^^^GMC|G5612908^TOWNLEY^GREGORY^^^DR^^^GMC\r",
    )
    .unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    let gp = event.patient.as_ref().unwrap().gp.as_ref().unwrap();
    assert_eq!(
        gp.value,
        carecodec_model::Identifier::Gmp("G5612908".into())
    );
    let enc = event.encounter.as_ref().unwrap();
    let id = |role: &str| {
        enc.participants
            .iter()
            .find(|p| p.role == role)
            .unwrap()
            .practitioner
            .identifiers[0]
            .value
            .clone()
    };
    assert_eq!(
        id("ATND"),
        carecodec_model::Identifier::Gmc("3456789".into())
    );
    assert_eq!(
        id("REF"),
        carecodec_model::Identifier::Gmp("G5612908".into())
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("gmc-gp", &b);
    assert!(
        b.to_string()
            .contains(r#"{"system":"https://fhir.hl7.org.uk/Id/gmp-number","value":"G5612908"}"#)
    );
}

/// CX.4 / XCN.9 universal ids as identifier systems: written beside the type
/// and assigner, read back into the same field with their FHIR path, the
/// Bundle valid UK Core; the NHS number keeps its system and the key URL.
#[test]
fn authority_systems_are_written_and_read_back() {
    let bytes = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240101||ADT^A01|7|P|2.5\r\
PID|1||9434765919^^^NHS&2.16.840.1.113883.2.1.4.1&ISO^NH~K9^^^RX1&1.2.826.0.1.99&ISO^MR~A55^^^&0f8fad5b-d9cb-469f-a165-70867728950e&UUID^AN||SMITH^JOHN\r\
PV1|1|I|||||C123^DOC^ANN^^^^^^&1.2.3.4&ISO^^^^DN||||||||||||V55^^^RX1&2.16.840.1.113883.19&ISO^VN\r";
    assert_eq!(check("authority systems", bytes), 1);
    let msg = Message::parse(bytes).unwrap();
    let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    let b = event_bundle(&event).unwrap();
    let entry = &b["entry"][0];
    assert_eq!(
        entry["request"]["url"],
        "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919"
    );
    let ids = &entry["resource"]["identifier"];
    assert_eq!(ids[0]["system"], "https://fhir.nhs.uk/Id/nhs-number");
    assert_eq!(ids[1]["system"], "urn:oid:1.2.826.0.1.99");
    assert_eq!(ids[1]["type"]["coding"][0]["code"], "MR");
    assert_eq!(ids[1]["assigner"]["identifier"]["value"], "RX1");
    assert_eq!(
        ids[2]["system"],
        "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"
    );
    assert_eq!(ids[2]["type"]["coding"][0]["code"], "AN");
    let resources: Vec<&serde_json::Value> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let enc = resources
        .iter()
        .find(|r| r["resourceType"] == "Encounter")
        .unwrap();
    assert_eq!(
        enc["identifier"][0]["system"],
        "urn:oid:2.16.840.1.113883.19"
    );
    assert_eq!(enc["identifier"][0]["type"]["coding"][0]["code"], "VN");
    let doc = resources
        .iter()
        .find(|r| r["resourceType"] == "Practitioner")
        .unwrap();
    assert_eq!(doc["identifier"][0]["system"], "urn:oid:1.2.3.4");
    assert_eq!(doc["identifier"][0]["type"]["coding"][0]["code"], "DN");
    // Back: the same identifiers, the system's FHIR path among the sources,
    // nothing unmapped.
    let back = read_back(&b);
    let values = |e: &carecodec_model::Event| -> Vec<carecodec_model::Identifier> {
        e.patient
            .as_ref()
            .unwrap()
            .identifiers
            .iter()
            .map(|i| i.value.clone())
            .collect()
    };
    assert_eq!(values(&back), values(&event));
    let mrn = &back.patient.as_ref().unwrap().identifiers[1];
    assert!(
        mrn.sources
            .iter()
            .any(|s| matches!(s, carecodec_model::Source::Fhir { path } if path.ends_with("identifier[1].system"))),
        "{:?}",
        mrn.sources
    );
    let visit =
        |e: &carecodec_model::Event| e.encounter.as_ref().unwrap().identifiers[0].value.clone();
    assert_eq!(visit(&back), visit(&event));
}

/// An MRN-keyed patient: with a system (the assigning authority's universal
/// id) it is a conditional update on it, so a re-sent message updates the
/// same Patient; without one it is a create, as a token search cannot name
/// an assigner (the value alone would match other trusts' numbers). A
/// conditional update's id comes from its key alone, the same for every
/// message (R4 refuses an update whose body id is not the matched one's).
#[test]
fn an_mrn_with_a_system_keys_a_conditional_update() {
    let with = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240101||ADT^A01|8|P|2.5\r\
PID|1||K9^^^RX1&1.2.826.0.1.99&ISO^MR||SMITH^JOHN\r";
    let without = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240101||ADT^A01|8|P|2.5\r\
PID|1||K9^^^RX1^MR||SMITH^JOHN\r";
    let bundle = |bytes: &[u8]| {
        let msg = Message::parse(bytes).unwrap();
        let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
        event_bundle(&event).unwrap()
    };
    let (a, b) = (bundle(with), bundle(without));
    assert_eq!(
        a["entry"][0]["request"],
        serde_json::json!({"method": "PUT", "url": "Patient?identifier=urn:oid:1.2.826.0.1.99|K9"})
    );
    assert_eq!(
        b["entry"][0]["request"],
        serde_json::json!({"method": "POST", "url": "Patient"})
    );
    assert_ne!(a["entry"][0]["fullUrl"], b["entry"][0]["fullUrl"]);
    assert_eq!(a, bundle(with));
    // Another message about the same patient: the same id in the PUT.
    let later = String::from_utf8_lossy(with).replace("ADT^A01|8|", "ADT^A08|9|");
    let later = bundle(later.as_bytes());
    assert_eq!(later["entry"][0]["fullUrl"], a["entry"][0]["fullUrl"]);
    assert_eq!(
        later["entry"][0]["resource"]["id"],
        a["entry"][0]["resource"]["id"]
    );
    assert_eq!(
        a["entry"][0]["resource"]["identifier"][0]["system"],
        "urn:oid:1.2.826.0.1.99"
    );
    // A value with a space or FHIR's search separators is escaped in the URL.
    let odd = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240101||ADT^A01|8|P|2.5\r\
PID|1||K 9,1\\F\\x$\\E\\^^^RX1&1.2.826.0.1.99&ISO^MR||SMITH^JOHN\r";
    assert_eq!(
        bundle(odd)["entry"][0]["request"]["url"],
        "Patient?identifier=urn:oid:1.2.826.0.1.99|K%209%5C%2C1%5C%7Cx%5C%24%5C%5C"
    );
}

#[test]
fn pd1_3_practice_name_is_the_reference_display() {
    let text = format!("{}PD1|||Riverside Surgery^^^^^^^^^B82001\r", pid_with(&[]));
    let (event, report) = mapped(&text);
    none_unmapped(&report, "PD1[1]-3");
    let p = event.patient.as_ref().unwrap();
    let name = p.gp_practice_name.as_ref().unwrap();
    assert_eq!(name.value, "Riverside Surgery");
    let at = name.sources[0].to_string();
    assert!(at.starts_with("HL7 v2 PD1[1]-3.1 (bytes "), "{at}");
    let b = event_bundle(&event).unwrap();
    uk_core_valid("pd1-3 name", &b);
    assert_eq!(
        b["entry"][0]["resource"]["generalPractitioner"][0],
        serde_json::json!({
            "type": "Organization",
            "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "B82001"},
            "display": "Riverside Surgery"
        })
    );
    let back = read_back(&b);
    let q = back.patient.unwrap();
    assert_eq!(q.gp_practice_name.unwrap().value, "Riverside Surgery");
    assert_eq!(
        q.gp_practice.map(|g| g.value),
        p.gp_practice.as_ref().map(|g| g.value.clone())
    );

    // A name without an ODS code has nothing to name: reported, not kept.
    let text = format!("{}PD1|||Riverside Surgery\r", pid_with(&[]));
    let (event, report) = mapped(&text);
    let p = event.patient.unwrap();
    assert!(p.gp_practice.is_none() && p.gp_practice_name.is_none());
    assert!(
        report
            .unmapped
            .iter()
            .any(|u| u.source.to_string().starts_with("HL7 v2 PD1[1]-3[1].1")
                && u.raw == "Riverside Surgery"),
        "{:?}",
        report.unmapped
    );
}

#[test]
fn msh_11_processing_id_is_a_meta_tag() {
    let text = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|T^R|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r";
    let (event, report) = mapped(text);
    let p = event.processing.as_ref().unwrap();
    assert_eq!(
        (p.value.system.uri().as_str(), p.value.code.as_str()),
        ("http://terminology.hl7.org/CodeSystem/v2-0103", "T")
    );
    assert!(
        p.sources[0]
            .to_string()
            .starts_with("HL7 v2 MSH[1]-11.1 (bytes ")
    );
    // MSH-11.2, the processing mode, has no place: reported.
    assert!(
        report
            .unmapped
            .iter()
            .any(|u| u.source.to_string().starts_with("HL7 v2 MSH[1]-11[1].2") && u.raw == "R"),
        "{:?}",
        report.unmapped
    );
    let tag = serde_json::json!([{"system": "http://terminology.hl7.org/CodeSystem/v2-0103", "code": "T"}]);
    // A transaction Bundle carries it in its own meta.
    let b = event_bundle(&event).unwrap();
    uk_core_valid("msh-11 transaction", &b);
    assert_eq!(b["meta"]["tag"], tag);
    // A message Bundle's MessageHeader carries it (IG), beside its profile.
    let m = event_bundle_with(&event, BundleType::Message).unwrap();
    uk_core_valid("msh-11 message", &m);
    let header = &m["entry"][0]["resource"];
    assert_eq!(header["resourceType"], "MessageHeader");
    assert_eq!(header["meta"]["tag"], tag);
    assert_eq!(
        header["meta"]["profile"][0],
        "https://fhir.hl7.org.uk/StructureDefinition/UKCore-MessageHeader"
    );
    assert!(m.get("meta").is_none());
    for (bundle, at) in [
        (&b, "FHIR Bundle.meta.tag[0].code"),
        (&m, "FHIR Bundle.entry[0].resource.meta.tag[0].code"),
    ] {
        let back = read_back(bundle);
        let q = back.processing.unwrap();
        assert_eq!(q.value, p.value);
        assert_eq!(q.sources[0].to_string(), at);
    }
}

#[test]
fn an_event_without_a_patient_refers_to_no_subject() {
    // An ORU (or an ADT) with no PID: results are written without a subject
    // (it is optional); an allergy's patient and a condition's or an order's
    // subject, which R4 requires, say why they are missing
    // (data-absent-reason). They used to
    // carry `{"reference": ""}`, which is not FHIR (a string is never empty).
    let (event, _) = mapped(
        "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500||ORU^R01|77|P|2.4\r\
         AL1|1|DA|91936005^Allergy to penicillin^SCT|SV|Rash\r\
         DG1|1||R07.4^Chest pain, unspecified^I10||20240312|W\r\
         OBR|1||LAB1|1000^Full blood count^L\r\
         OBX|1|NM|718-7^Haemoglobin^LN||135|g/L|||||F\r",
    );
    assert!(event.patient.is_none());
    let b = event_bundle(&event).unwrap();
    let mut written = Vec::new();
    write_event_bundle(&event, BundleType::Transaction, &mut written).unwrap();
    let text = String::from_utf8(written).unwrap();
    assert!(!text.contains("\"reference\":\"\""));
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text).unwrap();
    let absent = serde_json::json!({"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]});
    let mut seen = Vec::new();
    for e in b["entry"].as_array().unwrap() {
        let r = &e["resource"];
        let rt = r["resourceType"].as_str().unwrap();
        seen.push(rt);
        match rt {
            "AllergyIntolerance" => assert_eq!(r["patient"], absent),
            "Condition" | "ServiceRequest" => assert_eq!(r["subject"], absent),
            _ => assert!(r.get("subject").is_none(), "{r}"),
        }
    }
    for rt in [
        "AllergyIntolerance",
        "Condition",
        "Observation",
        "DiagnosticReport",
    ] {
        assert!(seen.contains(&rt), "{rt} missing: {seen:?}");
    }
    let (_, report) = read_bundle(&b);
    assert!(report.balanced());
    assert!(report.unmapped.is_empty(), "{:?}", report.unmapped);
}

#[test]
fn diagnosis_type_and_priority_as_encounter_diagnosis() {
    // IG DG1[Encounter]: DG1-6 → Encounter.diagnosis.use (DiagnosisType map:
    // A → AD), DG1-15 → rank; DG1-6 here is a v2.7 CWE with its display.
    let (event, report) = mapped(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|dx1|P|2.7\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
         PV1|1|I|WARD1\r\
         DG1|1||I10^Essential hypertension^I10||20240312|A^Admitting^HL70052|||||||||1\r\
         DG1|2||J45^Asthma^I10||20240312|W|||||||||x\r",
    );
    none_unmapped(&report, "DG1[1]-6");
    none_unmapped(&report, "DG1[1]-15");
    let c = &event.conditions;
    let t = c[0].diagnosis_type.as_ref().unwrap();
    assert_eq!(
        (t.value.code.as_str(), t.value.display.as_deref()),
        ("A", Some("Admitting"))
    );
    assert_eq!(c[0].priority.as_ref().map(|p| p.value), Some(1));
    assert_eq!(c[1].diagnosis_type.as_ref().unwrap().value.code, "W");
    // DG1-15 `x` is no priority: reported invalid, and dropped.
    assert!(c[1].priority.is_none());
    assert!(
        report
            .invalid
            .iter()
            .any(|i| i.raw == "x" && i.source.to_string().contains("DG1[2]-15")),
        "{:?}",
        report.invalid
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("encounter diagnosis", &b);
    let entries = b["entry"].as_array().unwrap();
    let url_of = |rt: &str, n: usize| {
        entries
            .iter()
            .filter(|e| e["resource"]["resourceType"] == rt)
            .nth(n)
            .map(|e| e["fullUrl"].clone())
            .unwrap()
    };
    let enc = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Encounter")
        .unwrap();
    let dx = enc["resource"]["diagnosis"].as_array().unwrap();
    assert_eq!(dx.len(), 2);
    assert_eq!(dx[0]["condition"]["reference"], url_of("Condition", 0));
    assert_eq!(dx[1]["condition"]["reference"], url_of("Condition", 1));
    assert_eq!(
        dx[0]["use"]["coding"],
        serde_json::json!([
            {"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": "AD", "display": "Admission diagnosis"},
            {"system": "http://terminology.hl7.org/CodeSystem/v2-0052", "code": "A", "display": "Admitting"}
        ])
    );
    assert_eq!(dx[0]["rank"], 1);
    // W (working) has no diagnosis-role code: the v2 coding alone.
    assert_eq!(
        dx[1]["use"]["coding"],
        serde_json::json!([{"system": "http://terminology.hl7.org/CodeSystem/v2-0052", "code": "W"}])
    );
    assert!(dx[1].get("rank").is_none());
    let back = read_back(&b);
    for (x, y) in back.conditions.iter().zip(&event.conditions) {
        assert_eq!(
            x.diagnosis_type.as_ref().map(|t| &t.value),
            y.diagnosis_type.as_ref().map(|t| &t.value)
        );
        assert_eq!(
            x.priority.as_ref().map(|p| p.value),
            y.priority.as_ref().map(|p| p.value)
        );
    }
    // Another sender's Bundle with only the diagnosis-role code reads as table 0052 A.
    let mut only_role = b.clone();
    let enc_at = entries
        .iter()
        .position(|e| e["resource"]["resourceType"] == "Encounter")
        .unwrap();
    only_role["entry"][enc_at]["resource"]["diagnosis"][0]["use"]["coding"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let back = read_back(&only_role);
    let t = back.conditions[0].diagnosis_type.as_ref().unwrap();
    assert_eq!(
        (t.value.code.as_str(), t.value.display.as_deref()),
        ("A", None)
    );
}

#[test]
fn a_deleted_diagnosis_is_entered_in_error() {
    // DG1-21 action code: `D` (delete) is verificationStatus entered-in-error
    // (IG); `A` (add) has no target and is reported.
    let (event, report) = mapped(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|dx2|P|2.5\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
         PV1|1|I|WARD1\r\
         DG1|1||I10^Essential hypertension^I10|||F|||||||||||||||D\r\
         DG1|2||J45^Asthma^I10|||F|||||||||||||||A\r",
    );
    none_unmapped(&report, "DG1[1]-21");
    assert!(
        report
            .unmapped
            .iter()
            .any(|u| u.raw == "A" && u.source.to_string().contains("DG1[2]-21")),
        "{:?}",
        report.unmapped
    );
    let v: Vec<_> = event
        .conditions
        .iter()
        .map(|c| c.verification.as_ref().map(|a| a.value.as_str()))
        .collect();
    assert_eq!(v, [Some("entered-in-error"), None]);
    let b = event_bundle(&event).unwrap();
    uk_core_valid("deleted diagnosis", &b);
    let conditions: Vec<_> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Condition")
        .collect();
    assert_eq!(
        conditions[0]["verificationStatus"]["coding"][0],
        serde_json::json!({"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error"})
    );
    assert!(conditions[1].get("verificationStatus").is_none());
    let back = read_back(&b);
    assert_eq!(
        back.conditions[0]
            .verification
            .as_ref()
            .map(|a| a.value.as_str()),
        Some("entered-in-error")
    );
    assert!(back.conditions[1].verification.is_none());
}

#[test]
fn datatype_parts_the_model_does_not_keep_are_reported() {
    // A UK Core Patient from another system: the name's text, the address's
    // state and text, an identifier's `use` and `period`, a telecom's
    // extension have no place in the model. They are reported unmapped, not
    // consumed with the element they sit in.
    let doc = serde_json::json!({
        "resourceType": "Patient",
        "identifier": [
            {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"},
            {"use": "old", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
             "value": "A123", "period": {"end": "2019-01-01"},
             "assigner": {"display": "St Elsewhere"}}
        ],
        "name": [{"use": "official", "text": "Mr John SMITH", "family": "Smith", "given": ["John"],
                  "period": {"start": "not a date"}}],
        "telecom": [{"system": "phone", "value": "0113 000 0000",
                     "extension": [{"url": "http://example.org/x", "valueBoolean": true}]}],
        "address": [{"use": "home", "type": "both", "text": "1 High St, Leeds", "line": ["1 High St"],
                     "city": "Leeds", "state": "West Yorkshire", "postalCode": "LS1 1AA"}]
    });
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let unmapped: Vec<&str> = report
        .unmapped
        .iter()
        .map(|u| match &u.source {
            carecodec_model::Source::Fhir { path } => path.as_str(),
            _ => "",
        })
        .collect();
    for path in [
        "Patient.identifier[1].use",
        "Patient.identifier[1].period.end",
        "Patient.name[0].text",
        "Patient.telecom[0].extension[0].url",
        "Patient.telecom[0].extension[0].valueBoolean",
        "Patient.address[0].text",
        "Patient.address[0].state",
    ] {
        assert!(
            unmapped.contains(&path),
            "{path} not reported: {unmapped:?}"
        );
    }
    // What the model keeps is consumed.
    for kept in [
        "Patient.identifier[1].value",
        "Patient.identifier[1].assigner.display",
        "Patient.address[0].type",
        "Patient.name[0].family",
    ] {
        assert!(!unmapped.contains(&kept), "{kept} reported: {unmapped:?}");
    }
    // An unreadable period date is reported invalid and dropped.
    assert!(report.invalid.iter().any(|i| {
        i.raw == "not a date"
            && i.source
                .to_string()
                .contains("Patient.name[0].period.start")
    }));
    let p = event.patient.unwrap();
    assert_eq!(p.addresses[0].value.kind.as_deref(), Some("both"));
    assert!(p.names[0].value.period.is_none());
}

#[test]
fn address_type_from_xad_7() {
    // XAD.7 `M` (mailing) is Address.type postal (IG AddressType[Type]); `N`
    // (birth address) has no FHIR target and is reported.
    let (event, report) = mapped(&format!(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A28|ad1|P|2.5\r{}\r",
        pid_with(&[
            (3, "9434765919^^^NHS^NH"),
            (5, "SMITH^JOHN"),
            (
                11,
                "1 High St^^Leeds^^LS1 1AA^^M~2 Low St^^York^^YO1 1AA^^N"
            ),
        ])
    ));
    let p = event.patient.as_ref().unwrap();
    assert_eq!(p.addresses[0].value.kind.as_deref(), Some("postal"));
    assert_eq!(p.addresses[0].value.usage, None);
    assert_eq!(p.addresses[1].value.kind, None);
    assert!(
        report
            .unmapped
            .iter()
            .any(|u| u.raw == "N" && u.source.to_string().contains("PID[1]-11[2].7")),
        "{:?}",
        report.unmapped
    );
    none_unmapped(&report, "PID[1]-11[1].7");
    let b = event_bundle(&event).unwrap();
    uk_core_valid("address type", &b);
    assert_eq!(b["entry"][0]["resource"]["address"][0]["type"], "postal");
    let back = read_back(&b);
    assert_eq!(
        back.patient.unwrap().addresses[0].value.kind.as_deref(),
        Some("postal")
    );
}

#[test]
fn labels_and_coding_details_the_model_does_not_keep_are_reported() {
    // A security label, a coding's version and a quantity in a non-UCUM unit
    // system have no place in the model: each is reported rather than
    // consumed with its element. An allergy another system marks resolved
    // keeps that status.
    let doc = serde_json::json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
             "resource": {"resourceType": "Patient",
                          "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"],
                                   "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]},
                          "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}]}},
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000002",
             "resource": {"resourceType": "AllergyIntolerance",
                          "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "resolved"}]},
                          "code": {"coding": [{"system": "http://snomed.info/sct", "version": "http://snomed.info/sct/83821000000107", "code": "91936005", "display": "Penicillin allergy"}]},
                          "patient": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"}}},
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000003",
             "resource": {"resourceType": "Observation", "status": "final",
                          "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                          "valueQuantity": {"value": 72, "unit": "beats/minute", "system": "http://snomed.info/sct", "code": "258983007"}}},
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000004",
             "resource": {"resourceType": "DiagnosticReport", "status": "final",
                          "code": {"text": "Observations"},
                          "result": [{"reference": "urn:uuid:00000000-0000-4000-8000-000000000003"}]}}
        ]
    });
    let (event, report) = read_bundle(&doc);
    assert!(report.balanced());
    let unmapped: Vec<String> = report
        .unmapped
        .iter()
        .map(|u| u.source.to_string())
        .collect();
    for path in [
        "Bundle.entry[0].resource.meta.security[0].code",
        "Bundle.entry[1].resource.code.coding[0].version",
        "Bundle.entry[2].resource.valueQuantity.system",
        "Bundle.entry[2].resource.valueQuantity.code",
    ] {
        assert!(
            unmapped.iter().any(|u| u.ends_with(path)),
            "{path} not reported: {unmapped:?}"
        );
    }
    assert!(
        !unmapped.iter().any(|u| u.contains("meta.profile")),
        "{unmapped:?}"
    );
    // The values themselves are read, the allergy's status with them.
    assert_eq!(event.allergies[0].code.value.codes[0].code, "91936005");
    assert_eq!(
        event.allergies[0]
            .clinical_status
            .as_ref()
            .map(|c| c.value.as_str()),
        Some("resolved")
    );
    let carecodec_model::ObservationValue::Quantity(q) = &event.reports[0].observations[0]
        .value
        .as_ref()
        .unwrap()
        .value
    else {
        panic!("not a quantity")
    };
    assert_eq!(
        (q.value.as_str(), q.unit.as_deref(), q.ucum.as_deref()),
        ("72", Some("beats/minute"), None)
    );
}

/// The JSON leaf at a FHIR element path as the reader reports it
/// (`Patient.name[0].given[1]`, `Bundle.entry[2].resource.code.text`).
fn leaf_at<'v>(doc: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    let mut v = doc;
    for part in path.split('.').skip(1) {
        let (key, index) = match part.split_once('[') {
            Some((k, i)) => (k, Some(i.trim_end_matches(']').parse::<usize>().ok()?)),
            None => (part, None),
        };
        v = v.get(key)?;
        if let Some(i) = index {
            v = v.get(i)?;
        }
    }
    Some(v)
}

/// The paths of every FHIR source in `v` (a model value as JSON); every
/// sourced value must have a source.
fn collect_fhir_paths(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            if let (Some(_), Some(srcs)) = (o.get("value"), o.get("sources")) {
                assert!(!srcs.as_array().unwrap().is_empty(), "no source: {o:?}");
            }
            if o.get("format").and_then(|f| f.as_str()) == Some("fhir") {
                out.push(o["path"].as_str().unwrap().to_owned());
            }
            o.values().for_each(|x| collect_fhir_paths(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_fhir_paths(x, out)),
        _ => {}
    }
}

#[test]
fn uk_core_examples_are_read_with_every_leaf_accounted() {
    // Third-party FHIR: the UK Core examples of the resources the model
    // reads, as published (XML), read as the JSON carecodec-fhir converts
    // them to, with numbers as written. Every leaf is either read or
    // reported, and what is reported is the leaf at the path given.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/fhir/ukcore/xml");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found ({})", dir.display());
        return;
    }
    const READ: [&str; 10] = [
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Location",
        "Encounter",
        "Observation",
        "DiagnosticReport",
        "AllergyIntolerance",
        "Condition",
    ];
    let mut totals: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    let (mut sources, mut rejected) = (0, Vec::new());
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(json) = carecodec_fhir::xml::xml_to_json(&std::fs::read(&path).unwrap()) else {
            rejected.push(name);
            continue;
        };
        let document = JsonDocument::from_slice(json.as_bytes()).unwrap();
        let doc = document.value();
        let rt = doc["resourceType"].as_str().unwrap_or_default().to_owned();
        if !READ.contains(&rt.as_str()) {
            continue;
        }
        let (event, report) = read_bundle(&document);
        assert!(report.balanced(), "{name}");
        // Practitioners, roles, organisations and locations are read where
        // a resource refers to them: alone, none of their leaves is read
        // (not even resourceType and id).
        if [
            "Practitioner",
            "PractitionerRole",
            "Organization",
            "Location",
        ]
        .contains(&rt.as_str())
        {
            assert_eq!(report.mapped, 0, "{name}: read alone");
        } else {
            assert!(report.mapped > 0, "{name}: nothing read");
        }
        // Every value read names an element the example has.
        let mut fhir_paths = Vec::new();
        collect_fhir_paths(&serde_json::to_value(&event).unwrap(), &mut fhir_paths);
        for at in &fhir_paths {
            assert!(leaf_at(doc, at).is_some(), "{name}: no element at {at}");
        }
        sources += fhir_paths.len();
        for u in &report.unmapped {
            let carecodec_model::Source::Fhir { path: at } = &u.source else {
                panic!("{name}: not a FHIR source: {:?}", u.source);
            };
            let leaf = leaf_at(doc, at).unwrap_or_else(|| panic!("{name}: no leaf at {at}"));
            let text = match document.literal(at) {
                Some(literal) => literal.to_owned(),
                None => leaf
                    .as_str()
                    .map_or_else(|| leaf.to_string(), str::to_owned),
            };
            assert_eq!(text, u.raw, "{name}: {at}");
        }
        let t = totals.entry(rt).or_default();
        t.0 += 1;
        t.1 += report.source_leaves;
        t.2 += report.mapped;
    }
    println!(
        "UK Core examples read ({sources} sources of values read, each naming an element the example has; resource, files, leaves, read):"
    );
    for (rt, (files, leaves, read)) in &totals {
        let share = 100.0 * *read as f64 / (*leaves).max(1) as f64;
        println!("  {rt:<20} {files:>3} {leaves:>5} {read:>5} ({share:.1} %)");
    }
    assert!(totals.len() >= 8, "{totals:?}");
    assert!(sources > 200, "{sources} sources");
    // The one example that is not valid R4 (SOURCES: value[x] given twice).
    assert_eq!(rejected, ["Extension-UKCore-ConditionEpisode-Example.xml"]);
}

#[test]
fn an_adt_obx_is_a_standalone_observation() {
    // An OBX before any OBR (an ADT's height): an Observation of no report
    // (IG: ADT OBX → Observation), with the encounter; no DiagnosticReport.
    let (event, report) = mapped(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|ob1|P|2.5\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
         PV1|1|I|WARD1\r\
         OBX|1|NM|8302-2^Body height^LN||180|cm^^UCUM|||||F\r\
         NTE|1||Measured standing\r",
    );
    none_unmapped(&report, "OBX");
    none_unmapped(&report, "NTE");
    assert!(event.reports.is_empty());
    assert_eq!(event.observations.len(), 1);
    assert_eq!(event.observations[0].notes[0].value, "Measured standing");
    let b = event_bundle(&event).unwrap();
    uk_core_valid("standalone observation", &b);
    let entries = b["entry"].as_array().unwrap();
    let kinds: Vec<_> = entries
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"DiagnosticReport"), "{kinds:?}");
    let enc_url = &entries[kinds.iter().position(|k| *k == "Encounter").unwrap()]["fullUrl"];
    let obs = &entries[kinds.iter().position(|k| *k == "Observation").unwrap()]["resource"];
    assert_eq!(&obs["encounter"]["reference"], enc_url);
    assert_eq!(obs["valueQuantity"]["value"], 180);
    let back = read_back(&b);
    assert!(back.reports.is_empty());
    assert_eq!(back.observations.len(), 1);
    assert_eq!(
        back.observations[0].code.value,
        event.observations[0].code.value
    );
}

#[test]
fn the_gp_is_a_practitioner_entry_with_its_name() {
    // PD1-4 (IG generalPractitioner(Practitioner)): the reference keeps the
    // GP code as its identifier and resolves to a Practitioner entry with
    // the code and the name.
    let (event, report) = mapped(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|gp1|P|2.4\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
         PD1|||ASHFIELD SURGERY^^B82001|G8612345^PATEL^RAJ^^^DR\r",
    );
    none_unmapped(&report, "PD1[1]-4");
    let b = event_bundle(&event).unwrap();
    uk_core_valid("gp", &b);
    let entries = b["entry"].as_array().unwrap();
    let gp_ref = &entries[0]["resource"]["generalPractitioner"][1];
    assert_eq!(gp_ref["type"], "Practitioner");
    assert_eq!(gp_ref["identifier"]["value"], "G8612345");
    let gp = entries
        .iter()
        .find(|e| e["fullUrl"] == gp_ref["reference"])
        .map(|e| &e["resource"])
        .unwrap();
    assert_eq!(gp["resourceType"], "Practitioner");
    assert_eq!(gp["identifier"][0]["value"], "G8612345");
    assert_eq!(gp["name"][0]["family"], "PATEL");
    assert_eq!(gp["name"][0]["prefix"][0], "DR");
    let back = read_back(&b).patient.unwrap();
    assert_eq!(
        back.gp.unwrap().value,
        carecodec_model::Identifier::Gmp("G8612345".into())
    );
    assert_eq!(back.gp_name.unwrap().value.given, ["RAJ"]);
}

#[test]
fn evn_is_a_provenance_of_the_event() {
    // IG EVN[Provenance]: EVN-2 recorded, EVN-4 reason, EVN-5 operator (a
    // Practitioner agent), EVN-6 occurred; the Patient and Encounter are its
    // targets; MSH-4 is a second agent (a transaction has no MessageHeader).
    let (event, report) = mapped(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A02|ev1|P|2.5\r\
         EVN|A02|20240312091000||02^Physician order|C1234567^JONES^ANN^^^DR^^^GMC|20240312090000\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
         PV1|1|I|WARD2\r",
    );
    none_unmapped(&report, "EVN");
    let b = event_bundle(&event).unwrap();
    uk_core_valid("provenance", &b);
    let entries = b["entry"].as_array().unwrap();
    let url = |rt: &str| {
        entries
            .iter()
            .find(|e| e["resource"]["resourceType"] == rt)
            .map(|e| e["fullUrl"].clone())
            .unwrap()
    };
    let prov = entries
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Provenance")
        .unwrap();
    assert_eq!(
        prov["target"],
        serde_json::json!([{"reference": url("Patient")}, {"reference": url("Encounter")}])
    );
    assert_eq!(prov["recorded"], "2024-03-12T09:10:00+00:00");
    assert_eq!(prov["occurredDateTime"], "2024-03-12T09:00:00+00:00");
    assert_eq!(prov["reason"][0]["coding"][0]["code"], "02");
    let operator = entries
        .iter()
        .find(|e| e["fullUrl"] == prov["agent"][0]["who"]["reference"])
        .map(|e| &e["resource"])
        .unwrap();
    assert_eq!(operator["name"][0]["family"], "JONES");
    assert_eq!(operator["identifier"][0]["value"], "1234567");
    assert_eq!(prov["agent"][1]["who"]["identifier"]["value"], "RX1");
    let back = read_back(&b);
    // The instants (FHIR writes the offset the v2 times inferred).
    assert_eq!(
        back.recorded.unwrap().value.at,
        event.recorded.unwrap().value.at
    );
    assert_eq!(
        back.occurred.unwrap().value.at,
        event.occurred.unwrap().value.at
    );
    assert_eq!(back.reason.unwrap().value.code, "02");
    assert_eq!(
        back.operator.unwrap().name.unwrap().value.family.as_deref(),
        Some("JONES")
    );
    assert_eq!(back.sender.unwrap().value, "RX1");
}

/// Checks every source in `value` (the canonical JSON of an event or a
/// report): an HL7 v2 source's path, looked up in `msg`, must be the value
/// at exactly its byte span. Returns how many sources it checked.
fn check_v2_sources(name: &str, msg: &Message<'_>, value: &serde_json::Value) -> usize {
    let mut n = 0;
    match value {
        serde_json::Value::Object(o) => {
            if let (Some(_), Some(srcs)) = (o.get("value"), o.get("sources")) {
                let srcs = srcs.as_array().unwrap();
                assert!(!srcs.is_empty(), "{name}: a value without a source: {o:?}");
            }
            if o.get("format").and_then(|f| f.as_str()) == Some("v2") {
                let path = o["path"].as_str().unwrap();
                let span = (
                    o["span"]["start"].as_u64().unwrap() as usize,
                    o["span"]["end"].as_u64().unwrap() as usize,
                );
                let p = carecodec_hl7v2::Path::parse(path)
                    .unwrap_or_else(|e| panic!("{name}: source path {path}: {e}"));
                let v = msg
                    .query(&p)
                    .unwrap_or_else(|| panic!("{name}: source path {path} is not in the message"));
                assert_eq!(
                    (v.span().start, v.span().end),
                    span,
                    "{name}: {path} is not at its span"
                );
                n += 1;
            }
            for v in o.values() {
                n += check_v2_sources(name, msg, v);
            }
        }
        serde_json::Value::Array(a) => {
            for v in a {
                n += check_v2_sources(name, msg, v);
            }
        }
        _ => {}
    }
    n
}

/// Every message of every HL7 v2 corpus (`../shared/corpora/hl7v2`, all of
/// them: CDC, HAPI, nHapi and its fuzzer-found bad inputs, LinuxForHealth,
/// the V2-to-FHIR IG's sample, FHIR-Converter, NHS ITK), not only ADT and
/// ORU: none panics; every message read is counted once (rejected by the
/// parser, not mappable, or mapped); every mapped one balances its
/// accounting, gives every value a source whose path leads to exactly its
/// byte span (and every unmapped leaf the text at its span), and, unless it
/// is quarantined, makes transaction and message Bundles with no UK Core
/// error.
#[test]
fn every_hl7v2_corpus_message() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/hl7v2");
    if !root.is_dir() {
        println!("skipped: ../shared/corpora not found ({})", root.display());
        return;
    }
    let (mut read, mut unparsed, mut unmappable, mut mapped) = (0, 0, 0, 0);
    let (mut quarantined, mut bundles, mut sources) = (0, 0, 0);
    let (mut split, mut group_bundles) = (0, 0);
    let opts = V2Options::default();
    for path in common::files_under(&root) {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file.ends_with(".md") || file.ends_with(".tsv") || file.ends_with(".json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let mut reader = BatchReader::new(&bytes[..]);
        while let Some(entry) = reader.next_message() {
            read += 1;
            let name = format!("{} #{read}", path.display());
            let Ok(msg) = entry.result else {
                unparsed += 1;
                continue;
            };
            let Ok((event, report)) = map_message(&msg, &opts) else {
                unmappable += 1;
                continue;
            };
            mapped += 1;
            assert!(report.balanced(), "{name}");
            let report_leaves = report.source_leaves;
            let raw = entry.bytes;
            for u in &report.unmapped {
                if let carecodec_model::Source::V2 { span, .. } = &u.source {
                    assert_eq!(
                        String::from_utf8_lossy(&raw[span.clone()]),
                        u.raw,
                        "{name}: unmapped leaf"
                    );
                }
            }
            sources += check_v2_sources(&name, &msg, &serde_json::to_value(&event).unwrap());
            sources += check_v2_sources(&name, &msg, &serde_json::to_value(&report).unwrap());
            match event_bundle(&event) {
                Ok(bundle) => {
                    uk_core_valid(&name, &bundle);
                    check_message_bundle(&name, &event);
                    bundles += 1;
                }
                Err(_) => {
                    assert!(
                        report.quarantined(),
                        "{name}: no Bundle but not quarantined"
                    );
                    quarantined += 1;
                }
            }
            // The same message split into its patient groups: each group
            // balances, its sources lead to their spans, and it is written
            // (or quarantined on its own patient's identity).
            let groups = map_patient_groups(&msg, &opts).unwrap();
            if groups.len() == 1 {
                assert_eq!(groups[0], (event, report), "{name}");
                continue;
            }
            split += 1;
            let mut leaves = 0;
            for (k, (event, report)) in groups.iter().enumerate() {
                let name = format!("{name} group {}", k + 1);
                assert!(report.balanced(), "{name}");
                assert!(
                    !report
                        .identity
                        .iter()
                        .any(|d| d.reason.contains("patient groups")),
                    "{name}"
                );
                for u in &report.unmapped {
                    if let carecodec_model::Source::V2 { span, .. } = &u.source {
                        assert_eq!(String::from_utf8_lossy(&raw[span.clone()]), u.raw, "{name}");
                    }
                }
                sources += check_v2_sources(&name, &msg, &serde_json::to_value(event).unwrap());
                sources += check_v2_sources(&name, &msg, &serde_json::to_value(report).unwrap());
                match event_bundle(event) {
                    Ok(bundle) => {
                        uk_core_valid(&name, &bundle);
                        check_message_bundle(&name, event);
                        group_bundles += 1;
                    }
                    Err(_) => assert!(
                        report.quarantined(),
                        "{name}: no Bundle but not quarantined"
                    ),
                }
                leaves += report.source_leaves;
            }
            // Together the groups account for every leaf, the header's once each.
            assert!(
                leaves > report_leaves,
                "{name}: {leaves} <= {report_leaves}"
            );
        }
    }
    println!(
        "HL7 v2 corpora: {read} messages read: {unparsed} rejected by the parser, \
         {unmappable} not mappable, {mapped} mapped ({bundles} with Bundles, {quarantined} \
         quarantined); {split} split into patient groups ({group_bundles} Bundles); {sources} \
         v2 sources checked against their spans"
    );
    assert_eq!(read, unparsed + unmappable + mapped);
    assert_eq!(mapped, bundles + quarantined);
    assert!(mapped > 300, "{mapped} mapped");
}

/// An identifier type of nothing but whitespace (XCN.13 of tabs, found by
/// the `map_v2` fuzz target) has no FHIR code: the mapper reports it and
/// leaves it out (until 2026-12-07 the model kept it as sent); the Bundle of
/// a model that has one writes the identifier without a type instead of an
/// empty code, which R4 rejects.
#[test]
fn whitespace_identifier_type_is_left_out_of_the_bundle() {
    let bytes = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|7|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|||||X1234567^JONES^ANN^^^DR^^^Flat 6^^^^\t\t\t\r";
    let msg = Message::parse(bytes).unwrap();
    let (mut event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(report.balanced());
    assert!(
        report
            .invalid
            .iter()
            .any(|i| i.reason == "only whitespace" && i.raw == "\t\t\t"),
        "{:?}",
        report.invalid
    );
    let doctor = &mut event.encounter.as_mut().unwrap().participants[0];
    let id = &mut doctor.practitioner.identifiers[0].value;
    assert!(
        !matches!(id, carecodec_model::Identifier::Typed { .. }),
        "{id:?}"
    );
    *id = carecodec_model::Identifier::Typed {
        kind: "\t\t\t".into(),
        value: "X1234567".into(),
        authority: Some("Flat 6".into()),
        system: None,
    };
    let bundle = event_bundle(&event).unwrap();
    let text = bundle.to_string();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text).unwrap();
    let practitioner = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Practitioner")
        .unwrap();
    assert_eq!(practitioner["identifier"][0]["value"], "X1234567");
    assert!(practitioner["identifier"][0].get("type").is_none());
    uk_core_valid("whitespace type", &bundle);
}

/// `parse_date` and `parse_date_time` read what FHIR R4's `date` and
/// `dateTime` regexes allow, when it is a real date, and nothing else.
mod dates {
    use carecodec_map::fhir::{date_time, parse_date, parse_date_time};
    use carecodec_model::{PartialDate, PartialDateTime, Precision};
    use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
    use proptest::prelude::*;

    /// FHIR R4's `date` regex (datatypes.html), verbatim.
    const DATE_RE: &str = "([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?";
    /// FHIR R4's `dateTime` regex (datatypes.html), verbatim.
    const DATE_TIME_RE: &str = "([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?";

    /// The forms those regexes are written in: bytes and byte ranges,
    /// groups, `|`, `?` and `+`. Read from the regex text, matched by
    /// following every alternative (no cleverness to get wrong).
    #[derive(Debug)]
    enum Re {
        Class(Vec<(u8, u8)>),
        Seq(Vec<Re>),
        Alt(Vec<Re>),
        Opt(Box<Re>),
        Plus(Box<Re>),
    }

    impl Re {
        fn parse(text: &str) -> Re {
            let mut p = text.as_bytes();
            let re = Re::alt(&mut p);
            assert!(p.is_empty(), "unread: {}", String::from_utf8_lossy(p));
            re
        }

        fn alt(p: &mut &[u8]) -> Re {
            let mut alts = vec![Re::seq(p)];
            while let [b'|', rest @ ..] = *p {
                *p = rest;
                alts.push(Re::seq(p));
            }
            Re::Alt(alts)
        }

        fn seq(p: &mut &[u8]) -> Re {
            let mut items = Vec::new();
            loop {
                let atom = match *p {
                    [] | [b'|' | b')', ..] => return Re::Seq(items),
                    [b'(', rest @ ..] => {
                        *p = rest;
                        let inner = Re::alt(p);
                        let [b')', rest @ ..] = *p else {
                            panic!("no ) before {}", String::from_utf8_lossy(p))
                        };
                        *p = rest;
                        inner
                    }
                    [b'[', rest @ ..] => {
                        let end = rest.iter().position(|&b| b == b']').unwrap();
                        let mut class = &rest[..end];
                        let mut ranges = Vec::new();
                        while let [lo, more @ ..] = class {
                            class = match more {
                                [b'-', hi, more @ ..] => {
                                    ranges.push((*lo, *hi));
                                    more
                                }
                                _ => {
                                    ranges.push((*lo, *lo));
                                    more
                                }
                            };
                        }
                        *p = &rest[end + 1..];
                        Re::Class(ranges)
                    }
                    [b'\\', b, rest @ ..] | [b, rest @ ..] => {
                        *p = rest;
                        Re::Class(vec![(*b, *b)])
                    }
                };
                let atom = match *p {
                    [b'?', rest @ ..] => {
                        *p = rest;
                        Re::Opt(Box::new(atom))
                    }
                    [b'+', rest @ ..] => {
                        *p = rest;
                        Re::Plus(Box::new(atom))
                    }
                    _ => atom,
                };
                items.push(atom);
            }
        }

        /// Every position a match starting at `at` can end at.
        fn ends(&self, s: &[u8], at: usize) -> Vec<usize> {
            let mut out = match self {
                Re::Class(ranges) => match s.get(at) {
                    Some(b) if ranges.iter().any(|(lo, hi)| (lo..=hi).contains(&b)) => {
                        vec![at + 1]
                    }
                    _ => Vec::new(),
                },
                Re::Seq(items) => items.iter().fold(vec![at], |starts, re| {
                    starts.iter().flat_map(|&i| re.ends(s, i)).collect()
                }),
                Re::Alt(alts) => alts.iter().flat_map(|re| re.ends(s, at)).collect(),
                Re::Opt(re) => std::iter::once(at).chain(re.ends(s, at)).collect(),
                Re::Plus(re) => {
                    let mut out = Vec::new();
                    let mut next = re.ends(s, at);
                    while !next.is_empty() {
                        out.extend(&next);
                        next = next.iter().flat_map(|&i| re.ends(s, i)).collect();
                        next.retain(|i| !out.contains(i));
                    }
                    out
                }
            };
            out.sort_unstable();
            out.dedup();
            out
        }

        /// Whether the whole of `s` matches.
        fn matches(&self, s: &str) -> bool {
            self.ends(s.as_bytes(), 0).contains(&s.len())
        }
    }

    /// Whether the `YYYY[-MM[-DD]]` that `s` starts with is in the calendar
    /// (for a string the regexes match).
    fn in_calendar(s: &str) -> bool {
        let field = |r: std::ops::Range<usize>| s.get(r).map_or(Ok(1), str::parse::<u32>);
        let (Ok(y), Ok(m), Ok(d)) = (field(0..4), field(5..7), field(8..10)) else {
            return false;
        };
        NaiveDate::from_ymd_opt(y as i32, m, d).is_some()
    }

    /// The reading before FHIR's syntax was checked: chrono's RFC 3339,
    /// else a 4-, 7- or 10-byte date padded to a day for chrono's `%Y-%m-%d`.
    /// What it read of a FHIR value is the value.
    fn lenient_date(s: &str) -> Option<PartialDate> {
        let (date, precision) = match s.len() {
            4 => (format!("{s}-01-01"), Precision::Year),
            7 => (format!("{s}-01"), Precision::Month),
            10 => (s.to_owned(), Precision::Day),
            _ => return None,
        };
        let d = NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok()?;
        Some(PartialDate::new(d, precision))
    }

    fn lenient_date_time(s: &str) -> Option<PartialDateTime> {
        if let Ok(at) = DateTime::parse_from_rfc3339(s) {
            let precision = if s.contains('.') {
                Precision::Fraction
            } else {
                Precision::Second
            };
            return Some(PartialDateTime {
                at,
                precision,
                offset_inferred: false,
            });
        }
        let d = lenient_date(s)?;
        let at: DateTime<FixedOffset> = Utc
            .from_utc_datetime(&d.date.and_hms_opt(0, 0, 0)?)
            .fixed_offset();
        Some(PartialDateTime {
            at,
            precision: d.precision,
            offset_inferred: true,
        })
    }

    /// The regex reference itself, on forms picked by hand.
    #[test]
    fn the_reference_reads_the_spec_regexes() {
        let (date, dt) = (Re::parse(DATE_RE), Re::parse(DATE_TIME_RE));
        for s in ["2024", "0001", "2024-03", "2024-03-31", "2024-02-30"] {
            assert!(date.matches(s) && dt.matches(s), "{s}");
        }
        for s in [
            "0000",
            "+202",
            "2024-3",
            "2024-13",
            "2024-03-32",
            "2024-03-12T00:00:00Z",
        ] {
            assert!(!date.matches(s), "{s}");
        }
        for s in [
            "2024-03-12T23:59:60.1234Z",
            "2024-03-12T00:00:00-13:59",
            "2024-03-12T00:00:00+14:00",
        ] {
            assert!(dt.matches(s), "{s}");
        }
        for s in [
            "2024-03-12T24:00:00Z",
            "2024-03-12T00:00:00+14:01",
            "2024-03-12T00:00:00.Z",
            "2024-03T00:00:00Z",
        ] {
            assert!(!dt.matches(s), "{s}");
        }
    }

    #[test]
    fn dates_as_fhir_r4_writes_them() {
        // Read, with what the writer gives back (as before).
        for (s, precision, written) in [
            ("1970", Precision::Year, "1970"),
            ("1970-02", Precision::Month, "1970-02"),
            ("1970-02-14", Precision::Day, "1970-02-14"),
            ("0001", Precision::Year, "0001"),
            ("0202-06", Precision::Month, "0202-06"),
            ("2024-02-29", Precision::Day, "2024-02-29"),
            ("9999-12-31", Precision::Day, "9999-12-31"),
        ] {
            let d = parse_date(s).unwrap_or_else(|| panic!("{s} not read"));
            assert_eq!(
                (d.precision, d.to_string().as_str()),
                (precision, written),
                "{s}"
            );
            assert_eq!(lenient_date(s), Some(d), "{s}: read as before");
        }
        for s in [
            // Read before: a signed or space-padded year, year 0.
            "+202",
            "-001",
            " 202",
            "+0-1",
            "0000",
            "0000-01",
            "0000-01-01",
            // Read before: a space-padded month or day.
            "1970- 2",
            "1970-02- 1",
            // Never read.
            "",
            "197",
            "19700",
            "1970-",
            "1970-2",
            "1970-02-",
            "1970-02-1",
            "1970-00",
            "1970-13",
            "1970-02-00",
            "1970-02-30",
            "2023-02-29",
            "1970-02-32",
            "1970/02/14",
            "1970-02-14 ",
            "1970-02-14T00:00:00Z",
            "１９７０",
        ] {
            assert_eq!(parse_date(s), None, "{s:?}");
        }
    }

    #[test]
    fn date_times_as_fhir_r4_writes_them() {
        use Precision::{Day, Fraction, Month, Second, Year};
        // Read, with what the writer gives back (as before).
        for (s, precision, written) in [
            ("2024", Year, "2024"),
            ("2024-03", Month, "2024-03"),
            ("2024-03-12", Day, "2024-03-12"),
            ("2024-03-12T09:15:00Z", Second, "2024-03-12T09:15:00+00:00"),
            (
                "2024-03-12T09:15:00+01:00",
                Second,
                "2024-03-12T09:15:00+01:00",
            ),
            (
                "2024-03-12T09:15:00-00:00",
                Second,
                "2024-03-12T09:15:00+00:00",
            ),
            (
                "2024-03-12T09:15:00+14:00",
                Second,
                "2024-03-12T09:15:00+14:00",
            ),
            (
                "2024-03-12T09:15:00-14:00",
                Second,
                "2024-03-12T09:15:00-14:00",
            ),
            (
                "2024-03-12T09:15:00-13:59",
                Second,
                "2024-03-12T09:15:00-13:59",
            ),
            (
                "2024-03-12T23:59:59.5Z",
                Fraction,
                "2024-03-12T23:59:59.500+00:00",
            ),
            (
                // The fraction's digits to the nanosecond (the model's).
                "2024-03-12T09:15:00.123456789012+05:30",
                Fraction,
                "2024-03-12T09:15:00.123456789+05:30",
            ),
            ("0001-01-01T00:00:00Z", Second, "0001-01-01T00:00:00+00:00"),
            // A leap second reads as chrono reads it, and is written back as
            // :60 (R4's dateTime allows it). Until 2026-12-07 it was :59.
            ("2016-12-31T23:59:60Z", Second, "2016-12-31T23:59:60+00:00"),
            (
                "2024-03-12T09:15:60.25+01:00",
                Fraction,
                "2024-03-12T09:15:60.250+01:00",
            ),
        ] {
            let t = parse_date_time(s).unwrap_or_else(|| panic!("{s} not read"));
            assert_eq!(
                (t.precision, date_time(&t).as_str()),
                (precision, written),
                "{s}"
            );
            assert_eq!(
                t.offset_inferred,
                matches!(precision, Year | Month | Day),
                "{s}"
            );
            assert_eq!(lenient_date_time(s), Some(t), "{s}: read as before");
        }
        for s in [
            // Read before: RFC 3339's separators, offsets past 14:00, year 0.
            "2024-03-12 09:15:00Z",
            "2024-03-12t09:15:00Z",
            "2024-03-12T09:15:00z",
            "2024-03-12t09:15:00z",
            "2024-03-12T09:15:00+14:01",
            "2024-03-12T09:15:00-15:00",
            "2024-03-12T09:15:00+23:59",
            "0000-01-01T00:00:00Z",
            "+202",
            "-001",
            "0000",
            " 202",
            "2024- 3",
            // Never read.
            "2024-03-12T09:15:00",
            "2024-03-12T09:15Z",
            "2024-03-12T09Z",
            "2024-03-12T24:00:00Z",
            "2024-03-12T09:60:00Z",
            "2024-03-12T09:15:61Z",
            "2024-03-12T09:15:00.Z",
            "2024-03-12T09:15:00+0100",
            "2024-03-12T09:15:00+01",
            "2024-03-12T09:15:00+01:00 ",
            "2024-03T09:15:00Z",
            "2024T09:15:00Z",
            "2023-02-29T09:15:00Z",
            "12/03/2024",
        ] {
            assert_eq!(parse_date_time(s), None, "{s:?}");
        }
    }

    /// Strings near FHIR's forms: FHIR's own (the `dateTime` and `instant`
    /// regexes' strings) with up to three bytes of the alphabet changed,
    /// dropped or added; RFC 3339 times and padded dates as chrono reads
    /// them; year 0; any string of the alphabet.
    fn date_like() -> impl Strategy<Value = String> {
        const ALPHABET: &[u8] = b"0123456789-:TtZz+. ";
        /// FHIR R4's `instant` regex (datatypes.html): a `dateTime` to the second.
        const INSTANT_RE: &str = "([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))";
        const RFC_3339: &str = "[0-9]{4}-(0[0-9]|1[0-3])-([0-2][0-9]|3[0-2])[Tt ]([01][0-9]|2[0-4]):[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,12})?([Zz]|[+-]([01][0-9]|2[0-4]):[0-6][0-9])";
        const PADDED: &str = "[ +-]{0,2}[0-9]{1,4}(-[ 0-9]{1,2}(-[ 0-9]{1,2})?)?";
        let regex = |re| proptest::string::string_regex(re).unwrap();
        let byte = || proptest::sample::select(ALPHABET);
        let edits =
            proptest::collection::vec((any::<proptest::sample::Index>(), byte(), 0u8..3), 0..4);
        let fhir = prop_oneof![regex(DATE_TIME_RE), regex(INSTANT_RE)];
        prop_oneof![
            3 => (fhir, edits).prop_map(|(s, edits)| {
                let mut s = s.into_bytes();
                for (at, b, op) in edits {
                    let at = at.index(s.len() + 1);
                    match op {
                        0 if at < s.len() => s[at] = b,
                        1 if at < s.len() => drop(s.remove(at)),
                        _ => s.insert(at, b),
                    }
                }
                String::from_utf8(s).unwrap()
            }),
            1 => regex(RFC_3339),
            1 => regex(PADDED),
            1 => regex("0000(-[01][0-9](-[0-3][0-9](T00:00:00Z)?)?)?"),
            1 => proptest::collection::vec(byte(), 0..30).prop_map(|b| String::from_utf8(b).unwrap()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Read exactly when the spec's regex matches and the date is in the
        /// calendar, and then as before (so written back as before).
        #[test]
        fn read_exactly_what_the_regexes_allow(s in date_like()) {
            let date = Re::parse(DATE_RE).matches(&s) && in_calendar(&s);
            let dt = Re::parse(DATE_TIME_RE).matches(&s) && in_calendar(&s);
            prop_assert_eq!(parse_date(&s), lenient_date(&s).filter(|_| date), "date {:?}", s);
            prop_assert_eq!(parse_date(&s).is_some(), date, "date {:?}", s);
            let t = parse_date_time(&s);
            prop_assert_eq!(t, lenient_date_time(&s).filter(|_| dt), "dateTime {:?}", s);
            prop_assert_eq!(t.is_some(), dt, "dateTime {:?}", s);
            if let Some(t) = t {
                prop_assert_eq!(Some(date_time(&t)), lenient_date_time(&s).map(|t| date_time(&t)));
            }
        }
    }
}

/// The reader's dates: a valid one is read at the precision the model's field
/// holds; an invalid one is reported at its element path, with its text, and
/// left out of the model; a time the model cannot hold is reported.
mod reader_dates {
    use carecodec_map::fhir::{read_bundle, read_workers};
    use carecodec_model::{
        Action, AssignmentState, Invalid, MappingReport, PartialDate, Precision, Source,
    };
    use chrono::NaiveDate;
    use serde_json::{Value, json};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn partial(y: i32, m: u32, d: u32, precision: Precision) -> PartialDate {
        PartialDate::new(day(y, m, d), precision)
    }

    /// The report balances and lists nothing unmapped or invalid.
    fn clean(report: &MappingReport) {
        assert!(report.balanced());
        assert!(report.unmapped.is_empty(), "{:#?}", report.unmapped);
        assert!(report.invalid.is_empty(), "{:#?}", report.invalid);
    }

    /// The report balances, leaves nothing unmapped, and has exactly one
    /// invalid entry: at `path`, with `raw`, `action`, a reason saying `why`.
    fn one_invalid(report: &MappingReport, path: &str, raw: &str, why: &str, action: Action) {
        assert!(report.balanced());
        assert!(report.unmapped.is_empty(), "{:#?}", report.unmapped);
        let [
            Invalid {
                source,
                raw: r,
                reason,
                action: a,
            },
        ] = report.invalid.as_slice()
        else {
            panic!("not one invalid entry: {:#?}", report.invalid);
        };
        assert_eq!(source, &Source::fhir(path));
        assert_eq!((r.as_str(), *a), (raw, action));
        assert!(reason.contains(why), "{reason}");
    }

    fn patient(birth: &str, start: &str) -> Value {
        json!({"resourceType": "Patient", "birthDate": birth,
               "contact": [{"name": {"family": "Smith"},
                            "period": {"start": start, "end": "2021-12-18"}}]})
    }

    #[test]
    fn patient_birth_date() {
        for (birth, want) in [
            ("1970", partial(1970, 1, 1, Precision::Year)),
            ("1970-02", partial(1970, 2, 1, Precision::Month)),
            ("1970-02-28", partial(1970, 2, 28, Precision::Day)),
        ] {
            let (event, report) = read_bundle(&patient(birth, "2021-08-18"));
            clean(&report);
            let p = event.patient.unwrap();
            assert_eq!(p.birth_date.as_ref().unwrap().value, want, "{birth}");
        }
        for bad in ["1970-02-30", "1970-02-28T10:00:00Z", "28/02/1970", "1970-2"] {
            let (event, report) = read_bundle(&patient(bad, "2021-08-18"));
            one_invalid(
                &report,
                "Patient.birthDate",
                bad,
                "not a FHIR date",
                Action::Dropped,
            );
            assert!(event.patient.unwrap().birth_date.is_none(), "{bad}");
        }
    }

    #[test]
    fn patient_contact_period() {
        let contact = |start: &str| {
            let (event, report) = read_bundle(&patient("1970", start));
            (event.patient.unwrap().contacts.remove(0), report)
        };
        let until = partial(2021, 12, 18, Precision::Day);
        for (start, want) in [
            ("2021", partial(2021, 1, 1, Precision::Year)),
            ("2021-08", partial(2021, 8, 1, Precision::Month)),
            ("2021-08-18", partial(2021, 8, 18, Precision::Day)),
        ] {
            let (c, report) = contact(start);
            clean(&report);
            assert_eq!(c.from.unwrap().value, want, "{start}");
            assert_eq!(c.until.unwrap().value, until);
        }
        let at = "Patient.contact[0].period.start";
        for bad in ["2021-08-32", "18/08/2021", "2021-08-18T10:00"] {
            let (c, report) = contact(bad);
            one_invalid(&report, at, bad, "not a FHIR dateTime", Action::Dropped);
            assert!(c.from.is_none(), "{bad}");
            assert_eq!(c.until.unwrap().value, until);
        }
        // A time: the date is kept as written (in its own offset), the time
        // is not, and the report says so.
        let timed = "2021-08-18T23:30:00-05:00";
        let (c, report) = contact(timed);
        one_invalid(&report, at, timed, "the time is not", Action::Interpreted);
        let from = c.from.unwrap();
        assert_eq!(from.value, partial(2021, 8, 18, Precision::Day));
        assert_eq!(from.sources[0], Source::fhir(at));
    }

    fn allergy(onset: &str) -> Value {
        json!({"resourceType": "AllergyIntolerance", "code": {"text": "Penicillin"},
               "onsetDateTime": onset})
    }

    #[test]
    fn allergy_onset_date_time() {
        for (onset, want) in [
            ("2004", partial(2004, 1, 1, Precision::Year)),
            ("2004-01", partial(2004, 1, 1, Precision::Month)),
            ("2004-01-25", partial(2004, 1, 25, Precision::Day)),
        ] {
            let (event, report) = read_bundle(&allergy(onset));
            clean(&report);
            let a = &event.allergies[0];
            assert_eq!(a.identified.as_ref().unwrap().value, want, "{onset}");
        }
        // The whole value is checked: what follows the date used to be
        // ignored unread.
        for bad in [
            "2004-01-25junk",
            "2004-01-25T12:50",
            "2004-01-25T12:50:25",
            "2004-01-25 12:50:25Z",
            "2004-02-30",
        ] {
            let (event, report) = read_bundle(&allergy(bad));
            one_invalid(
                &report,
                "AllergyIntolerance.onsetDateTime",
                bad,
                "not a FHIR dateTime",
                Action::Dropped,
            );
            assert!(event.allergies[0].identified.is_none(), "{bad}");
        }
        // The model holds the date identified (as AL1-6 gives it): a time is
        // not kept, and the report says so.
        for timed in ["2004-01-25T12:50:25+05:30", "2004-01-25T23:59:59.999Z"] {
            let (event, report) = read_bundle(&allergy(timed));
            one_invalid(
                &report,
                "AllergyIntolerance.onsetDateTime",
                timed,
                "the time is not",
                Action::Interpreted,
            );
            let a = &event.allergies[0];
            assert_eq!(
                a.identified.as_ref().unwrap().value,
                partial(2004, 1, 25, Precision::Day)
            );
        }
    }

    /// A Practitioner with a GMC registration, and a PractitionerRole.
    fn workers(birth: &str, registered: &str, start: &str) -> Value {
        json!({"resourceType": "Bundle", "type": "collection",
               "timestamp": "2024-03-12T09:15:00Z",
               "entry": [
          {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Practitioner",
            "meta": {"lastUpdated": "2024-03-12T09:15:00.123+01:00"},
            "identifier": [{"system": "https://fhir.hl7.org.uk/Id/gmc-number", "value": "1234567",
                            "period": {"start": registered}}],
            "name": [{"family": "Jones"}], "birthDate": birth}},
          {"fullUrl": "urn:uuid:r1", "resource": {"resourceType": "PractitionerRole",
            "practitioner": {"reference": "urn:uuid:p1"},
            "period": {"start": start, "end": "2024-03-31"}}}]})
    }

    const PRACTITIONER: &str = "Bundle.entry[0].resource";
    const ROLE: &str = "Bundle.entry[1].resource";

    #[test]
    fn practitioner_birth_date() {
        for (birth, want) in [
            ("1975", partial(1975, 1, 1, Precision::Year)),
            ("1975-12", partial(1975, 12, 1, Precision::Month)),
            ("1975-12-07", partial(1975, 12, 7, Precision::Day)),
        ] {
            let (w, report) = read_workers(&workers(birth, "2010-08-04", "2020-01-01"));
            clean(&report);
            assert_eq!(w[0].birth_date.as_ref().unwrap().value, want, "{birth}");
        }
        for bad in ["1975-13-07", "07/12/1975", "1975-12-07T00:00:00Z"] {
            let (w, report) = read_workers(&workers(bad, "2010-08-04", "2020-01-01"));
            let at = format!("{PRACTITIONER}.birthDate");
            one_invalid(&report, &at, bad, "not a FHIR date", Action::Dropped);
            assert!(w[0].birth_date.is_none(), "{bad}");
        }
    }

    #[test]
    fn practitioner_role_period() {
        let role = |start: &str| {
            let (mut w, report) = read_workers(&workers("1975", "2010-08-04", start));
            (w.remove(0).assignments.remove(0), report)
        };
        let (a, report) = role("2020-01-01");
        clean(&report);
        assert_eq!(
            (a.start.map(|d| d.value), a.end.map(|d| d.value)),
            (Some(day(2020, 1, 1)), Some(day(2024, 3, 31)))
        );
        let at = format!("{ROLE}.period.start");
        // A year or a month is a FHIR dateTime, but the model holds days.
        for partial in ["2024", "2024-03"] {
            let (a, report) = role(partial);
            one_invalid(&report, &at, partial, "not a whole day", Action::Dropped);
            assert_eq!(
                (a.start.map(|d| d.value), a.end.map(|d| d.value)),
                (None, Some(day(2024, 3, 31))),
                "{partial}"
            );
        }
        for bad in ["2024-02-30", "2024-3-1", "+2024-03-01", "01/03/2024"] {
            let (a, report) = role(bad);
            one_invalid(&report, &at, bad, "not a FHIR dateTime", Action::Dropped);
            assert_eq!(
                (a.start.map(|d| d.value), a.end.map(|d| d.value)),
                (None, Some(day(2024, 3, 31))),
                "{bad}"
            );
        }
        // A time: the day is kept, and the report says the time is not.
        let timed = "2020-01-01T09:00:00Z";
        let (a, report) = role(timed);
        one_invalid(&report, &at, timed, "the time is not", Action::Interpreted);
        assert_eq!(a.start.map(|d| d.value), Some(day(2020, 1, 1)));
        // A period member the model does not keep is reported, not consumed
        // with the period.
        let mut doc = workers("1975", "2010-08-04", "2020-01-01");
        doc["entry"][1]["resource"]["period"]["id"] = json!("p");
        let (_, report) = read_workers(&doc);
        assert!(report.balanced());
        let unmapped: Vec<String> = report
            .unmapped
            .iter()
            .map(|u| u.source.to_string())
            .collect();
        assert_eq!(unmapped, [format!("FHIR {ROLE}.period.id")]);
    }

    #[test]
    fn practitioner_role_active() {
        // `active` is the assignment's state: false has ended; not a
        // boolean is reported and dropped.
        for (active, want) in [
            (json!(true), Some(AssignmentState::Active)),
            (json!(false), Some(AssignmentState::Terminated)),
            (json!("no"), None),
        ] {
            let mut doc = workers("1975", "2010-08-04", "2020-01-01");
            doc["entry"][1]["resource"]["active"] = active.clone();
            let (w, report) = read_workers(&doc);
            assert!(report.balanced());
            let a = &w[0].assignments[0];
            assert_eq!(a.state.as_ref().map(|s| s.value), want, "{active}");
            if want.is_none() {
                let at = format!("{ROLE}.active");
                one_invalid(&report, &at, "no", "not a FHIR boolean", Action::Dropped);
            } else {
                clean(&report);
            }
        }
    }

    #[test]
    fn registration_period() {
        let registration = |start: &str| {
            let (mut w, report) = read_workers(&workers("1975", start, "2020-01-01"));
            (w.remove(0).registrations.remove(0), report)
        };
        let (r, report) = registration("2010-08-04");
        clean(&report);
        assert_eq!(r.from.map(|d| d.value), Some(day(2010, 8, 4)));
        let at = format!("{PRACTITIONER}.identifier[0].period.start");
        let (r, report) = registration("2010-08");
        one_invalid(&report, &at, "2010-08", "not a whole day", Action::Dropped);
        assert!(r.from.is_none());
        for bad in ["2010-8-4", "2010-08-32"] {
            let (r, report) = registration(bad);
            one_invalid(&report, &at, bad, "not a FHIR dateTime", Action::Dropped);
            assert!(r.from.is_none(), "{bad}");
        }
    }

    #[test]
    fn instants_the_model_does_not_keep_are_checked() {
        let doc = |timestamp: &str, updated: &str| {
            let mut d = workers("1975", "2010-08-04", "2020-01-01");
            d["timestamp"] = json!(timestamp);
            d["entry"][0]["resource"]["meta"]["lastUpdated"] = json!(updated);
            d
        };
        let (_, report) = read_workers(&doc("2024-03-12T09:15:00+01:00", "2024-03-12T09:15:00Z"));
        clean(&report);
        let (w, report) = read_workers(&doc("2024-03-12", "2024-03-12T09:15:00Z"));
        one_invalid(
            &report,
            "Bundle.timestamp",
            "2024-03-12",
            "not a FHIR instant",
            Action::Dropped,
        );
        assert_eq!(w.len(), 1);
        let updated = format!("{PRACTITIONER}.meta.lastUpdated");
        let (_, report) = read_workers(&doc("2024-03-12T09:15:00Z", "yesterday"));
        one_invalid(
            &report,
            &updated,
            "yesterday",
            "not a FHIR instant",
            Action::Dropped,
        );
        // read_bundle checks a resource's lastUpdated too.
        let mut p = patient("1970", "2021-08-18");
        p["meta"] = json!({"lastUpdated": "2024-13-01T00:00:00Z"});
        let (_, report) = read_bundle(&p);
        one_invalid(
            &report,
            "Patient.meta.lastUpdated",
            "2024-13-01T00:00:00Z",
            "not a FHIR instant",
            Action::Dropped,
        );
    }
}

#[test]
fn fhir_patient_with_two_different_nhs_numbers_is_quarantined() {
    // The FHIR reader keys patients with the v2 identity rule, conflict included.
    let doc = JsonDocument::from_slice(
        br#"{"resourceType": "Patient", "identifier": [
        {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"},
        {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "4010232137"}]}"#,
    )
    .unwrap();
    let (event, report) = read_bundle(&doc);
    assert!(report.quarantined());
    assert!(
        report.identity[0]
            .reason
            .contains("conflicting NHS numbers")
    );
    // And the writer keys no Patient on either.
    assert!(event_bundle(&event).is_err());
}

#[test]
fn criticality_only_from_table_0128() {
    let crit = |sev: &str| {
        let m = format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A28|M1|P|2.4\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\rAL1|1|DA|X^Y^L|{sev}\r"
        );
        let msg = Message::parse(m.as_bytes()).unwrap();
        let (mut event, _) = map_message(&msg, &V2Options::default()).unwrap();
        if sev == "5" {
            // A model built elsewhere with a code outside table 0128.
            event.allergies[0].severity = Some(carecodec_model::Sourced::new(
                carecodec_model::Code::new(
                    carecodec_model::CodeSystem::V2Table("0128".into()),
                    "5",
                    None,
                ),
                carecodec_model::Source::fhir("x"),
            ));
        }
        let b = event_bundle(&event).unwrap();
        let a = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == "AllergyIntolerance")
            .unwrap()
            .clone();
        a.get("criticality").cloned()
    };
    assert_eq!(crit("SV"), Some(serde_json::json!("high")));
    assert_eq!(crit("MI"), Some(serde_json::json!("low")));
    assert_eq!(crit("5"), None);
}

#[test]
fn a_merge_links_the_surviving_and_the_replaced_patient() {
    // r1 of the 2026-12-07 probe: the merge used to leave no trace in the Bundle.
    let (event, _) = mapped(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\r\
EVN|A40|20240312091500\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
MRG|4010232137^^^NHS^NH~OLD1^^^RX1^MR\r",
    );
    let b = event_bundle(&event).unwrap();
    uk_core_valid("merge", &b);
    let (survivor, replaced) = (&b["entry"][0], &b["entry"][1]);
    assert_eq!(
        survivor["resource"]["link"],
        serde_json::json!([{"other": {"reference": replaced["fullUrl"]}, "type": "replaces"}])
    );
    assert_eq!(
        replaced["request"],
        serde_json::json!({"method": "PUT",
            "url": "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|4010232137"})
    );
    let r = &replaced["resource"];
    assert_eq!(r["active"], false);
    assert_eq!(
        r["link"],
        serde_json::json!([{"other": {"reference": survivor["fullUrl"]}, "type": "replaced-by"}])
    );
    assert_eq!(r["identifier"][0]["value"], "4010232137");
    assert_eq!(r["identifier"][1]["value"], "OLD1");
    assert!(r.get("name").is_none());
    let mut written = Vec::new();
    write_event_bundle(&event, BundleType::Transaction, &mut written).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&written).unwrap(),
        b
    );
    // Read back: the merged identifiers, the survivor still the patient.
    let back = read_back(&b);
    let ids = |v: &[carecodec_model::Sourced<carecodec_model::Identifier>]| {
        v.iter().map(|i| i.value.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&back.merged_from), ids(&event.merged_from));
    assert_eq!(
        ids(&back.patient.unwrap().identifiers),
        ids(&event.patient.as_ref().unwrap().identifiers)
    );
    let m = event_bundle_with(&event, BundleType::Message).unwrap();
    uk_core_valid("merge message", &m);
    assert_eq!(read_back(&m).merged_from.len(), 2);

    // MRG-1 naming only the survivor's own NHS number: nothing to link.
    let (event, _) = mapped(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A40^ADT_A39|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rMRG|9434765919^^^NHS^NH\r",
    );
    let b = event_bundle(&event).unwrap();
    assert!(b["entry"][0]["resource"].get("link").is_none());
    assert_eq!(b["entry"].as_array().unwrap().len(), 1);
}

#[test]
fn a_bundle_with_no_entries_has_no_entry_array() {
    // mshonly of the 2026-12-07 probe: `"entry":[]` (FHIR JSON has no empty arrays).
    let (event, _) = mapped("MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|M1|P|2.4\r");
    let b = event_bundle(&event).unwrap();
    assert!(b.get("entry").is_none(), "{b}");
    let mut written = Vec::new();
    write_event_bundle(&event, BundleType::Transaction, &mut written).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&written).unwrap(),
        b
    );
    uk_core_valid("msh only", &b);
}

/// Every entry's `(method, url)` request and full URL: no two the same.
fn requests(b: &serde_json::Value) -> Vec<(String, String)> {
    let entries = b["entry"].as_array().unwrap();
    let mut urls: Vec<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    urls.sort_unstable();
    let n = urls.len();
    urls.dedup();
    assert_eq!(urls.len(), n, "an entry written twice");
    entries
        .iter()
        .map(|e| {
            let r = &e["request"];
            (
                r["method"].as_str().unwrap().into(),
                r["url"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn keyed_encounters_practitioners_and_locations_are_written_once() {
    // The NHS ITK A01 example names GMC 3456789 three times and GMP G5612908
    // twice (PV1-7/8/17, DG1-16, PD1-4): each used to be a POSTed entry.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/hl7v2/nhs-itk-adt/A01_example.txt");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipped: no NHS ITK corpus");
        return;
    };
    let msg = Message::parse(&bytes).unwrap();
    let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    let b = event_bundle(&event).unwrap();
    uk_core_valid("itk a01", &b);
    let reqs = requests(&b);
    let gmc = "Practitioner?identifier=https://fhir.hl7.org.uk/Id/gmc-number|3456789";
    assert_eq!(
        reqs.iter().filter(|(m, u)| m == "PUT" && u == gmc).count(),
        1,
        "{reqs:?}"
    );
    // No conditional URL twice in one transaction.
    let mut puts: Vec<&String> = reqs
        .iter()
        .filter(|(m, _)| m == "PUT")
        .map(|(_, u)| u)
        .collect();
    let n = puts.len();
    puts.sort_unstable();
    puts.dedup();
    assert_eq!(puts.len(), n, "{reqs:?}");
    // Every reference to that practitioner is to the one entry.
    let text = b.to_string();
    let url = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"]["url"] == gmc)
        .unwrap()["fullUrl"]
        .as_str()
        .unwrap();
    assert!(text.matches(url).count() >= 3, "{text}");
    // The GP (PD1-4) and the referring doctor (PV1-8) are one GMP entry.
    let gmp = "Practitioner?identifier=https://fhir.hl7.org.uk/Id/gmp-number|G5612908";
    assert_eq!(reqs.iter().filter(|(_, u)| u == gmp).count(), 1, "{reqs:?}");
    check_message_bundle("itk a01", &event);

    // A visit number with a system keys the Encounter; the same location as
    // current and prior location is one chain of Location entries.
    let with = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240101||ADT^A02|7|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
PV1|1|I|W1^R2^B3^RX1|||W1^R2^B3^RX1|C1234567^DOC^ANN^^^^^^GMC|C1234567^DOC^ANN^^^^^^GMC|||||||||C1234567^DOC^ANN^^^^^^GMC||V55^^^RX1&2.16.840.1.113883.19&ISO^VN\r";
    assert_eq!(check("keyed encounter", with.as_bytes()), 1);
    let (event, _) = mapped(with);
    let b = event_bundle(&event).unwrap();
    let reqs = requests(&b);
    let enc = reqs
        .iter()
        .find(|(_, u)| u.starts_with("Encounter"))
        .unwrap();
    assert_eq!(
        enc,
        &(
            "PUT".to_string(),
            "Encounter?identifier=urn:oid:2.16.840.1.113883.19|V55".to_string()
        )
    );
    let count = |u: &str| reqs.iter().filter(|(_, x)| x == u).count();
    // Each level a `PUT Location/{id}` (keyed by its facility, PL-4).
    let locations = reqs
        .iter()
        .filter(|(m, u)| m == "PUT" && u.starts_with("Location/"))
        .count();
    assert_eq!(locations, 4, "{reqs:?}");
    assert_eq!(
        count("Practitioner?identifier=https://fhir.hl7.org.uk/Id/gmc-number|1234567"),
        1,
        "{reqs:?}"
    );
    let enc = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Encounter")
        .unwrap();
    let locs = enc["resource"]["location"].as_array().unwrap();
    assert_eq!(locs.len(), 2);
    assert_eq!(locs[0]["location"], locs[1]["location"]);
    assert_eq!(enc["resource"]["participant"].as_array().unwrap().len(), 3);
    let back = read_back(&b);
    let e = back.encounter.unwrap();
    assert_eq!(e.participants.len(), 3);
    assert!(e.prior_location.is_some() && e.location.is_some());
    // Without a system the Encounter is keyed in its sender's scope (MSH-4
    // RX1): `PUT Encounter/{id}` (until 2026-12-07 it was created).
    let without = with.replace("RX1&2.16.840.1.113883.19&ISO", "RX1");
    let (event, _) = mapped(&without);
    let reqs = requests(&event_bundle(&event).unwrap());
    assert!(
        reqs.iter()
            .any(|(m, u)| m == "PUT" && u.starts_with("Encounter/")),
        "{reqs:?}"
    );
}

#[test]
fn a_discharge_before_the_admission_is_reported_not_written() {
    // rev of the 2026-12-07 probe: PV1-45 three days before PV1-44 was
    // written as the period's end (R4 per-1) with nothing reported.
    let text = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A03|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
PV1|1|I|WARD1^^^RX1||||||||||||||||V100^^^RX1^VN|||||||||||||||||||||||||20240315100000|20240312100000\r";
    let (event, report) = mapped(text);
    let e = event.encounter.as_ref().unwrap();
    assert!(e.admitted.is_some());
    assert!(e.discharged.is_none());
    assert_eq!(e.status.as_deref(), Some("finished"));
    let bad: Vec<_> = report
        .invalid
        .iter()
        .filter(|i| i.reason == "discharge before admission")
        .collect();
    assert_eq!(bad.len(), 1, "{:?}", report.invalid);
    assert_eq!(bad[0].raw, "20240312100000");
    assert_eq!(bad[0].action, carecodec_model::Action::Dropped);
    assert!(
        bad[0].source.to_string().contains("PV1[1]-45"),
        "{}",
        bad[0].source
    );
    let b = event_bundle(&event).unwrap();
    let enc = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["resource"]["resourceType"] == "Encounter")
        .unwrap();
    assert!(enc["resource"]["period"].get("end").is_none(), "{enc}");
    assert_eq!(check("rev", text.as_bytes()), 1);
    // The writer holds to per-1 on a model made elsewhere too.
    let mut odd = event.clone();
    let mut enc_model = odd.encounter.take().unwrap();
    enc_model.discharged = Some(carecodec_model::Sourced::new(
        carecodec_map::fhir::parse_date_time("2024-03-12T10:00:00+00:00").unwrap(),
        carecodec_model::Source::fhir("test"),
    ));
    odd.encounter = Some(enc_model);
    let b = event_bundle(&odd).unwrap();
    assert!(!b.to_string().contains("2024-03-12T10:00:00"), "{b}");
    // On the same day to the day only, the end is not before the start.
    let same_day = text.replace("|20240312100000", "|20240315");
    let (event, report) = mapped(&same_day);
    assert!(event.encounter.unwrap().discharged.is_some());
    assert!(report.invalid.is_empty(), "{:?}", report.invalid);
}

#[test]
fn validity_and_contact_periods_ending_before_they_start_are_reported() {
    // 7 of the 2026-12-07 ORU probe: XPN.12/13, XAD.13/14, XTN.13/14,
    // XCN.19/20 and NK1-8/9 ending before they start were written as sent
    // (R4 per-1), with nothing reported.
    let text = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312120500||ADT^A01^ADT_A01|NKP2|P|2.5\r\
EVN|A01|20240312120500\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN^^^^^L^^^^^20240101^20231231~SMITH^J^^^^^D^^^20240101&20231231||1970|M|||1 High St^^Leeds^^LS1 1AA^GBR^H^^^^^^20240101^20231231||^PRN^PH^^^^^^^^^01134567890^20240101^20231231\r\
NK1|1|SMITH^JANE|SPO^Spouse^HL70063||01234567890|||20240101|20231231\r\
PV1|1|I|W1||||C1234567^JONES^ANN^^^DR^^^GMC^^^^^^^^^^20240101^20231231\r";
    let (event, report) = mapped(text);
    let dropped = |at: &str| {
        report
            .invalid
            .iter()
            .filter(|i| i.source.to_string().contains(at))
            .map(|i| (i.raw.as_str(), i.reason.as_str(), i.action))
            .collect::<Vec<_>>()
    };
    let expired = [(
        "20231231",
        "expiration before the effective date",
        carecodec_model::Action::Dropped,
    )];
    for at in [
        "PID[1]-5[1].13",
        "PID[1]-5[2].10.2",
        "PID[1]-11[1].14",
        "PID[1]-13[1].14",
        "PV1[1]-7[1].20",
    ] {
        assert_eq!(dropped(at), expired, "{at}: {:?}", report.invalid);
    }
    assert_eq!(
        dropped("NK1[1]-9"),
        [(
            "20231231",
            "contact end before its start",
            carecodec_model::Action::Dropped
        )]
    );
    assert_eq!(report.invalid.len(), 6, "{:?}", report.invalid);
    // The starts are kept, the ends are not.
    let p = event.patient.as_ref().unwrap();
    for n in &p.names {
        let period = n.value.period.as_ref().unwrap();
        assert!(period.start.is_some() && period.end.is_none());
    }
    assert!(p.addresses[0].value.period.as_ref().unwrap().end.is_none());
    assert!(p.telecom[0].value.period.as_ref().unwrap().end.is_none());
    assert!(p.contacts[0].from.is_some() && p.contacts[0].until.is_none());
    let b = event_bundle(&event).unwrap();
    assert!(!b.to_string().contains("2023-12-31"), "{b}");
    // Strict R4, UK Core, read back with nothing unmapped.
    assert_eq!(check("per-1", text.as_bytes()), 1);
    // An end on the start's day, or within the start's year when the end
    // is only a year, is not before it.
    let same = text
        .replace("^20231231", "^2024")
        .replace("&20231231", "&2024")
        .replace("|20231231", "|20240101");
    let (_, report) = mapped(&same);
    assert!(report.invalid.is_empty(), "{:?}", report.invalid);

    // The writer holds to per-1 on a model made elsewhere, and the FHIR
    // reader reports and drops such an end as the v2 mapper does.
    let mut odd = event.clone();
    let p = odd.patient.as_mut().unwrap();
    p.names[0].value.period.as_mut().unwrap().end =
        carecodec_map::fhir::parse_date_time("2023-12-31");
    p.contacts[0].until = Some(carecodec_model::Sourced::new(
        carecodec_map::fhir::parse_date("2023-12-31").unwrap(),
        carecodec_model::Source::fhir("test"),
    ));
    let b = event_bundle(&odd).unwrap();
    assert!(!b.to_string().contains("2023-12-31"), "{b}");
    let mut written = event_bundle(&event).unwrap();
    let patient = &mut written["entry"][0]["resource"];
    patient["name"][0]["period"]["end"] = "2023-12-31".into();
    patient["contact"][0]["period"]["end"] = "2023-12-31".into();
    let (back, report) = read_bundle(&written);
    assert!(report.balanced());
    let reasons: Vec<_> = report
        .invalid
        .iter()
        .map(|i| (i.source.to_string(), i.reason.as_str()))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|(at, why)| at.contains("name[0].period.end") && *why == "end before start"),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(at, why)| at.contains("contact[0].period.end")
                && *why == "contact end before its start"),
        "{reasons:?}"
    );
    let bp = back.patient.unwrap();
    assert!(bp.names[0].value.period.as_ref().unwrap().end.is_none());
    assert!(bp.contacts[0].until.is_none());
}

#[test]
fn blank_and_space_padded_values_are_not_written_as_sent() {
    // ws of the 2026-12-07 probe: family "SMITH " was written with its
    // space, PV1-10 " " as a Coding of a system and no code.
    let text = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH~ ^^^RX1^MR||SMITH ^JOHN~ ^ ||19700214|M\r\
PV1|1|I|WARD1^^^RX1||||||| |||||||||V100^^^RX1^VN|||||||||||||||||||||||||20240312090000\r\
AL1|1|DA|^ ^L\r";
    let (event, report) = mapped(text);
    // The model keeps text as sent; a value of only whitespace is reported.
    let p = event.patient.as_ref().unwrap();
    assert_eq!(p.names[0].value.family.as_deref(), Some("SMITH "));
    let blank: Vec<String> = report
        .invalid
        .iter()
        .filter(|i| i.reason == "only whitespace")
        .map(|i| i.source.to_string())
        .collect();
    for at in [
        "PID[1]-3[2].1",
        "PID[1]-5[2].1",
        "PID[1]-5[2].2",
        "PV1[1]-10",
        "AL1[1]-3.2",
    ] {
        assert!(blank.iter().any(|b| b.contains(at)), "{at}: {blank:?}");
    }
    assert_eq!(p.identifiers.len(), 1);
    assert!(event.encounter.as_ref().unwrap().service.is_none());
    let b = event_bundle(&event).unwrap();
    let text_out = b.to_string();
    assert!(
        !text_out.contains("\" ") && !text_out.contains(" \""),
        "{text_out}"
    );
    let patient = &b["entry"][0]["resource"];
    assert_eq!(patient["name"][0]["family"], "SMITH");
    assert_eq!(patient["name"].as_array().unwrap().len(), 1, "{patient}");
    let enc = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["resource"]["resourceType"] == "Encounter")
        .unwrap();
    assert!(enc["resource"].get("serviceType").is_none(), "{enc}");
    assert_eq!(check("ws", text.as_bytes()), 1);

    // The writer on a model made elsewhere: a Coding never has a system
    // without a code, and a blank display or text is left out.
    let mut odd = event.clone();
    let e = odd.encounter.as_mut().unwrap();
    e.service = Some(carecodec_model::Sourced::new(
        carecodec_model::Code::new(
            carecodec_model::CodeSystem::V2Table("0069".into()),
            " ",
            Some("  "),
        ),
        carecodec_model::Source::fhir("test"),
    ));
    let b = event_bundle(&odd).unwrap();
    assert!(!b.to_string().contains("v2-0069"), "{b}");
}

#[test]
fn a_coding_system_alone_is_reported_not_an_empty_code() {
    // AL1-3 / DG1-3 `^ ^L`: a blank display and a coding system, no code.
    // The allergy and diagnosis used to be written with `"code": {}` (or a
    // blank text); now the system is reported and nothing empty is written.
    let text = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|M1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rAL1|1|DA|^ ^L\rDG1|1||^ ^I10\r";
    let (event, report) = mapped(text);
    assert!(event.allergies.is_empty() && event.conditions.is_empty());
    let systems: Vec<&str> = report
        .invalid
        .iter()
        .filter(|i| i.reason == "coding system without a code")
        .map(|i| i.raw.as_str())
        .collect();
    assert_eq!(systems, ["L", "I10"], "{:?}", report.invalid);
    let b = event_bundle(&event).unwrap();
    assert!(!b.to_string().contains("{}"), "{b}");
    assert_eq!(check("system alone", text.as_bytes()), 1);
}

/// A conditional update carries the id of its key alone: two messages about
/// the same patient and visit send the same Patient and Encounter ids (R4:
/// an update whose body id is not the matched resource's is refused, 400);
/// so does the ward's `PUT Location/{id}` (keyed by the sending facility).
#[test]
fn conditional_updates_send_the_same_id_in_every_message() {
    let msg = |kind: &str, id: &str| {
        format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^{kind}|{id}|P|2.4\r\
             PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
             PV1|1|I|W1||||||||||||||||V123^^^RX1&2.16.840.1.113883.2.1.4.1&ISO^VN\r"
        )
    };
    let ids = |text: &str| {
        let (event, _) = mapped(text);
        let b = event_bundle(&event).unwrap();
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["request"]["method"] == "PUT")
            .map(|e| {
                (
                    e["request"]["url"].as_str().unwrap().to_owned(),
                    e["resource"]["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (ids(&msg("A01", "M1")), ids(&msg("A03", "M99")));
    assert_eq!(a.len(), 3, "{a:?}");
    assert_eq!(a, b);
}

/// The same practitioner sent as two participants (PV1-7 and PV1-17, with no
/// identifier system, so no conditional update) is one entry, referenced by
/// both participants.
#[test]
fn an_unkeyed_practitioner_sent_twice_is_one_entry() {
    let (event, _) = mapped(
        "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|M1|P|2.4\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
         PV1|1|I|W1|||||37^DISNEY^WALT^^^^^^AccMgr|||||||||37^DISNEY^WALT^^^^^^AccMgr\r",
    );
    let b = event_bundle(&event).unwrap();
    let entries = b["entry"].as_array().unwrap();
    let pracs: Vec<_> = entries
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Practitioner")
        .collect();
    assert_eq!(pracs.len(), 1, "{pracs:#?}");
    let enc = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Encounter")
        .unwrap();
    let who: Vec<_> = enc["resource"]["participant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["individual"]["reference"].clone())
        .collect();
    assert_eq!(who.len(), 2);
    assert!(who.iter().all(|w| *w == pracs[0]["fullUrl"]), "{who:?}");
    uk_core_valid("unkeyed twice", &b);
}

#[test]
fn control_characters_are_reported_and_never_written() {
    // v2-control-chars of the 2026-12-07 probe: `SM\X01\ITH`, `JO\X00\HN`
    // and `W\X07\1` reached FHIR strings (which may hold no character below
    // U+0020 but tab, CR and LF) with nothing in `invalid`.
    let text = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500+0000||ADT^A01^ADT_A01|C1|P|2.4\r\
EVN|A01|20240312091500\r\
PID|1||9434765919^^^NHS^NH||SM\\X01\\ITH^JO\\X00\\HN^\\X1F\\||19700214|M\r\
PV1|1|I|W\\X07\\1^^^RX1\r";
    let (event, report) = mapped(text);
    let p = event.patient.as_ref().unwrap();
    assert_eq!(p.names[0].value.family.as_deref(), Some("SMITH"));
    let at = |action: carecodec_model::Action| {
        report
            .invalid
            .iter()
            .filter(|i| i.reason == "control characters" && i.action == action)
            .map(|i| i.source.to_string())
            .collect::<Vec<_>>()
    };
    let kept = at(carecodec_model::Action::KeptAsText);
    for path in ["PID[1]-5[1].1", "PID[1]-5[1].2", "PV1[1]-3.1"] {
        assert!(kept.iter().any(|k| k.contains(path)), "{path}: {kept:?}");
    }
    // Nothing left but the control character: dropped.
    let dropped = at(carecodec_model::Action::Dropped);
    assert!(
        dropped.iter().any(|d| d.contains("PID[1]-5[1].3")),
        "{dropped:?}"
    );
    let b = event_bundle(&event).unwrap().to_string();
    assert!(
        !b.chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
        "{b}"
    );
    assert!(!b.contains("\\u00"), "{b}");
}

/// The Bundle of HL7 v2 `text` (MSH-4 `sender`, PV1-3 `pv1_3`, PV1-6
/// `pv1_6`) written for `trust`, strict R4 and UK Core, with the report:
/// no read-back check (a part sent with blanks reads back trimmed).
fn pl_bundle(
    sender: &str,
    pv1_3: &str,
    pv1_6: &str,
    trust: Option<&str>,
) -> (serde_json::Value, carecodec_model::MappingReport) {
    let text = format!(
        "MSH|^~\\&|PAS|{sender}|EPR|RX1|20240312091500||ADT^A02|7|P|2.5\r\
         PID|1||9434765919^^^NHS^NH||SMITH^JOHN\rPV1|1|I|{pv1_3}|||{pv1_6}\r"
    );
    let msg = Message::parse(text.as_bytes()).unwrap();
    let mut opts = V2Options::default();
    if let Some(t) = trust {
        opts = opts.trust_ods(t);
    }
    let (event, report) = map_message(&msg, &opts).unwrap();
    assert!(report.balanced());
    let b = carecodec_map::fhir::event_bundle_for(&event, BundleType::Transaction, trust).unwrap();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&b.to_string()).unwrap();
    uk_core_valid(&text, &b);
    (b, report)
}

/// (method, id) of the Location named `name` in `b`.
fn location_id(b: &serde_json::Value, name: &str) -> (String, String) {
    location_requests(b)
        .into_iter()
        .find(|l| l.0 == name)
        .map(|l| (l.1, l.3))
        .unwrap_or_else(|| panic!("{name}: {:?}", location_requests(b)))
}

#[test]
fn pl_location_keys_are_scoped_by_the_sender_and_unambiguous() {
    let id = |sender: &str, pv1_3: &str, name: &str| {
        location_id(&pl_bundle(sender, pv1_3, "", None).0, name)
    };
    let note = |r: &carecodec_model::MappingReport| {
        r.notes
            .iter()
            .any(|n| n.contains("PV1-3") && n.contains("POST"))
    };
    // Finding 11: a local PL-4 (`MAIN`) from two trusts is two sites and two wards.
    for name in ["MAIN", "WARD A"] {
        let (a, b) = (
            id("RAA", "WARD A^^^MAIN", name),
            id("RBB", "WARD A^^^MAIN", name),
        );
        assert_eq!((a.0.as_str(), b.0.as_str()), ("PUT", "PUT"));
        assert_ne!(a, b, "{name}");
    }
    // Finding 10: a PL-4 that is the sender keys as no PL-4; another
    // facility of the sender does not.
    for name in ["WARD A", "R1", "B1"] {
        let bare = id("RX1", "WARD A^R1^B1", name);
        assert_eq!(bare.0, "PUT");
        assert_eq!(id("RX1", "WARD A^R1^B1^RX1", name), bare, "{name}");
        assert_ne!(id("RX1", "WARD A^R1^B1^RX101", name), bare, "{name}");
    }
    // Finding 3: an HD known by its universal id alone (PL-4, MSH-4, a
    // ward): two ids, two places.
    let oid = |n: u8| format!("urn:oid:2.16.840.1.113883.19.{n}");
    let (h1, h2) = (
        id("RX1", "WARD A^^^&2.16.840.1.113883.19.1&ISO", &oid(1)),
        id("RX1", "WARD A^^^&2.16.840.1.113883.19.2&ISO", &oid(2)),
    );
    assert_ne!(h1, h2);
    assert_ne!(
        id("RX1", "WARD A^^^&2.16.840.1.113883.19.1&ISO", "WARD A"),
        id("RX1", "WARD A^^^&2.16.840.1.113883.19.2&ISO", "WARD A")
    );
    let by_sender = |s: &str| id(s, "W1", "W1");
    assert_eq!(by_sender("^1.2.3^ISO").0, "PUT");
    assert_ne!(by_sender("^1.2.3^ISO"), by_sender("^1.2.4^ISO"));
    assert_ne!(
        id("RX1", "&1.2.3.4&ISO", "urn:oid:1.2.3.4"),
        id("RX1", "&1.2.3.5&ISO", "urn:oid:1.2.3.5")
    );
    // No sender: a universal PL-4 keys the PL; a local one cannot (noted).
    let (b, report) = pl_bundle("", "W1^^^&2.16.840.1.113883.19.1&ISO", "", None);
    assert!(!note(&report), "{:?}", report.notes);
    assert_eq!(location_id(&b, "W1").0, "PUT");
    let (b, report) = pl_bundle("", "W1^^^MAIN", "", None);
    assert!(note(&report), "{:?}", report.notes);
    assert_eq!(location_id(&b, "MAIN").0, "POST");
    assert_eq!(location_id(&b, "W1").0, "POST");
    // A blank trust ODS code is none (item 18 of the probe).
    let (b, report) = pl_bundle("", "W1", "", Some(" "));
    assert!(note(&report), "{:?}", report.notes);
    assert_eq!(location_id(&b, "W1").0, "POST");
    // Finding 4: no part's text forges another key (the probe's `\X1F\`
    // separators, and this encoding's own).
    let ids: std::collections::BTreeSet<(String, String)> = [
        ("X^Y^^RX1", "X"),
        ("X^Y^^RX1", "Y"),
        ("X\\X1F\\room Y^^^RX1", "Xroom Y"),
        ("X^^^RX1\\X1F\\ward X", "RX1ward X"),
        ("X^^^RX1\\X1F\\ward X", "X"),
        ("X:room=1:Y^^^RX1", "X:room=1:Y"),
        ("X1:room=1:Y^^^RX1", "X1:room=1:Y"),
    ]
    .into_iter()
    .map(|(pl, name)| id("RX1", pl, name))
    .collect();
    assert_eq!(ids.len(), 7, "{ids:?}");
    // Finding 9: surrounding blanks neither re-key nor are written.
    for name in ["RX101", "W1", "B1"] {
        let (b, _) = pl_bundle("RX1", " W1 ^^ B1^ RX101 ", "", None);
        assert_eq!(location_id(&b, name), id("RX1", "W1^^B1^RX101", name));
    }
}

#[test]
fn a_conflicting_level_leaves_the_levels_above_keyed() {
    // Finding 12 of the 2026-12-07 probe (v2-loc-a02 m2): PV1-6 is PV1-3's
    // bed described otherwise: the site, ward and room stay keyed, only the
    // bed is created (every level was).
    let (b, _) = pl_bundle(
        "RX1",
        "W1^R1^B1^RX101^^^^^Ward One",
        "W1^R1^B1^RX101^^^^^Bed in W1",
        None,
    );
    let methods: Vec<(String, String)> = location_requests(&b)
        .into_iter()
        .map(|l| (l.0, l.1))
        .collect();
    let m = |name: &str, method: &str| (name.to_owned(), method.to_owned());
    assert_eq!(
        methods,
        [
            m("RX101", "PUT"),
            m("W1", "PUT"),
            m("R1", "PUT"),
            m("B1", "PUT"),
            m("B1", "POST")
        ],
        "{b}"
    );
}

#[test]
fn keys_lost_on_reading_a_bundle_without_a_sender_are_noted() {
    // Finding 16 of the 2026-12-07 probe (v2-loc-roundtrip m2): no EVN-2,
    // so the transaction Bundle has no Provenance and names no sender; its
    // keyed Locations read back as unkeyable, with no note.
    let text = |evn: &str| {
        format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500+0000||ADT^A01^ADT_A01|C1|P|2.4\r\
             {evn}\rPID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\rPV1|1|I|W1^R1^B1\r"
        )
    };
    let note = |r: &carecodec_model::MappingReport| {
        r.notes
            .iter()
            .any(|n| n.contains("Encounter.location (current)") && n.contains("POST"))
    };
    let (event, _) = mapped(&text("EVN|A01"));
    let b = event_bundle(&event).unwrap();
    assert_eq!(location_id(&b, "W1").0, "PUT");
    let (back, report) = read_bundle(&b);
    assert!(note(&report), "{:?}", report.notes);
    let again = event_bundle(&back).unwrap();
    assert_eq!(location_id(&again, "W1").0, "POST");
    // With the sender (a Provenance agent, a MessageHeader): kept, no note.
    let (event, _) = mapped(&text("EVN|A01|20240312091500"));
    let (back, report) = read_bundle(&event_bundle(&event).unwrap());
    assert!(!note(&report), "{:?}", report.notes);
    assert_eq!(location_id(&event_bundle(&back).unwrap(), "W1").0, "PUT");
    let (event, _) = mapped(&text("EVN|A01"));
    let m = event_bundle_with(&event, BundleType::Message).unwrap();
    let (_, report) = read_bundle(&m);
    assert!(!note(&report), "{:?}", report.notes);
}

#[test]
fn control_characters_in_the_message_type_are_reported_and_never_written() {
    // Found by the map_v2 fuzz target: MSH-9, read raw, put U+0000 and
    // U+0003 into the MessageHeader's eventCoding.display.
    let text = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500+0000||ADT\u{0}^A0\u{3}1|C1|P|2.4\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r";
    let (event, report) = mapped(text);
    assert_eq!(event.message_type, "ADT^A01");
    let bad: Vec<String> = report
        .invalid
        .iter()
        .filter(|i| i.reason == "control characters")
        .map(|i| i.source.to_string())
        .collect();
    assert!(bad.iter().any(|s| s.contains("MSH[1]-9.1")), "{bad:?}");
    assert!(bad.iter().any(|s| s.contains("MSH[1]-9.2")), "{bad:?}");
    assert!(report.balanced());
    for kind in [BundleType::Message, BundleType::Transaction] {
        let b = event_bundle_with(&event, kind).unwrap().to_string();
        assert!(!b.contains("\\u00"), "{b}");
    }
}

#[test]
fn fhir_strings_with_control_characters_are_read_without_them() {
    // Found by the map_fhir fuzz target: a `\b` in a given name read into
    // the model was written again, and the Bundle was invalid R4.
    let text = r#"{"resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "name": [{"family": "SMI\u0001TH", "given": ["Dan\b\bny"]}]}"#;
    let doc = JsonDocument::from_slice(text.as_bytes()).unwrap();
    let (event, report) = read_bundle(&doc);
    let name = &event.patient.as_ref().unwrap().names[0].value;
    assert_eq!(name.family.as_deref(), Some("SMITH"));
    assert_eq!(name.given, ["Danny"]);
    let bad: Vec<(String, &str)> = report
        .invalid
        .iter()
        .filter(|i| i.reason.starts_with("control characters"))
        .map(|i| (i.source.to_string(), i.raw.as_str()))
        .collect();
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        bad.iter()
            .any(|(s, raw)| s.contains("Patient.name[0].family") && *raw == "SMI\u{1}TH"),
        "{bad:?}"
    );
    assert!(
        bad.iter()
            .any(|(s, _)| s.contains("Patient.name[0].given[0]")),
        "{bad:?}"
    );
    assert!(report.balanced());
    let mut out = Vec::new();
    write_event_bundle(&event, BundleType::Transaction, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    carecodec_fhir::json::from_str::<carecodec_fhir::Resource>(&text).unwrap();
}

#[test]
fn a_report_without_obr_4_has_an_unknown_code() {
    // Probe (ORU) finding 12: an OBR with no OBR-4 was written with the
    // invented `code.text` "Result report". R4 requires `code`: it says it
    // is unknown (data-absent-reason), and reads back as no code.
    let (event, report) = mapped(
        "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120500+0000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
OBR|1|ORD1^EPR|LAB1^LAB||||20240312101500\r\
OBX|1|NM|NA^Sodium^L||140|mmol/L|||||F\r",
    );
    assert!(report.notes.iter().any(|n| n.contains("no OBR-4")));
    let bundle = event_bundle(&event).unwrap();
    uk_core_valid("no OBR-4", &bundle);
    let resources: Vec<&serde_json::Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let of = |t: &str| *resources.iter().find(|r| r["resourceType"] == t).unwrap();
    assert_eq!(
        of("DiagnosticReport")["code"],
        serde_json::json!({"extension": [{
            "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
            "valueCode": "unknown"
        }]})
    );
    // The order (ServiceRequest.code is optional) has none.
    assert!(of("ServiceRequest").get("code").is_none());
    let back = read_back(&bundle);
    assert_eq!(
        back.reports[0].code.value,
        carecodec_model::Concept::default()
    );
    check_message_bundle("no OBR-4", &event);
}

/// Only an authority read from a field that holds an organisation (an MRN's
/// CX.4, MSH-4 / MSH-6) claims the ODS system; an application namespace
/// (OBR-2/3 EI.2), an XCN.9 provider table, a visit-number scheme and a
/// typed identifier's authority are names (`assigner.display`), whatever
/// their shape.
#[test]
fn only_organisation_fields_claim_an_ods_assigner() {
    let bytes = b"MSH|^~\\&|LAB|RX1|EPR|RX2|20240312120500+0000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH~K100234^^^RX1^MR~A77^^^RX1^AN||SMITH^JOHN||19700214|M\r\
PV1|1|I|WARD7^^^RX1||||||||||||||||V55^^^VISIT\r\
OBR|1|ORD123^EPR|LAB456^LAB|58410-2^Full blood count^LN|||20240312101500|||||||||P99^JONES^ANN^^^DR^^^PROVID^^^^PRN\r\
OBX|1|NM|718-7^Haemoglobin^LN||135|g/L^g/L^UCUM|130-180|N|||F\r";
    let msg = Message::parse(bytes).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(!report.quarantined());
    let b = event_bundle(&event).unwrap();
    uk_core_valid("ods-assigners", &b);
    let text = b.to_string();
    let ods = |v: &str| serde_json::json!({"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": v}});
    let name = |v: &str| serde_json::json!({"display": v});
    let resource = |t: &str| {
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == t)
            .unwrap()
            .clone()
    };
    let by_value = |ids: &serde_json::Value, v: &str| {
        ids.as_array()
            .unwrap()
            .iter()
            .find(|i| i["value"] == v)
            .unwrap()
            .clone()
    };
    let patient = resource("Patient");
    assert_eq!(
        by_value(&patient["identifier"], "K100234")["assigner"],
        ods("RX1")
    );
    assert_eq!(
        by_value(&patient["identifier"], "A77")["assigner"],
        name("RX1")
    );
    let report_ids = &resource("DiagnosticReport")["identifier"];
    assert_eq!(by_value(report_ids, "ORD123")["assigner"], name("EPR"));
    assert_eq!(by_value(report_ids, "LAB456")["assigner"], name("LAB"));
    assert_eq!(
        by_value(&resource("Encounter")["identifier"], "V55")["assigner"],
        name("VISIT")
    );
    let requester = resource("Practitioner");
    assert_eq!(
        by_value(&requester["identifier"], "P99")["assigner"],
        name("PROVID")
    );
    for code in ["EPR", "LAB", "PROVID", "VISIT"] {
        assert!(
            !text.contains(&format!("ods-organization-code\",\"value\":\"{code}\"")),
            "{code}: {text}"
        );
    }
    // The facility fields are organisations: MSH-4 and MSH-6 as ODS codes.
    let m = event_bundle_with(&event, BundleType::Message).unwrap();
    uk_core_valid("ods-assigners message", &m);
    let header = &m["entry"][0]["resource"];
    assert_eq!(header["sender"], ods("RX1"));
    assert_eq!(header["destination"][0]["receiver"], ods("RX2"));
    // Read back: the same authorities.
    let (back, _) = read_bundle(&b);
    let ids = |e: &carecodec_model::Event| {
        let mut v: Vec<carecodec_model::Identifier> = e
            .patient
            .as_ref()
            .unwrap()
            .identifiers
            .iter()
            .chain(&e.reports[0].identifiers)
            .map(|i| i.value.clone())
            .collect();
        v.sort_by_key(|i| i.value().to_owned());
        v
    };
    assert_eq!(ids(&back), ids(&event));
}

/// A result whose identifier has a system (OBX-21, OBR-3 with an EI.3
/// universal id) is a conditional update on it, so a correction (OBX-11
/// `C`, `D`, `W`) replaces the result it corrects; a result without one, a
/// report known only by its placer number, and results sharing a key in one
/// message are created.
#[test]
fn keyed_results_are_conditional_updates() {
    let message = |id: &str, status: &str, value: &str| {
        format!(
            "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312130500+0000||ORU^R01^ORU_R01|{id}|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1|ORD1^EPR^1.2.826.0.1.1^ISO|LAB1^LAB^1.2.826.0.1.2^ISO|2823-3^Potassium^LN|||20240312101500|||||||||||||||20240312130000|||{status}\r\
OBX|1|NM|2823-3^Potassium^LN||{value}|mmol/L|3.5-5.3|N|||{status}||||||||||LAB1 1\\F\\x^LAB^1.2.826.0.1.3^ISO\r\
OBX|2|NM|2951-2^Sodium^LN||140|mmol/L|||||F\r"
        )
    };
    let bundle = |text: &str| {
        let msg = Message::parse(text.as_bytes()).unwrap();
        let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
        assert!(!report.quarantined());
        let b = event_bundle(&event).unwrap();
        uk_core_valid("keyed results", &b);
        check_message_bundle("keyed results", &event);
        b
    };
    let requests = |b: &serde_json::Value| -> Vec<(String, String, String, String)> {
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["resource"]["resourceType"].as_str().unwrap().to_owned(),
                    e["request"]["method"].as_str().unwrap().to_owned(),
                    e["request"]["url"].as_str().unwrap().to_owned(),
                    e["resource"]["id"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .filter(|(t, ..)| {
                ["Observation", "DiagnosticReport", "ServiceRequest"].contains(&t.as_str())
            })
            .collect()
    };
    let first = requests(&bundle(&message("C1", "F", "6.9")));
    let corrected = bundle(&message("C2", "C", "4.1"));
    let second = requests(&corrected);
    let keyed = |t: &str, url: &str| (t.to_owned(), "PUT".to_owned(), url.to_owned());
    let without_id = |v: &[(String, String, String, String)]| {
        v.iter()
            .map(|(t, m, u, _)| (t.clone(), m.clone(), u.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        without_id(&first),
        [
            keyed(
                "ServiceRequest",
                "ServiceRequest?identifier=urn:oid:1.2.826.0.1.2|LAB1"
            ),
            // The value's `|` escaped (`\|`) and percent-encoded, as the Patient's.
            keyed(
                "Observation",
                "Observation?identifier=urn:oid:1.2.826.0.1.3|LAB1%201%5C%7Cx"
            ),
            ("Observation".into(), "POST".into(), "Observation".into()),
            keyed(
                "DiagnosticReport",
                "DiagnosticReport?identifier=urn:oid:1.2.826.0.1.2|LAB1"
            ),
        ]
    );
    // The correction names the same resources (ids from the keys alone); the
    // unkeyed sodium is created again.
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.1 == "PUT", a.3 == b.3, "{a:?} {b:?}");
    }
    let obs = corrected["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["request"]["url"]
                .as_str()
                .unwrap()
                .starts_with("Observation?")
        })
        .unwrap();
    // OBX-11 C: corrected (the IG's map; amended until 2026-12-08).
    assert_eq!(obs["resource"]["status"], "corrected");
    assert_eq!(obs["resource"]["valueQuantity"]["value"], 4.1);
    // A report known by its placer number alone is created: the filler may
    // split one order into several reports.
    let placer_only = message("C3", "F", "6.9").replace("|LAB1^LAB^1.2.826.0.1.2^ISO|", "||");
    let r = requests(&bundle(&placer_only));
    assert!(
        r.iter()
            .filter(|(t, ..)| t != "Observation")
            .all(|(_, m, ..)| m == "POST"),
        "{r:?}"
    );
    // Two results with one key in a message are not one resource: created.
    let twice = message("C4", "F", "6.9").replace(
        "OBX|2|NM|2951-2^Sodium^LN||140|mmol/L|||||F\r",
        "OBX|2|NM|2951-2^Sodium^LN||140|mmol/L|||||F||||||||||LAB1 1\\F\\x^LAB^1.2.826.0.1.3^ISO\r",
    );
    let r = requests(&bundle(&twice));
    let obs: Vec<_> = r.iter().filter(|(t, ..)| t == "Observation").collect();
    assert_eq!(obs.len(), 2);
    assert!(obs.iter().all(|(_, m, ..)| m == "POST"), "{r:?}");
    assert!(
        r.iter()
            .any(|(t, m, ..)| t == "DiagnosticReport" && m == "PUT")
    );
}

/// The Observations of a Bundle, in entry order.
fn observations(b: &serde_json::Value) -> Vec<&serde_json::Value> {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Observation")
        .collect()
}

const SUB_ID: &str = "http://hl7.org/fhir/StructureDefinition/observation-v2-subid";
const VALUE_R5: &str = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.value";

#[test]
fn obx_4_sub_ids_are_the_observation_v2_subid_extension_and_back() {
    // A microbiology culture: the organism (sub-ID 1) and its
    // susceptibilities (1.1, 1.2), before v2.8; then v2.8 OG components.
    let text = "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120500+0000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
OBR|1|ORD1^EPR|LAB1^LAB|600-7^Culture^LN|||20240312101500\r\
OBX|1|CWE|600-7^Bacteria identified^LN|1|112283007^Escherichia coli^SCT||||||F\r\
OBX|2|NM|18864-9^Ampicillin^LN|1.1|8|ug/mL||R|||F\r\
OBX|3|NM|18906-8^Ciprofloxacin^LN|1.2|0.25|ug/mL||S|||F\r\
OBX|4|NM|18964-7^Penicillin^LN|1.3^1^3^ISO1|0.5|ug/mL||R|||F\r";
    assert_eq!(check("micro", text.as_bytes()), 1);
    let (event, _) = mapped(text);
    let b = event_bundle(&event).unwrap();
    let obs = observations(&b);
    let sub = |i: usize| {
        let ext = obs[i]["extension"].as_array().unwrap();
        assert_eq!(ext.len(), 1);
        assert_eq!(ext[0]["url"], SUB_ID);
        ext[0]["extension"].clone()
    };
    assert_eq!(
        sub(0),
        serde_json::json!([{"url": "original-sub-identifier", "valueString": "1"}])
    );
    assert_eq!(
        sub(2),
        serde_json::json!([{"url": "original-sub-identifier", "valueString": "1.2"}])
    );
    assert_eq!(
        sub(3),
        serde_json::json!([
            {"url": "original-sub-identifier", "valueString": "1.3"},
            {"url": "group", "valueDecimal": 1},
            {"url": "sequence", "valueDecimal": 3},
            {"url": "identifier", "valueString": "ISO1"}
        ])
    );
    let back = read_back(&b);
    let sub_ids = |e: &carecodec_model::Event| -> Vec<_> {
        e.reports[0]
            .observations
            .iter()
            .map(|o| o.sub_id.as_ref().map(|s| s.value.clone()))
            .collect()
    };
    assert_eq!(sub_ids(&back), sub_ids(&event));
}

#[test]
fn ed_and_rp_values_are_the_r5_value_attachment_extension_and_back() {
    let text = "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120500+0000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
OBR|1|ORD1^EPR|LAB1^LAB|11502-2^Laboratory report^LN|||20240312101500\r\
OBX|1|ED|PDF^Report^L||^application^pdf^Base64^JVBERi0xLjQK||||||F\r\
OBX|2|RP|IMG^Image^L||https://pacs.example.nhs.uk/wado/1.2.3^^image^jpeg||||||F\r\
OBX|3|ED|PDF^Report^L||^application^pdf^Base64^JVBERi0xLjQ*||||||F\r";
    assert_eq!(check("ed", text.as_bytes()), 1);
    let (event, _) = mapped(text);
    let b = event_bundle(&event).unwrap();
    let obs = observations(&b);
    // R4 has no valueAttachment: the cross-version extension carries it,
    // and the Observation has no dataAbsentReason besides.
    assert_eq!(
        obs[0]["extension"],
        serde_json::json!([{"url": VALUE_R5, "valueAttachment": {
            "contentType": "application/pdf", "data": "JVBERi0xLjQK"
        }}])
    );
    assert_eq!(
        obs[1]["extension"],
        serde_json::json!([{"url": VALUE_R5, "valueAttachment": {
            "contentType": "image/jpeg", "url": "https://pacs.example.nhs.uk/wado/1.2.3"
        }}])
    );
    for o in &obs[..2] {
        assert!(o.get("dataAbsentReason").is_none(), "{o}");
        assert!(o.get("valueString").is_none(), "{o}");
    }
    // Data that is not Base64 is text, never bad data.
    assert_eq!(obs[2]["valueString"], "JVBERi0xLjQ*");
    assert!(obs[2].get("extension").is_none());
    let back = read_back(&b);
    let values = |e: &carecodec_model::Event| -> Vec<_> {
        e.reports[0]
            .observations
            .iter()
            .map(|o| o.value.as_ref().map(|v| v.value.clone()))
            .collect()
    };
    assert_eq!(values(&back), values(&event));
}

/// F7 (probe nine): an RP pointer with a space or tab inside had been
/// written into `Attachment.url` as sent, which R4's `url` (regex `\S*`)
/// forbids, and nothing was reported. Now each whitespace character is
/// percent-encoded and the pointer is reported invalid (`interpreted`);
/// blanks around it are trimmed as before, unreported.
#[test]
fn an_rp_pointer_with_whitespace_is_percent_encoded_and_reported() {
    let text = "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120500+0000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
OBR|1|ORD1^EPR|LAB1^LAB|11502-2^Laboratory report^LN|||20240312101500\r\
OBX|1|RP|PDF^Report^L||http://x.nhs.uk/doc 1.pdf^LAB^AP^PDF||||||F\r\
OBX|2|RP|PDF^Report^L||http://x/a\tb^LAB^AP^PDF||||||F\r\
OBX|3|RP|PDF^Report^L|| http://x/c.pdf ^LAB^AP^PDF||||||F\r";
    assert_eq!(check("rp", text.as_bytes()), 1);
    let (event, report) = mapped(text);
    let b = event_bundle(&event).unwrap();
    let urls: Vec<&str> = observations(&b)
        .iter()
        .map(|o| {
            o["extension"][0]["valueAttachment"]["url"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        urls,
        [
            "http://x.nhs.uk/doc%201.pdf",
            "http://x/a%09b",
            "http://x/c.pdf"
        ]
    );
    // (OBX-3's local system `L` is legal HL7 v2: not invalid.)
    let bad: Vec<(String, &str, carecodec_model::Action)> = report
        .invalid
        .iter()
        .map(|i| (path_of(&i.source), i.raw.as_str(), i.action))
        .collect();
    assert_eq!(
        bad,
        [
            (
                "OBX[1]-5[1].1".to_owned(),
                "http://x.nhs.uk/doc 1.pdf",
                carecodec_model::Action::Interpreted
            ),
            (
                "OBX[2]-5[1].1".to_owned(),
                "http://x/a\tb",
                carecodec_model::Action::Interpreted
            ),
        ]
    );
    assert!(
        report
            .invalid
            .iter()
            .any(|i| i.reason.contains("doc%201.pdf"))
    );
}

/// The Bundle of HL7 v2 `text` (checked as every Bundle is: strict R4,
/// references, read back, UK Core, the message form), written for `trust`,
/// with the mapping report of a mapping given the same trust.
fn scoped_bundle(
    text: &str,
    trust: Option<&str>,
) -> (serde_json::Value, carecodec_model::MappingReport) {
    assert_eq!(check("scoped keys", text.as_bytes()), 1, "{text}");
    let msg = Message::parse(text.as_bytes()).unwrap();
    let mut opts = V2Options::default();
    if let Some(t) = trust {
        opts = opts.trust_ods(t);
    }
    let (event, report) = map_message(&msg, &opts).unwrap();
    assert!(report.balanced());
    let b = carecodec_map::fhir::event_bundle_for(&event, BundleType::Transaction, trust).unwrap();
    uk_core_valid("scoped keys", &b);
    read_back(&b);
    (b, report)
}

/// The (method, request url, resource id) of each entry of `rtype`, with
/// the check that a keyed update's entry is its resource (`fullUrl`
/// `urn:uuid:{id}`, `url` `{rtype}/{id}`).
fn typed_requests(b: &serde_json::Value, rtype: &str) -> Vec<(String, String, String)> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == rtype)
        .map(|e| {
            let (method, url, id) = (
                s(&e["request"]["method"]),
                s(&e["request"]["url"]),
                s(&e["resource"]["id"]),
            );
            assert_eq!(s(&e["fullUrl"]), format!("urn:uuid:{id}"));
            if method == "PUT" && !url.contains('?') {
                assert_eq!(url, format!("{rtype}/{id}"));
            }
            (method, url, id)
        })
        .collect()
}

/// F5 (probe nine): a correction re-sending one OBX of a keyed report (OBX-11
/// `C` or `D`, OBR-25 not `C`) sent `PUT DiagnosticReport/{id}` listing only
/// that result, so on a server the report lost its other results. Now such a
/// report and its order are not written (the server's report keeps its
/// results; the corrected Observation keeps its id, so the report's link to
/// it holds) and the report is listed as not written; a report corrected as
/// a whole (OBR-25 `C`) is still replaced, as amended.
#[test]
fn a_correction_of_one_result_leaves_the_keyed_report_alone() {
    let oru = |control: &str, obr25: &str, obx: &[(&str, &str, &str)]| {
        let mut m = format!(
            "MSH|^~\\&|LAB|RX1|PAS|RX1|20241201120000+0000||ORU^R01^ORU_R01|{control}|P|2.5\r\
             PID|1||111^^^RX1^MR||A^B||19700101|F\r\
             OBR|1||LAB456^LAB|FBC^Full blood count^L|||||||||||||||||||||{obr25}\r"
        );
        for (i, (value, status, id)) in obx.iter().enumerate() {
            m.push_str(&format!(
                "OBX|{}|NM|718-7^Hb^LN||{value}|g/L|||||{status}||||||||||{id}^LAB\r",
                i + 1
            ));
        }
        m
    };
    let reports = |b: &serde_json::Value| typed_requests(b, "DiagnosticReport");
    let results = |b: &serde_json::Value| -> Vec<String> {
        typed_requests(b, "Observation")
            .into_iter()
            .map(|(m, u, _)| format!("{m} {u}"))
            .collect()
    };
    let (first, _) = scoped_bundle(
        &oru("R1", "F", &[("135", "F", "OBS1"), ("4.5", "F", "OBS2")]),
        None,
    );
    let report = reports(&first);
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].0, "PUT");
    let original = results(&first);
    assert_eq!(original.len(), 2);
    for (obr25, status) in [("", "C"), ("", "D"), ("F", "C")] {
        let text = oru("R2", obr25, &[("136", status, "OBS1")]);
        let (b, _) = scoped_bundle(&text, None);
        // The result is updated under the id the final report lists.
        assert_eq!(results(&b), original[..1], "{obr25} {status}");
        assert!(reports(&b).is_empty(), "{obr25} {status}: {b}");
        // Nor its order (read back only as a report's); the report is
        // listed as not written.
        assert!(typed_requests(&b, "ServiceRequest").is_empty());
        let (event, _) = mapped(&text);
        let listed: Vec<(String, String)> =
            carecodec_map::fhir::event_not_written(&event, BundleType::Transaction)
                .unwrap()
                .into_iter()
                .filter(|n| n.field.starts_with("reports"))
                .map(|n| (n.field, n.value))
                .collect();
        assert_eq!(
            listed,
            [(
                "reports[0]".to_owned(),
                "LAB456 FBC (Full blood count)".to_owned()
            )],
            "{obr25} {status}"
        );
    }
    // A corrected result with no OBX-21 is created anew, and only the
    // report's update can list it: the report is written, listing the results
    // sent, and that is listed as well.
    let text = format!(
        "{}OBX|2|NM|718-7^Hb^LN||4.6|g/L|||||C\r",
        oru("R4", "", &[("136", "C", "OBS1")])
    );
    let (b, _) = scoped_bundle(&text, None);
    assert_eq!(reports(&b), report);
    let (event, _) = mapped(&text);
    let listed = carecodec_map::fhir::event_not_written(&event, BundleType::Transaction).unwrap();
    let listed: Vec<&str> = listed
        .iter()
        .filter(|n| n.field == "reports[0]")
        .map(|n| n.reason.as_ref())
        .collect();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].contains("no longer"), "{listed:?}");
    // A report corrected as a whole (OBR-25 C) replaces the report,
    // corrected (the IG's ResultStatus map; amended until 2026-12-08).
    let (b, _) = scoped_bundle(
        &oru("R3", "C", &[("136", "C", "OBS1"), ("4.5", "F", "OBS2")]),
        None,
    );
    assert_eq!(reports(&b), report);
    let dr = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "DiagnosticReport")
        .unwrap();
    assert_eq!(dr["resource"]["status"], "corrected");
    assert_eq!(dr["resource"]["result"].as_array().unwrap().len(), 2);
}

/// Review findings 1 (2026-12-07): a visit number known by its namespace
/// alone (`V123^^^RX1`, the usual NHS PAS PV1-19) keys the Encounter in the
/// sender's scope (MSH-4, else the trust's ODS code), so a cancel (A11 /
/// A12 / A13) or an update (A08) names the Encounter the admission created;
/// with no scope it is created, and the mapping says why.
#[test]
fn namespace_only_visit_numbers_key_the_encounter_in_the_senders_scope() {
    let adt = |sender: &str, event: &str, control: &str, pid3: &str| {
        format!(
            "MSH|^~\\&|PAS|{sender}|EPR|RX1|20240312091500||ADT^{event}|{control}|P|2.4\r\
             EVN|{event}|20240312091500\r\
             PID|1||{pid3}||SMITH^JOHN||19700214|M\r\
             PV1|1|I|W1^^^RX1||||||||||||||||V123^^^RX1\r"
        )
    };
    let nhs = "9434765919^^^NHS^NH";
    let encounter = |text: &str, trust: Option<&str>| {
        let (b, report) = scoped_bundle(text, trust);
        let mut e = typed_requests(&b, "Encounter");
        assert_eq!(e.len(), 1, "{b}");
        (e.remove(0), b, report)
    };
    let (a01, ..) = encounter(&adt("RX1", "A01", "C1", nhs), None);
    assert_eq!(a01.0, "PUT");
    assert!(a01.1.starts_with("Encounter/"), "{a01:?}");
    // The cancel, an update, a cancelled transfer and discharge: the same
    // Encounter, whatever the message's control id; the A11 cancels it.
    for event in ["A11", "A08", "A12", "A13"] {
        let (e, b, _) = encounter(&adt("RX1", event, "C2", nhs), None);
        assert_eq!(e, a01, "{event}");
        if event == "A11" {
            let enc = b["entry"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["resource"]["resourceType"] == "Encounter")
                .unwrap();
            assert_eq!(enc["resource"]["status"], "cancelled");
        }
    }
    // Another sender's V123^^^RX1 is another visit.
    let (other, ..) = encounter(&adt("RX2", "A11", "C1", nhs), None);
    assert_eq!(other.0, "PUT");
    assert_ne!(other.1, a01.1);
    // Another authority or number: another visit.
    let text = adt("RX1", "A01", "C1", nhs).replace("V123^^^RX1", "V123^^^RX2");
    assert_ne!(encounter(&text, None).0.1, a01.1);
    let text = adt("RX1", "A01", "C1", nhs).replace("V123^^^RX1", "V124^^^RX1");
    assert_ne!(encounter(&text, None).0.1, a01.1);
    // No MSH-4: the trust's ODS code is the scope (the same as a sender RX1);
    // with neither, a create, and the mapping notes why.
    let unsent = adt("", "A11", "C1", nhs);
    let (by_trust, b, _) = encounter(&unsent, Some("RX1"));
    assert_eq!(by_trust, a01);
    // Read back, the Bundle names no sender to key it again by: said.
    let (_, read) = read_bundle(&b);
    assert!(
        read.notes
            .iter()
            .any(|n| n.starts_with("Encounter: updated") && n.contains("POST")),
        "{:?}",
        read.notes
    );
    let (_, read) = read_bundle(&encounter(&adt("RX1", "A11", "C1", nhs), None).1);
    assert!(!read.notes.iter().any(|n| n.starts_with("Encounter:")));
    let (none, _, report) = encounter(&unsent, None);
    assert_eq!((none.0.as_str(), none.1.as_str()), ("POST", "Encounter"));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("PV1-19") && n.contains("POST")),
        "{:?}",
        report.notes
    );
    let (_, _, report) = encounter(&adt("RX1", "A11", "C1", nhs), None);
    assert!(!report.notes.iter().any(|n| n.starts_with("PV1-19")));
    // A visit number with a system is a conditional update, as before.
    let text = adt("RX1", "A01", "C1", nhs).replace("V123^^^RX1", "V123^^^RX1&1.2.3&ISO");
    assert_eq!(
        encounter(&text, None).0.1,
        "Encounter?identifier=urn:oid:1.2.3|V123"
    );
    // The patient known by an MRN with no system is created by every
    // message (an identity decision); the keyed Encounter names this
    // message's Patient, so each message points the one Encounter at its
    // new copy of the patient.
    for control in ["C1", "C2"] {
        let (e, b, _) = encounter(&adt("RX1", "A08", control, "K1^^^RX1^MR"), None);
        assert_eq!(e, a01);
        let patient = typed_requests(&b, "Patient");
        assert_eq!(patient[0].0, "POST");
        let enc = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["resource"]["resourceType"] == "Encounter")
            .unwrap();
        assert_eq!(
            enc["resource"]["subject"]["reference"],
            format!("urn:uuid:{}", patient[0].2)
        );
    }
}

/// An ORU^R01 from `sender` (control id `control`, OBX-11 `status`, the
/// potassium `value`) whose OBR-3 filler number, OBX-21 and OBX-18 are
/// known by their namespace (`LAB`) alone, its OBX-23 laboratory by its
/// XON.6 namespace, with a responsible observer (OBX-16) and a director
/// (OBX-25) known by their GMC numbers.
fn namespaced_oru(sender: &str, control: &str, status: &str, value: &str) -> String {
    format!(
        "MSH|^~\\&|LAB|{sender}|EPR|RX1|20240312130500+0000||ORU^R01^ORU_R01|{control}|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1|ORD1^EPR|LAB456^LAB|2823-3^Potassium^LN|||20240312101500|||||||||||||||20240312130000|||{status}\r\
OBX|1|NM|2823-3^Potassium^LN||{value}|mmol/L|3.5-5.3|N|||{status}|||||C1234567^OBS^ANN^^^^^^GMC||EQ1^LAB|||OBS1^LAB||City Lab^^^^^LABS^^^^CL1||C7654321^DIR^BOB^^^^^^GMC\r\
OBX|2|NM|2951-2^Sodium^LN||140|mmol/L|||||{status}|||||||EQ1^LAB\r"
    )
}

/// Review findings 2 and 3 (2026-12-07): results known by a namespace
/// alone (OBR-3 `LAB456^LAB`, OBX-21 `OBS1^LAB`) and the Device,
/// Organization and PractitionerRole they refer to are updated by ids
/// scoped by the sender, so a correction replaces what it corrects and
/// nothing piles up; two senders, two resources; no scope, created.
#[test]
fn namespace_only_results_and_what_they_refer_to_are_updated_by_scoped_ids() {
    let kinds = [
        "ServiceRequest",
        "DiagnosticReport",
        "Observation",
        "Device",
        "Organization",
        "PractitionerRole",
    ];
    let all = |b: &serde_json::Value| {
        kinds
            .iter()
            .map(|k| typed_requests(b, k))
            .collect::<Vec<_>>()
    };
    let (first, _) = scoped_bundle(&namespaced_oru("RX1", "C1", "F", "6.9"), None);
    let (corrected, _) = scoped_bundle(&namespaced_oru("RX1", "C2", "C", "4.1"), None);
    let (a, b) = (all(&first), all(&corrected));
    // One Device for the two OBX-18s; the observer's role has no
    // Organization: created; the director's, keyed.
    let counts: Vec<usize> = a.iter().map(Vec::len).collect();
    assert_eq!(counts, [1, 1, 2, 1, 1, 2], "{a:?}");
    for (k, (x, y)) in kinds.iter().zip(a.iter().zip(&b)) {
        for (n, (r, s)) in x.iter().zip(y).enumerate() {
            // The sodium (second) and the observer's role (first) are created.
            let created = (k == &"Observation" && n == 1) || (k == &"PractitionerRole" && n == 0);
            if !created {
                assert_eq!(r.0, "PUT", "{k}: {r:?}");
                assert!(r.1.starts_with(&format!("{k}/")), "{k}: {r:?}");
                assert_eq!(r, s, "{k}: the correction names another resource");
            } else {
                // The sodium (no OBX-21) and the observer's role: created.
                assert_eq!(r.0, "POST", "{k}: {r:?}");
            }
        }
    }
    // The potassium's correction is the corrected value, under the same id.
    let potassium = corrected["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["resource"]["resourceType"] == "Observation"
                && e["resource"]["code"]["coding"][0]["code"] == "2823-3"
        })
        .unwrap();
    assert_eq!(potassium["resource"]["status"], "corrected");
    assert_eq!(potassium["resource"]["valueQuantity"]["value"], 4.1);
    assert_eq!(potassium["request"]["url"], a[2][0].1.as_str());
    // The director's role names the keyed Practitioner and Organization.
    let role = first["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"]["url"].as_str() == Some(a[5][1].1.as_str()))
        .unwrap();
    assert_eq!(role["resource"]["code"][0]["coding"][0]["code"], "MDIR");
    // Another sender: every scoped id differs; the role's Practitioner is
    // the same (GMC) but its Organization is not, so the role is not either.
    let (elsewhere, _) = scoped_bundle(&namespaced_oru("RX2", "C1", "F", "6.9"), None);
    let c = all(&elsewhere);
    for (k, (x, y)) in kinds.iter().zip(a.iter().zip(&c)) {
        for (r, s) in x.iter().zip(y).filter(|(r, _)| r.0 == "PUT") {
            assert_ne!(r.2, s.2, "{k}");
        }
    }
    // No sender and no trust ODS code: all created.
    let (unscoped, report) = scoped_bundle(&namespaced_oru("", "C1", "F", "6.9"), None);
    for (k, x) in kinds.iter().zip(all(&unscoped)) {
        assert!(x.iter().all(|r| r.0 == "POST"), "{k}: {x:?}");
    }
    // The mapping says why, once per field.
    let said = |r: &carecodec_model::MappingReport, field: &str| {
        r.notes
            .iter()
            .filter(|n| n.starts_with(field) && n.contains("POST"))
            .count()
    };
    assert_eq!((said(&report, "OBR-3"), said(&report, "OBX-21")), (1, 1));
    // The trust's ODS code scopes them instead.
    let (by_trust, report) = scoped_bundle(&namespaced_oru("", "C1", "F", "6.9"), Some("RX1"));
    assert_eq!((said(&report, "OBR-3"), said(&report, "OBX-21")), (0, 0));
    assert_eq!(all(&by_trust), a);
    // Read back, that Bundle names no sender to key them again by: said,
    // once per type (an ADT's with a sender says nothing: see the
    // Encounter's test).
    let (_, read) = read_bundle(&by_trust);
    for k in [
        "DiagnosticReport",
        "ServiceRequest",
        "Observation",
        "Device",
        "Organization",
    ] {
        let said = read
            .notes
            .iter()
            .filter(|n| n.starts_with(&format!("{k}: updated")))
            .count();
        assert_eq!(said, 1, "{k}: {:?}", read.notes);
    }
    // An ORU's transaction Bundle has no Provenance (no EVN), so even one
    // from a sender names none when read back: said too, truly.
    let (_, read) = read_bundle(&first);
    assert!(
        read.notes
            .iter()
            .any(|n| n.starts_with("DiagnosticReport: updated")),
        "{:?}",
        read.notes
    );
    // A placer number (OBR-2) alone keys no report or order.
    let placer = namespaced_oru("RX1", "C1", "F", "6.9").replace("|LAB456^LAB|", "||");
    let (b, _) = scoped_bundle(&placer, None);
    for k in ["ServiceRequest", "DiagnosticReport"] {
        assert!(typed_requests(&b, k).iter().all(|r| r.0 == "POST"), "{k}");
    }
    // Two OBX of one message with one OBX-21: both created, as two results
    // sharing a key with a system are.
    let twice = namespaced_oru("RX1", "C1", "F", "6.9").replace(
        "||{status}|||||||EQ1^LAB\r"
            .replace("{status}", "F")
            .as_str(),
        "||F|||||||EQ1^LAB|||OBS1^LAB\r",
    );
    let (b, _) = scoped_bundle(&twice, None);
    let obs = typed_requests(&b, "Observation");
    assert_eq!(obs.len(), 2);
    assert!(obs.iter().all(|r| r.0 == "POST"), "{obs:?}");
    assert_eq!(typed_requests(&b, "DiagnosticReport")[0].0, "PUT");
    // An equipment id with a universal id is a conditional update on it.
    let universal = namespaced_oru("RX1", "C1", "F", "6.9").replace("EQ1^LAB", "EQ1^LAB^1.2.3^ISO");
    let (b, _) = scoped_bundle(&universal, None);
    assert_eq!(
        typed_requests(&b, "Device")[0].1,
        "Device?identifier=urn:oid:1.2.3|EQ1"
    );
    // Two OBX-18s with one key saying different things: the first keyed,
    // the second created (one entry per id, never the first silently).
    let differ = namespaced_oru("RX1", "C1", "F", "6.9")
        .replace("|||||||EQ1^LAB\r", "|||||||EQ1^LAB~EQ2^LAB\r");
    let (b, _) = scoped_bundle(&differ, None);
    let devices = typed_requests(&b, "Device");
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert_eq!(
        (devices[0].0.as_str(), devices[1].0.as_str()),
        ("PUT", "POST")
    );
    assert_eq!(devices[0], a[3][0]);
    // A laboratory named by no identifier is created; one with the same
    // identifier and another name in the same message too.
    let named =
        namespaced_oru("RX1", "C1", "F", "6.9").replace("City Lab^^^^^LABS^^^^CL1", "City Lab");
    let (b, _) = scoped_bundle(&named, None);
    assert_eq!(typed_requests(&b, "Organization")[0].0, "POST");
    assert!(
        typed_requests(&b, "PractitionerRole")
            .iter()
            .all(|r| r.0 == "POST")
    );
}

/// A performing organisation known by its ODS code is a conditional update
/// on it, the id from the key alone (as an ESR worker's Organization).
#[test]
fn an_ods_coded_laboratory_is_a_conditional_update() {
    let (mut event, _) = mapped(&namespaced_oru("RX1", "C1", "F", "6.9"));
    let org = event.reports[0].observations[0]
        .performers
        .iter_mut()
        .find_map(|p| p.organisation.as_mut())
        .unwrap();
    org.identifiers[0].value = carecodec_model::Identifier::OdsOrganisation("RX1".into());
    let b = event_bundle(&event).unwrap();
    uk_core_valid("ods laboratory", &b);
    read_back(&b);
    let orgs = typed_requests(&b, "Organization");
    assert_eq!(
        (orgs[0].0.as_str(), orgs[0].1.as_str()),
        (
            "PUT",
            "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|RX1"
        )
    );
    // The same laboratory from another sender: the same resource.
    let mut other = event.clone();
    other.sender.as_mut().unwrap().value = "RX2".into();
    let again = typed_requests(&event_bundle(&other).unwrap(), "Organization");
    assert_eq!(again, orgs);
}

/// Many results (more than the pairwise comparison takes): keyed each, but
/// the two sharing an OBX-21 created, as in a short message.
#[test]
fn shared_result_keys_are_found_among_many_results() {
    let mut text = String::from(
        "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312130500+0000||ORU^R01^ORU_R01|M1|P|2.5\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
OBR|1|ORD1^EPR|LAB456^LAB|2823-3^Potassium^LN|||20240312101500|||||||||||||||20240312130000|||F\r",
    );
    for i in 1..=80 {
        let id = if i == 80 { 7 } else { i };
        text.push_str(&format!(
            "OBX|{i}|NM|2823-3^Potassium^LN||4.{i}|mmol/L|||||F||||||||||O{id}^LAB\r"
        ));
    }
    let (b, _) = scoped_bundle(&text, None);
    let obs = typed_requests(&b, "Observation");
    assert_eq!(obs.len(), 80);
    for (i, r) in obs.iter().enumerate() {
        let shared = i + 1 == 7 || i + 1 == 80;
        assert_eq!(r.0, if shared { "POST" } else { "PUT" }, "OBX {}", i + 1);
    }
}

/// The ids of a message's patient groups are their own: no MessageHeader or
/// created resource of one group shares its id with another group's, nor
/// with those of another message whose MSH-10 is a group's Bundle
/// identifier (`M1/2`).
#[test]
fn patient_group_ids_are_never_another_groups_or_messages() {
    let group = |nhs: &str| {
        format!(
            "PID|1||{nhs}^^^NHS^NH||SMITH^JOHN\rOBR|1||^|718-7^Hb^LN\r\
             OBX|1|NM|718-7^Hb^LN||135|g/L|||||F\r"
        )
    };
    let split = format!(
        "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01|M1|P|2.5\r{}{}",
        group("9434765919"),
        group("4010232137")
    );
    let single = format!(
        "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312120000||ORU^R01|M1/2|P|2.5\r{}",
        group("4010232137")
    );
    let mut ids: Vec<Vec<String>> = Vec::new();
    for text in [&split, &single] {
        let msg = Message::parse(text.as_bytes()).unwrap();
        for (event, report) in map_patient_groups(&msg, &V2Options::default()).unwrap() {
            assert!(!report.quarantined(), "{:?}", report.identity);
            let b = event_bundle_with(&event, BundleType::Message).unwrap();
            uk_core_valid("group ids", &b);
            ids.push(
                b["entry"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["resource"]["resourceType"] != "Patient")
                    .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                    .collect(),
            );
        }
    }
    assert_eq!(ids.len(), 3);
    for (i, a) in ids.iter().enumerate() {
        assert!(!a.is_empty());
        for b in ids.iter().skip(i + 1) {
            assert!(a.iter().all(|id| !b.contains(id)), "{a:?} {b:?}");
        }
    }
}

/// The probe's ADT (ninth probe, `enc_scope`): MSH-4 `sender`, PID-3
/// `pid3`, PV1-3 `pl`, PV1-19 `visit`.
fn probe_adt(sender: &str, event: &str, pid3: &str, pl: &str, visit: &str) -> String {
    format!(
        "MSH|^~\\&|PAS|{sender}|EPR|RX1|20241201120000+0000||ADT^{event}^ADT_A01|S1|P|2.5\r\
         EVN|{event}|20241201115900\r\
         PID|1||{pid3}||A^B||19700101|F\r\
         PV1|1|I|{pl}||||||||||||||||{visit}\r"
    )
}

/// The (method, url) of each Encounter and Location of `b`.
fn visit_requests(b: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut all = typed_requests(b, "Encounter");
    all.extend(typed_requests(b, "Location"));
    all
}

/// Ninth probe F2: a key value sent with blanks around it (PV1-19
/// `V123 ^^^RX1`, OBX-21 `OBS1 ^LAB`, an MRN `111 `) keyed a different
/// resource than the same value without them and was written with the
/// blanks, although the authority and MSH-4 were trimmed. The model keeps
/// the value as sent; the writer trims it, for the key and the identifier.
#[test]
fn blanks_around_a_key_value_neither_re_key_nor_are_written() {
    let plain = probe_adt("RX1", "A01", "111^^^RX1^MR", "W1^1^1^RX1", "V123^^^RX1");
    let (b, _) = scoped_bundle(&plain, None);
    let want = typed_requests(&b, "Encounter");
    for visit in ["V123 ^^^RX1", " V123^^^RX1 ", "V123^^^ RX1"] {
        let text = probe_adt("RX1 ", "A11", "111 ^^^RX1^MR", "W1 ^1^1^RX1", visit);
        let (event, _) = mapped(&text);
        let (b, _) = scoped_bundle(&text, None);
        assert_eq!(typed_requests(&b, "Encounter"), want, "{visit}");
        let enc = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["resourceType"] == "Encounter")
            .unwrap();
        assert_eq!(enc["resource"]["identifier"][0]["value"], "V123", "{visit}");
        assert_eq!(
            enc["resource"]["identifier"][0]["assigner"]["display"],
            "RX1"
        );
        let patient = &b["entry"][0]["resource"];
        assert_eq!(patient["identifier"][0]["value"], "111", "{patient}");
        // The MRN's authority is an ODS code once trimmed.
        assert_eq!(
            patient["identifier"][0]["assigner"]["identifier"]["value"],
            "RX1"
        );
        // The model keeps the text as sent (the writer trims, as names).
        let e = event.encounter.as_ref().unwrap();
        assert_eq!(
            e.identifiers[0].value.value(),
            visit.split('^').next().unwrap()
        );
    }
    // With a system, the conditional update's value is trimmed too.
    let oid = probe_adt(
        "RX1",
        "A01",
        "111 ^^^RX1&1.2.3&ISO^MR",
        "W1",
        "V9 ^^^RX1&1.2.4&ISO",
    );
    let (b, _) = scoped_bundle(&oid, None);
    assert_eq!(
        typed_requests(&b, "Encounter")[0].1,
        "Encounter?identifier=urn:oid:1.2.4|V9"
    );
    assert_eq!(
        typed_requests(&b, "Patient")[0].1,
        "Patient?identifier=urn:oid:1.2.3|111"
    );
    // Results: OBX-21 / OBR-3 with blanks key the same resources.
    let results = |obr3: &str, obx21: &str| {
        let text = namespaced_oru("RX1", "C1", "F", "6.9")
            .replace("LAB456^LAB", obr3)
            .replace("OBS1^LAB", obx21);
        let (b, _) = scoped_bundle(&text, None);
        let mut all = typed_requests(&b, "Observation");
        all.extend(typed_requests(&b, "DiagnosticReport"));
        all.extend(typed_requests(&b, "ServiceRequest"));
        let ids: Vec<String> = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resource"]["resourceType"] == "Observation")
            .filter_map(|e| e["resource"]["identifier"][0]["value"].as_str())
            .map(str::to_owned)
            .collect();
        (all, ids)
    };
    let (want, _) = results("LAB456^LAB", "OBS1^LAB");
    for (obr3, obx21) in [("LAB456 ^LAB", "OBS1 ^LAB"), (" LAB456^LAB ", "OBS1^ LAB ")] {
        let (got, ids) = results(obr3, obx21);
        assert_eq!(got, want, "{obr3} {obx21}");
        assert_eq!(ids, ["OBS1"]);
    }
}

/// Ninth probe F10: MSH-4 `rx1` (or `--trust-ods rx1`) keyed other
/// Encounters and Locations than `RX1`. An ODS-shaped scope is upper-cased
/// (ODS codes are upper-case); the ids of an upper-case scope are as before.
#[test]
fn an_ods_shaped_scope_is_keyed_in_upper_case() {
    let text = |sender: &str, pl: &str| probe_adt(sender, "A01", "111^^^RX1^MR", pl, "V123^^^RX1");
    let (b, _) = scoped_bundle(&text("RX1", "W1^1^1^RX1"), None);
    let upper = visit_requests(&b);
    // The ids an upper-case scope had before (d798b10): unchanged.
    let urls: Vec<&str> = upper.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        urls,
        [
            "Encounter/6f8f92eb-5826-47d4-8dd2-c4e9799bf3e9",
            "Location/0782f02e-baa6-4a4c-8f69-d3fc42c0dbdd",
            "Location/1c410823-7002-4c9f-85d0-d28e577ad1cc",
            "Location/0b47ac3e-6b37-4393-8764-b5623a31fedc",
            "Location/98c08342-f8db-4181-8193-8f3674d9e008",
        ]
    );
    for (sender, pl) in [
        ("rx1", "W1^1^1^RX1"),
        ("Rx1", "W1^1^1^rx1"),
        ("RX1", "W1^1^1^rx1"),
    ] {
        let (b, _) = scoped_bundle(&text(sender, pl), None);
        assert_eq!(visit_requests(&b), upper, "{sender} {pl}");
    }
    let (b, _) = scoped_bundle(&text("", "W1^1^1^RX1"), Some("rx1"));
    assert_eq!(visit_requests(&b), upper, "--trust-ods rx1");
    // A scope of no ODS shape is as sent.
    let (a, _) = scoped_bundle(&text("Royal Hosp", "W1"), None);
    let (b, _) = scoped_bundle(&text("ROYAL HOSP", "W1"), None);
    assert_ne!(visit_requests(&a), visit_requests(&b));
}

/// Ninth probe F12: the PV1-19 note (no sender, no trust ODS code) had runs
/// of 14 spaces (a string continuation without its `\`).
#[test]
fn the_unkeyed_visit_note_has_no_runs_of_spaces() {
    let (_, report) = mapped(&probe_adt("", "A01", "111^^^RX1^MR", "", "V123^^^RX1"));
    let note = report
        .notes
        .iter()
        .find(|n| n.starts_with("PV1-19"))
        .unwrap();
    assert!(!note.contains("  "), "{note}");
}

/// The probe's ORU (`res/1_final`): OBX-18 a Device, OBX-23 a laboratory
/// with XON.6 `authority` and XON.7 `kind`, XON.10 `code`.
fn probe_oru(sender: &str, lab: &str) -> String {
    format!(
        "MSH|^~\\&|LAB|{sender}|PAS|RX1|20241201120000+0000||ORU^R01^ORU_R01|R1|P|2.5\r\
         PID|1||111^^^RX1^MR||A^B||19700101|F\r\
         OBR|1||LAB456^LAB|FBC^Full blood count^L\r\
         OBX|1|NM|718-7^Hb^LN||135|g/L|||||F|||||C123^Doc^A^^^^^^GMC||DEV1^LAB|||OBS1^LAB||{lab}\r"
    )
}

/// Ninth probe F9: an OBX-23 whose assigning authority (XON.6) or
/// identifier type (XON.7) is `ODS` was never an ODS organisation code, so
/// the laboratory was a scoped Organization per sender. It is now (when
/// ODS-shaped; else reported and keyed as before).
#[test]
fn an_ods_xon_is_keyed_on_its_ods_code() {
    let ods = "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|RX1LAB";
    for lab in [
        "Path Lab^^^^^ODS^XX^^^RX1LAB",
        "Path Lab^^^^^ods^^^^RX1LAB",
        "Path Lab^^^^^^ODS^^^RX1LAB",
    ] {
        for sender in ["RX1", "RX2"] {
            let text = probe_oru(sender, lab);
            let (event, report) = mapped(&text);
            let org = event.reports[0].observations[0]
                .performers
                .iter()
                .find_map(|p| p.organisation.as_ref())
                .unwrap();
            assert_eq!(
                org.identifiers[0].value,
                carecodec_model::Identifier::OdsOrganisation("RX1LAB".into()),
                "{lab}"
            );
            none_unmapped(&report, "OBX[1]-23");
            let (b, _) = scoped_bundle(&text, None);
            let orgs = typed_requests(&b, "Organization");
            assert_eq!(orgs[0].1, ods, "{lab}");
        }
    }
    // Not of ODS shape: reported, and keyed in the sender's scope as before.
    let text = probe_oru("RX1", "Path Lab^^^^^ODS^XX^^^RX1-LAB");
    let (_, report) = mapped(&text);
    assert!(
        report
            .invalid
            .iter()
            .any(|i| path_of(&i.source).starts_with("OBX[1]-23") && i.raw == "RX1-LAB"),
        "{:?}",
        report.invalid
    );
    let (b, _) = scoped_bundle(&text, None);
    assert!(
        typed_requests(&b, "Organization")[0]
            .1
            .starts_with("Organization/")
    );
    // Another authority is not ODS.
    let (b, _) = scoped_bundle(&probe_oru("RX1", "Path Lab^^^^^LABS^XX^^^RX1LAB"), None);
    assert!(
        typed_requests(&b, "Organization")[0]
            .1
            .starts_with("Organization/")
    );
}

/// Ninth probe F13: a Device's EI namespace (OBX-18 `DEV1^LAB`) was written
/// as the identifier's `type.text`; it is its assigner, as an OBR-3's.
#[test]
fn a_device_ei_namespace_is_its_assigner() {
    let text = probe_oru("RX1", "Path Lab^^^^^^XX^^^RX1LAB");
    let (event, _) = mapped(&text);
    let (b, _) = scoped_bundle(&text, None);
    let devices = typed_requests(&b, "Device");
    // The id is as before (d798b10).
    assert_eq!(devices[0].1, "Device/92a4850e-a1a0-474d-8e7f-2303c1f81d92");
    let device = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Device")
        .unwrap();
    assert_eq!(
        device["resource"]["identifier"],
        serde_json::json!([{"value": "DEV1", "assigner": {"display": "LAB"}}])
    );
    let back = read_back(&b);
    let ids = |e: &carecodec_model::Event| -> Vec<carecodec_model::Identifier> {
        e.reports[0].observations[0]
            .device
            .iter()
            .map(|i| i.value.clone())
            .collect()
    };
    assert_eq!(ids(&back), ids(&event));
    // With a universal id too: the system and the assigner.
    let text = text.replace("DEV1^LAB", "DEV1^LAB^1.2.3^ISO");
    let (event, _) = mapped(&text);
    let (b, _) = scoped_bundle(&text, None);
    assert_eq!(
        typed_requests(&b, "Device")[0].1,
        "Device?identifier=urn:oid:1.2.3|DEV1"
    );
    assert_eq!(ids(&read_back(&b)), ids(&event));
}

/// The Condition entries' `identifier` arrays of `b`.
fn condition_identifiers(b: &serde_json::Value) -> Vec<serde_json::Value> {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Condition")
        .map(|e| e["resource"]["identifier"].clone())
        .collect()
}

/// A DG1-20 (EI) with a namespace and a universal id: the namespace (EI.2)
/// was consumed and kept nowhere beside the universal id's system, and was
/// the identifier's `type.text` without one. It is the identifier's
/// assigner now, the universal id its system (typed by EI.4, or an OID by
/// its shape beside a type with no URI form, as FHIR-Converter writes it),
/// and what is not kept (EI.4 `CLIP`, a universal id of no known shape) is
/// reported unmapped. Model → FHIR → model keeps it.
#[test]
fn a_dg1_20_namespace_is_its_assigner_beside_its_system() {
    let adt = |dg1_20: &str| {
        format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|dx1|P|2.5\r\
             PID|1||9434765919^^^NHS^NH||SMITH^JOHN\r\
             PV1|1|I|WARD1\r\
             DG1|1||I10^Essential hypertension^I10||20240312|A||||||||||||||{dg1_20}\r"
        )
    };
    let unmapped = |report: &carecodec_model::MappingReport| -> Vec<String> {
        report
            .unmapped
            .iter()
            .map(|u| path_of(&u.source))
            .filter(|p| p.starts_with("DG1[1]-20"))
            .collect()
    };
    for (dg1_20, written, left) in [
        (
            "DI20^Diagnosis^1.3.6.1.4.1.44750.1.2.2^CLIP",
            serde_json::json!([{"system": "urn:oid:1.3.6.1.4.1.44750.1.2.2", "value": "DI20",
                                "assigner": {"display": "Diagnosis"}}]),
            vec!["DG1[1]-20[1].4.1"],
        ),
        (
            "DI20^Diagnosis^1.2.3^ISO",
            serde_json::json!([{"system": "urn:oid:1.2.3", "value": "DI20",
                                "assigner": {"display": "Diagnosis"}}]),
            vec![],
        ),
        (
            "DI20^Diagnosis",
            serde_json::json!([{"value": "DI20", "assigner": {"display": "Diagnosis"}}]),
            vec![],
        ),
        (
            "DI20^Diagnosis^DTUI^CLIP",
            serde_json::json!([{"value": "DI20", "assigner": {"display": "Diagnosis"}}]),
            vec!["DG1[1]-20[1].3.1", "DG1[1]-20[1].4.1"],
        ),
        (
            "DI20^^1.2.3",
            serde_json::json!([{"system": "urn:oid:1.2.3", "value": "DI20"}]),
            vec![],
        ),
        ("DG1002", serde_json::json!([{"value": "DG1002"}]), vec![]),
    ] {
        let text = adt(dg1_20);
        let (event, report) = mapped(&text);
        let mut left_paths = unmapped(&report);
        left_paths.sort();
        assert_eq!(left_paths, left, "{dg1_20}");
        let (b, _) = scoped_bundle(&text, None);
        assert_eq!(condition_identifiers(&b), vec![written], "{dg1_20}");
        let back = read_back(&b);
        let ids = |e: &carecodec_model::Event| -> Vec<carecodec_model::Identifier> {
            e.conditions[0]
                .identifiers
                .iter()
                .map(|i| i.value.clone())
                .collect()
        };
        assert_eq!(ids(&back), ids(&event), "{dg1_20}");
    }
}

/// An XON with an assigning authority (XON.6) and no type (XON.7): the
/// authority was the identifier's system, written as its `type.text`. It is
/// the identifier's assigner now, with XON.6's universal id as its system,
/// and reads back as the same identifier; the Organization's key (scoped on
/// the namespace and value) is as before.
#[test]
fn an_untyped_xon_authority_is_its_assigner() {
    let org = |b: &serde_json::Value| -> serde_json::Value {
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["resourceType"] == "Organization")
            .unwrap()["resource"]["identifier"]
            .clone()
    };
    let ids = |e: &carecodec_model::Event| -> Vec<carecodec_model::Identifier> {
        e.reports[0].observations[0]
            .performers
            .iter()
            .find_map(|p| p.organisation.as_ref())
            .unwrap()
            .identifiers
            .iter()
            .map(|i| i.value.clone())
            .collect()
    };
    let text = probe_oru("RX1", "Path Lab^^^^^LABS^^^^L123");
    let (event, report) = mapped(&text);
    none_unmapped(&report, "OBX[1]-23");
    let (b, _) = scoped_bundle(&text, None);
    // The key is as before: scoped on the sender, the namespace and the value.
    let orgs = typed_requests(&b, "Organization");
    assert_eq!(
        orgs[0].1,
        "Organization/94d1c061-5405-406a-8e10-8d9a0f1e897f"
    );
    assert_eq!(
        org(&b),
        serde_json::json!([{"value": "L123", "assigner": {"display": "LABS"}}])
    );
    assert_eq!(ids(&read_back(&b)), ids(&event));
    // With XON.6's universal id: its system too.
    let text = probe_oru("RX1", "Path Lab^^^^^LABS&1.2.3&ISO^^^^L123");
    let (event, report) = mapped(&text);
    none_unmapped(&report, "OBX[1]-23");
    let (b, _) = scoped_bundle(&text, None);
    assert_eq!(
        org(&b),
        serde_json::json!([{"system": "urn:oid:1.2.3", "value": "L123",
                            "assigner": {"display": "LABS"}}])
    );
    assert_eq!(ids(&read_back(&b)), ids(&event));
}

/// Probe eleven F10: diagnoses and allergies sent again (an A08 re-sending
/// the visit's DG1 and the patient's AL1 list, a DG1-21 `D`) update the
/// resources the A01 created instead of standing beside them: a Condition on
/// its DG1-20 identifier with a system, else on its keyed Encounter and code;
/// an AllergyIntolerance on the sender, the Patient's key and its allergen.
/// Two of one key in a message, or no key, are created.
#[test]
fn diagnoses_and_allergies_sent_again_update_what_they_sent() {
    let message = |id: &str, kind: &str, action: &str| {
        format!(
            "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^{kind}|{id}|P|2.4\r\
EVN|{kind}|20240312091500\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
PV1|1|I|WARD A^ROOM1^B1^RX1||||||||||||||||V123^^^RX1^VN\r\
DG1|1||I10^Hypertension^I10||20240312|F||||||||||||||D1^RX1^2.16.840.1.113883.2.1.3.2^ISO|{action}\r\
DG1|2||J45^Asthma^I10||20240312|W\r\
AL1|1|DA|PEN^Penicillin^L|SV|Rash\r"
        )
    };
    let bundle = |text: &str| {
        let msg = Message::parse(text.as_bytes()).unwrap();
        let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
        assert!(!report.quarantined());
        let b = event_bundle(&event).unwrap();
        uk_core_valid("keyed diagnoses", &b);
        check_message_bundle("keyed diagnoses", &event);
        // Read back, the event writes the same Bundle.
        let (back, _) = read_bundle(&b);
        let again = event_bundle(&back).unwrap();
        let urls = |b: &serde_json::Value| -> Vec<String> {
            b["entry"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| format!("{} {}", e["request"]["method"], e["request"]["url"]))
                .collect()
        };
        assert_eq!(urls(&b), urls(&again));
        b
    };
    let entries = |b: &serde_json::Value, t: &str| -> Vec<(String, String, String)> {
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resource"]["resourceType"] == t)
            .map(|e| {
                (
                    e["request"]["method"].as_str().unwrap().to_owned(),
                    e["request"]["url"].as_str().unwrap().to_owned(),
                    e["resource"]["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let a01 = bundle(&message("1", "A01", ""));
    let a08 = bundle(&message("2", "A08", "D"));
    let (c1, c2) = (entries(&a01, "Condition"), entries(&a08, "Condition"));
    assert_eq!(c1.len(), 2);
    assert_eq!(
        (c1[0].0.as_str(), c1[0].1.as_str()),
        (
            "PUT",
            "Condition?identifier=urn:oid:2.16.840.1.113883.2.1.3.2|D1"
        )
    );
    assert_eq!(c1[1].0, "PUT");
    assert!(c1[1].1.starts_with("Condition/"), "{c1:?}");
    assert_eq!(c1, c2, "the A08 names the A01's Conditions");
    let deleted = a08["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["request"]["url"]
                .as_str()
                .unwrap()
                .starts_with("Condition?")
        })
        .unwrap();
    assert_eq!(
        deleted["resource"]["verificationStatus"]["coding"][0]["code"],
        "entered-in-error"
    );
    // The Encounter lists the keyed Conditions.
    let enc = a01["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Encounter")
        .unwrap();
    let listed: Vec<&str> = enc["resource"]["diagnosis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["condition"]["reference"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        c1.iter()
            .map(|c| format!("urn:uuid:{}", c.2))
            .collect::<Vec<_>>()
    );
    let (a1, a2) = (
        entries(&a01, "AllergyIntolerance"),
        entries(&a08, "AllergyIntolerance"),
    );
    assert_eq!(a1.len(), 1);
    assert_eq!(a1[0].0, "PUT");
    assert!(a1[0].1.starts_with("AllergyIntolerance/"), "{a1:?}");
    assert_eq!(a1, a2, "the A08 names the A01's AllergyIntolerance");

    // One allergen twice, one code twice on the visit: one keyed resource
    // each (until 2026-12-07 both were created, by every message).
    let twice = message("3", "A08", "")
        .replace("DG1|2||J45^Asthma^I10", "DG1|2||I10^Hypertension^I10")
        .replace("DG1|1||I10^Hypertension^I10||20240312|F||||||||||||||D1^RX1^2.16.840.1.113883.2.1.3.2^ISO|", "DG1|1||I10^Hypertension^I10||20240312|F|")
        + "AL1|2|DA|PEN^Penicillin^L|MO|Wheeze\r";
    let b = bundle(&twice);
    let conditions = entries(&b, "Condition");
    assert_eq!(conditions.len(), 1, "{conditions:?}");
    assert_eq!(conditions[0].0, "PUT");
    let allergies = entries(&b, "AllergyIntolerance");
    assert_eq!(allergies, a1, "the A01's AllergyIntolerance");

    // No sender (no scope): the allergy and the diagnosis known by its code
    // alone are created; the one with a system stays keyed.
    let b = bundle(&message("4", "A08", "").replace("|PAS|RX1|EPR|", "|PAS||EPR|"));
    let c = entries(&b, "Condition");
    assert_eq!(c[0].0, "PUT");
    assert_eq!(c[1].0, "POST");
    assert_eq!(entries(&b, "AllergyIntolerance")[0].0, "POST");
}

/// An HL7 v2 ADT mapped and written as a transaction Bundle, checked valid
/// UK Core with no URL twice (`uk_core_valid`), with what it does not
/// write: (field, value, reason) each.
fn repeated_bundle(text: &str) -> (serde_json::Value, Vec<(String, String, String)>) {
    let msg = Message::parse(text.as_bytes()).unwrap();
    let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
    assert!(!report.quarantined());
    let b = event_bundle(&event).unwrap();
    uk_core_valid("repeated keys", &b);
    check_message_bundle("repeated keys", &event);
    let lost = carecodec_map::fhir::event_not_written(&event, BundleType::Transaction).unwrap();
    let lost = lost
        .into_iter()
        .map(|n| (n.field, n.value, n.reason.into_owned()))
        .collect();
    (b, lost)
}

/// The resources of type `t` of Bundle `b`, each with its request.
fn of_type<'b>(b: &'b serde_json::Value, t: &str) -> Vec<&'b serde_json::Value> {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == t)
        .collect()
}

const REPEATED_HEAD: &str = "MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|R1|P|2.4\r\
EVN|A08|20240312091500\r\
PID|1||9434765919^^^NHS^NH||SMITH^JOHN||19700214|M\r\
PV1|1|I|WARD A^ROOM1^B1^RX1||||||||||||||||V123^^^RX1^VN\r";

#[test]
fn an_allergen_sent_twice_is_one_allergy_intolerance_with_both_reactions() {
    // AL1 2 repeats AL1 1's allergen with another severity and reactions
    // (one the first also lists) and an onset date.
    let text = format!(
        "{REPEATED_HEAD}AL1|1|DA|PEN^Penicillin^L|SV|Rash\r\
AL1|2|DA|PEN^Penicillin^L|MI|Wheeze~Rash|20200101\r\
AL1|3|FA|NUT^Peanut^L|MI|Swelling\r"
    );
    let (b, lost) = repeated_bundle(&text);
    let allergies = of_type(&b, "AllergyIntolerance");
    assert_eq!(allergies.len(), 2, "{allergies:#?}");
    let pen = allergies[0];
    assert_eq!(pen["request"]["method"], "PUT");
    assert!(
        pen["request"]["url"]
            .as_str()
            .unwrap()
            .starts_with("AllergyIntolerance/")
    );
    let r = &pen["resource"];
    assert_eq!(r["code"]["coding"][0]["code"], "PEN");
    // The first's severity and onset (none); the reactions of both, once each.
    assert_eq!(r["criticality"], "high");
    assert!(r.get("onsetDateTime").is_none(), "{r}");
    let reactions: Vec<&str> = r["reaction"][0]["manifestation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(reactions, ["Rash", "Wheeze"]);
    assert_eq!(allergies[1]["resource"]["code"]["coding"][0]["code"], "NUT");
    // What the second says otherwise is listed, with why.
    let repeated: Vec<(&str, &str)> = lost
        .iter()
        .filter(|(_, _, why)| why.contains("earlier allergy"))
        .map(|(f, v, _)| (f.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        repeated,
        [
            ("allergies[1].severity", "MI"),
            ("allergies[1].identified", "2020-01-01")
        ],
        "{lost:#?}"
    );

    // The same list in the next A08: the same one resource, no copy.
    let (again, _) = repeated_bundle(&text.replace("|R1|P|", "|R2|P|"));
    let urls = |b: &serde_json::Value| -> Vec<String> {
        of_type(b, "AllergyIntolerance")
            .iter()
            .map(|e| format!("{} {}", e["request"]["method"], e["request"]["url"]))
            .collect()
    };
    assert_eq!(urls(&b), urls(&again));

    // A long list (over 64 allergies: keys sorted, not compared pairwise):
    // 70 allergens, the fourth sent again last with another reaction.
    let mut long = REPEATED_HEAD.to_owned();
    for n in 0..70 {
        long.push_str(&format!("AL1|{n}|DA|A{n}^Allergen {n}^L|SV|Rash\r"));
    }
    long.push_str("AL1|70|DA|A3^Allergen 3^L|SV|Hives\r");
    let (b, lost) = repeated_bundle(&long);
    let allergies = of_type(&b, "AllergyIntolerance");
    assert_eq!(allergies.len(), 70);
    assert!(allergies.iter().all(|a| a["request"]["method"] == "PUT"));
    let a3 = &allergies[3]["resource"];
    assert_eq!(a3["code"]["coding"][0]["code"], "A3");
    assert_eq!(
        a3["reaction"][0]["manifestation"],
        serde_json::json!([{"text": "Rash"}, {"text": "Hives"}])
    );
    // Nothing of the repeat is listed but its local coding system `L`,
    // which no Coding.system holds (as each allergen's).
    let repeat: Vec<&str> = lost
        .iter()
        .filter(|(f, ..)| f.starts_with("allergies[70]"))
        .map(|(f, ..)| f.as_str())
        .collect();
    assert_eq!(repeat, ["allergies[70].code.codes[0].system"], "{lost:#?}");
}

/// A DG1-21 `D` (delete) on a later DG1 with the key of an earlier one of
/// the message is applied: HL7 v2 action codes (table 0206) act on the
/// record in segment order, so the one Condition is written
/// `entered-in-error` (until 2026-12-08 the first's status was written and
/// the delete only listed: the server kept a diagnosis its sender deleted).
/// A `D` first and the diagnosis sent again without one stays deleted (the
/// model does not keep DG1-21 `A` / `U`). A status of the first that the
/// deletion replaces, and its clinical status (R4 con-5), are listed.
#[test]
fn a_later_deletion_of_a_diagnosis_sent_twice_is_applied() {
    let dg1 = |n: u32, action: &str| {
        format!(
            "DG1|{n}||I10^Hypertension^I10||20240312|F{}{action}\r",
            "|".repeat(15)
        )
    };
    let status = |b: &serde_json::Value| {
        let conditions = of_type(b, "Condition");
        assert_eq!(conditions.len(), 1, "{conditions:#?}");
        let c = &conditions[0]["resource"];
        (
            c["verificationStatus"]["coding"][0]["code"].clone(),
            c.get("clinicalStatus").cloned(),
        )
    };
    let deleted = serde_json::json!("entered-in-error");
    for (text, what) in [
        (
            format!("{REPEATED_HEAD}{}{}", dg1(1, ""), dg1(2, "D")),
            "later D",
        ),
        (
            format!("{REPEATED_HEAD}{}{}", dg1(1, "D"), dg1(2, "")),
            "first D",
        ),
    ] {
        let (b, lost) = repeated_bundle(&text);
        assert_eq!(status(&b), (deleted.clone(), None), "{what}");
        // Nothing of the statuses is listed: the deletion is written.
        assert!(
            !lost.iter().any(|(f, ..)| f.contains("verification")),
            "{what}: {lost:#?}"
        );
    }
    // A model whose first says confirmed and active: the deletion wins, the
    // first's statuses are listed.
    let text = format!("{REPEATED_HEAD}{}{}", dg1(1, ""), dg1(2, "D"));
    let msg = Message::parse(text.as_bytes()).unwrap();
    let (mut event, _) = map_message(&msg, &V2Options::default()).unwrap();
    let first = &mut event.conditions[0];
    let at = first.code.sources.clone();
    first.verification = Some(carecodec_model::Sourced::from_many(
        "confirmed".into(),
        at.clone(),
    ));
    first.clinical_status = Some(carecodec_model::Sourced::from_many("active".into(), at));
    let b = event_bundle(&event).unwrap();
    uk_core_valid("deleted later", &b);
    assert_eq!(status(&b), (deleted, None));
    let lost = carecodec_map::fhir::event_not_written(&event, BundleType::Transaction).unwrap();
    let statuses: Vec<(&str, &str)> = lost
        .iter()
        .filter(|n| n.field.starts_with("conditions"))
        .map(|n| (n.field.as_str(), n.value.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("conditions[0].verification", "confirmed"),
            ("conditions[0].clinical_status", "active")
        ],
        "{lost:#?}"
    );
    let why = &lost[lost.iter().position(|n| n.value == "confirmed").unwrap()].reason;
    assert!(why.contains("DG1-21"), "{why}");
}

#[test]
fn a_diagnosis_sent_twice_is_one_condition_listed_with_each_type() {
    // The same code twice on the keyed visit, admitting (DG1-6 A, priority
    // 1) and final (F); then again final, as the second: one entry.
    let text = format!(
        "{REPEATED_HEAD}DG1|1||I10^Hypertension^I10||20240312|A|||||||||1\r\
DG1|2||I10^Hypertension^I10||20240313|F\r\
DG1|3||I10^Hypertension^I10||20240313|F\r\
DG1|4||J45^Asthma^I10||20240312|W\r"
    );
    let (b, lost) = repeated_bundle(&text);
    let conditions = of_type(&b, "Condition");
    assert_eq!(conditions.len(), 2, "{conditions:#?}");
    let (htn, asthma) = (conditions[0], conditions[1]);
    assert_eq!(htn["request"]["method"], "PUT");
    assert_eq!(htn["resource"]["code"]["coding"][0]["code"], "I10");
    // The first's date.
    assert_eq!(htn["resource"]["recordedDate"], "2024-03-12");
    let enc = &of_type(&b, "Encounter")[0]["resource"];
    let listed: Vec<(String, String, Option<u64>)> = enc["diagnosis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let uses: Vec<&str> = d["use"]["coding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["code"].as_str().unwrap())
                .collect();
            (
                d["condition"]["reference"].as_str().unwrap().to_owned(),
                uses.join(","),
                d["rank"].as_u64(),
            )
        })
        .collect();
    let (h, a) = (
        htn["fullUrl"].as_str().unwrap().to_owned(),
        asthma["fullUrl"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        listed,
        [
            (h.clone(), "AD,A".to_owned(), Some(1)),
            (h, "F".to_owned(), None),
            (a, "W".to_owned(), None),
        ]
    );
    // The later dates are listed; the types are written.
    let repeated: Vec<(&str, &str)> = lost
        .iter()
        .filter(|(_, _, why)| why.contains("earlier diagnosis"))
        .map(|(f, v, _)| (f.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        repeated,
        [
            ("conditions[1].recorded", "2024-03-13"),
            ("conditions[2].recorded", "2024-03-13")
        ],
        "{lost:#?}"
    );
    // Read back: the Condition once per diagnosis entry, each with its type
    // and priority (the second used to overwrite the first's type and keep
    // its priority), and written again as it was.
    let (back, report) = read_bundle(&b);
    assert!(report.unmapped.is_empty(), "{:?}", report.unmapped);
    let kinds: Vec<(String, Option<String>, Option<u32>)> = back
        .conditions
        .iter()
        .map(|c| {
            (
                c.code.value.codes[0].code.clone(),
                c.diagnosis_type.as_ref().map(|t| t.value.code.clone()),
                c.priority.as_ref().map(|p| p.value),
            )
        })
        .collect();
    let k = |c: &str, t: &str, p| (c.to_owned(), Some(t.to_owned()), p);
    assert_eq!(
        kinds,
        [
            k("I10", "A", Some(1)),
            k("I10", "F", None),
            k("J45", "W", None)
        ]
    );
    let again = event_bundle(&back).unwrap();
    assert_eq!(
        of_type(&again, "Encounter")[0]["resource"]["diagnosis"],
        enc["diagnosis"]
    );
    assert_eq!(of_type(&again, "Condition").len(), 2);
}

#[test]
fn a_diagnosis_identifier_sent_twice_is_one_conditional_update() {
    // DG1-20 D1 twice (a resent segment, the second with a diagnosing
    // clinician); no visit number, so the identifier alone keys.
    let text = format!(
        "{REPEATED_HEAD}DG1|1||I10^Hypertension^I10||20240312|A||||||||||||||D1^RX1^2.16.840.1.113883.2.1.3.2^ISO\r\
DG1|2||I10^Hypertension^I10||20240312|F||||||||||C123^JONES^ANN||||D1^RX1^2.16.840.1.113883.2.1.3.2^ISO\r"
    )
    .replace("V123^^^RX1^VN", "");
    let (b, lost) = repeated_bundle(&text);
    let conditions = of_type(&b, "Condition");
    assert_eq!(conditions.len(), 1, "{conditions:#?}");
    assert_eq!(conditions[0]["request"]["method"], "PUT");
    assert_eq!(
        conditions[0]["request"]["url"],
        "Condition?identifier=urn:oid:2.16.840.1.113883.2.1.3.2|D1"
    );
    assert!(conditions[0]["resource"].get("asserter").is_none());
    let enc = &of_type(&b, "Encounter")[0]["resource"];
    let refs: Vec<&str> = enc["diagnosis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["condition"]["reference"].as_str().unwrap())
        .collect();
    let url = conditions[0]["fullUrl"].as_str().unwrap();
    assert_eq!(refs, [url, url]);
    // The second's clinician is not written: listed.
    assert!(
        lost.iter().any(|(f, v, why)| f == "conditions[1].asserter"
            && v.contains("C123")
            && why.contains("earlier diagnosis")),
        "{lost:#?}"
    );
}
