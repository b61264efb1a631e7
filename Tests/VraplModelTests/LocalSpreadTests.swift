import Foundation
import Testing
import VraplCore
@testable import VraplModel

@Suite("Prediction intervals normalized by the local spread (kNN)")
struct LocalSpreadTests {
    /// Uniform in [0, 1).
    static func uniform(_ rng: inout SplitMix64) -> Float { Float(rng.next() >> 40) / Float(1 << 24) }

    @Test("the k-d tree spread equals q90 − q10 of the k nearest reference targets found by sorting every point")
    func spreadMatchesBruteForce() throws {
        var rng = SplitMix64(seed: 5)
        let means = (0..<600).map { _ in (0..<3).map { _ in Self.uniform(&rng) * 50 } }
        let targets = means.map { $0[0] * 0.5 + Self.uniform(&rng) * $0[1] * 0.2 }
        let reference = try #require(LocalSpread(means: means, targets: targets, k: 40))
        try reference.validate()
        let index = reference.makeIndex()
        for _ in 0..<50 {
            let q = (0..<3).map { _ in Self.uniform(&rng) * 50 }
            let scaled = (0..<3).map { (q[$0] - reference.featureMin[$0]) / reference.featureRange[$0] }
            // Independent: distances to every point, sorted, first k, nearest-rank quantiles.
            let order = (0..<reference.count).sorted { a, b in
                func d(_ i: Int) -> Float { (0..<3).reduce(0) { $0 + pow(reference.points[i * 3 + $1] - scaled[$1], 2) } }
                return d(a) < d(b)
            }
            let near = order.prefix(40).map { targets[$0] }.sorted()
            let expected = Double(near[35] - near[3])  // ⌈40·0.9⌉ = 36th and ⌈40·0.1⌉ = 4th
            #expect(abs(index.spread(means: q) - expected) < 1e-5)
        }
        // The raw-window form averages each feature's positions first.
        let window: [Float] = [10, 20, 30, 5, 5, 5, 1, 2, 3]
        #expect(window.withUnsafeBufferPointer { index.spread(rawWindow: $0, length: 3) } == index.spread(means: [20, 5, 2]))
    }

    /// The index bounds each search by the last one (consecutive windows move little): over a random
    /// walk with jumps, every spread equals that of a fresh index, which has no last search.
    @Test("the spread of consecutive windows, bounded by the last search, equals a fresh index's")
    func warmStartedSpread() throws {
        var rng = SplitMix64(seed: 9)
        // Coarse values, so many reference windows tie.
        let means = (0..<2048).map { _ in (0..<5).map { _ in Float(rng.next() % 6) * 10 } }
        let targets = means.map { $0[0] * 0.5 + Self.uniform(&rng) * $0[1] * 0.2 }
        let reference = try #require(LocalSpread(means: means, targets: targets, k: 64))
        let warm = reference.makeIndex()
        var q = [Float](repeating: 25, count: 5)
        for step in 0..<400 {
            for j in 0..<5 {
                q[j] = step % 97 == 0 ? Self.uniform(&rng) * 50 : max(0, min(50, q[j] + (Self.uniform(&rng) - 0.5) * 2))
            }
            #expect(warm.spread(means: q) == reference.makeIndex().spread(means: q), "step \(step)")
        }
    }

    @Test("normalized split conformal: nominal coverage on fresh data, widths that follow the known spread, and a round trip through the model file")
    func normalizedCoverage() throws {
        var rng = SplitMix64(seed: 8)
        // The power's spread is known: it grows with feature 0; the error of a model is that spread.
        func draw(_ n: Int) -> (p: [Double], y: [Double], a: [Double]) {
            var p: [Double] = [], y: [Double] = [], a: [Double] = []
            for _ in 0..<n {
                let x = Double(Self.uniform(&rng)) * 10
                let z = Double(Self.uniform(&rng) + Self.uniform(&rng) + Self.uniform(&rng) + Self.uniform(&rng) - 2) * 1.7
                p.append(20 + x); y.append(20 + x + z * x); a.append(2.5 * x)
            }
            return (p, y, a)
        }
        let reference = try #require(LocalSpread(means: (0..<100).map { [Float($0)] }, targets: (0..<100).map { Float($0) }, k: 10))
        let cal = draw(5000), test = draw(20_000)
        let interval = try #require(PredictionInterval.calibrateNormalized(predictions: cal.p, targets: cal.y, spreads: cal.a, local: reference))
        try interval.validate()
        #expect(interval.isNormalized && interval.edges.isEmpty && interval.method == PredictionInterval.normalizedMethod)
        var inside = 0
        for i in 0..<test.p.count {
            let b = interval.bounds(test.p[i], spread: test.a[i])
            if test.y[i] >= b.low && test.y[i] <= b.high { inside += 1 }
        }
        #expect(abs(Double(inside) / Double(test.p.count) - 0.8) < 0.015)
        let narrow = interval.bounds(25, spread: 1), wide = interval.bounds(25, spread: 20)
        #expect(wide.high - wide.low > 5 * (narrow.high - narrow.low))
        // Model file round trip; bad reference sets are refused naming the part.
        var model = try TestModels.model(.cnnV41(), features: ["user_percent", "system_percent", "iowait_percent", "log_ctx_switches"])
        model.interval = interval
        let back = try ModelFile.parse(try model.serialized(), source: "m")
        #expect(back.interval == interval)
        var bad = interval
        bad.local?.points.removeLast()
        #expect(throws: VraplError.self) { try bad.validate() }
        bad = interval
        bad.epsilonWatts = nil
        #expect(throws: VraplError.self) { try bad.validate() }
        bad = interval
        bad.local?.targets[3] = .nan
        #expect(throws: VraplError.self) { try bad.validate() }
        bad = interval
        bad.local?.k = 1000
        #expect(throws: VraplError.self) { try bad.validate() }
    }
}
