import Foundation

/// The in-distribution ("trust") score of one window, in [0, 1]; below 0.5 the window is out of
/// distribution (OOD): some value lies outside everything seen in training, or the latent vector is
/// farther from the training mean than any training window was.
public struct TrustResult: Equatable, Sendable {
    public var score: Double
    /// Lowest per-value score over the window's features.
    public var featureScore: Double
    /// Latent score (1 when the model has no latent statistics).
    public var latentScore: Double
    /// Index of the feature with the lowest score.
    public var worstFeature: Int
    /// Latent distance (nil without latent statistics).
    public var latentDistance: Double?

    public var isOutOfDistribution: Bool { score < TrustScorer.oodThreshold }
}

/// Scores windows against `TrainingStats`.
///
/// Per value v of feature f: 1 inside [q01, q99]; falling linearly to 0.5 at the training min/max;
/// outside [min, max] `0.5·exp(−4·excess / (max − min))`. Latent distance δ: 1 up to q99, linearly to
/// 0.5 at the training maximum, beyond it `0.5·exp(−(δ − max) / (max − q50))`. The window's score is
/// the minimum of the two parts (the worst value decides: one impossible input is enough to doubt
/// the estimate).
public struct TrustScorer: Sendable {
    public static let oodThreshold = 0.5
    public let stats: TrainingStats

    public init(stats: TrainingStats) { self.stats = stats }

    /// Score of one raw value of feature `f`.
    @inline(__always)
    public func valueScore(_ v: Double, feature f: Int) -> Double {
        let lo = stats.featureMin[f], hi = stats.featureMax[f]
        let q01 = stats.featureQ01[f], q99 = stats.featureQ99[f]
        if v >= q01 && v <= q99 { return 1 }
        let span = max(hi - lo, 1e-9)
        if v < q01 {
            if v >= lo { return 1 - 0.5 * (q01 - v) / max(q01 - lo, 1e-12) }
            return v.isFinite ? 0.5 * exp(-4 * (lo - v) / span) : 0
        }
        if v <= hi { return 1 - 0.5 * (v - q99) / max(hi - q99, 1e-12) }
        return v.isFinite ? 0.5 * exp(-4 * (v - hi) / span) : 0
    }

    /// Score of a latent distance.
    public func latentScore(distance: Double) -> Double {
        guard let q50 = stats.latentDistanceQ50, let q99 = stats.latentDistanceQ99, let top = stats.latentDistanceMax else { return 1 }
        if distance <= q99 { return 1 }
        if distance <= top { return 1 - 0.5 * (distance - q99) / max(top - q99, 1e-12) }
        return distance.isFinite ? 0.5 * exp(-(distance - top) / max(top - q50, 1e-9)) : 0
    }

    /// Scores a window of raw feature values, feature-major (`rawWindow[f * stride + j]`, j < length),
    /// and optionally its latent vector.
    public func score(rawWindow: UnsafeBufferPointer<Float>, featureCount: Int, stride: Int, length: Int,
                      latent: UnsafeBufferPointer<Float>?) -> TrustResult {
        var worst = 1.0
        var worstFeature = 0
        for f in 0..<min(featureCount, stats.featureMin.count) {
            for j in 0..<length {
                let s = valueScore(Double(rawWindow[f * stride + j]), feature: f)
                if s < worst { worst = s; worstFeature = f }
            }
        }
        var latentScore = 1.0
        var distance: Double?
        if let latent, let d = stats.latentDistance(latent) {
            distance = d
            latentScore = self.latentScore(distance: d)
        }
        return TrustResult(score: min(worst, latentScore), featureScore: worst, latentScore: latentScore,
                           worstFeature: worstFeature, latentDistance: distance)
    }
}
