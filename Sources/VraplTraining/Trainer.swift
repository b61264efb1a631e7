import Foundation
import VraplCore
import VraplModel
import VraplDataset
import VraplNN

/// One epoch of the training history (`<model>.history.json`).
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var validation: RegressionMetrics
    public var learningRate: Double
    public var samplesPerSecond: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case epoch, validation, seconds
        case trainLoss = "train_loss"
        case learningRate = "lr"
        case samplesPerSecond = "samples_per_s"
    }
}

/// Trains a `Network` on the windows of a `WindowDataset`: shuffled training windows in batches
/// gathered into one reused buffer, validation every epoch, ReduceLROnPlateau and early stopping on
/// the validation loss, and the best-validation weights kept for the model file.
///
/// Determinism: the epoch order is a seeded shuffle of (config seed, epoch); dropout masks are keyed by
/// the network's seed and step; so a run resumed from a checkpoint continues exactly as it would have.
public final class Trainer {
    public let config: TrainConfig
    public let dataset: WindowDataset
    public let split: DatasetSplit
    public let scaler: MinMaxScaler
    public let network: Network
    public let lossKind: LossKind
    public var optimizer: AdamW
    public private(set) var scheduler: ReduceLROnPlateau
    public private(set) var stopper: EarlyStopping
    public private(set) var history: [EpochRecord] = []
    /// Parameters and BatchNorm buffers of the best validation epoch so far.
    public internal(set) var bestState: (parameters: [Float], buffers: [Float], tracked: [Int64])?
    public var bestEpoch: Int { stopper.bestEpoch }

    private var batchInputs: [Float]
    private var batchTargets: [Float]

    public init(config: TrainConfig, dataset: WindowDataset, split: DatasetSplit, threads: Int) throws {
        guard dataset.featureNames == config.featureSet.featureNames else {
            throw VraplError("dataset features \(dataset.featureNames) differ from the config's \(config.featureSet.featureNames)")
        }
        guard !split.train.isEmpty else { throw VraplError("the training split is empty: not enough windows (\(dataset.windowCount))") }
        let loss = config.loss
        self.config = config
        self.dataset = dataset
        self.split = split
        self.lossKind = loss
        self.scaler = MinMaxScaler.fit(dataset: dataset, windows: split.train)
        self.network = try Network(architecture: config.architecture, maxBatch: config.batchSize, threads: max(1, threads), seed: config.seed)
        guard network.inputSize == dataset.inputSize else {
            throw VraplError("the network takes \(network.inputSize) inputs but windows have \(dataset.inputSize)")
        }
        optimizer = AdamW(parameterCount: network.parameterCount, learningRate: Float(config.learningRate),
                          weightDecay: Float(config.weightDecay))
        scheduler = ReduceLROnPlateau(factor: Float(config.schedulerFactor), patience: config.schedulerPatience,
                                      minLearningRate: Float(config.minLearningRate))
        stopper = EarlyStopping(patience: config.earlyStoppingPatience)
        batchInputs = [Float](repeating: 0, count: config.batchSize * dataset.inputSize)
        batchTargets = [Float](repeating: 0, count: config.batchSize)
    }

    /// The seeded order of the training windows in `epoch`.
    public func epochOrder(_ epoch: Int) -> [Int32] {
        var order = split.train
        var rng = SplitMix64(seed: config.seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
        rng.shuffle(&order)
        return order
    }

    /// One pass over the training windows. Returns the mean training loss and samples/s.
    /// A final batch of a single window is skipped (BatchNorm needs two samples in training mode).
    public func trainEpoch(_ epoch: Int, progress: ((Int) -> Void)? = nil) -> (loss: Double, samplesPerSecond: Double) {
        let order = epochOrder(epoch)
        let batch = config.batchSize
        let start = DispatchTime.now().uptimeNanoseconds
        var total = 0.0, seen = 0
        var index = 0
        order.withUnsafeBufferPointer { ids in
            while index < ids.count {
                let n = min(batch, ids.count - index)
                if n < 2 { break }
                let slice = UnsafeBufferPointer(rebasing: ids[index..<(index + n)])
                batchInputs.withUnsafeMutableBufferPointer { x in
                    batchTargets.withUnsafeMutableBufferPointer { y in
                        guard let xb = x.baseAddress, let yb = y.baseAddress else { return }
                        dataset.gather(windows: slice, scaler: scaler, inputs: xb, targets: yb)
                        let l = network.trainStep(inputs: xb, targets: yb, count: n, loss: lossKind, optimizer: &optimizer)
                        total += l * Double(n)
                    }
                }
                seen += n
                index += n
                progress?(seen)
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (seen > 0 ? total / Double(seen) : .nan, seconds > 0 ? Double(seen) / seconds : 0)
    }

    /// Eval-mode forward passes over `windows` in batches of `config.batchSize`, gathered into the reused
    /// input buffer; `body(offset, count, outputs)` sees each batch's outputs (the network's latent rows
    /// are valid for that batch too).
    func forEachEvalBatch(_ windows: [Int32], _ body: (_ offset: Int, _ count: Int, _ outputs: UnsafeBufferPointer<Float>) -> Void) {
        let batch = config.batchSize
        windows.withUnsafeBufferPointer { ids in
            var index = 0
            while index < ids.count {
                let n = min(batch, ids.count - index)
                let slice = UnsafeBufferPointer(rebasing: ids[index..<(index + n)])
                batchInputs.withUnsafeMutableBufferPointer { x in
                    guard let xb = x.baseAddress else { return }
                    dataset.gather(windows: slice, scaler: scaler, inputs: xb, targets: nil)
                    body(index, n, network.forward(inputs: xb, count: n, training: false))
                }
                index += n
            }
        }
    }

    /// Eval-mode predictions for the given windows, in window order.
    public func predict(windows: [Int32]) -> [Float] {
        var out = [Float](repeating: 0, count: windows.count)
        forEachEvalBatch(windows) { offset, n, p in
            for i in 0..<n { out[offset + i] = p[i] }
        }
        return out
    }

    /// Scores the current weights on a set of windows.
    public func evaluate(windows: [Int32]) -> RegressionMetrics {
        let predictions = predict(windows: windows)
        let targets = windows.map { dataset.targets[Int(dataset.windowEnds[Int($0)])] }
        return RegressionMetrics.compute(predictions: predictions, targets: targets, loss: lossKind)
    }

    /// Runs one epoch, validates, steps the schedule; returns the record and whether it is a new best.
    public func runEpoch(_ epoch: Int, progress: ((Int) -> Void)? = nil) -> (record: EpochRecord, isBest: Bool) {
        let lr = optimizer.learningRate
        let t0 = DispatchTime.now().uptimeNanoseconds
        let (loss, rate) = trainEpoch(epoch, progress: progress)
        let validation = split.validation.isEmpty ? RegressionMetrics.empty(loss: loss)
            : evaluate(windows: split.validation)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let record = EpochRecord(epoch: epoch, trainLoss: loss, validation: validation, learningRate: Double("\(lr)") ?? Double(lr),
                                 samplesPerSecond: rate, seconds: seconds)
        let isBest = apply(record)
        if isBest { bestState = captureState() }
        return (record, isBest)
    }

    /// Feeds a finished epoch to the schedule and early stopping (also used to replay history on resume).
    @discardableResult
    func apply(_ record: EpochRecord) -> Bool {
        history.append(record)
        let metric = record.validation.loss.isFinite ? record.validation.loss : record.trainLoss
        optimizer.learningRate = scheduler.step(metric: metric, learningRate: Float(record.learningRate))
        return stopper.record(metric: metric, epoch: record.epoch)
    }

    public var shouldStop: Bool { stopper.shouldStop }

    // MARK: State

    func captureState() -> (parameters: [Float], buffers: [Float], tracked: [Int64]) {
        (Array(UnsafeBufferPointer(start: network.parameters.pointer, count: network.parameters.count)),
         Array(UnsafeBufferPointer(start: network.buffers.pointer, count: network.buffers.count)),
         network.batchesTracked)
    }

    func restoreState(_ s: (parameters: [Float], buffers: [Float], tracked: [Int64])) {
        for i in 0..<min(s.parameters.count, network.parameters.count) { network.parameters[i] = s.parameters[i] }
        for i in 0..<min(s.buffers.count, network.buffers.count) { network.buffers[i] = s.buffers[i] }
        network.batchesTracked = s.tracked
    }

    /// Puts the best validation weights into the network (after training).
    public func restoreBest() {
        if let bestState { restoreState(bestState) }
    }

    /// The model file for the network's current weights.
    public func modelFile(powerSource: PowerSource, provenance: String, metrics: String, trainingStats: TrainingStats?,
                          name: String?) throws -> ModelFile {
        let view = dataset.guestView
        var model = ModelFile(architecture: config.architecture, features: dataset.featureNames,
                              embedding: Embedding(d: config.d, tau: config.tau, sampleIntervalMs: config.sampleIntervalMs),
                              normalization: Normalization(featureMin: scaler.featureMin.map(Double.init),
                                                           featureRange: scaler.featureRange.map(Double.init)),
                              target: view == nil ? "package_power_watts" : "guest_share_watts",
                              powerSource: powerSource, provenance: provenance, metrics: metrics, trainingStats: trainingStats,
                              name: name, tensors: try ModelFile.tensors(from: network))
        model.busySource = config.featureSet.busySource
        // A guest-shaped model carries its host; trained on guest views, it must see k/T as an input.
        if let view {
            guard dataset.featureNames.contains("vcpu_share") else {
                throw VraplError("the data are guest views (targets are a guest's share of its host) but the features '\(dataset.featureNames.joined(separator: ","))' "
                                 + "have no vcpu_share input: use 'features: guest-share-5'")
            }
            model.guestShape = GuestShape(host: view.host, vcpus: view.vcpus, rule: view.rule)
        }
        return model
    }

    /// Statistics for the guest's trust score: the newest sample of every training window (features)
    /// and the latent vectors of up to `latentWindows` evenly spaced training windows (current weights).
    public func trainingStats(latentWindows: Int = 20_000) -> TrainingStats {
        var acc = TrainingStatsAccumulator(features: dataset.featureNames, seed: config.seed | 1)
        for w in split.train.sorted() {
            acc.addSample(dataset.featureRow(atGlobal: Int(dataset.windowEnds[Int(w)])))
        }
        let sorted = split.train.sorted()
        let stride = max(1, sorted.count / max(1, latentWindows))
        let chosen = Swift.stride(from: 0, to: sorted.count, by: stride).map { sorted[$0] }
        forEachEvalBatch(chosen) { _, n, _ in
            for r in 0..<n { acc.addLatent(Array(network.latent(row: r))) }
        }
        return acc.finish(windows: split.train.count)
    }
}
