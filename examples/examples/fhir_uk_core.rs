//! Builds a UK Core Patient with an NHS number, writes it as JSON and XML, reads
//! the XML back and validates it against UK Core.
//!
//! `cargo run -p carecodec-examples --example fhir_uk_core`
// An example program: failing loudly is fine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use carecodec::fhir::Patient;
use carecodec::fhir::uk_core::{
    self, ethnic_category_extension, nhs_number_identifier, validate::Profile,
};
use carecodec::fhir::{Resource, json, xml};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut patient = Patient::default();
    patient
        .identifier
        .push(nhs_number_identifier("943 476 5919", Some("01")).expect("valid NHS number"));
    patient
        .extension
        .push(ethnic_category_extension("A", Some("White - British")));
    let resource = Resource::Patient(Box::new(patient));

    let json_text = json::to_string_pretty(&resource);
    println!("{json_text}");
    let xml_text = xml::to_string_pretty(&resource)?;
    println!("{xml_text}");

    let back = xml::from_str(&xml_text)?;
    let issues = uk_core::validate(&back, Profile::UKCorePatient);
    for i in &issues {
        println!("{i:?}");
    }
    println!("UK Core issues: {}", issues.len());
    Ok(())
}
