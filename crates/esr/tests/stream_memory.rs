//! A large generated GO file streams through the reader in bounded memory.
//!
//! The file is synthesised by a `Read` impl (never on disk); a counting
//! global allocator records the peak live heap. 64 MB runs by default; the
//! 1 GB run is `#[ignore]`d: `cargo test --release -p carecodec-esr --test
//! stream_memory -- --ignored --nocapture`.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicUsize, Ordering};

use carecodec_esr::{GoOptions, GoReader};

struct Peak;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: delegates to the system allocator unchanged; only counts bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Peak = Peak;

/// Synthesises HDR, then PRA/ASA rows until `target` bytes, then TRL.
struct Synth {
    target: u64,
    made: u64,
    lines: u64,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

const PRA: &str = "PRA~{id}~20220404~47121231~{id}~Ms.~Testperson~Ada~~~~~F~19900101~JK000001A~1000001~20220404~~~E~~~Z Not Stated~~United Kingdom~~~~~~~~~EMP~Employee~ada@example.invalid~20220404~~20220404 101000~N~~~~\n";
const ASA: &str = "ASA~{id}~{id}~20220404~47121231~20220404~E~{id}~ACTIVE_ASSIGN~Active Assignment~E~999 Monthly~Calendar Month~500001~N~~~~~Permanent~PT~Yes~30~Week~37.5~0.8~~600100~800001~3000001|Staff Nurse|N0A|Elderly Care|~NHS|XR05|Band 5~2~20220404~28000~Nursing|Staff Nurse~~~~~~~~N~Y~20220404 101000~~~N~~~\n";

impl Synth {
    fn new(target: u64) -> Synth {
        let mut s = Synth {
            target,
            made: 0,
            lines: 1,
            buf: Vec::new(),
            pos: 0,
            done: false,
        };
        s.buf.extend_from_slice(b"HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n");
        s
    }

    fn refill(&mut self) {
        self.buf.clear();
        self.pos = 0;
        if self.done {
            return;
        }
        if self.made >= self.target {
            self.lines += 1;
            self.buf
                .extend_from_slice(format!("TRL~{}\n", self.lines).as_bytes());
            self.done = true;
            return;
        }
        for i in 0..64u64 {
            let id = (7_000_000 + self.lines + i).to_string();
            self.buf
                .extend_from_slice(PRA.replace("{id}", &id).as_bytes());
            self.buf
                .extend_from_slice(ASA.replace("{id}", &id).as_bytes());
        }
        self.lines += 128;
        self.made += self.buf.len() as u64;
    }
}

impl Read for Synth {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.buf.len() {
            self.refill();
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn stream(bytes: u64) -> (u64, usize) {
    let reader = BufReader::with_capacity(64 << 10, Synth::new(bytes));
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let mut r = GoReader::new(
        reader,
        Some("GO_999_GDW_GOF_20250301_00000101.DAT"),
        GoOptions::default(),
    );
    let mut n = 0u64;
    while let Some(e) = r.next_record() {
        assert!(e.accepted, "{:?}", e.problems);
        if n % 97 == 0 {
            assert!(e.typed().is_some());
        }
        n += 1;
    }
    let s = r.summary();
    assert!(s.complete, "{:?}", s.problems);
    assert_eq!(s.read, n);
    (s.bytes, PEAK.load(Ordering::SeqCst) - base)
}

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

#[test]
fn sixty_four_megabytes_stream_in_bounded_memory() {
    let (bytes, peak) = stream(64 << 20);
    println!(
        "streamed {bytes} bytes; peak live heap {peak} bytes; {}",
        vm_hwm()
    );
    assert!(bytes >= 64 << 20);
    assert!(peak < 1 << 20, "peak live heap {peak} bytes");
}

#[test]
#[ignore = "1 GB: run in release with --ignored"]
fn one_gigabyte_streams_in_bounded_memory() {
    let (bytes, peak) = stream(1 << 30);
    println!(
        "streamed {bytes} bytes; peak live heap {peak} bytes; {}",
        vm_hwm()
    );
    assert!(peak < 1 << 20, "peak live heap {peak} bytes");
}
