import Foundation
import VraplCore
import VraplDataset
import VraplModel

/// One estimate: the state after a sample has been processed.
public struct GuestEstimate: Sendable, Equatable {
    /// Input sample index, counting every sample from 0 (as `vrapl predict`'s `index`).
    public var index: Int
    public var monotonicNs: UInt64
    public var wallClockUnix: Double
    /// The model's output for the newest window (held between predictions with `--predict-every`).
    public var predictedWatts: Double
    /// True when this sample produced a new prediction.
    public var isNewPrediction: Bool
    /// Monotone energy counter: Σ max(0, P)·Δt over every interval since the first prediction, J.
    public var energyJoules: Double
    /// Busy CPU % over the last second or so (everything but idle and iowait of the proper total).
    public var busyPercent: Double
    /// Trust score of the newest window in [0, 1]; nil when the model has no training statistics.
    public var trust: Double?
    public var isOutOfDistribution: Bool
    /// What limits the trust score: the name of the feature with the least typical value, or
    /// `latent` when the latent distance scores lower (nil without training statistics).
    public var trustLimitedBy: String?
    /// Windows flagged out of distribution so far.
    public var outOfDistributionCount: Int
    /// Predictions made so far.
    public var predictionCount: Int
    /// Predictions that came out NaN or infinite so far: each was replaced by the last finite one
    /// (0 W before any), so energy never integrates a non-finite power.
    public var nonFinitePredictionCount: Int = 0

    /// Power as exported (a model may undershoot below zero at idle; power is never negative).
    public var watts: Double { max(0, predictedWatts) }
}

/// The guest's pipeline, shared by the live loop and replay: raw sample → `FeatureExtractor` (the
/// training code) → ring of feature rows → scaled window → prediction → trust score → energy.
///
/// Energy uses the real Δt between consecutive samples: a late or missed tick makes the interval
/// longer (the held prediction covers it), it never drops energy. Allocation-free per sample.
public final class GuestEstimator {
    public let model: ModelFile
    public let featureSet: FeatureSet
    public let predictEvery: Int
    private let predictor: WindowPredictor
    private var extractor: FeatureExtractor
    private let ring: WindowRing
    private let scaler: MinMaxScaler
    private let scorer: TrustScorer?
    private let useLatent: Bool
    private var rawWindow: [Float]
    private var window: [Float]

    private var previousNs: UInt64?
    private var sampleIndex = -1
    private var rowsSincePrediction = 0
    private var current: GuestEstimate?
    private var energy = 0.0
    private var predictions = 0
    private var oodCount = 0
    private var nonFiniteCount = 0
    // busy % bookkeeping
    private var busyStartNs: UInt64 = 0
    private var busyStartTotal: UInt64 = 0
    private var busyStartIdle: UInt64 = 0
    private var busyHaveStart = false
    private var busy = 0.0

    /// Checks that the model and this guest agree (features computable, input size) and sets up
    /// the buffers. Throws a one-line reason naming the model file.
    public init(model: ModelFile, predictor: WindowPredictor, predictEvery: Int = 1) throws {
        let name = model.path ?? model.displayName
        guard let set = try? FeatureSet(featureNames: model.features) else {
            throw VraplError("\(name): model features \(model.features) are not computed by any feature set this guest knows (\(FeatureSet.all.map(\.name).joined(separator: ", "))); refusing to build windows that differ from training")
        }
        guard predictor.inputSize == model.inputSize else {
            throw VraplError("\(name): network takes \(predictor.inputSize) inputs but the model's window has \(model.inputSize)")
        }
        guard predictEvery >= 1 else { throw VraplError("--predict-every must be at least 1") }
        self.model = model
        self.featureSet = set
        self.predictor = predictor
        self.predictEvery = predictEvery
        extractor = FeatureExtractor(featureSet: set)
        ring = WindowRing(featureCount: set.count, d: model.embedding.d, tau: model.embedding.tau)
        scaler = MinMaxScaler(featureMin: model.normalization.featureMin.map { Float($0) },
                              featureRange: model.normalization.featureRange.map { Float($0) })
        if let stats = model.trainingStats {
            scorer = TrustScorer(stats: stats)
            useLatent = stats.hasLatent
        } else {
            scorer = nil
            useLatent = false
        }
        rawWindow = [Float](repeating: 0, count: model.inputSize)
        window = [Float](repeating: 0, count: model.inputSize)
    }

    /// Samples of history the window needs before the first prediction (one more than the ring,
    /// since every feature is a difference).
    public var warmupSamples: Int { ring.capacity + 1 }

    /// The latest estimate (nil before the first prediction).
    public var latest: GuestEstimate? { current }

    /// Total energy so far, J.
    public var energyJoules: Double { energy }

    /// Feeds one raw sample. Returns the estimate after it, or nil while the window is filling.
    @discardableResult
    public func process(_ sample: RawSample, wallClockUnix: Double) -> GuestEstimate? {
        sampleIndex += 1
        let dtNs: UInt64
        if let prev = previousNs, sample.monotonicNs > prev { dtNs = sample.monotonicNs - prev } else { dtNs = 0 }
        previousNs = sample.monotonicNs
        updateBusy(sample)

        let produced = ring.withNextRow { extractor.push(sample, into: $0, stride: 1) }
        if produced { ring.commit() }

        var newPrediction = false
        if produced && ring.isFull {
            rowsSincePrediction += 1
            if current == nil || rowsSincePrediction >= predictEvery {
                rowsSincePrediction = 0
                predict()
                newPrediction = true
            }
        }
        guard var estimate = current else { return nil }
        // Integrate the power that holds over the interval ending at this sample.
        energy += estimate.watts * Double(dtNs) / 1e9
        estimate.index = sampleIndex
        estimate.monotonicNs = sample.monotonicNs
        estimate.wallClockUnix = wallClockUnix
        estimate.isNewPrediction = newPrediction
        estimate.energyJoules = energy
        estimate.busyPercent = busy
        current = estimate
        return estimate
    }

    private func predict() {
        let watts: Float = window.withUnsafeMutableBufferPointer { w in
            rawWindow.withUnsafeMutableBufferPointer { raw in
                guard let wp = w.baseAddress, let rp = raw.baseAddress else { return .nan }
                ring.makeRawWindow(into: rp)
                wp.update(from: rp, count: raw.count)
                scaler.transform(wp, rows: 1)
                return predictor.predict(window: wp)
            }
        }
        predictions += 1
        var predicted = Double(watts)
        if !predicted.isFinite {
            nonFiniteCount += 1
            predicted = current?.predictedWatts ?? 0
        }
        var trust: Double?
        var ood = false
        var limitedBy: String?
        if let scorer {
            let result = rawWindow.withUnsafeBufferPointer { raw in
                scorer.score(rawWindow: raw, featureCount: featureSet.count, stride: ring.d, length: ring.d,
                             latent: useLatent ? predictor.latent : nil)
            }
            trust = result.score
            ood = result.isOutOfDistribution
            limitedBy = result.latentScore < result.featureScore ? "latent" : model.features[result.worstFeature]
            if ood { oodCount += 1 }
        }
        current = GuestEstimate(index: sampleIndex, monotonicNs: 0, wallClockUnix: 0, predictedWatts: predicted,
                                isNewPrediction: true, energyJoules: energy, busyPercent: busy, trust: trust,
                                isOutOfDistribution: ood, trustLimitedBy: limitedBy, outOfDistributionCount: oodCount,
                                predictionCount: predictions, nonFinitePredictionCount: nonFiniteCount)
    }

    private func updateBusy(_ sample: RawSample) {
        let c = sample.stat.cpu
        let total = c.user &+ c.nice &+ c.system &+ c.idle &+ c.iowait &+ c.irq &+ c.softirq &+ c.steal
        let idle = c.idle &+ c.iowait
        if !busyHaveStart {
            busyHaveStart = true
            busyStartNs = sample.monotonicNs; busyStartTotal = total; busyStartIdle = idle
            return
        }
        guard sample.monotonicNs &- busyStartNs >= 1_000_000_000 || total &- busyStartTotal >= 200 else { return }
        let dTotal = total >= busyStartTotal ? total - busyStartTotal : 0
        let dIdle = idle >= busyStartIdle ? idle - busyStartIdle : 0
        if dTotal > 0 { busy = 100 * Double(dTotal - min(dIdle, dTotal)) / Double(dTotal) }
        busyStartNs = sample.monotonicNs; busyStartTotal = total; busyStartIdle = idle
    }
}
