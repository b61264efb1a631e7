import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplTrace
@testable import VraplAttribution

@Suite("trace input")
struct TraceInputTests {
    /// 50 s at 16 ms: package at 30 W for the first 25 s ("calm"), then 60 W ("busy"), counter wrapping
    /// at 2^32 µJ partway, written to HDF5 and read back through `vrapl attribute --system trace.h5`'s path.
    func makeTrace() -> TraceData {
        var meta = TraceMetadata()
        meta.powerSource = .simulated(profile: "test")
        var t = TraceData(metadata: meta)
        let range: UInt64 = 4_294_967_295
        t.rapl = [RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: range)]
        var energy: UInt64 = range - 500_000_000
        let n = 3126
        for i in 0..<n {
            var stat = ProcStatSnapshot()
            stat.cpu.user = UInt64(i); stat.cpu.idle = UInt64(i)
            t.append(monotonicNs: UInt64(i) * 16_000_000, wallClockNs: 1_700_000_000_000_000_000 + Int64(i) * 16_000_000, stat: stat, energyUj: [energy])
            let watts = Double(i) * 0.016 < 25 ? 30.0 : 60.0
            energy = (energy + UInt64(watts * 16_000)) % (range + 1)
        }
        t.segments = [TraceSegment(name: "calm", firstSample: 0, lastSample: 1562), TraceSegment(name: "busy", firstSample: 1563, lastSample: n - 1)]
        return t
    }

    @Test func binsPackagePowerByPhase() throws {
        let rows = try OfflineInputs.hostRows(trace: makeTrace(), binSeconds: 1, source: "t.h5")
        let calm = rows.filter { $0.phase == "calm" }, busy = rows.filter { $0.phase == "busy" }
        #expect(calm.count == 25 && busy.count == 25)
        // Bins fully inside a phase have the exact power, including the one spanning the wrap.
        #expect(calm.dropLast().allSatisfy { abs($0.cpuW - 30) < 1e-6 })
        #expect(busy.dropFirst().allSatisfy { abs($0.cpuW - 60) < 1e-6 })
    }

    @Test func attributesAFileTraceAgainstACGroupCSV() throws {
        let dir = try Scratch.path("trace")
        try TraceWriter.write(makeTrace(), to: dir + "/t.h5")
        var csv = "timestamp,cgroup,cpu_percent\n"
        for s in 1...50 {
            csv += "\(1_700_000_000 + s),a.slice,\(s <= 25 ? 10 : 75)\n\(1_700_000_000 + s),b.slice,25\n"
        }
        try csv.write(toFile: dir + "/c.csv", atomically: true, encoding: .utf8)
        var cfg = AttributionConfig()
        cfg.workloads = [WorkloadSpec(name: "a", cgroups: ["a.slice"]), WorkloadSpec(name: "b", cgroups: ["b.slice"])]
        cfg.trim = TrimSpec(startS: 5, endS: 2)
        let intervals = try OfflineInputs.attribute(config: cfg, systemPath: dir + "/t.h5", usagePath: dir + "/c.csv", wallPath: nil)
        let report = AttributionReport(configName: "t", cpuPower: nil, input: "trace", intervals: intervals)
        let busy = report.totals(phase: "busy")
        let a = try #require(busy.workloads["a"]), b = try #require(busy.workloads["b"])
        // 60 W split 75:25 in the busy phase.
        #expect(abs(a.cpu.value / busy.duration - 45) < 0.5, "\(a.cpu.value / busy.duration)")
        #expect(abs(b.cpu.value / busy.duration - 15) < 0.5)
        #expect(intervals.allSatisfy { $0.residualFraction < 1e-9 })
    }
}
