import Foundation
import VraplCore
import VraplDataset
import VraplNN

/// Runs a model file over windows of a `WindowDataset` in eval mode (BatchNorm running statistics,
/// no dropout), with the model's own min–max normalisation.
public final class ModelPredictor {
    public let model: ModelFile
    let network: Network
    let scaler: MinMaxScaler
    let batch: Int

    public init(model: ModelFile, threads: Int = 1, batch: Int = 256) throws {
        self.model = model
        self.batch = batch
        network = try model.makeNetwork(maxBatch: batch, threads: max(1, threads))  // the one loading path
        let source = model.path ?? model.displayName
        let n = model.normalization
        guard n.featureMin.count == model.inputSize, n.featureRange.count == model.inputSize else {
            throw VraplError("\(source): normalization has \(n.featureMin.count) entries, the model takes \(model.inputSize) inputs")
        }
        scaler = model.makeScaler()
    }

    /// The feature set and window options the model expects.
    public func featureSet() throws -> FeatureSet { try model.featureSet() }
    public var embedding: DelayEmbedding { model.delayEmbedding }

    /// Checks that `dataset` has this model's features and embedding.
    public func check(_ dataset: WindowDataset) throws {
        guard dataset.featureNames == model.features else {
            throw VraplError("data features \(dataset.featureNames) differ from the model's \(model.features)")
        }
        guard dataset.embedding == embedding else {
            throw VraplError("data windows (d \(dataset.embedding.d), tau \(dataset.embedding.tau)) differ from the model's (d \(embedding.d), tau \(embedding.tau))")
        }
    }

    /// The one batched eval loop of a model file. `fill(first, n, raw)` writes windows `first ..< first + n`
    /// of the caller's sequence, unscaled and feature-major (`inputSize` values each), into `raw`;
    /// `perturb`, when given, edits each of them (what-if inputs for the OOD check); then they are
    /// scaled with the model's normalisation and predicted, and `body(first, n, raw windows or nil,
    /// outputs)` sees each batch (raw windows only when `raw`), with the network's latents of that batch.
    func forEachBatch(count: Int, raw: Bool, perturb: ((UnsafeMutablePointer<Float>) -> Void)? = nil,
                      fill: (Int, Int, UnsafeMutablePointer<Float>) -> Void,
                      _ body: (Int, Int, UnsafePointer<Float>?, UnsafePointer<Float>) -> Void) {
        let size = model.inputSize
        var inputs = [Float](repeating: 0, count: batch * size)
        let needsRaw = raw || perturb != nil
        var rawInputs = [Float](repeating: 0, count: needsRaw ? batch * size : 0)
        var preds = [Float](repeating: 0, count: batch)
        var start = 0
        while start < count {
            let n = min(batch, count - start)
            inputs.withUnsafeMutableBufferPointer { x in
                rawInputs.withUnsafeMutableBufferPointer { r in
                    preds.withUnsafeMutableBufferPointer { p in
                        guard let xb = x.baseAddress, let pb = p.baseAddress else { return }
                        if needsRaw, let rb = r.baseAddress {
                            fill(start, n, rb)
                            if let perturb { for row in 0..<n { perturb(rb + row * size) } }
                            xb.update(from: rb, count: n * size)
                        } else {
                            fill(start, n, xb)
                        }
                        scaler.transform(xb, rows: n)
                        network.predict(inputs: xb, count: n, into: pb)
                        body(start, n, raw ? UnsafePointer(r.baseAddress) : nil, UnsafePointer(pb))
                    }
                }
            }
            start += n
        }
    }

    /// `forEachBatch` over windows of a dataset (checked against the model first).
    private func forEachBatch(_ dataset: WindowDataset, _ windows: [Int32], raw: Bool,
                              perturb: ((UnsafeMutablePointer<Float>) -> Void)? = nil,
                              _ body: (Int, Int, UnsafePointer<Float>?, UnsafePointer<Float>) -> Void) throws {
        try check(dataset)
        windows.withUnsafeBufferPointer { all in
            forEachBatch(count: windows.count, raw: raw, perturb: perturb, fill: { first, n, out in
                dataset.gather(windows: UnsafeBufferPointer(rebasing: all[first..<(first + n)]), scaler: nil, inputs: out, targets: nil)
            }, body)
        }
    }

    /// Eval-mode predictions (W) for every full window of `series`, in order (the window ending at
    /// `series.firstWindowEnd + i` → element i): `vrapl predict`, replays and co-tenancy.
    public func predict(series: FeatureSeries) throws -> [Float] {
        guard series.featureNames == model.features else {
            throw VraplError("input features \(series.featureNames) differ from the model's \(model.features)")
        }
        let embedding = self.embedding, size = model.inputSize
        let first = series.firstWindowEnd(embedding)
        var out = [Float](repeating: 0, count: max(0, series.count - first))
        forEachBatch(count: out.count, raw: false, fill: { start, n, x in
            for r in 0..<n { series.window(endingAt: first + start + r, embedding: embedding, into: x + r * size) }
        }) { start, n, _, preds in
            for r in 0..<n { out[start + r] = preds[r] }
        }
        return out
    }

    /// The guest's trust score (`TrustScorer`: feature ranges and, when the model stores them, the latent
    /// distance) of each window, in order; nil when the model has no training statistics.
    public func trust(dataset: WindowDataset, windows: [Int32], perturb: ((UnsafeMutablePointer<Float>) -> Void)? = nil) throws -> [Double]? {
        guard let stats = model.trainingStats else { return nil }
        let scorer = TrustScorer(stats: stats)
        let size = dataset.inputSize, d = dataset.embedding.d, features = dataset.featureCount
        var out = [Double](repeating: 0, count: windows.count)
        try forEachBatch(dataset, windows, raw: true, perturb: perturb) { start, n, raw, _ in
            guard let raw else { return }
            for row in 0..<n {
                out[start + row] = scorer.score(rawWindow: UnsafeBufferPointer(start: raw + row * size, count: size), featureCount: features,
                                                stride: d, length: d, latent: stats.hasLatent ? network.latent(row: row) : nil).score
            }
        }
        return out
    }

    /// The model interval's spread index (normalized intervals only), built once.
    public private(set) lazy var spreadIndex: LocalSpreadIndex? = model.interval?.local?.makeIndex()

    /// The local spread of each window (W) for a normalized interval; nil for Mondrian bins or no interval.
    public func spreads(dataset: WindowDataset, windows: [Int32]) throws -> [Double]? {
        try check(dataset)
        return spreadIndex?.spreads(dataset: dataset, windows: windows)
    }

    /// Predictions (W) for the given windows, in order.
    public func predict(dataset: WindowDataset, windows: [Int32]) throws -> [Double] {
        var out = [Double](repeating: 0, count: windows.count)
        try forEachBatch(dataset, windows, raw: false) { start, n, _, preds in
            for r in 0..<n { out[start + r] = Double(preds[r]) }
        }
        return out
    }
}
