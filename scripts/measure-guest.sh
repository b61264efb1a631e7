#!/usr/bin/env bash
# Side by side, RUNS times (default 5) for DURATION_S seconds each (default 30): the C sampling floor
# and two lean vrapl-guest runs, all three at once so they see the same machine. CPU from
# `perf stat -e task-clock` (start-up included) and once started from /proc/<pid>/schedstat,
# late ticks from the textfile, VmRSS near the end.
#   COMPARE=modes    (default) the batched mode beside --predict-per-tick
#   COMPARE=interval MODEL with its prediction interval beside the same weights minus `interval`
# Usage: scripts/measure-guest.sh [MODEL]   (after `make guest`; needs perf and cc, python3 for interval)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/sim-xeon-silver-4210r-v41.safetensors}
RUNS=${RUNS:-5} SECONDS_EACH=${DURATION_S:-30} COMPARE=${COMPARE:-modes}
GUEST=$(scripts/build-lean.sh vrapl-guest | tail -n 1)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cc -O2 -o "$OUT/floor" scripts/reference/sampling-floor.c
case "$COMPARE" in
  modes) A=(--model "$MODEL"); B=(--model "$MODEL" --predict-per-tick); LA="batched"; LB="per-tick" ;;
  interval)
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
    A=(--model "$MODEL"); B=(--model "$OUT/plain.safetensors"); LA="with interval"; LB="without" ;;
  *) echo "COMPARE must be modes or interval" >&2; exit 2 ;;
esac
echo "cpu: $(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}'), guest $GUEST, model $MODEL, $RUNS × $SECONDS_EACH s, $LA vs $LB"
# Once started: on-CPU ns from /proc/<pid>/schedstat between WARM_S seconds after the start and one
# second before the end, the same stretch for all three (start-up, paid once per daemon life, left out).
WARM=${WARM_S:-2}
oncpu() { cut -d' ' -f1 "/proc/$1/schedstat"; }
child() { local c=""; for _ in $(seq 50); do c=$(pgrep -P "$1" | head -n 1); [ -n "$c" ] && break; sleep 0.02; done; echo "$c"; }
for i in $(seq 1 "$RUNS"); do
  perf stat -e task-clock -x, -o "$OUT/f$i" "$OUT/floor" "$SECONDS_EACH" 1 > /dev/null & pf=$!
  perf stat -e task-clock -x, -o "$OUT/a$i" "$GUEST" "${A[@]}" --quiet --duration "${SECONDS_EACH}s" --textfile "$OUT/ta$i" > /dev/null 2>&1 & pa=$!
  perf stat -e task-clock -x, -o "$OUT/b$i" "$GUEST" "${B[@]}" --quiet --duration "${SECONDS_EACH}s" --textfile "$OUT/tb$i" > /dev/null 2>&1 & pb=$!
  cf=$(child $pf) ca=$(child $pa) cb=$(child $pb)
  sleep "$WARM"
  t0=$(date +%s%N) f0=$(oncpu "$cf") a0=$(oncpu "$ca") b0=$(oncpu "$cb")
  sleep $((SECONDS_EACH - WARM - 1))
  t1=$(date +%s%N) f1=$(oncpu "$cf") a1=$(oncpu "$ca") b1=$(oncpu "$cb")
  ra=$(awk '/^VmRSS/{print $2}' "/proc/$ca/status") rb=$(awk '/^VmRSS/{print $2}' "/proc/$cb/status")
  wait
  ms() { grep task-clock "$1" | cut -d, -f1; }
  pct() { awk -v ms="$1" -v s="$SECONDS_EACH" 'BEGIN { printf "%.3f %%", ms / 10 / s }'; }
  st() { awk -v a="$1" -v b="$2" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f %%", 100 * (b - a) / (t1 - t0) }'; }
  late() { awk '/^vrapl_late_ticks_total /{print $2}' "$1/vrapl.prom"; }
  echo "run $i: floor $(pct "$(ms "$OUT/f$i")")  $LA $(pct "$(ms "$OUT/a$i")") (late $(late "$OUT/ta$i"))  $LB $(pct "$(ms "$OUT/b$i")") (late $(late "$OUT/tb$i"))  load $(cut -d' ' -f1 /proc/loadavg)"
  echo "  once started: floor $(st "$f0" "$f1")  $LA $(st "$a0" "$a1") (RSS $ra kB)  $LB $(st "$b0" "$b1") (RSS $rb kB)"
done
perf stat -e task-clock -x, -o "$OUT/start" "$GUEST" --model "$MODEL" --quiet --duration 50ms --textfile "$OUT/ts" > /dev/null 2>&1
echo "start-up (load, checks, first export, exit): $(grep task-clock "$OUT/start" | cut -d, -f1) ms"
