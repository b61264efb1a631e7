import VraplCore
import Foundation
import Testing
@testable import VraplEval
import VraplModel

@Suite("Eval feature ceiling")
struct CeilingTests {
    @Test func kdTreeMatchesBruteForce() {
        var rng = SplitMix64(seed: 7)
        let dim = 5, n = 3000
        let pts = (0..<(n * dim)).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53)) }
        let group = (0..<n).map { $0 / 30 }
        let tree = KDTree(points: pts, dimension: dim, leafSize: 8)
        for q in stride(from: 0, to: n, by: 97) {
            let query = Array(pts[(q * dim)..<((q + 1) * dim)])
            let fast = tree.nearest(to: query, k: 7) { group[$0] != group[q] }
            let slow = tree.bruteForceNearest(to: query, k: 7) { group[$0] != group[q] }
            #expect(fast.map(\.index) == slow.map(\.index))
            #expect(fast.allSatisfy { group[$0.index] != group[q] })
        }
    }

    /// 2 048 points of 5 coordinates on a grid of 4 values each (many coincide), as a k-d tree.
    static func guestShapedGrid(_ rng: inout SplitMix64) -> KDTree {
        KDTree(points: (0..<(2048 * 5)).map { _ in Float(rng.next() % 4) / 4 }, dimension: 5)
    }

    /// A query of 5 coordinates uniform in [0, 1).
    static func uniformQuery(_ rng: inout SplitMix64) -> [Float] {
        (0..<5).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53)) }
    }

    /// The guest's shape (2 048 reference windows of 5 means, k = 64), on a grid coarse enough that
    /// many points coincide: the pruned search's k distances are brute force's, ties included.
    @Test("k-d tree: the guest's k = 64 of 2048 points with ties equals brute force")
    func kdTreeWithTies() {
        var rng = SplitMix64(seed: 19)
        let tree = Self.guestShapedGrid(&rng)
        for _ in 0..<200 {
            let query = Self.uniformQuery(&rng)
            let fast = tree.nearest(to: query, k: 64) { _ in true }
            let slow = tree.bruteForceNearest(to: query, k: 64) { _ in true }
            #expect(fast.map(\.distance2) == slow.map(\.distance2))
            #expect(Set(fast.map(\.index)).count == 64)
        }
    }

    /// The hint only skips work: whether it is the exact k-th distance, too small (the search runs
    /// again), loose or zero, the result is the one without it, order and ties included; unsorted, it is
    /// the same set.
    @Test("k-d tree: a distance hint, right or wrong, and the unsorted form change no result")
    func kdTreeHint() {
        var rng = SplitMix64(seed: 23)
        let tree = Self.guestShapedGrid(&rng)
        var best: [(index: Int, distance2: Float)] = []
        var retried = 0
        for _ in 0..<100 {
            let query = Self.uniformQuery(&rng)
            let plain = tree.nearest(to: query, k: 64) { _ in true }
            let kth = plain[63].distance2
            for hint in [kth, kth * 0.5, kth.nextDown, kth * 4, 0] {
                tree.nearest(to: query, k: 64, into: &best, within: hint) { _ in true }
                #expect(best.map(\.index) == plain.map(\.index) && best.map(\.distance2) == plain.map(\.distance2), "hint \(hint) of k-th \(kth)")
                tree.nearest(to: query, k: 64, into: &best, within: hint, sorted: false) { _ in true }
                #expect(Set(best.map(\.index)) == Set(plain.map(\.index)), "unsorted, hint \(hint)")
                if hint < kth { retried += 1 }
            }
        }
        #expect(retried >= 100)
    }

    @Test func gammaTestAgainstNumpy() throws {
        let fx = try EvalFixture.load()
        let input = try EvalFixture.dict(fx["ceiling_input"], "ceiling_input")
        let pts = try EvalFixture.doubles(input["points"], "points").map { Float($0) }
        let dim = Int(try EvalFixture.double(input["dimension"], "dim"))
        let y = try EvalFixture.doubles(input["y"], "y")
        let group = try EvalFixture.doubles(input["group"], "group").map { Int($0) }
        let family = try EvalFixture.strings(input["family"], "family")
        var options = FeatureCeiling.Options()
        options.familySlopes = true      // the numpy reference fits one slope per query family
        options.neighbours = Int(try EvalFixture.double(input["neighbours"], "k"))
        options.maxReferencePerGroup = 1_000
        options.maxQueriesPerFamily = 1_000
        let result = FeatureCeiling.estimate(points: pts, dimension: dim, y: y, group: group, family: family, options: options)
        #expect(result.referenceCount == y.count)
        let ref = try EvalFixture.dict(fx["ceiling"], "ceiling")
        let overall = try EvalFixture.dict(ref["overall"], "overall")
        #expect(close(result.gammaOverallRMSE, try EvalFixture.double(overall["rmse"], "rmse"), 1e-4))
        #expect(close(result.overall.rmse, try EvalFixture.double(overall["rmse"], "rmse"), 1e-4))
        #expect(close(result.overall.nearestNeighbourRMSE, try EvalFixture.double(overall["nearest_neighbour_rmse"], "nn"), 1e-4))
        #expect(close(result.overall.slope, try EvalFixture.double(overall["slope"], "slope"), 1e-3))
        let byFamily = try EvalFixture.dict(ref["by_family"], "by_family")
        #expect(Set(result.byFamily.keys) == Set(byFamily.keys))
        let decomposition = try EvalFixture.dict(ref["family_decomposition_rmse"], "decomposition")
        for (fam, est) in result.byFamily {
            let r = try EvalFixture.dict(byFamily[fam], fam)
            #expect(close(est.nearestNeighbourRMSE, try EvalFixture.double(r["nearest_neighbour_rmse"], "nn"), 1e-4), "\(fam)")
            #expect(close(est.rmse, try EvalFixture.double(r["rmse"], "rmse"), 1e-4), "\(fam)")
            #expect(close(est.decomposedRMSE, try EvalFixture.double(decomposition[fam], fam), 1e-3), "\(fam)")
        }
    }

    /// Synthetic campaign with a known unavoidable error: stress-ng-like segments at discrete load
    /// levels (workers/cores) with jitter, power a smooth function of the visible window plus a
    /// per-segment hidden offset and white meter noise. `familyOffsets` adds a fixed offset per family
    /// that the window cannot reveal (families overlap in visible load), zero-mean over families.
    @Test("recovers the known unavoidable error", arguments: [false, true])
    func recoversKnownNoiseOnSyntheticSegments(familyOffsets: Bool) {
        var rng = SplitMix64(seed: familyOffsets ? 12 : 11)
        let reduction = WindowReduction(features: 4, length: 25)
        #expect(reduction.blocks == [0..<1, 1..<3, 3..<7, 7..<15, 15..<25])
        let families = ["cpu", "cache", "io", "vm"]
        let segSigma = ["cpu": 3.0, "cache": 6.0, "io": 1.5, "vm": 4.0], noise = 1.5
        let offset = familyOffsets ? ["cpu": 4.0, "cache": -6.0, "io": 0.0, "vm": 2.0] : [:]
        let levels = [0.125, 0.25, 0.5, 0.75, 1.0]
        var points: [Float] = [], y: [Double] = [], group: [Int] = [], family: [String] = []
        var truthSq: [String: (Double, Int)] = [:]
        for seg in 0..<160 {
            let fam = families[seg % 4]
            let load = levels[(seg / families.count) % levels.count]   // every family at every level
            let ctx = 4 + 2 * load + 0.05 * rng.gaussian()       // visible; does not reveal the family
            let hidden = (offset[fam] ?? 0) + rng.gaussian() * (segSigma[fam] ?? 0)
            for _ in 0..<100 {
                var window = [Float](repeating: 0, count: 100)
                for t in 0..<25 {
                    window[t] = Float(load * 100 + rng.gaussian() * 3)
                    window[25 + t] = Float(load * 10 + rng.gaussian())
                    window[50 + t] = 0
                    window[75 + t] = Float(ctx + rng.gaussian() * 0.1)
                }
                points += reduction.reduce(window)
                let h = hidden + rng.gaussian() * noise
                y.append(25 + 50 * load * load + 3 * ctx + h)
                group.append(seg); family.append(fam)
                truthSq[fam, default: (0, 0)].0 += h * h; truthSq[fam, default: (0, 0)].1 += 1
            }
        }
        WindowReduction.minMaxScale(&points, dimension: reduction.outputSize)
        let start = Date()
        var options = FeatureCeiling.Options()
        options.maxReferencePerGroup = 40    // keeps the debug-build test quick; defaults are larger
        options.familySlopes = true          // families differ in how their power varies with load
        options.maxQueriesPerFamily = 600
        let result = FeatureCeiling.estimate(points: points, dimension: reduction.outputSize, y: y, group: group, family: family,
                                             options: options)
        let seconds = Date().timeIntervalSince(start)
        let totalTruth = (truthSq.values.reduce(0) { $0 + $1.0 } / Double(y.count)).squareRoot()
        #expect(abs(result.overall.rmse - totalTruth) <= 0.1 * totalTruth, "overall \(result.overall.rmse) vs \(totalTruth)")
        for fam in families {
            let t = truthSq[fam] ?? (0, 1)
            let truth = (t.0 / Double(t.1)).squareRoot()
            // Families overlap completely in visible load here, with different spreads: the decomposition's case.
            let est = result.byFamily[fam]?.decomposedRMSE ?? .nan
            #expect(abs(est - truth) <= 0.15 * truth, "\(fam): \(est) vs \(truth)")
        }
        #expect(seconds < 30)   // debug build; the release timing is in docs/PERFORMANCE.md
    }
}
