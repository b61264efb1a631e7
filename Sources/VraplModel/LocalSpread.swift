import Foundation
import VraplCore
import VraplDataset

/// How ambiguous the region of feature space around a window is: how widely the power of training
/// windows with similar features spreads (the local feature ceiling). It is what a prediction
/// interval should widen with, because most of a model's error comes from hidden state behind
/// typical-looking features (docs/evaluation.md "Prediction intervals").
///
/// A window is summarised by the mean of each feature over its d positions, min–max scaled by the
/// reference set's range; the reference set is `count` training windows (evenly spaced over the
/// training set) with their targets. The spread of a window is q90 − q10 of the targets of its `k`
/// nearest reference windows (Euclidean on the scaled means), W. Stored in the model's `interval`
/// metadata (`local`: about 12 k numbers for 2048 windows of 5 features) so the guest computes the
/// same spread for the same window.
public struct LocalSpread: Codable, Equatable, Sendable {
    public var k: Int
    /// Per-feature minimum and range of the window means over the reference set.
    public var featureMin: [Float]
    public var featureRange: [Float]
    /// Scaled window means, row-major `[count × features]`.
    public var points: [Float]
    /// Target of each reference window, W.
    public var targets: [Float]

    enum CodingKeys: String, CodingKey {
        case k
        case featureMin = "feature_min"
        case featureRange = "feature_range"
        case points, targets
    }

    public var features: Int { featureMin.count }
    public var count: Int { targets.count }

    public static let defaultCount = 2048, defaultK = 64

    public init(k: Int, featureMin: [Float], featureRange: [Float], points: [Float], targets: [Float]) {
        self.k = k; self.featureMin = featureMin; self.featureRange = featureRange; self.points = points; self.targets = targets
    }

    /// Builds the reference set from unscaled window means (`means[i]`, one per feature) and targets.
    public init?(means: [[Float]], targets: [Float], k: Int = defaultK) {
        guard let f = means.first?.count, f > 0, means.count == targets.count, means.count > k, k >= 2 else { return nil }
        var points = means.flatMap { $0 }
        let scaler = MinMaxScaler.fit(rows: points, dimension: f)
        scaler.transform(rows: &points)
        self.init(k: k, featureMin: scaler.featureMin, featureRange: scaler.featureRange, points: points, targets: targets)
    }

    /// Checks the numbers (model metadata is input like any other).
    public func validate() throws {
        guard features >= 1, featureRange.count == features, count >= 2, count <= 1 << 20,
              points.count == count * features, k >= 2, k <= count else {
            throw VraplError("interval.local has \(points.count) points, \(count) targets, \(features) features, k \(k): expected points = targets × features and 2 ≤ k ≤ targets")
        }
        guard (featureMin + featureRange + points + targets).allSatisfy({ $0.isFinite }), featureRange.allSatisfy({ $0 > 0 }) else {
            throw VraplError("interval.local values must be finite (and every feature range positive)")
        }
    }

    /// The mean of each feature over a raw window (feature-major, `length` values per feature).
    public static func windowMeans(_ raw: UnsafeBufferPointer<Float>, features: Int, length: Int, into out: inout [Float]) {
        if out.count != features { out = [Float](repeating: 0, count: features) }
        for f in 0..<features {
            var s: Float = 0
            for j in 0..<length { s += raw[f * length + j] }
            out[f] = s / Float(max(1, length))
        }
    }

    /// A searchable index of this reference set (built once, then shared).
    public func makeIndex() -> LocalSpreadIndex { LocalSpreadIndex(self) }
}

/// `LocalSpread` with its k-d tree: answers `spread(means:)`.
public final class LocalSpreadIndex: @unchecked Sendable {
    public let reference: LocalSpread
    private let tree: KDTree
    private var query: [Float]
    private var neighbourTargets: [Float]
    private var near: [(index: Int, distance2: Float)] = []
    private var means: [Float]
    /// The last search's scaled query and the squared distance of its k-th nearest (nil before the
    /// first): consecutive windows' means move little, so they bound the next search (`spread(means:)`).
    private var lastQuery: [Float]
    private var lastKth: Float?

    init(_ reference: LocalSpread) {
        self.reference = reference
        tree = KDTree(points: reference.points, dimension: reference.features)
        query = [Float](repeating: 0, count: reference.features)
        neighbourTargets = [Float](repeating: 0, count: reference.k)
        near.reserveCapacity(reference.k + 1)
        means = [Float](repeating: 0, count: reference.features)
        lastQuery = [Float](repeating: 0, count: reference.features)
    }

    /// q90 − q10 of the targets of the k reference windows nearest to the window whose feature
    /// means are `means` (unscaled), W. Not thread-safe (reuses its buffers).
    public func spread(means: [Float]) -> Double {
        let r = reference
        var moved: Float = 0
        for j in 0..<r.features {
            query[j] = (means[j] - r.featureMin[j]) / r.featureRange[j]
            let t = query[j] - lastQuery[j]
            moved += t * t
        }
        // The k nearest of the new query lie within (last k-th distance + distance moved), by the
        // triangle inequality; the margin covers float rounding (the search checks the hint anyway).
        var hint = Float.infinity
        if let lastKth {
            let radius = (lastKth.squareRoot() + moved.squareRoot()) * (1 + 1e-4) + 1e-6
            if radius.isFinite { hint = radius * radius }
        }
        // The neighbours as a set: their targets' order statistics do not depend on the order.
        tree.nearest(to: query, k: r.k, into: &near, within: hint, sorted: false, include: { _ in true })
        let n = near.count
        guard n > 0 else { lastKth = nil; return 0 }
        var kth: Float = 0
        for i in 0..<n { kth = max(kth, near[i].distance2) }
        if kth.isFinite && n == r.k {
            lastKth = kth
            for j in 0..<r.features { lastQuery[j] = query[j] }
        } else {
            lastKth = nil
        }
        // q90 − q10 of the neighbours' power: the two order statistics, selected in the reused buffer
        // (the values a full sort would put at those ranks; no allocation).
        if neighbourTargets.count < n { neighbourTargets = [Float](repeating: 0, count: n) }
        for i in 0..<n { neighbourTargets[i] = r.targets[near[i].index] }
        func rank(_ p: Double) -> Int { min(n - 1, max(0, Int((Double(n) * p).rounded(.up)) - 1)) }
        return neighbourTargets.withUnsafeMutableBufferPointer { b in
            func q(_ p: Double) -> Float {
                KDTree.select(b, 0, n - 1, rank(p)) { $0 }
                return b[rank(p)]
            }
            return Double(q(0.9) - q(0.1))
        }
    }

    /// Spread of the raw window (feature-major, `length` values per feature).
    public func spread(rawWindow: UnsafeBufferPointer<Float>, length: Int) -> Double {
        LocalSpread.windowMeans(rawWindow, features: reference.features, length: length, into: &means)
        return spread(means: means)
    }
}

extension LocalSpread {
    /// The reference set of a model trained on `dataset`: `count` of `train` windows, evenly spaced
    /// in `train`'s order, with their targets; nil when there are too few.
    public static func reference(dataset: WindowDataset, train: [Int32], count: Int = defaultCount, k: Int = defaultK) -> LocalSpread? {
        guard train.count > k else { return nil }
        let n = min(count, train.count)
        let picked = (0..<n).map { train[$0 * train.count / n] }
        let means = windowMeans(dataset: dataset, windows: picked)
        let targets = picked.map { dataset.targets[Int(dataset.windowEnds[Int($0)])] }
        return LocalSpread(means: means, targets: targets, k: min(k, n - 1))
    }

    /// The per-feature means of each window of `dataset` (raw, unscaled).
    public static func windowMeans(dataset: WindowDataset, windows: [Int32]) -> [[Float]] {
        let d = dataset.embedding.d, f = dataset.featureCount
        var out: [[Float]] = []
        out.reserveCapacity(windows.count)
        var means = [Float](repeating: 0, count: f)
        dataset.forEachRawWindow(windows, chunk: 1024) { _, raw in
            windowMeans(raw, features: f, length: d, into: &means)
            out.append(means)
        }
        return out
    }
}

extension LocalSpreadIndex {
    /// The spread of each of `windows` of `dataset`, W.
    public func spreads(dataset: WindowDataset, windows: [Int32]) -> [Double] {
        LocalSpread.windowMeans(dataset: dataset, windows: windows).map { spread(means: $0) }
    }
}
