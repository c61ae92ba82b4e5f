//! Parsing into a reused index and walking every field allocates nothing.
//!
//! A counting global allocator wraps the system one; this file is its own
//! test binary, so no other test's allocations are counted.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use carecodec_hl7v2::{Index, Message, ParseOptions, Path};

struct Counting;

// Counted per thread, so the test harness's own threads do not count.
thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    ALLOCATIONS.with(|a| a.set(a.get() + 1));
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: delegates to the system allocator unchanged; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const MESSAGES: [&[u8]; 3] = [
    b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500+0000||ADT^A01^ADT_A01|1|P|2.4|||AL|NE|GBR|UNICODE UTF-8\r\
EVN|A01|20240312091500\rPID|1||9434765919^^^NHS^NH~K1^^^RX1^MR||SMITH&&Smyth^JOHN^P||19700214|M|||1 High St^^Leeds^^LS1 1AA\r\
PV1|1|I|WARD7^BAY2^BED4^RX1||||C123^JONES^ANN^^^DR\rOBX|1|ST|X^Y^LN||a\\T\\b\\.br\\c\r",
    b"\xEF\xBB\xBFMSH|^~\\&|A||||||ORU^R01|2|P|2.5\nPID|1||X\nOBX|1|NM|1^2||3.5\nOBX|2|NM|1^2||4\n",
    b"MSH|^~\\&#|A||||||ADT^A08|3|P|2.7\r\nPID|1||Z~Y~X||A^B^C^D^E^F^G\r\n",
];

#[test]
fn parse_and_walk_allocate_nothing_after_warm_up() {
    let opts = ParseOptions::default();
    let path = Path::parse("PID-3[2].1").unwrap();
    let mut index = Index::default();
    // Warm up: let the index grow to fit the largest message.
    for m in MESSAGES {
        Message::parse_in(m, &opts, &mut index).unwrap();
    }
    let before = allocations();
    let mut bytes = 0usize;
    for _ in 0..100 {
        for m in MESSAGES {
            let msg = Message::parse_in(m, &opts, &mut index).unwrap();
            bytes += msg.query(&path).map_or(0, |v| v.raw().len());
            msg.for_each_leaf(|p, v| {
                bytes += v.raw().len() + p.field.unwrap_or(0) as usize;
            });
            for seg in msg.segments() {
                for (_, f) in seg.fields() {
                    for rep in f.parts() {
                        for c in rep.parts() {
                            bytes += c.parts().count();
                        }
                    }
                }
            }
            // Decoding a value with no escape borrows: no allocation either.
            let text = msg.get("PID-1").unwrap().unwrap().decoded().unwrap();
            assert!(matches!(text, std::borrow::Cow::Borrowed(_)));
        }
    }
    let after = allocations();
    assert!(bytes > 0);
    assert_eq!(
        after - before,
        0,
        "parsing and walking allocated {} times",
        after - before
    );
}
