import Foundation
import Testing
@testable import VraplSim

@Suite("Simulator profile and fit")
struct ProfileTests {
    @Test("the shipped profile loads and every stressor has a published range")
    func loads() throws {
        let p = try SimFixtures.profile()
        #expect(p.name == "xeon-silver-4210r")
        #expect(p.threads == 20)
        for s in ["cpu", "syscall", "io", "pipe", "vm", "cache"] {
            #expect(p.stressors[s] != nil)
            #expect(p.published[s] != nil)
        }
        #expect(p.published["idle"] == 23...27)
    }

    @Test("shipped idle_w and class_w are the solution of the fit (within 0.5%)")
    func shippedValuesAreTheFit() throws {
        let p = try SimFixtures.profile()
        let fitted = try ProfileFit.fit(p)
        print("fit: idle_w \(fitted.idleWatts) " + InstructionClass.allCases.map { "\($0.rawValue) \(fitted.classWatts[$0] ?? 0)" }.joined(separator: ", "))
        #expect(abs(fitted.idleWatts - p.idleWatts) <= 0.005 * p.idleWatts)
        for c in InstructionClass.allCases {
            let a = fitted.classWatts[c] ?? 0, b = p.classWatts[c] ?? 0
            #expect(abs(a - b) <= 0.005 * abs(a) + 1e-3, "class \(c.rawValue): fit \(a), shipped \(b)")
        }
        // With the fitted values, each analytic expectation is the published midpoint.
        for (name, r) in p.published {
            let e = ProfileFit.expectedPower(fitted, stressor: name, workers: p.threads)
            #expect(abs(e - (r.lowerBound + r.upperBound) / 2) < 1e-6, "\(name)")
        }
    }

    @Test("the linear solver matches a hand-worked 3×3 system")
    func solver() throws {
        // 2x + y − z = 8, −3x − y + 2z = −11, −2x + y + 2z = −3 → (2, 3, −1)
        let x = try ProfileFit.solve([[2, 1, -1], [-3, -1, 2], [-2, 1, 2]], [8, -11, -3])
        #expect(abs(x[0] - 2) < 1e-12 && abs(x[1] - 3) < 1e-12 && abs(x[2] + 1) < 1e-12)
    }

    @Test("bad profiles are rejected with the key named",
          arguments: [
            ("name: x\nthreads: 0\n", "housekeeping"),
            ("{}", "housekeeping"),
            ("name: x\nidle_watts: 25\n", "unknown key 'idle_watts'"),
          ])
    func badProfiles(text: String, fragment: String) {
        #expect { _ = try SimProfile.parse(yaml: text) } throws: { "\($0)".contains(fragment) }
    }

    @Test("a mix that does not sum to 1 is rejected")
    func badMix() throws {
        let text = try String(contentsOfFile: SimFixtures.profilePath, encoding: .utf8)
            .replacingOccurrences(of: "mix: { compute: 0.80, cache: 0.15, memory: 0.05 }", with: "mix: { compute: 0.80, cache: 0.15 }")
        #expect(throws: (any Error).self) { try SimProfile.parse(yaml: text) }
    }
}
