import VraplCore

// ReLU, MaxPool1d and Dropout, PyTorch semantics.

/// ReLU forward, out = max(0, input), n values; may run in place.
@inline(__always)
public func reluForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = max(0, input[i]) }
}

/// ReLU backward from the forward *output*: dInput = dOut where out > 0, else 0. May run in place.
@inline(__always)
public func reluBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, out: UnsafePointer<Float>,
                         count: Int) {
    for i in 0..<count { dInput[i] = out[i] > 0 ? dOut[i] : 0 }
}

/// MaxPool1d(kernel = stride = `pool`, no padding; a trailing partial window is dropped as in PyTorch)
/// fused with the flatten that follows it: input channel-major [channels, batch, length] → out
/// [batch, channels·pooled] (PyTorch's flatten order of [batch, channels, pooled]), pooled = length / pool.
public func maxPoolForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                           batch: Int, channels: Int, length: Int, pool: Int) {
    let pooled = length / pool
    for c in 0..<channels {
        for b in 0..<batch {
            let x = input + (c * batch + b) * length
            let y = out + b * channels * pooled + c * pooled
            for p in 0..<pooled {
                var best = x[p * pool]
                for j in 1..<max(pool, 1) where x[p * pool + j] > best { best = x[p * pool + j] }
                y[p] = best
            }
        }
    }
}

/// MaxPool1d backward: writes dInput [channels, batch, length] (every value: the gradient goes to the
/// first maximum of each window, as PyTorch's CPU kernel picks it; everything else gets 0).
public func maxPoolBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>,
                            batch: Int, channels: Int, length: Int, pool: Int) {
    let pooled = length / pool
    for c in 0..<channels {
        for b in 0..<batch {
            let x = input + (c * batch + b) * length
            let dx = dInput + (c * batch + b) * length
            let dy = dOut + b * channels * pooled + c * pooled
            dx.update(repeating: 0, count: length)
            for p in 0..<pooled {
                var bestIndex = p * pool
                for j in 1..<max(pool, 1) where x[p * pool + j] > x[bestIndex] { bestIndex = p * pool + j }
                dx[bestIndex] = dy[p]
            }
        }
    }
}

/// Naive reference MaxPool1d in PyTorch's layout: [batch, channels, length] → [batch, channels, length / pool].
public func maxPoolForwardNaive<T: BinaryFloatingPoint>(input: [T], batch: Int, channels: Int, length: Int, pool: Int) -> [T] {
    let pooled = length / pool
    var out = [T](repeating: 0, count: batch * channels * pooled)
    for b in 0..<batch {
        for c in 0..<channels {
            for p in 0..<pooled {
                let window = (0..<pool).map { input[(b * channels + c) * length + p * pool + $0] }
                out[(b * channels + c) * pooled + p] = window.max() ?? 0
            }
        }
    }
    return out
}

/// Dropout mask, inverted scaling: mask[i] = 1/(1−p) with probability 1−p, else 0. Deterministic in
/// (seed, stream, row, column), so a sample's mask does not depend on how the batch is split across
/// threads. mask [rows, columns]; `firstRow` is the global index of the first row.
public func dropoutMask(mask: UnsafeMutablePointer<Float>, rows: Int, columns: Int, firstRow: Int,
                        probability: Float, seed: UInt64, stream: UInt64) {
    let keep: Float = 1 / (1 - probability)
    let base = SplitMix64.mix(seed ^ SplitMix64.mix(stream &+ 0x9E37_79B9_7F4A_7C15))
    for r in 0..<rows {
        var generator = SplitMix64(state: base ^ SplitMix64.mix(UInt64(firstRow + r)))
        let row = mask + r * columns
        var c = 0
        while c < columns {
            let bits = generator.next()
            let u0 = Float(bits >> 40) * 0x1p-24
            row[c] = u0 < probability ? 0 : keep
            if c + 1 < columns {
                let u1 = Float((bits >> 8) & 0xFF_FFFF) * 0x1p-24
                row[c + 1] = u1 < probability ? 0 : keep
            }
            c += 2
        }
    }
}

/// Dropout forward/backward with a mask from `dropoutMask`: out = input · mask (may run in place);
/// the backward is the same product with dOut.
@inline(__always)
public func applyMask(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = input[i] * mask[i] }
}

