import Foundation
import Testing
import VraplCore
import VraplDataset
@testable import VraplModel

/// DECODE-RAPL's real checkpoint, imported without torch (issue: DECODE-RAPL's real artefacts):
/// as trained (oldest sample first, clipped) it reproduces `as_trained_watts`, with newest-first
/// windows DECODE-RAPL's own inference `dr_inference_watts`, on every window of rows it never saw.
@Suite("DECODE-RAPL checkpoint import")
struct DecodeRaplImportTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/decode-rapl").path
    static var checkpoint: String { dir + "/dr-v4-tau1.pt" }

    static func expected() throws -> [(index: Int, inference: Double, asTrained: Double)] {
        try String(contentsOfFile: dir + "/dr-v4-tau1.expected.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: ",")
            return (Int(f[0]) ?? -1, Double(f[2]) ?? .nan, Double(f[3]) ?? .nan)
        }
    }

    @Test("as trained and as DECODE-RAPL's inference runs: both columns to 1e-3 W, row for row", arguments: [WindowOrder.oldestFirst, .newestFirst])
    func reproducesDecodeRapl(order: WindowOrder) throws {
        var model = try DecodeRaplCheckpoint.importModel(path: Self.checkpoint, powerSource: .simulated(profile: "xeon-silver-4210r"))
        #expect(model.embedding.order == .oldestFirst && model.normalization.clip == true)
        #expect(model.tensors.count == 24 && model.embedding.d == 25 && model.embedding.tau == 1 && model.embedding.sampleIntervalMs == 16)
        model.embedding.order = order
        // Through the model file, as `vrapl import-model` writes it.
        let reloaded = try ModelFile.parse(try model.serialized(), source: "imported.safetensors")
        let series = try DecodeRaplCSV(url: URL(fileURLWithPath: Self.dir + "/dr-v4-tau1.csv")).series
        let predictions = try ModelPredictor(model: reloaded, threads: 1).predict(series: series)
        let first = series.firstWindowEnd(reloaded.delayEmbedding)
        let expected = try Self.expected()
        #expect(predictions.count == expected.count)
        var worst = 0.0
        for (i, e) in expected.enumerated() where i < predictions.count {
            #expect(first + i == e.index)
            worst = max(worst, abs(Double(predictions[i]) - (order == .oldestFirst ? e.asTrained : e.inference)))
        }
        #expect(worst <= 1e-3, "largest difference \(worst) W")
    }

    static func fixtureBytes() throws -> [UInt8] { try TextFile.readRegularFile(checkpoint) }

    static func replacing(_ bytes: [UInt8], _ old: String, _ new: String) -> [UInt8] {
        let a = Array(old.utf8), b = Array(new.utf8)
        precondition(a.count == b.count)
        var out = bytes
        var i = 0
        while i + a.count <= out.count {
            if out[i] == a[0] && Array(out[i..<(i + a.count)]) == a { out.replaceSubrange(i..<(i + a.count), with: b); i += a.count } else { i += 1 }
        }
        return out
    }

    @Test("a pickle that names another class is refused, naming it; nothing runs")
    func foreignClass() throws {
        let bytes = Self.replacing(try Self.fixtureBytes(), "collections\nOrderedDict", "subprocess\nPopenAAAAAAA")
        #expect { try TorchCheckpoint.parse(bytes, source: "evil.pt") } throws: {
            "\($0)" == "evil.pt: not a PyTorch checkpoint vrapl can read: the pickle names 'subprocess.PopenAAAAAAA', which a checkpoint does not need (refused: vrapl never runs pickle code)"
        }
    }

    @Test("a truncated archive and a missing storage are one-line errors")
    func truncatedAndMissingStorage() throws {
        let bytes = try Self.fixtureBytes()
        for cut in [0, 10, 100, bytes.count / 2, bytes.count - 1] {
            #expect { try TorchCheckpoint.parse(Array(bytes.prefix(cut)), source: "cut.pt") } throws: {
                "\($0)".hasPrefix("cut.pt: not a PyTorch checkpoint vrapl can read: ") && !"\($0)".contains("\n")
            }
        }
        let missing = Self.replacing(bytes, "best/data/7", "best/xata/7")
        #expect { try TorchCheckpoint.parse(missing, source: "m.pt") } throws: { "\($0)".contains("tensor storage 'best/data/7") && "\($0)".contains("is missing") }
    }

    @Test("a config whose shapes disagree with the weights is refused, naming the tensor")
    func shapesDisagree() throws {
        guard case .dict(var root) = try TorchCheckpoint.read(Self.checkpoint),
              let c = root.firstIndex(where: { $0.0 == .string("config") }), case .dict(var config) = root[c].1,
              let m = config.firstIndex(where: { $0.0 == .string("model") }), case .dict(var model) = config[m].1,
              let k = model.firstIndex(where: { $0.0 == .string("cnn_channels") }) else {
            Issue.record("unexpected checkpoint layout"); return
        }
        model[k].1 = .list([.int(16), .int(64)])
        config[m].1 = .dict(model)
        root[c].1 = .dict(config)
        #expect { try DecodeRaplCheckpoint.importModel(checkpoint: .dict(root), source: "x.pt", powerSource: .rapl) } throws: {
            "\($0)" == "x.pt: not a DECODE-RAPL checkpoint vrapl can import: tensor 'encoder.cnn.0.weight' has shape [32, 4, 5], expected [16, 4, 5]"
        }
    }

    /// Mutated checkpoints (bit flips and junk in the ZIP directory and the pickle, truncations): no
    /// crash, no hang, only one-line errors or a model that validates.
    @Test("fuzzed checkpoints: no crash, only one-line errors", arguments: [UInt64(1), 2])
    func fuzz(seed: UInt64) throws {
        let original = try Self.fixtureBytes()
        // The pickle sits at the start of the archive, the central directory at its end.
        let pickleEnd = min(original.count, 12_000), directoryStart = max(0, original.count - 8_000)
        var rng = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }
        var accepted = 0, rejected = 0
        for _ in 0..<SeededMutator.iterations(default: 100) {
            var bytes = original
            for _ in 0..<(1 + below(4)) {
                let region = below(2) == 0 ? (0..<pickleEnd) : (directoryStart..<original.count)
                switch below(4) {
                case 0: let i = region.lowerBound + below(region.count); bytes[i] ^= UInt8(1 << below(8))
                case 1: let i = region.lowerBound + below(region.count); bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                case 2: bytes = Array(bytes.prefix(region.lowerBound + below(region.count)))
                default: let i = region.lowerBound + below(region.count); if i < bytes.count { bytes[i] = [0x00, 0xFF, 0x7F, 0x80][below(4)] }
                }
                if bytes.count < original.count { break }
            }
            do {
                let root = try TorchCheckpoint.parse(bytes, source: "fuzz.pt")
                _ = try DecodeRaplCheckpoint.importModel(checkpoint: root, source: "fuzz.pt", powerSource: .rapl)
                accepted += 1
            } catch {
                rejected += 1
                #expect("\(error)".hasPrefix("fuzz.pt: ") && !"\(error)".contains("\n"), "\(error)")
            }
        }
        #expect(accepted + rejected == SeededMutator.iterations(default: 100) && rejected > 0)
    }
}
