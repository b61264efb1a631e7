#!/usr/bin/env bash
# Benchmarks (release builds). Figures go to docs/PERFORMANCE.md with this command and the machine.
set -euo pipefail
BIN=$(swift build -c release --show-bin-path)
echo "== vrapl bench (release build at $BIN)"
"$BIN/vrapl" bench trace --samples 1000000
"$BIN/vrapl" bench train --threads 1 --seconds 3
"$BIN/vrapl" bench train --threads 2 --seconds 3
"$BIN/vrapl" bench guest --seconds 60
