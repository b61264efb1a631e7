// OpenBLAS's SkylakeX/Cooperlake kernels multiply small matrices without packing either operand
// (`sgemm_small_kernel_*`), which for the guest's eval products is faster than the packed path:
// packing copies the whole weight matrix on every call. OpenBLAS takes that path (interface/gemm.c,
// kernel/x86_64/sgemm_small_kernel_permit_skylakex.c) when m·n·k ≤ 10⁶, and for a transposed first
// operand in its column-major terms (our row-major x · Wᵀ) only when also m·n ≤ 1 200 and k ≥ 32.
// So an eval product a little over that size runs faster as a few equal blocks under it:
// measured on this VM (docs/PERFORMANCE.md, "Guest: small blocks, no assembled windows"), the v4.1
// dense layer over 63 windows in row blocks of 8 instead of 16 took 123 µs instead of 174 µs cold,
// the sliding edge convolution over 512 columns in blocks of 64 instead of 128 69 µs instead of
// 104 µs, and the whole-host model's second convolution over 1 600 columns in blocks of 80 instead
// of 400 227 µs instead of 321 µs. Only eval passes split (`smallBlocks`); training keeps its calls.

/// How to split one side of a product into equal blocks that each stay on OpenBLAS's small-matrix
/// path: `count` blocks of `size` (the last one shorter).
struct SmallMatrixBlocks: Equatable {
    var size: Int
    var count: Int

    /// OpenBLAS's limit on m·n·k for its small-matrix path.
    static let productLimit = 1_000_000
    /// Its limit on the output's size for a transposed first operand (column-major), m·n.
    static let transposedOutputLimit = 1_200
    /// Products up to this many multiply-adds are split; larger ones amortize the packing. Measured:
    /// the dense layer's x · Wᵀ over 63 windows (6.2 M) ran faster as one packed call than in blocks of 8,
    /// a convolution's W · col over 512 or 1 600 columns (5.2 M, 16 M) faster in blocks.
    static let splitLimit = 4 * productLimit, untransposedSplitLimit = 16 * productLimit

    /// Blocks of the split side (`split` long) when the other two sides are `other` (their product,
    /// e.g. m·k) and, for a transposed first operand, `outputOther` the output's other side (nil when
    /// the first operand is not transposed). One block (no split) when the product already fits, is
    /// too large to gain, or cannot be split under the limits.
    static func plan(split: Int, other: Int, outputOther: Int? = nil, sharedK: Int) -> SmallMatrixBlocks {
        let whole = SmallMatrixBlocks(size: split, count: 1)
        guard split > 1, other > 0 else { return whole }
        let product = split * other
        var most = productLimit / other
        if let outputOther {
            guard sharedK >= 32 else { return whole }
            most = min(most, transposedOutputLimit / max(1, outputOther))
            if product <= productLimit && split * outputOther <= transposedOutputLimit { return whole }
        } else if product <= productLimit {
            return whole
        }
        guard product <= (outputOther == nil ? untransposedSplitLimit : splitLimit), most >= 1 else { return whole }
        let count = (split + most - 1) / most
        var size = (split + count - 1) / count
        // Round up to a multiple of 8 (the kernels' unroll) where that stays under the limit.
        let rounded = (size + 7) / 8 * 8
        if rounded <= most { size = rounded }
        return SmallMatrixBlocks(size: size, count: (split + size - 1) / size)
    }
}

extension BLAS {
    /// C[m×n] = A[m×k] · B[k×n] + beta · C (row-major, no transposes); with `split`, in column blocks of
    /// C and B that keep OpenBLAS on its small-matrix path where its kernel set has one
    /// (`hasSmallMatrixKernels`, or `force`), else in one call. The same products and sums per element.
    @inline(__always)
    static func sgemmColumnBlocks(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                  b: UnsafePointer<Float>, ldb: Int, beta: Float,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, split: Bool = true, force: Bool = false) {
        // Column-major (OpenBLAS's own view): C'[n×m] = B'[n×k] · A'[k×m], untransposed.
        let blocks = split && (hasSmallMatrixKernels || force) ? SmallMatrixBlocks.plan(split: n, other: m * k, sharedK: k)
                                                    : SmallMatrixBlocks(size: n, count: 1)
        var first = 0
        while first < n {
            let width = min(blocks.size, n - first)
            sgemm(transposeA: false, transposeB: false, m: m, n: width, k: k, a: a, lda: lda, b: b + first, ldb: ldb,
                  beta: beta, c: c + first, ldc: ldc)
            first += width
        }
    }

    /// C[m×n] = A[m×k] · Bᵀ + beta · C with B [n×k] (row-major; a linear layer's x · Wᵀ); with `split`,
    /// in row blocks of A and C that keep OpenBLAS on its small-matrix path (see `sgemmColumnBlocks`).
    @inline(__always)
    static func sgemmRowBlocksTransposedB(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                          b: UnsafePointer<Float>, ldb: Int, beta: Float,
                                          c: UnsafeMutablePointer<Float>, ldc: Int, split: Bool = true, force: Bool = false) {
        // Column-major: C'[n×m] = (B')ᵀ · A' with B' [k×n] transposed: OpenBLAS's "TN" with M = n, N = m.
        let blocks = split && (hasSmallMatrixKernels || force) ? SmallMatrixBlocks.plan(split: m, other: n * k, outputOther: n, sharedK: k)
                                                    : SmallMatrixBlocks(size: m, count: 1)
        var first = 0
        while first < m {
            let rows = min(blocks.size, m - first)
            sgemm(transposeA: false, transposeB: true, m: rows, n: n, k: k, a: a + first * lda, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c + first * ldc, ldc: ldc)
            first += rows
        }
    }
}
