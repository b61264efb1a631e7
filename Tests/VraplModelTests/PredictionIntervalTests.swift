import Foundation
import Testing
import VraplCore
@testable import VraplModel

@Suite("Prediction intervals (split conformal, Mondrian by predicted power)")
struct PredictionIntervalTests {
    /// Heteroscedastic data: noise grows with power, so per-bin widths must differ.
    static func data(_ n: Int, seed: UInt64) -> (p: [Double], y: [Double]) {
        var rng = SplitMix64(seed: seed)
        func u() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        var p: [Double] = [], y: [Double] = []
        for _ in 0..<n {
            let pred = 10 + 80 * u()
            let z = (u() + u() + u() + u() - 2) * 1.7  // about N(0, 1)
            p.append(pred); y.append(pred + z * pred / 20)
        }
        return (p, y)
    }

    @Test("coverage on fresh exchangeable data is the nominal level; width follows the noise")
    func coverage() throws {
        let cal = Self.data(20_000, seed: 1), test = Self.data(20_000, seed: 2)
        for nominal in [0.5, 0.8, 0.9, 0.95] {
            let iv = try #require(PredictionInterval.calibrate(predictions: cal.p, targets: cal.y, nominal: nominal))
            try iv.validate()
            let inside = zip(test.p, test.y).filter { let b = iv.bounds($0.0); return $0.1 >= b.low && $0.1 <= b.high }.count
            #expect(abs(Double(inside) / 20_000 - nominal) < 0.015, "nominal \(nominal): \(Double(inside) / 20_000)")
            #expect(iv.high.last! - iv.low.last! > 3 * (iv.high[0] - iv.low[0]))  // wider where the noise is
        }
    }

    @Test("the model file carries it; bad numbers are refused at load naming the key")
    func modelFile() throws {
        var bad = PredictionInterval(nominal: 0.8, method: "m", edges: [10], low: [-1, 2], high: [1, 1], calibrationWindows: 5)
        #expect(throws: VraplError.self) { try bad.validate() }
        bad.low = [-1]
        #expect(throws: VraplError.self) { try bad.validate() }
        let ok = PredictionInterval(nominal: 0.8, method: "m", edges: [10], low: [-1, -2], high: [1, 3], calibrationWindows: 5)
        try ok.validate()
        #expect(ok.bounds(5) == (4, 6) && ok.bounds(20) == (18, 23))
        #expect(PredictionInterval.calibrate(predictions: [1, 2], targets: [1, 2]) == nil)  // too few windows
    }
}
