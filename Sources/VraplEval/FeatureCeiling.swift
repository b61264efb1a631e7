import Foundation
import VraplCore
import VraplDataset
import VraplModel

/// The feature ceiling: a model-free estimate of the error that no predictor of the chosen window
/// features can avoid, i.e. √E[Var(power | window)].
///
/// Method (the Gamma test of Stefánsson, Končar and Jones, 1997, on a reduced window):
/// 1. Each window is reduced to block means per feature (`WindowReduction`: newest-first blocks of
///    1, 2, 4, … samples, the last block taking the rest; 4 features × 25 steps → 4 × 5 = 20 numbers),
///    then every reduced coordinate is min–max scaled to [0, 1] over the data. Near-identical windows
///    stay near-identical; the reduction only averages away sample-level jitter, and it makes an exact
///    k-d tree practical (100 raw dimensions would not be).
/// 2. Neighbours are sought only among windows of *other* exclusion groups (segments, or chunks of a
///    recording without segments): overlapping windows of one run share its hidden state, and pairing
///    them would make the spread look smaller than it is.
/// 3. For each query window i and its k-th such neighbour j(i, k), k = 1…p:
///    δ(k) = mean ‖xᵢ − x_j‖², γ(k) = mean ½(yᵢ − y_j)². For a smooth regression function
///    γ(k) ≈ σ² + A·δ(k): the pairwise-difference estimator ½E[(yᵢ − y_nn(i))²] is σ² plus a bias that
///    grows with the neighbour distance; the least-squares intercept of γ on δ over k removes it.
///    The estimate is √max(0, intercept), capped at √γ(1) (the uncorrected nearest-neighbour value).
/// 4. Per family: the same over the query windows of that family (neighbours from every family).
///    Where families overlap in feature space with different spreads, a neighbour of another family
///    brings its own spread; for that case the pairs are also split by the families of both ends and
///    T_F = E[(y − E[y|x])² | F] solved for jointly (`decomposedRMSE`, `solveFamilies`). Overall: the
///    gamma test over all queries, each family weighted by its share of the windows.
///
/// The reference set is thinned to at most `maxReferencePerGroup` windows per exclusion group (even
/// stride) and `maxReference` overall; queries are at most `maxQueriesPerFamily` reference windows per
/// family (seeded choice). Cost: O(R log R) to build, about p·log R per query.
public enum FeatureCeiling {
    public struct Options: Sendable {
        public var neighbours = 10
        public var maxReference = 150_000
        public var maxReferencePerGroup = 100
        public var maxQueriesPerFamily = 2_000
        public var seed: UInt64 = 42
        /// One distance slope per query family (true) or one shared slope (false, default: steadier
        /// when a family has few runs per visible level).
        public var familySlopes = false
        public init() {}
    }

    public struct Estimate: Codable, Sendable, Equatable {
        /// Estimated unavoidable RMSE, W (√ of the bias-corrected intercept).
        public var rmse: Double
        /// Uncorrected nearest-neighbour estimate √γ(1), W (an upper bound).
        public var nearestNeighbourRMSE: Double
        /// Per family only: T_F from the joint decomposition by the families of both ends of every
        /// pair (`solveFamilies`), W — the right figure when families overlap in feature space with
        /// different spreads; noisier than `rmse` when a family has few runs per visible level.
        public var decomposedRMSE: Double? = nil
        /// Slope A of γ on δ (W² per unit squared scaled distance).
        public var slope: Double
        /// Mean squared scaled distance to the first neighbour.
        public var meanNearestDistance2: Double
        public var queries: Int

        enum CodingKeys: String, CodingKey {
            case rmse
            case nearestNeighbourRMSE = "nearest_neighbour_rmse"
            case decomposedRMSE = "decomposed_rmse"
            case slope
            case meanNearestDistance2 = "mean_nearest_distance2"
            case queries
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var overall: Estimate
        public var byFamily: [String: Estimate]
        /// The gamma-test estimate over all queries (= `overall.rmse`), W.
        public var gammaOverallRMSE: Double
        /// Family-share weighted mean of the decomposed T_F, W.
        public var decomposedOverallRMSE: Double
        public var dimension: Int
        public var referenceCount: Int
        public var method: String

        enum CodingKeys: String, CodingKey {
            case overall
            case byFamily = "by_family"
            case gammaOverallRMSE = "gamma_overall_rmse"
            case decomposedOverallRMSE = "decomposed_overall_rmse"
            case dimension
            case referenceCount = "reference_count"
            case method
        }
    }

    /// Gamma-test fit of γ(k) on δ(k): (intercept-based σ², slope), clipped as described above.
    public static func gammaFit(delta: [Double], gamma: [Double]) -> (variance: Double, slope: Double) {
        guard let g1 = gamma.first else { return (.nan, .nan) }
        let line = Baseline.fitLine(x: delta, y: gamma)
        let spread = (delta.max() ?? 0) - (delta.min() ?? 0)
        if !(spread > 1e-12) { return (g1, 0) }
        return (min(max(0, line.a), g1), line.b)
    }

    /// Estimates the ceiling. `points`: row-major [count × dimension] reduced, scaled windows;
    /// `y`: power, W; `group`: exclusion group per window; `family`: workload family per window.
    public static func estimate(points: [Float], dimension: Int, y: [Double], group: [Int], family: [String],
                                options: Options = Options()) -> Result {
        let n = y.count
        precondition(points.count == n * dimension && group.count == n && family.count == n)
        // Thin the reference set: even stride within each exclusion group.
        var byGroup: [Int: [Int]] = [:]
        for i in 0..<n { byGroup[group[i], default: []].append(i) }
        let perGroupCap = max(1, min(options.maxReferencePerGroup,
                                     options.maxReference / max(1, byGroup.count)))
        var reference: [Int] = []
        for key in byGroup.keys.sorted() {
            guard let rows = byGroup[key] else { continue }
            let stride = max(1, Int((Double(rows.count) / Double(perGroupCap)).rounded(.up)))
            var k = stride / 2
            while k < rows.count { reference.append(rows[k]); k += stride }
        }
        var refPoints = [Float](repeating: 0, count: reference.count * dimension)
        for (r, i) in reference.enumerated() {
            for d in 0..<dimension { refPoints[r * dimension + d] = points[i * dimension + d] }
        }
        let tree = KDTree(points: refPoints, dimension: dimension)
        let refGroup = reference.map { group[$0] }

        // Queries: up to maxQueriesPerFamily reference windows per family, seeded.
        var rng = SplitMix64(seed: options.seed)
        var famRefs: [String: [Int]] = [:]
        for (r, i) in reference.enumerated() { famRefs[family[i], default: []].append(r) }
        let p = max(1, options.neighbours)
        var sums: [String: (d: [Double], g: [Double], q: Int)] = [:]
        var pairStats: [PairKey: PairStats] = [:]
        for fam in famRefs.keys.sorted() {
            var rows = famRefs[fam] ?? []
            if rows.count > options.maxQueriesPerFamily {
                for i in 0..<options.maxQueriesPerFamily {
                    let j = i + Int(rng.next() % UInt64(rows.count - i))
                    rows.swapAt(i, j)
                }
                rows = Array(rows.prefix(options.maxQueriesPerFamily))
            }
                var dsum = [Double](repeating: 0, count: p), gsum = [Double](repeating: 0, count: p)
            var used = 0
            var query = [Float](repeating: 0, count: dimension)
            for r in rows {
                for d in 0..<dimension { query[d] = refPoints[r * dimension + d] }
                let own = refGroup[r]
                let nn = tree.nearest(to: query, k: p) { refGroup[$0] != own }
                guard nn.count == p else { continue }
                let yi = y[reference[r]]
                for (k, hit) in nn.enumerated() {
                    let dy = yi - y[reference[hit.index]]
                    let delta = Double(hit.distance2), gamma = 0.5 * dy * dy
                    dsum[k] += delta
                    gsum[k] += gamma
                    let g = family[reference[hit.index]]
                    var st = pairStats[PairKey(query: fam, neighbour: g)] ?? PairStats()
                    st.n += 1; st.sd += delta; st.sdd += delta * delta; st.sg += gamma; st.sdg += delta * gamma
                    pairStats[PairKey(query: fam, neighbour: g)] = st
                }
                used += 1
            }
            sums[fam] = (dsum, gsum, used)
        }

        func gammaEstimate(_ d: [Double], _ g: [Double], _ q: Int) -> Estimate {
            guard q > 0 else { return Estimate(rmse: .nan, nearestNeighbourRMSE: .nan, slope: .nan, meanNearestDistance2: .nan, queries: 0) }
            let delta = d.map { $0 / Double(q) }, gamma = g.map { $0 / Double(q) }
            let fit = gammaFit(delta: delta, gamma: gamma)
            return Estimate(rmse: fit.variance.squareRoot(), nearestNeighbourRMSE: gamma[0].squareRoot(),
                            slope: fit.slope, meanNearestDistance2: delta[0], queries: q)
        }
        // Overall gamma test: every family's queries weighted by the family's share of all windows,
        // so that capping queries per family does not change the overall mix.
        var famCount: [String: Int] = [:]
        for f in family { famCount[f, default: 0] += 1 }
        var dAll = [Double](repeating: 0, count: p), gAll = [Double](repeating: 0, count: p)
        var wUsed = 0.0, totalQueries = 0
        for (fam, s) in sums where s.q > 0 {
            let w = Double(famCount[fam] ?? 0) / Double(max(1, n))
            for k in 0..<p { dAll[k] += w * s.d[k] / Double(s.q); gAll[k] += w * s.g[k] / Double(s.q) }
            wUsed += w; totalQueries += s.q
        }
        var gammaOverall = gammaEstimate(dAll.map { $0 / max(wUsed, 1e-300) }, gAll.map { $0 / max(wUsed, 1e-300) }, totalQueries > 0 ? 1 : 0)
        gammaOverall.queries = totalQueries

        // Per family: decompose the pairs by the families of both ends (see `solveFamilies`).
        let families = sums.keys.filter { (sums[$0]?.q ?? 0) > 0 }.sorted()
        let variances = solveFamilies(families: families, stats: pairStats,
                                      prior: pow(gammaOverall.rmse.isFinite ? gammaOverall.rmse : 0, 2),
                                      sharedSlope: !options.familySlopes)
        var byFamily: [String: Estimate] = [:]
        var weighted = 0.0
        for (fi, fam) in families.enumerated() {
            guard let s = sums[fam] else { continue }
            var e = gammaEstimate(s.d, s.g, s.q)
            e.decomposedRMSE = max(0, variances.t[fi]).squareRoot()
            byFamily[fam] = e
            weighted += Double(famCount[fam] ?? 0) / Double(max(1, n)) * max(0, variances.t[fi])
        }
        let decomposedOverall = wUsed > 0 ? (weighted / wUsed).squareRoot() : .nan
        return Result(overall: gammaOverall, byFamily: byFamily, gammaOverallRMSE: gammaOverall.rmse,
                      decomposedOverallRMSE: decomposedOverall, dimension: dimension,
                      referenceCount: reference.count,
                      method: "gamma test: pairwise differences to the k=1...\(p) nearest windows of other segments "
                        + "(reduced windows, min-max scaled), distance bias removed by regression on squared distance")
    }

    struct PairKey: Hashable { var query: String; var neighbour: String }
    struct PairStats { var n = 0.0, sd = 0.0, sdd = 0.0, sg = 0.0, sdg = 0.0 }

    /// Per-family unavoidable variance T_F from pairs (query family F, neighbour family G).
    ///
    /// For a query i of family F and a neighbour j of family G from another segment,
    /// E[½(yᵢ − y_j)²] ≈ ½T_F + ½T_G + A_F·‖xᵢ − x_j‖², where T_F = E[(y − E[y|x])² | F] and A_F is the
    /// distance slope (shared by all families unless `sharedSlope` is false). This holds whenever the hidden
    /// part is zero-mean given the window, including families with their own offsets that the window
    /// cannot reveal. Least squares over all pairs (a tiny ridge, 1e-8 of each diagonal entry, pulls each T_F
    /// toward `prior` so that a family seen only beside one other stays defined) gives every T_F.
    static func solveFamilies(families: [String], stats: [PairKey: PairStats], prior: Double,
                              sharedSlope: Bool = true) -> (t: [Double], a: [Double]) {
        let m = families.count
        guard m > 0 else { return ([], []) }
        let index = Dictionary(uniqueKeysWithValues: families.enumerated().map { ($1, $0) })
        let size = sharedSlope ? m + 1 : 2 * m
        var mat = [Double](repeating: 0, count: size * size), rhs = [Double](repeating: 0, count: size)
        for (key, st) in stats {
            guard let f = index[key.query] else { continue }
            // Neighbour families without queries of their own still have T: treat them through the prior.
            var c = [Double](repeating: 0, count: size)
            c[f] += 0.5
            if let g = index[key.neighbour] { c[g] += 0.5 } else { c[f] += 0.5 }
            let a = sharedSlope ? m : m + f
            for r in 0..<size where c[r] != 0 {
                for s in 0..<size where c[s] != 0 { mat[r * size + s] += st.n * c[r] * c[s] }
                mat[r * size + a] += st.sd * c[r]
                mat[a * size + r] += st.sd * c[r]
                rhs[r] += st.sg * c[r]
            }
            mat[a * size + a] += st.sdd
            rhs[a] += st.sdg
        }
        for r in 0..<size {
            let ridge = 1e-8 * max(mat[r * size + r], 1e-12)
            mat[r * size + r] += ridge
            if r < m { rhs[r] += ridge * prior }
        }
        let theta = solveLinear(mat, rhs, size) ?? ([Double](repeating: prior, count: m) + [Double](repeating: 0, count: size - m))
        let slopes = sharedSlope ? [Double](repeating: theta[m], count: m) : Array(theta[m..<size])
        return (Array(theta[0..<m]), slopes)
    }

    /// Gaussian elimination with partial pivoting; nil when singular.
    static func solveLinear(_ a0: [Double], _ b0: [Double], _ n: Int) -> [Double]? {
        var a = a0, b = b0
        for col in 0..<n {
            var piv = col
            for r in col..<n where abs(a[r * n + col]) > abs(a[piv * n + col]) { piv = r }
            guard abs(a[piv * n + col]) > 1e-300 else { return nil }
            if piv != col {
                for c in 0..<n { a.swapAt(piv * n + c, col * n + c) }
                b.swapAt(piv, col)
            }
            for r in (col + 1)..<n {
                let f = a[r * n + col] / a[col * n + col]
                if f == 0 { continue }
                for c in col..<n { a[r * n + c] -= f * a[col * n + c] }
                b[r] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = b[r]
            for c in (r + 1)..<n { s -= a[r * n + c] * x[c] }
            x[r] = s / a[r * n + r]
        }
        return x
    }
}

/// Reduces a feature-major, newest-first window (`features × length`, the model's input layout) to
/// block means per feature: blocks of 1, 2, 4, … samples from the newest, the last taking the rest.
public struct WindowReduction: Sendable, Equatable {
    public let features: Int
    public let length: Int
    /// Half-open sample ranges (0 = newest) of each block.
    public let blocks: [Range<Int>]

    public init(features: Int, length: Int, maxBlocks: Int = 5) {
        self.features = features; self.length = length
        var blocks: [Range<Int>] = []
        var start = 0, size = 1
        while start < length {
            let end = blocks.count == maxBlocks - 1 ? length : min(length, start + size)
            blocks.append(start..<end)
            start = end; size *= 2
        }
        self.blocks = blocks
    }

    public var outputSize: Int { features * blocks.count }

    /// Writes `outputSize` block means of `window` (count features × length) to `out`.
    public func reduce(_ window: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        for f in 0..<features {
            for (b, r) in blocks.enumerated() {
                var s: Float = 0
                for t in r { s += window[f * length + t] }
                out[f * blocks.count + b] = s / Float(r.count)
            }
        }
    }

    public func reduce(_ window: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: outputSize)
        window.withUnsafeBufferPointer { w in out.withUnsafeMutableBufferPointer { reduce(w, into: $0) } }
        return out
    }

    /// Scales each column of row-major `points` ([n × dimension]) to [0, 1] in place (constant
    /// columns → 0, non-finite values → 0), by the one min–max scaler (`MinMaxScaler`).
    public static func minMaxScale(_ points: inout [Float], dimension: Int) {
        guard dimension > 0 else { return }
        MinMaxScaler.fit(rows: points, dimension: dimension).transform(rows: &points)
        for i in points.indices where !points[i].isFinite { points[i] = 0 }
    }
}

