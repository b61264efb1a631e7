import Foundation
import VraplModel

/// Post-hoc corrections of a model's predictions on a new machine or workload, each fitted on the
/// first part of a time-ordered sequence and scored on the rest (never on the data it was fitted on).
///
/// - `idle-offset` (DECODE-RAPL's proposal against its +3 to +15 W idle bias): b = mean(predicted −
///   measured) over the idle rows (busy CPU < 5 %) of the fitting part; corrected = predicted − b.
/// - `host-offset-scale` (vrapl-guest's host-assisted calibration, where the host publishes the VM's
///   energy every few seconds): measured ≈ a + s · predicted fitted by Theil–Sen (median of pairwise
///   slopes, median intercept) on interval means over `intervalRows` rows of the fitting part, as
///   the guest's `HostCalibrator` does on the host counter's update intervals; corrected = a + s · predicted.
public struct CalibrationResult: Codable, Sendable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        case idleOffset = "idle-offset"
        case hostOffsetScale = "host-offset-scale"
    }
    public var method: Method
    /// What it was applied to (a live trace name or the test set).
    public var data: String
    public var fitRows: Int
    public var scoreRows: Int
    /// idle-offset: [b]; host-offset-scale: [a, s]. Empty when it could not be fitted.
    public var parameters: [Double]
    public var before: ErrorMetrics
    public var after: ErrorMetrics?
    public var idleBiasBefore: Double?
    public var idleBiasAfter: Double?
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case method, data
        case fitRows = "fit_rows"
        case scoreRows = "score_rows"
        case parameters, before, after
        case idleBiasBefore = "idle_bias_before"
        case idleBiasAfter = "idle_bias_after"
        case note
    }

    /// Theil–Sen line through (x, y): (intercept, slope). Fewer than 2 distinct x give (median(y − x), 1).
    public static func theilSen(x: [Double], y: [Double]) -> (a: Double, s: Double) {
        let n = min(x.count, y.count)
        var slopes: [Double] = []
        for i in 0..<n { for j in (i + 1)..<n where abs(x[j] - x[i]) > 1e-9 { slopes.append((y[j] - y[i]) / (x[j] - x[i])) } }
        guard !slopes.isEmpty else { return (median((0..<n).map { y[$0] - x[$0] }) ?? 0, 1) }
        let s = median(slopes) ?? 1
        return (median((0..<n).map { y[$0] - s * x[$0] }) ?? 0, s)
    }

    static func median(_ v: [Double]) -> Double? {
        guard !v.isEmpty else { return nil }
        let s = v.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// Fits on rows `0..<split` and scores rows `split...` of time-ordered arrays (`fitFraction` of them fit).
    public static func run(_ method: Method, data: String, predicted: [Double], measured: [Double], busyPercent: [Double],
                           fitFraction: Double = 0.5, intervalRows: Int = 125, idleThresholdPercent: Double = 5) -> CalibrationResult {
        let n = min(predicted.count, measured.count, busyPercent.count)
        let cut = max(0, min(n, Int(Double(n) * fitFraction)))
        let pf = Array(predicted[0..<cut]), yf = Array(measured[0..<cut]), bf = Array(busyPercent[0..<cut])
        let ps = Array(predicted[cut..<n]), ys = Array(measured[cut..<n]), bs = Array(busyPercent[cut..<n])
        let before = ErrorMetrics(predicted: ps, measured: ys)
        let idleBefore = IdleBias(predicted: ps, measured: ys, busyPercent: bs, thresholdPercent: idleThresholdPercent).metrics
        var result = CalibrationResult(method: method, data: data, fitRows: cut, scoreRows: n - cut, parameters: [],
                                       before: before, after: nil,
                                       idleBiasBefore: idleBefore.count > 0 ? idleBefore.meanBias : nil,
                                       idleBiasAfter: nil, note: nil)
        var corrected: [Double]
        switch method {
        case .idleOffset:
            let idle = (0..<cut).filter { bf[$0] < idleThresholdPercent }
            guard !idle.isEmpty else { result.note = "no idle rows in the fitting part"; return result }
            let b = idle.reduce(0.0) { $0 + pf[$1] - yf[$1] } / Double(idle.count)
            result.parameters = [b]
            corrected = ps.map { $0 - b }
        case .hostOffsetScale:
            var xm: [Double] = [], ym: [Double] = []
            var start = 0
            while start + intervalRows <= cut {
                let r = start..<(start + intervalRows)
                xm.append(r.reduce(0.0) { $0 + pf[$1] } / Double(intervalRows))
                ym.append(r.reduce(0.0) { $0 + yf[$1] } / Double(intervalRows))
                start += intervalRows
            }
            guard xm.count >= 2 else { result.note = "fewer than 2 host intervals in the fitting part"; return result }
            let fit = theilSen(x: xm, y: ym)
            result.parameters = [fit.a, fit.s]
            corrected = ps.map { fit.a + fit.s * $0 }
        }
        guard !corrected.isEmpty else { result.note = "nothing left to score"; return result }
        result.after = ErrorMetrics(predicted: corrected, measured: ys)
        let idleAfter = IdleBias(predicted: corrected, measured: ys, busyPercent: bs, thresholdPercent: idleThresholdPercent).metrics
        result.idleBiasAfter = idleAfter.count > 0 ? idleAfter.meanBias : nil
        return result
    }
}
