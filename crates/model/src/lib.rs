//! The carecodec canonical model: one shape for patients, staff, encounters,
//! results and the events that carry them, whatever format they came from.
//!
//! Every codec maps *into* this model once ([`carecodec-map`]), and every
//! consumer reads it. It depends on nothing heavy: chrono, thiserror and,
//! behind the default `serde` feature, serde.
//!
//! - Identifiers are typed ([`Identifier`]): an NHS number is a checked
//!   [`NhsNumber`] with its [`VerificationStatus`]; MRNs keep their assigning
//!   authority; ESR, NI, GMC, GMP, NMC, HCPC, GPhC, ODS and SDS ids are
//!   distinct kinds.
//! - Codes keep their system ([`Code`], [`CodeSystem`]).
//! - Dates keep their precision ([`PartialDate`], [`PartialDateTime`]).
//! - Values say where they came from ([`Sourced`], [`Source`]); a mapping
//!   returns a [`MappingReport`] listing unmapped source leaves, invalid
//!   values and identity decisions.
//!
//! [`carecodec-map`]: https://docs.rs/carecodec-map
//!
//! ```
//! use carecodec_model::*;
//!
//! let nhs = NhsNumber::parse("9434765919").unwrap();
//! let mut patient = Patient::default();
//! patient.identifiers.push(Sourced::new(
//!     Identifier::Nhs { number: nhs, verification: Some(VerificationStatus::Verified) },
//!     Source::v2(carecodec_model::V2Path::parse("PID[1]-3[1].1.1").unwrap(), 62..72),
//! ));
//! let decision = IdentityDecision {
//!     seen: patient.identifiers.clone(),
//!     key: Some(patient.identifiers[0].value.clone()),
//!     reason: "verified NHS number".into(),
//! };
//! assert!(!decision.quarantined());
//! ```
#![forbid(unsafe_code)]

pub mod entity;
pub mod identifier;
pub mod provenance;
pub mod value;

pub use entity::*;
pub use identifier::{Identifier, NhsNumber, NhsNumberError, VerificationStatus};
pub use provenance::{
    Action, IdentityDecision, Invalid, MappingReport, NotWritten, Source, Sourced, Sources,
    SourcesIntoIter, Unmapped, V2Path,
};
pub use value::{
    Address, Code, CodeSystem, Concept, Gender, HumanName, PartialDate, PartialDateTime, Period,
    Precision, Quantity, Telecom,
};
