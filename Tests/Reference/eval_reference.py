#!/usr/bin/env python3
"""Writes Tests/Fixtures/eval/reference.json: small seeded arrays and their metrics, baselines and
feature-ceiling intermediates computed with plain numpy, as the independent reference for
Tests/VraplEvalTests. Run from the repository root: python3 Tests/Reference/eval_reference.py"""
import json
import os

import numpy as np

rng = np.random.default_rng(20261121)
out = {}

# ---- metrics ---------------------------------------------------------------------------------
n = 64
measured = np.concatenate([rng.uniform(20, 90, n - 4), [0.2, -0.5, 0.0, 0.9]])  # last 4 skipped by MAPE
predicted = measured + rng.normal(1.0, 4.0, n)
busy = rng.uniform(0, 100, n)
busy[:6] = [0.0, 1.0, 4.99, 5.0, 100.0, 90.0]
families = np.array(["cpu", "io", "vm", "pipe"])[rng.integers(0, 4, n)]
eps = 1.0


def metrics(p, y):
    e = p - y
    keep = np.abs(y) >= eps
    ss_tot = np.sum((y - y.mean()) ** 2)
    return {
        "count": int(len(y)),
        "mae": float(np.mean(np.abs(e))),
        "rmse": float(np.sqrt(np.mean(e ** 2))),
        "r2": float(1 - np.sum(e ** 2) / ss_tot) if len(y) >= 2 and ss_tot > 0 else None,
        "mape": float(100 * np.mean(np.abs(e[keep]) / np.abs(y[keep]))) if keep.any() else None,
        "mape_count": int(keep.sum()),
        "mean_bias": float(np.mean(e)),
    }


out["metrics_input"] = {"predicted": predicted.tolist(), "measured": measured.tolist(), "busy_percent": busy.tolist(),
                        "families": families.tolist()}
out["metrics_overall"] = metrics(predicted, measured)
out["metrics_by_family"] = {f: metrics(predicted[families == f], measured[families == f]) for f in sorted(set(families))}
idle = busy < 5
out["idle_bias"] = metrics(predicted[idle], measured[idle])
edges = np.arange(0, 101, 10)
bins = []
for k in range(10):
    sel = (busy >= edges[k]) & ((busy < edges[k + 1]) | ((k == 9) & (busy == 100)))
    bins.append(metrics(predicted[sel], measured[sel]) if sel.any() else {"count": 0})
out["busy_bins"] = bins

# ---- baselines -------------------------------------------------------------------------------
ntr, nte = 200, 80
fam_names = np.array(["cpu", "cache", "io"])
u_tr = rng.uniform(0, 1, ntr); u_tr[:10] = rng.uniform(0, 0.04, 10); u_tr[10:20] = rng.uniform(0.91, 1.0, 10)
f_tr = fam_names[rng.integers(0, 3, ntr)]
slope = {"cpu": 60.0, "cache": 45.0, "io": 15.0}
y_tr = 25 + np.array([slope[f] for f in f_tr]) * u_tr + rng.normal(0, 2, ntr)
u_te = rng.uniform(0, 1, nte)
f_te = np.array(["cpu", "cache", "io", "vm"])[rng.integers(0, 4, nte)]  # vm: absent from training
y_te = 25 + np.array([slope.get(f, 30.0) for f in f_te]) * u_te + rng.normal(0, 2, nte)

b, a = np.polyfit(u_tr, y_tr, 1)
lo = y_tr[u_tr < 0.05].mean(); hi = y_tr[u_tr > 0.90].mean()
g = 0.1 + 0.9 * u_tr ** 3
tdp = np.linalg.lstsq(g[:, None], y_tr, rcond=None)[0][0]
fam_fit = {}
for f in sorted(set(f_tr)):
    s, i = np.polyfit(u_tr[f_tr == f], y_tr[f_tr == f], 1); fam_fit[f] = [float(i), float(s)]
for f in sorted(set(f_te) - set(f_tr)):
    s, i = np.polyfit(u_te[f_te == f], y_te[f_te == f], 1); fam_fit[f] = [float(i), float(s)]
oracle_pred = np.array([fam_fit[f][0] + fam_fit[f][1] * u for f, u in zip(f_te, u_te)])
out["baseline_input"] = {"u_train": u_tr.tolist(), "y_train": y_tr.tolist(), "family_train": f_tr.tolist(),
                         "u_test": u_te.tolist(), "y_test": y_te.tolist(), "family_test": f_te.tolist()}
out["baselines"] = {
    "constant": {"parameters": [float(y_tr.mean())], "test_rmse": float(np.sqrt(np.mean((y_tr.mean() - y_te) ** 2)))},
    "linear": {"parameters": [float(a), float(b)], "test_rmse": float(np.sqrt(np.mean((a + b * u_te - y_te) ** 2)))},
    "ccf": {"parameters": [float(lo), float(hi)], "test_rmse": float(np.sqrt(np.mean((lo + u_te * (hi - lo) - y_te) ** 2)))},
    "codecarbon": {"parameters": [float(tdp)],
                   "test_rmse": float(np.sqrt(np.mean((tdp * (0.1 + 0.9 * u_te ** 3) - y_te) ** 2)))},
    "family-oracle": {"family_parameters": fam_fit, "test_rmse": float(np.sqrt(np.mean((oracle_pred - y_te) ** 2))),
                      "in_sample_families": ["vm"]},
}

# ---- feature ceiling: gamma test by brute force ------------------------------------------------
m, dim, groups, p = 360, 3, 36, 5
x = rng.uniform(0, 1, (m, dim)).astype(np.float32)
grp = np.repeat(np.arange(groups), m // groups)
fam = np.array(["a", "b", "c"])[grp % 3]
y = 30 + 20 * x[:, 0].astype(np.float64) + 10 * np.sin(3 * x[:, 1]) + rng.normal(0, 1.5, m)


def gamma_test(rows):
    d = np.zeros(p); gm = np.zeros(p)
    for i in rows:
        d2 = np.sum((x.astype(np.float64) - x[i].astype(np.float64)) ** 2, axis=1)
        d2[grp == grp[i]] = np.inf
        nn = np.argsort(d2, kind="stable")[:p]
        d += d2[nn]; gm += 0.5 * (y[i] - y[nn]) ** 2
    d /= len(rows); gm /= len(rows)
    slope_, icpt = np.polyfit(d, gm, 1)
    var = min(max(0.0, icpt), gm[0])
    return {"delta": d.tolist(), "gamma": gm.tolist(), "rmse": float(np.sqrt(var)), "slope": float(slope_),
            "nearest_neighbour_rmse": float(np.sqrt(gm[0]))}


def family_decomposition():
    fams = ["a", "b", "c"]; fi = {f: i for i, f in enumerate(fams)}
    rows, rhs = [], []
    for i in range(m):
        d2 = np.sum((x.astype(np.float64) - x[i].astype(np.float64)) ** 2, axis=1)
        d2[grp == grp[i]] = np.inf
        for j in np.argsort(d2, kind="stable")[:p]:
            r = np.zeros(2 * len(fams))
            r[fi[fam[i]]] += 0.5; r[fi[fam[j]]] += 0.5; r[len(fams) + fi[fam[i]]] = d2[j]
            rows.append(r); rhs.append(0.5 * (y[i] - y[j]) ** 2)
    theta = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    return {f: float(np.sqrt(max(0.0, theta[fi[f]]))) for f in fams}


out["ceiling_input"] = {"points": x.astype(np.float64).ravel().tolist(), "dimension": dim, "y": y.tolist(),
                        "group": grp.tolist(), "family": fam.tolist(), "neighbours": p}
out["ceiling"] = {"overall": gamma_test(range(m)),
                  "by_family": {f: gamma_test(np.nonzero(fam == f)[0]) for f in ["a", "b", "c"]},
                  "family_decomposition_rmse": family_decomposition()}

path = os.path.join("Tests", "Fixtures", "eval", "reference.json")
with open(path, "w") as fh:
    json.dump(out, fh, indent=0)
print("wrote", path)
