import Foundation
import Testing
@testable import VraplSources
import VraplTestSupport
import VraplCore
@testable import VraplAttribution

/// The whole live chain against fixture trees: cgroupfs (t0 → t1), a procfs with the GPU processes'
/// cgroups, the fake NVML library, scripted CPU power and an injected clock.
@Suite("live attributor on fixtures")
struct LiveAttributorTests {
    @Test func oneIntervalWithCPUGPUMemoryAndStorage() throws {
        let (nvmlDir, library) = try NVMLBindingTests.buildFakeLibrary()
        let cg = try Scratch.path("livecg"), proc = try Scratch.path("liveproc")
        defer { for d in [nvmlDir, cg, proc] { try? FileManager.default.removeItem(atPath: d) } }
        try Fixtures.sync(from: Fixtures.path("cgroupfs/t0"), to: cg)
        for (pid, group) in [(4242, "/yolo.slice/train"), (4343, "/nodejs.slice")] {
            try FileManager.default.createDirectory(atPath: "\(proc)/\(pid)", withIntermediateDirectories: true)
            try "1:name=systemd:/\n0::\(group)\n".write(toFile: "\(proc)/\(pid)/cgroup", atomically: true, encoding: .utf8)
        }
        var config = AttributionConfig()
        config.workloads = [WorkloadSpec(name: "yolo", cgroups: ["yolo.slice"], gpus: [0]),
                            WorkloadSpec(name: "node", cgroups: ["nodejs.slice"], gpus: [1])]
        config.baseline = BaselineSpec(cpuW: 0, gpuW: [20, 10])
        var now = 0.0
        let live = LiveAttributor(config: config, cgroups: CGroupReader(root: cg), cpu: ScriptedCPUPowerSource { _ in 30 },
                                  gpu: try NVMLGPUSource(library: library), procfs: proc, memoryTotalBytes: 8 * bytesPerGB, clock: { now })
        try live.prime()
        try Fixtures.sync(from: Fixtures.path("cgroupfs/t1"), to: cg)
        now = 1
        let r = try live.step()
        let yolo = try #require(r.workloads.first { $0.name == "yolo" }).energy
        let node = try #require(r.workloads.first { $0.name == "node" }).energy
        // CPU 30 J by usage 0.6 s : 0.3 s.
        #expect(abs(yolo.cpu.value - 20) < 1e-9 && abs(node.cpu.value - 10) < 1e-9)
        // GPU0: 131.52 J from the energy counter; idle 20 J to its only allocatee (yolo); the 111.52 J
        // above idle by per-process SM use, 75 % (pid 4242 in yolo.slice/train) : 15 % (pid 4343).
        #expect(abs(yolo.gpu.value - (20 + 111.52 * 75 / 90)) < 1e-6)
        // GPU1: no counter, 11.2 W × 1 s; idle 10 J and the 1.2 J above it follow node's allocation.
        #expect(abs(node.gpu.value - (111.52 * 15 / 90 + 11.2)) < 1e-6)
        // Memory 0.2 W/GB: yolo memory.max 4 GiB, node max → memory.current 1 GiB; 8 GiB installed.
        #expect(abs(yolo.memory.value - 0.8) < 1e-9 && abs(node.memory.value - 0.2) < 1e-9)
        #expect(abs(r.baseline.memory.value - 0.6) < 1e-9)
        #expect(abs(yolo.storage.value - 7000 * 1e-8) < 1e-15)
        #expect(abs(r.system.total.value - (30 + 131.52 + 11.2 + 1.6 + 7000e-8)) < 1e-6)
        #expect(r.residualFraction < 1e-12)
        let report = AttributionReport(configName: "t", cpuPower: live.cpu.powerSource, intervals: live.intervals)
        #expect(report.systemPowerTSV().contains("gpu1_W"))
    }
}

@Suite("live history")
struct LiveHistoryTests {
    @Test func boundedHistoryKeepsTotalsExact() throws {
        let cg = try Fixtures.cgroupTree("hist")
        var config = AttributionConfig()
        config.workloads = [WorkloadSpec(name: "yolo", cgroups: ["yolo.slice"])]
        var now = 0.0
        let live = LiveAttributor(config: config, cgroups: CGroupReader(root: cg), cpu: ScriptedCPUPowerSource { _ in 10 },
                                  memoryTotalBytes: 0, clock: { now })
        live.historyLimit = 3
        try live.prime()
        for k in 1...10 {
            now = Double(k)
            try "usage_usec \(1_000_000 + k * 1000)\n".write(toFile: cg + "/yolo.slice/cpu.stat", atomically: false, encoding: .utf8)
            try live.step()
        }
        #expect(live.intervals.count == 3)
        let report = live.report(configName: "h")
        let t = report.totals()
        #expect(abs(t.system - 100) < 1e-9 && abs(t.duration - 10) < 1e-9)
        #expect(abs((t.workloads["yolo"]?.cpu.value ?? 0) - 100) < 1e-9)
        #expect(report.prometheus().contains("vrapl_workload_joules_total{workload=\"yolo\",component=\"cpu\"} 100\n"))
        let running = live.totalsReport(configName: "h")
        #expect(running.intervals.isEmpty && running.totals() == t)
        #expect(running.prometheus() == report.prometheus())
    }
}

@Suite("pushed CPU energy (guest prediction)")
struct PushedSourceTests {
    @Test func guestPushesEnergyAndStepsAttribute() throws {
        let cg = try Fixtures.cgroupTree("push")
        var config = AttributionConfig()
        config.workloads = [WorkloadSpec(name: "yolo", cgroups: ["yolo.slice"]), WorkloadSpec(name: "node", cgroups: ["nodejs.slice"])]
        let source = PushedCPUPowerSource(powerSource: .model(name: "test"))
        var now = 0.0
        let live = LiveAttributor(config: config, cgroups: CGroupReader(root: cg), cpu: source, memoryTotalBytes: 0, clock: { now })
        try live.prime()
        try Fixtures.sync(from: Fixtures.path("cgroupfs/t1"), to: cg)
        source.add(Joules(18))
        source.add(Joules(-5))
        now = 1
        let r = try live.step()
        #expect(abs(r.workloads[0].energy.cpu.value - 12) < 1e-9 && abs(r.workloads[1].energy.cpu.value - 6) < 1e-9)
        #expect(live.report(configName: "g").cpuPowerLabel == "model:test")
    }
}
