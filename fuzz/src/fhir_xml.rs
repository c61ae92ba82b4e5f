//! Fuzz bodies for the FHIR XML layer of `carecodec-fhir`.

use carecodec_fhir::xml;

/// The FHIR XML fuzz targets: name (file stem under `fuzz_targets/`) and body.
pub const TARGETS: &[crate::Target] = &[("fhir_xml", round_trip)];

/// `r` must be `Ok`: anything accepted converts back without error.
fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> Option<T> {
    if let Err(e) = &r {
        assert!(r.is_ok(), "{what}: {e}");
    }
    r.ok()
}

/// Any input, read as FHIR XML and (when it looks like JSON) as FHIR JSON: whatever is
/// accepted converts back without error, and the written form is a fixed point.
/// Error offsets lie within the input. The typed model, where it accepts the
/// content, writes XML that reads back to the same resource.
pub fn round_trip(data: &[u8]) {
    match xml::xml_to_json(data) {
        Ok(json) => {
            let Some(written) = must(xml::json_to_xml(json.as_bytes()), "XML→JSON→XML") else {
                return;
            };
            let Some(again) = must(xml::xml_to_json(written.as_bytes()), "written XML reads")
            else {
                return;
            };
            let rewritten = must(xml::json_to_xml(again.as_bytes()), "second conversion");
            assert_eq!(Some(&written), rewritten.as_ref());
            if let Ok(resource) = xml::from_slice(data) {
                let Some(text) = must(xml::to_string(&resource), "typed → XML") else {
                    return;
                };
                let back = must(xml::from_str(&text), "typed XML reads back");
                assert_eq!(
                    Some(carecodec_fhir::json::to_string(&resource)),
                    back.as_ref().map(carecodec_fhir::json::to_string)
                );
            }
        }
        Err(e) => assert!(e.offset().is_none_or(|o| o <= data.len())),
    }
    if data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        match xml::json_to_xml(data) {
            Ok(written) => {
                let Some(json) = must(xml::xml_to_json(written.as_bytes()), "written XML reads")
                else {
                    return;
                };
                let rewritten = must(xml::json_to_xml(json.as_bytes()), "second conversion");
                assert_eq!(Some(&written), rewritten.as_ref());
            }
            Err(e) => assert!(e.offset().is_none_or(|o| o <= data.len())),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixtures_round_trip() {
        super::round_trip(
            br#"<Patient xmlns="http://hl7.org/fhir"><name><given value="a"/></name></Patient>"#,
        );
        super::round_trip(
            br#"{"resourceType":"Patient","text":{"status":"generated","div":" <div>x</div> "}}"#,
        );
    }
}
