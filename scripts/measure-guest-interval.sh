#!/usr/bin/env bash
# What the prediction interval costs the guest: side by side, RUNS times (default 3) for DURATION_S
# seconds each (default 30), the C sampling floor, the lean vrapl-guest with MODEL (its interval, e.g.
# normalized by the local spread) and with the same weights minus the `interval` metadata (a copy
# written by this script). CPU from `perf stat -e task-clock`, start-up included.
#   scripts/measure-guest-interval.sh [MODEL]   (needs perf, cc, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/sim-xeon-silver-4210r-guest-v41.safetensors}
RUNS=${RUNS:-3} SECONDS_EACH=${DURATION_S:-30}
GUEST=$(scripts/build-lean.sh vrapl-guest | tail -n 1)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cc -O2 -o "$OUT/floor" scripts/reference/sampling-floor.c
python3 - "$MODEL" "$OUT/plain.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["__metadata__"].pop("interval", None)
t = json.dumps(h, separators=(",", ":")).encode()
t += b" " * ((8 - len(t) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PY
echo "cpu: $(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}'), guest $GUEST, model $MODEL, $RUNS × $SECONDS_EACH s"
for i in $(seq 1 "$RUNS"); do
  perf stat -e task-clock -x, -o "$OUT/f$i" "$OUT/floor" "$SECONDS_EACH" 1 > /dev/null &
  perf stat -e task-clock -x, -o "$OUT/i$i" "$GUEST" --model "$MODEL" --quiet --duration "$SECONDS_EACH" --textfile "$OUT/ti$i" > /dev/null 2>&1 &
  perf stat -e task-clock -x, -o "$OUT/p$i" "$GUEST" --model "$OUT/plain.safetensors" --quiet --duration "$SECONDS_EACH" --textfile "$OUT/tp$i" > /dev/null 2>&1 &
  wait
  ms() { grep task-clock "$1" | cut -d, -f1; }
  pct() { awk -v ms="$1" -v s="$SECONDS_EACH" 'BEGIN { printf "%.3f %%", ms / 10 / s }'; }
  late() { awk '/^vrapl_late_ticks_total /{print $2}' "$1/vrapl.prom"; }
  echo "run $i: floor $(pct "$(ms "$OUT/f$i")")  with interval $(pct "$(ms "$OUT/i$i")") (late $(late "$OUT/ti$i"))  without $(pct "$(ms "$OUT/p$i")") (late $(late "$OUT/tp$i"))  load $(cut -d' ' -f1 /proc/loadavg)"
done
