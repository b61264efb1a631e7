import Foundation
import Testing
import VraplCore
@testable import VraplTrace

/// Seeded fuzzing of the DECODE-RAPL CSV parser (hardening issue): mutants of a CSV that `vrapl
/// export` writes must parse or throw one line naming the file. `VRAPL_FUZZ_ITERATIONS=1000000`
/// gives the long run (docs/reliability.md).
@Suite("DECODE-RAPL CSV under fuzzing")
struct CSVFuzzTests {
    @Test(arguments: [UInt64(1), 2])
    func csvTable(seed: UInt64) throws {
        let corpus = [DecodeRaplCSVConversion.export(SyntheticTrace.make(samples: 40))]
        var mutator = SeededMutator(seed: seed)
        var accepted = 0, rejected = 0
        for i in 0..<SeededMutator.iterations() {
            let input = mutator.mutate(corpus[0])
            do {
                _ = try DecodeRaplCSVTable(text: input, name: "fuzz.csv")
                accepted += 1
            } catch {
                rejected += 1
                let text = "\(error)"
                if !text.contains("fuzz.csv") || text.contains("\n") {
                    Issue.record("seed \(seed) input \(i): error does not name fuzz.csv on one line: \(text)")
                }
            }
        }
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }
}
