#!/usr/bin/env bash
# Side by side, RUNS times (default 5) for DURATION_S seconds each (default 30): the C sampling floor, the lean
# vrapl-guest in its default batched mode and with --predict-per-tick, all three at once so they see
# the same machine. CPU from `perf stat -e task-clock` (start-up included), late ticks from the
# textfile. Usage: scripts/measure-guest.sh [MODEL]   (after `make guest`; needs perf and cc)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/sim-xeon-silver-4210r-v41.safetensors}
RUNS=${RUNS:-5} SECONDS_EACH=${DURATION_S:-30}
GUEST=$(scripts/build-lean.sh vrapl-guest | tail -n 1)
OUT=$(mktemp -d)
cc -O2 -o "$OUT/floor" scripts/reference/sampling-floor.c
echo "cpu: $(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}'), guest $GUEST, model $MODEL, $RUNS × $SECONDS_EACH s"
for i in $(seq 1 "$RUNS"); do
  perf stat -e task-clock -x, -o "$OUT/f$i" "$OUT/floor" "$SECONDS_EACH" 1 > /dev/null &
  perf stat -e task-clock -x, -o "$OUT/b$i" "$GUEST" --model "$MODEL" --quiet --duration "$SECONDS_EACH" --textfile "$OUT/tb$i" > /dev/null 2>&1 &
  perf stat -e task-clock -x, -o "$OUT/t$i" "$GUEST" --model "$MODEL" --quiet --duration "$SECONDS_EACH" --textfile "$OUT/tt$i" --predict-per-tick > /dev/null 2>&1 &
  wait
  ms() { grep task-clock "$1" | cut -d, -f1; }
  pct() { awk -v ms="$1" -v s="$SECONDS_EACH" 'BEGIN { printf "%.3f %%", ms / 10 / s }'; }
  late() { awk '/^vrapl_late_ticks_total /{print $2}' "$1/vrapl.prom"; }
  echo "run $i: floor $(pct "$(ms "$OUT/f$i")")  batched $(pct "$(ms "$OUT/b$i")") (late $(late "$OUT/tb$i"))  per-tick $(pct "$(ms "$OUT/t$i")") (late $(late "$OUT/tt$i"))  load $(cut -d' ' -f1 /proc/loadavg)"
done
perf stat -e task-clock -x, -o "$OUT/start" "$GUEST" --model "$MODEL" --quiet --duration 0.05 --textfile "$OUT/ts" > /dev/null 2>&1
echo "start-up (load, checks, first export, exit): $(grep task-clock "$OUT/start" | cut -d, -f1) ms"
rm -rf "$OUT"
