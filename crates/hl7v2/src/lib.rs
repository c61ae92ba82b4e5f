//! Zero-copy HL7 v2 codec.
//!
//! Work in progress: see the project's issues.
#![forbid(unsafe_code)]

pub mod ack;
pub mod batch;
pub mod mllp;
