import Foundation
import VraplModel

/// Error of the rows whose busy CPU is below a threshold (DECODE-RAPL's "idle bias": their models
/// over-predicted an idle machine by 3–15 W on live workloads).
public struct IdleBias: Codable, Sendable, Equatable {
    /// Busy-CPU threshold, percent: rows with busy < threshold count as idle.
    public var thresholdPercent: Double
    public var metrics: ErrorMetrics

    enum CodingKeys: String, CodingKey {
        case thresholdPercent = "threshold_percent"
        case metrics
    }

    public init(predicted: [Double], measured: [Double], busyPercent: [Double], thresholdPercent: Double = 5) {
        self.thresholdPercent = thresholdPercent
        let idx = (0..<min(predicted.count, measured.count, busyPercent.count)).filter { busyPercent[$0] < thresholdPercent }
        metrics = ErrorMetrics(predicted: idx.map { predicted[$0] }, measured: idx.map { measured[$0] })
    }
}

/// Error by busy-CPU bin: bin i holds rows with edges[i] ≤ busy < edges[i+1] (the last bin also
/// takes busy == its upper edge, so 100 % lands in 90–100).
public struct BusyBin: Codable, Sendable, Equatable {
    public var lowerPercent: Double
    public var upperPercent: Double
    public var metrics: ErrorMetrics

    enum CodingKeys: String, CodingKey {
        case lowerPercent = "lower_percent"
        case upperPercent = "upper_percent"
        case metrics
    }

    public static let defaultEdges: [Double] = stride(from: 0.0, through: 100.0, by: 10.0).map { $0 }

    public static func bins(predicted: [Double], measured: [Double], busyPercent: [Double],
                            edges: [Double] = defaultEdges) -> [BusyBin] {
        guard edges.count >= 2 else { return [] }
        var members = [[Int]](repeating: [], count: edges.count - 1)
        let last = edges.count - 2
        for i in 0..<min(predicted.count, measured.count, busyPercent.count) {
            let b = busyPercent[i]
            guard b.isFinite else { continue }
            for k in 0...last where b >= edges[k] && (b < edges[k + 1] || (k == last && b == edges[k + 1])) {
                members[k].append(i)
                break
            }
        }
        return (0...last).map { k in
            BusyBin(lowerPercent: edges[k], upperPercent: edges[k + 1],
                    metrics: ErrorMetrics(predicted: members[k].map { predicted[$0] }, measured: members[k].map { measured[$0] }))
        }
    }
}
