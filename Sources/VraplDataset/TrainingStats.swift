import Foundation
import VraplCore

/// Statistics of the training data that the guest's trust score compares live inputs against.
/// Stored as the `training_stats` metadata value (JSON, parallel arrays; see docs/model-format.md).
public struct TrainingStats: Codable, Equatable, Sendable {
    public var featureNames: [String]
    /// Per feature, over the newest sample of every training window.
    public var featureMin: [Float]
    public var featureMax: [Float]
    public var featureQ01: [Float]
    public var featureQ50: [Float]
    public var featureQ99: [Float]
    /// Per latent unit over the training windows (eval mode), when the engine exposes the latent vector.
    public var latentMean: [Float]?
    public var latentStd: [Float]?
    /// Target (package watts) over the training windows.
    public var targetMin: Float
    public var targetMax: Float
    public var targetMean: Float
    public var trainingWindows: Int
    /// Number of windows the quantiles were computed from (an evenly strided subset when large).
    public var quantileSampleSize: Int

    enum CodingKeys: String, CodingKey {
        case featureNames = "feature_names", featureMin = "feature_min", featureMax = "feature_max"
        case featureQ01 = "feature_q01", featureQ50 = "feature_q50", featureQ99 = "feature_q99"
        case latentMean = "latent_mean", latentStd = "latent_std"
        case targetMin = "target_min", targetMax = "target_max", targetMean = "target_mean"
        case trainingWindows = "training_windows", quantileSampleSize = "quantile_sample_size"
    }

    /// Computes feature and target statistics over `windows` (min/max exact; quantiles from at most
    /// `maxQuantileSamples` evenly strided windows, nearest-rank on the sorted values).
    public static func compute(dataset: WindowDataset, windows: [Int32], maxQuantileSamples: Int = 500_000) -> TrainingStats {
        let f = dataset.featureCount, n = dataset.sampleCount
        var mins = [Float](repeating: .infinity, count: f), maxs = [Float](repeating: -.infinity, count: f)
        var q01 = [Float](repeating: 0, count: f), q50 = q01, q99 = q01
        let sorted = windows.sorted()
        let stride = max(1, (sorted.count + maxQuantileSamples - 1) / max(1, maxQuantileSamples))
        var tMin = Float.infinity, tMax = -Float.infinity, tSum = 0.0
        for w in sorted {
            let y = dataset.targets[Int(dataset.windowEnds[Int(w)])]
            tMin = min(tMin, y); tMax = max(tMax, y); tSum += Double(y)
        }
        var sampleCount = 0
        for fi in 0..<f {
            var values: [Float] = []
            values.reserveCapacity(sorted.count / stride + 1)
            for (i, w) in sorted.enumerated() {
                let v = dataset.features[fi * n + Int(dataset.windowEnds[Int(w)])]
                mins[fi] = min(mins[fi], v); maxs[fi] = max(maxs[fi], v)
                if i % stride == 0 { values.append(v) }
            }
            values.sort()
            sampleCount = values.count
            q01[fi] = quantile(values, 0.01); q50[fi] = quantile(values, 0.50); q99[fi] = quantile(values, 0.99)
        }
        return TrainingStats(featureNames: dataset.featureNames, featureMin: mins, featureMax: maxs,
                             featureQ01: q01, featureQ50: q50, featureQ99: q99, latentMean: nil, latentStd: nil,
                             targetMin: tMin, targetMax: tMax, targetMean: sorted.isEmpty ? 0 : Float(tSum / Double(sorted.count)),
                             trainingWindows: windows.count, quantileSampleSize: sampleCount)
    }

    /// Nearest-rank quantile of sorted values: the value at index ceil(q · n) − 1 (0 for no values).
    public static func quantile(_ sorted: [Float], _ q: Double) -> Float {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public init(json text: String) throws {
        do { self = try JSONDecoder().decode(TrainingStats.self, from: Data(text.utf8)) } catch {
            throw VraplError("training_stats metadata is not valid: \(error)")
        }
    }

    public init(featureNames: [String], featureMin: [Float], featureMax: [Float], featureQ01: [Float], featureQ50: [Float],
                featureQ99: [Float], latentMean: [Float]?, latentStd: [Float]?, targetMin: Float, targetMax: Float,
                targetMean: Float, trainingWindows: Int, quantileSampleSize: Int) {
        self.featureNames = featureNames; self.featureMin = featureMin; self.featureMax = featureMax
        self.featureQ01 = featureQ01; self.featureQ50 = featureQ50; self.featureQ99 = featureQ99
        self.latentMean = latentMean; self.latentStd = latentStd; self.targetMin = targetMin
        self.targetMax = targetMax; self.targetMean = targetMean; self.trainingWindows = trainingWindows
        self.quantileSampleSize = quantileSampleSize
    }
}
