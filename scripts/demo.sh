#!/usr/bin/env bash
# The main job (`make demo`): simulate → train → evaluate → predict → guest → attribute, on a machine
# without RAPL, writing OUT/report.md with SVG plots and printing a summary table at the end.
# Everything here runs on simulated power and every output says so (`sim`).
#
# Usage: scripts/demo.sh [OUT]   (OUT defaults to demo-out; stages are timed)
# Knobs: DEMO_SAMPLES (simulated samples, default 300000), DEMO_GUEST_SAMPLES (guest-view samples,
# default 600000), DEMO_SEED (default 1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-demo-out}
SAMPLES=${DEMO_SAMPLES:-300000}
GUEST_SAMPLES=${DEMO_GUEST_SAMPLES:-600000}
SEED=${DEMO_SEED:-1}
BIN=${VRAPL_BIN:-$(cd "$ROOT" && swift build -c release --show-bin-path)}
VRAPL="$BIN/vrapl"
GUEST="$BIN/vrapl-guest"
[ -x "$VRAPL" ] && [ -x "$GUEST" ] || { echo "demo: release binaries missing in $BIN: run 'make release' first" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"
MODEL="$OUT/model/demo-v41.safetensors"
GUEST_MODEL="$OUT/model/demo-guest-v41.safetensors"
STAGES="$OUT/stages.tsv"
printf 'stage\tseconds\n' > "$STAGES"

stage() {  # stage NAME COMMAND...: runs, logs to OUT/logs/NAME.log (and the terminal), times it
  local name=$1; shift
  mkdir -p "$OUT/logs"
  echo
  echo "== $name"
  local t0=$SECONDS
  "$@" 2>&1 | tee "$OUT/logs/$name.log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || { echo "demo: stage '$name' failed (exit $rc); its log: $OUT/logs/$name.log" >&2; exit "$rc"; }
  printf '%s\t%d\n' "$name" $((SECONDS - t0)) >> "$STAGES"
}

echo "== vrapl demo → $OUT (simulated power: nothing here is a RAPL measurement)"

# 1. A synthetic campaign: every stressor family at four levels, idle, and bursts after idle.
stage simulate "$VRAPL" simulate --matrix "$ROOT/configs/campaigns/demo.yaml" --profile xeon-silver-4210r \
  --samples "$SAMPLES" --seed "$SEED" --out "$OUT/traces"
# A second, independent recording (another seed) stands in for a "live" trace never seen in training.
stage simulate-live "$VRAPL" simulate --matrix "$ROOT/configs/campaigns/live.yaml" --profile xeon-silver-4210r \
  --samples 30000 --seed $((SEED + 100)) --out "$OUT/live"
# The real collector on this machine for 5 s (no RAPL here: its simple `sim:basic` power model).
mkdir -p "$OUT/record"
stage record "$BIN/vrapl-collect" --out "$OUT/record/this-machine.h5" --duration 5s --power-source sim \
  --no-status --label demo=record
"$VRAPL" inspect "$OUT/record/this-machine.h5" > "$OUT/record/inspect.txt"
TRACE=$(ls "$OUT"/traces/*.h5 | head -1)
LIVE=$(ls "$OUT"/live/*.h5 | head -1)
"$VRAPL" inspect "$TRACE" > "$OUT/traces/inspect.txt"
echo "trace summary: $OUT/traces/inspect.txt"

# 2. Train the v4.1 CNN on a short schedule (shuffle split, DECODE-RAPL's protocol).
stage train "$VRAPL" train --config "$ROOT/configs/demo.yaml" --data "$OUT/traces" --out "$MODEL"

# 3. Evaluate: shuffle vs segment vs held-out family vs time, baselines, feature ceiling, live trace.
stage evaluate "$VRAPL" evaluate --model "$MODEL" --data "$OUT/traces" --live "$LIVE" --split all \
  --retrain-epochs 2 --retrain-windows 60000 --out "$OUT/eval"

# 4. Predict every sample of the live trace; replay the same trace through the guest's code path.
stage predict "$VRAPL" predict --model "$MODEL" --trace "$LIVE" --out "$OUT/predictions.csv"
mkdir -p "$OUT/guest"
stage guest-replay "$GUEST" --model "$MODEL" --replay "$LIVE" --out "$OUT/guest/replay.csv" --quiet
# Same rows, same predictions: the guest predicts one window at a time, `vrapl predict` in batches, so
# float32 sums differ in order; anything above 1 mW would be a real disagreement.
REPLAY=$(paste -d, "$OUT/predictions.csv" "$OUT/guest/replay.csv" | awk -F, -v n="$(head -1 "$OUT/predictions.csv" | tr ',' '\n' | wc -l)" '
  NR > 1 { rows++; if ($1 != $(n + 1)) bad++; d = $3 - $(n + 3); if (d < 0) d = -d; if (d > max) max = d }
  END { if (bad || max > 0.001) printf "DIFFERS from vrapl predict (%d index mismatches, max |Δ| %.4f W)", bad, max;
        else printf "the same %d predictions as vrapl predict (max |Δ| %.4f W)", rows, max }')
[ "$(wc -l < "$OUT/predictions.csv")" = "$(wc -l < "$OUT/guest/replay.csv")" ] || REPLAY="DIFFERS from vrapl predict (row counts)"
echo "guest replay: $REPLAY"

# 5. A VM is a slice of its host: guest views of a 20-thread host (guests of 1–20 vCPUs, alone and
# beside neighbours), a guest-shaped model trained on them (held-out segments), scored by guest size
# beside the whole-host model above (what a model without host metadata tells a guest).
stage simulate-tenants "$VRAPL" simulate --matrix "$ROOT/configs/campaigns/demo-tenants.yaml" --profile xeon-silver-4210r \
  --samples "$GUEST_SAMPLES" --seed "$SEED" --out "$OUT/tenants"
stage train-guest "$VRAPL" train --config "$ROOT/configs/demo-guest.yaml" --data "$OUT/tenants" --out "$GUEST_MODEL"
# Four guests filling the host (2+4+6+8 vCPUs) over 10 minutes of one time line, each its own schedule.
stage simulate-co-tenants "$VRAPL" simulate --matrix "$ROOT/configs/campaigns/demo-tenants.yaml" --profile xeon-silver-4210r \
  --co-tenants 2,4,6,8 --samples 37500 --seed $((SEED + 200)) --out "$OUT/co-tenants"
stage evaluate-guest "$VRAPL" evaluate --model "$GUEST_MODEL" --data "$OUT/tenants" --split segment --no-retrain \
  --whole-host-model "$MODEL" --co-tenants "$OUT/co-tenants" --out "$OUT/eval-guest"

# 6. The guest live on this machine for a few seconds with the guest-shaped model: /proc/stat of this
# VM's own vCPUs → its share of the simulated host (idle by allocation + active) → W, J → files.
stage guest-live "$GUEST" --model "$GUEST_MODEL" --duration 4s --quiet --jsonl "$OUT/guest/live.jsonl" \
  --textfile "$OUT/guest" --powercap-dir "$OUT/guest/powercap"

# 7. Attribution: the paper's model on synthetic paper-shaped phases (+ a live cgroup run as root).
stage attribute "$ROOT/scripts/demo-attribution.sh" "$OUT" "$VRAPL"

# 8. The report.
GUEST_LAST=$(tail -1 "$OUT/guest/live.jsonl" 2>/dev/null || true)
{
  echo "# vrapl demo report"
  echo
  echo "**Power source: simulated (\`sim:xeon-silver-4210r\`).** Every number below comes from \`vrapl simulate\`,"
  echo "not from a RAPL meter; the model is labelled \`sim\` in its file, its card and its metrics."
  echo
  echo "Made by \`make demo\` on $(hostname) ($(nproc) cores), $(date -u '+%Y-%m-%d %H:%M UTC'), vrapl $("$VRAPL" --version)."
  echo
  echo "## 1. Data"
  echo
  echo '```'
  grep -v '^simulate [0-9]' "$OUT/logs/simulate.log"
  echo '```'
  echo
  echo "The collector on this machine (5 s at 16 ms, \`vrapl-collect --power-source sim\`):"
  echo
  echo '```'
  head -20 "$OUT/record/inspect.txt"
  echo '```'
  echo
  echo "## 2. Training (v4.1 CNN, short schedule)"
  echo
  echo "Model: \`$MODEL\` — card: \`${MODEL%.safetensors}.md\`."
  echo
  echo "![training curve](model/demo-v41.training.svg)"
  echo
  echo '```'
  grep -E "best epoch|^test:" "$OUT/logs/train.log" || true
  echo '```'
  echo
  echo "## 3. Evaluation"
  echo
  echo "The full report with plots is [eval/report.md](eval/report.md); the summary:"
  echo
  echo '```'
  sed -n '/^set /,$p' "$OUT/logs/evaluate.log"
  echo '```'
  echo
  echo "## 4. Prediction and the guest"
  echo
  echo "- \`vrapl predict\` on the live trace: $(($(wc -l < "$OUT/predictions.csv") - 1)) predictions → \`predictions.csv\`."
  echo "- \`vrapl-guest --replay\` on the same trace: $REPLAY."
  echo
  echo "## 5. A VM is a slice of its host"
  echo
  echo "Guest views of the 20-thread host (\`configs/campaigns/demo-tenants.yaml\`): a guest of k vCPUs sees its own k CPUs;"
  echo "its target is its share of the package, P_idle·k/T + (P_pkg − P_idle)·U_vm/U_host. The guest-shaped model"
  echo "(\`${GUEST_MODEL#$OUT/}\`, features guest-share-5) on held-out segments, by guest size, beside the whole-host model"
  echo "above and the tenant-level irreducible error ([eval-guest/report.md](eval-guest/report.md)):"
  echo
  sed -n '/^| k | neighbours/,/^$/p' "$OUT/eval-guest/report.md" | grep -E '^\| (k|---|[0-9]+ \| all)'
  echo
  echo "![error by guest size](eval-guest/guest-size.svg)"
  echo
  sed -n '/^### Co-tenancy/,/^## /p' "$OUT/eval-guest/report.md" | sed '$d' | sed 's/^### /**/; 1s/$/**/'
  echo
  echo "- \`vrapl-guest\` live on this machine ($(nproc) vCPUs) for 4 s with the guest-shaped model: this VM's share of"
  echo "  the simulated host (last estimate; \`idle_watts\` is P_idle·k/T, \`active_watts\` the rest):"
  echo
  echo '```'
  echo "$GUEST_LAST"
  echo '```'
  echo
  cat "$OUT/attribution/summary.md"
  echo
  echo "## Stage times"
  echo
  echo '| stage | seconds |'
  echo '| --- | ---: |'
  tail -n +2 "$STAGES" | awk -F'\t' '{ printf "| %s | %s |\n", $1, $2 }'
} > "$OUT/report.md"

echo
echo "== summary (power source: sim)"
sed -n '/^set /,$p' "$OUT/logs/evaluate.log"
echo
echo "guest size (guest-shaped model on held-out segments; MAE W, whole-host model beside it):"
sed -n '/^| k | neighbours/,/^$/p' "$OUT/eval-guest/report.md" | grep -E '^\| (k|[0-9]+ \| all)' | awk -F'|' '{ printf "  %-4s %-12s %-14s %-16s %-10s\n", $2, $6, $7, $8, $9 }'
sed -n 's/^4 guests (vCPUs \([^)]*\)).*Package \([0-9.]*\) W; sum of the estimates \([0-9.]*\) W (\*\*\([^*]*\)\*\*).*/co-tenancy (vCPUs \1): package \2 W, sum of their estimates \3 W (\4)/p' "$OUT/eval-guest/report.md"
echo "this machine, live: $(tail -1 "$OUT/guest/live.jsonl" 2>/dev/null | sed 's/.*"power_watts":\([0-9.]*\).*"vcpus":\([0-9]*\).*"idle_watts":\([0-9.]*\).*"active_watts":\([0-9.]*\).*/\1 W (\2 vCPUs: idle \3 + active \4 W)/')"
echo
awk -F'\t' 'NR > 1 { t += $2; printf "  %-20s %4d s\n", $1, $2 } END { printf "  %-20s %4d s\n", "total", t }' "$STAGES"
echo
echo "report: $OUT/report.md"
