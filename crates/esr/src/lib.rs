//! NHS ESR workforce extract codec.
//!
//! Work in progress: see the project's issues.
#![forbid(unsafe_code)]
