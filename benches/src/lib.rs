//! Input builders shared by the carecodec benchmarks.
