//! `carecodec hl7` end to end, and every subcommand with standard output
//! closed early (`carecodec … | head`).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::process::Stdio;

mod common;
use common::{bin, data, run_stdin as run, text};

const MSG1: &[u8] = b"MSH|^~\\&|S|F|R|RF|20240101||ADT^A01|C1|P|2.5\rPID|1\r";
const BAD2: &[u8] = b"MSH|^~\\&|S|F|R|RF|20240101||ADT^A01|C2|P|2.5\rPID|1\rP!D|2\r";

/// Every subcommand, with standard output closed before it writes anything,
/// ends quietly with status 141 (as a process ended by SIGPIPE), never a
/// panic (101) or "carecodec: Broken pipe" (2).
#[test]
fn closed_stdout_ends_quietly_with_141() {
    let hl7: Vec<u8> = [MSG1, BAD2].concat().repeat(200);
    let go = std::fs::read(data("esr/GO_998_GDW_GOF_20250401_00000001.DAT")).unwrap();
    let fhir = std::fs::read(data("fhir/observation-vital-sign.json")).unwrap();
    let adt = std::fs::read(data("hl7v2/adt_a01.hl7")).unwrap();
    let cases: [(&[&str], &[u8]); 9] = [
        (&["hl7", "check", "-"], &hl7),
        (&["hl7", "stats", "-"], &hl7),
        (&["hl7", "flat", "-"], &hl7),
        (&["hl7", "ack", "-"], &hl7),
        (&["esr", "check", "-"], &go),
        (&["esr", "json", "-"], &go),
        (&["fhir", "check", "-"], &fhir),
        (&["map", "-"], &adt),
        (&["map", "--to", "fhir", "-"], &adt),
    ];
    for (args, input) in cases {
        let mut child = bin()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end first, so every write the child makes fails.
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input);
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
    }
}

/// The excerpt under a rejection shows the offending line of the file even
/// when the message is not the first one.
#[test]
fn check_excerpt_shows_the_line_of_a_later_message() {
    let out = run(&["hl7", "check", "-"], &[MSG1, BAD2].concat());
    let s = text(&out.stdout);
    assert!(
        s.contains("message 2: rejected: invalid segment identifier \"P!D\" at line 5, byte 102\n  P!D|2\n  ^\n"),
        "{s}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// An unsupported MSH-18 still gets its AR, with ERR pointing at MSH-18.
#[test]
fn ack_answers_an_unsupported_charset_with_ar() {
    let input = b"MSH|^~\\&|S|F|R|RF|20240101||ADT^A01|C7|P|2.5||||||KOI8-R\rPID|1\r";
    let out = run(&["hl7", "ack", "-"], input);
    let s = text(&out.stdout);
    assert!(s.contains("\rMSA|AR|C7"), "{s}");
    assert!(s.contains("\rERR||MSH^1^18|204^^HL70357|E"), "{s}");
    assert!(text(&out.stderr).contains("unsupported character set"));
    assert_eq!(out.status.code(), Some(1));
}

/// F3 (probe 12): the AR to a rejected 8859/1 message declared 8859/1 (MSH-18
/// copied) but carried ERR-8 in UTF-8 (the header was read as ASCII). It is
/// now written in Latin-1, and what Latin-1 cannot hold is replaced and said.
#[test]
fn ack_to_a_latin1_message_is_latin1() {
    let input = b"MSH|^~\\&|S|F|R|RF|20240101||ADT^A01|C8|P|2.5||||||8859/1\rPID|1\rP\xc9D|2\r";
    let out = run(&["hl7", "ack", "-"], input);
    let ack = &out.stdout;
    assert!(ack.windows(9).any(|w| w == b"|8859/1\rM"), "{}", text(ack));
    // No UTF-8 sequence (U+FFFD is EF BF BD) in a Latin-1 ACK.
    assert!(!ack.windows(3).any(|w| w == b"\xef\xbf\xbd"), "{ack:?}");
    let s = String::from_utf8_lossy(ack);
    assert!(s.contains("identifier \"P?D\""), "{s}");
    assert!(
        s.contains("[1 character(s) this message cannot carry replaced]"),
        "{s}"
    );
    assert!(s.contains("\rMSA|AR|C8"), "{s}");
    assert_eq!(out.status.code(), Some(1));
}

/// Junk lines outside messages are reported by flat and ack on stderr, with
/// exit 1, as check reports them; binary junk alone is not a silent success.
/// (Junk after a message's segments is part of it, and rejects it.)
#[test]
fn flat_and_ack_report_lines_outside_messages() {
    let junk_before = [b"this is junk\r", MSG1, MSG1].concat();
    let garbage: Vec<u8> = (0u8..=255).cycle().take(4000).collect();
    for cmd in ["flat", "ack"] {
        for input in [&junk_before, &garbage] {
            let out = run(&["hl7", cmd, "-"], input);
            let err = text(&out.stderr);
            assert!(err.contains("line(s) outside any message"), "{cmd}: {err}");
            assert_eq!(out.status.code(), Some(1), "{cmd}");
        }
    }
    let out = run(&["hl7", "flat", "-"], &[MSG1, MSG1].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// stats exits as check does: 1 when a message is rejected or the envelope
/// has problems, and counts them.
#[test]
fn stats_exit_status_follows_check() {
    let out = run(&["hl7", "stats", "-"], &[MSG1, BAD2].concat());
    let s = text(&out.stdout);
    assert!(s.contains("messages\t2\nrejected\t1\nproblems\t0\n"), "{s}");
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["hl7", "stats", "-"], &[b"junk\r", MSG1].concat());
    assert!(text(&out.stdout).contains("problems\t1\n"));
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["hl7", "stats", "-"], MSG1);
    assert!(out.status.success());
}

/// Text invalid in the declared charset fails check (exit 1) with its path
/// and file byte; flat names the charset it was read in (UTF-8 for an empty
/// MSH-18) and the byte.
#[test]
fn undecodable_text_is_reported_with_path_and_byte() {
    let bad =
        b"MSH|^~\\&|S|F|R|RF|20240101||ADT^A01|C8|P|2.5||||||UNICODE UTF-8\rPID|1||||M\xfcller\r";
    let input = [MSG1, bad].concat();
    let out = run(&["hl7", "check", "-"], &input);
    let s = text(&out.stdout);
    assert!(
        s.contains("-:4: message 2 (C8): error: PID[1]-5[1].1.1: invalid UTF-8 text at byte 125\n"),
        "{s}"
    );
    assert_eq!(input[125], 0xfc);
    assert!(s.contains("undecodable values 1"), "{s}");
    assert_eq!(out.status.code(), Some(1));
    let esc = b"MSH|^~\\&|S|F|R|RF|20240101||ORU^R01|C1|P|2.5\rNTE|1||a\\Xe9\\b\r";
    let out = run(&["hl7", "flat", "-"], esc);
    let err = text(&out.stderr);
    assert!(
        err.contains("NTE[1]-3[1].1.1: invalid UTF-8 text at byte 53"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// A file that cannot be opened is reported and the others still read, by
/// every subcommand over several files: exit 1, not an abort with exit 2.
#[test]
fn a_missing_file_is_reported_and_the_rest_read() {
    let good = data("hl7v2/adt_a01.hl7");
    let good = good.to_str().unwrap();
    let missing = "/nonexistent/missing.hl7";
    let out = run(&["hl7", "check", missing, good], b"");
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(s.contains("missing.hl7: error:"), "{s}");
    assert!(s.contains("adt_a01.hl7: read 1, accepted 1"), "{s}");
    assert!(s.contains("unreadable files 1"), "{s}");
    let out = run(&["hl7", "stats", good, missing], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("missing.hl7: error:"));
    assert!(text(&out.stdout).contains("messages\t1\n"));
    assert!(text(&out.stdout).contains("unreadable files\t1\n"));
    let out = run(&["hl7", "flat", missing, good], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("missing.hl7: error:"));
    assert!(
        text(&out.stdout).contains("\tMSH[1]-3[1].1.1\t\"PAS\""),
        "{}",
        text(&out.stdout)
    );
}
