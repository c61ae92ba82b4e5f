//! Runnable examples of the carecodec crates: see `examples/examples/*.rs` and `cargo run -p carecodec-examples --example NAME`.
