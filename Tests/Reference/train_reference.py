#!/usr/bin/env python3
"""PyTorch reference for `vrapl train` (run by hand; torch is not needed in CI).

Rebuilds vrapl's dataset from a trace with h5py + numpy, independently of the Swift code:
decode-rapl-4 features from the raw counters (user% = Δuser/(Δuser+Δsystem+Δidle+Δiowait)·100, …,
log1p(Δctxt/Δt); an interval without cpu ticks repeats the previous percentages), package watts with
wrap-around, windows d = 25, τ = 1 inside each labelled segment after skipping its first 100 samples,
the same seeded shuffle split (SplitMix64 + Fisher–Yates, 80/10/10) and the min-max scaler fitted
on the training windows. Then trains the DECODE-RAPL v4.1 CNN (state_dict names of DESIGN.md) with
the config's schedule: AdamW(lr 5e-4, weight decay 3e-4), batch 256, L1 loss, ReduceLROnPlateau
(0.5, patience 5, min 1e-5) and early stopping (15) on the validation loss.

  train_reference.py TRACE.h5 --epochs N [--threads T] [--json OUT.json]
      trains the reference and reports per-epoch validation MAE and the best one.
  train_reference.py TRACE.h5 --check-model MODEL.safetensors
      loads a model written by `vrapl train` into the reference module (load_state_dict strict) and
      scores it on this script's validation and test windows: equal to vrapl's own figures only if
      features, windows, split and scaling agree.
"""
import argparse, json, os, sys, time
import h5py
import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v41_torch import Model  # noqa: E402

D, TAU, SKIP, SEED, BATCH = 25, 1, 100, 42, 256
MASK = (1 << 64) - 1


def splitmix_shuffle(n, seed):
    state = seed

    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    ids = list(range(n))
    i = n - 1
    while i > 0:
        b = i + 1
        m = nxt() * b
        if (m & MASK) < b:
            threshold = ((1 << 64) - b) % b
            while (m & MASK) < threshold:
                m = nxt() * b
        j = m >> 64
        ids[i], ids[j] = ids[j], ids[i]
        i -= 1
    return np.array(ids, dtype=np.int64)


def ffill(a):
    """Forward-fill NaNs (initial NaNs become 0)."""
    idx = np.where(np.isnan(a), 0, np.arange(len(a)))
    np.maximum.accumulate(idx, out=idx)
    out = a[idx]
    return np.nan_to_num(out, nan=0.0)


def load(path):
    with h5py.File(path, "r") as f:
        t = f["timestamp_monotonic_ns"][:].astype(np.float64)
        c = {k: f[f"cpu_{k}"][:].astype(np.int64) for k in ["user", "system", "idle", "iowait"]}
        ctxt = f["ctxt"][:].astype(np.int64)
        n = len(t)
        power = np.zeros(n)
        for key in f["rapl"]:
            g = f["rapl"][key]
            if not str(g.attrs["name"]).startswith("package"):
                continue
            e = g["energy_uj"][:].astype(np.int64)
            rng = int(g.attrs["max_energy_range_uj"])
            de = np.diff(e)
            de[de < 0] += rng + 1
            power[1:] += de / 1e6
        seg = f["segments"]
        segments = list(zip(seg["first_sample"][:], seg["last_sample"][:]))
    dt = np.diff(t) / 1e9
    d = {k: np.maximum(np.diff(v), 0).astype(np.float64) for k, v in c.items()}
    total = d["user"] + d["system"] + d["idle"] + d["iowait"]
    feats = np.zeros((4, n), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        for i, k in enumerate(["user", "system", "iowait"]):
            feats[i, 1:] = ffill(np.where(total > 0, d[k] / total * 100, np.nan))
        feats[3, 1:] = ffill(np.where(dt > 0, np.log1p(np.maximum(np.diff(ctxt), 0) / dt), np.nan))
        watts = np.full(n, np.nan)
        watts[1:] = np.where(dt > 0, power[1:] / dt, np.nan)
    feats = feats.astype(np.float32)
    ends = []
    span = (D - 1) * TAU
    for first, last in segments:
        lo = max(first + SKIP, 1 + span, first + span)
        if lo <= last:
            r = np.arange(lo, last + 1)
            ends.append(r[np.isfinite(watts[r])])
    ends = np.concatenate(ends)
    lags = np.arange(D) * TAU
    X = np.empty((len(ends), 4 * D), dtype=np.float32)
    for fi in range(4):
        X[:, fi * D:(fi + 1) * D] = feats[fi][ends[:, None] - lags[None, :]]
    y = watts[ends].astype(np.float32)
    ids = splitmix_shuffle(len(ends), SEED)
    n_test = int(len(ends) * 0.1)
    n_val = int(len(ends) * 0.1)
    n_train = len(ends) - n_val - n_test
    tr, va, te = ids[:n_train], ids[n_train:n_train + n_val], ids[n_train + n_val:]
    mn = X[tr].min(axis=0)
    rg = X[tr].max(axis=0) - mn
    rg[~(rg > 0)] = 1
    Xs = (X - mn) / rg
    return Xs, y, tr, va, te


@torch.no_grad()
def score(model, X, y):
    model.eval()
    p = torch.cat([model(X[i:i + 4096]) for i in range(0, len(X), 4096)])
    e = (p - y).double()
    mae = e.abs().mean().item()
    r2 = 1 - (e ** 2).sum().item() / ((y.double() - y.double().mean()) ** 2).sum().item()
    return mae, r2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--check-model")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()
    Xs, y, tr, va, te = load(a.trace)
    X = torch.from_numpy(Xs)
    Y = torch.from_numpy(y)
    print(f"{len(y)} windows: train {len(tr)}, validation {len(va)}, test {len(te)} ({time.time() - t0:.1f} s to load)")
    vX, vY, tX, tY = X[va], Y[va], X[te], Y[te]
    if a.check_model:
        from safetensors.torch import load_file
        model = Model(length=D)
        sd = load_file(a.check_model)
        model.load_state_dict(sd, strict=True)
        vm, vr = score(model, vX, vY)
        tm, trr = score(model, tX, tY)
        print(json.dumps({"validation_mae": vm, "validation_r2": vr, "test_mae": tm, "test_r2": trr}))
        return
    torch.manual_seed(SEED)
    model = Model(length=D)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=3e-4)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=5, min_lr=1e-5)
    loss_fn = nn.L1Loss()
    trX, trY = X[tr], Y[tr]
    best, best_epoch, bad, history = float("inf"), -1, 0, []
    g = torch.Generator().manual_seed(SEED)
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(tr), generator=g)
        s0 = time.time()
        total = 0.0
        for i in range(0, len(tr), BATCH):
            idx = perm[i:i + BATCH]
            if len(idx) < 2:
                break
            opt.zero_grad()
            loss = loss_fn(model(trX[idx]), trY[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        secs = time.time() - s0
        vm, vr = score(model, vX, vY)
        lr = opt.param_groups[0]["lr"]
        sched.step(vm)
        improved = vm < best
        if improved:
            best, best_epoch, bad = vm, epoch, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        history.append({"epoch": epoch, "train_loss": total / len(tr), "val_mae": vm, "val_r2": vr, "lr": lr,
                        "samples_per_s": len(tr) / secs})
        print(f"epoch {epoch + 1}/{a.epochs} train {total / len(tr):.4f} val MAE {vm:.4f} R² {vr:.4f} lr {lr:.2e} "
              f"{len(tr) / secs:.0f} samples/s{' *' if improved else ''}", flush=True)
        if bad >= 15:
            break
    model.load_state_dict(best_state)
    tm, trr = score(model, tX, tY)
    out = {"best_epoch": best_epoch + 1, "best_val_mae": best, "test_mae": tm, "test_r2": trr, "history": history,
           "threads": a.threads, "torch": torch.__version__, "seconds": time.time() - t0}
    print(json.dumps({k: v for k, v in out.items() if k != "history"}))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
