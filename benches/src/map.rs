//! Input builders for the map benchmarks.
