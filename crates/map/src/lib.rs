//! Mapping between the codecs and the canonical model.
//!
//! Work in progress: see the project's issues.
#![forbid(unsafe_code)]
