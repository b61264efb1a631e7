import Foundation
import Testing
@testable import VraplSources
import VraplTestSupport
import VraplCore
@testable import VraplAttribution

@Suite("attribution config")
struct AttributionConfigTests {
    @Test func parsesEverySection() throws {
        let yaml = """
        name: lab
        workloads:
          - {name: yolo, cgroups: [/yolo.slice/], gpus: [0], memory_gb: 4}
          - {name: web, cgroup: nodejs.slice}
        memory: {watts_per_gb: 0.3, total_gb: 64}
        storage: {joules_per_byte: 2.0e-9}
        baseline: {cpu_w: 12.5, gpu_w: [10, 9]}
        policy: {gpu_idle: baseline, cpu_share: system}
        trim: {start_s: 10, end_s: 2}
        interval_s: 0.5
        """
        let c = try AttributionConfig.parse(yaml: yaml, source: "t.yaml")
        #expect(c.workloads == [WorkloadSpec(name: "yolo", cgroups: ["yolo.slice"], gpus: [0], memoryGB: 4), WorkloadSpec(name: "web", cgroups: ["nodejs.slice"])])
        #expect(c.memoryWattsPerGB == 0.3 && c.memoryTotalGB == 64 && c.storageJoulesPerByte == 2e-9)
        #expect(c.baseline.cpuW == 12.5 && c.baseline.gpuIdle(1) == 9 && c.baseline.gpuIdle(5) == 0)
        #expect(c.gpuIdle == .baseline && c.cpuShare == .system && c.trim == TrimSpec(startS: 10, endS: 2) && c.intervalS == 0.5)
    }

    @Test(arguments: [
        ("workloads: [{name: a, cgroups: [a]}, {name: a, cgroups: [b]}]", "declared twice"),
        ("workloads: [{name: a}]", "has no cgroups"),
        ("name: x", "no workloads"),
        ("workloads: [{cgroups: [a]}]", "workloads.[0].name"),
        ("workloads: [{name: a, cgroups: [a]}]\npolicy: {gpu_idle: sometimes}", "policy.gpu_idle"),
        ("workloads: [{name: a, cgroups: [a]}]\nmemory: {watts_per_gb: -1}", "watts_per_gb"),
        ("workloads: [{name: a, cgroups: ['../../../../etc']}]", "leaves the cgroup tree"),
        ("workloads: [{name: a, cgroups: [\"ok.slice\", \"x/../../y\"]}]", "cgroup 'x/../../y' leaves the cgroup tree"),
        // A typo is an error naming the key, not a silent default.
        ("workloads: [{name: a, cgroups: [a]}]\ninterval: 2", "unknown key 'interval'"),
        ("workloads: [{name: a, cgroups: [a]}]\nmemory: {watts_per_gib: 1}", "unknown key 'memory.watts_per_gib'"),
        ("workloads: [{name: a, cgroups: [a], memory: 4}]", "unknown key 'workloads[0].memory'"),
    ])
    func errorsNameFileAndEntry(yaml: String, fragment: String) {
        #expect { _ = try AttributionConfig.parse(yaml: yaml, source: "bad.yaml") } throws: { "\($0)".contains("bad.yaml") && "\($0)".contains(fragment) }
    }
}

@Suite("offline inputs")
struct OfflineInputTests {
    @Test func hostCSVInThePaperShapeWithTrimming() throws {
        var text = "timestamp,rapl_package_w,gpu0_power_w,gpu1_power_w,gpu0_util_pct,gpu1_util_pct\n"
        for s in 0..<30 { text += "\(1000 + s),\(s < 15 ? 50 : 20),100,10,90,0\n" }
        let rows = try OfflineInputs.hostRows(try DelimitedTable.parse(text, source: "h.csv"))
        #expect(rows.count == 30 && rows[0].gpuW == [100, 10] && rows[0].gpuUtilPct == [90, 0])
        let stable = OfflineInputs.trim(rows, TrimSpec())
        #expect(stable.map(\.time) == (1015...1024).map(Double.init))
        #expect(stable.allSatisfy { $0.cpuW == 20 })
        #expect(OfflineInputs.trim(rows, TrimSpec(startS: 0, endS: 0)).count == 30)
    }

    @Test func phasesAreTrimmedSeparately() throws {
        var text = "timestamp\tphase\trapl_package_w\n"
        for s in 0..<25 { text += "\(s)\tA\t1\n" }
        for s in 100..<125 { text += "\(s)\tB\t2\n" }
        let rows = OfflineInputs.trim(try OfflineInputs.hostRows(try DelimitedTable.parse(text, source: "h.tsv")), TrimSpec())
        #expect(rows.filter { $0.phase == "A" }.map(\.time) == (15...19).map(Double.init))
        #expect(rows.filter { $0.phase == "B" }.map(\.time) == (115...119).map(Double.init))
    }

    @Test func cgroupCSVLongFormatWithCumulativeIOAndMax() throws {
        let text = """
        timestamp,cgroup,cpu_percent,memory_current,memory_max,io_rbytes,io_wbytes
        2025-01-01 00:00:01,yolo.slice,50,100,max,1000,0
        2025-01-01T00:00:02Z,yolo.slice,60,100,max,3000,500
        2025-01-01 00:00:02.500,nodejs.slice,10,5,4294967296,0,0
        """
        let rows = try OfflineInputs.cgroupRows(try DelimitedTable.parse(text, source: "c.csv"))
        #expect(rows.count == 3)
        #expect(rows[0].time == 1_735_689_601 && rows[2].time == 1_735_689_602.5)
        #expect(rows[1].ioBytes == 2500 && rows[0].ioBytes == 0)
        #expect(rows[1].memoryMax == .max && rows[2].memoryMax == .bytes(4_294_967_296))
    }

    @Test(arguments: [
        ("timestamp,cpu_percent\n1,2\n", "missing column 'cgroup'"),
        ("timestamp,cgroup,cpu_percent\n1,a,lots\n", "line 2, column 'cpu_percent': 'lots' is not a number"),
        ("timestamp,cgroup,cpu_percent\nyesterday,a,1\n", "timestamp 'yesterday'"),
        ("timestamp,cgroup,cpu_percent\n1,a\n", "line 2 has 2 fields"),
        ("timestamp,cgroup,cpu_percent,memory_max\n1,a,1,huge\n", "neither a byte count nor 'max'"),
        ("", "empty file"),
    ])
    func garbageNamesFileAndLine(text: String, fragment: String) {
        #expect { _ = try OfflineInputs.cgroupRows(try DelimitedTable.parse(text, source: "c.csv")) } throws: { "\($0)".contains("c.csv") && "\($0)".contains(fragment) }
    }
}

@Suite("GPU sources")
struct GPUSourceTests {
    func fixture(_ name: String) throws -> String { try String(contentsOfFile: Fixtures.path("cgroupfs/nvidia/\(name)"), encoding: .utf8) }

    @Test func nvidiaSMIWithUnits() throws {
        let g = try NvidiaSMIParser.parseQueryGPU(try fixture("query-gpu.csv"))
        #expect(g.count == 2)
        #expect(g[0] == GPUSample(index: 0, name: "NVIDIA GeForce RTX 3060", power: Watts(131.52), utilizationPct: 97))
        #expect(g[1].power == Watts(11.2) && g[1].utilizationPct == 0)
    }

    @Test func nvidiaSMINoUnitsNoHeaderAndNA() throws {
        let a = try NvidiaSMIParser.parseQueryGPU(try fixture("query-gpu-nounits.csv"))
        #expect(a == [GPUSample(index: 0, name: "NVIDIA H100 80GB HBM3", power: Watts(71.93), utilizationPct: 0)])
        let b = try NvidiaSMIParser.parseQueryGPU(try fixture("query-gpu-noheader.csv"))
        #expect(b == [GPUSample(index: 0, name: "Tesla T4", power: nil, utilizationPct: 5)])
    }

    @Test func nvidiaSMIGarbageIsAnError() throws {
        #expect(throws: VraplError.self) { try NvidiaSMIParser.parseQueryGPU(try fixture("query-gpu-garbage.csv"), source: "smi") }
        do { _ = try NvidiaSMIParser.parseQueryGPU(try fixture("query-gpu-garbage.csv"), source: "smi") } catch {
            #expect("\(error)".contains("'lots W' is not a number"))
        }
    }

    @Test func pmonPerProcessMappedToWorkloadsThroughCGroups() throws {
        let procs = NvidiaSMIParser.parsePmon(try fixture("pmon.txt"))
        #expect(procs[0] == [GPUProcessSample(pid: 4242, smUtilPct: 80), GPUProcessSample(pid: 4343, smUtilPct: 15)])
        #expect(procs[1] == nil)
        let samples = [GPUSample(index: 0, power: Watts(200), utilizationPct: 95, processes: procs[0] ?? []),
                       GPUSample(index: 1, power: Watts(30), utilizationPct: 40)]
        let specs = [WorkloadSpec(name: "train", cgroups: ["yolo.slice"], gpus: [0]),
                     WorkloadSpec(name: "infer", cgroups: ["infer.slice"], gpus: [0, 1])]
        let cgroupOf: (Int32) -> String? = { [4242: "/yolo.slice/job-1", 4343: "/infer.slice"][$0] }
        let u = GPUWorkloadMapper.utilization(samples: samples, workloads: specs, cgroupOfPid: cgroupOf)
        #expect(u["train"] == [0: 80])
        // GPU1 has no per-process samples and is infer's alone: device utilisation.
        #expect(u["infer"] == [0: 15, 1: 40])
    }

    @Test func energyFromCounterOrPower() {
        let a = GPUSample(index: 0, power: Watts(100), totalEnergyMillijoules: 1_000_000)
        let b = GPUSample(index: 0, power: Watts(120), totalEnergyMillijoules: 1_110_000)
        #expect(GPUSample.energy(from: a, to: b, seconds: 1) == Joules(110))
        let c = GPUSample(index: 0, power: Watts(100)), d = GPUSample(index: 0, power: Watts(120))
        #expect(GPUSample.energy(from: c, to: d, seconds: 2) == Joules(220))
    }

    /// The binary must run where NVIDIA's library is absent: loading fails with a message, not a crash.
    @Test func nvmlMissingLibraryIsAnError() {
        #expect { _ = try NVMLGPUSource(library: "/nonexistent/libnvidia-ml.so.1") } throws: { "\($0)".contains("NVML /nonexistent/libnvidia-ml.so.1: cannot load") }
    }

    @Test func nvmlLibraryWithoutNVMLSymbolsIsAnError() {
        // libc loads but has no nvmlInit_v2.
        #expect { _ = try NVMLGPUSource(library: "libc.so.6") } throws: { "\($0)".contains("required symbols") }
    }
}

@Suite("reports")
struct ReportTests {
    func report() -> AttributionReport {
        var c = AttributionConfig()
        c.workloads = [WorkloadSpec(name: "a \"quoted\"", cgroups: ["a.slice"], gpus: [0]), WorkloadSpec(name: "b", cgroups: ["b.slice"])]
        c.memoryTotalGB = 16
        let att = Attributor(config: c)
        let intervals = (0..<3).map { k in
            att.attribute(system: SystemInterval(start: Double(k), duration: Seconds(1), cpu: Joules(20), gpus: [GPUInterval(index: 0, energy: Joules(50), utilizationPct: 70)], wall: Joules(90)),
                          usage: UsageInterval(workloads: [WorkloadInterval(name: "a \"quoted\"", cpuUsageUsec: 3e5, gpuUtilizationPct: [0: 70], gpus: [0], memoryBytes: 4 * bytesPerGB),
                                                           WorkloadInterval(name: "b", cpuUsageUsec: 1e5, memoryBytes: 2 * bytesPerGB, ioBytes: 1e6)]))
        }
        return AttributionReport(configName: "t", cpuPower: .simulated(profile: "test"), intervals: intervals, workloadCGroups: ["b": ["b.slice"]])
    }

    @Test func tsvShapesAndTotals() {
        let r = report()
        let sys = r.systemPowerTSV().split(separator: "\n")
        #expect(sys[0] == "phase\tduration_s\twall_W\tcpu_W\tgpu0_W\tmem_W\tstorage_W\tothers_W\tsystem_W\tbaseline_W\tunattributed_W\tresidual_W")
        #expect(sys[1].hasPrefix("all\t3.0\t90.000\t20.000\t50.000\t3.200\t"))
        let wl = r.workloadUsageTSV().split(separator: "\n")
        #expect(wl.count == 3)
        #expect(wl[2].hasPrefix("all\tb\t10.00\t0.00\t2.000\t3000000\t5.000\t0.000\t0.400\t0.010\t5.410\t"))
        #expect(r.intervalsTSV().split(separator: "\n").count == 1 + 3 * 5)
        #expect(r.conservationTSV().split(separator: "\n").count == 4)
    }

    @Test func jsonRoundTrips() throws {
        let data = try report().json()
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(obj["format"] as? String == "vrapl-attribution")
        let totals = try #require(obj["totals"] as? [String: Any])
        #expect(abs((totals["system_j"] as? Double ?? 0) - 270) < 1e-9)
        #expect((obj["intervals"] as? [Any])?.count == 3)
    }

    /// The exposition parses with the Prometheus Python client (installed here and in CI).
    @Test func prometheusTextParsesWithTheReferenceParser() throws {
        let dir = try Scratch.path("prom")
        try report().prometheus().write(toFile: dir + "/metrics.prom", atomically: true, encoding: .utf8)
        let script = """
        import sys
        from prometheus_client.parser import text_string_to_metric_families
        fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
        w = {(s.labels['workload'], s.labels['component']): s.value for s in fams['vrapl_workload_joules'].samples}
        k = {s.labels['container_name']: s.value for s in fams['kepler_container_cpu_joules'].samples}
        assert fams['vrapl_workload_joules'].type == 'counter'
        print(len(w), float(round(w[('a "quoted"', 'cpu')], 6)), float(round(k['b'], 6)), float(round(w[('b', 'memory')], 6)))
        """
        let (status, out) = try ChildProcess.python3(script, [dir + "/metrics.prom"])
        #expect(status == 0, "\(out)")
        // 2 workloads × 4 components; a: 3/4 of 3 × 20 J = 45 J CPU; b: 15 J CPU, 0.2 W/GB × 2 GB × 3 s = 1.2 J memory.
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "8 45.0 15.0 1.2")
    }

    /// `promtool check metrics` (Debian's Prometheus, installed by scripts/install-deps.sh test) parses and lints it.
    @Test func promtoolAcceptsTheExposition() throws {
        let promtool = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            Issue.record("\(promtool) is missing: scripts/install-deps.sh test installs prometheus"); return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: promtool)
        p.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input; p.standardOutput = output; p.standardError = output
        try p.run()
        input.fileHandleForWriting.write(Data(try report().prometheus().utf8))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0, "\(text)")
    }

    @Test func writesEveryFile() throws {
        let dir = try Scratch.path("out")
        let written = try report().write(to: dir + "/nested")
        #expect(written.count == 6)
        #expect(written.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }
}

@Suite("NVML binding against a fake libnvidia-ml")
struct NVMLBindingTests {
    /// Compiles Tests/Fixtures/cgroupfs/nvidia/fake_nvml.c with the toolchain's C compiler.
    static func buildFakeLibrary() throws -> (dir: String, library: String) {
        let dir = try Scratch.path("nvml")
        let library = dir + "/libfake-nvml.so"
        var failures: [String] = []
        for compiler in ["clang", "cc"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [compiler, "-shared", "-fPIC", "-O1", "-o", library, Fixtures.path("cgroupfs/nvidia/fake_nvml.c")]
            let pipe = Pipe()
            p.standardError = pipe
            p.standardOutput = pipe
            do { try p.run() } catch { failures.append("\(compiler): \(error)"); continue }
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            if p.terminationStatus == 0 { return (dir, library) }
            failures.append("\(compiler): \(text)")
        }
        throw VraplError("no C compiler could build the fake NVML library: \(failures.joined(separator: "; "))")
    }

    @Test func readsPowerEnergyUtilisationAndProcesses() throws {
        let (dir, library) = try Self.buildFakeLibrary()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let nvml = try NVMLGPUSource(library: library)
        #expect(nvml.deviceCount == 2)
        let first = try nvml.sample()
        #expect(first.count == 2)
        #expect(first[0].name == "Fake GPU 0" && first[1].name == "Fake GPU 1")
        #expect(first[0].power == Watts(131.52) && first[1].power == Watts(11.2))
        #expect(first[0].utilizationPct == 97 && first[1].utilizationPct == 0)
        #expect(first[0].totalEnergyMillijoules == 1_131_520 && first[1].totalEnergyMillijoules == nil)
        // Per-process samples averaged per pid (4242: 80 and 70).
        #expect(first[0].processes == [GPUProcessSample(pid: 4242, smUtilPct: 75), GPUProcessSample(pid: 4343, smUtilPct: 15)])
        #expect(first[1].processes.isEmpty)
        // Second read: the fake has new samples again; the energy counter advanced.
        let second = try nvml.sample()
        #expect(second[0].processes == first[0].processes)
        #expect(GPUSample.energy(from: first[0], to: second[0], seconds: 1) == Joules(131.52))
        #expect(GPUSample.energy(from: first[1], to: second[1], seconds: 2) == Joules(22.4))
    }
}
