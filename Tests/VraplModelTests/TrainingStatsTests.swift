import Foundation
import Testing
@testable import VraplModel

@Suite("Training statistics and trust score")
struct TrainingStatsTests {
    @Test("quantiles match numpy's linear interpolation")
    func quantiles() {
        let sorted: [Double] = [1, 2, 3, 4, 10]
        // numpy.quantile([1,2,3,4,10], [0, .01, .5, .99, 1]) = [1, 1.04, 3, 9.76, 10]
        #expect(interpolatedQuantile(sorted: sorted, 0) == 1)
        #expect(abs(interpolatedQuantile(sorted: sorted, 0.01) - 1.04) < 1e-12)
        #expect(interpolatedQuantile(sorted: sorted, 0.5) == 3)
        #expect(abs(interpolatedQuantile(sorted: sorted, 0.99) - 9.76) < 1e-12)
        #expect(interpolatedQuantile(sorted: sorted, 1) == 10)
    }

    @Test("accumulator: exact min/max, quantiles, latent mean/std and distances")
    func accumulator() {
        var acc = TrainingStatsAccumulator(features: ["a", "b"], reservoirSize: 1000)
        for i in 0..<101 { acc.addSample([Double(i), -Double(i) * 2]) }
        // latent: two dims, values ±1 around (1, 2) → mean (1, 2), sample std 1 (n=4: values 0,2,0,2 → var 4/3)
        for z in [[0, 1], [2, 3], [0, 3], [2, 1]] as [[Float]] { acc.addLatent(z) }
        let stats = acc.finish()
        #expect(stats.featureMin == [0, -200])
        #expect(stats.featureMax == [100, 0])
        #expect(stats.featureQ01 == [1, -198])
        #expect(stats.featureQ50 == [50, -100])
        #expect(stats.windows == 4)
        #expect(stats.latentMean == [1, 2])
        let std = (4.0 / 3.0).squareRoot()
        #expect(abs((stats.latentStd?[0] ?? 0) - std) < 1e-12)
        // every latent is 1/std away in both dims → RMS distance 1/std.
        #expect(abs((stats.latentDistanceMax ?? 0) - 1 / std) < 1e-9)
        #expect(stats.hasLatent)
    }

    static let stats = TrainingStats(windows: 1, features: ["u"], featureMin: [0], featureMax: [100], featureQ01: [10],
                                     featureQ50: [50], featureQ99: [90], latentMean: [0, 0], latentStd: [1, 1],
                                     latentDistanceQ50: 1, latentDistanceQ99: 2, latentDistanceMax: 3)

    @Test("value score: 1 inside the central range, 0.5 at the training extremes, below 0.5 outside",
          arguments: [(50.0, 1.0), (10.0, 1.0), (90.0, 1.0), (0.0, 0.5), (100.0, 0.5), (5.0, 0.75), (95.0, 0.75)])
    func valueScore(_ value: Double, _ expected: Double) {
        #expect(abs(TrustScorer(stats: Self.stats).valueScore(value, feature: 0) - expected) < 1e-12)
    }

    @Test("window score is the worst value; latent distance beyond the training maximum is OOD")
    func windowScore() {
        let scorer = TrustScorer(stats: Self.stats)
        let inside: [Float] = [20, 30, 40]
        let outside: [Float] = [20, 130, 40]
        let near: [Float] = [0.1, 0.1]
        let far: [Float] = [5, 5]
        let a = inside.withUnsafeBufferPointer { w in near.withUnsafeBufferPointer { scorer.score(rawWindow: w, featureCount: 1, stride: 3, length: 3, latent: $0) } }
        #expect(a.score == 1 && !a.isOutOfDistribution)
        let b = outside.withUnsafeBufferPointer { w in near.withUnsafeBufferPointer { scorer.score(rawWindow: w, featureCount: 1, stride: 3, length: 3, latent: $0) } }
        #expect(b.isOutOfDistribution)
        #expect(abs(b.score - 0.5 * exp(-4 * 30.0 / 100)) < 1e-12)
        let c = inside.withUnsafeBufferPointer { w in far.withUnsafeBufferPointer { scorer.score(rawWindow: w, featureCount: 1, stride: 3, length: 3, latent: $0) } }
        #expect(c.isOutOfDistribution && c.featureScore == 1)
        #expect(abs((c.latentDistance ?? 0) - 5) < 1e-12)
    }

    @Test("stats round-trip through JSON with snake_case keys")
    func json() throws {
        let data = try JSONEncoder().encode(Self.stats)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"feature_q99\""))
        #expect(text.contains("\"latent_distance_max\""))
        #expect(try JSONDecoder().decode(TrainingStats.self, from: data) == Self.stats)
    }
}
