import Foundation
import VraplCore
import VraplDataset
import VraplModel
import VraplTrace

/// Co-tenancy check (`guest_size.co_tenancy` in metrics.json): guests that share one host time line
/// (`vrapl simulate --co-tenants 2,4,6,8`), each estimated independently by the guest-shaped model as
/// its own `vrapl-guest` would (reported power = max(P_idle·k/T, model output)); how far the sum of
/// the estimates lands from the package meter, beside the sum of the true shares.
public struct CoTenancyReport: Codable, Sendable {
    public struct Tenant: Codable, Sendable {
        public var trace: String
        public var vcpus: Int
        public var meanEstimateWatts: Double
        public var meanTruthWatts: Double
        public var mae: Double

        enum CodingKeys: String, CodingKey {
            case trace, vcpus, mae
            case meanEstimateWatts = "mean_estimate_w"
            case meanTruthWatts = "mean_truth_w"
        }
    }

    public var tenants: [Tenant]
    /// Samples scored (where every tenant has a full window) and their duration, s.
    public var samples: Int
    public var seconds: Double
    public var packageMeanWatts: Double
    public var estimateSumMeanWatts: Double
    public var truthSumMeanWatts: Double
    /// Σ estimates / package − 1 over the run.
    public var relativeError: Double

    enum CodingKeys: String, CodingKey {
        case tenants, samples, seconds
        case packageMeanWatts = "package_mean_w"
        case estimateSumMeanWatts = "estimate_sum_mean_w"
        case truthSumMeanWatts = "truth_sum_mean_w"
        case relativeError = "relative_error"
    }

    /// Scores `model` (guest-shaped) on co-tenant traces of one host time line.
    public static func run(model: ModelFile, paths: [String], threads: Int) throws -> CoTenancyReport {
        guard let shape = model.guestShape else {
            throw VraplError("--co-tenants needs a guest-shaped model (guest_shape metadata); \(model.displayName) is a whole-host model")
        }
        let featureSet = try model.featureSet()
        struct Loaded { var name: String; var vcpus: [UInt64]; var first: Int; var estimate: [Double]; var truth: [Float]; var package: [Float] }
        var loaded: [Loaded] = []
        for path in paths {
            let trace = try TraceReader.read(path)
            guard let view = trace.guestView else { throw VraplError("\(path): not a guest view (no /guest_view): --co-tenants takes `vrapl simulate --co-tenants` traces") }
            guard view.host == shape.host else {
                throw VraplError("\(path): a guest of host \(view.host.cpuModel) (\(view.host.threads) threads), the model's host is \(shape.host.cpuModel) (\(shape.host.threads) threads)")
            }
            let series = try FeatureSeries(trace: trace, featureSet: featureSet)
            let predictions = try ModelPredictor(model: model, threads: threads).predict(series: series)
            let first = series.firstWindowEnd(model.delayEmbedding)
            var estimate = [Double](repeating: .nan, count: trace.sampleCount)
            for (i, p) in predictions.enumerated() {
                let t = first + i
                let idle = shape.rule.idleWatts(host: shape.host, vcpus: Int(view.vcpus[t]))
                estimate[t] = max(idle, Double(p))
            }
            loaded.append(Loaded(name: URL(fileURLWithPath: path).lastPathComponent, vcpus: view.vcpus, first: first,
                                 estimate: estimate, truth: try TargetPower.series(trace: trace), package: try PackagePower.series(trace: trace)))
        }
        guard let first = loaded.map(\.first).max(), let end = loaded.map(\.estimate.count).min(), first < end else {
            throw VraplError("--co-tenants: no sample where every tenant has a full window")
        }
        var pkg = 0.0, est = 0.0, truth = 0.0, count = 0
        var perTenant = [(est: Double, truth: Double, abs: Double)](repeating: (0, 0, 0), count: loaded.count)
        for t in first..<end {
            let p = Double(loaded[0].package[t])
            guard p.isFinite, loaded.allSatisfy({ $0.truth[t].isFinite && $0.estimate[t].isFinite }) else { continue }
            pkg += p
            for (i, l) in loaded.enumerated() {
                est += l.estimate[t]; truth += Double(l.truth[t])
                perTenant[i].est += l.estimate[t]; perTenant[i].truth += Double(l.truth[t]); perTenant[i].abs += abs(l.estimate[t] - Double(l.truth[t]))
            }
            count += 1
        }
        let c = Double(max(1, count))
        let tenants = zip(loaded, perTenant).map { l, a in
            Tenant(trace: l.name, vcpus: Int(l.vcpus.first ?? 0), meanEstimateWatts: a.est / c, meanTruthWatts: a.truth / c, mae: a.abs / c)
        }
        return CoTenancyReport(tenants: tenants, samples: count, seconds: c * model.embedding.sampleIntervalMs / 1000,
                               packageMeanWatts: pkg / c, estimateSumMeanWatts: est / c, truthSumMeanWatts: truth / c,
                               relativeError: pkg > 0 ? est / pkg - 1 : .nan)
    }
}
