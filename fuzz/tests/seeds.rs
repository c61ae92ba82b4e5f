//! Replays every committed fuzz seed through its target body, and checks that
//! the list of targets matches `fuzz_targets/*.rs`.
// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_fuzz_target_file_is_registered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz_targets");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    name.strip_suffix(".rs").map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let registered: BTreeSet<String> = carecodec_fuzz::targets()
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    assert_eq!(
        files, registered,
        "fuzz_targets/*.rs and carecodec_fuzz::targets() differ"
    );
}

#[test]
fn seeds_replay_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut replayed = 0usize;
    for (name, body) in carecodec_fuzz::targets() {
        let dir = root.join(name);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for path in paths.into_iter().filter(|p| p.is_file()) {
            let data = std::fs::read(&path).unwrap();
            body(&data);
            replayed += 1;
        }
    }
    println!("replayed {replayed} fuzz seeds");
}
