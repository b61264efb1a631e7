import Foundation

/// Burst over-reaction: how a predictor behaves in the first second of a short burst of load that
/// follows idle (DECODE-RAPL's models overshot there; a lagging meter or thermal state undershoots).
///
/// Definition (rows are evaluation windows in time order; `sequence[i]` names the recording and
/// `sampleIndex[i]` the sample a row ends at, so rows i−1, i are contiguous when both agree up to +1):
/// - a row is **idle** when busy CPU < `idleThresholdPercent` (5 %);
/// - a **burst onset** is a non-idle row i preceded by at least `idleLeadSeconds` (1 s) of contiguous
///   idle rows;
/// - the burst runs from the onset over contiguous non-idle rows and ends at the first idle row; it is
///   **short** when it ended that way (not at a gap or the end of data) within `maxBurstSeconds` (10 s),
///   and it counts only if its peak busy CPU reaches `minPeakPercent` (20 %), so that noise blips are
///   not bursts;
/// - its **response rows** are the first `responseSeconds` (1 s) of the burst (clipped to the burst).
///
/// Reported: number of bursts; pooled over all response rows, the mean signed error (predicted −
/// measured) and the MAE; the mean over bursts of the peak overshoot max(predicted − measured) in the
/// response rows; and for contrast the MAE over the remaining (steady) rows of the same bursts.
public struct BurstOverReaction: Codable, Sendable, Equatable {
    public struct Parameters: Codable, Sendable, Equatable {
        public var idleThresholdPercent = 5.0
        public var minPeakPercent = 20.0
        public var idleLeadSeconds = 1.0
        public var maxBurstSeconds = 10.0
        public var responseSeconds = 1.0
        public init() {}
        enum CodingKeys: String, CodingKey {
            case idleThresholdPercent = "idle_threshold_percent"
            case minPeakPercent = "min_peak_percent"
            case idleLeadSeconds = "idle_lead_s"
            case maxBurstSeconds = "max_burst_s"
            case responseSeconds = "response_s"
        }
    }

    public var parameters: Parameters
    public var burstCount: Int
    public var responseRows: Int
    /// Mean (predicted − measured) over the response rows, W. nil without bursts.
    public var meanSignedError: Double?
    public var responseMAE: Double?
    /// Mean over bursts of max(predicted − measured) in the response rows, W.
    public var meanPeakOvershoot: Double?
    /// MAE over the rest of the same bursts, W (nil if the bursts are all shorter than the response).
    public var steadyMAE: Double?

    enum CodingKeys: String, CodingKey {
        case parameters
        case burstCount = "burst_count"
        case responseRows = "response_rows"
        case meanSignedError = "mean_signed_error"
        case responseMAE = "response_mae"
        case meanPeakOvershoot = "mean_peak_overshoot"
        case steadyMAE = "steady_mae"
    }

    /// Burst onsets and ends found in the rows (half-open ranges of row indices).
    public static func bursts(busyPercent: [Double], sequence: [Int], sampleIndex: [Int],
                              sampleIntervalSeconds: Double, parameters p: Parameters = Parameters()) -> [Range<Int>] {
        let n = min(busyPercent.count, sequence.count, sampleIndex.count)
        guard n > 0, sampleIntervalSeconds > 0 else { return [] }
        let lead = max(1, Int((p.idleLeadSeconds / sampleIntervalSeconds).rounded(.up)))
        let maxLen = max(1, Int((p.maxBurstSeconds / sampleIntervalSeconds).rounded(.down)))
        func contiguous(_ i: Int) -> Bool { i > 0 && sequence[i] == sequence[i - 1] && sampleIndex[i] == sampleIndex[i - 1] + 1 }
        func idle(_ i: Int) -> Bool { busyPercent[i] < p.idleThresholdPercent }
        var result: [Range<Int>] = []
        var idleRun = 0   // contiguous idle rows ending just before i
        var i = 0
        while i < n {
            if i > 0 && !contiguous(i) { idleRun = 0 }
            if idle(i) { idleRun += 1; i += 1; continue }
            guard idleRun >= lead else { idleRun = 0; i += 1; continue }
            // Onset at i: walk the burst.
            var j = i + 1
            var peak = busyPercent[i]
            while j < n && contiguous(j) && !idle(j) { peak = max(peak, busyPercent[j]); j += 1 }
            let endedByIdle = j < n && contiguous(j) && idle(j)
            if endedByIdle && j - i <= maxLen && peak >= p.minPeakPercent { result.append(i..<j) }
            idleRun = 0
            i = j
        }
        return result
    }

    public init(predicted: [Double], measured: [Double], busyPercent: [Double], sequence: [Int], sampleIndex: [Int],
                sampleIntervalSeconds: Double, parameters: Parameters = Parameters()) {
        self.parameters = parameters
        let ranges = Self.bursts(busyPercent: busyPercent, sequence: sequence, sampleIndex: sampleIndex,
                                 sampleIntervalSeconds: sampleIntervalSeconds, parameters: parameters)
            .filter { $0.upperBound <= min(predicted.count, measured.count) }
        let respLen = max(1, Int((parameters.responseSeconds / sampleIntervalSeconds).rounded(.up)))
        var sumE = 0.0, sumAbs = 0.0, rows = 0, sumPeak = 0.0, steadyAbs = 0.0, steadyRows = 0
        for r in ranges {
            let cut = min(r.upperBound, r.lowerBound + respLen)
            var peak = -Double.infinity
            for k in r.lowerBound..<cut {
                let e = predicted[k] - measured[k]
                sumE += e; sumAbs += abs(e); rows += 1; peak = max(peak, e)
            }
            sumPeak += peak
            for k in cut..<r.upperBound { steadyAbs += abs(predicted[k] - measured[k]); steadyRows += 1 }
        }
        burstCount = ranges.count
        responseRows = rows
        meanSignedError = rows > 0 ? sumE / Double(rows) : nil
        responseMAE = rows > 0 ? sumAbs / Double(rows) : nil
        meanPeakOvershoot = ranges.isEmpty ? nil : sumPeak / Double(ranges.count)
        steadyMAE = steadyRows > 0 ? steadyAbs / Double(steadyRows) : nil
    }
}
