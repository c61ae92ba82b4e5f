//! Drift check against the UK Core StructureDefinitions in
//! `../shared/corpora/fhir/ukcore-conformance/structuredefinitions/` (skipped when absent):
//! our profile URLs, extension URLs, fixed identifier systems and vital-sign LOINC/UCUM codes
//! must match what UK Core publishes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use carecodec_fhir::uk_core::validate::{
    BIRTH_SEX_CODES, ETHNIC_CATEGORY_ENGLAND_CODES, NHS_NUMBER_VERIFICATION_STATUS_CODES, Profile,
    VITAL_SIGNS,
};
use carecodec_fhir::uk_core::{self, ext};

/// StructureDefinition file name → its XML text, or `None` when the corpus is absent.
fn definitions() -> Option<BTreeMap<String, String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/fhir/ukcore-conformance/structuredefinitions");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpora not found");
        return None;
    }
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "xml") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    Some(out)
}

/// Every `value` of the elements `<tag value="…"/>`, in document order.
fn values<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag} value=\"");
    xml.match_indices(&open)
        .map(|(i, _)| {
            let rest = &xml[i + open.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// The StructureDefinition's canonical `url`: the first `<url>` element (extensions carry
/// their url as an attribute, so they do not match).
fn url(xml: &str) -> &str {
    values(xml, "url")[0]
}

#[test]
fn extension_urls_match() {
    let Some(defs) = definitions() else { return };
    let urls: Vec<&str> = defs.values().map(|x| url(x)).collect();
    let ours = [
        ext::NHS_NUMBER_VERIFICATION_STATUS,
        ext::NHS_NUMBER_UNAVAILABLE_REASON,
        ext::ETHNIC_CATEGORY,
        ext::BIRTH_SEX,
        ext::RESIDENTIAL_STATUS,
        ext::RELIGIOUS_AFFILIATION,
        ext::TREATMENT_CATEGORY,
        ext::OVERSEAS_VISITOR_CHARGING_CATEGORY,
        ext::CONTACT_PREFERENCE,
        ext::DEATH_NOTIFICATION_STATUS,
        ext::NHS_COMMUNICATION,
        ext::ADDRESS_KEY,
        ext::OTHER_CONTACT_SYSTEM,
        ext::CONTACT_RANK,
        ext::COPY_CORRESPONDENCE_INDICATOR,
        ext::ADMISSION_METHOD,
        ext::DISCHARGE_METHOD,
        ext::LEGAL_STATUS,
        ext::OUTCOME_OF_ATTENDANCE,
        ext::EMERGENCY_CARE_DISCHARGE_STATUS,
        ext::ENCOUNTER_TRANSPORT,
        ext::MAIN_LOCATION,
        ext::TYPED_PERIOD,
        ext::TYPED_DATE_TIME,
        ext::MEDICATION_REPEAT_INFORMATION,
        ext::PRESCRIPTION_TYPE,
        ext::MEDICATION_QUANTITY_TEXT,
        ext::MEDICATION_TRADE_FAMILY,
        ext::EVIDENCE,
        ext::ALLERGY_INTOLERANCE_END,
        ext::CONDITION_EPISODE,
        ext::PROBLEM_SIGNIFICANCE,
        ext::RELATED_PROBLEM_HEADER,
        ext::ACTUAL_PROBLEM,
        ext::RELATED_CLINICAL_CONTENT,
        ext::CODING_SCT_DESC_ID,
        ext::CODING_SCT_DESC_DISPLAY,
    ];
    let missing: Vec<&str> = ours.iter().copied().filter(|u| !urls.contains(u)).collect();
    assert!(
        missing.is_empty(),
        "extension URLs with no StructureDefinition: {missing:#?}"
    );
    println!(
        "{} extension URLs checked against {} StructureDefinitions",
        ours.len(),
        defs.len()
    );
}

#[test]
fn profile_urls_and_types_match() {
    let Some(defs) = definitions() else { return };
    for p in Profile::ALL {
        let file = format!("{}.xml", p.name());
        let xml = defs
            .get(&file)
            .unwrap_or_else(|| panic!("no StructureDefinition {file}"));
        assert_eq!(url(xml), p.url(), "{file}");
        assert_eq!(values(xml, "type")[0], p.resource_type(), "{file}");
        assert_eq!(Profile::from_url(url(xml)), Some(p));
    }
    // Every vital-sign profile maps to the vital-signs checks.
    let vs: Vec<&String> = defs
        .keys()
        .filter(|k| k.starts_with("UKCore-Observation-VitalSigns"))
        .collect();
    assert_eq!(vs.len(), 10, "{vs:?}");
    for k in vs {
        assert_eq!(
            Profile::from_url(url(&defs[k])),
            Some(Profile::UKCoreObservationVitalSigns),
            "{k}"
        );
    }
}

#[test]
fn fixed_identifier_systems_match() {
    let Some(defs) = definitions() else { return };
    let fixed = |file: &str| values(&defs[file], "fixedUri");
    assert_eq!(fixed("UKCore-Patient.xml"), [uk_core::NHS_NUMBER_SYSTEM]);
    assert_eq!(
        fixed("UKCore-Organization.xml"),
        [
            uk_core::ODS_ORGANIZATION_CODE_SYSTEM,
            uk_core::ODS_SITE_CODE_SYSTEM
        ]
    );
    assert_eq!(
        fixed("UKCore-Location.xml"),
        [uk_core::ODS_SITE_CODE_SYSTEM]
    );
}

#[test]
fn vital_sign_codes_and_units_match() {
    let Some(defs) = definitions() else { return };
    let mut checked = 0;
    for (file, xml) in defs
        .iter()
        .filter(|(k, _)| k.starts_with("UKCore-Observation-VitalSigns-"))
    {
        let codes = values(xml, "fixedCode");
        // The profile's own LOINC magic code comes first.
        let loinc = codes[0];
        let known = VITAL_SIGNS.iter().find(|(c, _, _)| *c == loinc);
        assert!(known.is_some(), "{file}: LOINC {loinc} not in VITAL_SIGNS");
        // Each UCUM unit fixed (a fixedUri unitsofmeasure.org followed by a fixedCode) must
        // be allowed for a code fixed in the same profile.
        let fixed_in_file: Vec<&str> = codes.clone();
        let allowed: Vec<&str> = VITAL_SIGNS
            .iter()
            .filter(|(c, _, _)| fixed_in_file.contains(c))
            .flat_map(|(_, _, units)| units.iter().copied())
            .collect();
        for (i, _) in xml.match_indices("<fixedUri value=\"http://unitsofmeasure.org\"") {
            let unit = values(&xml[i..], "fixedCode")[0];
            assert!(
                allowed.contains(&unit),
                "{file}: UCUM {unit} not allowed by VITAL_SIGNS ({allowed:?})"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} fixed units found");
}

/// A conformance file (value set or code system) by name.
fn conformance(sub: &str, file: &str) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/fhir/ukcore-conformance")
        .join(sub)
        .join(file);
    if path.is_file() {
        Some(std::fs::read_to_string(path).unwrap())
    } else {
        println!("skipped: ../shared/corpora not found");
        None
    }
}

/// (system, code) pairs of a ValueSet: each `<code>` paired with the last http(s) `<system>`
/// before it (compose includes and the expansion both follow that shape).
fn value_set_pairs(xml: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut system = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find(" value=\"") {
        let tag_start = rest[..i].rfind('<').unwrap();
        let tag = &rest[tag_start + 1..i];
        let after = &rest[i + 8..];
        let value = &after[..after.find('"').unwrap()];
        match tag {
            "system" if value.starts_with("http") => system = value.to_string(),
            "code" if !system.is_empty() => {
                out.insert((system.clone(), value.to_string()));
            }
            _ => {}
        }
        rest = after;
    }
    out
}

fn pairs(table: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    table
        .iter()
        .map(|(s, c)| (s.to_string(), c.to_string()))
        .collect()
}

#[test]
fn value_set_tables_match() {
    let Some(vs) = conformance(
        "valuesets",
        "ValueSet-UKCore-NHSNumberVerificationStatus.xml",
    ) else {
        return;
    };
    assert_eq!(
        value_set_pairs(&vs),
        pairs(NHS_NUMBER_VERIFICATION_STATUS_CODES)
    );
    let vs = conformance("valuesets", "ValueSet-UKCore-BirthSex.xml").unwrap();
    assert_eq!(value_set_pairs(&vs), pairs(BIRTH_SEX_CODES));
    // Code system concepts: the first <code> after each <concept>.
    let cs = conformance("codesystems", "CodeSystem-UKCore-EthnicCategoryEngland.xml").unwrap();
    assert_eq!(url(&cs), uk_core::ETHNIC_CATEGORY_ENGLAND);
    let codes: BTreeSet<&str> = cs
        .match_indices("<concept>")
        .map(|(i, _)| values(&cs[i..], "code")[0])
        .collect();
    assert_eq!(
        codes,
        ETHNIC_CATEGORY_ENGLAND_CODES.iter().copied().collect()
    );
    let cs = conformance(
        "codesystems",
        "CodeSystem-UKCore-NHSNumberVerificationStatusEngland.xml",
    )
    .unwrap();
    assert_eq!(url(&cs), uk_core::NHS_NUMBER_VERIFICATION_STATUS_ENGLAND);
}
