// AdamW over the flat parameter buffer: one loop, moments in buffers of the parameter layout.

/// AdamW exactly as `torch.optim.AdamW` (amsgrad = False, maximize = False) computes it:
///
///     step += 1
///     p ← p · (1 − lr · weight_decay)                  decoupled weight decay, on every parameter
///     m ← m + (1 − β1) · (g − m)                       (torch: exp_avg.lerp_(grad, 1 − β1))
///     v ← β2 · v + (1 − β2) · g²
///     bias_correction1 = 1 − β1^step, bias_correction2 = 1 − β2^step
///     p ← p − (lr / bias_correction1) · m / (√v / √bias_correction2 + ε)
///
/// Defaults as torch: β = (0.9, 0.999), ε = 1e-8; weight decay 0.01 in torch, DECODE-RAPL uses 3e-4.
/// The bias corrections are computed in Double, like torch's Python scalars.
public struct AdamW: Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float
    /// Steps taken so far (torch's `state['step']`).
    public private(set) var step: Int = 0
    /// First and second moments, same layout as the parameters.
    public let m: FloatBuffer
    public let v: FloatBuffer

    public init(parameterCount: Int, learningRate: Float = 5e-4, weightDecay: Float = 3e-4) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        m = FloatBuffer(count: parameterCount)
        v = FloatBuffer(count: parameterCount)
    }

    /// The per-step scalars of one update (from `beginStep()`), applied to ranges of the parameters by
    /// `apply(_:parameters:gradients:range:)`, possibly from several threads on disjoint ranges.
    public struct Step: Sendable {
        var stepSize: Float, correction2Root: Float, decay: Float, b1: Float, b2: Float, eps: Float
        let m: FloatBuffer, v: FloatBuffer

        /// Updates parameters[range] from gradients[range] (and the moments there).
        public func apply(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, range: Range<Int>) {
            let mp = m.pointer, vp = v.pointer
            var i = range.lowerBound
            let one = SIMD16<Float>(repeating: 1)
            let b1v = SIMD16<Float>(repeating: b1), b2v = SIMD16<Float>(repeating: b2), epsv = SIMD16<Float>(repeating: eps)
            let decayv = SIMD16<Float>(repeating: decay), stepv = SIMD16<Float>(repeating: stepSize)
            let c2v = SIMD16<Float>(repeating: correction2Root)
            while i + 16 <= range.upperBound {
                let g = load16(gradients, i)
                let mOld = load16(mp, i)
                let mi = mOld + (one - b1v) * (g - mOld)
                let vi = b2v * load16(vp, i) + (one - b2v) * g * g
                store16(mi, mp, i); store16(vi, vp, i)
                store16(load16(parameters, i) * decayv - stepv * mi / (vi.squareRoot() / c2v + epsv), parameters, i)
                i += 16
            }
            while i < range.upperBound {
                let g = gradients[i]
                var p = parameters[i] * decay
                let mi = mp[i] + (1 - b1) * (g - mp[i])
                let vi = b2 * vp[i] + (1 - b2) * g * g
                mp[i] = mi; vp[i] = vi
                p -= stepSize * mi / (vi.squareRoot() / correction2Root + eps)
                parameters[i] = p
                i += 1
            }
        }
    }

    /// Counts one step and returns its scalars (bias corrections computed in Double, like torch's Python floats).
    public mutating func beginStep() -> Step {
        step += 1
        let correction1 = 1 - pow(Double(beta1), Double(step))
        let correction2 = 1 - pow(Double(beta2), Double(step))
        return Step(stepSize: Float(Double(learningRate) / correction1), correction2Root: Float(correction2.squareRoot()),
                    decay: Float(1 - Double(learningRate) * Double(weightDecay)), b1: beta1, b2: beta2, eps: epsilon,
                    m: m, v: v)
    }

    /// One update of `parameters` from `gradients` (count values each).
    public mutating func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, count: Int) {
        precondition(count == m.count, "AdamW: parameter count changed")
        beginStep().apply(parameters: parameters, gradients: gradients, range: 0..<count)
    }

    /// Restores the optimizer state (for resuming): moments and step count.
    public mutating func restore(step: Int, m: [Float], v: [Float]) {
        precondition(m.count == self.m.count && v.count == self.v.count, "AdamW: state size mismatch")
        self.step = step
        for i in 0..<m.count { self.m[i] = m[i]; self.v[i] = v[i] }
    }
}


#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ReduceLROnPlateau as `torch.optim.lr_scheduler.ReduceLROnPlateau` with mode "min",
/// threshold_mode "rel" (threshold 1e-4), cooldown 0 by default, eps 1e-8: after more than `patience`
/// epochs without a relative improvement, lr ← max(lr · factor, minLearningRate).
public struct ReduceLROnPlateau: Sendable {
    public var factor: Float
    public var patience: Int
    public var minLearningRate: Float
    public var threshold: Double
    public var cooldown: Int
    public private(set) var best: Double = .infinity
    public private(set) var badEpochs = 0
    private var cooldownCounter = 0

    public init(factor: Float = 0.5, patience: Int = 5, minLearningRate: Float = 1e-5, threshold: Double = 1e-4,
                cooldown: Int = 0) {
        self.factor = factor; self.patience = patience; self.minLearningRate = minLearningRate
        self.threshold = threshold; self.cooldown = cooldown
    }

    /// Feeds one epoch's metric; returns the learning rate to use from now on.
    public mutating func step(metric: Double, learningRate: Float) -> Float {
        if metric < best * (1 - threshold) { best = metric; badEpochs = 0 } else { badEpochs += 1 }
        if cooldownCounter > 0 { cooldownCounter -= 1; badEpochs = 0 }
        guard badEpochs > patience else { return learningRate }
        cooldownCounter = cooldown
        badEpochs = 0
        let reduced = max(learningRate * factor, minLearningRate)
        return learningRate - reduced > 1e-8 ? reduced : learningRate
    }
}

/// Early stopping on a validation metric (lower is better): `shouldStop` becomes true after `patience`
/// consecutive epochs without improving the best value by more than `minDelta`.
public struct EarlyStopping: Sendable {
    public var patience: Int
    public var minDelta: Double
    public private(set) var best: Double = .infinity
    public private(set) var bestEpoch = -1
    public private(set) var epochsWithoutImprovement = 0

    public init(patience: Int = 15, minDelta: Double = 0) { self.patience = patience; self.minDelta = minDelta }

    /// Records epoch `epoch`'s metric; returns true when it is a new best (save a checkpoint then).
    @discardableResult
    public mutating func record(metric: Double, epoch: Int) -> Bool {
        if metric < best - minDelta {
            best = metric; bestEpoch = epoch; epochsWithoutImprovement = 0
            return true
        }
        epochsWithoutImprovement += 1
        return false
    }

    public var shouldStop: Bool { epochsWithoutImprovement >= patience }
}
