#!/usr/bin/env bash
# Trains the v4.1 model on the same synthetic 1 M-sample trace with vrapl and with the PyTorch
# reference (same features, windows, split, scaler, optimiser and schedule; see train_reference.py),
# checks that the independent Python pipeline scores vrapl's model exactly as vrapl does, and compares
# the best validation MAE (target: within 5 %). Needs torch, h5py, numpy, safetensors; run by hand.
#
#   Tests/Reference/compare_training.sh [SAMPLES=1000000] [EPOCHS=6] [THREADS=1] [OUT=/tmp/vrapl-ref]
set -euo pipefail
SAMPLES=${1:-1000000}; EPOCHS=${2:-6}; THREADS=${3:-1}; OUT=${4:-/tmp/vrapl-ref}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
mkdir -p "$OUT"
swift build -c release --product vrapl --package-path "$ROOT" >/dev/null
BIN=$(swift build -c release --show-bin-path --package-path "$ROOT")/vrapl
[ -f "$OUT/ref.h5" ] || python3 "$HERE/make_trace.py" "$OUT/ref.h5" "$SAMPLES" 7
# Both run at once, one thread each, so that they share the machine alike.
"$BIN" train --config "$ROOT/configs/v4_tau1.yaml" --data "$OUT/ref.h5" --out "$OUT/ref_vrapl.safetensors" \
    --epochs "$EPOCHS" --threads "$THREADS" > "$OUT/ref_vrapl.log" 2>&1 &
python3 "$HERE/train_reference.py" "$OUT/ref.h5" --epochs "$EPOCHS" --threads "$THREADS" --json "$OUT/ref_torch.json" > "$OUT/ref_torch.log" 2>&1 &
wait
python3 "$HERE/train_reference.py" "$OUT/ref.h5" --check-model "$OUT/ref_vrapl.safetensors" > "$OUT/check.json"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
ours = json.load(open(f"{out}/ref_vrapl.history.json"))
ref = json.load(open(f"{out}/ref_torch.json"))
check = json.loads(open(f"{out}/check.json").read().strip().splitlines()[-1])
v = ours["summary"]["validation"]["mae"]; t = ours["summary"]["test"]["mae"]
print(f"vrapl:   best epoch {ours['summary']['best_epoch']}, validation MAE {v:.4f} W, test MAE {t:.4f} W")
print(f"         the same model scored by the Python pipeline: validation {check['validation_mae']:.4f} W, test {check['test_mae']:.4f} W")
print(f"PyTorch: best epoch {ref['best_epoch']}, validation MAE {ref['best_val_mae']:.4f} W, test MAE {ref['test_mae']:.4f} W")
rel = (v - ref["best_val_mae"]) / ref["best_val_mae"]
print(f"validation MAE vrapl vs PyTorch: {100 * rel:+.1f} % ({'within' if abs(rel) <= 0.05 or rel < 0 else 'NOT within'} 5 %)")
PY
