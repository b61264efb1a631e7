import Foundation
import VraplCore
import VraplModel
import VraplDataset
import VraplNN
import Yams

/// A training configuration (YAML under configs/), mirroring DECODE-RAPL's config files:
/// `model` (architecture hyper-parameters, snake_case as in the model metadata), `features`,
/// `embedding` (d, tau), `data` (skip, segment boundaries), `split`, `training` (batch, epochs,
/// optimiser, loss, schedule, early stopping) and `seed`. Every key has DECODE-RAPL's value as default.
public struct TrainConfig: Equatable, Sendable {
    public var name: String
    /// `v4` (cnn1d) or `v3` (mlp).
    public var version: String
    public var architectureKind: Architecture.Kind
    public var cnnChannels: [Int]
    public var cnnKernelSize: Int
    public var poolSize: Int
    public var useBatchNorm: Bool
    public var encoderLayers: [Int]
    public var latentDim: Int
    public var powerHeadLayers: [Int]
    public var dropout: Double
    public var featureSet: FeatureSet
    public var d: Int
    public var tau: Int
    public var sampleIntervalMs: Double
    public var skipSamples: Int
    public var crossSegments: Bool
    public var split: SplitOptions
    public var batchSize: Int
    public var epochs: Int
    public var learningRate: Double
    public var weightDecay: Double
    /// `l1`, `mse` or `huber` (v4: l1, v3: mse, as DECODE-RAPL).
    public var loss: String
    public var earlyStoppingPatience: Int
    public var schedulerFactor: Double
    public var schedulerPatience: Int
    public var minLearningRate: Double
    /// Cap on the number of windows (seeded subsample), nil for all.
    public var maxSamples: Int?
    public var seed: UInt64
    /// Nominal coverage of the calibrated prediction interval (`training.interval_level`), in (0, 1).
    public var intervalLevel: Double = PredictionInterval.defaultNominal

    /// DECODE-RAPL v4.1, tau 1.
    public static let `default` = TrainConfig(
        name: "v4_tau1", version: "v4", architectureKind: .cnn1d, cnnChannels: [32, 64], cnnKernelSize: 5, poolSize: 2,
        useBatchNorm: true, encoderLayers: [512, 128], latentDim: 64, powerHeadLayers: [128, 64], dropout: 0.3,
        featureSet: .decodeRapl4, d: 25, tau: 1, sampleIntervalMs: 16, skipSamples: 100, crossSegments: false,
        split: SplitOptions(kind: .shuffle, seed: 42), batchSize: 256, epochs: 100, learningRate: 5e-4,
        weightDecay: 3e-4, loss: "l1", earlyStoppingPatience: 15, schedulerFactor: 0.5, schedulerPatience: 5,
        minLearningRate: 1e-5, maxSamples: nil, seed: 42)

    /// The network this config describes (features × d inputs).
    public var architecture: Architecture {
        switch architectureKind {
        case .cnn1d:
            var a = Architecture.cnnV41(numFeatures: featureSet.count, sequenceLength: d)
            a.cnnChannels = cnnChannels; a.cnnKernelSize = cnnKernelSize; a.poolSize = poolSize
            a.useBatchNorm = useBatchNorm; a.latentDim = latentDim; a.powerHeadLayers = powerHeadLayers; a.dropout = dropout
            return a
        case .mlp:
            var a = Architecture.mlpV3(inputDim: featureSet.count * d)
            a.encoderLayers = encoderLayers; a.latentDim = latentDim; a.powerHeadLayers = powerHeadLayers; a.dropout = dropout
            return a
        }
    }

    public var windowOptions: WindowOptions {
        WindowOptions(embedding: DelayEmbedding(d: d, tau: tau), skipSamples: skipSamples, crossSegments: crossSegments)
    }

    /// Loads a YAML config; errors name the file and the key.
    public static func load(path: String) throws -> TrainConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw VraplError("cannot read config \(path): \(error.localizedDescription)")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(yaml: text, name: name, source: path)
    }

    public static func parse(yaml text: String, name: String = "config", source: String = "config") throws -> TrainConfig {
        let root: [String: Any]
        do {
            guard let loaded = try Yams.load(yaml: text) as? [String: Any] else {
                throw VraplError("\(source): the config is not a YAML mapping")
            }
            root = loaded
        } catch let e as VraplError { throw e } catch {
            throw VraplError("\(source): invalid YAML: \(error)")
        }
        var c = TrainConfig.default
        c.name = name
        let r = YAMLReader(source: source)
        // A typo must not silently fall back to a default: every mapping lists the keys it knows.
        try r.rejectUnknown(root, ["version", "model", "features", "busy_source", "embedding", "data", "split", "training", "seed"])
        try r.rejectUnknown(try r.map(root, "model") ?? [:], ["kind", "cnn_channels", "cnn_kernel_size", "pool_size", "use_batch_norm",
                                                              "encoder_layers", "latent_dim", "power_head_layers", "dropout"], path: "model")
        try r.rejectUnknown(try r.map(root, "embedding") ?? [:], ["d", "tau", "sample_interval_ms"], path: "embedding")
        try r.rejectUnknown(try r.map(root, "data") ?? [:], ["skip_samples", "cross_segments", "max_samples"], path: "data")
        try r.rejectUnknown(try r.map(root, "split") ?? [:], ["kind", "seed", "validation_fraction", "test_fraction", "holdout_family"], path: "split")
        let training = try r.map(root, "training") ?? [:]
        try r.rejectUnknown(training, ["batch_size", "epochs", "learning_rate", "weight_decay", "loss", "early_stopping_patience", "scheduler", "interval_level"],
                            path: "training")
        try r.rejectUnknown(try r.map(training, "scheduler", path: "training") ?? [:], ["type", "factor", "patience", "min_lr"], path: "training.scheduler")
        c.version = try r.string(root, "version") ?? c.version
        let model = try r.map(root, "model") ?? [:]
        let kindText = try r.string(model, "kind", path: "model") ?? (c.version == "v3" ? "mlp" : "cnn1d")
        guard let kind = Architecture.Kind(rawValue: kindText) else {
            throw VraplError("\(source): model.kind '\(kindText)' is not cnn1d or mlp")
        }
        c.architectureKind = kind
        c.cnnChannels = try r.ints(model, "cnn_channels", path: "model") ?? c.cnnChannels
        c.cnnKernelSize = try r.int(model, "cnn_kernel_size", path: "model") ?? c.cnnKernelSize
        c.poolSize = try r.int(model, "pool_size", path: "model") ?? c.poolSize
        c.useBatchNorm = try r.bool(model, "use_batch_norm", path: "model") ?? c.useBatchNorm
        c.encoderLayers = try r.ints(model, "encoder_layers", path: "model") ?? c.encoderLayers
        c.latentDim = try r.int(model, "latent_dim", path: "model") ?? c.latentDim
        c.powerHeadLayers = try r.ints(model, "power_head_layers", path: "model") ?? c.powerHeadLayers
        c.dropout = try r.double(model, "dropout", path: "model") ?? c.dropout
        if let f = try r.string(root, "features") { c.featureSet = try FeatureSet(named: f) }
        if let b = try r.string(root, "busy_source") {
            do { c.featureSet = c.featureSet.withBusySource(try BusyTimeSource(parsing: b)) } catch let e as VraplError {
                throw VraplError("\(source): busy_source: \(e.message)")
            }
        }
        let emb = try r.map(root, "embedding") ?? [:]
        c.d = try r.int(emb, "d", path: "embedding") ?? c.d
        c.tau = try r.int(emb, "tau", path: "embedding") ?? c.tau
        c.sampleIntervalMs = try r.double(emb, "sample_interval_ms", path: "embedding") ?? c.sampleIntervalMs
        let data = try r.map(root, "data") ?? [:]
        c.skipSamples = try r.int(data, "skip_samples", path: "data") ?? c.skipSamples
        c.crossSegments = try r.bool(data, "cross_segments", path: "data") ?? c.crossSegments
        c.maxSamples = try r.int(data, "max_samples", path: "data") ?? c.maxSamples
        c.seed = UInt64(max(0, try r.int(root, "seed") ?? Int(c.seed)))
        let split = try r.map(root, "split") ?? [:]
        if let k = try r.string(split, "kind", path: "split") {
            guard let kind = SplitKind(rawValue: k) else {
                throw VraplError("\(source): split.kind '\(k)' is not one of \(SplitKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.split.kind = kind
        }
        c.split.seed = UInt64(max(0, try r.int(split, "seed", path: "split") ?? Int(c.seed)))
        c.split.validationFraction = try r.double(split, "validation_fraction", path: "split") ?? c.split.validationFraction
        c.split.testFraction = try r.double(split, "test_fraction", path: "split") ?? c.split.testFraction
        c.split.holdoutFamily = try r.string(split, "holdout_family", path: "split")
        let t = try r.map(root, "training") ?? [:]
        c.batchSize = try r.int(t, "batch_size", path: "training") ?? c.batchSize
        c.epochs = try r.int(t, "epochs", path: "training") ?? c.epochs
        c.learningRate = try r.double(t, "learning_rate", path: "training") ?? c.learningRate
        c.weightDecay = try r.double(t, "weight_decay", path: "training") ?? c.weightDecay
        c.loss = try r.string(t, "loss", path: "training") ?? (c.architectureKind == .mlp ? "mse" : "l1")
        c.earlyStoppingPatience = try r.int(t, "early_stopping_patience", path: "training") ?? c.earlyStoppingPatience
        c.intervalLevel = try r.double(t, "interval_level", path: "training") ?? c.intervalLevel
        let s = try r.map(t, "scheduler", path: "training") ?? [:]
        c.schedulerFactor = try r.double(s, "factor", path: "training.scheduler") ?? c.schedulerFactor
        c.schedulerPatience = try r.int(s, "patience", path: "training.scheduler") ?? c.schedulerPatience
        c.minLearningRate = try r.double(s, "min_lr", path: "training.scheduler") ?? c.minLearningRate
        try c.validate(source: source)
        return c
    }

    public func validate(source: String = "config") throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw VraplError("\(source): \(what)") } }
        try check(d >= 1 && tau >= 1, "embedding d and tau must be at least 1 (d \(d), tau \(tau))")
        try check(batchSize >= 1, "training.batch_size must be positive")
        try check(epochs >= 0, "training.epochs must not be negative")
        try check(learningRate > 0, "training.learning_rate must be positive")
        try check(skipSamples >= 0, "data.skip_samples must not be negative")
        try check(["l1", "mse", "huber"].contains(loss.lowercased()), "training.loss '\(loss)' is not l1, mse or huber")
        try check(dropout >= 0 && dropout < 1, "model.dropout \(dropout) must be in [0, 1)")
        try check(intervalLevel > 0 && intervalLevel < 1, "training.interval_level \(intervalLevel) must lie in (0, 1), e.g. 0.8 for a central 80 % interval")
        // The same bounds as a model file, so training never writes a model it would refuse to load.
        do {
            try ModelLimits.validate(embedding: Embedding(d: d, tau: tau, sampleIntervalMs: sampleIntervalMs), architecture: architecture)
        } catch let error as ArchitectureError {
            throw VraplError("\(source): \(error.description)")
        }
    }
}

/// Typed look-ups in a YAML mapping with errors that name the key.
struct YAMLReader {
    let source: String
    func key(_ k: String, _ path: String?) -> String { path.map { "\($0).\(k)" } ?? k }
    /// Refuses a key of `m` that is not in `known`, naming it and the known ones.
    func rejectUnknown(_ m: [String: Any], _ known: [String], path: String? = nil) throws {
        if let bad = m.keys.sorted().first(where: { !known.contains($0) }) {
            throw VraplError("\(source): unknown key '\(key(bad, path))' (known\(path.map { " in \($0)" } ?? ""): \(known.joined(separator: ", ")))")
        }
    }
    func map(_ m: [String: Any], _ k: String, path: String? = nil) throws -> [String: Any]? {
        guard let v = m[k], !(v is NSNull) else { return nil }
        guard let r = v as? [String: Any] else { throw VraplError("\(source): \(key(k, path)) must be a mapping") }
        return r
    }
    func string(_ m: [String: Any], _ k: String, path: String? = nil) throws -> String? {
        guard let v = m[k], !(v is NSNull) else { return nil }
        if let s = v as? String { return s }
        return "\(v)"
    }
    func int(_ m: [String: Any], _ k: String, path: String? = nil) throws -> Int? {
        guard let v = m[k], !(v is NSNull) else { return nil }
        if let i = v as? Int { return i }
        if let d = v as? Double, d == d.rounded() { return Int(d) }
        throw VraplError("\(source): \(key(k, path)) must be an integer")
    }
    func double(_ m: [String: Any], _ k: String, path: String? = nil) throws -> Double? {
        guard let v = m[k], !(v is NSNull) else { return nil }
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        if let s = v as? String, let d = Double(s) { return d }
        throw VraplError("\(source): \(key(k, path)) must be a number")
    }
    func bool(_ m: [String: Any], _ k: String, path: String? = nil) throws -> Bool? {
        guard let v = m[k], !(v is NSNull) else { return nil }
        if let b = v as? Bool { return b }
        throw VraplError("\(source): \(key(k, path)) must be true or false")
    }
    func ints(_ m: [String: Any], _ k: String, path: String? = nil) throws -> [Int]? {
        guard let v = m[k], !(v is NSNull) else { return nil }
        guard let a = v as? [Any] else { throw VraplError("\(source): \(key(k, path)) must be a list of integers") }
        return try a.map {
            guard let i = $0 as? Int else { throw VraplError("\(source): \(key(k, path)) must be a list of integers") }
            return i
        }
    }
}
