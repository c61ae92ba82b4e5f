//! Fuzz bodies for `carecodec-esr`.

use carecodec_esr::bi::BiReader;
use carecodec_esr::{GoOptions, GoReader, inbound};

/// The esr fuzz targets: name (file stem under `fuzz_targets/`) and body.
pub const TARGETS: &[crate::Target] = &[
    ("esr_go", go),
    ("esr_bi", bi),
    ("esr_inbound", inbound_file),
];

/// Read arbitrary bytes as a GO file (plain and split), typing every record
/// (owned and borrowed, which must agree); the accounting must balance.
pub fn go(data: &[u8]) {
    for split in [false, true] {
        let opts = GoOptions::default().split_concatenated(split);
        let mut r = GoReader::new(data, Some("GO_999_GDW_GOC_20250302_00000102.DAT"), opts);
        let mut n = 0u64;
        while let Some(e) = r.next_record() {
            n += 1;
            // The borrowed view and the owned record agree.
            let owned = e.typed().map(|t| t.fields);
            let borrowed = e
                .typed_fields()
                .map(|f| f.map(|(n, v)| (n, v.into_owned())).collect::<Vec<_>>());
            assert_eq!(owned, borrowed);
            assert_eq!(
                e.accepted,
                !e.problems
                    .iter()
                    .any(|p| p.severity >= carecodec_esr::Severity::Error)
            );
        }
        let all = r.summaries();
        assert_eq!(all.iter().map(|s| s.read).sum::<u64>(), n);
        for s in &all {
            assert_eq!(s.read, s.accepted + s.rejected);
        }
    }
}

/// Read arbitrary bytes as a BI CSV file.
pub fn bi(data: &[u8]) {
    if let Ok(f) = BiReader::read(data) {
        assert_eq!(f.summary.read, f.summary.accepted + f.summary.rejected);
        assert_eq!(f.rows.len() as u64, f.summary.read);
    }
}

/// Read arbitrary bytes as an inbound TA file.
pub fn inbound_file(data: &[u8]) {
    if let Ok(f) = inbound::read(data) {
        for r in &f.records {
            let _ = r.to_attendance();
        }
    }
}
