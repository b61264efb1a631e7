#!/usr/bin/env python3
"""Re-runs the reliability probe's main tables against the built binaries (docs/reliability.md).

    python3 Tests/Reliability/probe.py [--bin .build/release] [--lean .build-static/.../vrapl-guest]

Every run is bounded (a timeout per run) and classified as the probe did:
  accepted  exit 0 (and, where the probe found silently wrong output, the output is checked)
  clear     exit 1-127 with one stderr line that names the file or resource
  unclear   exit 1-127 otherwise
  crash     killed by a signal or exit >= 128
  hang      past the timeout
  wrong     accepted but the output is wrong (NaN predictions, megawatts, a replaced device)
Prints one table; exits 1 if anything crashed, hung, was unclear or wrong.
Needs root only for the device-node case (skipped otherwise, and said so)."""
import argparse, json, os, shutil, stat, struct, subprocess, sys, tempfile

import h5py
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
ap.add_argument("--lean", default=os.path.join(ROOT, ".build-static/x86_64-unknown-linux-gnu/release/vrapl-guest"))
ap.add_argument("--model", default=os.path.join(ROOT, "models/sim-xeon-silver-4210r-v41.safetensors"))
args = ap.parse_args()
VRAPL, GUEST, COLLECT = (os.path.join(args.bin, n) for n in ("vrapl", "vrapl-guest", "vrapl-collect"))
LEAN = args.lean if os.access(args.lean, os.X_OK) else None
work = tempfile.mkdtemp(prefix="vrapl-probe-")
table = {}


def run(area, argv, names, timeout=20, check=None):
    """Runs argv, classifies it, adds it to the table under `area`."""
    row = table.setdefault(area, dict(runs=0, accepted=0, clear=0, unclear=0, crash=0, hang=0, wrong=0, examples=[]))
    row["runs"] += 1
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, errors="replace")
    except subprocess.TimeoutExpired:
        row["hang"] += 1; row["examples"].append(("hang", argv)); return
    err = p.stderr.strip()
    if p.returncode < 0 or p.returncode >= 128:
        row["crash"] += 1; row["examples"].append(("crash", argv, p.returncode, err[-300:])); return
    if p.returncode == 0:
        bad = check(p) if check else None
        if bad:
            row["wrong"] += 1; row["examples"].append(("wrong", argv, bad))
        else:
            row["accepted"] += 1
        return
    last = [l for l in err.splitlines() if l.strip()]
    # train/evaluate print progress first: judge the final line, as the probe did.
    line = last[-1] if last else ""
    if len(last) >= 1 and any(n in line for n in names) and (len(last) == 1 or argv[1] in ("train", "evaluate")):
        row["clear"] += 1
    else:
        row["unclear"] += 1; row["examples"].append(("unclear", argv, err[-300:]))


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_safetensors(path, header, data):
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)


def predictions_finite(p, column=2):
    try:
        rows = [l.split(",") for l in open(p.args[p.args.index("--out") + 1]).read().splitlines()[1:]]
    except (OSError, ValueError):
        return None
    bad = [r for r in rows if not np.isfinite(float(r[column]))]
    return f"{len(bad)} non-finite predictions" if bad else None


# Base artefacts: the probe's simulated trace (6,000 samples with segments) and the shipped model.
subprocess.run([VRAPL, "simulate", "--matrix", os.path.join(ROOT, "configs/campaigns/quick.yaml"), "--out", work,
                "--samples", "6000", "--seed", "3"], check=True, capture_output=True)
trace = os.path.join(work, "t.h5")
os.rename(os.path.join(work, "quick-s3.h5"), trace)
header, data = read_safetensors(args.model)

# 1. Model metadata numbers: 12 keys x 19 special values through predict, guest --replay, lean guest live.
specials = [0, -1, 1, 2, 3, 7, 255, 65536, 2**31 - 1, 2**31, 2**32, 10**12, 2**53, 2**63 - 1, -2**63, 1e-9, 0.5, 1e39, 1e308]
keys = [("embedding", ["d"]), ("embedding", ["tau"]), ("embedding", ["sample_interval_ms"]), ("architecture", ["num_features"]),
        ("architecture", ["sequence_length"]), ("architecture", ["cnn_channels", 0]), ("architecture", ["cnn_channels", 1]),
        ("architecture", ["cnn_kernel_size"]), ("architecture", ["pool_size"]), ("architecture", ["latent_dim"]),
        ("architecture", ["power_head_layers", 0]), ("architecture", ["dropout"])]
for key, path in keys:
    for value in specials:
        meta = json.loads(header["__metadata__"][key])
        target = meta
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        h = json.loads(json.dumps(header))
        h["__metadata__"][key] = json.dumps(meta)
        m = os.path.join(work, "m.safetensors")
        write_safetensors(m, h, data)
        out = os.path.join(work, "p.csv")
        run("1 model: metadata-number sweep", [VRAPL, "predict", "--model", m, "--trace", trace, "--out", out], [m], check=predictions_finite)
        run("1 model: metadata-number sweep", [GUEST, "--model", m, "--replay", trace, "--out", out], [m, trace], check=predictions_finite)
        if LEAN:
            run("1 model: metadata-number sweep (lean guest live)", [LEAN, "--model", m, "--quiet", "--duration", "300ms"], [m], timeout=10)

# 2. Models that load but cannot give finite watts (negative variance, 1e39 scaling, FLT_MAX weights).
def variant(name, edit):
    h = json.loads(json.dumps(header)); d = bytearray(data)
    edit(h, d)
    m = os.path.join(work, name + ".safetensors")
    write_safetensors(m, h, bytes(d))
    return m
def tensor(h, name):
    t = h[name]; a, b = t["data_offsets"]; return a, b
def negative_var(h, d):
    a, b = tensor(h, "encoder.cnn.1.running_var"); d[a:a + 4] = struct.pack("<f", -2.0)
def huge_norm(h, d):
    n = json.loads(h["__metadata__"]["normalization"]); n["feature_min"][3] = 1e39; h["__metadata__"]["normalization"] = json.dumps(n)
def flt_max(h, d):
    for name, t in h.items():
        if name.endswith(".weight"):
            a, b = t["data_offsets"]; d[a:b] = struct.pack("<f", 3.4028234663852886e38) * ((b - a) // 4)
for name, edit in [("negvar", negative_var), ("hugenorm", huge_norm), ("fltmax", flt_max)]:
    m = variant(name, edit)
    out = os.path.join(work, "p.csv")
    run("1 model: NaN-producing models", [VRAPL, "predict", "--model", m, "--trace", trace, "--out", out], [m], check=predictions_finite)
    run("1 model: NaN-producing models", [GUEST, "--model", m, "--replay", trace, "--out", out], [m], check=predictions_finite)
    run("1 model: NaN-producing models", [GUEST, "--model", m, "--quiet", "--duration", "300ms"], [m], timeout=10)
# Paths that are not model files.
os.mkfifo(os.path.join(work, "fifo"))
os.mkdir(os.path.join(work, "adir"))
for m in [os.path.join(work, "adir"), os.path.join(work, "fifo"), os.path.join(work, "absent.safetensors")]:
    run("1 model: not a model file", [VRAPL, "predict", "--model", m, "--trace", trace, "--out", os.path.join(work, "p.csv")], [m])

# 3. Broken traces: each must be refused clearly or, for impossible power, reported (never megawatts).
def trace_case(name, edit):
    p = os.path.join(work, name + ".h5")
    shutil.copy(trace, p)
    with h5py.File(p, "a") as f:
        edit(f)
    return p
def energy(f):
    g = f["rapl"]; return g[list(g.keys())[0]]["energy_uj"]
def stepback(f):
    e = energy(f); v = e[:]; v[60] = v[59] - 1000; e[:] = v
def above_range(f):
    e = energy(f); v = e[:]; v[60] = np.uint64(2**62); e[:] = v
def ragged(f):
    f["cpu_user"].resize((101,))  # the probe's: 101 of 6,001
def short_segments(f):
    if "segments" in f and f["segments/name"].shape[0] > 0:
        f["segments/last_sample"].resize((0,))
def backwards_time(f):
    t = f["timestamp_monotonic_ns"]; v = t[:]; v[50] = v[49] - 1; t[:] = v
def overlapping(f):
    g = f["segments"]
    for k in ("name", "first_sample", "last_sample", "parameters"):
        if k in g: g[k].resize((2,))
    g["name"][:] = [b"a", b"b"]; g["first_sample"][:] = [0, 50]; g["last_sample"][:] = [100, 150]
    if "parameters" in g: g["parameters"][:] = [b"{}", b"{}"]
def no_power_over(limit):
    def check(p):
        out = p.args[p.args.index("--out") + 1] if "--out" in p.args else None
        if out and out.endswith(".csv") and os.path.exists(out):
            rows = [l.split(",") for l in open(out).read().splitlines()[1:]]
            watts = [float(r[3]) for r in rows if len(r) > 3 and r[3]]
            if watts and max(watts) > limit:
                return f"package power up to {max(watts):.3g} W"
        if "inspect" in p.args and "WARNING" not in p.stdout:
            return "no warning for the implausible interval"
        return None
    return check
for name, edit, implausible in [("stepback", stepback, True), ("aboverange", above_range, True), ("ragged", ragged, False),
                                ("shortsegments", short_segments, False), ("backwards", backwards_time, False),
                                ("overlap", overlapping, False)]:
    p = trace_case(name, edit)
    check = no_power_over(5000) if implausible else (lambda r: "accepted a damaged trace")
    out = os.path.join(work, name + ".csv")
    run("2 traces", [VRAPL, "inspect", p], [p], check=check)
    run("2 traces", [VRAPL, "predict", "--model", args.model, "--trace", p, "--out", out], [p], check=check)
    run("2 traces", [GUEST, "--model", args.model, "--replay", p, "--out", out], [p], check=check)
    run("2 traces", [VRAPL, "export", p, "--csv", os.path.join(work, name + "-export.csv")], [p],
        check=None if implausible else (lambda r: "accepted a damaged trace"))

# 4. Output paths the user names: written in place, never replaced.
def kind(path):
    try: return stat.S_IFMT(os.lstat(path).st_mode)
    except FileNotFoundError: return None
real = os.path.join(work, "real.jsonl"); open(real, "w").write("old\n")
link = os.path.join(work, "link.jsonl"); os.symlink(real, link)
fifo_out = os.path.join(work, "out.fifo"); os.mkfifo(fifo_out)
reader = subprocess.Popen(["cat", fifo_out], stdout=subprocess.DEVNULL)
cases = [(link, stat.S_IFLNK), (fifo_out, stat.S_IFIFO)]
if os.geteuid() == 0:
    dev = os.path.join(work, "full"); os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 7)); cases.append((dev, stat.S_IFCHR))
else:
    print("(not root: the device-node case is skipped)")
for path, expected in cases:
    def keeps(p, path=path, expected=expected):
        return None if kind(path) == expected else f"{path} was replaced by a regular file"
    run("3 guest: output paths", [GUEST, "--model", args.model, "--replay", trace, "--out", os.path.join(work, "r.csv"), "--jsonl", path],
        [path], check=keeps)
    if kind(path) != expected:
        table["3 guest: output paths"]["wrong"] += 1
reader.wait(timeout=10)

# The table.
cols = ["runs", "accepted", "clear", "unclear", "crash", "hang", "wrong"]
print("| area | " + " | ".join(cols) + " |")
print("| --- |" + " ---: |" * len(cols))
total = {c: 0 for c in cols}
for area, row in table.items():
    print(f"| {area} | " + " | ".join(str(row[c]) for c in cols) + " |")
    for c in cols: total[c] += row[c]
print("| **total** | " + " | ".join(f"**{total[c]}**" for c in cols) + " |")
for area, row in table.items():
    for example in row["examples"][:3]:
        print(f"  {area}: {example}")
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if total["crash"] or total["hang"] or total["unclear"] or total["wrong"] else 0)
