//! FHIR R4 (4.0.1) codec: a typed model generated from the official definitions, lossless
//! JSON both ways, and UK Core helpers.
//!
//! Start with [`Resource`] and [`json::from_slice`] / [`json::to_vec`]:
//!
//! ```
//! use carecodec_fhir::{json, Resource};
//! let input = br#"{"resourceType":"Observation","status":"final",
//!   "code":{"text":"weight"},"valueQuantity":{"value":72.50,"unit":"kg"}}"#;
//! let resource: Resource = json::from_slice(input)?;
//! let Resource::Observation(obs) = &resource else { panic!("an Observation") };
//! let Some(carecodec_fhir::ObservationValue::Quantity(q)) = &obs.value else { panic!("a Quantity") };
//! assert_eq!(q.value.as_ref().and_then(|v| v.value.as_ref()).map(|d| d.as_str()), Some("72.50"));
//! assert_eq!(json::to_string(&resource),
//!   r#"{"resourceType":"Observation","status":"final","code":{"text":"weight"},"valueQuantity":{"value":72.50,"unit":"kg"}}"#);
//! # Ok::<(), json::Error>(())
//! ```
//!
//! # Model
//! Every R4 datatype and resource is a struct with public fields named after the FHIR elements
//! in snake case; backbone elements get their own structs (`PatientContact`), choice elements
//! (`value[x]`) an enum (`ObservationValue`), primitives a [`Primitive`] carrying the value plus
//! `id` and extensions, decimals a [`Decimal`] holding the literal text.
//! `Bundle.entry.resource` and `contained` are typed [`Resource`]s.
//!
//! # Features
//! - one feature per resource (`patient`, `medication_request`, …), enabling that resource;
//! - groups `foundation`, `base`, `clinical`, `financial`, `specialized`, and `all`;
//! - `default`: Patient, Practitioner, PractitionerRole, Organization, Location, Encounter,
//!   Observation, DiagnosticReport, AllergyIntolerance, Condition, Bundle, MessageHeader,
//!   OperationOutcome, Provenance, RelatedPerson.
//!
//! All datatypes are always compiled. Reading a resource whose feature is off is an error
//! ([`json::ErrorKind::DisabledResourceType`]).
#![forbid(unsafe_code)]

pub mod json;
pub mod model;
mod primitive;
pub mod uk_core;
pub mod xml;

pub use model::*;
pub use primitive::{Decimal, Primitive, PrimitiveExt, has_control_char};
