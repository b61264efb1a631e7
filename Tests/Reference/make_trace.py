#!/usr/bin/env python3
"""Writes a synthetic vrapl trace (docs/trace-format.md) with raw cumulative counters, for the memory
measurement and the PyTorch reference comparison of `vrapl train` (docs/PERFORMANCE.md, "Training").

Workload: labelled segments of 1000-4000 samples (16 ms), each a random "stressor" from six families
with its own CPU split, context-switch rate and power coefficients; package power follows the load
with a first-order lag plus meter noise, and the energy counter wraps at max_energy_range_uj.
power_source is sim:reference-synthetic: nothing here is a measurement.

usage: make_trace.py OUT.h5 SAMPLES [SEED]
"""
import json, sys
import numpy as np
import h5py

out, n = sys.argv[1], int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
rng = np.random.default_rng(seed)
cores, hz, dt_ns = 20, 100, 16_000_000
families = {  # family: (user share, system share, iowait share, ctx/s scale, W per busy core, W per log ctx)
    "cpu": (0.95, 0.04, 0.0, 3e3, 4.0, 0.3), "cache": (0.9, 0.08, 0.0, 5e3, 3.4, 0.3),
    "vm": (0.6, 0.38, 0.0, 2e4, 2.9, 0.5), "syscall": (0.3, 0.7, 0.0, 2e5, 0.9, 0.6),
    "io": (0.1, 0.3, 0.6, 5e4, 0.8, 0.4), "pipe": (0.2, 0.78, 0.0, 6e5, 1.4, 0.5)}
names = list(families)
busy = np.empty(n); us = np.empty(n); sy = np.empty(n); io = np.empty(n); ctx = np.empty(n); target = np.empty(n)
segments = []
i = 0
while i < n:
    L = int(min(rng.integers(1000, 4000), n - i))
    fam = names[rng.integers(len(names))]
    u, s, w, c, wc, wl = families[fam]
    workers = int(rng.integers(1, cores + 1))
    b = workers / cores * rng.uniform(0.7, 1.0)
    busy[i:i+L] = b; us[i:i+L] = u; sy[i:i+L] = s; io[i:i+L] = w
    ctx[i:i+L] = c * workers * rng.uniform(0.5, 1.5)
    target[i:i+L] = 25 + wc * b * cores + wl * np.log1p(c * workers) + rng.normal(0, 1.5)
    segments.append((f"{fam}-{len(segments)}", i, i + L - 1, {"family": fam, "stressor": fam, "workers": str(workers)}))
    i += L
busy = np.clip(busy * rng.lognormal(0, 0.05, n), 0, 1)
ticks = rng.poisson(cores * hz * dt_ns / 1e9, n)             # ticks per interval over all cores
d_busy = rng.binomial(ticks, busy)
d_user = rng.binomial(d_busy, us)
d_sys = rng.binomial(d_busy - d_user, np.clip(sy / np.maximum(1 - us, 1e-9), 0, 1))
d_rest = ticks - d_user - d_sys
d_iow = rng.binomial(d_rest, io)
d_idle = d_rest - d_iow
d_ctx = rng.poisson(ctx * dt_ns / 1e9)
power = np.empty(n); p = target[0]
alpha = 1 - np.exp(-16 / 300)                                # 300 ms thermal/turbo lag
for k in range(n):
    p += (target[k] - p) * alpha
    power[k] = p
power = power + rng.normal(0, 0.8, n)
max_range = 262_143_328_850
energy = (np.cumsum(np.maximum(power, 0) * dt_ns / 1e3).astype(np.uint64) + 123_456_789) % (max_range + 1)

t = (10**12 + np.arange(n, dtype=np.uint64) * dt_ns + rng.integers(0, 200_000, n).astype(np.uint64)).astype(np.uint64)
start = 1_763_700_000 * 10**9
with h5py.File(out, "w") as f:
    A = f.attrs
    A["format"] = "vrapl-trace"; A["format_version"] = np.int64(1); A["host_name"] = "synthetic"
    A["cpu_model"] = "synthetic 20-core"; A["kernel"] = "none"; A["core_count"] = np.int64(cores)
    A["sample_interval_ns"] = np.int64(dt_ns); A["power_source"] = "sim:reference-synthetic"
    A["start_time_ns"] = np.int64(start); A["tool_version"] = "make_trace.py"; A["user_hz"] = np.int64(hz)
    A["labels"] = json.dumps({"generator": "Tests/Reference/make_trace.py", "seed": str(seed)})
    def ds(name, data, units):
        d = f.create_dataset(name, data=data, maxshape=(None,), chunks=(65536,))
        d.attrs["units"] = units
    ds("timestamp_monotonic_ns", t, "ns"); ds("timestamp_wall_ns", (t.astype(np.int64) - t[0].astype(np.int64) + start), "ns")
    cum = lambda d, base: (base + np.cumsum(d)).astype(np.uint64)
    zero = np.zeros(n, dtype=np.uint64)
    ds("cpu_user", cum(d_user, 10**6), "USER_HZ ticks"); ds("cpu_nice", zero, "USER_HZ ticks")
    ds("cpu_system", cum(d_sys, 10**5), "USER_HZ ticks"); ds("cpu_idle", cum(d_idle, 10**7), "USER_HZ ticks")
    ds("cpu_iowait", cum(d_iow, 10**4), "USER_HZ ticks")
    for name in ["cpu_irq", "cpu_softirq", "cpu_steal", "cpu_guest", "cpu_guest_nice"]:
        ds(name, zero, "USER_HZ ticks")
    ds("ctxt", cum(d_ctx, 10**8), "count"); ds("intr", cum(d_ctx // 2, 10**8), "count")
    ds("processes", cum(rng.poisson(0.1, n), 10**4), "count")
    ds("procs_running", np.clip(np.round(busy * cores), 1, None).astype(np.uint64), "tasks")
    ds("procs_blocked", zero, "tasks")
    ds("vmstat/pgfault", cum(rng.poisson(50, n), 10**7), "count")
    g = f.create_group("rapl/intel-rapl_0")
    g.attrs["name"] = "package-0"; g.attrs["key"] = "intel-rapl:0"; g.attrs["max_energy_range_uj"] = np.uint64(max_range)
    ds("rapl/intel-rapl_0/energy_uj", energy, "uJ")
    f["rapl/intel-rapl_0/energy_uj"].attrs["max_energy_range_uj"] = np.uint64(max_range)
    sg = f.create_group("segments")
    str_t = h5py.string_dtype("utf-8")
    sg.create_dataset("name", data=[s[0] for s in segments], dtype=str_t, maxshape=(None,), chunks=True)
    sg.create_dataset("first_sample", data=np.array([s[1] for s in segments], dtype=np.int64), maxshape=(None,), chunks=True)
    sg.create_dataset("last_sample", data=np.array([s[2] for s in segments], dtype=np.int64), maxshape=(None,), chunks=True)
    sg.create_dataset("parameters", data=[json.dumps(s[3], sort_keys=True) for s in segments], dtype=str_t, maxshape=(None,), chunks=True)
print(f"{out}: {n} samples, {len(segments)} segments")
