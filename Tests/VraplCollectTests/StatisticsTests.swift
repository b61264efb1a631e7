import Testing
import VraplCore
@testable import VraplCollect

@Suite struct DurationTextTests {
    @Test(arguments: [("16ms", 16_000_000), ("1s", 1_000_000_000), ("60s", 60_000_000_000), ("2m", 120_000_000_000),
                      ("1.5s", 1_500_000_000), ("500us", 500_000), ("250ns", 250), ("1h", 3_600_000_000_000), (" 10ms ", 10_000_000)])
    func parses(text: String, ns: UInt64) throws {
        #expect(try DurationText.nanoseconds(text) == ns)
    }

    @Test(arguments: [("16", "has no unit"), ("ms", "does not start with a number"), ("5 parsecs", "unknown unit"),
                      ("10x", "unknown unit 'x'"), ("-1s", "unknown unit"), ("1e30h", "unknown unit")])
    func rejects(text: String, message: String) {
        do {
            _ = try DurationText.nanoseconds(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
            #expect("\(error)".contains("'\(text)'"))
        }
    }

    @Test func formats() {
        #expect(DurationText.format(nanoseconds: 16_000_000) == "16ms")
        #expect(DurationText.format(nanoseconds: 120_000_000_000) == "2m")
        #expect(DurationText.format(nanoseconds: 1_500_000_000) == "1500ms")
    }
}

@Suite struct IntervalStatisticsTests {
    // Samples at 0, 16, 33, 48, 64, 100 ms → intervals 16, 17, 15, 16, 36 ms; sorted 15 16 16 17 36.
    static let ms: UInt64 = 1_000_000
    static let t: [UInt64] = [0, 16, 33, 48, 64, 100].map { $0 * ms }

    @Test func handWorkedExample() throws {
        let s = try #require(IntervalStatistics.of(monotonicNs: Self.t))
        #expect(s.count == 5)
        #expect(s.p50Ns == 16 * Self.ms)   // rank ⌈0.5·5⌉ = 3 → 16
        #expect(s.p99Ns == 36 * Self.ms)   // rank ⌈0.99·5⌉ = 5 → 36
        #expect(s.maxNs == 36 * Self.ms)
        #expect(s.minNs == 15 * Self.ms)
        #expect(s.meanNs == 20.0 * Double(Self.ms))
    }

    @Test func nearestRankPercentiles() {
        let v: [UInt64] = Array(1...100)
        #expect(IntervalStatistics.percentile(sorted: v, 50) == 50)
        #expect(IntervalStatistics.percentile(sorted: v, 99) == 99)
        #expect(IntervalStatistics.percentile(sorted: v, 100) == 100)
        #expect(IntervalStatistics.percentile(sorted: v, 0) == 1)
        #expect(IntervalStatistics.percentile(sorted: [7], 99) == 7)
        #expect(IntervalStatistics.percentile(sorted: [], 50) == nil)
        #expect(IntervalStatistics.of(monotonicNs: [5]) == nil)
    }

    @Test func missedDeadlines() {
        // Ticks due at 0, 16, 32, 48, 64, 80, 96: seven ticks up to 100 ms, six samples → one missed.
        #expect(IntervalStatistics.missedDeadlines(monotonicNs: Self.t, startNs: 0, intervalNs: 16 * Self.ms) == 1)
        #expect(IntervalStatistics.missedDeadlines(monotonicNs: [0, 16, 32].map { $0 * Self.ms }, startNs: 0, intervalNs: 16 * Self.ms) == 0)
        #expect(IntervalStatistics.missedDeadlines(monotonicNs: [], startNs: 0, intervalNs: 16 * Self.ms) == 0)
    }

    @Test func histogramMatchesExactStatisticsToHalfABucket() throws {
        // 16.001, 16.004, 15.996, 17.5 and 120 ms with 10 µs buckets over 0…100 ms.
        var h = IntervalHistogram(resolutionNs: 10_000, buckets: 10_000)
        for v: UInt64 in [16_001_000, 16_004_000, 15_996_000, 17_500_000, 120_000_000] { h.add(v) }
        #expect(h.total == 5)
        #expect(h.overflow == 1)
        #expect(h.percentile(50) == 16_005_000)   // rank 3 = 16.004 ms, bucket [16.000, 16.010) → midpoint
        #expect(h.percentile(20) == 15_995_000)   // rank 1 = 15.996 ms, bucket [15.990, 16.000)
        #expect(h.percentile(80) == 17_505_000)   // rank 4 = 17.5 ms
        #expect(h.percentile(99) == 120_000_000)  // rank 5 is in the overflow: the exact maximum
        #expect(h.maxNs == 120_000_000)
        #expect(h.minNs == 15_996_000)
        let s = try #require(h.statistics)
        #expect(abs(s.meanNs - 37_100_200) < 1)
    }
}
