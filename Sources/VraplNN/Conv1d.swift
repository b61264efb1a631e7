// Conv1d, PyTorch `nn.Conv1d` semantics (stride 1, zero padding), weight [out, in, kernel].
//
// The fast path lowers the convolution to one sgemm per call (im2col). Its activations are
// channel-major over the whole (sub-)batch: element (sample b, channel c, position l) of a
// [channels, batch·length] buffer is at `c·batch·length + b·length + l`, so one sgemm covers the
// batch and BatchNorm's per-channel statistics run over contiguous memory. The input of the first
// convolution is the window batch itself, [batch, channels, length]; `ConvInputLayout` says which.

/// Where element (sample, channel, position) of a convolution input lives:
/// `sample·sampleStride + channel·channelStride + position`.
public struct ConvInputLayout: Sendable {
    public var sampleStride: Int
    public var channelStride: Int
    /// [batch, channels, length] (PyTorch's layout; the window batch).
    public static func sampleMajor(channels: Int, length: Int) -> ConvInputLayout {
        ConvInputLayout(sampleStride: channels * length, channelStride: length)
    }
    /// [channels, batch, length] (the engine's activation layout).
    public static func channelMajor(batch: Int, length: Int) -> ConvInputLayout {
        ConvInputLayout(sampleStride: length, channelStride: batch * length)
    }
}

/// Output length of a stride-1 convolution.
@inline(__always)
public func conv1dOutputLength(length: Int, kernelSize: Int, padding: Int) -> Int {
    length + 2 * padding - kernelSize + 1
}

/// im2col. col [inChannels·kernelSize, batch·outLength]; row (c·K + k), column (b·outLength + l)
/// holds input(b, c, l + k − padding), or 0 outside the input.
public func im2col(col: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, layout: ConvInputLayout,
                   batch: Int, channels: Int, length: Int, kernelSize: Int, padding: Int) {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    let columns = batch * outLength
    for c in 0..<channels {
        for k in 0..<kernelSize {
            let row = col + (c * kernelSize + k) * columns
            let shift = k - padding
            let first = min(outLength, max(0, -shift)), last = max(first, min(outLength, length - shift))   // valid l in [first, last)
            for b in 0..<batch {
                let dst = row + b * outLength
                let src = input + b * layout.sampleStride + c * layout.channelStride + shift
                if first > 0 { dst.update(repeating: 0, count: first) }
                if last > first { (dst + first).update(from: src + first, count: last - first) }
                if last < outLength { (dst + last).update(repeating: 0, count: outLength - last) }
            }
        }
    }
}

/// col2im, the adjoint of `im2col`: adds dCol back into dInput (same layouts).
public func col2imAdd(dInput: UnsafeMutablePointer<Float>, dCol: UnsafePointer<Float>, layout: ConvInputLayout,
                      batch: Int, channels: Int, length: Int, kernelSize: Int, padding: Int) {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    let columns = batch * outLength
    for c in 0..<channels {
        for k in 0..<kernelSize {
            let row = dCol + (c * kernelSize + k) * columns
            let shift = k - padding
            let first = min(outLength, max(0, -shift)), last = max(first, min(outLength, length - shift))
            if last <= first { continue }
            for b in 0..<batch {
                let src = row + b * outLength
                let dst = dInput + b * layout.sampleStride + c * layout.channelStride + shift
                for l in first..<last { dst[l] += src[l] }
            }
        }
    }
}

/// Conv1d forward. out [outChannels, batch·outLength] (channel-major) = W · col + bias, where
/// `col` (workspace, [inChannels·K, batch·outLength]) is filled here by im2col and kept for backward.
public func conv1dForward(out: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>,
                          input: UnsafePointer<Float>, layout: ConvInputLayout,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                          batch: Int, inChannels: Int, outChannels: Int, length: Int, kernelSize: Int, padding: Int,
                          smallBlocks: Bool = false) {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    let columns = batch * outLength
    if layout.sampleStride == length && layout.channelStride == batch * length {
        im2colChannelMajor(col: col, input: input, batch: batch, channels: inChannels, length: length,
                           kernelSize: kernelSize, padding: padding)
    } else {
        im2col(col: col, input: input, layout: layout, batch: batch, channels: inChannels, length: length,
               kernelSize: kernelSize, padding: padding)
    }
    convolveColumns(out: out, col: col, weight: weight, bias: bias, outChannels: outChannels,
                    rows: inChannels * kernelSize, columns: columns, smallBlocks: smallBlocks)
}

/// The GEMM of a lowered convolution: out [outChannels, columns] = bias (per row) + weight
/// [outChannels, rows] · col [rows, columns], where `col` holds one input patch per column.
/// `smallBlocks` (eval passes) multiplies in column blocks OpenBLAS takes without packing (`SmallMatrixBlocks`).
@inline(__always)
func convolveColumns(out: UnsafeMutablePointer<Float>, col: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                     bias: UnsafePointer<Float>, outChannels: Int, rows: Int, columns: Int, smallBlocks: Bool = false) {
    for o in 0..<outChannels { (out + o * columns).update(repeating: bias[o], count: columns) }
    BLAS.sgemmColumnBlocks(m: outChannels, n: columns, k: rows, a: weight, lda: rows, b: col, ldb: columns,
                           beta: 1, c: out, ldc: columns, split: smallBlocks)
}

/// Conv1d backward. Adds into dWeight [out, in, K] and dBias [out]; if `dInput` is non-nil, computes
/// dCol = Wᵀ · dOut (workspace `dCol`, same shape as col) and adds it into dInput by col2im.
public func conv1dBackward(dInput: UnsafeMutablePointer<Float>?, dCol: UnsafeMutablePointer<Float>,
                           dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
                           dOut: UnsafePointer<Float>, col: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           layout: ConvInputLayout,
                           batch: Int, inChannels: Int, outChannels: Int, length: Int, kernelSize: Int, padding: Int) {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    let columns = batch * outLength
    let rows = inChannels * kernelSize
    BLAS.sgemm(transposeA: false, transposeB: true, m: outChannels, n: rows, k: columns,
               a: dOut, lda: columns, b: col, ldb: columns, beta: 1, c: dWeight, ldc: rows)
    for o in 0..<outChannels {
        let d = dOut + o * columns
        dBias[o] += Kernels.sum(d, columns)
    }
    guard let dInput else { return }
    BLAS.sgemm(transposeA: true, transposeB: false, m: rows, n: columns, k: outChannels,
               a: weight, lda: rows, b: dOut, ldb: columns, beta: 0, c: dCol, ldc: columns)
    if layout.sampleStride == length && layout.channelStride == batch * length {
        col2imAddChannelMajor(dInput: dInput, dCol: dCol, batch: batch, channels: inChannels, length: length,
                              kernelSize: kernelSize, padding: padding)
    } else {
        col2imAdd(dInput: dInput, dCol: dCol, layout: layout, batch: batch, channels: inChannels, length: length,
                  kernelSize: kernelSize, padding: padding)
    }
}

/// Naive reference Conv1d forward in PyTorch's layout: input [batch, in, L] → out [batch, out, outL].
public func conv1dForwardNaive<T: BinaryFloatingPoint>(input: [T], weight: [T], bias: [T], batch: Int,
                                                       inChannels: Int, outChannels: Int, length: Int,
                                                       kernelSize: Int, padding: Int) -> [T] {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    var out = [T](repeating: 0, count: batch * outChannels * outLength)
    for b in 0..<batch {
        for o in 0..<outChannels {
            for l in 0..<outLength {
                var sum = bias[o]
                for c in 0..<inChannels {
                    for k in 0..<kernelSize {
                        let p = l + k - padding
                        if p < 0 || p >= length { continue }
                        sum += weight[(o * inChannels + c) * kernelSize + k] * input[(b * inChannels + c) * length + p]
                    }
                }
                out[(b * outChannels + o) * outLength + l] = sum
            }
        }
    }
    return out
}

/// Naive reference Conv1d backward in PyTorch's layout: returns (dInput, dWeight, dBias).
public func conv1dBackwardNaive<T: BinaryFloatingPoint>(dOut: [T], input: [T], weight: [T], batch: Int,
                                                        inChannels: Int, outChannels: Int, length: Int,
                                                        kernelSize: Int, padding: Int)
    -> (dInput: [T], dWeight: [T], dBias: [T]) {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    var dInput = [T](repeating: 0, count: input.count)
    var dWeight = [T](repeating: 0, count: weight.count)
    var dBias = [T](repeating: 0, count: outChannels)
    for b in 0..<batch {
        for o in 0..<outChannels {
            for l in 0..<outLength {
                let d = dOut[(b * outChannels + o) * outLength + l]
                dBias[o] += d
                for c in 0..<inChannels {
                    for k in 0..<kernelSize {
                        let p = l + k - padding
                        if p < 0 || p >= length { continue }
                        dWeight[(o * inChannels + c) * kernelSize + k] += d * input[(b * inChannels + c) * length + p]
                        dInput[(b * inChannels + c) * length + p] += d * weight[(o * inChannels + c) * kernelSize + k]
                    }
                }
            }
        }
    }
    return (dInput, dWeight, dBias)
}

/// im2col of samples [first, first + count) of a batch in any layout (the channel-major fast path when it applies).
@inline(__always)
func im2colSamples(col: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, layout: ConvInputLayout, first: Int,
                   count: Int, channels: Int, length: Int, kernelSize: Int, padding: Int) {
    let chunkInput = input + first * layout.sampleStride
    if layout.sampleStride == length {
        im2colChannelMajor(col: col, input: chunkInput, batch: count, channels: channels, length: length,
                           kernelSize: kernelSize, padding: padding, inputRowStride: layout.channelStride)
    } else {
        im2col(col: col, input: chunkInput, layout: layout, batch: count, channels: channels, length: length,
               kernelSize: kernelSize, padding: padding)
    }
}

/// Conv1d forward in chunks of `chunk` samples, so the im2col workspace `col` ([inChannels·K, chunk·outLength])
/// stays in cache; the result is the same as `conv1dForward`. out [outChannels, batch·outLength].
public func conv1dForwardChunked(out: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>,
                                 input: UnsafePointer<Float>, layout: ConvInputLayout,
                                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                 batch: Int, inChannels: Int, outChannels: Int, length: Int, kernelSize: Int, padding: Int,
                                 chunk: Int, smallBlocks: Bool = false) {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    let columns = batch * outLength
    for o in 0..<outChannels { (out + o * columns).update(repeating: bias[o], count: columns) }
    var first = 0
    while first < batch {
        let count = min(max(1, chunk), batch - first)
        im2colSamples(col: col, input: input, layout: layout, first: first, count: count, channels: inChannels,
                      length: length, kernelSize: kernelSize, padding: padding)
        BLAS.sgemmColumnBlocks(m: outChannels, n: count * outLength, k: inChannels * kernelSize,
                               a: weight, lda: inChannels * kernelSize, b: col, ldb: count * outLength, beta: 1,
                               c: out + first * outLength, ldc: columns, split: smallBlocks)
        first += count
    }
}

/// Conv1d backward in chunks (see `conv1dForwardChunked`): recomputes each chunk's im2col into `col` instead
/// of keeping the whole batch's. Adds into dWeight, dBias and (if non-nil) dInput, which has the input's layout.
public func conv1dBackwardChunked(dInput: UnsafeMutablePointer<Float>?, dCol: UnsafeMutablePointer<Float>,
                                  col: UnsafeMutablePointer<Float>,
                                  dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
                                  dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, layout: ConvInputLayout,
                                  weight: UnsafePointer<Float>,
                                  batch: Int, inChannels: Int, outChannels: Int, length: Int, kernelSize: Int, padding: Int,
                                  chunk: Int) {
    let outLength = conv1dOutputLength(length: length, kernelSize: kernelSize, padding: padding)
    let columns = batch * outLength
    let rows = inChannels * kernelSize
    for o in 0..<outChannels { dBias[o] += Kernels.sum(dOut + o * columns, columns) }
    var first = 0
    while first < batch {
        let count = min(max(1, chunk), batch - first)
        let n = count * outLength
        im2colSamples(col: col, input: input, layout: layout, first: first, count: count, channels: inChannels,
                      length: length, kernelSize: kernelSize, padding: padding)
        BLAS.sgemm(transposeA: false, transposeB: true, m: outChannels, n: rows, k: n,
                   a: dOut + first * outLength, lda: columns, b: col, ldb: n, beta: 1, c: dWeight, ldc: rows)
        if let dInput {
            BLAS.sgemm(transposeA: true, transposeB: false, m: rows, n: n, k: outChannels,
                       a: weight, lda: rows, b: dOut + first * outLength, ldb: columns, beta: 0, c: dCol, ldc: n)
            let chunkInput = dInput + first * layout.sampleStride
            if layout.sampleStride == length {
                col2imAddChannelMajor(dInput: chunkInput, dCol: dCol, batch: count, channels: inChannels, length: length,
                                      kernelSize: kernelSize, padding: padding, inputRowStride: layout.channelStride)
            } else {
                col2imAdd(dInput: chunkInput, dCol: dCol, layout: layout, batch: count, channels: inChannels, length: length,
                          kernelSize: kernelSize, padding: padding)
            }
        }
        first += count
    }
}
