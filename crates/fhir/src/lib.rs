//! FHIR R4 and UK Core codec.
//!
//! Work in progress: see the project's issues.
#![forbid(unsafe_code)]
