import Foundation

/// Statistics of the training data, stored by `vrapl train` under the `training_stats` metadata key,
/// against which the guest scores how far each live window is from what the model has seen.
///
/// Feature statistics are per feature (not per window position), in raw units (before min-max
/// scaling), over every sample that occurs in a training window. Latent statistics are over the
/// encoder output of the training windows; the latent distance of a window z is the RMS standardised
/// distance `sqrt(mean_i(((z_i − mean_i) / std_i)²))` (std below 1e-6 counts as 1e-6).
/// JSON keys are flat snake_case so any tool can write them (docs/model-format.md).
public struct TrainingStats: Codable, Equatable, Sendable {
    public var version: Int = 1
    /// Number of training windows the statistics describe.
    public var windows: Int
    /// Feature names, same order as the model's `features`.
    public var features: [String]
    public var featureMin: [Double]
    public var featureMax: [Double]
    public var featureQ01: [Double]
    public var featureQ50: [Double]
    public var featureQ99: [Double]
    /// Latent statistics (absent when the trainer did not record them).
    public var latentMean: [Double]?
    public var latentStd: [Double]?
    public var latentDistanceQ50: Double?
    public var latentDistanceQ99: Double?
    public var latentDistanceMax: Double?

    enum CodingKeys: String, CodingKey {
        case version, windows, features
        case featureMin = "feature_min"
        case featureMax = "feature_max"
        case featureQ01 = "feature_q01"
        case featureQ50 = "feature_q50"
        case featureQ99 = "feature_q99"
        case latentMean = "latent_mean"
        case latentStd = "latent_std"
        case latentDistanceQ50 = "latent_distance_q50"
        case latentDistanceQ99 = "latent_distance_q99"
        case latentDistanceMax = "latent_distance_max"
    }

    public init(windows: Int, features: [String], featureMin: [Double], featureMax: [Double],
                featureQ01: [Double], featureQ50: [Double], featureQ99: [Double],
                latentMean: [Double]? = nil, latentStd: [Double]? = nil,
                latentDistanceQ50: Double? = nil, latentDistanceQ99: Double? = nil, latentDistanceMax: Double? = nil) {
        self.windows = windows
        self.features = features
        self.featureMin = featureMin
        self.featureMax = featureMax
        self.featureQ01 = featureQ01
        self.featureQ50 = featureQ50
        self.featureQ99 = featureQ99
        self.latentMean = latentMean
        self.latentStd = latentStd
        self.latentDistanceQ50 = latentDistanceQ50
        self.latentDistanceQ99 = latentDistanceQ99
        self.latentDistanceMax = latentDistanceMax
    }

    /// True when the latent part is complete and consistent.
    public var hasLatent: Bool {
        guard let mean = latentMean, let std = latentStd, mean.count == std.count, !mean.isEmpty,
              latentDistanceQ50 != nil, latentDistanceQ99 != nil, latentDistanceMax != nil else { return false }
        return true
    }

    /// Checks lengths against the model's feature list and latent size; a one-line reason on failure.
    public func validate(features modelFeatures: [String], latentDim: Int) throws {
        guard features == modelFeatures else {
            throw ArchitectureError("training_stats.features \(features) differ from the model's features \(modelFeatures)")
        }
        for (name, list) in [("feature_min", featureMin), ("feature_max", featureMax), ("feature_q01", featureQ01),
                             ("feature_q50", featureQ50), ("feature_q99", featureQ99)] {
            guard list.count == features.count else {
                throw ArchitectureError("training_stats.\(name) has \(list.count) entries, expected \(features.count)")
            }
            guard list.allSatisfy({ $0.isFinite }) else { throw ArchitectureError("training_stats.\(name) is not finite") }
        }
        if let mean = latentMean, mean.count != latentDim {
            throw ArchitectureError("training_stats.latent_mean has \(mean.count) entries, expected latent_dim \(latentDim)")
        }
        if let std = latentStd, std.count != latentDim {
            throw ArchitectureError("training_stats.latent_std has \(std.count) entries, expected latent_dim \(latentDim)")
        }
    }

    /// RMS standardised distance of a latent vector from the training mean (nil without latent stats).
    public func latentDistance(_ latent: UnsafeBufferPointer<Float>) -> Double? {
        guard let mean = latentMean, let std = latentStd, mean.count == latent.count, std.count == latent.count, !mean.isEmpty else { return nil }
        var sum = 0.0
        for i in 0..<latent.count {
            let z = (Double(latent[i]) - mean[i]) / max(std[i], 1e-6)
            sum += z * z
        }
        return (sum / Double(latent.count)).squareRoot()
    }
}

/// Quantile with linear interpolation between order statistics (numpy's default), of sorted values.
public func interpolatedQuantile(sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let position = q * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    let fraction = position - Double(lower)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

/// Builds `TrainingStats` in one pass: exact min and max, quantiles from a seeded reservoir sample
/// (at most `reservoirSize` samples per feature and latent vectors), latent mean and std by Welford.
/// Feed every training sample's raw feature row with `addSample`, and the latent vector of training
/// windows (all or a subset) with `addLatent`; then `finish`.
public struct TrainingStatsAccumulator {
    public let features: [String]
    public let reservoirSize: Int
    private var rng: UInt64
    private var samplesSeen = 0
    private var minimum: [Double]
    private var maximum: [Double]
    private var reservoir: [[Double]] = []  // rows of feature values
    private var latentsSeen = 0
    private var latentMean: [Double] = []
    private var latentM2: [Double] = []
    private var latentReservoir: [[Float]] = []
    public var windows = 0

    public init(features: [String], reservoirSize: Int = 50_000, seed: UInt64 = 0x5eed) {
        self.features = features
        self.reservoirSize = max(1, reservoirSize)
        self.rng = seed | 1
        minimum = Array(repeating: .infinity, count: features.count)
        maximum = Array(repeating: -.infinity, count: features.count)
    }

    private mutating func nextRandom(below n: Int) -> Int {
        // xorshift64*
        rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27
        return Int((rng &* 2685821657736338717) % UInt64(n))
    }

    /// One raw feature row (one value per feature, the model's feature order).
    public mutating func addSample(_ row: [Double]) {
        precondition(row.count == features.count, "row has \(row.count) values, expected \(features.count)")
        for i in 0..<row.count where row[i].isFinite {
            minimum[i] = min(minimum[i], row[i])
            maximum[i] = max(maximum[i], row[i])
        }
        samplesSeen += 1
        if reservoir.count < reservoirSize {
            reservoir.append(row)
        } else {
            let j = nextRandom(below: samplesSeen)
            if j < reservoirSize { reservoir[j] = row }
        }
    }

    /// One latent vector (encoder output for one training window).
    public mutating func addLatent(_ latent: [Float]) {
        if latentMean.isEmpty {
            latentMean = Array(repeating: 0, count: latent.count)
            latentM2 = Array(repeating: 0, count: latent.count)
        }
        guard latent.count == latentMean.count else { return }
        latentsSeen += 1
        let n = Double(latentsSeen)
        for i in 0..<latent.count {
            let x = Double(latent[i])
            let delta = x - latentMean[i]
            latentMean[i] += delta / n
            latentM2[i] += delta * (x - latentMean[i])
        }
        if latentReservoir.count < reservoirSize {
            latentReservoir.append(latent)
        } else {
            let j = nextRandom(below: latentsSeen)
            if j < reservoirSize { latentReservoir[j] = latent }
        }
    }

    /// The statistics. `windows` defaults to the number of latent vectors added (or samples).
    public func finish(windows: Int? = nil) -> TrainingStats {
        var q01: [Double] = [], q50: [Double] = [], q99: [Double] = []
        for f in 0..<features.count {
            let sorted = reservoir.map { $0[f] }.filter { $0.isFinite }.sorted()
            q01.append(sorted.isEmpty ? 0 : interpolatedQuantile(sorted: sorted, 0.01))
            q50.append(sorted.isEmpty ? 0 : interpolatedQuantile(sorted: sorted, 0.50))
            q99.append(sorted.isEmpty ? 0 : interpolatedQuantile(sorted: sorted, 0.99))
        }
        var stats = TrainingStats(
            windows: windows ?? (latentsSeen > 0 ? latentsSeen : samplesSeen), features: features,
            featureMin: minimum.map { $0.isFinite ? $0 : 0 }, featureMax: maximum.map { $0.isFinite ? $0 : 0 },
            featureQ01: q01, featureQ50: q50, featureQ99: q99)
        if latentsSeen > 1 {
            let std = latentM2.map { ($0 / Double(latentsSeen - 1)).squareRoot() }
            stats.latentMean = latentMean
            stats.latentStd = std
            let distances = latentReservoir.compactMap { z in z.withUnsafeBufferPointer { stats.latentDistance($0) } }.sorted()
            stats.latentDistanceQ50 = interpolatedQuantile(sorted: distances, 0.50)
            stats.latentDistanceQ99 = interpolatedQuantile(sorted: distances, 0.99)
            stats.latentDistanceMax = distances.last
        }
        return stats
    }
}
