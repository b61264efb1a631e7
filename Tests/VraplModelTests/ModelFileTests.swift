import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplNN
@testable import VraplModel

/// A stand-in for the nn engine's network: records what it is given.
struct RecordingSink: NamedParameterSink {
    var namedParameterShapes: [(name: String, shape: [Int])]
    var received: [String: [Float]] = [:]
    mutating func setParameter(named name: String, values: [Float]) throws { received[name] = values }
}

@Suite("Model file")
struct ModelFileTests {
    @Test("v4.1 CNN layout: names and shapes of the DECODE-RAPL state_dict")
    func cnnLayout() throws {
        let entries = try ParameterLayout.expected(for: .cnnV41())
        let shapes = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.shape) })
        #expect(shapes["encoder.cnn.0.weight"] == [32, 4, 5])
        #expect(shapes["encoder.cnn.1.running_var"] == [32])
        #expect(shapes["encoder.cnn.1.num_batches_tracked"] == [])
        #expect(shapes["encoder.cnn.3.weight"] == [64, 32, 5])
        #expect(shapes["encoder.cnn.4.bias"] == [64])
        #expect(shapes["encoder.mlp.0.weight"] == [128, 768])
        #expect(shapes["encoder.mlp.3.weight"] == [64, 128])
        #expect(shapes["power_head.network.0.weight"] == [128, 64])
        #expect(shapes["power_head.network.3.weight"] == [64, 128])
        #expect(shapes["power_head.network.6.weight"] == [1, 64])
        #expect(shapes["power_head.network.6.bias"] == [1])
        #expect(entries.count == 2 + 5 + 2 + 5 + 4 + 6)
    }

    @Test("v3 MLP layout")
    func mlpLayout() throws {
        let shapes = Dictionary(uniqueKeysWithValues: try ParameterLayout.expected(for: .mlpV3()).map { ($0.name, $0.shape) })
        #expect(shapes["encoder.network.0.weight"] == [512, 100])
        #expect(shapes["encoder.network.3.weight"] == [128, 512])
        #expect(shapes["encoder.network.6.weight"] == [64, 128])
        #expect(shapes["power_head.network.6.weight"] == [1, 64])
    }

    @Test("write then load gives the same model, with a hash", arguments: [Architecture.cnnV41(), .mlpV3(), TestModels.tinyCNN])
    func roundTrip(_ arch: Architecture) throws {
        var model = try TestModels.model(arch)
        model.trainingStats = TrainingStats(windows: 10, features: model.features,
                                            featureMin: model.features.map { _ in 0 }, featureMax: model.features.map { _ in 1 },
                                            featureQ01: model.features.map { _ in 0.01 }, featureQ50: model.features.map { _ in 0.5 },
                                            featureQ99: model.features.map { _ in 0.99 })
        let dir = try Scratch.directory()
        let url = dir.appendingPathComponent("m.safetensors")
        try model.write(to: url)
        let back = try ModelFile.load(contentsOf: url)
        #expect(back.architecture == model.architecture)
        #expect(back.features == model.features)
        #expect(back.embedding == model.embedding)
        #expect(back.normalization == model.normalization)
        #expect(back.powerSource == model.powerSource)
        #expect(back.trainingStats == model.trainingStats)
        #expect(back.tensors == model.tensors)
        #expect(back.provenance == model.provenance)
        #expect(back.sha256?.count == 64)
        #expect(back.displayName == "tiny")
    }

    @Test("busy_source: written only when not proc-stat, read back into the model's feature set; an unknown value is refused naming the key")
    func busySource() throws {
        var model = try TestModels.model(.cnnV41(), features: ["user_percent", "system_percent", "iowait_percent", "log_ctx_switches"])
        #expect(try model.metadata()["busy_source"] == nil)
        #expect(try model.featureSet().busySource == .procStat)
        model.busySource = .cgroupCPUStat
        #expect(try model.metadata()["busy_source"] == "cgroup-cpu-stat")
        let dir = try Scratch.directory()
        let url = dir.appendingPathComponent("b.safetensors")
        try model.write(to: url)
        let back = try ModelFile.load(contentsOf: url)
        #expect(back.busySource == .cgroupCPUStat && back.extraMetadata["busy_source"] == nil)
        #expect(try back.featureSet().needsCPUUsage)
        let message = try Self.loadError { meta, _ in meta["busy_source"] = "jiffies" }
        #expect(message?.contains("busy_source") == true && message?.contains("jiffies") == true, "\(message ?? "loaded")")
    }

    /// Edits the metadata of a valid tiny model and returns the load error.
    static func loadError(editing edit: (inout [String: String], inout [String: SafetensorsTensor]) -> Void) throws -> String? {
        let model = try TestModels.model(TestModels.tinyCNN)
        var meta = try model.metadata()
        var tensors = model.tensors
        edit(&meta, &tensors)
        let bytes = try SafetensorsFile(tensors: tensors, metadata: meta).serialized()
        return errorMessage { _ = try ModelFile.parse(bytes, source: "/m/x.safetensors") }
    }

    static let badMetadata: [(String, String)] = [
        ("format", "missing required metadata key 'format'"),
        ("architecture", "missing required metadata key 'architecture'"),
        ("normalization", "missing required metadata key 'normalization'"),
        ("power_source", "missing required metadata key 'power_source'"),
    ]

    @Test("missing required keys are named", arguments: badMetadata)
    func missingKey(_ key: String, _ expected: String) throws {
        let message = try Self.loadError { meta, _ in meta[key] = nil }
        #expect(message?.contains(expected) == true, "\(message ?? "accepted")")
        #expect(message?.hasPrefix("/m/x.safetensors: ") == true)
    }

    @Test("newer format version is refused, unknown keys are ignored")
    func versions() throws {
        let newer = try Self.loadError { meta, _ in meta["format_version"] = "2" }
        #expect(newer?.contains("format_version 2 is newer") == true)
        let unknown = try Self.loadError { meta, _ in meta["future_key"] = "{\"x\":1}" }
        #expect(unknown == nil)
    }

    @Test("unknown architecture and inconsistent metadata are refused", arguments: [
        ("architecture", #"{"kind":"transformer","latent_dim":64,"power_head_layers":[128],"dropout":0.1}"#, "unknown architecture kind 'transformer'"),
        ("features", #"["a","b","c"]"#, "num_features 2"),
        ("embedding", #"{"d":5,"tau":1,"sample_interval_ms":16}"#, "sequence_length 4"),
        ("normalization", #"{"type":"minmax","feature_min":[0],"feature_range":[1]}"#, "expected 8"),
        ("normalization", #"{"type":"zscore","feature_min":[],"feature_range":[]}"#, "zscore"),
        ("power_source", "measured", "power_source 'measured'"),
        ("embedding", #"{"d":4}"#, "embedding is missing 'tau'"),
    ])
    func inconsistent(_ key: String, _ value: String, _ expected: String) throws {
        let message = try Self.loadError { meta, _ in meta[key] = value }
        #expect(message?.contains(expected) == true, "\(message ?? "accepted")")
        #expect(message?.contains("\n") == false)
    }

    @Test("wrong tensor shapes, missing and extra tensors, NaN weights")
    func tensorProblems() throws {
        let shape = try Self.loadError { _, t in t["encoder.cnn.0.weight"] = SafetensorsTensor(shape: [3, 2, 5], floats: Array(repeating: 0, count: 30)) }
        #expect(shape?.contains("tensor 'encoder.cnn.0.weight' has shape [3, 2, 5], expected [3, 2, 3]") == true, "\(shape ?? "")")
        let missing = try Self.loadError { _, t in t["power_head.network.3.bias"] = nil }
        #expect(missing?.contains("missing tensor 'power_head.network.3.bias'") == true)
        let extra = try Self.loadError { _, t in t["decoder.weight"] = SafetensorsTensor(shape: [1], floats: [0]) }
        #expect(extra?.contains("unexpected tensor 'decoder.weight'") == true)
        let nan = try Self.loadError { _, t in t["encoder.mlp.3.bias"] = SafetensorsTensor(shape: [3], floats: [0, .nan, 0]) }
        #expect(nan?.contains("non-finite") == true && nan?.contains("encoder.mlp.3.bias") == true, "\(nan ?? "")")
        let dtype = try Self.loadError { _, t in t["encoder.cnn.1.num_batches_tracked"] = SafetensorsTensor(shape: [], floats: [0]) }
        #expect(dtype?.contains("is F32, expected I64") == true)
    }

    @Test("truncated model file on disk names the file")
    func truncatedOnDisk() throws {
        let dir = try Scratch.directory()
        let url = dir.appendingPathComponent("cut.safetensors")
        let bytes = try TestModels.model(TestModels.tinyCNN).serialized()
        try Data(bytes.prefix(bytes.count / 2)).write(to: url)
        let message = errorMessage { _ = try ModelFile.load(contentsOf: url) }
        #expect(message?.hasPrefix(url.path + ": ") == true)
        #expect(message?.contains("truncated") == true || message?.contains("run past") == true, "\(message ?? "")")
    }

    @Test("weights load into a network by name; shape mismatch names tensor and both shapes")
    func loadWeights() throws {
        var model = try TestModels.model(TestModels.tinyCNN)
        model.path = "/m/tiny.safetensors"
        let layout = try ParameterLayout.expected(for: TestModels.tinyCNN).filter { $0.dtype == .f32 }
        var sink = RecordingSink(namedParameterShapes: layout.map { ($0.name, $0.shape) })
        try model.loadWeights(into: &sink)
        #expect(sink.received.count == layout.count)
        #expect(sink.received["encoder.cnn.0.weight"] == model.tensors["encoder.cnn.0.weight"]?.floats)

        var wrong = RecordingSink(namedParameterShapes: [("encoder.cnn.0.weight", [3, 2, 5])])
        let message = errorMessage { try model.loadWeights(into: &wrong) }
        #expect(message == "/m/tiny.safetensors: tensor 'encoder.cnn.0.weight' has shape [3, 2, 3] in the file but the network expects [3, 2, 5]")
    }

    @Test("writing refuses an inconsistent model")
    func refuseToWrite() throws {
        var model = try TestModels.model(TestModels.tinyCNN)
        model.features = ["only-one"]
        let message = errorMessage { _ = try model.serialized() }
        #expect(message?.contains("refusing to write") == true)
    }
}

@Suite("Model file ↔ nn Network")
struct NetworkLoadingTests {
    @Test("the nn engine's state_dict equals ParameterLayout (names, shapes, order)", arguments: [Architecture.cnnV41(), .mlpV3(), TestModels.tinyCNN])
    func layoutAgrees(_ arch: Architecture) throws {
        let network = try Network(architecture: arch, maxBatch: 1)
        let layout = try ParameterLayout.expected(for: arch)
        #expect(network.tensors.map(\.name) == layout.map(\.name))
        #expect(network.tensors.map(\.shape) == layout.map(\.shape))
        #expect(network.tensors.map(\.isFloat) == layout.map { $0.dtype == .f32 })
    }

    @Test("network → model file → disk → network predicts the same")
    func roundTripPredictions() throws {
        let arch = Architecture.cnnV41()
        let original = try Network(architecture: arch, maxBatch: 1, seed: 7)
        var model = try TestModels.model(arch)
        model.tensors = try ModelFile.tensors(from: original)
        let dir = try Scratch.directory()
        let url = dir.appendingPathComponent("n.safetensors")
        try model.write(to: url)
        let loaded = try ModelFile.load(contentsOf: url).makeNetwork()
        var rng = SplitMix64(seed: 3)
        for _ in 0..<5 {
            let window = (0..<100).map { _ in Float.random(in: 0...1, using: &rng) }
            #expect(loaded.predict(window: window) == original.predict(window: window))
            #expect(Array(loaded.latent) == Array(original.latent))
        }
        #expect(loaded.batchesTracked == original.batchesTracked)
    }
}
