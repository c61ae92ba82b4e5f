#!/usr/bin/env bash
# Alternates runs of criterion bench binaries, so that two builds are compared in the same
# minutes (the machine's speed drifts more between runs minutes apart than most changes move it).
#
#   benches/ab.sh FILTER PAIRS BIN...
#   e.g. benches/ab.sh 'map_v2_adt/parse_map_uk_core_json' 5 /tmp/map-old /tmp/map-new
#
# Build each BIN with `cargo bench -p carecodec-benches --bench map --no-run` at the commit to
# compare and copy the `target/release/deps/map-*` executable it names. Prints one line a run:
# the binary's name and criterion's median throughput.
set -euo pipefail
filter=$1; pairs=$2; shift 2
for _ in $(seq "$pairs"); do
  for bin in "$@"; do
    out=$("$bin" --bench "$filter" --warm-up-time 1 --measurement-time 4 --noplot 2>&1)
    thrpt=$(printf '%s\n' "$out" | awk '/thrpt:/ {print $4, $5; exit}')
    echo "$(basename "$bin") $thrpt"
  done
done
