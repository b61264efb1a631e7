import Foundation
import Testing
import VraplCore
@testable import VraplModel

/// A seeded random mutator over valid files: bit flips, byte edits, truncations, header-length
/// edits and JSON-level header edits. Every case must either parse or throw a one-line `VraplError`
/// naming the file; a crash fails the whole test run.
@Suite("Safetensors fuzzing")
struct FuzzTests {
    static func mutate(_ input: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        let rounds = Int.random(in: 1...4, using: &rng)
        for _ in 0..<rounds {
            guard !bytes.isEmpty else { break }
            switch Int.random(in: 0..<9, using: &rng) {
            case 0:  // bit flip anywhere
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 1:  // bit flip inside the header (once truncation has left one)
                guard min(bytes.count, 8 + headerLength) > 8 else { continue }
                let i = Int.random(in: 8..<min(bytes.count, 8 + headerLength), using: &rng)
                bytes[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 2:  // truncate
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 3:  // random header length
                let n = [UInt64.random(in: 0...UInt64(bytes.count + 16), using: &rng), UInt64.max, UInt64(headerLength) + 1,
                         UInt64(headerLength) &- 1][Int.random(in: 0..<4, using: &rng)]
                for k in 0..<min(8, bytes.count) { bytes[k] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(k))) }
            case 4:  // replace a digit in the header with another (shapes, offsets)
                let digits = (8..<max(8, min(bytes.count, 8 + headerLength))).filter { bytes[$0] >= 48 && bytes[$0] <= 57 }
                if let i = digits.randomElement(using: &rng) { bytes[i] = UInt8.random(in: 48...57, using: &rng) }
            case 5:  // insert or delete header bytes (keeps the length field: misaligns)
                let i = Int.random(in: 8..<max(9, min(bytes.count, 8 + headerLength)), using: &rng)
                if i < bytes.count {
                    if Bool.random(using: &rng) { bytes.remove(at: i) } else {
                        bytes.insert([UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: ","), 0xFF, UInt8(ascii: "9"), 0][Int.random(in: 0..<6, using: &rng)], at: i)
                    }
                }
            case 6:  // swap the JSON text for a structurally edited header, fixing up the length
                if let edited = editHeader(bytes, headerLength: headerLength, rng: &rng) { return edited }
            case 7:  // NaN / Inf into the data
                if bytes.count >= 8 + headerLength + 4 {
                    let i = Int.random(in: (8 + headerLength)...(bytes.count - 4), using: &rng)
                    let pattern: [UInt8] = Bool.random(using: &rng) ? [0, 0, 0xC0, 0x7F] : [0, 0, 0x80, 0xFF]
                    bytes.replaceSubrange(i..<(i + 4), with: pattern)
                }
            default:  // append junk
                bytes += (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
        }
        return bytes
    }

    /// Parses the header, changes one value (shape, offset, dtype, metadata), and re-serialises.
    static func editHeader(_ bytes: [UInt8], headerLength: Int, rng: inout SplitMix64) -> [UInt8]? {
        guard bytes.count >= 8 + headerLength, let header = try? JSONValue.parse(bytes: Array(bytes[8..<(8 + headerLength)])),
              var members = header.objectValue, !members.isEmpty else { return nil }
        let i = Int.random(in: 0..<members.count, using: &rng)
        let (name, value) = members[i]
        let replacements: [JSONValue] = [
            .null, .string("x"), .array([]), .int(Int.random(in: 0...1_000_000, using: &rng)),
            .object([("dtype", .string(["F32", "I64", "F16", "BF16", ""].randomElement(using: &rng) ?? "F32")),
                     ("shape", .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in .int(Int.random(in: 0...40, using: &rng)) })),
                     ("data_offsets", .array([.int(Int.random(in: 0...5000, using: &rng)), .int(Int.random(in: 0...5000, using: &rng))]))]),
            .object([("dtype", .string("F32")), ("shape", .array([.number(1e300, text: "1e300")])), ("data_offsets", .array([.int(0), .int(4)]))]),
            .object([("format", .string("vrapl-model")), ("format_version", .string(["1", "2", "x", "0", ""].randomElement(using: &rng) ?? "1"))]),
        ]
        if name == "__metadata__", var meta = value.objectValue, !meta.isEmpty {
            let j = Int.random(in: 0..<meta.count, using: &rng)
            meta[j].1 = [.string("{"), .string("[]"), .string("{\"kind\":\"mlp\"}"), .int(3), .string("")].randomElement(using: &rng) ?? .null
            members[i].1 = .object(meta)
        } else {
            members[i].1 = replacements.randomElement(using: &rng) ?? .null
        }
        let text = Array(JSONValue.object(members).text.utf8)
        let n = UInt64(text.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + text + bytes[(8 + headerLength)...]
    }

    @Test("thousands of mutated files: no crash, only one-line errors naming the file", arguments: [UInt64(1), 2, 3, 4])
    func fuzz(seed: UInt64) throws {
        var model = try TestModels.model(TestModels.tinyCNN)
        model.trainingStats = TrainingStats(windows: 3, features: model.features, featureMin: [0, 0], featureMax: [1, 1],
                                            featureQ01: [0, 0], featureQ50: [0.5, 0.5], featureQ99: [1, 1])
        let valid = try model.serialized()
        var rng = SplitMix64(seed: seed)
        var accepted = 0, rejected = 0
        let count = SeededMutator.iterations(default: 1000)  // VRAPL_FUZZ_ITERATIONS for the long run
        for _ in 0..<count {
            let bytes = Self.mutate(valid, rng: &rng)
            do {
                _ = try ModelFile.parse(bytes, source: "fuzz.safetensors")
                accepted += 1
            } catch let error as VraplError {
                rejected += 1
                #expect(error.message.hasPrefix("fuzz.safetensors: "), "\(error.message)")
                #expect(!error.message.contains("\n"), "\(error.message)")
            }
        }
        #expect(rejected > count / 2)
        #expect(accepted + rejected == count)
    }
}
