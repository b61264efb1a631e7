// BatchNorm1d, PyTorch `nn.BatchNorm1d` semantics over [batch, channels, length] inputs: statistics
// per channel over batch and length; training normalises with the biased batch variance and
// updates the running statistics with momentum 0.1 and the *unbiased* variance (n / (n − 1));
// evaluation normalises with the running statistics. eps = 1e-5.
//
// Fast path layout: channel-major [channels, count] with count = batch·length per channel (see
// Conv1d.swift). Training statistics may be computed over several shards of the batch (one per
// thread): each shard reports (count, mean, M2) per channel and `BatchNormStatistics.combine`
// merges them exactly (Chan et al.), so the result does not depend on the thread count beyond
// rounding.

public let batchNormEpsilon: Float = 1e-5
public let batchNormMomentum: Float = 0.1

/// Per-channel mean and M2 (sum of squared deviations from the mean) of one shard.
/// input [channels, count]; mean, m2 [channels].
public func batchNormShardStatistics(mean: UnsafeMutablePointer<Float>, m2: UnsafeMutablePointer<Float>,
                                     input: UnsafePointer<Float>, channels: Int, count: Int) {
    for c in 0..<channels {
        let x = input + c * count
        let m = Kernels.sum(x, count) / Float(max(1, count))
        mean[c] = m
        m2[c] = Kernels.sumSquaredDeviations(x, count, from: m)
    }
}

/// Merges per-shard statistics into the batch mean and biased variance, and updates the running
/// statistics PyTorch's way (momentum, unbiased variance).
public enum BatchNormStatistics {
    /// - Parameters: shardMeans/shardM2s: one [channels] pointer per shard; counts: values per channel per shard.
    ///   mean, variance: out [channels] (biased batch variance). runningMean, runningVariance: updated in place.
    public static func combine(shardMeans: [UnsafePointer<Float>], shardM2s: [UnsafePointer<Float>], counts: [Int],
                               channels: Int, mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
                               runningMean: UnsafeMutablePointer<Float>, runningVariance: UnsafeMutablePointer<Float>,
                               momentum: Float = batchNormMomentum) {
        for c in 0..<channels {
            var n = 0.0, m = 0.0, m2 = 0.0
            for s in 0..<counts.count where counts[s] > 0 {
                let nb = Double(counts[s]), mb = Double(shardMeans[s][c]), m2b = Double(shardM2s[s][c])
                let total = n + nb
                let delta = mb - m
                m += delta * nb / total
                m2 += m2b + delta * delta * n * nb / total
                n = total
            }
            let biased = n > 0 ? m2 / n : 0
            let unbiased = n > 1 ? m2 / (n - 1) : biased
            mean[c] = Float(m)
            variance[c] = Float(biased)
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * Float(m)
            runningVariance[c] = (1 - momentum) * runningVariance[c] + momentum * Float(unbiased)
        }
    }
}

/// BatchNorm forward with given statistics (batch statistics in training, running ones in eval).
/// out, input [channels, count]; xhat [channels, count] (normalised input, kept for backward; may be nil in eval).
public func batchNormForward(out: UnsafeMutablePointer<Float>, xhat: UnsafeMutablePointer<Float>?,
                             input: UnsafePointer<Float>, mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
                             gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, channels: Int, count: Int) {
    for c in 0..<channels {
        let invStd = 1 / (variance[c] + batchNormEpsilon).squareRoot()
        let x = input + c * count, y = out + c * count
        let m = mean[c], g = gamma[c], b = beta[c]
        if let xhat {
            let h = xhat + c * count
            for i in 0..<count { let v = (x[i] - m) * invStd; h[i] = v; y[i] = g * v + b }
        } else {
            let scale = g * invStd, shift = b - m * scale
            for i in 0..<count { y[i] = x[i] * scale + shift }
        }
    }
}

/// First half of the training-mode backward, per shard: adds Σ dOut and Σ dOut·xhat per channel into
/// dBeta and dGamma (which are exactly the parameter gradients, and, summed over shards, what
/// `batchNormBackwardInput` needs).
public func batchNormBackwardReduce(dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
                                    dOut: UnsafePointer<Float>, xhat: UnsafePointer<Float>, channels: Int, count: Int) {
    for c in 0..<channels {
        let d = dOut + c * count, h = xhat + c * count
        dBeta[c] += Kernels.sum(d, count)
        dGamma[c] += Kernels.dot(d, h, count)
    }
}

/// Second half, per shard: dInput = γ/σ · (dOut − Σ dOut / N − xhat · Σ dOut·xhat / N), with the sums
/// over the whole batch (all shards) and N = values per channel in the whole batch. May run in place.
public func batchNormBackwardInput(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                                   xhat: UnsafePointer<Float>, variance: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                   sumDOut: UnsafePointer<Float>, sumDOutXhat: UnsafePointer<Float>,
                                   totalCount: Int, channels: Int, count: Int) {
    let inverseN = 1 / Float(totalCount)
    for c in 0..<channels {
        let scale = gamma[c] / (variance[c] + batchNormEpsilon).squareRoot()
        let meanD = sumDOut[c] * inverseN, meanDH = sumDOutXhat[c] * inverseN
        let d = dOut + c * count, h = xhat + c * count, dx = dInput + c * count
        for i in 0..<count { dx[i] = scale * (d[i] - meanD - h[i] * meanDH) }
    }
}

/// Naive reference, training mode, PyTorch layout [batch, channels, length]: returns the output and
/// the batch mean and biased variance.
public func batchNormTrainForwardNaive<T: BinaryFloatingPoint>(input: [T], gamma: [T], beta: [T], batch: Int,
                                                               channels: Int, length: Int)
    -> (out: [T], mean: [T], variance: [T]) {
    var out = [T](repeating: 0, count: input.count)
    var means = [T](repeating: 0, count: channels), variances = [T](repeating: 0, count: channels)
    let n = T(batch * length)
    for c in 0..<channels {
        var sum: T = 0
        for b in 0..<batch { for l in 0..<length { sum += input[(b * channels + c) * length + l] } }
        let mean = sum / n
        var sq: T = 0
        for b in 0..<batch { for l in 0..<length { let d = input[(b * channels + c) * length + l] - mean; sq += d * d } }
        let variance = sq / n
        means[c] = mean; variances[c] = variance
        let invStd = 1 / (variance + T(batchNormEpsilon)).squareRoot()
        for b in 0..<batch {
            for l in 0..<length {
                let i = (b * channels + c) * length + l
                out[i] = gamma[c] * (input[i] - mean) * invStd + beta[c]
            }
        }
    }
    return (out, means, variances)
}

/// Naive reference backward of training-mode BatchNorm, PyTorch layout: (dInput, dGamma, dBeta).
public func batchNormTrainBackwardNaive<T: BinaryFloatingPoint>(dOut: [T], input: [T], gamma: [T], batch: Int,
                                                                channels: Int, length: Int)
    -> (dInput: [T], dGamma: [T], dBeta: [T]) {
    let (_, means, variances) = batchNormTrainForwardNaive(input: input, gamma: gamma,
                                                           beta: [T](repeating: 0, count: channels),
                                                           batch: batch, channels: channels, length: length)
    var dInput = [T](repeating: 0, count: input.count)
    var dGamma = [T](repeating: 0, count: channels), dBeta = [T](repeating: 0, count: channels)
    let n = T(batch * length)
    for c in 0..<channels {
        let invStd = 1 / (variances[c] + T(batchNormEpsilon)).squareRoot()
        var sumD: T = 0, sumDH: T = 0
        for b in 0..<batch {
            for l in 0..<length {
                let i = (b * channels + c) * length + l
                sumD += dOut[i]; sumDH += dOut[i] * (input[i] - means[c]) * invStd
            }
        }
        dGamma[c] = sumDH; dBeta[c] = sumD
        for b in 0..<batch {
            for l in 0..<length {
                let i = (b * channels + c) * length + l
                let h = (input[i] - means[c]) * invStd
                dInput[i] = gamma[c] * invStd * (dOut[i] - sumD / n - h * sumDH / n)
            }
        }
    }
    return (dInput, dGamma, dBeta)
}
