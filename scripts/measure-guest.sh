#!/usr/bin/env bash
# Side by side, RUNS times (default 5) for DURATION_S seconds each (default 30): the C sampling floor
# and two lean vrapl-guest runs, all three at once so they see the same machine. CPU from the
# child's rusage (user + system, start-up included: what `vrapl bench guest` and top report) and, once
# started, from /proc/<pid>/schedstat; late ticks from the textfile, VmRSS near the end.
# (`perf stat -e task-clock`, used before, leaves out the switch into the task: on this VM it gave
# the floor about half of its schedstat/rusage time and the guest 10 % less, which flattered the ratio.)
#   COMPARE=modes    (default) the batched mode beside --predict-per-tick
#   COMPARE=interval MODEL with its prediction interval beside the same weights minus `interval`
#   COMPARE=build    this lean build beside OTHER_GUEST (another build of vrapl-guest), both batched
# Usage: scripts/measure-guest.sh [MODEL]   (needs cc and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/sim-xeon-silver-4210r-v41.safetensors}
RUNS=${RUNS:-5} SECONDS_EACH=${DURATION_S:-30} COMPARE=${COMPARE:-modes}
GUEST=$(scripts/build-lean.sh vrapl-guest | tail -n 1)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cc -O2 -o "$OUT/floor" scripts/reference/sampling-floor.c
# timed FILE CMD...: runs CMD, writes its pid to FILE.pid at once and its CPU time (user + system,
# ms, from wait4) to FILE when it ends.
timed() {
  exec python3 -c 'import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
open(sys.argv[1] + ".pid", "w").write("%d\n" % pid)
_, status, ru = os.wait4(pid, 0)
open(sys.argv[1], "w").write("%.3f\n" % ((ru.ru_utime + ru.ru_stime) * 1000))' "$@"
}
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
  build)
    [ -x "${OTHER_GUEST:-}" ] || { echo "COMPARE=build needs OTHER_GUEST=<a vrapl-guest binary>" >&2; exit 2; }
    A=(--model "$MODEL"); B=(--model "$MODEL"); LA="this build"; LB="other build" ;;
  *) echo "COMPARE must be modes, interval or build" >&2; exit 2 ;;
esac
GUEST_B=$GUEST
[ "$COMPARE" = build ] && GUEST_B=$OTHER_GUEST
echo "cpu: $(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}'), guest $GUEST, model $MODEL, $RUNS × $SECONDS_EACH s, $LA vs $LB"
# Once started: on-CPU ns from /proc/<pid>/schedstat between WARM_S seconds after the start and one
# second before the end, the same stretch for all three (start-up, paid once per daemon life, left out).
WARM=${WARM_S:-2}
oncpu() { cut -d' ' -f1 "/proc/$1/schedstat"; }
child() { for _ in $(seq 100); do [ -s "$1.pid" ] && break; sleep 0.02; done; cat "$1.pid"; }
for i in $(seq 1 "$RUNS"); do
  timed "$OUT/f$i" "$OUT/floor" "$SECONDS_EACH" 1 > /dev/null &
  timed "$OUT/a$i" "$GUEST" "${A[@]}" --quiet --duration "${SECONDS_EACH}s" --textfile "$OUT/ta$i" > /dev/null 2>&1 &
  timed "$OUT/b$i" "$GUEST_B" "${B[@]}" --quiet --duration "${SECONDS_EACH}s" --textfile "$OUT/tb$i" > /dev/null 2>&1 &
  cf=$(child "$OUT/f$i") ca=$(child "$OUT/a$i") cb=$(child "$OUT/b$i")
  sleep "$WARM"
  t0=$(date +%s%N) f0=$(oncpu "$cf") a0=$(oncpu "$ca") b0=$(oncpu "$cb")
  sleep $((SECONDS_EACH - WARM - 1))
  t1=$(date +%s%N) f1=$(oncpu "$cf") a1=$(oncpu "$ca") b1=$(oncpu "$cb")
  ra=$(awk '/^VmRSS/{print $2}' "/proc/$ca/status") rb=$(awk '/^VmRSS/{print $2}' "/proc/$cb/status")
  wait
  ms() { cat "$1"; }
  pct() { awk -v ms="$1" -v s="$SECONDS_EACH" 'BEGIN { printf "%.3f %%", ms / 10 / s }'; }
  st() { awk -v a="$1" -v b="$2" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f %%", 100 * (b - a) / (t1 - t0) }'; }
  late() { awk '/^vrapl_late_ticks_total /{print $2}' "$1/vrapl.prom"; }
  echo "run $i: floor $(pct "$(ms "$OUT/f$i")")  $LA $(pct "$(ms "$OUT/a$i")") (late $(late "$OUT/ta$i"))  $LB $(pct "$(ms "$OUT/b$i")") (late $(late "$OUT/tb$i"))  load $(cut -d' ' -f1 /proc/loadavg)"
  echo "  once started: floor $(st "$f0" "$f1")  $LA $(st "$a0" "$a1") (RSS $ra kB)  $LB $(st "$b0" "$b1") (RSS $rb kB)"
done
(timed "$OUT/start" "$GUEST" --model "$MODEL" --quiet --duration 50ms --textfile "$OUT/ts" > /dev/null 2>&1)
echo "start-up (load, checks, first export, exit): $(cat "$OUT/start") ms"
