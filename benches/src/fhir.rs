//! Input builders for the fhir benchmarks.
