// Fused and vectorised variants of the layer kernels, used by `Network` on its hot path. Each one is
// tested against the composition of the plain layer functions it replaces.

@inline(__always) func load16(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
    UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
}
@inline(__always) func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// BatchNorm (given statistics) and ReLU in one pass: xhat = (x − mean)/√(var + eps) (stored when
/// non-nil), out = max(0, γ·xhat + β). Layout [channels, count].
public func batchNormReLUForward(out: UnsafeMutablePointer<Float>, xhat: UnsafeMutablePointer<Float>?,
                                 input: UnsafePointer<Float>, mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
                                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, channels: Int, count: Int) {
    for c in 0..<channels {
        let invStd = 1 / (variance[c] + batchNormEpsilon).squareRoot()
        let x = input + c * count, y = out + c * count
        let m = mean[c], g = gamma[c], b = beta[c]
        let zero = SIMD16<Float>(repeating: 0)
        var i = 0
        if let xhat {
            let h = xhat + c * count
            let mv = SIMD16<Float>(repeating: m), sv = SIMD16<Float>(repeating: invStd)
            let gv = SIMD16<Float>(repeating: g), bv = SIMD16<Float>(repeating: b)
            while i + 16 <= count {
                let v = (load16(x, i) - mv) * sv
                store16(v, h, i)
                let o = gv * v + bv
                store16(o.replacing(with: zero, where: o .< zero), y, i)
                i += 16
            }
            while i < count { let v = (x[i] - m) * invStd; h[i] = v; y[i] = max(0, g * v + b); i += 1 }
        } else {
            let scale = g * invStd, shift = b - m * scale
            let sv = SIMD16<Float>(repeating: scale), tv = SIMD16<Float>(repeating: shift)
            while i + 16 <= count { let o = load16(x, i) * sv + tv; store16(o.replacing(with: zero, where: o .< zero), y, i); i += 16 }
            while i < count { y[i] = max(0, x[i] * scale + shift); i += 1 }
        }
    }
}

/// ReLU backward (gate from the forward output `act`, in place on `dAct`) fused with BatchNorm's backward
/// reduction: adds Σ d and Σ d·xhat per channel into sumD and sumDXhat. `applyReLU: false` skips the gate
/// (when the max-pool backward already applied it). Layout [channels, count].
public func reluBatchNormBackwardReduce(dAct: UnsafeMutablePointer<Float>, act: UnsafePointer<Float>,
                                        xhat: UnsafePointer<Float>, sumD: UnsafeMutablePointer<Float>,
                                        sumDXhat: UnsafeMutablePointer<Float>, channels: Int, count: Int,
                                        applyReLU: Bool = true) {
    let zero = SIMD16<Float>(repeating: 0)
    for c in 0..<channels {
        let d = dAct + c * count, a = act + c * count, h = xhat + c * count
        var accD = SIMD16<Float>(), accDH = SIMD16<Float>()
        var i = 0
        var tailD: Float = 0, tailDH: Float = 0
        if applyReLU {
            while i + 16 <= count {
                let v = load16(d, i).replacing(with: zero, where: load16(a, i) .<= zero)
                store16(v, d, i)
                accD += v; accDH += v * load16(h, i)
                i += 16
            }
            while i < count { let v = a[i] > 0 ? d[i] : 0; d[i] = v; tailD += v; tailDH += v * h[i]; i += 1 }
        } else {
            while i + 16 <= count { let v = load16(d, i); accD += v; accDH += v * load16(h, i); i += 16 }
            while i < count { tailD += d[i]; tailDH += d[i] * h[i]; i += 1 }
        }
        sumD[c] += accD.sum() + tailD
        sumDXhat[c] += accDH.sum() + tailDH
    }
}

/// BatchNorm backward input gradient (see `batchNormBackwardInput`), vectorised; may run in place.
public func batchNormBackwardInputFast(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                                       xhat: UnsafePointer<Float>, variance: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                       sumDOut: UnsafePointer<Float>, sumDOutXhat: UnsafePointer<Float>,
                                       totalCount: Int, channels: Int, count: Int) {
    let inverseN = 1 / Float(totalCount)
    for c in 0..<channels {
        let scale = gamma[c] / (variance[c] + batchNormEpsilon).squareRoot()
        let meanD = sumDOut[c] * inverseN, meanDH = sumDOutXhat[c] * inverseN
        let d = dOut + c * count, h = xhat + c * count, dx = dInput + c * count
        let sv = SIMD16<Float>(repeating: scale), mv = SIMD16<Float>(repeating: meanD), hv = SIMD16<Float>(repeating: meanDH)
        var i = 0
        while i + 16 <= count { store16(sv * (load16(d, i) - mv - load16(h, i) * hv), dx, i); i += 16 }
        while i < count { dx[i] = scale * (d[i] - meanD - h[i] * meanDH); i += 1 }
    }
}

/// im2col for a channel-major input [channels, batch·length] (see `im2col`): each col row is the input row
/// shifted by k − padding, copied in one piece, with the positions that fall outside a sample zeroed.
/// `inputRowStride` is the distance between channel rows of the input (batch·length unless the batch is a
/// chunk of a larger one).
public func im2colChannelMajor(col: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                               batch: Int, channels: Int, length: Int, kernelSize: Int, padding: Int,
                               inputRowStride: Int? = nil) {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    let rowStride = inputRowStride ?? batch * length
    guard outLength == length else {   // even kernels: fall back to the general version
        im2col(col: col, input: input, layout: ConvInputLayout(sampleStride: length, channelStride: rowStride), batch: batch,
               channels: channels, length: length, kernelSize: kernelSize, padding: padding)
        return
    }
    let n = batch * length
    for c in 0..<channels {
        let src = input + c * rowStride
        for k in 0..<kernelSize {
            let row = col + (c * kernelSize + k) * n
            let shift = k - padding
            if shift >= 0 {
                row.update(from: src + shift, count: n - shift)
                (row + n - shift).update(repeating: 0, count: shift)
                if shift > 0 { for b in 0..<batch { (row + b * length + length - shift).update(repeating: 0, count: shift) } }
            } else {
                row.update(repeating: 0, count: -shift)
                (row - shift).update(from: src, count: n + shift)
                for b in 0..<batch { (row + b * length).update(repeating: 0, count: -shift) }
            }
        }
    }
}

/// col2im for a channel-major dInput (adds; see `col2imAdd`). Zeroes the dCol entries that belong to
/// positions outside a sample (they are not gradients of anything), then adds each row shifted.
public func col2imAddChannelMajor(dInput: UnsafeMutablePointer<Float>, dCol: UnsafeMutablePointer<Float>,
                                  batch: Int, channels: Int, length: Int, kernelSize: Int, padding: Int,
                                  inputRowStride: Int? = nil) {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    let rowStride = inputRowStride ?? batch * length
    guard outLength == length else {
        col2imAdd(dInput: dInput, dCol: dCol, layout: ConvInputLayout(sampleStride: length, channelStride: rowStride), batch: batch,
                  channels: channels, length: length, kernelSize: kernelSize, padding: padding)
        return
    }
    let n = batch * length
    for c in 0..<channels {
        let dst = dInput + c * rowStride
        for k in 0..<kernelSize {
            let row = dCol + (c * kernelSize + k) * n
            let shift = k - padding
            if shift > 0 {
                for b in 0..<batch { (row + b * length + length - shift).update(repeating: 0, count: shift) }
            } else if shift < 0 {
                for b in 0..<batch { (row + b * length).update(repeating: 0, count: -shift) }
            }
            // dst[j + shift] += row[j] for every j whose target lies inside the row.
            let lo = max(0, -shift), hi = min(n, n - shift)
            let d = dst + shift
            var j = lo
            while j + 16 <= hi { store16(load16(d, j) + load16(row, j), d, j); j += 16 }
            while j < hi { d[j] += row[j]; j += 1 }
        }
    }
}

/// MaxPool1d(2)+flatten forward (see `maxPoolForward`) for pool 2.
public func maxPool2Forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                            batch: Int, channels: Int, length: Int) {
    let pooled = length / 2
    for c in 0..<channels {
        for b in 0..<batch {
            let x = input + (c * batch + b) * length
            let y = out + b * channels * pooled + c * pooled
            for p in 0..<pooled { y[p] = max(x[2 * p], x[2 * p + 1]) }
        }
    }
}

/// MaxPool1d(2) backward fused with the preceding ReLU's backward: the gradient goes to the first maximum of
/// each pair if that maximum is > 0 (the ReLU output was positive), everything else gets 0.
public func maxPool2ReLUBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                 batch: Int, channels: Int, length: Int) {
    let pooled = length / 2
    for c in 0..<channels {
        for b in 0..<batch {
            let x = input + (c * batch + b) * length
            let dx = dInput + (c * batch + b) * length
            let dy = dOut + b * channels * pooled + c * pooled
            for p in 0..<pooled {   // branch-free: the data decide, not the predictor
                let a = x[2 * p], z = x[2 * p + 1]
                let g = dy[p]
                let odd = z > a
                let best = odd ? z : a
                let passed: Float = best > 0 ? g : 0
                dx[2 * p] = odd ? 0 : passed
                dx[2 * p + 1] = odd ? passed : 0
            }
            if length > 2 * pooled { (dx + 2 * pooled).update(repeating: 0, count: length - 2 * pooled) }
        }
    }
}

/// ReLU in place, vectorised.
public func reluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let zero = SIMD16<Float>(repeating: 0)
    var i = 0
    while i + 16 <= count { let o = load16(x, i); store16(o.replacing(with: zero, where: o .< zero), x, i); i += 16 }
    while i < count { x[i] = max(0, x[i]); i += 1 }
}

/// dx ← dx · mask (optional) · [out > 0], in place, vectorised (dropout then ReLU backward).
public func maskReLUBackwardInPlace(_ d: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>?, out: UnsafePointer<Float>,
                                    count: Int) {
    let zero = SIMD16<Float>(repeating: 0)
    var i = 0
    if let mask {
        while i + 16 <= count { store16((load16(d, i) * load16(mask, i)).replacing(with: zero, where: load16(out, i) .<= zero), d, i); i += 16 }
        while i < count { d[i] = out[i] > 0 ? d[i] * mask[i] : 0; i += 1 }
    } else {
        while i + 16 <= count { store16(load16(d, i).replacing(with: zero, where: load16(out, i) .<= zero), d, i); i += 16 }
        while i < count { d[i] = out[i] > 0 ? d[i] : 0; i += 1 }
    }
}
