#!/usr/bin/env bash
# The probe's F4 under the unit's CPU quota, by hand as root on a host with the cgroup v1 cpu
# controller: the lean guest runs in a cgroup limited to 5 % of a core (cfs_quota_us 5000 per
# 100000), a 10 s loopback flood of /metrics from 50 threads runs against it, and the guest's late
# ticks are printed. Usage: Tests/Reliability/quota-flood.sh [GUEST] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/../.."
GUEST=${1:-.build-static/x86_64-unknown-linux-gnu/release/vrapl-guest}
MODEL=${2:-models/sim-xeon-silver-4210r-v41.safetensors}
CG=/sys/fs/cgroup/cpu/vrapl-quota-$$ PORT=$((20000 + $$ % 20000)) OUT=$(mktemp -d)
mkdir "$CG"; trap 'rmdir "$CG" 2>/dev/null; rm -rf "$OUT"' EXIT
echo 100000 > "$CG/cpu.cfs_period_us"; echo 5000 > "$CG/cpu.cfs_quota_us"
sh -c "echo \$\$ > $CG/cgroup.procs; exec $GUEST --model $MODEL --quiet --duration 25s --listen 127.0.0.1:$PORT --textfile $OUT" &
sleep 5
python3 Tests/Reliability/flood.py "$PORT" 10 50
curl -s -o /dev/null -w "scrape after the flood: %{time_total} s\n" --max-time 3 "127.0.0.1:$PORT/metrics"
wait
grep -E '^vrapl_(late_ticks|samples)_total' "$OUT/vrapl.prom"
grep -E '^nr_(periods|throttled)' "$CG/cpu.stat"
