// Linear layer, PyTorch `nn.Linear` semantics: y = x · Wᵀ + b, weight [out, in] row-major.

/// Linear forward. out [batch, outFeatures] = input [batch, inFeatures] · weightᵀ + bias.
/// `weight` is [outFeatures, inFeatures] (PyTorch layout), `bias` [outFeatures]. `smallBlocks` (eval
/// passes) splits the batch into blocks that OpenBLAS multiplies without packing (`SmallMatrixBlocks`).
@inline(__always)
public func linearForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                          batch: Int, inFeatures: Int, outFeatures: Int, smallBlocks: Bool = false) {
    for row in 0..<batch {
        (out + row * outFeatures).update(from: bias, count: outFeatures)
    }
    if batch == 1 && !BLAS.hasSmallMatrixKernels {   // one window (the guest's live path): matrix-vector product
        BLAS.sgemv(m: outFeatures, n: inFeatures, a: weight, lda: inFeatures, x: input, beta: 1, y: out)
        return
    }
    BLAS.sgemmRowBlocksTransposedB(m: batch, n: outFeatures, k: inFeatures, a: input, lda: inFeatures,
                                   b: weight, ldb: inFeatures, beta: 1, c: out, ldc: outFeatures, split: smallBlocks)
}

/// Linear backward; adds into `dWeight` [out, in] and `dBias` [out]; writes (or, with
/// `accumulateInput`, adds into) `dInput` [batch, in] unless it is nil.
@inline(__always)
public func linearBackward(dInput: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
                           dBias: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                           input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           batch: Int, inFeatures: Int, outFeatures: Int, accumulateInput: Bool = false) {
    // dW[out, in] += dOutᵀ[out, batch] · input[batch, in]
    BLAS.sgemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: batch,
               a: dOut, lda: outFeatures, b: input, ldb: inFeatures, beta: 1, c: dWeight, ldc: inFeatures)
    for row in 0..<batch {
        let d = dOut + row * outFeatures
        for o in 0..<outFeatures { dBias[o] += d[o] }
    }
    if let dInput {
        // dInput[batch, in] = dOut[batch, out] · W[out, in]
        BLAS.sgemm(transposeA: false, transposeB: false, m: batch, n: inFeatures, k: outFeatures,
                   a: dOut, lda: outFeatures, b: weight, ldb: inFeatures, beta: accumulateInput ? 1 : 0,
                   c: dInput, ldc: inFeatures)
    }
}

/// Naive reference of `linearForward` (plain loops, any floating-point type).
public func linearForwardNaive<T: BinaryFloatingPoint>(input: [T], weight: [T], bias: [T],
                                                       batch: Int, inFeatures: Int, outFeatures: Int) -> [T] {
    var out = [T](repeating: 0, count: batch * outFeatures)
    for b in 0..<batch {
        for o in 0..<outFeatures {
            var sum = bias[o]
            for i in 0..<inFeatures { sum += input[b * inFeatures + i] * weight[o * inFeatures + i] }
            out[b * outFeatures + o] = sum
        }
    }
    return out
}

/// Naive reference of `linearBackward`: returns (dInput, dWeight, dBias).
public func linearBackwardNaive<T: BinaryFloatingPoint>(dOut: [T], input: [T], weight: [T],
                                                        batch: Int, inFeatures: Int, outFeatures: Int)
    -> (dInput: [T], dWeight: [T], dBias: [T]) {
    var dInput = [T](repeating: 0, count: batch * inFeatures)
    var dWeight = [T](repeating: 0, count: outFeatures * inFeatures)
    var dBias = [T](repeating: 0, count: outFeatures)
    for b in 0..<batch {
        for o in 0..<outFeatures {
            let d = dOut[b * outFeatures + o]
            dBias[o] += d
            for i in 0..<inFeatures {
                dWeight[o * inFeatures + i] += d * input[b * inFeatures + i]
                dInput[b * inFeatures + i] += d * weight[o * inFeatures + i]
            }
        }
    }
    return (dInput, dWeight, dBias)
}
