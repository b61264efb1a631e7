import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplSources
import VraplTrace
@testable import VraplCollect

/// Test paths and helpers.
enum CollectFixtures {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static func procfs(_ name: String) -> String { testsDir.appendingPathComponent("Fixtures/procfs/\(name)").path }
    static func sysfs(_ name: String) -> String { testsDir.appendingPathComponent("Fixtures/sysfs/\(name)").path }
    static func cgroupfs(_ name: String) -> String { testsDir.appendingPathComponent("Fixtures/cgroupfs/\(name)").path }

}

/// Keeps samples in memory; can stall once to provoke missed deadlines.
final class MemorySink: SampleSink {
    var monotonic: [UInt64] = []
    var energy: [[UInt64]] = []
    var vmstat: [[UInt64]] = []
    var ctxt: [UInt64] = []
    var usage: [CPUUsage?] = []
    var closed = false
    var stallAtSample: Int? = nil
    var stallMicroseconds: UInt32 = 0

    func append(monotonicNs: UInt64, wallClockNs: Int64, stat: ProcStatSnapshot,
                vmstat v: UnsafeBufferPointer<UInt64>, energyUj: UnsafeBufferPointer<UInt64>, cpuUsage: CPUUsage?) throws {
        monotonic.append(monotonicNs)
        usage.append(cpuUsage)
        energy.append(Array(energyUj))
        vmstat.append(Array(v))
        ctxt.append(stat.contextSwitches)
        if stallAtSample == monotonic.count - 1 { usleep(stallMicroseconds) }
    }
    func close() throws { closed = true }
}

@Suite struct CollectorLoopTests {
    func configuration(power: CollectorConfiguration.Power, duration: String, interval: String = "10ms") throws -> CollectorConfiguration {
        var c = CollectorConfiguration(outputPath: "memory")
        c.procfs = CollectFixtures.procfs("this-machine")
        c.sysfs = CollectFixtures.sysfs("two-socket")
        c.power = power
        c.intervalNs = try DurationText.nanoseconds(interval)
        c.durationNs = try DurationText.nanoseconds(duration)
        c.statusLine = false
        c.simSeed = 7
        c.cgroupfs = CollectFixtures.cgroupfs("t0")
        return c
    }

    @Test("busy time in µs: the fixture root's cpu.stat every sample; without a readable one the recording goes on with ticks only and says why")
    func cpuUsageFromTheCGroupRoot() throws {
        let c = try configuration(power: .rapl, duration: "100ms")
        let collector = try Collector(configuration: c)
        #expect(collector.cpuUsageSource == "cgroup2:" + CollectFixtures.cgroupfs("t0") + "/cpu.stat")
        let sink = MemorySink()
        _ = try collector.run(into: sink, shouldStop: { false })
        #expect(!sink.usage.isEmpty && sink.usage.allSatisfy { $0 == CPUUsage(userUsec: 3_000_000, systemUsec: 2_000_000) })
        var broken = c
        broken.cgroupfs = CollectFixtures.cgroupfs("broken")
        let without = try Collector(configuration: broken)
        #expect(without.cpuUsageSource == nil && without.cpuUsageUnavailable?.contains("broken/cpu.stat") == true)
        let sink2 = MemorySink()
        _ = try without.run(into: sink2, shouldStop: { false })
        #expect(!sink2.usage.isEmpty && sink2.usage.allSatisfy { $0 == nil })
        var off = c
        off.cpuUsage = false
        let none = try Collector(configuration: off)
        #expect(none.cpuUsageSource == nil && none.cpuUsageUnavailable == nil)
    }

    @Test func fixturePowercapRunTakesThePlannedSamplesOnSchedule() throws {
        let c = try configuration(power: .rapl, duration: "300ms")
        #expect(c.plannedSamples == 30)
        let collector = try Collector(configuration: c)
        #expect(collector.metadata.powerSource == .rapl)
        #expect(collector.metadata.coreCount == 2)
        #expect(collector.metadata.cpuModel == HostInfo.cpuModel(cpuinfo: try String(contentsOfFile: c.procfs + "/cpuinfo", encoding: .utf8)))
        #expect(collector.raplZones.count == 8)
        let sink = MemorySink()
        let summary = try collector.run(into: sink, shouldStop: { false })
        #expect(sink.closed)
        #expect(summary.samples == sink.monotonic.count)
        #expect(summary.samples + summary.missedDeadlines == 30)
        #expect(summary.samples >= 25)  // a loaded 2-core debug build may skip a few ticks, never add any
        let t0 = summary.startNs
        #expect(sink.monotonic[0] >= t0)
        // Sample j is tick j when nothing was skipped: it is never early, and late only by wake-up latency
        // (no drift: deadlines are absolute). Preemption may delay one sample, so the median is checked.
        #expect(zip(sink.monotonic, sink.monotonic.dropFirst()).allSatisfy { $0 < $1 })
        if summary.missedDeadlines == 0 {
            let lateness = sink.monotonic.enumerated().map { Int64($1) - Int64(t0 + UInt64($0) * 10_000_000) }
            #expect(lateness.allSatisfy { $0 >= 0 })
            #expect(lateness.sorted()[lateness.count / 2] < 3_000_000, "\(lateness)")
        }
        #expect(sink.energy.allSatisfy { $0.count == 8 && $0[0] == 123_456_789_012 && $0[4] == 262_143_328_850 - 3_000_000 })
        #expect(sink.vmstat.allSatisfy { $0.count == 4 })
    }

    @Test func simRunIntegratesTheModel() throws {
        let c = try configuration(power: .sim, duration: "200ms")
        let collector = try Collector(configuration: c)
        #expect(collector.metadata.powerSource.description == "sim:basic")
        #expect(collector.raplZones.map(\.name) == ["package-0"])
        let sink = MemorySink()
        let summary = try collector.run(into: sink, shouldStop: { false })
        #expect(summary.samples + summary.missedDeadlines == 20)
        // Fixture /proc/stat never changes: busy share stays 0, so power is the idle floor 25 W ± noise.
        let e = sink.energy.map { $0[0] }
        let span = Double(sink.monotonic.last! - sink.monotonic.first!) / 1e9
        let watts = Double(e.last! - e.first!) / 1e6 / span
        #expect(abs(watts - 25) < 1.5, "\(watts) W")
    }

    @Test func aStalledTickIsSkippedAndCounted() throws {
        let c = try configuration(power: .sim, duration: "400ms", interval: "10ms")
        let sink = MemorySink()
        sink.stallAtSample = 5
        sink.stallMicroseconds = 55_000  // from ~50 ms to ~105 ms: the slots of ticks 6…9 are over, tick 10's is not
        let summary = try Collector(configuration: c).run(into: sink, shouldStop: { false })
        #expect(summary.missedDeadlines >= 4)
        // The pure function agrees with the loop's count (plus any ticks skipped after the last sample).
        let lastTick = Int((sink.monotonic.last! - summary.startNs) / 10_000_000)
        #expect(IntervalStatistics.missedDeadlines(monotonicNs: sink.monotonic, startNs: summary.startNs, intervalNs: 10_000_000)
                + (39 - lastTick) == summary.missedDeadlines)
        #expect(summary.samples + summary.missedDeadlines == 40)
        // No burst of catch-up samples after the stall: the skipped ticks are not taken back to back.
        let t5 = sink.monotonic[5]
        #expect(sink.monotonic[6] - t5 >= 55_000_000)
        let soonAfter = sink.monotonic.filter { $0 > t5 && $0 <= t5 + 85_000_000 }.count
        #expect(soonAfter <= 4, "\(soonAfter) samples within 30 ms of the stall's end")
    }

    @Test func stopRequestEndsTheLoopAndCloses() throws {
        var c = try configuration(power: .sim, duration: "10s")
        c.durationNs = nil
        let sink = MemorySink()
        let start = SampleClock.monotonicNs()
        let summary = try Collector(configuration: c).run(into: sink, shouldStop: { SampleClock.monotonicNs() - start > 150_000_000 })
        #expect(sink.closed)
        #expect(summary.samples >= 8 && summary.samples <= 17)
    }

    @Test func recordsAReadableTraceFromFixtureTrees() throws {
        let dir = try Scratch.directory()
        for power in CollectorConfiguration.Power.allCases {
            var c = try configuration(power: power, duration: "250ms")
            c.outputPath = dir.appendingPathComponent("\(power).h5").path
            c.labels = ["test": "fixture", "power": power.rawValue]
            c.vmstatCounters = VmstatDefaults.counters + ["nr_free_pages"]
            let summary = try Collector(configuration: c).record()
            let trace = try TraceReader.read(c.outputPath)
            #expect(trace.sampleCount == summary.samples)
            #expect(abs(trace.sampleCount - 25) <= 1 || summary.missedDeadlines > 0)
            #expect(trace.metadata.labels == ["test": "fixture", "power": power.rawValue])
            #expect(trace.metadata.sampleIntervalNs == 10_000_000)
            #expect(trace.metadata.coreCount == 2)
            #expect(trace.metadata.startTimeNs > 1_600_000_000_000_000_000)
            #expect(trace.vmstat.map(\.name) == ["pgfault", "pgmajfault", "pswpin", "pswpout", "nr_free_pages"])
            let stat = try ProcStatReader(procfs: c.procfs).read()
            #expect(trace.contextSwitches.allSatisfy { $0 == stat.contextSwitches })
            #expect(trace.cpuFields[3].allSatisfy { $0 == stat.cpu.idle })
            switch power {
            case .rapl:
                #expect(trace.metadata.powerSource == .rapl)
                #expect(trace.rapl.map(\.key) == ["intel-rapl:0", "intel-rapl:0:0", "intel-rapl:0:1", "intel-rapl:0:2",
                                                  "intel-rapl:1", "intel-rapl:1:0", "intel-rapl:1:1", "intel-rapl:1:2"])
                #expect(trace.rapl[3].maxEnergyRangeUj == 65_712_999_613)
            case .sim:
                #expect(trace.metadata.powerSource == .simulated(profile: "basic"))
                #expect(trace.rapl.map(\.name) == ["package-0"])
                #expect(trace.rapl[0].energyUj.last! > trace.rapl[0].energyUj.first!)
            }
        }
    }

    @Test func sourceErrorsSurfaceBeforeAnyFileIsWritten() throws {
        var c = try configuration(power: .rapl, duration: "1s")
        c.sysfs = CollectFixtures.sysfs("broken-no-zones")
        #expect(throws: VraplError.self) { _ = try Collector(configuration: c) }
        c.sysfs = CollectFixtures.sysfs("two-socket")
        c.intervalNs = 500_000
        #expect(throws: VraplError.self) { _ = try Collector(configuration: c) }
    }

    @Test func cpuModelFromCpuinfo() {
        #expect(HostInfo.cpuModel(cpuinfo: "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz\n")
                == "Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz")
        #expect(HostInfo.cpuModel(cpuinfo: "processor : 0\nHardware : BCM2835\n") == "BCM2835")
        #expect(HostInfo.cpuModel(cpuinfo: "") == "unknown")
        #expect(HostInfo.kernel().hasPrefix("Linux "))
    }
}
