import Foundation
import Testing
import VraplCore
@testable import VraplSources

/// Seeded fuzzing of every parser of host files (issue: hardening, fuzz targets): mutants of the
/// fixture trees' real files. Each input must parse or throw one line naming the file; a crash or a
/// hang fails the run. `VRAPL_FUZZ_ITERATIONS=1000000` gives the long run (docs/reliability.md).
@Suite("Host file parsers under fuzzing")
struct SourceFuzzTests {
    static func corpus(_ files: [String]) throws -> [String] {
        try files.map { try String(contentsOfFile: $0, encoding: .utf8) }
    }

    /// `SeededMutator.run` with the suite's expectations: no unclear error; returns (accepted, rejected).
    static func fuzz(_ corpus: [String], seed: UInt64, path: String, _ parse: (String) throws -> Void) -> (Int, Int) {
        let outcome = SeededMutator.run(corpus: corpus, seed: seed, naming: path, parse)
        #expect(outcome.unclear.isEmpty, "seed \(seed): \(outcome.unclear.prefix(3))")
        return (outcome.accepted, outcome.rejected)
    }

    @Test("/proc/stat", arguments: [UInt64(1), 2])
    func procStat(seed: UInt64) throws {
        let corpus = try Self.corpus(["this-machine", "old-kernel-4", "old-kernel-8"].map { Fixtures.procfs($0) + "/stat" })
        let (accepted, rejected) = Self.fuzz(corpus, seed: seed, path: "/fuzz/stat") { text in
            let s = try ProcStatReader.parse(text: text, path: "/fuzz/stat", includePerCPU: true)
            _ = s.cpu.user &+ s.cpu.idle
        }
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }

    @Test("/proc/vmstat", arguments: [UInt64(1), 2])
    func vmstat(seed: UInt64) throws {
        let corpus = try Self.corpus(["this-machine", "old-kernel-4"].map { Fixtures.procfs($0) + "/vmstat" })
        let (accepted, rejected) = Self.fuzz(corpus, seed: seed, path: "/fuzz/vmstat") { text in
            _ = try KeyedCounterReader.parse(text: text, counters: VmstatDefaults.counters, path: "/fuzz/vmstat")
        }
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }

    @Test("powercap energy_uj and max_energy_range_uj", arguments: [UInt64(1), 2])
    func powercapValue(seed: UInt64) throws {
        let corpus = ["262143328850\n", "123456789\n", "0\n", "65712999613\n"]
        let (accepted, rejected) = Self.fuzz(corpus, seed: seed, path: "/fuzz/energy_uj") { text in
            _ = try PowercapReader.parseValue(Array(text.utf8), path: "/fuzz/energy_uj")
        }
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }
}
