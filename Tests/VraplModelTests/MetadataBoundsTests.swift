import Foundation
import Testing
import VraplCore
import VraplNN
@testable import VraplModel

/// The reliability probe's metadata sweep (F5, F6): every number of the embedding and the
/// architecture set to 19 special values. Each variant must either load and predict finite watts,
/// or fail with one line that names the file and the key; a crash or an allocation abort fails the
/// whole run.
@Suite("Metadata bounds and finite outputs")
struct MetadataBoundsTests {
    static let specialValues: [Any] = [0, -1, 1, 2, 3, 7, 255, 65_536, Int(Int32.max), Int(Int32.max) + 1, 1 << 32,
                                       1_000_000_000_000, 1 << 53, Int.max, Int.min, 1e-9, 0.5, 1e39, 1e308]
    /// (metadata key, path inside its JSON, the word the error must contain).
    static let numbers: [(String, [String], String)] = [
        ("embedding", ["d"], "d"), ("embedding", ["tau"], "tau"), ("embedding", ["sample_interval_ms"], "sample_interval_ms"),
        ("architecture", ["num_features"], "num_features"), ("architecture", ["sequence_length"], "sequence_length"),
        ("architecture", ["cnn_channels", "0"], "cnn_channels"), ("architecture", ["cnn_channels", "1"], "cnn_channels"),
        ("architecture", ["cnn_kernel_size"], "kernel"), ("architecture", ["pool_size"], "pool"),
        ("architecture", ["latent_dim"], "latent"), ("architecture", ["power_head_layers", "0"], "power_head"),
        ("architecture", ["dropout"], "dropout"),
    ]

    static func setting(_ path: [String], to value: Any, in object: Any) -> Any {
        guard let key = path.first else { return value }
        if var array = object as? [Any], let i = Int(key), i < array.count {
            array[i] = setting(Array(path.dropFirst()), to: value, in: array[i])
            return array
        }
        var dict = object as? [String: Any] ?? [:]
        dict[key] = setting(Array(path.dropFirst()), to: value, in: dict[key] as Any)
        return dict
    }

    static func variant(_ base: ModelFile, key: String, path: [String], value: Any) throws -> [UInt8] {
        var meta = try base.metadata()
        let object = try JSONSerialization.jsonObject(with: Data((meta[key] ?? "{}").utf8))
        let edited = setting(path, to: value, in: object)
        meta[key] = String(decoding: try JSONSerialization.data(withJSONObject: edited, options: [.sortedKeys]), as: UTF8.self)
        return try SafetensorsFile(tensors: base.tensors, metadata: meta).serialized()
    }

    @Test("19 special values in every metadata number: finite predictions or a one-line error naming the key")
    func sweep() throws {
        let base = try TestModels.model(.cnnV41(numFeatures: 4, sequenceLength: 25))
        var loaded = 0, refused = 0
        for (key, path, word) in Self.numbers {
            for value in Self.specialValues {
                let bytes = try Self.variant(base, key: key, path: path, value: value)
                let label = "\(key).\(path.joined(separator: ".")) = \(value)"
                do {
                    let model = try ModelFile.parse(bytes, source: "sweep.safetensors")
                    let network = try model.makeNetwork()
                    var rng = SplitMix64(seed: 3)
                    for _ in 0..<5 {
                        let window = (0..<model.inputSize).map { _ in Float.random(in: 0...1, using: &rng) }
                        let watts = network.predict(window: window)
                        #expect(watts.isFinite, "\(label): predicted \(watts)")
                    }
                    loaded += 1
                } catch let error as VraplError {
                    refused += 1
                    #expect(error.message.hasPrefix("sweep.safetensors: "), "\(label): \(error.message)")
                    // It names the key, or the tensor or consistency rule the changed number broke.
                    let named = [word, "tensor '", "sequence_length", "embedding d"].contains { error.message.contains($0) }
                    if !named { Issue.record("\(label): \(error.message)") }
                    #expect(!error.message.contains("\n"), "\(label): \(error.message)")
                }
            }
        }
        #expect(loaded > 0 && refused > 100, "\(loaded) loaded, \(refused) refused")
    }

    @Test("a bound error names the key, the value and the bound")
    func boundMessage() throws {
        let base = try TestModels.model(.cnnV41(numFeatures: 4, sequenceLength: 25))
        let bytes = try Self.variant(base, key: "embedding", path: ["tau"], value: 1_000_000_000_000)
        #expect { try ModelFile.parse(bytes, source: "m.safetensors") } throws: {
            ($0 as? VraplError)?.message == "m.safetensors: invalid model: embedding.tau 1000000000000 is outside 1…10000"
        }
        let interval = try Self.variant(base, key: "embedding", path: ["sample_interval_ms"], value: 1e-9)
        #expect { try ModelFile.parse(interval, source: "m.safetensors") } throws: {
            ($0 as? VraplError)?.message == "m.safetensors: invalid model: embedding.sample_interval_ms 1e-09 is outside 1.0…60000.0"
        }
    }

    @Test("weights that cannot give finite estimates are refused at load, naming why")
    func nonFiniteModels() throws {
        let base = try TestModels.model(.cnnV41(numFeatures: 4, sequenceLength: 25))
        // Negative BatchNorm variance: sqrt of a negative number.
        var negative = base
        let name = "encoder.cnn.1.running_var"
        var variance = try #require(negative.tensors[name]?.floats)
        variance[3] = -2
        negative.tensors[name] = SafetensorsTensor(shape: [variance.count], floats: variance)
        let a = try SafetensorsFile(tensors: negative.tensors, metadata: try base.metadata()).serialized()
        #expect { try ModelFile.parse(a, source: "m") } throws: { "\($0)".contains("'\(name)' has a negative variance -2.0 at element 3") }
        // A normalization value beyond float32.
        var huge = base
        huge.normalization.featureRange[7] = 1e39
        let b = try SafetensorsFile(tensors: base.tensors, metadata: try huge.metadata()).serialized()
        #expect { try ModelFile.parse(b, source: "m") } throws: { "\($0)".contains("normalization.feature_range[7] 1e+39 is outside the float32 range") }
        // FLT_MAX weights: finite numbers that overflow to infinity in the forward pass.
        var overflow = base
        for (key, tensor) in overflow.tensors where key.hasSuffix(".weight") && tensor.dtype == .f32 {
            overflow.tensors[key] = SafetensorsTensor(shape: tensor.shape, floats: Array(repeating: .greatestFiniteMagnitude, count: tensor.elementCount))
        }
        let c = try SafetensorsFile(tensors: overflow.tensors, metadata: try base.metadata()).serialized()
        let model = try ModelFile.parse(c, source: "m")  // every number is finite: the file itself is valid
        #expect { _ = try model.makeNetwork() } throws: { "\($0)".contains("cannot produce finite estimates") }
    }
}
