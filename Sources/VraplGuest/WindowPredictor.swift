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

import VraplNN

/// The nn engine's network is the guest's predictor: `predict(window:)` is its allocation-free
/// single-window eval path and `latent` the encoder output of that window.
extension Network: WindowPredictor {}
