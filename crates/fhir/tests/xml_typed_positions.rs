//! FHIR XML whose values the typed model rejects (an integer that is not one, an empty
//! code, a missing required element): the error carries the line, column and byte offset
//! of the XML element at fault, like the errors of the XML layer itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use carecodec_fhir::{json, xml};

/// The typed-stage error for `doc` (it must be one).
fn model_err(doc: &str) -> xml::Error {
    let e = xml::from_str(doc).expect_err(doc);
    assert!(matches!(e.kind(), xml::ErrorKind::Model(_)), "{e}");
    e
}

/// The byte offset, line and column (1-based, in characters) of the `nth` (0-based)
/// occurrence of `needle` in `doc`.
fn position(doc: &str, needle: &str, nth: usize) -> (usize, usize, usize) {
    let offset = doc
        .match_indices(needle)
        .nth(nth)
        .map(|(at, _)| at)
        .expect(needle);
    let before = &doc[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() + 1;
    (offset, line, column)
}

fn assert_at(e: &xml::Error, doc: &str, needle: &str, nth: usize) {
    let (offset, line, column) = position(doc, needle, nth);
    assert_eq!(
        (e.offset(), e.line(), e.column()),
        (Some(offset), Some(line), Some(column)),
        "{e}"
    );
    assert!(
        e.to_string()
            .ends_with(&format!("(line {line}, column {column}, byte {offset})")),
        "{e}"
    );
}

/// The probe's case: `1e2` is a JSON number but not a FHIR integer. Since 2026-12-07 the
/// XML layer refuses it itself (R4's integer form), at the same place; an integer beyond
/// `i32` is refused by the typed stage, placed the same way.
#[test]
fn an_integer_that_is_not_one_has_its_line_and_column() {
    let doc = "<Patient xmlns=\"http://hl7.org/fhir\">\n  <gender value=\"female\"/>\n  <multipleBirthInteger value=\"1e2\"/>\n</Patient>\n";
    let e = xml::from_str(doc).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            xml::ErrorKind::InvalidValue {
                expected: "integer",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.path(), "Patient.multipleBirthInteger");
    assert_at(&e, doc, "<multipleBirthInteger", 0);
    let doc = doc.replace("1e2", "2147483648");
    let e = model_err(&doc);
    assert_eq!(e.path(), "Patient.multipleBirthInteger");
    assert_at(&e, &doc, "<multipleBirthInteger", 0);
    assert_eq!((e.line(), e.column()), (Some(3), Some(3)));
    // The JSON reader's own error is still there, with its own (intermediate) position.
    let xml::ErrorKind::Model(inner) = e.kind() else {
        unreachable!()
    };
    assert_eq!(inner.kind(), json::ErrorKind::InvalidValue);
}

/// Nested a few levels (Bundle → entry → resource → component), in a repeated element:
/// the index of the path picks the right occurrence.
#[test]
fn a_nested_value_in_a_repeated_element_points_at_the_right_one() {
    let doc = r#"<Bundle xmlns="http://hl7.org/fhir">
  <type value="collection"/>
  <entry>
    <resource>
      <Observation>
        <status value="final"/>
        <code><text value="a"/></code>
        <component><code><text value="x"/></code><valueInteger value="1"/></component>
      </Observation>
    </resource>
  </entry>
  <entry>
    <resource>
      <Observation>
        <status value="final"/>
        <code><text value="b"/></code>
        <component>
          <code><text value="x"/></code>
          <valueInteger value="2"/>
        </component>
        <component>
          <code><text value="y"/></code>
          <valueInteger value="-2147483649"/>
        </component>
      </Observation>
    </resource>
  </entry>
</Bundle>"#;
    let e = model_err(doc);
    assert_eq!(
        e.path(),
        "Bundle.entry[1].resource.component[1].valueInteger",
        "{e}"
    );
    assert_at(&e, doc, "<valueInteger value=\"-2147483649\"", 0);
    assert_eq!((e.line(), e.column()), (Some(23), Some(11)));
}

/// A repeated primitive: the third `given`'s extension holds the bad value, written in
/// JSON under `_given`; the position is the `valueInteger` inside it.
#[test]
fn a_value_in_an_extension_of_a_repeated_primitive() {
    let doc = r#"<Patient xmlns="http://hl7.org/fhir">
  <name>
    <given value="Ann"/>
    <given value="Bo"><extension url="http://example.org/a"><valueInteger value="1"/></extension></given>
    <given value="Cy"><extension url="http://example.org/a"><valueInteger value="3000000000"/></extension></given>
  </name>
</Patient>"#;
    let e = model_err(doc);
    assert_eq!(
        e.path(),
        "Patient.name[0]._given[2].extension[0].valueInteger"
    );
    assert_at(&e, doc, "<valueInteger", 1);
    assert_eq!((e.line(), e.column()), (Some(5), Some(61)));
}

/// The `value` attribute of a primitive in an extension of a primitive (`birthDate`).
#[test]
fn a_value_attribute_in_an_extension_of_a_primitive() {
    let doc = r#"<Patient xmlns="http://hl7.org/fhir">
  <birthDate value="1970-01-01">
    <extension url="http://example.org/b">
      <valueInteger value="1"/>
    </extension>
    <extension url="http://example.org/c">
      <valuePositiveInt value="-3"/>
    </extension>
  </birthDate>
</Patient>"#;
    let e = model_err(doc);
    assert_eq!(
        e.path(),
        "Patient._birthDate.extension[1].valuePositiveInt",
        "{e}"
    );
    assert_at(&e, doc, "<valuePositiveInt", 0);
}

/// An invalid code (empty, or with a run of spaces) in a repeated primitive.
#[test]
fn an_invalid_code_in_a_repeated_primitive() {
    let doc = r#"<Location xmlns="http://hl7.org/fhir">
  <hoursOfOperation>
    <daysOfWeek value="mon"/>
    <daysOfWeek value="tue"/>
  </hoursOfOperation>
  <hoursOfOperation>
    <daysOfWeek value="wed"/>
    <daysOfWeek value="t  u"/>
  </hoursOfOperation>
</Location>"#;
    let e = model_err(doc);
    assert_eq!(
        e.path(),
        "Location.hoursOfOperation[1].daysOfWeek[1]",
        "{e}"
    );
    assert_at(&e, doc, "<daysOfWeek", 3);
}

/// A `uri` with white space and an id outside R4's regex are refused as the JSON reader
/// refuses them, placed at their element.
#[test]
fn a_uri_with_a_space_and_a_bad_id() {
    let doc = r#"<Patient xmlns="http://hl7.org/fhir">
  <identifier>
    <system value="https://x.nhs.uk/a b"/>
    <value value="1"/>
  </identifier>
</Patient>"#;
    let e = model_err(doc);
    assert_eq!(e.path(), "Patient.identifier[0].system", "{e}");
    assert!(e.to_string().contains("not a uri"), "{e}");
    assert_at(&e, doc, "<system", 0);
    let doc = r#"<Patient xmlns="http://hl7.org/fhir">
  <id value="abc_123"/>
</Patient>"#;
    let e = model_err(doc);
    assert_eq!(e.path(), "Patient.id", "{e}");
    assert_at(&e, doc, "<id", 0);
}

/// A missing required element: the position is the element that lacks it.
#[test]
fn a_missing_required_element_points_at_its_parent() {
    let doc = r#"<Patient xmlns="http://hl7.org/fhir">
  <link>
    <type value="seealso"/>
  </link>
</Patient>"#;
    let e = model_err(doc);
    assert!(e.path().starts_with("Patient.link[0]"), "{e}");
    assert_at(&e, doc, "<link>", 0);
}

/// A fault in the root resource itself (here a contained resource's type that is not
/// compiled in is not one; a missing `status` on the root is): the root's position.
#[test]
fn a_fault_of_the_root_points_at_the_root() {
    let doc = "<!-- x -->\n<Observation xmlns=\"http://hl7.org/fhir\">\n  <code><text value=\"a\"/></code>\n</Observation>";
    let e = model_err(doc);
    assert_at(&e, doc, "<Observation", 0);
    assert_eq!((e.line(), e.column()), (Some(2), Some(1)));
}

/// An invalid code in an extension's `valueCode` (a choice element), the last member of
/// the extension in JSON: placed at the `valueCode` element, not at the extension.
#[test]
fn an_invalid_code_in_an_extension() {
    let doc = r#"<Patient xmlns="http://hl7.org/fhir">
  <gender value="male">
    <extension url="http://example.org/g">
      <valueCode value=" x"/>
    </extension>
  </gender>
</Patient>"#;
    let e = model_err(doc);
    assert_eq!(e.path(), "Patient._gender.extension[0].valueCode", "{e}");
    assert_at(&e, doc, "<valueCode", 0);
}
