import Foundation
import VraplCore
import VraplDataset
import VraplNN

/// Replays a feature series through a model file: every full window, in order, in eval mode.
public enum SeriesPredictor {
    /// Eval-mode predictions for every full window of `series`, in order (window ending at
    /// `firstWindowEnd + i` → element i).
    public static func predict(model: ModelFile, series: FeatureSeries, threads: Int) throws -> [Float] {
        let embedding = model.delayEmbedding
        guard series.featureNames == model.features else {
            throw VraplError("input features \(series.featureNames) differ from the model's \(model.features)")
        }
        let size = series.featureCount * embedding.d
        guard model.normalization.featureMin.count == size, model.normalization.featureRange.count == size else {
            throw VraplError("model normalization has \(model.normalization.featureMin.count) entries, windows have \(size)")
        }
        let scaler = model.makeScaler()
        let batch = 256
        let network = try model.makeNetwork(maxBatch: batch, threads: max(1, threads))
        let first = series.firstWindowEnd(embedding)
        let count = max(0, series.count - first)
        var out = [Float](repeating: 0, count: count)
        var inputs = [Float](repeating: 0, count: batch * size)
        var start = 0
        while start < count {
            let n = min(batch, count - start)
            inputs.withUnsafeMutableBufferPointer { x in
                guard let xb = x.baseAddress else { return }
                for r in 0..<n { series.window(endingAt: first + start + r, embedding: embedding, into: xb + r * size) }
                scaler.transform(xb, rows: n)
                let p = network.forward(inputs: xb, count: n, training: false)
                for r in 0..<n { out[start + r] = p[r] }
            }
            start += n
        }
        return out
    }
}
