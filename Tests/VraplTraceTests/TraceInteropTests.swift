import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplTrace

/// Other tools must read what we write: h5py (as PyTorch users would) and h5dump.
@Suite("Trace interoperability (h5py, h5dump)")
struct TraceInteropTests {
    /// Checks every attribute and dataset with h5py and numpy; prints "OK <n>" or the first mismatch.
    static let h5pyCheck = #"""
import sys, json, h5py, numpy as np
path, n = sys.argv[1], int(sys.argv[2])
f = h5py.File(path, "r")
a = f.attrs
def check(cond, what):
    if not cond:
        print("MISMATCH", what); sys.exit(1)
check(a["format"] == "vrapl-trace" and isinstance(a["format"], str), "format")
check(int(a["format_version"]) == 2, "format_version")
check(a["host_name"] == "test-host", "host_name")
check(a["cpu_model"].startswith("Intel(R) Xeon(R) Silver 4210R"), "cpu_model")
check(a["kernel"] == "6.1.0-test", "kernel")
check(int(a["core_count"]) == 20, "core_count")
check(int(a["sample_interval_ns"]) == 16000000, "sample_interval_ns")
check(a["power_source"] == "sim:xeon-4210r", "power_source")
check(int(a["start_time_ns"]) == 1763700000000000000, "start_time_ns")
check(a["tool_version"] == sys.argv[3], "tool_version")
check(int(a["user_hz"]) == 100, "user_hz")
check(json.loads(a["labels"]) == {"site": "lab ü", "run": "42"}, "labels")
mono = f["timestamp_monotonic_ns"][:]
check(mono.dtype == np.uint64 and len(mono) == n, "monotonic dtype/len")
i = np.arange(n)
check((mono == 5000000000 + i * 16000000 + (i % 5) * 1000).all(), "monotonic values")
wall = f["timestamp_wall_ns"][:]
check(wall.dtype == np.int64 and (wall == 1763700000000000000 + i * 16000000).all(), "wall")
fields = ["user","nice","system","idle","iowait","irq","softirq","steal","guest","guest_nice"]
for name in fields + ["ctxt","intr","processes","procs_running","procs_blocked"]:
    key = name if name in ("ctxt","intr","processes","procs_running","procs_blocked") else "cpu_" + name
    d = f[key]
    check(d.dtype == np.uint64 and d.shape == (n,) and d.maxshape == (None,) and d.chunks is not None, key + " shape")
check((f["cpu_user"][:] == 3 * (i + 1)).all(), "cpu_user values")
check((f["cpu_steal"][:] == i // 10).all(), "cpu_steal values")
check((f["procs_running"][:] == 1 + i % 3).all(), "procs_running values")
check(list(f["vmstat"].keys()) == sorted(["pgfault","pgmajfault","pswpin","pswpout"]), "vmstat names")
check((f["vmstat/pgfault"][:] == 10 * i).all(), "vmstat/pgfault")
zones = {"intel-rapl_0": ("package-0", "intel-rapl:0", 262143328850),
         "intel-rapl_0_0": ("core", "intel-rapl:0:0", 262143328850),
         "intel-rapl_1": ("package-1", "intel-rapl:1", 262143328850),
         "intel-rapl_0_1": ("dram", "intel-rapl:0:1", 65712999613)}
check(set(f["rapl"].keys()) == set(zones), "rapl zones")
for g, (name, key, rng) in zones.items():
    z = f["rapl"][g]
    check(z.attrs["name"] == name and z.attrs["key"] == key and int(z.attrs["max_energy_range_uj"]) == rng, g + " attrs")
    e = z["energy_uj"]
    check(e.dtype == np.uint64 and e.shape == (n,) and int(e.attrs["max_energy_range_uj"]) == rng, g + " energy")
check((f["rapl/intel-rapl_0/energy_uj"][:] == 1000 + 480000 * i).all(), "package-0 energy")
h = f["sim_hidden_w"]
check(h.dtype == np.float32 and int(h.attrs["simulator_only"]) == 1 and np.allclose(h[:], 0.5 * i), "sim_hidden_w")
s = f["segments"]
names = [x.decode() if isinstance(x, bytes) else x for x in s["name"][:]]
check(names == ["idle", "cpu-2"], "segment names")
check(list(s["first_sample"][:]) == [0, n // 2] and list(s["last_sample"][:]) == [n // 2 - 1, n - 1], "segment bounds")
params = [json.loads(x.decode() if isinstance(x, bytes) else x) for x in s["parameters"][:]]
check(params[1] == {"family": "cpu", "stressor": "cpu", "workers": "2"}, "segment parameters")
print("OK", n)
"""#

    @Test("h5py reads every field and attribute")
    func h5pyReadsEverything() throws {
        let path = try Scratch.file("interop.h5")
        let n = 300
        try TraceWriter.write(TraceTestSupport.sampleTrace(samples: n), to: path)
        let (status, output) = try ChildProcess.python3(Self.h5pyCheck, [path, String(n), VraplVersion.string])
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK \(n)"), "\(output)")
    }

    @Test("h5dump -H lists the layout")
    func h5dumpHeader() throws {
        let path = try Scratch.file("dump.h5")
        try TraceWriter.write(TraceTestSupport.sampleTrace(samples: 20), to: path)
        let (status, output) = try ChildProcess.run("h5dump", ["-H", path])
        #expect(status == 0, "\(output)")
        for name in ["ATTRIBUTE \"format\"", "DATASET \"timestamp_monotonic_ns\"", "DATASET \"cpu_guest_nice\"",
                     "GROUP \"intel-rapl_0_1\"", "DATASET \"energy_uj\"", "DATASET \"sim_hidden_w\"", "GROUP \"segments\"",
                     "H5T_STRING", "CSET H5T_CSET_UTF8", "H5S_UNLIMITED"] {
            #expect(output.contains(name), "h5dump -H lacks \(name)")
        }
    }

    @Test("a file written by h5py with the documented layout reads back")
    func readsPythonWrittenTrace() throws {
        let path = try Scratch.file("py.h5")
        let script = #"""
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "w")
f.attrs["format"] = "vrapl-trace"; f.attrs["format_version"] = 1; f.attrs["power_source"] = "rapl"
f.attrs["sample_interval_ns"] = 16000000; f.attrs["labels"] = '{"by": "python"}'
n = 4
f["timestamp_monotonic_ns"] = np.arange(n, dtype=np.uint64) * 16000000
f["timestamp_wall_ns"] = np.arange(n, dtype=np.int64)
for k in ["user","nice","system","idle","iowait","irq","softirq","steal","guest","guest_nice"]:
    f["cpu_" + k] = np.arange(n, dtype=np.int64) * 2
for k in ["ctxt","intr","processes","procs_running","procs_blocked"]:
    f[k] = np.arange(n, dtype=np.uint32)
g = f.create_group("rapl/intel-rapl_0"); g.attrs["name"] = "package-0"; g.attrs["key"] = "intel-rapl:0"
g.attrs["max_energy_range_uj"] = np.uint64(1000)
g["energy_uj"] = np.array([10, 500, 990, 20], dtype=np.uint64)
f.close()
"""#
        let (status, output) = try ChildProcess.python3(script, [path])
        try #require(status == 0, "\(output)")
        let data = try TraceReader.read(path)
        #expect(data.sampleCount == 4)
        #expect(data.metadata.labels == ["by": "python"])
        #expect(data.cpuFields[3] == [0, 2, 4, 6])
        #expect(data.procsRunning == [0, 1, 2, 3])
        #expect(data.rapl.first?.name == "package-0")
        #expect(data.rapl.first?.maxEnergyRangeUj == 1000)
        #expect(data.vmstat.isEmpty)
        #expect(data.segments.isEmpty)
    }
}
