//! What the CLI's end-to-end tests share: the binary, the bundled sample
//! data, and output as text.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

/// Runs `carecodec args…` with `input` on standard input. The child may stop
/// reading early: a failed write is its business.
pub fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the carecodec binary runs");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    child.wait_with_output().expect("the carecodec binary ends")
}
