//! Input builders for the hl7v2 benchmarks.
