//! What the CLI's end-to-end tests share: the binary, the bundled sample
//! data, and output as text.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `carecodec` binary this test build made.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_carecodec"))
}

/// A file of the bundled samples (`examples/data/…`).
pub fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(p)
}

/// Output bytes as text (lossy).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
