#!/usr/bin/env python3
"""Which busy-time source a small guest should read at 16 ms (issue "A VM is a slice of its host",
part 9: tick quantization). Samples every 16 ms, for SECONDS seconds, the busy CPU time of this
machine's CPU 0 (a 1-vCPU view) and of all CPUs (a k-vCPU view) from:

  proc-stat   /proc/stat cpuN / cpu lines (USER_HZ ticks: user nice system irq softirq steal)
  cpuacct     cgroup v1 root cpuacct.usage_percpu / cpuacct.usage (ns, every task)
  cgroup2     cgroup v2 root cpu.stat usage_usec (µs, every task; all CPUs only)
  cpuidle     Δt minus the residency of every cpuidle state, cpuN/cpuidle/state*/time (µs)

and prints, per source and view, the RMS difference of the per-interval busy fraction from the
nanosecond source (cpuacct), i.e. the noise a feature computed from that source carries. Run it under
a steady load, e.g. `stress-ng --cpu 2 --cpu-load 50`. Roots: --procfs, --sysfs, --cgroupfs.
Usage: scripts/measure-busy-sources.py [--seconds 20] [--interval-ms 16]
"""
import argparse, glob, math, os, time

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=float, default=20)
ap.add_argument("--interval-ms", type=float, default=16)
ap.add_argument("--procfs", default="/proc")
ap.add_argument("--sysfs", default="/sys")
ap.add_argument("--cgroupfs", default="/sys/fs/cgroup")
a = ap.parse_args()
hz = os.sysconf("SC_CLK_TCK")
ncpu = len([l for l in open(a.procfs + "/stat") if l.startswith("cpu") and l[3].isdigit()])


def read_all():
    s = {}
    for line in open(a.procfs + "/stat"):
        if line.startswith("cpu"):
            f = line.split()
            v = [int(x) for x in f[1:9]] + [0] * (8 - len(f[1:9]))
            busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
            s["stat:" + ("all" if f[0] == "cpu" else f[0][3:])] = busy / hz
    acct = a.cgroupfs + "/cpuacct/"
    if os.path.exists(acct + "cpuacct.usage"):
        per = [int(x) for x in open(acct + "cpuacct.usage_percpu").read().split()]
        s["acct:0"] = per[0] / 1e9
        s["acct:all"] = int(open(acct + "cpuacct.usage").read()) / 1e9
    for v2 in (a.cgroupfs + "/unified/cpu.stat", a.cgroupfs + "/cpu.stat"):
        if os.path.exists(v2):
            for line in open(v2):
                if line.startswith("usage_usec"):
                    s["cg2:all"] = int(line.split()[1]) / 1e6
            break
    idle_all = 0.0
    for c in range(ncpu):
        t = sum(int(open(p).read()) for p in glob.glob(f"{a.sysfs}/devices/system/cpu/cpu{c}/cpuidle/state*/time")) / 1e6
        if c == 0:
            s["idle:0"] = t
        idle_all += t
    s["idle:all"] = idle_all
    s["t"] = time.monotonic()
    return s


samples = []
dt = a.interval_ms / 1000
nxt = time.monotonic()
end = nxt + a.seconds
while nxt < end:
    samples.append(read_all())
    nxt += dt
    time.sleep(max(0, nxt - time.monotonic()))


def fractions(view, source):
    out = []
    cpus = 1 if view == "0" else ncpu
    for p, q in zip(samples, samples[1:]):
        d = q["t"] - p["t"]
        if source == "cpuidle":
            busy = cpus * d - (q["idle:" + view] - p["idle:" + view])
        else:
            key = {"proc-stat": "stat:", "cpuacct": "acct:", "cgroup2": "cg2:"}[source] + view
            if key not in q:
                return None
            busy = q[key] - p[key]
        out.append(busy / (cpus * d))
    return out


print(f"{len(samples)} samples at {a.interval_ms:g} ms over {a.seconds:g} s, {ncpu} CPUs, USER_HZ {hz}")
for view in ("0", "all"):
    ref = fractions(view, "cpuacct")
    if ref is None:
        print("no cpuacct (cgroup v1) here: no nanosecond reference"); break
    mean = sum(ref) / len(ref)
    print(f"view {'CPU 0 (k = 1)' if view == '0' else f'all {ncpu} CPUs (k = {ncpu})'}: mean busy {mean * 100:.1f} %")
    for source in ("proc-stat", "cgroup2", "cpuidle"):
        f = fractions(view, source)
        if f is None:
            continue
        rms = math.sqrt(sum((x - r) ** 2 for x, r in zip(f, ref)) / len(ref))
        zero = sum(1 for p, q in zip(samples, samples[1:]) if source == "proc-stat"
                   and q["stat:" + view] == p["stat:" + view]) if source == "proc-stat" else 0
        extra = f", {zero} intervals without a tick" if source == "proc-stat" else ""
        print(f"  {source:9s} RMS difference from cpuacct {rms * 100:6.2f} points of busy %{extra}")
