import Foundation
import VraplCore
import VraplDataset
import VraplModel

/// Error by guest size (`guest_size` in metrics.json): on guest-view data, the test windows of one
/// split grouped by the guest's vCPUs k and its neighbours' load, for the guest-shaped model, a
/// whole-host model run on the same windows (what a DECODE-RAPL checkpoint gives a guest, when one
/// is given), a per-vCPU baseline, and the tenant-level irreducible error (simulator's `sim_hidden_w`).
///
/// The per-vCPU baseline is Cloud Carbon Footprint's rule applied per vCPU:
/// ŷ = k · (m + u · (M − m)), u the guest's busy CPU fraction, m = P_idle / T from the model's host,
/// M fitted on the split's training windows by least squares (closed form).
public struct GuestSizeReport: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var vcpus: Int
        /// Neighbour load of the segments (`all` for the row over every load).
        public var neighbourLoad: String
        public var windows: Int
        public var meanTargetWatts: Double
        public var model: ErrorMetrics
        public var wholeHostModel: ErrorMetrics?
        public var perVcpuBaseline: ErrorMetrics
        /// RMSE of `sim_hidden_w` over the same windows (simulator only): no guest-visible predictor does better.
        public var irreducibleRMSE: Double?
        /// Share of these windows inside the model's interval (nil without one).
        public var intervalCoverage: Double? = nil

        enum CodingKeys: String, CodingKey {
            case vcpus, windows, model
            case intervalCoverage = "interval_coverage"
            case neighbourLoad = "neighbour_load"
            case meanTargetWatts = "mean_target_w"
            case wholeHostModel = "whole_host_model"
            case perVcpuBaseline = "per_vcpu_baseline"
            case irreducibleRMSE = "irreducible_rmse"
        }
    }

    public var split: String
    public var hostThreads: Int
    public var hostIdleWatts: Double
    public var rule: String
    public var wholeHostModelName: String?
    /// M of the per-vCPU baseline, W per fully busy vCPU.
    public var perVcpuMaxWatts: Double
    public var rows: [Row]
    /// `--co-tenants`: the sum of independent estimates of guests sharing one host against its package.
    public var coTenancy: CoTenancyReport? = nil

    enum CodingKeys: String, CodingKey {
        case split, rows, rule
        case coTenancy = "co_tenancy"
        case hostThreads = "host_threads"
        case hostIdleWatts = "host_idle_w"
        case wholeHostModelName = "whole_host_model_name"
        case perVcpuMaxWatts = "per_vcpu_max_w"
    }

    /// Groups `test` windows of `data` (a guest view) by k and neighbour load and scores them.
    /// `predicted` and `wholeHost` are aligned with `test`.
    /// `covered[i]`: whether test window i lies inside the model's interval (nil without one).
    static func make(split: String, data: EvalData, shape: GuestShape, train: [Int32], test: [Int32], predicted: [Double],
                     wholeHost: (name: String, predicted: [Double])?, covered: [Bool]? = nil) -> GuestSizeReport {
        let t = Double(shape.host.threads)
        let m = shape.host.idleWatts / t
        func k(_ w: Int32) -> Double { Double(data.segment(Int(w)).parameters["vcpus"].flatMap(Int.init) ?? shape.host.threads) }
        // M by least squares of y − k·m = (M − m)·k·u over the training windows.
        var num = 0.0, den = 0.0
        for w in train {
            let x = k(w) * data.busyPercent[Int(w)] / 100
            num += (data.target(Int(w)) - k(w) * m) * x
            den += x * x
        }
        let slope = den > 0 ? num / den : 0
        let baseline = test.map { w in k(w) * (m + data.busyPercent[Int(w)] / 100 * slope) }

        var groups: [String: [Int]] = [:]
        for (i, w) in test.enumerated() {
            let seg = data.segment(Int(w))
            let key = "\(Int(k(w)))|\(seg.parameters["neighbour_load"] ?? "0")"
            groups[key, default: []].append(i)
            groups["\(Int(k(w)))|all", default: []].append(i)
        }
        var rows: [Row] = []
        for (key, idx) in groups {
            let parts = key.split(separator: "|")
            let y = idx.map { data.target(Int(test[$0])) }
            let hidden = idx.compactMap { data.hidden(Int(test[$0])) }
            rows.append(Row(vcpus: Int(parts[0]) ?? 0, neighbourLoad: String(parts[1]), windows: idx.count,
                            meanTargetWatts: y.reduce(0, +) / Double(max(1, y.count)),
                            model: ErrorMetrics(predicted: idx.map { predicted[$0] }, measured: y),
                            wholeHostModel: wholeHost.map { wh in ErrorMetrics(predicted: idx.map { wh.predicted[$0] }, measured: y) },
                            perVcpuBaseline: ErrorMetrics(predicted: idx.map { baseline[$0] }, measured: y),
                            irreducibleRMSE: hidden.isEmpty ? nil : (hidden.reduce(0) { $0 + $1 * $1 } / Double(hidden.count)).squareRoot(),
                            intervalCoverage: covered.map { c in Double(idx.filter { c[$0] }.count) / Double(max(1, idx.count)) }))
        }
        rows.sort { ($0.vcpus, $0.neighbourLoad == "all" ? "~" : $0.neighbourLoad) < ($1.vcpus, $1.neighbourLoad == "all" ? "~" : $1.neighbourLoad) }
        return GuestSizeReport(split: split, hostThreads: shape.host.threads, hostIdleWatts: shape.host.idleWatts, rule: shape.rule.rawValue,
                               wholeHostModelName: wholeHost?.name, perVcpuMaxWatts: slope + m, rows: rows)
    }
}
