#!/usr/bin/env python3
"""PyTorch ↔ vrapl round trip (local only: needs torch, which CI does not have).

1. Builds the DECODE-RAPL v4.1 CNN in PyTorch (module names = the state_dict names vrapl uses),
   with random weights and BatchNorm statistics, in eval mode.
2. Saves it the way docs/model-format.md converts a DECODE-RAPL checkpoint:
   safetensors.torch.save_file(model.state_dict(), "m.safetensors", metadata={...}).
3. Loads that file back with load_state_dict(strict=True) (the vrapl → PyTorch direction; pass
   --model to use a model written by vrapl itself, e.g. by `vrapl train`).
4. Runs `vrapl predict --csv` on a DECODE-RAPL CSV and compares with PyTorch's predictions on the same
   windows (feature-major, newest first, min-max scaled).

Usage: python3 Tests/Reference/torch_roundtrip.py [--vrapl .build/release/vrapl] [--model m.safetensors]
"""
import argparse, json, math, os, subprocess, sys, tempfile

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v41_torch import Model  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vrapl", default=".build/release/vrapl")
    ap.add_argument("--model", help="a vrapl-written v4.1 model to load into PyTorch instead of a random one")
    args = ap.parse_args()
    torch.manual_seed(0)
    d, F = 25, 4
    work = tempfile.mkdtemp(prefix="vrapl-torch-")
    model = Model(F, d)
    if args.model:
        state = load_file(args.model)
        meta = json.loads(json.dumps(__import__("safetensors").safe_open(args.model, "pt").metadata()))
        model.load_state_dict(state, strict=True)
        norm = json.loads(meta["normalization"])
        fmin, frange = np.array(norm["feature_min"]), np.array(norm["feature_range"])
        path = args.model
        print(f"loaded vrapl model {path} into PyTorch with strict=True")
    else:
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm1d):
                    m.running_mean.uniform_(-0.5, 0.5); m.running_var.uniform_(0.5, 2.0)
                    m.weight.uniform_(0.5, 1.5); m.bias.uniform_(-0.2, 0.2); m.num_batches_tracked.fill_(1234)
        fmin = np.zeros(F * d); frange = np.repeat([100.0, 100.0, 100.0, 12.0], d)
        path = os.path.join(work, "m.safetensors")
        meta = {
            "format": "vrapl-model", "format_version": "1", "target": "package_power_watts", "power_source": "sim:torch-random",
            "architecture": json.dumps({"kind": "cnn1d", "num_features": F, "sequence_length": d, "cnn_channels": [32, 64],
                                        "cnn_kernel_size": 5, "pool_size": 2, "use_batch_norm": True, "latent_dim": 64,
                                        "power_head_layers": [128, 64], "dropout": 0.3}),
            "features": json.dumps(["user_percent", "system_percent", "iowait_percent", "log_ctx_switches"]),
            "embedding": json.dumps({"d": d, "tau": 1, "sample_interval_ms": 16}),
            "normalization": json.dumps({"type": "minmax", "feature_min": fmin.tolist(), "feature_range": frange.tolist()}),
            "provenance": json.dumps({"converted_from": "torch_roundtrip.py random DecodeRaplV41"}),
        }
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path, metadata=meta)
        reloaded = Model(F, d)
        reloaded.load_state_dict(load_file(path), strict=True)
        print(f"saved {path}; load_state_dict(strict=True) of it: ok ({len(model.state_dict())} tensors)")
    model.eval()

    rng = np.random.default_rng(1)
    n = 400
    user = rng.uniform(0, 80, n); system = rng.uniform(0, 20, n); iowait = rng.uniform(0, 5, n)
    ctx = rng.uniform(100, 200000, n)
    csv = os.path.join(work, "in.csv")
    with open(csv, "w") as f:
        f.write("timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec\n")
        for t in range(n):
            f.write(f"{1.7e9 + 0.016 * t:.6f},{user[t]:.6f},{system[t]:.6f},{iowait[t]:.6f},{ctx[t]:.6f}\n")
    out = os.path.join(work, "out.csv")
    subprocess.run([args.vrapl, "predict", "--model", path, "--csv", csv, "--out", out], check=True)
    rows = [l.split(",") for l in open(out).read().split("\n")[1:] if l]
    feats = np.stack([user, system, iowait, np.log1p(ctx)]).astype(np.float32)  # [F, n], float32 as vrapl
    worst, count = 0.0, 0
    with torch.no_grad():
        for r in rows:
            t = int(r[0])
            window = np.stack([feats[f, t - np.arange(d)] for f in range(F)])  # feature-major, newest first
            x = ((window.reshape(-1) - fmin.astype(np.float32)) / frange.astype(np.float32)).astype(np.float32)
            y = model(torch.from_numpy(x.reshape(1, F, d))).item()
            worst = max(worst, abs(y - float(r[2])))
            count += 1
    print(f"vrapl predict vs PyTorch on {count} windows: max |Δ| = {worst:.6f} W (vrapl prints 4 decimals)")
    ok = count == n - d + 1 and worst <= 2e-4
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
