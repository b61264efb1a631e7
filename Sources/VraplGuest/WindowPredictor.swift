import VraplCore

/// What the guest needs from the network: one eval-mode prediction per scaled window, without
/// allocating, and the latent vector of that window (for the trust score). The nn engine's `Network`
/// conforms (see `ModelRuntime`).
public protocol WindowPredictor: AnyObject {
    /// Values per window (features × d).
    var inputSize: Int { get }
    /// Predicts package watts for one scaled window of `inputSize` values.
    func predict(window: UnsafePointer<Float>) -> Float
    /// The latent vector of the last prediction (empty if the model has none).
    var latent: UnsafeBufferPointer<Float> { get }
}

/// The batched mode's predictor: many windows in one pass (one fetch of the weights, a GEMM instead
/// of many GEMVs), and the latent vector of each row of that pass.
public protocol BatchWindowPredictor: WindowPredictor {
    /// Windows one pass can take.
    var maxBatch: Int { get }
    /// Predicts `count` scaled windows (`count × inputSize` values, row after row) into `outputs`.
    func predict(inputs: UnsafePointer<Float>, count: Int, into outputs: UnsafeMutablePointer<Float>)
    /// The latent vector of row `row` of the last `predict(inputs:count:into:)` (count ≤ maxBatch).
    func latent(row: Int) -> UnsafeBufferPointer<Float>
}

import VraplNN

/// The nn engine's network is the guest's predictor: `predict(window:)` is its allocation-free
/// single-window eval path and `latent` the encoder output of that window.
extension Network: BatchWindowPredictor {}
