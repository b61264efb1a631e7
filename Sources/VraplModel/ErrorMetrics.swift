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

    /// Non-finite scores (anything of an empty set) are written as JSON `null` and read back as NaN;
    /// a nil R² or MAPE is `null` too. Files written before MAPE and bias were recorded read as
    /// MAPE nil, bias NaN.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        for (key, value) in [(CodingKeys.mae, mae), (.rmse, rmse), (.r2, r2 ?? .nan), (.mape, mape ?? .nan), (.meanBias, meanBias)] {
            if value.isFinite { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
        }
        try c.encode(mapeCount, forKey: .mapeCount)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func score(_ key: CodingKeys) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: key) }
        count = try c.decode(Int.self, forKey: .count)
        mae = try score(.mae) ?? .nan
        rmse = try score(.rmse) ?? .nan
        r2 = try score(.r2)
        mape = try score(.mape)
        mapeCount = try c.decodeIfPresent(Int.self, forKey: .mapeCount) ?? 0
        meanBias = try score(.meanBias) ?? .nan
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
