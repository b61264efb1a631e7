import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplModel
import VraplTrace
@testable import VraplGuest

@Suite("Guest runner: bad input and replay", .serialized)
struct RunnerTests {
    static func config(_ model: String, _ edit: (inout GuestConfig) -> Void = { _ in }) -> GuestConfig {
        var c = GuestConfig(modelPath: model)
        c.terminal = false
        edit(&c)
        return c
    }

    /// Writes a valid model, lets `corrupt` edit its bytes, and returns the runner's start error.
    static func startError(_ corrupt: (inout [UInt8]) throws -> Void) throws -> (String, String?) {
        let path = try Scratch.file("bad.safetensors")
        var bytes = try GuestFixtures.model(d: 4).serialized()
        try corrupt(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, errorMessage { _ = try GuestRunner(config: config(path)) })
    }

    static func reencoded(_ edit: (inout [String: String], inout [String: SafetensorsTensor]) throws -> Void) throws -> [UInt8] {
        let model = try GuestFixtures.model(d: 4)
        var meta = try model.metadata()
        var tensors = model.tensors
        try edit(&meta, &tensors)
        return try SafetensorsFile(tensors: tensors, metadata: meta).serialized()
    }

    @Test("bad model files: one line naming the file and the problem", arguments: [
        "truncated", "wrong shape", "NaN weight", "Inf weight", "unknown architecture", "newer version", "missing file",
    ])
    func badModel(_ kind: String) throws {
        let (path, message) = try Self.startError { bytes in
            switch kind {
            case "truncated": bytes = Array(bytes.prefix(bytes.count - 10))
            case "wrong shape":
                bytes = try Self.reencoded { _, t in t["encoder.mlp.3.weight"] = SafetensorsTensor(shape: [8, 15], floats: Array(repeating: 0, count: 120)) }
            case "NaN weight":
                bytes = try Self.reencoded { _, t in t["power_head.network.6.bias"] = SafetensorsTensor(shape: [1], floats: [.nan]) }
            case "Inf weight":
                bytes = try Self.reencoded { _, t in t["encoder.cnn.0.bias"] = SafetensorsTensor(shape: [8], floats: [0, 0, .infinity, 0, 0, 0, 0, 0]) }
            case "unknown architecture":
                bytes = try Self.reencoded { m, _ in m["architecture"] = #"{"kind":"lstm","latent_dim":8,"power_head_layers":[8],"dropout":0}"# }
            case "newer version":
                bytes = try Self.reencoded { m, _ in m["format_version"] = "7" }
            default:
                bytes = []
            }
        }
        let expected = ["truncated": "run past", "wrong shape": "tensor 'encoder.mlp.3.weight' has shape [8, 15], expected [8, 128]",
                        "NaN weight": "non-finite", "Inf weight": "non-finite", "unknown architecture": "unknown architecture kind 'lstm'",
                        "newer version": "format_version 7 is newer", "missing file": "bytes"][kind] ?? "?"
        #expect(message?.hasPrefix(path + ": ") == true, "\(message ?? "accepted")")
        #expect(message?.contains(expected) == true, "\(message ?? "accepted")")
        #expect(message?.contains("\n") == false)
    }

    @Test("an interval that disagrees with the model is refused with the reason")
    func intervalDisagreement() throws {
        let dir = try Scratch.directory()
        let path = try GuestFixtures.writeModel(try GuestFixtures.model(d: 4), in: dir)
        let message = errorMessage { _ = try GuestRunner(config: Self.config(path) { $0.intervalMs = 100 }) }
        #expect(message?.contains("sampled every 16 ms; sampling every 100 ms would build different windows") == true, "\(message ?? "")")
        // A recording at another interval is refused too.
        let runner = try GuestRunner(config: Self.config(path))
        let slow = TraceDataSource(trace: GuestFixtures.trace(samples: 20, intervalNs: 100_000_000), name: "slow.h5")
        let replay = errorMessage { try runner.runReplay(trace: slow, out: dir.appendingPathComponent("p.csv").path) }
        #expect(replay?.hasPrefix("slow.h5: recording is sampled every 100 ms") == true, "\(replay ?? "")")
    }

    @Test("/proc/stat without the needed fields is a one-line error naming the file", arguments: ["broken-missing", "broken-truncated", "broken-empty", "does-not-exist"])
    func brokenProcStat(_ tree: String) throws {
        let dir = try Scratch.directory()
        let path = try GuestFixtures.writeModel(try GuestFixtures.model(d: 4), in: dir)
        let procfs = GuestFixtures.fixtures.appendingPathComponent("procfs/\(tree)").path
        let runner = try GuestRunner(config: Self.config(path) { $0.procfs = procfs; $0.duration = 0.05 })
        let message = errorMessage { try runner.runLive() }
        #expect(message?.contains(procfs + "/stat") == true, "\(message ?? "accepted")")
        #expect(message?.contains("\n") == false)
    }

    @Test("live run against a fixture procfs: predicts, exports textfile and powercap, final export at the end")
    func liveOnFixture() throws {
        let dir = try Scratch.directory()
        let path = try GuestFixtures.writeModel(try GuestFixtures.model(d: 4), in: dir)
        let procfs = GuestFixtures.fixtures.appendingPathComponent("procfs/this-machine").path
        let runner = try GuestRunner(config: Self.config(path) {
            $0.procfs = procfs; $0.duration = 0.4; $0.textfile = dir.path + "/text"; $0.powercapDir = dir.path + "/powercap"
            $0.jsonl = dir.path + "/out.jsonl"
        })
        try runner.runLive()
        let s = runner.snapshot
        #expect(s.samples >= 10)
        // A static /proc/stat: zero deltas, so the window is constant, but predictions still happen.
        let e = try #require(s.estimate)
        #expect(e.predictionCount >= 5)
        #expect(FileManager.default.fileExists(atPath: dir.path + "/text/vrapl.prom"))
        let counter = try String(contentsOfFile: dir.path + "/powercap/intel-rapl:0/energy_uj", encoding: .utf8)
        #expect(UInt64(counter.trimmingCharacters(in: .whitespacesAndNewlines)) == PowercapExporter.counterValue(joules: e.energyJoules, maxEnergyRange: PowercapExporter.defaultMaxEnergyRange))
        let jsonl = try String(contentsOfFile: dir.path + "/out.jsonl", encoding: .utf8)
        #expect(jsonl.split(separator: "\n").count == e.predictionCount)
    }

    @Test("replay of an HDF5 recording writes vrapl predict's CSV layout, one row per full window")
    func replayFile() throws {
        let dir = try Scratch.directory()
        let model = try GuestFixtures.model(d: 6, tau: 2)
        let path = try GuestFixtures.writeModel(model, in: dir)
        let trace = GuestFixtures.trace(samples: 120)
        let tracePath = dir.appendingPathComponent("t.h5").path
        try TraceWriter.write(trace, to: tracePath)
        let out = dir.appendingPathComponent("p.csv").path
        let runner = try GuestRunner(config: Self.config(path))
        let rows = try runner.runReplay(trace: try TraceDataSource(path: tracePath), out: out)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "index,timestamp_unix,predicted_power_watts,package_power_watts")
        #expect(rows == 120 - (1 + 5 * 2))
        #expect(lines.count == rows + 1)
        #expect(lines[1].hasPrefix("11,"))
        let expected = try EstimatorTests.trainingPathPredictions(model: model, trace: trace)
        let predicted = lines.dropFirst().map { Double($0.split(separator: ",")[2]) ?? .nan }
        #expect(predicted.count == expected.count)
        for (p, e) in zip(predicted, expected.map(\.1)) { #expect(abs(p - Double(e)) <= 0.5e-4 + 1e-9) }
    }
}
