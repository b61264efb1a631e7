import VraplCore

/// A central prediction interval around the point estimate (`interval` metadata, optional):
/// split conformal prediction, Mondrian by predicted power. Calibrated on windows the model was not
/// fitted on (its validation windows: held-out segments under a segment split), the residuals
/// r = y − ŷ are grouped into `edges.count + 1` bins of the prediction ŷ (equal counts), and each
/// bin keeps its conformal quantiles of r at (1 − nominal)/2 and (1 + nominal)/2 (rank
/// ⌈(n + 1)·q⌉ of n, the finite-sample correction). An estimate ŷ gets [ŷ + low_b, ŷ + high_b] of
/// its bin b. Why this and not a quantile head: it needs no change to the v4.1 network or its
/// PyTorch names, it is calibrated by construction on exchangeable data, and its width follows
/// where in power the model is ambiguous, which is where the feature ceiling is largest.
/// `{"nominal": 0.8, "method": "split-conformal, Mondrian by predicted power", "edges": [...],
/// "low": [...], "high": [...], "calibration_windows": 45244}`.
///
/// **Normalized by the local spread** (the default since 2026-12-01, `local` set): the width
/// follows how ambiguous the window's region of feature space is (`LocalSpread`: the spread of the
/// power of training windows with similar features) instead of the predicted power. Calibration
/// scores are s = (y − ŷ)/(a + ε), a the window's spread and ε = `epsilonWatts`; the interval is
/// [ŷ + low[0]·(a + ε), ŷ + high[0]·(a + ε)], `edges` empty. Still split conformal (exchangeable
/// data give the nominal coverage), but wide where a held-out workload is likely to err: on the
/// demo's family split the width picks windows with |error| > 5 W far better than Mondrian bins.
public struct PredictionInterval: Codable, Equatable, Sendable {
    public var nominal: Double
    public var method: String
    /// Upper edges of the prediction bins, ascending (bin b holds ŷ ≤ edges[b]; the last is open).
    public var edges: [Double]
    public var low: [Double]
    public var high: [Double]
    public var calibrationWindows: Int
    /// The reference set of the normalized method (nil: Mondrian bins by predicted power).
    public var local: LocalSpread? = nil
    /// ε of the normalized method, W (a floor under the spread, so agreeing neighbours still leave a width).
    public var epsilonWatts: Double? = nil

    enum CodingKeys: String, CodingKey {
        case nominal, method, edges, low, high, local
        case calibrationWindows = "calibration_windows"
        case epsilonWatts = "epsilon_w"
    }

    public static let normalizedMethod = "split-conformal, normalized by the local spread of training power (kNN)"

    /// True when the width follows the local spread (`local` set): bounds need the window's spread.
    public var isNormalized: Bool { local != nil }

    public init(nominal: Double, method: String, edges: [Double], low: [Double], high: [Double], calibrationWindows: Int) {
        self.nominal = nominal; self.method = method; self.edges = edges; self.low = low; self.high = high
        self.calibrationWindows = calibrationWindows
    }

    public static let defaultNominal = 0.8

    /// The interval of a point estimate whose window has local spread `spread` (W; the normalized
    /// method needs it, Mondrian bins ignore it).
    public func bounds(_ prediction: Double, spread: Double?) -> (low: Double, high: Double) {
        if isNormalized {
            let scale = max(0, spread ?? 0) + (epsilonWatts ?? 0)
            return (prediction + low[0] * scale, prediction + high[0] * scale)
        }
        return bounds(prediction)
    }

    /// The interval of a point estimate by Mondrian bins (models without `local`), W.
    public func bounds(_ prediction: Double) -> (low: Double, high: Double) {
        var b = 0
        while b < edges.count && prediction > edges[b] { b += 1 }
        return (prediction + low[b], prediction + high[b])
    }

    /// Checks the numbers (a model file's metadata is input like any other).
    public func validate() throws {
        guard nominal > 0, nominal < 1 else { throw VraplError("interval nominal \(nominal) must lie in (0, 1)") }
        guard low.count == edges.count + 1, high.count == low.count, low.count <= 1024 else {
            throw VraplError("interval has \(edges.count) edges but \(low.count) low and \(high.count) high bounds (expected edges + 1 each, at most 1024)")
        }
        guard (edges + low + high).allSatisfy({ $0.isFinite && abs($0) < maximumPlausibleZoneWatts }) else {
            throw VraplError("interval values must be finite watts below \(Int(maximumPlausibleZoneWatts)) W")
        }
        guard zip(edges, edges.dropFirst()).allSatisfy({ $0 <= $1 }), zip(low, high).allSatisfy({ $0 <= $1 }) else {
            throw VraplError("interval edges must ascend and each low bound must not exceed its high bound")
        }
        if let local {
            guard edges.isEmpty else { throw VraplError("interval.local comes with one normalized low and high bound, not \(edges.count) edges") }
            guard let e = epsilonWatts, e.isFinite, e > 0, e < maximumPlausibleZoneWatts else {
                throw VraplError("interval.epsilon_w must be a positive finite power when interval.local is set")
            }
            try local.validate()
        }
    }

    /// Calibrates the normalized method from (prediction, target, spread) triples of windows the model
    /// was not fitted on; ε is a tenth of the median spread, at least 0.25 W.
    public static func calibrateNormalized(predictions: [Double], targets: [Double], spreads: [Double], local: LocalSpread,
                                           nominal: Double = defaultNominal) -> PredictionInterval? {
        let rows = (0..<min(predictions.count, targets.count, spreads.count)).filter {
            predictions[$0].isFinite && targets[$0].isFinite && spreads[$0].isFinite
        }
        guard rows.count >= 20 else { return nil }
        let sortedSpreads = rows.map { max(0, spreads[$0]) }.sorted()
        let epsilon = max(0.25, 0.1 * sortedSpreads[sortedSpreads.count / 2])
        let scores = rows.map { (targets[$0] - predictions[$0]) / (max(0, spreads[$0]) + epsilon) }.sorted()
        let n = scores.count
        func q(_ level: Double) -> Double {
            let rank = Int((Double(n + 1) * level).rounded(.up))
            return scores[min(n - 1, max(0, rank - 1))]
        }
        var interval = PredictionInterval(nominal: nominal, method: normalizedMethod, edges: [], low: [q((1 - nominal) / 2)],
                                          high: [q((1 + nominal) / 2)], calibrationWindows: n)
        interval.local = local
        interval.epsilonWatts = epsilon
        return interval
    }

    /// Calibrates from (prediction, target) pairs of windows the model was not fitted on.
    public static func calibrate(predictions: [Double], targets: [Double], nominal: Double = defaultNominal,
                                 bins requested: Int = 8) -> PredictionInterval? {
        let pairs = zip(predictions, targets).filter { $0.0.isFinite && $0.1.isFinite }.sorted { $0.0 < $1.0 }
        guard pairs.count >= 20 else { return nil }
        let bins = max(1, min(requested, pairs.count / 50))
        var edges: [Double] = [], low: [Double] = [], high: [Double] = []
        for b in 0..<bins {
            let lo = b * pairs.count / bins, hi = (b + 1) * pairs.count / bins
            let residuals = pairs[lo..<hi].map { $0.1 - $0.0 }.sorted()
            let n = residuals.count
            func q(_ level: Double) -> Double {
                let rank = Int((Double(n + 1) * level).rounded(.up))
                return residuals[min(n - 1, max(0, rank - 1))]
            }
            low.append(q((1 - nominal) / 2))
            high.append(q((1 + nominal) / 2))
            if b < bins - 1 { edges.append(pairs[hi - 1].0) }
        }
        return PredictionInterval(nominal: nominal, method: "split-conformal, Mondrian by predicted power", edges: edges,
                                  low: low, high: high, calibrationWindows: pairs.count)
    }
}
