#!/usr/bin/env bash
# Benchmarks (release builds). Figures go to docs/PERFORMANCE.md with this command and the machine.
# About 4 minutes: the guest and collector runs take 60 s each (SECONDS_LIVE to change).
set -euo pipefail
cd "$(dirname "$0")/.."
LIVE=${SECONDS_LIVE:-60}
BIN=$(swift build -c release --show-bin-path)
echo "== vrapl bench (release build at $BIN)"
"$BIN/vrapl" bench trace --samples 1000000
"$BIN/vrapl" bench train --threads 1 --seconds 3
"$BIN/vrapl" bench train --threads 2 --seconds 3
echo "== vrapl-guest, default build"
"$BIN/vrapl" bench guest --seconds "$LIVE"
mapfile -t LEAN < <(scripts/build-lean.sh vrapl-collect vrapl-guest 2>/dev/null)
COLLECTOR=${LEAN[0]} GUEST=${LEAN[1]}
FLOOR=.build/sampling-floor
cc -O2 -o "$FLOOR" scripts/reference/sampling-floor.c
echo "== vrapl-guest, lean build (make guest): $GUEST; C sampling floor, batched and per-tick modes side by side"
"$BIN/vrapl" bench guest --seconds "$LIVE" --predictions 2000 --guest-binary "$GUEST" --floor "$FLOOR"
echo "== vrapl-collect, lean build (make collector): $COLLECTOR, ${LIVE} s under stress-ng --cpu 2"
DURATION=$LIVE scripts/measure-collector.sh bench-out/collector
