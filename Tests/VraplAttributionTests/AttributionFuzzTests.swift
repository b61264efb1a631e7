import Foundation
import Testing
@testable import VraplSources
import VraplCore
@testable import VraplAttribution

/// Seeded fuzzing of the cgroup file parsers and the attribution YAML (hardening issue): mutants of
/// the fixture files and the shipped configs must parse or throw one line naming the file.
/// `VRAPL_FUZZ_ITERATIONS=1000000` gives the long run (docs/reliability.md).
@Suite("cgroup files and attribution YAML under fuzzing")
struct AttributionFuzzTests {
    static func fuzz(_ corpus: [String], seed: UInt64, path: String, _ parse: (String) throws -> Void) -> (Int, Int) {
        let outcome = SeededMutator.run(corpus: corpus, seed: seed, naming: path, parse)
        #expect(outcome.unclear.isEmpty, "seed \(seed): \(outcome.unclear.prefix(3))")
        return (outcome.accepted, outcome.rejected)
    }

    static func files(named name: String) throws -> [String] {
        let root = Fixtures.path("cgroupfs")
        let all = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        return try all.filter { $0.hasSuffix("/" + name) || $0 == name }.map { String(decoding: try Data(contentsOf: URL(fileURLWithPath: root + "/" + $0)), as: UTF8.self) }
    }

    @Test("cpu.stat, memory.max, io.stat and single numbers", arguments: [UInt64(1), 2])
    func cgroupFiles(seed: UInt64) throws {
        let cpu = try Self.files(named: "cpu.stat"), io = try Self.files(named: "io.stat"), max = try Self.files(named: "memory.max")
        try #require(!cpu.isEmpty && !io.isEmpty && !max.isEmpty)
        var results: [(Int, Int)] = []
        results.append(Self.fuzz(cpu, seed: seed, path: "/fuzz/cpu.stat") { _ = try CGroupParse.cpuUsageUsec($0, path: "/fuzz/cpu.stat") })
        results.append(Self.fuzz(cpu, seed: seed, path: "/fuzz/cpu.stat") { _ = try CGroupParse.flatKeyed($0, path: "/fuzz/cpu.stat") })
        results.append(Self.fuzz(io, seed: seed, path: "/fuzz/io.stat") { _ = try CGroupParse.ioStat($0, path: "/fuzz/io.stat") })
        results.append(Self.fuzz(max, seed: seed, path: "/fuzz/memory.max") { _ = try CGroupParse.limit($0, path: "/fuzz/memory.max") })
        results.append(Self.fuzz(["123\n", "0\n"], seed: seed, path: "/fuzz/memory.current") { _ = try CGroupParse.integer($0, path: "/fuzz/memory.current") })
        for (accepted, rejected) in results { #expect(accepted + rejected == SeededMutator.iterations()) }
        #expect(results.contains { $0.1 > 0 })
    }

    @Test("attribution YAML", arguments: [UInt64(1), 2])
    func attributionYAML(seed: UInt64) throws {
        let dir = Fixtures.repoRoot + "/configs/attribution"
        let corpus = try ["discover-slices.yaml", "paper-alienware.yaml"].map { try String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }
        let (accepted, rejected) = Self.fuzz(corpus, seed: seed, path: "fuzz.yaml") { _ = try AttributionConfig.parse(yaml: $0, source: "fuzz.yaml") }
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }
}
