#!/usr/bin/env bash
# Training throughput of vrapl's engine against PyTorch CPU on the same model, batch, loss and optimizer
# (v4.1 CNN, batch 256, MSE, AdamW), run one after the other on this machine. Needs python3 with torch.
#
#   scripts/bench-vs-pytorch.sh [PROCESSES (default 5)] [SECONDS per phase (default 5)]
#
# Each configuration runs in PROCESSES separate processes; medians are reported. PyTorch runs with the
# default allocator and with glibc's MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ raised (its best
# configuration here). vrapl runs with the OpenBLAS kernels the environment selects (an OPENBLAS_CORETYPE
# in the environment is respected) and with OpenBLAS's AVX-512 kernels (--openblas-core SkylakeX).
set -euo pipefail
cd "$(dirname "$0")/.."
PROCS=${1:-5}
SECS=${2:-5}
swift build -c release --product vrapl >/dev/null
VRAPL="$(swift build -c release --show-bin-path)/vrapl"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

runs() {  # runs NAME CMD... : PROCS processes, JSON lines into $OUT/NAME
    local name=$1; shift
    for _ in $(seq "$PROCS"); do "$@" | grep '^{' >>"$OUT/$name"; done
}
med() {  # med NAME KEY
    python3 -c 'import json, statistics, sys
print(statistics.median(json.loads(l)[sys.argv[2]] for l in open(sys.argv[1])))' "$OUT/$1" "$2"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}; median of $PROCS processes, $SECS s per phase"
for t in 1 2; do
    runs pt_default_$t python3 Tests/Reference/bench_pytorch.py --threads $t --seconds "$SECS"
    runs pt_tuned_$t env MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 \
        python3 Tests/Reference/bench_pytorch.py --threads $t --seconds "$SECS"
    runs vr_env_$t "$VRAPL" bench train --json --threads $t --seconds "$SECS"
    runs vr_avx_$t "$VRAPL" bench train --json --threads $t --seconds "$SECS" --openblas-core SkylakeX
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-42s %11s %11s %13s %13s\n' "training samples/s" "1 thread" "2 threads" "p50 1-win us" "p99 1-win us"
for c in pt_default:"PyTorch, default allocator" pt_tuned:"PyTorch, MALLOC_* raised" \
         vr_env:"vrapl, OpenBLAS kernels as configured" vr_avx:"vrapl, OpenBLAS AVX-512 kernels"; do
    k=${c%%:*}; label=${c#*:}
    printf '%-42s %11.0f %11.0f %13.1f %13.1f\n' "$label" "$(med ${k}_1 train_samples_per_s)" "$(med ${k}_2 train_samples_per_s)" \
        "$(med ${k}_1 infer_latency_p50_us)" "$(med ${k}_1 infer_latency_p99_us)"
done
python3 - "$(med pt_default_1 train_samples_per_s)" "$(med pt_default_2 train_samples_per_s)" \
          "$(med pt_tuned_1 train_samples_per_s)" "$(med pt_tuned_2 train_samples_per_s)" \
          "$(med vr_env_1 train_samples_per_s)" "$(med vr_env_2 train_samples_per_s)" \
          "$(med vr_avx_1 train_samples_per_s)" "$(med vr_avx_2 train_samples_per_s)" <<'PY'
import sys
pd1, pd2, pt1, pt2, ve1, ve2, va1, va2 = map(float, sys.argv[1:])
best = max(pd1, pd2, pt1, pt2)
for name, a, b in [("vrapl (kernels as configured)", ve1, ve2), ("vrapl (AVX-512 kernels)", va1, va2)]:
    print(f"{name}: {a/pd1:.2f}x / {b/pd2:.2f}x PyTorch default, {a/pt1:.2f}x / {b/pt2:.2f}x PyTorch tuned "
          f"(1 / 2 threads); best vs best {max(a, b)/best:.2f}x")
PY
