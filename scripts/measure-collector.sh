#!/usr/bin/env bash
# Measures vrapl-collect (release build): DURATION s (default 60) at 16 ms with the sim power source
# while `stress-ng --cpu 2` loads both cores. Prints interval p50/p99/max (from the trace's own
# timestamps), the sample count against duration/interval, the collector's CPU time as % of one core
# (utime+stime from /proc/<pid>/stat), and its resident memory once a second (max, and first vs last
# after a 5 s warm-up, to show it stays flat). Figures go to docs/PERFORMANCE.md `## Collector`.
# It measures the lean binary of `make collector` (scripts/build-lean.sh); BUILD=default measures the
# plain `swift build -c release` one (Swift runtime as shared libraries) instead.
#   scripts/measure-collector.sh [OUT_DIR]       env: DURATION=60 INTERVAL_MS=16 STRESS_CPUS=2 EXTRA=--no-realtime BUILD=lean
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench-out/collector}
DURATION=${DURATION:-60}
INTERVAL_MS=${INTERVAL_MS:-16}
STRESS_CPUS=${STRESS_CPUS:-2}
EXTRA=${EXTRA:-}   # e.g. EXTRA=--no-realtime
mkdir -p "$OUT"
if [ "${BUILD:-lean}" = default ]; then
    swift build -c release --product vrapl-collect >/dev/null
    BIN="$(swift build -c release --show-bin-path)/vrapl-collect"
else
    BIN=$(scripts/build-lean.sh vrapl-collect 2>/dev/null)
fi
echo "== binary: $BIN"
command -v stress-ng >/dev/null || { echo "stress-ng is not installed (apt-get install stress-ng)"; exit 1; }

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
stress-ng --cpu "$STRESS_CPUS" --timeout "$((DURATION + 10))s" --quiet &
STRESS=$!
trap 'kill $STRESS 2>/dev/null || true' EXIT
sleep 2
"$BIN" --out "$OUT/trace.h5" --duration "${DURATION}s" --interval "${INTERVAL_MS}ms" --power-source sim \
      --no-status --label bench=measure-collector $EXTRA > "$OUT/summary.txt" &
PID=$!
HZ=$(getconf CLK_TCK)
echo "t_s,rss_kb,cpu_ticks,rss_anon_kb,rss_file_kb,cpu_ns" > "$OUT/usage.csv"
start=$(date +%s.%N)
while kill -0 "$PID" 2>/dev/null; do
    if [[ -r /proc/$PID/stat ]]; then
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo "")
        anon=$(awk '/^RssAnon/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo "")
        filerss=$(awk '/^RssFile/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo "")
        # fields 14 and 15 (utime, stime) counted after the ')' that ends the command name
        ticks=$(sed 's/.*) //' "/proc/$PID/stat" 2>/dev/null | awk '{print $12 + $13}' || echo "")
        cpu_ns=$(cut -d' ' -f1 "/proc/$PID/schedstat" 2>/dev/null || echo "")   # exact run time, ns
        now=$(date +%s.%N)
        [[ -n "$rss" && -n "$ticks" && -n "$cpu_ns" ]] && echo "$(echo "$now - $start" | bc),$rss,$ticks,$anon,$filerss,$cpu_ns" >> "$OUT/usage.csv"
    fi
    sleep 1
done
wait "$PID"
kill "$STRESS" 2>/dev/null || true
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== collector summary"; cat "$OUT/summary.txt"

python3 - "$OUT" "$DURATION" "$INTERVAL_MS" "$HZ" <<'PY'
import csv, sys
import h5py, numpy as np
out, duration, interval_ms, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
f = h5py.File(f"{out}/trace.h5", "r")
t = f["timestamp_monotonic_ns"][:]
d = np.diff(t) / 1e6
n = len(t)
planned = int(np.ceil(duration * 1000 / interval_ms))
def rank(p):  # nearest rank, as vrapl-collect reports
    s = np.sort(d); return s[int(np.ceil(p / 100 * len(s))) - 1]
print(f"== from the trace: samples {n} (planned {planned}, diff {n - planned:+d}), "
      f"interval p50 {rank(50):.3f} ms, p99 {rank(99):.3f} ms, max {d.max():.3f} ms, "
      f"late > {interval_ms + 1:g} ms: {(d > interval_ms + 1).sum()}")
rows = [(float(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in list(csv.reader(open(f"{out}/usage.csv")))[1:]]
ts, rss, ticks = [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
span = t[-1] / 1e9 - t[0] / 1e9
total_cpu = ticks[-1] / hz
warm = [r for r in rows if r[0] >= 5] or rows  # runs under 6 s: no warm-up to leave out
steady = (warm[-1][5] - warm[0][5]) / 1e9 / (warm[-1][0] - warm[0][0]) * 100 if len(warm) > 1 else float("nan")
print(f"== CPU (utime+stime, 1/{hz:g} s ticks): {total_cpu:.2f} s over {span:.1f} s of sampling = {100 * total_cpu / span:.3f}% of one core "
      f"(including start-up)")
print(f"== CPU (schedstat run time, ns-exact): {rows[-1][5] / 1e9:.3f} s = {100 * rows[-1][5] / 1e9 / span:.3f}% of one core; "
      f"steady state after 5 s: {steady:.3f}%")
print(f"== RSS: max {max(rss) / 1024:.1f} MB; after 5 s first {warm[0][1] / 1024:.1f} MB, last {warm[-1][1] / 1024:.1f} MB "
      f"({'flat' if abs(warm[-1][1] - warm[0][1]) <= 256 else 'NOT flat'}: {warm[-1][1] - warm[0][1]:+d} kB); "
      f"of the last: anonymous {warm[-1][3] / 1024:.1f} MB, file-backed (shared libraries) {warm[-1][4] / 1024:.1f} MB")
PY
