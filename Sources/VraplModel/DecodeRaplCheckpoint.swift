import Foundation
import VraplCore
import VraplDataset
import VraplNN

/// A DECODE-RAPL checkpoint (`src/train.py`'s `torch.save` of `epoch`, `model_state_dict`,
/// `optimizer_state_dict`, `train_loss`, `val_loss`, `config`) as a vrapl model, read without torch
/// (`TorchCheckpoint`). The hyper-parameters come from `config["model"]`, d and τ from
/// `config["embedding"]`, the scaler from `config["normalization"]`. The model runs as it was
/// trained: windows oldest sample first (`prepare_training_data.py`'s layout) and scaled inputs
/// clipped to [0, 1] (its inference's), so `embedding.order = oldest_first`, `normalization.clip = true`.
public enum DecodeRaplCheckpoint {
    /// Imports the checkpoint at `path`. Every error is one line naming the file and the key or tensor.
    public static func importModel(path: String, powerSource: PowerSource, name: String? = nil) throws -> ModelFile {
        try importModel(checkpoint: try TorchCheckpoint.read(path), source: path, powerSource: powerSource, name: name)
    }

    /// Interprets an unpickled checkpoint; `source` names it in errors.
    public static func importModel(checkpoint root: TorchCheckpoint.Value, source path: String, powerSource: PowerSource,
                                   name: String? = nil) throws -> ModelFile {
        func fail(_ reason: String) -> VraplError { VraplError("\(path): not a DECODE-RAPL checkpoint vrapl can import: \(reason)") }
        guard let config = root["config"] else { throw fail("no 'config' (DECODE-RAPL's train.py saves its config in the checkpoint)") }
        guard case .dict(let state)? = root["model_state_dict"] else { throw fail("no 'model_state_dict'") }
        guard let model = config["model"] else { throw fail("config has no 'model' section") }
        func int(_ section: TorchCheckpoint.Value, _ key: String, _ where_: String) throws -> Int {
            guard let v = section[key]?.intValue else { throw fail("config.\(where_).\(key) is missing or not an integer") }
            return v
        }
        func ints(_ section: TorchCheckpoint.Value, _ key: String, _ where_: String) throws -> [Int] {
            guard let list = section[key]?.arrayValue, case let values = list.compactMap(\.intValue), values.count == list.count else {
                throw fail("config.\(where_).\(key) is missing or not a list of integers")
            }
            return values
        }
        let version = model["version"]?.stringValue ?? config["version"]?.stringValue ?? "v4"
        let dropout = model["dropout"]?.doubleValue ?? 0
        var architecture: Architecture
        switch version {
        case "v4", "v4.1":
            architecture = .cnnV41(numFeatures: try int(model, "num_features", "model"),
                                   sequenceLength: try int(model, "sequence_length", "model"))
            architecture.cnnChannels = try ints(model, "cnn_channels", "model")
            architecture.cnnKernelSize = try int(model, "cnn_kernel_size", "model")
            architecture.poolSize = try int(model, "pool_size", "model")
            architecture.useBatchNorm = model["use_batch_norm"]?.boolValue ?? true
        case "v3":
            architecture = .mlpV3(inputDim: try int(model, "input_dim", "model"))
            architecture.encoderLayers = try ints(model, "encoder_layers", "model")
        default:
            throw fail("config.model.version '\(version)' is not v3 or v4")
        }
        architecture.latentDim = try int(model, "latent_dim", "model")
        architecture.powerHeadLayers = try ints(model, "power_head_layers", "model")
        architecture.dropout = dropout
        guard let embeddingSection = config["embedding"] else { throw fail("config has no 'embedding' section") }
        let d = try int(embeddingSection, "d", "embedding"), tau = try int(embeddingSection, "tau", "embedding")
        // DECODE-RAPL samples every 16 ms; its config states the window's span as temporal_lookback_ms.
        var intervalMs = 16.0
        if let lookback = embeddingSection["temporal_lookback_ms"]?.doubleValue, d > 1, tau > 0 {
            intervalMs = lookback / Double((d - 1) * tau)
        }
        guard let normalization = config["normalization"] else { throw fail("config has no 'normalization' section") }
        func doubles(_ key: String) throws -> [Double] {
            guard let list = normalization[key]?.arrayValue, case let values = list.compactMap(\.doubleValue), values.count == list.count else {
                throw fail("config.normalization.\(key) is missing or not a list of numbers")
            }
            return values
        }
        var tensors: [String: SafetensorsTensor] = [:]
        for (key, value) in state {
            guard let name = key.stringValue, case .tensor(let t) = value else { throw fail("model_state_dict holds a non-tensor entry") }
            if let floats = t.floats {
                tensors[name] = SafetensorsTensor(shape: t.shape, floats: floats)
            } else if let ints = t.int64s {
                tensors[name] = SafetensorsTensor(shape: t.shape, int64s: ints)
            }
        }
        let features = FeatureSet.decodeRapl4.featureNames
        var provenance: [String: String] = ["imported_from": "DECODE-RAPL checkpoint", "checkpoint": path]
        if let epoch = root["epoch"]?.intValue { provenance["epoch"] = String(epoch) }
        if let loss = root["val_loss"]?.doubleValue { provenance["val_loss"] = String(loss) }
        let provenanceJSON = String(decoding: try JSONEncoder.sorted.encode(provenance), as: UTF8.self)
        var file = ModelFile(architecture: architecture, features: features,
                             embedding: Embedding(d: d, tau: tau, sampleIntervalMs: intervalMs, order: .oldestFirst),
                             normalization: Normalization(featureMin: try doubles("feature_min"), featureRange: try doubles("feature_range"), clip: true),
                             powerSource: powerSource, provenance: provenanceJSON,
                             name: name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, tensors: tensors)
        file.path = path
        do {
            try file.validate()
        } catch let error as ArchitectureError {
            throw fail(error.description)
        }
        return file
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys (stable metadata text).
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
