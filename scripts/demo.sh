#!/usr/bin/env bash
# The main job: simulate → train → evaluate → predict → attribute, writing $OUT/report.md.
# Each stage is a function; stages are added as the modules land.
set -euo pipefail
OUT=${1:-demo-out}
BIN=$(swift build -c release --show-bin-path)
mkdir -p "$OUT"
echo "== vrapl demo: output in $OUT"
echo "(nothing here yet)"
