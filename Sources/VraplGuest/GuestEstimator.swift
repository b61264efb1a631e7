import Foundation
import VraplCore
import VraplDataset
import VraplModel

/// A central interval of power, W.
public struct PowerInterval: Sendable, Equatable {
    public var low: Double
    public var high: Double

    public init(low: Double, high: Double) { self.low = low; self.high = high }
}

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
    /// Steal % over the same stretch: time this VM's vCPUs wanted to run while the hypervisor ran
    /// something else (its host is oversubscribed). Its busy percentages, and so the estimate, miss
    /// that time; the simulator's oversubscribed tenants show it the same way.
    public var stealPercent: Double = 0
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

    /// Guest-shaped models: k, the online vCPUs of the newest sample (0 for a whole-host model).
    public var vcpus: Int = 0
    /// Guest-shaped models: the idle part of the reported share, P_idle · k / T (0 under
    /// `active-only`); nil for a whole-host model, which cannot split its estimate.
    public var idleWatts: Double? = nil
    /// Added to the model's output to report by another rule than the one it was trained on
    /// (idle part of the reported rule minus that of the model's).
    public var ruleOffsetWatts: Double = 0
    /// Energy of the idle part so far, J (guest-shaped models; the active part is the rest).
    public var idleEnergyJoules: Double = 0
    /// The calibrated central interval of the reported power (`PredictionInterval`), W; nil when the
    /// model has none ("interval n/a").
    public var interval: PowerInterval? = nil
    /// Bounds of `energyJoules` from the interval: Σ low·Δt and Σ high·Δt over every integrated
    /// interval, J (nil without an interval). They add the per-sample bounds, i.e. assume the errors
    /// of an export interval's samples are fully correlated (docs/guest.md measures that on the simulator).
    public var energyBoundsJoules: PowerInterval? = nil
    /// Whole-host models: Kepler's active energy, Σ P·(busy % / 100)·Δt, J (its idle part is the rest).
    public var keplerActiveEnergyJoules: Double = 0

    public init(index: Int, monotonicNs: UInt64, wallClockUnix: Double, predictedWatts: Double, isNewPrediction: Bool,
                energyJoules: Double, busyPercent: Double, trust: Double?, isOutOfDistribution: Bool, trustLimitedBy: String?,
                outOfDistributionCount: Int, predictionCount: Int, nonFinitePredictionCount: Int = 0) {
        self.index = index; self.monotonicNs = monotonicNs; self.wallClockUnix = wallClockUnix
        self.predictedWatts = predictedWatts; self.isNewPrediction = isNewPrediction; self.energyJoules = energyJoules
        self.busyPercent = busyPercent; self.trust = trust; self.isOutOfDistribution = isOutOfDistribution
        self.trustLimitedBy = trustLimitedBy; self.outOfDistributionCount = outOfDistributionCount
        self.predictionCount = predictionCount; self.nonFinitePredictionCount = nonFinitePredictionCount
    }

    /// Power as exported: never negative, and for a guest-shaped model never below its idle part
    /// (a model may undershoot at idle; a share by idle-by-allocation cannot be below P_idle·k/T).
    public var watts: Double { max(idleWatts ?? 0, predictedWatts + ruleOffsetWatts) }
    /// The active part: the reported power above its idle part (nil for a whole-host model).
    public var activeWatts: Double? { idleWatts.map { max(0, watts - $0) } }
    /// Energy of the active part so far, J.
    public var activeEnergyJoules: Double? { idleWatts == nil ? nil : max(0, energyJoules - idleEnergyJoules) }
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
    /// A guest-shaped model's host and k range (nil: whole-host model) and the rule reported by.
    public let guestShape: GuestShape?
    public let reportRule: ShareRule?
    /// Changes of the vCPU count seen mid-run (hotplug): each restarts the window.
    public private(set) var vcpuChangeCount = 0
    private var vcpus = 0
    private var idlePart = 0.0, ruleOffset = 0.0
    private var idleEnergy = 0.0
    private var keplerActive = 0.0
    private var energyLow = 0.0, energyHigh = 0.0
    private let predictor: WindowPredictor
    private var extractor: FeatureExtractor
    private let ring: WindowRing
    private let scaler: MinMaxScaler
    private let scorer: TrustScorer?
    private let useLatent: Bool
    private var rawWindow: [Float]
    private var window: [Float]

    /// The batched mode: the network that predicts many windows at once (in chunks of its
    /// `maxBatch`, back to back), and how many samples a batch holds (at least one export interval's).
    public struct Batch {
        public let predictor: BatchWindowPredictor
        public let capacity: Int
        public init(predictor: BatchWindowPredictor, capacity: Int) { self.predictor = predictor; self.capacity = capacity }
    }
    private let batch: Batch?
    /// One staged sample: what `integrate` needs, and its window's slot (−1: no prediction due).
    private struct PendingSample {
        var sampleIndex: Int
        var monotonicNs: UInt64
        var wallClockUnix: Double
        var dtNs: UInt64
        var busy: Double
        var window: Int
    }
    private var pending: [PendingSample] = []
    private var pendingWindows: [Float] = []
    private var pendingRaw: [Float] = []
    private var pendingOutputs: [Float] = []
    private var pendingWindowCount = 0
    /// Whether the first prediction has been made or staged (the per-tick `current == nil`).
    private var predictionScheduled = false

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
    private var busyStartSteal: UInt64 = 0
    /// The normalized interval's reference set, searchable (nil for Mondrian bins or no interval).
    private let spreadIndex: LocalSpreadIndex?
    private var steal = 0.0
    private var busyHaveStart = false
    private var busy = 0.0

    /// Checks that the model and this guest agree (features computable, input size) and sets up
    /// the buffers. Throws a one-line reason naming the model file.
    /// - Parameters:
    ///   - batch: nil predicts every tick through `predictor`; otherwise windows are staged and
    ///     predicted `flush` by flush through `batch.predictor` (up to `batch.capacity` samples a flush).
    ///   - shareRule: report a guest-shaped model's estimate by this rule (nil: the rule it was trained on).
    public init(model: ModelFile, predictor: WindowPredictor, predictEvery: Int = 1, batch: Batch? = nil,
                shareRule: ShareRule? = nil) throws {
        let name = model.path ?? model.displayName
        guard let set = try? model.featureSet() else {
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
        guestShape = model.guestShape
        reportRule = model.guestShape == nil ? nil : (shareRule ?? model.guestShape?.rule)
        extractor = FeatureExtractor(featureSet: set, hostThreads: model.guestShape?.host.threads)
        ring = WindowRing(featureCount: set.count, d: model.embedding.d, tau: model.embedding.tau, order: model.delayEmbedding.order)
        scaler = model.makeScaler()
        spreadIndex = model.interval?.local?.makeIndex()
        if let stats = model.trainingStats {
            scorer = TrustScorer(stats: stats)
            useLatent = stats.hasLatent
        } else {
            scorer = nil
            useLatent = false
        }
        rawWindow = [Float](repeating: 0, count: model.inputSize)
        window = [Float](repeating: 0, count: model.inputSize)
        if let batch {
            guard batch.capacity >= 1, batch.predictor.inputSize == model.inputSize else {
                throw VraplError("\(name): a batch needs room for at least one window of the model's \(model.inputSize) inputs")
            }
            pending.reserveCapacity(batch.capacity)
            pendingWindows = [Float](repeating: 0, count: batch.capacity * model.inputSize)
            pendingRaw = [Float](repeating: 0, count: batch.capacity * model.inputSize)
            pendingOutputs = [Float](repeating: 0, count: batch.capacity)
        }
        self.batch = batch
    }

    /// Samples of history the window needs before the first prediction (one more than the ring,
    /// since every feature is a difference).
    public var warmupSamples: Int { ring.capacity + 1 }

    /// The latest estimate (nil before the first prediction).
    public var latest: GuestEstimate? { current }

    /// Total energy so far, J.
    public var energyJoules: Double { energy }

    /// Feeds one raw sample and predicts at once (the per-tick mode). Returns the estimate after it,
    /// or nil while the window is filling.
    @discardableResult
    public func process(_ sample: RawSample, wallClockUnix: Double) -> GuestEstimate? {
        var result: GuestEstimate?
        process(sample, wallClockUnix: wallClockUnix) { estimate, _ in result = estimate }
        return result
    }

    /// Feeds one raw sample. Per tick (`batchCapacity` 0) it predicts at once and calls `emit` with
    /// the estimate after this sample and the interval it covers (ns). Batched, it only builds and
    /// stages the window; `flush` predicts every staged window in one pass and emits the estimates
    /// in order, exactly as the per-tick mode would have (same windows, same held prediction over
    /// each real Δt). A full batch flushes itself.
    public func process(_ sample: RawSample, wallClockUnix: Double, emit: (GuestEstimate, UInt64) -> Void) {
        sampleIndex += 1
        let dtNs: UInt64
        if let prev = previousNs, sample.monotonicNs > prev { dtNs = sample.monotonicNs - prev } else { dtNs = 0 }
        previousNs = sample.monotonicNs
        updateBusy(sample)
        if let shape = guestShape, sample.vcpus > 0, sample.vcpus != vcpus {
            // Hotplug: the window restarts (its k/T and percentages changed basis); the held
            // estimate keeps integrating, so no energy is lost.
            if vcpus > 0 {
                extractor.reset()
                ring.reset()
                vcpuChangeCount += 1
            }
            vcpus = sample.vcpus
            let k = min(vcpus, shape.host.threads)
            idlePart = (reportRule ?? shape.rule).idleWatts(host: shape.host, vcpus: k)
            ruleOffset = idlePart - shape.rule.idleWatts(host: shape.host, vcpus: k)
        }

        let produced = ring.withNextRow { extractor.push(sample, into: $0, stride: 1) }
        if produced { ring.commit() }

        var due = false
        if produced && ring.isFull {
            rowsSincePrediction += 1
            if !predictionScheduled || rowsSincePrediction >= predictEvery {
                rowsSincePrediction = 0
                predictionScheduled = true
                due = true
            }
        }
        guard let batch else {
            if due {
                let watts: Float = window.withUnsafeMutableBufferPointer { w in
                    rawWindow.withUnsafeMutableBufferPointer { raw in
                        guard let wp = w.baseAddress, let rp = raw.baseAddress else { return .nan }
                        stageWindow(raw: rp, scaled: wp)
                        return predictor.predict(window: wp)
                    }
                }
                rawWindow.withUnsafeBufferPointer { raw in
                    finishPrediction(watts: watts, rawWindow: raw, latent: useLatent ? predictor.latent : nil)
                }
            }
            integrate(sampleIndex: sampleIndex, monotonicNs: sample.monotonicNs, wallClockUnix: wallClockUnix, dtNs: dtNs,
                      busy: busy, newPrediction: due, emit: emit)
            return
        }
        var slot = -1
        if due {
            slot = pendingWindowCount
            let size = model.inputSize
            pendingRaw.withUnsafeMutableBufferPointer { raw in
                pendingWindows.withUnsafeMutableBufferPointer { scaled in
                    stageWindow(raw: raw.baseAddress! + slot * size, scaled: scaled.baseAddress! + slot * size)
                }
            }
            pendingWindowCount += 1
        }
        pending.append(PendingSample(sampleIndex: sampleIndex, monotonicNs: sample.monotonicNs, wallClockUnix: wallClockUnix,
                                     dtNs: dtNs, busy: busy, window: slot))
        if pending.count >= batch.capacity || pendingWindowCount >= batch.capacity { flush(emit: emit) }
    }

    /// Batched mode: predicts every staged window in one pass (one fetch of the weights), then
    /// integrates and emits each staged sample in order. Nothing to do per tick or when empty.
    public func flush(emit: (GuestEstimate, UInt64) -> Void) {
        guard let batch, !pending.isEmpty else { return }
        let size = model.inputSize
        let chunk = batch.predictor.maxBatch
        // Windows [chunkStart, chunkEnd) are predicted; their latents are the network's rows. Chunks
        // run back to back, so only the first fetches the weights from memory.
        var chunkStart = 0, chunkEnd = 0
        for p in pending {
            if p.window >= 0 {
                if p.window >= chunkEnd {
                    chunkStart = p.window
                    let n = min(chunk, pendingWindowCount - chunkStart)
                    pendingWindows.withUnsafeBufferPointer { w in
                        pendingOutputs.withUnsafeMutableBufferPointer { out in
                            batch.predictor.predict(inputs: w.baseAddress! + chunkStart * size, count: n, into: out.baseAddress! + chunkStart)
                        }
                    }
                    chunkEnd = chunkStart + n
                }
                pendingRaw.withUnsafeBufferPointer { raw in
                    finishPrediction(watts: pendingOutputs[p.window],
                                     rawWindow: UnsafeBufferPointer(rebasing: raw[(p.window * size)..<((p.window + 1) * size)]),
                                     latent: useLatent ? batch.predictor.latent(row: p.window - chunkStart) : nil)
                }
            }
            integrate(sampleIndex: p.sampleIndex, monotonicNs: p.monotonicNs, wallClockUnix: p.wallClockUnix, dtNs: p.dtNs,
                      busy: p.busy, newPrediction: p.window >= 0, emit: emit)
        }
        pending.removeAll(keepingCapacity: true)
        pendingWindowCount = 0
    }

    /// Samples staged for the next `flush` (batched mode).
    public var pendingSampleCount: Int { pending.count }

    /// The held estimate over the interval ending at one sample: energy, then the estimate's fields.
    private func integrate(sampleIndex index: Int, monotonicNs: UInt64, wallClockUnix: Double, dtNs: UInt64, busy: Double,
                           newPrediction: Bool, emit: (GuestEstimate, UInt64) -> Void) {
        guard var estimate = current else { return }
        if guestShape != nil {
            estimate.vcpus = vcpus
            estimate.idleWatts = idlePart
            estimate.ruleOffsetWatts = ruleOffset
        }

        // Integrate the power that holds over the interval ending at this sample.
        energy += estimate.watts * Double(dtNs) / 1e9
        if guestShape != nil { idleEnergy += min(estimate.watts, idlePart) * Double(dtNs) / 1e9 }
        keplerActive += estimate.watts * min(1, max(0, busy / 100)) * Double(dtNs) / 1e9
        if let i = estimate.interval {
            energyLow += i.low * Double(dtNs) / 1e9
            energyHigh += i.high * Double(dtNs) / 1e9
            estimate.energyBoundsJoules = PowerInterval(low: energyLow, high: energyHigh)
        }
        estimate.idleEnergyJoules = idleEnergy
        estimate.keplerActiveEnergyJoules = keplerActive
        estimate.index = index
        estimate.monotonicNs = monotonicNs
        estimate.wallClockUnix = wallClockUnix
        estimate.isNewPrediction = newPrediction
        estimate.energyJoules = energy
        estimate.busyPercent = busy
        estimate.stealPercent = steal
        current = estimate
        emit(estimate, dtNs)
    }

    /// The newest window from the ring: raw (for the trust score) and scaled (the network's input).
    private func stageWindow(raw: UnsafeMutablePointer<Float>, scaled: UnsafeMutablePointer<Float>) {
        ring.makeRawWindow(into: raw)
        scaled.update(from: raw, count: model.inputSize)
        scaler.transform(scaled, rows: 1)
    }

    /// Turns one prediction into the current estimate: non-finite outputs held, trust scored.
    private func finishPrediction(watts: Float, rawWindow raw: UnsafeBufferPointer<Float>, latent: UnsafeBufferPointer<Float>?) {
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
            let result = scorer.score(rawWindow: raw, featureCount: featureSet.count, stride: ring.d, length: ring.d, latent: latent)
            trust = result.score
            ood = result.isOutOfDistribution
            limitedBy = result.latentScore < result.featureScore ? "latent" : model.features[result.worstFeature]
        }
        // A guest larger or smaller than any the model was trained on is out of distribution too.
        if let shape = guestShape, !shape.vcpus.contains(vcpus) {
            ood = true
            limitedBy = "vcpu_share"
        }
        if ood { oodCount += 1 }
        // The interval, once per prediction: around the model's output, moved by the rule offset like
        // the estimate, never below the floor the reported power has.
        var bounds: PowerInterval?
        if let interval = model.interval {
            let spread = spreadIndex?.spread(rawWindow: raw, length: ring.d)
            let b = interval.bounds(predicted, spread: spread)
            let floor = guestShape == nil ? 0 : idlePart
            bounds = PowerInterval(low: max(floor, b.low + ruleOffset), high: max(floor, b.high + ruleOffset))
        }
        defer { current?.interval = bounds }
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
            busyStartNs = sample.monotonicNs; busyStartTotal = total; busyStartIdle = idle; busyStartSteal = c.steal
            return
        }
        guard sample.monotonicNs &- busyStartNs >= 1_000_000_000 || total &- busyStartTotal >= 200 else { return }
        let dTotal = total >= busyStartTotal ? total - busyStartTotal : 0
        let dIdle = idle >= busyStartIdle ? idle - busyStartIdle : 0
        let dSteal = c.steal >= busyStartSteal ? c.steal - busyStartSteal : 0
        if dTotal > 0 {
            busy = 100 * Double(dTotal - min(dIdle, dTotal)) / Double(dTotal)
            steal = 100 * Double(min(dSteal, dTotal)) / Double(dTotal)
        }
        busyStartNs = sample.monotonicNs; busyStartTotal = total; busyStartIdle = idle; busyStartSteal = c.steal
    }
}
