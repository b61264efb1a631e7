import Foundation
import VraplCore
@testable import VraplTrace

/// Shared helpers for the trace store tests.
enum TraceTestSupport {

    /// A synthetic trace of `n` samples exercising every field: two packages, a core subzone, a dram
    /// zone one step before wrap-around, four vmstat counters, hidden power and two segments.
    static func sampleTrace(samples n: Int, withHidden: Bool = true) -> TraceData {
        var metadata = TraceMetadata()
        metadata.hostName = "test-host"
        metadata.cpuModel = "Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz"
        metadata.kernel = "6.1.0-test"
        metadata.coreCount = 20
        metadata.sampleIntervalNs = 16_000_000
        metadata.powerSource = withHidden ? .simulated(profile: "xeon-4210r") : .rapl
        metadata.startTimeNs = 1_763_700_000_000_000_000
        metadata.userHz = 100
        metadata.labels = ["site": "lab ü", "run": "42"]
        var data = TraceData(metadata: metadata)
        data.vmstat = VmstatDefaults.counters.map { NamedCounterSeries(name: $0) }
        data.rapl = [
            RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: 262_143_328_850),
            RaplDomainSeries(key: "intel-rapl:0:0", name: "core", maxEnergyRangeUj: 262_143_328_850),
            RaplDomainSeries(key: "intel-rapl:1", name: "package-1", maxEnergyRangeUj: 262_143_328_850),
            RaplDomainSeries(key: "intel-rapl:0:1", name: "dram", maxEnergyRangeUj: 65_712_999_613),
        ]
        if withHidden { data.simHiddenWatts = [] }
        var stat = ProcStatSnapshot()
        var energy: [UInt64] = [1_000, 500, 7_000_000, 65_712_999_000]
        for i in 0..<n {
            stat.cpu.user += 3; stat.cpu.nice += UInt64(i % 2); stat.cpu.system += 1; stat.cpu.idle += 2
            stat.cpu.iowait += UInt64(i % 3 == 0 ? 1 : 0); stat.cpu.irq += 1; stat.cpu.softirq += 1
            stat.cpu.steal = UInt64(i / 10); stat.cpu.guest = UInt64(i / 5); stat.cpu.guestNice = UInt64(i / 7)
            stat.contextSwitches += 1000 + UInt64(i); stat.interrupts += 500; stat.processesCreated += UInt64(i % 4)
            stat.procsRunning = UInt64(1 + i % 3); stat.procsBlocked = UInt64(i % 2)
            let vm: [UInt64] = [UInt64(10 * i), UInt64(i / 3), 0, UInt64(i)]
            let t = UInt64(5_000_000_000) + UInt64(i) * 16_000_000 + UInt64(i % 5) * 1000
            data.append(monotonicNs: t, wallClockNs: metadata.startTimeNs + Int64(i) * 16_000_000, stat: stat,
                        vmstatValues: vm, energyUj: energy, simHiddenWatts: withHidden ? Float(i) * 0.5 : nil)
            energy[0] += 480_000; energy[1] += 300_000; energy[2] += 400_000
            energy[3] = energy[3] >= 65_712_999_613 - 100_000 ? energy[3] + 100_000 - 65_712_999_613 - 1 : energy[3] + 100_000
        }
        // Two segments need two samples (shorter traces have none: overlapping segments are refused).
        data.segments = n < 2 ? [] : [
            TraceSegment(name: "idle", firstSample: 0, lastSample: n / 2 - 1, parameters: ["family": "idle"]),
            TraceSegment(name: "cpu-2", firstSample: n / 2, lastSample: n - 1, parameters: ["family": "cpu", "stressor": "cpu", "workers": "2"]),
        ]
        return data
    }

}

extension TraceData {
    /// Field-by-field equality for tests (NaN-aware for hidden power).
    func sameContent(as other: TraceData) -> Bool {
        guard metadata == other.metadata, monotonicNs == other.monotonicNs, wallClockNs == other.wallClockNs,
              cpuFields == other.cpuFields, contextSwitches == other.contextSwitches, interrupts == other.interrupts,
              processesCreated == other.processesCreated, procsRunning == other.procsRunning,
              procsBlocked == other.procsBlocked, vmstat == other.vmstat, rapl == other.rapl,
              segments == other.segments else { return false }
        switch (simHiddenWatts, other.simHiddenWatts) {
        case (nil, nil): return true
        case let (a?, b?): return a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
        default: return false
        }
    }
}
