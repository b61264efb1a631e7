#!/usr/bin/env bash
# The main job: simulate → train → evaluate → predict → attribute, writing $OUT/report.md.
# Each stage is a function; stages are added as the modules land.
set -euo pipefail
OUT=${1:-demo-out}
BIN=$(swift build -c release --show-bin-path)
mkdir -p "$OUT"
echo "== vrapl demo: output in $OUT"

# Stage: record 10 s of this machine with the collector's simulated power source, then inspect it.
stage_record() {
    echo "== record: 10 s of this machine at 16 ms (vrapl-collect --power-source sim)"
    "$BIN/vrapl-collect" --out "$OUT/recorded.h5" --duration 10s --power-source sim --no-status --label demo=record
    "$BIN/vrapl" inspect "$OUT/recorded.h5"
}
stage_record
