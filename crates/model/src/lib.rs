//! The carecodec canonical model.
//!
//! Work in progress: see the project's issues.
#![forbid(unsafe_code)]
