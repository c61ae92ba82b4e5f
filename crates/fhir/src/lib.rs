//! FHIR R4 (4.0.1) and UK Core codec.
//!
//! Work in progress: see the project's issues.
#![forbid(unsafe_code)]

pub mod uk_core;
pub mod xml;
