import Testing
@testable import VraplNN

/// The eval passes' split of a product into blocks OpenBLAS multiplies without packing: the plan keeps
/// every block under OpenBLAS's small-matrix limits, and the blocked products equal the naive reference.
@Suite("Small-matrix blocks")
struct SmallMatrixBlocksTests {
    @Test("Each block stays under OpenBLAS's small-matrix limits; products that fit, or are large, stay whole")
    func plans() {
        // The guest's dense layer (16 windows · 768 → 128, OpenBLAS's "TN"): two blocks of 8.
        #expect(SmallMatrixBlocks.plan(split: 16, other: 128 * 768, outputOther: 128, sharedK: 768) == .init(size: 8, count: 2))
        // Its sliding edge convolution (64 × 160 weights, 128 columns): two blocks of 64.
        #expect(SmallMatrixBlocks.plan(split: 128, other: 64 * 160, sharedK: 160) == .init(size: 64, count: 2))
        // The whole-host model's second convolution in chunks of 16 windows (400 columns): five of 80.
        #expect(SmallMatrixBlocks.plan(split: 400, other: 64 * 160, sharedK: 160) == .init(size: 80, count: 5))
        // Already small (the 128 → 64 layer, the long convolution), or too large to gain (a training batch).
        #expect(SmallMatrixBlocks.plan(split: 16, other: 64 * 128, outputOther: 64, sharedK: 128).count == 1)
        #expect(SmallMatrixBlocks.plan(split: 32, other: 64 * 160, sharedK: 160).count == 1)
        #expect(SmallMatrixBlocks.plan(split: 512, other: 128 * 768, outputOther: 128, sharedK: 768).count == 1)
        #expect(SmallMatrixBlocks.plan(split: 12_800, other: 64 * 160, sharedK: 160).count == 1)
        // OpenBLAS's transposed small kernel needs k ≥ 32: no split below it.
        #expect(SmallMatrixBlocks.plan(split: 64, other: 1_000 * 16, outputOther: 1_000, sharedK: 16).count == 1)
        // Every planned block is within the limits, for sizes around them.
        for split in [2, 9, 10, 17, 63, 100, 257, 401, 1_000] {
            for (other, outputOther) in [(98_304, Optional(128)), (10_240, nil), (40_000, nil), (5_000, Optional(50))] {
                let plan = SmallMatrixBlocks.plan(split: split, other: other, outputOther: outputOther, sharedK: 64)
                #expect(plan.size * (plan.count - 1) < split && plan.size * plan.count >= split)
                guard plan.count > 1 else { continue }
                #expect(plan.size * other <= SmallMatrixBlocks.productLimit)
                if let outputOther { #expect(plan.size * outputOther <= SmallMatrixBlocks.transposedOutputLimit) }
            }
        }
    }

    @Test("Blocked products (forced, whatever the kernel set) equal a Double reference to float rounding",
          arguments: [(16, 128, 768), (13, 40, 100), (1, 128, 768)])
    func blockedProducts(_ shape: (Int, Int, Int)) {
        let (rows, outFeatures, inFeatures) = shape
        // Linear x · Wᵀ in row blocks, directly and through the layer.
        let x = randomValues(rows * inFeatures, seed: 21).floats, w = randomValues(outFeatures * inFeatures, seed: 22).floats
        let bias = [Float](repeating: 0, count: outFeatures)
        var blocked = [Float](repeating: 0, count: rows * outFeatures)
        BLAS.sgemmRowBlocksTransposedB(m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: w, ldb: inFeatures,
                                       beta: 0, c: &blocked, ldc: outFeatures, force: true)
        var viaLayer = [Float](repeating: 0, count: rows * outFeatures)
        linearForward(out: &viaLayer, input: x, weight: w, bias: bias, batch: rows, inFeatures: inFeatures,
                      outFeatures: outFeatures, smallBlocks: true)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                let (sum, size) = dot(inFeatures) { (Double(x[r * inFeatures + $0]), Double(w[o * inFeatures + $0])) }
                #expect(abs(Double(blocked[r * outFeatures + o]) - sum) <= 1e-6 * size)
                #expect(abs(Double(viaLayer[r * outFeatures + o]) - sum) <= 1e-6 * size)
            }
        }

        // W · col in column blocks (a convolution's GEMM): columns = rows · 8, into a wider C (ldc > n).
        let (m, k, n, ldc) = (outFeatures / 2, inFeatures / 4, rows * 8, rows * 8 + 3)
        let a = randomValues(m * k, seed: 23).floats, b = randomValues(k * n, seed: 24).floats
        var c = [Float](repeating: 7, count: m * ldc)
        BLAS.sgemmColumnBlocks(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, beta: 0, c: &c, ldc: ldc, force: true)
        for i in 0..<m {
            for j in 0..<n {
                let (sum, size) = dot(k) { (Double(a[i * k + $0]), Double(b[$0 * n + j])) }
                #expect(abs(Double(c[i * ldc + j]) - sum) <= 1e-6 * size)
            }
            for j in n..<ldc { #expect(c[i * ldc + j] == 7) }   // outside the product: untouched
        }
    }

    /// Σ uᵢvᵢ in Double and Σ |uᵢvᵢ| (the scale of a float sum's rounding error).
    private func dot(_ count: Int, _ term: (Int) -> (Double, Double)) -> (Double, Double) {
        var sum = 0.0, size = 0.0
        for t in 0..<count { let (u, v) = term(t); sum += u * v; size += abs(u * v) }
        return (sum, size)
    }
}
