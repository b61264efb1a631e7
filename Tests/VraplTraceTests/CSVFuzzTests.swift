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
        let outcome = SeededMutator.run(corpus: corpus, seed: seed, naming: "fuzz.csv") { _ = try DecodeRaplCSVTable(text: $0, name: "fuzz.csv") }
        #expect(outcome.unclear.isEmpty, "seed \(seed): \(outcome.unclear.prefix(3))")
        let accepted = outcome.accepted, rejected = outcome.rejected
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }
}
