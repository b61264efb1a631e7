#!/usr/bin/env bash
# Attribution step of the demo: usage  scripts/demo-attribution.sh OUT_DIR [VRAPL_BINARY]
#  1. writes a synthetic experiment shaped like the paper's (from its published figures; not a measurement),
#  2. validates concurrent attribution against solo-minus-baseline (the paper's check, limit 5 %),
#  3. attributes one concurrent phase offline with the wall-power series (TSV, JSON, Prometheus),
#  4. as root with a writable cgroup v2 tree: a 3 s live run over two demo slices (one spinning, one
#     sleeping) with simulated CPU power; otherwise says why it is skipped.
# Appends a Markdown section to OUT_DIR/attribution/summary.md.
set -euo pipefail
OUT=${1:?usage: $0 OUT_DIR [VRAPL_BINARY]}
BIN=${2:-$(swift build -c release --show-bin-path)/vrapl}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A="$OUT/attribution"
mkdir -p "$A"
SUMMARY="$A/summary.md"

"$BIN" attribute synth --out "$A/data"
CASES=(--case resnet18_nodejs:ai=solo_resnet18,web=solo_nodejs
       --case yolo_medium_nodejs:ai=solo_yolo_medium,web=solo_nodejs
       --case gpt2_nodejs:ai=solo_gpt2,web=solo_nodejs
       --case yolo_medium_gpt2:ai=solo_yolo_medium,web=solo_gpt2_gpu1)
"$BIN" attribute validate --config "$ROOT/configs/attribution/paper-alienware.yaml" --data "$A/data" \
    "${CASES[@]}" --out "$A/validate" | tee "$A/validate.log"
"$BIN" attribute --config "$ROOT/configs/attribution/paper-alienware.yaml" \
    --system "$A/data/resnet18_nodejs_host.csv" --usage "$A/data/resnet18_nodejs_cgroup.csv" \
    --wall "$A/data/wall.csv" --out "$A/offline" | tee "$A/offline.log"

{
  echo "## Attribution (synthetic paper-shaped phases; simulated, not measured)"
  echo
  echo "Validation: attribution in each concurrent phase vs solo minus baseline (the paper's check, limit 5 %):"
  echo
  echo '```'
  cat "$A/validate/validation.tsv"
  echo '```'
  echo
  echo "Offline attribution of resnet18_nodejs with wall power (\`$A/offline\`):"
  echo
  echo '```'
  sed -n '2,$p' "$A/offline.log"
  echo '```'
} > "$SUMMARY"

CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ "$(id -u)" != 0 ]; then
  echo "live attribution skipped: not root (creating cgroups needs root)" | tee -a "$SUMMARY"
elif [ -z "$CG" ] || ! mkdir "$CG/vrapl-demo-$$" 2>/dev/null; then
  echo "live attribution skipped: no writable cgroup v2 hierarchy" | tee -a "$SUMMARY"
else
  P="$CG/vrapl-demo-$$"
  mkdir "$P/spin.slice" "$P/sleep.slice"
  sh -c "echo \$\$ > '$P/spin.slice/cgroup.procs'; exec sh -c 'while :; do :; done'" & SPIN=$!
  sh -c "echo \$\$ > '$P/sleep.slice/cgroup.procs'; exec sleep 30" & SLEEP=$!
  cleanup() { kill "$SPIN" "$SLEEP" 2>/dev/null || true; wait "$SPIN" "$SLEEP" 2>/dev/null || true
              rmdir "$P/spin.slice" "$P/sleep.slice" "$P" 2>/dev/null || true; }
  trap cleanup EXIT
  sleep 0.3
  cat > "$A/live.yaml" <<YAML
name: demo-live
discover: {parent: "vrapl-demo-$$", pattern: "*.slice"}
simulated_cpu: {idle_w: 10, max_w: 40}
baseline: {cpu_w: 10}
YAML
  "$BIN" attribute --config "$A/live.yaml" --live --duration 3s --interval 1s --cpu-source sim --no-gpu \
      --cgroupfs "$CG" --out "$A/live" | tee "$A/live.log"
  { echo; echo "Live (3 s, cgroup v2 at $CG, simulated CPU power sim:cpu-linear 10–40 W):"; echo; echo '```'; cat "$A/live.log"; echo '```'; } >> "$SUMMARY"
  cleanup
  trap - EXIT
fi
echo "attribution: wrote $SUMMARY"
