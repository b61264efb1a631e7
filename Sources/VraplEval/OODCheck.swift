import Foundation
import VraplModel

/// What the guest's out-of-distribution flag (trust < 0.5, `TrustScorer`) detects (`ood` in
/// metrics.json): its false-alarm rate on ordinary held-out windows, and its detection rate on the
/// same windows made unusual on purpose: each window's context-switch rate ×10 (`log_ctx_switches`
/// + ln 10 at every position: log1p(10·r) ≈ log1p(r) + ln 10; a busier guest, inside or outside the
/// training range), the rate ten times the training maximum (outside it by construction), and every
/// busy percentage p read as 100 + p/2 (above 100 %, an impossible reading). The flagged share of
/// each split's test windows (a held-out family under the family split) is `ood_rate` of the split.
public struct OODCheck: Codable, Sendable {
    public var split: String
    public var windows: Int
    /// Flagged share of the split's test windows as they are.
    public var falseAlarmRate: Double
    /// Flagged share after multiplying each window's context-switch rate by 10.
    public var contextSwitchTenfoldDetection: Double?
    /// Flagged share with the context-switch rate at ten times the training maximum.
    public var contextSwitchBeyondRangeDetection: Double?
    /// Flagged share with the busy percentages above 100 % (100 + p/2).
    public var impossibleBusyDetection: Double?

    enum CodingKeys: String, CodingKey {
        case split, windows
        case falseAlarmRate = "false_alarm_rate"
        case contextSwitchTenfoldDetection = "ctx_switch_tenfold_detection"
        case contextSwitchBeyondRangeDetection = "ctx_switch_beyond_range_detection"
        case impossibleBusyDetection = "impossible_busy_detection"
    }

    /// Share of scores below the OOD threshold.
    static func flaggedShare(_ trust: [Double]) -> Double {
        trust.isEmpty ? 0 : Double(trust.filter { $0 < TrustScorer.oodThreshold }.count) / Double(trust.count)
    }

    /// Runs the check on `windows` of `data`, whose unperturbed trust scores are `plain` (nil: the
    /// model has no training statistics, and there is no check).
    static func make(split: String, data: EvalData, windows: [Int32], plain: [Double]?, predictor: ModelPredictor) throws -> OODCheck? {
        guard let plain else { return nil }
        let names = data.dataset.featureNames, d = data.dataset.embedding.d
        func perturbed(_ edit: @escaping (UnsafeMutablePointer<Float>) -> Void) throws -> Double? {
            try predictor.trust(dataset: data.dataset, windows: windows, perturb: edit).map(flaggedShare)
        }
        var ctx: Double? = nil, beyond: Double? = nil
        if let f = names.firstIndex(of: "log_ctx_switches") {
            let shift = Float(log(10.0))
            ctx = try perturbed { w in for j in 0..<d { w[f * d + j] += shift } }
            if let stats = predictor.model.trainingStats, f < stats.featureMax.count {
                let value = Float(stats.featureMax[f]) + shift
                beyond = try perturbed { w in for j in 0..<d { w[f * d + j] = value } }
            }
        }
        let busy = names.enumerated().filter { ["user_percent", "system_percent"].contains($0.element) }.map(\.offset)
        var impossible: Double? = nil
        if !busy.isEmpty {
            impossible = try perturbed { w in for f in busy { for j in 0..<d { w[f * d + j] = w[f * d + j] * 0.5 + 100 } } }
        }
        return OODCheck(split: split, windows: windows.count, falseAlarmRate: flaggedShare(plain),
                        contextSwitchTenfoldDetection: ctx, contextSwitchBeyondRangeDetection: beyond,
                        impossibleBusyDetection: impossible)
    }
}
