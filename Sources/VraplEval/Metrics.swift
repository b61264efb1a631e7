import Foundation

/// Point-error metrics of a power predictor against measured power, in watts.
///
/// With e = predicted − measured over n rows:
/// - `mae` = mean |e|, `rmse` = √(mean e²), `meanBias` = mean e (positive: the model over-predicts);
/// - `r2` = 1 − Σe² / Σ(measured − mean measured)²; nil when n < 2 or measured is constant;
/// - `mape` = 100 · mean |e| / |measured| over the rows with |measured| ≥ `mapeEpsilon` only
///   (`mapeCount` says how many; rows near 0 W would make it explode). nil when no row qualifies.
public struct ErrorMetrics: Codable, Sendable, Equatable {
    /// Rows with |measured| below this (W) are skipped by MAPE.
    public static let defaultMapeEpsilon = 1.0

    public var count: Int
    public var mae: Double
    public var rmse: Double
    public var r2: Double?
    public var mape: Double?
    public var mapeCount: Int
    public var meanBias: Double

    enum CodingKeys: String, CodingKey {
        case count, mae, rmse, r2, mape
        case mapeCount = "mape_count"
        case meanBias = "mean_bias"
    }

    /// Metrics over paired arrays (the shorter length wins). Empty input gives count 0 and NaN errors.
    public init(predicted: [Double], measured: [Double], mapeEpsilon: Double = ErrorMetrics.defaultMapeEpsilon) {
        let n = min(predicted.count, measured.count)
        count = n
        guard n > 0 else {
            mae = .nan; rmse = .nan; r2 = nil; mape = nil; mapeCount = 0; meanBias = .nan
            return
        }
        var sumAbs = 0.0, sumSq = 0.0, sumE = 0.0, sumY = 0.0, sumPct = 0.0
        var nPct = 0
        for i in 0..<n {
            let e = predicted[i] - measured[i]
            sumAbs += abs(e); sumSq += e * e; sumE += e; sumY += measured[i]
            if abs(measured[i]) >= mapeEpsilon { sumPct += abs(e) / abs(measured[i]); nPct += 1 }
        }
        let meanY = sumY / Double(n)
        var ssTot = 0.0
        for i in 0..<n { let d = measured[i] - meanY; ssTot += d * d }
        mae = sumAbs / Double(n)
        rmse = (sumSq / Double(n)).squareRoot()
        meanBias = sumE / Double(n)
        r2 = (n >= 2 && ssTot > 0) ? 1 - sumSq / ssTot : nil
        mapeCount = nPct
        mape = nPct > 0 ? 100 * sumPct / Double(nPct) : nil
    }

    /// Metrics per group label (`groups[i]` labels row i), keys sorted.
    public static func grouped(predicted: [Double], measured: [Double], groups: [String],
                               mapeEpsilon: Double = defaultMapeEpsilon) -> [(group: String, metrics: ErrorMetrics)] {
        var rows: [String: [Int]] = [:]
        for i in 0..<min(predicted.count, measured.count, groups.count) { rows[groups[i], default: []].append(i) }
        return rows.keys.sorted().map { key in
            let idx = rows[key] ?? []
            return (key, ErrorMetrics(predicted: idx.map { predicted[$0] }, measured: idx.map { measured[$0] },
                                           mapeEpsilon: mapeEpsilon))
        }
    }
}

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
