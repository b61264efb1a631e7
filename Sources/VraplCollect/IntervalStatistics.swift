/// Sampling-interval statistics: the interval between consecutive samples' actual monotonic
/// timestamps, in nanoseconds. Percentiles are nearest-rank: the p-th percentile of n sorted values
/// is the value at rank ⌈p/100 · n⌉ (1-based).
public struct IntervalStatistics: Sendable, Equatable {
    /// Number of intervals (samples − 1).
    public var count: Int
    public var p50Ns: UInt64
    public var p99Ns: UInt64
    public var maxNs: UInt64
    public var minNs: UInt64
    public var meanNs: Double

    public init(count: Int, p50Ns: UInt64, p99Ns: UInt64, maxNs: UInt64, minNs: UInt64, meanNs: Double) {
        self.count = count; self.p50Ns = p50Ns; self.p99Ns = p99Ns; self.maxNs = maxNs; self.minNs = minNs; self.meanNs = meanNs
    }

    /// Nearest-rank percentile of already sorted values (nil when empty).
    public static func percentile(sorted values: [UInt64], _ p: Double) -> UInt64? {
        guard !values.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(values.count)).rounded(.up))
        return values[min(max(rank, 1), values.count) - 1]
    }

    /// The intervals between consecutive timestamps (a timestamp that goes backwards gives 0).
    public static func intervals(monotonicNs t: [UInt64]) -> [UInt64] {
        guard t.count > 1 else { return [] }
        return (1..<t.count).map { t[$0] >= t[$0 - 1] ? t[$0] - t[$0 - 1] : 0 }
    }

    /// Statistics of the intervals between `monotonicNs` timestamps; nil for fewer than two samples.
    public static func of(monotonicNs t: [UInt64]) -> IntervalStatistics? {
        let d = intervals(monotonicNs: t).sorted()
        guard let p50 = percentile(sorted: d, 50), let p99 = percentile(sorted: d, 99),
              let lo = d.first, let hi = d.last else { return nil }
        let mean = d.reduce(0.0) { $0 + Double($1) } / Double(d.count)
        return IntervalStatistics(count: d.count, p50Ns: p50, p99Ns: p99, maxNs: hi, minNs: lo, meanNs: mean)
    }

    /// Deadlines missed by a loop whose tick k is due at `startNs + k·intervalNs` and that skips a
    /// tick once the following one is due: ticks elapsed up to the last sample minus samples taken,
    /// `⌊(t_last − start) / interval⌋ + 1 − n`.
    public static func missedDeadlines(monotonicNs t: [UInt64], startNs: UInt64, intervalNs: UInt64) -> Int {
        guard let last = t.last, intervalNs > 0, last >= startNs else { return 0 }
        let ticks = Int((last - startNs) / intervalNs) + 1
        return max(0, ticks - t.count)
    }
}

/// A fixed-size histogram of intervals for the sampling loop: adding a value never allocates.
/// Buckets are `resolutionNs` wide from 0 to `buckets · resolutionNs`; larger values go into an
/// overflow count (the exact maximum is kept separately). Percentiles report the bucket's midpoint,
/// so they are exact to ±resolution/2 (5 µs by default, with a 100 ms range in 40 kB).
public struct IntervalHistogram {
    public let resolutionNs: UInt64
    private var counts: [UInt32]
    public private(set) var total = 0
    public private(set) var overflow = 0
    public private(set) var maxNs: UInt64 = 0
    public private(set) var minNs: UInt64 = .max
    private var sumNs: Double = 0

    public init(resolutionNs: UInt64 = 10_000, buckets: Int = 10_000) {
        self.resolutionNs = max(resolutionNs, 1)
        counts = [UInt32](repeating: 0, count: max(buckets, 1))
    }

    @inline(__always)
    public mutating func add(_ ns: UInt64) {
        let b = ns / resolutionNs
        if b < UInt64(counts.count) { counts[Int(b)] &+= 1 } else { overflow += 1 }
        total += 1
        sumNs += Double(ns)
        if ns > maxNs { maxNs = ns }
        if ns < minNs { minNs = ns }
    }

    /// Nearest-rank percentile, as the midpoint of its bucket (or `maxNs` when it lies in the overflow).
    public func percentile(_ p: Double) -> UInt64? {
        guard total > 0 else { return nil }
        let rank = min(max(Int((p / 100 * Double(total)).rounded(.up)), 1), total)
        var seen = 0
        for (i, c) in counts.enumerated() {
            seen += Int(c)
            if seen >= rank { return min(UInt64(i) * resolutionNs + resolutionNs / 2, maxNs) }
        }
        return maxNs
    }

    public var meanNs: Double { total > 0 ? sumNs / Double(total) : 0 }

    /// The summary in the form `IntervalStatistics.of` gives (percentiles to ±resolution/2).
    public var statistics: IntervalStatistics? {
        guard total > 0, let p50 = percentile(50), let p99 = percentile(99) else { return nil }
        return IntervalStatistics(count: total, p50Ns: p50, p99Ns: p99, maxNs: maxNs, minNs: minNs, meanNs: meanNs)
    }
}
