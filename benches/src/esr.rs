//! Input builders for the esr benchmarks.
