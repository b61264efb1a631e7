import Foundation
import Testing
import VraplCore
@testable import VraplTrace

@Suite("Derived series from raw counters")
struct DerivedSeriesTests {
    /// Four samples worked by hand: a normal 16 ms interval, a zero-Δt interval with no change, and a
    /// 32 ms interval in which iowait steps backwards and package-0 wraps.
    static func handTrace() -> TraceData {
        var data = TraceData(metadata: TraceMetadata())
        data.monotonicNs = [1_000_000_000, 1_016_000_000, 1_016_000_000, 1_048_000_000]
        data.wallClockNs = [10_000_000_000, 10_016_000_000, 10_016_000_000, 10_048_000_000]
        //                user  nice system idle  iowait irq softirq steal guest guest_nice
        let rows: [[UInt64]] = [
            [100, 10, 50, 1000, 20, 5, 5, 0, 0, 0],
            [103, 10, 51, 1004, 22, 6, 6, 1, 2, 0],
            [103, 10, 51, 1004, 22, 6, 6, 1, 2, 0],
            [111, 10, 51, 1004, 21, 6, 6, 1, 2, 0],
        ]
        data.cpuFields = (0..<10).map { f in rows.map { $0[f] } }
        data.contextSwitches = [1000, 1160, 1160, 1480]
        data.interrupts = [0, 32, 32, 32]
        data.processesCreated = [5, 5, 5, 6]
        data.procsRunning = [1, 2, 3, 4]
        data.procsBlocked = [0, 0, 1, 0]
        data.vmstat = [NamedCounterSeries(name: "pgfault", values: [0, 16, 16, 48])]
        data.rapl = [
            RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: 1_000_000, energyUj: [999_000, 999_500, 999_500, 300]),
            RaplDomainSeries(key: "intel-rapl:1", name: "package-1", maxEnergyRangeUj: 1_000_000, energyUj: [0, 1600, 1600, 3200]),
            RaplDomainSeries(key: "intel-rapl:0:0", name: "dram", maxEnergyRangeUj: 1_000_000, energyUj: [0, 16_000, 16_000, 16_000]),
        ]
        return data
    }

    static func close(_ a: [Double], _ b: [Double], tolerance: Double = 1e-9) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    @Test("hand-worked intervals: Δt, watts with a wrap, DECODE-RAPL percentages, busy, rates, gauges")
    func handWorked() {
        let d = DerivedSeries(Self.handTrace())
        #expect(d.intervalCount == 3)
        #expect(Self.close(d.intervalSeconds, [0.016, 0, 0.032]))
        #expect(Self.close(d.endTimeUnix, [10.016, 10.016, 10.048]))
        // package-0: 500 µJ / 16 ms; nothing / 0 s; wrap: (1_000_000 − 999_500) + 300 + 1 = 801 µJ / 32 ms.
        #expect(Self.close(d.zones[0].watts, [0.03125, 0, 801e-6 / 0.032]))
        #expect(Self.close(d.zones[1].watts, [0.1, 0, 0.05]))
        #expect(Self.close(d.zones[2].watts, [1.0, 0, 0]))
        // Package sum excludes dram.
        #expect(Self.close(d.packageWatts ?? [], [0.13125, 0, 801e-6 / 0.032 + 0.05]))
        // Interval 0: Δuser 3, Δsystem 1, Δidle 4, Δiowait 2 → DECODE total 10.
        // Full total: + nice 0 + irq 1 + softirq 1 + steal 1 = 13 (guest 2 is inside user: not added);
        // busy = 13 − 4 − 2 = 7. Interval 1: nothing moved and Δt is 0 → the previous interval's
        // percentages and rates are held (the one zero-tick rule, FeatureExtractor's), never NaN.
        // Interval 2: iowait went back (delta 0), Δuser 8 → user 100 %, busy 100 %.
        #expect(Self.close(d.userPercent, [30, 30, 100]))
        #expect(Self.close(d.systemPercent, [10, 10, 0]))
        #expect(Self.close(d.iowaitPercent, [20, 20, 0]))
        #expect(Self.close(d.busyPercent, [700.0 / 13, 700.0 / 13, 100]))
        #expect(Self.close(d.contextSwitchesPerSecond, [10_000, 10_000, 10_000]))
        #expect(Self.close(d.interruptsPerSecond, [2000, 2000, 0]))
        #expect(Self.close(d.processesPerSecond, [0, 0, 1 / 0.032]))
        #expect(Self.close(d.vmstatPerSecond.first?.perSecond ?? [], [1000, 1000, 1000]))
        #expect(d.procsRunning == [2, 3, 4])
        #expect(d.procsBlocked == [0, 1, 0])
        let all = [d.intervalSeconds, d.userPercent, d.busyPercent, d.contextSwitchesPerSecond, d.packageWatts ?? []] + d.zones.map(\.watts)
        #expect(all.allSatisfy { $0.allSatisfy(\.isFinite) })
    }

    @Test("empty and single-sample traces have no intervals", arguments: [0, 1])
    func tiny(samples: Int) {
        let d = DerivedSeries(TraceTestSupport.sampleTrace(samples: samples))
        #expect(d.intervalCount == 0)
        #expect(d.userPercent.isEmpty && d.intervalSeconds.isEmpty)
        #expect(d.packageWatts?.isEmpty == true)
    }

    @Test("no package zone: packageWatts is nil")
    func noPackage() {
        var data = Self.handTrace()
        data.rapl.removeFirst(2)
        #expect(DerivedSeries(data).packageWatts == nil)
    }

    @Test("cpuPercentages table", arguments: [
        // (user, nice, system, idle, iowait, irq, softirq, steal) → (user%, system%, iowait%, busy%)
        ([0, 0, 0, 0, 0, 0, 0, 0], [0.0, 0, 0, 0]),
        ([1, 0, 1, 2, 0, 0, 0, 0], [25.0, 25, 0, 50]),
        ([0, 4, 0, 0, 0, 0, 0, 0], [0.0, 0, 0, 100]),  // only nice: DECODE total 0 → 0, busy 100
        ([0, 0, 0, 3, 1, 0, 0, 0], [0.0, 0, 25, 0]),
        ([2, 2, 2, 2, 2, 0, 0, 10], [25.0, 25, 25, 80]),
    ] as [([UInt64], [Double])])
    func percentages(deltas: [UInt64], expected: [Double]) {
        let p = DerivedSeries.cpuPercentages(user: deltas[0], nice: deltas[1], system: deltas[2], idle: deltas[3],
                                             iowait: deltas[4], irq: deltas[5], softirq: deltas[6], steal: deltas[7])
        #expect(Self.close([p.user, p.system, p.iowait, p.busy], expected))
    }

    @Test("watts agree with energyDelta across a wrap at a realistic range")
    func realisticWrap() {
        let range: UInt64 = 262_143_328_850
        // 0.4 J before the wrap, 1.2 J after it, over 16 ms: (0.4 + 1.2 + 1e-6) J / 0.016 s.
        let w = DerivedSeries.watts(previous: range - 400_000, current: 1_200_000, maxRange: range, seconds: 0.016)
        #expect(abs(w - 1.600001 / 0.016) < 1e-9)
        #expect(DerivedSeries.watts(previous: 5, current: 10, maxRange: range, seconds: 0) == 0)
        #expect(DerivedSeries.rate(previous: 10, current: 5, seconds: 1) == 0)
    }
}
