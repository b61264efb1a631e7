import Foundation
import Testing
import VraplCore
@testable import VraplTrace

@Suite("Trace summary (vrapl inspect)")
struct TraceSummaryTests {
    @Test("interval statistics and missed deadlines")
    func intervals() {
        var data = TraceData(metadata: TraceMetadata())  // nominal 16 ms
        // 100 intervals: 97 of 16 ms, one 20 ms, one 25 ms (missed), one 40 ms (missed).
        var t: UInt64 = 0
        var intervals = [UInt64](repeating: 16_000_000, count: 97) + [20_000_000, 25_000_000, 40_000_000]
        intervals.swapAt(10, 98)
        data.monotonicNs = [0] + intervals.map { t += $0; return t }
        data.wallClockNs = data.monotonicNs.map { Int64($0) }
        let n = data.monotonicNs.count
        data.cpuFields = (0..<10).map { _ in [UInt64](repeating: 0, count: n) }
        for k in [\TraceData.contextSwitches, \.interrupts, \.processesCreated, \.procsRunning, \.procsBlocked] {
            data[keyPath: k] = [UInt64](repeating: 0, count: n)
        }
        data.rapl = [RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: 0,
                                      energyUj: data.monotonicNs.map { $0 / 1000 * 30 })]  // 30 W
        let s = TraceSummary(trace: data, path: "x.h5")
        #expect(s.sampleCount == 101)
        #expect(abs(s.durationSeconds - (97 * 0.016 + 0.085)) < 1e-12)
        #expect(abs(s.intervalP50Ms - 16) < 1e-9)
        #expect(abs(s.intervalP99Ms - 25) < 1e-9)
        #expect(abs(s.intervalMaxMs - 40) < 1e-9)
        #expect(s.missedDeadlines == 2)
        #expect(abs((s.packageWatts?.mean ?? 0) - 30) < 1e-9)
        let text = s.render()
        #expect(text.contains("samples        101"))
        #expect(text.contains("missed         2 intervals"))
        #expect(text.contains("package-0 (intel-rapl:0)"))
    }

    @Test("simulated power is flagged")
    func simulated() {
        let text = TraceSummary(trace: SyntheticTrace.make(samples: 50), path: "s.h5").render()
        #expect(text.contains("sim:synthetic  (SIMULATED power"))
        #expect(text.contains("segments       1"))
    }
}
